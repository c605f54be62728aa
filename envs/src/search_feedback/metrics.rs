//! ConvSim's metrics for `search_feedback-v0`: each episode records them as typed metrics
//! ([`METRICS`], computed from its [`super::SearchSession`] when it ends), and
//! [`SearchMetrics::from_records`] aggregates a set of records.
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
use sim_core::{EpisodeMetrics, EpisodeRecord, MetricSpec};

use super::{ClarifyVerdict, SearchSession};

/// The rounds the metrics report (initial answer plus three feedback rounds).
pub const ROUNDS: usize = 4;

/// Names of the per-round nDCG@3 metrics.
pub const NDCG_BY_ROUND: [&str; ROUNDS] =
    ["ndcg_at_3_round_0", "ndcg_at_3_round_1", "ndcg_at_3_round_2", "ndcg_at_3_round_3"];

/// The metrics every episode of the default (non-stage-wise) mode records.
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::mean("ndcg_at_3_round_0", "nDCG@3 of the first answer (0 if the episode never answered; ConvSim)"),
    MetricSpec::mean("ndcg_at_3_round_1", "nDCG@3 after one feedback round, the last value carried forward (ConvSim)"),
    MetricSpec::mean("ndcg_at_3_round_2", "nDCG@3 after two feedback rounds, carried forward (ConvSim)"),
    MetricSpec::mean("ndcg_at_3_round_3", "nDCG@3 after three feedback rounds, carried forward (ConvSim)"),
    MetricSpec::mean("ndcg_at_3_gain", "nDCG@3 at round 3 minus at round 0"),
    MetricSpec::ratio(
        "relative_gain",
        "ndcg_at_3_gain",
        "ndcg_at_3_round_0",
        "(nDCG@3 at round 3 − at round 0) / nDCG@3 at round 0, over the run (ConvSim: +35%)",
    ),
    MetricSpec::mean("rounds_used", "answers given: 1 + feedback rounds used"),
    MetricSpec::mean("clarifying_questions", "clarifying questions asked per episode"),
    MetricSpec::mean("clarify_on_target", "clarifying questions the user took as on target"),
    MetricSpec::mean("clarify_off_target", "clarifying questions about a wrong part of the need"),
    MetricSpec::mean("clarify_irrelevant", "clarifying questions unrelated to the need"),
    MetricSpec::ratio(
        "clarify_usefulness",
        "clarify_on_target",
        "clarifying_questions",
        "share of clarifying questions on target (Aliannejadi et al.)",
    ),
    MetricSpec::mean("searches", "searches made per episode"),
    MetricSpec::mean("search_recall_at_10_sum", "sum over the episode's searches of their recall@10"),
    MetricSpec::ratio(
        "search_recall_at_10",
        "search_recall_at_10_sum",
        "searches",
        "share of the need's grade-2 documents (up to 10) a search returned, over all searches",
    ),
];

/// The metrics of one finished default-mode episode.
pub fn episode_metrics(session: &SearchSession) -> EpisodeMetrics {
    let ndcg_at =
        |round: usize| session.ndcg_by_round.get(round).or(session.ndcg_by_round.last()).copied().unwrap_or(0.0);
    let count = |verdict: ClarifyVerdict| session.clarifications.iter().filter(|&&c| c == verdict).count() as f64;
    let mut metrics = EpisodeMetrics::default();
    for (round, name) in NDCG_BY_ROUND.iter().enumerate() {
        metrics.set(name, ndcg_at(round));
    }
    metrics
        .set("ndcg_at_3_gain", ndcg_at(ROUNDS - 1) - ndcg_at(0))
        .set("rounds_used", session.ndcg_by_round.len() as f64)
        .set("clarifying_questions", session.clarifications.len() as f64)
        .set("clarify_on_target", count(ClarifyVerdict::OnTarget))
        .set("clarify_off_target", count(ClarifyVerdict::OffTarget))
        .set("clarify_irrelevant", count(ClarifyVerdict::Irrelevant))
        .set("searches", session.recalls.len() as f64)
        .set("search_recall_at_10_sum", session.recalls.iter().sum());
    metrics
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
    /// The metrics of a run's records (records without metrics are skipped).
    pub fn from_records(records: &[EpisodeRecord]) -> Self {
        let with_metrics: Vec<&EpisodeRecord> =
            records.iter().filter(|r| r.metrics.get(NDCG_BY_ROUND[0]).is_some()).collect();
        let episodes = with_metrics.len();
        let total = |name: &str| with_metrics.iter().filter_map(|r| r.metrics.get(name)).sum::<f64>();
        let mean = |sum: f64| if episodes == 0 { 0.0 } else { sum / episodes as f64 };
        let ndcg_by_round: [f64; ROUNDS] = std::array::from_fn(|round| mean(total(NDCG_BY_ROUND[round])));
        let relative_gain = if ndcg_by_round[0] > 0.0 {
            (ndcg_by_round[ROUNDS - 1] - ndcg_by_round[0]) / ndcg_by_round[0]
        } else {
            0.0
        };
        let questions = total("clarifying_questions");
        let searches = total("searches");
        Self {
            episodes,
            ndcg_by_round,
            relative_gain,
            success_rate: mean(with_metrics.iter().filter(|r| r.success).count() as f64),
            mean_rounds_used: mean(total("rounds_used")),
            clarifying_questions_per_episode: mean(questions),
            clarify_usefulness: (questions > 0.0).then(|| total("clarify_on_target") / questions),
            search_recall_at_10: (searches > 0.0).then(|| total("search_recall_at_10_sum") / searches),
        }
    }
}
