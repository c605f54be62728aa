//! LMRL-Gym score normalisation and episode statistics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metrics::{Aggregate, MetricSpec, MetricSummary, MetricSums, RatioSums};
use crate::record::EpisodeRecord;

/// The three returns the piecewise-linear LMRL-Gym score is anchored on.
///
/// Invariant: `min < average < max`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoreAnchors {
    /// Mapped to 0: the worst return.
    pub min: f64,
    /// Mapped to 50: the return of the behaviour dataset (LMRL-Gym's "dataset average").
    pub average: f64,
    /// Mapped to 100: the return of the reference expert.
    pub max: f64,
}

impl ScoreAnchors {
    /// The normalised score of a mean return, **unclamped**: a policy better than the expert
    /// scores above 100, one worse than `min` below 0.
    ///
    /// Below the average: `50 (R - min) / (average - min)`; at or above it:
    /// `50 + 50 (R - average) / (max - average)`.
    pub fn normalize(&self, mean_return: f64) -> f64 {
        if mean_return < self.average {
            50.0 * (mean_return - self.min) / (self.average - self.min)
        } else {
            50.0 + 50.0 * (mean_return - self.average) / (self.max - self.average)
        }
    }
}

/// Running statistics over finished episodes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpisodeStats {
    pub episodes: u64,
    pub successes: u64,
    pub total_return: f64,
    pub total_turns: u64,
    pub invalid_actions: u64,
    pub truncated: u64,
    /// Episodes per ending (`EpisodeRecord::ending`), in name order.
    pub endings: BTreeMap<String, u64>,
    /// Sums of each metric the episodes recorded, by name.
    pub metrics: BTreeMap<String, MetricSums>,
    /// Sums of each declared ratio metric ([`EpisodeStats::for_metrics`]), by name.
    pub ratios: BTreeMap<String, RatioSums>,
    /// The ratio metrics to accumulate: name, numerator, denominator.
    #[serde(skip)]
    ratio_parts: Vec<(String, String, String)>,
}

impl EpisodeStats {
    /// Statistics that also pool the ratio metrics among `metrics` (mean metrics need no
    /// declaration to be summed).
    pub fn for_metrics(metrics: &[MetricSpec]) -> Self {
        let ratio_parts = metrics
            .iter()
            .filter_map(|metric| match &metric.aggregate {
                Aggregate::Ratio { numerator, denominator } => {
                    Some((metric.name.to_string(), numerator.to_string(), denominator.to_string()))
                }
                Aggregate::Mean => None,
            })
            .collect();
        Self { ratio_parts, ..Self::default() }
    }

    /// The run's metrics as `summary.json` writes them: every declared metric, by name
    /// (a metric no episode recorded has count 0).
    pub fn metric_summaries(&self, metrics: &[MetricSpec]) -> BTreeMap<String, MetricSummary> {
        metrics
            .iter()
            .map(|metric| {
                let summary = match &metric.aggregate {
                    Aggregate::Mean => self.metrics.get(metric.name.as_ref()).cloned().unwrap_or_default(),
                    Aggregate::Ratio { .. } => {
                        let sums = self.ratios.get(metric.name.as_ref()).cloned().unwrap_or_default();
                        return (metric.name.to_string(), sums.summary(&metric.definition));
                    }
                };
                (metric.name.to_string(), summary.summary(&metric.definition))
            })
            .collect()
    }

    pub fn add(&mut self, record: &EpisodeRecord) {
        for (name, value) in record.metrics.iter() {
            self.metrics.entry(name.to_owned()).or_default().add(value);
        }
        for (name, numerator, denominator) in &self.ratio_parts {
            if let (Some(n), Some(d)) = (record.metrics.get(numerator), record.metrics.get(denominator)) {
                self.ratios.entry(name.clone()).or_default().add(n, d);
            }
        }
        self.episodes += 1;
        self.successes += u64::from(record.success);
        self.total_return += record.episode_return;
        self.total_turns += u64::from(record.turns);
        self.invalid_actions += u64::from(record.invalid_actions);
        self.truncated += u64::from(record.truncated);
        *self.endings.entry(record.ending.clone()).or_default() += 1;
    }

    /// The share of episodes that ended each way.
    pub fn ending_rates(&self) -> BTreeMap<String, f64> {
        self.endings.iter().map(|(ending, count)| (ending.clone(), self.per_episode(*count as f64))).collect()
    }

    /// Invalid actions per agent action.
    pub fn invalid_action_rate(&self) -> f64 {
        if self.total_turns == 0 { 0.0 } else { self.invalid_actions as f64 / self.total_turns as f64 }
    }

    fn per_episode(&self, total: f64) -> f64 {
        if self.episodes == 0 { 0.0 } else { total / self.episodes as f64 }
    }

    pub fn success_rate(&self) -> f64 {
        self.per_episode(self.successes as f64)
    }

    pub fn mean_return(&self) -> f64 {
        self.per_episode(self.total_return)
    }

    pub fn mean_turns(&self) -> f64 {
        self.per_episode(self.total_turns as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWENTY_QUESTIONS: ScoreAnchors = ScoreAnchors { min: -20.0, average: -17.3, max: -12.6 };

    #[test]
    fn anchors_map_to_0_50_100() {
        assert_eq!(TWENTY_QUESTIONS.normalize(-20.0), 0.0);
        assert!((TWENTY_QUESTIONS.normalize(-17.3) - 50.0).abs() < 1e-9);
        assert!((TWENTY_QUESTIONS.normalize(-12.6) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn matches_the_paper_table() {
        // LMRL-Gym Table 4 -> Table 2, 20Qs column "MC Return": -13.9 -> 86.2 by the formula.
        assert!((TWENTY_QUESTIONS.normalize(-13.9) - 86.17).abs() < 0.01);
        // Below the average the lower segment applies.
        assert!((TWENTY_QUESTIONS.normalize(-18.65) - 25.0).abs() < 1e-9);
    }

    #[test]
    fn is_unclamped() {
        assert!(TWENTY_QUESTIONS.normalize(-5.0) > 100.0);
    }
}
