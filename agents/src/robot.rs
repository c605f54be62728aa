//! Agents for `robot_correction-v0` and `robot_memory-v0`: a random commander, a planner
//! without memory, the DROC-like planner that notes and recalls corrections, and an oracle that
//! knows the hidden skill errors and preferences (the lower bound on interventions).
//!
//! All are stateless: each turn they re-read the transcript of the **current task** only (the
//! lines since the last `Task k of N` header), so knowledge carried from one task to the next
//! travels through the env's knowledge base alone, as in DROC.

use envs::robot::command::{Command, Direction};
use envs::robot::human::{Heard, interpret};
use envs::robot::world::{COLOURS, Fixture, OBJECT_TYPES, Offset, hidden_truth, type_named};
use rand::RngExt;
use sim_core::seed::stream_indexed;
use sim_core::{Action, AgentView, Kind, PerViewAgent, Speaker};

/// Where an object is, as the scene line says.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenObject {
    pub name: String,
    pub kind: usize,
    pub place: Option<Fixture>,
    pub in_gripper: bool,
}

/// The scene line of an observation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scene {
    pub objects: Vec<SeenObject>,
    pub open: Vec<Fixture>,
    /// The held object's name.
    pub holding: Option<String>,
    /// The object next to which a grasp missed.
    pub grasp_missed: Option<String>,
}

/// Parses `Scene: ...` from an observation, if it has one.
pub fn parse_scene(text: &str) -> Option<Scene> {
    let line = text.lines().rev().find_map(|l| l.strip_prefix("Scene: "))?;
    let mut scene = Scene::default();
    for part in line.trim_end_matches('.').split("; ") {
        let words: Vec<&str> = part.split(' ').collect();
        if let Some(rest) = part.strip_prefix("gripper holding the ") {
            scene.holding = Some(rest.split(' ').take(2).collect::<Vec<_>>().join(" "));
        } else if let Some(rest) = part.strip_prefix("gripper open next to the ") {
            scene.grasp_missed = Some(rest.trim_end_matches(" (grasp missed)").to_owned());
        } else if let Some(fixture) = part.strip_suffix(" open").and_then(Fixture::parse) {
            scene.open.push(fixture);
        } else if words.len() >= 3 && COLOURS.contains(&words[0]) {
            let Some(kind) = type_named(words[1]) else { continue };
            let rest = words[2..].join(" ");
            let place = rest.strip_prefix("in the ").or_else(|| rest.strip_prefix("on the ")).and_then(Fixture::parse);
            scene.objects.push(SeenObject {
                name: format!("{} {}", words[0], words[1]),
                kind,
                place,
                in_gripper: rest == "in the gripper",
            });
        }
    }
    Some(scene)
}

/// The current task as the transcript shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    /// Goal object names, in the task sentence's order.
    pub goals: Vec<String>,
    /// `Some(bin)` for packing tasks; `None` when the objects go where they belong (hidden).
    pub destination: Option<Fixture>,
    /// Index of the transcript entry that opened the task.
    pub start: usize,
}

fn task_line(text: &str) -> Option<&str> {
    text.lines().rev().find(|l| l.starts_with("Task ") && l.contains("(iteration "))
}

/// Finds the current task: the last entry with a task header.
pub fn current_task(view: &AgentView<'_>) -> Option<TaskView> {
    let entries = view.transcript.entries();
    let (start, line) = entries
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, e)| (e.speaker != Speaker::Agent).then(|| task_line(&e.text).map(|l| (i, l))).flatten())?;
    let sentence = line.split_once("): ")?.1;
    let words: Vec<&str> = sentence.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let goals = words
        .windows(3)
        .filter(|w| w[0] == "the" && COLOURS.contains(&w[1]) && type_named(w[2]).is_some())
        .map(|w| format!("{} {}", w[1], w[2]))
        .collect();
    let destination = sentence.starts_with("Pack").then_some(Fixture::Bin);
    Some(TaskView { goals, destination, start })
}

fn kind_of(name: &str) -> Option<usize> {
    name.split(' ').nth(1).and_then(type_named)
}

/// What a planner knows about an object type: where its skills must aim and where it belongs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TypeKnowledge {
    pub pick: Option<Offset>,
    pub place: Option<Offset>,
    pub home: Option<Fixture>,
}

/// Facts learned in the current task from the human's words.
#[derive(Debug, Default)]
struct Learned {
    /// Per type: (pick offset, place offset, home), when observed.
    types: [TypeKnowledge; OBJECT_TYPES.len()],
}

/// Reads the current task's history: the offsets that made each skill succeed (the aimed
/// offset plus the nudges the human gave), and the homes the human named.
fn learn_from_task(view: &AgentView<'_>, task: &TaskView) -> Learned {
    let mut learned = Learned::default();
    let entries = &view.transcript.entries()[task.start..];
    // The skill being attempted: (object, is_place, aimed offset + nudges so far), and the last nudge.
    let mut attempt: Option<(String, bool, Offset)> = None;
    let mut last_nudge: Option<(Direction, i32)> = None;
    let mut holding: Option<String> = None;
    // The agent's last skill command, which starts an attempt unless the human overrode or stopped it.
    let mut candidate: Option<(String, bool, Offset)> = None;
    for entry in entries {
        if entry.kind == Kind::Action {
            candidate = match envs::robot::command::parse(&entry.text) {
                Ok(Command::Pick { object, offset }) => Some((object, false, offset)),
                Ok(Command::Place { object, offset, fixture }) if fixture != Fixture::Bin => {
                    Some((object, true, offset))
                }
                _ => None,
            };
            continue;
        }
        let text = entry.text.as_ref();
        let overridden = text.starts_with("Executing the human's correction") || text.starts_with("The human stopped");
        if let Some(fresh) = candidate.take()
            && !overridden
        {
            attempt = Some(fresh);
            last_nudge = None;
        }
        if let Some(start) = text.find("Human: \"") {
            let said = text[start + 8..].split('"').next().unwrap_or("");
            match interpret(said) {
                Some(Heard::Nudge { direction, cm }) => {
                    last_nudge = Some((direction, cm));
                    if let Some(a) = attempt.as_mut() {
                        let unit = direction.unit();
                        a.2 = (a.2.0 + unit.0 * cm, a.2.1 + unit.1 * cm);
                    }
                }
                Some(Heard::More) => {
                    if let (Some(a), Some((direction, cm))) = (attempt.as_mut(), last_nudge) {
                        let unit = direction.unit();
                        a.2 = (a.2.0 + unit.0 * cm, a.2.1 + unit.1 * cm);
                    }
                }
                Some(Heard::Place(fixture)) => {
                    let held = parse_scene(text).and_then(|s| s.holding).or(holding.clone());
                    if task.destination.is_none()
                        && let Some(kind) = held.as_deref().and_then(kind_of)
                    {
                        learned.types[kind].home = Some(fixture);
                    }
                }
                _ => {}
            }
        }
        if let Some((object, is_place, offset)) = &attempt {
            let done = if *is_place {
                text.contains(&format!("Placed the {object} "))
            } else {
                text.contains(&format!("Grasped the {object}."))
            };
            if done {
                if let Some(kind) = kind_of(object) {
                    let slot = &mut learned.types[kind];
                    if *is_place { slot.place = Some(*offset) } else { slot.pick = Some(*offset) }
                }
                attempt = None;
                last_nudge = None;
            }
        }
        if let Some(scene) = parse_scene(text) {
            holding = scene.holding;
        }
    }
    learned
}

fn offset_text(offset: Offset) -> String {
    format!("x {} y {}", offset.0, offset.1)
}

/// The note texts of the DROC-like agent.
fn pick_note(kind: usize, offset: Offset) -> String {
    format!("{} pick offset {}", OBJECT_TYPES[kind].name, offset_text(offset))
}

fn place_note(kind: usize, offset: Offset) -> String {
    format!("{} place offset {}", OBJECT_TYPES[kind].name, offset_text(offset))
}

fn home_note(kind: usize, home: Fixture) -> String {
    format!("{} goes in the {}", OBJECT_TYPES[kind].name, home.name())
}

fn parse_note(note: &str) -> Option<(usize, NoteFact)> {
    let words: Vec<&str> = note.split_whitespace().collect();
    let kind = type_named(words.first()?)?;
    match words.as_slice() {
        [_, skill @ ("pick" | "place"), "offset", "x", x, "y", y] => {
            let offset = (x.parse().ok()?, y.parse().ok()?);
            Some((kind, if *skill == "pick" { NoteFact::Pick(offset) } else { NoteFact::Place(offset) }))
        }
        [_, "goes", "in", "the", fixture @ ..] => Some((kind, NoteFact::Home(Fixture::parse(&fixture.join(" "))?))),
        _ => None,
    }
}

enum NoteFact {
    Pick(Offset),
    Place(Offset),
    Home(Fixture),
}

/// What the recalls of this task returned (newest note of each kind wins: recall lists newest first).
fn recalled(view: &AgentView<'_>, task: &TaskView) -> [TypeKnowledge; OBJECT_TYPES.len()] {
    let mut known = [TypeKnowledge::default(); OBJECT_TYPES.len()];
    for entry in &view.transcript.entries()[task.start..] {
        let first_line = entry.text.lines().next().unwrap_or("");
        let Some(rest) = first_line.strip_prefix("Recalled for \"") else { continue };
        let Some((_, list)) = rest.split_once("\": ") else { continue };
        for note in list.split(" (").map(|n| n.trim_start_matches('(')) {
            let note = note.split_once(") ").map_or(note, |(_, text)| text);
            if let Some((kind, fact)) = parse_note(note) {
                let slot = &mut known[kind];
                match fact {
                    NoteFact::Pick(o) => slot.pick = slot.pick.or(Some(o)),
                    NoteFact::Place(o) => slot.place = slot.place.or(Some(o)),
                    NoteFact::Home(f) => slot.home = slot.home.or(Some(f)),
                }
            }
        }
    }
    known
}

fn latest_scene(view: &AgentView<'_>) -> Option<Scene> {
    view.transcript.entries().iter().rev().filter(|e| e.speaker != Speaker::Agent).find_map(|e| parse_scene(&e.text))
}

/// The planner's next skill command, given what it knows per type.
fn plan(task: &TaskView, scene: &Scene, knowledge: &[TypeKnowledge; OBJECT_TYPES.len()], guess: Fixture) -> Command {
    let destination = |kind: usize| task.destination.or(knowledge[kind].home).unwrap_or(guess);
    let closed = |fixture: Fixture| fixture.is_drawer() && !scene.open.contains(&fixture);
    let with_offset = |offset: Option<Offset>| offset.unwrap_or((0, 0));
    if let Some(held) = &scene.holding {
        let kind = kind_of(held).unwrap_or(0);
        let fixture = destination(kind);
        if closed(fixture) {
            return Command::Open(fixture);
        }
        let offset = if fixture == Fixture::Bin { (0, 0) } else { with_offset(knowledge[kind].place) };
        return Command::Place { object: held.clone(), fixture, offset };
    }
    let pending = task.goals.iter().find_map(|goal| {
        let seen = scene.objects.iter().find(|o| &o.name == goal)?;
        let fixture = destination(seen.kind);
        let done = match (task.destination, knowledge[seen.kind].home) {
            (Some(bin), _) => seen.place == Some(bin),
            (None, Some(home)) => seen.place == Some(home),
            (None, None) => seen.place.is_some(),
        };
        (!done).then_some((seen, fixture))
    });
    match pending {
        None => Command::Done,
        Some((_, fixture)) if closed(fixture) => Command::Open(fixture),
        Some((seen, _)) => Command::Pick { object: seen.name.clone(), offset: with_offset(knowledge[seen.kind].pick) },
    }
}

/// Where a planner without knowledge puts objects that "belong" somewhere.
const GUESSED_HOME: Fixture = Fixture::TopDrawer;

fn merge(mut base: [TypeKnowledge; OBJECT_TYPES.len()], learned: &Learned) -> [TypeKnowledge; OBJECT_TYPES.len()] {
    for (slot, fresh) in base.iter_mut().zip(&learned.types) {
        slot.pick = fresh.pick.or(slot.pick);
        slot.place = fresh.place.or(slot.place);
        slot.home = fresh.home.or(slot.home);
    }
    base
}

fn planner_action(view: &AgentView<'_>, memory: bool) -> String {
    let (Some(task), Some(scene)) = (current_task(view), latest_scene(view)) else { return "done".to_owned() };
    let learned = learn_from_task(view, &task);
    if !memory {
        let knowledge = merge([TypeKnowledge::default(); OBJECT_TYPES.len()], &learned);
        return plan(&task, &scene, &knowledge, GUESSED_HOME).render();
    }
    let actions: Vec<&str> = view.transcript.entries()[task.start..]
        .iter()
        .filter(|e| e.kind == Kind::Action)
        .map(|e| e.text.as_ref())
        .collect();
    // 1. Recall each goal type once per task.
    let mut kinds: Vec<usize> = task.goals.iter().filter_map(|g| kind_of(g)).collect();
    kinds.dedup();
    for &kind in &kinds {
        let query = format!("recall {}", OBJECT_TYPES[kind].name);
        if !actions.contains(&query.as_str()) {
            return query;
        }
    }
    let known = recalled(view, &task);
    let allowance_spent = view.transcript.entries()[task.start..]
        .iter()
        .any(|e| e.kind == Kind::Admin && e.text.contains("no note or recall left"));
    if allowance_spent {
        return plan(&task, &scene, &merge(known, &learned), GUESSED_HOME).render();
    }
    // 2. Note what this task taught that the knowledge base does not say yet.
    for (kind, (fresh, old)) in learned.types.iter().zip(&known).enumerate() {
        let notes = [
            fresh.pick.filter(|o| Some(*o) != old.pick).map(|o| pick_note(kind, o)),
            fresh.place.filter(|o| Some(*o) != old.place).map(|o| place_note(kind, o)),
            fresh.home.filter(|h| Some(*h) != old.home).map(|h| home_note(kind, h)),
        ];
        for note in notes.into_iter().flatten() {
            let action = format!("note \"{note}\"");
            if !actions.contains(&action.as_str()) {
                return action;
            }
        }
    }
    plan(&task, &scene, &merge(known, &learned), GUESSED_HOME).render()
}

/// Plans each task from the scene and the human's corrections within the task; remembers
/// nothing across tasks.
#[derive(Debug, Default, Clone)]
pub struct Planner;

impl Planner {
    pub fn new() -> Self {
        Self
    }
}

impl PerViewAgent for Planner {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Action::from(planner_action(view, false))
    }
}

/// The DROC-like agent: recalls notes on the task's object types at the start of each task,
/// aims its skills with the remembered offsets, and notes every offset and home it learns from
/// corrections. Needs `robot_memory-v0` (note and recall).
#[derive(Debug, Default, Clone)]
pub struct MemoryPlanner;

impl MemoryPlanner {
    pub fn new() -> Self {
        Self
    }
}

impl PerViewAgent for MemoryPlanner {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Action::from(planner_action(view, true))
    }
}

/// Knows the campaign's hidden skill errors and preferences (recomputed from the episode seed
/// with the env's default generation): it aims every skill exactly and puts objects where they
/// belong, so the human has nothing to correct. Assumes the default config's generation.
#[derive(Debug, Default, Clone)]
pub struct Oracle;

impl Oracle {
    pub fn new() -> Self {
        Self
    }
}

fn oracle_action(view: &AgentView<'_>) -> String {
    let (Some(task), Some(scene)) = (current_task(view), latest_scene(view)) else { return "done".to_owned() };
    let (calibration, preferences) = hidden_truth(view.episode.seed);
    let knowledge: [TypeKnowledge; OBJECT_TYPES.len()] = std::array::from_fn(|kind| TypeKnowledge {
        pick: Some((-calibration.pick[kind].0, -calibration.pick[kind].1)),
        place: Some((-calibration.place[kind].0, -calibration.place[kind].1)),
        home: Some(preferences.home[kind]),
    });
    plan(&task, &scene, &knowledge, GUESSED_HOME).render()
}

impl PerViewAgent for Oracle {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Action::from(oracle_action(view))
    }
}

/// Uniformly random commands over the scene's objects and the fixtures (episode stream
/// `robot-random`, one draw per turn).
#[derive(Debug, Default, Clone)]
pub struct RandomCommander;

impl RandomCommander {
    pub fn new() -> Self {
        Self
    }
}

fn random_action(view: &AgentView<'_>) -> String {
    let mut rng = stream_indexed(view.episode.seed, "robot-random", u64::from(view.turn));
    let scene = latest_scene(view).unwrap_or_default();
    let names: Vec<&str> = scene.objects.iter().map(|o| o.name.as_str()).collect();
    let object = if names.is_empty() { "mug" } else { names[rng.random_range(0..names.len())] };
    let fixture = Fixture::ALL[rng.random_range(0..Fixture::ALL.len())];
    let drawer = [Fixture::TopDrawer, Fixture::BottomDrawer][rng.random_range(0..2)];
    let direction = Direction::ALL[rng.random_range(0..4)];
    let command = match rng.random_range(0..12) {
        0..=3 => Command::Pick { object: object.to_owned(), offset: (0, 0) },
        4..=6 => Command::Place { object: scene.holding.clone().unwrap_or(object.to_owned()), fixture, offset: (0, 0) },
        7 => Command::Open(drawer),
        8 => Command::Close(drawer),
        9 | 10 => Command::Move { direction, cm: 2 },
        _ => Command::Release,
    };
    command.render()
}

impl PerViewAgent for RandomCommander {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Action::from(random_action(view))
    }
}

/// The cheap scripted agent of `bench`: command number `(episode index + turn) mod n` from a
/// fixed cycle over the latest scene's objects (picks, places, drawers, nudges, releases).
#[derive(Debug, Default, Clone)]
pub struct CyclingCommander;

impl CyclingCommander {
    pub fn new() -> Self {
        Self
    }
}

fn cycling_action(view: &AgentView<'_>) -> String {
    let last = view.transcript.last().map(|e| e.text.as_ref()).unwrap_or("");
    let scene = parse_scene(last).unwrap_or_default();
    let object = scene.objects.get(view.turn as usize % scene.objects.len().max(1)).map_or("mug", |o| &o.name);
    let held = scene.holding.as_deref().unwrap_or(object);
    let cycle = (view.episode.index + u64::from(view.turn)) % 8;
    match cycle {
        0 | 4 => format!("pick {object}"),
        1 => "open top drawer".to_owned(),
        2 => format!("place {held} in top drawer"),
        3 => "move left a bit".to_owned(),
        5 => format!("place {held} in bin"),
        6 => "open bottom drawer".to_owned(),
        _ => format!("place {held} on shelf"),
    }
}

impl PerViewAgent for CyclingCommander {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Action::from(cycling_action(view))
    }
}
