//! The simulated human: typed corrections, their rendering from a paraphrase bank, and the
//! inverse reading of an utterance (what a listener can take from the words alone).

use super::command::{A_BIT_CM, Command, Direction};
use super::world::Fixture;

/// A correction, as the human means it. Directions are in the robot's frame; the words may be
/// mirrored (frame mismatch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Correction {
    /// Skill level: nudge the gripper; `more` when it repeats the previous nudge of this attempt.
    Nudge { direction: Direction, cm: i32, more: bool },
    /// Plan level: the agent went for the wrong object ("No, the red pen.").
    WrongObject { wanted: String },
    /// Plan level: the object belongs elsewhere ("Put it in the top drawer instead.").
    WrongPlace { fixture: Fixture, open_first: bool },
    /// Plan level: a precondition ("Open the top drawer first.").
    OpenFirst(Fixture),
    /// The agent stalls: "Stop." and the next step of the plan.
    Stop { hint: Command },
}

const NUDGE_A_BIT: [&str; 4] = ["Move a bit {d}.", "A little {d}.", "Go {d} a bit.", "Slightly {d}, please."];
const NUDGE_PLAIN: [&str; 4] = ["Move {d}.", "Go {d}.", "Further {d}.", "You are off: go {d}."];
const NUDGE_MORE: [&str; 3] = ["A bit more.", "A little more.", "Keep going, a bit more."];
const INTERRUPTIONS: [&str; 4] = ["Stop! ", "Wait, ", "Pardon, ", ""];
const WRONG_OBJECT: [&str; 3] = ["No, the {o}.", "Not that one: the {o}.", "Wrong one, I meant the {o}."];
const WRONG_PLACE: [&str; 3] =
    ["Put it {in} the {f} instead.", "No, that goes {in} the {f}.", "Not there: {in} the {f}."];
const OPEN_FIRST: [&str; 2] = ["Open the {f} first.", "The {f} is closed; open it first."];

fn preposition(fixture: Fixture) -> &'static str {
    if fixture == Fixture::Shelf { "on" } else { "in" }
}

/// The human's words for a correction. `choice` picks the paraphrase (drawn from the episode's
/// stream); `mirrored` swaps left and right in the words.
pub fn utter(correction: &Correction, mirrored: bool, choice: usize) -> String {
    let pick = |bank: &[&'static str]| bank[choice % bank.len()];
    match correction {
        Correction::Nudge { direction, cm, more } => {
            let word = if mirrored { direction.mirrored() } else { *direction }.word();
            let opener = pick(&INTERRUPTIONS);
            if *more {
                format!("{opener}{}", pick(&NUDGE_MORE))
            } else if *cm <= A_BIT_CM {
                let sentence = pick(&NUDGE_A_BIT).replace("{d}", word);
                format!("{opener}{}", capitalise_after(opener, &sentence))
            } else {
                let sentence = pick(&NUDGE_PLAIN).replace("{d}", word);
                format!("{opener}{}", capitalise_after(opener, &sentence))
            }
        }
        Correction::WrongObject { wanted } => pick(&WRONG_OBJECT).replace("{o}", wanted),
        Correction::WrongPlace { fixture, open_first } => {
            let mut text = pick(&WRONG_PLACE).replace("{in}", preposition(*fixture)).replace("{f}", fixture.name());
            if *open_first {
                text.push_str(" Open it first.");
            }
            text
        }
        Correction::OpenFirst(fixture) => pick(&OPEN_FIRST).replace("{f}", fixture.name()),
        Correction::Stop { hint } => format!("Stop. {}", hint_sentence(hint)),
    }
}

fn capitalise_after(opener: &str, sentence: &str) -> String {
    if opener.ends_with(", ") {
        let mut chars = sentence.chars();
        chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
    } else {
        sentence.to_owned()
    }
}

fn hint_sentence(hint: &Command) -> String {
    match hint {
        Command::Pick { object, .. } => format!("Pick up the {object}."),
        Command::Place { object, fixture, .. } => {
            format!("Put the {object} {} the {}.", preposition(*fixture), fixture.name())
        }
        Command::Open(fixture) => format!("Open the {}.", fixture.name()),
        Command::Close(fixture) => format!("Close the {}.", fixture.name()),
        Command::Move { direction, .. } => format!("Move {}.", direction.word()),
        Command::Release => "Let go.".to_owned(),
        Command::Done | Command::Note(_) | Command::Recall(_) => "Carry on.".to_owned(),
    }
}

/// What a listener takes from an utterance, reading only the words (directions as said, so
/// mirrored when the human's frame is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    Nudge {
        direction: Direction,
        cm: i32,
    },
    /// Repeat the previous nudge.
    More,
    /// The named fixture is where the held object belongs.
    Place(Fixture),
    /// Open the named fixture first.
    Open(Fixture),
    /// Another object was meant.
    Object(String),
    /// Stop, with a hint that does not name a place.
    Stop,
}

/// Reads an utterance of the paraphrase bank back into its meaning.
pub fn interpret(utterance: &str) -> Option<Heard> {
    let lower = utterance.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    if let Some(direction) = words.iter().find_map(|w| Direction::parse(w)) {
        let small = words.iter().any(|w| matches!(*w, "bit" | "little" | "slightly"));
        let cm = if small { A_BIT_CM } else { super::command::PLAIN_MOVE_CM };
        return Some(Heard::Nudge { direction, cm });
    }
    if words.contains(&"more") {
        return Some(Heard::More);
    }
    let fixture = Fixture::ALL.into_iter().find(|f| lower.contains(f.name()));
    if let Some(fixture) = fixture {
        let placing = ["put", "goes", "instead", "there"].iter().any(|w| words.contains(w));
        return Some(if placing { Heard::Place(fixture) } else { Heard::Open(fixture) });
    }
    if let Some(position) = words.iter().position(|w| *w == "the")
        && let (Some(colour), Some(kind)) = (words.get(position + 1), words.get(position + 2))
    {
        return Some(Heard::Object(format!("{colour} {kind}")));
    }
    words.contains(&"stop").then_some(Heard::Stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_paraphrase_reads_back() {
        for choice in 0..12 {
            for direction in Direction::ALL {
                for (cm, more) in [(2, false), (4, false)] {
                    let text = utter(&Correction::Nudge { direction, cm, more }, false, choice);
                    assert_eq!(interpret(&text), Some(Heard::Nudge { direction, cm }), "{text}");
                    let mirrored = utter(&Correction::Nudge { direction, cm, more }, true, choice);
                    assert_eq!(interpret(&mirrored), Some(Heard::Nudge { direction: direction.mirrored(), cm }));
                }
                let text = utter(&Correction::Nudge { direction, cm: 2, more: true }, false, choice);
                assert_eq!(interpret(&text), Some(Heard::More), "{text}");
            }
            for fixture in Fixture::ALL {
                for open_first in [false, true] {
                    let text = utter(&Correction::WrongPlace { fixture, open_first }, false, choice);
                    assert_eq!(interpret(&text), Some(Heard::Place(fixture)), "{text}");
                }
                let text = utter(&Correction::OpenFirst(fixture), false, choice);
                assert_eq!(interpret(&text), Some(Heard::Open(fixture)), "{text}");
            }
            let text = utter(&Correction::WrongObject { wanted: "red pen".into() }, false, choice);
            assert_eq!(interpret(&text), Some(Heard::Object("red pen".into())), "{text}");
        }
    }
}
