//! The NExT-Search stage-wise mode of `search_feedback-v0` (`stagewise: true`).
//!
//! The need has 2–3 **sub-needs**: facets of one topic (with the need's optional audience), in a
//! fixed dependency order (the facet table's order). They are hidden; the opening query names
//! the head word and a word of the first sub-need only.
//!
//! 1. **Decomposition.** The agent must first send `plan <sub-need>; <sub-need>; ...`. A plan
//!    item stands for the facet whose keyword or lexicon word it names first; the user critiques
//!    the plan per item ("Yes to X", "Y is not part of what I need", "Put X before Y") and says
//!    how many sub-needs are missing, naming up to `leak` of them. The agent may re-plan until
//!    `plan_rounds` plans were sent; the first `search` or `answer` fixes the plan.
//! 2. **Retrieval and answer.** `answer d1,d2,d3 | d7,d9` gives one group of 1–3 documents per
//!    plan item, in plan order. Each true sub-need is scored by the nDCG@3 of the group of the
//!    plan item that stands for it (0 when the plan misses it). The user critiques each stage
//!    separately (which documents of the group are not relevant, or off the point), and is
//!    satisfied when every sub-need reaches the threshold; otherwise a feedback round follows.
//!
//! Reward: `plan_weight` × decomposition F1 of the latest plan + (1 − `plan_weight`) × mean
//! nDCG@3 over the sub-needs of the latest answer, paid as differences (each plan pays the F1
//! change, each answer the nDCG change), so the return is that weighted sum, in [0, 1], minus
//! the invalid-action penalties.

use std::fmt::Write as _;

use rand::RngExt;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use sim_core::seed::StreamRng;
use sim_core::{EpisodeMetrics, EpisodeRecord, MetricSpec};

use super::collection::{self, AUDIENCES, Collection, FACETS, Need};
use super::{Command, MAX_ACTION_CHARS, parse_command};
use crate::text::words;

/// Plan items allowed in one plan.
pub const MAX_PLAN_ITEMS: usize = 6;
/// Characters of a plan item the user echoes back.
pub const MAX_ITEM_CHARS: usize = 40;

/// One item of the agent's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanItem {
    /// The agent's text, trimmed.
    pub text: String,
    /// The facet the item names first (keyword or lexicon word), if any.
    pub facet: Option<usize>,
}

/// The stage-wise part of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Stages {
    /// The sub-needs' facets in dependency order (ascending facet index).
    pub facets: Vec<usize>,
    /// Qrels of each sub-need (topic, facet, the need's audience).
    pub qrels: Vec<Vec<(u32, u8)>>,
    /// The latest plan (empty before the first).
    pub plan: Vec<PlanItem>,
    /// Decomposition F1 of each plan sent.
    pub f1_by_plan_round: Vec<f64>,
    /// Whether the plan is fixed (a search or answer was made, or no plan rounds are left).
    pub plan_fixed: bool,
    /// nDCG@3 of each sub-need (dependency order) for each answer.
    pub ndcg_by_answer: Vec<Vec<f64>>,
}

impl Stages {
    /// Draws 2–3 sub-needs of the need's topic (at most the topic's facet count); the need's
    /// facet becomes the first one in dependency order.
    pub fn draw(rng: &mut StreamRng, collection: &Collection, need: &mut Need) -> Self {
        let mut facets = collection.topics[need.topic].facets.clone();
        let count = rng.random_range(2..=3usize).min(facets.len());
        facets.shuffle(rng);
        facets.truncate(count);
        facets.sort_unstable();
        need.facet = facets[0];
        let qrels = facets.iter().map(|&facet| collection::judgments(collection, &Need { facet, ..*need })).collect();
        Self {
            facets,
            qrels,
            plan: Vec::new(),
            f1_by_plan_round: Vec::new(),
            plan_fixed: false,
            ndcg_by_answer: Vec::new(),
        }
    }

    /// Mean nDCG@3 of the latest answer (0 before any).
    pub fn mean_ndcg(&self) -> f64 {
        self.ndcg_by_answer.last().map_or(0.0, |n| n.iter().sum::<f64>() / n.len() as f64)
    }

    /// F1 of the latest plan (0 before any).
    pub fn f1(&self) -> f64 {
        self.f1_by_plan_round.last().copied().unwrap_or(0.0)
    }

    /// For each sub-need, the index of the first plan item standing for it.
    pub fn item_of_subneed(&self) -> Vec<Option<usize>> {
        self.facets.iter().map(|&f| self.plan.iter().position(|item| item.facet == Some(f))).collect()
    }
}

/// The facet a text names first (its keyword or a lexicon word), if any.
pub fn facet_named(text: &str) -> Option<usize> {
    words(text)
        .iter()
        .find_map(|w| FACETS.iter().position(|(keyword, lexicon)| keyword == w || lexicon.contains(&w.as_str())))
}

/// Parses `plan a; b; c` into items; `None` when it is not a plan or has an empty, too long or
/// quoted item, or too many items.
pub fn parse_plan(text: &str) -> Option<Vec<PlanItem>> {
    if text.len() > MAX_ACTION_CHARS {
        return None;
    }
    let text = text.trim();
    let (verb, rest) = text.split_once(char::is_whitespace)?;
    if !verb.eq_ignore_ascii_case("plan") {
        return None;
    }
    let items: Vec<&str> = rest.split(';').map(str::trim).filter(|s| !s.is_empty()).collect();
    let bad = |item: &&str| item.chars().count() > MAX_ITEM_CHARS || item.contains(['"', '\'']);
    if items.is_empty() || items.len() > MAX_PLAN_ITEMS || items.iter().any(bad) {
        return None;
    }
    Some(items.into_iter().map(|t| PlanItem { text: t.to_owned(), facet: facet_named(t) }).collect())
}

/// Parses `answer <ids> | <ids> | ...` into groups of document numbers (each 1–3 distinct ids).
pub fn parse_grouped_answer(text: &str) -> Option<Vec<Vec<u32>>> {
    if text.len() > MAX_ACTION_CHARS {
        return None;
    }
    let text = text.trim();
    let (verb, rest) = text.split_once(char::is_whitespace)?;
    if !verb.eq_ignore_ascii_case("answer") {
        return None;
    }
    rest.split('|')
        .map(|group| match parse_command(&format!("answer {}", group.trim())) {
            Some(Command::Answer(ids, _)) => Some(ids),
            _ => None,
        })
        .collect()
}

/// Decomposition F1 of a plan against the sub-needs: an item is a true positive when it stands
/// for a sub-need no earlier item stood for; every other item (no facet, a wrong facet, a
/// repeat) is extra.
pub fn decomposition_f1(plan: &[PlanItem], facets: &[usize]) -> f64 {
    let mut covered: Vec<usize> = Vec::new();
    for item in plan {
        if let Some(f) = item.facet
            && facets.contains(&f)
            && !covered.contains(&f)
        {
            covered.push(f);
        }
    }
    let hits = covered.len() as f64;
    if hits == 0.0 {
        return 0.0;
    }
    let precision = hits / plan.len() as f64;
    let recall = hits / facets.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

fn listing(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The user's critique of a plan. Names at most `leak` missed sub-needs (by facet keyword);
/// everything else it says is the agent's own items.
pub fn plan_critique(stages: &Stages, leak: usize) -> String {
    let mut parts = Vec::new();
    let mut confirmed: Vec<usize> = Vec::new();
    let mut order: Vec<(usize, &str)> = Vec::new();
    for item in &stages.plan {
        match item.facet {
            Some(f) if stages.facets.contains(&f) && !confirmed.contains(&f) => {
                confirmed.push(f);
                order.push((f, &item.text));
                parts.push(format!("Yes to '{}'.", item.text));
            }
            Some(f) if confirmed.contains(&f) => parts.push(format!("'{}' repeats an earlier part.", item.text)),
            _ => parts.push(format!("'{}' is not part of what I need.", item.text)),
        }
    }
    if let Some(pair) = order.windows(2).find(|w| w[0].0 > w[1].0) {
        parts.push(format!("Put '{}' before '{}'.", pair[1].1, pair[0].1));
    }
    let missed: Vec<&str> = stages.facets.iter().filter(|f| !confirmed.contains(f)).map(|&f| FACETS[f].0).collect();
    match missed.len() {
        0 => parts.push("That covers everything I need.".to_owned()),
        n => {
            let shown: Vec<&str> = missed.iter().copied().take(leak).collect();
            let parts_word = if n == 1 { "part" } else { "parts" };
            if shown.is_empty() {
                parts.push(format!("You missed {n} {parts_word} of what I need."));
            } else {
                parts.push(format!("You missed {n} {parts_word} of what I need, including {}.", listing(&shown)));
            }
        }
    }
    parts.join(" ")
}

/// The user's per-stage critique of an answer: for each plan item standing for a sub-need,
/// whether its documents are good enough, and which are not relevant (another topic) or off
/// the point (the topic, but not this sub-need); then, when leak allows, the audience or the
/// topic qualifier the answers missed.
pub fn answer_critique(
    collection: &Collection,
    need: &Need,
    stages: &Stages,
    groups: &[Vec<u32>],
    threshold: f64,
    leak: usize,
) -> String {
    let mut parts = Vec::new();
    let owner = stages.item_of_subneed();
    let mut wrong_topic = false;
    let mut wrong_audience = false;
    for (index, item) in stages.plan.iter().enumerate() {
        let Some(subneed) = owner.iter().position(|&o| o == Some(index)) else {
            parts.push(format!("'{}': not part of what I need.", item.text));
            continue;
        };
        let ndcg = stages.ndcg_by_answer.last().map_or(0.0, |n| n[subneed]);
        if ndcg >= threshold {
            parts.push(format!("'{}': good.", item.text));
            continue;
        }
        let grade_of = |doc: u32| {
            let qrels = &stages.qrels[subneed];
            qrels.binary_search_by_key(&doc, |&(d, _)| d).map_or(0, |i| qrels[i].1)
        };
        let ids = |grade: u8| -> Vec<String> {
            groups[index].iter().filter(|&&d| grade_of(d) == grade).map(|&d| collection::doc_id(d)).collect()
        };
        let (irrelevant, partial) = (ids(0), ids(1));
        wrong_topic |= !irrelevant.is_empty();
        let document = |d: u32| &collection.documents[d as usize];
        wrong_audience |= groups[index].iter().any(|&d| {
            document(d).topic == Some(need.topic) && document(d).facet == stages.facets[subneed] && grade_of(d) == 1
        });
        let mut text = format!("'{}':", item.text);
        let refs = |ids: &[String]| listing(&ids.iter().map(String::as_str).collect::<Vec<_>>());
        if !irrelevant.is_empty() {
            let _ = write!(text, " {} not relevant.", refs(&irrelevant));
        }
        if !partial.is_empty() {
            let _ = write!(text, " {} off the point.", refs(&partial));
        }
        if irrelevant.is_empty() && partial.is_empty() {
            text.push_str(" not enough good documents.");
        }
        parts.push(text);
    }
    let missing = owner.iter().filter(|o| o.is_none()).count();
    if missing > 0 {
        parts.push(if missing == 1 {
            "1 part of my need is still not covered.".to_owned()
        } else {
            format!("{missing} parts of my need are still not covered.")
        });
    }
    let topic = &collection.topics[need.topic];
    let mut candidates = Vec::new();
    if wrong_topic {
        candidates.push(topic.qualifier);
    }
    if wrong_audience && let Some(a) = need.audience {
        candidates.push(AUDIENCES[a]);
    }
    let leaked: Vec<&str> = candidates.into_iter().take(leak).collect();
    if !leaked.is_empty() {
        parts.push(format!("I mean {}.", listing(&leaked)));
    }
    parts.join(" ")
}

/// The hidden strings of a stage-wise episode: its sub-needs, with an id no text contains.
pub fn hidden_strings(need: &Need, stages: &Stages) -> Vec<String> {
    let id: String = stages.facets.iter().map(|f| format!("s{f}")).collect();
    let names: Vec<&str> = stages.facets.iter().map(|&f| FACETS[f].0).collect();
    vec![format!("sub-needs t{}{id}: {}", need.topic, names.join(" then "))]
}

/// Plan rounds and sub-need positions the metrics report (the config allows up to 3 of each).
pub const REPORTED: usize = 3;

const PLAN_F1: [&str; REPORTED] = ["plan_f1_round_0", "plan_f1_round_1", "plan_f1_round_2"];
const SUBNEED_NDCG: [&str; REPORTED] = ["subneed_0_ndcg_at_3", "subneed_1_ndcg_at_3", "subneed_2_ndcg_at_3"];

/// The metrics every stage-wise episode records (NExT-Search).
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::mean("plan_f1_round_0", "F1 of the first plan's decomposition into sub-needs (0 without a plan)"),
    MetricSpec::mean("plan_f1_round_1", "plan F1 after the second plan round, the last value carried forward"),
    MetricSpec::mean("plan_f1_round_2", "plan F1 after the third plan round, carried forward"),
    MetricSpec::mean("plans", "plans sent per episode"),
    MetricSpec::mean("subneed_0_ndcg_at_3", "final nDCG@3 of the first sub-need in dependency order"),
    MetricSpec::mean("subneed_1_ndcg_at_3", "final nDCG@3 of the second sub-need (episodes that have one)"),
    MetricSpec::mean("subneed_2_ndcg_at_3", "final nDCG@3 of the third sub-need (episodes that have one)"),
    MetricSpec::mean("final_ndcg_at_3", "the final answer's mean nDCG@3 over sub-needs (0 without an answer)"),
    MetricSpec::mean("answers", "answers given per episode"),
    MetricSpec::mean("answers_to_satisfaction", "answers until the user was satisfied (satisfied episodes only)"),
];

/// The metrics of one finished stage-wise episode.
pub fn episode_metrics(stages: &Stages, success: bool) -> EpisodeMetrics {
    let mut metrics = EpisodeMetrics::default();
    for (round, name) in PLAN_F1.iter().enumerate() {
        let f1 = stages.f1_by_plan_round.get(round).or(stages.f1_by_plan_round.last()).copied().unwrap_or(0.0);
        metrics.set(name, f1);
    }
    let last = stages.ndcg_by_answer.last();
    for (position, name) in SUBNEED_NDCG.iter().enumerate() {
        metrics.set_some(name, last.and_then(|answer| answer.get(position)).copied());
    }
    metrics
        .set("plans", stages.f1_by_plan_round.len() as f64)
        .set("final_ndcg_at_3", stages.mean_ndcg())
        .set("answers", stages.ndcg_by_answer.len() as f64)
        .set_some("answers_to_satisfaction", success.then_some(stages.ndcg_by_answer.len() as f64));
    metrics
}

/// Stage-wise metrics of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StagewiseMetrics {
    pub episodes: usize,
    /// Mean decomposition F1 after plan round r (carried forward when fewer plans were sent;
    /// 0 for an episode with no plan).
    pub f1_by_plan_round: Vec<f64>,
    /// Mean final nDCG@3 of the sub-need at dependency position p (over episodes that have one).
    pub ndcg_by_subneed: Vec<f64>,
    /// Mean over episodes of the final answer's mean nDCG@3 over sub-needs.
    pub mean_ndcg: f64,
    pub success_rate: f64,
    /// Mean answers until the user was satisfied, over satisfied episodes (`None` if none).
    pub rounds_to_satisfaction: Option<f64>,
}

impl StagewiseMetrics {
    /// `plan_rounds`: how many plan rounds to report (at most [`REPORTED`]).
    pub fn from_records(records: &[EpisodeRecord], plan_rounds: usize) -> Self {
        let with_metrics: Vec<&EpisodeRecord> =
            records.iter().filter(|r| r.metrics.get(PLAN_F1[0]).is_some()).collect();
        let episodes = with_metrics.len();
        let mean_of = |name: &str| {
            let values: Vec<f64> = with_metrics.iter().filter_map(|r| r.metrics.get(name)).collect();
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        };
        let satisfied = with_metrics.iter().filter(|r| r.success).count();
        Self {
            episodes,
            f1_by_plan_round: PLAN_F1[..plan_rounds.min(REPORTED)].iter().map(|n| mean_of(n).unwrap_or(0.0)).collect(),
            ndcg_by_subneed: SUBNEED_NDCG.iter().map(|n| mean_of(n).unwrap_or(0.0)).collect(),
            mean_ndcg: mean_of("final_ndcg_at_3").unwrap_or(0.0),
            success_rate: if episodes == 0 { 0.0 } else { satisfied as f64 / episodes as f64 },
            rounds_to_satisfaction: mean_of("answers_to_satisfaction"),
        }
    }
}
