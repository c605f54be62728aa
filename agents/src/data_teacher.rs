//! Teachers for `data_teacher-v0`: uniform allocation, weakest-skill-first, and a sloppy
//! weakest-first teacher that writes some of its items by hand with wrong answers (to show the
//! penalty of invalid data). Stateless: each turn they read the prompt (budget, iterations,
//! subskills) and the latest view of the student.

use envs::data_teacher::skills::{SKILLS, SUBSKILLS, answer, generate, subskill_named, wrong_answer};
use sim_core::seed::stream_indexed;
use sim_core::{Action, AgentView, PerViewAgent, Speaker};

/// The budget per iteration and the subskills named in the prompt.
fn plan_limits(view: &AgentView<'_>) -> (u32, u32) {
    let prompt = view.transcript.entries().first().map(|e| e.text.as_ref()).unwrap_or("");
    let line = prompt.lines().find(|l| l.starts_with("Budget: ")).unwrap_or("");
    let numbers: Vec<u32> =
        line.split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()).filter_map(|w| w.parse().ok()).collect();
    match numbers[..] {
        [budget, iterations, ..] => (budget, iterations.max(1)),
        _ => (0, 1),
    }
}

fn latest_view<'a>(view: &'a AgentView<'_>) -> &'a str {
    view.transcript.entries().iter().rev().find(|e| e.speaker != Speaker::Agent).map_or("", |e| e.text.as_ref())
}

/// Validation accuracy per subskill from the latest view: the skill-list table, the skill
/// tree, or (open-ended) 1 minus each subskill's share of the failed items shown, classified
/// with the env's own question checker. `None` for subskills the view does not show.
pub fn accuracies(text: &str) -> [Option<f64>; SUBSKILLS.len()] {
    let mut table = [None; SUBSKILLS.len()];
    let fraction = |w: &str| -> Option<f64> {
        let (right, total) = w.trim_end_matches(',').split_once('/')?;
        let (right, total): (f64, f64) = (right.parse().ok()?, total.parse().ok()?);
        (total > 0.0).then(|| right / total)
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("- ") {
            // Skill list: "- add_carry (arithmetic): 3/10"
            let words: Vec<&str> = rest.split_whitespace().collect();
            if let (Some(s), Some(last)) = (words.first().and_then(|w| subskill_named(w)), words.last())
                && words.get(1).is_some_and(|w| w.starts_with('('))
            {
                table[s] = fraction(last);
            }
            // Skill tree: "- arithmetic: add_carry 3/10, 40 ex; sub_borrow 5/10, 0 ex"
            if let Some((skill, parts)) = rest.split_once(": ")
                && SKILLS.contains(&skill)
            {
                for part in parts.split("; ") {
                    let words: Vec<&str> = part.split_whitespace().collect();
                    if let (Some(s), Some(acc)) = (words.first().and_then(|w| subskill_named(w)), words.get(1)) {
                        table[s] = fraction(acc);
                    }
                }
            }
        }
    }
    if table.iter().all(Option::is_none) && text.contains("Failed validation items") {
        let mut failures = [0u32; SUBSKILLS.len()];
        let mut shown = 0;
        for line in text.lines().filter_map(|l| l.strip_prefix("- ")) {
            let question = line.split(" student: ").next().unwrap_or("");
            if let Some(s) = (0..SUBSKILLS.len()).find(|&s| answer(s, question).is_some()) {
                failures[s] += 1;
                shown += 1;
            }
        }
        for (s, slot) in table.iter_mut().enumerate() {
            *slot = Some(1.0 - f64::from(failures[s]) / f64::from(shown.max(1)));
        }
    }
    table
}

fn difficulty_for(accuracy: f64) -> u8 {
    if accuracy < 0.35 {
        1
    } else if accuracy < 0.7 {
        2
    } else {
        3
    }
}

fn is_tree(view: &AgentView<'_>) -> bool {
    view.transcript.entries().first().is_some_and(|e| e.text.contains("- explore <skill>"))
}

/// `explore` lines revealing every subskill (skill tree only, first action).
fn explore_all(view: &AgentView<'_>, lines: &mut Vec<String>) {
    if is_tree(view) && view.turn == 0 {
        for skill in SKILLS {
            for _ in 0..SUBSKILLS.len() {
                lines.push(format!("explore {skill}"));
            }
        }
    }
}

fn uniform_action(view: &AgentView<'_>) -> String {
    let (budget, iterations) = plan_limits(view);
    let per_subskill = (budget / iterations / SUBSKILLS.len() as u32).max(1);
    let mut lines = Vec::new();
    explore_all(view, &mut lines);
    for subskill in SUBSKILLS {
        lines.push(format!("gen {} n={per_subskill} difficulty=2", subskill.name));
    }
    lines.push("end_iteration".to_owned());
    lines.join("\n")
}

/// The `targets` weakest subskills by validation accuracy, with their accuracy.
fn weakest(view: &AgentView<'_>, targets: usize) -> Vec<(usize, f64)> {
    let table = accuracies(latest_view(view));
    let mut known: Vec<(usize, f64)> = table.iter().enumerate().map(|(s, a)| (s, a.unwrap_or(0.0))).collect();
    known.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    known.truncate(targets);
    known
}

const WEAKEST_TARGETS: usize = 6;

fn weakest_action(view: &AgentView<'_>, invalid_share: f64) -> String {
    let (budget, iterations) = plan_limits(view);
    let per_iteration = budget / iterations;
    let targets = weakest(view, WEAKEST_TARGETS);
    let per_subskill = (per_iteration / targets.len().max(1) as u32).max(1);
    let mut lines = Vec::new();
    explore_all(view, &mut lines);
    let mut rng = stream_indexed(view.episode.seed, "sloppy-teacher", u64::from(view.turn));
    for (s, accuracy) in targets {
        let difficulty = difficulty_for(accuracy);
        let handwritten = (f64::from(per_subskill) * invalid_share).round() as u32;
        let generated = per_subskill - handwritten;
        if generated > 0 {
            lines.push(format!("gen {} n={generated} difficulty={difficulty}", SUBSKILLS[s].name));
        }
        for _ in 0..handwritten {
            let item = generate(s, difficulty, &mut rng);
            let wrong = wrong_answer(&item, &mut rng);
            lines.push(format!("item {} q=\"{}\" a=\"{wrong}\"", SUBSKILLS[s].name, item.question));
        }
    }
    lines.push("end_iteration".to_owned());
    lines.join("\n")
}

/// Spreads each iteration's share of the budget evenly over every subskill at difficulty 2.
#[derive(Debug, Default, Clone)]
pub struct UniformTeacher;

impl UniformTeacher {
    pub fn new() -> Self {
        Self
    }
}

impl PerViewAgent for UniformTeacher {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Action::from(uniform_action(view))
    }
}

/// Puts each iteration's share of the budget on the four subskills with the lowest validation
/// accuracy, at a difficulty matched to that accuracy.
#[derive(Debug, Default, Clone)]
pub struct WeakestFirstTeacher;

impl WeakestFirstTeacher {
    pub fn new() -> Self {
        Self
    }
}

impl PerViewAgent for WeakestFirstTeacher {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Action::from(weakest_action(view, 0.0))
    }
}

/// Weakest-first, but 30% of its examples are items it writes itself with wrong answers.
#[derive(Debug, Default, Clone)]
pub struct SloppyTeacher;

impl SloppyTeacher {
    pub fn new() -> Self {
        Self
    }
}

/// The share of the sloppy teacher's examples that are mislabelled.
pub const SLOPPY_INVALID_SHARE: f64 = 0.3;

impl PerViewAgent for SloppyTeacher {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Action::from(weakest_action(view, SLOPPY_INVALID_SHARE))
    }
}
