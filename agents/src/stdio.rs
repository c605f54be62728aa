//! An external agent in any language, over JSON lines (see `docs/protocol.md`).
//!
//! For each episode that needs an action the runner writes one request line; then it reads
//! exactly one reply line per request, in any order:
//!
//! ```text
//! -> {"protocol":"sim-core.stdio/1","env":"twenty_questions-v0","episode":3,"turn":1,"observation":"No.","transcript":[...]}
//! <- {"episode":3,"action":"Is it alive?"}
//! ```
//!
//! Requests are written by a thread of their own while the calling thread reads replies, so an
//! agent that answers each request as it arrives never blocks the runner, whatever the size of
//! a reply or the number of requests in a step: the runner is always reading.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use sim_core::{Action, Agent, AgentError, AgentView, DEFAULT_MAX_ACTION_BYTES, Entry, clip_action};
use thiserror::Error;

/// The protocol tag written in every request.
pub const STDIO_PROTOCOL: &str = "sim-core.stdio/1";

/// How much of the transcript each request carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TranscriptMode {
    /// The whole transcript, in `transcript` (the default: an agent needs no memory).
    #[default]
    Full,
    /// Only the entries added since the episode's previous request, in `entries`, with their
    /// position `from` in the transcript: the cost of a request is bounded by its new entries.
    Delta,
}

#[derive(Serialize)]
struct Request<'a> {
    protocol: &'static str,
    env: &'a str,
    episode: u64,
    turn: u32,
    observation: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    transcript: Option<&'a [Entry]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entries: Option<&'a [Entry]>,
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
    #[error("writing requests to the agent failed: {0}")]
    Write(std::io::Error),
    #[error("talking to the agent failed: {0}")]
    Io(#[from] std::io::Error),
}

/// The request-writing side: a thread that owns the output and writes what it is sent, so the
/// caller never blocks on a full pipe.
struct RequestWriter {
    lines: Sender<Vec<u8>>,
    /// The first write error, kept for the error report.
    failed: Arc<Mutex<Option<std::io::Error>>>,
}

impl RequestWriter {
    fn spawn<W: Write + Send + 'static>(mut output: W) -> Self {
        let (lines, receiver) = mpsc::channel::<Vec<u8>>();
        let failed = Arc::new(Mutex::new(None));
        let report = Arc::clone(&failed);
        // Detached: it ends when the agent is dropped (the channel closes) or a write fails.
        let _ = std::thread::Builder::new().name("stdio-requests".to_owned()).spawn(move || {
            while let Ok(first) = receiver.recv() {
                let mut result = output.write_all(&first);
                // Write what is queued before flushing once.
                while result.is_ok()
                    && let Ok(next) = receiver.try_recv()
                {
                    result = output.write_all(&next);
                }
                if let Err(error) = result.and_then(|()| output.flush()) {
                    *report.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
                    return;
                }
            }
        });
        Self { lines, failed }
    }

    fn send(&self, line: Vec<u8>) -> Result<(), StdioError> {
        self.lines.send(line).map_err(|_| self.error())
    }

    /// The writer's failure (or a stand-in when it ended without one).
    fn error(&self) -> StdioError {
        let error = self.failed.lock().unwrap_or_else(PoisonError::into_inner).take();
        StdioError::Write(error.unwrap_or_else(|| std::io::Error::other("the request writer stopped")))
    }

    fn has_failed(&self) -> bool {
        self.failed.lock().unwrap_or_else(PoisonError::into_inner).is_some()
    }
}

/// Plays by asking an external process. `input` carries the agent's replies, `output` the
/// requests (written by a thread of its own).
pub struct StdioAgent<R> {
    input: R,
    writer: RequestWriter,
    lines_read: u64,
    max_action_bytes: usize,
    mode: TranscriptMode,
    /// Delta mode: transcript entries sent so far, for the episodes of the previous step.
    sent: BTreeMap<u64, usize>,
}

impl<R: BufRead + Send> StdioAgent<R> {
    pub fn new<W: Write + Send + 'static>(input: R, output: W) -> Self {
        Self {
            input,
            writer: RequestWriter::spawn(output),
            lines_read: 0,
            max_action_bytes: DEFAULT_MAX_ACTION_BYTES,
            mode: TranscriptMode::Full,
            sent: BTreeMap::new(),
        }
    }

    /// Clips each reply's action to the run's maximum action size as soon as it is read (the
    /// engine would clip it to the same text; clipping early keeps memory bounded by the limit
    /// instead of the replies' size).
    #[must_use]
    pub fn with_max_action_bytes(mut self, max: usize) -> Self {
        self.max_action_bytes = max;
        self
    }

    /// How much of the transcript each request carries (default [`TranscriptMode::Full`]).
    #[must_use]
    pub fn with_transcript_mode(mut self, mode: TranscriptMode) -> Self {
        self.mode = mode;
        self
    }

    fn request_line(&self, view: &AgentView<'_>, sent: &mut BTreeMap<u64, usize>) -> Result<Vec<u8>, StdioError> {
        let entries = view.transcript.entries();
        let mut request = Request {
            protocol: STDIO_PROTOCOL,
            env: &view.spec.id,
            episode: view.episode.index,
            turn: view.turn,
            observation: entries.last().map_or("", |entry| &entry.text),
            transcript: None,
            from: None,
            entries: None,
        };
        match self.mode {
            TranscriptMode::Full => request.transcript = Some(entries),
            TranscriptMode::Delta => {
                // An episode not asked in the previous step gets its whole transcript (`from` 0).
                let known = if view.turn == 0 { 0 } else { self.sent.get(&view.episode.index).copied().unwrap_or(0) };
                let from = known.min(entries.len());
                request.from = Some(from);
                request.entries = Some(&entries[from..]);
                sent.insert(view.episode.index, entries.len());
            }
        }
        let mut line = Vec::new();
        serde_json::to_writer(&mut line, &request).map_err(std::io::Error::other)?;
        line.push(b'\n');
        Ok(line)
    }

    fn exchange(&mut self, views: &[AgentView<'_>]) -> Result<Vec<Action>, StdioError> {
        let mut waiting: BTreeMap<u64, Option<String>> = BTreeMap::new();
        let mut sent = BTreeMap::new();
        for view in views {
            let line = self.request_line(view, &mut sent)?;
            self.writer.send(line)?;
            waiting.insert(view.episode.index, None);
        }
        self.sent = sent;
        let mut text = String::new();
        for answered in 0..views.len() {
            text.clear();
            if self.input.read_line(&mut text)? == 0 {
                if self.writer.has_failed() {
                    return Err(self.writer.error());
                }
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
            let action = match clip_action(&reply.action, self.max_action_bytes) {
                Some(clipped) => clipped.text.into_owned(),
                None => reply.action,
            };
            if slot.replace(action).is_some() {
                return Err(StdioError::Duplicate { line: self.lines_read, episode: reply.episode });
            }
        }
        Ok(views
            .iter()
            .map(|view| Action::from(waiting.get_mut(&view.episode.index).and_then(Option::take).unwrap_or_default()))
            .collect())
    }
}

impl<R: BufRead + Send> Agent for StdioAgent<R> {
    fn act(&mut self, views: &[AgentView<'_>]) -> Result<Vec<Action>, AgentError> {
        self.exchange(views).map_err(|error| Box::new(error) as AgentError)
    }
}
