//! Continuous batching of chat completions: one scheduler thread keeps every active sequence
//! and runs one batched forward pass per step over all of them.
//!
//! A [`Generator`] owns the thread. [`Generator::submit`] hands it a [`GenerationRequest`] (a
//! prompt's token ids, `n` choices, sampling, stops, a seed) and a reply callback. Each step
//! the thread admits waiting requests while the batch has room ([`GeneratorLimits::max_sequences`]),
//! feeds every sequence its pending tokens in one [`Model::forward`] (a new request's whole
//! prompt as one sequence, every running choice its last sampled token), samples, and retires
//! the choices that stopped. A request's prompt is pre-filled once; its `n` choices start from
//! copies of that cache.
//!
//! Reproducibility: choice `i` of a request draws from `stream_indexed(seed, "serve-llm", i)`,
//! one draw per sampled token, and every row of the forward pass is computed on its own, so a
//! request's tokens depend only on the request (prompt, sampling, seed), never on which other
//! sequences share its steps or when it joined (tested on the real model in
//! `tests/serve_llm.rs` of the workspace tests). Nothing here reads the clock.
//!
//! The thread never panics on a request: a failing forward pass fails the requests of that
//! step with the error, and the others go on.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use serde::Serialize;
use sim_core::seed::{StreamRng, stream_indexed};
use thiserror::Error;

use crate::model::{KvCache, SequenceInput};
use crate::sampling::Sampling;
use crate::{LanguageModel, LlmError, tokenizer};

/// The random stream name of a choice: `stream_indexed(seed, STREAM, choice index)`.
pub const STREAM: &str = "serve-llm";

/// One completion request, already tokenised.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationRequest {
    /// The rendered prompt's token ids (not empty).
    pub prompt: Vec<u32>,
    /// Choices sampled from the prompt (`n`), at least 1.
    pub choices: usize,
    pub sampling: Sampling,
    /// The most tokens sampled per choice, at least 1.
    pub max_tokens: usize,
    /// Texts that end a choice when its generated text contains one; the text is cut before it.
    pub stop: Vec<String>,
    pub seed: u64,
    /// With `Some(k)`, each sampled token's `k` most likely alternatives are returned too.
    pub top_logprobs: Option<usize>,
}

/// Why a choice ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// An end-of-turn token or a stop text.
    Stop,
    /// `max_tokens` sampled.
    Length,
}

/// One generated choice.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Every sampled token, including a final end-of-turn token and the token that completed
    /// a stop text.
    pub token_ids: Vec<u32>,
    /// Each sampled token's log-probability under the distribution it was drawn from.
    pub logprobs: Vec<f32>,
    /// Per sampled token, its most likely alternatives (empty unless requested).
    pub top_logprobs: Vec<Vec<(u32, f32)>>,
    /// The decoded text without special tokens, cut before a stop text.
    pub text: String,
    pub finish_reason: FinishReason,
}

/// The answer to one request: its choices in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub choices: Vec<Choice>,
}

/// Why a request got no generation.
#[derive(Debug, Error)]
pub enum GenerateError {
    #[error(transparent)]
    Model(#[from] LlmError),
    #[error("the prompt has no tokens")]
    EmptyPrompt,
    #[error("n must be between 1 and {max} (the scheduler's batch), got {n}")]
    Choices { n: usize, max: usize },
    #[error("max_tokens must be at least 1")]
    NoTokens,
    #[error(
        "the prompt ({prompt} tokens) and max_tokens ({max_tokens}) exceed the model's context of {context} tokens"
    )]
    ContextLength { prompt: usize, max_tokens: usize, context: usize },
    #[error("the generator has stopped")]
    Stopped,
}

/// The callback that receives a request's result, called once, on the scheduler thread.
pub type Reply = Box<dyn FnOnce(Result<Generation, GenerateError>) + Send>;

/// Limits of the scheduler.
#[derive(Debug, Clone, Copy)]
pub struct GeneratorLimits {
    /// Most sequences (choices) decoded in one forward pass; a request waits until its `n`
    /// choices fit.
    pub max_sequences: usize,
}

impl Default for GeneratorLimits {
    fn default() -> Self {
        Self { max_sequences: 64 }
    }
}

/// Counters of a generator, readable from any thread.
#[derive(Debug, Default)]
pub struct GeneratorStats {
    forward_passes: AtomicU64,
    largest_batch: AtomicUsize,
    tokens_generated: AtomicU64,
    prompt_tokens: AtomicU64,
    requests_completed: AtomicU64,
    requests_cancelled: AtomicU64,
    active_sequences: AtomicUsize,
    waiting_requests: AtomicUsize,
}

/// A snapshot of [`GeneratorStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Forward passes run (pre-fills and decode steps together).
    pub forward_passes: u64,
    /// The most sequences one forward pass has carried.
    pub largest_batch: usize,
    pub tokens_generated: u64,
    pub prompt_tokens: u64,
    pub requests_completed: u64,
    /// Requests dropped because their caller went away.
    pub requests_cancelled: u64,
    pub active_sequences: usize,
    pub waiting_requests: usize,
}

impl GeneratorStats {
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            forward_passes: self.forward_passes.load(Ordering::Relaxed),
            largest_batch: self.largest_batch.load(Ordering::Relaxed),
            tokens_generated: self.tokens_generated.load(Ordering::Relaxed),
            prompt_tokens: self.prompt_tokens.load(Ordering::Relaxed),
            requests_completed: self.requests_completed.load(Ordering::Relaxed),
            requests_cancelled: self.requests_cancelled.load(Ordering::Relaxed),
            active_sequences: self.active_sequences.load(Ordering::Relaxed),
            waiting_requests: self.waiting_requests.load(Ordering::Relaxed),
        }
    }
}

struct Job {
    request: GenerationRequest,
    reply: Reply,
    cancelled: Arc<AtomicBool>,
}

/// The handle of a scheduler thread. Dropping it stops the thread once its work is done.
pub struct Generator {
    model: Arc<LanguageModel>,
    limits: GeneratorLimits,
    sender: Mutex<Option<Sender<Job>>>,
    stats: Arc<GeneratorStats>,
    thread: Option<JoinHandle<()>>,
}

impl Generator {
    /// Starts the scheduler thread over `model`.
    pub fn start(model: Arc<LanguageModel>, limits: GeneratorLimits) -> Self {
        let limits = GeneratorLimits { max_sequences: limits.max_sequences.max(1) };
        let (sender, receiver) = mpsc::channel();
        let stats = Arc::new(GeneratorStats::default());
        let scheduler = Scheduler {
            model: Arc::clone(&model),
            limits,
            stats: Arc::clone(&stats),
            receiver,
            waiting: VecDeque::new(),
            running: BTreeMap::new(),
            next_job: 0,
        };
        let thread = std::thread::Builder::new().name("lm-gym-generate".into()).spawn(move || scheduler.run()).ok();
        Self { model, limits, sender: Mutex::new(thread.is_some().then_some(sender)), stats, thread }
    }

    pub fn model(&self) -> &LanguageModel {
        &self.model
    }

    pub fn limits(&self) -> GeneratorLimits {
        self.limits
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Checks a request against the model and the limits, without queueing it.
    ///
    /// # Errors
    /// An empty prompt, `n` outside `1..=max_sequences`, `max_tokens` 0, a prompt and
    /// `max_tokens` longer than the model's context.
    pub fn check(&self, request: &GenerationRequest) -> Result<(), GenerateError> {
        if request.prompt.is_empty() {
            return Err(GenerateError::EmptyPrompt);
        }
        if request.choices == 0 || request.choices > self.limits.max_sequences {
            return Err(GenerateError::Choices { n: request.choices, max: self.limits.max_sequences });
        }
        if request.max_tokens == 0 {
            return Err(GenerateError::NoTokens);
        }
        let context = self.model.model.config().max_positions;
        // The last sampled token is never fed, so a sequence holds at most prompt + max_tokens - 1.
        if request.prompt.len() + request.max_tokens > context + 1 {
            return Err(GenerateError::ContextLength {
                prompt: request.prompt.len(),
                max_tokens: request.max_tokens,
                context,
            });
        }
        Ok(())
    }

    /// Queues a request; `reply` is called once with its result (on the scheduler thread, so
    /// it must not block). Setting `cancelled` drops the request at the next step, without a
    /// reply.
    pub fn submit(&self, request: GenerationRequest, reply: Reply, cancelled: Arc<AtomicBool>) {
        if let Err(error) = self.check(&request) {
            reply(Err(error));
            return;
        }
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        let job = Job { request, reply, cancelled };
        let unsent = match sender.as_ref() {
            Some(sender) => {
                self.stats.waiting_requests.fetch_add(1, Ordering::Relaxed);
                sender.send(job).err().map(|error| error.0)
            }
            None => Some(job),
        };
        if let Some(job) = unsent {
            (job.reply)(Err(GenerateError::Stopped));
        }
    }
}

impl Drop for Generator {
    fn drop(&mut self) {
        self.sender.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One choice being decoded.
struct Sequence {
    cache: KvCache,
    rng: StreamRng,
    /// The last sampled token, fed at the next step.
    pending: u32,
    choice: Choice,
    done: bool,
}

/// A request in the batch.
struct Running {
    job: Job,
    /// The request's shared prompt cache until its pre-fill ran.
    prefill: Option<KvCache>,
    sequences: Vec<Sequence>,
}

struct Scheduler {
    model: Arc<LanguageModel>,
    limits: GeneratorLimits,
    stats: Arc<GeneratorStats>,
    receiver: Receiver<Job>,
    waiting: VecDeque<Job>,
    /// Running requests by arrival number.
    running: BTreeMap<u64, Running>,
    next_job: u64,
}

impl Scheduler {
    fn run(mut self) {
        loop {
            if self.running.is_empty() && self.waiting.is_empty() {
                match self.receiver.recv() {
                    Ok(job) => self.waiting.push_back(job),
                    Err(RecvError) => return,
                }
            }
            while let Ok(job) = self.receiver.try_recv() {
                self.waiting.push_back(job);
            }
            self.drop_cancelled();
            self.admit();
            self.step();
            self.publish();
        }
    }

    fn sequences(&self) -> usize {
        self.running.values().map(|running| running.sequences.len().max(running.job.request.choices)).sum()
    }

    fn drop_cancelled(&mut self) {
        let before = self.running.len() + self.waiting.len();
        self.running.retain(|_, running| !running.job.cancelled.load(Ordering::Relaxed));
        self.waiting.retain(|job| !job.cancelled.load(Ordering::Relaxed));
        let dropped = before - self.running.len() - self.waiting.len();
        self.stats.requests_cancelled.fetch_add(dropped as u64, Ordering::Relaxed);
    }

    /// Moves waiting requests into the batch, in arrival order, while their choices fit.
    fn admit(&mut self) {
        let mut sequences = self.sequences();
        while let Some(job) = self.waiting.front() {
            if sequences + job.request.choices > self.limits.max_sequences {
                break;
            }
            let Some(job) = self.waiting.pop_front() else { break };
            sequences += job.request.choices;
            self.stats.prompt_tokens.fetch_add(job.request.prompt.len() as u64, Ordering::Relaxed);
            let running = Running { job, prefill: Some(self.model.model.new_cache()), sequences: Vec::new() };
            self.running.insert(self.next_job, running);
            self.next_job += 1;
        }
    }

    /// One forward pass over every running request: pre-fills and decode steps together.
    fn step(&mut self) {
        if self.running.is_empty() {
            return;
        }
        let mut inputs = Vec::new();
        let mut rows: Vec<(u64, Option<usize>)> = Vec::new();
        for (&id, running) in &mut self.running {
            if let Some(cache) = running.prefill.as_mut() {
                inputs.push(SequenceInput { cache, tokens: &running.job.request.prompt });
                rows.push((id, None));
                continue;
            }
            for (index, sequence) in running.sequences.iter_mut().enumerate().filter(|(_, s)| !s.done) {
                inputs.push(SequenceInput {
                    cache: &mut sequence.cache,
                    tokens: std::slice::from_ref(&sequence.pending),
                });
                rows.push((id, Some(index)));
            }
        }
        self.stats.forward_passes.fetch_add(1, Ordering::Relaxed);
        self.stats.largest_batch.fetch_max(inputs.len(), Ordering::Relaxed);
        let result = self.model.model.forward(&mut inputs);
        drop(inputs);
        let logits = match result {
            Ok(logits) => logits,
            Err(error) => {
                // Fail the requests of this step; the scheduler goes on with new ones.
                let message = error.to_string();
                for (id, _) in rows {
                    if let Some(running) = self.running.remove(&id) {
                        (running.job.reply)(Err(GenerateError::Model(LlmError::Format(message.clone()))));
                    }
                }
                return;
            }
        };
        for ((id, index), logits) in rows.into_iter().zip(logits) {
            let Some(running) = self.running.get_mut(&id) else { continue };
            match index {
                None => {
                    let Some(cache) = running.prefill.take() else { continue };
                    let request = &running.job.request;
                    running.sequences = (0..request.choices)
                        .map(|choice| Sequence {
                            cache: cache.clone(),
                            rng: stream_indexed(request.seed, STREAM, choice as u64),
                            pending: 0,
                            choice: Choice {
                                token_ids: Vec::new(),
                                logprobs: Vec::new(),
                                top_logprobs: Vec::new(),
                                text: String::new(),
                                finish_reason: FinishReason::Length,
                            },
                            done: false,
                        })
                        .collect();
                    for choice in 0..running.sequences.len() {
                        self.sample(id, choice, &logits);
                    }
                }
                Some(choice) => self.sample(id, choice, &logits),
            }
        }
        self.finish();
    }

    /// Samples the next token of one choice and decides whether it stops.
    fn sample(&mut self, id: u64, choice: usize, logits: &[f32]) {
        let Some(running) = self.running.get_mut(&id) else { return };
        let request = &running.job.request;
        let model = &self.model;
        let sequence = &mut running.sequences[choice];
        let (token, logprob) = request.sampling.sample(logits, &mut sequence.rng);
        sequence.pending = token;
        sequence.choice.token_ids.push(token);
        sequence.choice.logprobs.push(logprob);
        if let Some(k) = request.top_logprobs {
            sequence.choice.top_logprobs.push(request.sampling.top_logprobs(logits, k));
        }
        self.stats.tokens_generated.fetch_add(1, Ordering::Relaxed);
        let ids = &sequence.choice.token_ids;
        let text = |ids: &[u32]| tokenizer::decode(&model.tokenizer, ids).unwrap_or_default();
        let stop = if model.is_end_of_turn(token) {
            Some((FinishReason::Stop, text(ids)))
        } else if let Some((cut, mut text)) = (!request.stop.is_empty())
            .then(|| text(ids))
            .and_then(|text| stop_position(&text, &request.stop).map(|cut| (cut, text)))
        {
            text.truncate(cut);
            Some((FinishReason::Stop, text))
        } else if ids.len() >= request.max_tokens {
            Some((FinishReason::Length, text(ids)))
        } else {
            None
        };
        if let Some((reason, text)) = stop {
            sequence.choice.finish_reason = reason;
            sequence.choice.text = text;
            sequence.done = true;
        }
    }

    /// Replies to the requests whose choices have all stopped.
    fn finish(&mut self) {
        let done: Vec<u64> = self
            .running
            .iter()
            .filter(|(_, running)| running.prefill.is_none() && running.sequences.iter().all(|s| s.done))
            .map(|(&id, _)| id)
            .collect();
        for id in done {
            if let Some(running) = self.running.remove(&id) {
                let choices = running.sequences.into_iter().map(|sequence| sequence.choice).collect();
                self.stats.requests_completed.fetch_add(1, Ordering::Relaxed);
                (running.job.reply)(Ok(Generation { choices }));
            }
        }
    }

    fn publish(&self) {
        let active: usize =
            self.running.values().map(|running| running.sequences.iter().filter(|s| !s.done).count()).sum();
        self.stats.active_sequences.store(active, Ordering::Relaxed);
        self.stats.waiting_requests.store(self.waiting.len(), Ordering::Relaxed);
    }
}

/// Where the first stop text starts in `text` (the earliest of them), if any.
pub fn stop_position(text: &str, stops: &[String]) -> Option<usize> {
    stops.iter().filter(|stop| !stop.is_empty()).filter_map(|stop| text.find(stop.as_str())).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_stop_text_cuts() {
        let stops = vec!["\n".to_owned(), "cat".to_owned(), String::new()];
        assert_eq!(stop_position("Is it a cat?\nYes", &stops), Some(8));
        assert_eq!(stop_position("Is it a dog?", &stops), None);
        assert_eq!(stop_position("anything", &[]), None);
    }
}
