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

use std::sync::OnceLock;

use sim_core::Environment;
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

/// A built-in agent: its name (`--agent NAME`), one line on what it does (docs/agents.md has
/// the long form), and how to build one.
#[derive(Debug, Clone, Copy)]
pub struct BuiltIn {
    pub name: &'static str,
    pub help: &'static str,
    pub make: fn() -> Box<dyn Agent>,
}

impl BuiltIn {
    const fn new(name: &'static str, help: &'static str, make: fn() -> Box<dyn Agent>) -> Self {
        Self { name, help, make }
    }

    /// The same agent under a second name.
    const fn alias(self, name: &'static str) -> Self {
        Self { name, ..self }
    }
}

/// The id of an env type (its `Environment::ID`).
const fn id<E: Environment>() -> &'static str {
    E::ID
}

/// The built-in agents of every env, by env id. Invariants: each env appears once, and each
/// name at most once per env; an env's agents are in the order [`agent_names`] lists them.
static TABLE: &[(&str, &[BuiltIn])] = &[
    (id::<envs::twenty_questions::TwentyQuestions>(), TWENTY_QUESTIONS),
    (id::<envs::chess::Chess>(), CHESS),
    (id::<envs::chess::endgames::ChessEndgames>(), CHESS),
    (id::<envs::wordle::Wordle>(), WORDLE),
    (id::<envs::maze::MazeFullyObserved>(), MAZE_FULLY_OBSERVED),
    (id::<envs::maze::MazePartiallyObserved>(), MAZE_PARTIALLY_OBSERVED),
    (id::<envs::text_nav::TextNavFullyObserved>(), TEXT_NAV),
    (id::<envs::text_nav::TextNavPartiallyObserved>(), TEXT_NAV),
    (id::<envs::tool_feedback::ToolFeedback>(), TOOL_FEEDBACK),
    (id::<envs::guess_my_city::GuessMyCity>(), GUESS_MY_CITY),
    (id::<envs::car_dealer::CarDealer>(), CAR_DEALER),
    (id::<envs::data_teacher::DataTeacher>(), DATA_TEACHER),
    (id::<envs::robot::RobotCorrection>(), ROBOT_CORRECTION),
    (id::<envs::robot::RobotMemory>(), ROBOT_MEMORY),
    (id::<envs::reco_feed::RecoFeed>(), RECO_FEED),
    (id::<envs::conv_rec::ConvRec>(), CONV_REC),
    (id::<envs::search_feedback::SearchFeedback>(), SEARCH_FEEDBACK),
];

const TWENTY_QUESTIONS: &[BuiltIn] = &[
    BuiltIn::new("expert", "asks the question that splits the remaining objects most evenly", || {
        Box::new(twenty_questions::InformationGainExpert::new())
    }),
    BuiltIn::new("random", "a uniformly random question from the oracle's bank", || {
        Box::new(twenty_questions::RandomQuestioner::new())
    }),
    BuiltIn::new("scripted", "cycles through twelve fixed questions (for bench)", || {
        Box::new(twenty_questions::CyclingQuestioner::new())
    }),
];

/// Shared by chess and its endgames.
const CHESS: &[BuiltIn] = &[
    BuiltIn::new("expert", "the built-in engine at depth 4 playing White", || Box::new(chess::EngineExpert::new())),
    BuiltIn::new("random", "a uniformly random legal move", || Box::new(chess::RandomMover::new())),
    BuiltIn::new("scripted", "legal move number (episode + turn) mod n (for bench)", || {
        Box::new(chess::CyclingMover::new())
    }),
];

const WORDLE: &[BuiltIn] = &[
    BuiltIn::new("expert", "greedy information gain over the answers consistent with every mark", || {
        Box::new(wordle::InformationGainExpert::new())
    }),
    BuiltIn::new("random", "a uniformly random guess-list word", || Box::new(wordle::RandomGuesser::new())),
    BuiltIn::new("scripted", "cycles through the answer list, a refused guess every ninth step (for bench)", || {
        Box::new(wordle::CyclingGuesser::new())
    }),
    BuiltIn::new("dataset", "LMRL-Gym's behaviour policy: random and consistent answers mixed", || {
        Box::new(wordle::DatasetMixture::new())
    }),
];

const MAZE_RANDOM: BuiltIn = BuiltIn::new("random", "a uniformly random move", || Box::new(maze::RandomMover::new()));
const MAZE_SCRIPTED: BuiltIn =
    BuiltIn::new("scripted", "cycles through the four moves and an invalid text (for bench)", || {
        Box::new(maze::CyclingMover::new())
    });

const MAZE_FULLY_OBSERVED: &[BuiltIn] = &[
    BuiltIn::new("dataset", "LMRL-Gym's submaze mixture of a suboptimal solver and random moves", || {
        Box::new(maze::SubmazeMixture::fully_observed())
    }),
    BuiltIn::new("expert", "a shortest-path move from the position it reads", || {
        Box::new(maze::BfsExpert::fully_observed())
    }),
    MAZE_RANDOM,
    MAZE_SCRIPTED,
];

const MAZE_PARTIALLY_OBSERVED: &[BuiltIn] = &[
    BuiltIn::new("dataset", "LMRL-Gym's submaze mixture of a suboptimal solver and random moves", || {
        Box::new(maze::SubmazeMixture::partially_observed())
    }),
    BuiltIn::new("expert", "localises from the recent texts, then takes a shortest-path move", || {
        Box::new(maze::BfsExpert::partially_observed())
    }),
    MAZE_RANDOM,
    MAZE_SCRIPTED,
];

/// Shared by the fully and the partially observed house.
const TEXT_NAV: &[BuiltIn] = &[
    BuiltIn::new("dataset", "LMRL-Gym's two half-optimal policies", || Box::new(text_nav::HalfOptimal::new())),
    BuiltIn::new("expert", "the planner, localising from its memory of the episode", || {
        Box::new(text_nav::Planner::new())
    }),
    BuiltIn::new("memoryless", "the planner, localising from the current observation alone", || {
        Box::new(text_nav::MemorylessPlanner::new())
    }),
    BuiltIn::new("random", "a uniformly random admissible command", || Box::new(text_nav::RandomCommander::new())),
    BuiltIn::new("scripted", "admissible command (episode + turn) mod n, a refused text every seventh turn", || {
        Box::new(text_nav::CyclingCommander::new())
    }),
];

const TOOL_FEEDBACK_NOISY: BuiltIn =
    BuiltIn::new("noisy", "a step-by-step planner with seeded mistakes that it fixes from feedback", || {
        Box::new(tool_feedback::NoisyPlanner::new())
    });

const TOOL_FEEDBACK: &[BuiltIn] = &[
    BuiltIn::new("expert", "all lookups and the calc in one block, then the result", || {
        Box::new(tool_feedback::ExactPlanner::new())
    }),
    TOOL_FEEDBACK_NOISY,
    BuiltIn::new("immediate", "proposes a fixed guess at once: the floor", || {
        Box::new(tool_feedback::AnswerImmediately::new())
    }),
    BuiltIn::new("random", "a random action from a small bank", || Box::new(tool_feedback::RandomToolAgent::new())),
    TOOL_FEEDBACK_NOISY.alias("scripted"),
];

const GUESS_MY_CITY: &[BuiltIn] = &[
    BuiltIn::new("expert", "asks the bank question that leaves the fewest cities expected", || {
        Box::new(guess_my_city::InformationGainExpert::new())
    }),
    BuiltIn::new("random", "a uniformly random question from the expert's bank", || {
        Box::new(guess_my_city::RandomQuestioner::new())
    }),
    BuiltIn::new("scripted", "cycles through fourteen fixed questions (for bench)", || {
        Box::new(guess_my_city::CyclingQuestioner::new())
    }),
];

const CAR_DEALER: &[BuiltIn] = &[
    BuiltIn::new("expert", "asks for the needs, pitches the matching car, meets counter-offers halfway", || {
        Box::new(car_dealer::ExpertSeller::new())
    }),
    BuiltIn::new("random", "a random template line each turn", || Box::new(car_dealer::RandomSeller::new())),
    BuiltIn::new("scripted", "cycles through eight fixed seller lines (for bench)", || {
        Box::new(car_dealer::CyclingSeller::new())
    }),
];

const DATA_TEACHER_UNIFORM: BuiltIn =
    BuiltIn::new("uniform", "spreads each iteration's budget evenly over every subskill", || {
        Box::new(data_teacher::UniformTeacher::new())
    });

const DATA_TEACHER: &[BuiltIn] = &[
    DATA_TEACHER_UNIFORM.alias("scripted"),
    BuiltIn::new("sloppy", "weakest, with 30% of its examples mislabelled", || {
        Box::new(data_teacher::SloppyTeacher::new())
    }),
    DATA_TEACHER_UNIFORM,
    BuiltIn::new("weakest", "each iteration's budget on the subskills with the lowest accuracy", || {
        Box::new(data_teacher::WeakestFirstTeacher::new())
    }),
];

const ROBOT_ORACLE: BuiltIn =
    BuiltIn::new("oracle", "knows the hidden skill errors and homes: no correction needed", || {
        Box::new(robot::Oracle::new())
    });
const ROBOT_PLANNER: BuiltIn =
    BuiltIn::new("planner", "plans each task from the scene, learns from corrections within the task", || {
        Box::new(robot::Planner::new())
    });
const ROBOT_RANDOM: BuiltIn = BuiltIn::new("random", "a random command over the scene's objects and fixtures", || {
    Box::new(robot::RandomCommander::new())
});
const ROBOT_SCRIPTED: BuiltIn =
    BuiltIn::new("scripted", "command (episode + turn) mod 8 of a fixed cycle (for bench)", || {
        Box::new(robot::CyclingCommander::new())
    });

const ROBOT_CORRECTION: &[BuiltIn] = &[ROBOT_ORACLE, ROBOT_PLANNER, ROBOT_RANDOM, ROBOT_SCRIPTED];

const ROBOT_MEMORY: &[BuiltIn] = &[
    BuiltIn::new("memory", "the DROC-like planner: remembers what corrections taught across tasks", || {
        Box::new(robot::MemoryPlanner::new())
    }),
    ROBOT_ORACLE,
    ROBOT_PLANNER,
    ROBOT_RANDOM,
    ROBOT_SCRIPTED,
];

const RECO_FEED_INTEREST: BuiltIn =
    BuiltIn::new("interest", "tracks interest from the reactions and follows the user's instructions", || {
        Box::new(reco_feed::InterestTracker::new(true))
    });

const RECO_FEED: &[BuiltIn] = &[
    RECO_FEED_INTEREST.alias("expert"),
    RECO_FEED_INTEREST,
    BuiltIn::new("interest_no_instructions", "interest tracking that ignores the user's words", || {
        Box::new(reco_feed::InterestTracker::new(false))
    }),
    BuiltIn::new("quality", "the best-rated candidates", || Box::new(reco_feed::QualityGreedy)),
    BuiltIn::new("clickbait", "hook titles, then the most viewed", || Box::new(reco_feed::ClickbaitGreedy)),
    BuiltIn::new("random", "K random candidates", || Box::new(reco_feed::RandomRecommender)),
    BuiltIn::new("scripted", "the first K candidates (for bench)", || Box::new(reco_feed::FirstCandidates)),
];

const CONV_REC_GRAPH_PRUNED: BuiltIn =
    BuiltIn::new("graph_pruned", "CPR-style: prunes candidates, asks the max-entropy adjacent attribute", || {
        Box::new(conv_rec::GraphPruned)
    });

const CONV_REC: &[BuiltIn] = &[
    CONV_REC_GRAPH_PRUNED.alias("expert"),
    CONV_REC_GRAPH_PRUNED,
    BuiltIn::new("max_entropy", "EAR-style: max-entropy questions, then recommendations", || {
        Box::new(conv_rec::MaxEntropy)
    }),
    BuiltIn::new("always_recommend", "ten consistent, unrejected items every turn", || {
        Box::new(conv_rec::AlwaysRecommend)
    }),
    BuiltIn::new("scripted", "alternates a fixed question and a fixed list (for bench)", || {
        Box::new(conv_rec::Cycling)
    }),
];

const SEARCH_FEEDBACK_APPEND: BuiltIn =
    BuiltIn::new("feedback_append", "BM25 on the initial query with the feedback's keywords appended", || {
        Box::new(search_feedback::FeedbackAppend::new())
    });

const SEARCH_FEEDBACK: &[BuiltIn] = &[
    SEARCH_FEEDBACK_APPEND,
    BuiltIn::new("asker", "asks one clarifying question first", || Box::new(search_feedback::ClarifyFirst::new())),
    BuiltIn::new("query_only", "BM25 on the initial query only", || Box::new(search_feedback::QueryOnly::new())),
    BuiltIn::new("random", "random searches, questions, answers and junk", || {
        Box::new(search_feedback::RandomSearcher::new())
    }),
    SEARCH_FEEDBACK_APPEND.alias("scripted"),
    BuiltIn::new("stagewise_planner", "stage-wise mode: plans, re-plans from the critique, answers per item", || {
        Box::new(search_stagewise::StagewisePlanner::new(true))
    }),
    BuiltIn::new("stagewise_no_replan", "stage-wise mode: keeps its first plan", || {
        Box::new(search_stagewise::StagewisePlanner::new(false))
    }),
];

/// The built-in agents of an env, in the order [`agent_names`] lists them (`stdio` and `llm`,
/// which the runner provides for every env, are not among them).
pub fn built_in_agents(env_id: &str) -> &'static [BuiltIn] {
    TABLE.iter().find(|(env, _)| *env == env_id).map_or(&[], |(_, agents)| agents)
}

/// Agent names offered for an env (`stdio` and `llm` are provided by the runner for every env).
pub fn agent_names(env_id: &str) -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<(&str, Vec<&str>)>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        TABLE.iter().map(|(env, agents)| (*env, agents.iter().map(|agent| agent.name).collect())).collect()
    });
    names.iter().find(|(env, _)| *env == env_id).map_or(&[], |(_, names)| names.as_slice())
}

/// The factory of a built-in agent for an env.
///
/// # Errors
/// [`UnknownAgent`] when the env has no agent of that name.
pub fn built_in(agent: &str, env_id: &str) -> Result<AgentFactory, UnknownAgent> {
    match built_in_agents(env_id).iter().find(|built_in| built_in.name == agent) {
        Some(built_in) => Ok(Box::new(built_in.make)),
        None => Err(UnknownAgent {
            agent: agent.to_owned(),
            env: env_id.to_owned(),
            available: agent_names(env_id)
                .iter()
                .chain(&["stdio", "stdio:delta", "llm"])
                .copied()
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_env_has_one_row_of_uniquely_named_agents() {
        let registry = envs::registry();
        let ids: BTreeSet<&str> = registry.ids().collect();
        let mut seen = BTreeSet::new();
        for (env, agents) in TABLE {
            assert!(ids.contains(env), "{env} is not a registered env");
            assert!(seen.insert(*env), "{env} has two rows");
            let names: BTreeSet<&str> = agents.iter().map(|agent| agent.name).collect();
            assert_eq!(names.len(), agents.len(), "{env} names an agent twice");
            assert!(!names.contains("stdio") && !names.contains("llm"), "{env}: the runner provides those");
        }
        assert_eq!(seen, ids, "every registered env has built-in agents");
    }

    #[test]
    fn names_and_factories_come_from_the_same_rows() {
        for (env, agents) in TABLE {
            assert_eq!(agent_names(env), agents.iter().map(|agent| agent.name).collect::<Vec<_>>());
            for name in agent_names(env) {
                assert!(built_in(name, env).is_ok(), "{env} {name}");
            }
        }
        let error = built_in("nobody", TABLE[0].0).err().expect("an unknown name is an error");
        assert!(error.available.ends_with(", stdio, stdio:delta, llm"), "{}", error.available);
        assert!(agent_names("no_such_env-v0").is_empty());
    }
}
