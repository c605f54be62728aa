#![doc = include_str!("../README.md")]

pub mod components;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod engine;
pub mod env;
pub mod error;
pub mod gym;
pub mod limit;
pub mod metrics;
pub mod normalize;
pub mod record;
pub mod registry;
pub mod rollout;
pub mod seed;
pub mod spec;
pub mod step;
pub mod systems;
pub mod transcript;

pub use components::{AgentAction, Ledger, Outcome, Reply, Turn};
pub use engine::{Simulator, StepSet};
pub use env::{EnvConfig, EnvKind, Environment, Episode, kind, kind_from_ron};
pub use error::{AgentError, ConfigError, EngineError};
pub use gym::{AutoresetMode, Env, GymEnv, VecEnv};
pub use limit::{ClippedAction, DEFAULT_MAX_ACTION_BYTES, clip_action};
pub use metrics::{Aggregate, EpisodeMetrics, MetricSpec, MetricSummary};
pub use normalize::{EpisodeStats, ScoreAnchors};
pub use record::{EpisodeRecord, InEpisodeOrder, Released, TRAJECTORY_SCHEMA, TrajectoryWriter, write_json_line};
pub use registry::Registry;
pub use rollout::{Agent, AgentView, PerViewAgent, RunPlan, replay, replay_with_limit, run_episodes};
pub use spec::EnvSpec;
pub use step::{Info, Reset, Step};
pub use systems::Stepping;
pub use transcript::{Action, ActionTokens, Entry, Kind, Speaker, Transcript};

/// The types an env or agent author touches most.
pub mod prelude {
    pub use crate::{
        Action, Agent, AgentAction, AgentView, AutoresetMode, Env, EnvConfig, EnvKind, EnvSpec, Environment, Episode,
        EpisodeMetrics, EpisodeRecord, GymEnv, Info, Kind, MetricSpec, Outcome, PerViewAgent, Reply, Reset,
        ScoreAnchors, Speaker, Step, StepSet, Stepping, Transcript, Turn, VecEnv,
    };
    pub use bevy_ecs::prelude::*;
}
