#![doc = include_str!("../README.md")]

pub mod chess;
pub mod stdio;
pub mod twenty_questions;

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
        _ => None,
    };
    factory.ok_or_else(|| UnknownAgent {
        agent: agent.to_owned(),
        env: env_id.to_owned(),
        available: agent_names(env_id).iter().chain(&["stdio", "llm"]).copied().collect::<Vec<_>>().join(", "),
    })
}
