//! The word lists, packed words, guess parsing and the feedback rules.
//!
//! Words are five lowercase letters a–z packed five bits per letter into a `u32`, first letter
//! in the highest bits, so packed order is alphabetical order. The guess list is a sorted
//! `Vec<u32>` and membership is a binary search (13 comparisons for the shipped list).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// Letters per word.
pub const WORD_LENGTH: usize = 5;

/// Feedback patterns: one base-3 digit per position (position `i` has weight `3^i`),
/// 0 = b (absent), 1 = y (elsewhere), 2 = g (here).
pub type Pattern = u8;

/// Number of distinct patterns (`3^5`).
pub const PATTERNS: usize = 243;

/// The pattern of a solved word: five g.
pub const ALL_GREEN: Pattern = 242;

/// A five-letter word, packed; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Word(u32);

impl Word {
    /// Packs five letters given as 0..26.
    pub fn from_letters(letters: [u8; WORD_LENGTH]) -> Self {
        Self(letters.iter().fold(0, |key, &letter| (key << 5) | u32::from(letter)))
    }

    /// Parses five lowercase ASCII letters; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != WORD_LENGTH || !bytes.iter().all(u8::is_ascii_lowercase) {
            return None;
        }
        Some(Self::from_letters(std::array::from_fn(|i| bytes[i] - b'a')))
    }

    /// The packed key (alphabetical order).
    pub fn key(self) -> u32 {
        self.0
    }

    /// The letters as 0..26.
    pub fn letters(self) -> [u8; WORD_LENGTH] {
        std::array::from_fn(|i| ((self.0 >> (5 * (WORD_LENGTH - 1 - i))) & 31) as u8)
    }

    /// Bit `l` set when letter `l` occurs.
    pub fn letter_mask(self) -> u32 {
        self.letters().iter().fold(0, |mask, &letter| mask | (1 << letter))
    }
}

impl std::fmt::Display for Word {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for letter in self.letters() {
            write!(f, "{}", char::from(b'a' + letter))?;
        }
        Ok(())
    }
}

/// How a guessed letter that is in the word but not in that spot is marked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RepeatedLetters {
    /// LMRL-Gym's rule: every such letter is y, however often it occurs in the word: "geese"
    /// against "those" gets `b y y g g` (both middle e's are y though "those" has one e, and
    /// that one is already matched).
    #[default]
    Lmrl,
    /// The real Wordle rule: a letter is y only as many times as it occurs in the word outside
    /// the g spots, left to right; further copies are b: "geese" against "those" gets
    /// `b b b g g`.
    Standard,
}

/// The feedback of `guess` against `answer` under `rule`.
pub fn feedback(guess: Word, answer: Word, rule: RepeatedLetters) -> Pattern {
    feedback_letters(&guess.letters(), &answer.letters(), answer.letter_mask(), rule)
}

/// [`feedback`] on unpacked letters, with the answer's [`Word::letter_mask`] precomputed (the
/// expert's hot loop).
#[inline]
pub fn feedback_letters(
    guess: &[u8; WORD_LENGTH],
    answer: &[u8; WORD_LENGTH],
    answer_mask: u32,
    rule: RepeatedLetters,
) -> Pattern {
    let mut pattern = 0u8;
    let mut weight = 1u8;
    match rule {
        RepeatedLetters::Lmrl => {
            for i in 0..WORD_LENGTH {
                let mark = if guess[i] == answer[i] {
                    2
                } else if answer_mask & (1 << guess[i]) != 0 {
                    1
                } else {
                    0
                };
                pattern += mark * weight;
                weight = weight.wrapping_mul(3);
            }
        }
        RepeatedLetters::Standard => {
            let mut unmatched = [0u8; 26];
            for i in 0..WORD_LENGTH {
                if guess[i] != answer[i] {
                    unmatched[answer[i] as usize] += 1;
                }
            }
            for i in 0..WORD_LENGTH {
                let mark = if guess[i] == answer[i] {
                    2
                } else if unmatched[guess[i] as usize] > 0 {
                    unmatched[guess[i] as usize] -= 1;
                    1
                } else {
                    0
                };
                pattern += mark * weight;
                weight = weight.wrapping_mul(3);
            }
        }
    }
    pattern
}

/// The rendering of a pattern: five marks g/y/b separated by spaces, e.g. `"b y b g b"`.
pub fn render_pattern(pattern: Pattern) -> &'static str {
    static RENDERED: OnceLock<Vec<String>> = OnceLock::new();
    let table = RENDERED.get_or_init(|| {
        (0..PATTERNS)
            .map(|pattern| {
                let mut rest = pattern;
                let marks: Vec<&str> = (0..WORD_LENGTH)
                    .map(|_| {
                        let mark = ["b", "y", "g"][rest % 3];
                        rest /= 3;
                        mark
                    })
                    .collect();
                marks.join(" ")
            })
            .collect()
    });
    &table[usize::from(pattern) % PATTERNS]
}

/// Reads a rendered pattern back (`"b y b g b"`, spaces optional); `None` if it is not one.
pub fn parse_pattern(text: &str) -> Option<Pattern> {
    let mut pattern = 0u8;
    let mut weight = 1u8;
    let mut marks = 0;
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        let mark = match c {
            'b' => 0,
            'y' => 1,
            'g' => 2,
            _ => return None,
        };
        if marks == WORD_LENGTH {
            return None;
        }
        pattern += mark * weight;
        weight = weight.wrapping_mul(3);
        marks += 1;
    }
    (marks == WORD_LENGTH).then_some(pattern)
}

/// Why a guess was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidGuess {
    /// Not five letters once spaces are removed (the count is of characters).
    #[error("the guess has {0} characters, not 5")]
    WrongLength(usize),
    /// Five characters, but not all letters a–z.
    #[error("the guess has characters other than the letters a to z")]
    NotLetters,
    /// Five letters, but not in the guess list.
    #[error("the guess is not in the word list")]
    NotInList,
}

/// Reads an agent's guess the way the env does: whitespace anywhere is dropped (LMRL-Gym's
/// policies write "c r a n e"), ASCII capitals are lowered, then the five letters must be a
/// word of the guess list.
///
/// # Errors
/// [`InvalidGuess`] saying why.
pub fn parse_guess(text: &str) -> Result<Word, InvalidGuess> {
    let mut letters = [0u8; WORD_LENGTH];
    let mut count = 0usize;
    let mut all_letters = true;
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        if count < WORD_LENGTH {
            let lower = c.to_ascii_lowercase();
            if lower.is_ascii_lowercase() {
                letters[count] = lower as u8 - b'a';
            } else {
                all_letters = false;
            }
        }
        count += 1;
    }
    if count != WORD_LENGTH {
        return Err(InvalidGuess::WrongLength(count));
    }
    if !all_letters {
        return Err(InvalidGuess::NotLetters);
    }
    let word = Word::from_letters(letters);
    if word_lists().is_guess(word) { Ok(word) } else { Err(InvalidGuess::NotInList) }
}

/// The shipped lists (see `envs/src/wordle/README.md` for their provenance).
#[derive(Debug)]
pub struct WordLists {
    answers: Vec<Word>,
    answer_texts: Vec<&'static str>,
    /// Sorted, deduplicated; a superset of `answers`.
    guesses: Vec<Word>,
    guess_texts: Vec<&'static str>,
}

const ANSWERS: &str = include_str!("answers.txt");
const GUESSES: &str = include_str!("guesses.txt");

fn read_list(text: &'static str, name: &str) -> (Vec<Word>, Vec<&'static str>) {
    let texts: Vec<&'static str> = text.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    let words = texts
        .iter()
        .map(|t| Word::parse(t).unwrap_or_else(|| panic!("{name}: `{t}` is not five lowercase letters")))
        .collect();
    (words, texts)
}

/// The word lists, read once.
pub fn word_lists() -> &'static WordLists {
    static LISTS: OnceLock<WordLists> = OnceLock::new();
    LISTS.get_or_init(|| {
        let (answers, answer_texts) = read_list(ANSWERS, "answers.txt");
        let (guesses, guess_texts) = read_list(GUESSES, "guesses.txt");
        assert!(guesses.windows(2).all(|pair| pair[0] < pair[1]), "guesses.txt must be sorted and unique");
        WordLists { answers, answer_texts, guesses, guess_texts }
    })
}

impl WordLists {
    /// Hidden words, in file order (alphabetical).
    pub fn answers(&self) -> &[Word] {
        &self.answers
    }

    /// The text of answer `index`.
    pub fn answer_text(&self, index: usize) -> &'static str {
        self.answer_texts[index]
    }

    /// Allowed guesses, sorted; every answer is one.
    pub fn guesses(&self) -> &[Word] {
        &self.guesses
    }

    /// The text of guess `index`.
    pub fn guess_text(&self, index: usize) -> &'static str {
        self.guess_texts[index]
    }

    /// Whether `word` is an allowed guess (binary search).
    pub fn is_guess(&self, word: Word) -> bool {
        self.guesses.binary_search(&word).is_ok()
    }

    /// The index of `word` in the guess list.
    pub fn guess_index(&self, word: Word) -> Option<usize> {
        self.guesses.binary_search(&word).ok()
    }

    /// The index of `word` in the answer list (alphabetical, so a binary search).
    pub fn answer_index(&self, word: Word) -> Option<usize> {
        self.answers.binary_search(&word).ok()
    }
}
