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

/// The tokens behind an action sampled from a language model (token-in, token-out), so a
/// trainer never has to re-tokenise the transcript.
///
/// Invariants: `token_ids.len() == logprobs.len()`; `loss_mask` (when present) is aligned with
/// `prompt_ids ++ token_ids`: 0 on `prompt_ids`, 1 on `token_ids`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionTokens {
    /// Tokens fed to the model for this turn before sampling (only those added since the
    /// episode's previous turn when its cache was kept).
    pub prompt_ids: Vec<u32>,
    /// The sampled tokens.
    pub token_ids: Vec<u32>,
    /// Log-probability of each sampled token under the sampling distribution.
    pub logprobs: Vec<f32>,
    /// 1 where a trainer takes the loss (policy tokens), 0 elsewhere, over
    /// `prompt_ids ++ token_ids`. Empty in records written before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loss_mask: Vec<u8>,
}

impl ActionTokens {
    /// Tokens of one turn with the loss mask filled in (0 on the prompt, 1 on the samples).
    pub fn new(prompt_ids: Vec<u32>, token_ids: Vec<u32>, logprobs: Vec<f32>) -> Self {
        let mut loss_mask = vec![0; prompt_ids.len()];
        loss_mask.resize(prompt_ids.len() + token_ids.len(), 1);
        Self { prompt_ids, token_ids, logprobs, loss_mask }
    }
}

/// An agent's action: its text and, for model agents, the tokens it was sampled as.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Action {
    /// Fixed texts (a scripted agent's questions) are borrowed and cost no allocation.
    pub text: Cow<'static, str>,
    pub tokens: Option<Box<ActionTokens>>,
    /// Set when the agent cannot go on with the episode for a reason outside the env (a model
    /// whose context is full): the engine ends the episode as truncated with this label as its
    /// ending, without stepping the env, recording a turn or a reward.
    pub truncation: Option<&'static str>,
}

impl Action {
    /// An action with a fixed text, borrowed: no allocation.
    pub const fn fixed(text: &'static str) -> Self {
        Self { text: Cow::Borrowed(text), tokens: None, truncation: None }
    }

    /// The agent gives up on the episode: it ends truncated, its ending is `reason`
    /// (e.g. `"context_full"`). The env is not stepped.
    pub const fn truncate_episode(reason: &'static str) -> Self {
        Self { text: Cow::Borrowed(""), tokens: None, truncation: Some(reason) }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl From<String> for Action {
    fn from(text: String) -> Self {
        Self { text: Cow::Owned(text), tokens: None, truncation: None }
    }
}

/// Copies the text; use [`Action::fixed`] for a `'static` text without copying.
impl From<&str> for Action {
    fn from(text: &str) -> Self {
        Self { text: Cow::Owned(text.to_owned()), tokens: None, truncation: None }
    }
}

impl From<Cow<'static, str>> for Action {
    fn from(text: Cow<'static, str>) -> Self {
        Self { text, tokens: None, truncation: None }
    }
}

/// One entry of a transcript. Texts that never change (such as "Yes.") are borrowed, so
/// recording them allocates nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub speaker: Speaker,
    pub kind: Kind,
    pub text: Cow<'static, str>,
    /// Present on actions a model sampled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Box<ActionTokens>>,
}

impl Entry {
    pub fn new(speaker: Speaker, kind: Kind, text: impl Into<Cow<'static, str>>) -> Self {
        Self { speaker, kind, text: text.into(), tokens: None }
    }

    /// The transcript entry of an agent action.
    pub fn action(action: Action) -> Self {
        Self { speaker: Speaker::Agent, kind: Kind::Action, text: action.text, tokens: action.tokens }
    }
}

/// The append-only record of an episode, in order.
#[derive(Component, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
