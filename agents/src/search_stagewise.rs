//! Agents for the stage-wise (NExT-Search) mode of `search_feedback-v0`:
//! - [`StagewisePlanner`] with `replan: true` (`stagewise_planner`): plans the sub-need the
//!   opening query hints at, then re-plans from the critique (drops items the user rejects, adds
//!   the missed parts it names, orders items by the facet table's dependency order); retrieval
//!   per plan item is feedback-append BM25 (head word, item, the words the user revealed),
//!   leaving out every document the user called not relevant or off the point.
//! - The same with `replan: false` (`stagewise_no_replan`): keeps its first plan.
//!
//! Stateless: every action is read off the transcript.

use envs::search_feedback::collection::FACETS;
use envs::search_feedback::stagewise::facet_named;
use sim_core::{Action, AgentView, Kind, PerViewAgent, Transcript};

pub use crate::search_transcript::is_stagewise;
use crate::search_transcript::{initial_query, user_utterances};

/// The items of the agent's latest `plan` action.
fn latest_plan(transcript: &Transcript) -> Option<Vec<String>> {
    let plan = transcript.entries().iter().rev().find(|e| e.kind == Kind::Action && e.text.starts_with("plan "))?;
    Some(plan.text["plan ".len()..].split(';').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
}

/// The quoted user words of the newest observation, if it is the user's.
fn last_user_words(transcript: &Transcript) -> Option<&str> {
    let last = transcript.entries().last()?;
    let start = last.text.find("User: \"")? + "User: \"".len();
    let end = last.text[start..].find('"')? + start;
    (last.kind != Kind::Action).then(|| &last.text[start..end])
}

/// The plan revised by a critique: items the user rejected or called repeats are dropped,
/// the missed parts it names ("including X and Y") are added, and items are put in the
/// facet table's order (the env's dependency order).
pub fn revise_plan(plan: &[String], critique: &str) -> Vec<String> {
    let mut items: Vec<String> = plan
        .iter()
        .filter(|item| {
            !critique.contains(&format!("'{item}' is not part")) && !critique.contains(&format!("'{item}' repeats"))
        })
        .cloned()
        .collect();
    if let Some(start) = critique.find("including ") {
        let named = &critique[start + "including ".len()..];
        let named = named.split('.').next().unwrap_or_default();
        for word in named.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty() && *w != "and") {
            if !items.iter().any(|i| i == word) {
                items.push(word.to_owned());
            }
        }
    }
    items.sort_by_key(|item| facet_named(item).unwrap_or(FACETS.len()));
    items
}

/// Document ids the user complained about in any utterance.
fn rejected_documents(transcript: &Transcript) -> Vec<String> {
    let mut out = Vec::new();
    for utterance in user_utterances(transcript) {
        for token in utterance.split(|c: char| !c.is_alphanumeric()) {
            if token.len() > 1 && token.starts_with('d') && token[1..].bytes().all(|b| b.is_ascii_digit()) {
                out.push(token.to_owned());
            }
        }
    }
    out
}

/// The words the user revealed with "I mean ...".
fn revealed_words(transcript: &Transcript) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for utterance in user_utterances(transcript) {
        for sentence in utterance.split('.') {
            if let Some(rest) = sentence.trim().strip_prefix("I mean ") {
                for word in envs::text::words(rest) {
                    if word != "and" && !out.contains(&word) {
                        out.push(word);
                    }
                }
            }
        }
    }
    out
}

/// Plans, re-plans (or not) and answers per plan item; see the module docs.
#[derive(Debug, Clone)]
pub struct StagewisePlanner {
    pub replan: bool,
}

impl StagewisePlanner {
    pub fn new(replan: bool) -> Self {
        Self { replan }
    }

    /// The next action of a stage-wise episode.
    pub fn next(view: &AgentView<'_>, replan: bool) -> Action {
        let transcript = view.transcript;
        let query = initial_query(transcript);
        let Some(plan) = latest_plan(transcript) else {
            let first = facet_named(&query).map_or_else(
                || query.split_whitespace().nth(1).unwrap_or("overview").to_owned(),
                |f| FACETS[f].0.to_owned(),
            );
            return Action::from(format!("plan {first}"));
        };
        let last_action = transcript.entries().iter().rev().find(|e| e.kind == Kind::Action);
        let just_planned = last_action.is_some_and(|a| a.text.starts_with("plan "));
        if replan
            && just_planned
            && let Some(critique) = last_user_words(transcript)
        {
            let can_replan = transcript.entries().last().is_some_and(|e| e.text.contains(" re-plans left"))
                && !transcript.entries().last().is_some_and(|e| e.text.contains(" 0 re-plans left"));
            let revised = revise_plan(&plan, critique);
            if can_replan && !revised.is_empty() && revised != plan {
                return Action::from(format!("plan {}", revised.join("; ")));
            }
        }
        // Searches since the latest plan or answer, with the results each one showed.
        let entries = transcript.entries();
        let since = entries
            .iter()
            .rposition(|e| e.kind == Kind::Action && (e.text.starts_with("plan ") || e.text.starts_with("answer ")))
            .map_or(0, |i| i + 1);
        let mut results = Vec::new();
        for (i, entry) in entries.iter().enumerate().skip(since) {
            if entry.kind == Kind::Action
                && entry.text.starts_with("search ")
                && let Some(next) = entries.get(i + 1)
                && next.text.starts_with("Results for")
            {
                results.push(&next.text);
            }
        }
        if results.len() < plan.len() {
            let head = query.split_whitespace().next().unwrap_or_default();
            let mut words = vec![head.to_owned()];
            for word in envs::text::words(&plan[results.len()]).into_iter().chain(revealed_words(transcript)) {
                if !words.contains(&word) {
                    words.push(word);
                }
            }
            return Action::from(format!("search {}", words.join(" ")));
        }
        let rejected = rejected_documents(transcript);
        let groups: Vec<String> = results
            .iter()
            .map(|text| {
                let ids: Vec<String> = text
                    .lines()
                    .filter_map(|line| {
                        let start = line.find(". [")? + 3;
                        let end = line[start..].find(']')? + start;
                        Some(line[start..end].to_owned())
                    })
                    .filter(|id| !rejected.contains(id))
                    .take(3)
                    .collect();
                if ids.is_empty() { "d0".to_owned() } else { ids.join(",") }
            })
            .collect();
        Action::from(format!("answer {}", groups.join(" | ")))
    }
}

impl PerViewAgent for StagewisePlanner {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Self::next(view, self.replan)
    }
}
