//! The double-T maze of LMRL-Gym (`double_t_maze`): a fixed 10×13 grid, goal (8, 6).
//!
//! Coordinates are (row, column); "up" is row − 1, "right" is column + 1. The 26 free cells:
//! row 1, columns 1–5 and 7–11; columns 3 and 9, rows 2–4; row 5, columns 3–9; column 6,
//! rows 6–8. Every free cell but the goal is a start cell (25).

use std::sync::OnceLock;

/// Grid height.
pub const ROWS: u8 = 10;
/// Grid width.
pub const COLUMNS: u8 = 13;
/// Number of grid cells, free or not.
pub const CELLS: usize = ROWS as usize * COLUMNS as usize;

/// `#` is a wall, `.` a free cell.
const LAYOUT: [&str; ROWS as usize] = [
    "#############",
    "#.....#.....#",
    "###.#####.###",
    "###.#####.###",
    "###.#####.###",
    "###.......###",
    "######.######",
    "######.######",
    "######.######",
    "#############",
];

/// The fixed goal, the bottom of the stem.
pub const GOAL: Cell = Cell::new(8, 6);

/// A grid cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell {
    pub row: u8,
    pub column: u8,
}

impl Cell {
    pub const fn new(row: u8, column: u8) -> Self {
        Self { row, column }
    }

    /// Row-major index in `0..CELLS`.
    pub const fn index(self) -> usize {
        self.row as usize * COLUMNS as usize + self.column as usize
    }

    pub const fn from_index(index: usize) -> Self {
        Self { row: (index / COLUMNS as usize) as u8, column: (index % COLUMNS as usize) as u8 }
    }
}

/// A move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    Up,
    Down,
    Left,
    Right,
}

impl Direction {
    /// The four moves, in the order agents break ties.
    pub const ALL: [Self; 4] = [Self::Up, Self::Down, Self::Left, Self::Right];
    /// The order of the wall phrases in an observation (LMRL-Gym's).
    pub const WALL_ORDER: [Self; 4] = [Self::Right, Self::Left, Self::Up, Self::Down];

    /// The action text.
    pub const fn command(self) -> &'static str {
        match self {
            Self::Up => "move up",
            Self::Down => "move down",
            Self::Left => "move left",
            Self::Right => "move right",
        }
    }

    /// How a wall in this direction is described.
    pub const fn wall_phrase(self) -> &'static str {
        match self {
            Self::Up => "above you",
            Self::Down => "below you",
            Self::Left => "to your left",
            Self::Right => "to your right",
        }
    }
}

/// Whether a cell is free (inside the grid and not a wall).
pub fn is_free(cell: Cell) -> bool {
    cell.row < ROWS && cell.column < COLUMNS && LAYOUT[cell.row as usize].as_bytes()[cell.column as usize] == b'.'
}

/// The neighbouring cell in a direction, free or not (never leaves the grid: its border is wall).
fn neighbour(cell: Cell, direction: Direction) -> Cell {
    match direction {
        Direction::Up => Cell::new(cell.row.saturating_sub(1), cell.column),
        Direction::Down => Cell::new((cell.row + 1).min(ROWS - 1), cell.column),
        Direction::Left => Cell::new(cell.row, cell.column.saturating_sub(1)),
        Direction::Right => Cell::new(cell.row, (cell.column + 1).min(COLUMNS - 1)),
    }
}

/// Where a move from a free cell leads: the neighbour if it is free, else the same cell (a bump).
pub fn step(cell: Cell, direction: Direction) -> Cell {
    let next = neighbour(cell, direction);
    if is_free(next) { next } else { cell }
}

/// Walls around a cell, in [`Direction::WALL_ORDER`] (right, left, above, below).
pub fn walls(cell: Cell) -> [bool; 4] {
    Direction::WALL_ORDER.map(|direction| !is_free(neighbour(cell, direction)))
}

/// The 26 free cells, row-major.
pub fn free_cells() -> &'static [Cell] {
    static CELLS_FREE: OnceLock<Vec<Cell>> = OnceLock::new();
    CELLS_FREE.get_or_init(|| (0..CELLS).map(Cell::from_index).filter(|cell| is_free(*cell)).collect())
}

/// The 25 start cells (free cells other than the goal), row-major.
pub fn start_cells() -> &'static [Cell] {
    static STARTS: OnceLock<Vec<Cell>> = OnceLock::new();
    STARTS.get_or_init(|| free_cells().iter().copied().filter(|cell| *cell != GOAL).collect())
}

/// Breadth-first distances (in moves) from every cell to `target` over the free cells for which
/// `allowed` holds; `u32::MAX` where unreachable. Indexed by [`Cell::index`].
pub fn distances_to(target: Cell, allowed: impl Fn(Cell) -> bool) -> Vec<u32> {
    let mut distance = vec![u32::MAX; CELLS];
    let mut queue = std::collections::VecDeque::from([target]);
    distance[target.index()] = 0;
    while let Some(cell) = queue.pop_front() {
        for direction in Direction::ALL {
            let next = step(cell, direction);
            if next != cell && allowed(next) && distance[next.index()] == u32::MAX {
                distance[next.index()] = distance[cell.index()] + 1;
                queue.push_back(next);
            }
        }
    }
    distance
}

/// BFS distances to the goal over the whole maze.
pub fn goal_distances() -> &'static [u32] {
    static DISTANCES: OnceLock<Vec<u32>> = OnceLock::new();
    DISTANCES.get_or_init(|| distances_to(GOAL, |_| true))
}
