//! Engine mechanics on two tiny envs written against sim-core alone: turn cap, autoreset
//! modes, several env kinds in one world, and the conformance checker itself.

use std::borrow::Cow;
use std::sync::Arc;

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sim_core::conformance::{ConformanceOptions, check_env};
use sim_core::prelude::*;
use sim_core::seed::stream;
use sim_core::{EngineError, RunPlan, Simulator, kind};

/// Guess a number in 1..=9; "higher"/"lower" hints; invalid input costs −1.
struct GuessNumber;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GuessConfig {
    max_turns: u32,
}

#[derive(Component)]
struct Secret(u32);

#[derive(Component, Default)]
struct Guess(Option<u32>);

fn read_guess(mut episodes: Query<(&AgentAction, &mut Guess), With<Secret>>) {
    for (action, mut guess) in &mut episodes {
        if let Some(text) = action.pending() {
            guess.0 = text.trim().parse().ok().filter(|n| (1..=9).contains(n));
        }
    }
}

fn hint(mut episodes: Query<(&AgentAction, &Guess, &Secret, &mut Reply, &mut Outcome)>) {
    for (action, guess, secret, mut reply, mut outcome) in &mut episodes {
        if action.pending().is_none() {
            continue;
        }
        let (text, reward) = match guess.0 {
            None => ("Say one digit from 1 to 9.", -1.0),
            Some(n) if n < secret.0 => ("higher", -0.1),
            Some(n) if n > secret.0 => ("lower", -0.1),
            Some(_) => ("correct", 1.0),
        };
        reply.set(Speaker::Partner, Kind::Observation, text);
        outcome.reward = reward;
        outcome.invalid_action = guess.0.is_none();
        outcome.terminated = reward == 1.0;
        outcome.success = outcome.terminated;
    }
}

impl Environment for GuessNumber {
    type Config = GuessConfig;
    const ID: &'static str = "guess_number-v0";

    fn spec(config: &GuessConfig) -> EnvSpec {
        EnvSpec {
            id: Self::ID.into(),
            max_turns: config.max_turns.max(1),
            reward_range: (-1.0, 1.0),
            score_anchors: None,
            description: "test env".into(),
            metrics: Vec::new(),
        }
    }

    fn spawn(_: &GuessConfig, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        entity.insert((Secret(stream(episode.seed, "secret").random_range(1..=9)), Guess::default()));
        Cow::Borrowed("Guess my digit.")
    }

    fn add_systems(schedule: &mut Schedule) {
        schedule.add_systems((read_guess.in_set(StepSet::Act), hint.in_set(StepSet::Score)));
    }

    fn hidden_state(entity: EntityRef) -> Vec<String> {
        entity.get::<Secret>().map(|s| vec![format!("secret {}", s.0)]).unwrap_or_default()
    }

    fn sample_actions(_: &GuessConfig) -> Vec<String> {
        (1..=9).map(|n| n.to_string()).collect()
    }
}

/// Echoes the action; never ends by itself (only the turn cap ends it).
struct Echo;

#[derive(Component)]
struct EchoMarker;

fn echo(mut episodes: Query<(&AgentAction, &mut Reply, &mut Outcome), With<EchoMarker>>) {
    for (action, mut reply, mut outcome) in &mut episodes {
        if let Some(text) = action.pending() {
            let shown = if text.trim().is_empty() || text.len() > 1000 {
                "(invalid)".to_owned()
            } else {
                format!("echo: {text}")
            };
            outcome.invalid_action = shown == "(invalid)";
            reply.set(Speaker::Env, Kind::Observation, shown);
        }
    }
}

impl Environment for Echo {
    type Config = GuessConfig;
    const ID: &'static str = "echo-v0";

    fn spec(config: &GuessConfig) -> EnvSpec {
        EnvSpec {
            id: Self::ID.into(),
            max_turns: config.max_turns.max(1),
            reward_range: (0.0, 0.0),
            score_anchors: None,
            description: "echo".into(),
            metrics: Vec::new(),
        }
    }

    fn spawn(_: &GuessConfig, _: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        entity.insert(EchoMarker);
        Cow::Borrowed("Say anything.")
    }

    fn add_systems(schedule: &mut Schedule) {
        schedule.add_systems(echo.in_set(StepSet::Observe));
    }

    fn hidden_state(_: EntityRef) -> Vec<String> {
        Vec::new()
    }

    fn sample_actions(_: &GuessConfig) -> Vec<String> {
        vec!["hello".into()]
    }
}

fn guess_number(max_turns: u32) -> Arc<dyn EnvKind> {
    kind::<GuessNumber>(GuessConfig { max_turns }).unwrap()
}

#[test]
fn an_agent_can_truncate_an_episode_without_stepping_it() {
    let mut env = GymEnv::new(guess_number(5));
    let _ = env.reset(Some(1));
    let first = env.step("junk");
    let step = env.step(Action::truncate_episode("context_full"));
    assert!(step.truncated && !step.terminated, "{step:?}");
    assert_eq!((step.reward, step.info.turn, step.observation.as_ref()), (0.0, 1, first.observation.as_ref()));
    assert!(matches!(env.try_step("5".into()), Err(EngineError::EpisodeFinished { .. })));

    // In a batched run the other episodes go on; the record keeps the agent's reason.
    struct GiveUpOnOddEpisodes;
    impl PerViewAgent for GiveUpOnOddEpisodes {
        fn act_one(&mut self, view: &AgentView<'_>) -> Action {
            match (view.episode.index % 2, view.turn) {
                (1, 1) => Action::truncate_episode("context_full"),
                _ => Action::fixed("junk"),
            }
        }
    }
    let plan = RunPlan { seed: 3, first_episode: 0, episodes: 4, batch_size: 4, threads: 1, ..Default::default() };
    let mut records = Vec::new();
    sim_core::run_episodes(&guess_number(3), &plan, &|| Box::new(GiveUpOnOddEpisodes), &mut |record| {
        records.push(record);
        Ok(())
    })
    .unwrap();
    records.sort_by_key(|record| record.episode);
    let summary: Vec<(&str, u32, bool)> =
        records.iter().map(|record| (record.ending.as_str(), record.turns, record.truncated)).collect();
    assert_eq!(
        summary,
        [("truncated", 3, true), ("context_full", 1, true), ("truncated", 3, true), ("context_full", 1, true)]
    );
    assert!(records.iter().all(|record| record.rewards.len() == record.turns as usize && !record.terminated));
}

#[test]
fn turn_cap_truncates_and_no_step_after_end() {
    let mut env = GymEnv::new(guess_number(3));
    let _ = env.reset(Some(1));
    let steps: Vec<Step> = (0..3).map(|_| env.step("junk")).collect();
    assert!(steps.iter().all(|s| s.info.invalid_action && s.reward == -1.0));
    assert!(!steps[1].done());
    assert!(steps[2].truncated && !steps[2].terminated);
    assert!(matches!(env.try_step("5".into()), Err(EngineError::EpisodeFinished { .. })));
    let episode = Episode { index: 0, seed: sim_core::seed::episode_seed(1, 0) };
    let record = sim_core::replay(guess_number(3).as_ref(), episode, &["junk".into(), "junk".into(), "junk".into()]);
    assert_eq!((record.ending.as_str(), record.turns, record.episode_return), ("truncated", 3, -3.0));
    let unlabelled =
        sim_core::replay(guess_number(9).as_ref(), episode, &(1..=9).map(|n| n.to_string()).collect::<Vec<_>>());
    assert_eq!(unlabelled.ending, "terminated", "an env that sets no ending gets the generic one");
}

#[test]
fn binary_search_wins_and_terminates() {
    let mut env = GymEnv::new(guess_number(9));
    let _ = env.reset(Some(5));
    let (mut low, mut high) = (1, 9);
    loop {
        let mid = (low + high) / 2;
        let step = env.step(mid.to_string());
        match step.observation.as_ref() {
            "higher" => low = mid + 1,
            "lower" => high = mid - 1,
            "correct" => {
                assert!(step.terminated && !step.truncated && step.info.success);
                break;
            }
            other => panic!("unexpected {other}"),
        }
    }
}

#[test]
fn reset_none_continues_the_episode_sequence() {
    let mut a = GymEnv::new(guess_number(3));
    let first = a.reset(Some(9));
    let second = a.reset(None);
    assert_eq!(first.info.episode, 0);
    assert_eq!(second.info.episode, 1);
}

#[test]
fn next_step_autoreset_ignores_the_action_and_gives_zero_reward() {
    let mut batch = VecEnv::new(guess_number(1), 2, AutoresetMode::NextStep);
    let _ = batch.reset(3);
    let ended = batch.step(vec!["x".into(), "y".into()]).unwrap();
    assert!(ended.iter().all(|s| s.truncated));
    let restarted = batch.step(vec!["x".into(), "y".into()]).unwrap();
    for step in &restarted {
        assert!(step.info.autoreset && step.reward == 0.0 && !step.done());
        assert_eq!(step.observation, "Guess my digit.");
    }
    assert_eq!(restarted[0].info.episode, 2);
    assert_eq!(restarted[1].info.episode, 3);
}

#[test]
fn same_step_autoreset_keeps_the_terminal_observation() {
    let mut batch = VecEnv::new(guess_number(1), 1, AutoresetMode::SameStep);
    let _ = batch.reset(3);
    let step = batch.step(vec!["junk".into()]).unwrap().remove(0);
    assert!(step.truncated && step.info.autoreset);
    assert_eq!(step.reward, -1.0);
    assert_eq!(step.info.final_observation.as_deref(), Some("Say one digit from 1 to 9."));
    assert_eq!(step.observation, "Guess my digit.");
}

#[test]
fn disabled_autoreset_refuses_ended_slots_until_reset() {
    let mut batch = VecEnv::new(guess_number(1), 2, AutoresetMode::Disabled);
    let _ = batch.reset(3);
    let _ = batch.step(vec!["a".into(), "b".into()]).unwrap();
    assert!(matches!(batch.step_some(vec![(1, "c".into())]), Err(EngineError::EpisodeFinished { .. })));
    let resets = batch.reset_slots(&[1]).unwrap();
    assert_eq!(resets[0].observation, "Guess my digit.");
    assert!(batch.step_some(vec![(1, "c".into())]).is_ok());
    assert!(matches!(batch.step_some(vec![(5, "c".into())]), Err(EngineError::UnknownSlot { .. })));
    assert!(matches!(
        batch.step_some(vec![(0, "c".into()), (0, "d".into())]),
        Err(EngineError::DuplicateAction { .. })
    ));
}

#[test]
fn two_env_kinds_share_one_world_without_interfering() {
    let guess = guess_number(5);
    let echo = kind::<Echo>(GuessConfig { max_turns: 5 }).unwrap();
    let episode = Episode { index: 0, seed: 77 };
    let mut shared = Simulator::new();
    let a = shared.spawn(guess.as_ref(), episode);
    let b = shared.spawn(echo.as_ref(), episode);
    let actions: Vec<String> = ["junk", "1", "9"].map(String::from).to_vec();
    for action in &actions {
        if !shared.is_finished(a) {
            shared.submit(a, action.as_str().into()).unwrap();
        }
        shared.submit(b, action.as_str().into()).unwrap();
        shared.run();
    }
    let alone = sim_core::replay(guess.as_ref(), episode, &actions);
    assert_eq!(shared.transcript(a), &alone.transcript);
    assert_eq!(shared.transcript(b).entries()[2].text, "echo: junk");
}

#[test]
fn test_envs_pass_conformance() {
    let options = ConformanceOptions { cases: 3, ..ConformanceOptions::default() };
    check_env(&guess_number(6), &options).unwrap();
    check_env(&kind::<Echo>(GuessConfig { max_turns: 4 }).unwrap(), &options).unwrap();
}

/// An env that leaks its secret must fail the checker.
#[test]
fn conformance_catches_a_leak() {
    struct Leaky;
    fn leak(mut episodes: Query<(&AgentAction, &Secret, &mut Reply)>) {
        for (action, secret, mut reply) in &mut episodes {
            if action.pending().is_some() {
                reply.set(Speaker::Env, Kind::Observation, format!("the secret {} is here", secret.0));
            }
        }
    }
    impl Environment for Leaky {
        type Config = GuessConfig;
        const ID: &'static str = "leaky-v0";
        fn spec(c: &GuessConfig) -> EnvSpec {
            GuessNumber::spec(c)
        }
        fn spawn(c: &GuessConfig, e: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
            GuessNumber::spawn(c, e, entity)
        }
        fn add_systems(schedule: &mut Schedule) {
            schedule.add_systems(leak.in_set(StepSet::Observe));
        }
        fn hidden_state(entity: EntityRef) -> Vec<String> {
            GuessNumber::hidden_state(entity)
        }
        fn sample_actions(c: &GuessConfig) -> Vec<String> {
            GuessNumber::sample_actions(c)
        }
    }
    let leaky = kind::<Leaky>(GuessConfig { max_turns: 2 }).unwrap();
    let options = ConformanceOptions { cases: 1, episodes: 4, batch_sizes: vec![1], threads: vec![1] };
    let error = sim_core::conformance::check_batched_runs(&leaky, &options).unwrap_err();
    assert!(error.contains("hidden state"), "{error}");
}

/// Token ids and log-probabilities given with an action reach the transcript and the JSON
/// record unchanged; actions without them serialise no `tokens` field.
#[test]
fn action_tokens_are_recorded() {
    use sim_core::{Action, ActionTokens};
    let kind = guess_number(2);
    let mut env = GymEnv::new(kind.clone());
    let _ = env.reset(Some(4));
    let tokens = ActionTokens::new(vec![1, 2, 3], vec![20], vec![-0.25]);
    assert_eq!(tokens.loss_mask, [0, 0, 0, 1]);
    let _ = env.step(Action { text: "5".into(), tokens: Some(Box::new(tokens.clone())), truncation: None });
    let _ = env.step("5");
    let entries = env.transcript().unwrap().entries();
    assert_eq!(entries[1].tokens.as_deref(), Some(&tokens));
    let json = serde_json::to_string(&entries[1]).unwrap();
    assert!(
        json.contains(r#""tokens":{"prompt_ids":[1,2,3],"token_ids":[20],"logprobs":[-0.25],"loss_mask":[0,0,0,1]}"#),
        "{json}"
    );
    assert!(!serde_json::to_string(&entries[3]).unwrap().contains("tokens"));
}
