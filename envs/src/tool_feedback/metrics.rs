//! MINT's metrics for `tool_feedback-v0`, computed from episode records.
//!
//! - **SR@k**: the share of episodes solved within k turns. MINT runs each budget k as its own
//!   evaluation (the agent is told its budget), so [`ToolMetrics::success_rate`] of a run with
//!   `max_steps = k` is SR@k; [`ToolMetrics::solved_within`] gives the cumulative curve inside
//!   one run as well.
//! - **ΔSR** of a feedback mode: SR(k = 5, with that mode) − SR(k = 5, no feedback).
//! - **Invalid-action rate**: invalid turns over all turns.
//! - **Turns to success**: mean turns of the solved episodes.

use serde::{Deserialize, Serialize};
use sim_core::EpisodeRecord;

/// The metrics of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolMetrics {
    pub episodes: usize,
    pub success_rate: f64,
    /// `solved_within[k - 1]`: the share solved within k turns of this run (k = 1..5).
    pub solved_within: [f64; 5],
    pub invalid_action_rate: f64,
    /// Mean turns of solved episodes (`None` when none was solved).
    pub turns_to_success: Option<f64>,
}

impl ToolMetrics {
    /// The metrics of a run's records.
    pub fn from_records(records: &[EpisodeRecord]) -> Self {
        let episodes = records.len();
        let share = |count: usize| if episodes == 0 { 0.0 } else { count as f64 / episodes as f64 };
        let solved: Vec<&EpisodeRecord> = records.iter().filter(|r| r.success).collect();
        let solved_within = std::array::from_fn(|k| share(solved.iter().filter(|r| r.turns as usize <= k + 1).count()));
        let turns: u64 = records.iter().map(|r| u64::from(r.turns)).sum();
        let invalid: u64 = records.iter().map(|r| u64::from(r.invalid_actions)).sum();
        Self {
            episodes,
            success_rate: share(solved.len()),
            solved_within,
            invalid_action_rate: if turns == 0 { 0.0 } else { invalid as f64 / turns as f64 },
            turns_to_success: (!solved.is_empty())
                .then(|| solved.iter().map(|r| f64::from(r.turns)).sum::<f64>() / solved.len() as f64),
        }
    }
}

/// MINT's feedback gain: SR with feedback minus SR without, both at the same k.
pub fn feedback_gain(with_feedback: &ToolMetrics, without_feedback: &ToolMetrics) -> f64 {
    with_feedback.success_rate - without_feedback.success_rate
}
