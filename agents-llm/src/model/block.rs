//! A transformer block: pre-normalised self-attention and SwiGLU MLP, each added to the
//! residual stream.

use super::attention::{Attention, Rotary};
use super::config::ModelConfig;
use super::linear::{LayerInput, Linear};
use super::ops::{rms_norm, swiglu};
use super::{Scratch, SequenceInput};
use crate::LlmError;

/// One layer of the model.
pub(super) struct Block {
    pub(super) attention_norm: Vec<f32>,
    pub(super) attention: Attention,
    pub(super) mlp_norm: Vec<f32>,
    pub(super) mlp: Mlp,
}

impl Block {
    /// Adds the block's attention and MLP outputs to the residual stream `x` (one row of
    /// `hidden_size` per new token of the batch, in batch order); the attention appends the new
    /// keys and values to layer `layer` of each sequence's cache.
    pub(super) fn forward(
        &self,
        layer: usize,
        config: &ModelConfig,
        rotary: &Rotary,
        x: &mut [f32],
        batch: &mut [SequenceInput<'_>],
        scratch: &mut Scratch,
    ) -> Result<(), LlmError> {
        rms_norm(x, &self.attention_norm, config.rms_norm_eps, &mut scratch.normed);
        let projected = self.attention.forward(layer, config, rotary, batch, scratch)?;
        x.iter_mut().zip(&projected).for_each(|(a, b)| *a += b);
        rms_norm(x, &self.mlp_norm, config.rms_norm_eps, &mut scratch.normed);
        let down = self.mlp.forward(&scratch.normed, scratch.rows)?;
        x.iter_mut().zip(&down).for_each(|(a, b)| *a += b);
        Ok(())
    }
}

/// The SwiGLU MLP of one layer: `down(silu(gate(x)) * up(x))`.
pub(super) struct Mlp {
    pub(super) gate: Linear,
    pub(super) up: Linear,
    pub(super) down: Linear,
}

impl Mlp {
    /// The MLP's output for `rows` normalised rows.
    fn forward(&self, normed: &[f32], rows: usize) -> Result<Vec<f32>, LlmError> {
        let mut input = LayerInput::new(normed, rows);
        let mut gate = self.gate.forward(&mut input)?;
        let up = self.up.forward(&mut input)?;
        swiglu(&mut gate, &up);
        self.down.forward(&mut LayerInput::new(&gate, rows))
    }
}
