//! Agents for `maze-fo-v0` and `maze-po-v0`: a random mover, a cycling mover for benchmarks,
//! the BFS expert (fully observed: reads its position; partially observed: tracks the cells
//! consistent with the walls it has seen) and the offline-dataset behaviour policy (LMRL-Gym's
//! submaze mixture of a suboptimal solver and random moves).

use std::sync::OnceLock;

use envs::maze::layout::{self, distances_to, goal_distances};
use envs::maze::{Cell, Direction, GOAL, MazeConfig, PARTIAL_HISTORY_WINDOW, parse_move, start_cell, start_cells};
use rand::RngExt;
use sim_core::seed::stream_indexed;
use sim_core::transcript::Entry;
use sim_core::{Action, AgentView, Kind, PerViewAgent};

/// The position written in a fully observed observation (plain or spaced digits).
pub fn position_from_observation(text: &str) -> Option<Cell> {
    const MARKER: &str = "Your current position is at position ";
    let start = text.rfind(MARKER)? + MARKER.len();
    let rest = &text[start..];
    let end = rest.find('.')?;
    let (row, column) = rest[..end].split_once(',')?;
    let number = |part: &str| part.chars().filter(|c| !c.is_whitespace()).collect::<String>().parse::<u8>().ok();
    Some(Cell::new(number(row)?, number(column)?))
}

/// The walls described by the last wall sentence of a text, in
/// [`Direction::WALL_ORDER`] (right, left, above, below).
pub fn walls_from_observation(text: &str) -> Option<[bool; 4]> {
    let sentence = &text[text.rfind("There ")?..];
    if sentence.starts_with("There are no walls") {
        return Some([false; 4]);
    }
    Some(Direction::WALL_ORDER.map(|direction| sentence.contains(direction.wall_phrase())))
}

/// The shortest-path move from a cell (ties broken in [`Direction::ALL`] order).
pub fn optimal_move(cell: Cell) -> Direction {
    let distances = goal_distances();
    Direction::ALL
        .into_iter()
        .min_by_key(|direction| distances[layout::step(cell, *direction).index()])
        .unwrap_or(Direction::Up)
}

/// The cells the agent may be in, given the texts of a transcript window: start from every
/// start cell, keep those whose walls match each observation, move them with each action, and
/// drop those a move would have taken onto the goal (the episode would have ended).
pub fn consistent_cells(entries: &[Entry]) -> Vec<Cell> {
    let mut cells: Vec<Cell> = start_cells().to_vec();
    for entry in entries {
        if entry.kind == Kind::Action {
            if let Some(direction) = parse_move(&entry.text) {
                for cell in &mut cells {
                    *cell = layout::step(*cell, direction);
                }
                cells.retain(|cell| *cell != GOAL);
                cells.sort_unstable();
                cells.dedup();
            }
        } else if let Some(walls) = walls_from_observation(&entry.text) {
            cells.retain(|cell| layout::walls(*cell) == walls);
        }
    }
    cells
}

/// The move for a set of possible cells: the optimal move when the cell is known; otherwise
/// the most informative move (the one whose outcomes, the wall patterns or the goal it leads
/// to, split the possible cells into the smallest groups: least sum of squared group sizes),
/// ties broken by the least summed distance to the goal, then in [`Direction::ALL`] order.
pub fn move_for_belief(cells: &[Cell]) -> Direction {
    match cells {
        [] => Direction::Up,
        [cell] => optimal_move(*cell),
        _ => {
            let distances = goal_distances();
            Direction::ALL
                .into_iter()
                .min_by_key(|direction| {
                    let moved: Vec<Cell> = cells.iter().map(|cell| layout::step(*cell, *direction)).collect();
                    let distance: u32 = moved.iter().map(|cell| distances[cell.index()]).sum();
                    let mut distinct = moved;
                    distinct.sort_unstable();
                    distinct.dedup();
                    let outcome = |cell: &Cell| if *cell == GOAL { None } else { Some(layout::walls(*cell)) };
                    let spread: usize = distinct
                        .iter()
                        .map(|cell| distinct.iter().filter(|other| outcome(other) == outcome(cell)).count())
                        .sum();
                    (spread, distance)
                })
                .unwrap_or(Direction::Up)
        }
    }
}

fn last_text<'a>(view: &AgentView<'a>) -> &'a str {
    view.transcript.last().map_or("", |entry| entry.text.as_ref())
}

/// Moves uniformly at random (one draw per turn from the episode's `maze-random` stream).
#[derive(Debug, Default, Clone)]
pub struct RandomMover;

impl RandomMover {
    pub fn new() -> Self {
        Self
    }
}

impl PerViewAgent for RandomMover {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let mut rng = stream_indexed(view.episode.seed, "maze-random", u64::from(view.turn));
        Action::fixed(Direction::ALL[rng.random_range(0..4)].command())
    }
}

/// Cycles through the four moves and one invalid action: the cheap agent of `bench`.
#[derive(Debug, Default, Clone)]
pub struct CyclingMover;

impl CyclingMover {
    pub fn new() -> Self {
        Self
    }

    pub const ACTIONS: [&'static str; 6] = ["move down", "move right", "move up", "move left", "move down", "jump"];
}

impl PerViewAgent for CyclingMover {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let index = (view.episode.index + u64::from(view.turn)) as usize % Self::ACTIONS.len();
        Action::fixed(Self::ACTIONS[index])
    }
}

/// The BFS expert. Fully observed, it reads its position and takes a shortest-path move.
/// Partially observed, it reads only LMRL-Gym's window of the last 40 texts, tracks the cells
/// consistent with it ([`consistent_cells`]) and moves by [`move_for_belief`].
#[derive(Debug, Clone)]
pub struct BfsExpert {
    partial: bool,
}

impl BfsExpert {
    pub fn fully_observed() -> Self {
        Self { partial: false }
    }

    pub fn partially_observed() -> Self {
        Self { partial: true }
    }

    fn next_move(&self, view: &AgentView<'_>) -> Direction {
        if self.partial {
            let entries = envs::maze::context_window(view.transcript, PARTIAL_HISTORY_WINDOW);
            move_for_belief(&consistent_cells(entries))
        } else {
            position_from_observation(last_text(view)).map_or(Direction::Up, optimal_move)
        }
    }
}

impl PerViewAgent for BfsExpert {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Action::fixed(self.next_move(view).command())
    }
}

/// Which of the three submazes a cell belongs to: the left arm (row 1, columns 1–5, and
/// column 3, rows 2–4), the right arm (the mirror image) or the stem (row 5 and column 6
/// below it), which holds the goal.
pub fn submaze(cell: Cell) -> usize {
    match (cell.row, cell.column) {
        (1..=4, 0..=5) => 0,
        (1..=4, _) => 1,
        _ => 2,
    }
}

/// Where the suboptimal solver heads in each submaze: the bottom of each arm, the goal in the stem.
const SUBMAZE_TARGETS: [Cell; 3] = [Cell::new(4, 3), Cell::new(4, 9), GOAL];

fn submaze_distances() -> &'static [Vec<u32>; 3] {
    static DISTANCES: OnceLock<[Vec<u32>; 3]> = OnceLock::new();
    DISTANCES
        .get_or_init(|| std::array::from_fn(|part| distances_to(SUBMAZE_TARGETS[part], |cell| submaze(cell) == part)))
}

/// Probability that a behaviour step comes from the solver (LMRL-Gym: 15%).
pub const SOLVER_SHARE: f64 = 0.15;

/// The offline-dataset behaviour policy (LMRL-Gym App. C.1): confined to the submaze of its
/// start cell, each move is the solver's with probability 0.15 (a shortest path towards the
/// goal inside the submaze, or towards the arm's bottom in an arm, where the goal is
/// unreachable) and otherwise uniform over the moves that stay in the submaze (bumps included).
/// So only episodes that start in the stem can succeed.
///
/// Partially observed it needs its position, which the observations do not give: as the data
/// collector it replays its own moves from the start cell the default config draws for the
/// episode, and falls back to the first cell consistent with the observations when that
/// replay disagrees with them (another start selection).
#[derive(Debug, Clone)]
pub struct SubmazeMixture {
    partial: bool,
}

impl SubmazeMixture {
    pub fn fully_observed() -> Self {
        Self { partial: false }
    }

    pub fn partially_observed() -> Self {
        Self { partial: true }
    }

    fn position(&self, view: &AgentView<'_>) -> Cell {
        if !self.partial {
            return position_from_observation(last_text(view)).unwrap_or(GOAL);
        }
        let mut cell = start_cell(&MazeConfig::default(), view.episode);
        for action in view.transcript.actions() {
            if let Some(direction) = parse_move(action) {
                cell = layout::step(cell, direction);
            }
        }
        let consistent = consistent_cells(view.transcript.entries());
        if consistent.contains(&cell) { cell } else { consistent.first().copied().unwrap_or(cell) }
    }

    fn next_move(&self, view: &AgentView<'_>) -> Direction {
        let cell = self.position(view);
        let part = submaze(cell);
        let distances = &submaze_distances()[part];
        let mut rng = stream_indexed(view.episode.seed, "maze-dataset", u64::from(view.turn));
        let solver = rng.random::<f64>() < SOLVER_SHARE;
        let inside: Vec<Direction> =
            Direction::ALL.into_iter().filter(|direction| submaze(layout::step(cell, *direction)) == part).collect();
        if solver && distances[cell.index()] > 0 {
            return inside
                .iter()
                .copied()
                .min_by_key(|direction| distances[layout::step(cell, *direction).index()])
                .unwrap_or(Direction::Up);
        }
        inside[rng.random_range(0..inside.len())]
    }
}

impl PerViewAgent for SubmazeMixture {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Action::fixed(self.next_move(view).command())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_spaced_positions() {
        let plain =
            "The goal is at position 8, 6. Your current position is at position 1, 11. There is a wall above you.";
        assert_eq!(position_from_observation(plain), Some(Cell::new(1, 11)));
        let spaced =
            "The goal is at position 8, 6. Your current position is at position 1, 1 1. There is a wall above you.";
        assert_eq!(position_from_observation(spaced), Some(Cell::new(1, 11)));
        assert_eq!(walls_from_observation(plain), Some([false, false, true, false]));
        assert_eq!(walls_from_observation("There are no walls near you."), Some([false; 4]));
    }

    #[test]
    fn submazes_split_the_26_cells_8_8_10() {
        let mut counts = [0; 3];
        for cell in envs::maze::free_cells() {
            counts[submaze(*cell)] += 1;
        }
        assert_eq!(counts, [8, 8, 10]);
    }
}
