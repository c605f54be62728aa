//! The losses, the advantage estimators and the optimiser, over token-level [`Sample`]s.
//!
//! Every loss is a mean over the action tokens of a minibatch (token-level, so long actions
//! weigh by their length, as in LMRL-Gym's token-level formulation):
//!
//! - **BC**: `−log π(a_i | context, a_<i)`.
//! - **PPO**: with `r = exp(log π − log π_old)` against the log-probability recorded when the
//!   token was sampled and `A` the turn's advantage (GAE over turns with the value head's
//!   estimates, normalised over the batch), `−min(r·A, clip(r, 1 − ε, 1 + ε)·A)`, plus
//!   `c_v·(V − R)²` per turn, plus `β·KL(π ‖ π_ref)` per token with the estimator
//!   `exp(ref − log π) − (ref − log π) − 1` against the frozen start policy, minus
//!   `c_H·H(π)` per token.
//! - **Group-relative (GRPO)**: the same clipped term and KL penalty, no value head; `A` is
//!   the rollout's return minus its group's mean, divided by the group's standard deviation,
//!   shared by every token of the rollout.

use std::collections::BTreeMap;

use candle_core::{D, DType, Tensor, backprop::GradStore};
use serde::{Deserialize, Serialize};

use crate::LearnError;
use crate::model::{Model, log_softmax};
use crate::rollout::Sample;

/// A minibatch on the device: its distinct sequences, padded, and where each sample's action
/// tokens are among them.
///
/// Identical sequences (a maze cell's observation and the same move, played many times) are
/// run once, and each distinct action position's distribution is computed once: every
/// sample's tokens point at those rows, so the loss, and through `index_select`'s backward
/// pass the gradient, is exactly that of running each sample on its own.
pub struct Batch {
    /// (U, T): the distinct sequences, right-padded with zeros.
    pub ids: Tensor,
    /// Flat rows (`u·T + p`) of the distinct sequences whose hidden state predicts an action
    /// token.
    pub action_rows: Tensor,
    /// The action token each of those rows predicts: (R, 1).
    pub targets: Tensor,
    /// For each action token of each sample, in sample order, its row in `action_rows`.
    pub token_rows: Tensor,
    /// Flat rows of each distinct sequence's marker (the value is read there).
    pub marker_rows: Tensor,
    /// For each sample, its distinct sequence.
    pub sample_sequences: Tensor,
    /// Action tokens of all samples (duplicates counted).
    pub tokens: usize,
    /// Distinct sequences run.
    pub sequences: usize,
}

impl Batch {
    /// # Errors
    /// A candle failure.
    pub fn new(samples: &[&Sample], model: &Model) -> Result<Self, LearnError> {
        let device = model.device();
        let mut distinct: BTreeMap<&[u32], u32> = BTreeMap::new();
        let mut sequences: Vec<&Sample> = Vec::new();
        let sample_sequences: Vec<u32> = samples
            .iter()
            .map(|sample| {
                *distinct.entry(sample.ids.as_slice()).or_insert_with(|| {
                    sequences.push(sample);
                    sequences.len() as u32 - 1
                })
            })
            .collect();
        let length = sequences.iter().map(|sample| sample.ids.len()).max().unwrap_or(1);
        let mut ids = vec![0u32; sequences.len() * length];
        let (mut action_rows, mut targets, mut marker_rows, mut first_action_row) = (vec![], vec![], vec![], vec![]);
        for (row, sample) in sequences.iter().enumerate() {
            ids[row * length..row * length + sample.ids.len()].copy_from_slice(&sample.ids);
            let base = (row * length) as u32;
            marker_rows.push(base + sample.action_start as u32 - 1);
            first_action_row.push(action_rows.len() as u32);
            for position in sample.action_start..sample.ids.len() {
                action_rows.push(base + position as u32 - 1);
                targets.push(sample.ids[position]);
            }
        }
        let mut token_rows = Vec::new();
        for (sample, sequence) in samples.iter().zip(&sample_sequences) {
            let first = first_action_row[*sequence as usize];
            token_rows.extend((0..sample.action_len() as u32).map(|offset| first + offset));
        }
        let (rows, tokens) = (action_rows.len(), token_rows.len());
        Ok(Self {
            ids: Tensor::from_vec(ids, (sequences.len(), length), device)?,
            action_rows: Tensor::from_vec(action_rows, rows, device)?,
            targets: Tensor::from_vec(targets, (rows, 1), device)?,
            token_rows: Tensor::from_vec(token_rows, tokens, device)?,
            marker_rows: Tensor::from_vec(marker_rows, sequences.len(), device)?,
            sample_sequences: Tensor::from_vec(sample_sequences, samples.len(), device)?,
            tokens,
            sequences: sequences.len(),
        })
    }
}

/// What a forward pass over a batch gives the losses.
pub struct Evaluation {
    /// (N,) log-probability of each action token, sample by sample.
    pub logprobs: Tensor,
    /// (N,) entropy of the distribution each action token was drawn from.
    pub entropy: Tensor,
    /// (B,) value estimate at each sample's marker.
    pub values: Tensor,
}

/// Runs `model` over a batch.
///
/// # Errors
/// A candle failure.
pub fn evaluate(model: &Model, batch: &Batch) -> Result<Evaluation, LearnError> {
    let hidden = model.hidden(&batch.ids, 0, None)?;
    let width = model.config.width;
    let flat = hidden.reshape(((), width))?;
    let rows = flat.index_select(&batch.action_rows, 0)?;
    let log_probabilities = log_softmax(&model.logits(&rows)?)?;
    let logprobs = log_probabilities.gather(&batch.targets, 1)?.squeeze(1)?;
    let entropy = (log_probabilities.exp()? * &log_probabilities)?.sum(D::Minus1)?.neg()?;
    let values = model.values(&flat.index_select(&batch.marker_rows, 0)?)?;
    Ok(Evaluation {
        logprobs: logprobs.index_select(&batch.token_rows, 0)?,
        entropy: entropy.index_select(&batch.token_rows, 0)?,
        values: values.index_select(&batch.sample_sequences, 0)?,
    })
}

/// Hyper-parameters of the clipped policy-gradient losses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClippedObjective {
    /// ε of the ratio clip.
    pub clip: f64,
    /// β of the KL penalty to the start policy (0: no reference forward pass).
    pub kl_coefficient: f64,
    /// c_H of the entropy bonus.
    pub entropy_coefficient: f64,
    /// c_v of the value loss (PPO only).
    pub value_coefficient: f64,
}

impl Default for ClippedObjective {
    fn default() -> Self {
        Self { clip: 0.2, kl_coefficient: 0.01, entropy_coefficient: 0.0, value_coefficient: 0.5 }
    }
}

/// The terms of one minibatch's loss (means over its tokens or samples).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LossTerms {
    pub loss: f64,
    pub policy: f64,
    pub value: f64,
    pub kl: f64,
    pub entropy: f64,
    /// Share of tokens whose ratio was clipped.
    pub clip_fraction: f64,
}

fn scalar(tensor: &Tensor) -> Result<f64, LearnError> {
    Ok(tensor.to_dtype(DType::F64)?.to_scalar::<f64>()?)
}

/// The BC loss of a batch: mean negative log-likelihood of its action tokens.
///
/// # Errors
/// A candle failure.
pub fn behaviour_cloning_loss(model: &Model, batch: &Batch) -> Result<(Tensor, LossTerms), LearnError> {
    let evaluation = evaluate(model, batch)?;
    let loss = evaluation.logprobs.mean_all()?.neg()?;
    let entropy = scalar(&evaluation.entropy.mean_all()?)?;
    let value = scalar(&loss)?;
    Ok((loss, LossTerms { loss: value, policy: value, entropy, ..LossTerms::default() }))
}

/// The clipped policy-gradient loss of a batch (PPO when `with_value`, GRPO otherwise).
/// `reference_logprobs` are the frozen start policy's log-probabilities of the batch's action
/// tokens (used when the KL coefficient is positive).
///
/// # Errors
/// A candle failure.
pub fn clipped_loss(
    model: &Model,
    batch: &Batch,
    samples: &[&Sample],
    reference_logprobs: Option<&[f32]>,
    objective: &ClippedObjective,
    with_value: bool,
) -> Result<(Tensor, LossTerms), LearnError> {
    let device = model.device();
    let evaluation = evaluate(model, batch)?;
    let mut old = Vec::with_capacity(batch.tokens);
    let mut advantages = Vec::with_capacity(batch.tokens);
    for sample in samples {
        old.extend_from_slice(&sample.old_logprobs);
        advantages.extend(std::iter::repeat_n(sample.advantage, sample.action_len()));
    }
    let dtype = evaluation.logprobs.dtype();
    let old = Tensor::from_vec(old, batch.tokens, device)?.to_dtype(dtype)?;
    let advantages = Tensor::from_vec(advantages, batch.tokens, device)?.to_dtype(dtype)?;
    let ratio = (&evaluation.logprobs - &old)?.exp()?;
    let unclipped = (&ratio * &advantages)?;
    let clipped = (ratio.clamp(1.0 - objective.clip, 1.0 + objective.clip)? * &advantages)?;
    let policy = unclipped.minimum(&clipped)?.mean_all()?.neg()?;
    let clip_fraction = {
        let ratios = ratio.to_dtype(DType::F64)?.to_vec1::<f64>()?;
        ratios.iter().filter(|r| (**r - 1.0).abs() > objective.clip).count() as f64 / ratios.len().max(1) as f64
    };
    let entropy = evaluation.entropy.mean_all()?;
    let mut loss = (&policy - (&entropy * objective.entropy_coefficient)?)?;
    let mut terms =
        LossTerms { policy: scalar(&policy)?, entropy: scalar(&entropy)?, clip_fraction, ..LossTerms::default() };
    if let Some(reference) = reference_logprobs.filter(|_| objective.kl_coefficient > 0.0) {
        let reference = Tensor::from_vec(reference.to_vec(), batch.tokens, device)?.to_dtype(dtype)?;
        let log_ratio = (reference - &evaluation.logprobs)?;
        let kl = ((log_ratio.exp()? - &log_ratio)? - 1.0)?.mean_all()?;
        terms.kl = scalar(&kl)?;
        loss = (loss + (kl * objective.kl_coefficient)?)?;
    }
    if with_value {
        let targets: Vec<f32> = samples.iter().map(|sample| sample.target).collect();
        let targets = Tensor::from_vec(targets, samples.len(), device)?.to_dtype(dtype)?;
        let value = (&evaluation.values - targets)?.sqr()?.mean_all()?;
        terms.value = scalar(&value)?;
        loss = (loss + (value * objective.value_coefficient)?)?;
    }
    terms.loss = scalar(&loss)?;
    Ok((loss, terms))
}

/// Log-probabilities of every action token of `samples` under `model`, and the value at each
/// sample's marker, without gradients, in chunks of `chunk` samples.
///
/// # Errors
/// A candle failure.
pub fn score(model: &Model, samples: &[Sample], chunk: usize) -> Result<(Vec<Vec<f32>>, Vec<f32>), LearnError> {
    let mut logprobs = Vec::with_capacity(samples.len());
    let mut values = Vec::with_capacity(samples.len());
    for part in samples.chunks(chunk.max(1)) {
        let refs: Vec<&Sample> = part.iter().collect();
        let batch = Batch::new(&refs, model)?;
        let evaluation = evaluate(model, &batch)?;
        let flat = evaluation.logprobs.to_dtype(DType::F32)?.to_vec1::<f32>()?;
        let mut offset = 0;
        for sample in part {
            logprobs.push(flat[offset..offset + sample.action_len()].to_vec());
            offset += sample.action_len();
        }
        values.extend(evaluation.values.to_dtype(DType::F32)?.to_vec1::<f32>()?);
    }
    Ok((logprobs, values))
}

/// Generalised advantage estimation over the turns of each rollout. `samples` must hold each
/// rollout's turns in order; `values` are the value estimates of the same samples. The value
/// after an episode's last turn is 0 (every episode of a rollout ends).
pub fn generalised_advantages(samples: &mut [Sample], values: &[f32], discount: f64, lambda: f64, reward_scale: f64) {
    let mut end = samples.len();
    while end > 0 {
        let episode = samples[end - 1].episode;
        let mut start = end - 1;
        while start > 0 && samples[start - 1].episode == episode {
            start -= 1;
        }
        let mut advantage = 0.0f64;
        for index in (start..end).rev() {
            let next_value = if index + 1 < end { f64::from(values[index + 1]) } else { 0.0 };
            let reward = f64::from(samples[index].reward) * reward_scale;
            let delta = reward + discount * next_value - f64::from(values[index]);
            advantage = delta + discount * lambda * advantage;
            samples[index].advantage = advantage as f32;
            samples[index].target = (advantage + f64::from(values[index])) as f32;
        }
        end = start;
    }
}

/// Normalises advantages to mean 0 and standard deviation 1 over the batch.
pub fn normalise_advantages(samples: &mut [Sample]) {
    let n = samples.len().max(1) as f64;
    let mean = samples.iter().map(|s| f64::from(s.advantage)).sum::<f64>() / n;
    let variance = samples.iter().map(|s| (f64::from(s.advantage) - mean).powi(2)).sum::<f64>() / n;
    let deviation = variance.sqrt().max(1e-6);
    for sample in samples {
        sample.advantage = ((f64::from(sample.advantage) - mean) / deviation) as f32;
    }
}

/// Group-relative advantages: `returns[r]` is rollout `r`'s return, rollouts `g·K..(g+1)·K`
/// form group `g`; every sample of a rollout gets its return's standardised score within the
/// group (0 when the whole group scored the same).
pub fn group_advantages(samples: &mut [Sample], returns: &[f64], group_size: usize) {
    let group_size = group_size.max(1);
    let scores: Vec<f64> = returns
        .chunks(group_size)
        .flat_map(|group| {
            let n = group.len() as f64;
            let mean = group.iter().sum::<f64>() / n;
            let deviation = (group.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
            group.iter().map(move |r| if deviation > 1e-9 { (r - mean) / deviation } else { 0.0 })
        })
        .collect();
    for sample in samples {
        sample.advantage = scores[sample.episode] as f32;
    }
}

/// AdamW with its moments kept by parameter name, so they can be saved and restored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimizerConfig {
    pub learning_rate: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub epsilon: f64,
    pub weight_decay: f64,
    /// Gradients are scaled down to this global norm (0: no clipping).
    pub max_grad_norm: f64,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self { learning_rate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weight_decay: 0.0, max_grad_norm: 1.0 }
    }
}

/// The optimiser's state.
#[derive(Debug)]
pub struct AdamW {
    pub config: OptimizerConfig,
    pub steps: u64,
    /// First and second moments by parameter name.
    pub moments: BTreeMap<String, (Tensor, Tensor)>,
}

impl AdamW {
    pub fn new(config: OptimizerConfig) -> Self {
        Self { config, steps: 0, moments: BTreeMap::new() }
    }

    /// One update of `model` from `grads`; returns the gradients' global norm before clipping.
    ///
    /// # Errors
    /// A candle failure.
    pub fn step(&mut self, model: &Model, grads: &GradStore) -> Result<f64, LearnError> {
        let mut square_sum = 0.0;
        for var in model.parameters().values() {
            if let Some(grad) = grads.get(var.as_tensor()) {
                square_sum += scalar(&grad.sqr()?.sum_all()?)?;
            }
        }
        let norm = square_sum.sqrt();
        let scale = if self.config.max_grad_norm > 0.0 && norm > self.config.max_grad_norm {
            self.config.max_grad_norm / norm
        } else {
            1.0
        };
        self.steps += 1;
        let config = self.config;
        let correction1 = 1.0 - config.beta1.powi(self.steps as i32);
        let correction2 = 1.0 - config.beta2.powi(self.steps as i32);
        for (name, var) in model.parameters() {
            let Some(grad) = grads.get(var.as_tensor()) else { continue };
            let grad = (grad * scale)?;
            let (first, second) = match self.moments.remove(name) {
                Some(moments) => moments,
                None => (grad.zeros_like()?, grad.zeros_like()?),
            };
            let first = ((first * config.beta1)? + (&grad * (1.0 - config.beta1))?)?;
            let second = ((second * config.beta2)? + (grad.sqr()? * (1.0 - config.beta2))?)?;
            let step = ((&first / correction1)? / ((&second / correction2)?.sqrt()? + config.epsilon)?)?;
            let parameter = var.as_tensor();
            let decayed = (parameter * (1.0 - config.learning_rate * config.weight_decay))?;
            var.set(&(decayed - (step * config.learning_rate)?)?)?;
            self.moments.insert(name.clone(), (first, second));
        }
        Ok(norm)
    }
}
