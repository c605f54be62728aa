//! Runs a scenario: plays its episodes, writes `trajectories.jsonl` and `summary.json`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use agents::AgentFactory;
use agents::stdio::{StdioAgent, TranscriptMode};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use sim_core::{EpisodeRecord, EpisodeStats, InEpisodeOrder, RunPlan, TrajectoryWriter, run_episodes};

use crate::scenario::Scenario;

/// The `summary.json` of a run. Everything but `wall_seconds` and `env_steps_per_second` is
/// reproducible from the scenario and seed.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub env: String,
    /// The env config the run used, as RON: with `env`, `seed` and the actions in
    /// `trajectories.jsonl`, everything a replay needs.
    pub env_config: String,
    pub agent: String,
    pub episodes: u64,
    pub seed: u64,
    pub batch_size: usize,
    pub threads: usize,
    /// The maximum action size in bytes: a replay needs it (docs/scenarios.md).
    pub max_action_bytes: usize,
    pub success_rate: f64,
    pub mean_return: f64,
    pub mean_turns: f64,
    pub normalized_score: Option<f64>,
    pub invalid_actions: u64,
    /// Invalid actions per agent action.
    pub invalid_action_rate: f64,
    /// Share of episodes per ending (the env's labels, e.g. `win`, `draw`, `loss`, plus
    /// `truncated`), in name order.
    pub endings: std::collections::BTreeMap<String, f64>,
    /// The env's paper metrics (its spec's `metrics`), by name: mean (or pooled ratio),
    /// standard error, count of episodes that recorded it, definition.
    pub metrics: std::collections::BTreeMap<String, sim_core::MetricSummary>,
    pub env_steps: u64,
    pub wall_seconds: f64,
    pub env_steps_per_second: f64,
}

/// The transcript mode of the stdio agents: `stdio` (whole transcripts) and `stdio:delta` (only
/// the entries added since the episode's previous request); `None` for other agents.
pub fn stdio_mode(agent: &str) -> Option<TranscriptMode> {
    match agent {
        "stdio" => Some(TranscriptMode::Full),
        "stdio:delta" => Some(TranscriptMode::Delta),
        _ => None,
    }
}

fn agent_factory(scenario: &Scenario) -> anyhow::Result<AgentFactory> {
    if let Some(mode) = stdio_mode(&scenario.agent) {
        // One external process answers for every episode, so stdio runs use one worker.
        let agent = StdioAgent::new(std::io::BufReader::new(std::io::stdin()), std::io::stdout())
            .with_max_action_bytes(scenario.max_action_bytes)
            .with_transcript_mode(mode);
        let agent = std::sync::Mutex::new(Some(agent));
        return Ok(Box::new(move || {
            let agent = agent.lock().expect("stdio agent lock").take().expect("the stdio agent is used by one worker");
            Box::new(agent)
        }));
    }
    if scenario.agent == agents_llm::AGENT_NAME {
        let factory = agents_llm::factory(scenario.model.as_deref(), scenario.llm.clone(), scenario.env.llm_lead())?;
        return Ok(factory);
    }
    built_in_agent(scenario)
}

/// The agent factory of every agent but `stdio` and `llm`: a trained checkpoint
/// (`policy:<folder>`, docs/learning.md) or a built-in agent of the env.
///
/// # Errors
/// A checkpoint that cannot be loaded, or [`agents::UnknownAgent`].
pub fn built_in_agent(scenario: &Scenario) -> anyhow::Result<AgentFactory> {
    if let Some(folder) = scenario.agent.strip_prefix(learn::AGENT_PREFIX) {
        return learn::policy::factory(Path::new(folder))
            .with_context(|| format!("loading the policy checkpoint `{folder}`"));
    }
    Ok(agents::built_in(&scenario.agent, &scenario.env.spec().id)?)
}

/// Episode statistics accumulated in episode-index order, whatever order the records arrive
/// in. Floating-point sums depend on their order, so this is what makes `summary.json` the
/// same bytes for every batch size, thread count or number of cluster workers.
#[derive(Debug, Clone, Default)]
pub struct OrderedStats {
    order: InEpisodeOrder<EpisodeRecord>,
    stats: EpisodeStats,
}

impl OrderedStats {
    /// `first` is the index of the run's first episode; `metrics` are the env's declared
    /// metrics.
    pub fn new(first: u64, metrics: &[sim_core::MetricSpec]) -> Self {
        Self { order: InEpisodeOrder::new(first), stats: EpisodeStats::for_metrics(metrics) }
    }

    /// Accepts a finished episode in any order; counts every record that is now in sequence.
    /// Only the fields the statistics use are kept while a record waits.
    pub fn add(&mut self, record: &EpisodeRecord) {
        for record in self.order.push(record.episode, record.clone_header()) {
            self.stats.add(&record);
        }
    }

    /// The statistics of the episodes counted so far (a contiguous prefix of the run).
    pub fn stats(&self) -> &EpisodeStats {
        &self.stats
    }

    /// The index of the next episode to count.
    pub fn next(&self) -> u64 {
        self.order.next()
    }
}

/// The copy of a record without its transcript, rewards and hidden state (its metrics stay).
trait CloneHeader {
    fn clone_header(&self) -> EpisodeRecord;
}

impl CloneHeader for EpisodeRecord {
    fn clone_header(&self) -> EpisodeRecord {
        EpisodeRecord {
            schema: self.schema.clone(),
            env: self.env.clone(),
            episode: self.episode,
            seed: self.seed,
            turns: self.turns,
            episode_return: self.episode_return,
            success: self.success,
            terminated: self.terminated,
            truncated: self.truncated,
            ending: self.ending.clone(),
            invalid_actions: self.invalid_actions,
            rewards: Vec::new(),
            invalid_by_step: Vec::new(),
            transcript: sim_core::Transcript::default(),
            hidden: Vec::new(),
            metrics: self.metrics.clone(),
        }
    }
}

/// The summary of a finished run: `stats` over every episode, in index order.
pub fn summarize(scenario: &Scenario, stats: &EpisodeStats, env_steps: u64, wall_seconds: f64) -> Summary {
    let spec = scenario.env.spec();
    Summary {
        scenario: scenario.name.clone(),
        env: spec.id.clone(),
        env_config: scenario.env.config_ron(),
        agent: scenario.agent.clone(),
        episodes: stats.episodes,
        seed: scenario.seed,
        batch_size: scenario.batch_size,
        threads: scenario.threads,
        max_action_bytes: scenario.max_action_bytes,
        success_rate: stats.success_rate(),
        mean_return: stats.mean_return(),
        mean_turns: stats.mean_turns(),
        normalized_score: spec.score_anchors.map(|anchors| anchors.normalize(stats.mean_return())),
        invalid_actions: stats.invalid_actions,
        invalid_action_rate: stats.invalid_action_rate(),
        endings: stats.ending_rates(),
        metrics: stats.metric_summaries(&spec.metrics),
        env_steps,
        wall_seconds,
        env_steps_per_second: env_steps as f64 / wall_seconds.max(1e-9),
    }
}

/// Writes `summary.json` (pretty JSON and a newline) into `out`.
///
/// # Errors
/// I/O errors, naming the file.
pub fn write_summary(out: &Path, summary: &Summary) -> anyhow::Result<()> {
    let summary_path = out.join("summary.json");
    let json = serde_json::to_string_pretty(summary)?;
    std::fs::write(&summary_path, json + "\n").with_context(|| format!("writing {}", summary_path.display()))?;
    Ok(())
}

/// The lines of `trajectories.jsonl` for one contiguous shard of a scenario's episodes.
pub struct Shard {
    /// The JSON lines of episodes `first..first + episodes`, in order, exactly as the full run
    /// writes them.
    pub lines: Vec<u8>,
    /// Each episode's return, in order. JSON parsing of floats is best-effort, so the exact
    /// values travel beside the lines to keep the summary's sums exact.
    pub returns: Vec<f64>,
    pub env_steps: u64,
}

/// Plays episodes `first..first + episodes` of a scenario with its built-in agent, in worlds
/// of `scenario.batch_size` live episodes on `scenario.threads` threads. Each episode's seed
/// derives from (scenario seed, episode index), so the lines equal those of a full run.
///
/// # Errors
/// An unknown agent or an agent failure.
pub fn play_shard(scenario: &Scenario, first: u64, episodes: u64) -> anyhow::Result<Shard> {
    if stdio_mode(&scenario.agent).is_some() {
        anyhow::bail!("the stdio agent cannot play a shard: it answers on this process's standard input");
    }
    let factory = built_in_agent(scenario)?;
    let plan = RunPlan {
        seed: scenario.seed,
        first_episode: first,
        episodes,
        batch_size: scenario.batch_size,
        threads: scenario.threads,
        max_action_bytes: scenario.max_action_bytes,
    };
    let mut writer = TrajectoryWriter::new(Vec::new(), first);
    let mut returns = std::collections::BTreeMap::new();
    let env_steps = run_episodes(&scenario.env, &plan, factory.as_ref(), &mut |record| {
        returns.insert(record.episode, record.episode_return);
        writer.push(record)?;
        Ok(())
    })?;
    if writer.waiting() != 0 {
        anyhow::bail!("the shard ended with {} episodes unwritten", writer.waiting());
    }
    Ok(Shard { lines: writer.into_inner(), returns: returns.into_values().collect(), env_steps })
}

/// Writes the shards of a run, in episode order, into `trajectories.jsonl` and counts their
/// statistics: the gathering end of a run split over workers.
pub struct ShardWriter {
    out: PathBuf,
    file: BufWriter<File>,
    next: u64,
    stats: EpisodeStats,
    env_steps: u64,
}

impl ShardWriter {
    /// Creates `out/trajectories.jsonl`; the first shard must start at episode 0.
    ///
    /// # Errors
    /// The folder or the file cannot be created.
    pub fn create(out: &Path, metrics: &[sim_core::MetricSpec]) -> anyhow::Result<Self> {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        let path = out.join("trajectories.jsonl");
        let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self {
            out: out.to_path_buf(),
            file: BufWriter::new(file),
            next: 0,
            stats: EpisodeStats::for_metrics(metrics),
            env_steps: 0,
        })
    }

    /// Appends the shard that starts at the next episode.
    ///
    /// # Errors
    /// A line that is not a record, a shard out of order, returns that do not match the lines,
    /// an I/O error.
    pub fn push(&mut self, lines: &[u8], returns: &[f64], env_steps: u64) -> anyhow::Result<()> {
        let mut count = 0;
        for line in lines.split_inclusive(|&byte| byte == b'\n') {
            let mut record: EpisodeRecord = serde_json::from_slice(line).context("a shard line is not a record")?;
            anyhow::ensure!(
                record.episode == self.next,
                "shards out of order: expected episode {}, got {}",
                self.next,
                record.episode
            );
            let exact = *returns.get(count).context("a shard has fewer returns than lines")?;
            anyhow::ensure!(
                (exact - record.episode_return).abs() <= 1e-9 * exact.abs().max(1.0),
                "episode {}: the return beside the line ({exact}) differs from the line's",
                record.episode
            );
            record.episode_return = exact;
            self.stats.add(&record);
            self.file.write_all(line)?;
            self.next += 1;
            count += 1;
        }
        anyhow::ensure!(count == returns.len(), "a shard has {} lines and {} returns", count, returns.len());
        self.file.flush()?;
        self.env_steps += env_steps;
        Ok(())
    }

    /// Episodes written so far.
    pub fn episodes(&self) -> u64 {
        self.next
    }

    /// Writes `summary.json` for `scenario` and returns the summary.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(mut self, scenario: &Scenario, wall_seconds: f64) -> anyhow::Result<Summary> {
        self.file.flush()?;
        let summary = summarize(scenario, &self.stats, self.env_steps, wall_seconds);
        write_summary(&self.out, &summary)?;
        Ok(summary)
    }
}

/// Plays the scenario. Returns the summary, or the error that stopped the run (what was
/// written until then stays valid).
///
/// # Errors
/// Output folder problems, an unknown agent, an agent failure.
pub fn run(mut scenario: Scenario) -> anyhow::Result<Summary> {
    if stdio_mode(&scenario.agent).is_some() {
        scenario.threads = 1;
    }
    let factory = agent_factory(&scenario)?;
    std::fs::create_dir_all(&scenario.out).with_context(|| format!("creating {}", scenario.out.display()))?;
    let trajectories_path = scenario.out.join("trajectories.jsonl");
    let file = File::create(&trajectories_path).with_context(|| format!("creating {}", trajectories_path.display()))?;
    let mut writer = TrajectoryWriter::new(BufWriter::new(file), 0);
    let progress = ProgressBar::new(scenario.episodes).with_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} episodes [{elapsed_precise}] {wide_bar} {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let plan = RunPlan {
        seed: scenario.seed,
        first_episode: 0,
        episodes: scenario.episodes,
        batch_size: scenario.batch_size,
        threads: scenario.threads,
        max_action_bytes: scenario.max_action_bytes,
    };
    let mut stats = OrderedStats::new(0, &scenario.env.spec().metrics);
    let started = Instant::now();
    let result = run_episodes(&scenario.env, &plan, factory.as_ref(), &mut |record| {
        stats.add(&record);
        writer.push(record)?;
        progress.inc(1);
        Ok(())
    });
    let wall_seconds = started.elapsed().as_secs_f64();
    progress.finish_and_clear();
    writer.into_inner().flush()?;
    let env_steps = result.with_context(|| {
        format!(
            "the run stopped after {} finished episodes; {} holds every one written",
            stats.stats().episodes,
            trajectories_path.display()
        )
    })?;
    let summary = summarize(&scenario, stats.stats(), env_steps, wall_seconds);
    write_summary(&scenario.out, &summary)?;
    Ok(summary)
}

/// The table printed at the end of a run.
pub fn table(summary: &Summary) -> String {
    let score = summary.normalized_score.map_or_else(|| "n/a".to_owned(), |s| format!("{s:.1}"));
    let endings =
        summary.endings.iter().map(|(ending, rate)| format!("{ending} {rate:.3}")).collect::<Vec<_>>().join(", ");
    let rows = [
        ("scenario", summary.scenario.clone()),
        ("env", summary.env.clone()),
        ("agent", summary.agent.clone()),
        ("episodes", summary.episodes.to_string()),
        ("seed", summary.seed.to_string()),
        ("success rate", format!("{:.3}", summary.success_rate)),
        ("mean return", format!("{:.3}", summary.mean_return)),
        ("mean turns", format!("{:.2}", summary.mean_turns)),
        ("normalized score", score),
        ("invalid actions", format!("{} ({:.3} per action)", summary.invalid_actions, summary.invalid_action_rate)),
        ("endings", endings),
        ("env steps", summary.env_steps.to_string()),
        ("env steps/s", format!("{:.0}", summary.env_steps_per_second)),
    ];
    let mut out = String::new();
    for (name, value) in rows {
        out.push_str(&format!("{name:<18} {value}\n"));
    }
    if !summary.metrics.is_empty() {
        out.push_str("metrics (mean ± standard error, episodes; definitions in summary.json)\n");
        for (name, metric) in &summary.metrics {
            let error = metric.standard_error.map_or_else(String::new, |error| format!(" ± {error:.4}"));
            out.push_str(&format!("  {name:<28} {:.4}{error} ({})\n", metric.mean, metric.count));
        }
    }
    out
}
