//! A llama-family causal LM with one KV cache per sequence, for batches of uneven sequences.
//!
//! The forward pass packs the new tokens of every sequence of a batch into one matrix (no
//! padding), so the linear layers run once for the whole batch: Q8_0 weights on our own kernel
//! ([`crate::q8`]), other GGUF types and dense safetensors weights on candle's `QMatMul`.
//! Normalisation, rotary embeddings and attention run row by row on the host over each
//! sequence's own cache, so a sequence's logits do not depend on the other sequences of its
//! batch, on how its tokens were split into calls, or on padding.
//!
//! Supported: the llama architecture (RMSNorm, rotary embeddings, grouped-query attention,
//! SwiGLU MLP, optionally tied embeddings), from a GGUF file (rotary pairs interleaved, as
//! llama.cpp's converter permutes Q/K) or a Hugging Face folder (rotary halves).
//!
//! The parts, as in candle's model files: `load` (config and weights), `linear` (the
//! matrix products), `kv_cache`, `attention` (projections, rotary embeddings, the kernel),
//! `block` (attention and MLP over the residual stream), `ops` (the element-wise numerics),
//! and here the [`Model`] and its `forward`.

mod attention;
mod block;
mod config;
mod kv_cache;
mod linear;
mod load;
mod ops;

use candle_core::Device;

pub use config::{ModelConfig, RopeLayout};
pub use kv_cache::KvCache;
pub use load::HfConfig;

use attention::Rotary;
use block::Block;
use linear::{LayerInput, Linear};
use ops::rms_norm;

use crate::LlmError;

/// One sequence of a batched forward: its cache and the tokens to append to it.
pub struct SequenceInput<'a> {
    pub cache: &'a mut KvCache,
    pub tokens: &'a [u32],
}

/// A loaded model. Immutable: all per-sequence state lives in [`KvCache`]s.
pub struct Model {
    config: ModelConfig,
    device: Device,
    /// `vocab_size * hidden_size`, dense on the host.
    embeddings: Vec<f32>,
    blocks: Vec<Block>,
    final_norm: Vec<f32>,
    lm_head: Linear,
    rotary: Rotary,
}

/// Buffers of one forward pass that every block reuses.
struct Scratch {
    /// New tokens in the batch: the rows of every buffer.
    rows: usize,
    /// The normalised residual stream, the input of the attention and of the MLP.
    normed: Vec<f32>,
    /// The attention's output, before its projection.
    attended: Vec<f32>,
    /// Attention scores of one query row.
    scores: Vec<f32>,
}

impl Scratch {
    fn new(rows: usize, hidden: usize) -> Self {
        Self { rows, normed: vec![0f32; rows * hidden], attended: vec![0f32; rows * hidden], scores: Vec::new() }
    }
}

impl Model {
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// An empty cache for a new sequence.
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.config.layers)
    }

    /// Appends each sequence's tokens to its cache and returns, per sequence, the logits of
    /// the token following its last new token. Sequences with no new tokens are not allowed.
    ///
    /// # Errors
    /// A sequence without tokens, a token outside the vocabulary, a sequence longer than the
    /// model's context, tensor failures.
    pub fn forward(&self, batch: &mut [SequenceInput<'_>]) -> Result<Vec<Vec<f32>>, LlmError> {
        let hidden = self.config.hidden_size;
        let rows = self.new_tokens(batch)?;
        let mut x = self.embed(batch, rows)?;
        let mut scratch = Scratch::new(rows, hidden);
        for (layer, block) in self.blocks.iter().enumerate() {
            block.forward(layer, &self.config, &self.rotary, &mut x, batch, &mut scratch)?;
        }
        let mut last = Vec::with_capacity(batch.len() * hidden);
        let mut row = 0;
        for sequence in batch.iter_mut() {
            row += sequence.tokens.len();
            last.extend_from_slice(&x[(row - 1) * hidden..row * hidden]);
            sequence.cache.advance(sequence.tokens.len());
        }
        self.logits(&last, batch.len())
    }

    /// The number of new tokens of the batch, once every sequence has some and fits the context.
    fn new_tokens(&self, batch: &[SequenceInput<'_>]) -> Result<usize, LlmError> {
        let mut rows = 0;
        for sequence in batch {
            if sequence.tokens.is_empty() {
                return Err(LlmError::Format("a sequence in the batch has no new tokens".into()));
            }
            if sequence.cache.len() + sequence.tokens.len() > self.config.max_positions {
                return Err(LlmError::ContextFull { max: self.config.max_positions });
            }
            rows += sequence.tokens.len();
        }
        Ok(rows)
    }

    /// The embeddings of the batch's new tokens, `rows` rows in batch order.
    fn embed(&self, batch: &[SequenceInput<'_>], rows: usize) -> Result<Vec<f32>, LlmError> {
        let hidden = self.config.hidden_size;
        let mut x = Vec::with_capacity(rows * hidden);
        for token in batch.iter().flat_map(|sequence| sequence.tokens) {
            let token = *token as usize;
            if token >= self.config.vocab_size {
                return Err(LlmError::Format(format!("token id {token} outside the vocabulary")));
            }
            x.extend_from_slice(&self.embeddings[token * hidden..(token + 1) * hidden]);
        }
        Ok(x)
    }

    /// The logits of `count` rows of the residual stream: final norm, then the head.
    fn logits(&self, last: &[f32], count: usize) -> Result<Vec<Vec<f32>>, LlmError> {
        let mut last_normed = vec![0f32; last.len()];
        rms_norm(last, &self.final_norm, self.config.rms_norm_eps, &mut last_normed);
        let logits = self.lm_head.forward(&mut LayerInput::new(&last_normed, count))?;
        Ok(logits.chunks_exact(self.config.vocab_size).map(<[f32]>::to_vec).collect())
    }
}
