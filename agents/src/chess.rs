//! Agents for `chess-v0` and `chess_endgames-v0`: a random mover, an engine expert and a
//! cheap scripted mover for benchmarks.
//!
//! All three are stateless: each reads the board from the `FEN: ` line of the latest
//! observation (the default render mode) and answers in SAN.

use cozy_chess::Board;
use envs::chess::{board_from_observation, engine, san};
use sim_core::seed::stream_indexed;
use sim_core::{Action, AgentView, PerViewAgent};

/// Depth, in half-moves, of the expert's search.
pub const EXPERT_DEPTH: u8 = 4;

/// What an agent answers when it cannot read a board (never happens in Fen render mode).
const FALLBACK: &str = "e4";

fn current_board(view: &AgentView<'_>) -> Option<Board> {
    view.transcript.last().and_then(|entry| board_from_observation(&entry.text))
}

/// Plays a uniformly random legal move, drawn from
/// `stream_indexed(episode seed, "random-mover", turn)`.
#[derive(Debug, Default, Clone)]
pub struct RandomMover;

impl RandomMover {
    pub fn new() -> Self {
        Self
    }

    pub fn next_move(view: &AgentView<'_>) -> Action {
        let Some(board) = current_board(view) else { return Action::fixed(FALLBACK) };
        let mut rng = stream_indexed(view.episode.seed, "random-mover", u64::from(view.turn));
        match engine::random_move(&board, &mut rng) {
            Some(mv) => Action::from(san(&board, mv)),
            None => Action::fixed(FALLBACK),
        }
    }
}

impl PerViewAgent for RandomMover {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Self::next_move(view)
    }
}

/// The built-in engine at [`EXPERT_DEPTH`] playing White; ties among its best moves are broken
/// with `stream_indexed(episode seed, "expert", turn)`. Positions shown earlier in the
/// transcript count as draws in its search, so it does not repeat itself into a threefold
/// repetition while winning.
#[derive(Debug, Default, Clone)]
pub struct EngineExpert;

impl EngineExpert {
    pub fn new() -> Self {
        Self
    }

    pub fn next_move(view: &AgentView<'_>) -> Action {
        let Some(board) = current_board(view) else { return Action::fixed(FALLBACK) };
        let seen: Vec<u64> = view
            .transcript
            .entries()
            .iter()
            .filter(|entry| entry.speaker != sim_core::Speaker::Agent)
            .filter_map(|entry| board_from_observation(&entry.text))
            .map(|seen| seen.hash())
            .collect();
        let mut rng = stream_indexed(view.episode.seed, "expert", u64::from(view.turn));
        match engine::choose_move_avoiding(&board, EXPERT_DEPTH, &seen, &mut rng) {
            Some(mv) => Action::from(san(&board, mv)),
            None => Action::fixed(FALLBACK),
        }
    }
}

impl PerViewAgent for EngineExpert {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Self::next_move(view)
    }
}

/// The cheap agent of `bench`: legal move number `(episode index + turn) mod n` in
/// cozy-chess's generation order. No search, no random draw.
#[derive(Debug, Default, Clone)]
pub struct CyclingMover;

impl CyclingMover {
    pub fn new() -> Self {
        Self
    }

    pub fn next_move(view: &AgentView<'_>) -> Action {
        let Some(board) = current_board(view) else { return Action::fixed(FALLBACK) };
        let count = engine::count_legal_moves(&board);
        if count == 0 {
            return Action::fixed(FALLBACK);
        }
        let index = (view.episode.index + u64::from(view.turn)) as usize % count;
        match engine::nth_legal_move(&board, index) {
            Some(mv) => Action::from(san(&board, mv)),
            None => Action::fixed(FALLBACK),
        }
    }
}

impl PerViewAgent for CyclingMover {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Self::next_move(view)
    }
}
