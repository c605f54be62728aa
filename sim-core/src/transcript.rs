//! The typed transcript: who said what, of which kind.

use std::borrow::Cow;

use bevy_ecs::component::Component;
use serde::{Deserialize, Serialize};

/// Who produced a transcript entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    /// The environment itself: rules, boards, admin messages.
    Env,
    /// The agent under evaluation.
    Agent,
    /// A simulated partner that answers the agent (oracle, user, opponent, teacher, human).
    Partner,
}

/// What a transcript entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The opening instructions of an episode.
    Prompt,
    /// An agent action, verbatim.
    Action,
    /// The env's or partner's answer to an action.
    Observation,
    /// Language feedback on the agent's behaviour (critique, correction, "try again").
    Feedback,
    /// Messages about the protocol itself, e.g. why an action was invalid.
    Admin,
}

/// One entry of a transcript. Texts that never change (such as "Yes.") are borrowed, so
/// recording them allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub speaker: Speaker,
    pub kind: Kind,
    pub text: Cow<'static, str>,
}

impl Entry {
    pub fn new(speaker: Speaker, kind: Kind, text: impl Into<Cow<'static, str>>) -> Self {
        Self { speaker, kind, text: text.into() }
    }
}

/// The append-only record of an episode, in order.
#[derive(Component, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Transcript {
    entries: Vec<Entry>,
}

impl Transcript {
    pub fn with_capacity(entries: usize) -> Self {
        Self { entries: Vec::with_capacity(entries) }
    }

    pub fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The agent's actions, in order.
    pub fn actions(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter(|e| e.kind == Kind::Action).map(|e| e.text.as_ref())
    }

    /// Everything the env and its partners said (what the agent observed), in order.
    pub fn observed(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.speaker != Speaker::Agent)
    }

    /// The last entry, if any.
    pub fn last(&self) -> Option<&Entry> {
        self.entries.last()
    }
}
