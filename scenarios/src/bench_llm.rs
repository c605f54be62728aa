//! `scenarios bench-llm [--model PATH]`: the LLM agent's decode speed at batch 1, 8 and 32,
//! and the latency of turn 1 against turn 20 of one Twenty Questions episode, as JSON lines.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use agents_llm::model::SequenceInput;
use agents_llm::{LanguageModel, LlmAgent, LlmConfig, TurnLog};
use envs::twenty_questions::TwentyQuestions;
use serde::Serialize;
use sim_core::{Action, Agent, AgentError, AgentView, Environment, RunPlan, run_episodes};

/// Decode throughput of one batch size.
#[derive(Debug, Serialize)]
struct DecodeReport {
    bench: &'static str,
    model: String,
    device: String,
    rayon_threads: String,
    batch: usize,
    prompt_tokens: usize,
    new_tokens_per_sequence: usize,
    tokens_per_second: f64,
    /// Pre-fill of every sequence's prompt, in tokens per second.
    prefill_tokens_per_second: f64,
}

/// One turn of the latency episode.
#[derive(Debug, Serialize)]
struct TurnReport {
    bench: &'static str,
    turn: u32,
    seconds: f64,
    cached_before: usize,
    prefilled: usize,
    generated: usize,
    /// Seconds per token fed or sampled in the turn.
    seconds_per_token: f64,
}

const NEW_TOKENS: usize = 64;
const REPETITIONS: usize = 3;

fn decode_throughput(model: &LanguageModel, name: &str, batch: usize) -> anyhow::Result<DecodeReport> {
    let prompt = "<|im_start|>system\nLet's play Twenty Questions. I am thinking of an everyday object. Ask me yes/no \
                  questions, one per turn.<|im_end|>\n<|im_start|>user\nYour turn.<|im_end|>\n<|im_start|>assistant\n";
    let prompt_ids = agents_llm::tokenizer::encode(&model.tokenizer, prompt)?;
    let mut best: Option<(f64, f64)> = None;
    for _ in 0..REPETITIONS {
        let mut caches: Vec<_> = (0..batch).map(|_| model.model.new_cache()).collect();
        let started = Instant::now();
        let mut inputs: Vec<SequenceInput<'_>> =
            caches.iter_mut().map(|cache| SequenceInput { cache, tokens: &prompt_ids }).collect();
        let mut logits = model.model.forward(&mut inputs)?;
        let prefill = started.elapsed().as_secs_f64();
        let started = Instant::now();
        for _ in 0..NEW_TOKENS {
            // Greedy; never stops early, so every step decodes the whole batch.
            let next: Vec<[u32; 1]> = logits
                .iter()
                .map(|row| {
                    let best = row
                        .iter()
                        .enumerate()
                        .fold((0, f32::NEG_INFINITY), |b, (i, &l)| if l > b.1 { (i, l) } else { b });
                    [best.0 as u32]
                })
                .collect();
            let mut inputs: Vec<SequenceInput<'_>> =
                caches.iter_mut().zip(&next).map(|(cache, token)| SequenceInput { cache, tokens: token }).collect();
            logits = model.model.forward(&mut inputs)?;
        }
        let decode = started.elapsed().as_secs_f64();
        let sample = ((batch * NEW_TOKENS) as f64 / decode, (batch * prompt_ids.len()) as f64 / prefill);
        best = Some(best.map_or(sample, |b: (f64, f64)| (b.0.max(sample.0), b.1.max(sample.1))));
    }
    let (tokens_per_second, prefill_tokens_per_second) = best.unwrap_or_default();
    Ok(DecodeReport {
        bench: "llm-decode",
        model: name.to_owned(),
        device: format!("{:?}", model.model.device()),
        rayon_threads: std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".into()),
        batch,
        prompt_tokens: prompt_ids.len(),
        new_tokens_per_sequence: NEW_TOKENS,
        tokens_per_second,
        prefill_tokens_per_second,
    })
}

/// Times each `act` call of the agent it wraps.
struct Timed {
    inner: LlmAgent,
    seconds: Arc<Mutex<Vec<f64>>>,
    log: Arc<Mutex<Vec<TurnLog>>>,
}

impl Agent for Timed {
    fn act(&mut self, views: &[AgentView<'_>]) -> Result<Vec<Action>, AgentError> {
        let started = Instant::now();
        let actions = self.inner.act(views)?;
        self.seconds.lock().expect("timing lock").push(started.elapsed().as_secs_f64());
        *self.log.lock().expect("log lock") = self.inner.turn_log().to_vec();
        Ok(actions)
    }
}

fn turn_latency(model: Arc<LanguageModel>) -> anyhow::Result<Vec<TurnReport>> {
    let registry = envs::registry();
    let kind = registry.make("twenty_questions-v0", None)?;
    let seconds = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::new(Mutex::new(Vec::new()));
    let factory = {
        let (seconds, log) = (Arc::clone(&seconds), Arc::clone(&log));
        move || -> Box<dyn Agent> {
            Box::new(Timed {
                inner: LlmAgent::new(Arc::clone(&model), LlmConfig::default(), TwentyQuestions::LLM_LEAD),
                seconds: Arc::clone(&seconds),
                log: Arc::clone(&log),
            })
        }
    };
    let plan = RunPlan { seed: 0, first_episode: 0, episodes: 1, batch_size: 1, threads: 1, ..Default::default() };
    run_episodes(&kind, &plan, &factory, &mut |_| Ok(()))?;
    let seconds = seconds.lock().expect("timing lock").clone();
    let log = log.lock().expect("log lock").clone();
    let last = seconds.len();
    Ok([1, 20.min(last)]
        .into_iter()
        .filter(|&turn| turn >= 1)
        .map(|turn| {
            let entry = log[turn - 1];
            let tokens = (entry.prefilled + entry.generated).max(1);
            TurnReport {
                bench: "llm-turn-latency",
                turn: turn as u32,
                seconds: seconds[turn - 1],
                cached_before: entry.cached_before,
                prefilled: entry.prefilled,
                generated: entry.generated,
                seconds_per_token: seconds[turn - 1] / tokens as f64,
            }
        })
        .collect())
}

/// Prints the JSON lines.
///
/// # Errors
/// The model cannot be fetched, loaded or run.
pub fn run(model_path: Option<&Path>) -> anyhow::Result<()> {
    let device = agents_llm::default_device()?;
    let (model, name) = match model_path {
        Some(path) => (LanguageModel::load(path, &device)?, path.display().to_string()),
        None => (LanguageModel::smollm2(&device)?, agents_llm::assets::SMOLLM2_Q8_0_FILE.to_owned()),
    };
    // `LM_GYM_BENCH_BATCHES=32` (comma-separated) measures only those batch sizes and skips the
    // turn latencies, for profiling one shape.
    let only = std::env::var("LM_GYM_BENCH_BATCHES").ok();
    let batches: Vec<usize> = match &only {
        Some(list) => list.split(',').map(|b| b.trim().parse()).collect::<Result<_, _>>()?,
        None => vec![1, 8, 32],
    };
    for batch in batches {
        crate::output::print_line(serde_json::to_string(&decode_throughput(&model, &name, batch)?)?)?;
    }
    if only.is_some() {
        return Ok(());
    }
    for report in turn_latency(Arc::new(model))? {
        crate::output::print_line(serde_json::to_string(&report)?)?;
    }
    Ok(())
}
