//! The conformance checker every registered env is tested with (Gymnasium's `check_env`,
//! stricter). It drives the env only through sim-core's public APIs, with proptest choosing
//! seeds and action strings, and checks the contracts of `DESIGN.md` §3:
//!
//! 1. `reset` with a seed is deterministic;
//! 2. the same seeds and actions give byte-identical records under every batch size and
//!    thread count asked for;
//! 3. any string (empty, 100 KB, control characters, arbitrary unicode) is handled: no
//!    panic, a non-empty observation, a finite reward inside the spec's range; empty,
//!    blank and 100 KB actions are flagged `invalid_action`;
//! 4. no step is accepted after the end, and the transcript is unchanged by the refusal;
//! 5. no declared hidden string appears (as whole words, any case) in what the env says;
//! 6. replaying (seed, actions) in a fresh world reproduces the record;
//! 7. an action over the maximum size ([`crate::limit`]) is refused as the empty action is (same
//!    penalty and flags), flagged `invalid_action`, and stored clipped; one at the limit is
//!    stored whole.
//! 8. an episode records only metrics its spec declares as means, with finite values, and
//!    every declared ratio names two declared means.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use crate::env::{EnvKind, Episode};
use crate::error::EngineError;
use crate::gym::{Env, GymEnv};
use crate::limit::{DEFAULT_MAX_ACTION_BYTES, clip_action};
use crate::record::EpisodeRecord;
use crate::rollout::{AgentView, PerViewAgent, RunPlan, replay, run_episodes};
use crate::step::Step;
use crate::transcript::{Action, Speaker};

/// How hard to check.
#[derive(Debug, Clone)]
pub struct ConformanceOptions {
    /// Proptest cases per property.
    pub cases: u32,
    /// Episodes per scripted run (more than the largest batch size, so slots are refilled).
    pub episodes: u64,
    pub batch_sizes: Vec<usize>,
    pub threads: Vec<usize>,
}

impl Default for ConformanceOptions {
    fn default() -> Self {
        Self { cases: 6, episodes: 80, batch_sizes: vec![1, 7, 64], threads: vec![1, 2] }
    }
}

/// An agent that plays fixed action lists: episode `i` plays `scripts[i][turn % len]`.
#[derive(Clone)]
pub struct ScriptedAgent {
    scripts: Arc<BTreeMap<u64, Vec<String>>>,
}

impl ScriptedAgent {
    pub fn new(scripts: BTreeMap<u64, Vec<String>>) -> Self {
        Self { scripts: Arc::new(scripts) }
    }
}

impl PerViewAgent for ScriptedAgent {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let script = self.scripts.get(&view.episode.index).map(Vec::as_slice).unwrap_or_default();
        let text = if script.is_empty() { String::new() } else { script[view.turn as usize % script.len()].clone() };
        Action::from(text)
    }
}

/// Action strings: mostly the env's well-formed samples, plus every kind of junk.
pub fn action_strategy(samples: Vec<String>) -> BoxedStrategy<String> {
    let samples = if samples.is_empty() { vec![String::from("noop")] } else { samples };
    prop_oneof![
        6 => proptest::sample::select(samples),
        1 => Just(String::new()),
        1 => Just(" \t\n ".to_owned()),
        1 => Just("x".repeat(100_000)),
        1 => Just("\u{0}\u{7}\u{1b}[2J\r\n?\u{feff}\u{fffd}".to_owned()),
        1 => "\\PC{0,60}",
        1 => proptest::collection::vec(any::<char>(), 0..40).prop_map(|chars| chars.into_iter().collect()),
    ]
    .boxed()
}

fn run_config(cases: u32) -> Config {
    Config { cases, failure_persistence: None, max_shrink_iters: 32, ..Config::default() }
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new_with_rng(run_config(cases), TestRng::deterministic_rng(RngAlgorithm::ChaCha))
}

fn failure<T: std::fmt::Debug>(property: &str, error: TestError<T>) -> String {
    match error {
        TestError::Fail(reason, _) => format!("{property}: {reason}"),
        TestError::Abort(reason) => format!("{property}: aborted: {reason}"),
    }
}

/// Runs every check; `Err` describes the first contract broken.
///
/// # Errors
/// A human-readable description of the failed property.
pub fn check_env(kind: &Arc<dyn EnvKind>, options: &ConformanceOptions) -> Result<(), String> {
    check_reset_determinism(kind, options.cases)?;
    check_invalid_actions(kind)?;
    check_action_limit(kind)?;
    check_no_step_after_end(kind)?;
    check_batched_runs(kind, options)?;
    Ok(())
}

/// Contract 1.
///
/// # Errors
/// When two resets with one seed differ.
pub fn check_reset_determinism(kind: &Arc<dyn EnvKind>, cases: u32) -> Result<(), String> {
    runner(cases)
        .run(&any::<u64>(), |seed| {
            let mut first = GymEnv::new(kind.clone());
            let mut second = GymEnv::new(kind.clone());
            let a = first.reset(Some(seed));
            let again = first.reset(Some(seed));
            let b = second.reset(Some(seed));
            prop_assert_eq!(&a, &again, "reset(Some(seed)) twice differs");
            prop_assert_eq!(&a, &b, "two envs reset with one seed differ");
            prop_assert!(!a.observation.is_empty(), "empty opening observation");
            Ok(())
        })
        .map_err(|error| failure("reset determinism", error))
}

/// Contract 3, for the inputs every env must flag.
///
/// # Errors
/// When such an action is not flagged or gets an empty observation.
pub fn check_invalid_actions(kind: &Arc<dyn EnvKind>) -> Result<(), String> {
    for action in [String::new(), " \n\t ".to_owned(), "x".repeat(100_000)] {
        let mut env = GymEnv::new(kind.clone());
        let _ = env.reset(Some(7));
        let step = env.try_step(Action::from(action.clone())).map_err(|e| e.to_string())?;
        let shown: String = action.chars().take(20).collect();
        if !step.info.invalid_action {
            return Err(format!("action {shown:?} (len {}) was not flagged invalid_action", action.len()));
        }
        if step.observation.trim().is_empty() {
            return Err(format!("action {shown:?} got an empty observation"));
        }
        check_reward(kind, step.reward)?;
    }
    Ok(())
}

/// Contract 7: the engine's maximum action size, with the default limit. An over-long action is
/// a well-formed sample action padded past the limit (so an env that read it would accept its
/// start), once just over the limit and once at 1 MiB with multi-byte characters.
///
/// # Errors
/// When an over-long action is read, not penalised like the empty action, not flagged, or not
/// stored clipped; or when an action at the limit is clipped.
pub fn check_action_limit(kind: &Arc<dyn EnvKind>) -> Result<(), String> {
    let max = DEFAULT_MAX_ACTION_BYTES;
    let sample = kind.sample_actions().into_iter().next().unwrap_or_default();
    let first_step = |action: String| -> Result<(Step, String), String> {
        let mut env = GymEnv::new(kind.clone());
        let _ = env.reset(Some(7));
        let step = env.try_step(Action::from(action)).map_err(|e| e.to_string())?;
        let stored = env.transcript().and_then(|t| t.actions().last().map(str::to_owned)).unwrap_or_default();
        Ok((step, stored))
    };
    let (empty, _) = first_step(String::new())?;
    let padded = |len: usize, filler: &str| {
        let mut text = sample.clone();
        while text.len() < len {
            text.push_str(filler);
        }
        text
    };
    for long in [padded(max + 1, " "), padded(1 << 20, "é")] {
        let (step, stored) = first_step(long.clone())?;
        let len = long.len();
        if !step.info.invalid_action {
            return Err(format!("an action of {len} bytes (over the limit) was not flagged invalid_action"));
        }
        if (step.reward, step.terminated, step.truncated) != (empty.reward, empty.terminated, empty.truncated) {
            return Err(format!(
                "an action of {len} bytes got reward {} (terminated {}, truncated {}), the empty action {} ({}, {})",
                step.reward, step.terminated, step.truncated, empty.reward, empty.terminated, empty.truncated
            ));
        }
        if !step.observation.ends_with(empty.observation.as_ref()) || !step.observation.contains("over the limit") {
            return Err(format!("an action of {len} bytes was answered {:?}", step.observation));
        }
        let expected = clip_action(&long, max).map(|clipped| clipped.text.into_owned()).unwrap_or_default();
        if stored != expected {
            return Err(format!("an action of {len} bytes was stored as {} bytes, not clipped", stored.len()));
        }
    }
    let at_limit = padded(max, " ");
    let (_, stored) = first_step(at_limit.clone())?;
    if stored != at_limit {
        return Err(format!("an action of exactly {max} bytes (the limit) was not stored whole"));
    }
    Ok(())
}

fn check_reward(kind: &Arc<dyn EnvKind>, reward: f64) -> Result<(), String> {
    let (low, high) = kind.spec().reward_range;
    if !reward.is_finite() || reward < low || reward > high {
        return Err(format!("reward {reward} outside the declared range [{low}, {high}]"));
    }
    Ok(())
}

/// Contract 4.
///
/// # Errors
/// When a finished episode accepts another step or changes.
pub fn check_no_step_after_end(kind: &Arc<dyn EnvKind>) -> Result<(), String> {
    let samples = kind.sample_actions();
    let mut env = GymEnv::new(kind.clone());
    let _ = env.reset(Some(11));
    let max = kind.spec().max_turns as usize;
    for turn in 0..=max {
        let action = samples.get(turn % samples.len().max(1)).cloned().unwrap_or_default();
        let step = env.try_step(Action::from(action)).map_err(|e| format!("step {turn} refused: {e}"))?;
        if step.terminated && step.truncated {
            return Err("terminated and truncated at once".into());
        }
        if step.done() {
            let before = env.transcript().cloned();
            return match env.try_step(Action::from("one more")) {
                Err(EngineError::EpisodeFinished { .. }) if env.transcript().cloned() == before => Ok(()),
                Err(EngineError::EpisodeFinished { .. }) => Err("a refused step changed the transcript".into()),
                other => Err(format!("a step after the end was not refused: {other:?}")),
            };
        }
    }
    Err(format!("the episode did not end within max_turns = {max}"))
}

fn play(
    kind: &Arc<dyn EnvKind>,
    scripts: &BTreeMap<u64, Vec<String>>,
    seed: u64,
    batch_size: usize,
    threads: usize,
) -> Result<Vec<EpisodeRecord>, String> {
    let agent = ScriptedAgent::new(scripts.clone());
    let plan =
        RunPlan { seed, first_episode: 0, episodes: scripts.len() as u64, batch_size, threads, ..Default::default() };
    let mut records = Vec::new();
    run_episodes(kind, &plan, &move || Box::new(agent.clone()), &mut |record| {
        records.push(record);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    records.sort_by_key(|record| record.episode);
    Ok(records)
}

/// Contracts 2, 3, 5 and 6 over scripted runs.
///
/// # Errors
/// The first difference or violation found.
pub fn check_batched_runs(kind: &Arc<dyn EnvKind>, options: &ConformanceOptions) -> Result<(), String> {
    let max_turns = kind.spec().max_turns as usize;
    let script = proptest::collection::vec(action_strategy(kind.sample_actions()), 1..=max_turns.clamp(1, 24));
    let scripts = proptest::collection::vec(script, options.episodes as usize);
    runner(options.cases)
        .run(&(any::<u64>(), scripts), |(seed, scripts)| {
            let scripts: BTreeMap<u64, Vec<String>> =
                scripts.into_iter().enumerate().map(|(i, s)| (i as u64, s)).collect();
            let reference = play(kind, &scripts, seed, 1, 1).map_err(TestCaseError::fail)?;
            prop_assert_eq!(reference.len(), scripts.len());
            for &batch_size in &options.batch_sizes {
                for &threads in &options.threads {
                    let records = play(kind, &scripts, seed, batch_size, threads).map_err(TestCaseError::fail)?;
                    for (a, b) in reference.iter().zip(&records) {
                        prop_assert!(
                            a == b,
                            "episode {} differs with batch size {} and {} threads",
                            a.episode,
                            batch_size,
                            threads
                        );
                    }
                }
            }
            for record in &reference {
                check_record(kind, record).map_err(TestCaseError::fail)?;
                let replayed =
                    replay(kind.as_ref(), Episode { index: record.episode, seed: record.seed }, &record.actions());
                prop_assert!(&replayed == record, "replay of episode {} differs from its record", record.episode);
            }
            Ok(())
        })
        .map_err(|error| failure("batched runs", error))
}

/// Per-record invariants: rewards in range, turn cap, end flags, non-empty observations,
/// hidden state absent from what the env said.
///
/// # Errors
/// The first violation.
pub fn check_record(kind: &Arc<dyn EnvKind>, record: &EpisodeRecord) -> Result<(), String> {
    let spec = kind.spec();
    if record.turns > spec.max_turns {
        return Err(format!(
            "episode {} ran {} turns, over max_turns {}",
            record.episode, record.turns, spec.max_turns
        ));
    }
    if record.terminated && record.truncated {
        return Err(format!("episode {} is both terminated and truncated", record.episode));
    }
    if !(record.terminated || record.truncated) {
        return Err(format!("episode {} was recorded before it ended", record.episode));
    }
    for reward in &record.rewards {
        check_reward(kind, *reward)?;
    }
    let flagged = record.invalid_by_step.iter().filter(|&&invalid| invalid).count();
    if record.invalid_by_step.len() != record.rewards.len() || flagged != record.invalid_actions as usize {
        return Err(format!(
            "episode {}: {} step flags ({flagged} invalid) for {} rewards and {} invalid actions",
            record.episode,
            record.invalid_by_step.len(),
            record.rewards.len(),
            record.invalid_actions
        ));
    }
    check_metrics(spec, record)?;
    for entry in record.transcript.observed() {
        if entry.text.trim().is_empty() {
            return Err(format!("episode {}: empty {:?} entry", record.episode, entry.kind));
        }
        debug_assert!(entry.speaker != Speaker::Agent);
        for hidden in &record.hidden {
            if contains_words(&entry.text, hidden) {
                return Err(format!("episode {}: hidden state {hidden:?} appears in {:?}", record.episode, entry.text));
            }
        }
    }
    Ok(())
}

/// Invariant 8: the record's metrics are declared means; ratios name declared means.
fn check_metrics(spec: &crate::EnvSpec, record: &EpisodeRecord) -> Result<(), String> {
    let mean = |name: &str| {
        spec.metrics.iter().any(|metric| metric.name == name && metric.aggregate == crate::Aggregate::Mean)
    };
    for (name, value) in record.metrics.iter() {
        if !mean(name) {
            return Err(format!("episode {}: metric `{name}` is not declared as a mean in the spec", record.episode));
        }
        if !value.is_finite() {
            return Err(format!("episode {}: metric `{name}` is {value}", record.episode));
        }
    }
    for metric in &spec.metrics {
        if let crate::Aggregate::Ratio { numerator, denominator } = &metric.aggregate
            && !(mean(numerator) && mean(denominator))
        {
            return Err(format!("ratio metric `{}` names an undeclared part", metric.name));
        }
    }
    Ok(())
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Whether `needle`'s words appear consecutively among `text`'s words, ignoring case.
pub fn contains_words(text: &str, needle: &str) -> bool {
    let needle = words(needle);
    if needle.is_empty() {
        return false;
    }
    words(text).windows(needle.len()).any(|window| window == needle.as_slice())
}
