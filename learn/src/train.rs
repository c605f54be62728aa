//! Training files and the training loop behind `scenarios train <file.ron>`.
//!
//! A run writes into its output folder:
//! - `train.ron`: the training file it ran;
//! - `metrics.jsonl`: one line per update (loss terms, rollout return, evaluation when due);
//!   reproducible: the same file, seed and thread count give the same bytes;
//! - `timing.jsonl`: one line per update with wall-clock seconds and tokens per second (kept
//!   apart because it is not reproducible);
//! - `checkpoint/`: `policy.json` and `model.safetensors` (playable with
//!   `--agent policy:<folder>/checkpoint`), `optimizer.safetensors`, `state.json` and a copy
//!   of `train.ron`, rewritten every `checkpoint_every` updates and at the end;
//! - `best/`: the policy (`policy.json`, `model.safetensors`) of the best evaluation so far
//!   and that evaluation (`eval.json`): online RL on small policies oscillates, and the last
//!   update is not always the best;
//! - `curve.svg`: the learning curve.
//!
//! Everything random derives from the seed and the update number (the episodes an update
//! plays, the streams its actions are drawn from, its minibatches), so a run resumed from a
//! checkpoint continues exactly as the uninterrupted run would have.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use candle_core::Device;
use rand::RngExt;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use sim_core::registry::{EnvSection, line_column};
use sim_core::seed::{episode_seed, stream_indexed};
use sim_core::{EnvKind, Episode, EpisodeRecord, Registry, RunPlan, run_episodes};

use crate::LearnError;
use crate::algorithms::{
    AdamW, Batch, ClippedObjective, LossTerms, OptimizerConfig, behaviour_cloning_loss, clipped_loss,
    generalised_advantages, group_advantages, normalise_advantages, score,
};
use crate::curve::{Series, svg};
use crate::model::{Model, load_tensors, save_tensors};
use crate::policy::{Policy, PolicyAgent, PolicySpec};
use crate::rollout::{Planned, Sample, play, samples_from_rollouts, samples_from_text};

/// Where the policy starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Init {
    /// Fresh weights from the training seed.
    Scratch,
    /// The weights of a checkpoint folder (for example a BC run's `checkpoint`); its model
    /// config must equal this file's.
    Checkpoint(String),
}

/// Which episodes BC learns from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DatasetSource {
    /// Play the env's `dataset` behaviour policy for this many episodes with this seed (the
    /// same episodes `scenarios dataset <env> --episodes N --seed S` writes).
    Generate { episodes: u64, seed: u64 },
    /// A `trajectories.jsonl` file (`scenarios dataset` output or a run's trajectories).
    File(String),
}

/// Which dataset episodes filtered BC keeps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Keep {
    /// Episodes that succeeded (LMRL-Gym's criterion for Maze, Text-Nav and the chess tasks).
    Successes,
    /// The best fraction by return, ties broken by episode order (LMRL-Gym: 0.3 on Wordle, 0.1
    /// on the dialogue tasks).
    TopFraction(f64),
}

/// The algorithm and its hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Algorithm {
    /// Behaviour cloning on the dataset: one update is one minibatch of `batch_size` turns.
    Bc { batch_size: usize },
    /// BC on the kept part of the dataset.
    FilteredBc { batch_size: usize, keep: Keep },
    /// Online PPO: each update plays `episodes` fresh episodes, then `epochs` passes over
    /// their turns in minibatches of `minibatch` turns.
    Ppo {
        episodes: usize,
        epochs: usize,
        minibatch: usize,
        #[serde(default = "default_discount")]
        discount: f64,
        #[serde(default = "default_lambda")]
        lambda: f64,
        /// Rewards are multiplied by this for the value head and the advantages.
        #[serde(default = "default_reward_scale")]
        reward_scale: f64,
        #[serde(default)]
        objective: ClippedObjective,
    },
    /// Group-relative policy gradient: each update plays `groups` episodes `group_size` times
    /// each (the same episode, different sampling streams).
    Grpo {
        groups: usize,
        group_size: usize,
        epochs: usize,
        minibatch: usize,
        #[serde(default)]
        objective: ClippedObjective,
    },
}

fn default_discount() -> f64 {
    0.99
}

fn default_lambda() -> f64 {
    0.95
}

fn default_reward_scale() -> f64 {
    1.0
}

impl Algorithm {
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::Bc { .. } => "bc",
            Algorithm::FilteredBc { .. } => "filtered_bc",
            Algorithm::Ppo { .. } => "ppo",
            Algorithm::Grpo { .. } => "grpo",
        }
    }
}

/// Evaluation cadence: the policy plays `episodes` episodes of the scenario seed `seed` every
/// `every` updates (and before the first and after the last), through the ordinary runner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    pub every: u64,
    pub episodes: u64,
    pub seed: u64,
    pub batch_size: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self { every: 10, episodes: 200, seed: 1_000_000, batch_size: 64 }
    }
}

fn default_threads() -> usize {
    1
}

fn default_checkpoint_every() -> u64 {
    10
}

fn default_live() -> usize {
    64
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainFile<'a> {
    #[serde(borrow)]
    env: EnvSection<'a>,
    #[serde(default)]
    policy: PolicySpec,
    init: Init,
    algorithm: Algorithm,
    #[serde(default)]
    dataset: Option<DatasetSource>,
    updates: u64,
    #[serde(default)]
    minutes: Option<f64>,
    #[serde(default)]
    eval: EvalConfig,
    #[serde(default)]
    optimizer: OptimizerConfig,
    seed: u64,
    #[serde(default = "default_threads")]
    threads: usize,
    #[serde(default = "default_checkpoint_every")]
    checkpoint_every: u64,
    /// Episodes played at once in training rollouts.
    #[serde(default = "default_live")]
    live_episodes: usize,
    #[serde(default)]
    out: Option<String>,
}

/// A loaded, checked training file.
#[derive(Clone)]
pub struct TrainConfig {
    pub name: String,
    /// The file's text, copied into the run folder and its checkpoints.
    pub text: String,
    pub env: Arc<dyn EnvKind>,
    pub policy: PolicySpec,
    pub init: Init,
    pub algorithm: Algorithm,
    pub dataset: Option<DatasetSource>,
    pub updates: u64,
    /// Stop after the update that passes this many minutes (not reproducible: the number of
    /// updates then depends on the machine).
    pub minutes: Option<f64>,
    pub eval: EvalConfig,
    pub optimizer: OptimizerConfig,
    pub seed: u64,
    pub threads: usize,
    pub checkpoint_every: u64,
    pub live_episodes: usize,
    pub out: PathBuf,
}

/// Loads and checks a training file.
///
/// # Errors
/// [`LearnError::File`] naming the file, line and column of the first problem.
pub fn load(path: &Path, registry: &Registry) -> Result<TrainConfig, LearnError> {
    let text = std::fs::read_to_string(path).map_err(|error| LearnError::io(path, error))?;
    let name = path.file_stem().map_or_else(|| "train".to_owned(), |stem| stem.to_string_lossy().into_owned());
    parse(&text, &name, &path.display().to_string(), registry)
}

/// Parses a training file's text; `shown` is the path errors name.
///
/// # Errors
/// [`LearnError::File`] naming `shown`, line and column of the first problem.
pub fn parse(text: &str, name: &str, shown: &str, registry: &Registry) -> Result<TrainConfig, LearnError> {
    let invalid = |line: usize, column: usize, message: String| LearnError::File {
        path: shown.to_owned(),
        line,
        column,
        message,
    };
    let at = |field: &str, message: String| {
        let (line, column) = line_column(text, text.find(field).unwrap_or(0));
        invalid(line, column, message)
    };
    let file: TrainFile<'_> = ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str(text)
        .map_err(|error| invalid(error.span.start.line, error.span.start.col, error.code.to_string()))?;
    let env = file.env.make(registry, text).map_err(|(line, column, message)| invalid(line, column, message))?;
    file.policy.validate().map_err(|message| at("policy", message))?;
    if file.threads == 0 || file.live_episodes == 0 || file.checkpoint_every == 0 {
        return Err(at("threads", "`threads`, `live_episodes` and `checkpoint_every` must be at least 1".into()));
    }
    if file.eval.every == 0 || file.eval.episodes == 0 || file.eval.batch_size == 0 {
        return Err(at("eval", "eval: `every`, `episodes` and `batch_size` must be at least 1".into()));
    }
    match &file.algorithm {
        Algorithm::Bc { batch_size } | Algorithm::FilteredBc { batch_size, .. } => {
            if *batch_size == 0 {
                return Err(at("batch_size", "`batch_size` must be at least 1".into()));
            }
            if file.dataset.is_none() {
                return Err(at("algorithm", "BC needs a `dataset`".into()));
            }
            if let Algorithm::FilteredBc { keep: Keep::TopFraction(fraction), .. } = &file.algorithm
                && !(*fraction > 0.0 && *fraction <= 1.0)
            {
                return Err(at("TopFraction", format!("TopFraction must be in (0, 1], not {fraction}")));
            }
        }
        Algorithm::Ppo { episodes, epochs, minibatch, .. } => {
            if *episodes == 0 || *epochs == 0 || *minibatch == 0 {
                return Err(at("Ppo", "PPO: `episodes`, `epochs` and `minibatch` must be at least 1".into()));
            }
        }
        Algorithm::Grpo { groups, group_size, epochs, minibatch, .. } => {
            if *groups == 0 || *group_size < 2 || *epochs == 0 || *minibatch == 0 {
                return Err(at(
                    "Grpo",
                    "GRPO: `groups`, `epochs` and `minibatch` must be at least 1, `group_size` at least 2".into(),
                ));
            }
        }
    }
    if let Some(minutes) = file.minutes
        && (minutes.is_nan() || minutes <= 0.0)
    {
        return Err(at("minutes", "`minutes` must be positive".into()));
    }
    Ok(TrainConfig {
        name: name.to_owned(),
        text: text.to_owned(),
        env,
        policy: file.policy,
        init: file.init,
        algorithm: file.algorithm,
        dataset: file.dataset,
        updates: file.updates,
        minutes: file.minutes,
        eval: file.eval,
        optimizer: file.optimizer,
        seed: file.seed,
        threads: file.threads,
        checkpoint_every: file.checkpoint_every,
        live_episodes: file.live_episodes,
        out: file.out.map_or_else(|| PathBuf::from("runs/train").join(name), PathBuf::from),
    })
}

/// The result of evaluating a policy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub episodes: u64,
    pub mean_return: f64,
    /// Standard error of the mean return.
    pub standard_error: f64,
    pub success_rate: f64,
    pub mean_turns: f64,
    pub normalized_score: Option<f64>,
}

/// Plays `episodes` episodes of seed `seed` with the policy through the ordinary runner
/// (what `scenarios <scenario> --agent policy:<checkpoint>` does), one thread.
///
/// # Errors
/// An agent failure.
pub fn evaluate_policy(
    kind: &Arc<dyn EnvKind>,
    policy: &Policy,
    episodes: u64,
    seed: u64,
    batch_size: usize,
) -> Result<Evaluation, LearnError> {
    let shared = Arc::new(policy.clone());
    let factory = move || Box::new(PolicyAgent::new(Arc::clone(&shared))) as Box<dyn sim_core::Agent>;
    let plan = RunPlan { seed, first_episode: 0, episodes, batch_size, threads: 1, ..Default::default() };
    let mut results = BTreeMap::new();
    run_episodes(kind, &plan, &factory, &mut |record| {
        results.insert(record.episode, (record.episode_return, record.success, record.turns));
        Ok(())
    })?;
    Ok(summarise(kind, results.values().copied()))
}

fn summarise(kind: &Arc<dyn EnvKind>, results: impl Iterator<Item = (f64, bool, u32)>) -> Evaluation {
    let (mut n, mut sum, mut squares, mut successes, mut turns) = (0u64, 0.0, 0.0, 0u64, 0u64);
    for (episode_return, success, episode_turns) in results {
        n += 1;
        sum += episode_return;
        squares += episode_return * episode_return;
        successes += u64::from(success);
        turns += u64::from(episode_turns);
    }
    let count = n.max(1) as f64;
    let mean = sum / count;
    let variance = if n > 1 { (squares - count * mean * mean).max(0.0) / (count - 1.0) } else { 0.0 };
    Evaluation {
        episodes: n,
        mean_return: mean,
        standard_error: (variance / count).sqrt(),
        success_rate: successes as f64 / count,
        mean_turns: turns as f64 / count,
        normalized_score: kind.spec().score_anchors.map(|anchors| anchors.normalize(mean)),
    }
}

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricsLine {
    pub update: u64,
    pub algorithm: String,
    pub loss: f64,
    pub policy_loss: f64,
    pub value_loss: f64,
    pub kl: f64,
    pub entropy: f64,
    pub clip_fraction: f64,
    pub grad_norm: f64,
    /// Turns and action tokens trained on in this update, and the distinct sequences run for
    /// them (identical turns are run once per pass).
    pub samples: u64,
    pub tokens: u64,
    pub sequences: u64,
    /// Mean return and success of this update's rollouts (online algorithms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_return: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_success: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval: Option<Evaluation>,
}

/// One line of `timing.jsonl`.
#[derive(Debug, Clone, Serialize)]
pub struct TimingLine {
    pub update: u64,
    pub wall_seconds: f64,
    /// Of which playing the update's rollouts (online algorithms) and evaluating.
    pub rollout_seconds: f64,
    pub eval_seconds: f64,
    /// Action tokens trained on per second of the update's training (wall time less rollouts
    /// and evaluation).
    pub tokens_per_second: f64,
}

/// What `best/eval.json` records.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct BestEvaluation {
    update: u64,
    eval: Evaluation,
}

/// What `state.json` of a checkpoint records.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointState {
    update: u64,
    optimizer_steps: u64,
}

/// The end of a training run.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    pub updates: u64,
    pub first_eval: Option<Evaluation>,
    pub last_eval: Option<Evaluation>,
    /// The update whose evaluation scored best (its policy is in `best/`).
    pub best_update: Option<u64>,
    pub best_eval: Option<Evaluation>,
    pub out: String,
}

/// How a training run is driven (none of it changes what an update computes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrainOptions {
    /// Continue from `out/checkpoint` when it exists (written by the same training file).
    pub resume: bool,
    /// Draw a progress bar on standard error.
    pub show_progress: bool,
    /// Stop after this update as if interrupted there (after its checkpoint when one is due):
    /// runs in pieces, and the resume tests.
    pub stop_after: Option<u64>,
}

/// Runs a training file.
///
/// # Errors
/// I/O, checkpoint, model or env failures.
pub fn train(config: &TrainConfig, options: TrainOptions) -> Result<TrainReport, LearnError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .map_err(|error| LearnError::Config(format!("thread pool: {error}")))?;
    pool.install(|| Trainer::start(config, options.resume)?.run(options))
}

struct Trainer<'a> {
    config: &'a TrainConfig,
    policy: Policy,
    reference: Option<Model>,
    optimizer: AdamW,
    dataset: Vec<Sample>,
    first_update: u64,
    metrics: std::fs::File,
    timing: std::fs::File,
    history: Vec<MetricsLine>,
    /// Seconds the current update spent in rollouts and in evaluation.
    rollout_seconds: f64,
    eval_seconds: f64,
}

fn checkpoint_folder(config: &TrainConfig) -> PathBuf {
    config.out.join("checkpoint")
}

fn initial_model(config: &TrainConfig, device: &Device) -> Result<Model, LearnError> {
    match &config.init {
        Init::Scratch => Model::new(config.policy.model, config.seed, device),
        Init::Checkpoint(folder) => {
            let policy = Policy::load(Path::new(folder), device)?;
            if policy.spec.model != config.policy.model {
                return Err(LearnError::Checkpoint(format!(
                    "{folder}: its model config {:?} differs from the training file's {:?}",
                    policy.spec.model, config.policy.model
                )));
            }
            Ok(policy.model)
        }
    }
}

fn kl_coefficient(algorithm: &Algorithm) -> f64 {
    match algorithm {
        Algorithm::Ppo { objective, .. } | Algorithm::Grpo { objective, .. } => objective.kl_coefficient,
        _ => 0.0,
    }
}

fn read_lines<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, LearnError> {
    let text = std::fs::read_to_string(path).map_err(|error| LearnError::io(path, error))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(index, line)| {
            serde_json::from_str(line)
                .map_err(|error| LearnError::Checkpoint(format!("{}:{}: {error}", path.display(), index + 1)))
        })
        .collect()
}

/// Keeps the lines of a JSON-lines file whose `update` is at most `last` (a resumed run
/// rewrites what came after its checkpoint).
fn truncate_after(path: &Path, last: u64) -> Result<(), LearnError> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(()) };
    let kept: String = text
        .lines()
        .filter(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|value| value["update"].as_u64())
                .is_some_and(|update| update <= last)
        })
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(path, kept).map_err(|error| LearnError::io(path, error))
}

/// Removes a folder and what it holds; nothing when it does not exist.
fn remove_folder(path: &Path) -> Result<(), LearnError> {
    if path.exists() {
        std::fs::remove_dir_all(path).map_err(|error| LearnError::io(path, error))?;
    }
    Ok(())
}

/// Copies the files of `from` (no subfolders) into a new folder `to`; nothing when `from` does
/// not exist.
fn copy_folder(from: &Path, to: &Path) -> Result<(), LearnError> {
    let Ok(entries) = std::fs::read_dir(from) else { return Ok(()) };
    std::fs::create_dir_all(to).map_err(|error| LearnError::io(to, error))?;
    for entry in entries {
        let entry = entry.map_err(|error| LearnError::io(from, error))?;
        let target = to.join(entry.file_name());
        std::fs::copy(entry.path(), &target).map_err(|error| LearnError::io(&target, error))?;
    }
    Ok(())
}

fn append(path: &Path) -> Result<std::fs::File, LearnError> {
    std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|error| LearnError::io(path, error))
}

/// The dataset records of a BC run.
fn dataset_records(config: &TrainConfig, source: &DatasetSource) -> Result<Vec<EpisodeRecord>, LearnError> {
    match source {
        DatasetSource::File(path) => read_lines(Path::new(path)),
        DatasetSource::Generate { episodes, seed } => {
            let id = config.env.spec().id.clone();
            let factory =
                agents::built_in("dataset", &id).map_err(|error| LearnError::Config(format!("dataset: {error}")))?;
            let plan = RunPlan {
                seed: *seed,
                first_episode: 0,
                episodes: *episodes,
                batch_size: 64,
                threads: 1,
                ..Default::default()
            };
            let mut records = BTreeMap::new();
            run_episodes(&config.env, &plan, factory.as_ref(), &mut |record| {
                records.insert(record.episode, record);
                Ok(())
            })?;
            Ok(records.into_values().collect())
        }
    }
}

fn filter_records(records: Vec<EpisodeRecord>, keep: Keep) -> Vec<EpisodeRecord> {
    match keep {
        Keep::Successes => records.into_iter().filter(|record| record.success).collect(),
        Keep::TopFraction(fraction) => {
            let count = ((records.len() as f64 * fraction).ceil() as usize).clamp(1, records.len().max(1));
            let mut order: Vec<usize> = (0..records.len()).collect();
            order.sort_by(|a, b| records[*b].episode_return.total_cmp(&records[*a].episode_return).then(a.cmp(b)));
            let mut chosen: Vec<usize> = order.into_iter().take(count).collect();
            chosen.sort_unstable();
            let mut records: Vec<Option<EpisodeRecord>> = records.into_iter().map(Some).collect();
            chosen.into_iter().filter_map(|index| records[index].take()).collect()
        }
    }
}

impl<'a> Trainer<'a> {
    fn start(config: &'a TrainConfig, resume: bool) -> Result<Self, LearnError> {
        let device = Device::Cpu;
        std::fs::create_dir_all(&config.out).map_err(|error| LearnError::io(&config.out, error))?;
        let folder = checkpoint_folder(config);
        let state_path = folder.join("state.json");
        let metrics_path = config.out.join("metrics.jsonl");
        let timing_path = config.out.join("timing.jsonl");
        let start_model = initial_model(config, &device)?;
        let reference = (kl_coefficient(&config.algorithm) > 0.0).then(|| start_model.frozen_copy()).transpose()?;
        let mut optimizer = AdamW::new(config.optimizer);
        let (model, first_update, history) = if resume && state_path.is_file() {
            let written = std::fs::read_to_string(folder.join("train.ron")).unwrap_or_default();
            if written != config.text {
                return Err(LearnError::Checkpoint(format!(
                    "{}: written by another training file; resume only with the file that started the run",
                    folder.display()
                )));
            }
            let state: CheckpointState = serde_json::from_str(
                &std::fs::read_to_string(&state_path).map_err(|error| LearnError::io(&state_path, error))?,
            )
            .map_err(|error| LearnError::Checkpoint(format!("{}: {error}", state_path.display())))?;
            let model = Policy::load(&folder, &device)?.model;
            let mut moments = load_tensors(&folder.join("optimizer.safetensors"), &device)?;
            for name in model.parameters().keys() {
                if let (Some(first), Some(second)) =
                    (moments.remove(&format!("{name}.first")), moments.remove(&format!("{name}.second")))
                {
                    optimizer.moments.insert(name.clone(), (first, second));
                }
            }
            optimizer.steps = state.optimizer_steps;
            let best = config.out.join("best");
            remove_folder(&best)?;
            copy_folder(&folder.join("best"), &best)?;
            truncate_after(&metrics_path, state.update)?;
            truncate_after(&timing_path, state.update)?;
            let history = read_lines(&metrics_path).unwrap_or_default();
            (model, state.update + 1, history)
        } else {
            for path in [&metrics_path, &timing_path] {
                std::fs::write(path, "").map_err(|error| LearnError::io(path, error))?;
            }
            remove_folder(&config.out.join("best"))?;
            (start_model, 0, Vec::new())
        };
        let train_path = config.out.join("train.ron");
        std::fs::write(&train_path, &config.text).map_err(|error| LearnError::io(&train_path, error))?;
        let dataset = match (&config.algorithm, &config.dataset) {
            (Algorithm::Bc { .. }, Some(source)) => samples_from_text(
                &dataset_records(config, source)?,
                &config.policy.context,
                config.policy.max_action_tokens,
            ),
            (Algorithm::FilteredBc { keep, .. }, Some(source)) => samples_from_text(
                &filter_records(dataset_records(config, source)?, *keep),
                &config.policy.context,
                config.policy.max_action_tokens,
            ),
            _ => Vec::new(),
        };
        if matches!(config.algorithm, Algorithm::Bc { .. } | Algorithm::FilteredBc { .. }) && dataset.is_empty() {
            return Err(LearnError::Config("the dataset has no turn to learn from (after filtering)".into()));
        }
        Ok(Self {
            config,
            policy: Policy::new(model, config.policy.clone()),
            reference,
            optimizer,
            dataset,
            first_update,
            metrics: append(&metrics_path)?,
            timing: append(&timing_path)?,
            history,
            rollout_seconds: 0.0,
            eval_seconds: 0.0,
        })
    }

    fn run(mut self, options: TrainOptions) -> Result<TrainReport, LearnError> {
        let config = self.config;
        let progress = if options.show_progress {
            indicatif::ProgressBar::new(config.updates + 1)
        } else {
            indicatif::ProgressBar::hidden()
        };
        progress.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} update {pos}/{len} [{elapsed_precise}] {wide_bar} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        progress.set_position(self.first_update);
        let started = Instant::now();
        // A resumed run that had already finished trains nothing and reports its last update.
        let mut last = self.first_update.saturating_sub(1);
        for update in self.first_update..=config.updates {
            let clock = Instant::now();
            (self.rollout_seconds, self.eval_seconds) = (0.0, 0.0);
            let mut line = if update == 0 {
                MetricsLine::empty(0, config.algorithm.name())
            } else {
                let line = self.update(update)?;
                self.policy.forget();
                line
            };
            let out_of_time = config.minutes.is_some_and(|minutes| started.elapsed().as_secs_f64() >= minutes * 60.0);
            let final_update = update == config.updates || out_of_time;
            if update % config.eval.every == 0 || final_update {
                let eval_clock = Instant::now();
                let evaluation = evaluate_policy(
                    &config.env,
                    &self.policy,
                    config.eval.episodes,
                    config.eval.seed,
                    config.eval.batch_size,
                )?;
                progress.set_message(format!(
                    "eval return {:.2}{}",
                    evaluation.mean_return,
                    evaluation.normalized_score.map(|score| format!(" score {score:.1}")).unwrap_or_default()
                ));
                line.eval = Some(evaluation);
                self.keep_if_best(update, &evaluation)?;
                self.eval_seconds = eval_clock.elapsed().as_secs_f64();
            }
            let seconds = clock.elapsed().as_secs_f64();
            self.write_line(&line, seconds)?;
            self.history.push(line);
            if update % config.checkpoint_every == 0 || final_update {
                self.checkpoint(update)?;
            }
            progress.inc(1);
            last = update;
            if out_of_time || options.stop_after == Some(update) {
                break;
            }
        }
        progress.finish_and_clear();
        self.write_curve()?;
        let evals: Vec<Evaluation> = self.history.iter().filter_map(|line| line.eval).collect();
        let best: Option<BestEvaluation> = std::fs::read_to_string(config.out.join("best").join("eval.json"))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok());
        Ok(TrainReport {
            updates: last,
            first_eval: evals.first().copied(),
            last_eval: evals.last().copied(),
            best_update: best.map(|best| best.update),
            best_eval: best.map(|best| best.eval),
            out: config.out.display().to_string(),
        })
    }

    fn write_line(&mut self, line: &MetricsLine, seconds: f64) -> Result<(), LearnError> {
        let metrics_path = self.config.out.join("metrics.jsonl");
        let text = serde_json::to_string(line).map_err(|error| LearnError::Checkpoint(error.to_string()))? + "\n";
        self.metrics.write_all(text.as_bytes()).map_err(|error| LearnError::io(&metrics_path, error))?;
        let training = (seconds - self.rollout_seconds - self.eval_seconds).max(1e-9);
        let timing = TimingLine {
            update: line.update,
            wall_seconds: seconds,
            rollout_seconds: self.rollout_seconds,
            eval_seconds: self.eval_seconds,
            tokens_per_second: line.tokens as f64 / training,
        };
        let text = serde_json::to_string(&timing).map_err(|error| LearnError::Checkpoint(error.to_string()))? + "\n";
        let timing_path = self.config.out.join("timing.jsonl");
        self.timing.write_all(text.as_bytes()).map_err(|error| LearnError::io(&timing_path, error))
    }

    /// Saves the policy into `best/` when `evaluation` beats the best so far (by normalised
    /// score, or mean return for an env without anchors; the earlier update wins ties).
    fn keep_if_best(&self, update: u64, evaluation: &Evaluation) -> Result<(), LearnError> {
        let folder = self.config.out.join("best");
        let key = |evaluation: &Evaluation| evaluation.normalized_score.unwrap_or(evaluation.mean_return);
        let best: Option<BestEvaluation> =
            std::fs::read_to_string(folder.join("eval.json")).ok().and_then(|text| serde_json::from_str(&text).ok());
        if best.is_some_and(|best: BestEvaluation| best.update != update && key(&best.eval) >= key(evaluation)) {
            return Ok(());
        }
        let staging = self.config.out.join("best.new");
        remove_folder(&staging)?;
        self.policy.save(&staging)?;
        let record = BestEvaluation { update, eval: *evaluation };
        let json = serde_json::to_string_pretty(&record).map_err(|error| LearnError::Checkpoint(error.to_string()))?;
        let eval_path = staging.join("eval.json");
        std::fs::write(&eval_path, json + "\n").map_err(|error| LearnError::io(&eval_path, error))?;
        remove_folder(&folder)?;
        std::fs::rename(&staging, &folder).map_err(|error| LearnError::io(&folder, error))
    }

    /// Writes the checkpoint into a fresh folder, then swaps it in, so a crash leaves either
    /// the previous checkpoint or the new one whole.
    fn checkpoint(&self, update: u64) -> Result<(), LearnError> {
        let folder = checkpoint_folder(self.config);
        let staging = self.config.out.join("checkpoint.new");
        remove_folder(&staging)?;
        self.policy.save(&staging)?;
        let moments = self.optimizer.moments.iter().flat_map(|(name, (first, second))| {
            [(format!("{name}.first"), first.clone()), (format!("{name}.second"), second.clone())]
        });
        save_tensors(moments, &staging.join("optimizer.safetensors"))?;
        let state = CheckpointState { update, optimizer_steps: self.optimizer.steps };
        let state_path = staging.join("state.json");
        let json = serde_json::to_string_pretty(&state).map_err(|error| LearnError::Checkpoint(error.to_string()))?;
        std::fs::write(&state_path, json + "\n").map_err(|error| LearnError::io(&state_path, error))?;
        let train_path = staging.join("train.ron");
        std::fs::write(&train_path, &self.config.text).map_err(|error| LearnError::io(&train_path, error))?;
        // The best policy so far travels with the checkpoint, so a resume restores it too.
        copy_folder(&self.config.out.join("best"), &staging.join("best"))?;
        let previous = self.config.out.join("checkpoint.old");
        remove_folder(&previous)?;
        if folder.exists() {
            std::fs::rename(&folder, &previous).map_err(|error| LearnError::io(&folder, error))?;
        }
        std::fs::rename(&staging, &folder).map_err(|error| LearnError::io(&folder, error))?;
        remove_folder(&previous)
    }

    fn write_curve(&self) -> Result<(), LearnError> {
        let evals: Vec<(f64, &Evaluation)> =
            self.history.iter().filter_map(|line| line.eval.as_ref().map(|e| (line.update as f64, e))).collect();
        let scored = evals.iter().all(|(_, e)| e.normalized_score.is_some());
        let eval_points =
            evals.iter().map(|(x, e)| (*x, if scored { e.normalized_score.unwrap_or(0.0) } else { e.mean_return }));
        let mut series = vec![Series { name: "evaluation", colour: "#1f77b4", points: eval_points.collect() }];
        let rollout: Vec<(f64, f64)> = self
            .history
            .iter()
            .filter_map(|line| line.rollout_return.map(|r| (line.update as f64, r)))
            .map(|(x, r)| {
                let anchors = self.config.env.spec().score_anchors.filter(|_| scored);
                (x, anchors.map_or(r, |anchors| anchors.normalize(r)))
            })
            .collect();
        if !rollout.is_empty() {
            series.push(Series { name: "rollouts", colour: "#ff7f0e", points: rollout });
        }
        let title = format!("{} on {} ({})", self.config.name, self.config.env.spec().id, self.config.algorithm.name());
        let chart = svg(&title, "update", if scored { "normalised score" } else { "mean return" }, &series);
        let path = self.config.out.join("curve.svg");
        std::fs::write(&path, chart).map_err(|error| LearnError::io(&path, error))
    }

    fn update(&mut self, update: u64) -> Result<MetricsLine, LearnError> {
        match self.config.algorithm.clone() {
            Algorithm::Bc { batch_size } | Algorithm::FilteredBc { batch_size, .. } => {
                self.behaviour_cloning_update(update, batch_size)
            }
            Algorithm::Ppo { episodes, epochs, minibatch, discount, lambda, reward_scale, objective } => {
                let plan: Vec<Planned> =
                    (0..episodes as u64).map(|i| self.planned(update * episodes as u64 + i, 0)).collect();
                let records = self.play(&plan)?;
                let mut samples = samples_from_rollouts(&records);
                let (_, values) = score(&self.policy.model, &samples, 256)?;
                generalised_advantages(&mut samples, &values, discount, lambda, reward_scale);
                normalise_advantages(&mut samples);
                self.policy_gradient_update(update, &records, samples, epochs, minibatch, &objective, true)
            }
            Algorithm::Grpo { groups, group_size, epochs, minibatch, objective } => {
                let plan: Vec<Planned> = (0..groups as u64)
                    .flat_map(|g| (1..=group_size as u64).map(move |k| (update * groups as u64 + g, k)))
                    .map(|(index, key)| self.planned(index, key))
                    .collect();
                let records = self.play(&plan)?;
                let mut samples = samples_from_rollouts(&records);
                let returns: Vec<f64> = records.iter().map(|record| record.episode_return).collect();
                group_advantages(&mut samples, &returns, group_size);
                self.policy_gradient_update(update, &records, samples, epochs, minibatch, &objective, false)
            }
        }
    }

    fn play(&mut self, plan: &[Planned]) -> Result<Vec<EpisodeRecord>, LearnError> {
        let clock = Instant::now();
        let records = play(&self.config.env, &self.policy, plan, self.config.live_episodes)?;
        self.rollout_seconds = clock.elapsed().as_secs_f64();
        Ok(records)
    }

    /// Training episode `index`: the training seed's episode, never one of the evaluation's
    /// (whose scenario seed differs).
    fn planned(&self, index: u64, sampling_key: u64) -> Planned {
        Planned { episode: Episode { index, seed: episode_seed(self.config.seed, index) }, sampling_key }
    }

    fn behaviour_cloning_update(&mut self, update: u64, batch_size: usize) -> Result<MetricsLine, LearnError> {
        let mut rng = stream_indexed(self.config.seed, "bc-minibatch", update);
        let chosen: Vec<&Sample> =
            (0..batch_size).map(|_| &self.dataset[rng.random_range(0..self.dataset.len())]).collect();
        let batch = Batch::new(&chosen, &self.policy.model)?;
        let (loss, terms) = behaviour_cloning_loss(&self.policy.model, &batch)?;
        let grad_norm = self.optimizer.step(&self.policy.model, &loss.backward()?)?;
        let mut line = MetricsLine::empty(update, self.config.algorithm.name());
        line.set_terms(&terms, 1);
        line.grad_norm = grad_norm;
        line.samples = chosen.len() as u64;
        line.tokens = batch.tokens as u64;
        line.sequences = batch.sequences as u64;
        Ok(line)
    }

    #[allow(clippy::too_many_arguments)]
    fn policy_gradient_update(
        &mut self,
        update: u64,
        records: &[EpisodeRecord],
        samples: Vec<Sample>,
        epochs: usize,
        minibatch: usize,
        objective: &ClippedObjective,
        with_value: bool,
    ) -> Result<MetricsLine, LearnError> {
        let reference = match (&self.reference, objective.kl_coefficient > 0.0) {
            (Some(reference), true) => Some(score(reference, &samples, 256)?.0),
            _ => None,
        };
        let mut line = MetricsLine::empty(update, self.config.algorithm.name());
        let rollouts = summarise(&self.config.env, records.iter().map(|r| (r.episode_return, r.success, r.turns)));
        line.rollout_return = Some(rollouts.mean_return);
        line.rollout_success = Some(rollouts.success_rate);
        let mut order: Vec<usize> = (0..samples.len()).collect();
        let mut rng = stream_indexed(self.config.seed, "minibatch", update);
        let (mut sums, mut steps, mut grad_norms) = (LossTerms::default(), 0usize, 0.0);
        for _ in 0..epochs {
            order.shuffle(&mut rng);
            for part in order.chunks(minibatch) {
                let chosen: Vec<&Sample> = part.iter().map(|index| &samples[*index]).collect();
                let reference_logprobs: Option<Vec<f32>> =
                    reference.as_ref().map(|all| part.iter().flat_map(|index| all[*index].iter().copied()).collect());
                let batch = Batch::new(&chosen, &self.policy.model)?;
                let (loss, terms) = clipped_loss(
                    &self.policy.model,
                    &batch,
                    &chosen,
                    reference_logprobs.as_deref(),
                    objective,
                    with_value,
                )?;
                grad_norms += self.optimizer.step(&self.policy.model, &loss.backward()?)?;
                sums.add(&terms);
                steps += 1;
                line.tokens += batch.tokens as u64;
                line.sequences += batch.sequences as u64;
            }
        }
        line.set_terms(&sums, steps);
        line.grad_norm = grad_norms / steps.max(1) as f64;
        line.samples = samples.len() as u64;
        Ok(line)
    }
}

impl LossTerms {
    fn add(&mut self, other: &LossTerms) {
        self.loss += other.loss;
        self.policy += other.policy;
        self.value += other.value;
        self.kl += other.kl;
        self.entropy += other.entropy;
        self.clip_fraction += other.clip_fraction;
    }
}

impl MetricsLine {
    fn empty(update: u64, algorithm: &str) -> Self {
        Self {
            update,
            algorithm: algorithm.to_owned(),
            loss: 0.0,
            policy_loss: 0.0,
            value_loss: 0.0,
            kl: 0.0,
            entropy: 0.0,
            clip_fraction: 0.0,
            grad_norm: 0.0,
            samples: 0,
            tokens: 0,
            sequences: 0,
            rollout_return: None,
            rollout_success: None,
            eval: None,
        }
    }

    fn set_terms(&mut self, sums: &LossTerms, steps: usize) {
        let n = steps.max(1) as f64;
        self.loss = sums.loss / n;
        self.policy_loss = sums.policy / n;
        self.value_loss = sums.value / n;
        self.kl = sums.kl / n;
        self.entropy = sums.entropy / n;
        self.clip_fraction = sums.clip_fraction / n;
    }
}
