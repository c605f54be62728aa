//! Task generators with exact checkers for `tool_feedback-v0`.
//!
//! Each episode generates its own small encyclopedia of fictional entities (towns, rivers,
//! ships, companies with made-up names and numbers), so answers cannot be memorised, and one
//! task:
//! - **arithmetic**: a word problem whose facts must be looked up (1–3 lookups, some chained:
//!   the company's headquarters town, then its river), with a unit conversion in some;
//! - **list**: a list transformation of 2–3 stages to write as a `run` pipeline, checked on
//!   test cases shown in the statement.
//!
//! The statement wording is fixed per template, so [`read_statement`] can recover the public
//! plan of a task from its text (what the scripted solvers use); it never sees hidden values.

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sim_core::seed::StreamRng;

use super::sandbox::{Facts, Value};

/// Which task families an episode may draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskFamily {
    /// Word problems over looked-up facts.
    Arithmetic,
    /// List transformations written as `run` pipelines.
    Lists,
}

const SYLLABLES: [&str; 24] = [
    "var", "nol", "tek", "bri", "sam", "dor", "quil", "mes", "tan", "rov", "pel", "zan", "kor", "lum", "fen", "gar",
    "hal", "jir", "mok", "suv", "wen", "yth", "bal", "cor",
];

/// The kinds of entity and the fields each has (all lower case).
pub const ENTITY_FIELDS: [(&str, &[&str]); 4] = [
    ("town", &["population", "river", "founded"]),
    ("river", &["length_km"]),
    ("ship", &["capacity_tonnes"]),
    ("company", &["headquarters", "employees"]),
];

/// One entity of the encyclopedia.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    pub name: String,
    pub kind: &'static str,
    pub fields: Vec<(&'static str, Value)>,
}

/// An episode's generated encyclopedia.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Encyclopedia {
    pub entities: Vec<Entity>,
}

impl Encyclopedia {
    fn named(&self, kind: &str) -> impl Iterator<Item = &Entity> {
        let kind = kind.to_owned();
        self.entities.iter().filter(move |e| e.kind == kind)
    }

    fn entity(&self, name: &str) -> Option<&Entity> {
        let name = name.trim();
        self.entities.iter().find(|e| e.name.eq_ignore_ascii_case(name))
    }

    fn number(&self, name: &str, field: &str) -> i64 {
        match self.lookup(name, field) {
            Ok(Value::Int(n)) => n,
            _ => 0,
        }
    }

    fn text(&self, name: &str, field: &str) -> String {
        match self.lookup(name, field) {
            Ok(Value::Text(text)) => text,
            _ => String::new(),
        }
    }

    /// Whether any fact equals `n`.
    fn holds_number(&self, n: i64) -> bool {
        self.entities.iter().flat_map(|e| &e.fields).any(|(_, v)| *v == Value::Int(n))
    }

    fn generate(rng: &mut StreamRng) -> Self {
        let mut names: Vec<String> = Vec::new();
        let mut fresh_name = |rng: &mut StreamRng| loop {
            let count = rng.random_range(2..=3);
            let mut name: String = (0..count).map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())]).collect();
            name[..1].make_ascii_uppercase();
            if !names.contains(&name) {
                names.push(name.clone());
                return name;
            }
        };
        let rivers: Vec<String> = (0..3).map(|_| fresh_name(rng)).collect();
        let towns: Vec<String> = (0..4).map(|_| fresh_name(rng)).collect();
        let ships: Vec<String> = (0..3).map(|_| fresh_name(rng)).collect();
        let companies: Vec<String> = (0..3).map(|_| fresh_name(rng)).collect();
        let mut entities = Vec::new();
        for name in &rivers {
            let length = rng.random_range(40..2_400);
            entities.push(Entity {
                name: name.clone(),
                kind: "river",
                fields: vec![("length_km", Value::Int(length))],
            });
        }
        for name in &towns {
            let fields = vec![
                ("population", Value::Int(rng.random_range(2_000..60_000))),
                ("river", Value::Text(rivers[rng.random_range(0..rivers.len())].clone())),
                ("founded", Value::Int(rng.random_range(1_100..1_900))),
            ];
            entities.push(Entity { name: name.clone(), kind: "town", fields });
        }
        for name in &ships {
            let capacity = rng.random_range(200..9_000);
            entities.push(Entity {
                name: name.clone(),
                kind: "ship",
                fields: vec![("capacity_tonnes", Value::Int(capacity))],
            });
        }
        for name in &companies {
            let fields = vec![
                ("headquarters", Value::Text(towns[rng.random_range(0..towns.len())].clone())),
                ("employees", Value::Int(rng.random_range(40..4_000))),
            ];
            entities.push(Entity { name: name.clone(), kind: "company", fields });
        }
        Self { entities }
    }
}

impl Facts for Encyclopedia {
    fn lookup(&self, entity: &str, field: &str) -> Result<Value, String> {
        let found = self.entity(entity).ok_or_else(|| format!("unknown entity `{}`", entity.trim()))?;
        let field = field.trim().to_lowercase();
        found.fields.iter().find(|(name, _)| *name == field).map(|(_, value)| value.clone()).ok_or_else(|| {
            let fields: Vec<&str> = found.fields.iter().map(|(name, _)| *name).collect();
            format!("{} (a {}) has no field `{field}`; its fields: {}", found.name, found.kind, fields.join(", "))
        })
    }
}

/// Where a lookup's entity comes from: a name in the statement, or an earlier lookup's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityRef {
    Named(String),
    Variable(&'static str),
}

/// One lookup of a plan: `variable = lookup(entity, field)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupLine {
    pub variable: &'static str,
    pub entity: EntityRef,
    pub field: &'static str,
}

impl LookupLine {
    pub fn code(&self) -> String {
        match &self.entity {
            EntityRef::Named(name) => format!("{} = lookup(\"{name}\", \"{}\")", self.variable, self.field),
            EntityRef::Variable(var) => format!("{} = lookup({var}, \"{}\")", self.variable, self.field),
        }
    }
}

/// The public plan of an arithmetic task: its lookups, the expression over their variables
/// before the unit conversion, and the conversion factor (1 when there is none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArithmeticPlan {
    pub lookups: Vec<LookupLine>,
    /// The operands of `base`: left variable, operator, right operand.
    pub base: (&'static str, char, String),
    pub factor: i64,
}

impl ArithmeticPlan {
    /// The base expression, e.g. `pop * 7`.
    pub fn base_code(&self) -> String {
        format!("{} {} {}", self.base.0, self.base.1, self.base.2)
    }

    /// The `calc` line that computes the answer.
    pub fn calc_code(&self) -> String {
        if self.factor == 1 {
            format!("calc({})", self.base_code())
        } else {
            format!("calc(({}) * {})", self.base_code(), self.factor)
        }
    }
}

/// A stage of a list task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStage {
    Greater(i64),
    Even,
    Times(i64),
    Plus(i64),
    Reverse,
    Sort,
    SortDesc,
    Take(i64),
}

impl ListStage {
    /// The stage in the pipeline language.
    pub fn code(&self) -> String {
        match self {
            ListStage::Greater(t) => format!("filter(x > {t})"),
            ListStage::Even => "filter(x % 2 == 0)".to_owned(),
            ListStage::Times(m) => format!("map(x * {m})"),
            ListStage::Plus(a) => format!("map(x + {a})"),
            ListStage::Reverse => "reverse".to_owned(),
            ListStage::Sort => "sort".to_owned(),
            ListStage::SortDesc => "sort_desc".to_owned(),
            ListStage::Take(n) => format!("take({n})"),
        }
    }

    /// The stage in the statement's words.
    pub fn describe(&self) -> String {
        match self {
            ListStage::Greater(t) => format!("keeps only the numbers greater than {t}"),
            ListStage::Even => "keeps only the even numbers".to_owned(),
            ListStage::Times(m) => format!("multiplies every number by {m}"),
            ListStage::Plus(a) => format!("adds {a} to every number"),
            ListStage::Reverse => "reverses the order".to_owned(),
            ListStage::Sort => "sorts the numbers in ascending order".to_owned(),
            ListStage::SortDesc => "sorts the numbers in descending order".to_owned(),
            ListStage::Take(n) => format!("keeps only the first {n} numbers"),
        }
    }

    fn parse(description: &str) -> Option<Self> {
        let number = |prefix: &str, suffix: &str| {
            description.strip_prefix(prefix)?.strip_suffix(suffix)?.trim().parse::<i64>().ok()
        };
        Some(match description {
            "keeps only the even numbers" => ListStage::Even,
            "reverses the order" => ListStage::Reverse,
            "sorts the numbers in ascending order" => ListStage::Sort,
            "sorts the numbers in descending order" => ListStage::SortDesc,
            _ => {
                if let Some(t) = number("keeps only the numbers greater than ", "") {
                    ListStage::Greater(t)
                } else if let Some(m) = number("multiplies every number by ", "") {
                    ListStage::Times(m)
                } else if let Some(a) = number("adds ", " to every number") {
                    ListStage::Plus(a)
                } else {
                    ListStage::Take(number("keeps only the first ", " numbers")?)
                }
            }
        })
    }

    fn random(rng: &mut StreamRng) -> Self {
        match rng.random_range(0..8) {
            0 => ListStage::Greater(rng.random_range(2..12)),
            1 => ListStage::Even,
            2 => ListStage::Times(rng.random_range(2..6)),
            3 => ListStage::Plus(rng.random_range(1..10)),
            4 => ListStage::Reverse,
            5 => ListStage::Sort,
            6 => ListStage::SortDesc,
            _ => ListStage::Take(rng.random_range(2..5)),
        }
    }
}

/// The pipeline of a list of stages, e.g. `sort | take(2)`.
pub fn pipeline_code(stages: &[ListStage]) -> String {
    stages.iter().map(ListStage::code).collect::<Vec<_>>().join(" | ")
}

/// What a solver can read from a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Arithmetic(ArithmeticPlan),
    List { stages: Vec<ListStage>, tests: Vec<(Vec<i64>, Vec<i64>)> },
}

/// The checker's facts about an arithmetic task (hidden from the agent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArithmeticTask {
    pub answer: i64,
    /// The (entity, field) lookups a full solution makes, entity in lower case.
    pub required: Vec<(String, String)>,
    pub factor: i64,
    /// Every value of the reference solution (looked-up numbers, partial results, answer).
    pub intermediates: Vec<i64>,
    /// The intermediate value a ground-truth hint may reveal, with its description.
    pub reveal: (String, i64),
}

/// The checker's facts about a list task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListTask {
    pub stages: Vec<ListStage>,
    pub tests: Vec<(Vec<i64>, Vec<i64>)>,
}

/// A generated task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskKind {
    Arithmetic(ArithmeticTask),
    List(ListTask),
}

/// A task with its statement and its episode's encyclopedia.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub statement: String,
    pub kind: TaskKind,
    pub encyclopedia: Encyclopedia,
}

/// Generation knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskKnobs {
    /// At most this many lookups (1–3) in arithmetic tasks.
    pub max_lookups: u8,
    /// Stages of a list task (2–3).
    pub list_stages: u8,
}

const TEMPLATE_LOOKUPS: [u8; 4] = [1, 2, 2, 3];

/// Generates an episode's task.
pub fn generate(rng: &mut StreamRng, families: &[TaskFamily], knobs: TaskKnobs) -> Task {
    let family = families[rng.random_range(0..families.len())];
    let encyclopedia = Encyclopedia::generate(rng);
    match family {
        TaskFamily::Arithmetic => loop {
            let templates: Vec<usize> = (0..4).filter(|t| TEMPLATE_LOOKUPS[*t] <= knobs.max_lookups).collect();
            let template = templates[rng.random_range(0..templates.len())];
            let (statement, task) = arithmetic(template, &encyclopedia, rng);
            let answer_word = task.answer.to_string();
            let in_statement = statement.split(|c: char| !c.is_alphanumeric()).any(|w| w == answer_word);
            if !in_statement && !encyclopedia.holds_number(task.answer) && task.reveal.1 != task.answer {
                return Task { statement, kind: TaskKind::Arithmetic(task), encyclopedia };
            }
        },
        TaskFamily::Lists => loop {
            let stages: Vec<ListStage> = (0..knobs.list_stages).map(|_| ListStage::random(rng)).collect();
            let tests: Vec<(Vec<i64>, Vec<i64>)> = (0..3)
                .map(|_| {
                    let length = rng.random_range(5..9);
                    let input: Vec<i64> = (0..length).map(|_| rng.random_range(0..20)).collect();
                    let output = apply(&stages, &input);
                    (input, output)
                })
                .collect();
            // Every stage must matter on the tests, and outputs must not be empty.
            let informative = tests.iter().all(|(_, out)| !out.is_empty())
                && (0..stages.len()).all(|skip| {
                    let fewer: Vec<ListStage> =
                        stages.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, s)| *s).collect();
                    tests.iter().any(|(input, output)| apply(&fewer, input) != *output)
                });
            if informative {
                let statement = list_statement(&stages, &tests);
                return Task { statement, kind: TaskKind::List(ListTask { stages, tests }), encyclopedia };
            }
        },
    }
}

/// The reference output of stages on an input, computed natively (the checker's ground truth;
/// a test checks the sandbox's `run` of [`pipeline_code`] agrees).
pub fn apply(stages: &[ListStage], input: &[i64]) -> Vec<i64> {
    let mut items = input.to_vec();
    for stage in stages {
        match *stage {
            ListStage::Greater(t) => items.retain(|x| *x > t),
            ListStage::Even => items.retain(|x| x % 2 == 0),
            ListStage::Times(m) => items.iter_mut().for_each(|x| *x *= m),
            ListStage::Plus(a) => items.iter_mut().for_each(|x| *x += a),
            ListStage::Reverse => items.reverse(),
            ListStage::Sort => items.sort_unstable(),
            ListStage::SortDesc => items.sort_unstable_by(|a, b| b.cmp(a)),
            ListStage::Take(n) => items.truncate(usize::try_from(n).unwrap_or(0)),
        }
    }
    items
}

fn render_list(items: &[i64]) -> String {
    Value::List(items.to_vec()).to_string()
}

const LIST_OPENING: &str = "Write a pipeline for run(program, input) that takes a list of whole numbers, ";

fn list_statement(stages: &[ListStage], tests: &[(Vec<i64>, Vec<i64>)]) -> String {
    let steps: Vec<String> = stages.iter().map(ListStage::describe).collect();
    let mut statement = format!("{LIST_OPENING}{}. It must pass these tests:", steps.join(", then "));
    for (i, (input, output)) in tests.iter().enumerate() {
        statement.push_str(&format!("\n{}. {} -> {}", i + 1, render_list(input), render_list(output)));
    }
    statement.push_str("\nPropose the pipeline itself (the program text, without quotes) as your solution.");
    statement
}

fn arithmetic(template: usize, book: &Encyclopedia, rng: &mut StreamRng) -> (String, ArithmeticTask) {
    let pick = |rng: &mut StreamRng, kind: &str| {
        let names: Vec<&Entity> = book.named(kind).collect();
        names[rng.random_range(0..names.len())].name.clone()
    };
    let low = |name: &str| name.to_lowercase();
    match template {
        0 => {
            let town = pick(rng, "town");
            let fee = rng.random_range(2..30);
            let population = book.number(&town, "population");
            let monthly = population * fee;
            let statement = format!(
                "Every resident of {town} pays {fee} coins of tax per month. How many coins of tax does {town} \
                 collect in one year?"
            );
            let task = ArithmeticTask {
                answer: monthly * 12,
                required: vec![(low(&town), "population".into())],
                factor: 12,
                intermediates: vec![population, monthly, monthly * 12],
                reveal: ("the tax the town collects per month".into(), monthly),
            };
            (statement, task)
        }
        1 => {
            let first = pick(rng, "ship");
            let second = loop {
                let other = pick(rng, "ship");
                if other != first {
                    break other;
                }
            };
            let (a, b) = (book.number(&first, "capacity_tonnes"), book.number(&second, "capacity_tonnes"));
            let statement = format!(
                "The ships {first} and {second} both sail fully loaded. How many kilograms of cargo do they carry \
                 together?"
            );
            let task = ArithmeticTask {
                answer: (a + b) * 1000,
                required: vec![(low(&first), "capacity_tonnes".into()), (low(&second), "capacity_tonnes".into())],
                factor: 1000,
                intermediates: vec![a, b, a + b, (a + b) * 1000],
                reveal: ("the two ships' combined capacity in tonnes".into(), a + b),
            };
            (statement, task)
        }
        2 => {
            let company = pick(rng, "company");
            let lanterns = rng.random_range(2..9);
            let town = book.text(&company, "headquarters");
            let population = book.number(&town, "population");
            let statement = format!(
                "The company {company} gives {lanterns} lanterns to every resident of the town where it has its \
                 headquarters. How many lanterns does it give away?"
            );
            let task = ArithmeticTask {
                answer: population * lanterns,
                required: vec![(low(&company), "headquarters".into()), (low(&town), "population".into())],
                factor: 1,
                intermediates: vec![population, population * lanterns],
                reveal: ("the population of the headquarters town".into(), population),
            };
            (statement, task)
        }
        _ => {
            let company = pick(rng, "company");
            let town = book.text(&company, "headquarters");
            let river = book.text(&town, "river");
            let length = book.number(&river, "length_km");
            let statement = format!(
                "The company {company} lays two cables, each as long as the river that flows through the town where \
                 it has its headquarters. How many metres of cable does it lay?"
            );
            let task = ArithmeticTask {
                answer: length * 2 * 1000,
                required: vec![
                    (low(&company), "headquarters".into()),
                    (low(&town), "river".into()),
                    (low(&river), "length_km".into()),
                ],
                factor: 1000,
                intermediates: vec![length, length * 2, length * 2000],
                reveal: ("the river's length in kilometres".into(), length),
            };
            (statement, task)
        }
    }
}

/// Recovers the public plan of a task from its statement (the text after the tool docs is
/// enough; any prefix is skipped). `None` when the text holds no known task.
pub fn read_statement(text: &str) -> Option<Plan> {
    let text = text.rsplit_once("Task: ").map_or(text, |(_, task)| task);
    if let Some(start) = text.find(LIST_OPENING) {
        let body = &text[start + LIST_OPENING.len()..];
        let (steps, tests_text) = body.split_once(". It must pass these tests:")?;
        let stages = steps.split(", then ").map(ListStage::parse).collect::<Option<Vec<_>>>()?;
        let parse_list = |s: &str| -> Option<Vec<i64>> {
            let inner = s.trim().strip_prefix('[')?.strip_suffix(']')?;
            if inner.trim().is_empty() {
                return Some(Vec::new());
            }
            inner.split(',').map(|n| n.trim().parse().ok()).collect()
        };
        let tests = tests_text
            .lines()
            .filter_map(|line| {
                let (_, case) = line.split_once(". ")?;
                let (input, output) = case.split_once(" -> ")?;
                Some((parse_list(input)?, parse_list(output)?))
            })
            .collect();
        return Some(Plan::List { stages, tests });
    }
    let between = |text: &str, before: &str, after: &str| -> Option<String> {
        let start = text.find(before)? + before.len();
        let end = text[start..].find(after)? + start;
        Some(text[start..end].to_owned())
    };
    let named = |name: String| EntityRef::Named(name);
    let line = |variable, entity, field| LookupLine { variable, entity, field };
    if let Some(town) = between(text, "Every resident of ", " pays ") {
        let fee = between(text, " pays ", " coins of tax per month")?;
        return Some(Plan::Arithmetic(ArithmeticPlan {
            lookups: vec![line("population", named(town), "population")],
            base: ("population", '*', fee),
            factor: 12,
        }));
    }
    if let Some(start) = text.find("The ships ") {
        let text = &text[start..];
        let first = between(text, "The ships ", " and ")?;
        let second = between(text, " and ", " both sail")?;
        return Some(Plan::Arithmetic(ArithmeticPlan {
            lookups: vec![
                line("first", named(first), "capacity_tonnes"),
                line("second", named(second), "capacity_tonnes"),
            ],
            base: ("first", '+', "second".into()),
            factor: 1000,
        }));
    }
    if let Some(company) = between(text, "The company ", " gives ") {
        let lanterns = between(text, " gives ", " lanterns")?;
        return Some(Plan::Arithmetic(ArithmeticPlan {
            lookups: vec![
                line("town", named(company), "headquarters"),
                line("population", EntityRef::Variable("town"), "population"),
            ],
            base: ("population", '*', lanterns),
            factor: 1,
        }));
    }
    let company = between(text, "The company ", " lays two cables")?;
    Some(Plan::Arithmetic(ArithmeticPlan {
        lookups: vec![
            line("town", named(company), "headquarters"),
            line("river", EntityRef::Variable("town"), "river"),
            line("length", EntityRef::Variable("river"), "length_km"),
        ],
        base: ("length", '*', "2".into()),
        factor: 1000,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tool_feedback::sandbox::execute;
    use sim_core::seed::stream;
    use std::collections::BTreeMap;

    /// The sandbox's `run` of a task's pipeline gives the native reference output.
    #[test]
    fn the_sandbox_agrees_with_the_reference_pipelines() {
        use crate::tool_feedback::sandbox::run_pipeline;
        let knobs = TaskKnobs { max_lookups: 3, list_stages: 3 };
        for seed in 0..300 {
            let task = generate(&mut stream(seed, "task"), &[TaskFamily::Lists], knobs);
            let TaskKind::List(truth) = &task.kind else { unreachable!() };
            for (input, output) in &truth.tests {
                let run = run_pipeline(&pipeline_code(&truth.stages), Value::List(input.clone()), &Default::default());
                assert_eq!(run, Ok(Value::List(output.clone())), "{}", pipeline_code(&truth.stages));
            }
        }
    }

    /// The plan read back from every statement solves its task exactly.
    #[test]
    fn read_plans_solve_their_tasks() {
        let knobs = TaskKnobs { max_lookups: 3, list_stages: 3 };
        for seed in 0..300 {
            let task = generate(&mut stream(seed, "task"), &[TaskFamily::Arithmetic, TaskFamily::Lists], knobs);
            let prompt = format!("{}{}\n\nYou have 5 steps left.", crate::tool_feedback::INSTRUCTIONS, task.statement);
            match (read_statement(&prompt).expect("readable"), &task.kind) {
                (Plan::Arithmetic(plan), TaskKind::Arithmetic(truth)) => {
                    let code: Vec<String> =
                        plan.lookups.iter().map(LookupLine::code).chain([plan.calc_code()]).collect();
                    let run = execute(&code.join("\n"), &mut BTreeMap::new(), &task.encyclopedia, &Default::default());
                    assert_eq!(run.calc_results, vec![truth.answer], "{}", task.statement);
                    assert_eq!(run.lookups, truth.required);
                }
                (Plan::List { stages, tests }, TaskKind::List(truth)) => {
                    assert_eq!(stages, truth.stages);
                    assert_eq!(tests, truth.tests);
                }
                _ => panic!("plan and task differ: {}", task.statement),
            }
        }
    }
}
