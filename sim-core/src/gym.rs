//! Gym-style APIs over the engine: a single [`Env`] and a batched [`VecEnv`] with a declared
//! autoreset mode.

use std::sync::Arc;

use bevy_ecs::entity::Entity;
use serde::{Deserialize, Serialize};

use crate::engine::Simulator;
use crate::env::{EnvKind, Episode};
use crate::error::EngineError;
use crate::seed::episode_seed;
use crate::spec::EnvSpec;
use crate::step::{Info, Reset, Step};
use crate::transcript::{Action, Transcript};

/// The single-episode gym interface (Gymnasium semantics, text in and text out).
pub trait Env {
    fn spec(&self) -> &EnvSpec;

    /// Starts a new episode. `Some(seed)` re-seeds: the episode is episode 0 of a scenario run
    /// with that seed. `None` continues: the next episode index of the current seed.
    fn reset(&mut self, seed: Option<u64>) -> Reset;

    /// Applies one agent action; any string is accepted (invalid ones get the env's penalty).
    ///
    /// # Errors
    /// [`EngineError::NotReset`] before the first reset; [`EngineError::EpisodeFinished`]
    /// after the episode ended (no reward is ever given after the end).
    fn try_step(&mut self, action: Action) -> Result<Step, EngineError>;

    /// Like [`Env::try_step`].
    ///
    /// # Panics
    /// When stepped before `reset` or after the episode ended: a programmer error.
    fn step(&mut self, action: impl Into<Action>) -> Step
    where
        Self: Sized,
    {
        self.try_step(action.into()).unwrap_or_else(|error| panic!("{error}"))
    }

    /// The current episode's transcript.
    fn transcript(&self) -> Option<&Transcript>;
}

/// An [`Env`] over a world holding one episode.
pub struct GymEnv {
    kind: Arc<dyn EnvKind>,
    simulator: Simulator,
    current: Option<Entity>,
    seed: u64,
    next_index: u64,
}

impl GymEnv {
    pub fn new(kind: Arc<dyn EnvKind>) -> Self {
        Self { kind, simulator: Simulator::new(), current: None, seed: 0, next_index: 0 }
    }

    /// The same env with another maximum action size in bytes (default
    /// [`crate::DEFAULT_MAX_ACTION_BYTES`], see [`crate::limit`]).
    #[must_use]
    pub fn with_max_action_bytes(mut self, max: usize) -> Self {
        self.simulator.set_max_action_bytes(max);
        self
    }

    /// Starts episode `index` of a scenario run with `seed`: the same episode that a run with
    /// that seed plays as its `index`-th, whatever was played before. Later `reset(None)` calls
    /// continue from `index + 1`.
    pub fn reset_episode(&mut self, seed: u64, index: u64) -> Reset {
        self.seed = seed;
        self.next_index = index;
        self.reset(None)
    }
}

impl Env for GymEnv {
    fn spec(&self) -> &EnvSpec {
        self.kind.spec()
    }

    fn reset(&mut self, seed: Option<u64>) -> Reset {
        if let Some(seed) = seed {
            self.seed = seed;
            self.next_index = 0;
        }
        if let Some(old) = self.current.take() {
            let _ = self.simulator.finish(self.kind.as_ref(), old);
        }
        let index = self.next_index;
        self.next_index += 1;
        let episode = Episode { index, seed: episode_seed(self.seed, index) };
        let entity = self.simulator.spawn(self.kind.as_ref(), episode);
        self.current = Some(entity);
        let observation = self.simulator.transcript(entity).entries()[0].text.clone();
        Reset { observation, info: Info { episode: index, ..Info::default() } }
    }

    fn try_step(&mut self, action: Action) -> Result<Step, EngineError> {
        let entity = self.current.ok_or(EngineError::NotReset)?;
        self.simulator.submit(entity, action)?;
        self.simulator.run();
        Ok(self.simulator.last_step(entity))
    }

    fn transcript(&self) -> Option<&Transcript> {
        self.current.map(|entity| self.simulator.transcript(entity))
    }
}

/// What a batched env does with a slot whose episode has ended (Gymnasium's three modes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoresetMode {
    /// The step after the end resets the slot: the action is ignored, the reward is 0 and the
    /// observation is the new episode's prompt (`info.autoreset`).
    #[default]
    NextStep,
    /// The ending step resets at once: it returns the ending reward and flags, the new
    /// episode's prompt as observation, and the terminal observation in
    /// `info.final_observation`.
    SameStep,
    /// Ended slots stay ended; stepping them is an error until [`VecEnv::reset_slots`].
    Disabled,
}

/// A batch of `size` slots of one env in one world, stepped together.
///
/// Slot `i`'s `k`-th episode (counting from a reset with seed `s`) is the scenario episode
/// `k * size + i` of seed `s`, so a slot's episodes never depend on the other slots' actions.
pub struct VecEnv {
    kind: Arc<dyn EnvKind>,
    simulator: Simulator,
    mode: AutoresetMode,
    seed: u64,
    size: usize,
    slots: Vec<Slot>,
}

struct Slot {
    entity: Entity,
    episodes_started: u64,
}

impl VecEnv {
    pub fn new(kind: Arc<dyn EnvKind>, size: usize, mode: AutoresetMode) -> Self {
        let size = size.max(1);
        let mut env = Self { kind, simulator: Simulator::new(), mode, seed: 0, size, slots: Vec::with_capacity(size) };
        for slot in 0..size {
            let entity = env.simulator.spawn(env.kind.as_ref(), env.episode_for(slot, 0));
            env.slots.push(Slot { entity, episodes_started: 1 });
        }
        env
    }

    /// The same batch with another maximum action size in bytes (default
    /// [`crate::DEFAULT_MAX_ACTION_BYTES`], see [`crate::limit`]).
    #[must_use]
    pub fn with_max_action_bytes(mut self, max: usize) -> Self {
        self.simulator.set_max_action_bytes(max);
        self
    }

    fn episode_for(&self, slot: usize, round: u64) -> Episode {
        let index = round * self.size as u64 + slot as u64;
        Episode { index, seed: episode_seed(self.seed, index) }
    }

    pub fn spec(&self) -> &EnvSpec {
        self.kind.spec()
    }

    pub fn autoreset_mode(&self) -> AutoresetMode {
        self.mode
    }

    pub fn size(&self) -> usize {
        self.slots.len()
    }

    fn restart(&mut self, slot: usize) -> Reset {
        let old = self.slots[slot].entity;
        let _ = self.simulator.finish(self.kind.as_ref(), old);
        let episode = self.episode_for(slot, self.slots[slot].episodes_started);
        let entity = self.simulator.spawn(self.kind.as_ref(), episode);
        self.slots[slot] = Slot { entity, episodes_started: self.slots[slot].episodes_started + 1 };
        let observation = self.simulator.transcript(entity).entries()[0].text.clone();
        Reset { observation, info: Info { episode: episode.index, ..Info::default() } }
    }

    /// Re-seeds and restarts every slot.
    pub fn reset(&mut self, seed: u64) -> Vec<Reset> {
        self.seed = seed;
        for slot in &mut self.slots {
            slot.episodes_started = 0;
        }
        (0..self.slots.len()).map(|slot| self.restart(slot)).collect()
    }

    /// Restarts the given slots with their next episodes (the only way out of an ended slot
    /// in [`AutoresetMode::Disabled`]).
    ///
    /// # Errors
    /// [`EngineError::UnknownSlot`].
    pub fn reset_slots(&mut self, slots: &[usize]) -> Result<Vec<Reset>, EngineError> {
        self.check_slots(slots.iter().copied())?;
        Ok(slots.iter().map(|&slot| self.restart(slot)).collect())
    }

    fn check_slots(&self, slots: impl Iterator<Item = usize>) -> Result<(), EngineError> {
        let size = self.slots.len();
        let mut seen = vec![false; size];
        for slot in slots {
            let flag = seen.get_mut(slot).ok_or(EngineError::UnknownSlot { slot, size })?;
            if std::mem::replace(flag, true) {
                return Err(EngineError::DuplicateAction { slot });
            }
        }
        Ok(())
    }

    /// Steps every slot with its action (`actions[i]` for slot `i`).
    ///
    /// # Errors
    /// [`EngineError::ActionCount`]; see [`VecEnv::step_some`].
    pub fn step(&mut self, actions: Vec<Action>) -> Result<Vec<Step>, EngineError> {
        if actions.len() != self.slots.len() {
            return Err(EngineError::ActionCount { expected: self.slots.len(), got: actions.len() });
        }
        let steps = self.step_some(actions.into_iter().enumerate().collect())?;
        Ok(steps.into_iter().map(|(_, step)| step).collect())
    }

    /// Steps only the listed slots (EnvPool's send/recv in one call: the slots whose agent
    /// has answered). Returns their steps in the given order.
    ///
    /// # Errors
    /// [`EngineError::UnknownSlot`], [`EngineError::DuplicateAction`], and in
    /// [`AutoresetMode::Disabled`] [`EngineError::EpisodeFinished`]; nothing is stepped then.
    pub fn step_some(&mut self, actions: Vec<(usize, Action)>) -> Result<Vec<(usize, Step)>, EngineError> {
        self.check_slots(actions.iter().map(|(slot, _)| *slot))?;
        if self.mode == AutoresetMode::Disabled
            && let Some((slot, _)) =
                actions.iter().find(|(slot, _)| self.simulator.is_finished(self.slots[*slot].entity))
        {
            let episode = self.simulator.last_step(self.slots[*slot].entity).info.episode;
            return Err(EngineError::EpisodeFinished { episode });
        }
        let mut results: Vec<(usize, Option<Step>)> = Vec::with_capacity(actions.len());
        for (slot, action) in actions {
            let entity = self.slots[slot].entity;
            if self.simulator.is_finished(entity) {
                // NextStep: this step is the reset; the action is ignored.
                let reset = self.restart(slot);
                let info = Info { autoreset: true, ..reset.info };
                let step =
                    Step { observation: reset.observation, reward: 0.0, terminated: false, truncated: false, info };
                results.push((slot, Some(step)));
            } else {
                self.simulator.submit(entity, action)?;
                results.push((slot, None));
            }
        }
        self.simulator.run();
        let mut steps = Vec::with_capacity(results.len());
        for (slot, ready) in results {
            let step = match ready {
                Some(step) => step,
                None => {
                    let mut step = self.simulator.last_step(self.slots[slot].entity);
                    if step.done() && self.mode == AutoresetMode::SameStep {
                        let reset = self.restart(slot);
                        step.info.final_observation = Some(std::mem::replace(&mut step.observation, reset.observation));
                        step.info.autoreset = true;
                    }
                    step
                }
            };
            steps.push((slot, step));
        }
        Ok(steps)
    }

    /// The transcript of the slot's current episode.
    pub fn transcript(&self, slot: usize) -> Option<&Transcript> {
        self.slots.get(slot).map(|s| self.simulator.transcript(s.entity))
    }
}
