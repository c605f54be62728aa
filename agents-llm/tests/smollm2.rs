//! The real model: SmolLM2-135M-Instruct (fetched into the model cache on first use, checked
//! by sha256, re-quantized to Q8_0) plays short Twenty Questions episodes.

use std::sync::{Arc, OnceLock};

use agents_llm::{LanguageModel, LlmAgent, LlmConfig, Sampling};
use candle_core::Device;
use envs::twenty_questions::TwentyQuestions;
use sim_core::{Environment, EpisodeRecord, Kind, RunPlan, run_episodes};

fn model() -> Arc<LanguageModel> {
    static MODEL: OnceLock<Arc<LanguageModel>> = OnceLock::new();
    Arc::clone(MODEL.get_or_init(|| Arc::new(LanguageModel::smollm2(&Device::Cpu).expect("fetch and load SmolLM2"))))
}

fn play(config: &LlmConfig, seed: u64, episodes: u64, batch_size: usize) -> Vec<EpisodeRecord> {
    let model = model();
    let kind = envs::registry().make("twenty_questions-v0", Some("(max_questions: 3)")).unwrap();
    let plan = RunPlan { seed, first_episode: 0, episodes, batch_size, threads: 1, ..Default::default() };
    let factory = || -> Box<dyn sim_core::Agent> {
        Box::new(LlmAgent::new(Arc::clone(&model), config.clone(), TwentyQuestions::LLM_LEAD))
    };
    let mut records: Vec<EpisodeRecord> = Vec::new();
    run_episodes(&kind, &plan, &factory, &mut |record| {
        records.push(record);
        Ok(())
    })
    .unwrap();
    records.sort_by_key(|r| r.episode);
    records
}

fn greedy() -> LlmConfig {
    LlmConfig { sampling: Sampling::GREEDY, max_new_tokens: 20, ..LlmConfig::default() }
}

#[test]
fn the_gguf_tokenizer_round_trips_and_splits_digits() {
    let model = model();
    for text in ["Is it a bicycle?", "<|im_start|>user\nNo.<|im_end|>\n", "  spaces, café, 2026 and émojis 🙂"] {
        let ids = agents_llm::tokenizer::encode(&model.tokenizer, text).unwrap();
        assert_eq!(model.tokenizer.decode(&ids, false).unwrap(), text);
    }
    let ids = agents_llm::tokenizer::encode(&model.tokenizer, "<|im_start|>2026<|im_end|>").unwrap();
    assert_eq!(ids.len(), 6, "one token per digit between the two special tokens: {ids:?}");
    assert_eq!(ids[5], 2, "<|im_end|> is token 2");
    assert_eq!(model.end_of_turn, 2);
}

#[test]
fn smollm2_asks_well_formed_questions_recorded_with_their_tokens() {
    let records = play(&greedy(), 0, 3, 3);
    let mut actions = 0;
    let mut invalid = 0;
    for record in &records {
        invalid += record.invalid_actions;
        for entry in record.transcript.entries().iter().filter(|e| e.kind == Kind::Action) {
            actions += 1;
            assert!(!entry.text.is_empty() && !entry.text.contains('\n'), "{:?}", entry.text);
            let tokens = entry.tokens.as_ref().expect("token ids recorded with every action");
            assert!(!tokens.token_ids.is_empty() && tokens.token_ids.len() <= 20);
            assert_eq!(tokens.token_ids.len(), tokens.logprobs.len());
            assert_eq!(tokens.loss_mask.len(), tokens.prompt_ids.len() + tokens.token_ids.len());
            let text = agents_llm::tokenizer::decode(&model().tokenizer, &tokens.token_ids).unwrap();
            assert_eq!(entry.text, agents_llm::template::action_format(TwentyQuestions::LLM_LEAD).action(&text));
        }
        let questions: Vec<&str> = record.transcript.actions().collect();
        assert!(questions.iter().all(|q| q.ends_with('?')), "questions: {questions:?}");
    }
    assert_eq!(actions, 9, "three episodes of three questions");
    // Measured (greedy, seed 0): with the template's "Is it" lead SmolLM2-135M asks "Is it a
    // question?" on every turn: well formed (the oracle takes it as a yes/no question), though
    // useless. Without the lead it chatted ("I'm ready to play. What's your next question?"),
    // which the oracle refuses.
    assert_eq!(invalid, 0, "{invalid} invalid of {actions}");
    for record in &records {
        let entries = record.transcript.entries();
        for (index, _) in entries.iter().enumerate().filter(|(_, e)| e.kind == Kind::Action) {
            assert!(entries.get(index + 1).is_some_and(|reply| reply.kind != Kind::Action), "the env answered");
        }
    }
}

#[test]
fn the_same_seed_and_batch_size_repeat_with_temperature() {
    let config =
        LlmConfig { sampling: Sampling { temperature: 0.9, top_p: 0.95 }, max_new_tokens: 16, ..LlmConfig::default() };
    let first = play(&config, 5, 3, 3);
    assert_eq!(first, play(&config, 5, 3, 3));
    let actions: Vec<String> = first.iter().flat_map(EpisodeRecord::actions).collect();
    assert!(actions.iter().any(|a| actions.iter().filter(|b| *b == a).count() == 1), "{actions:?}");
}

#[test]
fn batch_size_one_and_eight_give_the_same_greedy_episodes() {
    let batched = play(&greedy(), 9, 8, 8);
    let alone = play(&greedy(), 9, 8, 1);
    assert_eq!(batched.len(), 8);
    assert_eq!(batched, alone);
}
