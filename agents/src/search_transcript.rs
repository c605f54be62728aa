//! Readers of a `search_feedback-v0` transcript shared by the one-shot agents
//! ([`crate::search_feedback`]) and the stage-wise planner ([`crate::search_stagewise`]).
//!
//! The dependency runs one way: `search_feedback` uses `search_stagewise` (its feedback-append
//! and random agents hand stage-wise episodes on), and both use this module.

use sim_core::{Kind, Transcript};

/// The user's opening query, from the prompt.
pub fn initial_query(transcript: &Transcript) -> String {
    transcript.entries().first().and_then(|prompt| quoted_user(&prompt.text)).unwrap_or_default().to_owned()
}

/// The words between `User: "` and the next `"` of a text.
fn quoted_user(text: &str) -> Option<&str> {
    let start = text.find("User: \"")? + "User: \"".len();
    let end = text[start..].find('"')? + start;
    Some(&text[start..end])
}

/// What the user said after the opening, in order.
pub fn user_utterances(transcript: &Transcript) -> Vec<&str> {
    transcript
        .entries()
        .iter()
        .skip(1)
        .filter(|e| e.kind != Kind::Action && e.kind != Kind::Admin)
        .filter_map(|e| quoted_user(&e.text))
        .collect()
}

/// Whether the episode runs in stage-wise mode (its prompt asks for a plan).
pub fn is_stagewise(transcript: &Transcript) -> bool {
    transcript.entries().first().is_some_and(|prompt| prompt.text.contains("plan <sub-need>"))
}
