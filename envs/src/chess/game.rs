//! What `chess-v0` and `chess_endgames-v0` share: the game component, move parsing, game
//! endings, rendering, the opponent, and the step systems (generic over each env's marker
//! component, so two chess envs in one world never step each other's episodes).

use std::borrow::Cow;
use std::fmt::Write as _;

use cozy_chess::util::{display_san_move, parse_san_move, parse_uci_move};
use cozy_chess::{Board, Color, Move, Piece};
use serde::{Deserialize, Serialize};
use sim_core::prelude::*;
use sim_core::seed::StreamRng;
use thiserror::Error;

use super::engine;

/// How the board is shown in observations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Render {
    /// A line `FEN: <fen>` (what the built-in agents read).
    #[default]
    Fen,
    /// An 8x8 diagram, rank 8 at the top, White in capitals, `.` for empty squares, then the
    /// FEN line.
    Ascii,
    /// LMRL-Gym's format: every character of the FEN separated by a space, in a line
    /// `FEN: <spaced fen>`.
    SpacedFen,
}

/// Who plays Black.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpponentConfig {
    /// A uniformly random legal move from the episode's `opponent` stream.
    Random,
    /// The built-in engine ([`engine::search`]) at a fixed depth in half-moves (1 to 6);
    /// ties among best moves are broken with the episode's `opponent` stream.
    Engine { depth: u8 },
    /// A `stockfish` binary over UCI (one process per episode), `go nodes N` per move. Only
    /// valid where the binary is installed; should the process fail mid-game, Black's
    /// remaining moves come from `Engine(depth: 2)`.
    Stockfish { nodes: u32 },
    /// Best defence from the project's tablebase (K+Q or K+R against a lone king, see
    /// [`super::tablebase`]): the move that delays the mate longest, taking an unguarded piece
    /// when it can (ties broken with the episode's `opponent` stream). In positions the table
    /// does not cover (other material) Black plays as `Engine(depth: 2)`.
    Tablebase,
}

impl OpponentConfig {
    /// Rejects depths the engine does not support.
    ///
    /// # Errors
    /// A message naming the bad depth.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Self::Engine { depth } if !(1..=6).contains(depth) => {
                Err(format!("opponent: Engine(depth: {depth}) must have a depth from 1 to 6"))
            }
            Self::Stockfish { nodes: 0 } => Err("opponent: Stockfish(nodes: 0) must search at least one node".into()),
            Self::Stockfish { .. } if super::stockfish::find_binary().is_none() => {
                Err("opponent: Stockfish needs a `stockfish` binary on PATH or in /usr/games".into())
            }
            _ => Ok(()),
        }
    }
}

/// Why a game ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GameEnd {
    Checkmate { winner: Color },
    Stalemate,
    InsufficientMaterial,
    FiftyMoveRule,
    ThreefoldRepetition,
}

impl GameEnd {
    fn describe(self) -> &'static str {
        match self {
            Self::Checkmate { winner: Color::White } => "Checkmate: White wins.",
            Self::Checkmate { winner: Color::Black } => "Checkmate: Black wins.",
            Self::Stalemate => "Draw by stalemate.",
            Self::InsufficientMaterial => "Draw: neither side has enough material to mate.",
            Self::FiftyMoveRule => "Draw by the fifty-move rule.",
            Self::ThreefoldRepetition => "Draw by threefold repetition.",
        }
    }
}

/// Why an action was not played.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MoveError {
    #[error("the answer is empty")]
    Empty,
    #[error("the answer is too long to be a move")]
    TooLong,
    #[error("it is not a legal move for White in this position")]
    Illegal,
}

/// Longest answer (after trimming) that is parsed at all; SAN and UCI moves are at most 7
/// characters, LMRL-Gym's character-spaced SAN at most 13.
const MAX_MOVE_CHARS: usize = 16;

/// Parses a White move in SAN (`e4`, `Nf3`, `exd5`, `O-O`, `e8=Q+`) or UCI (`e2e4`,
/// `e1g1`, `e7e8q`), ignoring surrounding and inner whitespace (so LMRL-Gym's `N f 3` is
/// read as `Nf3`), a trailing `!`/`?` annotation, and `0-0` for `O-O`.
///
/// Invariant: an `Ok` move is legal in `board`. Never panics, whatever the text.
///
/// # Errors
/// [`MoveError`] when the text is empty, too long, or no legal move.
pub fn parse_move(board: &Board, text: &str) -> Result<Move, MoveError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(MoveError::Empty);
    }
    if trimmed.chars().count() > MAX_MOVE_CHARS {
        return Err(MoveError::TooLong);
    }
    let mut compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    while compact.ends_with(['!', '?']) {
        compact.pop();
    }
    if compact.starts_with("0-0") {
        compact = compact.replace('0', "O");
    }
    if let Ok(mv) = parse_san_move(board, &compact) {
        return Ok(mv);
    }
    let lowered = compact.to_ascii_lowercase();
    if let Ok(mv) = parse_uci_move(board, &lowered)
        && engine::legal_moves(board).contains(&mv)
    {
        return Ok(mv);
    }
    Err(MoveError::Illegal)
}

/// SAN of a legal move (with `+`/`#`).
pub fn san(board: &Board, mv: Move) -> String {
    display_san_move(board, mv).to_string()
}

/// Whether neither side can ever mate: bare kings, a single minor piece, or only bishops all
/// on squares of one colour.
pub fn insufficient_material(board: &Board) -> bool {
    let heavy = board.pieces(Piece::Pawn) | board.pieces(Piece::Rook) | board.pieces(Piece::Queen);
    if !heavy.is_empty() {
        return false;
    }
    let knights = board.pieces(Piece::Knight);
    let bishops = board.pieces(Piece::Bishop);
    if knights.len() + bishops.len() <= 1 {
        return true;
    }
    let light = cozy_chess::BitBoard::LIGHT_SQUARES;
    knights.is_empty() && ((bishops & light).is_empty() || (bishops & !light).is_empty())
}

/// The board of an episode and the positions since the last capture or pawn move.
///
/// Invariant: `repetitions` holds the Zobrist hash of every position since the halfmove clock
/// was last reset, the current one last.
#[derive(Component, Debug, Clone)]
pub struct Game {
    pub board: Board,
    pub repetitions: Vec<u64>,
}

impl Game {
    pub fn new(board: Board) -> Self {
        let repetitions = vec![board.hash()];
        Self { board, repetitions }
    }

    /// Plays a legal move and returns how the game ended, if it did.
    pub fn play(&mut self, mv: Move) -> Option<GameEnd> {
        self.board.play_unchecked(mv);
        if self.board.halfmove_clock() == 0 {
            self.repetitions.clear();
        }
        self.repetitions.push(self.board.hash());
        self.ending()
    }

    /// How the game stands: checkmate and stalemate first, then the draw rules.
    pub fn ending(&self) -> Option<GameEnd> {
        let board = &self.board;
        if !board.generate_moves(|_| true) {
            return Some(if board.checkers().is_empty() {
                GameEnd::Stalemate
            } else {
                GameEnd::Checkmate { winner: !board.side_to_move() }
            });
        }
        if insufficient_material(board) {
            return Some(GameEnd::InsufficientMaterial);
        }
        if board.halfmove_clock() >= 100 {
            return Some(GameEnd::FiftyMoveRule);
        }
        let current = board.hash();
        if self.repetitions.iter().filter(|hash| **hash == current).count() >= 3 {
            return Some(GameEnd::ThreefoldRepetition);
        }
        None
    }
}

/// Black's player and its random stream (`stream(episode.seed, "opponent")`).
#[derive(Component, Debug)]
pub struct Opponent {
    pub config: OpponentConfig,
    pub rng: StreamRng,
    /// The episode's Stockfish process, started on Black's first move (`Stockfish` only).
    pub stockfish: Option<super::stockfish::Stockfish>,
}

impl Opponent {
    pub fn new(config: OpponentConfig, rng: StreamRng) -> Self {
        Self { config, rng, stockfish: None }
    }

    /// Black's move in `board`; `None` only when Black has no legal move.
    pub fn reply(&mut self, board: &Board) -> Option<Move> {
        match self.config {
            OpponentConfig::Random => engine::random_move(board, &mut self.rng),
            OpponentConfig::Engine { depth } => engine::choose_move(board, depth, &mut self.rng),
            OpponentConfig::Tablebase => super::tablebase::longest_defence(board, &mut self.rng)
                .or_else(|| engine::choose_move(board, 2, &mut self.rng)),
            OpponentConfig::Stockfish { nodes } => {
                if engine::count_legal_moves(board) == 0 {
                    return None;
                }
                if self.stockfish.is_none() {
                    self.stockfish = super::stockfish::Stockfish::start().ok();
                }
                let answer = self.stockfish.as_mut().map(|process| process.best_move(board, nodes));
                match answer {
                    Some(Ok(mv)) => Some(mv),
                    _ => {
                        self.stockfish = None;
                        engine::choose_move(board, 2, &mut self.rng)
                    }
                }
            }
        }
    }
}

/// Per-episode presentation settings.
#[derive(Component, Debug, Clone, Copy)]
pub struct Presentation {
    pub render: Render,
}

/// What happened in this step, written in `Act` and `React`, read in `Observe` and `Score`.
#[derive(Component, Debug, Clone, Default)]
pub struct Exchange {
    /// White's move in SAN, or why the action was rejected.
    pub agent_move: Option<Result<String, MoveError>>,
    /// Black's reply in SAN.
    pub reply: Option<String>,
    pub end: Option<GameEnd>,
}

/// Appends the FEN of `board` to `out`, exactly as cozy-chess's `Display` writes it (standard
/// castling letters), without going through `core::fmt` for every square.
pub fn write_fen(out: &mut String, board: &Board) {
    use cozy_chess::{Rank, Square};
    // One symbol per square, filled from the twelve piece bitboards.
    let mut symbols = [0u8; 64];
    for piece in Piece::ALL {
        let symbol = char::from(piece) as u8;
        for square in board.colored_pieces(Color::White, piece) {
            symbols[square as usize] = symbol.to_ascii_uppercase();
        }
        for square in board.colored_pieces(Color::Black, piece) {
            symbols[square as usize] = symbol;
        }
    }
    for rank in (0..8).rev() {
        let mut empty = 0u8;
        for &symbol in &symbols[rank * 8..rank * 8 + 8] {
            if symbol == 0 {
                empty += 1;
                continue;
            }
            if empty > 0 {
                out.push(char::from(b'0' + empty));
                empty = 0;
            }
            out.push(char::from(symbol));
        }
        if empty > 0 {
            out.push(char::from(b'0' + empty));
        }
        if rank > 0 {
            out.push('/');
        }
    }
    out.push_str(if board.side_to_move() == Color::White { " w " } else { " b " });
    let mut castling = false;
    for (color, king_side, queen_side) in [(Color::White, 'K', 'Q'), (Color::Black, 'k', 'q')] {
        let rights = board.castle_rights(color);
        if rights.short.is_some() {
            out.push(king_side);
            castling = true;
        }
        if rights.long.is_some() {
            out.push(queen_side);
            castling = true;
        }
    }
    if !castling {
        out.push('-');
    }
    out.push(' ');
    match board.en_passant() {
        Some(file) => {
            let rank = if board.side_to_move() == Color::White { Rank::Sixth } else { Rank::Third };
            let _ = write!(out, "{}", Square::new(file, rank));
        }
        None => out.push('-'),
    }
    let _ = write!(out, " {} {}", board.halfmove_clock(), board.fullmove_number());
}

/// Writes the board section of an observation.
pub fn render_board(out: &mut String, board: &Board, render: Render) {
    match render {
        Render::Fen => {
            out.push_str("FEN: ");
            write_fen(out, board);
        }
        Render::SpacedFen => {
            out.push_str("FEN: ");
            let fen = board.to_string();
            for (index, c) in fen.chars().enumerate() {
                if index > 0 {
                    out.push(' ');
                }
                out.push(c);
            }
        }
        Render::Ascii => {
            for rank in cozy_chess::Rank::ALL.iter().rev() {
                let _ = write!(out, "{} ", *rank as usize + 1);
                for file in cozy_chess::File::ALL {
                    let square = cozy_chess::Square::new(file, *rank);
                    let symbol = match (board.piece_on(square), board.color_on(square)) {
                        (Some(piece), Some(Color::White)) => char::from(piece).to_ascii_uppercase(),
                        (Some(piece), _) => char::from(piece),
                        _ => '.',
                    };
                    out.push(' ');
                    out.push(symbol);
                }
                out.push('\n');
            }
            let _ = write!(out, "   a b c d e f g h\n{} to move.\nFEN: ", side_name(board.side_to_move()));
            write_fen(out, board);
        }
    }
}

fn side_name(color: Color) -> &'static str {
    match color {
        Color::White => "White",
        Color::Black => "Black",
    }
}

/// The instructions shared by both envs' opening prompts.
pub const RULES: &str = "You play White. Each turn, answer with one legal move in standard algebraic notation \
(SAN, e.g. e4, Nf3, exd5, O-O, e8=Q) or in UCI notation (e.g. e2e4). Checkmating Black scores +1, being \
checkmated -1, a draw 0. An illegal or unreadable move scores -1, still counts as a turn, and leaves the \
board unchanged.";

/// The opening prompt: a first line, the rules, the board.
pub fn opening(first_line: &str, board: &Board, render: Render) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(first_line);
    out.push(' ');
    out.push_str(RULES);
    out.push('\n');
    render_board(&mut out, board, render);
    out
}

/// `Act`: parse White's move and play it.
pub fn play_agent_move<M: Component>(mut episodes: Stepping<(&mut Game, &mut Exchange), With<M>>) {
    for (text, (mut game, mut exchange)) in episodes.iter_mut_with_action() {
        *exchange = Exchange::default();
        match parse_move(&game.board, text) {
            Ok(mv) => {
                exchange.agent_move = Some(Ok(san(&game.board, mv)));
                exchange.end = game.play(mv);
            }
            Err(error) => exchange.agent_move = Some(Err(error)),
        }
    }
}

/// `React`: Black answers a legal White move that did not end the game.
pub fn play_opponent_move<M: Component>(mut episodes: Stepping<(&mut Game, &mut Opponent, &mut Exchange), With<M>>) {
    for (mut game, mut opponent, mut exchange) in episodes.iter_mut() {
        if exchange.end.is_some() || !matches!(exchange.agent_move, Some(Ok(_))) {
            continue;
        }
        if let Some(mv) = opponent.reply(&game.board) {
            exchange.reply = Some(san(&game.board, mv));
            exchange.end = game.play(mv);
        }
    }
}

/// `Observe`: what White played, Black's reply, the ending if any, then the board.
pub fn render_position<M: Component>(mut episodes: Stepping<(&Game, &Presentation, &Exchange, &mut Reply), With<M>>) {
    for (text, (game, presentation, exchange, mut reply)) in episodes.iter_mut_with_action() {
        let mut out = String::with_capacity(160);
        match &exchange.agent_move {
            Some(Ok(played)) => {
                let _ = write!(out, "You played {played}.");
                if let Some(answer) = &exchange.reply {
                    let _ = write!(out, " Black replied {answer}.");
                }
                if let Some(end) = exchange.end {
                    out.push(' ');
                    out.push_str(end.describe());
                }
            }
            Some(Err(error)) => {
                let shown = text.trim();
                if shown.chars().count() <= 12 && shown.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
                    let _ = write!(out, "Move \"{shown}\" rejected: {error}.");
                } else {
                    let _ = write!(out, "Move rejected: {error}.");
                }
                out.push_str(
                    " The board is unchanged; answer with one legal move in SAN (e.g. Nf3) or UCI (e.g. g1f3).",
                );
            }
            None => out.push_str("No move was read."),
        }
        out.push('\n');
        render_board(&mut out, &game.board, presentation.render);
        reply.set(Speaker::Env, Kind::Observation, Cow::Owned(out));
    }
}

/// `Score`: −1 for a rejected move, +1 when White mates, −1 when White is mated, 0 otherwise;
/// the episode terminates when the game ends.
pub fn score_move<M: Component>(mut episodes: Stepping<(&Exchange, &mut Outcome), With<M>>) {
    for (exchange, mut outcome) in episodes.iter_mut() {
        let rejected = matches!(exchange.agent_move, Some(Err(_)) | None);
        outcome.invalid_action = rejected;
        outcome.reward = match (rejected, exchange.end) {
            (true, _) => -1.0,
            (false, Some(GameEnd::Checkmate { winner: Color::White })) => 1.0,
            (false, Some(GameEnd::Checkmate { winner: Color::Black })) => -1.0,
            (false, _) => 0.0,
        };
        outcome.success = exchange.end == Some(GameEnd::Checkmate { winner: Color::White });
        outcome.terminated = exchange.end.is_some();
        outcome.ending = exchange.end.map(|end| match end {
            GameEnd::Checkmate { winner: Color::White } => "win",
            GameEnd::Checkmate { winner: Color::Black } => "loss",
            _ => "draw",
        });
    }
}

/// Adds the four systems for one env's marker.
pub fn add_game_systems<M: Component>(schedule: &mut Schedule) {
    schedule.add_systems((
        play_agent_move::<M>.in_set(StepSet::Act),
        play_opponent_move::<M>.in_set(StepSet::React),
        render_position::<M>.in_set(StepSet::Observe),
        score_move::<M>.in_set(StepSet::Score),
    ));
}

/// The board an agent sees: the FEN from the last `FEN: ` line of an observation (default
/// render mode). `None` when there is no such line or it does not parse.
pub fn board_from_observation(text: &str) -> Option<Board> {
    let start = text.rfind("FEN: ")? + "FEN: ".len();
    let line = text[start..].lines().next()?;
    Board::from_fen(line.trim(), false).ok()
}

/// The spec of a chess env: rewards in [−1, 1], `max_moves` agent moves.
pub fn game_spec(max_moves: u32, score_anchors: ScoreAnchors, description: &str) -> EnvSpec {
    EnvSpec::new(max_moves, (-1.0, 1.0), description).with_anchors(score_anchors)
}

/// The checks both chess envs make on a config.
///
/// # Errors
/// A message naming the env and the bad field.
pub fn validate_game(env: &str, max_moves: u32, opponent: &OpponentConfig) -> Result<(), String> {
    if max_moves == 0 {
        return Err(format!("{env}: max_moves must be at least 1"));
    }
    opponent.validate()
}

/// Owned copies of a list of move texts.
pub fn owned_moves(moves: &[&str]) -> Vec<String> {
    moves.iter().map(|text| (*text).to_owned()).collect()
}

/// Well-formed moves for the conformance checker: opening moves in SAN and UCI, a castle, a
/// capture and some that are rarely legal.
pub fn sample_moves() -> Vec<String> {
    owned_moves(&[
        "e4", "d4", "Nf3", "c4", "e2e4", "g1f3", "Bc4", "Qh5", "Qxf7#", "O-O", "exd5", "Nc3", "a4", "h3", "Kf1", "b1c3",
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_san_and_uci() {
        let board = Board::default();
        let e4: Move = "e2e4".parse().unwrap();
        assert_eq!(parse_move(&board, "e4"), Ok(e4));
        assert_eq!(parse_move(&board, "  e2e4\n"), Ok(e4));
        assert_eq!(parse_move(&board, "E2E4"), Ok(e4));
        assert_eq!(parse_move(&board, "e 4 \n"), Ok(e4));
        assert_eq!(parse_move(&board, "e4!?"), Ok(e4));
        assert_eq!(parse_move(&board, "N f 3"), Ok("g1f3".parse().unwrap()));
        assert_eq!(parse_move(&board, "e5"), Err(MoveError::Illegal));
        assert_eq!(parse_move(&board, "e2e5"), Err(MoveError::Illegal));
        assert_eq!(parse_move(&board, "O-O"), Err(MoveError::Illegal));
        assert_eq!(parse_move(&board, ""), Err(MoveError::Empty));
        assert_eq!(parse_move(&board, " \t"), Err(MoveError::Empty));
        assert_eq!(parse_move(&board, &"x".repeat(100_000)), Err(MoveError::TooLong));
        for junk in ["\u{0}\u{7}", "é4", "日本", "Nf3\u{feff}", "e2e4qq", "a1a1", "Kxe8", "O-O-O-O"] {
            assert!(parse_move(&board, junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn castles_in_both_notations() {
        let board: Board = "r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1".parse().unwrap();
        let short = parse_move(&board, "O-O").unwrap();
        assert_eq!(parse_move(&board, "e1g1"), Ok(short));
        assert_eq!(parse_move(&board, "0-0"), Ok(short));
        assert_eq!(san(&board, short), "O-O");
        assert_eq!(parse_move(&board, "O-O-O"), parse_move(&board, "e1c1"));
    }

    #[test]
    fn detects_checkmate_and_draws() {
        let mut game = Game::new("6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1".parse().unwrap());
        assert_eq!(game.ending(), None);
        let mate = parse_move(&game.board, "Ra8#").unwrap();
        assert_eq!(game.play(mate), Some(GameEnd::Checkmate { winner: Color::White }));

        let mut game = Game::new("7k/8/4Q3/8/8/8/8/6K1 w - - 0 1".parse().unwrap());
        let stalemate = parse_move(&game.board, "Qf7").unwrap();
        assert_eq!(game.play(stalemate), Some(GameEnd::Stalemate));

        let mut game = Game::new("7k/8/8/8/8/8/6r1/6NK w - - 0 1".parse().unwrap());
        let take = parse_move(&game.board, "Kxg2").unwrap();
        assert_eq!(game.play(take), Some(GameEnd::InsufficientMaterial));

        let game = Game::new("7k/8/8/8/8/8/8/R5K1 w - - 100 80".parse().unwrap());
        assert_eq!(game.ending(), Some(GameEnd::FiftyMoveRule));

        let mut game = Game::new(Board::default());
        for text in ["Nf3", "Nf6", "Ng1", "Ng8", "Nf3", "Nf6", "Ng1"] {
            let mv = parse_move(&game.board, text).unwrap();
            assert_eq!(game.play(mv), None, "{text}");
        }
        let mv = parse_move(&game.board, "Ng8").unwrap();
        assert_eq!(game.play(mv), Some(GameEnd::ThreefoldRepetition));
    }

    #[test]
    fn insufficient_material_cases() {
        let cases = [
            ("7k/8/8/8/8/8/8/6K1 w - - 0 1", true),
            ("7k/8/8/8/8/8/8/5BK1 w - - 0 1", true),
            ("7k/8/8/8/8/8/8/5NK1 w - - 0 1", true),
            ("6bk/8/8/8/8/8/8/5BK1 w - - 0 1", true),
            ("5b1k/8/8/8/8/8/8/5BK1 w - - 0 1", false),
            ("7k/8/8/8/8/8/8/4NNK1 w - - 0 1", false),
            ("7k/8/8/8/8/8/P7/6K1 w - - 0 1", false),
        ];
        for (fen, expected) in cases {
            assert_eq!(insufficient_material(&fen.parse().unwrap()), expected, "{fen}");
        }
    }

    #[test]
    fn fen_writer_matches_cozy_chess() {
        let mut game = Game::new(Board::default());
        let mut rng = sim_core::seed::stream(5, "fen-test");
        for _ in 0..300 {
            let mut fen = String::new();
            write_fen(&mut fen, &game.board);
            assert_eq!(fen, game.board.to_string());
            match engine::random_move(&game.board, &mut rng) {
                Some(mv) if game.play(mv).is_none() => {}
                _ => game = Game::new(Board::default()),
            }
        }
        let board: Board = "rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w Kq f6 0 3".parse().unwrap();
        let mut fen = String::new();
        write_fen(&mut fen, &board);
        assert_eq!(fen, board.to_string());
    }

    #[test]
    fn renders_every_mode_and_agents_read_the_fen_back() {
        let board = Board::default();
        let mut fen = String::new();
        render_board(&mut fen, &board, Render::Fen);
        assert_eq!(fen, "FEN: rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1");
        assert_eq!(board_from_observation(&format!("You played e4.\n{fen}")), Some(board.clone()));
        let mut spaced = String::new();
        render_board(&mut spaced, &board, Render::SpacedFen);
        assert!(spaced.starts_with("FEN: r n b q k b n r / p p"));
        let mut ascii = String::new();
        render_board(&mut ascii, &board, Render::Ascii);
        assert!(ascii.starts_with("8  r n b q k b n r\n"));
        assert_eq!(board_from_observation(&ascii), Some(board));
    }
}
