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
pub mod search_stagewise;
mod search_transcript;
pub mod stdio;
pub mod text_nav;
pub mod tool_feedback;
pub mod twenty_questions;
pub mod wordle;

use thiserror::Error;

pub use sim_core::{Action, Agent, AgentError, AgentView};

/// Builds one agent per worker thread.
pub type AgentFactory = Box<dyn Fn() -> Box<dyn Agent> + Sync>;

/// An agent name that no env offers.
#[derive(Debug, Error)]
#[error("no agent `{agent}` for env `{env}`; available: {available}")]
pub struct UnknownAgent {
    pub agent: String,
    pub env: String,
    pub available: String,
}

/// Agent names offered for an env (`stdio` and `llm` are provided by the runner for every env).
pub fn agent_names(env_id: &str) -> &'static [&'static str] {
    match env_id {
        "twenty_questions-v0" => &["expert", "random", "scripted"],
        "chess-v0" | "chess_endgames-v0" => &["expert", "random", "scripted"],
        "wordle-v0" => &["expert", "random", "scripted", "dataset"],
        "maze-fo-v0" | "maze-po-v0" => &["dataset", "expert", "random", "scripted"],
        "text_nav-fo-v0" | "text_nav-po-v0" => &["dataset", "expert", "memoryless", "random", "scripted"],
        "tool_feedback-v0" => &["expert", "noisy", "immediate", "random", "scripted"],
        "guess_my_city-v0" => &["expert", "random", "scripted"],
        "car_dealer-v0" => &["expert", "random", "scripted"],
        "data_teacher-v0" => &["scripted", "sloppy", "uniform", "weakest"],
        "robot_correction-v0" => &["oracle", "planner", "random", "scripted"],
        "robot_memory-v0" => &["memory", "oracle", "planner", "random", "scripted"],
        "reco_feed-v0" => {
            &["expert", "interest", "interest_no_instructions", "quality", "clickbait", "random", "scripted"]
        }
        "conv_rec-v0" => &["expert", "graph_pruned", "max_entropy", "always_recommend", "scripted"],
        "search_feedback-v0" => &[
            "feedback_append",
            "asker",
            "query_only",
            "random",
            "scripted",
            "stagewise_planner",
            "stagewise_no_replan",
        ],
        _ => &[],
    }
}

/// The factory of a built-in agent for an env.
///
/// # Errors
/// [`UnknownAgent`] when the env has no agent of that name.
pub fn built_in(agent: &str, env_id: &str) -> Result<AgentFactory, UnknownAgent> {
    let factory: Option<AgentFactory> = match (env_id, agent) {
        ("twenty_questions-v0", "expert") => {
            Some(Box::new(|| Box::new(twenty_questions::InformationGainExpert::new())))
        }
        ("twenty_questions-v0", "random") => Some(Box::new(|| Box::new(twenty_questions::RandomQuestioner::new()))),
        ("twenty_questions-v0", "scripted") => Some(Box::new(|| Box::new(twenty_questions::CyclingQuestioner::new()))),
        ("chess-v0" | "chess_endgames-v0", "expert") => Some(Box::new(|| Box::new(chess::EngineExpert::new()))),
        ("chess-v0" | "chess_endgames-v0", "random") => Some(Box::new(|| Box::new(chess::RandomMover::new()))),
        ("chess-v0" | "chess_endgames-v0", "scripted") => Some(Box::new(|| Box::new(chess::CyclingMover::new()))),
        ("wordle-v0", "expert") => Some(Box::new(|| Box::new(wordle::InformationGainExpert::new()))),
        ("wordle-v0", "random") => Some(Box::new(|| Box::new(wordle::RandomGuesser::new()))),
        ("wordle-v0", "scripted") => Some(Box::new(|| Box::new(wordle::CyclingGuesser::new()))),
        ("wordle-v0", "dataset") => Some(Box::new(|| Box::new(wordle::DatasetMixture::new()))),
        ("maze-fo-v0", "expert") => Some(Box::new(|| Box::new(maze::BfsExpert::fully_observed()))),
        ("maze-po-v0", "expert") => Some(Box::new(|| Box::new(maze::BfsExpert::partially_observed()))),
        ("maze-fo-v0", "dataset") => Some(Box::new(|| Box::new(maze::SubmazeMixture::fully_observed()))),
        ("maze-po-v0", "dataset") => Some(Box::new(|| Box::new(maze::SubmazeMixture::partially_observed()))),
        ("maze-fo-v0" | "maze-po-v0", "random") => Some(Box::new(|| Box::new(maze::RandomMover::new()))),
        ("maze-fo-v0" | "maze-po-v0", "scripted") => Some(Box::new(|| Box::new(maze::CyclingMover::new()))),
        ("text_nav-fo-v0" | "text_nav-po-v0", "expert") => Some(Box::new(|| Box::new(text_nav::Planner::new()))),
        ("text_nav-fo-v0" | "text_nav-po-v0", "memoryless") => {
            Some(Box::new(|| Box::new(text_nav::MemorylessPlanner::new())))
        }
        ("text_nav-fo-v0" | "text_nav-po-v0", "dataset") => Some(Box::new(|| Box::new(text_nav::HalfOptimal::new()))),
        ("text_nav-fo-v0" | "text_nav-po-v0", "random") => {
            Some(Box::new(|| Box::new(text_nav::RandomCommander::new())))
        }
        ("text_nav-fo-v0" | "text_nav-po-v0", "scripted") => {
            Some(Box::new(|| Box::new(text_nav::CyclingCommander::new())))
        }
        ("tool_feedback-v0", "expert") => Some(Box::new(|| Box::new(tool_feedback::ExactPlanner::new()))),
        ("tool_feedback-v0", "noisy" | "scripted") => Some(Box::new(|| Box::new(tool_feedback::NoisyPlanner::new()))),
        ("tool_feedback-v0", "immediate") => Some(Box::new(|| Box::new(tool_feedback::AnswerImmediately::new()))),
        ("tool_feedback-v0", "random") => Some(Box::new(|| Box::new(tool_feedback::RandomToolAgent::new()))),
        ("guess_my_city-v0", "expert") => Some(Box::new(|| Box::new(guess_my_city::InformationGainExpert::new()))),
        ("guess_my_city-v0", "random") => Some(Box::new(|| Box::new(guess_my_city::RandomQuestioner::new()))),
        ("guess_my_city-v0", "scripted") => Some(Box::new(|| Box::new(guess_my_city::CyclingQuestioner::new()))),
        ("car_dealer-v0", "expert") => Some(Box::new(|| Box::new(car_dealer::ExpertSeller::new()))),
        ("car_dealer-v0", "random") => Some(Box::new(|| Box::new(car_dealer::RandomSeller::new()))),
        ("car_dealer-v0", "scripted") => Some(Box::new(|| Box::new(car_dealer::CyclingSeller::new()))),
        ("robot_correction-v0" | "robot_memory-v0", "oracle") => Some(Box::new(|| Box::new(robot::Oracle::new()))),
        ("robot_correction-v0" | "robot_memory-v0", "planner") => Some(Box::new(|| Box::new(robot::Planner::new()))),
        ("robot_correction-v0" | "robot_memory-v0", "random") => {
            Some(Box::new(|| Box::new(robot::RandomCommander::new())))
        }
        ("robot_correction-v0" | "robot_memory-v0", "scripted") => {
            Some(Box::new(|| Box::new(robot::CyclingCommander::new())))
        }
        ("data_teacher-v0", "uniform" | "scripted") => Some(Box::new(|| Box::new(data_teacher::UniformTeacher::new()))),
        ("data_teacher-v0", "weakest") => Some(Box::new(|| Box::new(data_teacher::WeakestFirstTeacher::new()))),
        ("data_teacher-v0", "sloppy") => Some(Box::new(|| Box::new(data_teacher::SloppyTeacher::new()))),
        ("robot_memory-v0", "memory") => Some(Box::new(|| Box::new(robot::MemoryPlanner::new()))),
        ("reco_feed-v0", "expert" | "interest") => Some(Box::new(|| Box::new(reco_feed::InterestTracker::new(true)))),
        ("reco_feed-v0", "interest_no_instructions") => {
            Some(Box::new(|| Box::new(reco_feed::InterestTracker::new(false))))
        }
        ("reco_feed-v0", "quality") => Some(Box::new(|| Box::new(reco_feed::QualityGreedy))),
        ("reco_feed-v0", "clickbait") => Some(Box::new(|| Box::new(reco_feed::ClickbaitGreedy))),
        ("reco_feed-v0", "random") => Some(Box::new(|| Box::new(reco_feed::RandomRecommender))),
        ("reco_feed-v0", "scripted") => Some(Box::new(|| Box::new(reco_feed::FirstCandidates))),
        ("conv_rec-v0", "expert" | "graph_pruned") => Some(Box::new(|| Box::new(conv_rec::GraphPruned))),
        ("conv_rec-v0", "max_entropy") => Some(Box::new(|| Box::new(conv_rec::MaxEntropy))),
        ("conv_rec-v0", "always_recommend") => Some(Box::new(|| Box::new(conv_rec::AlwaysRecommend))),
        ("search_feedback-v0", "feedback_append" | "scripted") => {
            Some(Box::new(|| Box::new(search_feedback::FeedbackAppend::new())))
        }
        ("search_feedback-v0", "asker") => Some(Box::new(|| Box::new(search_feedback::ClarifyFirst::new()))),
        ("search_feedback-v0", "query_only") => Some(Box::new(|| Box::new(search_feedback::QueryOnly::new()))),
        ("search_feedback-v0", "stagewise_planner") => {
            Some(Box::new(|| Box::new(search_stagewise::StagewisePlanner::new(true))))
        }
        ("search_feedback-v0", "stagewise_no_replan") => {
            Some(Box::new(|| Box::new(search_stagewise::StagewisePlanner::new(false))))
        }
        ("search_feedback-v0", "random") => Some(Box::new(|| Box::new(search_feedback::RandomSearcher::new()))),
        ("conv_rec-v0", "scripted") => Some(Box::new(|| Box::new(conv_rec::Cycling))),
        _ => None,
    };
    factory.ok_or_else(|| UnknownAgent {
        agent: agent.to_owned(),
        env: env_id.to_owned(),
        available: agent_names(env_id).iter().chain(&["stdio", "llm"]).copied().collect::<Vec<_>>().join(", "),
    })
}
