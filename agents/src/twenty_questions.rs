//! Agents for `twenty_questions-v0`: a random questioner, an information-gain expert and a
//! cheap cycling questioner for benchmarks.

use std::sync::OnceLock;

use envs::twenty_questions::{DONT_KNOW_REPLY, KnowledgeBase, MAYBE_REPLY, ObjectId, Question, knowledge};
use rand::RngExt;
use sim_core::seed::stream_indexed;
use sim_core::{Action, AgentView, Kind, PerViewAgent, Speaker};

/// The oracle's word limit the agents assume when re-reading their own questions.
const QUESTION_WORDS: usize = 40;

/// The question that names an object.
pub fn guess_question(object: ObjectId) -> String {
    let name = &knowledge().objects()[object as usize].aliases[0];
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("Is it {article} {name}?")
}

/// The oracle's question bank: every attribute's canonical question, then a guess for every object.
pub fn question_bank() -> &'static [String] {
    static BANK: OnceLock<Vec<String>> = OnceLock::new();
    BANK.get_or_init(|| {
        let knowledge = knowledge();
        let attributes = knowledge.attributes().iter().map(|a| a.question.clone());
        let guesses = (0..knowledge.objects().len() as ObjectId).map(guess_question);
        attributes.chain(guesses).collect()
    })
}

/// Asks a uniformly random question from [`question_bank`] each turn (drawn from the
/// episode's `random-questioner` stream, one draw per turn).
#[derive(Debug, Default, Clone)]
pub struct RandomQuestioner;

impl RandomQuestioner {
    pub fn new() -> Self {
        Self
    }
}

impl PerViewAgent for RandomQuestioner {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let bank = question_bank();
        let mut rng = stream_indexed(view.episode.seed, "random-questioner", u64::from(view.turn));
        Action::fixed(bank[rng.random_range(0..bank.len())].as_str())
    }
}

/// Cycles through free-form questions (paraphrases the parser understands, guesses, and a
/// few it cannot map): the cheap scripted agent of `bench`.
#[derive(Debug, Default, Clone)]
pub struct CyclingQuestioner;

impl CyclingQuestioner {
    pub fn new() -> Self {
        Self
    }

    /// The questions, in cycling order.
    pub const QUESTIONS: [&'static str; 12] = [
        "Is it something you can eat?",
        "Does it have wheels?",
        "Is it bigger than a car?",
        "Would it fit in your pocket?",
        "Is it made of wood?",
        "Is it alive?",
        "Does it need electricity to work?",
        "Is it not found in a kitchen?",
        "Could it be a dog?",
        "Can you wear it?",
        "Is it an airplane?",
        "What colour is it?",
    ];
}

impl PerViewAgent for CyclingQuestioner {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let index = (view.episode.index + u64::from(view.turn)) as usize % Self::QUESTIONS.len();
        Action::fixed(Self::QUESTIONS[index])
    }
}

/// A set of objects, one bit each.
type ObjectSet = [u64; 4];

fn count(set: &ObjectSet) -> u32 {
    set.iter().map(|word| word.count_ones()).sum()
}

fn intersect(a: &ObjectSet, b: &ObjectSet) -> ObjectSet {
    std::array::from_fn(|i| a[i] & b[i])
}

fn subtract(a: &ObjectSet, b: &ObjectSet) -> ObjectSet {
    std::array::from_fn(|i| a[i] & !b[i])
}

fn first(set: &ObjectSet) -> Option<ObjectId> {
    set.iter()
        .enumerate()
        .find(|(_, word)| **word != 0)
        .map(|(i, word)| (i * 64) as ObjectId + word.trailing_zeros() as ObjectId)
}

struct Tables {
    all: ObjectSet,
    /// For each attribute, the objects that have it.
    holders: Vec<ObjectSet>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let knowledge = knowledge();
        assert!(knowledge.objects().len() <= 256, "the expert's object sets hold at most 256 objects");
        let mut all = [0; 4];
        let mut holders = vec![[0; 4]; knowledge.attributes().len()];
        for object in 0..knowledge.objects().len() {
            all[object / 64] |= 1 << (object % 64);
            for (attribute, set) in holders.iter_mut().enumerate() {
                if knowledge.answer(object as ObjectId, attribute as u16) {
                    set[object / 64] |= 1 << (object % 64);
                }
            }
        }
        Tables { all, holders }
    })
}

/// Asks the attribute question that splits the remaining candidates most evenly (the most
/// informative yes/no question) and names the object once at most two candidates remain.
///
/// Stateless: it re-reads the episode's transcript with the oracle's own parser, so its
/// action depends only on the view.
#[derive(Debug, Default, Clone)]
pub struct InformationGainExpert;

impl InformationGainExpert {
    pub fn new() -> Self {
        Self
    }

    /// The expert's next question for a transcript.
    pub fn next_question(view: &AgentView<'_>) -> Action {
        let knowledge = knowledge();
        let tables = tables();
        let (candidates, asked) = remaining_candidates(knowledge, tables, view);
        let remaining = count(&candidates);
        let candidates = if remaining == 0 { tables.all } else { candidates };
        if remaining > 2 {
            let best = tables
                .holders
                .iter()
                .enumerate()
                .filter(|(attribute, _)| !asked[*attribute])
                .map(|(attribute, holders)| {
                    let yes = count(&intersect(&candidates, holders));
                    (yes.min(count(&candidates) - yes), attribute)
                })
                .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            if let Some((split, attribute)) = best
                && split > 0
            {
                return Action::fixed(knowledge.attributes()[attribute].question.as_str());
            }
        }
        Action::from(guess_question(first(&candidates).unwrap_or(0)))
    }
}

/// Replays the transcript: which objects are still consistent, and which attributes were asked.
fn remaining_candidates(knowledge: &KnowledgeBase, tables: &Tables, view: &AgentView<'_>) -> (ObjectSet, Vec<bool>) {
    let mut candidates = tables.all;
    let mut asked = vec![false; tables.holders.len()];
    let entries = view.transcript.entries();
    for (action, reply) in entries.iter().zip(entries.iter().skip(1)) {
        if action.kind != Kind::Action || reply.speaker != Speaker::Partner {
            continue;
        }
        let yes = reply.text == "Yes.";
        let unsure = reply.text == MAYBE_REPLY || reply.text == DONT_KNOW_REPLY;
        match knowledge.parse(&action.text, QUESTION_WORDS) {
            Question::Attribute { attribute, .. } if unsure => asked[attribute as usize] = true,
            Question::Attribute { attribute, negated } => {
                asked[attribute as usize] = true;
                let holders = &tables.holders[attribute as usize];
                candidates =
                    if yes != negated { intersect(&candidates, holders) } else { subtract(&candidates, holders) };
            }
            Question::Guess(object) if !yes => {
                let mut named = [0; 4];
                named[object as usize / 64] |= 1 << (object % 64);
                candidates = subtract(&candidates, &named);
            }
            _ => {}
        }
    }
    (candidates, asked)
}

impl PerViewAgent for InformationGainExpert {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Self::next_question(view)
    }
}
