//! `chess_endgames-v0`: LMRL-Gym's endgames. White has K+Q, K+R, K+Q+R or K+R+R against a
//! lone black king and must mate within the move cap. See `docs/envs/chess_endgames.md`.

use std::borrow::Cow;
use std::sync::OnceLock;

use cozy_chess::{Board, BoardBuilder, Color, Piece, Square};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};
use sim_core::prelude::*;
use sim_core::seed::{StreamRng, stream};

use super::game::{self, Exchange, Game, Opponent, OpponentConfig, Presentation, Render};
pub use super::tablebase::Material;
use super::tablebase::{MateDistance, mate_distance};

/// Where the start positions come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PositionSource {
    /// A fresh position per episode from the episode's `position` stream, material uniform.
    #[default]
    Generated,
    /// Position `episode index mod N` of the shipped evaluation set
    /// (`envs/src/chess/endgame_positions.txt`).
    EvaluationSet,
    /// Position `episode index mod N` of the shipped hard evaluation set
    /// (`envs/src/chess/endgame_positions_hard.txt`): K+R vs K positions whose mate distance is
    /// at least [`HARD_MIN_MATE_MOVES`], LMRL-Gym's "mate in 15 or more" criterion.
    HardEvaluationSet,
}

/// A band of mate distances (White moves to mate with best play, see [`super::tablebase`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MateBand {
    /// At least this many moves (1 to 16).
    pub at_least: u32,
    /// At most this many moves (at least `at_least`).
    pub at_most: u32,
}

impl MateBand {
    pub fn contains(self, moves: u32) -> bool {
        (self.at_least..=self.at_most).contains(&moves)
    }

    /// The measured materials with positions in the band (K+Q mates take at most 10 moves,
    /// K+R mates at most 16).
    pub fn materials(self) -> Vec<Material> {
        [Material::Queen, Material::Rook]
            .into_iter()
            .filter(|material| self.at_least <= longest_mate(*material))
            .collect()
    }
}

/// The longest mate of a measured material with best play (checked against the tablebase by
/// a test).
pub const fn longest_mate(material: Material) -> u32 {
    match material {
        Material::Queen => 10,
        Material::Rook => 16,
        Material::QueenRook | Material::RookRook => 0,
    }
}

/// The env's section of a scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EndgamesConfig {
    pub positions: PositionSource,
    pub render: Render,
    /// Black's player (only a king to move, so strength matters little).
    pub opponent: OpponentConfig,
    /// Agent moves per episode, illegal ones included. 100 leaves room for the longest
    /// K+R mates (at most 16 moves with best play) many times over, and for the fifty-move rule
    /// to end an aimless game first; reaching the cap truncates the episode (a draw, 0).
    pub max_moves: u32,
    /// With `Generated` positions: draw only positions whose mate distance lies in this band
    /// (material uniform among K+Q and K+R, those with mates that long; the two-piece
    /// materials are not measured). `None` (the default): any position without a mate in one.
    pub difficulty: Option<MateBand>,
}

impl Default for EndgamesConfig {
    fn default() -> Self {
        Self {
            positions: PositionSource::Generated,
            render: Render::Fen,
            opponent: OpponentConfig::Engine { depth: 2 },
            max_moves: 100,
            difficulty: None,
        }
    }
}

/// Marker of a `chess_endgames-v0` episode.
#[derive(Component, Debug, Clone, Copy)]
pub struct EndgameEpisode;

/// LMRL-Gym's anchors: −1, the dataset average 0.586, a win (+1).
pub const SCORE_ANCHORS: ScoreAnchors = ScoreAnchors { min: -1.0, average: 0.586, max: 1.0 };

fn kings_touch(a: Square, b: Square) -> bool {
    (a.file() as i32 - b.file() as i32).abs() <= 1 && (a.rank() as i32 - b.rank() as i32).abs() <= 1
}

fn mate_in_one(board: &Board) -> bool {
    super::engine::legal_moves(board).into_iter().any(|mv| {
        let mut after = board.clone();
        after.play_unchecked(mv);
        !after.checkers().is_empty() && !after.generate_moves(|_| true)
    })
}

/// A random start position with `material`: White to move, legal (kings apart, Black not in
/// check), the game not over, and no mate in one. Squares are drawn from `rng` until a
/// placement qualifies.
pub fn generate_position(material: Material, rng: &mut impl Rng) -> Board {
    loop {
        let mut builder = BoardBuilder::empty();
        let mut placed: Vec<Square> = Vec::with_capacity(4);
        let mut pieces = vec![(Piece::King, Color::White), (Piece::King, Color::Black)];
        pieces.extend(material.pieces().iter().map(|piece| (*piece, Color::White)));
        for (piece, color) in pieces {
            let square = loop {
                let square = Square::index(rng.random_range(0..64));
                if !placed.contains(&square) {
                    break square;
                }
            };
            placed.push(square);
            *builder.square_mut(square) = Some((piece, color));
        }
        if kings_touch(placed[0], placed[1]) {
            continue;
        }
        let Ok(board) = builder.build() else { continue };
        let game = Game::new(board.clone());
        if game.ending().is_none() && !mate_in_one(&board) {
            return board;
        }
    }
}

/// The seed of the shipped evaluation set.
pub const EVALUATION_SEED: u64 = 2024;
/// Positions in the shipped evaluation set: 50 of each material.
pub const EVALUATION_SIZE: usize = 200;

/// Regenerates the evaluation set: position `i` has material `Material::ALL[i % 4]`, all
/// drawn from `stream(EVALUATION_SEED, "endgame-evaluation")`. One FEN per line.
pub fn generate_evaluation_set() -> String {
    let mut rng: StreamRng = stream(EVALUATION_SEED, "endgame-evaluation");
    let mut out = String::new();
    for index in 0..EVALUATION_SIZE {
        let board = generate_position(Material::ALL[index % Material::ALL.len()], &mut rng);
        out.push_str(&board.to_string());
        out.push('\n');
    }
    out
}

/// A random start position whose mate distance lies in `band`: the material uniform among
/// [`MateBand::materials`], then [`generate_position`] redrawn until the distance fits.
///
/// # Panics
/// If no measured material has mates in the band (the config's validation rules that out).
pub fn generate_position_in_band(band: MateBand, rng: &mut impl Rng) -> Board {
    let materials = band.materials();
    assert!(!materials.is_empty(), "no measured material has mates of {} moves or more", band.at_least);
    let material = materials[rng.random_range(0..materials.len())];
    loop {
        let board = generate_position(material, rng);
        if let MateDistance::MateIn(moves) = mate_distance(&board)
            && band.contains(moves)
        {
            return board;
        }
    }
}

/// The seed of the shipped hard evaluation set.
pub const HARD_EVALUATION_SEED: u64 = 2025;
/// Positions in the hard evaluation set.
pub const HARD_EVALUATION_SIZE: usize = 200;
/// The hard set's least mate distance: LMRL-Gym's "Stockfish mate in 15 or more".
pub const HARD_MIN_MATE_MOVES: u32 = 15;

/// Regenerates the hard evaluation set: [`HARD_EVALUATION_SIZE`] distinct K+R vs K positions
/// with a mate distance of at least [`HARD_MIN_MATE_MOVES`] (only K+R has mates that long among
/// the measured materials), drawn from `stream(HARD_EVALUATION_SEED,
/// "endgame-evaluation-hard")`, a position drawn twice being skipped. One FEN per line.
pub fn generate_hard_evaluation_set() -> String {
    let mut rng: StreamRng = stream(HARD_EVALUATION_SEED, "endgame-evaluation-hard");
    let band = MateBand { at_least: HARD_MIN_MATE_MOVES, at_most: longest_mate(Material::Rook) };
    let mut positions: Vec<String> = Vec::with_capacity(HARD_EVALUATION_SIZE);
    while positions.len() < HARD_EVALUATION_SIZE {
        let fen = generate_position_in_band(band, &mut rng).to_string();
        if !positions.contains(&fen) {
            positions.push(fen);
        }
    }
    let mut out = String::new();
    for fen in positions {
        out.push_str(&fen);
        out.push('\n');
    }
    out
}

/// The shipped hard evaluation positions, parsed once.
pub fn hard_evaluation_set() -> &'static [Board] {
    static POSITIONS: OnceLock<Vec<Board>> = OnceLock::new();
    POSITIONS.get_or_init(|| parse_positions(include_str!("endgame_positions_hard.txt")))
}

fn parse_positions(text: &str) -> Vec<Board> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| Board::from_fen(line.trim(), false).expect("the shipped endgame positions parse"))
        .collect()
}

/// The shipped evaluation positions, parsed once.
pub fn evaluation_set() -> &'static [Board] {
    static POSITIONS: OnceLock<Vec<Board>> = OnceLock::new();
    POSITIONS.get_or_init(|| {
        include_str!("endgame_positions.txt")
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| Board::from_fen(line.trim(), false).expect("the shipped endgame positions parse"))
            .collect()
    })
}

/// The env type registered as `chess_endgames-v0`.
pub struct ChessEndgames;

impl Environment for ChessEndgames {
    type Config = EndgamesConfig;
    const ID: &'static str = "chess_endgames-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        game::game_spec(
            config.max_moves,
            SCORE_ANCHORS,
            "Mate a lone king with K+Q, K+R, K+Q+R or K+R+R (LMRL-Gym Chess Endgames)",
        )
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        if let Some(band) = config.difficulty
            && (band.at_least == 0 || band.at_most < band.at_least || band.at_least > longest_mate(Material::Rook))
        {
            return Err(format!(
                "chess_endgames: difficulty must have 1 <= at_least <= at_most and at_least <= {} (the longest \
                 K+R mate), got at_least: {}, at_most: {}",
                longest_mate(Material::Rook),
                band.at_least,
                band.at_most
            ));
        }
        game::validate_game("chess_endgames", config.max_moves, &config.opponent)
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        let board = match config.positions {
            PositionSource::Generated if config.difficulty.is_some() => {
                let band = config.difficulty.unwrap_or(MateBand { at_least: 1, at_most: 16 });
                generate_position_in_band(band, &mut stream(episode.seed, "position-band"))
            }
            PositionSource::HardEvaluationSet => {
                let set = hard_evaluation_set();
                set[(episode.index % set.len() as u64) as usize].clone()
            }
            PositionSource::Generated => {
                let mut rng = stream(episode.seed, "position");
                let material = Material::ALL[rng.random_range(0..Material::ALL.len())];
                generate_position(material, &mut rng)
            }
            PositionSource::EvaluationSet => {
                let set = evaluation_set();
                set[(episode.index % set.len() as u64) as usize].clone()
            }
        };
        let prompt = game::opening("Chess endgame: Black has only a king. Checkmate it.", &board, config.render);
        entity.insert((
            EndgameEpisode,
            Game::new(board),
            Opponent::new(config.opponent, stream(episode.seed, "opponent")),
            Presentation { render: config.render },
            Exchange::default(),
        ));
        Cow::Owned(prompt)
    }

    fn add_systems(schedule: &mut Schedule) {
        game::add_game_systems::<EndgameEpisode>(schedule);
    }

    fn hidden_state(_entity: EntityRef) -> Vec<String> {
        Vec::new()
    }

    fn sample_actions(_config: &Self::Config) -> Vec<String> {
        game::owned_moves(&["Qd1", "Qh5", "Rd1", "Ra8", "Kf2", "Ke2", "Qg7", "Rb7", "a1a8", "d1d8", "Kg1", "Qe6"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_evaluation_set_is_what_the_generator_makes() {
        let generated = generate_evaluation_set();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/chess/endgame_positions.txt");
        if std::env::var_os("UPDATE_ENDGAME_POSITIONS").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        assert_eq!(include_str!("endgame_positions.txt"), generated, "rerun with UPDATE_ENDGAME_POSITIONS=1");
        assert_eq!(evaluation_set().len(), EVALUATION_SIZE);
    }

    #[test]
    fn the_shipped_hard_set_is_what_the_generator_makes_and_is_hard() {
        let generated = generate_hard_evaluation_set();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/chess/endgame_positions_hard.txt");
        if std::env::var_os("UPDATE_ENDGAME_POSITIONS").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        assert_eq!(include_str!("endgame_positions_hard.txt"), generated, "rerun with UPDATE_ENDGAME_POSITIONS=1");
        let set = hard_evaluation_set();
        assert_eq!(set.len(), HARD_EVALUATION_SIZE);
        let distinct: std::collections::BTreeSet<String> = set.iter().map(ToString::to_string).collect();
        assert_eq!(distinct.len(), HARD_EVALUATION_SIZE);
        for board in set {
            assert!(
                matches!(mate_distance(board), MateDistance::MateIn(moves) if moves >= HARD_MIN_MATE_MOVES),
                "{board}"
            );
        }
    }

    /// The mate distances of both shipped sets, per material (run with `--nocapture`; quoted
    /// in `docs/envs/chess_endgames.md`).
    #[test]
    fn print_the_mate_distances_of_the_shipped_sets() {
        for (name, set) in [("EvaluationSet", evaluation_set()), ("HardEvaluationSet", hard_evaluation_set())] {
            let mut measured: Vec<u32> = Vec::new();
            let mut not_covered = 0;
            for board in set {
                match mate_distance(board) {
                    MateDistance::MateIn(moves) => measured.push(moves),
                    MateDistance::NoForcedMate => panic!("{board} has no forced mate"),
                    MateDistance::NotCovered => not_covered += 1,
                }
            }
            measured.sort_unstable();
            let mut histogram = vec![0; 17];
            for moves in &measured {
                histogram[*moves as usize] += 1;
            }
            let median = measured[measured.len() / 2];
            let mean = f64::from(measured.iter().sum::<u32>()) / measured.len() as f64;
            println!(
                "{name}: {} measured (K+Q, K+R), {not_covered} not covered (K+Q+R, K+R+R); mate distance \
                 median {median}, mean {mean:.2}, histogram by moves {histogram:?}",
                measured.len()
            );
        }
    }

    #[test]
    fn the_longest_mate_constants_match_the_tablebase() {
        for material in [Material::Queen, Material::Rook] {
            let table = super::super::tablebase::tablebase(material).unwrap();
            assert_eq!(table.longest_mate(), longest_mate(material));
        }
    }

    #[test]
    fn a_difficulty_band_yields_positions_in_the_band() {
        let band = MateBand { at_least: 8, at_most: 12 };
        for seed in 0..20 {
            let board = generate_position_in_band(band, &mut stream(seed, "position-band"));
            let MateDistance::MateIn(moves) = mate_distance(&board) else { panic!("{board} is not measured") };
            assert!(band.contains(moves), "{board}: {moves}");
        }
        let too_long =
            EndgamesConfig { difficulty: Some(MateBand { at_least: 17, at_most: 20 }), ..Default::default() };
        assert!(ChessEndgames::validate(&too_long).is_err());
        let old_file = "(positions: Generated, max_moves: 100)";
        let parsed: EndgamesConfig = ron::from_str(old_file).unwrap();
        assert_eq!(parsed.difficulty, None);
    }

    #[test]
    fn generated_positions_are_playable() {
        for seed in 0..200 {
            let mut rng = stream(seed, "position");
            let material = Material::ALL[seed as usize % 4];
            let board = generate_position(material, &mut rng);
            assert_eq!(board.side_to_move(), Color::White);
            assert!(board.checkers().is_empty());
            assert_eq!(board.colors(Color::Black).len(), 1_u32);
            assert_eq!(board.colors(Color::White).len() as usize, 1 + material.pieces().len());
            assert!(Game::new(board.clone()).ending().is_none());
            assert!(!mate_in_one(&board));
        }
    }
}
