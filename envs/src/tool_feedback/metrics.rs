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
use sim_core::{EpisodeMetrics, EpisodeRecord, MetricSpec};

/// The metrics every episode records and every run reports.
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::mean("solved_within_1", "1 if the task was solved within 1 turn, else 0 (MINT's SR@k inside one run)"),
    MetricSpec::mean("solved_within_2", "1 if solved within 2 turns, else 0"),
    MetricSpec::mean("solved_within_3", "1 if solved within 3 turns, else 0"),
    MetricSpec::mean("solved_within_4", "1 if solved within 4 turns, else 0"),
    MetricSpec::mean("solved_within_5", "1 if solved within 5 turns, else 0 (SR@5 when max_steps is 5)"),
    MetricSpec::mean("turns", "agent turns in the episode"),
    MetricSpec::mean("invalid_actions", "turns whose action could not be run or read"),
    MetricSpec::ratio("invalid_action_rate", "invalid_actions", "turns", "invalid turns over all turns"),
    MetricSpec::mean("turns_to_success", "turns of a solved episode (solved episodes only)"),
];

/// The metrics of one finished episode (from its record's typed fields).
pub fn episode_metrics(record: &EpisodeRecord) -> EpisodeMetrics {
    let mut metrics = EpisodeMetrics::default();
    for k in 1..=5u32 {
        metrics.set(&format!("solved_within_{k}"), f64::from(u8::from(record.success && record.turns <= k)));
    }
    metrics
        .set("turns", f64::from(record.turns))
        .set("invalid_actions", f64::from(record.invalid_actions))
        .set_some("turns_to_success", record.success.then_some(f64::from(record.turns)));
    metrics
}

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
