//! The hyper-parameters of a llama-family model, shared by the loader and the layers.

/// How rotary embeddings pair the dimensions of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeLayout {
    /// Pairs `(2i, 2i+1)`: GGUF files (llama.cpp permutes the Q/K rows on conversion).
    Interleaved,
    /// Pairs `(i, i + head_dim/2)`: Hugging Face checkpoints.
    Halves,
}

/// Hyper-parameters of a llama-family model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub rms_norm_eps: f32,
    pub rope_theta: f32,
    pub max_positions: usize,
    pub rope_layout: RopeLayout,
}

impl ModelConfig {
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.heads
    }
}
