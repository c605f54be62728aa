//! Exact mate distances for K+Q vs K and K+R vs K: a tablebase over every placement of the
//! three pieces, built by the project on first use.
//!
//! A position's **mate distance** is the number of White moves to checkmate with best play on
//! both sides (White mating as fast as it can, Black delaying as long as it can, and taking the
//! white piece whenever the white king does not guard it, which draws). It is what Stockfish
//! reports as "mate in N" for these endings. Only positions with White to move are measured.
//!
//! The table is built by fixed-point iteration over all 64 × 64 × 64 placements for each side to
//! move: Black-to-move positions where Black is mated have distance 0; a White-to-move position
//! has distance n when some White move reaches a Black-to-move position of distance n − 1; a
//! Black-to-move position has distance n when Black has a move, no move takes an unguarded
//! piece, and every move reaches a White-to-move position already known to be won. Positions
//! never reached this way are not wins (stalemate or a lost piece). Built once per material and
//! process (about a second in an unoptimised build).
//!
//! Invariants checked by tests: the longest K+Q mate is 10 moves and the longest K+R mate 16
//! (the known values); positions without a mate in one never measure 1; and, replayed with
//! cozy-chess's move generation, White's best move against Black's most stubborn reply lowers
//! the distance by exactly one.
//! K+Q+R and K+R+R are not covered ([`MateDistance::NotCovered`]).

use std::sync::OnceLock;

use cozy_chess::{Board, Color, Piece};
use serde::{Deserialize, Serialize};

/// White's pieces besides the king.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Material {
    Queen,
    Rook,
    QueenRook,
    RookRook,
}

impl Material {
    pub const ALL: [Self; 4] = [Self::Queen, Self::Rook, Self::QueenRook, Self::RookRook];

    pub fn pieces(self) -> &'static [Piece] {
        match self {
            Self::Queen => &[Piece::Queen],
            Self::Rook => &[Piece::Rook],
            Self::QueenRook => &[Piece::Queen, Piece::Rook],
            Self::RookRook => &[Piece::Rook, Piece::Rook],
        }
    }
}

/// The mate distance of a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MateDistance {
    /// White mates in this many moves with best play (at least 1).
    MateIn(u32),
    /// White cannot force mate (Black can stalemate or take the piece).
    NoForcedMate,
    /// The position is not one the tablebase measures: other material, Black to move, or not
    /// a legal K+piece vs K position.
    NotCovered,
}

/// Entries of one side-to-move table: white king, black king, white piece.
const ENTRIES: usize = 64 * 64 * 64;
/// Marks an entry that is not (yet) known to be a win.
const UNKNOWN: u8 = u8::MAX;

fn index(white_king: usize, black_king: usize, piece: usize) -> usize {
    (white_king * 64 + black_king) * 64 + piece
}

fn file(square: usize) -> i32 {
    (square % 8) as i32
}

fn rank(square: usize) -> i32 {
    (square / 8) as i32
}

fn kings_adjacent(a: usize, b: usize) -> bool {
    (file(a) - file(b)).abs() <= 1 && (rank(a) - rank(b)).abs() <= 1
}

/// The squares a king on `square` steps to.
fn king_steps(square: usize) -> impl Iterator<Item = usize> {
    (-1..=1).flat_map(|df| (-1..=1).map(move |dr| (df, dr))).filter(|&(df, dr)| (df, dr) != (0, 0)).filter_map(
        move |(df, dr)| {
            let (f, r) = (file(square) + df, rank(square) + dr);
            ((0..8).contains(&f) && (0..8).contains(&r)).then_some((r * 8 + f) as usize)
        },
    )
}

const ROOK_DIRECTIONS: [(i32, i32); 4] = [(1, 0), (-1, 0), (0, 1), (0, -1)];
const QUEEN_DIRECTIONS: [(i32, i32); 8] = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)];

fn directions(material: Material) -> &'static [(i32, i32)] {
    match material {
        Material::Queen => &QUEEN_DIRECTIONS,
        _ => &ROOK_DIRECTIONS,
    }
}

/// Calls `visit` for each square the piece on `from` reaches, stopping each ray before
/// `blocker` (a ray ends on the first occupied square, which is not visited).
fn slide(material: Material, from: usize, blockers: [usize; 2], mut visit: impl FnMut(usize) -> bool) -> bool {
    for (df, dr) in directions(material) {
        let (mut f, mut r) = (file(from) + df, rank(from) + dr);
        while (0..8).contains(&f) && (0..8).contains(&r) {
            let square = (r * 8 + f) as usize;
            if blockers.contains(&square) {
                break;
            }
            if visit(square) {
                return true;
            }
            f += df;
            r += dr;
        }
    }
    false
}

/// Whether the piece on `piece` attacks `target`, rays blocked by `blocker`.
fn attacks(material: Material, piece: usize, target: usize, blocker: usize) -> bool {
    let (df, dr) = (file(target) - file(piece), rank(target) - rank(piece));
    if (df, dr) == (0, 0) {
        return false;
    }
    let straight = df == 0 || dr == 0;
    let diagonal = df.abs() == dr.abs();
    let moves_that_way = straight || (diagonal && material == Material::Queen);
    if !moves_that_way {
        return false;
    }
    let (step_f, step_r) = (df.signum(), dr.signum());
    let (mut f, mut r) = (file(piece) + step_f, rank(piece) + step_r);
    while (f, r) != (file(target), rank(target)) {
        if (r * 8 + f) as usize == blocker {
            return false;
        }
        f += step_f;
        r += step_r;
    }
    true
}

/// Three distinct squares with the kings apart: a placement either side may have to move.
fn placement_is_possible(white_king: usize, black_king: usize, piece: usize) -> bool {
    white_king != black_king && piece != white_king && piece != black_king && !kings_adjacent(white_king, black_king)
}

/// One material's table of White-to-move mate distances.
pub struct Tablebase {
    material: Material,
    white_to_move: Vec<u8>,
}

impl Tablebase {
    /// Builds the table for `material` (`Queen` or `Rook`).
    ///
    /// # Panics
    /// For the two-piece materials, which the tablebase does not cover.
    pub fn build(material: Material) -> Self {
        assert!(matches!(material, Material::Queen | Material::Rook), "the tablebase covers K+Q and K+R only");
        let mut white = vec![UNKNOWN; ENTRIES];
        let mut black = vec![UNKNOWN; ENTRIES];
        // Black-to-move positions where Black is checkmated: distance 0.
        for (white_king, black_king, piece) in placements() {
            if !placement_is_possible(white_king, black_king, piece) {
                continue;
            }
            let in_check = attacks(material, piece, black_king, white_king);
            if in_check && black_moves(material, white_king, black_king, piece).next().is_none() {
                black[index(white_king, black_king, piece)] = 0;
            }
        }
        let mut distance: u8 = 1;
        loop {
            let mut changed = false;
            for (white_king, black_king, piece) in placements() {
                let at = index(white_king, black_king, piece);
                if white[at] != UNKNOWN || !white_to_move_is_legal(material, white_king, black_king, piece) {
                    continue;
                }
                let previous = distance - 1;
                let reaches = |to: usize| black[to] == previous;
                let king_move = king_steps(white_king)
                    .filter(|&to| to != piece && !kings_adjacent(to, black_king))
                    .any(|to| reaches(index(to, black_king, piece)));
                let piece_move = king_move
                    || slide(material, piece, [white_king, black_king], |to| {
                        reaches(index(white_king, black_king, to))
                    });
                if piece_move {
                    white[at] = distance;
                    changed = true;
                }
            }
            for (white_king, black_king, piece) in placements() {
                let at = index(white_king, black_king, piece);
                if black[at] != UNKNOWN || !placement_is_possible(white_king, black_king, piece) {
                    continue;
                }
                let mut any = false;
                let mut all_won = true;
                for (to, takes) in black_moves(material, white_king, black_king, piece) {
                    any = true;
                    if takes || white[index(white_king, to, piece)] == UNKNOWN {
                        all_won = false;
                        break;
                    }
                }
                if any && all_won {
                    black[at] = distance;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
            distance += 1;
        }
        Self { material, white_to_move: white }
    }

    /// The mate distance of the White-to-move placement (squares as cozy-chess indices, a1 = 0).
    pub fn distance(&self, white_king: usize, black_king: usize, piece: usize) -> MateDistance {
        if !white_to_move_is_legal(self.material, white_king, black_king, piece) {
            return MateDistance::NotCovered;
        }
        match self.white_to_move[index(white_king, black_king, piece)] {
            UNKNOWN => MateDistance::NoForcedMate,
            moves => MateDistance::MateIn(u32::from(moves)),
        }
    }

    /// The longest mate in the table.
    pub fn longest_mate(&self) -> u32 {
        self.white_to_move.iter().filter(|&&d| d != UNKNOWN).map(|&d| u32::from(d)).max().unwrap_or(0)
    }

    /// How many legal White-to-move positions have each mate distance; entry 0 counts those
    /// without a forced mate.
    pub fn histogram(&self) -> Vec<u64> {
        let mut counts = vec![0u64; self.longest_mate() as usize + 1];
        for (white_king, black_king, piece) in placements() {
            match self.distance(white_king, black_king, piece) {
                MateDistance::MateIn(moves) => counts[moves as usize] += 1,
                MateDistance::NoForcedMate => counts[0] += 1,
                MateDistance::NotCovered => {}
            }
        }
        counts
    }
}

fn placements() -> impl Iterator<Item = (usize, usize, usize)> {
    (0..64).flat_map(|wk| (0..64).flat_map(move |bk| (0..64).map(move |p| (wk, bk, p))))
}

fn white_to_move_is_legal(material: Material, white_king: usize, black_king: usize, piece: usize) -> bool {
    placement_is_possible(white_king, black_king, piece) && !attacks(material, piece, black_king, white_king)
}

/// Black's legal king moves: the destination, and whether it takes the (unguarded) piece.
fn black_moves(
    material: Material,
    white_king: usize,
    black_king: usize,
    piece: usize,
) -> impl Iterator<Item = (usize, bool)> {
    king_steps(black_king).filter_map(move |to| {
        if kings_adjacent(to, white_king) {
            return None;
        }
        if to == piece {
            // Taking the piece: legal only when the white king does not guard it.
            return Some((to, true));
        }
        // The black king has left `black_king`, so only the white king blocks the piece's rays.
        (!attacks(material, piece, to, white_king)).then_some((to, false))
    })
}

/// The tablebase of a covered material, built on first use.
pub fn tablebase(material: Material) -> Option<&'static Tablebase> {
    static QUEEN: OnceLock<Tablebase> = OnceLock::new();
    static ROOK: OnceLock<Tablebase> = OnceLock::new();
    match material {
        Material::Queen => Some(QUEEN.get_or_init(|| Tablebase::build(Material::Queen))),
        Material::Rook => Some(ROOK.get_or_init(|| Tablebase::build(Material::Rook))),
        Material::QueenRook | Material::RookRook => None,
    }
}

/// The mate distance of a position with White to move and White's K+Q or K+R against a lone
/// king; [`MateDistance::NotCovered`] for anything else.
pub fn mate_distance(board: &Board) -> MateDistance {
    if board.side_to_move() != Color::White || board.colors(Color::Black).len() != 1 {
        return MateDistance::NotCovered;
    }
    let white = board.colors(Color::White);
    if white.len() != 2 {
        return MateDistance::NotCovered;
    }
    let (material, piece_kind) = if !board.pieces(Piece::Queen).is_empty() {
        (Material::Queen, Piece::Queen)
    } else if !board.pieces(Piece::Rook).is_empty() {
        (Material::Rook, Piece::Rook)
    } else {
        return MateDistance::NotCovered;
    };
    let Some(table) = tablebase(material) else { return MateDistance::NotCovered };
    let (Some(white_king), Some(black_king), Some(piece)) = (
        (board.pieces(Piece::King) & white).next_square(),
        (board.pieces(Piece::King) & board.colors(Color::Black)).next_square(),
        (board.pieces(piece_kind) & white).next_square(),
    ) else {
        return MateDistance::NotCovered;
    };
    table.distance(white_king as usize, black_king as usize, piece as usize)
}

/// Black's best defence in a covered position with Black to move: a legal move after which the
/// mate is furthest away (taking the white piece, which draws, is best of all), uniformly among
/// the equally good ones with `rng`. `None` when Black has no move or a move leads to a
/// position the table does not cover (other material).
pub fn longest_defence(board: &Board, rng: &mut impl rand::Rng) -> Option<cozy_chess::Move> {
    if board.side_to_move() != Color::Black {
        return None;
    }
    let mut best: Vec<cozy_chess::Move> = Vec::new();
    let mut best_score = 0u32;
    for mv in super::engine::legal_moves(board) {
        let mut after = board.clone();
        after.play_unchecked(mv);
        let score = if after.colors(Color::White).len() == 1 {
            u32::MAX
        } else {
            match mate_distance(&after) {
                MateDistance::MateIn(moves) => moves,
                MateDistance::NoForcedMate => u32::MAX,
                MateDistance::NotCovered => return None,
            }
        };
        if score > best_score || best.is_empty() {
            best.clear();
            best_score = score;
        }
        if score == best_score {
            best.push(mv);
        }
    }
    if best.is_empty() {
        return None;
    }
    let pick = rand::RngExt::random_range(rng, 0..best.len());
    Some(best[pick])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chess::endgames::generate_position;
    use sim_core::seed::stream;

    /// The distribution of mate distances (run with `--nocapture`; quoted in
    /// `docs/envs/chess_endgames.md`).
    #[test]
    fn print_the_distributions() {
        for material in [Material::Queen, Material::Rook] {
            println!(
                "{material:?}: positions by mate distance (0 = no forced mate): {:?}",
                tablebase(material).unwrap().histogram()
            );
        }
    }

    #[test]
    fn the_best_defence_keeps_the_distance_and_takes_a_hanging_rook() {
        let mut rng = stream(0, "tablebase-defence");
        for seed in 0..40 {
            let material = [Material::Queen, Material::Rook][seed as usize % 2];
            let board = generate_position(material, &mut stream(seed, "tablebase-defence"));
            let MateDistance::MateIn(moves) = mate_distance(&board) else { continue };
            if moves < 2 {
                continue;
            }
            // After White's best move, Black's best defence leaves exactly one move less.
            let best_white = crate::chess::engine::legal_moves(&board).into_iter().find_map(|mv| {
                let mut after = board.clone();
                after.play_unchecked(mv);
                let reply = longest_defence(&after, &mut rng)?;
                let mut next = after.clone();
                next.play_unchecked(reply);
                (mate_distance(&next) == MateDistance::MateIn(moves - 1)).then_some(())
            });
            assert!(best_white.is_some(), "{board}");
        }
        // Black to move with the rook next to its king and unguarded: it takes it.
        let board = Board::from_fen("8/8/8/8/8/8/1R6/k6K b - - 0 1", false).unwrap();
        let reply = longest_defence(&board, &mut rng).unwrap();
        assert_eq!(reply.to, cozy_chess::Square::B2);
    }

    #[test]
    fn the_longest_mates_are_the_known_ones() {
        assert_eq!(tablebase(Material::Queen).unwrap().longest_mate(), 10);
        assert_eq!(tablebase(Material::Rook).unwrap().longest_mate(), 16);
    }

    #[test]
    fn generated_positions_are_no_mate_in_one_and_a_mate_in_one_measures_one() {
        for seed in 0..400 {
            let material = [Material::Queen, Material::Rook][seed as usize % 2];
            let board = generate_position(material, &mut stream(seed, "tablebase-test"));
            let distance = mate_distance(&board);
            // Generated positions have no mate in one.
            assert!(
                matches!(distance, MateDistance::MateIn(moves) if moves >= 2) || distance == MateDistance::NoForcedMate
            );
        }
        // Black king g8, White king g6, rook a1: Ra8 mates.
        let board = Board::from_fen("6k1/8/6K1/8/8/8/8/R7 w - - 0 1", false).unwrap();
        assert_eq!(mate_distance(&board), MateDistance::MateIn(1));
        // Black to move, or two pieces: not covered.
        let board = Board::from_fen("6k1/8/6K1/8/8/8/8/R7 b - - 0 1", false).unwrap();
        assert_eq!(mate_distance(&board), MateDistance::NotCovered);
        let board = Board::from_fen("6k1/8/6K1/8/8/8/8/RR6 w - - 0 1", false).unwrap();
        assert_eq!(mate_distance(&board), MateDistance::NotCovered);
    }

    #[test]
    fn a_move_of_best_play_lowers_the_distance_by_one() {
        for seed in 0..40 {
            let material = [Material::Queen, Material::Rook][seed as usize % 2];
            let board = generate_position(material, &mut stream(seed, "tablebase-walk"));
            let MateDistance::MateIn(moves) = mate_distance(&board) else { continue };
            // Some White move reaches a Black-to-move position where every Black reply leaves
            // mate in `moves - 1` at most, and one leaves exactly that (or mate, if 1).
            let mut best = None;
            for mv in crate::chess::engine::legal_moves(&board) {
                let mut after = board.clone();
                after.play_unchecked(mv);
                let replies = crate::chess::engine::legal_moves(&after);
                if replies.is_empty() {
                    if !after.checkers().is_empty() {
                        best = Some(best.map_or(1, |b: u32| b.min(1)));
                    }
                    continue;
                }
                let worst = replies
                    .into_iter()
                    .map(|reply| {
                        let mut next = after.clone();
                        next.play_unchecked(reply);
                        match mate_distance(&next) {
                            MateDistance::MateIn(m) => m + 1,
                            _ => u32::MAX,
                        }
                    })
                    .max()
                    .unwrap_or(u32::MAX);
                best = Some(best.map_or(worst, |b: u32| b.min(worst)));
            }
            assert_eq!(best, Some(moves), "seed {seed}: {board}");
        }
    }
}
