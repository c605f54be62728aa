//! Metrics of `conv_rec-v0` runs from [`EpisodeRecord`]s (definitions of UNICORN's
//! `evaluate.py`): SR@k = share of episodes that succeed by turn k; AT = mean turns, failed
//! episodes counting the full `max_turns`; hDCG = for a success at turn T with the target at list
//! rank r, 1/log2(T+2) + (1/log2(T+1) − 1/log2(T+2)) / log2(r+1), averaged over all episodes
//! (0 for failures).

use serde::Serialize;
use sim_core::{EpisodeMetrics, EpisodeRecord, MetricSpec};

/// The metrics every episode records and every run reports (UNICORN's `evaluate.py`).
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::mean("success_at_5", "SR@5: 1 if the target was accepted within 5 turns, else 0"),
    MetricSpec::mean("success_at_10", "SR@10: 1 if the target was accepted within 10 turns, else 0"),
    MetricSpec::mean("success_at_15", "SR@15: 1 if the target was accepted within 15 turns, else 0"),
    MetricSpec::mean("average_turns", "AT: turns to success, a failed episode counting the full max_turns"),
    MetricSpec::mean(
        "hdcg",
        "hDCG: 1/log2(T+2) + (1/log2(T+1) − 1/log2(T+2)) / log2(r+1) for a success at turn T, rank r; 0 for a failure",
    ),
    MetricSpec::mean("success_rank", "the target's rank in the accepted list (successful episodes only)"),
];

/// The metrics of one finished episode; `rank` is the accepted list's rank of the target.
pub fn episode_metrics(record: &EpisodeRecord, rank: Option<usize>, max_turns: u32) -> EpisodeMetrics {
    let rank = rank.filter(|_| record.success);
    let within = |k: u32| f64::from(u8::from(rank.is_some() && record.turns <= k));
    let mut metrics = EpisodeMetrics::default();
    metrics
        .set("success_at_5", within(5))
        .set("success_at_10", within(10))
        .set("success_at_15", within(15))
        .set("average_turns", f64::from(if rank.is_some() { record.turns } else { max_turns }))
        .set("hdcg", rank.map_or(0.0, |rank| hdcg(record.turns, rank)))
        .set_some("success_rank", rank.map(|rank| rank as f64));
    metrics
}

/// Aggregated metrics of a set of episodes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConvMetrics {
    pub episodes: usize,
    pub sr5: f64,
    pub sr10: f64,
    pub sr15: f64,
    pub average_turns: f64,
    pub hdcg: f64,
    pub mean_return: f64,
}

/// The list rank of the target in a successful episode, from its metrics.
pub fn success_rank(record: &EpisodeRecord) -> Option<usize> {
    record.metrics.get("success_rank").filter(|_| record.success).map(|rank| rank as usize)
}

/// hDCG of one success at turn `turn` (1-based) and list rank `rank` (1-based).
pub fn hdcg(turn: u32, rank: usize) -> f64 {
    let t = f64::from(turn);
    let a = 1.0 / (t + 2.0).log2();
    let b = 1.0 / (t + 1.0).log2();
    a + (b - a) / ((rank as f64) + 1.0).log2()
}

/// Aggregates `records` played with `max_turns` turns.
pub fn conv_metrics(records: &[EpisodeRecord], max_turns: u32) -> ConvMetrics {
    let n = records.len().max(1) as f64;
    let by = |k: u32| records.iter().filter(|r| r.success && r.turns <= k).count() as f64 / n;
    let turns: f64 = records.iter().map(|r| f64::from(if r.success { r.turns } else { max_turns })).sum();
    let hdcg_sum: f64 = records.iter().filter_map(|r| success_rank(r).map(|rank| hdcg(r.turns, rank))).sum();
    ConvMetrics {
        episodes: records.len(),
        sr5: by(5),
        sr10: by(10),
        sr15: by(15),
        average_turns: turns / n,
        hdcg: hdcg_sum / n,
        mean_return: records.iter().map(|r| r.episode_return).sum::<f64>() / n,
    }
}

/// How much the questions of a set of episodes narrowed the env's candidate set (the items
/// consistent with every answer, which every observation reports as `(N candidates)`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QuestionStats {
    /// Answered `ask`/`ask_group` moves followed by a candidate count.
    pub questions: usize,
    /// Share of those questions that left the candidate count unchanged: the attribute could not
    /// discriminate the remaining candidates (none or all of them hold it).
    pub non_discriminating: f64,
    /// Mean log2(candidates before / candidates after) per question.
    pub mean_bits: f64,
}

/// The candidate count an env message reports, `(N candidates)`.
fn reported_candidates(text: &str) -> Option<f64> {
    let (before, _) = text.rsplit_once(" candidates)")?;
    let (_, count) = before.rsplit_once('(')?;
    count.parse::<u32>().ok().map(f64::from)
}

/// [`QuestionStats`] of `records`. A question whose answer ends the episode (no count follows)
/// is not counted.
pub fn question_stats(records: &[EpisodeRecord]) -> QuestionStats {
    let (mut questions, mut unchanged, mut bits) = (0usize, 0usize, 0.0);
    for record in records {
        let entries = record.transcript.entries();
        let Some(mut before) = entries.first().and_then(|prompt| reported_candidates(&prompt.text)) else {
            continue;
        };
        for pair in entries[1..].chunks_exact(2) {
            let Some(after) = reported_candidates(&pair[1].text) else { continue };
            if pair[0].text.trim_start().starts_with("ask") {
                questions += 1;
                unchanged += usize::from(after == before);
                bits += (before / after).log2();
            }
            before = after;
        }
    }
    let n = questions.max(1) as f64;
    QuestionStats { questions, non_discriminating: unchanged as f64 / n, mean_bits: bits / n }
}
