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
    /// `threads` independent worlds on as many threads, `batch_size` episodes each (one env
    /// worker per core, as a trainer would run them).
    pub batched_steps_per_sec: f64,
    pub batch_size: usize,
    pub threads: usize,
}

const BATCH_SIZE: usize = 256;

/// Timed repetitions of each measurement; the median is reported (the shared machines this
/// runs on vary a lot from one second to the next).
const REPETITIONS: usize = 5;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn steps_per_second(kind: &Arc<dyn EnvKind>, threads: usize, budget: Duration) -> anyhow::Result<f64> {
    let factory = agents::built_in("scripted", &kind.spec().id)?;
    let mut episodes = 2 * BATCH_SIZE as u64;
    let mut samples = Vec::new();
    while samples.len() < REPETITIONS {
        let started = Instant::now();
        // One independent world per thread, each dropping its records where they are made.
        let steps = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads as u64)
                .map(|thread| {
                    let factory = &factory;
                    scope.spawn(move || {
                        let first_episode = thread * episodes;
                        let plan = RunPlan {
                            seed: 1,
                            first_episode,
                            episodes,
                            batch_size: BATCH_SIZE,
                            threads: 1,
                            ..Default::default()
                        };
                        run_episodes(kind, &plan, factory.as_ref(), &mut |_| Ok(()))
                    })
                })
                .collect();
            workers.into_iter().map(|worker| worker.join().expect("bench worker panicked")).sum::<Result<u64, _>>()
        })?;
        let elapsed = started.elapsed();
        if elapsed >= budget / REPETITIONS as u32 || episodes >= 1 << 26 {
            samples.push(steps as f64 / elapsed.as_secs_f64());
        } else {
            episodes *= 2;
        }
    }
    Ok(median(samples))
}

fn single_env_steps_per_second(kind: &Arc<dyn EnvKind>, budget: Duration) -> anyhow::Result<f64> {
    let factory = agents::built_in("scripted", &kind.spec().id)?;
    let mut agent = factory();
    let mut env = GymEnv::new(kind.clone());
    let mut episode = sim_core::Episode { index: env.reset(Some(1)).info.episode, seed: 0 };
    let mut samples = Vec::new();
    for _ in 0..REPETITIONS {
        let mut steps = 0u64;
        let started = Instant::now();
        while started.elapsed() < budget / REPETITIONS as u32 {
            for _ in 0..4096 {
                let action = {
                    let transcript = env.transcript().expect("reset was called");
                    let turn = transcript.actions().count() as u32;
                    let view = sim_core::AgentView { spec: kind.spec(), episode, turn, transcript };
                    agent.act(&[view]).map_err(|e| anyhow::anyhow!(e))?.pop().unwrap_or_default()
                };
                steps += 1;
                if env.step(action).done() {
                    episode.index = env.reset(None).info.episode;
                }
            }
        }
        samples.push(steps as f64 / started.elapsed().as_secs_f64());
    }
    Ok(median(samples))
}

/// Measures the three figures, about `seconds` in all, each the median of
/// [`REPETITIONS`] timed runs.
///
/// # Errors
/// When the env has no scripted agent.
pub fn bench(kind: &Arc<dyn EnvKind>, seconds: f64) -> anyhow::Result<BenchReport> {
    let budget = Duration::from_secs_f64(seconds.max(0.2) / 3.0);
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
