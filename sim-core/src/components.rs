//! The components the engine puts on every episode entity. Env systems read [`AgentAction`]
//! (through [`crate::Stepping`]) and [`Turn`], and write [`Reply`] and [`Outcome`].

use std::borrow::Cow;

use bevy_ecs::prelude::*;
use serde::Serialize;

use crate::limit::ClippedAction;
use crate::transcript::{Action, Kind, Speaker, Transcript};

/// The identity of one episode: its index in the run and the seed derived for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Component, Serialize)]
pub struct Episode {
    pub index: u64,
    pub seed: u64,
}

/// The agent's action for the current step. Env systems read it through [`crate::Stepping`],
/// which yields only the episodes whose action is pending.
#[derive(Component, Debug, Default)]
pub struct AgentAction {
    pub(crate) action: Action,
    pub(crate) pending: bool,
    /// Set when the agent's action was over the limit (then `action` is empty): the stored form
    /// and the limit, for the transcript and the note before the env's reply.
    pub(crate) over_limit: Option<(ClippedAction, usize)>,
}

impl AgentAction {
    /// The action to apply in this step, or `None` when the episode is not being stepped.
    pub fn pending(&self) -> Option<&str> {
        self.pending.then_some(self.action.as_str())
    }
}

/// What the env says back in this step. Env systems set it in `Observe`.
#[derive(Component, Debug)]
pub struct Reply {
    pub speaker: Speaker,
    pub kind: Kind,
    pub text: Cow<'static, str>,
}

impl Default for Reply {
    fn default() -> Self {
        Self { speaker: Speaker::Env, kind: Kind::Observation, text: Cow::Borrowed("") }
    }
}

impl Reply {
    pub fn set(&mut self, speaker: Speaker, kind: Kind, text: impl Into<Cow<'static, str>>) {
        self.speaker = speaker;
        self.kind = kind;
        self.text = text.into();
    }
}

/// The step's reward and end flags. Env systems set `reward`, `terminated`, `success`,
/// `invalid_action` and, when they terminate an episode, its `ending`; the engine sets
/// `truncated`.
#[derive(Component, Debug, Default, Clone, Copy)]
pub struct Outcome {
    pub reward: f64,
    pub terminated: bool,
    pub truncated: bool,
    pub success: bool,
    pub invalid_action: bool,
    /// How a terminated episode ended, in the env's words (`"win"`, `"draw"`, `"user_left"`):
    /// the runner reports the rate of each ending. Unset, a terminated episode's ending is
    /// `"terminated"`. A truncated episode's ending is `"truncated"` at the turn cap, or the
    /// agent's reason when it gave up ([`Action::truncate_episode`]).
    pub ending: Option<&'static str>,
}

impl Outcome {
    /// Terminates the episode when `ended`, with that ending; otherwise leaves it running.
    pub fn end_when(&mut self, ended: bool, ending: &'static str) {
        self.terminated = ended;
        self.ending = ended.then_some(ending);
    }
}

/// Turn counter and cap of an episode.
///
/// Invariant: `max` is the spec's `max_turns`; the engine truncates an unfinished episode once
/// `taken` reaches it.
#[derive(Component, Debug, Clone, Copy)]
pub struct Turn {
    /// Agent actions before the current step.
    pub taken: u32,
    pub max: u32,
}

impl Turn {
    /// Whether the action being stepped is the episode's last one (the turn cap follows it).
    /// Envs that end the task on the last turn (a final guess, a forced decision) test this.
    pub fn is_last(&self) -> bool {
        self.taken + 1 >= self.max
    }
}

/// Per-episode bookkeeping the recorder reads.
#[derive(Component, Debug, Default)]
pub struct Ledger {
    pub rewards: Vec<f64>,
    /// Whether each agent action was invalid (its step's `info.invalid_action`), in order.
    pub invalid_by_step: Vec<bool>,
    pub invalid_actions: u32,
    pub finished: bool,
}

/// The components the engine puts on every new episode entity, spawned in one bundle with the
/// env's config so that a new episode moves between archetypes only when the env adds its own.
#[derive(Bundle)]
pub struct EpisodeComponents {
    pub(crate) episode: Episode,
    pub(crate) turn: Turn,
    pub(crate) action: AgentAction,
    pub(crate) reply: Reply,
    pub(crate) outcome: Outcome,
    pub(crate) ledger: Ledger,
    pub(crate) transcript: Transcript,
}

impl EpisodeComponents {
    /// The episode this bundle starts.
    pub fn episode(&self) -> Episode {
        self.episode
    }
}
