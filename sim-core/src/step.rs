//! Typed results of `reset` and `step`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Per-step facts beside the observation and reward.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Info {
    /// Index of the episode within its scenario run (or reset counter of a single env).
    pub episode: u64,
    /// Agent actions taken so far in the episode (0 right after reset).
    pub turn: u32,
    /// The action could not be understood; the observation says why and the env's documented
    /// penalty was applied.
    pub invalid_action: bool,
    /// The episode ended in the task's success condition.
    pub success: bool,
    /// Set by a batched env in [`crate::AutoresetMode::SameStep`] when this step finished an
    /// episode and started the next: the finished episode's last observation.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub final_observation: Option<Cow<'static, str>>,
    /// Set when this step's observation is the opening of a new episode produced by autoreset.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub autoreset: bool,
}

/// The result of `reset`: the opening observation.
#[must_use]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reset {
    pub observation: Cow<'static, str>,
    pub info: Info,
}

/// The result of one agent action (Gymnasium semantics).
///
/// Invariant: `terminated` and `truncated` are never both true; after either is true the
/// episode receives no further reward.
#[must_use]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub observation: Cow<'static, str>,
    pub reward: f64,
    /// The task ended (win, loss, the user left).
    pub terminated: bool,
    /// An outside limit (the turn cap) ended the episode.
    pub truncated: bool,
    pub info: Info,
}

impl Step {
    /// Whether the episode is over, for either reason.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}
