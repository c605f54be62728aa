//! `text_nav-fo-v0` and `text_nav-po-v0`: LMRL-Gym's Text-Nav as a small rule-based text world
//! (no TextWorld).
//!
//! The agent starts in one of the eight rooms of a house and must put the stale food (on the
//! living-room table) into the fridge (in the kitchen) and close the fridge: reward 1, and the
//! episode terminates. Eating the stale food ends the episode with 0. Every observation lists
//! the admissible commands; any other text is refused with reward 0 and costs a turn. The
//! fully observed variant names the room and the inventory, the partially observed one does
//! not. The episode is truncated after `max_turns` (15) commands. See `docs/envs/text_nav.md`.

pub mod house;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use sim_core::prelude::*;
use sim_core::seed::{pick_cycled, pick_random};

pub use house::{
    Command, Compass, Container, Furniture, House, Item, Layout, Place, Room, Source, next_step, room_with_exits,
};

/// How an episode's start room is chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartSelection {
    /// Uniformly over the eight rooms, from the episode's `start` stream (LMRL-Gym).
    #[default]
    Random,
    /// Room `episode index mod 8` (order of [`Room::ALL`]), for evaluation over every room.
    Cycle,
    /// Always this room.
    Fixed(Room),
}

/// The env's section of a scenario file (shared by both variants).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextNavConfig {
    pub start: StartSelection,
    /// Commands per episode, refused ones included; the engine truncates the episode there.
    /// 15, LMRL-Gym's data-collection horizon: the shortest solution from any room takes at
    /// most 9 commands.
    pub max_turns: u32,
    /// The house: LMRL-Gym's (`Distinct`, the default) or one whose passages look alike
    /// (`LookAlike`, the shortest solution from any room at most 10 commands). In the
    /// partially observed variant the look-alike house also keeps the inventory hidden: its
    /// list of commands offers what could be done with every object whether carried or not.
    pub layout: Layout,
}

impl Default for TextNavConfig {
    fn default() -> Self {
        Self { start: StartSelection::Random, max_turns: DEFAULT_MAX_TURNS, layout: Layout::Distinct }
    }
}

/// The default horizon.
pub const DEFAULT_MAX_TURNS: u32 = 15;

/// LMRL-Gym's anchors for both variants: 0, the dataset average 0.26, and success (1).
pub const SCORE_ANCHORS: ScoreAnchors = ScoreAnchors { min: 0.0, average: 0.26, max: 1.0 };

/// The objective, shown at the start of every episode.
pub const OBJECTIVE: &str = "Your objective: put the stale food in the fridge and close it.";

/// The sentence that opens an episode in the look-alike house (agents read the layout from it).
pub const LOOK_ALIKE_NOTE: &str = "In this house several rooms look alike.";

/// Added to the look-alike note in the partially observed variant.
pub const UNLISTED_INVENTORY_NOTE: &str = "What you carry is not shown: the commands for carried things are \
listed whether or not you carry them, and refused if you do not.";

const INTRO: &str = "You are in a house. Each turn, reply with one of the admissible commands listed after the \
description.";

/// The refusal of a command that is not admissible.
pub const REFUSAL: &str = "That is not something you can do right now: reply with one of the admissible commands.";

/// The line that lists the admissible commands, comma-separated, at the end of every
/// observation of a running episode.
pub const ADMISSIBLE_PREFIX: &str = "Admissible commands: ";

/// What the agent may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Room name and inventory shown.
    Full,
    /// Room name and inventory hidden.
    Partial,
}

/// The house of an episode; the start room is kept for the record.
#[derive(Component, Debug, Clone, Copy)]
pub struct HouseState {
    pub house: House,
    pub start: Room,
}

/// What this step's command did, set in `Act`.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CommandResult {
    /// Not an admissible command.
    #[default]
    Refused,
    Done(Command),
}

/// The two Text-Nav envs: one config, one set of systems, differing only in what is shown.
pub trait TextNavVariant: Environment<Config = TextNavConfig> {
    const VIEW: View;
}

impl TextNavVariant for TextNavFullyObserved {
    const VIEW: View = View::Full;
}

impl TextNavVariant for TextNavPartiallyObserved {
    const VIEW: View = View::Partial;
}

/// The start room of an episode under a config.
pub fn start_room(config: &TextNavConfig, episode: Episode) -> Room {
    match config.start {
        StartSelection::Random => Room::ALL[pick_random(episode, Room::ALL.len(), "start")],
        StartSelection::Cycle => Room::ALL[pick_cycled(episode, Room::ALL.len())],
        StartSelection::Fixed(room) => room,
    }
}

/// Appends `items` comma-separated; whether there was any.
fn push_list(text: &mut String, items: impl Iterator<Item = &'static str>) -> bool {
    let mut any = false;
    for item in items {
        if any {
            text.push_str(", ");
        }
        text.push_str(item);
        any = true;
    }
    any
}

/// Describes the agent's surroundings (and, fully observed, its room and inventory), then lists
/// the admissible commands.
pub fn describe(house: &House, view: View) -> String {
    let mut text = String::with_capacity(320);
    describe_into(&mut text, house, view);
    text
}

/// [`describe`], appended to `text`.
pub fn describe_into(text: &mut String, house: &House, view: View) {
    let room = house.room;
    if view == View::Full {
        text.push_str("You are in the ");
        text.push_str(room.name());
        text.push_str(". ");
    }
    if room.has_table() {
        if house.items_at(Place::Table(room)).next().is_none() {
            text.push_str("There is an empty table. ");
        } else {
            text.push_str("There is a table. On the table: ");
            push_list(text, house.items_at(Place::Table(room)).map(Item::name));
            text.push_str(". ");
        }
    }
    if let Some(container) = room.container() {
        let name = container.name();
        if !house.is_open(container) {
            text.push_str("There is a closed ");
            text.push_str(name);
            text.push_str(". ");
        } else if house.items_at(Place::Inside(container)).next().is_none() {
            text.push_str("There is an open ");
            text.push_str(name);
            text.push_str(", which is empty. ");
        } else {
            text.push_str("There is an open ");
            text.push_str(name);
            text.push_str(". In the ");
            text.push_str(name);
            text.push_str(": ");
            push_list(text, house.items_at(Place::Inside(container)).map(Item::name));
            text.push_str(". ");
        }
    }
    if house.items_at(Place::Floor(room)).next().is_some() {
        text.push_str("On the floor: ");
        push_list(text, house.items_at(Place::Floor(room)).map(Item::name));
        text.push_str(". ");
    }
    text.push_str("Exits: ");
    push_list(text, house.exits().iter().map(|(direction, _)| direction.name()));
    text.push('.');
    if view == View::Full {
        text.push_str("\nYou are carrying");
        if house.items_at(Place::Held).next().is_none() {
            text.push_str(" nothing.");
        } else {
            text.push_str(": ");
            push_list(text, house.items_at(Place::Held).map(Item::name));
            text.push('.');
        }
    }
    text.push('\n');
    text.push_str(ADMISSIBLE_PREFIX);
    if hides_inventory(house, view) {
        push_list(text, house.listed_whatever_is_carried().map(|(command, _)| command));
    } else {
        push_list(text, house.admissible().map(|(command, _)| command));
    };
}

/// Whether the listed commands must not reveal the inventory: the partially observed view of
/// the look-alike house.
pub fn hides_inventory(house: &House, view: View) -> bool {
    view == View::Partial && house.layout == Layout::LookAlike
}

/// What a command did, in words.
fn feedback(command: Command) -> String {
    match command {
        Command::Go(direction) => format!("You go {}.", direction.name()),
        Command::Take(item, Source::Floor) => format!("You pick up the {}.", item.name()),
        Command::Take(item, Source::Table) => format!("You take the {} from the table.", item.name()),
        Command::Take(item, Source::Inside(container)) => {
            format!("You take the {} from the {}.", item.name(), container.name())
        }
        Command::Drop(item) => format!("You drop the {} on the floor.", item.name()),
        Command::PutOnTable(item) => format!("You put the {} on the table.", item.name()),
        Command::Insert(item, container) => format!("You put the {} into the {}.", item.name(), container.name()),
        Command::Eat(Item::StaleFood) => {
            "You eat the stale food. It was rotten and you feel sick: you lost.".to_owned()
        }
        Command::Eat(item) => format!("You eat the {}. Not bad.", item.name()),
        Command::Open(container) => format!("You open the {}.", container.name()),
        Command::Close(container) => format!("You close the {}.", container.name()),
    }
}

/// Text of the winning step.
pub const WIN_TEXT: &str = "You close the fridge with the stale food inside: you won!";

fn spawn(config: &TextNavConfig, view: View, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
    let start = start_room(config, episode);
    let house = House::with_layout(start, config.layout);
    entity.insert((HouseState { house, start }, CommandResult::default()));
    let note = match (config.layout, view) {
        (Layout::Distinct, _) => String::new(),
        (Layout::LookAlike, View::Full) => format!(" {LOOK_ALIKE_NOTE}"),
        (Layout::LookAlike, View::Partial) => format!(" {LOOK_ALIKE_NOTE} {UNLISTED_INVENTORY_NOTE}"),
    };
    Cow::Owned(format!("{INTRO}{note}\n{OBJECTIVE}\n{}", describe(&house, view)))
}

fn validate(config: &TextNavConfig) -> Result<(), String> {
    if config.max_turns == 0 {
        return Err("text_nav: max_turns must be at least 1".into());
    }
    Ok(())
}

fn spec(config: &TextNavConfig, description: &str) -> EnvSpec {
    EnvSpec::new(config.max_turns, (0.0, 1.0), description).with_anchors(SCORE_ANCHORS)
}

fn sample_actions() -> Vec<String> {
    [
        "go east",
        "go west",
        "go north",
        "go south",
        "take stale food from table",
        "take fresh food from table",
        "open fridge",
        "insert stale food into fridge",
        "close fridge",
        "eat stale food",
        "eat fresh food",
        "drop stale food",
        "Go  West.",
        "look",
        "inventory",
        "fly away",
    ]
    .map(String::from)
    .to_vec()
}

fn apply_command<E: TextNavVariant>(mut episodes: Stepping<(&mut HouseState, &mut CommandResult), With<EnvConfig<E>>>) {
    for (text, (mut state, mut result)) in episodes.iter_mut_with_action() {
        let command = normalise_and_match(&state.house, text);
        if let Some(command) = command {
            state.house.apply(command);
        }
        *result = command.map_or(CommandResult::Refused, CommandResult::Done);
    }
}

/// The admissible command `text` names, if any.
pub fn normalise_and_match(house: &House, text: &str) -> Option<Command> {
    let normal = house::normalise_command(text)?;
    let commands = house::all_commands();
    let index = commands.binary_search_by(|(listed, _)| listed.as_str().cmp(normal.as_str())).ok()?;
    let command = commands[index].1;
    house.allows(command).then_some(command)
}

fn is_loss(result: CommandResult) -> bool {
    result == CommandResult::Done(Command::Eat(Item::StaleFood))
}

fn render_house<E: TextNavVariant>(
    mut episodes: Stepping<(&HouseState, &CommandResult, &mut Reply), With<EnvConfig<E>>>,
) {
    for (state, result, mut reply) in episodes.iter_mut() {
        match *result {
            CommandResult::Refused => {
                let mut text = String::with_capacity(400);
                text.push_str(REFUSAL);
                text.push('\n');
                describe_into(&mut text, &state.house, E::VIEW);
                reply.set(Speaker::Env, Kind::Admin, text);
            }
            CommandResult::Done(_) if state.house.is_won() => reply.set(Speaker::Env, Kind::Observation, WIN_TEXT),
            CommandResult::Done(command) if is_loss(*result) => {
                reply.set(Speaker::Env, Kind::Observation, feedback(command));
            }
            CommandResult::Done(command) => {
                let mut text = feedback(command);
                text.reserve(400);
                text.push('\n');
                describe_into(&mut text, &state.house, E::VIEW);
                reply.set(Speaker::Env, Kind::Observation, text);
            }
        }
    }
}

fn score_command<E: TextNavVariant>(
    mut episodes: Stepping<(&HouseState, &CommandResult, &mut Outcome), With<EnvConfig<E>>>,
) {
    for (state, result, mut outcome) in episodes.iter_mut() {
        let won = state.house.is_won();
        let lost = is_loss(*result);
        outcome.reward = if won { 1.0 } else { 0.0 };
        outcome.success = won;
        outcome.invalid_action = *result == CommandResult::Refused;
        outcome.terminated = won || lost;
        outcome.ending = if won {
            Some("win")
        } else if lost {
            Some("ate_stale_food")
        } else {
            None
        };
    }
}

fn add_text_nav_systems<E: TextNavVariant>(schedule: &mut Schedule) {
    schedule.add_systems((
        apply_command::<E>.in_set(StepSet::Act),
        render_house::<E>.in_set(StepSet::Observe),
        score_command::<E>.in_set(StepSet::Score),
    ));
}

/// The env type registered as `text_nav-fo-v0`.
pub struct TextNavFullyObserved;

impl Environment for TextNavFullyObserved {
    type Config = TextNavConfig;
    const ID: &'static str = "text_nav-fo-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        spec(config, "Put the stale food in the fridge and close it, seeing room and inventory (LMRL-Gym FO Text-Nav)")
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        validate(config)
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        spawn(config, View::Full, episode, entity)
    }

    fn add_systems(schedule: &mut Schedule) {
        add_text_nav_systems::<Self>(schedule);
    }

    /// Everything is shown: nothing is hidden.
    fn hidden_state(_entity: EntityRef) -> Vec<String> {
        Vec::new()
    }

    fn sample_actions(_config: &Self::Config) -> Vec<String> {
        sample_actions()
    }
}

/// The env type registered as `text_nav-po-v0`.
pub struct TextNavPartiallyObserved;

impl Environment for TextNavPartiallyObserved {
    type Config = TextNavConfig;
    const ID: &'static str = "text_nav-po-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        spec(
            config,
            "Put the stale food in the fridge and close it, without seeing room or inventory (LMRL-Gym PO Text-Nav)",
        )
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        validate(config)
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        spawn(config, View::Partial, episode, entity)
    }

    fn add_systems(schedule: &mut Schedule) {
        add_text_nav_systems::<Self>(schedule);
    }

    /// The start room and the current room: no room is ever named in this variant.
    fn hidden_state(entity: EntityRef) -> Vec<String> {
        let Some(state) = entity.get::<HouseState>() else { return Vec::new() };
        let mut hidden = vec![state.start.name().to_owned()];
        if state.house.room != state.start {
            hidden.push(state.house.room.name().to_owned());
        }
        hidden
    }

    fn sample_actions(_config: &Self::Config) -> Vec<String> {
        sample_actions()
    }
}

#[cfg(test)]
mod tests;
