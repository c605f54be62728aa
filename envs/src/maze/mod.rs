//! `maze-fo-v0` and `maze-po-v0`: LMRL-Gym's double-T maze, fully and partially observed.
//!
//! The agent moves one cell per turn with `move up`, `move down`, `move left` or `move right`
//! towards the fixed goal (8, 6) of a 10×13 grid. Every move costs −1 (a bump into a wall too),
//! reaching the goal gives 0 and ends the episode, any other text costs −4 and leaves the agent
//! where it was. After `max_moves` (100) moves without reaching the goal the episode ends with
//! one more −1 (LMRL-Gym's "Failure" step). The fully observed variant shows the goal, the
//! position and the adjacent walls; the partially observed one only the walls. Both share this
//! module's code; they differ by a marker component. See `docs/envs/maze.md`.

pub mod layout;

use std::borrow::Cow;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sim_core::prelude::*;
use sim_core::seed::{pick_cycled, pick_random};
use sim_core::transcript::Entry;

pub use layout::{Cell, Direction, GOAL, free_cells, start_cells, walls};

/// How an episode's start cell is chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartSelection {
    /// Uniformly over the 25 start cells, from the episode's `start` stream.
    #[default]
    Random,
    /// Start cell `episode index mod 25` in row-major order: 25·k episodes play every start
    /// cell k times (LMRL-Gym's evaluation over all starts).
    Cycle,
    /// Always this (row, column); it must be a free cell other than the goal.
    Fixed(u8, u8),
}

/// How numbers (positions) are written in observations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NumberRender {
    /// `1, 11`.
    #[default]
    Plain,
    /// LMRL-Gym's tokenizer aid, every digit separated: `1, 1 1`.
    SpacedDigits,
}

/// The env's section of a scenario file (shared by both variants).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MazeConfig {
    pub start: StartSelection,
    pub numbers: NumberRender,
    /// Moves per episode (LMRL-Gym: 100). The move that reaches it without reaching the goal
    /// also carries the timeout penalty −1 and ends the episode.
    pub max_moves: u32,
}

impl Default for MazeConfig {
    fn default() -> Self {
        Self { start: StartSelection::Random, numbers: NumberRender::Plain, max_moves: DEFAULT_MAX_MOVES }
    }
}

/// LMRL-Gym's move cap.
pub const DEFAULT_MAX_MOVES: u32 = 100;

/// Texts of the partially observed variant's context window (LMRL-Gym's `last_k = 40`): an
/// LLM policy for `maze-po-v0` reads the opening prompt's instructions and the last 40
/// transcript texts (see [`context_window`]).
pub const PARTIAL_HISTORY_WINDOW: usize = 40;

/// Reward of a move that does not reach the goal (wall bumps included).
pub const MOVE_REWARD: f64 = -1.0;
/// Reward of an action that is not one of the four moves.
pub const INVALID_REWARD: f64 = -4.0;
/// Extra reward of the move that exhausts `max_moves` without reaching the goal.
pub const TIMEOUT_REWARD: f64 = -1.0;

/// LMRL-Gym's FO anchors: −101 (100 moves, then the timeout), the dataset average −83, and the
/// BFS optimum averaged over the 25 starts, −6.84 (asserted by a test of the BFS expert).
pub const FULLY_OBSERVED_ANCHORS: ScoreAnchors = ScoreAnchors { min: -101.0, average: -83.0, max: -6.84 };
/// LMRL-Gym's PO anchors: −101, −83, and the paper's −25.75.
pub const PARTIALLY_OBSERVED_ANCHORS: ScoreAnchors = ScoreAnchors { min: -101.0, average: -83.0, max: -25.75 };

/// What the agent may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Goal, position and adjacent walls.
    Full,
    /// Adjacent walls only.
    Partial,
}

/// Where the agent is. Hidden in the partially observed variant.
#[derive(Component, Debug, Clone, Copy)]
pub struct MazePosition {
    pub start: Cell,
    pub current: Cell,
}

/// The result of this step's action, set in `Act`.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MoveResult {
    #[default]
    Moved,
    Bumped,
    ReachedGoal,
    Invalid,
}

/// The two maze envs: one config, one set of systems, differing only in what is shown.
pub trait MazeVariant: Environment<Config = MazeConfig> {
    const VIEW: View;
}

impl MazeVariant for MazeFullyObserved {
    const VIEW: View = View::Full;
}

impl MazeVariant for MazePartiallyObserved {
    const VIEW: View = View::Partial;
}

/// Parses an action: one of the four moves, surrounding whitespace ignored, ASCII case
/// ignored (LMRL-Gym matches `move up\n` exactly).
pub fn parse_move(text: &str) -> Option<Direction> {
    let text = text.trim();
    Direction::ALL.into_iter().find(|direction| text.eq_ignore_ascii_case(direction.command()))
}

/// The start cell of an episode under a config.
pub fn start_cell(config: &MazeConfig, episode: Episode) -> Cell {
    let starts = start_cells();
    match config.start {
        StartSelection::Random => starts[pick_random(episode, starts.len(), "start")],
        StartSelection::Cycle => starts[pick_cycled(episode, starts.len())],
        StartSelection::Fixed(row, column) => Cell::new(row, column),
    }
}

fn validate(config: &MazeConfig) -> Result<(), String> {
    if config.max_moves == 0 {
        return Err("maze: max_moves must be at least 1".into());
    }
    if let StartSelection::Fixed(row, column) = config.start
        && !start_cells().contains(&Cell::new(row, column))
    {
        return Err(format!("maze: start ({row}, {column}) is not a free cell other than the goal"));
    }
    Ok(())
}

/// The environment's observation texts, rendered once per cell and render mode so that a step
/// allocates nothing.
struct Texts {
    /// Indexed by `[numbers][view][cell index]`; empty for wall cells.
    observations: [[Vec<String>; 2]; 2],
    invalid: [[Vec<String>; 2]; 2],
    prompts: [[Vec<String>; 2]; 2],
}

fn render_index(numbers: NumberRender) -> usize {
    match numbers {
        NumberRender::Plain => 0,
        NumberRender::SpacedDigits => 1,
    }
}

fn view_index(view: View) -> usize {
    match view {
        View::Full => 0,
        View::Partial => 1,
    }
}

/// Writes a number plainly or with its digits space-separated.
pub fn render_number(value: u8, numbers: NumberRender) -> String {
    let plain = value.to_string();
    match numbers {
        NumberRender::Plain => plain,
        NumberRender::SpacedDigits => plain.chars().map(String::from).collect::<Vec<_>>().join(" "),
    }
}

/// The wall sentence of a cell: phrases in the order right, left, above, below.
pub fn wall_sentence(cell: Cell) -> String {
    let phrases: Vec<&str> = walls(cell)
        .iter()
        .zip(Direction::WALL_ORDER)
        .filter(|(wall, _)| **wall)
        .map(|(_, direction)| direction.wall_phrase())
        .collect();
    match phrases.len() {
        0 => "There are no walls near you.".to_owned(),
        1 => format!("There is a wall {}.", phrases[0]),
        _ => format!("There are walls {}.", phrases.join(", ")),
    }
}

/// The observation of a cell.
pub fn observation(cell: Cell, view: View, numbers: NumberRender) -> String {
    match view {
        View::Partial => wall_sentence(cell),
        View::Full => format!(
            "The goal is at position {}, {}. Your current position is at position {}, {}. {}",
            render_number(GOAL.row, numbers),
            render_number(GOAL.column, numbers),
            render_number(cell.row, numbers),
            render_number(cell.column, numbers),
            wall_sentence(cell)
        ),
    }
}

const FULL_PROMPT: &str = "You are in a maze and must reach the goal. Each turn, reply with exactly one of: move up, \
move down, move left, move right. Every move costs 1 point (bumping into a wall too); reaching the goal ends the \
game. You have at most {max} moves.";

const PARTIAL_PROMPT: &str = "You are in a maze and must reach the goal, but you cannot see where you are or where \
the goal is: you are only told the walls next to you. Each turn, reply with exactly one of: move up, move down, \
move left, move right. Every move costs 1 point (bumping into a wall too); reaching the goal ends the game. You have \
at most {max} moves.";

const INVALID_MESSAGE: &str =
    "Invalid action: reply with exactly one of move up, move down, move left, move right. You did not move.";

/// Text of the step that reaches the goal.
pub const SUCCESS_TEXT: &str = "Success: you reached the goal.";
/// Text of the step that exhausts the move cap.
pub const FAILURE_TEXT: &str = "Failure: you ran out of moves.";

fn texts() -> &'static Texts {
    static TEXTS: OnceLock<Texts> = OnceLock::new();
    TEXTS.get_or_init(|| {
        let build = |render: &dyn Fn(Cell, View, NumberRender) -> String| {
            [NumberRender::Plain, NumberRender::SpacedDigits].map(|numbers| {
                [View::Full, View::Partial].map(|view| {
                    (0..layout::CELLS)
                        .map(|index| {
                            let cell = Cell::from_index(index);
                            if layout::is_free(cell) { render(cell, view, numbers) } else { String::new() }
                        })
                        .collect()
                })
            })
        };
        let prompt = |cell, view, numbers| {
            let intro = if view == View::Full { FULL_PROMPT } else { PARTIAL_PROMPT };
            format!("{}\n{}", intro.replace("{max}", &DEFAULT_MAX_MOVES.to_string()), observation(cell, view, numbers))
        };
        Texts {
            observations: build(&observation),
            invalid: build(&|cell, view, numbers| format!("{INVALID_MESSAGE}\n{}", observation(cell, view, numbers))),
            prompts: build(&prompt),
        }
    })
}

fn spawn(config: &MazeConfig, view: View, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
    let start = start_cell(config, episode);
    entity.insert((MazePosition { start, current: start }, MoveResult::default()));
    if config.max_moves == DEFAULT_MAX_MOVES {
        let texts = texts();
        Cow::Borrowed(texts.prompts[render_index(config.numbers)][view_index(view)][start.index()].as_str())
    } else {
        let intro = if view == View::Full { FULL_PROMPT } else { PARTIAL_PROMPT };
        Cow::Owned(format!(
            "{}\n{}",
            intro.replace("{max}", &config.max_moves.to_string()),
            observation(start, view, config.numbers)
        ))
    }
}

fn spec(config: &MazeConfig, anchors: ScoreAnchors, description: &str) -> EnvSpec {
    EnvSpec::new(config.max_moves, (INVALID_REWARD + TIMEOUT_REWARD, 0.0), description).with_anchors(anchors)
}

fn sample_actions() -> Vec<String> {
    let mut actions: Vec<String> = Direction::ALL.iter().map(|d| d.command().to_owned()).collect();
    actions.extend(["move up\n", "Move Left", "move", "go down", "move diagonally"].map(String::from));
    actions
}

fn apply_move<E: MazeVariant>(mut episodes: Stepping<(&mut MazePosition, &mut MoveResult), With<EnvConfig<E>>>) {
    for (text, (mut position, mut result)) in episodes.iter_mut_with_action() {
        *result = match parse_move(text) {
            None => MoveResult::Invalid,
            Some(direction) => match layout::step(position.current, direction) {
                next if next == position.current => MoveResult::Bumped,
                next => {
                    position.current = next;
                    if next == GOAL { MoveResult::ReachedGoal } else { MoveResult::Moved }
                }
            },
        };
    }
}

/// Whether this step exhausts the move cap (the spec's turn cap is `max_moves`).
fn out_of_moves(turn: &Turn, result: MoveResult) -> bool {
    result != MoveResult::ReachedGoal && turn.is_last()
}

/// What rendering an observation reads and writes.
type RenderQuery<'w, 's, E> = Stepping<
    'w,
    's,
    (&'static EnvConfig<E>, &'static MazePosition, &'static MoveResult, &'static Turn, &'static mut Reply),
>;

fn render_maze<E: MazeVariant>(mut episodes: RenderQuery<E>) {
    let texts = texts();
    for (config, position, result, turn, mut reply) in episodes.iter_mut() {
        let (numbers, view) = (render_index(config.numbers), view_index(E::VIEW));
        let text = if *result == MoveResult::ReachedGoal {
            SUCCESS_TEXT
        } else if out_of_moves(turn, *result) {
            FAILURE_TEXT
        } else if *result == MoveResult::Invalid {
            texts.invalid[numbers][view][position.current.index()].as_str()
        } else {
            texts.observations[numbers][view][position.current.index()].as_str()
        };
        let kind = if *result == MoveResult::Invalid { Kind::Admin } else { Kind::Observation };
        reply.set(Speaker::Env, kind, text);
    }
}

fn score_move<E: MazeVariant>(mut episodes: Stepping<(&MoveResult, &Turn, &mut Outcome), With<EnvConfig<E>>>) {
    for (result, turn, mut outcome) in episodes.iter_mut() {
        let timeout = out_of_moves(turn, *result);
        outcome.reward = match result {
            MoveResult::ReachedGoal => 0.0,
            MoveResult::Invalid => INVALID_REWARD,
            MoveResult::Moved | MoveResult::Bumped => MOVE_REWARD,
        } + if timeout { TIMEOUT_REWARD } else { 0.0 };
        outcome.invalid_action = *result == MoveResult::Invalid;
        let reached = *result == MoveResult::ReachedGoal;
        outcome.success = reached;
        outcome.end_when(reached || timeout, if reached { "goal" } else { "out_of_moves" });
    }
}

fn add_maze_systems<E: MazeVariant>(schedule: &mut Schedule) {
    schedule.add_systems((
        apply_move::<E>.in_set(StepSet::Act),
        render_maze::<E>.in_set(StepSet::Observe),
        score_move::<E>.in_set(StepSet::Score),
    ));
}

/// What an LLM policy reads in the partially observed maze: the last `texts` transcript
/// entries (actions and observations), or the whole transcript when it is shorter. The
/// opening prompt counts as one text. The transcript itself always keeps everything.
pub fn context_window(transcript: &Transcript, texts: usize) -> &[Entry] {
    let entries = transcript.entries();
    &entries[entries.len().saturating_sub(texts)..]
}

/// The env type registered as `maze-fo-v0`.
pub struct MazeFullyObserved;

impl Environment for MazeFullyObserved {
    type Config = MazeConfig;
    const ID: &'static str = "maze-fo-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        spec(
            config,
            FULLY_OBSERVED_ANCHORS,
            "Reach the goal of the double-T maze, seeing your position (LMRL-Gym FO Maze)",
        )
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        validate(config)
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        spawn(config, View::Full, episode, entity)
    }

    fn add_systems(schedule: &mut Schedule) {
        add_maze_systems::<Self>(schedule);
    }

    /// Everything is shown: nothing is hidden.
    fn hidden_state(_entity: EntityRef) -> Vec<String> {
        Vec::new()
    }

    fn sample_actions(_config: &Self::Config) -> Vec<String> {
        sample_actions()
    }
}

/// The env type registered as `maze-po-v0`.
pub struct MazePartiallyObserved;

impl Environment for MazePartiallyObserved {
    type Config = MazeConfig;
    const ID: &'static str = "maze-po-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        spec(
            config,
            PARTIALLY_OBSERVED_ANCHORS,
            "Reach the goal of the double-T maze seeing only adjacent walls (LMRL-Gym PO Maze)",
        )
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        validate(config)
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        spawn(config, View::Partial, episode, entity)
    }

    fn add_systems(schedule: &mut Schedule) {
        add_maze_systems::<Self>(schedule);
    }

    /// The start cell, the current cell and the goal, as `row, column` (the partially observed
    /// variant never writes a number).
    fn hidden_state(entity: EntityRef) -> Vec<String> {
        let Some(position) = entity.get::<MazePosition>() else { return Vec::new() };
        let mut hidden: Vec<String> = [position.start, position.current, GOAL]
            .iter()
            .map(|cell| format!("{}, {}", cell.row, cell.column))
            .collect();
        hidden.dedup();
        hidden
    }

    fn sample_actions(_config: &Self::Config) -> Vec<String> {
        sample_actions()
    }
}

#[cfg(test)]
mod tests;
