//! Next-token sampling: greedy, temperature, top-p, each draw from the episode's own stream.

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sim_core::seed::StreamRng;

/// How the next token is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sampling {
    /// 0 means greedy (the most likely token; ties go to the lowest id).
    pub temperature: f32,
    /// Nucleus sampling: draw from the smallest set of most likely tokens whose probability
    /// reaches `top_p` (1.0: the whole vocabulary).
    pub top_p: f32,
}

impl Default for Sampling {
    fn default() -> Self {
        Self { temperature: 0.0, top_p: 1.0 }
    }
}

impl Sampling {
    pub const GREEDY: Self = Self { temperature: 0.0, top_p: 1.0 };

    /// Chooses a token and returns it with its log-probability under the distribution it was
    /// drawn from (greedy: the model's own softmax; otherwise the temperature-scaled,
    /// top-p-truncated and renormalised distribution). Exactly one draw from `rng` when
    /// `temperature > 0`, none when greedy.
    pub fn sample(&self, logits: &[f32], rng: &mut StreamRng) -> (u32, f32) {
        if self.temperature <= 0.0 {
            let (best, _) = logits
                .iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &l)| if l > best.1 { (i, l) } else { best });
            return (best as u32, log_softmax_at(logits, best, 1.0));
        }
        let scaled: Vec<f64> = logits.iter().map(|&l| f64::from(l) / f64::from(self.temperature)).collect();
        let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = scaled.iter().map(|l| (l - max).exp()).collect();
        let total: f64 = weights.iter().sum();
        let mut order: Vec<usize> = (0..weights.len()).collect();
        order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]).then(a.cmp(&b)));
        let mut kept = 0;
        let mut mass = 0.0;
        for &i in &order {
            mass += weights[i];
            kept += 1;
            if mass / total >= f64::from(self.top_p) {
                break;
            }
        }
        let draw = rng.random::<f64>() * mass;
        let mut cumulative = 0.0;
        let mut chosen = order[kept - 1];
        for &i in &order[..kept] {
            cumulative += weights[i];
            if draw < cumulative {
                chosen = i;
                break;
            }
        }
        (chosen as u32, (weights[chosen] / mass).ln() as f32)
    }
}

fn log_softmax_at(logits: &[f32], index: usize, temperature: f32) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let total: f64 = logits.iter().map(|&l| f64::from((l - max) / temperature).exp()).sum();
    (f64::from((logits[index] - max) / temperature) - total.ln()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::seed::stream;

    #[test]
    fn greedy_takes_the_lowest_id_of_the_best_and_its_log_probability() {
        let mut rng = stream(1, "test");
        let (token, logprob) = Sampling::GREEDY.sample(&[0.0, 2.0, 2.0, -1.0], &mut rng);
        assert_eq!(token, 1);
        let expected = (2f64.exp() / (1.0 + 2.0 * 2f64.exp() + (-1f64).exp())).ln();
        assert!((f64::from(logprob) - expected).abs() < 1e-5);
    }

    #[test]
    fn top_p_never_draws_outside_the_nucleus_and_repeats_per_stream() {
        let sampling = Sampling { temperature: 1.0, top_p: 0.8 };
        let logits = [3.0, 2.9, 0.0, -1.0, -2.0];
        let draws = |seed| {
            let mut rng = stream(seed, "test");
            (0..200).map(|_| sampling.sample(&logits, &mut rng).0).collect::<Vec<_>>()
        };
        let first = draws(7);
        assert!(first.iter().all(|&t| t <= 1), "the two most likely tokens hold 96% of the mass");
        assert!(first.contains(&0) && first.contains(&1));
        assert_eq!(first, draws(7));
        assert_ne!(first, draws(8));
    }
}
