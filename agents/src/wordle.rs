//! Agents for `wordle-v0`: a random guesser, the greedy information-gain expert, LMRL-Gym's
//! dataset behaviour policy (66% random word, 34% a word consistent with the feedback so far),
//! and a cheap cycling guesser for benchmarks.
//!
//! All of them are stateless in what they decide: they re-read the episode's transcript (the
//! prompt says which feedback rule is played; each valid guess is followed by its marks), and
//! draw randomness from streams of the episode seed, one per turn.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use envs::wordle::{
    PATTERNS, Pattern, RepeatedLetters, WORD_LENGTH, Word, feedback_letters, parse_guess, parse_pattern,
    rule_from_prompt, word_lists,
};
use rand::RngExt;
use sim_core::seed::stream_indexed;
use sim_core::{Action, AgentView, Kind, PerViewAgent};

/// The valid guesses of an episode so far and their marks, read from the transcript, and the
/// rule the prompt announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub rule: RepeatedLetters,
    pub guesses: Vec<(Word, Pattern)>,
}

impl History {
    /// Reads the transcript: refused guesses (answered by an admin message) carry no marks and
    /// are skipped.
    pub fn read(view: &AgentView<'_>) -> Self {
        let entries = view.transcript.entries();
        let rule = entries.first().map_or(RepeatedLetters::Lmrl, |prompt| rule_from_prompt(&prompt.text));
        let guesses = entries
            .iter()
            .zip(entries.iter().skip(1))
            .filter(|(action, reply)| action.kind == Kind::Action && reply.kind == Kind::Observation)
            .filter_map(|(action, reply)| Some((parse_guess(&action.text).ok()?, parse_pattern(&reply.text)?)))
            .collect();
        Self { rule, guesses }
    }
}

/// Precomputed answer letters and masks for the feedback loops.
struct Tables {
    answer_letters: Vec<[u8; WORD_LENGTH]>,
    answer_masks: Vec<u32>,
    guess_letters: Vec<[u8; WORD_LENGTH]>,
    /// For each guess, its index in the answer list, if it is an answer.
    guess_answer: Vec<Option<u16>>,
    /// `x log2 x` for every bucket size.
    x_log_x: Vec<f64>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let lists = word_lists();
        let answers = lists.answers();
        Tables {
            answer_letters: answers.iter().map(|w| w.letters()).collect(),
            answer_masks: answers.iter().map(|w| w.letter_mask()).collect(),
            guess_letters: lists.guesses().iter().map(|w| w.letters()).collect(),
            guess_answer: lists.guesses().iter().map(|w| lists.answer_index(*w).map(|i| i as u16)).collect(),
            x_log_x: (0..=answers.len()).map(|x| if x == 0 { 0.0 } else { x as f64 * (x as f64).log2() }).collect(),
        }
    })
}

/// The answers consistent with every guess and its marks (answer indices, ascending). If the
/// marks contradict every answer (an agent that misread the rule), all answers are returned.
pub fn candidates(history: &History) -> Vec<u16> {
    let tables = tables();
    let mut remaining: Vec<u16> = (0..tables.answer_letters.len() as u16).collect();
    for (guess, pattern) in &history.guesses {
        let letters = guess.letters();
        remaining.retain(|&answer| {
            let a = usize::from(answer);
            feedback_letters(&letters, &tables.answer_letters[a], tables.answer_masks[a], history.rule) == *pattern
        });
    }
    if remaining.is_empty() { (0..tables.answer_letters.len() as u16).collect() } else { remaining }
}

/// The guess (index in the guess list) with the highest expected information over the
/// candidates' feedback patterns; ties go to a candidate (it can win at once), then to the
/// earliest word. With one or two candidates, the first candidate.
pub fn most_informative_guess(candidates: &[u16], rule: RepeatedLetters) -> usize {
    let lists = word_lists();
    let tables = tables();
    let first_candidate =
        || lists.guess_index(lists.answers()[usize::from(candidates[0])]).expect("every answer is a guess");
    if candidates.len() <= 2 {
        return first_candidate();
    }
    let total = candidates.len() as f64;
    let log_total = total.log2();
    let mut is_candidate = vec![false; tables.answer_letters.len()];
    for &c in candidates {
        is_candidate[usize::from(c)] = true;
    }
    // Bucket sizes per pattern; only the touched buckets are summed and cleared, so a guess
    // costs O(candidates), not O(patterns).
    let mut counts = [0u16; PATTERNS];
    let mut touched: Vec<u8> = Vec::with_capacity(PATTERNS);
    let mut best = (f64::NEG_INFINITY, false, usize::MAX);
    for (index, letters) in tables.guess_letters.iter().enumerate() {
        for &c in candidates {
            let a = usize::from(c);
            let pattern = feedback_letters(letters, &tables.answer_letters[a], tables.answer_masks[a], rule);
            let count = &mut counts[usize::from(pattern)];
            if *count == 0 {
                touched.push(pattern);
            }
            *count += 1;
        }
        let mut spread = 0.0;
        for pattern in touched.drain(..) {
            let count = &mut counts[usize::from(pattern)];
            spread += tables.x_log_x[usize::from(*count)];
            *count = 0;
        }
        let entropy = log_total - spread / total;
        let candidate = tables.guess_answer[index].is_some_and(|a| is_candidate[usize::from(a)]);
        // Compare entropies with a tolerance so float noise never decides a tie.
        let better = entropy > best.0 + 1e-9 || (entropy > best.0 - 1e-9 && candidate && !best.1);
        if better {
            best = (entropy, candidate, index);
        }
    }
    best.2
}

/// The expert's opening for a rule: the most informative guess against every answer.
pub fn opening(rule: RepeatedLetters) -> &'static str {
    static LMRL: OnceLock<usize> = OnceLock::new();
    static STANDARD: OnceLock<usize> = OnceLock::new();
    let cell = match rule {
        RepeatedLetters::Lmrl => &LMRL,
        RepeatedLetters::Standard => &STANDARD,
    };
    let all: Vec<u16> = (0..word_lists().answers().len() as u16).collect();
    word_lists().guess_text(*cell.get_or_init(|| most_informative_guess(&all, rule)))
}

/// Greedy information-gain player (LMRL-Gym's `OptimalPolicy`, the paper's upper bound): each
/// turn it plays the guess whose feedback over the remaining candidate answers has the highest
/// entropy, preferring a candidate on ties.
///
/// The opening is computed once per process; second guesses are cached per (opening, marks),
/// which bounds their total cost by one pass over the answer list. Later turns have few
/// candidates and are computed directly.
#[derive(Debug, Default, Clone)]
pub struct InformationGainExpert {
    second_guesses: BTreeMap<(RepeatedLetters, Word, Pattern), usize>,
}

impl InformationGainExpert {
    pub fn new() -> Self {
        Self::default()
    }

    /// The expert's guess for an episode.
    pub fn next_guess(&mut self, view: &AgentView<'_>) -> &'static str {
        let history = History::read(view);
        let lists = word_lists();
        match history.guesses.as_slice() {
            [] => opening(history.rule),
            [(word, pattern)] => {
                let key = (history.rule, *word, *pattern);
                let index = *self
                    .second_guesses
                    .entry(key)
                    .or_insert_with(|| most_informative_guess(&candidates(&history), history.rule));
                lists.guess_text(index)
            }
            _ => lists.guess_text(most_informative_guess(&candidates(&history), history.rule)),
        }
    }
}

impl PerViewAgent for InformationGainExpert {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Action::fixed(self.next_guess(view))
    }
}

/// Plays a uniformly random word of the guess list each turn (stream `wordle-random`, one draw
/// per turn).
#[derive(Debug, Default, Clone)]
pub struct RandomGuesser;

impl RandomGuesser {
    pub fn new() -> Self {
        Self
    }
}

impl PerViewAgent for RandomGuesser {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let lists = word_lists();
        let mut rng = stream_indexed(view.episode.seed, "wordle-random", u64::from(view.turn));
        Action::fixed(lists.guess_text(rng.random_range(0..lists.guesses().len())))
    }
}

/// Probability that the dataset policy plays a word consistent with the feedback so far
/// (LMRL-Gym's `RandomMixturePolicy`, `prob_smart` ≈ 0.34).
pub const DATASET_CONSISTENT_PROBABILITY: f64 = 0.34;

/// LMRL-Gym's behaviour policy for the offline dataset: each turn, with probability 0.66 a
/// uniformly random word of the answer list (LMRL-Gym draws from its vocabulary, which is its
/// answer list), otherwise a uniformly random answer still consistent with every mark so far.
/// Stream `wordle-dataset`, one stream per turn.
#[derive(Debug, Default, Clone)]
pub struct DatasetMixture;

impl DatasetMixture {
    pub fn new() -> Self {
        Self
    }

    fn guess(view: &AgentView<'_>) -> &'static str {
        let lists = word_lists();
        let mut rng = stream_indexed(view.episode.seed, "wordle-dataset", u64::from(view.turn));
        if rng.random_bool(DATASET_CONSISTENT_PROBABILITY) {
            let remaining = candidates(&History::read(view));
            lists.answer_text(usize::from(remaining[rng.random_range(0..remaining.len())]))
        } else {
            lists.answer_text(rng.random_range(0..lists.answers().len()))
        }
    }
}

impl PerViewAgent for DatasetMixture {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Action::fixed(Self::guess(view))
    }
}

/// Cycles through the answer list by episode and turn, with one refused guess every ninth
/// turn: the cheap scripted agent of `bench` (no transcript reading, no allocation).
#[derive(Debug, Default, Clone)]
pub struct CyclingGuesser;

impl CyclingGuesser {
    pub fn new() -> Self {
        Self
    }
}

impl PerViewAgent for CyclingGuesser {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let lists = word_lists();
        let step = view.episode.index.wrapping_mul(7).wrapping_add(u64::from(view.turn) * 131);
        if step % 9 == 4 {
            Action::fixed("qqqqq")
        } else {
            Action::fixed(lists.answer_text((step % lists.answers().len() as u64) as usize))
        }
    }
}

#[cfg(test)]
mod tests;
