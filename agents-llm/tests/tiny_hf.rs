//! A tiny randomly initialised llama model in Hugging Face layout, written by the test itself
//! (weights from a seeded ChaCha stream): loading, cache correctness, uneven batches, and the
//! agent's token-in/token-out records and KV reuse. Needs no download.

use std::sync::{Arc, Mutex};

use agents_llm::model::{Model, SequenceInput};
use agents_llm::tiny::{HEADS, HIDDEN, KV_HEADS, LAYERS};
use agents_llm::{LanguageModel, LlmAgent, LlmConfig, Sampling, TurnLog};
use candle_core::Device;
use envs::twenty_questions::TwentyQuestions;
use sim_core::{Action, AgentError, AgentView, Environment, EpisodeRecord, Kind, RunPlan, run_episodes};

fn tiny_model() -> (tempfile::TempDir, Arc<LanguageModel>) {
    let dir = tempfile::tempdir().unwrap();
    agents_llm::tiny::write_random_model(dir.path(), 7).unwrap();
    let model = LanguageModel::load(dir.path(), &Device::Cpu).unwrap();
    (dir, Arc::new(model))
}

fn assert_close(a: &[f32], b: &[f32], tolerance: f32) {
    assert_eq!(a.len(), b.len());
    let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    assert!(worst <= tolerance, "logits differ by {worst}");
}

fn last_logits(model: &Model, chunks: &[&[u32]]) -> Vec<f32> {
    let mut cache = model.new_cache();
    let mut logits = Vec::new();
    for chunk in chunks {
        logits = model.forward(&mut [SequenceInput { cache: &mut cache, tokens: chunk }]).unwrap().remove(0);
    }
    assert_eq!(cache.len(), chunks.iter().map(|c| c.len()).sum::<usize>());
    logits
}

#[test]
fn the_config_and_tokenizer_load_and_round_trip() {
    let (_dir, model) = tiny_model();
    let config = model.model.config();
    assert_eq!((config.layers, config.heads, config.kv_heads, config.hidden_size), (LAYERS, HEADS, KV_HEADS, HIDDEN));
    let text = "<|im_start|>user\nIs it a café? 42<|im_end|>";
    let ids = agents_llm::tokenizer::encode(&model.tokenizer, text).unwrap();
    assert_eq!(ids[0], model.tokenizer.token_to_id("<|im_start|>").unwrap());
    assert_eq!(*ids.last().unwrap(), model.end_of_turn);
    assert_eq!(model.tokenizer.decode(&ids, false).unwrap(), text);
}

#[test]
fn cached_decoding_equals_one_full_forward() {
    let (_dir, model) = tiny_model();
    let tokens: Vec<u32> = (0..13).map(|i| (i * 37 + 5) % 250).collect();
    let full = last_logits(&model.model, &[&tokens]);
    let split = last_logits(&model.model, &[&tokens[..5], &tokens[5..9], &tokens[9..12], &tokens[12..]]);
    // This model's dense f32 layers run on candle, whose sums may be ordered differently for a
    // different number of rows; a key that differs in its last f32 bits can round to a
    // neighbouring f16 in the cache, so the logits agree to about 1e-4, not bit for bit.
    assert_close(&full, &split, 5e-4);
    let one_by_one: Vec<&[u32]> = tokens.chunks(1).collect();
    assert_close(&full, &last_logits(&model.model, &one_by_one), 5e-4);
}

#[test]
fn uneven_sequences_in_one_batch_match_each_alone() {
    let (_dir, model) = tiny_model();
    let long: Vec<u32> = (0..11).map(|i| (i * 17 + 3) % 250).collect();
    let short: Vec<u32> = vec![40, 41, 42];
    let (mut a, mut b) = (model.model.new_cache(), model.model.new_cache());
    let together = model
        .model
        .forward(&mut [SequenceInput { cache: &mut a, tokens: &long }, SequenceInput { cache: &mut b, tokens: &short }])
        .unwrap();
    assert_close(&together[0], &last_logits(&model.model, &[&long]), 1e-5);
    assert_close(&together[1], &last_logits(&model.model, &[&short]), 1e-5);
    // Decode one more token each, at different positions.
    let next = model
        .model
        .forward(&mut [SequenceInput { cache: &mut a, tokens: &[7] }, SequenceInput { cache: &mut b, tokens: &[9] }])
        .unwrap();
    assert_close(&next[0], &last_logits(&model.model, &[&long, &[7]]), 1e-5);
    assert_close(&next[1], &last_logits(&model.model, &[&short, &[9]]), 1e-5);
}

fn play(model: &Arc<LanguageModel>, config: &LlmConfig, episodes: u64, batch_size: usize) -> Vec<EpisodeRecord> {
    let kind = envs::registry().make("twenty_questions-v0", Some("(max_questions: 4)")).unwrap();
    let plan = RunPlan { seed: 11, first_episode: 0, episodes, batch_size, threads: 1, ..Default::default() };
    let factory = || -> Box<dyn sim_core::Agent> {
        Box::new(LlmAgent::new(Arc::clone(model), config.clone(), TwentyQuestions::LLM_LEAD))
    };
    let mut records = Vec::new();
    run_episodes(&kind, &plan, &factory, &mut |record| {
        records.push(record);
        Ok(())
    })
    .unwrap();
    records.sort_by_key(|r| r.episode);
    records
}

#[test]
fn actions_carry_their_tokens_and_the_sequence_is_append_only() {
    let (_dir, model) = tiny_model();
    let config = LlmConfig { max_new_tokens: 6, ..LlmConfig::default() };
    let records = play(&model, &config, 3, 3);
    for record in &records {
        let mut sequence: Vec<u32> = Vec::new();
        for entry in record.transcript.entries().iter().filter(|e| e.kind == Kind::Action) {
            let tokens = entry.tokens.as_ref().expect("every action carries its tokens");
            assert!(!tokens.prompt_ids.is_empty() && !tokens.token_ids.is_empty());
            assert!(tokens.token_ids.len() <= 6);
            assert_eq!(tokens.token_ids.len(), tokens.logprobs.len());
            assert!(tokens.logprobs.iter().all(|l| l.is_finite() && *l <= 0.0));
            assert_eq!(tokens.loss_mask.len(), tokens.prompt_ids.len() + tokens.token_ids.len());
            assert!(tokens.loss_mask[..tokens.prompt_ids.len()].iter().all(|&m| m == 0));
            assert!(tokens.loss_mask[tokens.prompt_ids.len()..].iter().all(|&m| m == 1));
            let generated = agents_llm::tokenizer::decode(&model.tokenizer, &tokens.token_ids).unwrap();
            assert_eq!(entry.text, agents_llm::template::action_format(TwentyQuestions::LLM_LEAD).action(&generated));
            sequence.extend(&tokens.prompt_ids);
            sequence.extend(&tokens.token_ids);
        }
        // The first turn's prompt is the system message's rendering.
        let first = record.transcript.entries().iter().find(|e| e.kind == Kind::Action).unwrap();
        let prompt = model.tokenizer.decode(&first.tokens.as_ref().unwrap().prompt_ids, false).unwrap();
        assert!(prompt.starts_with("<|im_start|>system\n"), "{prompt}");
        assert!(prompt.contains("<|im_start|>user\nLet's play Twenty Questions."), "{prompt}");
        assert!(prompt.ends_with("<|im_start|>assistant\nIs it"), "the prompt ends with the lead: {prompt}");
        assert!(!sequence.is_empty());
    }
}

/// Wraps the agent to keep its turn log.
struct Recording {
    agent: LlmAgent,
    log: Arc<Mutex<Vec<TurnLog>>>,
}

impl sim_core::Agent for Recording {
    fn act(&mut self, views: &[AgentView<'_>]) -> Result<Vec<Action>, AgentError> {
        let actions = self.agent.act(views)?;
        *self.log.lock().unwrap() = self.agent.turn_log().to_vec();
        Ok(actions)
    }
}

#[test]
fn each_turn_prefills_only_the_tokens_added_since_the_last() {
    let (_dir, model) = tiny_model();
    let config = LlmConfig { max_new_tokens: 5, ..LlmConfig::default() };
    let kind = envs::registry().make("twenty_questions-v0", Some("(max_questions: 4)")).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let factory = || -> Box<dyn sim_core::Agent> {
        Box::new(Recording {
            agent: LlmAgent::new(Arc::clone(&model), config.clone(), TwentyQuestions::LLM_LEAD),
            log: Arc::clone(&log),
        })
    };
    let plan = RunPlan { seed: 3, first_episode: 0, episodes: 2, batch_size: 2, threads: 1, ..Default::default() };
    run_episodes(&kind, &plan, &factory, &mut |_| Ok(())).unwrap();
    let log = log.lock().unwrap().clone();
    for episode in 0..2 {
        let turns: Vec<_> = log.iter().filter(|l| l.episode == episode).collect();
        assert_eq!(turns.len(), 4, "four questions");
        assert_eq!(turns[0].cached_before, 0);
        assert_eq!(turns[0].prefilled, turns[0].prompt_tokens);
        for pair in turns.windows(2) {
            let (previous, turn) = (pair[0], pair[1]);
            // Everything of the previous turn is cached but its last sampled token.
            assert_eq!(turn.cached_before, previous.cached_before + previous.prefilled + previous.generated - 1);
            // The pre-fill is exactly the tokens added since: that token and the new prompt.
            assert_eq!(turn.prefilled, turn.prompt_tokens + 1);
            assert!(turn.prompt_tokens < turns[0].prompt_tokens, "a later turn does not re-render the rules");
        }
    }
}

#[test]
fn sampling_with_temperature_repeats_for_the_same_seed() {
    let (_dir, model) = tiny_model();
    let config =
        LlmConfig { sampling: Sampling { temperature: 1.0, top_p: 0.9 }, max_new_tokens: 6, ..LlmConfig::default() };
    let first = play(&model, &config, 3, 2);
    let second = play(&model, &config, 3, 2);
    assert_eq!(first, second);
    let actions: Vec<_> = first.iter().flat_map(EpisodeRecord::actions).collect();
    assert!(actions.windows(2).any(|w| w[0] != w[1]), "sampling varies between turns: {actions:?}");
}

/// The tiny model with its context cut to `positions` tokens.
fn tiny_model_with_context(positions: usize) -> (tempfile::TempDir, Arc<LanguageModel>) {
    let dir = tempfile::tempdir().unwrap();
    agents_llm::tiny::write_random_model(dir.path(), 7).unwrap();
    let path = dir.path().join("config.json");
    let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["max_position_embeddings"] = positions.into();
    std::fs::write(&path, config.to_string()).unwrap();
    let model = LanguageModel::load(dir.path(), &Device::Cpu).unwrap();
    (dir, Arc::new(model))
}

/// Per action of the record: the episode's sequence length once that turn's prompt is added.
fn lengths_with_prompt(record: &EpisodeRecord) -> Vec<usize> {
    let mut length = 0;
    let mut lengths = Vec::new();
    for entry in record.transcript.entries().iter().filter(|e| e.kind == Kind::Action) {
        let tokens = entry.tokens.as_ref().unwrap();
        lengths.push(length + tokens.prompt_ids.len());
        length += tokens.prompt_ids.len() + tokens.token_ids.len();
    }
    lengths
}

#[test]
fn an_episode_that_outgrows_the_context_ends_truncated_and_the_run_goes_on() {
    let max_new_tokens = 6;
    let config = LlmConfig { max_new_tokens, ..LlmConfig::default() };
    let (_dir, roomy) = tiny_model();
    let full = play(&roomy, &config, 4, 4);
    let lengths: Vec<Vec<usize>> = full.iter().map(lengths_with_prompt).collect();
    assert!(lengths.iter().all(|l| l.len() >= 3), "every episode plays at least three turns");
    // Room for every episode's second turn, not for the longest third one.
    let context = lengths.iter().map(|l| l[1]).max().unwrap() + max_new_tokens;
    assert!(lengths.iter().any(|l| l[2] + max_new_tokens > context));
    let (_dir, small) = tiny_model_with_context(context);
    let cut = play(&small, &config, 4, 4);
    assert_eq!(cut.len(), 4, "the run finishes every episode");
    let mut truncated = 0;
    for ((short, long), lengths) in cut.iter().zip(&full).zip(&lengths) {
        // The turn that first does not fit is where the episode ends.
        let fits = lengths.iter().take_while(|&&l| l + max_new_tokens <= context).count();
        if fits < lengths.len() {
            truncated += 1;
            assert_eq!((short.ending.as_str(), short.truncated, short.terminated), ("context_full", true, false));
            assert_eq!(short.turns as usize, fits);
            assert_eq!(short.actions(), long.actions()[..fits], "the turns that fit are played as before");
        } else {
            assert_eq!(short.actions(), long.actions());
            assert_eq!(short.ending, long.ending);
        }
    }
    assert!(truncated >= 1);
}
