#![doc = include_str!("../README.md")]

pub mod chess;
pub mod conv_rec;
pub mod reco_feed;
pub mod twenty_questions;

use sim_core::Registry;

/// Every env of the gym, by id.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register::<twenty_questions::TwentyQuestions>();
    registry.register::<chess::Chess>();
    registry.register::<chess::endgames::ChessEndgames>();
    registry.register::<reco_feed::RecoFeed>();
    registry.register::<conv_rec::ConvRec>();
    registry
}
