//! Trajectory records and the JSON-lines writer.

use std::collections::BTreeMap;
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::components::{Episode, Ledger, Outcome};
use crate::metrics::EpisodeMetrics;
use crate::transcript::Transcript;

/// The schema tag written in every trajectory line. Bumped whenever a field changes meaning.
pub const TRAJECTORY_SCHEMA: &str = "sim-core.trajectory/1";

/// Everything recorded about one finished episode: one line of `trajectories.jsonl`.
///
/// Invariants: `rewards.len() == invalid_by_step.len() == turns`; `episode_return` is the
/// rewards' sum and `invalid_actions` the count of `true` in `invalid_by_step`; at most one of
/// `terminated` and `truncated` is true.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeRecord {
    pub schema: String,
    pub env: String,
    pub episode: u64,
    pub seed: u64,
    pub turns: u32,
    #[serde(rename = "return")]
    pub episode_return: f64,
    pub success: bool,
    pub terminated: bool,
    pub truncated: bool,
    /// How the episode ended: the env's label (see [`crate::Outcome::ending`]), or
    /// `"terminated"` / `"truncated"`, or the agent's reason for truncating it
    /// ([`crate::Action::truncate_episode`]).
    pub ending: String,
    pub invalid_actions: u32,
    /// Reward of each agent action, in order.
    pub rewards: Vec<f64>,
    /// Whether each agent action was invalid (the step's `info.invalid_action`), in order.
    #[serde(default)]
    pub invalid_by_step: Vec<bool>,
    pub transcript: Transcript,
    /// The hidden state, revealed after the episode for analysis; never shown to the agent.
    pub hidden: Vec<String>,
    /// The env's paper metrics for this episode ([`crate::EnvSpec::metrics`]), by name.
    #[serde(default)]
    pub metrics: EpisodeMetrics,
}

impl EpisodeRecord {
    pub(crate) fn new(
        env: String,
        episode: Episode,
        transcript: Transcript,
        ledger: Ledger,
        outcome: Outcome,
        hidden: Vec<String>,
    ) -> Self {
        let finished = ledger.finished;
        let ending = match (finished, outcome.truncated, outcome.ending) {
            (false, _, _) => "unfinished",
            (true, true, reason) => reason.unwrap_or("truncated"),
            (true, false, Some(label)) => label,
            (true, false, None) => "terminated",
        };
        Self {
            schema: TRAJECTORY_SCHEMA.to_owned(),
            env,
            episode: episode.index,
            seed: episode.seed,
            turns: ledger.rewards.len() as u32,
            episode_return: ledger.rewards.iter().sum(),
            success: finished && outcome.success,
            terminated: finished && outcome.terminated,
            truncated: finished && outcome.truncated,
            ending: ending.to_owned(),
            invalid_actions: ledger.invalid_actions,
            rewards: ledger.rewards,
            invalid_by_step: ledger.invalid_by_step,
            transcript,
            hidden,
            metrics: EpisodeMetrics::default(),
        }
    }

    /// The agent's actions, in order: with `seed`, all a replay needs.
    pub fn actions(&self) -> Vec<String> {
        self.transcript.actions().map(str::to_owned).collect()
    }
}

/// Restores episode-index order: items arrive keyed by episode index in any order (workers
/// finish episodes out of order) and leave in index order, each as soon as it and every
/// earlier episode have arrived. The one reordering buffer of the workspace: the trajectory
/// writer, the runner's statistics and the dataset writers all go through it.
///
/// Invariant: items leave exactly once, in strictly increasing index order with no gap.
#[derive(Debug, Clone)]
pub struct InEpisodeOrder<T> {
    next: u64,
    waiting: BTreeMap<u64, T>,
}

impl<T> InEpisodeOrder<T> {
    /// `first` is the index of the first episode of the run.
    pub fn new(first: u64) -> Self {
        Self { next: first, waiting: BTreeMap::new() }
    }

    /// Accepts episode `index`'s item and yields every item now in sequence, in order. Items
    /// the caller does not take from the iterator stay waiting for the next call.
    pub fn push(&mut self, index: u64, item: T) -> Released<'_, T> {
        self.waiting.insert(index, item);
        Released { order: self }
    }

    /// The index of the next episode to release.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Items received but not yet released (an earlier episode is still running).
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

/// The items [`InEpisodeOrder::push`] releases.
pub struct Released<'a, T> {
    order: &'a mut InEpisodeOrder<T>,
}

impl<T> Iterator for Released<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let item = self.order.waiting.remove(&self.order.next)?;
        self.order.next += 1;
        Some(item)
    }
}

impl<T> Default for InEpisodeOrder<T> {
    /// Starts at episode 0.
    fn default() -> Self {
        Self::new(0)
    }
}

/// Writes records as JSON lines in episode-index order, flushing each line as soon as it and
/// all earlier episodes are finished, so a crash leaves every written line valid.
pub struct TrajectoryWriter<W: Write> {
    out: W,
    order: InEpisodeOrder<EpisodeRecord>,
    line: Vec<u8>,
}

impl<W: Write> TrajectoryWriter<W> {
    /// `first` is the index of the first episode of the run.
    pub fn new(out: W, first: u64) -> Self {
        Self { out, order: InEpisodeOrder::new(first), line: Vec::new() }
    }

    /// Accepts a finished episode in any order; writes every record that is now in sequence.
    ///
    /// # Errors
    /// Any I/O error of the underlying writer.
    pub fn push(&mut self, record: EpisodeRecord) -> std::io::Result<()> {
        for record in self.order.push(record.episode, record) {
            write_json_line(&mut self.out, &mut self.line, &record)?;
        }
        Ok(())
    }

    /// Records received but not yet written (an earlier episode is still running).
    pub fn waiting(&self) -> usize {
        self.order.waiting()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Writes one value as a JSON line with a single `write_all` and flushes it, so a crash never
/// leaves half a line behind this one. `line` is a reusable buffer.
///
/// # Errors
/// Any serialisation or I/O error.
pub fn write_json_line<W: Write, T: Serialize>(out: &mut W, line: &mut Vec<u8>, value: &T) -> std::io::Result<()> {
    line.clear();
    serde_json::to_writer(&mut *line, value)?;
    line.push(b'\n');
    out.write_all(line)?;
    out.flush()
}
