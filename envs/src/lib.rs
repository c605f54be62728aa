#![doc = include_str!("../README.md")]

pub mod car_dealer;
pub mod chess;
pub mod conv_rec;
pub mod data_teacher;
pub mod guess_my_city;
pub mod maze;
pub mod reco_feed;
pub mod robot;
pub mod search_feedback;
pub mod text;
pub mod text_nav;
pub mod tool_feedback;
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
    registry.register::<maze::MazeFullyObserved>();
    registry.register::<maze::MazePartiallyObserved>();
    registry.register::<text_nav::TextNavFullyObserved>();
    registry.register::<text_nav::TextNavPartiallyObserved>();
    registry.register::<tool_feedback::ToolFeedback>();
    registry.register::<guess_my_city::GuessMyCity>();
    registry.register::<car_dealer::CarDealer>();
    registry.register::<robot::RobotCorrection>();
    registry.register::<robot::RobotMemory>();
    registry.register::<data_teacher::DataTeacher>();
    registry.register::<reco_feed::RecoFeed>();
    registry.register::<conv_rec::ConvRec>();
    registry.register::<search_feedback::SearchFeedback>();
    registry
}
