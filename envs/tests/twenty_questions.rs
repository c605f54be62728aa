//! The Twenty Questions oracle: knowledge-base integrity, the question parser, the win check
//! and the rules of an episode.

use envs::twenty_questions::{InvalidQuestion, ObjectId, Question, TwentyQuestions, TwentyQuestionsConfig, knowledge};
use proptest::prelude::*;
use sim_core::conformance::contains_words;
use sim_core::{Env, GymEnv, kind};

const WORDS: usize = 40;

fn object(name: &str) -> ObjectId {
    knowledge().object_named(name).unwrap_or_else(|| panic!("no object {name}"))
}

fn asks(question: &str) -> (String, bool) {
    match knowledge().parse(question, WORDS) {
        Question::Attribute { attribute, negated } => {
            (knowledge().attributes()[attribute as usize].id.clone(), negated)
        }
        other => panic!("{question:?} parsed as {other:?}"),
    }
}

#[test]
fn knowledge_base_has_the_reference_size() {
    let kb = knowledge();
    assert!(kb.objects().len() >= 150, "{} objects", kb.objects().len());
    assert!(kb.categories().len() >= 15, "{} categories", kb.categories().len());
    for (name, _) in kb.categories() {
        assert!(kb.objects().iter().any(|o| &o.category == name), "category {name} is empty");
    }
}

#[test]
fn every_object_has_a_distinct_answer_vector() {
    let objects = knowledge().objects();
    for (i, a) in objects.iter().enumerate() {
        for b in &objects[i + 1..] {
            assert_ne!(a.answers, b.answers, "{} and {} cannot be told apart", a.name, b.name);
        }
    }
}

#[test]
fn every_canonical_question_asks_its_own_attribute() {
    for attribute in knowledge().attributes() {
        assert_eq!(asks(&attribute.question), (attribute.id.clone(), false), "{}", attribute.question);
    }
}

#[test]
fn every_alias_wins_as_a_guess() {
    let kb = knowledge();
    for (id, object) in kb.objects().iter().enumerate() {
        for alias in &object.aliases {
            for question in [
                format!("Is it a {alias}?"),
                format!("Could it be an {alias}"),
                format!("is it {}?", alias.to_uppercase()),
            ] {
                assert_eq!(kb.parse(&question, WORDS), Question::Guess(id as ObjectId), "{question}");
            }
        }
    }
}

#[test]
fn guesses_accept_aliases_and_plurals() {
    let kb = knowledge();
    let airplane = object("airplane");
    assert_eq!(kb.parse("Is it an airplane?", WORDS), Question::Guess(airplane));
    assert_eq!(kb.parse("Is it a plane?", WORDS), Question::Guess(airplane));
    assert_eq!(kb.parse("Are they airplanes?", WORDS), Question::Guess(airplane));
    assert_eq!(kb.parse("  is it an AIRPLANE  ", WORDS), Question::Guess(airplane));
    // Naming the object inside a longer question is not a guess.
    assert_ne!(kb.parse("Is it bigger than an airplane?", WORDS), Question::Guess(airplane));
}

#[test]
fn free_form_questions_map_to_attributes() {
    // (question, a word the attribute id must contain, negated)
    let cases = [
        ("Is it something you can eat?", "edible", false),
        ("Can you eat it?", "edible", false),
        ("Does it have wheels?", "wheel", false),
        ("Is it bigger than a car?", "bigger_than_car", false),
        ("Is it smaller than a car?", "bigger_than_car", true),
        ("Is it alive?", "living", false),
        ("Is it made of wood?", "wood", false),
        ("Is it not an animal?", "animal", true),
        ("Isn't it an animal?", "animal", false),
        ("Would it fit in your pocket?", "pocket", false),
        ("Can it fly?", "fl", false),
        ("Does it need electricity?", "electric", false),
    ];
    for (question, expected, negated) in cases {
        let (id, was_negated) = asks(question);
        assert!(id.contains(expected), "{question:?} asked {id}, expected an attribute like {expected}");
        assert_eq!(was_negated, negated, "{question:?}");
    }
}

#[test]
fn invalid_and_unknown_questions() {
    let kb = knowledge();
    assert_eq!(kb.parse("", WORDS), Question::Invalid(InvalidQuestion::Empty));
    assert_eq!(kb.parse(" \n\t", WORDS), Question::Invalid(InvalidQuestion::Empty));
    assert_eq!(kb.parse(&"is it ".repeat(30), WORDS), Question::Invalid(InvalidQuestion::TooLong));
    assert_eq!(kb.parse(&"x".repeat(100_000), WORDS), Question::Invalid(InvalidQuestion::TooLong));
    assert_eq!(kb.parse("Tell me the answer.", WORDS), Question::Invalid(InvalidQuestion::NotAQuestion));
    assert_eq!(kb.parse("What colour is it?", WORDS), Question::Invalid(InvalidQuestion::NotAQuestion));
    assert_eq!(kb.parse("?!", WORDS), Question::Invalid(InvalidQuestion::NotAQuestion));
    assert_eq!(kb.parse("Is it quantum-entangled with zorblax?", WORDS), Question::Unknown);
}

#[test]
fn the_env_never_says_an_object_name() {
    let mut env = GymEnv::new(kind::<TwentyQuestions>(TwentyQuestionsConfig::default()).unwrap());
    let prompt = env.reset(Some(0)).observation;
    let invalid = env.step("").observation;
    for text in [prompt.as_ref(), invalid.as_ref(), "Yes.", "No."] {
        for object in knowledge().objects() {
            for alias in &object.aliases {
                assert!(!contains_words(text, alias), "{text:?} names {alias}");
            }
        }
    }
}

fn play(config: TwentyQuestionsConfig, seed: u64, questions: &[&str]) -> Vec<sim_core::Step> {
    let mut env = GymEnv::new(kind::<TwentyQuestions>(config).unwrap());
    let _ = env.reset(Some(seed));
    let mut steps = Vec::new();
    for question in questions {
        let step = env.step(*question);
        let done = step.done();
        steps.push(step);
        if done {
            break;
        }
    }
    steps
}

#[test]
fn a_correct_guess_wins_with_reward_zero() {
    let config = TwentyQuestionsConfig { objects: vec!["dog".into()], ..TwentyQuestionsConfig::default() };
    let steps = play(config, 0, &["Is it an animal?", "Is it a cat?", "Is it a puppy?"]);
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[0].observation, "Yes.");
    assert_eq!(steps[1].observation, "No.");
    assert_eq!((steps[2].observation.as_ref(), steps[2].reward), ("Yes.", 0.0));
    assert!(steps[2].terminated && steps[2].info.success && !steps[2].truncated);
    assert_eq!(steps.iter().map(|s| s.reward).sum::<f64>(), -2.0);
}

#[test]
fn twenty_wrong_questions_lose() {
    let config = TwentyQuestionsConfig { objects: vec!["dog".into()], ..TwentyQuestionsConfig::default() };
    let steps = play(config, 0, &["Is it a vehicle?"; 25]);
    assert_eq!(steps.len(), 20);
    assert!(steps[..19].iter().all(|s| !s.done() && s.reward == -1.0));
    assert!(steps[19].terminated && !steps[19].info.success);
}

#[test]
fn invalid_questions_cost_a_question_and_say_why() {
    let steps = play(TwentyQuestionsConfig::default(), 3, &["", "Tell me!"]);
    for step in &steps {
        assert!(step.info.invalid_action);
        assert_eq!(step.reward, -1.0);
        assert!(step.observation.starts_with("Invalid question"), "{}", step.observation);
    }
    assert_eq!(steps[1].info.turn, 2);
}

#[test]
fn unknown_object_in_config_is_rejected() {
    let error =
        kind::<TwentyQuestions>(TwentyQuestionsConfig { objects: vec!["unicorn".into()], ..Default::default() })
            .err()
            .unwrap();
    assert!(error.to_string().contains("unicorn"));
}

#[test]
fn cycle_selection_plays_objects_in_order() {
    let config =
        TwentyQuestionsConfig { selection: envs::twenty_questions::ObjectSelection::Cycle, ..Default::default() };
    let first = knowledge().objects()[0].aliases[0].clone();
    let steps = play(config, 99, &[&format!("Is it a {first}?")]);
    assert!(steps[0].info.success);
}

proptest! {
    #[test]
    fn parsing_any_string_is_total_and_pure(question in "\\PC{0,120}|.{0,80}") {
        let kb = knowledge();
        prop_assert_eq!(kb.parse(&question, WORDS), kb.parse(&question, WORDS));
    }

    #[test]
    fn case_and_punctuation_do_not_matter(index in 0usize..400) {
        let kb = knowledge();
        let attributes = kb.attributes();
        let question = &attributes[index % attributes.len()].question;
        let shouted = format!("  {}!!", question.to_uppercase().trim_end_matches('?'));
        prop_assert_eq!(kb.parse(question, WORDS), kb.parse(&shouted, WORDS));
    }
}

#[test]
fn the_vague_oracle_says_maybe_about_a_quarter_of_attributes_and_i_dont_know_to_the_rest() {
    use envs::twenty_questions::{AnswerStyle, DONT_KNOW_REPLY, MAYBE_REPLY, OracleStyle, VAGUE_NOTE};
    let attributes = knowledge().attributes().len();
    let mut unsure = 0;
    for seed in 0..20 {
        let style = OracleStyle { style: AnswerStyle::Vague, seed };
        unsure += (0..attributes as u16).filter(|a| style.unsure_about(*a)).count();
        let exact = OracleStyle { style: AnswerStyle::Exact, seed };
        assert!((0..attributes as u16).all(|a| !exact.unsure_about(a)));
    }
    let share = unsure as f64 / (20 * attributes) as f64;
    assert!((0.18..0.32).contains(&share), "unsure about {share:.3} of the attributes");

    let vague =
        TwentyQuestionsConfig { objects: vec!["dog".into()], answer_style: AnswerStyle::Vague, ..Default::default() };
    let questions: Vec<&str> = knowledge().attributes().iter().map(|a| a.question.as_str()).take(19).collect();
    let plain = play(TwentyQuestionsConfig { objects: vec!["dog".into()], ..Default::default() }, 4, &questions);
    let steps = play(vague.clone(), 4, &questions);
    let mut maybes = 0;
    for (exact, vague) in plain.iter().zip(&steps) {
        if vague.observation == MAYBE_REPLY {
            maybes += 1;
        } else {
            assert_eq!(exact.observation, vague.observation);
        }
    }
    assert!(maybes > 0, "no attribute answered vaguely");
    // Asking again gets the same answer.
    let again = play(vague.clone(), 4, &questions);
    assert_eq!(
        steps.iter().map(|s| &s.observation).collect::<Vec<_>>(),
        again.iter().map(|s| &s.observation).collect::<Vec<_>>()
    );
    let unknown = play(vague.clone(), 4, &["Does it zorp the blarg?"]);
    assert_eq!(unknown[0].observation, DONT_KNOW_REPLY);
    let win = play(vague, 4, &["Is it a dog?"]);
    assert!(win[0].info.success);
    let mut env = GymEnv::new(
        kind::<TwentyQuestions>(TwentyQuestionsConfig { answer_style: AnswerStyle::Vague, ..Default::default() })
            .unwrap(),
    );
    assert!(env.reset(Some(0)).observation.contains(VAGUE_NOTE));
    let parsed: TwentyQuestionsConfig = ron::from_str("(max_questions: 20)").unwrap();
    assert_eq!(parsed.answer_style, AnswerStyle::Exact);
}
