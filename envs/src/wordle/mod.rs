//! `wordle-v0`: LMRL-Gym's Wordle. The env hides a five-letter word; the agent has six
//! guesses and gets one mark per letter after each (`g` here, `y` elsewhere in the word, `b`
//! absent), rendered LMRL-Gym style as `"b y b g b"`. Every guess costs −1 except the one that
//! finds the word (0). An invalid guess (not five letters, not a–z, not in the guess list) is
//! told why and still uses a try. See `docs/envs/wordle.md`.

pub mod words;

use std::borrow::Cow;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sim_core::prelude::*;
use sim_core::seed::Selection;

pub use words::{
    ALL_GREEN, InvalidGuess, PATTERNS, Pattern, RepeatedLetters, WORD_LENGTH, Word, WordLists, feedback,
    feedback_letters, parse_guess, parse_pattern, render_pattern, word_lists,
};

/// How the hidden word of an episode is chosen: uniformly from the episode's `answer` stream,
/// or answer `episode index mod N` so every answer is played equally often (evaluation).
pub type AnswerSelection = Selection;

/// The env's section of a scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WordleConfig {
    /// Guesses per episode, invalid ones included (LMRL-Gym: 6).
    pub max_guesses: u32,
    /// How letters that occur in the word but not in that spot are marked: LMRL-Gym's rule
    /// (`Lmrl`, the default) or the real game's (`Standard`).
    pub repeated_letters: RepeatedLetters,
    pub selection: AnswerSelection,
}

/// LMRL-Gym's six guesses.
pub const DEFAULT_MAX_GUESSES: u32 = 6;

impl Default for WordleConfig {
    fn default() -> Self {
        Self {
            max_guesses: DEFAULT_MAX_GUESSES,
            repeated_letters: RepeatedLetters::Lmrl,
            selection: AnswerSelection::Random,
        }
    }
}

/// The hidden word of an episode (an index into [`WordLists::answers`]); also the env's marker
/// component.
#[derive(Component, Debug, Clone, Copy)]
pub struct WordleGame {
    pub answer: u16,
}

/// This step's judged guess: its feedback, or why it was refused.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement(pub Result<Pattern, InvalidGuess>);

/// The opening prompt. `{max}` is the number of guesses, `{rule}` one of the rule sentences.
const PROMPT: &str = "Let's play Wordle. I have picked a secret English word of five letters. You have {max} \
tries to find it. Each turn, reply with one word of five lowercase letters from my list. After each try I \
give one mark per letter, in order, separated by spaces: g means the letter is in that spot, y means the \
letter is in the secret but in another spot, b means the letter is not in the secret. {rule} Each try costs \
one point except the one that finds the secret. A reply that is not a five-letter word from my list is \
refused, and it also uses up a try.";

/// The rule sentence of [`RepeatedLetters::Lmrl`]; agents read it from the prompt.
pub const LMRL_RULE_SENTENCE: &str = "A letter that is in the secret but not in that spot is marked y every \
time it appears, however many times the secret holds it.";

/// The rule sentence of [`RepeatedLetters::Standard`]; agents read it from the prompt.
pub const STANDARD_RULE_SENTENCE: &str = "A letter that is in the secret but not in that spot is marked y \
only as many times as the secret holds it outside the g spots, from left to right; any extra copies are b.";

fn render_prompt(max_guesses: u32, rule: RepeatedLetters) -> String {
    let sentence = match rule {
        RepeatedLetters::Lmrl => LMRL_RULE_SENTENCE,
        RepeatedLetters::Standard => STANDARD_RULE_SENTENCE,
    };
    PROMPT.replace("{max}", &max_guesses.to_string()).replace("{rule}", sentence)
}

/// The rule an episode plays under, read from its opening prompt (what an agent sees).
pub fn rule_from_prompt(prompt: &str) -> RepeatedLetters {
    if prompt.contains(STANDARD_RULE_SENTENCE) { RepeatedLetters::Standard } else { RepeatedLetters::Lmrl }
}

fn default_prompt(rule: RepeatedLetters) -> &'static str {
    static LMRL: OnceLock<String> = OnceLock::new();
    static STANDARD: OnceLock<String> = OnceLock::new();
    let cell = match rule {
        RepeatedLetters::Lmrl => &LMRL,
        RepeatedLetters::Standard => &STANDARD,
    };
    cell.get_or_init(|| render_prompt(DEFAULT_MAX_GUESSES, rule))
}

const WRONG_LENGTH: &str = "Refused: your reply must be one word of exactly five letters. That used up a try.";
const NOT_LETTERS: &str = "Refused: use only the letters a to z. That used up a try.";
const NOT_IN_LIST: &str = "Refused: that word is not in my list. That used up a try.";

/// Every fixed text the env can say (prompts for both rules, refusals): the answer list must
/// not contain any of their words, or the hidden-state check would flag the prompt itself.
pub fn fixed_texts() -> Vec<String> {
    vec![
        render_prompt(DEFAULT_MAX_GUESSES, RepeatedLetters::Lmrl),
        render_prompt(DEFAULT_MAX_GUESSES, RepeatedLetters::Standard),
        WRONG_LENGTH.to_owned(),
        NOT_LETTERS.to_owned(),
        NOT_IN_LIST.to_owned(),
    ]
}

/// Anchors of the normalised score, computed by this project with its own policies on its own
/// word lists (LMRL-Gym's −6 / −4.12 / −1.94 belong to its 431-word list): `min` is the worst
/// possible return (six failed guesses); `average` is the `dataset` behaviour policy's mean
/// return and `max` the information-gain expert's, each over 2000 episodes with seed 0 and the
/// default config (re-derived by the agents crate's tests).
pub const SCORE_ANCHORS: ScoreAnchors =
    ScoreAnchors { min: -6.0, average: DATASET_MEAN_RETURN, max: EXPERT_MEAN_RETURN };

/// The `dataset` behaviour policy's mean return (2000 episodes, seed 0, default config).
pub const DATASET_MEAN_RETURN: f64 = -4.6615;

/// The information-gain expert's mean return (2000 episodes, seed 0, default config).
pub const EXPERT_MEAN_RETURN: f64 = -2.488;

/// The env type registered as `wordle-v0`.
pub struct Wordle;

impl Environment for Wordle {
    type Config = WordleConfig;
    const ID: &'static str = "wordle-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        let spec = EnvSpec::new(
            config.max_guesses,
            (-1.0, 0.0),
            "Find the hidden five-letter word in six guesses from g/y/b letter marks (LMRL-Gym Wordle)",
        );
        // The anchors hold for six guesses; other budgets have no reference returns.
        if config.max_guesses == DEFAULT_MAX_GUESSES { spec.with_anchors(SCORE_ANCHORS) } else { spec }
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        if config.max_guesses == 0 {
            return Err("wordle: max_guesses must be at least 1".into());
        }
        Ok(())
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        let answers = word_lists().answers().len();
        let answer = config.selection.pick(episode, answers, "answer");
        entity.insert((WordleGame { answer: answer as u16 }, Judgement(Err(InvalidGuess::WrongLength(0)))));
        if config.max_guesses == DEFAULT_MAX_GUESSES {
            Cow::Borrowed(default_prompt(config.repeated_letters))
        } else {
            Cow::Owned(render_prompt(config.max_guesses, config.repeated_letters))
        }
    }

    fn add_systems(schedule: &mut Schedule) {
        schedule.add_systems((
            judge_guess.in_set(StepSet::Act),
            render_judgement.in_set(StepSet::Observe),
            score_guess.in_set(StepSet::Score),
        ));
    }

    fn hidden_state(entity: EntityRef) -> Vec<String> {
        let Some(game) = entity.get::<WordleGame>() else { return Vec::new() };
        vec![word_lists().answer_text(usize::from(game.answer)).to_owned()]
    }

    fn sample_actions(_config: &Self::Config) -> Vec<String> {
        let lists = word_lists();
        let answers = lists.answers().len();
        let guesses = lists.guesses().len();
        let mut samples: Vec<String> = (0..24).map(|i| lists.answer_text(i * answers / 24).to_owned()).collect();
        samples.extend((0..8).map(|i| lists.guess_text(i * guesses / 8 + 3).to_owned()));
        samples.extend(["C R A N E", "  stone\n", "zzzzz", "abc", "caf\u{e9}s", "12345"].map(String::from));
        samples
    }
}

fn judge_guess(mut episodes: Stepping<(&EnvConfig<Wordle>, &WordleGame, &mut Judgement)>) {
    let lists = word_lists();
    for (text, (config, game, mut judgement)) in episodes.iter_mut_with_action() {
        let answer = lists.answers()[usize::from(game.answer)];
        judgement.0 = parse_guess(text).map(|guess| feedback(guess, answer, config.repeated_letters));
    }
}

fn render_judgement(mut episodes: Stepping<(&Judgement, &mut Reply), With<WordleGame>>) {
    for (judgement, mut reply) in episodes.iter_mut() {
        match judgement.0 {
            Ok(pattern) => reply.set(Speaker::Env, Kind::Observation, render_pattern(pattern)),
            Err(InvalidGuess::WrongLength(_)) => reply.set(Speaker::Env, Kind::Admin, WRONG_LENGTH),
            Err(InvalidGuess::NotLetters) => reply.set(Speaker::Env, Kind::Admin, NOT_LETTERS),
            Err(InvalidGuess::NotInList) => reply.set(Speaker::Env, Kind::Admin, NOT_IN_LIST),
        }
    }
}

fn score_guess(mut episodes: Stepping<(&Turn, &Judgement, &mut Outcome), With<WordleGame>>) {
    for (turn, judgement, mut outcome) in episodes.iter_mut() {
        let won = judgement.0 == Ok(ALL_GREEN);
        outcome.reward = if won { 0.0 } else { -1.0 };
        outcome.success = won;
        outcome.invalid_action = judgement.0.is_err();
        // The spec's turn cap is `max_guesses`.
        outcome.end_when(won || turn.is_last(), if won { "win" } else { "out_of_guesses" });
    }
}

#[cfg(test)]
mod tests;
