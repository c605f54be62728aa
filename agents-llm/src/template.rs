//! The chat template (ChatML) over the typed transcript, and how an action is read out of the
//! model's text for each env.
//!
//! Rendering is incremental: a turn renders only the transcript entries added since the
//! episode's previous turn, and never the agent's own actions (their sampled tokens are
//! already in the episode's token sequence). The token sequence of an episode is therefore
//! append-only: `turn 1 prompt ++ turn 1 sample ++ turn 2 prompt ++ ...`.

use serde::{Deserialize, Serialize};
use sim_core::{Entry, Kind, Speaker};

/// Opens a message.
pub const IM_START: &str = "<|im_start|>";
/// Ends a message; the model's end of turn.
pub const IM_END: &str = "<|im_end|>";

/// The ChatML rendering: a short system message (`system`), then the env's first prompt (its
/// rules) and whatever else the env said before the first action as the first user message,
/// then, each turn, the env's and partners' entries since the last action as one user message,
/// then the assistant header the model continues.
///
/// The rules go in the user message rather than the system message: small instruct models
/// (SmolLM2-135M) given "I am thinking of an object" as their system message answered in the
/// env's voice instead of playing the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatTemplate {
    /// The system message.
    pub system: String,
}

impl Default for ChatTemplate {
    fn default() -> Self {
        Self {
            system: "You are the player in a text game. Reply with your next move only: one line, no explanation."
                .into(),
        }
    }
}

impl ChatTemplate {
    /// The text a turn appends to the episode's token sequence.
    ///
    /// `entries` are the transcript entries added since the previous turn (for the first turn:
    /// all of them, starting with the prompt); `closed` says whether the model ended its
    /// previous message with `<|im_end|>` itself (otherwise the template closes it).
    pub fn render_turn(&self, entries: &[Entry], first: bool, closed: bool) -> String {
        let mut text = String::new();
        if first {
            text.push_str(IM_START);
            text.push_str("system\n");
            text.push_str(&self.system);
            text.push_str(IM_END);
            text.push('\n');
        } else if closed {
            text.push('\n');
        } else {
            text.push_str(IM_END);
            text.push('\n');
        }
        let said: Vec<&str> = entries
            .iter()
            .filter(|e| !(e.speaker == Speaker::Agent && e.kind == Kind::Action))
            .map(|e| e.text.as_ref())
            .collect();
        text.push_str(IM_START);
        text.push_str("user\n");
        text.push_str(&said.join("\n"));
        text.push_str(IM_END);
        text.push('\n');
        text.push_str(IM_START);
        text.push_str("assistant\n");
        text
    }
}

/// ChatML of a conversation of `(role, content)` messages, as given (no system message is
/// added), followed by the assistant header the model continues: the prompt of a chat
/// completion. A message is `<|im_start|>ROLE\nCONTENT<|im_end|>\n`, the same bytes
/// [`ChatTemplate::render_turn`] writes for the agent's conversation.
pub fn render_chat<'a>(messages: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut text = String::new();
    for (role, content) in messages {
        text.push_str(IM_START);
        text.push_str(role);
        text.push('\n');
        text.push_str(content);
        text.push_str(IM_END);
        text.push('\n');
    }
    text.push_str(IM_START);
    text.push_str("assistant\n");
    text
}

/// How an env's actions are generated and read out of the model's text.
#[derive(Debug, Clone, Copy)]
pub struct ActionFormat {
    /// Stop generating at the first newline after some text (single-line actions).
    pub stop_at_newline: bool,
    /// Text the template writes at the start of every assistant message, which the model
    /// continues (e.g. `"Is it"` for a yes/no questioner). It belongs to the turn's prompt: it
    /// is among the turn's `prompt_ids` with loss mask 0, and the action is `lead` followed by
    /// the sampled text.
    pub lead: &'static str,
    /// The action from the generated text (special tokens already removed).
    pub extract: fn(&str) -> String,
}

impl ActionFormat {
    /// The action of a turn whose sampled tokens decode to `generated`.
    pub fn action(&self, generated: &str) -> String {
        (self.extract)(&format!("{}{generated}", self.lead))
    }
}

/// The first non-empty line, trimmed.
pub fn first_line(text: &str) -> String {
    text.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("").to_owned()
}

/// The action format of an env whose declared LLM lead is `lead`
/// ([`sim_core::Environment::LLM_LEAD`], read through [`sim_core::EnvKind::llm_lead`]): a
/// one-line action (a question, a move), the first line of the sampled text. Twenty Questions
/// declares the lead "Is it", so a small model continues a yes/no question instead of chatting
/// (measured: greedy SmolLM2-135M without the lead answers "I'm ready to play. What's your next
/// question?" on every turn).
pub fn action_format(lead: &'static str) -> ActionFormat {
    ActionFormat { stop_at_newline: true, lead, extract: first_line }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_render_chatml_incrementally() {
        let template = ChatTemplate { system: "Play.".into() };
        let prompt = Entry::new(Speaker::Env, Kind::Prompt, "Rules.");
        let first = template.render_turn(std::slice::from_ref(&prompt), true, false);
        assert_eq!(
            first,
            "<|im_start|>system\nPlay.<|im_end|>\n<|im_start|>user\nRules.<|im_end|>\n<|im_start|>assistant\n"
        );
        let action = Entry::new(Speaker::Agent, Kind::Action, "Is it red?");
        let reply = Entry::new(Speaker::Partner, Kind::Observation, "No.");
        let second = template.render_turn(&[action.clone(), reply.clone()], false, true);
        assert_eq!(second, "\n<|im_start|>user\nNo.<|im_end|>\n<|im_start|>assistant\n");
        let unclosed = template.render_turn(&[action, reply], false, false);
        assert!(unclosed.starts_with("<|im_end|>\n<|im_start|>user\nNo."));
    }

    #[test]
    fn a_chat_renders_as_the_agent_renders_its_turns() {
        let template = ChatTemplate { system: "Play.".into() };
        let prompt = Entry::new(Speaker::Env, Kind::Prompt, "Rules.");
        let first = template.render_turn(std::slice::from_ref(&prompt), true, false);
        assert_eq!(render_chat([("system", "Play."), ("user", "Rules.")]), first);
        assert_eq!(render_chat([]), "<|im_start|>assistant\n");
    }

    #[test]
    fn the_lead_starts_the_action() {
        let format = action_format("Is it");
        assert_eq!(format.action(" a kind of fruit?\nmore"), "Is it a kind of fruit?");
        assert_eq!(action_format("").action("crane\n"), "crane");
    }

    #[test]
    fn first_line_skips_blank_lines() {
        assert_eq!(first_line("\n  Is it a cat?  \nmore"), "Is it a cat?");
        assert_eq!(first_line(""), "");
    }
}
