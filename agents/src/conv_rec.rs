//! Agents for `conv_rec-v0`. They know the public catalogue (named in the opening prompt) and
//! rebuild the conversation's state from the transcript each turn.
//!
//! - [`AlwaysRecommend`]: recommends the first 10 items consistent with the opening attribute
//!   and not yet rejected, every turn.
//! - [`MaxEntropy`] (EAR-style): candidates are the items holding every accepted attribute (the
//!   source's rule: only accepted attributes narrow the set), minus rejected items; asks the
//!   not-yet-asked attribute, from the whole taxonomy, whose yes/no split of the candidates has
//!   the highest entropy; recommends when at most 10 candidates remain or on the last turn.
//! - [`GraphPruned`] (CPR-style): walks the user–item–attribute graph: candidates also lose the
//!   items holding a denied attribute, and only attributes adjacent to the remaining candidates
//!   are askable (the one with the highest entropy is asked); recommends under the same rule.
//! - [`Cycling`]: alternates a fixed question and a list (the cheap agent of `bench`).

use std::sync::Arc;

use envs::conv_rec::{ConvCatalogue, PARENTS, WORDS};
use sim_core::{Action, AgentView, Kind, PerViewAgent};

/// What the transcript says so far.
#[derive(Debug, Default, Clone)]
pub struct Conversation {
    pub catalogue: Option<Arc<ConvCatalogue>>,
    pub max_turns: u32,
    pub list_size: usize,
    pub accepted: Vec<u16>,
    pub denied: Vec<u16>,
    pub asked: Vec<u16>,
    pub rejected_items: Vec<u32>,
}

fn number_after(text: &str, marker: &str) -> Option<u64> {
    text.split(marker).nth(1)?.split(|c: char| !c.is_ascii_digit()).find(|s| !s.is_empty())?.parse().ok()
}

impl Conversation {
    /// Reads the prompt and every exchange.
    pub fn read(view: &AgentView<'_>) -> Self {
        let entries = view.transcript.entries();
        let mut state = Self { max_turns: view.spec.max_turns, list_size: 10, ..Self::default() };
        let Some(prompt) = entries.first() else { return state };
        let (Some(seed), Some(items), Some(attributes)) = (
            number_after(&prompt.text, "(seed "),
            number_after(&prompt.text, " with "),
            number_after(&prompt.text, " items and "),
        ) else {
            return state;
        };
        // "<fewest> to <most> per item" (absent in transcripts of older versions: 3 to 8).
        let per_item = prompt
            .text
            .split(" attributes, ")
            .nth(1)
            .and_then(|rest| rest.split(" per item").next())
            .and_then(|range| range.split_once(" to "))
            .and_then(|(fewest, most)| Some((fewest.parse().ok()?, most.parse().ok()?)))
            .unwrap_or((3, 8));
        let catalogue = ConvCatalogue::shared(seed, items as u32, attributes as u32, per_item);
        state.list_size = number_after(&prompt.text, "(at most ").unwrap_or(10) as usize;
        if let Some(opening) = prompt.text.split("something with ").nth(1).and_then(|s| s.split(".\"").next())
            && let Some(a) = catalogue.attribute(opening)
        {
            state.accepted.push(a);
            state.asked.push(a);
        }
        for pair in entries[1..].chunks_exact(2) {
            let (action, reply) = (&pair[0].text, &pair[1].text);
            if pair[1].kind == Kind::Admin {
                continue;
            }
            let (verb, rest) = action.trim().split_once(' ').unwrap_or((action.trim(), ""));
            match verb {
                "ask" => {
                    if let Some(a) = catalogue.attribute(rest.trim()) {
                        state.asked.push(a);
                        if reply.starts_with("User: \"Yes") {
                            state.accepted.push(a);
                        } else if reply.starts_with("User: \"No") {
                            state.denied.push(a);
                        }
                    }
                }
                "ask_group" => {
                    if let Some(parent) = ConvCatalogue::parent(rest.trim()) {
                        for child in (parent..catalogue.attribute_names.len()).step_by(PARENTS.len()) {
                            let child = child as u16;
                            state.asked.push(child);
                            if reply.contains(&format!("{},", catalogue.attribute_names[child as usize]))
                                || reply.contains(&format!("{}.", catalogue.attribute_names[child as usize]))
                            {
                                state.accepted.push(child);
                            } else {
                                state.denied.push(child);
                            }
                        }
                    }
                }
                "recommend" => state
                    .rejected_items
                    .extend(rest.split(|c: char| c == ',' || c.is_whitespace()).filter_map(|t| catalogue.item(t))),
                _ => {}
            }
        }
        state.catalogue = Some(catalogue);
        state
    }

    /// Candidates: items with every accepted attribute, not rejected, and (with `prune`) none of
    /// the denied attributes.
    pub fn candidates(&self, prune: bool) -> Vec<u32> {
        let Some(catalogue) = &self.catalogue else { return Vec::new() };
        let pool: Vec<u32> = match self.accepted.first() {
            Some(&a) => catalogue.holders[a as usize].clone(),
            None => (0..catalogue.item_attributes.len() as u32).collect(),
        };
        pool.into_iter()
            .filter(|&item| {
                self.accepted.iter().all(|&a| catalogue.has(item, a))
                    && !self.rejected_items.contains(&item)
                    && (!prune || !self.denied.iter().any(|&a| catalogue.has(item, a)))
            })
            .collect()
    }

    fn recommend(&self, candidates: &[u32]) -> Action {
        let ids: Vec<String> = candidates.iter().take(self.list_size).map(|i| format!("v{i}")).collect();
        Action::from(format!("recommend {}", ids.join(", ")))
    }

    /// The unasked attribute with the highest split entropy over `candidates`, among `options`
    /// (the first in `options` order on ties).
    fn max_entropy(&self, candidates: &[u32], options: impl Iterator<Item = u16>) -> Option<u16> {
        let catalogue = self.catalogue.as_ref()?;
        let n = candidates.len() as f64;
        // Holders of each attribute among the candidates, counted from the items' attribute lists.
        let mut holders = vec![0u32; catalogue.attribute_names.len()];
        for &item in candidates {
            for &a in &catalogue.item_attributes[item as usize] {
                holders[a as usize] += 1;
            }
        }
        let mut best: Option<(f64, u16)> = None;
        for a in options {
            if self.asked.contains(&a) {
                continue;
            }
            let yes = f64::from(holders[a as usize]);
            let p = yes / n;
            let entropy = if p <= 0.0 || p >= 1.0 { 0.0 } else { -(p * p.log2() + (1.0 - p) * (1.0 - p).log2()) };
            if best.is_none_or(|(e, _)| entropy > e) {
                best = Some((entropy, a));
            }
        }
        best.map(|(_, a)| a)
    }
}

/// Recommends every turn.
#[derive(Debug, Default, Clone)]
pub struct AlwaysRecommend;

impl PerViewAgent for AlwaysRecommend {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let state = Conversation::read(view);
        state.recommend(&state.candidates(false))
    }
}

fn asker(view: &AgentView<'_>, prune: bool) -> Action {
    let state = Conversation::read(view);
    let Some(catalogue) = state.catalogue.clone() else { return Action::fixed("recommend v0") };
    let candidates = state.candidates(prune);
    let last_turn = view.turn + 1 >= state.max_turns;
    if candidates.len() <= state.list_size || last_turn {
        return state.recommend(&candidates);
    }
    let choice = if prune {
        // Only attributes adjacent to the remaining candidates.
        let mut adjacent: Vec<u16> =
            candidates.iter().flat_map(|&item| catalogue.item_attributes[item as usize].iter().copied()).collect();
        adjacent.sort_unstable();
        adjacent.dedup();
        state.max_entropy(&candidates, adjacent.into_iter())
    } else {
        state.max_entropy(&candidates, 0..catalogue.attribute_names.len() as u16)
    };
    match choice {
        Some(a) => Action::from(format!("ask {}", catalogue.attribute_names[a as usize])),
        None => state.recommend(&candidates),
    }
}

/// EAR-style max-entropy asking, then recommending.
#[derive(Debug, Default, Clone)]
pub struct MaxEntropy;

impl PerViewAgent for MaxEntropy {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        asker(view, false)
    }
}

/// CPR-style graph-pruned asking, then recommending.
#[derive(Debug, Default, Clone)]
pub struct GraphPruned;

impl PerViewAgent for GraphPruned {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        asker(view, true)
    }
}

/// Alternates `ask <parent>/<word>` and a list of 10 ids by turn: the cheap agent of `bench`.
#[derive(Debug, Default, Clone)]
pub struct Cycling;

impl PerViewAgent for Cycling {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let t = view.turn as usize + view.episode.index as usize;
        if t.is_multiple_of(2) {
            Action::from(format!("ask {}/{}", PARENTS[t % PARENTS.len()], WORDS[(t / 12) % 10]))
        } else {
            let start = (t * 10) % 400;
            let ids: Vec<String> = (start..start + 10).map(|i| format!("v{i}")).collect();
            Action::from(format!("recommend {}", ids.join(", ")))
        }
    }
}
