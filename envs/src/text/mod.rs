//! Reading free text, shared by the dialogue envs: words folded to lower-case ASCII, an
//! interned vocabulary, and longest-match phrase tables.
//!
//! Reading never allocates: words are folded into a stack buffer and looked up by `&str`, and
//! a text becomes a slice of [`Token`]s in a caller-provided array. The rules, applied alike to
//! the phrases a table is built from and to the texts it reads:
//! - ASCII letters are lower-cased; common accented Latin letters lose their accent
//!   ("São" reads as "sao"); apostrophes are deleted ("it's" reads as "its");
//! - anything else separates words;
//! - the articles "a", "an" and "the" are dropped;
//! - a word that is not in the vocabulary but ends in "s" is also read as its singular
//!   ("rivers" -> "river", "beaches" -> "beach", "cities" -> "city");
//! - an all-digit word also carries its value ("32000" -> 32000).

use rustc_hash::FxHashMap;

/// Index of a word in a [`Lexicon`]'s vocabulary.
pub type WordId = u32;
/// The id of any word the vocabulary does not know.
pub const UNKNOWN_WORD: WordId = WordId::MAX;
/// Longer words are never in a vocabulary: they read as unknown.
pub const MAX_WORD_BYTES: usize = 32;

/// What a character becomes in a word.
enum Fold {
    Letter(u8),
    Skip,
    Break,
}

fn fold(c: char) -> Fold {
    match c {
        'a'..='z' | '0'..='9' => Fold::Letter(c as u8),
        'A'..='Z' => Fold::Letter(c.to_ascii_lowercase() as u8),
        '\'' | '\u{2019}' => Fold::Skip,
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => Fold::Letter(b'a'),
        'ç' | 'Ç' => Fold::Letter(b'c'),
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => Fold::Letter(b'e'),
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'ı' => Fold::Letter(b'i'),
        'ñ' | 'Ñ' => Fold::Letter(b'n'),
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => Fold::Letter(b'o'),
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => Fold::Letter(b'u'),
        'ý' | 'ÿ' | 'Ý' => Fold::Letter(b'y'),
        'ş' | 'Ş' | 'ș' | 'Ș' => Fold::Letter(b's'),
        'ğ' | 'Ğ' => Fold::Letter(b'g'),
        _ => Fold::Break,
    }
}

/// Calls `visit` with each word of `text`, folded as the module describes (articles
/// included). A word longer than [`MAX_WORD_BYTES`] is visited as `"-"`, which no
/// vocabulary holds. Stops early, returning `false`, when `visit` does.
pub fn for_each_word(text: &str, mut visit: impl FnMut(&str) -> bool) -> bool {
    let mut buffer = [0u8; MAX_WORD_BYTES];
    let mut length = 0usize;
    let mut flush = |buffer: &[u8; MAX_WORD_BYTES], length: usize| -> bool {
        match length {
            0 => true,
            n if n > MAX_WORD_BYTES => visit("-"),
            // Only ASCII bytes are ever written.
            n => visit(std::str::from_utf8(&buffer[..n]).unwrap_or("-")),
        }
    };
    for c in text.chars() {
        match fold(c) {
            Fold::Letter(byte) => {
                if length < MAX_WORD_BYTES {
                    buffer[length] = byte;
                }
                length = length.saturating_add(1);
            }
            Fold::Skip => {}
            Fold::Break => {
                if !flush(&buffer, length) {
                    return false;
                }
                length = 0;
            }
        }
    }
    flush(&buffer, length)
}

/// The folded words of `text`, articles dropped (for building tables and for tests).
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_word(text, |word| {
        if !is_article(word) {
            out.push(word.to_owned());
        }
        true
    });
    out
}

fn is_article(word: &str) -> bool {
    matches!(word, "a" | "an" | "the")
}

/// One word of a text as read by a [`Lexicon`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// The word's id, or [`UNKNOWN_WORD`].
    pub word: WordId,
    /// The id of its singular when the word itself is unknown and ends in "s".
    pub singular: WordId,
    /// The value of an all-digit word (saturating at `u32::MAX`).
    pub number: Option<u32>,
}

impl Token {
    pub const UNKNOWN: Token = Token { word: UNKNOWN_WORD, singular: UNKNOWN_WORD, number: None };

    /// Whether this token reads as `word` (itself or its singular).
    pub fn is(&self, word: WordId) -> bool {
        word != UNKNOWN_WORD && (self.word == word || self.singular == word)
    }
}

/// A vocabulary and a table of phrases (word sequences), each with a meaning of type `M`.
#[derive(Debug, Clone)]
pub struct Lexicon<M> {
    vocabulary: FxHashMap<Box<str>, WordId>,
    /// Phrases by their first word, longest first, then in the order they were added.
    by_first_word: Vec<Vec<(Box<[WordId]>, M)>>,
}

impl<M> Default for Lexicon<M> {
    fn default() -> Self {
        Self { vocabulary: FxHashMap::default(), by_first_word: Vec::new() }
    }
}

impl<M: Copy + PartialEq + std::fmt::Debug> Lexicon<M> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `word` (already folded), adding it if new.
    pub fn intern(&mut self, word: &str) -> WordId {
        let next = self.vocabulary.len() as WordId;
        *self.vocabulary.entry(word.into()).or_insert(next)
    }

    /// The folded words of `text` as ids, adding new words.
    pub fn intern_all(&mut self, text: &str) -> Box<[WordId]> {
        words(text).iter().map(|word| self.intern(word)).collect()
    }

    /// The id of a known (folded) word.
    pub fn get(&self, word: &str) -> Option<WordId> {
        self.vocabulary.get(word).copied()
    }

    /// Adds a phrase. Adding the same phrase again with the same meaning does nothing.
    ///
    /// # Errors
    /// When the phrase has no words, has a word longer than [`MAX_WORD_BYTES`], or already
    /// has another meaning.
    pub fn add(&mut self, phrase: &str, meaning: M) -> Result<(), String> {
        if words(phrase).iter().any(|word| word.len() > MAX_WORD_BYTES) {
            return Err(format!("phrase `{phrase}` has a word over {MAX_WORD_BYTES} bytes"));
        }
        let ids = self.intern_all(phrase);
        let Some(&first) = ids.first() else {
            return Err(format!("phrase `{phrase}` has no words"));
        };
        if self.by_first_word.len() <= first as usize {
            self.by_first_word.resize_with(first as usize + 1, Vec::new);
        }
        let entries = &mut self.by_first_word[first as usize];
        if let Some((_, existing)) = entries.iter().find(|(words, _)| *words == ids) {
            return if *existing == meaning {
                Ok(())
            } else {
                Err(format!("phrase `{phrase}` means both {existing:?} and {meaning:?}"))
            };
        }
        let position = entries.iter().position(|(words, _)| words.len() < ids.len()).unwrap_or(entries.len());
        entries.insert(position, (ids, meaning));
        Ok(())
    }

    fn lookup(&self, word: &str) -> WordId {
        self.get(word).unwrap_or(UNKNOWN_WORD)
    }

    fn singular_of(&self, word: &str) -> WordId {
        let bytes = word.as_bytes();
        if bytes.len() < 3 || bytes[bytes.len() - 1] != b's' {
            return UNKNOWN_WORD;
        }
        let mut buffer = [0u8; MAX_WORD_BYTES];
        if let Some(stem) = word.strip_suffix("ies") {
            buffer[..stem.len()].copy_from_slice(stem.as_bytes());
            buffer[stem.len()] = b'y';
            let found = self.lookup(std::str::from_utf8(&buffer[..=stem.len()]).unwrap_or("-"));
            if found != UNKNOWN_WORD {
                return found;
            }
        }
        if let Some(stem) = word.strip_suffix("es") {
            let found = self.lookup(stem);
            if found != UNKNOWN_WORD {
                return found;
            }
        }
        self.lookup(&word[..word.len() - 1])
    }

    /// Reads `text` into `tokens` (articles dropped). `None` when it has more words than
    /// `max_words` or than `tokens` holds.
    pub fn read(&self, text: &str, max_words: usize, tokens: &mut [Token]) -> Option<usize> {
        let limit = max_words.min(tokens.len());
        let mut count = 0;
        let fits = for_each_word(text, |word| {
            if is_article(word) {
                return true;
            }
            if count == limit {
                return false;
            }
            let id = self.lookup(word);
            let singular = if id == UNKNOWN_WORD { self.singular_of(word) } else { UNKNOWN_WORD };
            let number = word.bytes().all(|b| b.is_ascii_digit()).then(|| {
                word.bytes().fold(0u32, |value, digit| value.saturating_mul(10).saturating_add(u32::from(digit - b'0')))
            });
            tokens[count] = Token { word: id, singular, number };
            count += 1;
            true
        });
        fits.then_some(count)
    }

    /// The longest phrase starting at `tokens[0]`: its length and meaning.
    pub fn longest_at(&self, tokens: &[Token]) -> Option<(usize, M)> {
        let first = tokens.first()?;
        for form in [first.word, first.singular] {
            let Some(entries) = self.by_first_word.get(form as usize) else { continue };
            for (words, meaning) in entries {
                if words.len() <= tokens.len() && words[1..].iter().zip(&tokens[1..]).all(|(w, t)| t.is(*w)) {
                    return Some((words.len(), *meaning));
                }
            }
        }
        None
    }

    /// Scans `tokens` left to right, calling `found(position, length, meaning)` for the
    /// longest phrase at each position; a match's words are not scanned again.
    pub fn scan(&self, tokens: &[Token], mut found: impl FnMut(usize, usize, M)) {
        let mut position = 0;
        while position < tokens.len() {
            match self.longest_at(&tokens[position..]) {
                Some((length, meaning)) => {
                    found(position, length, meaning);
                    position += length;
                }
                None => position += 1,
            }
        }
    }
}

/// Whether `needle` occurs as consecutive tokens of `tokens`.
pub fn contains_sequence(tokens: &[Token], needle: &[WordId]) -> bool {
    !needle.is_empty() && tokens.windows(needle.len()).any(|window| window.iter().zip(needle).all(|(t, w)| t.is(*w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_and_plurals() {
        assert_eq!(words("São Paulo's RIVERS, the Tietê!"), ["sao", "paulos", "rivers", "tiete"]);
        let mut lexicon = Lexicon::new();
        lexicon.add("river", 1).unwrap();
        lexicon.add("sao paulo", 2).unwrap();
        lexicon.add("beach", 3).unwrap();
        lexicon.add("city", 4).unwrap();
        lexicon.add("sao", 5).unwrap();
        assert!(lexicon.add("São  Paulo", 2).is_ok());
        assert!(lexicon.add("sao paulo", 6).is_err());
        let mut tokens = [Token::UNKNOWN; 16];
        let count = lexicon.read("Rivers of São Paulo, beaches and cities: 32000", 16, &mut tokens).unwrap();
        let mut found = Vec::new();
        lexicon.scan(&tokens[..count], |position, length, meaning| found.push((position, length, meaning)));
        assert_eq!(found, [(0, 1, 1), (2, 2, 2), (4, 1, 3), (6, 1, 4)]);
        assert_eq!(tokens[count - 1].number, Some(32000));
        assert_eq!(lexicon.read("one two three", 2, &mut tokens), None);
        let word = "x".repeat(40);
        assert_eq!(lexicon.read(&word, 4, &mut tokens), Some(1));
        assert_eq!(tokens[0].word, UNKNOWN_WORD);
    }
}
