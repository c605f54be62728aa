#![doc = include_str!("../README.md")]

pub mod chess;
pub mod data_teacher;
pub mod robot;
pub mod twenty_questions;

use sim_core::Registry;

/// Every env of the gym, by id.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register::<twenty_questions::TwentyQuestions>();
    registry.register::<chess::Chess>();
    registry.register::<chess::endgames::ChessEndgames>();
    registry.register::<robot::RobotCorrection>();
    registry.register::<robot::RobotMemory>();
    registry.register::<data_teacher::DataTeacher>();
    registry
}
