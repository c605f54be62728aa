//! Training rollouts: a policy plays planned episodes (several copies of one episode for a
//! group), and each finished record turns into per-turn samples for the losses.
//!
//! A rollout is planned as (episode, sampling key): copies of the same [`Episode`] start from
//! the identical env state, because an env draws everything from the episode's seed, and
//! differ only by the key of the stream the policy samples from. Records come back in plan
//! order; actions are computed per episode, so thread count and batching never change them.

use std::sync::Arc;

use rayon::prelude::*;
use sim_core::{EnvKind, Episode, EpisodeRecord, Kind, Simulator};

use crate::LearnError;
use crate::policy::{Policy, TRAINING_SAMPLING, sampling_seed};
use crate::tokens::{ContextWindow, action_ids};

/// One planned rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    pub episode: Episode,
    /// 0 samples with the episode's own stream; copies in a group use keys 1..=K.
    pub sampling_key: u64,
}

/// Plays every planned rollout with `policy` at temperature 1, `live` episodes at a time.
///
/// # Errors
/// A model failure or an env refusing an action.
pub fn play(
    kind: &Arc<dyn EnvKind>,
    policy: &Policy,
    plan: &[Planned],
    live: usize,
) -> Result<Vec<EpisodeRecord>, LearnError> {
    let mut simulator = Simulator::new();
    let mut records: Vec<Option<EpisodeRecord>> = vec![None; plan.len()];
    let mut next = 0;
    let mut playing: Vec<(usize, bevy_ecs::entity::Entity)> = Vec::new();
    loop {
        while playing.len() < live.max(1) && next < plan.len() {
            playing.push((next, simulator.spawn(kind.as_ref(), plan[next].episode)));
            next += 1;
        }
        if playing.is_empty() {
            break;
        }
        let actions = {
            let views: Vec<_> = playing
                .iter()
                .map(|(index, entity)| {
                    let planned = plan[*index];
                    (
                        simulator.transcript(*entity).entries(),
                        sampling_seed(planned.episode.seed, planned.sampling_key),
                        simulator.turns_taken(*entity),
                    )
                })
                .collect();
            views
                .par_iter()
                .map(|(entries, seed, turn)| policy.act(entries, *seed, *turn, &TRAINING_SAMPLING))
                .collect::<Result<Vec<_>, _>>()?
        };
        for ((_, entity), action) in playing.iter().zip(actions) {
            simulator.submit(*entity, action)?;
        }
        simulator.run();
        let mut slot = 0;
        while slot < playing.len() {
            let (index, entity) = playing[slot];
            if simulator.is_finished(entity) {
                records[index] = Some(simulator.finish(kind.as_ref(), entity));
                playing.swap_remove(slot);
            } else {
                slot += 1;
            }
        }
    }
    Ok(records.into_iter().flatten().collect())
}

/// One agent turn as the losses see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Context tokens, the marker, then the action's tokens.
    pub ids: Vec<u32>,
    /// Index in `ids` of the action's first token.
    pub action_start: usize,
    /// Log-probability of each action token when it was sampled (empty for dataset turns).
    pub old_logprobs: Vec<f32>,
    /// The env's reward for this turn.
    pub reward: f32,
    /// Which rollout the turn belongs to, and its turn index there.
    pub episode: usize,
    pub turn: usize,
    /// Filled by the algorithm: the turn's advantage and return target.
    pub advantage: f32,
    pub target: f32,
}

impl Sample {
    pub fn action_len(&self) -> usize {
        self.ids.len() - self.action_start
    }
}

/// The samples of policy rollouts: each action's recorded tokens, never re-tokenised.
/// Actions without tokens (none in a policy's own rollouts) are skipped.
pub fn samples_from_rollouts(records: &[EpisodeRecord]) -> Vec<Sample> {
    let mut samples = Vec::new();
    for (episode, record) in records.iter().enumerate() {
        let actions = record.transcript.entries().iter().filter(|entry| entry.kind == Kind::Action);
        for (turn, (entry, reward)) in actions.zip(&record.rewards).enumerate() {
            let Some(tokens) = &entry.tokens else { continue };
            let mut ids = tokens.prompt_ids.clone();
            ids.extend_from_slice(&tokens.token_ids);
            samples.push(Sample {
                ids,
                action_start: tokens.prompt_ids.len(),
                old_logprobs: tokens.logprobs.clone(),
                reward: *reward as f32,
                episode,
                turn,
                advantage: 0.0,
                target: 0.0,
            });
        }
    }
    samples
}

/// The samples of dataset episodes (text records): each action's context window as the policy
/// would have read it, then the action's bytes and the end-of-action token.
pub fn samples_from_text(records: &[EpisodeRecord], context: &ContextWindow, max_action_tokens: usize) -> Vec<Sample> {
    let mut samples = Vec::new();
    for (episode, record) in records.iter().enumerate() {
        let entries = record.transcript.entries();
        let mut turn = 0;
        for (index, entry) in entries.iter().enumerate() {
            if entry.kind != Kind::Action {
                continue;
            }
            let mut ids = context.prompt_ids(&entries[..index]);
            let action_start = ids.len();
            let mut action = action_ids(&entry.text);
            action.truncate(max_action_tokens);
            ids.extend(action);
            samples.push(Sample {
                ids,
                action_start,
                old_logprobs: Vec::new(),
                reward: record.rewards.get(turn).copied().unwrap_or(0.0) as f32,
                episode,
                turn,
                advantage: 0.0,
                target: 0.0,
            });
            turn += 1;
        }
    }
    samples
}
