//! `chess-v0`: LMRL-Gym's chess task. The agent plays White from the start position against a
//! deterministic opponent; each observation is the board (FEN by default) after Black's reply.
//! See `docs/envs/chess.md`. `chess_endgames-v0` ([`endgames`]) shares the game code.

pub mod endgames;
pub mod engine;
pub mod game;
pub mod stockfish;
pub mod tablebase;

use std::borrow::Cow;

use cozy_chess::Board;
use serde::{Deserialize, Serialize};
use sim_core::prelude::*;
use sim_core::seed::stream;

pub use game::{
    Exchange, Game, GameEnd, MoveError, Opponent, OpponentConfig, Presentation, Render, board_from_observation,
    parse_move, san,
};

/// The env's section of a scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChessConfig {
    pub render: Render,
    /// Black's player. The default, `Engine(depth: 2)`, is cheap (well under a millisecond per
    /// move) so the conformance suite stays fast; scenario files choose stronger ones.
    pub opponent: OpponentConfig,
    /// Agent moves per episode, illegal ones included (LMRL-Gym: 400); the engine truncates
    /// the episode at this cap.
    pub max_moves: u32,
}

impl Default for ChessConfig {
    fn default() -> Self {
        Self { render: Render::Fen, opponent: OpponentConfig::Engine { depth: 2 }, max_moves: 400 }
    }
}

/// Marker of a `chess-v0` episode.
#[derive(Component, Debug, Clone, Copy)]
pub struct ChessEpisode;

/// LMRL-Gym's anchors: −401 (400 illegal moves, then mated), the dataset average 0.21, and a
/// win (+1).
pub const SCORE_ANCHORS: ScoreAnchors = ScoreAnchors { min: -401.0, average: 0.21, max: 1.0 };

/// The env type registered as `chess-v0`.
pub struct Chess;

impl Environment for Chess {
    type Config = ChessConfig;
    const ID: &'static str = "chess-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        game::game_spec(
            config.max_moves,
            SCORE_ANCHORS,
            "Play White against a fixed-depth engine; moves in SAN or UCI (LMRL-Gym Chess)",
        )
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        game::validate_game("chess", config.max_moves, &config.opponent)
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        let board = Board::default();
        let prompt = game::opening("Let's play chess from the start position.", &board, config.render);
        entity.insert((
            ChessEpisode,
            Game::new(board),
            Opponent::new(config.opponent, stream(episode.seed, "opponent")),
            Presentation { render: config.render },
            Exchange::default(),
        ));
        Cow::Owned(prompt)
    }

    fn add_systems(schedule: &mut Schedule) {
        game::add_game_systems::<ChessEpisode>(schedule);
    }

    fn hidden_state(_entity: EntityRef) -> Vec<String> {
        Vec::new()
    }

    fn sample_actions(_config: &Self::Config) -> Vec<String> {
        game::sample_moves()
    }
}
