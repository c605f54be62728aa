//! `guess_my_city-v0`: LMRL-Gym's Guess My City, with the task the paper intends: open-ended
//! questions, answered from a project-written fact table by a counterpart that never names
//! the city or its country.
//!
//! The env is from a large world city; the agent asks one question per turn. Yes/no
//! questions get "Yes." or "No."; open questions ("What is the weather like?") get one short
//! sentence built from the facts. Each question costs −1, except the one that names the city,
//! which ends the episode with reward 0. After `max_questions` questions without a correct
//! guess the episode terminates (lost). See `docs/envs/guess_my_city.md`.

pub mod cities;
pub mod oracle;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use sim_core::prelude::*;
use sim_core::seed::Selection;

pub use cities::{Atlas, City, CityId, atlas};
pub use oracle::{
    AnswerStyle, CORRECT_REPLY, CityOracle, DONT_KNOW_REPLY, InvalidQuestion, NAME_REPLY, ONE_AT_A_TIME_REPLY,
    OracleRequest, Question, Reader, RuleBasedOracle, Topic, UNMAPPED_REPLY, leak_guard, reader,
};

/// How the secret city of an episode is chosen: uniformly from the episode's `city` stream,
/// or city `episode index mod N` so every city is played equally often (evaluation).
pub type CitySelection = Selection;

/// Which counterpart answers the questions (see [`CityOracle`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OracleBackend {
    /// [`RuleBasedOracle`]: answers from the shipped fact table.
    #[default]
    RuleBased,
}

impl OracleBackend {
    /// The backend's shared instance.
    pub fn instance(self) -> Arc<dyn CityOracle> {
        match self {
            OracleBackend::RuleBased => {
                static RULE_BASED: OnceLock<Arc<dyn CityOracle>> = OnceLock::new();
                RULE_BASED.get_or_init(|| Arc::new(RuleBasedOracle)).clone()
            }
        }
    }
}

/// The env's section of a scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuessMyCityConfig {
    /// Questions allowed per episode (LMRL-Gym: 20).
    pub max_questions: u32,
    /// Longer questions are invalid.
    pub max_question_words: usize,
    pub selection: CitySelection,
    /// Play only these cities (names or aliases); empty means all.
    pub cities: Vec<String>,
    pub oracle: OracleBackend,
    /// How the oracle answers (`Exact` by default; `Terse` for short, vague answers).
    pub answer_style: AnswerStyle,
}

const DEFAULT_MAX_QUESTIONS: u32 = 20;

impl Default for GuessMyCityConfig {
    fn default() -> Self {
        Self {
            max_questions: DEFAULT_MAX_QUESTIONS,
            max_question_words: 40,
            selection: CitySelection::Random,
            cities: Vec::new(),
            oracle: OracleBackend::RuleBased,
            answer_style: AnswerStyle::Exact,
        }
    }
}

impl GuessMyCityConfig {
    fn city_pool(&self) -> Result<Vec<CityId>, String> {
        if self.cities.is_empty() {
            return Ok((0..atlas().cities().len() as CityId).collect());
        }
        self.cities
            .iter()
            .map(|name| match reader().read(&format!("Is it {name}?"), 40) {
                Question::Guess(city) => Ok(city),
                _ => Err(format!("guess_my_city: unknown city `{name}`")),
            })
            .collect()
    }
}

/// The hidden city of an episode; also the env's marker component.
#[derive(Component, Debug, Clone, Copy)]
pub struct SecretCity(pub CityId);

/// The episode's counterpart.
#[derive(Component, Debug, Clone)]
pub struct Counterpart(pub Arc<dyn CityOracle>);

/// This step's question as read in `Act`.
#[derive(Component, Debug, Clone, Copy)]
pub struct AskedQuestion(pub Question);

/// This step's answer from `React` (already through the leak guard).
#[derive(Component, Debug, Clone, Default)]
pub struct OracleAnswer(pub Cow<'static, str>);

const PROMPT: &str = "Let's play Guess My City. I am from a large city somewhere in the world, and you have to \
find out which one. Ask me one question per turn. I answer yes/no questions (\"Is it on the coast?\") with \
\"Yes.\" or \"No.\", and open questions (\"What is the weather like?\") with a short sentence, but I will not \
tell you the name of the city or of its country. You may ask at most {max} questions; every question costs a \
point except the one that names my city. To win, ask \"Is it ...?\" with the city's name.";

const INVALID_MESSAGE: &str = "Invalid question: ask one question of at most {max} words. This still counts as a \
question.";

/// Added to the opening prompt of a terse oracle (agents read the style from it).
pub const TERSE_NOTE: &str = "I keep my answers short and vague, and I say \"I don't know.\" when I can't answer.";

fn default_prompt() -> &'static str {
    static RENDERED: OnceLock<String> = OnceLock::new();
    RENDERED.get_or_init(|| PROMPT.replace("{max}", &DEFAULT_MAX_QUESTIONS.to_string()))
}

/// The env type registered as `guess_my_city-v0`.
pub struct GuessMyCity;

/// Score anchors: min −20 (every question spent), LMRL-Gym's dataset average −18.8 from the
/// paper, and max = this env's information-gain expert (1000 episodes, seed 0; checked by a
/// test), standing in for the paper's empirical −8.56.
pub const SCORE_ANCHORS: ScoreAnchors = ScoreAnchors { min: -20.0, average: -18.8, max: EXPERT_MEAN_RETURN };

/// The information-gain expert's mean return (1000 episodes, seed 0, random cities): about
/// 2.1 questions before the winning one, since open answers are shared by several cities.
pub const EXPERT_MEAN_RETURN: f64 = -2.143;

impl Environment for GuessMyCity {
    type Config = GuessMyCityConfig;
    const ID: &'static str = "guess_my_city-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        EnvSpec::new(
            config.max_questions,
            (-1.0, 0.0),
            "Find the hidden world city with open and yes/no questions (LMRL-Gym Guess My City)",
        )
        .with_anchors(SCORE_ANCHORS)
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        if config.max_questions == 0 {
            return Err("guess_my_city: max_questions must be at least 1".into());
        }
        if config.max_question_words == 0 {
            return Err("guess_my_city: max_question_words must be at least 1".into());
        }
        config.city_pool().map(drop)
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        let pool = config.city_pool().unwrap_or_default();
        let pick = config.selection.pick(episode, pool.len(), "city");
        entity.insert((
            SecretCity(pool[pick]),
            Counterpart(config.oracle.instance()),
            AskedQuestion(Question::Unknown),
            OracleAnswer::default(),
        ));
        if config.answer_style == AnswerStyle::Terse {
            return Cow::Owned(format!("{} {TERSE_NOTE}", PROMPT.replace("{max}", &config.max_questions.to_string())));
        }
        if config.max_questions == DEFAULT_MAX_QUESTIONS {
            Cow::Borrowed(default_prompt())
        } else {
            Cow::Owned(PROMPT.replace("{max}", &config.max_questions.to_string()))
        }
    }

    fn add_systems(schedule: &mut Schedule) {
        schedule.add_systems((
            read_question.in_set(StepSet::Act),
            answer_questions.in_set(StepSet::React),
            render_answer.in_set(StepSet::Observe),
            score_question.in_set(StepSet::Score),
        ));
    }

    fn hidden_state(entity: EntityRef) -> Vec<String> {
        let Some(secret) = entity.get::<SecretCity>() else { return Vec::new() };
        atlas().secret_names(secret.0).map(str::to_owned).collect()
    }

    fn sample_actions(_config: &Self::Config) -> Vec<String> {
        let mut actions: Vec<String> = [
            "What is the weather like?",
            "What language do people speak there?",
            "Is it on the coast?",
            "Is it in Asia?",
            "Does it have more than 10 million people?",
            "What is a local food?",
            "What is the city famous for?",
            "What country is it in?",
            "Is it in Paris or London?",
            "What colour is the sky?",
        ]
        .map(str::to_owned)
        .to_vec();
        actions.extend(atlas().cities().iter().step_by(9).map(|city| format!("Is it {}?", city.name)));
        actions
    }
}

/// The reply the env gives to a valid question about `city` with the default rule-based
/// oracle: guesses decided by the env, the rest answered by [`RuleBasedOracle`], then the leak
/// guard. (Invalid questions get the env's admin message instead; here, [`UNMAPPED_REPLY`].)
/// Agents and tests use it to predict answers from the fact table.
pub fn respond(city: CityId, text: &str, max_question_words: usize) -> Cow<'static, str> {
    respond_in_style(city, text, max_question_words, AnswerStyle::Exact)
}

/// [`respond`] for an oracle answering in `style`.
pub fn respond_in_style(city: CityId, text: &str, max_question_words: usize, style: AnswerStyle) -> Cow<'static, str> {
    match reader().read(text, max_question_words) {
        Question::Guess(guess) if guess == city => Cow::Borrowed(CORRECT_REPLY),
        Question::Guess(_) => Cow::Borrowed("No."),
        Question::Invalid(_) => Cow::Borrowed(UNMAPPED_REPLY),
        question => leak_guard(city, RuleBasedOracle.answer(&OracleRequest { city, text, question, style })),
    }
}

fn read_question(mut episodes: Stepping<(&EnvConfig<GuessMyCity>, &mut AskedQuestion)>) {
    let reader = reader();
    for (text, (config, mut asked)) in episodes.iter_mut_with_action() {
        asked.0 = reader.read(text, config.max_question_words);
    }
}

/// Decides guesses and invalid questions itself, sends the other questions of all stepping
/// episodes to their counterpart in one batch per backend, and filters every answer.
fn answer_questions(
    mut episodes: Stepping<(Entity, &SecretCity, &AskedQuestion, &Counterpart, &EnvConfig<GuessMyCity>)>,
    mut answers: Query<&mut OracleAnswer>,
    mut pending: Local<Vec<Entity>>,
    mut batch: Local<Vec<Cow<'static, str>>>,
) {
    pending.clear();
    let mut backend: Option<&Arc<dyn CityOracle>> = None;
    let mut requests = Vec::new();
    for (text, (entity, secret, asked, counterpart, config)) in episodes.iter_mut_with_action() {
        let decided: Option<Cow<'static, str>> = match asked.0 {
            Question::Guess(city) if city == secret.0 => Some(Cow::Borrowed(CORRECT_REPLY)),
            Question::Guess(_) => Some(Cow::Borrowed("No.")),
            Question::Invalid(_) => Some(Cow::Borrowed("")),
            _ => None,
        };
        if let Some(reply) = decided {
            if let Ok(mut answer) = answers.get_mut(entity) {
                answer.0 = reply;
            }
            continue;
        }
        // Episodes of one world share one backend; a different one flushes the batch.
        if backend.is_some_and(|b| !Arc::ptr_eq(b, &counterpart.0)) {
            flush(backend, &requests, &pending, &mut batch, &mut answers);
            requests.clear();
            pending.clear();
        }
        backend = Some(&counterpart.0);
        requests.push(OracleRequest { city: secret.0, text, question: asked.0, style: config.answer_style });
        pending.push(entity);
    }
    flush(backend, &requests, &pending, &mut batch, &mut answers);
}

fn flush(
    backend: Option<&Arc<dyn CityOracle>>,
    requests: &[OracleRequest<'_>],
    entities: &[Entity],
    batch: &mut Vec<Cow<'static, str>>,
    answers: &mut Query<&mut OracleAnswer>,
) {
    let Some(backend) = backend else { return };
    if requests.is_empty() {
        return;
    }
    batch.clear();
    backend.answer_batch(requests, batch);
    for (index, (entity, request)) in entities.iter().zip(requests).enumerate() {
        let text = batch.get_mut(index).map_or(Cow::Borrowed(UNMAPPED_REPLY), std::mem::take);
        let text = if text.trim().is_empty() { Cow::Borrowed(UNMAPPED_REPLY) } else { text };
        if let Ok(mut answer) = answers.get_mut(*entity) {
            answer.0 = leak_guard(request.city, text);
        }
    }
}

fn render_answer(mut episodes: Stepping<(&EnvConfig<GuessMyCity>, &AskedQuestion, &OracleAnswer, &mut Reply)>) {
    for (config, asked, answer, mut reply) in episodes.iter_mut() {
        match asked.0 {
            Question::Invalid(_) => reply.set(
                Speaker::Env,
                Kind::Admin,
                INVALID_MESSAGE.replace("{max}", &config.max_question_words.to_string()),
            ),
            _ => reply.set(Speaker::Partner, Kind::Observation, answer.0.clone()),
        }
    }
}

fn score_question(mut episodes: Stepping<(&Turn, &SecretCity, &AskedQuestion, &mut Outcome)>) {
    for (turn, secret, asked, mut outcome) in episodes.iter_mut() {
        let correct = asked.0 == Question::Guess(secret.0);
        outcome.reward = if correct { 0.0 } else { -1.0 };
        outcome.success = correct;
        outcome.invalid_action = matches!(asked.0, Question::Invalid(_));
        // The spec's turn cap is `max_questions`.
        outcome.end_when(correct || turn.is_last(), if correct { "win" } else { "out_of_questions" });
    }
}
