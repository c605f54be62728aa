//! `tool_feedback-v0`: MINT-style tool use with language feedback, rule-based and deterministic.
//!
//! Each episode generates a fictional encyclopedia and one task (an arithmetic word problem
//! over looked-up facts, or a list transformation with tests). Each turn the agent writes
//! exactly one `<execute>…</execute>` block of the sandboxed tool language ([`sandbox`]) or one
//! `<solution>…</solution>`; anything else gets a help message and counts as invalid. The
//! budget is MINT's: `max_steps` turns (k = 1..5) and 2 proposals (1 when k = 1), and every
//! observation says what is left. A rule-based teacher ([`feedback`]) answers in the
//! configured mode. Reward: 1 for a correct solution (minus an optional per-step penalty).
//! See `docs/envs/tool_feedback.md`.

pub mod feedback;
pub mod metrics;
pub mod sandbox;
pub mod tasks;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::prelude::*;
use sim_core::seed::stream;

pub use feedback::{ALL_MODES, Diagnosis, FeedbackMode, StepIssue};
pub use sandbox::{SandboxError, SandboxLimits, Value};
pub use tasks::{Plan, Task, TaskFamily, TaskKind, read_statement};

/// The env's section of a scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToolFeedbackConfig {
    /// MINT's k: turns per episode (tool calls plus proposals), 1 to 5.
    pub max_steps: u32,
    /// Solution proposals allowed (MINT: 2; capped at 1 when `max_steps` is 1).
    pub max_proposals: u32,
    pub feedback: FeedbackMode,
    /// Task families to draw from (uniformly).
    pub families: Vec<TaskFamily>,
    /// Most lookups an arithmetic task needs (1–3): the depth of the lookup chain.
    pub max_lookups: u8,
    /// Stages of a list task (2–3).
    pub list_stages: u8,
    /// Reward subtracted on every turn (MINT's optional step cost); 0 by default.
    pub step_penalty: f64,
    pub limits: SandboxLimits,
}

impl Default for ToolFeedbackConfig {
    fn default() -> Self {
        Self {
            max_steps: 5,
            max_proposals: 2,
            feedback: FeedbackMode::default(),
            families: vec![TaskFamily::Arithmetic, TaskFamily::Lists],
            max_lookups: 3,
            list_stages: 2,
            step_penalty: 0.0,
            limits: SandboxLimits::default(),
        }
    }
}

/// Score anchors (success rates with the default config): min 0 (the answer-immediately floor
/// is 0.006), average 0.488 (the noisy planner without feedback, 1000 episodes, seed 0) and max
/// 1 (the exact planner), checked by `tests/baselines.rs`.
pub const SCORE_ANCHORS: ScoreAnchors = ScoreAnchors { min: 0.0, average: NOISY_WITHOUT_FEEDBACK, max: 1.0 };

/// The noisy planner's success rate without feedback (k = 5, 1000 episodes, seed 0).
pub const NOISY_WITHOUT_FEEDBACK: f64 = 0.488;

/// Actions longer than this are invalid without being parsed.
pub const MAX_ACTION_CHARS: usize = 16_000;

/// What the agent did this turn, as the checker saw it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TurnResult {
    #[default]
    Invalid,
    Executed {
        output: String,
        issue: Option<StepIssue>,
    },
    Proposed {
        diagnosis: Option<Diagnosis>,
    },
}

/// The episode's task, sandbox session and budget; also the env's marker component.
#[derive(Component, Debug, Clone)]
pub struct ToolSession {
    pub task: Task,
    /// Variables of the persistent tool session.
    pub variables: BTreeMap<String, Value>,
    /// Successful lookups of the episode, (entity, field) in lower case.
    pub lookups: Vec<(String, String)>,
    pub steps_left: u32,
    pub proposals_left: u32,
    pub turn: TurnResult,
    /// The teacher's words this turn.
    pub feedback: Option<String>,
}

/// The env type registered as `tool_feedback-v0`.
pub struct ToolFeedback;

pub(crate) const INSTRUCTIONS: &str = "You are solving a task with tools. Each turn, think if you like, then write exactly one \
of:\n<execute>tool code</execute> to run code in a persistent session and see its output, or\n<solution>answer\
</solution> to propose your answer.\n\nTool code is statements separated by new lines or `;`. A statement is \
`name = expression` or an expression; every statement's value is printed. Expressions: whole numbers, \"text\", \
lists like [4, 5], variables, + - * / % ^ and comparisons. Tools:\n- lookup(entity, field): a fact from the \
encyclopedia. Towns have population, river, founded; rivers have length_km; ships have capacity_tonnes; \
companies have headquarters, employees.\n- calc(expression): evaluates arithmetic, e.g. calc(2 * (3 + 4)) or \
calc(\"2 * 7\").\n- run(program, input): runs a list or text pipeline of stages joined by |, e.g. \
run(\"map(x * 10) | sum\", [1, 2]) returns 30. Stages: map(expr of x), filter(condition on x), take(n), drop(n), \
repeat(n, pipeline), reverse, sort, sort_desc, unique, sum, length, max, min, upper, lower.\nCode runs in a \
sandbox with limits on steps, nesting, number size and output length.\n\nTask: ";

const INVALID_MESSAGE: &str = "I don't understand your input. Write exactly one <execute>tool code</execute> block \
to run code, or one <solution>answer</solution> block to propose an answer.";

fn budget_line(steps_left: u32, proposals_left: u32) -> String {
    let mut line = format!("You have {steps_left} steps left and {proposals_left} chances to propose solution left.");
    if steps_left == 1 {
        line.push_str(" You should take the last step to propose a solution.");
    }
    line
}

/// The command of an action: exactly one execute or solution block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    Execute(&'a str),
    Solution(&'a str),
}

/// Parses an action; `None` unless it holds exactly one complete `<execute>` or `<solution>` block.
pub fn parse_command(text: &str) -> Option<Command<'_>> {
    if text.len() > MAX_ACTION_CHARS {
        return None;
    }
    let tags = ["<execute>", "</execute>", "<solution>", "</solution>"];
    let counts: Vec<usize> = tags.iter().map(|tag| text.matches(tag).count()).collect();
    let (open, close, execute) = match counts.as_slice() {
        [1, 1, 0, 0] => ("<execute>", "</execute>", true),
        [0, 0, 1, 1] => ("<solution>", "</solution>", false),
        _ => return None,
    };
    let start = text.find(open)? + open.len();
    let end = text.find(close)?;
    if start > end || text[start..end].trim().is_empty() {
        return None;
    }
    let body = text[start..end].trim();
    Some(if execute { Command::Execute(body) } else { Command::Solution(body) })
}

impl Environment for ToolFeedback {
    type Config = ToolFeedbackConfig;
    const ID: &'static str = "tool_feedback-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        EnvSpec::new(
            config.max_steps,
            (-config.step_penalty, 1.0),
            "Solve a task with a sandboxed tool language and a rule-based teacher's feedback (MINT)",
        )
        .with_anchors(SCORE_ANCHORS)
        .with_metrics(metrics::METRICS)
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        if !(1..=5).contains(&config.max_steps) {
            return Err("tool_feedback: max_steps must be between 1 and 5".into());
        }
        if config.max_proposals == 0 {
            return Err("tool_feedback: max_proposals must be at least 1".into());
        }
        if config.families.is_empty() {
            return Err("tool_feedback: families must name at least one task family".into());
        }
        if !(1..=3).contains(&config.max_lookups) {
            return Err("tool_feedback: max_lookups must be between 1 and 3".into());
        }
        if !(2..=3).contains(&config.list_stages) {
            return Err("tool_feedback: list_stages must be 2 or 3".into());
        }
        if !(config.step_penalty.is_finite() && (0.0..=1.0).contains(&config.step_penalty)) {
            return Err("tool_feedback: step_penalty must be between 0 and 1".into());
        }
        let limits = &config.limits;
        if limits.steps == 0 || limits.depth == 0 || limits.magnitude <= 0 || limits.length == 0 {
            return Err("tool_feedback: sandbox limits must be positive".into());
        }
        if limits.program_chars < 100 || limits.output_chars < 100 {
            return Err("tool_feedback: program_chars and output_chars must be at least 100".into());
        }
        Ok(())
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        let knobs = tasks::TaskKnobs { max_lookups: config.max_lookups, list_stages: config.list_stages };
        let task = tasks::generate(&mut stream(episode.seed, "task"), &config.families, knobs);
        let steps_left = config.max_steps;
        let proposals_left = if config.max_steps == 1 { 1 } else { config.max_proposals.min(config.max_steps) };
        let prompt = format!("{INSTRUCTIONS}{}\n\n{}", task.statement, budget_line(steps_left, proposals_left));
        entity.insert((ToolSession {
            task,
            variables: BTreeMap::new(),
            lookups: Vec::new(),
            steps_left,
            proposals_left,
            turn: TurnResult::Invalid,
            feedback: None,
        },));
        Cow::Owned(prompt)
    }

    fn add_systems(schedule: &mut Schedule) {
        schedule.add_systems((
            apply_action.in_set(StepSet::Act),
            give_feedback.in_set(StepSet::React),
            render_observation.in_set(StepSet::Observe),
            score_turn.in_set(StepSet::Score),
        ));
    }

    fn episode_metrics(_entity: EntityRef, record: &EpisodeRecord) -> EpisodeMetrics {
        metrics::episode_metrics(record)
    }

    fn hidden_state(entity: EntityRef) -> Vec<String> {
        match entity.get::<ToolSession>().map(|session| &session.task.kind) {
            Some(TaskKind::Arithmetic(task)) => vec![task.answer.to_string()],
            _ => Vec::new(),
        }
    }

    fn sample_actions(_config: &Self::Config) -> Vec<String> {
        [
            "<execute>lookup(\"Varnol\", \"population\")</execute>",
            "<execute>x = calc(2 + 3 * 4)\ncalc(x ^ 2)</execute>",
            "<execute>run(\"sort | take(2)\", [3, 1, 2])</execute>",
            "<execute>run(\"repeat(1000000000, reverse)\", [1, 2])</execute>",
            "<execute>calc(10 ^ 30)</execute>",
            "I think... <execute>y = [1, 2, 3]; run(\"map(x * 2) | sum\", y)</execute>",
            "<solution>42</solution>",
            "<solution>filter(x > 3) | reverse</solution>",
            "<execute>1</execute><solution>2</solution>",
            "plain text without tags",
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

fn apply_action(mut episodes: Stepping<(&EnvConfig<ToolFeedback>, &mut ToolSession)>) {
    for (text, (config, mut session)) in episodes.iter_mut_with_action() {
        let session = &mut *session;
        session.steps_left = session.steps_left.saturating_sub(1);
        session.turn = match parse_command(text) {
            None => TurnResult::Invalid,
            Some(Command::Execute(code)) => {
                let execution =
                    sandbox::execute(code, &mut session.variables, &session.task.encyclopedia, &config.limits);
                session.lookups.extend(execution.lookups.iter().cloned());
                let issue = feedback::judge_step(&session.task.kind, &execution, &session.lookups, config.feedback);
                TurnResult::Executed { output: execution.output, issue }
            }
            Some(Command::Solution(answer)) => {
                session.proposals_left = session.proposals_left.saturating_sub(1);
                TurnResult::Proposed {
                    diagnosis: feedback::diagnose(&session.task.kind, answer, &session.lookups, &config.limits),
                }
            }
        };
    }
}

fn give_feedback(mut episodes: Stepping<(&EnvConfig<ToolFeedback>, &mut ToolSession)>) {
    for (config, mut session) in episodes.iter_mut() {
        let session = &mut *session;
        session.feedback = match &session.turn {
            TurnResult::Invalid => None,
            TurnResult::Executed { issue, .. } => feedback::render_step(config.feedback, issue.as_ref(), &session.task),
            TurnResult::Proposed { diagnosis: None } => None,
            TurnResult::Proposed { diagnosis: Some(diagnosis) } => {
                feedback::render_diagnosis(config.feedback, diagnosis, &session.task)
            }
        };
    }
}

fn render_observation(mut episodes: Stepping<(&EnvConfig<ToolFeedback>, &ToolSession, &mut Reply)>) {
    for (config, session, mut reply) in episodes.iter_mut() {
        let body: Cow<'static, str> = match &session.turn {
            TurnResult::Invalid => {
                let text = format!("{INVALID_MESSAGE}\n{}", budget_line(session.steps_left, session.proposals_left));
                reply.set(Speaker::Env, Kind::Admin, text);
                continue;
            }
            TurnResult::Executed { output, .. } if output.is_empty() => "(no output)".into(),
            TurnResult::Executed { output, .. } => output.clone().into(),
            TurnResult::Proposed { diagnosis: None } => "Your answer is correct.".into(),
            TurnResult::Proposed { .. } if config.feedback == FeedbackMode::Unary => {
                "Your answer is wrong. Try again.".into()
            }
            TurnResult::Proposed { .. } if config.feedback == FeedbackMode::None => {
                "Your solution is recorded; no feedback is given.".into()
            }
            TurnResult::Proposed { .. } => "Your answer is wrong.".into(),
        };
        let mut text = format!("Observation:\n{body}");
        let solved = matches!(session.turn, TurnResult::Proposed { diagnosis: None });
        let final_answer = config.feedback == FeedbackMode::None && matches!(session.turn, TurnResult::Proposed { .. });
        if !solved && !final_answer {
            text.push('\n');
            text.push_str(&budget_line(session.steps_left, session.proposals_left));
        }
        let unary = config.feedback == FeedbackMode::Unary && matches!(session.turn, TurnResult::Proposed { .. });
        let (speaker, kind) = if let Some(words) = &session.feedback {
            text.push_str("\nExpert feedback: ");
            text.push_str(words);
            (Speaker::Partner, Kind::Feedback)
        } else if unary && !solved {
            (Speaker::Partner, Kind::Feedback)
        } else {
            (Speaker::Env, Kind::Observation)
        };
        reply.set(speaker, kind, text);
    }
}

fn score_turn(mut episodes: Stepping<(&EnvConfig<ToolFeedback>, &ToolSession, &mut Outcome)>) {
    for (config, session, mut outcome) in episodes.iter_mut() {
        let solved = matches!(session.turn, TurnResult::Proposed { diagnosis: None });
        let proposed = matches!(session.turn, TurnResult::Proposed { .. });
        outcome.invalid_action = session.turn == TurnResult::Invalid;
        outcome.success = solved;
        outcome.reward = f64::from(u8::from(solved)) - config.step_penalty;
        outcome.ending = if solved {
            Some("solved")
        } else if proposed && config.feedback == FeedbackMode::None {
            Some("wrong_answer")
        } else if proposed && session.proposals_left == 0 {
            Some("out_of_proposals")
        } else if session.steps_left == 0 {
            Some("out_of_steps")
        } else {
            None
        };
        outcome.terminated = outcome.ending.is_some();
    }
}
