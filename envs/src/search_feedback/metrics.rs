//! ConvSim's metrics for `search_feedback-v0`, computed from episode records (their revealed
//! `hidden` log, see [`super::hidden_strings`]).
//!
//! - **nDCG@3 at round r** (r = 0..3): the mean over episodes of the nDCG@3 of the answer given
//!   in round r; an episode that ended earlier (the user was satisfied, or the run allows
//!   fewer rounds) carries its last value forward, as ConvSim's per-turn evaluation does; an
//!   episode that never answered counts 0.
//! - **Relative gain after 3 rounds**: (nDCG@3 at round 3 − at round 0) / nDCG@3 at round 0.
//! - **Rounds used**: answers per episode (1 + feedback rounds used).
//! - **Clarifying questions** per episode, and their **usefulness**: the share the user took as
//!   on target (they named a right part of the need).
//! - **Recall@10 of searches**: the share of the need's grade-2 documents (up to 10) a search
//!   returned, averaged over all searches.

use serde::{Deserialize, Serialize};
use sim_core::EpisodeRecord;

/// The rounds the metrics report (initial answer plus three feedback rounds).
pub const ROUNDS: usize = 4;

/// What one episode's log says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EpisodeLog {
    pub ndcg_by_round: Vec<f64>,
    pub clarify_on_target: usize,
    pub clarify_off_target: usize,
    pub clarify_irrelevant: usize,
    pub recalls: Vec<f64>,
}

impl EpisodeLog {
    /// Reads the log string of a record's `hidden` list.
    pub fn from_record(record: &EpisodeRecord) -> Option<Self> {
        let text = record.hidden.iter().find_map(|h| h.strip_prefix("log: ndcg@3 by round"))?;
        let mut parts = text.split(';');
        let ndcg_by_round = numbers(parts.next()?);
        let clarify = parts.next()?;
        let recalls = numbers(parts.next()?.trim().strip_prefix("search recall@10")?);
        let count = |label: &str| -> Option<usize> {
            let start = clarify.find(label)? + label.len();
            clarify[start..].split_whitespace().next()?.parse().ok()
        };
        Some(Self {
            ndcg_by_round,
            clarify_on_target: count("on-target ")?,
            clarify_off_target: count("off-target ")?,
            clarify_irrelevant: count("irrelevant ")?,
            recalls,
        })
    }

    pub fn clarifying_questions(&self) -> usize {
        self.clarify_on_target + self.clarify_off_target + self.clarify_irrelevant
    }

    /// nDCG@3 at round `round`, carried forward past the last answer (0 before any).
    pub fn ndcg_at_round(&self, round: usize) -> f64 {
        self.ndcg_by_round.get(round).or(self.ndcg_by_round.last()).copied().unwrap_or(0.0)
    }
}

fn numbers(text: &str) -> Vec<f64> {
    text.split_whitespace().filter_map(|w| w.parse().ok()).collect()
}

/// The metrics of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchMetrics {
    pub episodes: usize,
    /// Mean nDCG@3 at rounds 0..3.
    pub ndcg_by_round: [f64; ROUNDS],
    /// (round 3 − round 0) / round 0; 0 when round 0 is 0.
    pub relative_gain: f64,
    pub success_rate: f64,
    pub mean_rounds_used: f64,
    pub clarifying_questions_per_episode: f64,
    /// Share of clarifying questions on target (`None` when none was asked).
    pub clarify_usefulness: Option<f64>,
    /// Mean recall@10 over all searches (`None` when none was made).
    pub search_recall_at_10: Option<f64>,
}

impl SearchMetrics {
    /// The metrics of a run's records (records without a log are skipped).
    pub fn from_records(records: &[EpisodeRecord]) -> Self {
        let logs: Vec<(EpisodeLog, bool)> =
            records.iter().filter_map(|r| EpisodeLog::from_record(r).map(|log| (log, r.success))).collect();
        let episodes = logs.len();
        let mean = |sum: f64| if episodes == 0 { 0.0 } else { sum / episodes as f64 };
        let ndcg_by_round: [f64; ROUNDS] =
            std::array::from_fn(|round| mean(logs.iter().map(|(log, _)| log.ndcg_at_round(round)).sum()));
        let relative_gain = if ndcg_by_round[0] > 0.0 {
            (ndcg_by_round[ROUNDS - 1] - ndcg_by_round[0]) / ndcg_by_round[0]
        } else {
            0.0
        };
        let questions: usize = logs.iter().map(|(log, _)| log.clarifying_questions()).sum();
        let on_target: usize = logs.iter().map(|(log, _)| log.clarify_on_target).sum();
        let recalls: Vec<f64> = logs.iter().flat_map(|(log, _)| log.recalls.iter().copied()).collect();
        Self {
            episodes,
            ndcg_by_round,
            relative_gain,
            success_rate: mean(logs.iter().filter(|(_, success)| *success).count() as f64),
            mean_rounds_used: mean(logs.iter().map(|(log, _)| log.ndcg_by_round.len() as f64).sum()),
            clarifying_questions_per_episode: mean(questions as f64),
            clarify_usefulness: (questions > 0).then(|| on_target as f64 / questions as f64),
            search_recall_at_10: (!recalls.is_empty()).then(|| recalls.iter().sum::<f64>() / recalls.len() as f64),
        }
    }
}
