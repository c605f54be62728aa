//! The rule-based simulated user of `search_feedback-v0` (ConvSim's two roles, without an LLM).
//!
//! - It **judges an answer** by nDCG@3 against the hidden qrels; below the threshold it
//!   diagnoses the top 3 and gives ConvSim's kinds of feedback: wrong topic ("that's not
//!   relevant"), wrong facet ("I'm not asking about X, I want Y"), right topic and facet but not
//!   for the user's audience, and mixed ("too vague").
//! - It **answers clarifying questions** from the need: it confirms what the question names
//!   correctly, rejects what it names wrongly, and pushes back on a question that names nothing
//!   of the need.
//!
//! Invariant (checked by the env's leak test): an utterance contains at most `leak` of the
//! need's informative words ([`informative_words`]) that were not already in the user's
//! initial query or in the agent's action it answers. With `leak = 0` the user only diagnoses.

use rand::RngExt;
use sim_core::seed::StreamRng;

use super::collection::{AUDIENCES, Collection, Document, FACETS, Need};
use crate::text::words;

/// What was wrong with an answer (or that it was good enough).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Diagnosis {
    Satisfied,
    /// None of the top 3 is on the need's topic.
    WrongTopic,
    /// All on topic, none on the need's facet; `shown` is the facet most of them are about.
    WrongFacet {
        shown: usize,
    },
    /// Right topic and facet, but written for another audience than the user's.
    WrongAudience,
    /// A mix of right and wrong documents (or fewer than 3).
    TooVague,
}

impl Diagnosis {
    pub fn label(self) -> &'static str {
        match self {
            Diagnosis::Satisfied => "satisfied",
            Diagnosis::WrongTopic => "wrong_topic",
            Diagnosis::WrongFacet { .. } => "wrong_facet",
            Diagnosis::WrongAudience => "wrong_audience",
            Diagnosis::TooVague => "too_vague",
        }
    }
}

/// How the user took a clarifying question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClarifyVerdict {
    /// It named at least one right part of the need (topic, facet or audience).
    OnTarget,
    /// It named only wrong alternatives.
    OffTarget,
    /// It named nothing the user can relate to the need.
    Irrelevant,
}

/// The need's words a user could reveal: the topic's qualifier and words, the facet's keyword
/// and lexicon, the audience. The head word is not among them (the initial query says it).
pub fn informative_words(collection: &Collection, need: &Need) -> Vec<&'static str> {
    let topic = &collection.topics[need.topic];
    let (keyword, lexicon) = FACETS[need.facet];
    let mut out = vec![topic.qualifier];
    out.extend(topic.words);
    out.push(keyword);
    out.extend(lexicon);
    out.extend(need.audience.map(|a| AUDIENCES[a]));
    out
}

/// The user's opening query: the ambiguous head word and one word hinting at the facet.
pub fn initial_query(rng: &mut StreamRng, collection: &Collection, need: &Need) -> String {
    let head = collection.topics[need.topic].head;
    let lexicon = FACETS[need.facet].1;
    format!("{head} {}", lexicon[rng.random_range(0..lexicon.len())])
}

/// Diagnoses the presented documents (at most 3) against the need; `satisfied` is whether
/// their nDCG@3 reached the threshold.
pub fn diagnose(documents: &[&Document], need: &Need, satisfied: bool) -> Diagnosis {
    if satisfied {
        return Diagnosis::Satisfied;
    }
    let on_topic: Vec<&&Document> = documents.iter().filter(|d| d.topic == Some(need.topic)).collect();
    if on_topic.is_empty() {
        return Diagnosis::WrongTopic;
    }
    let complete = documents.len() >= 3 && on_topic.len() == documents.len();
    if complete && on_topic.iter().all(|d| d.facet != need.facet) {
        let mut counts = [0usize; FACETS.len()];
        for d in &on_topic {
            counts[d.facet] += 1;
        }
        let most = counts.iter().max().copied().unwrap_or(0);
        let shown = counts.iter().position(|&c| c == most).unwrap_or(0);
        return Diagnosis::WrongFacet { shown };
    }
    if complete && on_topic.iter().all(|d| d.facet == need.facet) {
        return Diagnosis::WrongAudience;
    }
    Diagnosis::TooVague
}

/// The words the user may leak for a diagnosis, most informative first.
fn leak_candidates(collection: &Collection, need: &Need, diagnosis: Diagnosis) -> Vec<&'static str> {
    let topic = &collection.topics[need.topic];
    let (keyword, lexicon) = FACETS[need.facet];
    let audience = need.audience.map(|a| AUDIENCES[a]);
    match diagnosis {
        Diagnosis::Satisfied => Vec::new(),
        Diagnosis::WrongTopic => vec![topic.qualifier, topic.words[0], topic.words[1]],
        Diagnosis::WrongFacet { .. } => vec![keyword, lexicon[0], lexicon[1]],
        Diagnosis::WrongAudience => [audience, Some(keyword), Some(topic.qualifier)].into_iter().flatten().collect(),
        Diagnosis::TooVague => {
            [Some(topic.qualifier), Some(keyword), audience, Some(lexicon[0])].into_iter().flatten().collect()
        }
    }
}

/// "a", "a and b", "a, b and c".
fn listing(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The user's words on an unsatisfying answer (or the closing thanks).
pub fn feedback(
    rng: &mut StreamRng,
    collection: &Collection,
    need: &Need,
    diagnosis: Diagnosis,
    leak: usize,
) -> String {
    let leaked: Vec<&str> = leak_candidates(collection, need, diagnosis).into_iter().take(leak).collect();
    let variant = rng.random_range(0..2);
    let said = listing(&leaked);
    match diagnosis {
        Diagnosis::Satisfied => {
            if variant == 0 { "Thanks, that is what I was looking for." } else { "Great, that answers my question." }
                .to_owned()
        }
        Diagnosis::WrongTopic => {
            let base =
                if variant == 0 { "That's not relevant to my question." } else { "No, that is not what I meant." };
            if leaked.is_empty() { base.to_owned() } else { format!("{base} I mean the {said}.") }
        }
        Diagnosis::WrongFacet { shown } => {
            let shown = FACETS[shown].0;
            if leaked.is_empty() {
                format!("I'm not asking about {shown}.")
            } else {
                format!("I'm not asking about {shown}, I want {said}.")
            }
        }
        Diagnosis::WrongAudience => {
            let base =
                if variant == 0 { "Closer, but not for someone like me." } else { "Nearly, but not for my situation." };
            if leaked.is_empty() { base.to_owned() } else { format!("{base} Think {said}.") }
        }
        Diagnosis::TooVague => {
            let base = if variant == 0 { "That's too vague." } else { "Too vague, please be more specific." };
            if leaked.is_empty() { base.to_owned() } else { format!("{base} I'm after {said}.") }
        }
    }
}

/// The user's answer to a clarifying question, and how it took the question.
pub fn answer_clarification(
    collection: &Collection,
    need: &Need,
    question: &str,
    leak: usize,
) -> (ClarifyVerdict, String) {
    let asked = words(question);
    let named = |word: &str| asked.iter().any(|w| w == word);
    let topic = &collection.topics[need.topic];
    let (keyword, lexicon) = FACETS[need.facet];

    let right_topic: Vec<&str> = std::iter::once(topic.qualifier).chain(topic.words).filter(|w| named(w)).collect();
    let wrong_topic: Vec<&str> = collection
        .topics
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != need.topic)
        .map(|(_, t)| t.qualifier)
        .filter(|w| named(w))
        .collect();
    let right_facet: Vec<&str> = std::iter::once(keyword).chain(lexicon).filter(|w| named(w)).collect();
    let wrong_facet: Vec<&str> =
        FACETS.iter().enumerate().filter(|&(i, _)| i != need.facet).map(|(_, f)| f.0).filter(|w| named(w)).collect();
    let right_audience: Vec<&str> = need.audience.map(|a| AUDIENCES[a]).into_iter().filter(|w| named(w)).collect();
    let wrong_audience: Vec<&str> = AUDIENCES
        .iter()
        .enumerate()
        .filter(|&(i, _)| Some(i) != need.audience)
        .map(|(_, a)| *a)
        .filter(|w| named(w))
        .collect();

    let mut parts = Vec::new();
    let mut confirmed = 0;
    let mut rejected = 0;
    for (right, wrong) in [(&right_topic, &wrong_topic), (&right_facet, &wrong_facet)] {
        if !right.is_empty() {
            parts.push(format!("Yes, {}.", listing(right)));
            confirmed += 1;
        } else if !wrong.is_empty() {
            parts.push(format!("Not {}.", listing(wrong)));
            rejected += 1;
        }
    }
    if !right_audience.is_empty() {
        parts.push(format!("Yes, for {}.", listing(&right_audience)));
        confirmed += 1;
    } else if !wrong_audience.is_empty() {
        if need.audience.is_none() {
            parts.push("Any audience is fine.".to_owned());
            confirmed += 1;
        } else {
            parts.push(format!("Not for {}.", listing(&wrong_audience)));
            rejected += 1;
        }
    }
    let verdict = match (confirmed, rejected) {
        (0, 0) => ClarifyVerdict::Irrelevant,
        (0, _) => ClarifyVerdict::OffTarget,
        _ => ClarifyVerdict::OnTarget,
    };

    // Leak: need words the question did not name, from the dimensions not yet confirmed.
    let topic_open = right_topic.is_empty();
    let facet_open = right_facet.is_empty();
    let audience_open = right_audience.is_empty();
    let mut candidates = Vec::new();
    if topic_open {
        candidates.push(topic.qualifier);
    }
    if facet_open {
        candidates.push(keyword);
    }
    if audience_open && let Some(a) = need.audience {
        candidates.push(AUDIENCES[a]);
    }
    let leaked: Vec<&str> = candidates.into_iter().filter(|w| !named(w)).take(leak).collect();

    let mut text = match verdict {
        ClarifyVerdict::Irrelevant => "That's not relevant to what I'm looking for.".to_owned(),
        _ => parts.join(" "),
    };
    if !leaked.is_empty() {
        text.push_str(&format!(" I mean {}.", listing(&leaked)));
    }
    (verdict, text)
}
