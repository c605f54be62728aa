//! Batched rollouts: the agent contract and the loop that plays many episodes on many
//! threads while keeping every episode's transcript independent of how it was scheduled.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use bevy_ecs::entity::Entity;

use crate::engine::Simulator;
use crate::env::{EnvKind, Episode};
pub use crate::error::AgentError;
use crate::error::EngineError;
use crate::record::EpisodeRecord;
use crate::seed::episode_seed;
use crate::spec::EnvSpec;
use crate::transcript::{Action, Transcript};

/// What an agent sees of one episode when asked for its next action.
#[derive(Debug, Clone, Copy)]
pub struct AgentView<'a> {
    pub spec: &'a EnvSpec,
    pub episode: Episode,
    /// Actions taken so far in this episode.
    pub turn: u32,
    pub transcript: &'a Transcript,
}

/// A batched agent: views of many episodes in, one action per view out, in the same order.
///
/// Contract: the action for a view depends only on that view (and on randomness drawn from
/// streams of `view.episode.seed`), never on which other episodes share the batch. That is
/// what makes a run's trajectories identical for every batch size and thread count.
pub trait Agent: Send {
    /// # Errors
    /// When the agent cannot produce actions; the run stops and keeps what it wrote.
    fn act(&mut self, views: &[AgentView<'_>]) -> Result<Vec<Action>, AgentError>;
}

/// An agent that answers each view on its own and cannot fail: the shape of most rule-based
/// agents. Every `PerViewAgent` is an [`Agent`], whose `act` calls [`PerViewAgent::act_one`]
/// once per view, in the order of the views (an agent that keeps a cache or draws from a
/// stream sees the episodes in batch order, as a hand-written loop would).
///
/// Implement [`Agent`] directly for agents that answer a batch at once (a model, an external
/// process) or that can fail.
pub trait PerViewAgent: Send {
    /// The next action for one episode.
    fn act_one(&mut self, view: &AgentView<'_>) -> Action;
}

impl<T: PerViewAgent> Agent for T {
    fn act(&mut self, views: &[AgentView<'_>]) -> Result<Vec<Action>, AgentError> {
        Ok(views.iter().map(|view| self.act_one(view)).collect())
    }
}

/// Which episodes to play and how to schedule them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPlan {
    /// The scenario seed; episode `i` plays with `episode_seed(seed, i)`.
    pub seed: u64,
    pub first_episode: u64,
    pub episodes: u64,
    /// Live episodes per world.
    pub batch_size: usize,
    /// Worlds, one per thread; episodes are dealt round-robin.
    pub threads: usize,
    /// The maximum action size in bytes ([`crate::limit`]).
    pub max_action_bytes: usize,
}

/// Episode 0 alone, seed 0, one episode per world, one thread, the default action limit:
/// write `RunPlan { episodes: 100, ..RunPlan::default() }` and name what differs.
impl Default for RunPlan {
    fn default() -> Self {
        Self {
            seed: 0,
            first_episode: 0,
            episodes: 1,
            batch_size: 1,
            threads: 1,
            max_action_bytes: crate::limit::DEFAULT_MAX_ACTION_BYTES,
        }
    }
}

/// Plays the planned episodes and hands each finished record to `on_record` (in completion
/// order; [`crate::TrajectoryWriter`] restores index order). Returns the number of env steps.
///
/// # Errors
/// The first agent failure, action-count mismatch, or `on_record` failure; the other threads
/// stop at their next step.
pub fn run_episodes(
    kind: &Arc<dyn EnvKind>,
    plan: &RunPlan,
    make_agent: &(dyn Fn() -> Box<dyn Agent> + Sync),
    on_record: &mut dyn FnMut(EpisodeRecord) -> Result<(), EngineError>,
) -> Result<u64, EngineError> {
    let threads = plan.threads.max(1);
    let batch_size = plan.batch_size.max(1);
    let indices =
        |thread: usize| (plan.first_episode..plan.first_episode + plan.episodes).skip(thread).step_by(threads);
    if threads == 1 {
        let mut agent = make_agent();
        let stop = AtomicBool::new(false);
        return play_shard(kind.as_ref(), plan, indices(0), agent.as_mut(), &stop, on_record);
    }
    let stop = AtomicBool::new(false);
    let (sender, receiver) = mpsc::sync_channel::<EpisodeRecord>(4 * batch_size);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                let sender = sender.clone();
                let stop = &stop;
                let indices = indices(thread);
                scope.spawn(move || {
                    let mut agent = make_agent();
                    let mut forward = |record: EpisodeRecord| {
                        sender.send(record).map_err(|_| EngineError::Stopped("the run was stopped"))
                    };
                    let result = play_shard(kind.as_ref(), plan, indices, agent.as_mut(), stop, &mut forward);
                    if result.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    result
                })
            })
            .collect();
        drop(sender);
        let mut sink_error = None;
        for record in receiver.iter() {
            if sink_error.is_none()
                && let Err(error) = on_record(record)
            {
                stop.store(true, Ordering::Relaxed);
                sink_error = Some(error);
            }
        }
        let mut steps = 0;
        let mut first_error = sink_error;
        for worker in workers {
            match worker.join().expect("rollout worker panicked") {
                Ok(n) => steps += n,
                // A worker that only stopped because of another's failure reports the cause.
                Err(EngineError::Stopped(reason)) => {
                    first_error.get_or_insert(EngineError::Stopped(reason));
                }
                Err(error) => {
                    if matches!(first_error, None | Some(EngineError::Stopped(_))) {
                        first_error = Some(error);
                    }
                }
            }
        }
        first_error.map_or(Ok(steps), Err)
    })
}

struct Live {
    entity: Entity,
    episode: Episode,
}

fn play_shard(
    kind: &dyn EnvKind,
    plan: &RunPlan,
    mut indices: impl Iterator<Item = u64>,
    agent: &mut dyn Agent,
    stop: &AtomicBool,
    on_record: &mut dyn FnMut(EpisodeRecord) -> Result<(), EngineError>,
) -> Result<u64, EngineError> {
    let (seed, batch_size) = (plan.seed, plan.batch_size.max(1));
    let mut simulator = Simulator::new();
    simulator.set_max_action_bytes(plan.max_action_bytes);
    let mut live: Vec<Live> = Vec::with_capacity(batch_size);
    let mut spawn_next = |simulator: &mut Simulator| {
        indices.next().map(|index| {
            let episode = Episode { index, seed: episode_seed(seed, index) };
            Live { entity: simulator.spawn(kind, episode), episode }
        })
    };
    while live.len() < batch_size
        && let Some(next) = spawn_next(&mut simulator)
    {
        live.push(next);
    }
    let mut steps = 0;
    while !live.is_empty() {
        if stop.load(Ordering::Relaxed) {
            return Err(EngineError::Stopped("another worker failed"));
        }
        let actions = {
            let views: Vec<AgentView<'_>> = live
                .iter()
                .map(|episode| AgentView {
                    spec: kind.spec(),
                    episode: episode.episode,
                    turn: simulator.turns_taken(episode.entity),
                    transcript: simulator.transcript(episode.entity),
                })
                .collect();
            agent.act(&views).map_err(EngineError::Agent)?
        };
        if actions.len() != live.len() {
            return Err(EngineError::ActionCount { expected: live.len(), got: actions.len() });
        }
        for (episode, action) in live.iter().zip(actions) {
            simulator.submit(episode.entity, action)?;
        }
        simulator.run();
        steps += live.len() as u64;
        let mut slot = 0;
        while slot < live.len() {
            if simulator.is_finished(live[slot].entity) {
                let record = simulator.finish(kind, live[slot].entity);
                on_record(record)?;
                match spawn_next(&mut simulator) {
                    Some(next) => live[slot] = next,
                    None => {
                        live.remove(slot);
                        continue;
                    }
                }
            }
            slot += 1;
        }
    }
    Ok(steps)
}

/// Replays one episode from its seed and actions in a fresh world with the default action
/// limit; the result equals the original record when the env honours the determinism contract.
pub fn replay(kind: &dyn EnvKind, episode: Episode, actions: &[String]) -> EpisodeRecord {
    replay_with_limit(kind, episode, actions, crate::limit::DEFAULT_MAX_ACTION_BYTES)
}

/// [`replay`] under the maximum action size the episode was played with.
pub fn replay_with_limit(
    kind: &dyn EnvKind,
    episode: Episode,
    actions: &[String],
    max_action_bytes: usize,
) -> EpisodeRecord {
    let mut simulator = Simulator::new();
    simulator.set_max_action_bytes(max_action_bytes);
    let entity = simulator.spawn(kind, episode);
    for action in actions {
        if simulator.submit(entity, Action::from(action.clone())).is_err() {
            break;
        }
        simulator.run();
    }
    simulator.finish(kind, entity)
}
