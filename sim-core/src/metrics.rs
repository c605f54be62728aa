//! Paper metrics: what an env declares ([`MetricSpec`] in its [`crate::EnvSpec`]), what one
//! episode records ([`EpisodeMetrics`], the `metrics` object of a trajectory line), and how a
//! run aggregates them ([`MetricSums`], [`RatioSums`], [`MetricSummary`] in `summary.json`).
//!
//! Invariants:
//! - an episode records only metrics its env declares as [`Aggregate::Mean`] (checked by the
//!   conformance suite); a ratio's numerator and denominator are such metrics;
//! - values are computed from the env's typed state when the episode ends, never parsed back
//!   from text;
//! - sums are taken in episode-index order, so a summary is the same bytes for every batch size
//!   and thread count.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How a run aggregates one metric over its episodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Aggregate {
    /// The mean over the episodes that recorded the metric, with its standard error.
    Mean,
    /// Σ numerator / Σ denominator over the episodes that recorded both (e.g. CTR = clicks /
    /// impressions, pooled as the papers do), with a delta-method standard error.
    Ratio { numerator: Cow<'static, str>, denominator: Cow<'static, str> },
}

/// A metric an env reports: its name in `metrics`, what it measures (and after which paper),
/// and how a run aggregates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSpec {
    pub name: Cow<'static, str>,
    pub definition: Cow<'static, str>,
    pub aggregate: Aggregate,
}

impl MetricSpec {
    /// A per-episode value, averaged over the episodes that recorded it.
    pub const fn mean(name: &'static str, definition: &'static str) -> Self {
        Self { name: Cow::Borrowed(name), definition: Cow::Borrowed(definition), aggregate: Aggregate::Mean }
    }

    /// A pooled ratio of two per-episode metrics.
    pub const fn ratio(
        name: &'static str,
        numerator: &'static str,
        denominator: &'static str,
        definition: &'static str,
    ) -> Self {
        Self {
            name: Cow::Borrowed(name),
            definition: Cow::Borrowed(definition),
            aggregate: Aggregate::Ratio {
                numerator: Cow::Borrowed(numerator),
                denominator: Cow::Borrowed(denominator),
            },
        }
    }
}

/// One episode's metric values, by name. A metric that is undefined for an episode (nDCG of a
/// round the episode never reached, the share of clarifying questions on target when none was
/// asked) is absent, not zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EpisodeMetrics(BTreeMap<String, f64>);

impl EpisodeMetrics {
    /// Sets `name` to `value`; a non-finite value is left out (it has no mean).
    pub fn set(&mut self, name: &str, value: f64) -> &mut Self {
        if value.is_finite() {
            self.0.insert(name.to_owned(), value);
        }
        self
    }

    /// Sets `name` when `value` is defined.
    pub fn set_some(&mut self, name: &str, value: Option<f64>) -> &mut Self {
        if let Some(value) = value {
            self.set(name, value);
        }
        self
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.get(name).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(name, value)| (name.as_str(), *value))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Running sums of one metric over the episodes that recorded it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricSums {
    pub count: u64,
    pub sum: f64,
    pub sum_of_squares: f64,
}

impl MetricSums {
    pub fn add(&mut self, value: f64) {
        self.count += 1;
        self.sum += value;
        self.sum_of_squares += value * value;
    }

    /// The mean and its standard error (none below two episodes).
    pub fn summary(&self, definition: &str) -> MetricSummary {
        let n = self.count as f64;
        let mean = if self.count == 0 { 0.0 } else { self.sum / n };
        let standard_error = (self.count > 1).then(|| {
            let variance = ((self.sum_of_squares - self.sum * mean) / (n - 1.0)).max(0.0);
            (variance / n).sqrt()
        });
        MetricSummary { mean, standard_error, count: self.count, definition: definition.to_owned() }
    }
}

/// Running sums of a ratio's numerator and denominator over the episodes that recorded both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RatioSums {
    pub count: u64,
    pub numerator: f64,
    pub denominator: f64,
    pub numerator_squares: f64,
    pub denominator_squares: f64,
    pub products: f64,
}

impl RatioSums {
    pub fn add(&mut self, numerator: f64, denominator: f64) {
        self.count += 1;
        self.numerator += numerator;
        self.denominator += denominator;
        self.numerator_squares += numerator * numerator;
        self.denominator_squares += denominator * denominator;
        self.products += numerator * denominator;
    }

    /// Σ numerator / Σ denominator (0 when the denominators sum to 0) and its delta-method
    /// standard error: the standard error of the mean residual `n_i − R d_i` over the mean
    /// denominator.
    pub fn summary(&self, definition: &str) -> MetricSummary {
        let ratio = if self.denominator == 0.0 { 0.0 } else { self.numerator / self.denominator };
        let k = self.count as f64;
        let standard_error = (self.count > 1 && self.denominator != 0.0).then(|| {
            let residual_squares =
                self.numerator_squares - 2.0 * ratio * self.products + ratio * ratio * self.denominator_squares;
            let variance = (residual_squares / (k - 1.0)).max(0.0);
            (variance / k).sqrt() / (self.denominator / k).abs()
        });
        MetricSummary { mean: ratio, standard_error, count: self.count, definition: definition.to_owned() }
    }
}

/// One metric of a run, as `summary.json` writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    /// The mean over episodes, or the pooled ratio.
    pub mean: f64,
    /// The standard error of `mean` (absent below two episodes).
    pub standard_error: Option<f64>,
    /// Episodes that recorded the metric.
    pub count: u64,
    pub definition: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_standard_error_of_a_known_sample() {
        let mut sums = MetricSums::default();
        for value in [1.0, 2.0, 3.0, 4.0] {
            sums.add(value);
        }
        let summary = sums.summary("d");
        assert_eq!(summary.mean, 2.5);
        // Sample variance 5/3, standard error sqrt(5/3 / 4).
        assert!((summary.standard_error.unwrap() - (5.0f64 / 12.0).sqrt()).abs() < 1e-12);
        assert_eq!(MetricSums::default().summary("d").standard_error, None);
    }

    #[test]
    fn a_ratio_pools_and_has_no_error_when_every_episode_has_the_same_ratio() {
        let mut sums = RatioSums::default();
        sums.add(1.0, 4.0);
        sums.add(3.0, 12.0);
        let summary = sums.summary("d");
        assert_eq!(summary.mean, 0.25);
        assert!(summary.standard_error.unwrap().abs() < 1e-12);
        let mut uneven = RatioSums::default();
        uneven.add(0.0, 10.0);
        uneven.add(10.0, 10.0);
        let summary = uneven.summary("d");
        assert_eq!(summary.mean, 0.5);
        assert!(summary.standard_error.unwrap() > 0.1);
    }

    #[test]
    fn undefined_values_are_left_out() {
        let mut metrics = EpisodeMetrics::default();
        metrics.set("a", f64::NAN).set_some("b", None).set("c", 1.0);
        assert_eq!(metrics.iter().collect::<Vec<_>>(), vec![("c", 1.0)]);
    }
}
