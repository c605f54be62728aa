#![doc = include_str!("../README.md")]

pub mod car_dealer;
pub mod chess;
pub mod guess_my_city;
pub mod text;
pub mod twenty_questions;

use sim_core::Registry;

/// Every env of the gym, by id.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register::<twenty_questions::TwentyQuestions>();
    registry.register::<chess::Chess>();
    registry.register::<chess::endgames::ChessEndgames>();
    registry.register::<guess_my_city::GuessMyCity>();
    registry.register::<car_dealer::CarDealer>();
    registry
}
