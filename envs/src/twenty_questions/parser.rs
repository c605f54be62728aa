//! The question parser.
//!
//! Every word the parser knows (phrase words, aliases, question openers, guess leads) gets an
//! id when the knowledge base loads. A question is then read in one pass over a stack buffer,
//! without allocating: lower-cased ASCII words, apostrophes deleted, the articles "a", "an",
//! "the" dropped, each word looked up once (and, if it ends in "s", its singular forms). Then:
//! 1. a guess is a lead ("is it", "could it be", ...) followed by exactly an object's alias;
//! 2. otherwise, for a question that starts like a yes/no question, the longest phrase of any
//!    attribute found in it selects the attribute (ties: the attribute listed first), and
//!    "not" or "never" invert the answer;
//! 3. otherwise the oracle cannot map the question and answers "No.", like LMRL-Gym's.

use rustc_hash::FxHashMap;

use super::facts::{Attribute, AttributeId, Object, ObjectId, normalize_words};

/// Longest question accepted, in bytes.
pub const MAX_QUESTION_BYTES: usize = 400;
const MAX_TOKENS: usize = 64;

/// Why a question was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidQuestion {
    Empty,
    TooLong,
    NotAQuestion,
}

/// What a question asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    Invalid(InvalidQuestion),
    /// Names an object: "Is it a dog?".
    Guess(ObjectId),
    /// Asks about an attribute; `negated` when the question asks for its opposite.
    Attribute {
        attribute: AttributeId,
        negated: bool,
    },
    /// A question the oracle cannot map.
    Unknown,
}

/// First words of a yes/no question.
const OPENERS: &[&str] = &[
    "is", "does", "can", "do", "are", "could", "would", "will", "has", "have", "was", "were", "should", "might", "may",
    "did", "isnt", "doesnt", "cant", "arent", "wouldnt", "couldnt", "hasnt", "am", "shall", "must",
];

/// Word sequences that introduce a guess, after article removal.
const GUESS_LEADS: &[&str] = &[
    "is it",
    "is this",
    "is that",
    "its",
    "it is",
    "is it called",
    "is object",
    "is your object",
    "is secret object",
    "is answer",
    "are they",
    "are you thinking of",
    "were you thinking of",
    "could it be",
    "can it be",
    "might it be",
    "would it be",
    "could this be",
    "my guess is",
    "i guess",
    "guess",
    "is it kind of",
];

const NEGATIONS: &[&str] = &["not", "never"];

type WordId = u32;
const UNKNOWN: WordId = WordId::MAX;

/// A phrase rule: a word sequence that, found in a question, selects an attribute.
#[derive(Debug, Clone)]
struct PhraseRule {
    words: Box<[WordId]>,
    attribute: AttributeId,
    negated: bool,
}

/// The parser's tables, built from the knowledge base.
#[derive(Debug, Default)]
pub(crate) struct Lexicon {
    vocabulary: FxHashMap<Box<str>, WordId>,
    /// Every surface form a question word can take -> the token it reads as: the word itself
    /// if known, and the known words it is a regular plural of. Keyed by [`short_key`] for
    /// forms of at most 16 bytes (almost all), by the text otherwise.
    short_forms: FxHashMap<u128, Token>,
    long_forms: FxHashMap<Box<str>, Token>,
    /// Rules by their first word, longest first, then in file order of their attribute.
    rules_by_first_word: Vec<Vec<PhraseRule>>,
    aliases: FxHashMap<Box<[WordId]>, ObjectId>,
    /// Words that end some alias: a question whose last word is none of them is no guess.
    ends_alias: Vec<bool>,
    leads: Vec<Box<[WordId]>>,
    openers: Vec<WordId>,
    negations: Vec<WordId>,
}

impl Lexicon {
    fn intern(&mut self, word: &str) -> WordId {
        let next = self.vocabulary.len() as WordId;
        *self.vocabulary.entry(word.into()).or_insert(next)
    }

    fn intern_all(&mut self, text: &str) -> Box<[WordId]> {
        normalize_words(text).iter().map(|word| self.intern(word)).collect()
    }

    /// # Errors
    /// When an alias names two objects.
    pub(crate) fn build(attributes: &[Attribute], objects: &[Object]) -> Result<Self, String> {
        let mut lexicon = Lexicon::default();
        lexicon.openers = OPENERS.iter().map(|word| lexicon.intern(word)).collect();
        lexicon.negations = NEGATIONS.iter().map(|word| lexicon.intern(word)).collect();
        lexicon.leads = GUESS_LEADS.iter().map(|lead| lexicon.intern_all(lead)).collect();
        let mut rules = Vec::new();
        for (index, attribute) in attributes.iter().enumerate() {
            for phrase in &attribute.phrases {
                let (negated, phrase) = match phrase.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, phrase.as_str()),
                };
                let words = lexicon.intern_all(phrase);
                if !words.is_empty() {
                    rules.push(PhraseRule { words, attribute: index as AttributeId, negated });
                }
            }
        }
        for (index, object) in objects.iter().enumerate() {
            for alias in &object.aliases {
                let key = lexicon.intern_all(alias);
                if let Some(other) = lexicon.aliases.insert(key, index as ObjectId)
                    && other != index as ObjectId
                {
                    return Err(format!("alias `{alias}` names two objects"));
                }
            }
        }
        lexicon.index_forms();
        lexicon.ends_alias = vec![false; lexicon.vocabulary.len()];
        for alias in lexicon.aliases.keys() {
            if let Some(&last) = alias.last() {
                lexicon.ends_alias[last as usize] = true;
            }
        }
        lexicon.rules_by_first_word = vec![Vec::new(); lexicon.vocabulary.len()];
        for rule in rules {
            lexicon.rules_by_first_word[rule.words[0] as usize].push(rule);
        }
        // Longest first, then file order: the first rule that fits at a position is the best
        // one starting there.
        for rules in &mut lexicon.rules_by_first_word {
            rules.sort_by_key(|rule| (std::cmp::Reverse(rule.words.len()), rule.attribute));
        }
        Ok(lexicon)
    }

    /// Fills `forms`: each known word, and its regular plurals ("wheel" -> "wheels",
    /// "box" -> "boxes", "battery" -> "batteries"), so reading a question word is one lookup.
    fn index_forms(&mut self) {
        let mut words: Vec<(&str, WordId)> = self.vocabulary.iter().map(|(w, id)| (&**w, *id)).collect();
        words.sort_unstable_by_key(|(_, id)| *id);
        let mut forms: FxHashMap<Box<str>, Token> = FxHashMap::default();
        for (word, id) in words {
            forms.entry(word.into()).or_insert(Token::unknown()).exact = id;
            let mut plurals = vec![format!("{word}s"), format!("{word}es")];
            if let Some(stem) = word.strip_suffix('y') {
                plurals.push(format!("{stem}ies"));
            }
            for plural in plurals {
                let token = forms.entry(plural.into()).or_insert(Token::unknown());
                if let Some(slot) = token.singular.iter_mut().find(|slot| **slot == UNKNOWN) {
                    *slot = id;
                }
            }
        }
        for (form, token) in forms {
            match short_key(form.as_bytes()) {
                Some(key) => self.short_forms.insert(key, token),
                None => self.long_forms.insert(form, token),
            };
        }
    }

    pub(crate) fn object_named(&self, name: &str) -> Option<ObjectId> {
        let key: Option<Vec<WordId>> =
            normalize_words(name).iter().map(|w| self.vocabulary.get(w.as_str()).copied()).collect();
        self.aliases.get(key?.as_slice()).copied()
    }

    /// Reads a word of `length` bytes: by its [`short_key`] when it has at most 16 bytes,
    /// else by its text in `long`.
    fn read(&self, length: usize, key: u128, long: &[u8]) -> Token {
        let found = if length <= 16 {
            self.short_forms.get(&key)
        } else {
            std::str::from_utf8(long).ok().and_then(|word| self.long_forms.get(word))
        };
        found.copied().unwrap_or(Token::unknown())
    }
}

/// A word of 1 to 16 bytes packed into an integer (distinct words give distinct keys, since
/// words never contain a zero byte), so the common lookup hashes one number and compares
/// without touching memory elsewhere.
fn short_key(word: &[u8]) -> Option<u128> {
    if word.is_empty() || word.len() > 16 {
        return None;
    }
    let mut bytes = [0u8; 16];
    bytes[..word.len()].copy_from_slice(word);
    Some(u128::from_le_bytes(bytes))
}

/// One question word: its own id and the ids of the words it is a plural of ("wheels" ->
/// "wheel"; "boxes" -> "box"; "batteries" -> "battery"), `UNKNOWN` where there are none.
#[derive(Debug, Clone, Copy)]
struct Token {
    exact: WordId,
    singular: [WordId; 3],
}

impl Token {
    const fn unknown() -> Self {
        Token { exact: UNKNOWN, singular: [UNKNOWN; 3] }
    }

    fn is(&self, word: WordId) -> bool {
        self.exact == word || self.singular.contains(&word)
    }

    fn forms(&self) -> impl Iterator<Item = WordId> + '_ {
        std::iter::once(self.exact).chain(self.singular).filter(|id| *id != UNKNOWN)
    }
}

/// Splits a question into tokens. `None` if it has more than `max_words` words.
fn tokenize(lexicon: &Lexicon, question: &str, max_words: usize, tokens: &mut [Token; MAX_TOKENS]) -> Option<usize> {
    // The word's short key, built as the bytes arrive; words over 16 bytes (rare) are also
    // spelled out in `long`.
    let mut key = 0u128;
    let mut length = 0;
    let mut long = Vec::new();
    let mut count = 0;
    let limit = max_words.min(MAX_TOKENS);
    let articles = [short_key(b"a"), short_key(b"an"), short_key(b"the")].map(Option::unwrap_or_default);
    let mut close = |length: usize, key: u128, long: &[u8], count: &mut usize| -> bool {
        if length == 0 || (length <= 3 && articles.contains(&key)) {
            return true;
        }
        if *count == limit {
            return false;
        }
        tokens[*count] = lexicon.read(length, key, long);
        *count += 1;
        true
    };
    for c in question.chars() {
        match c {
            'a'..='z' | '0'..='9' | 'A'..='Z' => {
                let byte = c.to_ascii_lowercase() as u8;
                if length < 16 {
                    key |= u128::from(byte) << (8 * length);
                } else if length == 16 {
                    long.clear();
                    long.extend_from_slice(&key.to_le_bytes());
                    long.push(byte);
                } else {
                    long.push(byte);
                }
                length += 1;
            }
            '\'' | '\u{2019}' => {}
            _ => {
                if !close(length, key, &long, &mut count) {
                    return None;
                }
                length = 0;
                key = 0;
            }
        }
    }
    close(length, key, &long, &mut count).then_some(count)
}

fn guessed_object(lexicon: &Lexicon, tokens: &[Token]) -> Option<ObjectId> {
    let last = tokens.last()?;
    if !last.forms().any(|form| lexicon.ends_alias[form as usize]) {
        return None;
    }
    let mut key = [UNKNOWN; MAX_TOKENS];
    for lead in &lexicon.leads {
        if tokens.len() <= lead.len() || !lead.iter().zip(tokens).all(|(word, token)| token.exact == *word) {
            continue;
        }
        let rest = &tokens[lead.len()..];
        let key = &mut key[..rest.len()];
        for (slot, token) in key.iter_mut().zip(rest) {
            *slot = token.exact;
        }
        if let Some(&object) = lexicon.aliases.get(&*key) {
            return Some(object);
        }
        // "Are they apples?": the last word's singular forms.
        let last = rest[rest.len() - 1];
        for form in last.singular.into_iter().filter(|id| *id != UNKNOWN) {
            key[rest.len() - 1] = form;
            if let Some(&object) = lexicon.aliases.get(&*key) {
                return Some(object);
            }
        }
    }
    None
}

fn attribute_question(lexicon: &Lexicon, tokens: &[Token]) -> Question {
    let mut best: Option<&PhraseRule> = None;
    let mut negated = false;
    for (position, token) in tokens.iter().enumerate() {
        if lexicon.negations.contains(&token.exact) {
            negated = !negated;
        }
        let rest = &tokens[position + 1..];
        for form in token.forms() {
            for rule in &lexicon.rules_by_first_word[form as usize] {
                let better = best.is_none_or(|b| {
                    rule.words.len() > b.words.len()
                        || (rule.words.len() == b.words.len() && rule.attribute < b.attribute)
                });
                if !better {
                    // The rest of this list is no longer and comes later in file order.
                    break;
                }
                let fits = rule.words.len() <= rest.len() + 1
                    && rule.words[1..].iter().zip(rest).all(|(word, token)| token.is(*word));
                if fits {
                    best = Some(rule);
                    break;
                }
            }
        }
    }
    match best {
        Some(rule) => Question::Attribute { attribute: rule.attribute, negated: rule.negated ^ negated },
        None => Question::Unknown,
    }
}

/// Reads a question; `max_words` is the longest accepted question in words.
pub(crate) fn parse(lexicon: &Lexicon, question: &str, max_words: usize) -> Question {
    let question = question.trim();
    if question.is_empty() {
        return Question::Invalid(InvalidQuestion::Empty);
    }
    if question.len() > MAX_QUESTION_BYTES {
        return Question::Invalid(InvalidQuestion::TooLong);
    }
    let mut buffer = [Token::unknown(); MAX_TOKENS];
    let Some(count) = tokenize(lexicon, question, max_words, &mut buffer) else {
        return Question::Invalid(InvalidQuestion::TooLong);
    };
    let tokens = &buffer[..count];
    let Some(first) = tokens.first() else {
        return Question::Invalid(InvalidQuestion::NotAQuestion);
    };
    if let Some(object) = guessed_object(lexicon, tokens) {
        return Question::Guess(object);
    }
    if !lexicon.openers.contains(&first.exact) {
        return Question::Invalid(InvalidQuestion::NotAQuestion);
    }
    attribute_question(lexicon, tokens)
}
