//! The oracle's knowledge base: objects, categories, yes/no attributes and the phrases that
//! map free-form questions to attributes. Loaded once from `knowledge.ron` (project-written).

use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use serde::Deserialize;

pub use super::facts::{Attribute, AttributeId, AttributeSet, MAX_ATTRIBUTES, Object, ObjectId, normalize_words};
use super::parser::{self, Lexicon, Question};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryEntry {
    name: String,
    attribute: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttributeEntry {
    id: String,
    question: String,
    phrases: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectEntry {
    name: String,
    category: String,
    aliases: Vec<String>,
    yes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct KnowledgeFile {
    categories: Vec<CategoryEntry>,
    attributes: Vec<AttributeEntry>,
    objects: Vec<ObjectEntry>,
}

/// Objects, attributes and the lookup tables of the question parser.
#[derive(Debug)]
pub struct KnowledgeBase {
    objects: Vec<Object>,
    attributes: Vec<Attribute>,
    categories: Vec<(String, AttributeId)>,
    /// The question parser's tables.
    pub(crate) lexicon: Lexicon,
}

impl KnowledgeBase {
    fn from_file(file: KnowledgeFile) -> Result<Self, String> {
        if file.attributes.len() > MAX_ATTRIBUTES {
            return Err(format!("{} attributes; at most {MAX_ATTRIBUTES}", file.attributes.len()));
        }
        let attribute_index: FxHashMap<&str, AttributeId> =
            file.attributes.iter().enumerate().map(|(i, a)| (a.id.as_str(), i as AttributeId)).collect();
        if attribute_index.len() != file.attributes.len() {
            return Err("duplicate attribute id".into());
        }
        let lookup = |id: &str| attribute_index.get(id).copied().ok_or_else(|| format!("unknown attribute `{id}`"));
        let categories = file
            .categories
            .iter()
            .map(|c| Ok((c.name.clone(), lookup(&c.attribute)?)))
            .collect::<Result<Vec<_>, String>>()?;
        let mut objects = Vec::with_capacity(file.objects.len());
        for entry in file.objects {
            let &(_, category_attribute) = categories
                .iter()
                .find(|(name, _)| *name == entry.category)
                .ok_or_else(|| format!("object `{}` has unknown category `{}`", entry.name, entry.category))?;
            let mut answers = AttributeSet::default();
            answers.insert(category_attribute);
            for id in &entry.yes {
                answers.insert(lookup(id)?);
            }
            let mut names = vec![entry.name.to_lowercase()];
            names.extend(entry.aliases.iter().map(|a| a.to_lowercase()));
            names.dedup();
            let mut unique = Vec::new();
            for alias in names {
                if !unique.contains(&alias) {
                    unique.push(alias);
                }
            }
            objects.push(Object { name: entry.name, category: entry.category, aliases: unique, answers });
        }
        if objects.len() > usize::from(ObjectId::MAX) {
            return Err("too many objects".into());
        }
        let attributes: Vec<Attribute> = file
            .attributes
            .into_iter()
            .map(|a| Attribute { id: a.id, question: a.question, phrases: a.phrases })
            .collect();
        for attribute in &attributes {
            if attribute.phrases.iter().any(|phrase| normalize_words(phrase.trim_start_matches('!')).is_empty()) {
                return Err(format!("attribute `{}` has an empty phrase", attribute.id));
            }
        }
        let lexicon = Lexicon::build(&attributes, &objects)?;
        Ok(Self { objects, attributes, categories, lexicon })
    }

    pub fn objects(&self) -> &[Object] {
        &self.objects
    }

    pub fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }

    /// Category names with their category attribute, in file order.
    pub fn categories(&self) -> &[(String, AttributeId)] {
        &self.categories
    }

    /// The oracle's answer for an object and an attribute.
    pub fn answer(&self, object: ObjectId, attribute: AttributeId) -> bool {
        self.objects[object as usize].answers.contains(attribute)
    }

    pub fn object_named(&self, name: &str) -> Option<ObjectId> {
        self.lexicon.object_named(name)
    }

    /// Reads a question; `max_words` is the longest accepted question in words.
    pub fn parse(&self, question: &str, max_words: usize) -> Question {
        parser::parse(&self.lexicon, question, max_words)
    }
}

/// The knowledge base shipped with the env (parsed once per process).
///
/// # Panics
/// If the shipped `knowledge.ron` is inconsistent; the crate's tests load it.
pub fn knowledge() -> &'static KnowledgeBase {
    static KNOWLEDGE: OnceLock<KnowledgeBase> = OnceLock::new();
    KNOWLEDGE.get_or_init(|| {
        let file: KnowledgeFile =
            ron::from_str(include_str!("knowledge.ron")).unwrap_or_else(|e| panic!("knowledge.ron: {e}"));
        KnowledgeBase::from_file(file).unwrap_or_else(|e| panic!("knowledge.ron: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twenty_questions::Question;

    const SMALL: &str = r#"(
        categories: [(name: "Devices", attribute: "device")],
        attributes: [
            (id: "device", question: "Is it a device?", phrases: ["device"]),
            (id: "medical", question: "Is it electroencephalographic?", phrases: ["electroencephalographic equipment", "medical"]),
            (id: "battery", question: "Does it use batteries?", phrases: ["battery"]),
        ],
        objects: [
            (name: "Electroencephalograph", category: "Devices", aliases: ["brainwave recorder"], yes: ["medical"]),
            (name: "Radio", category: "Devices", aliases: [], yes: ["battery"]),
        ],
    )"#;

    fn small() -> KnowledgeBase {
        KnowledgeBase::from_file(ron::from_str(SMALL).unwrap()).unwrap()
    }

    #[test]
    fn words_longer_than_sixteen_letters_are_read() {
        let kb = small();
        assert_eq!(kb.parse("Is it an electroencephalograph?", 40), Question::Guess(0));
        assert_eq!(kb.parse("Are they ELECTROENCEPHALOGRAPHS?", 40), Question::Guess(0));
        assert_eq!(
            kb.parse("Is it electroencephalographic equipment?", 40),
            Question::Attribute { attribute: 1, negated: false }
        );
        assert_eq!(kb.parse("Is it electroencephalographical?", 40), Question::Unknown);
    }

    #[test]
    fn plurals_and_multi_word_aliases() {
        let kb = small();
        assert_eq!(kb.parse("Does it run on batteries?", 40), Question::Attribute { attribute: 2, negated: false });
        assert_eq!(kb.parse("Is it a brainwave recorder?", 40), Question::Guess(0));
        assert_eq!(kb.parse("Is it a brainwave?", 40), Question::Unknown);
        assert_eq!(kb.object_named("Radio"), Some(1));
    }

    #[test]
    fn inconsistent_files_are_rejected() {
        let unknown = SMALL.replace(r#"yes: ["battery"]"#, r#"yes: ["wheels"]"#);
        let error = KnowledgeBase::from_file(ron::from_str(&unknown).unwrap()).unwrap_err();
        assert!(error.contains("wheels"), "{error}");
        let twice = SMALL.replace(r#"aliases: [], yes"#, r#"aliases: ["brainwave recorder"], yes"#);
        let error = KnowledgeBase::from_file(ron::from_str(&twice).unwrap()).unwrap_err();
        assert!(error.contains("two objects"), "{error}");
    }
}
