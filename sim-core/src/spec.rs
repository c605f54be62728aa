//! What an env declares about itself.

use serde::{Deserialize, Serialize};

use crate::metrics::MetricSpec;
use crate::normalize::ScoreAnchors;

/// Static facts about a registered env: its id, horizon, reward range and score anchors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvSpec {
    /// Versioned id, `name-vN`, e.g. `twenty_questions-v0`: the env's [`crate::Environment::ID`],
    /// written by the engine when the env is bound to a config (an env leaves it empty).
    pub id: String,
    /// The turn cap: after this many agent actions an unfinished episode is truncated.
    pub max_turns: u32,
    /// Every per-step reward lies in `[reward_range.0, reward_range.1]`.
    pub reward_range: (f64, f64),
    /// Anchors of the LMRL-Gym normalised score, where the task has them.
    pub score_anchors: Option<ScoreAnchors>,
    /// One line describing the task.
    pub description: String,
    /// The paper metrics every episode of the env records (`metrics` in trajectories and
    /// `summary.json`).
    #[serde(default)]
    pub metrics: Vec<MetricSpec>,
}

impl EnvSpec {
    /// A spec without score anchors; the engine fills in the id.
    pub fn new(max_turns: u32, reward_range: (f64, f64), description: impl Into<String>) -> Self {
        Self {
            id: String::new(),
            max_turns,
            reward_range,
            score_anchors: None,
            description: description.into(),
            metrics: Vec::new(),
        }
    }

    /// The spec with the paper metrics its episodes record.
    #[must_use]
    pub fn with_metrics(self, metrics: &[MetricSpec]) -> Self {
        Self { metrics: metrics.to_vec(), ..self }
    }

    /// The spec with LMRL-Gym score anchors.
    #[must_use]
    pub fn with_anchors(self, anchors: ScoreAnchors) -> Self {
        Self { score_anchors: Some(anchors), ..self }
    }
}
