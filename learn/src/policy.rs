//! A trained policy as an agent: a [`Model`], the context it reads and how it samples.
//!
//! A checkpoint folder holds `policy.json` ([`PolicySpec`]) and `model.safetensors`;
//! `scenarios --agent policy:<folder>` plays it like any built-in agent.
//!
//! Reproducibility: each view is answered on its own (one sequence per forward, its own KV
//! cache), and every draw comes from the stream `"policy"` of the episode's sampling seed
//! and turn, so an episode's actions do not depend on the batch size or thread count.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use agents_llm::Sampling;
use candle_core::Device;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sim_core::seed::{StreamRng, episode_seed, stream_indexed};
use sim_core::{Action, ActionTokens, Agent, AgentError, AgentView, Entry};

use crate::LearnError;
use crate::model::{Cache, Model, ModelConfig};
use crate::tokens::{ACT, ContextWindow, END_OF_ACTION, action_text};

/// The prefix of the agent name that plays a checkpoint: `policy:<folder>`.
pub const AGENT_PREFIX: &str = "policy:";

/// Everything but the weights that a checkpoint needs to act.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySpec {
    pub model: ModelConfig,
    pub context: ContextWindow,
    /// Most tokens per action, the end-of-action newline included.
    pub max_action_tokens: usize,
    /// How actions are drawn when the policy plays (evaluation; training rollouts sample at
    /// temperature 1 from the whole distribution).
    pub sampling: Sampling,
}

impl Default for PolicySpec {
    fn default() -> Self {
        Self {
            model: ModelConfig::default(),
            context: ContextWindow::default(),
            max_action_tokens: 16,
            sampling: Sampling { temperature: 1.0, top_p: 1.0 },
        }
    }
}

impl PolicySpec {
    /// # Errors
    /// A model config that is invalid or too short for the context and the action.
    pub fn validate(&self) -> Result<(), String> {
        self.model.validate()?;
        if self.max_action_tokens == 0 {
            return Err("policy: max_action_tokens must be at least 1".into());
        }
        let longest = self.context.max_bytes + 1 + self.max_action_tokens;
        if longest > self.model.positions {
            return Err(format!(
                "policy: context.max_bytes + 1 + max_action_tokens = {longest} exceeds model.positions = {}",
                self.model.positions
            ));
        }
        Ok(())
    }
}

/// The temperature-1 sampling of training rollouts (the recorded log-probabilities are then
/// those of the policy itself, as PPO's ratio needs).
pub const TRAINING_SAMPLING: Sampling = Sampling { temperature: 1.0, top_p: 1.0 };

/// A model with its spec, and a memo of the model's states.
///
/// The memo maps a token sequence (a context and the first tokens of an action) to the KV
/// cache and next-token logits after it. The forward pass is deterministic, so a state from
/// the memo is bit-identical to the one a fresh forward pass would compute: the memo changes
/// only speed, never an action. Envs whose contexts repeat (a maze cell's observation) then
/// cost a lookup per token instead of a forward pass. Whoever changes the weights must call
/// [`Policy::forget`].
#[derive(Debug, Clone)]
pub struct Policy {
    pub model: Model,
    pub spec: PolicySpec,
    memo: Arc<Mutex<Memo>>,
}

/// Model states by token sequence, and the bytes their KV caches hold.
#[derive(Debug, Default)]
struct Memo {
    states: HashMap<Vec<u32>, Arc<(Cache, Vec<f32>)>>,
    bytes: usize,
}

/// The most bytes of KV caches a policy's memo keeps; beyond it new states are computed and
/// not kept.
pub const MEMO_BYTES: usize = 256 << 20;

/// The seed an episode's actions are drawn with: the episode seed itself for key 0 (every
/// evaluation), another stream per key (the members of a training group).
pub fn sampling_seed(episode_seed_value: u64, key: u64) -> u64 {
    if key == 0 { episode_seed_value } else { episode_seed(episode_seed_value, key) }
}

impl Policy {
    pub fn new(model: Model, spec: PolicySpec) -> Self {
        Self { model, spec, memo: Arc::default() }
    }

    /// Drops the memo of model states: after the weights changed.
    pub fn forget(&self) {
        *self.memo.lock().expect("policy memo lock") = Memo::default();
    }

    /// The state after `ids`, from the memo or by extending `previous` (the state after
    /// `ids` without its last `fed` tokens) by them.
    fn state_after(
        &self,
        ids: &[u32],
        fed: usize,
        previous: Option<&Arc<(Cache, Vec<f32>)>>,
    ) -> Result<Arc<(Cache, Vec<f32>)>, LearnError> {
        if let Some(state) = self.memo.lock().expect("policy memo lock").states.get(ids) {
            return Ok(Arc::clone(state));
        }
        let mut cache = previous.map(|state| state.0.clone()).unwrap_or_default();
        let start = ids.len() - fed;
        debug_assert_eq!(cache.len(), start, "the previous state is that of the sequence without its new tokens");
        let (logits, _) = self.model.extend(&ids[start..], &mut cache)?;
        Ok(self.remember(ids, cache, logits))
    }

    fn remember(&self, ids: &[u32], cache: Cache, logits: Vec<f32>) -> Arc<(Cache, Vec<f32>)> {
        let config = &self.model.config;
        let bytes = cache.len() * config.layers * 2 * config.width * 4 + (logits.len() + ids.len()) * 4;
        let state = Arc::new((cache, logits));
        let mut memo = self.memo.lock().expect("policy memo lock");
        if memo.bytes + bytes <= MEMO_BYTES {
            memo.bytes += bytes;
            memo.states.insert(ids.to_vec(), Arc::clone(&state));
        }
        state
    }

    /// Loads `policy.json` and `model.safetensors` from a checkpoint folder.
    ///
    /// # Errors
    /// A missing or malformed file, naming it.
    pub fn load(folder: &Path, device: &Device) -> Result<Self, LearnError> {
        let spec_path = folder.join("policy.json");
        let text = std::fs::read_to_string(&spec_path)
            .map_err(|error| LearnError::Checkpoint(format!("reading {}: {error}", spec_path.display())))?;
        let spec: PolicySpec = serde_json::from_str(&text)
            .map_err(|error| LearnError::Checkpoint(format!("{}: {error}", spec_path.display())))?;
        spec.validate().map_err(|message| LearnError::Checkpoint(format!("{}: {message}", spec_path.display())))?;
        let model = Model::load(spec.model, &folder.join("model.safetensors"), device)?;
        Ok(Self::new(model, spec))
    }

    /// Writes `policy.json` and `model.safetensors` into `folder`.
    ///
    /// # Errors
    /// I/O failures, naming the file.
    pub fn save(&self, folder: &Path) -> Result<(), LearnError> {
        std::fs::create_dir_all(folder).map_err(|error| LearnError::io(folder, error))?;
        let spec_path = folder.join("policy.json");
        let json =
            serde_json::to_string_pretty(&self.spec).map_err(|error| LearnError::Checkpoint(error.to_string()))?;
        std::fs::write(&spec_path, json + "\n").map_err(|error| LearnError::io(&spec_path, error))?;
        self.model.save(&folder.join("model.safetensors"))
    }

    /// Samples one action after `entries`: the context window, then tokens until the end of
    /// the action or the cap, each drawn from `rng` under `sampling`.
    ///
    /// # Errors
    /// A candle failure.
    pub fn sample(
        &self,
        entries: &[Entry],
        sampling: &Sampling,
        rng: &mut StreamRng,
    ) -> Result<ActionTokens, LearnError> {
        let prompt_ids = self.spec.context.prompt_ids(entries);
        let mut sequence = prompt_ids.clone();
        let mut state = self.state_after(&sequence, sequence.len(), None)?;
        let mut token_ids = Vec::with_capacity(self.spec.max_action_tokens);
        let mut logprobs = Vec::with_capacity(self.spec.max_action_tokens);
        loop {
            let (token, logprob) = sampling.sample(&state.1, rng);
            token_ids.push(token);
            logprobs.push(logprob);
            if token == END_OF_ACTION || token == ACT || token_ids.len() == self.spec.max_action_tokens {
                break;
            }
            sequence.push(token);
            state = self.state_after(&sequence, 1, Some(&state))?;
        }
        Ok(ActionTokens::new(prompt_ids, token_ids, logprobs))
    }

    /// The action of one episode's turn, with its tokens.
    ///
    /// # Errors
    /// A candle failure.
    pub fn act(&self, entries: &[Entry], seed: u64, turn: u32, sampling: &Sampling) -> Result<Action, LearnError> {
        let mut rng = stream_indexed(seed, "policy", u64::from(turn));
        let tokens = self.sample(entries, sampling, &mut rng)?;
        Ok(Action {
            text: Cow::Owned(action_text(&tokens.token_ids)),
            tokens: Some(Box::new(tokens)),
            truncation: None,
        })
    }
}

/// A checkpoint playing through the ordinary agent contract.
#[derive(Debug, Clone)]
pub struct PolicyAgent {
    policy: Arc<Policy>,
}

impl PolicyAgent {
    pub fn new(policy: Arc<Policy>) -> Self {
        Self { policy }
    }
}

impl Agent for PolicyAgent {
    fn act(&mut self, views: &[AgentView<'_>]) -> Result<Vec<Action>, AgentError> {
        let policy = &self.policy;
        views
            .par_iter()
            .map(|view| {
                policy
                    .act(view.transcript.entries(), view.episode.seed, view.turn, &policy.spec.sampling)
                    .map_err(|error| Box::new(error) as AgentError)
            })
            .collect()
    }
}

/// A factory of agents sharing one loaded checkpoint, for `--agent policy:<folder>`.
///
/// # Errors
/// The checkpoint cannot be loaded.
pub fn factory(folder: &Path) -> Result<Box<dyn Fn() -> Box<dyn Agent> + Sync>, LearnError> {
    let policy = Arc::new(Policy::load(folder, &Device::Cpu)?);
    Ok(Box::new(move || Box::new(PolicyAgent::new(Arc::clone(&policy)))))
}
