#![doc = include_str!("../README.md")]

pub mod algorithms;
pub mod curve;
pub mod model;
pub mod policy;
pub mod rollout;
pub mod tokens;
pub mod train;

#[cfg(test)]
mod tests;

use std::path::Path;

use thiserror::Error;

pub use model::{Model, ModelConfig};
pub use policy::{AGENT_PREFIX, Policy, PolicyAgent, PolicySpec};
pub use train::{TrainConfig, TrainOptions, TrainReport, train};

/// Why training or a policy failed.
#[derive(Debug, Error)]
pub enum LearnError {
    /// A training file that cannot be run; `scenarios train` exits with code 2.
    #[error("{path}:{line}:{column}: {message}")]
    File { path: String, line: usize, column: usize, message: String },
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Checkpoint(String),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("a sequence of {length} tokens exceeds the model's {positions} positions")]
    TooLong { length: usize, positions: usize },
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error(transparent)]
    Engine(#[from] sim_core::EngineError),
}

impl LearnError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.display().to_string(), source }
    }
}
