//! Agents for `text_nav-fo-v0` and `text_nav-po-v0`: a random commander, a cycling commander
//! for benchmarks, the map-knowing planner (the expert) and the offline-dataset behaviour
//! policy (LMRL-Gym's two half-optimal policies).

use envs::text_nav::{
    ADMISSIBLE_PREFIX, Compass, Container, Furniture, LOOK_ALIKE_NOTE, Layout, Room, next_step, room_with_exits,
};
use rand::RngExt;
use sim_core::seed::{stream, stream_indexed};
use sim_core::{Action, AgentView, PerViewAgent};

fn last_text<'a>(view: &AgentView<'a>) -> &'a str {
    view.transcript.last().map_or("", |entry| entry.text.as_ref())
}

/// The admissible commands listed in an observation, in listed order.
pub fn admissible_commands(text: &str) -> Vec<&str> {
    let Some(start) = text.rfind(ADMISSIBLE_PREFIX) else { return Vec::new() };
    let list = text[start + ADMISSIBLE_PREFIX.len()..].lines().next().unwrap_or("");
    list.split(", ").filter(|command| !command.is_empty()).collect()
}

/// The room an observation was made in: named in the fully observed variant; in the partially
/// observed one, the only room with the listed exits (the planner's knowledge of the map).
pub fn locate(text: &str) -> Option<Room> {
    const HERE: &str = "You are in the ";
    if let Some(start) = text.rfind(HERE) {
        let rest = &text[start + HERE.len()..];
        let name = &rest[..rest.find('.')?];
        return Room::ALL.into_iter().find(|room| room.name() == name);
    }
    let start = text.rfind("Exits: ")? + "Exits: ".len();
    let rest = &text[start..];
    let exits: Vec<Compass> = rest[..rest.find('.')?]
        .split(", ")
        .filter_map(|name| {
            [Compass::North, Compass::South, Compass::East, Compass::West].into_iter().find(|c| c.name() == name)
        })
        .collect();
    room_with_exits(&exits)
}

/// The planner's next command for an observation: take the stale food from the living-room
/// table, walk to the kitchen, open the fridge, put the food in, close the fridge. It knows
/// the map and where the food starts, but not where it is: it localises from each
/// observation ([`locate`]) and reads what it holds from the admissible commands (`drop
/// stale food` is listed while it holds the food). `None` when no step of the plan applies.
pub fn plan(text: &str) -> Option<String> {
    let commands = admissible_commands(text);
    let has = |command: &str| commands.contains(&command);
    if has("close fridge") && has("take stale food from fridge") {
        return Some("close fridge".to_owned());
    }
    if has("insert stale food into fridge") {
        return Some("insert stale food into fridge".to_owned());
    }
    let holding = has("drop stale food");
    if holding && has("open fridge") {
        return Some("open fridge".to_owned());
    }
    if !holding {
        for take in ["take stale food from table", "take stale food"] {
            if has(take) {
                return Some(take.to_owned());
            }
        }
    }
    let target = if holding { Room::Kitchen } else { Room::LivingRoom };
    let direction = next_step(locate(text)?, target)?;
    Some(format!("go {}", direction.name()))
}

/// The layout of an episode's house, read from its opening prompt.
pub fn layout_of(view: &AgentView<'_>) -> Layout {
    let opening = view.transcript.entries().first().map_or("", |entry| entry.text.as_ref());
    if opening.contains(LOOK_ALIKE_NOTE) { Layout::LookAlike } else { Layout::Distinct }
}

/// The line of an observation that describes the room (the one with the exits).
fn description_line(text: &str) -> Option<&str> {
    text.lines().find(|line| line.contains("Exits: "))
}

/// The rooms of `layout` that look like the room an observation describes (a room named in
/// the fully observed variant is the only candidate). Empty for an observation without a
/// room, such as the last one of an episode.
pub fn rooms_looking_like(text: &str, layout: Layout) -> Vec<Room> {
    const HERE: &str = "You are in the ";
    if let Some(start) = text.rfind(HERE) {
        let rest = &text[start + HERE.len()..];
        let named = rest.find('.').and_then(|end| Room::ALL.into_iter().find(|room| room.name() == &rest[..end]));
        return named.into_iter().collect();
    }
    let Some(line) = description_line(text) else { return Vec::new() };
    let start = line.rfind("Exits: ").unwrap_or(0) + "Exits: ".len();
    let listed = line[start..].trim_end_matches('.');
    let exits: Vec<Compass> =
        listed.split(", ").filter_map(|name| Compass::ALL.into_iter().find(|c| c.name() == name)).collect();
    let furniture = Furniture {
        table: line.contains("table"),
        container: if line.contains("fridge") {
            Some(Container::Fridge)
        } else if line.contains("chest") {
            Some(Container::Chest)
        } else {
            None
        },
    };
    layout.rooms_looking_like(&exits, furniture)
}

/// What an agent with memory knows after replaying its episode: the rooms it may be in
/// (narrowed at each step by where its moves lead and what it then sees) and whether it
/// carries the stale food (from the env's feedback on its own commands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memory {
    pub candidates: Vec<Room>,
    pub holding_stale_food: bool,
}

impl Memory {
    /// Replays the observations of a transcript in `layout`.
    pub fn replay(view: &AgentView<'_>, layout: Layout) -> Self {
        let mut memory = Self { candidates: Vec::new(), holding_stale_food: false };
        for (index, entry) in view.transcript.entries().iter().enumerate() {
            if entry.speaker == sim_core::Speaker::Agent {
                continue;
            }
            memory.observe(&entry.text, layout, index == 0);
        }
        memory
    }

    fn observe(&mut self, text: &str, layout: Layout, first: bool) {
        let seen = rooms_looking_like(text, layout);
        let feedback = text.lines().next().unwrap_or("");
        if feedback.starts_with("You take the stale food") {
            self.holding_stale_food = true;
        } else if ["You drop the stale food", "You put the stale food", "You eat the stale food"]
            .iter()
            .any(|prefix| feedback.starts_with(prefix))
        {
            self.holding_stale_food = false;
        }
        let moved = Compass::ALL.into_iter().find(|direction| feedback == format!("You go {}.", direction.name()));
        if first {
            self.candidates = seen;
            return;
        }
        if let Some(direction) = moved {
            self.candidates = self
                .candidates
                .iter()
                .filter_map(|room| layout.neighbour(*room, direction))
                .filter(|room| seen.is_empty() || seen.contains(room))
                .collect();
        } else if !seen.is_empty() {
            self.candidates.retain(|room| seen.contains(room));
        }
        if self.candidates.is_empty() {
            // Lost track (cannot happen with the env's own observations): start again.
            self.candidates = seen;
        }
    }
}

/// The next command for an agent that knows the map of `layout`, the rooms it may be in and
/// whether it carries the stale food: take the food, carry it to the kitchen, open the fridge,
/// put it in, close the fridge. While it may be in several rooms it walks toward the target as
/// if it were in the first of them (in [`Room::ALL`] order); the next observation narrows the
/// candidates. `None` when no step applies.
pub fn plan_with_memory(text: &str, layout: Layout, candidates: &[Room], holding: bool) -> Option<String> {
    let commands = admissible_commands(text);
    let has = |command: &str| commands.contains(&command);
    if has("close fridge") && has("take stale food from fridge") {
        return Some("close fridge".to_owned());
    }
    if holding && has("insert stale food into fridge") {
        return Some("insert stale food into fridge".to_owned());
    }
    if holding && has("open fridge") {
        return Some("open fridge".to_owned());
    }
    if !holding {
        for take in ["take stale food from table", "take stale food"] {
            if has(take) {
                return Some(take.to_owned());
            }
        }
    }
    let target = if holding { Room::Kitchen } else { Room::LivingRoom };
    let direction = layout.next_step(*candidates.first()?, target)?;
    Some(format!("go {}", direction.name()))
}

fn random_command(view: &AgentView<'_>, stream_name: &str) -> Action {
    let commands = admissible_commands(last_text(view));
    if commands.is_empty() {
        return Action::fixed("look");
    }
    let mut rng = stream_indexed(view.episode.seed, stream_name, u64::from(view.turn));
    Action::from(commands[rng.random_range(0..commands.len())])
}

/// Picks a uniformly random admissible command (one draw per turn from the episode's
/// `text-nav-random` stream).
#[derive(Debug, Default, Clone)]
pub struct RandomCommander;

impl RandomCommander {
    pub fn new() -> Self {
        Self
    }
}

impl PerViewAgent for RandomCommander {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        random_command(view, "text-nav-random")
    }
}

/// Admissible command number `(episode index + turn) mod n`, and every seventh turn a command
/// the house refuses: the cheap agent of `bench`.
#[derive(Debug, Default, Clone)]
pub struct CyclingCommander;

impl CyclingCommander {
    pub fn new() -> Self {
        Self
    }
}

impl PerViewAgent for CyclingCommander {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let commands = admissible_commands(last_text(view));
        let index = (view.episode.index + u64::from(view.turn)) as usize;
        if commands.is_empty() || view.turn % 7 == 6 {
            Action::fixed("look around")
        } else {
            Action::from(commands[index % commands.len()])
        }
    }
}

/// The expert: follows [`plan`] (a random admissible command if the plan is stuck, which never
/// happens from the start state).
#[derive(Debug, Default, Clone)]
pub struct Planner;

impl Planner {
    pub fn new() -> Self {
        Self
    }
}

impl Planner {
    /// The next command: [`plan`] in LMRL-Gym's house; in the look-alike house
    /// [`plan_with_memory`] on the episode's [`Memory`].
    pub fn next_command(view: &AgentView<'_>) -> Option<String> {
        match layout_of(view) {
            Layout::Distinct => plan(last_text(view)),
            layout => {
                let memory = Memory::replay(view, layout);
                plan_with_memory(last_text(view), layout, &memory.candidates, memory.holding_stale_food)
            }
        }
    }
}

impl PerViewAgent for Planner {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Self::next_command(view).map_or_else(|| random_command(view, "text-nav-planner"), Action::from)
    }
}

/// The planner without memory: it knows the map of the episode's house but localises from the
/// current observation alone (the first room that looks like it) and reads what it carries
/// from the listed commands (`drop stale food` listed). In LMRL-Gym's house this is the
/// planner; in the look-alike house it mistakes passages for one another and, partially
/// observed, believes it always carries the food.
#[derive(Debug, Default, Clone)]
pub struct MemorylessPlanner;

impl MemorylessPlanner {
    pub fn new() -> Self {
        Self
    }

    pub fn next_command(view: &AgentView<'_>) -> Option<String> {
        let layout = layout_of(view);
        let text = last_text(view);
        let holding = admissible_commands(text).contains(&"drop stale food");
        let first_look_alike: Vec<Room> = rooms_looking_like(text, layout).into_iter().take(1).collect();
        plan_with_memory(text, layout, &first_look_alike, holding)
    }
}

impl PerViewAgent for MemorylessPlanner {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Self::next_command(view).map_or_else(|| random_command(view, "text-nav-memoryless"), Action::from)
    }
}

/// The rooms where the first behaviour policy acts optimally (LMRL-Gym's data collector).
pub const FIRST_HALF: [Room; 4] = [Room::Office, Room::Bathroom, Room::Garden, Room::Backyard];
/// Share of episodes played by the first policy; the rest by the second, optimal in the other
/// four rooms (kitchen, dining room, living room, bedroom).
pub const FIRST_POLICY_SHARE: f64 = 0.75;

/// The offline-dataset behaviour policy (LMRL-Gym App. C.2): each episode is played by one of
/// two policies, drawn from the episode's `text-nav-dataset-policy` stream (75% the first).
/// Each acts as the planner in its half of the house and picks a uniformly random admissible
/// command in the other half.
#[derive(Debug, Default, Clone)]
pub struct HalfOptimal;

impl HalfOptimal {
    pub fn new() -> Self {
        Self
    }

    fn next_command(view: &AgentView<'_>) -> Action {
        let text = last_text(view);
        let first = stream(view.episode.seed, "text-nav-dataset-policy").random::<f64>() < FIRST_POLICY_SHARE;
        let command = match layout_of(view) {
            Layout::Distinct => {
                let optimal_here = locate(text).is_some_and(|room| FIRST_HALF.contains(&room) == first);
                optimal_here.then(|| plan(text)).flatten()
            }
            layout => {
                // Optimal only where its memory places it for sure in its half.
                let memory = Memory::replay(view, layout);
                let optimal_here = matches!(memory.candidates.as_slice(), [room] if FIRST_HALF.contains(room) == first);
                optimal_here
                    .then(|| plan_with_memory(text, layout, &memory.candidates, memory.holding_stale_food))
                    .flatten()
            }
        };
        match command {
            Some(command) => Action::from(command),
            None => random_command(view, "text-nav-dataset"),
        }
    }
}

impl PerViewAgent for HalfOptimal {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Self::next_command(view)
    }
}
