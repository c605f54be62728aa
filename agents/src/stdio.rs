//! An external agent in any language, over JSON lines (see `docs/protocol.md`).
//!
//! For each episode that needs an action the runner writes one request line; then it reads
//! exactly one reply line per request, in any order:
//!
//! ```text
//! -> {"protocol":"sim-core.stdio/1","env":"twenty_questions-v0","episode":3,"turn":1,"observation":"No.","transcript":[...]}
//! <- {"episode":3,"action":"Is it alive?"}
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use sim_core::{Action, Agent, AgentError, AgentView, Entry};
use thiserror::Error;

/// The protocol tag written in every request.
pub const STDIO_PROTOCOL: &str = "sim-core.stdio/1";

#[derive(Serialize)]
struct Request<'a> {
    protocol: &'static str,
    env: &'a str,
    episode: u64,
    turn: u32,
    observation: &'a str,
    transcript: &'a [Entry],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    episode: u64,
    action: String,
}

/// What went wrong with the external agent's replies.
#[derive(Debug, Error)]
pub enum StdioError {
    #[error("the agent closed its output after {answered} of {expected} replies")]
    Closed { answered: usize, expected: usize },
    #[error("reply line {line}: expected {{\"episode\": <id>, \"action\": <string>}}: {reason}; got {text:?}")]
    Malformed { line: u64, reason: String, text: String },
    #[error("reply line {line}: episode {episode} was not asked for an action")]
    UnexpectedEpisode { line: u64, episode: u64 },
    #[error("reply line {line}: episode {episode} answered twice")]
    Duplicate { line: u64, episode: u64 },
    #[error("talking to the agent failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Plays by asking an external process. `input` carries the agent's replies, `output` the
/// requests.
pub struct StdioAgent<R, W> {
    input: R,
    output: W,
    lines_read: u64,
}

impl<R: BufRead + Send, W: Write + Send> StdioAgent<R, W> {
    pub fn new(input: R, output: W) -> Self {
        Self { input, output, lines_read: 0 }
    }

    fn exchange(&mut self, views: &[AgentView<'_>]) -> Result<Vec<Action>, StdioError> {
        let mut waiting: BTreeMap<u64, Option<String>> = BTreeMap::new();
        let mut line = Vec::new();
        for view in views {
            let entries = view.transcript.entries();
            let request = Request {
                protocol: STDIO_PROTOCOL,
                env: &view.spec.id,
                episode: view.episode.index,
                turn: view.turn,
                observation: entries.last().map_or("", |entry| &entry.text),
                transcript: entries,
            };
            line.clear();
            serde_json::to_writer(&mut line, &request).map_err(std::io::Error::other)?;
            line.push(b'\n');
            self.output.write_all(&line)?;
            waiting.insert(view.episode.index, None);
        }
        self.output.flush()?;
        let mut text = String::new();
        for answered in 0..views.len() {
            text.clear();
            if self.input.read_line(&mut text)? == 0 {
                return Err(StdioError::Closed { answered, expected: views.len() });
            }
            self.lines_read += 1;
            let shown = || text.trim_end().chars().take(200).collect::<String>();
            let reply: Reply = serde_json::from_str(text.trim_end()).map_err(|error| StdioError::Malformed {
                line: self.lines_read,
                reason: error.to_string(),
                text: shown(),
            })?;
            let slot = waiting
                .get_mut(&reply.episode)
                .ok_or(StdioError::UnexpectedEpisode { line: self.lines_read, episode: reply.episode })?;
            if slot.replace(reply.action).is_some() {
                return Err(StdioError::Duplicate { line: self.lines_read, episode: reply.episode });
            }
        }
        Ok(views
            .iter()
            .map(|view| Action::from(waiting.get_mut(&view.episode.index).and_then(Option::take).unwrap_or_default()))
            .collect())
    }
}

impl<R: BufRead + Send, W: Write + Send> Agent for StdioAgent<R, W> {
    fn act(&mut self, views: &[AgentView<'_>]) -> Result<Vec<Action>, AgentError> {
        self.exchange(views).map_err(|error| Box::new(error) as AgentError)
    }
}
