//! `search_feedback-v0`: ConvSim-style conversational search with a rule-based simulated user.
//!
//! A seeded collection ([`collection`]) of documents about the senses of ambiguous head words
//! ("jaguar" the cat or the car), each on one facet (price, history, …) and for one audience,
//! is indexed once per process with tantivy's BM25. Each episode draws a hidden information
//! need (topic, facet, optional audience) and opens with the user's ambiguous query. Each
//! round the agent may `search <query>` (a few times), `ask_clarify <question>` and must
//! `answer <id>,<id>,<id> [summary]`. The user ([`user`]) computes nDCG@3 of the answer
//! against the qrels; at or above the threshold it closes the session, otherwise it gives
//! diagnosed feedback and a new round begins, for up to 3 feedback rounds (ConvSim's loop).
//!
//! Reward: on each answer, its nDCG@3 minus the previous round's (so the return is the final
//! nDCG@3), minus `invalid_penalty` per invalid action. See `docs/envs/search_feedback.md`.

pub mod collection;
pub mod metrics;
pub mod stagewise;
pub mod user;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sim_core::prelude::*;
use sim_core::seed::{stream, stream_indexed};

pub use collection::{Collection, CollectionConfig, Hit, Need, doc_id, ndcg_at_3, parse_doc_id};
pub use user::{ClarifyVerdict, Diagnosis};

/// The env's section of a scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchFeedbackConfig {
    pub collection: CollectionConfig,
    /// Feedback rounds after the first answer (ConvSim: 3).
    pub feedback_rounds: u32,
    /// nDCG@3 at which the user is satisfied (ConvSim: 0.75).
    pub threshold: f64,
    /// Informative words of the need the user may reveal per utterance (0–3).
    pub leak: u8,
    /// `search` actions allowed per round.
    pub searches_per_round: u32,
    /// `ask_clarify` actions allowed per round.
    pub clarifications_per_round: u32,
    /// Probability that a need carries an audience constraint.
    pub constraint_probability: f64,
    /// Reward of an invalid action (subtracted).
    pub invalid_penalty: f64,
    /// NExT-Search stage-wise mode: plan the sub-needs first, then answer per sub-need
    /// (see [`stagewise`]). Off by default.
    pub stagewise: bool,
    /// Stage-wise: plans the agent may send (1–3).
    pub plan_rounds: u32,
    /// Stage-wise: weight of the decomposition F1 in the return (the rest is mean nDCG@3).
    pub plan_weight: f64,
}

impl Default for SearchFeedbackConfig {
    fn default() -> Self {
        Self {
            collection: CollectionConfig::default(),
            feedback_rounds: 3,
            threshold: 0.75,
            leak: 1,
            searches_per_round: 3,
            clarifications_per_round: 1,
            constraint_probability: 0.5,
            invalid_penalty: 0.05,
            stagewise: false,
            plan_rounds: 2,
            plan_weight: 0.3,
        }
    }
}

/// Score anchors of the default config: min 0, average = the query-only BM25 baseline's mean
/// return (500 episodes, seed 0), max 1 (a perfect first answer). Checked in `tests/baselines.rs`.
pub const SCORE_ANCHORS: ScoreAnchors = ScoreAnchors { min: 0.0, average: QUERY_ONLY_MEAN_RETURN, max: 1.0 };

/// The query-only agent's mean return with the default config (500 episodes, seed 0).
pub const QUERY_ONLY_MEAN_RETURN: f64 = 0.428206;

/// Score anchors of the stage-wise mode (`stagewise: true`, other fields default): min 0, average =
/// the no-replan planner's mean return (500 episodes, seed 0), max 1. Checked in
/// `tests/search_stagewise.rs`.
pub const STAGEWISE_SCORE_ANCHORS: ScoreAnchors =
    ScoreAnchors { min: 0.0, average: STAGEWISE_NO_REPLAN_MEAN_RETURN, max: 1.0 };

/// The no-replan planner's mean return in stage-wise mode (500 episodes, seed 0, leak 1).
pub const STAGEWISE_NO_REPLAN_MEAN_RETURN: f64 = 0.4548;

/// Actions longer than this are invalid without being parsed.
pub const MAX_ACTION_CHARS: usize = 2_000;

/// What the agent's action did this turn.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnResult {
    Invalid(&'static str),
    Searched {
        query: String,
        hits: Vec<Hit>,
    },
    Clarified {
        verdict: ClarifyVerdict,
    },
    Answered {
        ndcg: f64,
        delta: f64,
        diagnosis: Diagnosis,
        finished: bool,
    },
    /// Stage-wise: a plan was critiqued (the critique is in `user_words`).
    Planned {
        delta: f64,
    },
    /// Stage-wise: a grouped answer was critiqued (the critique is in `user_words`).
    StageAnswered {
        delta: f64,
        satisfied: bool,
        finished: bool,
    },
}

/// The episode's need, qrels and progress; also the env's marker component.
#[derive(Component, Debug, Clone)]
pub struct SearchSession {
    pub collection: Arc<Collection>,
    pub need: Need,
    /// Every document with a positive grade for the need, by doc id.
    pub qrels: Vec<(u32, u8)>,
    pub initial_query: String,
    /// 0 for the initial request, then the feedback round.
    pub round: u32,
    pub searches_left: u32,
    pub clarifications_left: u32,
    /// nDCG@3 of each answered round.
    pub ndcg_by_round: Vec<f64>,
    pub clarifications: Vec<ClarifyVerdict>,
    /// Recall@10 (of grade-2 documents) of each search.
    pub recalls: Vec<f64>,
    pub turn: TurnResult,
    /// What the user said this turn.
    pub user_words: Option<String>,
    /// The stage-wise state (`None` in the default mode).
    pub stages: Option<stagewise::Stages>,
}

/// A parsed action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    Search(&'a str),
    Clarify(&'a str),
    /// Document numbers (1–3, distinct) and the optional summary.
    Answer(Vec<u32>, &'a str),
}

const USAGE: &str =
    "Write one action: `search <query>`, `ask_clarify <question>`, or `answer <id>,<id>,<id> [summary]`.";

/// Parses an action; `None` when it is not one of the three commands with a non-empty argument
/// (an answer needs 1–3 distinct document ids before any summary).
pub fn parse_command(text: &str) -> Option<Command<'_>> {
    if text.len() > MAX_ACTION_CHARS {
        return None;
    }
    let text = text.trim();
    let (verb, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let rest = rest.trim();
    if rest.is_empty() {
        return None;
    }
    match verb.to_ascii_lowercase().as_str() {
        "search" => Some(Command::Search(rest)),
        "ask_clarify" => Some(Command::Clarify(rest.trim_matches('"'))).filter(|c| !matches!(c, Command::Clarify(""))),
        "answer" => {
            let mut ids = Vec::new();
            let mut summary_start = rest.len();
            let mut offset = 0;
            for token in rest.split_inclusive(|c: char| c == ',' || c.is_whitespace()) {
                let bare = token.trim_matches(|c: char| c == ',' || c.is_whitespace());
                if bare.is_empty() {
                    offset += token.len();
                    continue;
                }
                match parse_doc_id(bare) {
                    Some(doc) if ids.len() < 3 && !ids.contains(&doc) => ids.push(doc),
                    Some(_) => return None,
                    None => {
                        summary_start = offset;
                        break;
                    }
                }
                offset += token.len();
            }
            if ids.is_empty() {
                return None;
            }
            Some(Command::Answer(ids, rest[summary_start..].trim()))
        }
        _ => None,
    }
}

/// The env type registered as `search_feedback-v0`.
pub struct SearchFeedback;

const INSTRUCTIONS: &str = "You are a search assistant. A user has an information need; find the three documents that \
best satisfy it. One action per turn:\n  search <query>            BM25 search over the collection; shows the top 10 \
results\n  ask_clarify <question>    ask the user a clarifying question\n  answer <id>,<id>,<id> [summary]   present your \
best three documents, best first; this ends the round\nThe user judges each answer. If it is not good enough they give \
feedback and a new round begins.";

const STAGEWISE_INSTRUCTIONS: &str = "You are a search assistant. A user has an information need with several \
parts (sub-needs). First state your decomposition of it, then find documents for each part. One action per turn:\n  \
plan <sub-need>; <sub-need>; ...   your decomposition, in the order the parts depend on each other; the user \
critiques it and you may re-plan while plan rounds are left (a search or answer fixes the plan)\n  search <query>   \
BM25 search over the collection; shows the top 10 results\n  answer <id>,<id>,<id> | <id>,<id>,<id> | ...   \
1-3 documents per plan item, in plan order, groups separated by |; this ends the round\nThe user judges each part \
of the answer. If it is not good enough they give feedback and a new round begins.";

const STAGEWISE_USAGE: &str =
    "Write one action: `plan <sub-need>; <sub-need>`, `search <query>`, or `answer <ids> | <ids> | ...`.";

/// Searches per round in stage-wise mode: `searches_per_round` per possible sub-need.
fn stagewise_searches(config: &SearchFeedbackConfig) -> u32 {
    config.searches_per_round * 3
}

fn stagewise_status(session: &SearchSession, stages: &stagewise::Stages, config: &SearchFeedbackConfig) -> String {
    let plans_left = config.plan_rounds as usize - stages.f1_by_plan_round.len();
    if stages.plan.is_empty() {
        return format!("Planning: send your plan first ({plans_left} plan rounds).");
    }
    let round = if session.round == 0 {
        "Initial request".to_owned()
    } else {
        format!("Feedback round {} of {}", session.round, config.feedback_rounds)
    };
    let replan = if stages.plan_fixed { String::new() } else { format!(", {plans_left} re-plans") };
    let groups = match stages.plan.len() {
        1 => "1 group".to_owned(),
        n => format!("{n} groups separated by |"),
    };
    format!("{round}: {} searches{replan} left, then answer with {groups}.", session.searches_left)
}

fn status_line(session: &SearchSession, config: &SearchFeedbackConfig) -> String {
    if let Some(stages) = &session.stages {
        return stagewise_status(session, stages, config);
    }
    let round = if session.round == 0 {
        "Initial request".to_owned()
    } else {
        format!("Feedback round {} of {}", session.round, config.feedback_rounds)
    };
    let searches = if session.searches_left == 1 { "search" } else { "searches" };
    let questions = if session.clarifications_left == 1 { "clarifying question" } else { "clarifying questions" };
    format!(
        "{round}: {} {searches} and {} {questions} left, then answer.",
        session.searches_left, session.clarifications_left
    )
}

impl Environment for SearchFeedback {
    type Config = SearchFeedbackConfig;
    const ID: &'static str = "search_feedback-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        let per_round = config.searches_per_round + config.clarifications_per_round + 1;
        let max_turns = if config.stagewise {
            config.plan_rounds + (config.feedback_rounds + 1) * (config.searches_per_round * 3 + 1) + 4
        } else {
            (config.feedback_rounds + 1) * per_round + 4
        };
        EnvSpec::new(
            max_turns,
            (-1.0 - config.invalid_penalty, 1.0),
            "Conversational search over a BM25 index with a simulated user's feedback (ConvSim)",
        )
        .with_anchors(if config.stagewise { STAGEWISE_SCORE_ANCHORS } else { SCORE_ANCHORS })
        .with_metrics(if config.stagewise { stagewise::METRICS } else { metrics::METRICS })
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        config.collection.validate()?;
        if config.feedback_rounds > 3 {
            return Err("search_feedback: feedback_rounds must be between 0 and 3".into());
        }
        if !(config.threshold.is_finite() && config.threshold > 0.0 && config.threshold <= 1.0) {
            return Err("search_feedback: threshold must be in (0, 1]".into());
        }
        if usize::from(config.leak) > 3 {
            return Err("search_feedback: leak must be between 0 and 3".into());
        }
        if !(1..=5).contains(&config.searches_per_round) {
            return Err("search_feedback: searches_per_round must be between 1 and 5".into());
        }
        if config.clarifications_per_round > 3 {
            return Err("search_feedback: clarifications_per_round must be at most 3".into());
        }
        if !(0.0..=1.0).contains(&config.constraint_probability) {
            return Err("search_feedback: constraint_probability must be between 0 and 1".into());
        }
        if !(config.invalid_penalty.is_finite() && (0.0..=1.0).contains(&config.invalid_penalty)) {
            return Err("search_feedback: invalid_penalty must be between 0 and 1".into());
        }
        if !(1..=3).contains(&config.plan_rounds) {
            return Err("search_feedback: plan_rounds must be between 1 and 3".into());
        }
        if !(config.plan_weight.is_finite() && (0.0..=1.0).contains(&config.plan_weight)) {
            return Err("search_feedback: plan_weight must be between 0 and 1".into());
        }
        if config.stagewise && config.collection.min_facets < 2 {
            return Err("search_feedback: stagewise needs collection.min_facets >= 2".into());
        }
        Ok(())
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        let shared = collection::collection(&config.collection);
        let mut rng = stream(episode.seed, "need");
        let topic = rng.random_range(0..shared.topics.len());
        let facets = &shared.topics[topic].facets;
        let facet = facets[rng.random_range(0..facets.len())];
        let audience = (rng.random::<f64>() < config.constraint_probability)
            .then(|| rng.random_range(0..collection::AUDIENCES.len()));
        let mut need = Need { topic, facet, audience };
        let stages = config
            .stagewise
            .then(|| stagewise::Stages::draw(&mut stream(episode.seed, "subneeds"), &shared, &mut need));
        let initial_query = user::initial_query(&mut rng, &shared, &need);
        let session = SearchSession {
            qrels: collection::judgments(&shared, &need),
            collection: shared,
            need,
            initial_query,
            round: 0,
            searches_left: if config.stagewise { stagewise_searches(config) } else { config.searches_per_round },
            clarifications_left: if config.stagewise { 0 } else { config.clarifications_per_round },
            ndcg_by_round: Vec::new(),
            clarifications: Vec::new(),
            recalls: Vec::new(),
            turn: TurnResult::Invalid(""),
            user_words: None,
            stages,
        };
        let instructions = if config.stagewise { STAGEWISE_INSTRUCTIONS } else { INSTRUCTIONS };
        let prompt =
            format!("{instructions}\n\nUser: \"{}\"\n{}", session.initial_query, status_line(&session, config));
        entity.insert(session);
        Cow::Owned(prompt)
    }

    fn add_systems(schedule: &mut Schedule) {
        schedule.add_systems((
            apply_action.in_set(StepSet::Act),
            user_reacts.in_set(StepSet::React),
            render_observation.in_set(StepSet::Observe),
            score_turn.in_set(StepSet::Score),
        ));
    }

    fn hidden_state(entity: EntityRef) -> Vec<String> {
        let Some(session) = entity.get::<SearchSession>() else { return Vec::new() };
        let mut hidden = hidden_strings(session);
        if let Some(stages) = &session.stages {
            hidden.extend(stagewise::hidden_strings(&session.need, stages));
        }
        hidden
    }

    fn episode_metrics(entity: EntityRef, record: &EpisodeRecord) -> EpisodeMetrics {
        let Some(session) = entity.get::<SearchSession>() else { return EpisodeMetrics::default() };
        match &session.stages {
            Some(stages) => stagewise::episode_metrics(stages, record.success),
            None => metrics::episode_metrics(session),
        }
    }

    fn sample_actions(_config: &Self::Config) -> Vec<String> {
        [
            "search jaguar price",
            "search python snake safety for beginners",
            "search mercury",
            "ask_clarify Do you mean the cat or the car?",
            "ask_clarify \"Is this about history or price?\"",
            "answer d1,d2,d3",
            "answer d10, d20, d30 These cover the price.",
            "answer d5",
            "answer d1,d1,d2",
            "answer d999999",
            "search",
            "tell me more",
            "plan price; history",
            "plan cost for beginners; origin of the name; safety",
            "plan",
            "answer d1,d2 | d3,d4,d5",
            "answer d1 | d2 | d3",
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

/// The hidden strings of an episode: the need (with an id no text contains) and the qrels.
pub fn hidden_strings(session: &SearchSession) -> Vec<String> {
    let need = &session.need;
    let topic = &session.collection.topics[need.topic];
    let audience = need.audience.map_or("anyone", |a| collection::AUDIENCES[a]);
    let need_id = format!("t{}f{}c{}", need.topic, need.facet, need.audience.map_or(9, |a| a));
    let mut judged = String::from("judgments:");
    for &(doc, grade) in &session.qrels {
        let _ = write!(judged, " {}={grade}", doc_id(doc));
    }
    vec![format!("need {need_id}: {} / {} / for {audience}", topic.name(), collection::FACETS[need.facet].0), judged]
}

fn apply_action(mut episodes: Stepping<(&EnvConfig<SearchFeedback>, &mut SearchSession)>) {
    for (text, (config, mut session)) in episodes.iter_mut_with_action() {
        let session = &mut *session;
        session.user_words = None;
        if session.stages.is_some() {
            session.turn = apply_stagewise_action(text, config, session);
            continue;
        }
        session.turn = match parse_command(text) {
            None => TurnResult::Invalid("I don't understand that."),
            Some(Command::Search(_)) if session.searches_left == 0 => {
                TurnResult::Invalid("No searches left this round.")
            }
            Some(Command::Search(query)) => {
                session.searches_left -= 1;
                let hits = session.collection.search(query);
                session.recalls.push(collection::recall_at_10(&hits, &session.qrels));
                TurnResult::Searched { query: query.to_owned(), hits }
            }
            Some(Command::Clarify(_)) if session.clarifications_left == 0 => {
                TurnResult::Invalid("No clarifying questions left this round.")
            }
            Some(Command::Clarify(_)) => {
                session.clarifications_left -= 1;
                // The user's verdict is set when it answers (React).
                TurnResult::Clarified { verdict: ClarifyVerdict::Irrelevant }
            }
            Some(Command::Answer(ids, _)) if ids.iter().any(|&d| d as usize >= session.collection.documents.len()) => {
                TurnResult::Invalid("Unknown document id.")
            }
            Some(Command::Answer(ids, _)) => {
                let ndcg = ndcg_at_3(&ids, &session.qrels);
                let previous = session.ndcg_by_round.last().copied().unwrap_or(0.0);
                session.ndcg_by_round.push(ndcg);
                let satisfied = ndcg >= config.threshold;
                let documents: Vec<&collection::Document> =
                    ids.iter().map(|&d| &session.collection.documents[d as usize]).collect();
                let diagnosis = user::diagnose(&documents, &session.need, satisfied);
                let finished = satisfied || session.round >= config.feedback_rounds;
                if !finished {
                    session.round += 1;
                    session.searches_left = config.searches_per_round;
                    session.clarifications_left = config.clarifications_per_round;
                }
                TurnResult::Answered { ndcg, delta: ndcg - previous, diagnosis, finished }
            }
        };
    }
}

/// One action in stage-wise mode; the user's critique of a plan or an answer is written to
/// `user_words` here (it is deterministic).
fn apply_stagewise_action(text: &str, config: &SearchFeedbackConfig, session: &mut SearchSession) -> TurnResult {
    let Some(stages) = session.stages.as_mut() else { return TurnResult::Invalid("") };
    if text.split_whitespace().next().is_some_and(|verb| verb.eq_ignore_ascii_case("plan")) {
        let Some(plan) = stagewise::parse_plan(text) else {
            return TurnResult::Invalid("A plan is `plan <sub-need>; <sub-need>; ...` with 1-6 short items.");
        };
        if stages.plan_fixed || stages.f1_by_plan_round.len() >= config.plan_rounds as usize {
            return TurnResult::Invalid("The plan is fixed now.");
        }
        let previous = stages.f1();
        let f1 = stagewise::decomposition_f1(&plan, &stages.facets);
        stages.plan = plan;
        stages.f1_by_plan_round.push(f1);
        if stages.f1_by_plan_round.len() >= config.plan_rounds as usize {
            stages.plan_fixed = true;
        }
        session.user_words = Some(stagewise::plan_critique(stages, usize::from(config.leak)));
        return TurnResult::Planned { delta: config.plan_weight * (f1 - previous) };
    }
    if stages.plan.is_empty() {
        return TurnResult::Invalid("First state your plan.");
    }
    match parse_command(text) {
        Some(Command::Clarify(_)) => {
            TurnResult::Invalid("In stage-wise mode the plan critique replaces clarifying questions.")
        }
        Some(Command::Search(_)) if session.searches_left == 0 => TurnResult::Invalid("No searches left this round."),
        Some(Command::Search(query)) => {
            stages.plan_fixed = true;
            session.searches_left -= 1;
            let hits = session.collection.search(query);
            session.recalls.push(collection::recall_at_10(&hits, &session.qrels));
            TurnResult::Searched { query: query.to_owned(), hits }
        }
        _ => {
            let Some(groups) = stagewise::parse_grouped_answer(text) else {
                return TurnResult::Invalid("I don't understand that.");
            };
            if groups.len() != stages.plan.len() {
                return TurnResult::Invalid("Give one group of documents per plan item, separated by |.");
            }
            if groups.iter().flatten().any(|&d| d as usize >= session.collection.documents.len()) {
                return TurnResult::Invalid("Unknown document id.");
            }
            stages.plan_fixed = true;
            let previous = stages.mean_ndcg();
            let owner = stages.item_of_subneed();
            let ndcg: Vec<f64> = owner
                .iter()
                .zip(&stages.qrels)
                .map(|(item, qrels)| item.map_or(0.0, |i| ndcg_at_3(&groups[i], qrels)))
                .collect();
            let satisfied = ndcg.iter().all(|&n| n >= config.threshold);
            stages.ndcg_by_answer.push(ndcg);
            let mean = stages.mean_ndcg();
            session.ndcg_by_round.push(mean);
            let finished = satisfied || session.round >= config.feedback_rounds;
            let words = if satisfied {
                "Thanks, every part of my question is answered.".to_owned()
            } else {
                stagewise::answer_critique(
                    &session.collection,
                    &session.need,
                    stages,
                    &groups,
                    config.threshold,
                    usize::from(config.leak),
                )
            };
            session.user_words = Some(words);
            if !finished {
                session.round += 1;
                session.searches_left = stagewise_searches(config);
            }
            TurnResult::StageAnswered { delta: (1.0 - config.plan_weight) * (mean - previous), satisfied, finished }
        }
    }
}

fn user_reacts(mut episodes: Stepping<(&Episode, &Turn, &EnvConfig<SearchFeedback>, &mut SearchSession)>) {
    for (text, (episode, turn, config, mut session)) in episodes.iter_mut_with_action() {
        let session = &mut *session;
        match &mut session.turn {
            TurnResult::Clarified { verdict } => {
                let question = match parse_command(text) {
                    Some(Command::Clarify(question)) => question,
                    _ => "",
                };
                let (judged, words) =
                    user::answer_clarification(&session.collection, &session.need, question, usize::from(config.leak));
                *verdict = judged;
                session.clarifications.push(judged);
                session.user_words = Some(words);
            }
            TurnResult::Answered { diagnosis, .. } => {
                let mut rng = stream_indexed(episode.seed, "user", u64::from(turn.taken));
                let diagnosis = *diagnosis;
                session.user_words = Some(user::feedback(
                    &mut rng,
                    &session.collection,
                    &session.need,
                    diagnosis,
                    usize::from(config.leak),
                ));
            }
            _ => {}
        }
    }
}

fn render_observation(mut episodes: Stepping<(&EnvConfig<SearchFeedback>, &SearchSession, &mut Reply)>) {
    for (config, session, mut reply) in episodes.iter_mut() {
        let status = status_line(session, config);
        match &session.turn {
            TurnResult::Invalid(reason) => {
                let usage = if session.stages.is_some() { STAGEWISE_USAGE } else { USAGE };
                reply.set(Speaker::Env, Kind::Admin, format!("{reason} {usage}\n{status}"));
            }
            TurnResult::Planned { .. } => {
                let words = session.user_words.as_deref().unwrap_or_default();
                reply.set(Speaker::Partner, Kind::Feedback, format!("User: \"{words}\"\n{status}"));
            }
            TurnResult::StageAnswered { finished, satisfied, .. } => {
                let words = session.user_words.as_deref().unwrap_or_default();
                let text = match (finished, satisfied) {
                    (true, true) => format!("User: \"{words}\""),
                    (true, false) => format!("User: \"{words}\"\nNo feedback rounds left; the session is over."),
                    (false, _) => format!("User: \"{words}\"\n{status}"),
                };
                reply.set(Speaker::Partner, Kind::Feedback, text);
            }
            TurnResult::Searched { query, hits } => {
                let mut text = format!("Results for \"{}\":\n", query.trim());
                if hits.is_empty() {
                    text.push_str("(no documents match)\n");
                }
                for (rank, hit) in hits.iter().enumerate() {
                    let document = &session.collection.documents[hit.doc as usize];
                    let _ = writeln!(
                        text,
                        "{}. [{}] {} | {}",
                        rank + 1,
                        doc_id(hit.doc),
                        document.title,
                        session.collection.snippet(hit.doc, 14)
                    );
                }
                text.push_str(&status);
                reply.set(Speaker::Env, Kind::Observation, text);
            }
            TurnResult::Clarified { .. } => {
                let words = session.user_words.as_deref().unwrap_or_default();
                reply.set(Speaker::Partner, Kind::Observation, format!("User: \"{words}\"\n{status}"));
            }
            TurnResult::Answered { finished, diagnosis, .. } => {
                let words = session.user_words.as_deref().unwrap_or_default();
                let text = match (finished, diagnosis) {
                    (true, Diagnosis::Satisfied) => format!("User: \"{words}\""),
                    (true, _) => format!("User: \"{words}\"\nNo feedback rounds left; the session is over."),
                    (false, _) => format!("User: \"{words}\"\n{status}"),
                };
                reply.set(Speaker::Partner, Kind::Feedback, text);
            }
        }
    }
}

fn score_turn(mut episodes: Stepping<(&EnvConfig<SearchFeedback>, &SearchSession, &mut Outcome)>) {
    for (config, session, mut outcome) in episodes.iter_mut() {
        outcome.invalid_action = matches!(session.turn, TurnResult::Invalid(_));
        outcome.reward = match session.turn {
            TurnResult::Invalid(_) => -config.invalid_penalty,
            TurnResult::Answered { delta, .. }
            | TurnResult::Planned { delta }
            | TurnResult::StageAnswered { delta, .. } => delta,
            _ => 0.0,
        };
        if let TurnResult::StageAnswered { finished: true, satisfied, .. } = session.turn {
            outcome.success = satisfied;
            outcome.ending = Some(if satisfied { "satisfied" } else { "unsatisfied" });
            outcome.terminated = true;
        }
        if let TurnResult::Answered { finished: true, diagnosis, .. } = session.turn {
            let satisfied = diagnosis == Diagnosis::Satisfied;
            outcome.success = satisfied;
            outcome.ending = Some(if satisfied { "satisfied" } else { "unsatisfied" });
            outcome.terminated = true;
        }
    }
}
