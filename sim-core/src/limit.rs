//! The maximum action size, enforced once by the engine for every env.
//!
//! An action longer than the limit (counted in UTF-8 bytes) is not given to the env. The env
//! is stepped with the empty action instead, which every env refuses as invalid with its own
//! penalty (a conformance contract: `conformance::check_invalid_actions`), so an over-long
//! action costs what any invalid action costs in that env. The engine then:
//!
//! - flags the step `invalid_action` whatever the env said;
//! - puts a sentence in front of the env's reply saying the action was over the limit;
//! - stores the action in the transcript in its clipped form ([`clip_action`]): its first bytes
//!   up to the limit (cut on a character boundary), then `… [truncated: N bytes]` with the full
//!   length `N`.
//!
//! The clipped form of a clipped form is itself, so replaying a record's actions (with the same
//! limit) gives back the record, and an agent may clip early (the stdio runner does, to keep
//! memory bounded): the trajectory is the same.

use std::borrow::Cow;

/// The default maximum action size: 64 KiB.
pub const DEFAULT_MAX_ACTION_BYTES: usize = 64 * 1024;

const MARKER_START: &str = "… [truncated: ";
const MARKER_END: &str = " bytes]";

/// An over-long action as the transcript stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClippedAction {
    /// The stored text: a prefix of at most the limit's bytes, then the marker.
    pub text: Cow<'static, str>,
    /// The length of the action the agent sent, in bytes.
    pub original_bytes: usize,
}

/// `None` when `text` fits in `max` bytes; otherwise the form an over-long action is stored in:
/// the longest prefix of at most `max` bytes that ends on a character boundary, followed by
/// `… [truncated: N bytes]`. A text that already is such a form (longer than `max`, ending in
/// the marker of an `N` over `max`, with a prefix within `max`) is returned unchanged, with
/// that `N`.
pub fn clip_action(text: &str, max: usize) -> Option<ClippedAction> {
    if text.len() <= max {
        return None;
    }
    if let Some(original_bytes) = clipped_length(text, max) {
        return Some(ClippedAction { text: Cow::Owned(text.to_owned()), original_bytes });
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let clipped = format!("{}{MARKER_START}{}{MARKER_END}", &text[..end], text.len());
    Some(ClippedAction { text: Cow::Owned(clipped), original_bytes: text.len() })
}

/// The `N` of a text already in clipped form for `max`.
fn clipped_length(text: &str, max: usize) -> Option<usize> {
    let body = text.strip_suffix(MARKER_END)?;
    let start = body.rfind(MARKER_START)?;
    let digits = &body[start + MARKER_START.len()..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    let original = digits.parse::<usize>().ok()?;
    (start <= max && original > max).then_some(original)
}

/// The sentence the engine puts before the env's reply to an over-long action.
pub(crate) fn over_limit_note(original_bytes: usize, max: usize) -> String {
    format!(
        "Your action was {original_bytes} bytes long, over the limit of {max} bytes; it was not read and counts \
         as an empty action. "
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_actions_fit() {
        assert_eq!(clip_action("", 0), None);
        assert_eq!(clip_action("abc", 3), None);
    }

    #[test]
    fn long_actions_keep_a_prefix_and_their_length() {
        let clipped = clip_action(&"x".repeat(100), 10).unwrap();
        assert_eq!(clipped.text, "xxxxxxxxxx… [truncated: 100 bytes]");
        assert_eq!(clipped.original_bytes, 100);
    }

    #[test]
    fn the_cut_falls_on_a_character_boundary() {
        // "é" is two bytes: a limit of 2 keeps "a", 4 keeps "aé" (3 bytes).
        let text = "aéé";
        assert_eq!(clip_action(text, 2).unwrap().text, "a… [truncated: 5 bytes]");
        assert_eq!(clip_action(text, 4).unwrap().text, "aé… [truncated: 5 bytes]");
    }

    #[test]
    fn clipping_is_idempotent() {
        for (text, max) in [("x".repeat(1000), 10), ("é".repeat(1000), 7), ("ab".repeat(40_000), 65_536)] {
            let once = clip_action(&text, max).unwrap();
            let twice = clip_action(&once.text, max).unwrap();
            assert_eq!(once, twice);
        }
    }

    #[test]
    fn a_marker_that_does_not_fit_the_form_is_clipped_again() {
        // N not over the limit, a prefix over the limit, a leading zero: not clipped forms.
        for text in ["abcdefghijkl… [truncated: 5 bytes]", "abcdefghijklmnopqrstuvwxyz… [truncated: 500 bytes]"] {
            let clipped = clip_action(text, 10).unwrap();
            assert_eq!(clipped.original_bytes, text.len());
        }
        assert_eq!(clip_action("abc… [truncated: 0500 bytes]", 10).unwrap().original_bytes, 30);
    }
}
