//! The rule-based teacher of `tool_feedback-v0`: the checker's diagnosis of each turn and its
//! rendering in the configured feedback mode (MINT's binary/textual × with/without ground
//! truth grid, plus unary "try again" and none).

use serde::{Deserialize, Serialize};

use super::sandbox::{Execution, SandboxError, SandboxLimits, Value, run_pipeline};
use super::tasks::{ArithmeticTask, ListTask, Task, TaskKind, apply, pipeline_code};

/// How the teacher answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedbackMode {
    /// No verdict: the first proposal is final (the single-attempt baseline).
    None,
    /// After a wrong proposal: "Your answer is wrong. Try again." Nothing else.
    Unary,
    /// "GOOD." / "BAD." after every turn. With ground truth the teacher also checks values.
    Binary { ground_truth: bool },
    /// GOOD/BAD plus a hint from the checker's diagnosis; with ground truth the hint may
    /// reveal an intermediate value (never the answer). MINT's default: textual, no GT.
    Textual { ground_truth: bool },
}

impl Default for FeedbackMode {
    fn default() -> Self {
        FeedbackMode::Textual { ground_truth: false }
    }
}

/// Every mode, in the order of the feedback-gain table.
pub const ALL_MODES: [FeedbackMode; 6] = [
    FeedbackMode::None,
    FeedbackMode::Unary,
    FeedbackMode::Binary { ground_truth: false },
    FeedbackMode::Binary { ground_truth: true },
    FeedbackMode::Textual { ground_truth: false },
    FeedbackMode::Textual { ground_truth: true },
];

impl FeedbackMode {
    /// Whether the teacher speaks after every turn (binary and textual modes).
    pub fn per_turn(self) -> bool {
        matches!(self, FeedbackMode::Binary { .. } | FeedbackMode::Textual { .. })
    }

    fn textual(self) -> Option<bool> {
        match self {
            FeedbackMode::Textual { ground_truth } => Some(ground_truth),
            _ => None,
        }
    }

    fn ground_truth(self) -> bool {
        matches!(self, FeedbackMode::Binary { ground_truth: true } | FeedbackMode::Textual { ground_truth: true })
    }

    /// A short label for reports: `none`, `unary`, `binary`, `binary+gt`, `textual`, `textual+gt`.
    pub fn label(self) -> &'static str {
        match self {
            FeedbackMode::None => "none",
            FeedbackMode::Unary => "unary",
            FeedbackMode::Binary { ground_truth: false } => "binary",
            FeedbackMode::Binary { ground_truth: true } => "binary+gt",
            FeedbackMode::Textual { ground_truth: false } => "textual",
            FeedbackMode::Textual { ground_truth: true } => "textual+gt",
        }
    }
}

/// What is wrong with an `<execute>` step, as far as the teacher can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepIssue {
    ToolError,
    /// A lookup of an entity the task does not need.
    IrrelevantLookup {
        entity: String,
    },
    /// A `calc` before every required lookup was made: the first missing (entity, field).
    CalcBeforeLookups {
        entity: String,
        field: String,
    },
    /// A `calc` result that is no value of the reference solution (ground truth only).
    WrongValue,
}

/// Why a proposal is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diagnosis {
    NotANumber,
    SkippedLookup {
        entity: String,
        field: String,
    },
    WrongUnit,
    StaleEntity,
    Arithmetic,
    ProgramError(String),
    /// Test `index` (1-based) fails.
    FailingTest {
        index: usize,
    },
}

/// The names of required entities, with the spelling of the encyclopedia.
fn display_name(task: &Task, lower: &str) -> String {
    task.encyclopedia
        .entities
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(lower))
        .map_or_else(|| lower.to_owned(), |e| e.name.clone())
}

fn missing_lookup(task: &ArithmeticTask, done: &[(String, String)]) -> Option<(String, String)> {
    task.required.iter().find(|required| !done.contains(required)).cloned()
}

/// Judges an `<execute>` step. `done` holds every lookup of the episode so far, this step's included.
pub fn judge_step(
    kind: &TaskKind,
    execution: &Execution,
    done: &[(String, String)],
    mode: FeedbackMode,
) -> Option<StepIssue> {
    if execution.error.is_some() {
        return Some(StepIssue::ToolError);
    }
    let TaskKind::Arithmetic(task) = kind else { return None };
    if let Some((entity, _)) = execution.lookups.iter().find(|(e, _)| !task.required.iter().any(|(r, _)| r == e)) {
        return Some(StepIssue::IrrelevantLookup { entity: entity.clone() });
    }
    if !execution.calc_results.is_empty()
        && let Some((entity, field)) = missing_lookup(task, done)
    {
        return Some(StepIssue::CalcBeforeLookups { entity, field });
    }
    if mode.ground_truth() && execution.calc_results.iter().any(|v| !task.intermediates.contains(v)) {
        return Some(StepIssue::WrongValue);
    }
    None
}

/// Diagnoses a wrong proposal (`None` when it is right).
pub fn diagnose(
    kind: &TaskKind,
    proposal: &str,
    done: &[(String, String)],
    limits: &SandboxLimits,
) -> Option<Diagnosis> {
    match kind {
        TaskKind::Arithmetic(task) => diagnose_number(task, proposal, done),
        TaskKind::List(task) => diagnose_program(task, proposal, limits),
    }
}

/// Reads a proposed number: digits with an optional sign, `,`/`_` separators allowed.
pub fn parse_number(proposal: &str) -> Option<i64> {
    let cleaned: String = proposal.trim().chars().filter(|c| !matches!(c, ',' | '_' | ' ')).collect();
    cleaned.parse().ok()
}

fn diagnose_number(task: &ArithmeticTask, proposal: &str, done: &[(String, String)]) -> Option<Diagnosis> {
    let Some(value) = parse_number(proposal) else { return Some(Diagnosis::NotANumber) };
    if value == task.answer {
        return None;
    }
    if let Some((entity, field)) = missing_lookup(task, done) {
        return Some(Diagnosis::SkippedLookup { entity, field });
    }
    if task.factor > 1
        && (value.checked_mul(task.factor) == Some(task.answer) || task.answer.checked_mul(task.factor) == Some(value))
    {
        return Some(Diagnosis::WrongUnit);
    }
    let fields: Vec<&String> = task.required.iter().map(|(_, f)| f).collect();
    if done
        .iter()
        .any(|(entity, field)| fields.contains(&field) && !task.required.contains(&(entity.clone(), field.clone())))
    {
        return Some(Diagnosis::StaleEntity);
    }
    Some(Diagnosis::Arithmetic)
}

/// Strips optional quotes around a proposed program.
pub fn proposed_program(proposal: &str) -> &str {
    let trimmed = proposal.trim();
    trimmed
        .strip_prefix('"')
        .and_then(|p| p.strip_suffix('"'))
        .or_else(|| trimmed.strip_prefix('\'').and_then(|p| p.strip_suffix('\'')))
        .unwrap_or(trimmed)
}

fn diagnose_program(task: &ListTask, proposal: &str, limits: &SandboxLimits) -> Option<Diagnosis> {
    let program = proposed_program(proposal);
    for (index, (input, expected)) in task.tests.iter().enumerate() {
        match run_pipeline(program, Value::List(input.clone()), limits) {
            Err(error @ SandboxError::Syntax(_)) => return Some(Diagnosis::ProgramError(error.to_string())),
            Ok(Value::List(output)) if output == *expected => {}
            _ => return Some(Diagnosis::FailingTest { index: index + 1 }),
        }
    }
    None
}

/// The teacher's words after an `<execute>` step, or `None` when the mode is silent there.
pub fn render_step(mode: FeedbackMode, issue: Option<&StepIssue>, task: &Task) -> Option<String> {
    if !mode.per_turn() {
        return None;
    }
    let Some(issue) = issue else {
        return Some(if mode.textual().is_some() { "GOOD. This step makes progress." } else { "GOOD." }.to_owned());
    };
    let Some(ground_truth) = mode.textual() else { return Some("BAD.".to_owned()) };
    let reveal = match &task.kind {
        TaskKind::Arithmetic(truth) => Some(&truth.reveal),
        TaskKind::List(_) => None,
    };
    let mut text = match issue {
        StepIssue::ToolError => "BAD. The code stopped with an error; fix it before going on.".to_owned(),
        StepIssue::IrrelevantLookup { entity } => {
            format!("BAD. You looked up {}, which this task does not need.", display_name(task, entity))
        }
        StepIssue::CalcBeforeLookups { entity, field } => {
            let mut text = "BAD. You computed before looking up every fact the task needs.".to_owned();
            if ground_truth {
                text.push_str(&format!(" You still need the {field} of {}.", display_name(task, entity)));
            }
            text
        }
        StepIssue::WrongValue => "BAD. That result is not right; recheck the expression.".to_owned(),
    };
    if ground_truth
        && matches!(issue, StepIssue::WrongValue)
        && let Some((label, value)) = reveal
    {
        text.push_str(&format!(" For reference, {label} is {value}."));
    }
    Some(text)
}

/// The teacher's words after a wrong proposal (`None` in modes that say nothing more than the verdict).
pub fn render_diagnosis(mode: FeedbackMode, diagnosis: &Diagnosis, task: &Task) -> Option<String> {
    if !mode.per_turn() {
        return None;
    }
    let Some(ground_truth) = mode.textual() else { return Some("BAD.".to_owned()) };
    let mut text = match diagnosis {
        Diagnosis::NotANumber => "BAD. The answer must be one whole number.".to_owned(),
        Diagnosis::SkippedLookup { entity, field } => {
            let mut text =
                "BAD. Your answer does not rest on every fact the task needs; look up what you skipped.".to_owned();
            if ground_truth {
                text.push_str(&format!(" You still need the {field} of {}.", display_name(task, entity)));
            }
            text
        }
        Diagnosis::WrongUnit => "BAD. Check the unit the question asks for.".to_owned(),
        Diagnosis::StaleEntity => "BAD. You used a fact of the wrong entity.".to_owned(),
        Diagnosis::Arithmetic => "BAD. The facts are right; recheck your arithmetic.".to_owned(),
        Diagnosis::ProgramError(error) => format!("BAD. Your program does not parse: {error}."),
        Diagnosis::FailingTest { index } => format!("BAD. Your program fails test {index}."),
    };
    if ground_truth {
        match (&task.kind, diagnosis) {
            (TaskKind::Arithmetic(truth), Diagnosis::WrongUnit | Diagnosis::StaleEntity | Diagnosis::Arithmetic) => {
                text.push_str(&format!(" For reference, {} is {}.", truth.reveal.0, truth.reveal.1));
            }
            (TaskKind::List(truth), Diagnosis::FailingTest { index }) => {
                let input = &truth.tests[index - 1].0;
                let first = apply(&truth.stages[..1], input);
                text.push_str(&format!(
                    " After its first step ({}) the list of test {index} should be {}.",
                    pipeline_code(&truth.stages[..1]),
                    Value::List(first)
                ));
            }
            _ => {}
        }
    }
    Some(text)
}
