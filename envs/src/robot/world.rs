//! The tabletop: object types, fixtures, objects, the hidden calibration and preferences of a
//! campaign, task templates, and the generation of each task's instances from seeds.
//!
//! Coordinates are centimetres on a 100 × 60 cm table, in the robot's frame: `x` grows to the
//! robot's right, `y` grows forward (away from the robot).

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sim_core::seed::{stream, stream_indexed};

/// An object type: everything of one type shares its systematic execution errors and where it
/// belongs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObjectType {
    pub name: &'static str,
    /// How far (cm, Euclidean) a grasp or a set-down may miss and still work.
    pub tolerance_cm: f64,
}

/// The object types of the gym's tabletop. Tolerances are at least 1 cm, twice the default
/// execution noise, so a fully compensated skill never fails.
pub const OBJECT_TYPES: [ObjectType; 8] = [
    ObjectType { name: "mug", tolerance_cm: 1.5 },
    ObjectType { name: "pen", tolerance_cm: 1.0 },
    ObjectType { name: "sponge", tolerance_cm: 2.0 },
    ObjectType { name: "block", tolerance_cm: 1.5 },
    ObjectType { name: "bottle", tolerance_cm: 1.2 },
    ObjectType { name: "apple", tolerance_cm: 1.5 },
    ObjectType { name: "spoon", tolerance_cm: 1.0 },
    ObjectType { name: "book", tolerance_cm: 1.8 },
];

/// Colours that tell instances of one type apart.
pub const COLOURS: [&str; 8] = ["red", "blue", "green", "yellow", "black", "white", "orange", "purple"];

/// The index of a type in [`OBJECT_TYPES`], by name.
pub fn type_named(name: &str) -> Option<usize> {
    OBJECT_TYPES.iter().position(|t| t.name == name)
}

/// The fixtures of the tabletop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Fixture {
    Bin,
    TopDrawer,
    BottomDrawer,
    Shelf,
}

impl Fixture {
    pub const ALL: [Fixture; 4] = [Fixture::Bin, Fixture::TopDrawer, Fixture::BottomDrawer, Fixture::Shelf];
    /// Where objects can belong (their hidden home).
    pub const HOMES: [Fixture; 3] = [Fixture::TopDrawer, Fixture::BottomDrawer, Fixture::Shelf];

    pub fn name(self) -> &'static str {
        match self {
            Fixture::Bin => "bin",
            Fixture::TopDrawer => "top drawer",
            Fixture::BottomDrawer => "bottom drawer",
            Fixture::Shelf => "shelf",
        }
    }

    /// Parses a fixture name ("the top drawer", "shelf").
    pub fn parse(text: &str) -> Option<Fixture> {
        let text = text.trim().trim_start_matches("the ").trim();
        Fixture::ALL.into_iter().find(|f| f.name() == text)
    }

    pub fn is_drawer(self) -> bool {
        matches!(self, Fixture::TopDrawer | Fixture::BottomDrawer)
    }

    /// The index of a drawer in `TaskState::drawers_open`.
    pub fn drawer_index(self) -> Option<usize> {
        match self {
            Fixture::TopDrawer => Some(0),
            Fixture::BottomDrawer => Some(1),
            _ => None,
        }
    }

    /// How far a set-down may miss: the bin is wide (wider than any systematic error plus noise),
    /// drawers and the shelf are tight.
    pub fn place_tolerance_cm(self, object: &ObjectType) -> f64 {
        match self {
            Fixture::Bin => 7.0,
            _ => object.tolerance_cm + 0.5,
        }
    }
}

/// Where an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Table,
    Gripper,
    In(Fixture),
}

/// One object instance on the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub colour: &'static str,
    /// Index into [`OBJECT_TYPES`].
    pub kind: usize,
    pub x: i32,
    pub y: i32,
    pub location: Location,
}

impl Object {
    pub fn name(&self) -> String {
        format!("{} {}", self.colour, OBJECT_TYPES[self.kind].name)
    }

    pub fn object_type(&self) -> &'static ObjectType {
        &OBJECT_TYPES[self.kind]
    }
}

/// A planar offset in whole centimetres (robot frame: +x right, +y forward).
pub type Offset = (i32, i32);

/// The hidden systematic errors of the low-level skills, per object type: where a grasp or a
/// set-down lands relative to where it was aimed. They are the same in every task of a
/// campaign, so the same mistakes recur.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub pick: [Offset; OBJECT_TYPES.len()],
    pub place: [Offset; OBJECT_TYPES.len()],
}

/// The hidden preferences of the human: where each object type belongs.
#[derive(Debug, Clone, PartialEq)]
pub struct Preferences {
    pub home: [Fixture; OBJECT_TYPES.len()],
}

/// Task templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Template {
    /// "Pack the A and the B into the bin." A distractor of A's type (another colour) is on the table.
    Pack,
    /// "Put the A and the B away where they belong." (their hidden homes: drawers or shelf),
    /// with a distractor of A's type.
    PutAway,
    /// "Clear the table": every object on the table to its home; no distractors.
    Clear,
}

/// One slot of a campaign: a template and object types, played once per iteration with new
/// instances (colours, positions).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSlot {
    pub template: Template,
    pub kinds: Vec<usize>,
}

/// A task: its objects, and for each goal object (index into `objects`) where it must end up.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub template: Template,
    pub objects: Vec<Object>,
    pub goals: Vec<(usize, Fixture)>,
}

impl Task {
    /// The task sentence shown to the agent. It names the fixture only where the task says it.
    pub fn describe(&self) -> String {
        let names: Vec<String> = self.goals.iter().map(|&(i, _)| format!("the {}", self.objects[i].name())).collect();
        let list = join_and(&names);
        match self.template {
            Template::Pack => format!("Pack {list} into the bin."),
            Template::PutAway => format!("Put {list} away where they belong."),
            Template::Clear => format!("Clear the table: put {list} away where they belong."),
        }
    }

    /// Whether every goal object is where it must be.
    pub fn goals_met(&self) -> bool {
        self.goals.iter().all(|&(i, fixture)| self.objects[i].location == Location::In(fixture))
    }
}

/// "a", "a and b", "a, b and c".
pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

const BIAS_STEPS: [i32; 5] = [-4, -2, 0, 2, 4];

/// The hidden calibration and preferences of a campaign, from the episode seed alone.
pub fn hidden_truth(seed: u64) -> (Calibration, Preferences) {
    let mut rng = stream(seed, "skill-bias");
    let mut draw = || {
        // At least one axis off for most types, so corrections are needed.
        let x = BIAS_STEPS[rng.random_range(0..BIAS_STEPS.len())];
        let y = BIAS_STEPS[rng.random_range(0..BIAS_STEPS.len())];
        (x, y)
    };
    let pick = std::array::from_fn(|_| draw());
    let place = std::array::from_fn(|_| draw());
    let mut rng = stream(seed, "preferences");
    let home = std::array::from_fn(|_| Fixture::HOMES[rng.random_range(0..Fixture::HOMES.len())]);
    (Calibration { pick, place }, Preferences { home })
}

/// Whether the human's left and right are swapped relative to the robot's, when the config
/// makes it possible (`frame_mismatch_probability`).
pub fn frame_mismatch(seed: u64, probability: f64) -> bool {
    probability > 0.0 && stream(seed, "frame").random_bool(probability.clamp(0.0, 1.0))
}

/// The slots of a campaign: templates cycle from a seeded start; object types come from a
/// pool of four types per campaign, so types recur across tasks.
pub fn task_slots(seed: u64, templates: &[Template], slots: usize) -> Vec<TaskSlot> {
    let mut rng = stream(seed, "task-slots");
    let mut pool: Vec<usize> = (0..OBJECT_TYPES.len()).collect();
    for i in 0..pool.len() {
        let j = rng.random_range(i..pool.len());
        pool.swap(i, j);
    }
    pool.truncate(4);
    let start = rng.random_range(0..templates.len());
    (0..slots)
        .map(|k| {
            let template = templates[(start + k) % templates.len()];
            let count = if template == Template::Clear { 3 } else { 2 };
            let mut kinds = Vec::with_capacity(count);
            while kinds.len() < count {
                let kind = pool[rng.random_range(0..pool.len())];
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            TaskSlot { template, kinds }
        })
        .collect()
}

/// Task `number` of the campaign (0-based) for its slot: new colours and positions each time.
pub fn instantiate(seed: u64, slot: &TaskSlot, number: usize, preferences: &Preferences) -> Task {
    let mut rng = stream_indexed(seed, "task-instances", number as u64);
    let mut objects = Vec::new();
    let mut used: Vec<(usize, &'static str)> = Vec::new();
    let mut colour_for = |kind: usize, rng: &mut sim_core::seed::StreamRng| loop {
        let colour = COLOURS[rng.random_range(0..COLOURS.len())];
        if !used.contains(&(kind, colour)) {
            used.push((kind, colour));
            return colour;
        }
    };
    let mut kinds = slot.kinds.clone();
    if slot.template != Template::Clear {
        // The distractor: another instance of the first goal type.
        kinds.push(slot.kinds[0]);
    }
    for kind in kinds {
        let colour = colour_for(kind, &mut rng);
        let x = rng.random_range(10..70);
        let y = rng.random_range(10..50);
        objects.push(Object { colour, kind, x, y, location: Location::Table });
    }
    // Shuffle the listing so the distractor is not always last.
    let order: Vec<usize> = {
        let mut order: Vec<usize> = (0..objects.len()).collect();
        for i in 0..order.len() {
            let j = rng.random_range(i..order.len());
            order.swap(i, j);
        }
        order
    };
    let shuffled: Vec<Object> = order.iter().map(|&i| objects[i].clone()).collect();
    let goals = slot
        .kinds
        .iter()
        .enumerate()
        .map(|(original, &kind)| {
            let index = order.iter().position(|&o| o == original).unwrap_or(0);
            let fixture = match slot.template {
                Template::Pack => Fixture::Bin,
                Template::PutAway | Template::Clear => preferences.home[kind],
            };
            (index, fixture)
        })
        .collect();
    Task { template: slot.template, objects: shuffled, goals }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_reuse_types_and_renew_instances() {
        let (_, preferences) = hidden_truth(3);
        let slots = task_slots(3, &[Template::Pack, Template::PutAway, Template::Clear], 3);
        for (k, slot) in slots.iter().enumerate() {
            let first = instantiate(3, slot, k, &preferences);
            let again = instantiate(3, slot, k + slots.len(), &preferences);
            let kinds = |task: &Task| task.goals.iter().map(|&(i, _)| task.objects[i].kind).collect::<Vec<_>>();
            assert_eq!(kinds(&first), kinds(&again));
            assert_eq!(
                first.goals.iter().map(|g| g.1).collect::<Vec<_>>(),
                again.goals.iter().map(|g| g.1).collect::<Vec<_>>()
            );
            let names = first.objects.iter().map(Object::name).collect::<Vec<_>>();
            let mut unique = names.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "instance names are unique in a task");
        }
    }
}
