//! `conv_rec-v0`: multi-round conversational recommendation (EAR/CPR, the UNICORN env's loop)
//! over a generated catalogue with a two-level attribute taxonomy.
//!
//! The user wants a hidden target item and opens with one of its attributes. Each turn the agent
//! asks about an attribute (`ask <parent/value>`), asks an enumerated question about a parent
//! (`ask_group <parent>`), or recommends up to 10 items (`recommend v<id>, v<id>, ...`). The simulated
//! user answers from the target's attributes (optional noise, "don't know" and patience).
//! Rewards follow the public env's table. See `docs/envs/conv_rec.md`.

pub mod catalogue;
pub mod metrics;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sim_core::prelude::*;
use sim_core::seed::{StreamRng, stream};

pub use catalogue::{ConvCatalogue, MAX_ATTRIBUTES, PARENTS, WORDS};

/// The reward table (UNICORN's `env_binary_question.py` values by default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConvRewards {
    pub rec_success: f64,
    pub rec_fail: f64,
    pub ask_accepted: f64,
    pub ask_rejected: f64,
    pub max_turns: f64,
    pub candidates_empty: f64,
    pub invalid: f64,
}

impl Default for ConvRewards {
    fn default() -> Self {
        Self {
            rec_success: 1.0,
            rec_fail: -0.1,
            ask_accepted: 0.01,
            ask_rejected: -0.1,
            max_turns: -0.3,
            candidates_empty: -0.1,
            invalid: -0.1,
        }
    }
}

/// The env's section of a scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConvRecConfig {
    pub catalogue_seed: u64,
    pub items: u32,
    /// Attributes of the taxonomy (12 parents; at most 600).
    pub attributes: u32,
    /// `(fewest, most)` attributes of an item (uniform in between). Scale it with `attributes`
    /// to keep the share of the attribute space an item covers (its density) comparable.
    pub attributes_per_item: (u32, u32),
    pub max_turns: u32,
    /// Longest recommendation list.
    pub list_size: u32,
    /// Probability that a yes/no answer is flipped.
    pub answer_noise: f64,
    /// Probability that the user answers "I don't know" to an attribute question.
    pub dont_know_rate: f64,
    /// The user quits after this many rejected lists in a row (0: never).
    pub patience: u32,
    pub rewards: ConvRewards,
}

impl Default for ConvRecConfig {
    fn default() -> Self {
        Self {
            catalogue_seed: 0,
            items: 1000,
            attributes: 120,
            attributes_per_item: (3, 8),
            max_turns: 15,
            list_size: 10,
            answer_noise: 0.0,
            dont_know_rate: 0.0,
            patience: 0,
            rewards: ConvRewards::default(),
        }
    }
}

/// The shared catalogue of the episode.
#[derive(Component, Debug, Clone)]
pub struct SharedConvCatalogue(pub Arc<ConvCatalogue>);

/// The hidden target item.
#[derive(Component, Debug, Clone, Copy)]
pub struct TargetItem(pub u32);

/// A parsed agent move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    Ask(u16),
    AskGroup(usize),
    Recommend(Vec<u32>),
    Invalid(String),
}

/// The user's answer to a move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Yes(u16),
    No(u16),
    DontKnow(u16),
    Group {
        parent: usize,
        liked: Vec<u16>,
    },
    /// The target is at this 1-based rank of the list.
    Accepted {
        rank: usize,
    },
    Rejected {
        count: usize,
    },
    Invalid(String),
}

/// The conversation so far as the env tracks it, and this step's exchange.
#[derive(Component, Debug)]
pub struct Dialogue {
    pub accepted: Vec<u16>,
    pub denied: Vec<u16>,
    pub rejected_items: Vec<u32>,
    pub rejected_lists_in_a_row: u32,
    /// The consistent items (see [`consistent_items`]), kept up to date incrementally.
    pub candidate_items: Vec<u32>,
    pub candidates: usize,
    pub next: Move,
    pub answer: Answer,
    rng: StreamRng,
}

/// Parses an action.
pub fn parse_move(text: &str, catalogue: &ConvCatalogue, list_size: u32) -> Move {
    let text = text.trim();
    let (verb, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let rest = rest.trim();
    let shorten = |s: &str| s.chars().take(32).collect::<String>();
    match verb.to_ascii_lowercase().as_str() {
        "ask" => match catalogue.attribute(rest) {
            Some(attribute) => Move::Ask(attribute),
            None => Move::Invalid(format!("`{}` is not an attribute (names look like mood/amber)", shorten(rest))),
        },
        "ask_group" => match ConvCatalogue::parent(rest) {
            Some(parent) => Move::AskGroup(parent),
            None => Move::Invalid(format!("`{}` is not a parent attribute", shorten(rest))),
        },
        "recommend" => {
            let mut items = Vec::new();
            for token in rest.split(|c: char| c == ',' || c.is_whitespace()).filter(|t| !t.is_empty()) {
                let Some(item) = catalogue.item(token) else {
                    return Move::Invalid(format!("`{}` is not an item id", shorten(token)));
                };
                if items.contains(&item) {
                    return Move::Invalid("an id appears twice".into());
                }
                items.push(item);
                if items.len() > list_size as usize {
                    return Move::Invalid(format!("at most {list_size} items per list"));
                }
            }
            if items.is_empty() { Move::Invalid("no item ids".into()) } else { Move::Recommend(items) }
        }
        _ => Move::Invalid("unknown command".into()),
    }
}

/// Items consistent with every accepted and denied attribute and not rejected (CPR's graph rule).
pub fn consistent_items(catalogue: &ConvCatalogue, accepted: &[u16], denied: &[u16], rejected: &[u32]) -> usize {
    let pool: Box<dyn Iterator<Item = u32>> = match accepted.first() {
        Some(&first) => Box::new(catalogue.holders[first as usize].iter().copied()),
        None => Box::new(0..catalogue.item_attributes.len() as u32),
    };
    pool.filter(|&item| {
        accepted.iter().all(|&a| catalogue.has(item, a))
            && !denied.iter().any(|&a| catalogue.has(item, a))
            && !rejected.contains(&item)
    })
    .count()
}

/// The shared catalogue a config describes.
pub fn catalogue_of(config: &ConvRecConfig) -> Arc<ConvCatalogue> {
    ConvCatalogue::shared(config.catalogue_seed, config.items, config.attributes, config.attributes_per_item)
}

/// The env type registered as `conv_rec-v0`.
pub struct ConvRec;

impl Environment for ConvRec {
    type Config = ConvRecConfig;
    const ID: &'static str = "conv_rec-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        let r = &config.rewards;
        let worst_step =
            r.rec_fail.min(r.ask_rejected).min(r.invalid) + r.max_turns.min(0.0) + r.candidates_empty.min(0.0);
        EnvSpec {
            score_anchors: (*config == ConvRecConfig::default()).then_some(SCORE_ANCHORS),
            ..EnvSpec::new(
                config.max_turns,
                (worst_step, r.rec_success.max(r.ask_accepted)),
                "Find the user's hidden target item by asking about attributes and recommending lists \
                          (EAR/CPR multi-round conversational recommendation)",
            )
            .with_metrics(metrics::METRICS)
        }
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        let checks = [
            ((20..=1_000_000).contains(&config.items), "items must be 20..=1000000"),
            ((12..=MAX_ATTRIBUTES).contains(&config.attributes), "attributes must be 12..=600"),
            (
                1 <= config.attributes_per_item.0
                    && config.attributes_per_item.0 <= config.attributes_per_item.1
                    && config.attributes_per_item.1 <= config.attributes,
                "attributes_per_item must be (fewest, most) with 1 <= fewest <= most <= attributes",
            ),
            (config.max_turns >= 1, "max_turns must be at least 1"),
            (config.list_size >= 1, "list_size must be at least 1"),
            ((0.0..=1.0).contains(&config.answer_noise), "answer_noise must be in [0, 1]"),
            ((0.0..=1.0).contains(&config.dont_know_rate), "dont_know_rate must be in [0, 1]"),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, message)) => Err(format!("conv_rec: {message}")),
            None => Ok(()),
        }
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        let catalogue = catalogue_of(config);
        let mut rng = stream(episode.seed, "conv-user");
        let target = rng.random_range(0..config.items);
        let attributes = &catalogue.item_attributes[target as usize];
        // The user opens with the target's most common attribute (its broad category), as a
        // user naming what they want would.
        let opening = attributes
            .iter()
            .copied()
            .max_by_key(|&a| (catalogue.holders[a as usize].len(), std::cmp::Reverse(a)))
            .unwrap_or(attributes[0]);
        let accepted = vec![opening];
        let candidate_items = catalogue.holders[opening as usize].clone();
        let candidates = candidate_items.len();
        let prompt = format!(
            "You are a conversational recommender. The catalogue (seed {seed} with {items} items and {attributes} \
             attributes, {fewest} to {most} per item) holds items numbered 0 to {last}, written v<number>; \
             attributes are named parent/value with parents {parents}. Find the item the user wants within {turns} \
             turns. Each turn, one of: `ask <parent/value>` (do you like it?), `ask_group <parent>` (which values of \
             it do you like?), or `recommend v<id>, v<id>, ...` (at most {list} items).\n\
             User: \"I'm looking for something with {opening}.\" ({candidates} candidates)",
            seed = config.catalogue_seed,
            items = config.items,
            attributes = config.attributes,
            fewest = config.attributes_per_item.0,
            most = config.attributes_per_item.1,
            last = config.items - 1,
            parents = PARENTS.join(", "),
            turns = config.max_turns,
            list = config.list_size,
            opening = catalogue.attribute_names[opening as usize],
        );
        entity.insert((
            SharedConvCatalogue(catalogue),
            TargetItem(target),
            Dialogue {
                accepted,
                denied: Vec::new(),
                rejected_items: Vec::new(),
                rejected_lists_in_a_row: 0,
                candidate_items,
                candidates,
                next: Move::Invalid(String::new()),
                answer: Answer::Invalid(String::new()),
                rng,
            },
        ));
        Cow::Owned(prompt)
    }

    fn add_systems(schedule: &mut Schedule) {
        schedule.add_systems((
            read_move.in_set(StepSet::Act),
            user_answers.in_set(StepSet::React),
            render_answer.in_set(StepSet::Observe),
            score_turn.in_set(StepSet::Score),
        ));
    }

    fn episode_metrics(entity: EntityRef, record: &EpisodeRecord) -> EpisodeMetrics {
        let rank = match entity.get::<Dialogue>().map(|dialogue| &dialogue.answer) {
            Some(Answer::Accepted { rank }) => Some(*rank),
            _ => None,
        };
        let max_turns = entity.get::<EnvConfig<ConvRec>>().map_or(record.turns, |config| config.max_turns);
        metrics::episode_metrics(record, rank, max_turns)
    }

    fn hidden_state(entity: EntityRef) -> Vec<String> {
        entity.get::<TargetItem>().map(|target| vec![format!("v{}", target.0)]).unwrap_or_default()
    }

    fn sample_actions(config: &Self::Config) -> Vec<String> {
        let catalogue = catalogue_of(config);
        let mut actions: Vec<String> =
            catalogue.attribute_names.iter().step_by(7).map(|name| format!("ask {name}")).collect();
        actions.extend(PARENTS.iter().map(|parent| format!("ask_group {parent}")));
        actions.extend((0..config.items.min(60)).step_by(10).map(|start| {
            let ids: Vec<String> = (start..start + 10).map(|i| format!("v{i}")).collect();
            format!("recommend {}", ids.join(", "))
        }));
        actions
            .extend(["ask", "ask_group nothing", "recommend v1, v1", "recommend v99999999", "hello"].map(String::from));
        actions
    }
}

/// Score anchors of the default config: min is the reward of 15 rejected questions plus the
/// max-turns penalty (−1.8), average the always-recommend agent's and max the graph-pruned
/// asker's mean return (1000 episodes, seed 0; checked by tests in `tests/conv_rec.rs`).
pub const SCORE_ANCHORS: ScoreAnchors =
    ScoreAnchors { min: -1.8, average: ALWAYS_RECOMMEND_MEAN_RETURN, max: GRAPH_PRUNED_MEAN_RETURN };
/// Mean return of the always-recommend agent (default config, 1000 episodes, seed 0).
pub const ALWAYS_RECOMMEND_MEAN_RETURN: f64 = -1.0915;
/// Mean return of the graph-pruned asker (default config, 1000 episodes, seed 0).
pub const GRAPH_PRUNED_MEAN_RETURN: f64 = 0.3656;

fn read_move(mut episodes: Stepping<(&EnvConfig<ConvRec>, &SharedConvCatalogue, &mut Dialogue)>) {
    for (text, (config, catalogue, mut dialogue)) in episodes.iter_mut_with_action() {
        dialogue.next = parse_move(text, &catalogue.0, config.list_size);
    }
}

fn user_answers(mut episodes: Stepping<(&EnvConfig<ConvRec>, &SharedConvCatalogue, &TargetItem, &mut Dialogue)>) {
    for (config, catalogue, target, mut dialogue) in episodes.iter_mut() {
        let catalogue = &*catalogue.0;
        let dialogue = &mut *dialogue;
        let answer = match &dialogue.next {
            Move::Invalid(reason) => Answer::Invalid(reason.clone()),
            Move::Ask(attribute) => {
                let attribute = *attribute;
                if dialogue.rng.random::<f64>() < config.dont_know_rate {
                    Answer::DontKnow(attribute)
                } else {
                    let truth = catalogue.has(target.0, attribute);
                    let flipped = dialogue.rng.random::<f64>() < config.answer_noise;
                    if truth != flipped {
                        if !dialogue.accepted.contains(&attribute) {
                            dialogue.accepted.push(attribute);
                        }
                        Answer::Yes(attribute)
                    } else {
                        if !dialogue.denied.contains(&attribute) {
                            dialogue.denied.push(attribute);
                        }
                        Answer::No(attribute)
                    }
                }
            }
            Move::AskGroup(parent) => {
                let parent = *parent;
                let children = (parent..catalogue.attribute_names.len()).step_by(PARENTS.len()).map(|a| a as u16);
                let mut liked = Vec::new();
                for child in children {
                    if catalogue.has(target.0, child) {
                        liked.push(child);
                        if !dialogue.accepted.contains(&child) {
                            dialogue.accepted.push(child);
                        }
                    } else if !dialogue.denied.contains(&child) {
                        dialogue.denied.push(child);
                    }
                }
                Answer::Group { parent, liked }
            }
            Move::Recommend(items) => match items.iter().position(|&item| item == target.0) {
                Some(rank) => Answer::Accepted { rank: rank + 1 },
                None => {
                    for &item in items {
                        if !dialogue.rejected_items.contains(&item) {
                            dialogue.rejected_items.push(item);
                        }
                    }
                    Answer::Rejected { count: items.len() }
                }
            },
        };
        dialogue.rejected_lists_in_a_row = match answer {
            Answer::Rejected { .. } => dialogue.rejected_lists_in_a_row + 1,
            Answer::Invalid(_) => dialogue.rejected_lists_in_a_row,
            _ => 0,
        };
        // Same set as `consistent_items(accepted, denied, rejected)`, narrowed incrementally.
        let Dialogue { accepted, denied, rejected_items, candidate_items, .. } = &mut *dialogue;
        candidate_items.retain(|&item| {
            accepted.iter().all(|&a| catalogue.has(item, a))
                && !denied.iter().any(|&a| catalogue.has(item, a))
                && !rejected_items.contains(&item)
        });
        dialogue.candidates = dialogue.candidate_items.len();
        dialogue.answer = answer;
    }
}

fn render_answer(mut episodes: Stepping<(&EnvConfig<ConvRec>, &SharedConvCatalogue, &Dialogue, &mut Reply)>) {
    for (config, catalogue, dialogue, mut reply) in episodes.iter_mut() {
        let names = &catalogue.0.attribute_names;
        let mut out = String::with_capacity(96);
        let _ = match &dialogue.answer {
            Answer::Invalid(reason) => {
                reply.set(
                    Speaker::Env,
                    Kind::Admin,
                    format!(
                        "Invalid action: {reason}. Use `ask <parent/value>`, `ask_group <parent>` or \
                         `recommend v<id>, v<id>, ...` (at most {} items).",
                        config.list_size
                    ),
                );
                continue;
            }
            Answer::Yes(a) => write!(out, "User: \"Yes, I'd like {}.\"", names[*a as usize]),
            Answer::No(a) => write!(out, "User: \"No, not {}.\"", names[*a as usize]),
            Answer::DontKnow(a) => write!(out, "User: \"I don't know about {}.\"", names[*a as usize]),
            Answer::Group { parent, liked } if liked.is_empty() => {
                write!(out, "User: \"None of the {} options.\"", PARENTS[*parent])
            }
            Answer::Group { parent, liked } => {
                let list: Vec<&str> = liked.iter().map(|&a| names[a as usize].as_str()).collect();
                write!(out, "User: \"From {} I'd like: {}.\"", PARENTS[*parent], list.join(", "))
            }
            Answer::Accepted { rank } => write!(out, "User: \"Yes! Item {rank} of your list is what I wanted.\""),
            Answer::Rejected { count } => write!(out, "User: \"None of these {count}.\""),
        };
        let quits = config.patience > 0 && dialogue.rejected_lists_in_a_row >= config.patience;
        if quits {
            out.push_str(" The user ran out of patience and left.");
        } else if dialogue.candidates == 0 {
            out.push_str(" No item matches the answers so far; the conversation ends.");
        } else if !matches!(dialogue.answer, Answer::Accepted { .. }) {
            let _ = write!(out, " ({} candidates)", dialogue.candidates);
        }
        reply.set(Speaker::Partner, Kind::Observation, out);
    }
}

fn score_turn(mut episodes: Stepping<(&EnvConfig<ConvRec>, &Turn, &Dialogue, &mut Outcome)>) {
    for (config, turn, dialogue, mut outcome) in episodes.iter_mut() {
        let r = &config.rewards;
        outcome.invalid_action = matches!(dialogue.answer, Answer::Invalid(_));
        outcome.reward = match dialogue.answer {
            Answer::Invalid(_) => r.invalid,
            Answer::Yes(_) => r.ask_accepted,
            Answer::No(_) | Answer::DontKnow(_) => r.ask_rejected,
            Answer::Group { ref liked, .. } => {
                if liked.is_empty() {
                    r.ask_rejected
                } else {
                    r.ask_accepted
                }
            }
            Answer::Accepted { .. } => r.rec_success,
            Answer::Rejected { .. } => r.rec_fail,
        };
        let success = matches!(dialogue.answer, Answer::Accepted { .. });
        let quits = config.patience > 0 && dialogue.rejected_lists_in_a_row >= config.patience;
        let empty = !success && dialogue.candidates == 0;
        if empty {
            outcome.reward += r.candidates_empty;
        }
        let last = turn.is_last();
        if last && !success {
            outcome.reward += r.max_turns;
        }
        outcome.success = success;
        let ending = if success {
            "accepted"
        } else if quits {
            "user_quit"
        } else if empty {
            "no_candidates"
        } else {
            "max_turns"
        };
        outcome.end_when(success || quits || empty || last, ending);
    }
}
