//! Agents for `search_feedback-v0`, ConvSim's baselines without models:
//! - [`QueryOnly`]: BM25 on the user's initial query only; answers its top 3 every round.
//! - [`FeedbackAppend`]: BM25 on the initial query with the feedback's keywords appended
//!   (the Rocchio-style analog of ConvSim's feedback-aware rewriter: words of negated clauses,
//!   "I'm not asking about X", are left out).
//! - [`ClarifyFirst`]: searches once, asks a clarifying question naming the senses, facets and
//!   audiences seen in the results, then searches with the answer; later rounds as
//!   [`FeedbackAppend`].
//! - [`RandomSearcher`]: seeded random actions (well-formed and malformed).
//!
//! All are stateless: they re-read the transcript (the initial query from the prompt, the
//! user's utterances, the last results), so an action depends only on the view.

use rand::RngExt;
use sim_core::seed::stream_indexed;
use sim_core::{Action, AgentView, Kind, PerViewAgent, Transcript};

use crate::search_stagewise::{StagewisePlanner, is_stagewise};
pub use crate::search_transcript::{initial_query, user_utterances};

/// Words of the user's templates that carry no information about the need.
const TEMPLATE_WORDS: [&str; 45] = [
    "i",
    "im",
    "mean",
    "want",
    "after",
    "think",
    "yes",
    "and",
    "for",
    "that",
    "thats",
    "is",
    "not",
    "relevant",
    "to",
    "my",
    "question",
    "no",
    "what",
    "meant",
    "closer",
    "nearly",
    "but",
    "someone",
    "like",
    "me",
    "situation",
    "too",
    "vague",
    "please",
    "be",
    "more",
    "specific",
    "any",
    "audience",
    "fine",
    "looking",
    "great",
    "answers",
    "thanks",
    "was",
    "it",
    "of",
    "or",
    "about",
];

/// The informative words of a user utterance: template words and clauses with "not" dropped.
pub fn feedback_keywords(utterance: &str) -> Vec<String> {
    let mut out = Vec::new();
    for clause in utterance.split(['.', ',', ';', '!', '?']) {
        let words = envs::text::words(clause);
        if words.iter().any(|w| w == "not") {
            continue;
        }
        out.extend(words.into_iter().filter(|w| !TEMPLATE_WORDS.contains(&w.as_str())));
    }
    out
}

/// One result line: document id and title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultLine {
    pub id: String,
    pub title: String,
}

/// The results shown by the newest search, if the newest observation is one.
pub fn last_results(transcript: &Transcript) -> Option<Vec<ResultLine>> {
    let last = transcript.entries().last()?;
    if !last.text.starts_with("Results for") {
        return None;
    }
    Some(parse_results(&last.text))
}

fn parse_results(text: &str) -> Vec<ResultLine> {
    text.lines()
        .filter_map(|line| {
            let start = line.find(". [")? + 3;
            let end = line[start..].find(']')? + start;
            let title = line[end + 1..].split(" | ").next().unwrap_or_default().trim().to_owned();
            Some(ResultLine { id: line[start..end].to_owned(), title })
        })
        .collect()
}

/// The first three results as an answer (`answer d0` when there are none).
fn answer_top3(results: &[ResultLine]) -> Action {
    if results.is_empty() {
        return Action::fixed("answer d0");
    }
    let ids: Vec<&str> = results.iter().take(3).map(|r| r.id.as_str()).collect();
    Action::from(format!("answer {}", ids.join(",")))
}

/// The initial query with the keywords of every user utterance appended (each word once).
pub fn expanded_query(transcript: &Transcript) -> String {
    let mut query = envs::text::words(&initial_query(transcript));
    for utterance in user_utterances(transcript) {
        for word in feedback_keywords(utterance) {
            if !query.contains(&word) {
                query.push(word);
            }
        }
    }
    query.join(" ")
}

fn searched_yet(transcript: &Transcript) -> bool {
    transcript.entries().iter().any(|e| e.kind == Kind::Action && e.text.starts_with("search "))
}

/// BM25 on the initial query only: one search, then its top 3 in every round.
#[derive(Debug, Default, Clone)]
pub struct QueryOnly;

impl QueryOnly {
    pub fn new() -> Self {
        Self
    }

    fn next(view: &AgentView<'_>) -> Action {
        let transcript = view.transcript;
        if !searched_yet(transcript) {
            return Action::from(format!("search {}", initial_query(transcript)));
        }
        let first = transcript.entries().iter().find(|e| e.text.starts_with("Results for")).map(|e| &e.text);
        answer_top3(&first.map(|text| parse_results(text)).unwrap_or_default())
    }
}

impl PerViewAgent for QueryOnly {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Self::next(view)
    }
}

/// BM25 with the feedback's keywords appended: each round searches the expanded query and
/// answers its top 3.
#[derive(Debug, Default, Clone)]
pub struct FeedbackAppend;

impl FeedbackAppend {
    pub fn new() -> Self {
        Self
    }

    fn next(view: &AgentView<'_>) -> Action {
        if is_stagewise(view.transcript) {
            return StagewisePlanner::next(view, true);
        }
        match last_results(view.transcript) {
            Some(results) => answer_top3(&results),
            None => Action::from(format!("search {}", expanded_query(view.transcript))),
        }
    }
}

impl PerViewAgent for FeedbackAppend {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Self::next(view)
    }
}

/// The options a clarifying question offers, read from result titles
/// ("Jaguar car: price guide for families"): senses, facets and audiences, in rank order.
pub fn clarifying_question(results: &[ResultLine]) -> String {
    let mut senses: Vec<&str> = Vec::new();
    let mut facets: Vec<&str> = Vec::new();
    let mut audiences: Vec<&str> = Vec::new();
    for result in results {
        let Some((subject, rest)) = result.title.split_once(": ") else { continue };
        if let Some(sense) = subject.split_whitespace().nth(1)
            && !senses.contains(&sense)
        {
            senses.push(sense);
        }
        if let Some(facet) = rest.split_whitespace().next()
            && !facets.contains(&facet)
        {
            facets.push(facet);
        }
        if let Some((_, audience)) = rest.rsplit_once(" for ")
            && !audiences.contains(&audience)
        {
            audiences.push(audience);
        }
    }
    let options = |items: &[&str]| match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    };
    let mut question = String::new();
    if !senses.is_empty() {
        question.push_str(&format!("Do you mean the {}? ", options(&senses)));
    }
    if !facets.is_empty() {
        question.push_str(&format!("Is it about {}? ", options(&facets)));
    }
    if !audiences.is_empty() {
        question.push_str(&format!("Is it for {}?", options(&audiences)));
    }
    if question.is_empty() { "What exactly are you looking for?".to_owned() } else { question.trim().to_owned() }
}

/// Clarifies first: search the initial query, ask about the options its results show, search
/// again with the answer's keywords, answer; later rounds as [`FeedbackAppend`].
#[derive(Debug, Default, Clone)]
pub struct ClarifyFirst;

impl ClarifyFirst {
    pub fn new() -> Self {
        Self
    }

    fn next(view: &AgentView<'_>) -> Action {
        let transcript = view.transcript;
        let asked = transcript.entries().iter().any(|e| e.kind == Kind::Action && e.text.starts_with("ask_clarify"));
        match last_results(transcript) {
            Some(results) if !asked => Action::from(format!("ask_clarify {}", clarifying_question(&results))),
            Some(results) => answer_top3(&results),
            None if !searched_yet(transcript) => Action::from(format!("search {}", initial_query(transcript))),
            None => Action::from(format!("search {}", expanded_query(transcript))),
        }
    }
}

impl PerViewAgent for ClarifyFirst {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Self::next(view)
    }
}

/// Uniformly random actions from the episode's `random-searcher` stream (one draw per turn):
/// searches and questions from a small word bank, answers of random shown or unknown ids, and
/// some malformed text.
#[derive(Debug, Default, Clone)]
pub struct RandomSearcher;

impl RandomSearcher {
    pub fn new() -> Self {
        Self
    }

    const WORDS: [&'static str; 12] =
        ["jaguar", "python", "price", "history", "safety", "car", "snake", "river", "care", "events", "for", "reviews"];

    fn next(view: &AgentView<'_>) -> Action {
        let mut rng = stream_indexed(view.episode.seed, "random-searcher", u64::from(view.turn));
        let word = |rng: &mut sim_core::seed::StreamRng| Self::WORDS[rng.random_range(0..Self::WORDS.len())];
        if is_stagewise(view.transcript) {
            return Self::next_stagewise(&mut rng, word);
        }
        match rng.random_range(0..6) {
            0 | 1 => {
                let (a, b) = (word(&mut rng), word(&mut rng));
                Action::from(format!("search {a} {b}"))
            }
            2 => Action::from(format!("ask_clarify Is it about {}?", word(&mut rng))),
            3 | 4 => {
                let ids: Vec<String> = (0..3).map(|_| format!("d{}", rng.random_range(0..1_300))).collect();
                Action::from(format!("answer {}", ids.join(",")))
            }
            _ => Action::fixed("show me everything"),
        }
    }
}

impl RandomSearcher {
    /// Stage-wise mode: random plans of 1–3 bank words, searches, grouped answers of 1–3
    /// groups of random ids, and malformed text.
    fn next_stagewise(
        rng: &mut sim_core::seed::StreamRng,
        word: impl Fn(&mut sim_core::seed::StreamRng) -> &'static str,
    ) -> Action {
        match rng.random_range(0..6) {
            0 => {
                let items: Vec<&str> = (0..rng.random_range(1..=3)).map(|_| word(rng)).collect();
                Action::from(format!("plan {}", items.join("; ")))
            }
            1 | 2 => {
                let (a, b) = (word(rng), word(rng));
                Action::from(format!("search {a} {b}"))
            }
            3 | 4 => {
                let groups: Vec<String> = (0..rng.random_range(1..=3))
                    .map(|_| {
                        let ids: Vec<String> =
                            (0..rng.random_range(1..=3)).map(|_| format!("d{}", rng.random_range(0..1_300))).collect();
                        ids.join(",")
                    })
                    .collect();
                Action::from(format!("answer {}", groups.join(" | ")))
            }
            _ => Action::fixed("show me everything"),
        }
    }
}

impl PerViewAgent for RandomSearcher {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Self::next(view)
    }
}
