//! The agent's command grammar (one command per action, case-insensitive):
//!
//! ```text
//! pick [up] <object> [<dir> <n> cm]...
//! place <object> in|on|into <fixture> [<dir> <n> cm]...
//! open <fixture> | close <fixture>
//! move <dir> [a bit | <n> cm]          dir: left | right | forward | back
//! release | done
//! note "<text>" | recall <query>       (robot_memory-v0 only)
//! ```
//!
//! The optional `<dir> <n> cm` pairs after `pick`/`place` shift where the skill aims, in the
//! robot's frame (how a planner compensates an error it has learned about).

use super::world::{Fixture, Offset};

/// A movement direction in the robot's frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Left,
    Right,
    Forward,
    Back,
}

impl Direction {
    pub const ALL: [Direction; 4] = [Direction::Left, Direction::Right, Direction::Forward, Direction::Back];

    pub fn word(self) -> &'static str {
        match self {
            Direction::Left => "left",
            Direction::Right => "right",
            Direction::Forward => "forward",
            Direction::Back => "back",
        }
    }

    pub fn parse(word: &str) -> Option<Direction> {
        Direction::ALL.into_iter().find(|d| d.word() == word)
    }

    /// The unit vector of the direction (+x right, +y forward).
    pub fn unit(self) -> Offset {
        match self {
            Direction::Left => (-1, 0),
            Direction::Right => (1, 0),
            Direction::Forward => (0, 1),
            Direction::Back => (0, -1),
        }
    }

    /// Left and right swapped (a mirrored frame); forward and back unchanged.
    pub fn mirrored(self) -> Direction {
        match self {
            Direction::Left => Direction::Right,
            Direction::Right => Direction::Left,
            other => other,
        }
    }
}

/// A move of "a bit" is 2 cm; a plain move is 4 cm.
pub const A_BIT_CM: i32 = 2;
pub const PLAIN_MOVE_CM: i32 = 4;
/// Explicit distances are 1..=20 cm.
pub const MAX_MOVE_CM: i32 = 20;
/// Longer actions are invalid without further parsing.
pub const MAX_ACTION_CHARS: usize = 300;

/// A parsed command. Object names are resolved against the scene when executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Pick { object: String, offset: Offset },
    Place { object: String, fixture: Fixture, offset: Offset },
    Open(Fixture),
    Close(Fixture),
    Move { direction: Direction, cm: i32 },
    Release,
    Done,
    Note(String),
    Recall(String),
}

impl Command {
    /// Whether the command is a memory action (not a skill).
    pub fn is_memory(&self) -> bool {
        matches!(self, Command::Note(_) | Command::Recall(_))
    }

    /// The canonical text of the command (what `parse` reads back).
    pub fn render(&self) -> String {
        fn offset_text(offset: Offset) -> String {
            let mut text = String::new();
            if offset.0 != 0 {
                let word = if offset.0 < 0 { "left" } else { "right" };
                text.push_str(&format!(" {word} {} cm", offset.0.abs()));
            }
            if offset.1 != 0 {
                let word = if offset.1 < 0 { "back" } else { "forward" };
                text.push_str(&format!(" {word} {} cm", offset.1.abs()));
            }
            text
        }
        match self {
            Command::Pick { object, offset } => format!("pick {object}{}", offset_text(*offset)),
            Command::Place { object, fixture, offset } => {
                format!("place {object} in {}{}", fixture.name(), offset_text(*offset))
            }
            Command::Open(fixture) => format!("open {}", fixture.name()),
            Command::Close(fixture) => format!("close {}", fixture.name()),
            Command::Move { direction, cm } => format!("move {} {cm} cm", direction.word()),
            Command::Release => "release".to_owned(),
            Command::Done => "done".to_owned(),
            Command::Note(text) => format!("note \"{text}\""),
            Command::Recall(query) => format!("recall {query}"),
        }
    }
}

/// Why an action is not a command; the text is shown to the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError(pub &'static str);

fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| matches!(c, '.' | ',' | '!' | ';')).to_owned())
        .filter(|w| !w.is_empty() && w != "the")
        .collect()
}

/// Parses `<dir> <n> cm` pairs ("left 2 cm", "left 2cm", "left 2").
fn parse_offset(tokens: &[String]) -> Result<Offset, ParseError> {
    let mut offset = (0, 0);
    let mut i = 0;
    while i < tokens.len() {
        let direction = Direction::parse(&tokens[i]).ok_or(ParseError("expected a direction in the offset"))?;
        let amount = tokens.get(i + 1).ok_or(ParseError("expected a distance after the direction"))?;
        let number = amount.strip_suffix("cm").unwrap_or(amount);
        let cm: i32 = number.parse().map_err(|_| ParseError("expected a distance in cm"))?;
        if !(0..=MAX_MOVE_CM).contains(&cm) {
            return Err(ParseError("distances are 0 to 20 cm"));
        }
        i += 2;
        if tokens.get(i).is_some_and(|t| t == "cm") {
            i += 1;
        }
        let unit = direction.unit();
        offset = (offset.0 + unit.0 * cm, offset.1 + unit.1 * cm);
    }
    Ok(offset)
}

/// Splits `<object words> [<dir> <n> cm]...` at the first direction word.
fn split_object(tokens: &[String]) -> Result<(String, Offset), ParseError> {
    let end = tokens.iter().position(|t| Direction::parse(t).is_some()).unwrap_or(tokens.len());
    if end == 0 {
        return Err(ParseError("name an object, e.g. `pick red mug`"));
    }
    Ok((tokens[..end].join(" "), parse_offset(&tokens[end..])?))
}

/// Parses one action.
///
/// # Errors
/// A short reason when the text is not a command.
pub fn parse(text: &str) -> Result<Command, ParseError> {
    if text.len() > MAX_ACTION_CHARS {
        return Err(ParseError("the command is too long"));
    }
    let text = text.trim();
    let lower = text.to_lowercase();
    if text.get(..5).is_some_and(|verb| verb.eq_ignore_ascii_case("note ")) {
        // Keep the note's own case.
        let inner = text[5..].trim().trim_matches('"').trim();
        if inner.is_empty() {
            return Err(ParseError("a note needs text: note \"...\""));
        }
        return Ok(Command::Note(inner.to_owned()));
    }
    if let Some(rest) = lower.strip_prefix("recall ") {
        let query = rest.trim().trim_matches('"').trim();
        if query.is_empty() {
            return Err(ParseError("a recall needs a query"));
        }
        return Ok(Command::Recall(query.to_owned()));
    }
    let tokens = words(&lower);
    let Some((verb, rest)) = tokens.split_first() else { return Err(ParseError("empty command")) };
    match verb.as_str() {
        "pick" => {
            let rest = if rest.first().is_some_and(|w| w == "up") { &rest[1..] } else { rest };
            let (object, offset) = split_object(rest)?;
            Ok(Command::Pick { object, offset })
        }
        "place" | "put" => {
            let at = rest
                .iter()
                .position(|w| matches!(w.as_str(), "in" | "on" | "into" | "onto"))
                .ok_or(ParseError("say where: `place <object> in <fixture>`"))?;
            if at == 0 {
                return Err(ParseError("name the object to place"));
            }
            let object = rest[..at].join(" ");
            let after = &rest[at + 1..];
            let end = after.iter().position(|t| Direction::parse(t).is_some()).unwrap_or(after.len());
            let fixture = Fixture::parse(&after[..end].join(" "))
                .ok_or(ParseError("unknown fixture: bin, top drawer, bottom drawer or shelf"))?;
            let offset = parse_offset(&after[end..])?;
            Ok(Command::Place { object, fixture, offset })
        }
        "open" | "close" => {
            let fixture = Fixture::parse(&rest.join(" "))
                .ok_or(ParseError("unknown fixture: bin, top drawer, bottom drawer or shelf"))?;
            Ok(if verb == "open" { Command::Open(fixture) } else { Command::Close(fixture) })
        }
        "move" => {
            let (first, amount) = rest.split_first().ok_or(ParseError("say which way: left, right, forward, back"))?;
            let direction = Direction::parse(first).ok_or(ParseError("say which way: left, right, forward, back"))?;
            let amount: Vec<&str> = amount.iter().map(String::as_str).collect();
            let cm = match amount.as_slice() {
                [] => PLAIN_MOVE_CM,
                ["a", "bit"] | ["a", "little"] | ["slightly"] => A_BIT_CM,
                [n, "cm"] => n.parse().map_err(|_| ParseError("expected `<n> cm`"))?,
                [n] => n.strip_suffix("cm").unwrap_or(n).parse().map_err(|_| ParseError("expected `<n> cm`"))?,
                _ => return Err(ParseError("expected `a bit` or `<n> cm`")),
            };
            if !(1..=MAX_MOVE_CM).contains(&cm) {
                return Err(ParseError("moves are 1 to 20 cm"));
            }
            Ok(Command::Move { direction, cm })
        }
        "release" if rest.is_empty() => Ok(Command::Release),
        "done" if rest.is_empty() => Ok(Command::Done),
        _ => Err(ParseError("unknown command")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_and_render_back() {
        let cases = [
            "pick red mug",
            "pick red mug left 2 cm forward 4 cm",
            "place blue pen in top drawer",
            "place blue pen in shelf right 2 cm",
            "open bottom drawer",
            "close top drawer",
            "move left 2 cm",
            "release",
            "done",
            "note \"mug pick: left 2 cm\"",
            "recall mug",
        ];
        for case in cases {
            let command = parse(case).unwrap_or_else(|e| panic!("{case}: {e:?}"));
            assert_eq!(parse(&command.render()).unwrap(), command, "{case}");
        }
        assert_eq!(parse("Pick up the Red Mug.").unwrap(), Command::Pick { object: "red mug".into(), offset: (0, 0) });
        assert_eq!(parse("move left a bit").unwrap(), Command::Move { direction: Direction::Left, cm: 2 });
        assert_eq!(parse("move back").unwrap(), Command::Move { direction: Direction::Back, cm: 4 });
        assert_eq!(
            parse("put the mug on the shelf").unwrap(),
            Command::Place { object: "mug".into(), fixture: Fixture::Shelf, offset: (0, 0) }
        );
    }

    #[test]
    fn junk_is_rejected() {
        for junk in ["", "  ", "pick", "place mug", "move up", "move left 99 cm", "open fridge", "dance", "done now"] {
            assert!(parse(junk).is_err(), "{junk:?}");
        }
        assert!(parse(&"x".repeat(100_000)).is_err());
    }
}
