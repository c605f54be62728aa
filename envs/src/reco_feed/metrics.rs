//! Metrics of `reco_feed-v0`: each episode records its counters ([`super::FeedStats`]) as
//! typed metrics, and a run pools them into the papers' ratios ([`METRICS`]); [`feed_metrics`]
//! aggregates a set of records the same way, plus coverage from the served slates.
//!
//! Definitions (spec §1.7): CTR = clicks / impressions; watch time = minutes watched per
//! episode; session depth = served slates per session; retention = returns / session ends with
//! campaign days left; return time = mean gap in days; ILD = mean over slates of
//! 1 − mean pairwise topic cosine; coverage = distinct items served / catalogue size;
//! instruction-following rate = share of items, in slates served right after an instruction,
//! that satisfy it; re-engagement rate = share of instructions not followed by the user leaving
//! within [`super::REENGAGEMENT_WINDOW`] slates.

use std::collections::BTreeSet;

use serde::Serialize;
use sim_core::{EpisodeMetrics, EpisodeRecord, Kind, MetricSpec};

use super::FeedStats;

/// The metrics every episode records and every run reports.
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::mean("served_slates", "slates served in the episode (every session of the campaign)"),
    MetricSpec::mean("impressions", "videos shown (slate positions the user reached)"),
    MetricSpec::mean("clicks", "videos the user started watching"),
    MetricSpec::mean("likes", "videos liked, per episode"),
    MetricSpec::mean("watch_minutes", "minutes watched per episode (watch time, KuaiSim)"),
    MetricSpec::mean("early_impressions", "impressions in the first slates of the episode"),
    MetricSpec::mean("early_clicks", "clicks in the first slates of the episode"),
    MetricSpec::mean("diversity_sum", "sum over served slates of their intra-list diversity"),
    MetricSpec::mean("instructions", "reflective instructions the user gave, per episode (RecoWorld)"),
    MetricSpec::mean("instruction_items", "items of slates served right after an instruction"),
    MetricSpec::mean("instruction_items_followed", "those of them that satisfy the instruction"),
    MetricSpec::mean("reengaged", "instructions not followed by the user leaving within the re-engagement window"),
    MetricSpec::mean("sessions", "sessions per episode (campaign days the user came back for, plus the first)"),
    MetricSpec::mean("return_chances", "session ends with campaign days left"),
    MetricSpec::mean("returns", "of those, the ones the user came back after"),
    MetricSpec::mean("return_days", "days between a session end and the user's return, summed"),
    MetricSpec::ratio("ctr", "clicks", "impressions", "click-through rate: clicks / impressions (RecSim, KuaiSim)"),
    MetricSpec::ratio("early_ctr", "early_clicks", "early_impressions", "CTR over the first slates of each episode"),
    MetricSpec::ratio("session_depth", "served_slates", "sessions", "served slates per session (KuaiSim's depth)"),
    MetricSpec::ratio(
        "retention",
        "returns",
        "return_chances",
        "returns / session ends with campaign days left (KuaiSim's retention)",
    ),
    MetricSpec::ratio("return_time_days", "return_days", "returns", "mean days before the user returns (KuaiSim)"),
    MetricSpec::ratio(
        "intra_list_diversity",
        "diversity_sum",
        "served_slates",
        "mean over served slates of 1 − mean pairwise topic cosine",
    ),
    MetricSpec::ratio(
        "instruction_following_rate",
        "instruction_items_followed",
        "instruction_items",
        "share of items, in slates served right after an instruction, that satisfy it (RecoWorld)",
    ),
    MetricSpec::ratio(
        "reengagement_rate",
        "reengaged",
        "instructions",
        "share of instructions the user did not leave after (RecoWorld)",
    ),
];

/// The metrics of one finished episode, from its counters.
pub fn episode_metrics(stats: &FeedStats) -> EpisodeMetrics {
    let mut metrics = EpisodeMetrics::default();
    for (name, value) in [
        ("served_slates", f64::from(stats.served_slates)),
        ("impressions", f64::from(stats.impressions)),
        ("clicks", f64::from(stats.clicks)),
        ("likes", f64::from(stats.likes)),
        ("watch_minutes", stats.watch_minutes),
        ("early_impressions", f64::from(stats.early_impressions)),
        ("early_clicks", f64::from(stats.early_clicks)),
        ("diversity_sum", stats.diversity_sum),
        ("instructions", f64::from(stats.instructions)),
        ("instruction_items", f64::from(stats.instruction_items)),
        ("instruction_items_followed", f64::from(stats.instruction_items_followed)),
        ("reengaged", f64::from(stats.reengaged)),
        ("sessions", f64::from(stats.sessions)),
        ("return_chances", f64::from(stats.return_chances)),
        ("returns", f64::from(stats.returns)),
        ("return_days", f64::from(stats.return_days)),
    ] {
        metrics.set(name, value);
    }
    metrics
}

/// Aggregated metrics of a set of episodes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FeedMetrics {
    pub episodes: usize,
    pub ctr: f64,
    /// CTR over the first [`super::EARLY_SLATES`] served slates of each episode.
    pub early_ctr: f64,
    pub watch_minutes_per_episode: f64,
    pub likes_per_episode: f64,
    pub session_depth: f64,
    pub sessions_per_episode: f64,
    pub retention: f64,
    pub return_days: f64,
    pub intra_list_diversity: f64,
    pub coverage: f64,
    pub instructions_per_episode: f64,
    pub instruction_following_rate: f64,
    pub reengagement_rate: f64,
    pub mean_return: f64,
}

/// Reads the counters of one record from its metrics (`None` when it has none).
pub fn stats_of(record: &EpisodeRecord) -> Option<FeedStats> {
    let m = &record.metrics;
    let count = |name: &str| m.get(name).map(|value| value as u32);
    Some(FeedStats {
        served_slates: count("served_slates")?,
        impressions: count("impressions")?,
        clicks: count("clicks")?,
        likes: count("likes")?,
        watch_minutes: m.get("watch_minutes")?,
        early_impressions: count("early_impressions")?,
        early_clicks: count("early_clicks")?,
        diversity_sum: m.get("diversity_sum")?,
        instructions: count("instructions")?,
        instruction_items: count("instruction_items")?,
        instruction_items_followed: count("instruction_items_followed")?,
        reengaged: count("reengaged")?,
        sessions: count("sessions")?,
        return_chances: count("return_chances")?,
        returns: count("returns")?,
        return_days: count("return_days")?,
    })
}

/// The ids of the slates the user was served (actions answered by an observation, not by an
/// invalid-slate message).
pub fn served_items(record: &EpisodeRecord) -> Vec<u32> {
    let entries = record.transcript.entries();
    let mut ids = Vec::new();
    for pair in entries.windows(2) {
        if pair[0].kind != Kind::Action || pair[1].kind == Kind::Admin {
            continue;
        }
        let text = pair[0].text.trim();
        let body = text.get(..9).filter(|h| h.eq_ignore_ascii_case("recommend")).map_or(text, |_| &text[9..]);
        ids.extend(
            body.split(|c: char| c == ',' || c.is_whitespace())
                .filter_map(|t| t.strip_prefix('i').or_else(|| t.strip_prefix('I')))
                .filter_map(|digits| digits.parse::<u32>().ok()),
        );
    }
    ids
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 { numerator / denominator } else { 0.0 }
}

/// Aggregates the metrics of `records` (of one config with `catalogue_size` items).
pub fn feed_metrics(records: &[EpisodeRecord], catalogue_size: u32) -> FeedMetrics {
    let mut total = FeedStats::default();
    let mut served = BTreeSet::new();
    let mut returns = 0.0;
    for record in records {
        let Some(stats) = stats_of(record) else { continue };
        total.served_slates += stats.served_slates;
        total.impressions += stats.impressions;
        total.clicks += stats.clicks;
        total.likes += stats.likes;
        total.watch_minutes += stats.watch_minutes;
        total.early_impressions += stats.early_impressions;
        total.early_clicks += stats.early_clicks;
        total.diversity_sum += stats.diversity_sum;
        total.instructions += stats.instructions;
        total.instruction_items += stats.instruction_items;
        total.instruction_items_followed += stats.instruction_items_followed;
        total.reengaged += stats.reengaged;
        total.sessions += stats.sessions;
        total.return_chances += stats.return_chances;
        total.returns += stats.returns;
        total.return_days += stats.return_days;
        served.extend(served_items(record));
        returns += record.episode_return;
    }
    let n = records.len() as f64;
    FeedMetrics {
        episodes: records.len(),
        ctr: ratio(f64::from(total.clicks), f64::from(total.impressions)),
        early_ctr: ratio(f64::from(total.early_clicks), f64::from(total.early_impressions)),
        watch_minutes_per_episode: ratio(total.watch_minutes, n),
        likes_per_episode: ratio(f64::from(total.likes), n),
        session_depth: ratio(f64::from(total.served_slates), f64::from(total.sessions)),
        sessions_per_episode: ratio(f64::from(total.sessions), n),
        retention: ratio(f64::from(total.returns), f64::from(total.return_chances)),
        return_days: ratio(f64::from(total.return_days), f64::from(total.returns)),
        intra_list_diversity: ratio(total.diversity_sum, f64::from(total.served_slates)),
        coverage: ratio(served.len() as f64, f64::from(catalogue_size)),
        instructions_per_episode: ratio(f64::from(total.instructions), n),
        instruction_following_rate: ratio(
            f64::from(total.instruction_items_followed),
            f64::from(total.instruction_items),
        ),
        reengagement_rate: ratio(f64::from(total.reengaged), f64::from(total.instructions)),
        mean_return: ratio(returns, n),
    }
}
