//! `data_teacher-v0`: DataEnvGym-style teacher/student data generation with a synthetic
//! student.
//!
//! The agent is the teacher. Each iteration it writes training data for a student whose
//! per-subskill mastery is hidden (`gen <subskill> n=<k> difficulty=<d>` from the env's exact
//! generators, or explicit `item` lines the env checks), then `end_iteration` trains the
//! student on all data so far and re-evaluates it on the validation set; the reward is the
//! change in validation accuracy. After the last iteration the student is scored on a held-out
//! test set. See `docs/envs/data_teacher.md` for the learning model and its parameters.

pub mod skills;

use std::borrow::Cow;
use std::collections::BTreeSet;

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sim_core::prelude::*;
use sim_core::seed::{stream, stream_indexed};

use skills::{Item, SKILLS, SUBSKILLS, subskill_named, subskills_of};

/// How much of the student's state the teacher sees (DataEnvGym's three environments).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Structure {
    /// The failed validation items only (question, student answer, gold), untagged.
    OpenEnded,
    /// Validation accuracy per subskill plus three tagged error examples.
    #[default]
    SkillList,
    /// The skill tree with data allocated and accuracy per explored subskill; subskills are
    /// revealed by `explore`, data added by `exploit` (or `gen`).
    SkillTree,
}

/// The synthetic student's learning model (see the docs page for the formulas).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StudentConfig {
    /// Initial mastery per subskill is uniform in this range.
    pub initial_mastery: (f64, f64),
    /// η: the largest share of the remaining headroom one subskill's data can close.
    pub learning_rate: f64,
    /// c: effective examples at which half of η is reached (diminishing returns).
    pub saturation: f64,
    /// κ: share of the mean gain of a subskill's siblings that transfers to it.
    pub transfer: f64,
    /// λ: the largest mastery loss from invalid or mislabelled items.
    pub invalid_penalty: f64,
    /// Invalid items at which half of λ is reached.
    pub invalid_saturation: f64,
    /// ρ: mastery lost per iteration by a subskill left untrained for more than `decay_after` iterations.
    pub decay: f64,
    pub decay_after: u32,
    /// a: slope of the answer probability σ(a·(mastery − threshold(difficulty))).
    pub slope: f64,
    /// Thresholds of difficulties 1, 2, 3.
    pub difficulty_thresholds: [f64; 3],
    /// Training weight of an example whose difficulty threshold equals the student's mastery
    /// (examples at the student's level teach most).
    pub match_weight: f64,
    /// Weight lost per unit of distance between mastery and the example's threshold.
    pub mismatch_slope: f64,
    /// The least weight of a valid example.
    pub min_weight: f64,
}

impl Default for StudentConfig {
    fn default() -> Self {
        Self {
            initial_mastery: (0.1, 0.7),
            learning_rate: 0.8,
            saturation: 150.0,
            transfer: 0.3,
            invalid_penalty: 0.25,
            invalid_saturation: 10.0,
            decay: 0.01,
            decay_after: 4,
            slope: 8.0,
            difficulty_thresholds: [0.25, 0.45, 0.65],
            match_weight: 1.2,
            mismatch_slope: 2.0,
            min_weight: 0.2,
        }
    }
}

/// The env's section of a scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataTeacherConfig {
    pub structure: Structure,
    /// Training iterations (each ends with `end_iteration`).
    pub iterations: u32,
    /// Examples the teacher may write over the episode.
    pub data_budget: u32,
    /// Actions per iteration; the last one ends the iteration automatically.
    pub actions_per_iteration: u32,
    /// Validation and test items per subskill.
    pub validation_per_subskill: u32,
    pub test_per_subskill: u32,
    /// Failed validation items shown in the open-ended view.
    pub errors_shown: usize,
    /// Skill tree: subskills per skill explored at the start.
    pub initially_explored: u32,
    pub student: StudentConfig,
}

impl Default for DataTeacherConfig {
    fn default() -> Self {
        Self {
            structure: Structure::SkillList,
            iterations: 10,
            data_budget: 1000,
            actions_per_iteration: 4,
            validation_per_subskill: 20,
            test_per_subskill: 30,
            errors_shown: 8,
            initially_explored: 1,
            student: StudentConfig::default(),
        }
    }
}

const N: usize = SUBSKILLS.len();

/// The hidden student: mastery per subskill and what it was trained on.
#[derive(Debug, Clone)]
struct Student {
    initial: [f64; N],
    mastery: [f64; N],
    /// Unique valid questions per subskill, and their difficulty-weighted count.
    seen: Vec<BTreeSet<String>>,
    effective: [f64; N],
    invalid: [u32; N],
    decayed: [f64; N],
    last_trained: [u32; N],
}

impl Student {
    fn train(&mut self, config: &StudentConfig, iteration: u32, trained_now: &[bool; N]) {
        let gain: [f64; N] =
            std::array::from_fn(|s| config.learning_rate * self.effective[s] / (self.effective[s] + config.saturation));
        for ((trained, last), decayed) in trained_now.iter().zip(&mut self.last_trained).zip(&mut self.decayed) {
            if *trained {
                *last = iteration;
            } else if iteration.saturating_sub(*last) > config.decay_after {
                *decayed += config.decay;
            }
        }
        for s in 0..N {
            let siblings: Vec<usize> = subskills_of(SUBSKILLS[s].skill).filter(|&o| o != s).collect();
            let transfer = if siblings.is_empty() {
                0.0
            } else {
                config.transfer * siblings.iter().map(|&o| gain[o]).sum::<f64>() / siblings.len() as f64
            };
            let invalid = f64::from(self.invalid[s]);
            let penalty = config.invalid_penalty * invalid / (invalid + config.invalid_saturation);
            let learned = (1.0 - self.initial[s]) * (gain[s] + transfer).min(1.0);
            self.mastery[s] = (self.initial[s] + learned - penalty - self.decayed[s]).clamp(0.0, 1.0);
        }
    }

    fn probability(&self, config: &StudentConfig, item: &Item) -> f64 {
        let threshold = config.difficulty_thresholds[usize::from(item.difficulty - 1)];
        1.0 / (1.0 + (-config.slope * (self.mastery[item.subskill] - threshold)).exp())
    }
}

/// One evaluation: which items the student got right.
#[derive(Debug, Clone, Default)]
struct Evaluation {
    correct: Vec<bool>,
}

impl Evaluation {
    fn accuracy(&self) -> f64 {
        self.correct.iter().filter(|c| **c).count() as f64 / self.correct.len().max(1) as f64
    }

    fn per_subskill(&self, items: &[Item]) -> [(u32, u32); N] {
        let mut table = [(0, 0); N];
        for (item, &correct) in items.iter().zip(&self.correct) {
            table[item.subskill].1 += 1;
            if correct {
                table[item.subskill].0 += 1;
            }
        }
        table
    }
}

/// The state of an episode.
#[derive(Component, Debug)]
pub struct Classroom {
    student: Student,
    validation: Vec<Item>,
    test: Vec<Item>,
    evaluation: Evaluation,
    initial_test: Evaluation,
    iteration: u32,
    actions_this_iteration: u32,
    budget_left: u32,
    allocated: [u32; N],
    explored: [bool; N],
    /// Data written this iteration (trained at `end_iteration`).
    pending: Vec<(Item, bool)>,
    examples_total: u32,
    invalid_total: u32,
    generated: u64,
    /// The final report's figures, once training finished (the episode's metrics).
    final_metrics: Option<FinalMetrics>,
    step: StepResult,
}

#[derive(Debug, Default)]
struct StepResult {
    text: String,
    invalid: bool,
    reward: f64,
    finished: bool,
    test_gain: f64,
}

fn evaluate(
    student: &Student,
    config: &StudentConfig,
    items: &[Item],
    seed: u64,
    name: &str,
    round: u64,
) -> Evaluation {
    let mut rng = stream_indexed(seed, name, round);
    Evaluation { correct: items.iter().map(|item| rng.random_bool(student.probability(config, item))).collect() }
}

fn item_set(seed: u64, name: &str, per_subskill: u32) -> Vec<Item> {
    let mut rng = stream(seed, name);
    let mut items = Vec::new();
    for subskill in 0..N {
        for k in 0..per_subskill {
            items.push(skills::generate(subskill, (k % 3 + 1) as u8, &mut rng));
        }
    }
    items
}

/// A teacher command.
#[derive(Debug, Clone, PartialEq)]
enum Line {
    Gen { subskill: usize, n: u32, difficulty: u8 },
    Item { subskill: usize, question: String, answer: String },
    Explore { skill: usize, each: u32 },
    Exploit { subskill: usize, n: u32 },
    EndIteration,
}

fn quoted<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let start = text.find(&format!("{key}=\""))? + key.len() + 2;
    let end = text[start..].find('"')? + start;
    Some(&text[start..end])
}

fn parse_line(line: &str, structure: Structure) -> Result<Line, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let field = |name: &str| -> Option<&str> { words.iter().find_map(|w| w.strip_prefix(name)) };
    let subskill = |name: Option<&&str>| -> Result<usize, String> {
        let name = name.ok_or("name a subskill")?;
        subskill_named(name).ok_or_else(|| format!("unknown subskill `{}`", name.chars().take(30).collect::<String>()))
    };
    match words.first().copied() {
        Some("gen") => {
            let n = field("n=")
                .and_then(|v| v.parse().ok())
                .filter(|n| (1..=200).contains(n))
                .ok_or("gen needs n=<1..200>")?;
            let difficulty = match field("difficulty=") {
                None => 2,
                Some(v) => v.parse().ok().filter(|d| (1..=3).contains(d)).ok_or("difficulty is 1, 2 or 3")?,
            };
            Ok(Line::Gen { subskill: subskill(words.get(1))?, n, difficulty })
        }
        Some("item") => {
            let question = quoted(line, "q").ok_or("item needs q=\"...\"")?;
            let answer = quoted(line, "a").ok_or("item needs a=\"...\"")?;
            Ok(Line::Item {
                subskill: subskill(words.get(1))?,
                question: question.to_owned(),
                answer: answer.to_owned(),
            })
        }
        Some("explore") if structure == Structure::SkillTree => {
            let name = words.get(1).ok_or("name a skill")?;
            let skill = SKILLS.iter().position(|s| s == name).ok_or("unknown skill")?;
            let each = match field("each=") {
                None => 0,
                Some(v) => v.parse().ok().filter(|n| *n <= 200).ok_or("each=<0..200>")?,
            };
            Ok(Line::Explore { skill, each })
        }
        Some("exploit") if structure == Structure::SkillTree => {
            let n = words
                .get(2)
                .and_then(|v| v.strip_prefix('+'))
                .and_then(|v| v.parse().ok())
                .filter(|n| (1..=200).contains(n))
                .ok_or("exploit <subskill> +<1..200>")?;
            Ok(Line::Exploit { subskill: subskill(words.get(1))?, n })
        }
        Some("explore" | "exploit") => Err("explore and exploit exist only in the skill-tree structure".into()),
        Some("end_iteration") if words.len() == 1 => Ok(Line::EndIteration),
        _ => Err("unknown command".into()),
    }
}

impl Classroom {
    fn new(config: &DataTeacherConfig, seed: u64) -> Self {
        let mut rng = stream(seed, "student");
        let (low, high) = config.student.initial_mastery;
        let initial: [f64; N] = std::array::from_fn(|_| rng.random_range(low..=high));
        let student = Student {
            initial,
            mastery: initial,
            seen: vec![BTreeSet::new(); N],
            effective: [0.0; N],
            invalid: [0; N],
            decayed: [0.0; N],
            last_trained: [0; N],
        };
        let validation = item_set(seed, "validation-items", config.validation_per_subskill);
        let test = item_set(seed, "test-items", config.test_per_subskill);
        let evaluation = evaluate(&student, &config.student, &validation, seed, "validation-answers", 0);
        let initial_test = evaluate(&student, &config.student, &test, seed, "test-answers", 0);
        let explored = std::array::from_fn(|s| {
            config.structure != Structure::SkillTree
                || subskills_of(SUBSKILLS[s].skill).position(|o| o == s).unwrap_or(0)
                    < config.initially_explored as usize
        });
        Self {
            student,
            validation,
            test,
            evaluation,
            initial_test,
            iteration: 0,
            actions_this_iteration: 0,
            budget_left: config.data_budget,
            allocated: [0; N],
            explored,
            pending: Vec::new(),
            examples_total: 0,
            invalid_total: 0,
            generated: 0,
            final_metrics: None,
            step: StepResult::default(),
        }
    }

    fn generate(&mut self, subskill: usize, n: u32, difficulty: u8, seed: u64) -> u32 {
        let n = n.min(self.budget_left);
        for _ in 0..n {
            let mut rng = stream_indexed(seed, "teacher-data", self.generated);
            self.generated += 1;
            let item = skills::generate(subskill, difficulty, &mut rng);
            self.pending.push((item, true));
        }
        self.budget_left -= n;
        self.allocated[subskill] += n;
        self.examples_total += n;
        n
    }

    fn apply(&mut self, line: Line, seed: u64) -> String {
        match line {
            Line::Gen { subskill, .. } | Line::Exploit { subskill, .. } if !self.explored[subskill] => {
                format!("{} is not explored yet: nothing generated.", SUBSKILLS[subskill].name)
            }
            Line::Gen { subskill, n, difficulty } => {
                let made = self.generate(subskill, n, difficulty, seed);
                format!("Generated {made} {} items at difficulty {difficulty}.", SUBSKILLS[subskill].name)
            }
            Line::Exploit { subskill, n } => {
                let made = self.generate(subskill, n, 2, seed);
                format!("Added {made} {} items.", SUBSKILLS[subskill].name)
            }
            Line::Item { subskill, question, answer } => {
                if self.budget_left == 0 {
                    return "Item dropped: the data budget is spent.".to_owned();
                }
                let valid = skills::answer(subskill, &question).is_some_and(|gold| skills::same_answer(&gold, &answer));
                self.budget_left -= 1;
                self.allocated[subskill] += 1;
                self.examples_total += 1;
                let item = Item { subskill, difficulty: 2, question, answer };
                self.pending.push((item, valid));
                format!("Item recorded for {}.", SUBSKILLS[subskill].name)
            }
            Line::Explore { skill, each } => {
                let next = subskills_of(SKILLS[skill]).find(|&s| !self.explored[s]);
                match next {
                    None => format!("Every subskill of {} is explored.", SKILLS[skill]),
                    Some(s) => {
                        self.explored[s] = true;
                        let made = if each > 0 { self.generate(s, each, 2, seed) } else { 0 };
                        format!("Explored {}: new subskill {} ({made} items).", SKILLS[skill], SUBSKILLS[s].name)
                    }
                }
            }
            Line::EndIteration => String::new(),
        }
    }

    /// Trains on everything so far, re-evaluates, and returns the validation gain.
    fn end_iteration(&mut self, config: &DataTeacherConfig, seed: u64) -> f64 {
        let mut trained_now = [false; N];
        for (item, valid) in self.pending.drain(..) {
            let s = item.subskill;
            if !valid {
                self.student.invalid[s] += 1;
                self.invalid_total += 1;
            } else if self.student.seen[s].insert(item.question) {
                // Duplicates saturate: a repeated question teaches nothing new.
                let config = &config.student;
                let threshold = config.difficulty_thresholds[usize::from(item.difficulty - 1)];
                let distance = (self.student.mastery[s] - threshold).abs();
                let weight = (config.match_weight - config.mismatch_slope * distance).max(config.min_weight);
                self.student.effective[s] += weight;
                trained_now[s] = true;
            }
        }
        self.iteration += 1;
        self.actions_this_iteration = 0;
        self.student.train(&config.student, self.iteration, &trained_now);
        let before = self.evaluation.accuracy();
        self.evaluation = evaluate(
            &self.student,
            &config.student,
            &self.validation,
            seed,
            "validation-answers",
            u64::from(self.iteration),
        );
        self.evaluation.accuracy() - before
    }

    /// The teacher's view of the student, by structure.
    fn render_state(&self, config: &DataTeacherConfig, seed: u64) -> String {
        let table = self.evaluation.per_subskill(&self.validation);
        let mut text = format!(
            "Validation accuracy {:.3}. Iteration {} of {}; data budget left {} examples.\n",
            self.evaluation.accuracy(),
            self.iteration + 1,
            config.iterations,
            self.budget_left
        );
        let failed: Vec<&Item> =
            self.validation.iter().zip(&self.evaluation.correct).filter(|(_, c)| !**c).map(|(i, _)| i).collect();
        let mut rng = stream_indexed(seed, "student-answers", u64::from(self.iteration));
        let error_line = |item: &Item, rng: &mut sim_core::seed::StreamRng, tagged: bool| {
            let wrong = skills::wrong_answer(item, rng);
            let tag = if tagged { format!("[{}] ", SUBSKILLS[item.subskill].name) } else { String::new() };
            format!("- {tag}{} student: {wrong}; expected: {}\n", item.question, item.answer)
        };
        match config.structure {
            Structure::OpenEnded => {
                text.push_str(&format!(
                    "Failed validation items ({} of {} shown):\n",
                    failed.len().min(config.errors_shown),
                    failed.len()
                ));
                let step = (failed.len() / config.errors_shown.max(1)).max(1);
                for item in failed.iter().step_by(step).take(config.errors_shown) {
                    text.push_str(&error_line(item, &mut rng, false));
                }
            }
            Structure::SkillList => {
                text.push_str("Validation accuracy by subskill:\n");
                for (s, (right, total)) in table.iter().enumerate() {
                    text.push_str(&format!("- {} ({}): {right}/{total}\n", SUBSKILLS[s].name, SUBSKILLS[s].skill));
                }
                text.push_str("Error examples:\n");
                let step = (failed.len() / 3).max(1);
                for item in failed.iter().step_by(step).take(3) {
                    text.push_str(&error_line(item, &mut rng, true));
                }
            }
            Structure::SkillTree => {
                text.push_str("Skill tree (validation accuracy, examples allocated):\n");
                for skill in SKILLS {
                    let mut unexplored = 0;
                    let mut parts = Vec::new();
                    for s in subskills_of(skill) {
                        if self.explored[s] {
                            let (right, total) = table[s];
                            parts.push(format!("{} {right}/{total}, {} ex", SUBSKILLS[s].name, self.allocated[s]));
                        } else {
                            unexplored += 1;
                        }
                    }
                    let more = if unexplored > 0 { format!(" (+{unexplored} unexplored)") } else { String::new() };
                    text.push_str(&format!("- {skill}: {}{more}\n", parts.join("; ")));
                }
            }
        }
        text.trim_end().to_owned()
    }

    /// The final report: test accuracy gain, per-skill gain, gain per 100 examples, invalid fraction.
    fn final_report(&mut self, config: &DataTeacherConfig, seed: u64) -> String {
        let test = evaluate(&self.student, &config.student, &self.test, seed, "test-answers", 1);
        let gain = test.accuracy() - self.initial_test.accuracy();
        self.step.test_gain = gain;
        let before = self.initial_test.per_subskill(&self.test);
        let after = test.per_subskill(&self.test);
        let per_skill_gain: Vec<(String, f64)> = SKILLS
            .iter()
            .map(|skill| {
                let (mut b, mut a, mut total) = (0, 0, 0);
                for s in subskills_of(skill) {
                    b += before[s].0;
                    a += after[s].0;
                    total += after[s].1;
                }
                ((*skill).to_owned(), (f64::from(a) - f64::from(b)) / f64::from(total.max(1)))
            })
            .collect();
        let per_skill: Vec<String> = per_skill_gain.iter().map(|(skill, gain)| format!("{skill} {gain:+.3}")).collect();
        let per_100 = if self.examples_total > 0 { gain * 100.0 / f64::from(self.examples_total) } else { 0.0 };
        let invalid = f64::from(self.invalid_total) / f64::from(self.examples_total.max(1));
        self.final_metrics = Some(FinalMetrics {
            test_accuracy: test.accuracy(),
            initial_test_accuracy: self.initial_test.accuracy(),
            test_gain: gain,
            per_skill_gain,
            examples: self.examples_total,
            invalid_examples: self.invalid_total,
            gain_per_100_examples: per_100,
            invalid_fraction: invalid,
        });
        format!(
            "Training finished. Test accuracy {:.3} (initial {:.3}, gain {gain:+.3}). Per-skill gain: {}. \
Examples used: {}; gain per 100 examples {per_100:+.4}; fraction of invalid data {invalid:.3}.",
            test.accuracy(),
            self.initial_test.accuracy(),
            per_skill.join(", "),
            self.examples_total,
        )
    }
}

const PROMPT: &str = "You are the teacher of a student model. Write training data to raise its accuracy; after \
each iteration it is trained on all data so far and evaluated on a validation set, and your reward is the change \
in validation accuracy. At the end it is scored on a held-out test set. One action may hold several lines:\n\
- gen <subskill> n=<k> difficulty=<1|2|3>   (k items from the subskill's generator)\n\
- item <subskill> q=\"<question>\" a=\"<answer>\"   (one item you write; items are used as written)\n\
- end_iteration   (last line: train and evaluate)\n";

const TREE_PROMPT: &str = "- explore <skill> [each=<n>]   (reveal the next subskill of a skill, with n items)\n\
- exploit <subskill> +<n>   (n more items of an explored subskill)\n";

fn prompt(classroom: &Classroom, config: &DataTeacherConfig, seed: u64) -> String {
    let mut text = String::from(PROMPT);
    if config.structure == Structure::SkillTree {
        text.push_str(TREE_PROMPT);
    }
    text.push_str(&format!(
        "Budget: {} examples over {} iterations, at most {} actions per iteration.\nSubskills and their question forms:\n",
        config.data_budget, config.iterations, config.actions_per_iteration
    ));
    let mut rng = stream(0, "examples");
    for (s, subskill) in SUBSKILLS.iter().enumerate() {
        if classroom.explored[s] {
            let example = skills::generate(s, 1, &mut rng);
            text.push_str(&format!("- {} ({}): {}\n", subskill.name, subskill.skill, example.question));
        }
    }
    text.push_str(&classroom.render_state(config, seed));
    text
}

fn apply_teacher_action(mut episodes: Stepping<(&EnvConfig<DataTeacher>, &Episode, &mut Classroom)>) {
    for (text, (config, episode, mut classroom)) in episodes.iter_mut_with_action() {
        classroom.step = StepResult::default();
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let structure = config.structure;
        let parsed: Result<Vec<Line>, String> = if text.len() > 20_000 {
            Err("the action is too long (20,000 characters at most)".into())
        } else if lines.is_empty() {
            Err("empty action".into())
        } else {
            lines.iter().map(|l| parse_line(l, structure)).collect()
        };
        let parsed = parsed.and_then(|lines| {
            let ends = lines.iter().position(|l| *l == Line::EndIteration);
            match ends {
                Some(at) if at + 1 != lines.len() => Err("end_iteration must be the last line".into()),
                _ => Ok(lines),
            }
        });
        classroom.actions_this_iteration += 1;
        let mut report = Vec::new();
        let mut end = false;
        match parsed {
            Err(reason) => {
                classroom.step.invalid = true;
                report.push(format!("Invalid action: {reason}. Nothing was applied."));
            }
            Ok(lines) => {
                for line in lines {
                    if line == Line::EndIteration {
                        end = true;
                    } else {
                        let said = classroom.apply(line, episode.seed);
                        if !said.is_empty() && report.len() < 20 {
                            report.push(said);
                        }
                    }
                }
            }
        }
        if !end && classroom.actions_this_iteration >= config.actions_per_iteration {
            report.push("That was the iteration's last action: the iteration ends.".to_owned());
            end = true;
        }
        if end {
            let iteration = classroom.iteration + 1;
            let gain = classroom.end_iteration(config, episode.seed);
            classroom.step.reward = gain;
            report.push(format!(
                "Iteration {iteration} done: validation accuracy {:.3} ({gain:+.3}).",
                classroom.evaluation.accuracy()
            ));
            if classroom.iteration >= config.iterations {
                classroom.step.finished = true;
                let final_report = classroom.final_report(config, episode.seed);
                report.push(final_report);
            }
        }
        if !classroom.step.finished {
            report.push(classroom.render_state(config, episode.seed));
        }
        classroom.step.text = report.join("\n");
    }
}

fn render_teacher_reply(mut episodes: Stepping<(&Classroom, &mut Reply)>) {
    for (classroom, mut reply) in episodes.iter_mut() {
        let kind = if classroom.step.invalid { Kind::Admin } else { Kind::Observation };
        reply.set(Speaker::Env, kind, classroom.step.text.clone());
    }
}

fn score_teacher_action(mut episodes: Stepping<(&Classroom, &mut Outcome)>) {
    for (classroom, mut outcome) in episodes.iter_mut() {
        outcome.reward = classroom.step.reward;
        outcome.invalid_action = classroom.step.invalid;
        outcome.end_when(classroom.step.finished, "iterations_done");
        // Success: the student ends better on the held-out test set than it started.
        outcome.success = classroom.step.finished && classroom.step.test_gain > 0.0;
    }
}

/// The env type registered as `data_teacher-v0`.
pub struct DataTeacher;

impl Environment for DataTeacher {
    type Config = DataTeacherConfig;
    const ID: &'static str = "data_teacher-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        EnvSpec::new(
            config.iterations * config.actions_per_iteration,
            (-1.0, 1.0),
            "Teach a synthetic student by generating training data (DataEnvGym)",
        )
        .with_metrics(METRICS)
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        if config.iterations == 0 || config.actions_per_iteration == 0 {
            return Err("data_teacher: iterations and actions_per_iteration must be at least 1".into());
        }
        if config.validation_per_subskill == 0 || config.test_per_subskill == 0 {
            return Err("data_teacher: validation and test sets need at least one item per subskill".into());
        }
        let student = &config.student;
        let (low, high) = student.initial_mastery;
        if !(0.0..=high).contains(&low) || high > 1.0 {
            return Err("data_teacher: initial_mastery must be a range inside [0, 1]".into());
        }
        if student.saturation <= 0.0 || student.invalid_saturation <= 0.0 || student.slope <= 0.0 {
            return Err("data_teacher: saturation, invalid_saturation and slope must be positive".into());
        }
        Ok(())
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        let classroom = Classroom::new(config, episode.seed);
        let text = prompt(&classroom, config, episode.seed);
        entity.insert(classroom);
        Cow::Owned(text)
    }

    fn add_systems(schedule: &mut Schedule) {
        schedule.add_systems((
            apply_teacher_action.in_set(StepSet::Act),
            render_teacher_reply.in_set(StepSet::Observe),
            score_teacher_action.in_set(StepSet::Score),
        ));
    }

    /// The student's hidden mastery per subskill (never shown; only accuracies are).
    fn episode_metrics(entity: EntityRef, _record: &EpisodeRecord) -> EpisodeMetrics {
        let mut metrics = EpisodeMetrics::default();
        let Some(figures) = entity.get::<Classroom>().and_then(|classroom| classroom.final_metrics.as_ref()) else {
            return metrics;
        };
        metrics
            .set("test_accuracy", figures.test_accuracy)
            .set("initial_test_accuracy", figures.initial_test_accuracy)
            .set("test_gain", figures.test_gain)
            .set("examples", f64::from(figures.examples))
            .set("invalid_examples", f64::from(figures.invalid_examples))
            .set("gain_per_100_examples", figures.gain_per_100_examples);
        for ((_, gain), name) in figures.per_skill_gain.iter().zip(SKILL_GAIN_METRICS) {
            metrics.set(name, *gain);
        }
        metrics
    }

    fn hidden_state(entity: EntityRef) -> Vec<String> {
        let Some(classroom) = entity.get::<Classroom>() else { return Vec::new() };
        SUBSKILLS
            .iter()
            .zip(&classroom.student.mastery)
            .map(|(s, m)| format!("student mastery {} {:.4}", s.name, m))
            .collect()
    }

    fn sample_actions(_config: &Self::Config) -> Vec<String> {
        vec![
            "gen add_carry n=20 difficulty=2".to_owned(),
            "gen reverse_word n=10 difficulty=1\ngen parity n=10 difficulty=3\nend_iteration".to_owned(),
            "item add_carry q=\"What is 47 + 38?\" a=\"85\"".to_owned(),
            "item add_carry q=\"What is 47 + 38?\" a=\"84\"".to_owned(),
            "item km_to_m q=\"Convert 3.5 km to m.\" a=\"3500\"".to_owned(),
            "explore units each=10".to_owned(),
            "exploit add_carry +15".to_owned(),
            "end_iteration".to_owned(),
        ]
    }
}

/// Metric names of the per-skill test gains, in [`SKILLS`] order.
const SKILL_GAIN_METRICS: [&str; 4] =
    ["skill_gain_arithmetic", "skill_gain_units", "skill_gain_strings", "skill_gain_number_sense"];

/// The metrics every finished episode records (DataEnvGym's).
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::mean("test_accuracy", "the student's held-out test accuracy after the last iteration"),
    MetricSpec::mean("initial_test_accuracy", "the student's test accuracy before any teaching"),
    MetricSpec::mean("test_gain", "test accuracy after minus before (DataEnvGym's headline gain)"),
    MetricSpec::mean("skill_gain_arithmetic", "test accuracy gain on the arithmetic subskills"),
    MetricSpec::mean("skill_gain_units", "test accuracy gain on the unit-conversion subskills"),
    MetricSpec::mean("skill_gain_strings", "test accuracy gain on the string subskills"),
    MetricSpec::mean("skill_gain_number_sense", "test accuracy gain on the number-sense subskills"),
    MetricSpec::mean("examples", "training examples used"),
    MetricSpec::mean("invalid_examples", "examples with a wrong answer"),
    MetricSpec::ratio("invalid_fraction", "invalid_examples", "examples", "fraction of invalid training data"),
    MetricSpec::mean("gain_per_100_examples", "test gain per 100 examples used (data efficiency)"),
];

/// Final metrics of a finished episode: the figures of its final report, exact.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalMetrics {
    pub test_accuracy: f64,
    pub initial_test_accuracy: f64,
    pub test_gain: f64,
    /// (skill, gain) in [`SKILLS`] order.
    pub per_skill_gain: Vec<(String, f64)>,
    pub examples: u32,
    pub invalid_examples: u32,
    pub gain_per_100_examples: f64,
    pub invalid_fraction: f64,
}

/// The final metrics of a record, from its typed metrics (`None` when the episode did not
/// finish training).
pub fn final_metrics(record: &sim_core::EpisodeRecord) -> Option<FinalMetrics> {
    let m = &record.metrics;
    let examples = m.get("examples")?;
    let invalid_examples = m.get("invalid_examples")?;
    Some(FinalMetrics {
        test_accuracy: m.get("test_accuracy")?,
        initial_test_accuracy: m.get("initial_test_accuracy")?,
        test_gain: m.get("test_gain")?,
        per_skill_gain: SKILLS
            .iter()
            .zip(SKILL_GAIN_METRICS)
            .map(|(skill, name)| Some(((*skill).to_owned(), m.get(name)?)))
            .collect::<Option<_>>()?,
        examples: examples as u32,
        invalid_examples: invalid_examples as u32,
        gain_per_100_examples: m.get("gain_per_100_examples")?,
        invalid_fraction: invalid_examples / examples.max(1.0),
    })
}
