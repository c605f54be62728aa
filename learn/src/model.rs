//! A small causal transformer over the byte vocabulary, with a value head, on candle.
//!
//! Pre-norm blocks (RMS norm, multi-head attention, SiLU MLP), learned positions, an untied
//! language-model head and a scalar value head read at every position. Every operation on the
//! training path has a backward pass: the norm, the softmax and the attention are written
//! from differentiable primitives, never candle's fused `*_no_bwd` kernels, which would drop
//! gradients without an error.
//!
//! Weights are initialised from a named stream of the training seed (candle's CPU generator
//! cannot be seeded), so a model is a pure function of its config and seed.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{D, DType, Device, Tensor, Var};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use sim_core::seed::stream;

use crate::LearnError;
use crate::tokens::VOCABULARY;

/// The shape of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Width of the residual stream.
    pub width: usize,
    pub layers: usize,
    /// Attention heads; `width` must be a multiple.
    pub heads: usize,
    /// Width of the MLP's hidden layer.
    pub mlp_width: usize,
    /// Longest sequence (context, marker and action tokens).
    pub positions: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self { width: 64, layers: 2, heads: 4, mlp_width: 256, positions: 256 }
    }
}

impl ModelConfig {
    /// # Errors
    /// A zero size or a width that the heads do not divide.
    pub fn validate(&self) -> Result<(), String> {
        if self.width == 0 || self.layers == 0 || self.heads == 0 || self.mlp_width == 0 || self.positions < 2 {
            return Err("model: width, layers, heads and mlp_width must be at least 1, positions at least 2".into());
        }
        if !self.width.is_multiple_of(self.heads) {
            return Err(format!("model: width {} is not a multiple of heads {}", self.width, self.heads));
        }
        Ok(())
    }

    /// The number of trainable numbers.
    pub fn parameter_count(&self) -> usize {
        let (w, h) = (self.width, self.mlp_width);
        let block = 2 * w + 3 * w * w + w * w + 2 * w * h;
        VOCABULARY * w + self.positions * w + self.layers * block + w + VOCABULARY * w + w + 1
    }
}

/// The names and shapes of a model's parameters, in a fixed order.
fn parameter_shapes(config: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let (w, h) = (config.width, config.mlp_width);
    let mut shapes = vec![
        ("token_embedding".to_owned(), vec![VOCABULARY, w]),
        ("position_embedding".into(), vec![config.positions, w]),
    ];
    for layer in 0..config.layers {
        let name = |part: &str| format!("layer{layer}.{part}");
        shapes.push((name("attention_norm"), vec![w]));
        shapes.push((name("qkv"), vec![3 * w, w]));
        shapes.push((name("attention_out"), vec![w, w]));
        shapes.push((name("mlp_norm"), vec![w]));
        shapes.push((name("mlp_up"), vec![h, w]));
        shapes.push((name("mlp_down"), vec![w, h]));
    }
    shapes.push(("final_norm".into(), vec![w]));
    shapes.push(("lm_head".into(), vec![VOCABULARY, w]));
    shapes.push(("value_head".into(), vec![1, w]));
    shapes.push(("value_bias".into(), vec![1]));
    shapes
}

/// The initial scale of a parameter: ones for norms, zeros for the value head, uniform with
/// the standard deviation of LeCun initialisation elsewhere (residual outputs scaled down by
/// the depth, the head by its width).
fn initial_values(name: &str, shape: &[usize], config: &ModelConfig, rng: &mut sim_core::seed::StreamRng) -> Vec<f32> {
    let count: usize = shape.iter().product();
    if name.ends_with("norm") {
        return vec![1.0; count];
    }
    if name.starts_with("value") {
        return vec![0.0; count];
    }
    let fan_in = *shape.last().unwrap_or(&1) as f32;
    let depth = (2.0 * config.layers as f32).sqrt();
    let deviation = match name {
        "token_embedding" | "position_embedding" => 0.1,
        "lm_head" => 0.5 / fan_in.sqrt(),
        _ if name.ends_with("attention_out") || name.ends_with("mlp_down") => 1.0 / (fan_in.sqrt() * depth),
        _ => 1.0 / fan_in.sqrt(),
    };
    let half_width = deviation * 3f32.sqrt();
    (0..count).map(|_| rng.random_range(-half_width..half_width)).collect()
}

/// Keys and values of the positions seen so far, per layer, for one sequence. Cloning is
/// cheap (tensors are shared) and extending never changes a clone.
#[derive(Debug, Default, Clone)]
pub struct Cache {
    layers: Vec<(Tensor, Tensor)>,
    length: usize,
}

impl Cache {
    pub fn len(&self) -> usize {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }
}

/// A policy network: the parameters of a [`ModelConfig`].
#[derive(Debug, Clone)]
pub struct Model {
    pub config: ModelConfig,
    parameters: BTreeMap<String, Var>,
    device: Device,
}

const NORM_EPSILON: f64 = 1e-5;
/// The additive mask of a position a query may not see (finite, so no 0·∞ in a backward pass).
const MASKED: f32 = -1e9;

fn linear(input: &Tensor, weight: &Tensor) -> candle_core::Result<Tensor> {
    let dims = input.dims().to_vec();
    let rows: usize = dims[..dims.len() - 1].iter().product();
    let output = input.reshape((rows, dims[dims.len() - 1]))?.matmul(&weight.t()?)?;
    let mut shape = dims;
    let last = shape.len() - 1;
    shape[last] = weight.dim(0)?;
    output.reshape(shape)
}

fn rms_norm(input: &Tensor, weight: &Tensor) -> candle_core::Result<Tensor> {
    let mean_square = input.sqr()?.mean_keepdim(D::Minus1)?;
    input.broadcast_div(&(mean_square + NORM_EPSILON)?.sqrt()?)?.broadcast_mul(weight)
}

/// Softmax over the last dimension from differentiable primitives.
pub fn softmax(scores: &Tensor) -> candle_core::Result<Tensor> {
    let shifted = scores.broadcast_sub(&scores.max_keepdim(D::Minus1)?.detach())?;
    let exponentials = shifted.exp()?;
    exponentials.broadcast_div(&exponentials.sum_keepdim(D::Minus1)?)
}

/// Log-softmax over the last dimension from differentiable primitives.
pub fn log_softmax(logits: &Tensor) -> candle_core::Result<Tensor> {
    let shifted = logits.broadcast_sub(&logits.max_keepdim(D::Minus1)?.detach())?;
    shifted.broadcast_sub(&shifted.exp()?.sum_keepdim(D::Minus1)?.log()?)
}

impl Model {
    /// A fresh model, its weights drawn from the `"init"` stream of `seed`.
    ///
    /// # Errors
    /// An invalid config.
    pub fn new(config: ModelConfig, seed: u64, device: &Device) -> Result<Self, LearnError> {
        config.validate().map_err(LearnError::Config)?;
        let mut rng = stream(seed, "init");
        let mut parameters = BTreeMap::new();
        for (name, shape) in parameter_shapes(&config) {
            let values = initial_values(&name, &shape, &config, &mut rng);
            let tensor = Tensor::from_vec(values, shape, device)?;
            parameters.insert(name, Var::from_tensor(&tensor)?);
        }
        Ok(Self { config, parameters, device: device.clone() })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The trainable tensors by name, in name order.
    pub fn parameters(&self) -> &BTreeMap<String, Var> {
        &self.parameters
    }

    fn parameter(&self, name: &str) -> &Tensor {
        self.parameters[name].as_tensor()
    }

    /// An independent copy whose parameters do not follow later updates of `self` (the frozen
    /// reference of a KL penalty).
    ///
    /// # Errors
    /// A candle failure.
    pub fn frozen_copy(&self) -> Result<Self, LearnError> {
        let mut parameters = BTreeMap::new();
        for (name, var) in &self.parameters {
            parameters.insert(name.clone(), Var::from_tensor(&var.as_tensor().copy()?)?);
        }
        Ok(Self { config: self.config, parameters, device: self.device.clone() })
    }

    /// The final hidden states of `ids` (B, T) placed at positions `offset..offset + T`,
    /// attending to `cache` (which this extends) and causally among themselves: (B, T, width).
    ///
    /// # Errors
    /// Shape or candle failures; positions beyond the config's.
    pub fn hidden(&self, ids: &Tensor, offset: usize, mut cache: Option<&mut Cache>) -> Result<Tensor, LearnError> {
        let (batch, length) = ids.dims2()?;
        if offset + length > self.config.positions {
            return Err(LearnError::TooLong { length: offset + length, positions: self.config.positions });
        }
        let width = self.config.width;
        let heads = self.config.heads;
        let head_width = width / heads;
        let tokens = self.parameter("token_embedding").index_select(&ids.flatten_all()?, 0)?;
        let positions = self.parameter("position_embedding").narrow(0, offset, length)?;
        let mut x = tokens.reshape((batch, length, width))?.broadcast_add(&positions)?;
        let mask = (length > 1)
            .then(|| causal_mask(length, offset, &self.device).and_then(|mask| mask.to_dtype(x.dtype())))
            .transpose()?;
        let scale = 1.0 / (head_width as f64).sqrt();
        for layer in 0..self.config.layers {
            let name = |part: &str| format!("layer{layer}.{part}");
            let normed = rms_norm(&x, self.parameter(&name("attention_norm")))?;
            let qkv = linear(&normed, self.parameter(&name("qkv")))?.reshape((batch, length, 3, heads, head_width))?;
            let split = |index: usize| -> candle_core::Result<Tensor> {
                qkv.narrow(2, index, 1)?.squeeze(2)?.transpose(1, 2)?.contiguous()
            };
            let (query, mut key, mut value) = (split(0)?, split(1)?, split(2)?);
            if let Some(cache) = cache.as_deref_mut() {
                if let Some((past_key, past_value)) = cache.layers.get(layer) {
                    key = Tensor::cat(&[past_key, &key], 2)?;
                    value = Tensor::cat(&[past_value, &value], 2)?;
                }
                if cache.layers.len() > layer {
                    cache.layers[layer] = (key.clone(), value.clone());
                } else {
                    cache.layers.push((key.clone(), value.clone()));
                }
            }
            let mut scores = (query.matmul(&key.t()?)? * scale)?;
            if let Some(mask) = &mask {
                scores = scores.broadcast_add(mask)?;
            }
            let attended = softmax(&scores)?.matmul(&value)?.transpose(1, 2)?.reshape((batch, length, width))?;
            x = (x + linear(&attended, self.parameter(&name("attention_out")))?)?;
            let normed = rms_norm(&x, self.parameter(&name("mlp_norm")))?;
            let up = linear(&normed, self.parameter(&name("mlp_up")))?.silu()?;
            x = (x + linear(&up, self.parameter(&name("mlp_down")))?)?;
        }
        if let Some(cache) = cache {
            cache.length = offset + length;
        }
        Ok(rms_norm(&x, self.parameter("final_norm"))?)
    }

    /// The same model with its parameters converted to `dtype` (f64 for gradient checks).
    ///
    /// # Errors
    /// A candle failure.
    pub fn to_dtype(&self, dtype: DType) -> Result<Self, LearnError> {
        let mut parameters = BTreeMap::new();
        for (name, var) in &self.parameters {
            parameters.insert(name.clone(), Var::from_tensor(&var.as_tensor().to_dtype(dtype)?)?);
        }
        Ok(Self { config: self.config, parameters, device: self.device.clone() })
    }

    /// Next-token logits of hidden rows (N, width): (N, vocabulary).
    ///
    /// # Errors
    /// A candle failure.
    pub fn logits(&self, rows: &Tensor) -> Result<Tensor, LearnError> {
        Ok(rows.matmul(&self.parameter("lm_head").t()?)?)
    }

    /// Value estimates of hidden rows (N, width): (N,).
    ///
    /// # Errors
    /// A candle failure.
    pub fn values(&self, rows: &Tensor) -> Result<Tensor, LearnError> {
        Ok(rows.matmul(&self.parameter("value_head").t()?)?.broadcast_add(self.parameter("value_bias"))?.squeeze(1)?)
    }

    /// Feeds `ids` of one sequence after what `cache` holds; returns the next-token logits
    /// and the value estimate at the last of them.
    ///
    /// # Errors
    /// Candle failures; a sequence longer than the config's positions.
    pub fn extend(&self, ids: &[u32], cache: &mut Cache) -> Result<(Vec<f32>, f32), LearnError> {
        let input = Tensor::new(ids, &self.device)?.unsqueeze(0)?;
        let hidden = self.hidden(&input, cache.len(), Some(cache))?;
        let last = hidden.narrow(1, ids.len() - 1, 1)?.squeeze(1)?;
        let logits = self.logits(&last)?.squeeze(0)?.to_vec1::<f32>()?;
        let value = self.values(&last)?.to_vec1::<f32>()?[0];
        Ok((logits, value))
    }

    /// Writes the parameters as safetensors (tensors in name order: the same model gives the
    /// same bytes).
    ///
    /// # Errors
    /// I/O or candle failures.
    pub fn save(&self, path: &Path) -> Result<(), LearnError> {
        save_tensors(self.parameters.iter().map(|(name, var)| (name.clone(), var.as_tensor().clone())), path)
    }

    /// Loads parameters written by [`Model::save`] for a model of `config`.
    ///
    /// # Errors
    /// A missing file, a missing tensor or a tensor of the wrong shape.
    pub fn load(config: ModelConfig, path: &Path, device: &Device) -> Result<Self, LearnError> {
        config.validate().map_err(LearnError::Config)?;
        let mut tensors = load_tensors(path, device)?;
        let mut parameters = BTreeMap::new();
        for (name, shape) in parameter_shapes(&config) {
            let tensor = tensors.remove(&name).ok_or_else(|| {
                LearnError::Checkpoint(format!("{}: no tensor `{name}` for this model config", path.display()))
            })?;
            if tensor.dims() != shape.as_slice() {
                return Err(LearnError::Checkpoint(format!(
                    "{}: `{name}` has shape {:?}, the config needs {shape:?}",
                    path.display(),
                    tensor.dims()
                )));
            }
            parameters.insert(name, Var::from_tensor(&tensor.to_dtype(DType::F32)?)?);
        }
        Ok(Self { config, parameters, device: device.clone() })
    }
}

/// (T, offset + T): query `i` (at position `offset + i`) may see keys `0..=offset + i`.
fn causal_mask(length: usize, offset: usize, device: &Device) -> candle_core::Result<Tensor> {
    let keys = offset + length;
    let values: Vec<f32> = (0..length)
        .flat_map(|query| (0..keys).map(move |key| if key > offset + query { MASKED } else { 0.0 }))
        .collect();
    Tensor::from_vec(values, (length, keys), device)
}

/// Writes named tensors as safetensors, in name order.
///
/// # Errors
/// I/O or candle failures, naming the file.
pub fn save_tensors(tensors: impl Iterator<Item = (String, Tensor)>, path: &Path) -> Result<(), LearnError> {
    let map: std::collections::HashMap<String, Tensor> = tensors.collect();
    candle_core::safetensors::save(&map, path)
        .map_err(|error| LearnError::Checkpoint(format!("writing {}: {error}", path.display())))
}

/// Reads named tensors from a safetensors file.
///
/// # Errors
/// A missing or malformed file, naming it.
pub fn load_tensors(path: &Path, device: &Device) -> Result<BTreeMap<String, Tensor>, LearnError> {
    let tensors = candle_core::safetensors::load(path, device)
        .map_err(|error| LearnError::Checkpoint(format!("reading {}: {error}", path.display())))?;
    Ok(tensors.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ModelConfig {
        ModelConfig { width: 16, layers: 2, heads: 2, mlp_width: 32, positions: 32 }
    }

    #[test]
    fn cached_steps_equal_one_full_forward() {
        let model = Model::new(tiny(), 3, &Device::Cpu).unwrap();
        let ids: Vec<u32> = vec![5, 70, 256, 10, 200, 33];
        let full = model.hidden(&Tensor::new(ids.as_slice(), &Device::Cpu).unwrap().unsqueeze(0).unwrap(), 0, None);
        let full = model.logits(&full.unwrap().squeeze(0).unwrap()).unwrap().to_vec2::<f32>().unwrap();
        let mut cache = Cache::default();
        let (first, _) = model.extend(&ids[..3], &mut cache).unwrap();
        let mut stepped = vec![first];
        for id in &ids[3..] {
            stepped.push(model.extend(&[*id], &mut cache).unwrap().0);
        }
        for (row, logits) in stepped.iter().enumerate() {
            for (a, b) in logits.iter().zip(&full[row + 2]) {
                assert!((a - b).abs() < 1e-4, "row {row}: {a} vs {b}");
            }
        }
        assert_eq!(cache.len(), ids.len());
    }

    #[test]
    fn the_same_seed_gives_the_same_weights_and_a_saved_model_loads() {
        let a = Model::new(tiny(), 9, &Device::Cpu).unwrap();
        let b = Model::new(tiny(), 9, &Device::Cpu).unwrap();
        let c = Model::new(tiny(), 10, &Device::Cpu).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (pa, pb, pc) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
        a.save(&pa).unwrap();
        b.save(&pb).unwrap();
        c.save(&pc).unwrap();
        assert_eq!(std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
        assert_ne!(std::fs::read(&pa).unwrap(), std::fs::read(&pc).unwrap());
        let loaded = Model::load(tiny(), &pa, &Device::Cpu).unwrap();
        loaded.save(&pc).unwrap();
        assert_eq!(std::fs::read(&pa).unwrap(), std::fs::read(&pc).unwrap());
        let parameters: usize = a.parameters().values().map(|var| var.as_tensor().elem_count()).sum();
        assert_eq!(parameters, tiny().parameter_count());
        let wrong = ModelConfig { width: 32, heads: 2, ..tiny() };
        assert!(matches!(Model::load(wrong, &pa, &Device::Cpu), Err(LearnError::Checkpoint(_))));
    }
}
