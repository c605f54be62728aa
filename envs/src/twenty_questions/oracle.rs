//! The rule-based oracle: answers a parsed question from the knowledge base.

use super::facts::ObjectId;
use super::knowledge::KnowledgeBase;
use super::parser::{InvalidQuestion, Question};

/// The oracle's verdict on a question about a secret object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Yes,
    No,
    /// The question named the secret object.
    Correct,
    /// A vague oracle is unsure (see `AnswerStyle::Vague`).
    Maybe,
    /// A vague oracle cannot answer the question.
    DontKnow,
    Invalid(InvalidQuestion),
}

/// Answers a parsed question about `secret`.
pub fn answer(knowledge: &KnowledgeBase, secret: ObjectId, question: Question) -> Verdict {
    match question {
        Question::Invalid(reason) => Verdict::Invalid(reason),
        Question::Guess(object) if object == secret => Verdict::Correct,
        Question::Guess(_) | Question::Unknown => Verdict::No,
        Question::Attribute { attribute, negated } => {
            if knowledge.answer(secret, attribute) != negated {
                Verdict::Yes
            } else {
                Verdict::No
            }
        }
    }
}
