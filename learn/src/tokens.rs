//! The byte vocabulary of the small policies and the context a policy reads each turn.
//!
//! Token ids `0..=255` are bytes; [`ACT`] (256) ends the context and opens the action. An
//! action is the bytes the policy samples after [`ACT`] up to and including the first
//! [`END_OF_ACTION`] (a newline, LMRL-Gym's end of an action), or up to the turn's token cap.
//! A sampled [`ACT`] inside an action also ends it; it is kept in the record so that the
//! probabilities a trainer recomputes are those of the tokens that were sampled.

use serde::{Deserialize, Serialize};
use sim_core::Entry;

/// Bytes plus the action marker.
pub const VOCABULARY: usize = 257;
/// The token that ends the context: the model's next token is the action's first.
pub const ACT: u32 = 256;
/// The token that ends an action (`\n`).
pub const END_OF_ACTION: u32 = b'\n' as u32;

/// Which part of the transcript a policy reads: the newest lines, newest bytes last.
///
/// The transcript is rendered as the entries' texts, each followed by a newline (the agent's
/// own actions included, so a partially observed env's history of moves is there); of that
/// text the policy reads the last `lines` lines, and of those at most the last `max_bytes`
/// bytes. `lines: 1` on `maze-fo-v0` is LMRL-Gym's Markov window (the newest observation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContextWindow {
    pub lines: usize,
    pub max_bytes: usize,
}

impl Default for ContextWindow {
    fn default() -> Self {
        Self { lines: 8, max_bytes: 192 }
    }
}

impl ContextWindow {
    /// The context tokens before an action: the window of `entries`, then [`ACT`].
    ///
    /// Invariant: at most `max_bytes + 1` tokens, the last one [`ACT`].
    pub fn prompt_ids(&self, entries: &[Entry]) -> Vec<u32> {
        let mut pieces: Vec<&[u8]> = Vec::new();
        let mut lines = 0;
        let mut bytes = 0;
        'entries: for entry in entries.iter().rev() {
            // An entry with several lines counts each; its newline terminator is added below.
            let text = entry.text.as_bytes();
            for line in text.rsplit(|byte| *byte == b'\n') {
                if lines == self.lines || bytes >= self.max_bytes {
                    break 'entries;
                }
                pieces.push(line);
                lines += 1;
                bytes += line.len() + 1;
            }
        }
        let mut ids = Vec::with_capacity(bytes.min(self.max_bytes) + 1);
        for line in pieces.iter().rev() {
            ids.extend(line.iter().map(|byte| u32::from(*byte)));
            ids.push(END_OF_ACTION);
        }
        if ids.len() > self.max_bytes {
            ids.drain(..ids.len() - self.max_bytes);
        }
        ids.push(ACT);
        ids
    }
}

/// The tokens of an action text as the policy would write it: its bytes and [`END_OF_ACTION`].
pub fn action_ids(text: &str) -> Vec<u32> {
    let mut ids: Vec<u32> = text.bytes().map(u32::from).collect();
    ids.push(END_OF_ACTION);
    ids
}

/// The action text of sampled tokens: the bytes before the first [`END_OF_ACTION`] or [`ACT`]
/// (invalid UTF-8 replaced, as the env would read any text).
pub fn action_text(token_ids: &[u32]) -> String {
    let bytes: Vec<u8> =
        token_ids.iter().take_while(|id| **id != END_OF_ACTION && **id != ACT).map(|id| *id as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::{Kind, Speaker};

    fn entry(text: &str) -> Entry {
        Entry::new(Speaker::Env, Kind::Observation, text.to_owned())
    }

    #[test]
    fn the_window_keeps_the_newest_lines_and_bytes() {
        let entries = [entry("rules\nfirst"), entry("move up"), entry("second")];
        let window = ContextWindow { lines: 2, max_bytes: 100 };
        assert_eq!(window.prompt_ids(&entries), [b"move up\nsecond\n".map(u32::from).to_vec(), vec![ACT]].concat());
        let one = ContextWindow { lines: 1, max_bytes: 100 };
        assert_eq!(one.prompt_ids(&entries), [b"second\n".map(u32::from).to_vec(), vec![ACT]].concat());
        let short = ContextWindow { lines: 10, max_bytes: 4 };
        assert_eq!(short.prompt_ids(&entries), [b"ond\n".map(u32::from).to_vec(), vec![ACT]].concat());
        assert_eq!(ContextWindow::default().prompt_ids(&[]), vec![ACT]);
    }

    #[test]
    fn actions_round_trip_through_tokens() {
        assert_eq!(action_text(&action_ids("move up")), "move up");
        assert_eq!(action_text(&[b'a' as u32, ACT, b'b' as u32]), "a");
        assert_eq!(action_text(&[0xff, b'x' as u32]), "\u{fffd}x");
    }
}
