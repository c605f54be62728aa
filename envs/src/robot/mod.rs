//! `robot_correction-v0` (YAY Robot) and `robot_memory-v0` (DROC): a 2D tabletop where the
//! agent is the high-level policy, issuing skill commands, while a simulated human watches the
//! true state and interrupts with language corrections that override the next command.
//!
//! The low-level skills have hidden, seeded, systematic errors per object type and skill, so the
//! same mistakes recur; the human has hidden preferences (where each object type belongs).
//!
//! One episode is one **campaign**: `iterations × tasks_per_iteration` tasks that share the
//! hidden errors and preferences, each iteration playing the same task slots (template and
//! object types) with new instances (colours, positions). `robot_correction-v0` plays a
//! campaign of one task; `robot_memory-v0` adds a knowledge base (`note`, `recall`) that lives
//! in the episode's components, so it persists across the campaign's tasks and is reset with
//! the episode. Task boundaries are lines of the transcript ([`report`] reads them back).
//! See `docs/envs/robot_correction.md`.

pub mod command;
pub mod human;
pub mod memory;
pub mod report;
pub mod world;

use std::borrow::Cow;

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sim_core::prelude::*;
use sim_core::seed::stream_indexed;

use command::{Command, ParseError};
use human::Correction;
use memory::MEMORY_RULES;
pub use memory::{MemoryEpisode, RobotMemory, RobotMemoryConfig};
use world::{Calibration, Fixture, Location, OBJECT_TYPES, Preferences, Task, TaskSlot, Template};

/// The tabletop's section of a scenario file (all of `robot_correction-v0`'s config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TabletopConfig {
    /// Agent actions per task before it fails (memory actions have their own allowance).
    pub max_steps_per_task: u32,
    /// Chance that the human intervenes when there is a reason to (a lazy human below 1).
    pub intervention_probability: f64,
    /// Interventions per task at most.
    pub intervention_budget: u32,
    /// Reward cost of each human intervention.
    pub intervention_cost: f64,
    /// Reward penalty of an unsafe action (dropping an object, hitting a closed drawer).
    pub unsafe_penalty: f64,
    /// Chance that the human's left and right are the robot's right and left (hidden).
    pub frame_mismatch_probability: f64,
    /// Uniform execution noise per axis, ±cm, on top of the systematic errors.
    pub execution_noise_cm: f64,
    /// Actions without progress before the human says "stop" with a hint.
    pub stall_patience: u32,
    /// Task templates, cycled through the campaign's slots.
    pub templates: Vec<Template>,
}

impl Default for TabletopConfig {
    fn default() -> Self {
        Self {
            max_steps_per_task: 20,
            intervention_probability: 1.0,
            intervention_budget: 10,
            intervention_cost: 0.1,
            unsafe_penalty: 1.0,
            frame_mismatch_probability: 0.0,
            execution_noise_cm: 0.5,
            stall_patience: 3,
            templates: vec![Template::Pack, Template::PutAway, Template::Clear],
        }
    }
}

impl TabletopConfig {
    fn check(&self) -> Result<(), String> {
        if self.max_steps_per_task == 0 {
            return Err("robot: max_steps_per_task must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.intervention_probability) {
            return Err("robot: intervention_probability must be in [0, 1]".into());
        }
        if !(0.0..=1.0).contains(&self.frame_mismatch_probability) {
            return Err("robot: frame_mismatch_probability must be in [0, 1]".into());
        }
        if !(0.0..=0.9).contains(&self.execution_noise_cm) {
            return Err("robot: execution_noise_cm must be in [0, 0.9] (tolerances start at 1 cm)".into());
        }
        if self.intervention_cost < 0.0 || self.unsafe_penalty < 0.0 {
            return Err("robot: costs and penalties are non-negative".into());
        }
        if self.templates.is_empty() {
            return Err("robot: templates must not be empty".into());
        }
        Ok(())
    }
}

/// The two robot envs share the tabletop systems; each says where its config keeps the
/// tabletop's settings and the knowledge base's rules.
pub trait RobotVariant: Environment {
    fn settings(config: &Self::Config) -> Settings<'_>;
}

/// What the tabletop systems read of an env's config.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub tabletop: &'a TabletopConfig,
    /// The knowledge base's rules; `None` for an env without one.
    pub memory: Option<&'a RobotMemoryConfig>,
}

/// A skill that missed and is waiting, aimed `error` cm away from where it should be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aim {
    pub object: usize,
    /// `None`: a grasp; `Some(fixture)`: a set-down into the fixture.
    pub place: Option<Fixture>,
    pub error: (f64, f64),
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEnd {
    Success,
    OutOfSteps,
    GaveUp,
}

/// What happened this step, filled by the systems in order and rendered in `Observe`.
#[derive(Debug, Default)]
struct StepScratch {
    command: Option<Command>,
    invalid: Option<Cow<'static, str>>,
    overridden: bool,
    aborted: bool,
    memory_action: bool,
    result: String,
    correction: Option<String>,
    unsafe_action: bool,
    progress: bool,
    task_summary: Option<String>,
    next_task: Option<String>,
    task_succeeded: bool,
    campaign_over: bool,
}

/// The whole state of a campaign; the env's marker components sit beside it.
#[derive(Component, Debug)]
pub struct Tabletop {
    iterations: u32,
    calibration: Calibration,
    preferences: Preferences,
    mirrored: bool,
    slots: Vec<TaskSlot>,
    total_tasks: usize,
    task_number: usize,
    task: Task,
    drawers_open: [bool; 2],
    holding: Option<usize>,
    aim: Option<Aim>,
    steps_used: u32,
    memory_actions_used: u32,
    interventions: u32,
    stall: u32,
    pending_override: Option<Command>,
    last_nudge: Option<command::Direction>,
    notes: Vec<String>,
    tasks_succeeded: u32,
    /// Every finished task, in order (the episode's metrics read it).
    finished_tasks: Vec<report::FinishedTask>,
    step: StepScratch,
}

impl Tabletop {
    fn new(config: &TabletopConfig, iterations: u32, per_iteration: u32, seed: u64) -> Self {
        let (calibration, preferences) = world::hidden_truth(seed);
        let slots = world::task_slots(seed, &config.templates, per_iteration.max(1) as usize);
        let task = world::instantiate(seed, &slots[0], 0, &preferences);
        Self {
            iterations: iterations.max(1),
            calibration,
            preferences,
            mirrored: world::frame_mismatch(seed, config.frame_mismatch_probability),
            total_tasks: (iterations.max(1) * per_iteration.max(1)) as usize,
            slots,
            task_number: 0,
            task,
            drawers_open: [false; 2],
            holding: None,
            aim: None,
            steps_used: 0,
            memory_actions_used: 0,
            interventions: 0,
            stall: 0,
            pending_override: None,
            last_nudge: None,
            notes: Vec::new(),
            tasks_succeeded: 0,
            finished_tasks: Vec::new(),
            step: StepScratch::default(),
        }
    }

    /// The current task.
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// The hidden calibration (for tests and analysis; never rendered).
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    pub fn preferences(&self) -> &Preferences {
        &self.preferences
    }

    pub fn frame_mirrored(&self) -> bool {
        self.mirrored
    }

    /// The tasks finished so far, in order.
    pub fn finished_tasks(&self) -> &[report::FinishedTask] {
        &self.finished_tasks
    }

    fn task_header(&self) -> String {
        let slots = self.slots.len();
        format!(
            "Task {} of {} (iteration {} of {}): {}",
            self.task_number + 1,
            self.total_tasks,
            self.task_number / slots + 1,
            self.iterations,
            self.task.describe()
        )
    }

    fn drawer_open(&self, fixture: Fixture) -> bool {
        fixture.drawer_index().is_none_or(|i| self.drawers_open[i])
    }

    /// The scene as the agent sees it: objects and where they are, drawers, the gripper. Never
    /// the gripper's coordinates, so a miss's error cannot be read off.
    pub fn render_scene(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        for object in &self.task.objects {
            let place = match object.location {
                Location::Table => format!("on the table at ({}, {})", object.x, object.y),
                Location::Gripper => "in the gripper".to_owned(),
                Location::In(Fixture::Shelf) => "on the shelf".to_owned(),
                Location::In(fixture) => format!("in the {}", fixture.name()),
            };
            parts.push(format!("{} {place}", object.name()));
        }
        for fixture in [Fixture::TopDrawer, Fixture::BottomDrawer] {
            let state = if self.drawer_open(fixture) { "open" } else { "closed" };
            parts.push(format!("{} {state}", fixture.name()));
        }
        let gripper = match (self.holding, self.aim) {
            (Some(held), Some(Aim { place: Some(fixture), .. })) => format!(
                "gripper holding the {} above the {} (set-down missed)",
                self.task.objects[held].name(),
                fixture.name()
            ),
            (Some(held), _) => format!("gripper holding the {}", self.task.objects[held].name()),
            (None, Some(aim)) => {
                format!("gripper open next to the {} (grasp missed)", self.task.objects[aim.object].name())
            }
            (None, None) => "gripper empty".to_owned(),
        };
        parts.push(gripper);
        format!("Scene: {}.", parts.join("; "))
    }

    /// Resolves an object name: the full name, or a type name when one object has that type.
    fn resolve(&self, name: &str) -> Option<usize> {
        let objects = &self.task.objects;
        if let Some(index) = objects.iter().position(|o| o.name() == name) {
            return Some(index);
        }
        let mut same_type = objects.iter().enumerate().filter(|(_, o)| o.object_type().name == name);
        match (same_type.next(), same_type.next()) {
            (Some((index, _)), None) => Some(index),
            _ => None,
        }
    }

    fn goal_of(&self, object: usize) -> Option<Fixture> {
        self.task.goals.iter().find(|g| g.0 == object).map(|g| g.1)
    }

    fn goal_unmet(&self, object: usize) -> bool {
        self.goal_of(object).is_some_and(|fixture| self.task.objects[object].location != Location::In(fixture))
    }

    /// The next step of the human's own plan, from the true state: open the goal drawer, pick
    /// the next object, place it where it belongs.
    pub fn next_plan_step(&self) -> Option<Command> {
        if let Some(held) = self.holding {
            let fixture = self.goal_of(held).unwrap_or(Fixture::Bin);
            if !self.drawer_open(fixture) {
                return Some(Command::Open(fixture));
            }
            return Some(Command::Place { object: self.task.objects[held].name(), fixture, offset: (0, 0) });
        }
        let &(object, fixture) = self.task.goals.iter().find(|g| self.goal_unmet(g.0))?;
        if !self.drawer_open(fixture) {
            return Some(Command::Open(fixture));
        }
        Some(Command::Pick { object: self.task.objects[object].name(), offset: (0, 0) })
    }

    /// The human's objection to a plan step, with the command that replaces it.
    fn plan_objection(&self, command: &Command) -> Option<(Correction, Command)> {
        match command {
            Command::Pick { object, .. } if self.holding.is_none() => {
                let index = self.resolve(object)?;
                if self.goal_unmet(index) || !self.task.goals.iter().any(|g| self.goal_unmet(g.0)) {
                    return None;
                }
                let kind = self.task.objects[index].kind;
                let wanted = self
                    .task
                    .goals
                    .iter()
                    .find(|g| self.goal_unmet(g.0) && self.task.objects[g.0].kind == kind)
                    .or_else(|| self.task.goals.iter().find(|g| self.goal_unmet(g.0)))?;
                let name = self.task.objects[wanted.0].name();
                Some((Correction::WrongObject { wanted: name.clone() }, Command::Pick { object: name, offset: (0, 0) }))
            }
            Command::Place { object, fixture, offset } => {
                let index = self.resolve(object)?;
                if self.holding != Some(index) {
                    return None;
                }
                let goal = self.goal_of(index)?;
                let closed = !self.drawer_open(goal);
                let fix = if closed {
                    Command::Open(goal)
                } else {
                    // The plan changes, not the skill: the agent's aim offset is kept.
                    Command::Place { object: self.task.objects[index].name(), fixture: goal, offset: *offset }
                };
                if *fixture != goal {
                    Some((Correction::WrongPlace { fixture: goal, open_first: closed }, fix))
                } else if closed {
                    Some((Correction::OpenFirst(goal), fix))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// The nudge that fixes the larger axis of a missed skill's error.
    fn nudge_for(&self, aim: &Aim) -> (Correction, Command) {
        let (ex, ey) = aim.error;
        let (error, direction) = if ex.abs() >= ey.abs() {
            (ex, if ex > 0.0 { command::Direction::Left } else { command::Direction::Right })
        } else {
            (ey, if ey > 0.0 { command::Direction::Back } else { command::Direction::Forward })
        };
        let cm = if error.abs() < 3.0 { command::A_BIT_CM } else { command::PLAIN_MOVE_CM };
        let more = self.last_nudge == Some(direction) && cm == command::A_BIT_CM;
        (Correction::Nudge { direction, cm, more }, Command::Move { direction, cm })
    }

    fn noise(config: &TabletopConfig, seed: u64, turn: u32) -> (f64, f64) {
        let limit = config.execution_noise_cm;
        if limit == 0.0 {
            return (0.0, 0.0);
        }
        let mut rng = stream_indexed(seed, "execution", u64::from(turn));
        (rng.random_range(-limit..=limit), rng.random_range(-limit..=limit))
    }

    fn tolerance(&self, aim: &Aim) -> f64 {
        let object = self.task.objects[aim.object].object_type();
        aim.place.map_or(object.tolerance_cm, |fixture| fixture.place_tolerance_cm(object))
    }

    /// Tries the aimed skill; completes it when within tolerance.
    fn attempt(&mut self, aim: Aim) {
        let name = self.task.objects[aim.object].name();
        if aim.error.0.hypot(aim.error.1) <= self.tolerance(&aim) {
            self.aim = None;
            self.step.progress = true;
            match aim.place {
                None => {
                    self.task.objects[aim.object].location = Location::Gripper;
                    self.holding = Some(aim.object);
                    self.step.result = format!("Grasped the {name}.");
                }
                Some(fixture) => {
                    self.task.objects[aim.object].location = Location::In(fixture);
                    self.holding = None;
                    self.step.result = format!("Placed the {name} {} the {}.", preposition(fixture), fixture.name());
                }
            }
        } else {
            self.aim = Some(aim);
            self.step.result = match aim.place {
                None => format!("Grasp missed: the gripper closed next to the {name}."),
                Some(fixture) => {
                    format!(
                        "Set-down missed: the {name} is not over the {}; the gripper still holds it.",
                        fixture.name()
                    )
                }
            };
        }
    }

    fn execute(&mut self, command: &Command, settings: Settings<'_>, seed: u64, turn: u32) {
        match command {
            Command::Pick { object, offset } => {
                let Some(index) = self.resolve(object) else {
                    self.step.result = format!("There is no single object called \"{object}\" here.");
                    return;
                };
                let name = self.task.objects[index].name();
                if let Some(held) = self.holding {
                    self.step.result =
                        format!("The gripper is already holding the {}.", self.task.objects[held].name());
                    return;
                }
                if let Location::In(fixture) = self.task.objects[index].location
                    && !self.drawer_open(fixture)
                {
                    self.step.result = format!("The {name} is inside the closed {}.", fixture.name());
                    return;
                }
                self.last_nudge = None;
                let bias = self.calibration.pick[self.task.objects[index].kind];
                let noise = Self::noise(settings.tabletop, seed, turn);
                let error = (f64::from(bias.0 + offset.0) + noise.0, f64::from(bias.1 + offset.1) + noise.1);
                self.attempt(Aim { object: index, place: None, error });
            }
            Command::Place { object, fixture, offset } => {
                let index = self.resolve(object);
                if index.is_none() || index != self.holding {
                    self.step.result = format!("The gripper is not holding the {object}.");
                    return;
                }
                let index = index.unwrap_or_default();
                let name = self.task.objects[index].name();
                if !self.drawer_open(*fixture) {
                    self.aim = None;
                    self.step.unsafe_action = true;
                    self.step.result = format!("Unsafe: the {name} hit the closed {}.", fixture.name());
                    return;
                }
                self.last_nudge = None;
                let bias = self.calibration.place[self.task.objects[index].kind];
                let noise = Self::noise(settings.tabletop, seed, turn);
                let error = (f64::from(bias.0 + offset.0) + noise.0, f64::from(bias.1 + offset.1) + noise.1);
                self.attempt(Aim { object: index, place: Some(*fixture), error });
            }
            Command::Move { direction, cm } => {
                let unit = direction.unit();
                match self.aim {
                    Some(mut aim) => {
                        aim.error.0 += f64::from(unit.0 * cm);
                        aim.error.1 += f64::from(unit.1 * cm);
                        self.attempt(aim);
                    }
                    None => self.step.result = format!("The gripper moved {cm} cm {}.", direction.word()),
                }
            }
            Command::Open(fixture) | Command::Close(fixture) => {
                let opening = matches!(command, Command::Open(_));
                let Some(i) = fixture.drawer_index() else {
                    self.step.result = format!("The {} has nothing to open or close.", fixture.name());
                    return;
                };
                if self.drawers_open[i] == opening {
                    let state = if opening { "open" } else { "closed" };
                    self.step.result = format!("The {} is already {state}.", fixture.name());
                    return;
                }
                self.drawers_open[i] = opening;
                self.step.progress = true;
                let verb = if opening { "Opened" } else { "Closed" };
                self.step.result = format!("{verb} the {}.", fixture.name());
            }
            Command::Release => match self.holding.take() {
                Some(held) => {
                    self.aim = None;
                    let object = &mut self.task.objects[held];
                    object.location = Location::Table;
                    self.step.unsafe_action = true;
                    self.step.result = format!("Unsafe: dropped the {} onto the table.", object.name());
                }
                None => {
                    self.aim = None;
                    self.step.result = "The gripper is open and empty.".to_owned();
                }
            },
            Command::Done => self.step.result = "You declared the task finished.".to_owned(),
            Command::Note(text) => self.add_note(settings.memory, text),
            Command::Recall(query) => self.recall(settings.memory, query),
        }
    }

    /// Ends the current task and starts the next one, or ends the campaign.
    fn end_task(&mut self, end: TaskEnd, seed: u64) {
        let how = match end {
            TaskEnd::Success => "success",
            TaskEnd::OutOfSteps => "failed (out of steps)",
            TaskEnd::GaveUp => "failed (declared finished with objects out of place)",
        };
        let interventions = match self.interventions {
            1 => "1 human intervention".to_owned(),
            n => format!("{n} human interventions"),
        };
        self.step.task_summary = Some(format!(
            "Task {} of {} ended: {how} after {} steps; {interventions}.",
            self.task_number + 1,
            self.total_tasks,
            self.steps_used
        ));
        if end == TaskEnd::Success {
            self.tasks_succeeded += 1;
            self.step.task_succeeded = true;
        }
        self.finished_tasks.push(report::FinishedTask {
            iteration: (self.task_number / self.slots.len()) as u32 + 1,
            success: end == TaskEnd::Success,
            corrections: self.interventions,
        });
        self.task_number += 1;
        if self.task_number >= self.total_tasks {
            self.step.campaign_over = true;
            return;
        }
        let slot = &self.slots[self.task_number % self.slots.len()];
        self.task = world::instantiate(seed, slot, self.task_number, &self.preferences);
        self.drawers_open = [false; 2];
        self.holding = None;
        self.aim = None;
        self.steps_used = 0;
        self.memory_actions_used = 0;
        self.interventions = 0;
        self.stall = 0;
        self.pending_override = None;
        self.last_nudge = None;
        self.step.next_task = Some(self.task_header());
    }
}

fn preposition(fixture: Fixture) -> &'static str {
    if fixture == Fixture::Shelf { "on" } else { "in" }
}

const RULES: &str = "You control a robot arm over a tabletop (centimetres; x to the robot's right, y forward). \
Give one command per turn: `pick <object>`, `place <object> in <fixture>` (bin, top drawer, bottom drawer, \
shelf), `open <fixture>`, `close <fixture>`, `move left|right|forward|back [a bit | <n> cm]`, `release`, `done` \
(give up the task). `pick` and `place` may end with offsets such as `left 2 cm forward 2 cm` that shift where \
the skill aims. Skills can miss; after a miss, `move` nudges the gripper and tries again. A human watches and may \
interrupt with a correction, which replaces your next command. Each intervention costs 0.1 points (by default), \
an unsafe action (dropping an object, hitting a closed drawer) costs 1, each finished task earns 1.";

/// The opening prompt: the rules (with the knowledge base's when `memory`), the task and the scene.
fn opening(tabletop: &Tabletop, memory: bool) -> String {
    let mut text = String::from(RULES);
    if memory {
        text.push_str(MEMORY_RULES);
        text.push_str(&format!(" Knowledge base: {} notes.", tabletop.notes.len()));
    }
    format!("{text}\n{}\n{}", tabletop.task_header(), tabletop.render_scene())
}

const COMMAND_HELP: &str = "Commands: pick <object> | place <object> in <fixture> | open <fixture> | close <fixture> \
| move <left|right|forward|back> [a bit|<n> cm] | release | done";

fn human_attends(tabletop: &Tabletop, config: &TabletopConfig, seed: u64, turn: u32) -> bool {
    if tabletop.interventions >= config.intervention_budget || config.intervention_probability <= 0.0 {
        return false;
    }
    config.intervention_probability >= 1.0
        || stream_indexed(seed, "human", u64::from(turn)).random_bool(config.intervention_probability)
}

fn correct(tabletop: &mut Tabletop, correction: Correction, fix: Command, seed: u64, turn: u32) {
    let choice = stream_indexed(seed, "paraphrase", u64::from(turn)).random_range(0..12usize);
    if let Correction::Nudge { direction, .. } = correction {
        tabletop.last_nudge = Some(direction);
    }
    tabletop.step.correction = Some(human::utter(&correction, tabletop.mirrored, choice));
    tabletop.pending_override = Some(fix);
    tabletop.interventions += 1;
    tabletop.stall = 0;
}

fn parse_command<E: RobotVariant>(mut episodes: Stepping<(&EnvConfig<E>, &mut Tabletop)>) {
    for (text, (config, mut tabletop)) in episodes.iter_mut_with_action() {
        tabletop.step = StepScratch::default();
        match command::parse(text) {
            Err(ParseError(reason)) => {
                tabletop.step.invalid = Some(Cow::Owned(format!("Invalid command: {reason}. {COMMAND_HELP}")));
            }
            Ok(command) if command.is_memory() => match E::settings(config).memory {
                None => {
                    tabletop.step.invalid =
                        Some(Cow::Borrowed("Invalid command: note and recall exist only in robot_memory-v0."));
                }
                Some(rules) if tabletop.memory_actions_used >= rules.memory_actions_per_task => {
                    tabletop.step.invalid =
                        Some(Cow::Borrowed("Invalid command: no note or recall left for this task."));
                }
                Some(_) => {
                    tabletop.memory_actions_used += 1;
                    tabletop.step.memory_action = true;
                    tabletop.step.command = Some(command);
                }
            },
            Ok(command) => {
                let command = match tabletop.pending_override.take() {
                    Some(fix) => {
                        tabletop.step.overridden = true;
                        fix
                    }
                    None => command,
                };
                tabletop.step.command = Some(command);
            }
        }
    }
}

fn human_screens_plan<E: RobotVariant>(mut episodes: Stepping<(&EnvConfig<E>, &Episode, &Turn, &mut Tabletop)>) {
    for (config, episode, turn, mut tabletop) in episodes.iter_mut() {
        let settings = E::settings(config);
        if tabletop.step.overridden || tabletop.step.memory_action {
            continue;
        }
        let Some(command) = &tabletop.step.command else { continue };
        let Some((correction, fix)) = tabletop.plan_objection(command) else { continue };
        if human_attends(&tabletop, settings.tabletop, episode.seed, turn.taken) {
            tabletop.step.aborted = true;
            tabletop.step.result = "The human stopped the robot before it moved.".to_owned();
            correct(&mut tabletop, correction, fix, episode.seed, turn.taken);
        }
    }
}

fn execute_command<E: RobotVariant>(mut episodes: Stepping<(&EnvConfig<E>, &Episode, &Turn, &mut Tabletop)>) {
    for (config, episode, turn, mut tabletop) in episodes.iter_mut() {
        let settings = E::settings(config);
        if tabletop.step.aborted {
            continue;
        }
        if let Some(command) = tabletop.step.command.take() {
            tabletop.execute(&command, settings, episode.seed, turn.taken);
            tabletop.step.command = Some(command);
        }
    }
}

fn human_watches_execution<E: RobotVariant>(mut episodes: Stepping<(&EnvConfig<E>, &Episode, &Turn, &mut Tabletop)>) {
    for (config, episode, turn, mut tabletop) in episodes.iter_mut() {
        let settings = E::settings(config);
        if tabletop.step.memory_action || tabletop.step.correction.is_some() {
            continue;
        }
        if let Some(aim) = tabletop.aim
            && aim.error.0.hypot(aim.error.1) > tabletop.tolerance(&aim)
        {
            if human_attends(&tabletop, settings.tabletop, episode.seed, turn.taken) {
                let (correction, fix) = tabletop.nudge_for(&aim);
                correct(&mut tabletop, correction, fix, episode.seed, turn.taken);
            }
            continue;
        }
        tabletop.stall = if tabletop.step.progress { 0 } else { tabletop.stall + 1 };
        if tabletop.stall >= settings.tabletop.stall_patience.max(1)
            && let Some(hint) = tabletop.next_plan_step()
            && human_attends(&tabletop, settings.tabletop, episode.seed, turn.taken)
        {
            correct(&mut tabletop, Correction::Stop { hint: hint.clone() }, hint, episode.seed, turn.taken);
        }
    }
}

fn advance_task<E: RobotVariant>(mut episodes: Stepping<(&EnvConfig<E>, &Episode, &mut Tabletop)>) {
    for (config, episode, mut tabletop) in episodes.iter_mut() {
        if !tabletop.step.memory_action {
            tabletop.steps_used += 1;
        }
        let gave_up = !tabletop.step.aborted && tabletop.step.command == Some(Command::Done);
        if tabletop.task.goals_met() {
            tabletop.end_task(TaskEnd::Success, episode.seed);
        } else if gave_up {
            tabletop.end_task(TaskEnd::GaveUp, episode.seed);
        } else if tabletop.steps_used >= E::settings(config).tabletop.max_steps_per_task {
            tabletop.end_task(TaskEnd::OutOfSteps, episode.seed);
        }
    }
}

fn render_reply<E: RobotVariant>(mut episodes: Stepping<(&Tabletop, &mut Reply), With<EnvConfig<E>>>) {
    for (tabletop, mut reply) in episodes.iter_mut() {
        let step = &tabletop.step;
        let mut text = String::with_capacity(256);
        if let Some(invalid) = &step.invalid {
            text.push_str(invalid);
        } else {
            if step.overridden {
                text.push_str("Executing the human's correction. ");
            }
            text.push_str(&step.result);
        }
        if let Some(correction) = &step.correction {
            text.push_str(&format!("\nHuman: \"{correction}\""));
        }
        if let Some(summary) = &step.task_summary {
            text.push('\n');
            text.push_str(summary);
        }
        if step.campaign_over {
            text.push_str(&format!(
                "\nCampaign over: {} of {} tasks succeeded.",
                tabletop.tasks_succeeded, tabletop.total_tasks
            ));
        } else {
            if let Some(header) = &step.next_task {
                text.push('\n');
                text.push_str(header);
            }
            text.push('\n');
            text.push_str(&tabletop.render_scene());
        }
        let (speaker, kind) = match (&step.invalid, &step.correction) {
            (_, Some(_)) => (Speaker::Partner, Kind::Feedback),
            (Some(_), None) => (Speaker::Env, Kind::Admin),
            (None, None) => (Speaker::Env, Kind::Observation),
        };
        reply.set(speaker, kind, text);
    }
}

fn score_step<E: RobotVariant>(mut episodes: Stepping<(&EnvConfig<E>, &Tabletop, &mut Outcome)>) {
    for (config, tabletop, mut outcome) in episodes.iter_mut() {
        let step = &tabletop.step;
        let config = E::settings(config).tabletop;
        let mut reward = 0.0;
        if step.task_succeeded {
            reward += 1.0;
        }
        if step.correction.is_some() {
            reward -= config.intervention_cost;
        }
        if step.unsafe_action {
            reward -= config.unsafe_penalty;
        }
        outcome.reward = reward;
        outcome.invalid_action = step.invalid.is_some();
        outcome.terminated = step.campaign_over;
        outcome.success = step.campaign_over && tabletop.tasks_succeeded as usize == tabletop.total_tasks;
        outcome.ending = step.campaign_over.then_some(if outcome.success { "success" } else { "failed" });
    }
}

fn add_tabletop_systems<E: RobotVariant>(schedule: &mut Schedule) {
    schedule.add_systems((
        parse_command::<E>.in_set(StepSet::Act),
        (human_screens_plan::<E>, execute_command::<E>, human_watches_execution::<E>, advance_task::<E>)
            .chain()
            .in_set(StepSet::React),
        render_reply::<E>.in_set(StepSet::Observe),
        score_step::<E>.in_set(StepSet::Score),
    ));
}

/// The hidden facts of a campaign, as strings that must never be said: each type's skill
/// errors and home, and the frame.
fn tabletop_hidden_state(tabletop: &Tabletop) -> Vec<String> {
    let mut hidden = Vec::new();
    for (kind, object) in OBJECT_TYPES.iter().enumerate() {
        let pick = tabletop.calibration.pick[kind];
        let place = tabletop.calibration.place[kind];
        hidden.push(format!("{} pick bias {} {}", object.name, pick.0, pick.1));
        hidden.push(format!("{} place bias {} {}", object.name, place.0, place.1));
        hidden.push(format!("{} belongs in the {}", object.name, tabletop.preferences.home[kind].name()));
    }
    hidden.push(format!("human frame mirrored {}", tabletop.mirrored));
    hidden
}

fn tabletop_sample_actions(memory: bool) -> Vec<String> {
    let mut samples: Vec<String> = [
        "pick red mug",
        "pick mug",
        "pick blue pen left 2 cm",
        "place red mug in bin",
        "place mug in top drawer",
        "place pen on shelf forward 2 cm",
        "place sponge in bottom drawer",
        "open top drawer",
        "open bottom drawer",
        "close top drawer",
        "move left a bit",
        "move right 4 cm",
        "move forward",
        "move back a bit",
        "release",
        "done",
    ]
    .map(str::to_owned)
    .to_vec();
    if memory {
        samples.extend(
            ["note \"mug pick: left 2 cm\"", "recall mug", "note \"pen goes in the shelf\"", "recall pen"]
                .map(str::to_owned),
        );
    }
    samples
}

/// Score anchors of `robot_correction-v0` (1000 episodes, seed 0): the random agent, the
/// planner without memory, the oracle (checked by `tests/baselines.rs`).
pub const CORRECTION_SCORE_ANCHORS: ScoreAnchors = ScoreAnchors { min: -0.9706, average: 0.1679, max: 1.0 };

/// Marker of `robot_correction-v0` episodes.
#[derive(Component, Debug, Clone, Copy)]
pub struct CorrectionEpisode;

/// The env type registered as `robot_correction-v0`.
pub struct RobotCorrection;

impl RobotVariant for RobotCorrection {
    fn settings(config: &TabletopConfig) -> Settings<'_> {
        Settings { tabletop: config, memory: None }
    }
}

impl Environment for RobotCorrection {
    type Config = TabletopConfig;
    const ID: &'static str = "robot_correction-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        EnvSpec::new(
            config.max_steps_per_task,
            (-config.unsafe_penalty - config.intervention_cost, 1.0),
            "Tabletop skill commands under a human's live language corrections (YAY Robot)",
        )
        .with_anchors(CORRECTION_SCORE_ANCHORS)
        .with_metrics(report::METRICS)
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        config.check()
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        let tabletop = Tabletop::new(config, 1, 1, episode.seed);
        let prompt = opening(&tabletop, false);
        entity.insert((CorrectionEpisode, tabletop));
        Cow::Owned(prompt)
    }

    fn add_systems(schedule: &mut Schedule) {
        add_tabletop_systems::<Self>(schedule);
    }

    fn hidden_state(entity: EntityRef) -> Vec<String> {
        entity.get::<Tabletop>().map(tabletop_hidden_state).unwrap_or_default()
    }

    fn episode_metrics(entity: EntityRef, _record: &EpisodeRecord) -> EpisodeMetrics {
        entity.get::<Tabletop>().map(|tabletop| report::episode_metrics(&tabletop.finished_tasks)).unwrap_or_default()
    }

    fn sample_actions(_config: &Self::Config) -> Vec<String> {
        tabletop_sample_actions(false)
    }
}
