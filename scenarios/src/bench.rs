//! `scenarios bench <env-id>`: env steps per second with the env's cheap scripted agent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sim_core::{Env, EnvKind, GymEnv, RunPlan, run_episodes};

/// One JSON line of `bench` output.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub env: String,
    pub agent: &'static str,
    /// One episode at a time through the single-env `Env` API (a world holding one episode).
    pub single_env_steps_per_sec: f64,
    /// One thread, one world stepping `batch_size` episodes per schedule run.
    pub single_thread_steps_per_sec: f64,
    /// `threads` worlds on as many threads, `batch_size` episodes each.
    pub batched_steps_per_sec: f64,
    pub batch_size: usize,
    pub threads: usize,
}

const BATCH_SIZE: usize = 256;

fn steps_per_second(kind: &Arc<dyn EnvKind>, threads: usize, budget: Duration) -> anyhow::Result<f64> {
    let factory = agents::built_in("scripted", &kind.spec().id)?;
    let mut episodes = 2 * BATCH_SIZE as u64 * threads as u64;
    loop {
        let plan = RunPlan { seed: 1, first_episode: 0, episodes, batch_size: BATCH_SIZE, threads };
        let started = Instant::now();
        let steps = run_episodes(kind, &plan, factory.as_ref(), &mut |_| Ok(()))?;
        let elapsed = started.elapsed();
        if elapsed >= budget / 4 || episodes >= 1 << 26 {
            return Ok(steps as f64 / elapsed.as_secs_f64());
        }
        episodes *= 4;
    }
}

fn single_env_steps_per_second(kind: &Arc<dyn EnvKind>, budget: Duration) -> anyhow::Result<f64> {
    let factory = agents::built_in("scripted", &kind.spec().id)?;
    let mut agent = factory();
    let mut env = GymEnv::new(kind.clone());
    let _ = env.reset(Some(1));
    let mut steps = 0u64;
    let started = Instant::now();
    let mut episode = sim_core::Episode { index: 0, seed: 0 };
    while started.elapsed() < budget / 4 {
        for _ in 0..4096 {
            let action = {
                let transcript = env.transcript().expect("reset was called");
                let view = sim_core::AgentView {
                    spec: kind.spec(),
                    episode,
                    turn: transcript.actions().count() as u32,
                    transcript,
                };
                agent.act(&[view]).map_err(|e| anyhow::anyhow!(e))?.pop().unwrap_or_default()
            };
            let step = env.step(action);
            steps += 1;
            if step.done() {
                let reset = env.reset(None);
                episode.index = reset.info.episode;
            }
        }
    }
    Ok(steps as f64 / started.elapsed().as_secs_f64())
}

/// Measures the three figures, about `seconds` in all.
///
/// # Errors
/// When the env has no scripted agent.
pub fn bench(kind: &Arc<dyn EnvKind>, seconds: f64) -> anyhow::Result<BenchReport> {
    let budget = Duration::from_secs_f64(seconds.max(0.2) / 3.0 * 4.0);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    Ok(BenchReport {
        env: kind.spec().id.clone(),
        agent: "scripted",
        single_env_steps_per_sec: single_env_steps_per_second(kind, budget)?,
        single_thread_steps_per_sec: steps_per_second(kind, 1, budget)?,
        batched_steps_per_sec: steps_per_second(kind, threads, budget)?,
        batch_size: BATCH_SIZE,
        threads,
    })
}
