//! `scenarios dataset <env-id> --episodes N --out FILE`: an offline RL dataset played by the
//! env's behaviour policy (its built-in agent named `dataset`), as JSON lines.
//!
//! Two formats (docs/scenarios.md):
//! - `trajectories` (default): one `sim-core.trajectory/1` record per episode (transcript,
//!   per-step `rewards`, `terminated`/`truncated`, `hidden`), the format of every run;
//! - `steps`: one `sim-core.steps/1` line per agent action (observation, action, reward,
//!   next observation, done, return-to-go), for trainers that want transitions.
//!
//! Lines come in episode order whatever the batch size and threads, and are byte-identical
//! for the same env config, seed and episode count.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use sim_core::{EnvKind, EpisodeRecord, InEpisodeOrder, Kind, Registry, RunPlan, TrajectoryWriter, run_episodes};

/// The agent name every env's behaviour policy is registered under.
pub const DATASET_AGENT: &str = "dataset";

/// The schema tag of the per-step format.
pub const STEPS_SCHEMA: &str = "sim-core.steps/1";

/// How the dataset is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One trajectory record per episode (`sim-core.trajectory/1`).
    #[default]
    Trajectories,
    /// One transition per agent action (`sim-core.steps/1`).
    Steps,
}

/// What to generate.
pub struct DatasetRequest {
    pub env: Arc<dyn EnvKind>,
    pub episodes: u64,
    pub seed: u64,
    pub batch_size: usize,
    pub threads: usize,
    pub out: PathBuf,
    pub format: Format,
}

/// One line of the `steps` format: the agent's `step`-th action of an episode and what followed.
///
/// The model's context at this step is the `observation` of step 0 (the prompt), then each
/// earlier step's `action` and `next_observation`, in order.
#[derive(Debug, Serialize)]
pub struct StepLine<'a> {
    pub schema: &'static str,
    pub env: &'a str,
    pub episode: u64,
    pub seed: u64,
    pub step: u32,
    /// What the env said since the previous action (the prompt at step 0).
    pub observation: String,
    pub action: &'a str,
    pub reward: f64,
    /// What the env answered to this action.
    pub next_observation: String,
    /// The episode ended at this step: `terminated` (the task ended) or `truncated` (the cap).
    pub done: bool,
    pub terminated: bool,
    pub truncated: bool,
    /// Undiscounted sum of this and later rewards (Monte-Carlo return, γ = 1).
    pub return_to_go: f64,
    pub episode_return: f64,
    pub success: bool,
    pub invalid_action: bool,
}

/// Table-1 style statistics of the generated dataset; printed as one JSON line.
#[derive(Debug, Serialize)]
pub struct DatasetSummary {
    pub env: String,
    pub agent: &'static str,
    pub format: &'static str,
    pub out: String,
    pub seed: u64,
    pub trajectories: u64,
    /// Mean agent turns per episode.
    pub avg_length: f64,
    pub success_rate: f64,
    pub avg_return: f64,
    /// Population standard deviation of the episode return.
    pub std_return: f64,
    pub transitions: u64,
}

/// The env ids that offer a `dataset` behaviour policy.
pub fn envs_with_dataset(registry: &Registry) -> Vec<&'static str> {
    registry.ids().filter(|id| agents::agent_names(id).contains(&DATASET_AGENT)).collect()
}

/// Splits a record into its steps: `(observation before, action, observation after)`.
fn transitions(record: &EpisodeRecord) -> Vec<(String, &str, String)> {
    let mut steps = Vec::with_capacity(record.rewards.len());
    let mut before = String::new();
    let mut pending: Option<&str> = None;
    let mut after = String::new();
    for entry in record.transcript.entries() {
        if entry.kind == Kind::Action {
            if let Some(action) = pending.take() {
                steps.push((std::mem::take(&mut before), action, after.clone()));
                before = std::mem::take(&mut after);
            }
            pending = Some(&entry.text);
        } else {
            let text = if pending.is_some() { &mut after } else { &mut before };
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&entry.text);
        }
    }
    if let Some(action) = pending {
        steps.push((before, action, after));
    }
    steps
}

fn write_steps(out: &mut impl Write, record: &EpisodeRecord, line: &mut Vec<u8>) -> std::io::Result<u64> {
    let steps = transitions(record);
    let last = steps.len().saturating_sub(1);
    // Suffix sums, so the last step's return-to-go is exactly its reward.
    let mut returns_to_go = vec![0.0; steps.len()];
    let mut suffix = 0.0;
    for step in (0..steps.len()).rev() {
        suffix += record.rewards.get(step).copied().unwrap_or(0.0);
        returns_to_go[step] = suffix;
    }
    let mut invalid = record.invalid_by_step.iter().copied();
    for (step, (observation, action, next_observation)) in steps.into_iter().enumerate() {
        let reward = record.rewards.get(step).copied().unwrap_or(0.0);
        let done = step == last;
        let entry = StepLine {
            schema: STEPS_SCHEMA,
            env: &record.env,
            episode: record.episode,
            seed: record.seed,
            step: step as u32,
            observation,
            action,
            reward,
            next_observation,
            done,
            terminated: done && record.terminated,
            truncated: done && record.truncated,
            return_to_go: returns_to_go[step],
            episode_return: record.episode_return,
            success: record.success,
            invalid_action: invalid.next().unwrap_or(false),
        };
        line.clear();
        serde_json::to_writer(&mut *line, &entry)?;
        line.push(b'\n');
        out.write_all(line)?;
    }
    Ok(record.rewards.len() as u64)
}

/// Writes records of either format in episode order.
enum Sink {
    Trajectories(TrajectoryWriter<BufWriter<File>>),
    Steps { out: BufWriter<File>, order: InEpisodeOrder<EpisodeRecord>, line: Vec<u8> },
}

impl Sink {
    fn push(&mut self, record: EpisodeRecord) -> std::io::Result<()> {
        match self {
            Sink::Trajectories(writer) => writer.push(record),
            Sink::Steps { out, order, line } => {
                for record in order.push(record.episode, record) {
                    write_steps(out, &record, line)?;
                    out.flush()?;
                }
                Ok(())
            }
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Sink::Trajectories(writer) => writer.into_inner().flush(),
            Sink::Steps { mut out, .. } => out.flush(),
        }
    }
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?))
}

/// Plays the env's `dataset` agent and writes the dataset.
///
/// # Errors
/// [`agents::UnknownAgent`] (with the list of envs that have one) when the env has no
/// `dataset` agent; output or agent failures.
pub fn generate(request: &DatasetRequest, registry: &Registry) -> anyhow::Result<DatasetSummary> {
    let id = request.env.spec().id.clone();
    let factory = agents::built_in(DATASET_AGENT, &id).map_err(|error| {
        anyhow::Error::new(error).context(format!(
            "env `{id}` has no offline-dataset behaviour policy (an agent named `dataset`); envs with one: {}",
            envs_with_dataset(registry).join(", ")
        ))
    })?;
    let file = create(&request.out)?;
    let mut sink = match request.format {
        Format::Trajectories => Sink::Trajectories(TrajectoryWriter::new(file, 0)),
        Format::Steps => Sink::Steps { out: file, order: InEpisodeOrder::new(0), line: Vec::new() },
    };
    let progress = ProgressBar::new(request.episodes).with_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} episodes [{elapsed_precise}] {wide_bar} {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let plan = RunPlan {
        seed: request.seed,
        first_episode: 0,
        episodes: request.episodes,
        batch_size: request.batch_size.max(1),
        threads: request.threads.max(1),
        ..RunPlan::default()
    };
    let (mut episodes, mut successes, mut turns) = (0u64, 0u64, 0u64);
    let (mut sum, mut sum_of_squares) = (0.0f64, 0.0f64);
    let result = run_episodes(&request.env, &plan, factory.as_ref(), &mut |record| {
        episodes += 1;
        successes += u64::from(record.success);
        turns += u64::from(record.turns);
        sum += record.episode_return;
        sum_of_squares += record.episode_return * record.episode_return;
        sink.push(record)?;
        progress.inc(1);
        Ok(())
    });
    progress.finish_and_clear();
    sink.finish()?;
    result.with_context(|| {
        format!("the run stopped after {episodes} episodes; {} holds those written", request.out.display())
    })?;
    let n = episodes.max(1) as f64;
    let mean = sum / n;
    Ok(DatasetSummary {
        env: id,
        agent: DATASET_AGENT,
        format: match request.format {
            Format::Trajectories => "trajectories",
            Format::Steps => "steps",
        },
        out: request.out.display().to_string(),
        seed: request.seed,
        trajectories: episodes,
        avg_length: turns as f64 / n,
        success_rate: successes as f64 / n,
        avg_return: mean,
        std_return: (sum_of_squares / n - mean * mean).max(0.0).sqrt(),
        transitions: turns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(episodes: u64) -> Vec<EpisodeRecord> {
        let kind = envs::registry().make("wordle-v0", None).unwrap();
        let factory = agents::built_in(DATASET_AGENT, "wordle-v0").unwrap();
        let plan = RunPlan { seed: 4, first_episode: 0, episodes, batch_size: 8, threads: 1, ..Default::default() };
        let mut records = Vec::new();
        run_episodes(&kind, &plan, factory.as_ref(), &mut |record| {
            records.push(record);
            Ok(())
        })
        .unwrap();
        records
    }

    #[test]
    fn steps_rebuild_the_transcript_and_returns() {
        for record in record(20) {
            let steps = transitions(&record);
            assert_eq!(steps.len(), record.rewards.len());
            assert_eq!(steps[0].0, record.transcript.entries()[0].text);
            for (index, (_, action, after)) in steps.iter().enumerate() {
                assert_eq!(*action, record.transcript.entries()[1 + 2 * index].text);
                assert_eq!(after, &record.transcript.entries()[2 + 2 * index].text);
            }
            for pair in steps.windows(2) {
                assert_eq!(pair[0].2, pair[1].0, "a step's next observation is the next step's observation");
            }
            let mut out = Vec::new();
            write_steps(&mut out, &record, &mut Vec::new()).unwrap();
            let lines: Vec<serde_json::Value> =
                String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            assert_eq!(lines[0]["return_to_go"], record.episode_return);
            let last = lines.last().unwrap();
            assert_eq!(last["done"], true);
            assert_eq!(last["return_to_go"], last["reward"]);
            assert_eq!(last["terminated"], record.terminated);
            assert!(lines[..lines.len() - 1].iter().all(|line| line["done"] == false));
        }
    }
}
