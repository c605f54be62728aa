//! The built-in opponent: a fixed-depth negamax search with alpha-beta pruning over a
//! material and piece-square evaluation.
//!
//! Invariants: the search is a pure function of the position and the depth (no clock, no
//! transposition table, no state kept between calls), so the moves it considers best are the
//! same on every machine; [`choose_move`] breaks ties among them with the caller's generator
//! only. Depth, not time, sets the strength: LMRL-Gym gave Stockfish 100 ms per move, which
//! makes the opponent (and every score against it) depend on the speed of the machine.

use cozy_chess::{Board, Color, Move, Piece, Square};
use rand::{Rng, RngExt};

/// A score for "mated now"; a mate found `ply` half-moves from the root scores
/// `MATE - ply` for the winner, so faster mates are preferred.
pub const MATE: i32 = 100_000;
const INFINITY: i32 = 1_000_000;

/// Material values in centipawns, indexed by `Piece as usize` (pawn, knight, bishop, rook,
/// queen, king).
pub const PIECE_VALUES: [i32; 6] = [100, 320, 330, 500, 900, 0];

/// Distance of a square from the centre of the board: 0 on d4/e4/d5/e5, 3 on the rim.
const fn rim_distance(square: usize) -> i32 {
    let file = (square % 8) as i32;
    let rank = (square / 8) as i32;
    let file_distance = if file < 4 { 3 - file } else { file - 4 };
    let rank_distance = if rank < 4 { 3 - rank } else { rank - 4 };
    if file_distance > rank_distance { file_distance } else { rank_distance }
}

/// Positional bonus of a white piece on a square (a black piece reads the mirrored square).
const fn square_bonus(piece: usize, square: usize) -> i32 {
    let file = (square % 8) as i32;
    let rank = (square / 8) as i32;
    let centre = 3 - rim_distance(square);
    match piece {
        // Pawns: advance, and hold the centre files.
        0 => {
            let central = if (file == 3 || file == 4) && rank >= 2 { 12 } else { 0 };
            6 * (rank - 1) + central
        }
        // Knights: strongly prefer the centre.
        1 => 12 * centre - 20,
        // Bishops: mildly prefer the centre.
        2 => 6 * centre - 6,
        // Rooks: the seventh rank.
        3 => {
            if rank == 6 {
                20
            } else {
                0
            }
        }
        // Queens: slightly central.
        4 => 3 * centre,
        // Kings: stay home (castled corners are best) while there is material to attack them.
        _ => {
            let home = if rank == 0 { 10 } else { -12 * rank };
            let corner = if file <= 2 || file >= 6 { 8 } else { 0 };
            home + corner
        }
    }
}

const fn bonus_table() -> [[i32; 64]; 6] {
    let mut table = [[0; 64]; 6];
    let mut piece = 0;
    while piece < 6 {
        let mut square = 0;
        while square < 64 {
            table[piece][square] = square_bonus(piece, square);
            square += 1;
        }
        piece += 1;
    }
    table
}

static BONUS: [[i32; 64]; 6] = bonus_table();

fn manhattan(a: Square, b: Square) -> i32 {
    (a.file() as i32 - b.file() as i32).abs() + (a.rank() as i32 - b.rank() as i32).abs()
}

/// The number of squares of the box a rook or queen on `piece` confines a king on `king` to:
/// the files and ranks on the king's side of the piece's file and rank.
fn confinement(piece: Square, king: Square) -> i32 {
    let side = |piece: i32, king: i32| {
        if king < piece {
            piece
        } else if king > piece {
            7 - piece
        } else {
            8
        }
    };
    side(piece.file() as i32, king.file() as i32) * side(piece.rank() as i32, king.rank() as i32)
}

/// Bonus for the side with material when the other has a bare king: drive that king to the
/// rim, shrink the box the rooks and queens confine it to, and bring the own king close,
/// which is how a lone king is mated.
fn mop_up(board: &Board, strong: Color) -> i32 {
    let weak_king = board.king(!strong);
    let strong_king = board.king(strong);
    let heavy = board.colored_pieces(strong, Piece::Rook) | board.colored_pieces(strong, Piece::Queen);
    let box_size = heavy.into_iter().map(|square| confinement(square, weak_king)).min().unwrap_or(64);
    let centre_manhattan = {
        let file = weak_king.file() as i32;
        let rank = weak_king.rank() as i32;
        (if file < 4 { 3 - file } else { file - 4 }) + (if rank < 4 { 3 - rank } else { rank - 4 })
    };
    16 * centre_manhattan + 6 * (64 - box_size) + 8 * (14 - manhattan(weak_king, strong_king))
}

/// Static evaluation in centipawns from White's side. With a bare king on either side the
/// kings' square bonuses are replaced by [`mop_up`].
pub fn evaluate_for_white(board: &Board) -> i32 {
    let white_bare = board.colors(Color::White).len() == 1;
    let black_bare = board.colors(Color::Black).len() == 1;
    let bare = white_bare || black_bare;
    let mut score = 0;
    for (index, piece) in Piece::ALL.iter().enumerate() {
        let positional = !(bare && *piece == Piece::King);
        for square in board.colored_pieces(Color::White, *piece) {
            score += PIECE_VALUES[index] + if positional { BONUS[index][square as usize] } else { 0 };
        }
        for square in board.colored_pieces(Color::Black, *piece) {
            score -= PIECE_VALUES[index] + if positional { BONUS[index][square.flip_rank() as usize] } else { 0 };
        }
    }
    if black_bare && !white_bare {
        score += mop_up(board, Color::White);
    } else if white_bare && !black_bare {
        score -= mop_up(board, Color::Black);
    }
    score
}

/// Static evaluation from the side to move.
pub fn evaluate(board: &Board) -> i32 {
    let score = evaluate_for_white(board);
    if board.side_to_move() == Color::White { score } else { -score }
}

/// Every legal move of the position, in cozy-chess's generation order (deterministic).
pub fn legal_moves(board: &Board) -> Vec<Move> {
    let mut moves = Vec::with_capacity(48);
    board.generate_moves(|piece_moves| {
        moves.extend(piece_moves);
        false
    });
    moves
}

/// Captures and promotions first, most valuable victim by least valuable attacker; quiet
/// moves keep their generation order (the sort is stable).
fn order_moves(board: &Board, moves: &mut [Move]) {
    let enemies = board.colors(!board.side_to_move());
    moves.sort_by_cached_key(|mv| {
        let victim = if enemies.has(mv.to) { board.piece_on(mv.to) } else { None };
        let attacker = board.piece_on(mv.from).map_or(0, |p| PIECE_VALUES[p as usize]);
        let promotion = mv.promotion.map_or(0, |p| PIECE_VALUES[p as usize]);
        match victim {
            Some(victim) => -(10 * PIECE_VALUES[victim as usize] - attacker / 10 + promotion + 10_000),
            None if promotion > 0 => -promotion,
            None => 0,
        }
    });
}

fn has_moves(board: &Board) -> bool {
    board.generate_moves(|_| true)
}

/// Negamax with alpha-beta (fail-soft). Mates and stalemates are scored exactly; the
/// fifty-move rule is a draw, and so is reaching a position of `seen` (sorted Zobrist hashes
/// of positions the game already had): a cheap stand-in for repetition draws.
fn negamax(board: &Board, depth: u8, ply: i32, mut alpha: i32, beta: i32, seen: &[u64], nodes: &mut u64) -> i32 {
    *nodes += 1;
    if !seen.is_empty() && seen.binary_search(&board.hash()).is_ok() {
        return 0;
    }
    if depth == 0 {
        if !has_moves(board) {
            return if board.checkers().is_empty() { 0 } else { -MATE + ply };
        }
        return if board.halfmove_clock() >= 100 { 0 } else { evaluate(board) };
    }
    let mut moves = legal_moves(board);
    if moves.is_empty() {
        return if board.checkers().is_empty() { 0 } else { -MATE + ply };
    }
    if board.halfmove_clock() >= 100 {
        return 0;
    }
    order_moves(board, &mut moves);
    let mut best = -INFINITY;
    for mv in moves {
        let mut child = board.clone();
        child.play_unchecked(mv);
        let score = -negamax(&child, depth - 1, ply + 1, -beta, -alpha, seen, nodes);
        if score > best {
            best = score;
            if score > alpha {
                alpha = score;
                if alpha >= beta {
                    break;
                }
            }
        }
    }
    best
}

/// The result of a root search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchResult {
    /// Every root move with the best score, in generation order after move ordering.
    pub best_moves: Vec<Move>,
    /// Their score, from the side to move.
    pub score: i32,
    /// Positions visited.
    pub nodes: u64,
}

/// Searches every root move to `depth` half-moves (at least 1) and returns all moves tied for
/// the best score. Each root move after the first is searched with the window
/// `(best - 1, +inf)`, so a move that equals the best score gets its exact score and a worse
/// one fails low: the set of best moves is exact, not an artefact of pruning.
pub fn search(board: &Board, depth: u8) -> SearchResult {
    search_avoiding(board, depth, &[])
}

/// [`search`], scoring every position of `seen` (Zobrist hashes, any order) as a draw, so a
/// side that is winning steers away from repetitions.
pub fn search_avoiding(board: &Board, depth: u8, seen: &[u64]) -> SearchResult {
    let mut seen = seen.to_vec();
    seen.sort_unstable();
    seen.dedup();
    let depth = depth.max(1);
    let mut moves = legal_moves(board);
    order_moves(board, &mut moves);
    let mut nodes = 0;
    let mut best = -INFINITY;
    let mut best_moves = Vec::new();
    for mv in moves {
        let mut child = board.clone();
        child.play_unchecked(mv);
        let score = -negamax(&child, depth - 1, 1, -INFINITY, -(best - 1), &seen, &mut nodes);
        if score > best {
            best = score;
            best_moves.clear();
        }
        if score == best {
            best_moves.push(mv);
        }
    }
    SearchResult { best_moves, score: best, nodes }
}

/// The engine's move: one of the best moves at `depth`, picked uniformly with `rng` (one
/// draw, also when there is a single best move); `None` when there is no legal move.
pub fn choose_move(board: &Board, depth: u8, rng: &mut impl Rng) -> Option<Move> {
    choose_move_avoiding(board, depth, &[], rng)
}

/// [`choose_move`] with [`search_avoiding`].
pub fn choose_move_avoiding(board: &Board, depth: u8, seen: &[u64], rng: &mut impl Rng) -> Option<Move> {
    let result = search_avoiding(board, depth, seen);
    if result.best_moves.is_empty() {
        return None;
    }
    let pick = rng.random_range(0..result.best_moves.len());
    Some(result.best_moves[pick])
}

/// The number of legal moves, without listing them.
pub fn count_legal_moves(board: &Board) -> usize {
    let mut count = 0;
    board.generate_moves(|piece_moves| {
        count += piece_moves.len();
        false
    });
    count
}

/// Legal move number `index` in generation order (the order of [`legal_moves`]), without
/// allocating; `None` when there are not that many.
pub fn nth_legal_move(board: &Board, mut index: usize) -> Option<Move> {
    let mut found = None;
    board.generate_moves(|piece_moves| {
        let len = piece_moves.len();
        if index < len {
            found = piece_moves.into_iter().nth(index);
            return true;
        }
        index -= len;
        false
    });
    found
}

/// A uniformly random legal move (one draw from `rng`); `None` when there is none.
pub fn random_move(board: &Board, rng: &mut impl Rng) -> Option<Move> {
    let count = count_legal_moves(board);
    if count == 0 {
        return None;
    }
    nth_legal_move(board, rng.random_range(0..count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::seed::stream;

    #[test]
    fn finds_mate_in_one() {
        // Back-rank mate: Ra8#.
        let board: Board = "6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1".parse().unwrap();
        for depth in 1..=3 {
            let result = search(&board, depth);
            assert_eq!(result.score, MATE - 1, "depth {depth}");
            assert_eq!(result.best_moves, vec!["a1a8".parse::<Move>().unwrap()]);
        }
    }

    #[test]
    fn takes_a_free_queen() {
        let board: Board = "3rk3/8/8/3Q4/8/8/8/4K3 b - - 0 1".parse().unwrap();
        assert_eq!(search(&board, 2).best_moves, vec!["d8d5".parse::<Move>().unwrap()]);
    }

    #[test]
    fn same_seed_same_move() {
        let board = Board::default();
        let first = choose_move(&board, 2, &mut stream(9, "opponent"));
        let second = choose_move(&board, 2, &mut stream(9, "opponent"));
        assert_eq!(first, second);
        assert_eq!(search(&board, 3), search(&board, 3));
    }

    #[test]
    fn indexed_moves_match_the_list() {
        let board: Board = "r3k2r/pppq1ppp/2n2n2/3pp3/3PP3/2N2N2/PPPQ1PPP/R3K2R w KQkq - 0 1".parse().unwrap();
        let moves = legal_moves(&board);
        assert_eq!(count_legal_moves(&board), moves.len());
        for (index, mv) in moves.iter().enumerate() {
            assert_eq!(nth_legal_move(&board, index), Some(*mv));
        }
        assert_eq!(nth_legal_move(&board, moves.len()), None);
    }

    #[test]
    fn evaluation_is_symmetric() {
        let board = Board::default();
        assert_eq!(evaluate_for_white(&board), 0);
        let board: Board = "4k3/8/8/8/8/8/8/3QK3 w - - 0 1".parse().unwrap();
        assert!(evaluate_for_white(&board) > 900);
    }
}
