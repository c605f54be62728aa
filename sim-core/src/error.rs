//! Errors: programmer and configuration faults only. Invalid agent output is never an error.

use thiserror::Error;

/// An agent's failure to produce actions (a broken pipe, a malformed reply, a model error).
pub type AgentError = Box<dyn std::error::Error + Send + Sync>;

/// A fault in how the engine was driven or configured.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("episode {episode} has finished; reset it before stepping again")]
    EpisodeFinished { episode: u64 },
    #[error("no episode is running: call reset first")]
    NotReset,
    #[error("slot {slot} does not exist (the batch has {size} slots)")]
    UnknownSlot { slot: usize, size: usize },
    #[error("slot {slot} was given two actions in one step")]
    DuplicateAction { slot: usize },
    #[error("the agent returned {got} actions for {expected} episodes")]
    ActionCount { expected: usize, got: usize },
    /// A worker stopped early because another worker or the record sink failed (that failure
    /// is the one a run reports).
    #[error("stopped: {0}")]
    Stopped(&'static str),
    /// The agent's own error is the source.
    #[error("agent failed")]
    Agent(#[source] AgentError),
    #[error("writing trajectories failed: {0}")]
    Io(#[from] std::io::Error),
}

/// An env config or env id that cannot be used.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ConfigError {
    #[error("unknown env id `{id}`; registered: {known}")]
    UnknownEnv { id: String, known: String },
    /// A RON syntax or type error inside a config text; `line` and `column` are 1-based and
    /// relative to that text.
    #[error("{line}:{column}: {message}")]
    Parse { line: usize, column: usize, message: String },
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl ConfigError {
    pub(crate) fn from_ron(error: ron::error::SpannedError) -> Self {
        ConfigError::Parse {
            line: error.span.start.line,
            column: error.span.start.col,
            message: error.code.to_string(),
        }
    }
}
