//! The batched LLM agent: every live episode that needs an action is one sequence of one
//! batch; each episode keeps its KV cache across turns.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::Device;
use serde::{Deserialize, Serialize};
use sim_core::seed::{StreamRng, stream_indexed};
use sim_core::{Action, ActionTokens, Agent, AgentError, AgentView, Kind, Speaker};
use tokenizers::Tokenizer;

use crate::model::{KvCache, Model, SequenceInput};
use crate::sampling::Sampling;
use crate::template::{ActionFormat, ChatTemplate, IM_END, action_format};
use crate::{LlmError, tokenizer};

/// A model with its tokenizer.
pub struct LanguageModel {
    pub model: Model,
    pub tokenizer: Tokenizer,
    /// `<|im_end|>`.
    pub end_of_turn: u32,
}

impl LanguageModel {
    /// Loads a GGUF file (tokenizer from its metadata) or a Hugging Face folder
    /// (`config.json`, `*.safetensors`, `tokenizer.json`).
    ///
    /// # Errors
    /// Unreadable or unsupported files; a tokenizer without `<|im_end|>`.
    pub fn load(path: &Path, device: &Device) -> Result<Self, LlmError> {
        let (model, tokenizer) = if path.is_dir() {
            let model = Model::from_hf_dir(path, device)?;
            let tokenizer = Tokenizer::from_file(path.join("tokenizer.json"))
                .map_err(|e| LlmError::Tokenizer(format!("{}/tokenizer.json: {e}", path.display())))?;
            (model, tokenizer)
        } else {
            let (model, content) = Model::from_gguf(path, device)?;
            (model, tokenizer::from_gguf(&content)?)
        };
        let end_of_turn = tokenizer
            .token_to_id(IM_END)
            .ok_or_else(|| LlmError::Tokenizer(format!("the tokenizer has no `{IM_END}` token (ChatML)")))?;
        Ok(Self { model, tokenizer, end_of_turn })
    }

    /// The default model: SmolLM2-135M-Instruct in Q8_0, fetched into the cache if needed.
    ///
    /// # Errors
    /// As [`crate::assets::smollm2_q8_0`] and [`Self::load`].
    pub fn smollm2(device: &Device) -> Result<Self, LlmError> {
        Self::load(&crate::assets::smollm2_q8_0()?, device)
    }

    /// Whether `token` ends the model's turn: `<|im_end|>`, or `<|endoftext|>` where the
    /// tokenizer has it.
    pub fn is_end_of_turn(&self, token: u32) -> bool {
        token == self.end_of_turn || self.tokenizer.token_to_id("<|endoftext|>") == Some(token)
    }
}

/// The agent's settings (the `llm` part of a scenario).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    pub sampling: Sampling,
    /// The most tokens sampled per turn; the action is read from what was sampled.
    pub max_new_tokens: usize,
    pub template: ChatTemplate,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self { sampling: Sampling::default(), max_new_tokens: 32, template: ChatTemplate::default() }
    }
}

/// What one turn of one episode cost, for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnLog {
    pub episode: u64,
    pub turn: u32,
    /// Tokens in the episode's cache before the turn.
    pub cached_before: usize,
    /// Tokens fed in the turn's pre-fill: the previous turn's last sampled token (not yet fed)
    /// and the turn's prompt tokens.
    pub prefilled: usize,
    /// Tokens the template added for this turn (`ActionTokens::prompt_ids`).
    pub prompt_tokens: usize,
    pub generated: usize,
}

struct EpisodeState {
    cache: KvCache,
    /// The episode's token sequence: every prompt and every sampled token, in order.
    tokens: Vec<u32>,
    /// Transcript entries already rendered into `tokens`.
    rendered: usize,
    /// The model closed its last message with `<|im_end|>` itself.
    closed: bool,
}

struct Turn {
    /// The view this turn answers.
    slot: usize,
    key: (u64, u64),
    episode: u64,
    turn: u32,
    rng: StreamRng,
    prompt_ids: Vec<u32>,
    token_ids: Vec<u32>,
    logprobs: Vec<f32>,
    logits: Vec<f32>,
    done: bool,
}

/// The ending of an episode the agent truncated because its next turn might not fit in the
/// model's context ([`Action::truncate_episode`]).
pub const CONTEXT_FULL: &str = "context_full";

/// The batched language-model agent.
///
/// Per episode (keyed by index and seed) it keeps the token sequence and KV cache across
/// turns; a turn renders only the transcript entries added since the last one. Sampling draws
/// from the episode's `llm-agent` stream of that turn, and every row of the forward pass is
/// computed independently of the batch, so actions depend only on the episode.
///
/// An episode not seen in a call is forgotten (its cache freed); should it come back, its
/// sequence is rebuilt from the token ids recorded with its actions.
///
/// An episode whose sequence plus `max_new_tokens` would outgrow the model's context is ended
/// as truncated with the ending [`CONTEXT_FULL`]; the other episodes of the batch go on.
pub struct LlmAgent {
    model: Arc<LanguageModel>,
    config: LlmConfig,
    format: ActionFormat,
    episodes: BTreeMap<(u64, u64), EpisodeState>,
    log: Vec<TurnLog>,
}

impl LlmAgent {
    /// An agent for an env whose declared LLM lead is `lead` ([`sim_core::EnvKind::llm_lead`]).
    pub fn new(model: Arc<LanguageModel>, config: LlmConfig, lead: &'static str) -> Self {
        Self { model, config, format: action_format(lead), episodes: BTreeMap::new(), log: Vec::new() }
    }

    /// Every turn played so far, in order.
    pub fn turn_log(&self) -> &[TurnLog] {
        &self.log
    }

    /// The token sequence of a live episode (prompts and samples, in order).
    pub fn sequence(&self, episode: u64, seed: u64) -> Option<&[u32]> {
        self.episodes.get(&(episode, seed)).map(|state| state.tokens.as_slice())
    }

    fn rebuild(&self, view: &AgentView<'_>) -> Result<EpisodeState, LlmError> {
        let mut state =
            EpisodeState { cache: self.model.model.new_cache(), tokens: Vec::new(), rendered: 0, closed: false };
        let entries = view.transcript.entries();
        for (index, entry) in entries.iter().enumerate() {
            if entry.speaker == Speaker::Agent && entry.kind == Kind::Action {
                let tokens = entry.tokens.as_ref().ok_or_else(|| {
                    LlmError::Format(format!(
                        "episode {} has an action without token ids: the llm agent only continues episodes it played",
                        view.episode.index
                    ))
                })?;
                state.tokens.extend(&tokens.prompt_ids);
                state.tokens.extend(&tokens.token_ids);
                state.closed = tokens.token_ids.last() == Some(&self.model.end_of_turn);
                state.rendered = index + 1;
            }
        }
        Ok(state)
    }

    fn play(&mut self, views: &[AgentView<'_>]) -> Result<Vec<Action>, LlmError> {
        let keys: Vec<(u64, u64)> = views.iter().map(|v| (v.episode.index, v.episode.seed)).collect();
        self.episodes.retain(|key, _| keys.contains(key));
        let context = self.model.model.config().max_positions;
        let mut actions: Vec<Option<Action>> = vec![None; views.len()];
        let mut turns = Vec::with_capacity(views.len());
        for (slot, (view, &key)) in views.iter().zip(&keys).enumerate() {
            let entries = view.transcript.entries();
            let stale = self.episodes.get(&key).is_none_or(|state| state.rendered > entries.len());
            if stale {
                let state = self.rebuild(view)?;
                self.episodes.insert(key, state);
            }
            let state = self.episodes.get_mut(&key).expect("inserted above");
            let mut text =
                self.config.template.render_turn(&entries[state.rendered..], state.tokens.is_empty(), state.closed);
            text.push_str(self.format.lead);
            let prompt_ids = tokenizer::encode(&self.model.tokenizer, &text)?;
            state.tokens.extend(&prompt_ids);
            state.rendered = entries.len();
            if state.tokens.len() + self.config.max_new_tokens > context {
                // The turn might not fit in the model's context: the episode ends here, as
                // truncated, and the rest of the batch goes on.
                self.episodes.remove(&key);
                actions[slot] = Some(Action::truncate_episode(CONTEXT_FULL));
                continue;
            }
            turns.push(Turn {
                slot,
                key,
                episode: view.episode.index,
                turn: view.turn,
                rng: stream_indexed(view.episode.seed, "llm-agent", u64::from(view.turn)),
                prompt_ids,
                token_ids: Vec::new(),
                logprobs: Vec::new(),
                logits: Vec::new(),
                done: false,
            });
        }
        if turns.is_empty() {
            return Ok(actions.into_iter().flatten().collect());
        }
        self.prefill(&mut turns)?;
        for step in 0..self.config.max_new_tokens.max(1) {
            for turn in turns.iter_mut().filter(|turn| !turn.done) {
                let (token, logprob) = self.config.sampling.sample(&turn.logits, &mut turn.rng);
                turn.token_ids.push(token);
                turn.logprobs.push(logprob);
                turn.done = token == self.model.end_of_turn
                    || turn.token_ids.len() >= self.config.max_new_tokens
                    || (self.format.stop_at_newline && self.ends_line(&turn.token_ids)?);
            }
            if turns.iter().all(|turn| turn.done) || step + 1 >= self.config.max_new_tokens {
                break;
            }
            self.decode(&mut turns)?;
        }
        for turn in turns {
            let state = self.episodes.get_mut(&turn.key).expect("every turn has a state");
            state.tokens.extend(&turn.token_ids);
            state.closed = turn.token_ids.last() == Some(&self.model.end_of_turn);
            if let Some(log) = self.log.iter_mut().rev().find(|l| l.episode == turn.episode && l.turn == turn.turn) {
                log.generated = turn.token_ids.len();
            }
            let text = self.format.action(&tokenizer::decode(&self.model.tokenizer, &turn.token_ids)?);
            let mut action = Action::from(text);
            action.tokens = Some(Box::new(ActionTokens::new(turn.prompt_ids, turn.token_ids, turn.logprobs)));
            actions[turn.slot] = Some(action);
        }
        Ok(actions.into_iter().map(|action| action.expect("every view gets an action")).collect())
    }

    /// Whether the sampled text has some content followed by a newline.
    fn ends_line(&self, ids: &[u32]) -> Result<bool, LlmError> {
        let text = tokenizer::decode(&self.model.tokenizer, ids)?;
        Ok(text.trim_start().contains('\n'))
    }

    /// Feeds every episode the tokens of its sequence that are not cached yet.
    fn prefill(&mut self, turns: &mut [Turn]) -> Result<(), LlmError> {
        let mut states: Vec<&mut EpisodeState> = Vec::with_capacity(turns.len());
        let mut remaining: Vec<(&(u64, u64), &mut EpisodeState)> = self.episodes.iter_mut().collect();
        for turn in turns.iter() {
            let at = remaining.iter().position(|(key, _)| **key == turn.key).expect("every turn has a state");
            states.push(remaining.swap_remove(at).1);
        }
        let mut batch: Vec<SequenceInput<'_>> = states
            .into_iter()
            .map(|state| {
                let cached = state.cache.len();
                SequenceInput { cache: &mut state.cache, tokens: &state.tokens[cached..] }
            })
            .collect();
        for (sequence, turn) in batch.iter().zip(turns.iter()) {
            self.log.push(TurnLog {
                episode: turn.episode,
                turn: turn.turn,
                cached_before: sequence.cache.len(),
                prefilled: sequence.tokens.len(),
                prompt_tokens: turn.prompt_ids.len(),
                generated: 0,
            });
        }
        let logits = self.model.model.forward(&mut batch)?;
        for (turn, logits) in turns.iter_mut().zip(logits) {
            turn.logits = logits;
        }
        Ok(())
    }

    /// Feeds each unfinished episode its last sampled token.
    fn decode(&mut self, turns: &mut [Turn]) -> Result<(), LlmError> {
        let mut remaining: Vec<(&(u64, u64), &mut EpisodeState)> = self.episodes.iter_mut().collect();
        let mut batch = Vec::new();
        let mut active = Vec::new();
        for (index, turn) in turns.iter().enumerate().filter(|(_, turn)| !turn.done) {
            let at = remaining.iter().position(|(key, _)| **key == turn.key).expect("every turn has a state");
            let state = remaining.swap_remove(at).1;
            batch.push(SequenceInput { cache: &mut state.cache, tokens: &turn.token_ids[turn.token_ids.len() - 1..] });
            active.push(index);
        }
        let logits = self.model.model.forward(&mut batch)?;
        drop(batch);
        for (index, logits) in active.into_iter().zip(logits) {
            turns[index].logits = logits;
        }
        Ok(())
    }
}

impl Agent for LlmAgent {
    fn act(&mut self, views: &[AgentView<'_>]) -> Result<Vec<Action>, AgentError> {
        Ok(self.play(views)?)
    }
}

/// The device a model runs on: the first CUDA GPU with the `cuda` feature, else the CPU.
///
/// # Errors
/// With `cuda`: no usable GPU.
pub fn default_device() -> Result<Device, LlmError> {
    #[cfg(feature = "cuda")]
    {
        Ok(Device::new_cuda(0)?)
    }
    #[cfg(not(feature = "cuda"))]
    {
        Ok(Device::Cpu)
    }
}
