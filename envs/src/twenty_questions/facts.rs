//! What the knowledge base is made of: objects, yes/no attributes, their ids, and the word
//! rules its phrases and the questions are read with. Shared by the loader
//! ([`super::knowledge`]) and the question parser ([`super::parser`]).

/// Index of an object in `KnowledgeBase::objects`.
pub type ObjectId = u16;
/// Index of an attribute in `KnowledgeBase::attributes`.
pub type AttributeId = u16;

/// Most attributes a knowledge base may have (the width of [`AttributeSet`]).
pub const MAX_ATTRIBUTES: usize = 256;

/// A set of attributes, one bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AttributeSet([u64; MAX_ATTRIBUTES / 64]);

impl AttributeSet {
    pub fn insert(&mut self, attribute: AttributeId) {
        self.0[attribute as usize / 64] |= 1 << (attribute % 64);
    }

    pub fn contains(&self, attribute: AttributeId) -> bool {
        self.0[attribute as usize / 64] & (1 << (attribute % 64)) != 0
    }
}

/// A yes/no property the oracle knows for every object.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub id: String,
    /// The canonical question, e.g. "Is it an animal?".
    pub question: String,
    pub phrases: Vec<String>,
}

/// An object the oracle can think of.
#[derive(Debug, Clone)]
pub struct Object {
    pub name: String,
    pub category: String,
    /// Lower-case names the win check accepts; the first is the name itself.
    pub aliases: Vec<String>,
    pub answers: AttributeSet,
}

/// Lower-cases, deletes apostrophes, splits on anything but ASCII letters and digits and
/// drops the articles "a", "an", "the". The parser applies the same rules to questions.
pub fn normalize_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut flush = |word: &mut String| {
        if !word.is_empty() && !matches!(word.as_str(), "a" | "an" | "the") {
            words.push(std::mem::take(word));
        }
        word.clear();
    };
    for c in text.chars() {
        match c {
            'a'..='z' | '0'..='9' => word.push(c),
            'A'..='Z' => word.push(c.to_ascii_lowercase()),
            '\'' | '\u{2019}' => {}
            _ => flush(&mut word),
        }
    }
    flush(&mut word);
    words
}
