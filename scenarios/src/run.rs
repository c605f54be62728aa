//! Runs a scenario: plays its episodes, writes `trajectories.jsonl` and `summary.json`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use agents::AgentFactory;
use agents::stdio::StdioAgent;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use sim_core::{EpisodeStats, RunPlan, TrajectoryWriter, run_episodes};

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
    pub env_steps: u64,
    pub wall_seconds: f64,
    pub env_steps_per_second: f64,
}

fn agent_factory(scenario: &Scenario) -> anyhow::Result<AgentFactory> {
    if scenario.agent == "stdio" {
        // One external process answers for every episode, so stdio runs use one worker.
        let agent =
            std::sync::Mutex::new(Some(StdioAgent::new(std::io::BufReader::new(std::io::stdin()), std::io::stdout())));
        return Ok(Box::new(move || {
            let agent = agent.lock().expect("stdio agent lock").take().expect("the stdio agent is used by one worker");
            Box::new(agent)
        }));
    }
    if scenario.agent == agents_llm::AGENT_NAME {
        let factory = agents_llm::factory(scenario.model.as_deref(), scenario.llm.clone(), &scenario.env.spec().id)?;
        return Ok(factory);
    }
    Ok(agents::built_in(&scenario.agent, &scenario.env.spec().id)?)
}

/// Plays the scenario. Returns the summary, or the error that stopped the run (what was
/// written until then stays valid).
///
/// # Errors
/// Output folder problems, an unknown agent, an agent failure.
pub fn run(mut scenario: Scenario) -> anyhow::Result<Summary> {
    if scenario.agent == "stdio" {
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
    };
    let mut stats = EpisodeStats::default();
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
            stats.episodes,
            trajectories_path.display()
        )
    })?;
    let spec = scenario.env.spec();
    let summary = Summary {
        scenario: scenario.name.clone(),
        env: spec.id.clone(),
        env_config: scenario.env.config_ron(),
        agent: scenario.agent.clone(),
        episodes: stats.episodes,
        seed: scenario.seed,
        batch_size: scenario.batch_size,
        threads: scenario.threads,
        success_rate: stats.success_rate(),
        mean_return: stats.mean_return(),
        mean_turns: stats.mean_turns(),
        normalized_score: spec.score_anchors.map(|anchors| anchors.normalize(stats.mean_return())),
        invalid_actions: stats.invalid_actions,
        invalid_action_rate: stats.invalid_action_rate(),
        endings: stats.ending_rates(),
        env_steps,
        wall_seconds,
        env_steps_per_second: env_steps as f64 / wall_seconds.max(1e-9),
    };
    let summary_path = scenario.out.join("summary.json");
    let json = serde_json::to_string_pretty(&summary)?;
    std::fs::write(&summary_path, json + "\n").with_context(|| format!("writing {}", summary_path.display()))?;
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
    out
}
