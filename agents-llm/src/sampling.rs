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
        let nucleus = self.nucleus(logits);
        let (weights, order, kept, mass) = (&nucleus.weights, &nucleus.order, nucleus.kept, nucleus.mass);
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

    /// The `k` most likely tokens with their log-probabilities under the distribution
    /// [`Self::sample`] draws from (greedy: the model's softmax; otherwise temperature-scaled,
    /// top-p-truncated and renormalised, so no token outside the nucleus is listed), most
    /// likely first, ties to the lowest id. A sampled token listed here has exactly the
    /// log-probability `sample` returned for it. Draws nothing.
    pub fn top_logprobs(&self, logits: &[f32], k: usize) -> Vec<(u32, f32)> {
        if k == 0 || logits.is_empty() {
            return Vec::new();
        }
        if self.temperature <= 0.0 {
            let mut order: Vec<usize> = (0..logits.len()).collect();
            let by_logit = |a: &usize, b: &usize| logits[*b].total_cmp(&logits[*a]).then(a.cmp(b));
            let k = k.min(order.len());
            if k < order.len() {
                order.select_nth_unstable_by(k - 1, by_logit);
                order.truncate(k);
            }
            order.sort_by(by_logit);
            return order.into_iter().map(|i| (i as u32, log_softmax_at(logits, i, 1.0))).collect();
        }
        let nucleus = self.nucleus(logits);
        nucleus.order[..nucleus.kept.min(k)]
            .iter()
            .map(|&i| (i as u32, (nucleus.weights[i] / nucleus.mass).ln() as f32))
            .collect()
    }

    /// The temperature-scaled weights, the tokens by decreasing weight (ties to the lowest
    /// id), how many of them form the top-p nucleus and the nucleus's total weight.
    fn nucleus(&self, logits: &[f32]) -> Nucleus {
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
        Nucleus { weights, order, kept, mass }
    }
}

/// The top-p nucleus of one distribution (see [`Sampling::nucleus`]).
struct Nucleus {
    weights: Vec<f64>,
    order: Vec<usize>,
    kept: usize,
    mass: f64,
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

    #[test]
    fn top_logprobs_agree_with_the_sampled_token() {
        let logits = [3.0, 2.9, 0.0, -1.0, -2.0];
        for sampling in [Sampling::GREEDY, Sampling { temperature: 0.7, top_p: 0.9 }] {
            let mut rng = stream(3, "test");
            for _ in 0..20 {
                let (token, logprob) = sampling.sample(&logits, &mut rng);
                let top = sampling.top_logprobs(&logits, 5);
                assert!(top.windows(2).all(|pair| pair[0].1 >= pair[1].1), "{top:?}");
                let listed = top.iter().find(|(id, _)| *id == token).expect("the sampled token is listed");
                assert_eq!(listed.1, logprob);
            }
        }
        assert_eq!(Sampling::GREEDY.top_logprobs(&logits, 2).iter().map(|t| t.0).collect::<Vec<_>>(), [0, 1]);
        let nucleus = Sampling { temperature: 1.0, top_p: 0.5 }.top_logprobs(&logits, 5);
        assert_eq!(nucleus.len(), 1, "only the most likely token is in a 50% nucleus: {nucleus:?}");
        assert_eq!(nucleus[0], (0, 0.0));
    }
}
