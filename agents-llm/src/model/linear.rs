//! Linear layers: Q8_0 weights on our own kernel ([`crate::q8`]), anything else on candle's
//! `QMatMul`. Both multiply row by row, so a row's result does not depend on the other rows.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};

use crate::LlmError;
use crate::q8::{Q8Matrix, Q8Rows};

/// A linear layer: Q8_0 weights on our own kernel ([`crate::q8`]), anything else on candle.
pub(super) enum Linear {
    Q8(Q8Matrix),
    /// Candle's product, on the model's device.
    Candle {
        matmul: QMatMul,
        device: Device,
    },
}

impl Linear {
    /// Q8_0 tensors of a CPU model go to our kernel; other types and devices stay with candle.
    pub(super) fn from_qtensor(tensor: QTensor, device: &Device) -> Result<Self, LlmError> {
        let dims = tensor.shape().dims().to_vec();
        if tensor.dtype() == GgmlDType::Q8_0 && tensor.device().is_cpu() && dims.len() == 2 {
            return Ok(Self::Q8(Q8Matrix::from_gguf_bytes(dims[0], dims[1], &tensor.data()?)?));
        }
        Ok(Self::Candle { matmul: QMatMul::from_qtensor(tensor)?, device: device.clone() })
    }

    /// The layer's output rows for `input`'s rows (quantizing them once for every Q8_0 layer
    /// that reads the same input).
    pub(super) fn forward(&self, input: &mut LayerInput<'_>) -> Result<Vec<f32>, LlmError> {
        match self {
            Self::Q8(matrix) => {
                let quantized = input.quantized.get_or_insert_with(|| Q8Rows::quantize(input.rows, input.count));
                let mut out = vec![0f32; input.count * matrix.rows()];
                matrix.matmul(quantized, &mut out);
                Ok(out)
            }
            Self::Candle { matmul, device } => {
                let tensor = Tensor::from_slice(input.rows, (input.count, input.rows.len() / input.count), device)?;
                dense(&matmul.forward(&tensor)?)
            }
        }
    }
}

/// The input rows of one or more linear layers; Q8_0 layers share one quantization of them.
pub(super) struct LayerInput<'a> {
    rows: &'a [f32],
    count: usize,
    quantized: Option<Q8Rows>,
}

impl<'a> LayerInput<'a> {
    /// `count` rows, back to back in `rows`.
    pub(super) fn new(rows: &'a [f32], count: usize) -> Self {
        Self { rows, count, quantized: None }
    }
}

/// A tensor's elements as f32, on the host.
pub(super) fn dense(tensor: &Tensor) -> Result<Vec<f32>, LlmError> {
    Ok(tensor.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
}
