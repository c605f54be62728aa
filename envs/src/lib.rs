#![doc = include_str!("../README.md")]

pub mod chess;
pub mod twenty_questions;
pub mod wordle;

use sim_core::Registry;

/// Every env of the gym, by id.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register::<twenty_questions::TwentyQuestions>();
    registry.register::<chess::Chess>();
    registry.register::<chess::endgames::ChessEndgames>();
    registry.register::<wordle::Wordle>();
    registry
}
