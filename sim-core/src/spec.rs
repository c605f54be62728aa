//! What an env declares about itself.

use serde::{Deserialize, Serialize};

use crate::normalize::ScoreAnchors;

/// Static facts about a registered env: its id, horizon, reward range and score anchors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvSpec {
    /// Versioned id, `name-vN`, e.g. `twenty_questions-v0`.
    pub id: String,
    /// The turn cap: after this many agent actions an unfinished episode is truncated.
    pub max_turns: u32,
    /// Every per-step reward lies in `[reward_range.0, reward_range.1]`.
    pub reward_range: (f64, f64),
    /// Anchors of the LMRL-Gym normalised score, where the task has them.
    pub score_anchors: Option<ScoreAnchors>,
    /// One line describing the task.
    pub description: String,
}
