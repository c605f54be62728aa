//! Metrics of `reco_feed-v0` runs, computed after the fact from [`EpisodeRecord`]s: the exact
//! per-episode counters the env reveals in `hidden` once an episode is over
//! ([`super::FeedStats`]), and the served slates from the transcript (for coverage).
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
use sim_core::{EpisodeRecord, Kind};

use super::{FeedStats, STATS_PREFIX};

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

/// Reads the counters of one record (`None` when the record has no stats line).
pub fn stats_of(record: &EpisodeRecord) -> Option<FeedStats> {
    let line = record.hidden.iter().find(|h| h.starts_with(STATS_PREFIX))?;
    let mut stats = FeedStats::default();
    for pair in line.split_whitespace().skip(1) {
        let (key, value) = pair.split_once('=')?;
        let int = || value.parse::<u32>().ok();
        let float = || value.parse::<f64>().ok();
        match key {
            "served_slates" => stats.served_slates = int()?,
            "impressions" => stats.impressions = int()?,
            "clicks" => stats.clicks = int()?,
            "likes" => stats.likes = int()?,
            "watch_minutes" => stats.watch_minutes = float()?,
            "early_impressions" => stats.early_impressions = int()?,
            "early_clicks" => stats.early_clicks = int()?,
            "diversity_sum" => stats.diversity_sum = float()?,
            "instructions" => stats.instructions = int()?,
            "instruction_items" => stats.instruction_items = int()?,
            "instruction_items_followed" => stats.instruction_items_followed = int()?,
            "reengaged" => stats.reengaged = int()?,
            "sessions" => stats.sessions = int()?,
            "return_chances" => stats.return_chances = int()?,
            "returns" => stats.returns = int()?,
            "return_days" => stats.return_days = int()?,
            _ => return None,
        }
    }
    Some(stats)
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
