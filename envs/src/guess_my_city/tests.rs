//! The no-leak property over every city and question form, the fact table's consistency, and
//! the reader's question forms.

use std::borrow::Cow;

use proptest::prelude::*;

use super::cities::{Climate, Continent, FoodKind, LandmarkType, Region, atlas};
use super::oracle::{Fact, OWN_LANGUAGE_REPLY, Topic, answer, leak_guard, open_answer, reader};
use super::*;

/// Question forms covering every kind of reading: open topics, yes/no facts, countries,
/// languages, waters, numbers, negation, "or", names asked for, unmapped, invalid.
fn question_forms() -> Vec<String> {
    let atlas = atlas();
    let mut forms: Vec<String> = [
        "What is the weather like?",
        "What's the climate?",
        "Where is it?",
        "Which continent is it on?",
        "Which hemisphere is it in?",
        "What language do people speak?",
        "How many people live there?",
        "What is it famous for?",
        "What is a local food?",
        "What river or body of water is it on?",
        "What sea is it on?",
        "Is it the capital?",
        "Tell me about its government.",
        "What country is it in?",
        "What is the name of the city?",
        "Is it on the coast?",
        "Is it landlocked?",
        "Is it not on a river?",
        "Is it in the southern hemisphere?",
        "Is it near the equator?",
        "Is it in the tropics?",
        "Is the climate hot?",
        "Does it snow in winter?",
        "Is it a megacity?",
        "Does it have more than 10 million people?",
        "Does it have fewer than five million people?",
        "Is the population over 20000000?",
        "Is it in Asia or Europe?",
        "Is it Paris or London?",
        "What colour is the sky?",
        "",
        "   ",
        "Tell me the city's name, please",
    ]
    .map(str::to_owned)
    .to_vec();
    for continent in Continent::ALL {
        forms.push(format!("Is it in {}?", continent.label()));
    }
    for region in Region::ALL {
        forms.push(format!("Is it in {}?", region.label()));
    }
    for country in atlas.countries() {
        for name in country.names() {
            forms.push(format!("Is it in {name}?"));
            forms.push(format!("What is {name} like?"));
        }
    }
    for language in atlas.languages() {
        forms.push(format!("Do people speak {}?", language.name));
    }
    for landmark in LandmarkType::ALL {
        forms.push(format!("Is it known for {}?", landmark.label()));
        for phrase in landmark.phrases() {
            forms.push(format!("Is there a famous {phrase}?"));
            forms.push(format!("What {phrase} is it known for?"));
        }
    }
    for food in FoodKind::ALL {
        forms.push(format!("Is the food known for {}?", food.label()));
        for phrase in food.phrases() {
            forms.push(format!("Do people eat {phrase}?"));
            forms.push(format!("What kind of {phrase} do they cook?"));
        }
    }
    for city in atlas.cities() {
        for water in city.waters().chain(city.also_waters.iter().map(String::as_str)) {
            forms.push(format!("Is it on {water}?"));
        }
        for name in city.names() {
            forms.push(format!("Is it {name}?"));
            forms.push(format!("Is it near {name}?"));
        }
    }
    forms
}

/// The env's answer path for one question: guesses decided by the env, the rest by the
/// rule-based oracle, then the leak guard.
fn env_answer(city: CityId, text: &str) -> Cow<'static, str> {
    let reply = respond(city, text, 40);
    let question = reader().read(text, 40);
    if !matches!(question, Question::Guess(_) | Question::Invalid(_)) {
        assert_eq!(reply, leak_guard(city, answer(city, question)));
    }
    reply
}

fn leaks(city: CityId, text: &str) -> Option<String> {
    atlas()
        .secret_names(city)
        .find(|name| sim_core::conformance::contains_words(text, name) || reader().mentions_secret(city, text))
        .map(str::to_owned)
}

#[test]
fn no_answer_names_the_city_or_its_country_for_any_city_and_question_form() {
    let forms = question_forms();
    for city in 0..atlas().cities().len() as CityId {
        for form in &forms {
            let reply = env_answer(city, form);
            if let Some(name) = leaks(city, &reply) {
                panic!("{:?}: {form:?} -> {reply:?} reveals {name:?}", atlas().city(city).name);
            }
        }
    }
}

#[test]
fn the_shipped_facts_never_need_the_guard() {
    // The guard is the backstop; the table itself should not mention its own names, so
    // every open answer stays informative.
    let atlas = atlas();
    for city in 0..atlas.cities().len() as CityId {
        for topic in Topic::ALL {
            let text = open_answer(atlas, city, topic);
            assert!(
                leaks(city, &text).is_none(),
                "{}: {topic:?} answer {text:?} names the city or country",
                atlas.city(city).name
            );
        }
    }
}

#[test]
fn the_guard_replaces_answers_that_name_the_secret() {
    let paris = match reader().read("Is it Paris?", 40) {
        Question::Guess(city) => city,
        other => panic!("{other:?}"),
    };
    for text in ["It is PARIS!", "A city of france.", "paris's river", "It's in France"] {
        assert_eq!(leak_guard(paris, Cow::Owned(text.to_owned())), UNMAPPED_REPLY, "{text}");
    }
    assert_eq!(leak_guard(paris, Cow::Borrowed("It is in Western Europe.")), "It is in Western Europe.");
    let sao_paulo = match reader().read("Is it Sao Paulo?", 40) {
        Question::Guess(city) => city,
        other => panic!("{other:?}"),
    };
    assert_eq!(leak_guard(sao_paulo, Cow::Borrowed("Welcome to São Paulo")), UNMAPPED_REPLY);
    assert_eq!(leak_guard(sao_paulo, Cow::Borrowed("It is in BRASIL")), UNMAPPED_REPLY);
    let long = "word ".repeat(500) + "brazil";
    assert_eq!(leak_guard(sao_paulo, Cow::Owned(long)), UNMAPPED_REPLY);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Arbitrary text around names and topic words never makes the env's answer name the
    /// secret city or country, unless the question guessed the city.
    #[test]
    fn no_leak_for_arbitrary_questions(
        city in 0..atlas().cities().len() as CityId,
        before in "[a-zA-Z ?,']{0,30}",
        pick in 0..10_000usize,
        after in "[a-zA-Z ?,']{0,30}",
    ) {
        let forms = question_forms();
        let text = format!("{before} {} {after}", forms[pick % forms.len()]);
        let reply = env_answer(city, &text);
        prop_assert!(leaks(city, &reply).is_none(), "{text:?} -> {reply:?}");
    }
}

fn city(name: &str) -> CityId {
    match reader().read(&format!("Is it {name}?"), 40) {
        Question::Guess(city) => city,
        other => panic!("{name}: {other:?}"),
    }
}

fn ask(name: &str, question: &str) -> String {
    env_answer(city(name), question).into_owned()
}

#[test]
fn aliases_and_modern_names_are_guesses() {
    for (old, new) in [
        ("Bombay", "Mumbai"),
        ("Kiev", "Kyiv"),
        ("Peking", "Beijing"),
        ("Saigon", "Ho Chi Minh City"),
        ("Calcutta", "Kolkata"),
        ("Madras", "Chennai"),
        ("Pusan", "Busan"),
        ("Leningrad", "Saint Petersburg"),
        ("St. Petersburg", "Saint Petersburg"),
        ("São Paulo", "Sao Paulo"),
        ("Bogotá", "Bogota"),
        ("Rangoon", "Yangon"),
        ("Constantinople", "Istanbul"),
        ("Washington DC", "Washington, D.C."),
        ("Xi'an", "Xian"),
    ] {
        assert_eq!(city(old), city(new), "{old} / {new}");
        assert_eq!(ask(new, &format!("Is your city {old}?")), CORRECT_REPLY);
    }
    assert_eq!(ask("Lima", "My guess is Lima"), CORRECT_REPLY);
    assert_eq!(ask("Lima", "Are you from Quito or Lima?"), CORRECT_REPLY, "Quito is not in the table");
    assert_eq!(ask("Lima", "Is it Lima or Bogota?"), ONE_AT_A_TIME_REPLY);
    assert_eq!(ask("Lima", "Is it Paris?"), "No.");
}

#[test]
fn yes_no_forms() {
    assert_eq!(ask("Tokyo", "Is it in Asia?"), "Yes.");
    assert_eq!(ask("Tokyo", "Is it in Europe?"), "No.");
    assert_eq!(ask("Tokyo", "Is it not in Europe?"), "Yes.");
    assert_eq!(ask("Tokyo", "Is it in East Asia?"), "Yes.");
    assert_eq!(ask("Tokyo", "Is it in Japan?"), "Yes.");
    assert_eq!(ask("Tokyo", "Is it a coastal capital?"), "Yes.");
    assert_eq!(ask("Tokyo", "Is it on Tokyo Bay?"), "Yes.");
    assert_eq!(ask("Tokyo", "Do people speak Japanese?"), "Yes.");
    assert_eq!(ask("Tokyo", "Do they speak Chinese?"), "No.");
    assert_eq!(ask("Tokyo", "Does it have more than 30 million people?"), "Yes.");
    assert_eq!(ask("Tokyo", "Does it have more than forty million inhabitants?"), "No.");
    assert_eq!(ask("Tokyo", "Is it in the southern hemisphere?"), "No.");
    assert_eq!(ask("Tokyo", "Is it in Asia or Europe?"), ONE_AT_A_TIME_REPLY);
    assert_eq!(ask("Sydney", "Is it south of the equator?"), "Yes.");
    assert_eq!(ask("Cairo", "Is it on the Nile?"), "Yes.");
    assert_eq!(ask("Khartoum", "Is it on the Nile river?"), "Yes.");
    assert_eq!(ask("Cairo", "Is the climate dry?"), "Yes.");
    assert_eq!(ask("Moscow", "Does it have cold snowy winters?"), "Yes.");
    assert_eq!(ask("Moscow", "Is it landlocked?"), "Yes.");
    assert_eq!(ask("Madrid", "Do they speak Castilian?"), "Yes.");
    assert_eq!(ask("Buenos Aires", "Is it on the Rio de la Plata?"), "Yes.");
    assert_eq!(ask("Shanghai", "Is it on the Yangtze?"), "Yes.");
    assert_eq!(ask("Hong Kong", "Is it in China?"), "Yes.");
    assert_eq!(ask("Singapore", "Is it in Singapore?"), CORRECT_REPLY);
    assert_eq!(ask("Milan", "Is it known for a cathedral?"), "Yes.");
    assert_eq!(ask("Milan", "Is it famous for a tower?"), "No.");
    assert_eq!(ask("Tokyo", "Is there a famous tower?"), "Yes.");
    assert_eq!(ask("Cairo", "Does it have ancient ruins?"), "Yes.");
    assert_eq!(ask("Hanoi", "Do people eat noodles?"), "Yes.");
    assert_eq!(ask("Delhi", "Is the food spicy?"), "Yes.");
    assert_eq!(ask("Naples", "Is it known for pizza?"), "Yes.");
    assert_eq!(ask("Naples", "Do they eat a lot of dumplings?"), "No.");
    assert_eq!(ask("Naples", "Is the food not sausages?"), "Yes.");
}

#[test]
fn landmark_and_food_questions_read_as_their_types() {
    for landmark in LandmarkType::ALL {
        let question = format!("Is it known for {}?", landmark.label());
        match reader().read(&question, 40) {
            Question::YesNo(yes_no) => assert_eq!(yes_no.facts(), [Fact::Landmark(landmark)], "{question}"),
            other => panic!("{question}: {other:?}"),
        }
        for phrase in landmark.phrases() {
            let question = format!("Is there a famous {phrase}?");
            match reader().read(&question, 40) {
                Question::YesNo(yes_no) => assert_eq!(yes_no.facts(), [Fact::Landmark(landmark)], "{question}"),
                other => panic!("{question}: {other:?}"),
            }
            assert_eq!(reader().read(&format!("Which {phrase} is it known for?"), 40), Question::Open(Topic::Landmark));
        }
    }
    for food in FoodKind::ALL {
        let question = format!("Is the food known for {}?", food.label());
        match reader().read(&question, 40) {
            Question::YesNo(yes_no) => assert_eq!(yes_no.facts(), [Fact::Food(food)], "{question}"),
            other => panic!("{question}: {other:?}"),
        }
        for phrase in food.phrases() {
            let question = format!("Do people eat {phrase}?");
            match reader().read(&question, 40) {
                Question::YesNo(yes_no) => assert_eq!(yes_no.facts(), [Fact::Food(food)], "{question}"),
                other => panic!("{question}: {other:?}"),
            }
        }
    }
}

/// No open answer singles out one city: every sentence of every topic is shared by at least
/// two cities of the table.
#[test]
fn no_open_answer_singles_out_a_city() {
    let atlas = atlas();
    for topic in Topic::ALL {
        let mut counts: std::collections::BTreeMap<String, Vec<&str>> = std::collections::BTreeMap::new();
        for city in 0..atlas.cities().len() as CityId {
            counts.entry(open_answer(atlas, city, topic)).or_default().push(atlas.city(city).name.as_str());
        }
        for (answer, cities) in &counts {
            assert!(cities.len() >= 2, "{topic:?}: {answer:?} is only {cities:?}");
        }
    }
    // Every type of the vocabularies is used, by at least two cities (three for landmarks).
    for landmark in LandmarkType::ALL {
        let users = atlas.cities().iter().filter(|c| c.landmark == landmark).count();
        assert!(users >= 3, "{landmark:?}: {users} cities");
    }
    for food in FoodKind::ALL {
        let users = atlas.cities().iter().filter(|c| c.food == food).count();
        assert!(users >= 2, "{food:?}: {users} cities");
    }
}

#[test]
fn open_forms() {
    assert_eq!(ask("Tokyo", "What is the weather like?"), Climate::HumidSubtropical.sentence());
    assert_eq!(ask("Tokyo", "Can you tell me about the food?"), "The local food is known for fish and seafood.");
    assert_eq!(ask("Tokyo", "What is it famous for?"), "It is known for a very tall modern tower.");
    assert_eq!(ask("Milan", "What is the most famous monument?"), "It is known for a great cathedral or basilica.");
    assert_eq!(ask("Tokyo", "What language do they speak?"), "People there mostly speak Japanese.");
    assert_eq!(ask("Singapore", "Which languages are spoken?"), "People there mostly speak English.");
    assert_eq!(ask("Budapest", "What language do they speak?"), OWN_LANGUAGE_REPLY);
    assert_eq!(ask("Budapest", "Do they speak Hungarian?"), "Yes.");
    assert_eq!(ask("Havana", "Where is it?"), "It is in North America (the Caribbean included).");
    assert_eq!(ask("Havana", "Is it in the Caribbean?"), "Yes.");
    assert_eq!(ask("Tokyo", "How big is it?"), "More than 20 million people live in its metropolitan area.");
    assert_eq!(ask("Tokyo", "Where is it?"), "It is in East Asia.");
    assert_eq!(ask("Mumbai", "What sea is it on?"), "It is on the coast, by a sea and a river.");
    assert_eq!(ask("Tokyo", "What waters is it on?"), "It is on the coast, by an ocean and a river.");
    assert_eq!(ask("Moscow", "Which river is it on?"), "It is inland, by a river.");
    assert_eq!(ask("Tokyo", "Which country is it in?"), NAME_REPLY);
    assert_eq!(ask("Tokyo", "What is the city called?"), NAME_REPLY);
    assert_eq!(ask("Tokyo", "What colour is the sky?"), UNMAPPED_REPLY);
    assert_eq!(ask("Tokyo", "Is the food good?"), "The local food is known for fish and seafood.");
}

#[test]
fn invalid_questions() {
    assert_eq!(reader().read("", 40), Question::Invalid(InvalidQuestion::Empty));
    assert_eq!(reader().read("?!", 40), Question::Invalid(InvalidQuestion::Empty));
    assert_eq!(reader().read(&"word ".repeat(41), 40), Question::Invalid(InvalidQuestion::TooLong));
    assert_eq!(reader().read(&"x".repeat(401), 40), Question::Invalid(InvalidQuestion::TooLong));
}

#[test]
fn the_table_is_large_and_consistent() {
    let atlas = atlas();
    assert!(atlas.cities().len() >= 100, "{} cities", atlas.cities().len());
    // Every city can be told apart from every other by the facts an agent can ask about.
    for a in 0..atlas.cities().len() as CityId {
        for b in a + 1..atlas.cities().len() as CityId {
            let differs = Topic::ALL.iter().any(|&topic| open_answer(atlas, a, topic) != open_answer(atlas, b, topic));
            assert!(differs, "{} and {} have the same facts", atlas.city(a).name, atlas.city(b).name);
        }
    }
    // Every fact kind is answerable for some city and not for another.
    let reader = reader();
    for fact in [Fact::Coastal, Fact::Capital, Fact::OnRiver, Fact::SouthernHemisphere, Fact::InTropics] {
        let yes = (0..atlas.cities().len() as CityId).filter(|&c| reader.holds(atlas, c, fact)).count();
        assert!(yes > 0 && yes < atlas.cities().len(), "{fact:?}: {yes}");
    }
    assert!(reader.water_count() > 50);
}

#[test]
fn the_terse_oracle_is_vaguer_says_i_dont_know_and_never_leaks() {
    let forms = question_forms();
    let mut exact_answers = std::collections::BTreeSet::new();
    let mut terse_answers = std::collections::BTreeSet::new();
    for city in 0..atlas().cities().len() as CityId {
        for form in &forms {
            let exact = respond(city, form, 40);
            let terse = respond_in_style(city, form, 40, AnswerStyle::Terse);
            if let Some(name) = leaks(city, &terse) {
                panic!("{:?}: {form:?} -> {terse:?} reveals {name:?}", atlas().city(city).name);
            }
            match reader().read(form, 40) {
                Question::Open(_) => {
                    assert!(terse.len() < exact.len(), "{form:?}: {terse:?} is not shorter than {exact:?}");
                    exact_answers.insert(exact.into_owned());
                    terse_answers.insert(terse.into_owned());
                }
                Question::Unknown => assert_eq!(terse, DONT_KNOW_REPLY),
                _ => assert_eq!(terse, exact, "{form:?}"),
            }
        }
    }
    // Vaguer: far fewer distinct open answers.
    assert!(terse_answers.len() * 4 < exact_answers.len(), "{} vs {}", terse_answers.len(), exact_answers.len());
}

#[test]
fn the_terse_style_is_a_config_option_with_its_own_prompt() {
    let parsed: GuessMyCityConfig = ron::from_str("(max_questions: 20)").unwrap();
    assert_eq!(parsed.answer_style, AnswerStyle::Exact);
    let config = GuessMyCityConfig { answer_style: AnswerStyle::Terse, ..Default::default() };
    let mut env = sim_core::GymEnv::new(sim_core::kind::<GuessMyCity>(config).unwrap());
    let reset = sim_core::Env::reset(&mut env, Some(0));
    assert!(reset.observation.contains(TERSE_NOTE));
    let step = sim_core::Env::step(&mut env, "What colour are the taxis?");
    assert_eq!(step.observation, DONT_KNOW_REPLY);
    let mut plain = sim_core::GymEnv::new(sim_core::kind::<GuessMyCity>(GuessMyCityConfig::default()).unwrap());
    assert!(!sim_core::Env::reset(&mut plain, Some(0)).observation.contains(TERSE_NOTE));
    assert_eq!(sim_core::Env::step(&mut plain, "What colour are the taxis?").observation, UNMAPPED_REPLY);
}
