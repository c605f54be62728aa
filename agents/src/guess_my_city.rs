//! Agents for `guess_my_city-v0`: a random questioner, an information-gain expert over the
//! fact table, and a cheap cycling questioner for benchmarks.

use std::collections::HashMap;
use std::sync::OnceLock;

use envs::guess_my_city::cities::{Continent, FoodKind, LandmarkType, Region};
use envs::guess_my_city::{AnswerStyle, CityId, TERSE_NOTE, atlas, respond_in_style};
use rand::RngExt;
use sim_core::seed::stream_indexed;
use sim_core::{Action, AgentView, Kind, PerViewAgent, Speaker};

/// The word limit the agents assume when predicting answers (the env's default).
const QUESTION_WORDS: usize = 40;

/// The question that names a city.
pub fn guess_question(city: CityId) -> String {
    format!("Is it {}?", atlas().city(city).name)
}

/// The questions the agents ask: open questions on every topic, yes/no questions about every
/// continent, region, hemisphere, coast, river, capital status, climate class, population
/// threshold, country, language, landmark type and food kind of the table, then a guess for
/// every city.
pub struct QuestionBank {
    pub questions: Vec<String>,
    /// Index of the first guess in `questions`.
    pub first_guess: usize,
    /// `answers[q][c]`: the interned reply to question `q` about city `c`.
    answers: Vec<Vec<u32>>,
    index: HashMap<String, usize>,
}

/// The shared question bank with the default oracle's answers (built once per process).
pub fn question_bank() -> &'static QuestionBank {
    question_bank_in(AnswerStyle::Exact)
}

/// The oracle's answer style of an episode, read from its opening prompt.
pub fn answer_style_of(view: &AgentView<'_>) -> AnswerStyle {
    let opening = view.transcript.entries().first().map_or("", |entry| entry.text.as_ref());
    if opening.contains(TERSE_NOTE) { AnswerStyle::Terse } else { AnswerStyle::Exact }
}

/// The shared question bank with the answers of an oracle in `style` (built once per process
/// and style).
pub fn question_bank_in(style: AnswerStyle) -> &'static QuestionBank {
    static EXACT: OnceLock<QuestionBank> = OnceLock::new();
    static TERSE: OnceLock<QuestionBank> = OnceLock::new();
    let cell = match style {
        AnswerStyle::Exact => &EXACT,
        AnswerStyle::Terse => &TERSE,
    };
    cell.get_or_init(|| {
        let atlas = atlas();
        let mut questions: Vec<String> = [
            "Where is it?",
            "Which continent is it on?",
            "Which hemispheres is it in?",
            "What is the weather like?",
            "What languages do people speak there?",
            "How many people live there?",
            "What is it known for?",
            "What is a local food?",
            "What waters is it on?",
            "Is it the national capital?",
            "Is it on the coast?",
            "Is it on a river?",
            "Is it in the southern hemisphere?",
            "Is it in the western hemisphere?",
            "Is it in the tropics?",
            "Is it near the equator?",
        ]
        .map(str::to_owned)
        .to_vec();
        questions.extend(Continent::ALL.iter().map(|c| format!("Is it in {}?", c.label())));
        questions.extend(Region::ALL.iter().filter_map(|r| r.phrases().first()).map(|p| format!("Is it in {p}?")));
        questions.extend(
            ["tropical", "dry", "mediterranean", "humid subtropical", "oceanic", "continental", "at high altitude"]
                .map(|word| format!("Is the climate {word}?")),
        );
        questions.extend([2, 5, 10, 20].map(|m| format!("Does it have more than {m} million people?")));
        questions.extend(atlas.countries().iter().map(|c| format!("Is it in {}?", c.name)));
        questions.extend(atlas.languages().iter().map(|l| format!("Do people speak {}?", l.name)));
        questions.extend(LandmarkType::ALL.iter().map(|t| format!("Is it known for {}?", t.label())));
        questions.extend(FoodKind::ALL.iter().map(|k| format!("Is the food known for {}?", k.label())));
        let first_guess = questions.len();
        questions.extend((0..atlas.cities().len() as CityId).map(guess_question));
        let mut interned: HashMap<String, u32> = HashMap::new();
        let answers = questions
            .iter()
            .map(|question| {
                (0..atlas.cities().len() as CityId)
                    .map(|city| {
                        let reply = respond_in_style(city, question, QUESTION_WORDS, style).into_owned();
                        let next = interned.len() as u32;
                        *interned.entry(reply).or_insert(next)
                    })
                    .collect()
            })
            .collect();
        let index = questions.iter().enumerate().map(|(i, q)| (q.clone(), i)).collect();
        QuestionBank { questions, first_guess, answers, index }
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
        let bank = &question_bank().questions;
        let mut rng = stream_indexed(view.episode.seed, "random-questioner", u64::from(view.turn));
        Action::fixed(bank[rng.random_range(0..bank.len())].as_str())
    }
}

/// Cycles through free-form questions (paraphrases, yes/no facts, numbers, a question for the
/// name, an unmappable one and guesses): the cheap scripted agent of `bench`.
#[derive(Debug, Default, Clone)]
pub struct CyclingQuestioner;

impl CyclingQuestioner {
    pub fn new() -> Self {
        Self
    }

    /// The questions, in cycling order.
    pub const QUESTIONS: [&'static str; 14] = [
        "What's the weather like there?",
        "Is it in Asia?",
        "Can you tell me what people eat there?",
        "Is it on the coast?",
        "Does it have more than ten million people?",
        "Which languages do people speak?",
        "Is it the capital of its country?",
        "What is the city famous for?",
        "What country is it in?",
        "Is it in the southern hemisphere?",
        "Is it Lagos?",
        "What colour are the taxis?",
        "Is it not on a river?",
        "Are you from Bombay?",
    ];
}

impl PerViewAgent for CyclingQuestioner {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let index = (view.episode.index + u64::from(view.turn)) as usize % Self::QUESTIONS.len();
        Action::fixed(Self::QUESTIONS[index])
    }
}

/// Asks the bank question whose answers split the remaining candidate cities best (the
/// smallest expected number of candidates left, i.e. the most informative question over the
/// fact table) and names the city once at most two candidates remain.
///
/// Stateless: it replays the episode's transcript against the fact table (a candidate stays
/// if the table predicts every answer the env gave), so its action depends only on the view.
#[derive(Debug, Default, Clone)]
pub struct InformationGainExpert;

impl InformationGainExpert {
    pub fn new() -> Self {
        Self
    }

    /// The expert's next question for a transcript.
    pub fn next_question(view: &AgentView<'_>) -> Action {
        let style = answer_style_of(view);
        let bank = question_bank_in(style);
        let (candidates, asked) = remaining_candidates(view, style);
        if candidates.len() > 2 {
            let mut best: Option<(usize, usize)> = None;
            let mut counts: HashMap<u32, usize> = HashMap::new();
            for (question, answers) in bank.answers[..bank.first_guess].iter().enumerate() {
                if asked.contains(&question) {
                    continue;
                }
                counts.clear();
                for &city in &candidates {
                    *counts.entry(answers[city as usize]).or_insert(0) += 1;
                }
                let expected: usize = counts.values().map(|n| n * n).sum();
                if best.is_none_or(|(score, _)| expected < score) {
                    best = Some((expected, question));
                }
            }
            if let Some((score, question)) = best
                && score < candidates.len() * candidates.len()
            {
                return Action::fixed(bank.questions[question].as_str());
            }
        }
        let city = candidates.first().copied().unwrap_or(0);
        Action::fixed(bank.questions[bank.first_guess + city as usize].as_str())
    }
}

/// Replays the transcript: the cities consistent with every answer, and the bank questions asked.
fn remaining_candidates(view: &AgentView<'_>, style: AnswerStyle) -> (Vec<CityId>, Vec<usize>) {
    let bank = question_bank_in(style);
    let mut candidates: Vec<CityId> = (0..atlas().cities().len() as CityId).collect();
    let mut asked = Vec::new();
    let entries = view.transcript.entries();
    for (action, reply) in entries.iter().zip(entries.iter().skip(1)) {
        if action.kind != Kind::Action || reply.speaker != Speaker::Partner {
            continue;
        }
        if let Some(&question) = bank.index.get(action.text.as_ref() as &str) {
            asked.push(question);
        }
        let filtered: Vec<CityId> = candidates
            .iter()
            .copied()
            .filter(|&city| respond_in_style(city, &action.text, QUESTION_WORDS, style) == reply.text)
            .collect();
        // An answer no candidate explains (another oracle backend) is ignored.
        if !filtered.is_empty() {
            candidates = filtered;
        }
    }
    (candidates, asked)
}

impl PerViewAgent for InformationGainExpert {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Self::next_question(view)
    }
}
