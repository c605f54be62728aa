//! Agents for `tool_feedback-v0`: answer-immediately (lower bound), an exact planner (upper
//! bound) and a noisy planner that makes seeded mistakes and uses the feedback it gets.
//!
//! All three are stateless: they re-read the episode's transcript (the task statement from the
//! prompt, the budget and the teacher's words from the observations), so an action depends
//! only on the view.

use std::collections::BTreeMap;

use envs::tool_feedback::sandbox::{Facts, Value, execute};
use envs::tool_feedback::tasks::{ArithmeticPlan, ListStage, LookupLine, pipeline_code};
use envs::tool_feedback::{Plan, read_statement};
use rand::RngExt;
use sim_core::seed::stream_indexed;
use sim_core::{Action, AgentView, Kind, PerViewAgent, Transcript};

/// The steps left, read from the newest budget line of the transcript.
fn steps_left(transcript: &Transcript) -> u32 {
    transcript.entries().iter().rev().filter(|e| e.kind != Kind::Action).find_map(|e| read_budget(&e.text)).unwrap_or(1)
}

fn read_budget(text: &str) -> Option<u32> {
    let start = text.find("You have ")? + "You have ".len();
    let end = text[start..].find(" steps left")? + start;
    text[start..end].parse().ok()
}

fn statement(transcript: &Transcript) -> Option<Plan> {
    transcript.entries().first().and_then(|prompt| read_statement(&prompt.text))
}

fn solution(answer: impl std::fmt::Display) -> Action {
    Action::from(format!("<solution>{answer}</solution>"))
}

fn execute_block(code: &str) -> Action {
    Action::from(format!("<execute>{code}</execute>"))
}

/// The last whole number printed in an observation, if any.
fn last_number(text: &str) -> Option<i64> {
    let body = text.strip_prefix("Observation:\n").unwrap_or(text);
    body.lines().take_while(|l| !l.starts_with("You have ")).filter_map(|l| l.trim().parse().ok()).last()
}

/// `name = value` lines of an observation, as numbers.
fn printed_variables(text: &str, into: &mut BTreeMap<String, Value>) {
    for line in text.lines() {
        if let Some((name, value)) = line.split_once(" = ")
            && let Ok(n) = value.trim().parse::<i64>()
        {
            into.insert(name.trim().to_owned(), Value::Int(n));
        }
    }
}

/// Plays a uniformly random action from a small bank of well-formed and malformed ones
/// (drawn from the episode's `random-tool-agent` stream, one draw per turn).
#[derive(Debug, Default, Clone)]
pub struct RandomToolAgent;

impl RandomToolAgent {
    pub fn new() -> Self {
        Self
    }

    /// The action bank.
    pub const ACTIONS: [&'static str; 8] = [
        "<execute>calc(6 * 7)</execute>",
        "<execute>run(\"sort | take(2)\", [3, 1, 2])</execute>",
        "<execute>lookup(\"Varnol\", \"population\")</execute>",
        "<solution>0</solution>",
        "<solution>100</solution>",
        "<solution>sort</solution>",
        "<solution>reverse | take(3)</solution>",
        "I am not sure.",
    ];
}

impl PerViewAgent for RandomToolAgent {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let mut rng = stream_indexed(view.episode.seed, "random-tool-agent", u64::from(view.turn));
        Action::fixed(Self::ACTIONS[rng.random_range(0..Self::ACTIONS.len())])
    }
}

/// Proposes a fixed guess at once (`0`, or `sort` for list tasks), without tools: the floor.
#[derive(Debug, Default, Clone)]
pub struct AnswerImmediately;

impl AnswerImmediately {
    pub fn new() -> Self {
        Self
    }
}

impl PerViewAgent for AnswerImmediately {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        match statement(view.transcript) {
            Some(Plan::List { .. }) => Action::fixed("<solution>sort</solution>"),
            _ => Action::fixed("<solution>0</solution>"),
        }
    }
}

/// Solves with an exact plan: all lookups and the calculation in one `<execute>` block, then
/// the result as the solution; list tasks get the described pipeline at once. With a one-step
/// budget it can only guess an arithmetic answer.
#[derive(Debug, Default, Clone)]
pub struct ExactPlanner;

impl ExactPlanner {
    pub fn new() -> Self {
        Self
    }

    fn next(view: &AgentView<'_>) -> Action {
        match statement(view.transcript) {
            Some(Plan::List { stages, .. }) => solution(pipeline_code(&stages)),
            Some(Plan::Arithmetic(plan)) => {
                let last = view.transcript.entries().last().filter(|e| e.kind != Kind::Prompt);
                if let Some(value) = last.and_then(|e| last_number(&e.text)) {
                    return solution(value);
                }
                if steps_left(view.transcript) <= 1 {
                    return Action::fixed("<solution>0</solution>");
                }
                let code: Vec<String> = plan.lookups.iter().map(LookupLine::code).chain([plan.calc_code()]).collect();
                execute_block(&code.join("\n"))
            }
            None => Action::fixed("<solution>0</solution>"),
        }
    }
}

impl PerViewAgent for ExactPlanner {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Self::next(view)
    }
}

/// The mistakes the noisy planner can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mistake {
    /// Leaves out the unit conversion.
    WrongUnit,
    /// Skips the last lookup and uses a remembered (made-up) number instead.
    SkippedLookup,
    /// Uses the wrong operator in the calculation.
    Arithmetic,
    /// Gets a stage's number wrong by one.
    ListParameter,
    /// Swaps the first two stages.
    ListOrder,
    /// Leaves out the last stage.
    ListDropped,
}

/// How the noisy planner errs and takes feedback in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseModel {
    /// Probability of a mistake in the first attempt.
    pub mistake_rate: f64,
    /// Probability of fixing a mistake when the feedback points at it (a BAD mark on the
    /// faulty step, or a hint naming its class): how fully feedback is taken in.
    pub uptake: f64,
    /// Probability of finding the mistake on a plain "wrong" (unary, or BAD on the answer only).
    pub recheck: f64,
    /// Probability of an arithmetic slip when computing without `calc`.
    pub mental_slip: f64,
}

impl Default for NoiseModel {
    fn default() -> Self {
        Self { mistake_rate: 0.6, uptake: 0.85, recheck: 0.4, mental_slip: 0.3 }
    }
}

/// What the noisy planner does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Lookup,
    Calc,
    Propose,
}

/// The noisy planner's state, rebuilt from the transcript each turn.
struct NoisyState {
    mistake: Option<Mistake>,
    phase: Phase,
    variables: BTreeMap<String, Value>,
    calc_value: Option<i64>,
}

/// A planner that makes seeded mistakes (drawn per episode) and uses feedback: a BAD mark on
/// its faulty step or a hint naming its mistake lets it fix the mistake with probability
/// `uptake`; a value revealed by a ground-truth hint always does; a bare "wrong" lets it find
/// the mistake with probability `recheck`. It works step by step: lookups, `calc`, proposal.
#[derive(Debug, Default, Clone)]
pub struct NoisyPlanner {
    pub noise: NoiseModel,
}

impl NoisyPlanner {
    pub fn new() -> Self {
        Self::default()
    }

    fn first_mistake(plan: &Plan, seed: u64, noise: &NoiseModel) -> Option<Mistake> {
        let mut rng = stream_indexed(seed, "noisy-planner", 0);
        if !rng.random_bool(noise.mistake_rate) {
            return None;
        }
        let options: Vec<Mistake> = match plan {
            Plan::Arithmetic(plan) => {
                let mut options = vec![Mistake::Arithmetic];
                if plan.lookups.len() >= 2 {
                    options.push(Mistake::SkippedLookup);
                }
                if plan.factor > 1 {
                    options.push(Mistake::WrongUnit);
                }
                options
            }
            Plan::List { stages, .. } => {
                let mut options = vec![Mistake::ListDropped];
                if stages[0] != stages[1] {
                    options.push(Mistake::ListOrder);
                }
                if stages.iter().any(|s| parameter_of(*s).is_some()) {
                    options.push(Mistake::ListParameter);
                }
                options
            }
        };
        Some(options[rng.random_range(0..options.len())])
    }

    fn next(&self, view: &AgentView<'_>) -> Action {
        let Some(plan) = statement(view.transcript) else { return Action::fixed("<solution>0</solution>") };
        let seed = view.episode.seed;
        let mut state = NoisyState {
            mistake: Self::first_mistake(&plan, seed, &self.noise),
            phase: if matches!(plan, Plan::List { .. }) { Phase::Propose } else { Phase::Lookup },
            variables: BTreeMap::new(),
            calc_value: None,
        };
        let entries = view.transcript.entries();
        let mut budget = read_budget(&entries[0].text).unwrap_or(1);
        for (turn, pair) in entries[1..].chunks(2).enumerate() {
            let [_, observation] = pair else { break };
            let phase = if budget <= 1 { Phase::Propose } else { state.phase };
            self.observe(&plan, &mut state, phase, &observation.text, seed, turn as u64);
            budget = read_budget(&observation.text).unwrap_or(0);
        }
        let phase = if budget <= 1 { Phase::Propose } else { state.phase };
        self.action(&plan, &state, phase, seed, view.turn)
    }

    fn action(&self, plan: &Plan, state: &NoisyState, phase: Phase, seed: u64, turn: u32) -> Action {
        match plan {
            Plan::List { stages, .. } => solution(pipeline_code(&with_list_mistake(stages, state.mistake))),
            Plan::Arithmetic(plan) => match phase {
                Phase::Lookup => execute_block(&lookup_code(plan, state.mistake)),
                Phase::Calc => execute_block(&calc_code(plan, state.mistake)),
                Phase::Propose => match state.calc_value {
                    Some(value) => solution(value),
                    None => solution(self.mental_answer(plan, state, seed, turn)),
                },
            },
        }
    }

    /// Computes the answer without `calc` from the printed lookups (or guesses 0), with a
    /// seeded chance of a slip.
    fn mental_answer(&self, plan: &ArithmeticPlan, state: &NoisyState, seed: u64, turn: u32) -> i64 {
        struct NoFacts;
        impl Facts for NoFacts {
            fn lookup(&self, _: &str, _: &str) -> Result<Value, String> {
                Err("no facts".into())
            }
        }
        let mut variables = state.variables.clone();
        let run = execute(&calc_code(plan, state.mistake), &mut variables, &NoFacts, &Default::default());
        let Some(value) = run.calc_results.first().copied() else { return 0 };
        let slip = stream_indexed(seed, "noisy-planner-slip", u64::from(turn)).random_bool(self.noise.mental_slip);
        if slip { value + 10 } else { value }
    }

    /// Advances the state past one turn taken in `phase`, given its observation.
    fn observe(&self, plan: &Plan, state: &mut NoisyState, phase: Phase, observation: &str, seed: u64, turn: u64) {
        let mut rng = stream_indexed(seed, "noisy-planner", 1 + turn);
        let fix_draw: f64 = rng.random();
        let feedback = observation.split_once("Expert feedback: ").map(|(_, words)| words);
        let bad = feedback.is_some_and(|words| words.starts_with("BAD"));
        let revealed = feedback.is_some_and(|words| words.contains("For reference") || words.contains("still need"));
        match phase {
            Phase::Lookup => {
                printed_variables(observation, &mut state.variables);
                state.phase = Phase::Calc;
            }
            Phase::Calc => {
                printed_variables(observation, &mut state.variables);
                state.calc_value = last_number(observation);
                state.phase = Phase::Propose;
                // A BAD mark on the calculation points at a mistake made in it.
                let located = matches!(state.mistake, Some(Mistake::SkippedLookup | Mistake::Arithmetic));
                if bad && located && (revealed || fix_draw < self.noise.uptake) {
                    self.fix(state);
                }
            }
            Phase::Propose => {
                if !observation.contains("Your answer is wrong") {
                    return;
                }
                let Some(mistake) = state.mistake else { return };
                let named = feedback.is_some_and(|words| hint_names(words, mistake));
                let chance = if revealed {
                    1.0
                } else if named {
                    self.noise.uptake
                } else {
                    self.noise.recheck
                };
                if fix_draw < chance {
                    self.fix(state);
                } else if matches!(plan, Plan::Arithmetic(_)) {
                    // Not found: recompute the same way and propose again.
                    state.phase = Phase::Calc;
                    state.calc_value = None;
                }
            }
        }
    }

    fn fix(&self, state: &mut NoisyState) {
        state.phase = match state.mistake {
            Some(Mistake::SkippedLookup) => Phase::Lookup,
            Some(Mistake::WrongUnit | Mistake::Arithmetic) => Phase::Calc,
            _ => Phase::Propose,
        };
        state.mistake = None;
        state.calc_value = None;
    }
}

/// Whether a textual hint names the class of `mistake`.
fn hint_names(words: &str, mistake: Mistake) -> bool {
    match mistake {
        Mistake::WrongUnit => words.contains("unit"),
        Mistake::SkippedLookup => words.contains("every fact"),
        Mistake::Arithmetic => words.contains("arithmetic"),
        Mistake::ListParameter | Mistake::ListOrder | Mistake::ListDropped => words.contains("fails test"),
    }
}

fn parameter_of(stage: ListStage) -> Option<i64> {
    match stage {
        ListStage::Greater(n) | ListStage::Times(n) | ListStage::Plus(n) | ListStage::Take(n) => Some(n),
        _ => None,
    }
}

fn with_list_mistake(stages: &[ListStage], mistake: Option<Mistake>) -> Vec<ListStage> {
    let mut stages = stages.to_vec();
    match mistake {
        Some(Mistake::ListDropped) => {
            stages.pop();
        }
        Some(Mistake::ListOrder) => stages.swap(0, 1),
        Some(Mistake::ListParameter) => {
            if let Some(stage) = stages.iter_mut().find(|s| parameter_of(**s).is_some()) {
                *stage = match *stage {
                    ListStage::Greater(n) => ListStage::Greater(n + 1),
                    ListStage::Times(n) => ListStage::Times(n + 1),
                    ListStage::Plus(n) => ListStage::Plus(n + 1),
                    ListStage::Take(n) => ListStage::Take(n + 1),
                    other => other,
                };
            }
        }
        _ => {}
    }
    stages
}

/// The lookup block; with a skipped lookup the last one is left out (plans with a skippable
/// lookup have at least two).
fn lookup_code(plan: &ArithmeticPlan, mistake: Option<Mistake>) -> String {
    let count = plan.lookups.len() - usize::from(mistake == Some(Mistake::SkippedLookup));
    plan.lookups[..count.max(1)].iter().map(LookupLine::code).collect::<Vec<_>>().join("\n")
}

/// The calculation; mistakes change it (a remembered number for a skipped lookup, the wrong
/// operator, no unit conversion).
fn calc_code(plan: &ArithmeticPlan, mistake: Option<Mistake>) -> String {
    let mut plan = plan.clone();
    match mistake {
        Some(Mistake::WrongUnit) => plan.factor = 1,
        Some(Mistake::Arithmetic) => plan.base.1 = if plan.base.1 == '*' { '+' } else { '*' },
        Some(Mistake::SkippedLookup) => {
            if let Some(last) = plan.lookups.last() {
                if plan.base.0 == last.variable {
                    plan.base.0 = "1000";
                } else if plan.base.2 == last.variable {
                    plan.base.2 = "1000".to_owned();
                }
            }
        }
        _ => {}
    }
    plan.calc_code()
}

impl PerViewAgent for NoisyPlanner {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        self.next(view)
    }
}
