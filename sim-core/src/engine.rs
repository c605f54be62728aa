//! The ECS engine: each episode is an entity, one schedule run steps every episode that
//! was given an action.

use std::any::TypeId;
use std::borrow::Cow;

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::SingleThreadedExecutor;

pub use crate::components::{AgentAction, Ledger, Outcome, Reply, Turn};
use crate::components::{Episode, EpisodeComponents};
use crate::env::EnvKind;
use crate::error::EngineError;
use crate::limit::{DEFAULT_MAX_ACTION_BYTES, clip_action, over_limit_note};
use crate::record::EpisodeRecord;
use crate::step::{Info, Step};
use crate::transcript::{Action, Entry, Kind, Speaker, Transcript};

/// The fixed phases of a step. Env systems go in `Act`, `React`, `Observe` and `Score`;
/// `Begin` and `Bookkeep` belong to the engine.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepSet {
    /// Engine: clear last step's outcome.
    Begin,
    /// Parse and apply the agent's action.
    Act,
    /// Opponents, simulated users, teachers answer.
    React,
    /// Render the observation text into [`Reply`].
    Observe,
    /// Reward, termination, success into [`Outcome`].
    Score,
    /// Engine: turn cap, transcript, episode end.
    Bookkeep,
}

fn begin_step(mut episodes: Query<(&AgentAction, &mut Outcome)>) {
    for (action, mut outcome) in &mut episodes {
        if action.pending {
            *outcome = Outcome::default();
        }
    }
}

#[allow(clippy::type_complexity)]
fn record_step(
    mut episodes: Query<(&mut AgentAction, &mut Reply, &mut Outcome, &mut Turn, &mut Transcript, &mut Ledger)>,
) {
    for (mut action, mut reply, mut outcome, mut turn, mut transcript, mut ledger) in &mut episodes {
        if !action.pending {
            continue;
        }
        action.pending = false;
        turn.taken += 1;
        if !outcome.terminated && turn.taken >= turn.max {
            outcome.truncated = true;
            outcome.ending = None;
        }
        let mut entry = Entry::action(std::mem::take(&mut action.action));
        let mut reply_text = std::mem::replace(&mut reply.text, Cow::Borrowed(""));
        if let Some((clipped, max)) = action.over_limit.take() {
            // The env saw the empty action; the transcript keeps what the agent sent, clipped.
            entry.text = clipped.text;
            outcome.invalid_action = true;
            reply_text = Cow::Owned(over_limit_note(clipped.original_bytes, max) + &reply_text);
        }
        transcript.push(entry);
        transcript.push(Entry::new(reply.speaker, reply.kind, reply_text));
        ledger.rewards.push(outcome.reward);
        ledger.invalid_by_step.push(outcome.invalid_action);
        ledger.invalid_actions += u32::from(outcome.invalid_action);
        ledger.finished = outcome.terminated || outcome.truncated;
    }
}

/// One world holding any number of episodes of any registered envs.
///
/// Invariant: an episode's transcript depends only on its env config, its [`Episode`] seed
/// and the actions submitted to it.
pub struct Simulator {
    world: World,
    schedule: Schedule,
    installed: Vec<TypeId>,
    /// Cached lookups of the components the batch loop touches for every episode and step.
    actions: QueryState<(&'static mut Ledger, &'static mut AgentAction, &'static mut Outcome)>,
    progress: QueryState<(&'static Turn, &'static Transcript, &'static Ledger)>,
    /// The maximum action size in bytes ([`crate::limit`]).
    max_action_bytes: usize,
}

impl Default for Simulator {
    fn default() -> Self {
        Self::new()
    }
}

impl Simulator {
    pub fn new() -> Self {
        let mut schedule = Schedule::default();
        schedule.set_executor(SingleThreadedExecutor::new());
        schedule.configure_sets(
            (StepSet::Begin, StepSet::Act, StepSet::React, StepSet::Observe, StepSet::Score, StepSet::Bookkeep).chain(),
        );
        schedule.add_systems(begin_step.in_set(StepSet::Begin));
        schedule.add_systems(record_step.in_set(StepSet::Bookkeep));
        let mut world = World::new();
        let actions = world.query();
        let progress = world.query();
        Self { world, schedule, installed: Vec::new(), actions, progress, max_action_bytes: DEFAULT_MAX_ACTION_BYTES }
    }

    /// Sets the maximum action size in bytes (default [`DEFAULT_MAX_ACTION_BYTES`]): a longer
    /// action is stepped as the empty action, flagged invalid and stored clipped
    /// ([`crate::limit`]).
    pub fn set_max_action_bytes(&mut self, max: usize) {
        self.max_action_bytes = max;
    }

    /// The maximum action size in bytes.
    pub fn max_action_bytes(&self) -> usize {
        self.max_action_bytes
    }

    /// Starts an episode and returns its entity. The opening prompt is the first transcript entry.
    pub fn spawn(&mut self, kind: &dyn EnvKind, episode: Episode) -> Entity {
        if !self.installed.contains(&kind.systems_id()) {
            kind.add_systems(&mut self.schedule);
            self.installed.push(kind.systems_id());
        }
        let max = kind.spec().max_turns;
        // Room for every turn up front: recording a step never reallocates.
        let turns = (max as usize).min(1024);
        let components = EpisodeComponents {
            episode,
            turn: Turn { taken: 0, max },
            action: AgentAction::default(),
            reply: Reply::default(),
            outcome: Outcome::default(),
            ledger: Ledger { rewards: Vec::with_capacity(turns), ..Ledger::default() },
            transcript: Transcript::with_capacity(1 + 2 * turns),
        };
        let (mut entity, prompt) = kind.spawn(&mut self.world, components);
        if let Some(mut transcript) = entity.get_mut::<Transcript>() {
            transcript.push(Entry::new(Speaker::Env, Kind::Prompt, prompt));
        }
        let entity = entity.id();
        self.progress.update_archetypes(&self.world);
        entity
    }

    /// Queues an action for the next [`Simulator::run`]. An action with a
    /// [`Action::truncation`] ends the episode at once as truncated (no env step, no turn). An
    /// action over the maximum size is stepped as the empty action ([`crate::limit`]).
    ///
    /// # Errors
    /// [`EngineError::EpisodeFinished`] when the episode has ended (it gets no further step).
    pub fn submit(&mut self, entity: Entity, action: Action) -> Result<(), EngineError> {
        match self.actions.get_mut(&mut self.world, entity) {
            Ok((mut ledger, mut slot, mut outcome)) if !ledger.finished => {
                if let Some(reason) = action.truncation {
                    *outcome = Outcome { truncated: true, ending: Some(reason), ..Outcome::default() };
                    ledger.finished = true;
                    slot.pending = false;
                    return Ok(());
                }
                let (mut action, max) = (action, self.max_action_bytes);
                slot.over_limit = clip_action(&action.text, max).map(|clipped| {
                    action.text = Cow::Borrowed("");
                    (clipped, max)
                });
                slot.action = action;
                slot.pending = true;
                Ok(())
            }
            _ => Err(EngineError::EpisodeFinished { episode: self.episode(entity).index }),
        }
    }

    /// Steps every episode that has a submitted action, in one schedule run.
    pub fn run(&mut self) {
        self.schedule.run(&mut self.world);
    }

    fn episode(&self, entity: Entity) -> Episode {
        *self.world.get::<Episode>(entity).expect("entity is an episode of this simulator")
    }

    /// The result of the episode's latest step.
    pub fn last_step(&self, entity: Entity) -> Step {
        let outcome = *self.world.get::<Outcome>(entity).expect("episode entity");
        let turn = self.world.get::<Turn>(entity).expect("episode entity");
        let observation = self.transcript(entity).last().map(|entry| entry.text.clone()).unwrap_or_default();
        Step {
            observation,
            reward: outcome.reward,
            terminated: outcome.terminated,
            truncated: outcome.truncated,
            info: Info {
                episode: self.episode(entity).index,
                turn: turn.taken,
                invalid_action: outcome.invalid_action,
                success: outcome.success,
                ..Info::default()
            },
        }
    }

    /// Turn, transcript and ledger of a live episode, through the cached query.
    fn progress(&self, entity: Entity) -> Option<(&Turn, &Transcript, &Ledger)> {
        self.progress.get_manual(&self.world, entity).ok()
    }

    pub fn transcript(&self, entity: Entity) -> &Transcript {
        self.progress(entity).expect("entity is a live episode of this simulator").1
    }

    pub fn turns_taken(&self, entity: Entity) -> u32 {
        self.progress(entity).map_or(0, |(turn, _, _)| turn.taken)
    }

    pub fn is_finished(&self, entity: Entity) -> bool {
        self.progress(entity).is_none_or(|(_, _, ledger)| ledger.finished)
    }

    /// The declared hidden state of a live episode.
    pub fn hidden_state(&self, kind: &dyn EnvKind, entity: Entity) -> Vec<String> {
        kind.hidden_state(self.world.entity(entity))
    }

    /// Removes the episode from the world and returns its record.
    pub fn finish(&mut self, kind: &dyn EnvKind, entity: Entity) -> EpisodeRecord {
        let hidden = self.hidden_state(kind, entity);
        let episode = self.episode(entity);
        let outcome = *self.world.get::<Outcome>(entity).expect("episode entity");
        let mut entity_mut = self.world.entity_mut(entity);
        // Taking the values out in place avoids moving the entity between archetypes.
        let transcript = entity_mut.get_mut::<Transcript>().map(|mut t| std::mem::take(&mut *t)).unwrap_or_default();
        let ledger = entity_mut.get_mut::<Ledger>().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default();
        let mut record = EpisodeRecord::new(kind.spec().id.clone(), episode, transcript, ledger, outcome, hidden);
        record.metrics = kind.episode_metrics(self.world.entity(entity), &record);
        self.world.entity_mut(entity).despawn();
        record
    }
}
