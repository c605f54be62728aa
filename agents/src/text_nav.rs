//! Agents for `text_nav-fo-v0` and `text_nav-po-v0`: a random commander, a cycling commander
//! for benchmarks, the map-knowing planner (the expert) and the offline-dataset behaviour
//! policy (LMRL-Gym's two half-optimal policies).

use envs::text_nav::{ADMISSIBLE_PREFIX, Compass, Room, next_step, room_with_exits};
use rand::RngExt;
use sim_core::seed::{stream, stream_indexed};
use sim_core::{Action, Agent, AgentError, AgentView};

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

impl Agent for RandomCommander {
    fn act(&mut self, views: &[AgentView<'_>]) -> Result<Vec<Action>, AgentError> {
        Ok(views.iter().map(|view| random_command(view, "text-nav-random")).collect())
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

impl Agent for CyclingCommander {
    fn act(&mut self, views: &[AgentView<'_>]) -> Result<Vec<Action>, AgentError> {
        Ok(views
            .iter()
            .map(|view| {
                let commands = admissible_commands(last_text(view));
                let index = (view.episode.index + u64::from(view.turn)) as usize;
                if commands.is_empty() || view.turn % 7 == 6 {
                    Action::fixed("look around")
                } else {
                    Action::from(commands[index % commands.len()])
                }
            })
            .collect())
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

impl Agent for Planner {
    fn act(&mut self, views: &[AgentView<'_>]) -> Result<Vec<Action>, AgentError> {
        Ok(views
            .iter()
            .map(|view| plan(last_text(view)).map_or_else(|| random_command(view, "text-nav-planner"), Action::from))
            .collect())
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
        let optimal_here = locate(text).is_some_and(|room| FIRST_HALF.contains(&room) == first);
        match optimal_here.then(|| plan(text)).flatten() {
            Some(command) => Action::from(command),
            None => random_command(view, "text-nav-dataset"),
        }
    }
}

impl Agent for HalfOptimal {
    fn act(&mut self, views: &[AgentView<'_>]) -> Result<Vec<Action>, AgentError> {
        Ok(views.iter().map(Self::next_command).collect())
    }
}
