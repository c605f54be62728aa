//! The buyer's behaviour: matching pitches sell more often, decisions parse, the reward
//! formula, hidden persona never spoken.

use std::borrow::Cow;

use super::buyer::BUDGETS;
use super::catalogue::{BODIES, BRANDS, FEATURES, dollars, msrp};
use super::*;

/// Plays a fixed seller against the rule-based buyer of persona `seed`: asks nothing, pitches
/// `body` of the buyer's brand with all its wanted features, then quotes a price falling from
/// the list price by 5% a turn. Returns the sale price, if any.
fn sell(seed: u64, pick_body: impl Fn(&Persona) -> usize) -> Option<u32> {
    let persona = Persona::draw(seed);
    let mut memory = BuyerMemory { patience: initial_patience(persona.style), ..BuyerMemory::default() };
    let body = pick_body(&persona);
    let features: Vec<&str> =
        (0..FEATURES.len()).filter(|f| persona.features & (1 << f) != 0).map(|f| FEATURES[f].1[0]).collect();
    let list = msrp(persona.brand, body);
    for turn in 0..25u32 {
        let line = if turn == 0 {
            format!("This {} {} has {}.", BRANDS[persona.brand].0, BODIES[body].1[0], features.join(", "))
        } else {
            let price = (f64::from(list) * 0.95f64.powi(turn as i32 - 1)) as u32;
            format!("I can sell you the {} for {}.", BODIES[body].1[0], dollars(price))
        };
        let mut request = BuyerRequest {
            persona: &persona,
            memory: &mut memory,
            seller: &line,
            episode_seed: seed,
            turn,
            must_decide: turn == 24,
        };
        let reply = RuleBasedBuyer.reply(&mut request);
        match parse_decision(&reply) {
            Some(Decision::Accept { price, .. }) => return Some(price),
            Some(Decision::Reject { .. }) => return None,
            None => {}
        }
    }
    panic!("no decision by the turn cap");
}

#[test]
fn pitching_the_wrong_body_type_sells_less_often_than_the_right_one() {
    let episodes = 600;
    let right = (0..episodes).filter(|&seed| sell(seed, |p| p.body).is_some()).count();
    let wrong = (0..episodes).filter(|&seed| sell(seed, |p| (p.body + 1) % BODIES.len()).is_some()).count();
    println!("sales: right body {right}/{episodes}, wrong body {wrong}/{episodes}");
    assert!(right as f64 >= 1.5 * wrong as f64 && right > episodes as usize / 4, "right {right}, wrong {wrong}");
}

#[test]
fn reservation_rises_with_the_match_and_depends_on_the_style() {
    for seed in 0..200 {
        let persona = Persona::draw(seed);
        let wrong =
            BuyerMemory { brand: Some(persona.brand), body: Some((persona.body + 1) % 6), ..Default::default() };
        let bare = BuyerMemory { body: Some(persona.body), ..wrong };
        let matched = BuyerMemory { features_heard: persona.features, ..bare };
        let score = |memory: &BuyerMemory| RuleBasedBuyer::match_score(&persona, memory);
        assert!(score(&wrong) < score(&bare) && score(&bare) <= score(&matched), "{persona:?}");
        // Same car: hearing the wanted features never lowers the limit.
        assert!(RuleBasedBuyer::reservation(&persona, &bare) <= RuleBasedBuyer::reservation(&persona, &matched));
        // The wrong body type costs a fifth of the limit.
        let wrong_limit = f64::from(persona.budget) * (0.78 + 0.30 * score(&wrong)) * 1.05 * 0.8;
        assert!(f64::from(RuleBasedBuyer::reservation(&persona, &wrong)) <= wrong_limit + 100.0, "{persona:?}");
        assert!(RuleBasedBuyer::reservation(&persona, &matched) <= persona.budget * 105 / 100, "{persona:?}");
    }
}

#[test]
fn decisions_parse_and_the_fancy_reward() {
    let accept = "Fine, I'll take it. Output: Decision=Accept MSRP=$40,000 Buy Price=$35,000";
    assert_eq!(parse_decision(accept), Some(Decision::Accept { msrp: 40_000, price: 35_000 }));
    assert_eq!(parse_decision("Output: Decision=Reject MSRP=30000"), Some(Decision::Reject { msrp: 30_000 }));
    assert_eq!(parse_decision("Output: Decision=Maybe"), None);
    assert_eq!(parse_decision("no tag here"), None);
    assert_eq!(parse_decision("Output: Decision=Accept MSRP=$"), None);
    let reward = fancy_reward(30_000, Decision::Accept { msrp: 40_000, price: 35_000 });
    assert!((reward - 1.0).abs() < 1e-12);
    assert!((fancy_reward(50_000, Decision::Reject { msrp: 25_000 }) + 1.0).abs() < 1e-12);
    // The documented range.
    let cheapest = (0..BRANDS.len()).flat_map(|b| (0..BODIES.len()).map(move |t| msrp(b, t))).min().unwrap();
    assert_eq!(cheapest, 23_000);
    let worst = fancy_reward(*BUDGETS.last().unwrap(), Decision::Reject { msrp: cheapest });
    assert!((worst - MIN_REWARD).abs() < 1e-12);
}

#[test]
fn the_buyer_states_needs_when_asked_and_counters() {
    let seed = (0..100).find(|&s| Persona::draw(s).style == Style::FeatureSeeker).unwrap();
    let persona = Persona::draw(seed);
    let mut memory = BuyerMemory { patience: initial_patience(persona.style), ..BuyerMemory::default() };
    let ask = |line: &str, turn: u32, memory: &mut BuyerMemory| -> Cow<'static, str> {
        RuleBasedBuyer.reply(&mut BuyerRequest {
            persona: &persona,
            memory,
            seller: line,
            episode_seed: seed,
            turn,
            must_decide: false,
        })
    };
    let needs = ask("Hi! What are you looking for?", 0, &mut memory);
    assert!(needs.contains(BODIES[persona.body].0), "{needs}");
    assert!(needs.contains(&dollars(persona.budget)), "{needs}");
    let pitch =
        format!("The {} {} for {}.", BRANDS[persona.brand].0, BODIES[persona.body].1[0], dollars(persona.budget * 2));
    let counter = ask(&pitch, 1, &mut memory);
    assert!(super::catalogue::prices(&counter).iter().any(|&p| p < persona.budget * 2), "{counter}");
    assert!(parse_decision(&counter).is_none());
}

/// Plays a seller who asks for the buyer's needs and then only makes small talk, against the
/// rule-based buyer of persona `seed` with `personality`: the buyer's replies, up to and
/// including its decision (it walks out when its patience is spent).
fn stalling_conversation(seed: u64, personality: Option<Personality>) -> Vec<String> {
    let persona = Persona { personality, ..Persona::draw(seed) };
    let mut memory = BuyerMemory { patience: starting_patience(&persona), ..BuyerMemory::default() };
    let mut replies = Vec::new();
    for turn in 0..25u32 {
        let line = if turn == 0 { "Hello! What are you looking for today?" } else { "Lovely weather today, isn't it?" };
        let mut request = BuyerRequest {
            persona: &persona,
            memory: &mut memory,
            seller: line,
            episode_seed: seed,
            turn,
            must_decide: turn == 24,
        };
        let mut out = Vec::new();
        RuleBasedBuyer.reply_batch(std::slice::from_mut(&mut request), &mut out);
        let reply = out.pop().unwrap().into_owned();
        let decided = parse_decision(&reply).is_some();
        replies.push(reply);
        if decided {
            break;
        }
    }
    replies
}

/// A personality changes the wording of the buyer's replies and how many turns the buyer
/// stays (by exactly its patience change), keeps the decision parsable, and never changes what
/// the buyer wants.
fn check_personality(personality: Personality) {
    for seed in 0..40 {
        let plain = stalling_conversation(seed, None);
        let voiced = stalling_conversation(seed, Some(personality));
        assert_ne!(plain[0], voiced[0], "{personality:?}, seed {seed}: the needs statement is worded the same");
        assert_eq!(
            voiced.len() as i32 - plain.len() as i32,
            personality.patience_change(),
            "{personality:?}, seed {seed}: {plain:?} vs {voiced:?}"
        );
        let decision = voiced.last().and_then(|reply| parse_decision(reply));
        assert!(matches!(decision, Some(Decision::Reject { .. })), "{personality:?}: {voiced:?}");
        // The needs statement still names the same car and features (the uncommunicative buyer
        // says only its first sentence, which names the car).
        let (heard_plain, heard_voiced) = (catalogue::mentions(&plain[0]), catalogue::mentions(&voiced[0]));
        assert_eq!(heard_plain.body, heard_voiced.body, "{personality:?}: {voiced:?}");
        if personality != Personality::Uncommunicative {
            assert_eq!(heard_plain.features, heard_voiced.features);
            assert_eq!(catalogue::prices(&plain[0]), catalogue::prices(&voiced[0]));
        }
    }
}

macro_rules! personality_tests {
    ($($name:ident => $personality:expr),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_personality($personality);
            }
        )*
    };
}

personality_tests! {
    the_abusive_buyer_is_curt_and_leaves_sooner => Personality::Abusive,
    the_angry_buyer_is_curt_and_leaves_sooner => Personality::Angry,
    the_insulting_buyer_is_curt_and_leaves_sooner => Personality::Insulting,
    the_polite_buyer_thanks_and_stays_longer => Personality::Polite,
    the_respectful_buyer_thanks_and_stays_longer => Personality::Respectful,
    the_rude_buyer_is_curt_and_leaves_sooner => Personality::Rude,
    the_sarcastic_buyer_mocks_and_leaves_sooner => Personality::Sarcastic,
    the_talkative_buyer_chats_and_stays_longest => Personality::Talkative,
    the_toxic_buyer_complains_and_leaves_soonest => Personality::Toxic,
    the_uncommunicative_buyer_says_little_and_leaves_sooner => Personality::Uncommunicative,
}

#[test]
fn personalities_are_off_by_default_and_random_draws_all_ten() {
    let config = CarDealerConfig::default();
    assert_eq!(config.personality, PersonalityChoice::Off);
    assert_eq!(PersonalityChoice::Off.draw(7), None);
    let drawn: std::collections::BTreeSet<Personality> =
        (0..400).filter_map(|seed| PersonalityChoice::Random.draw(seed)).collect();
    assert_eq!(drawn.len(), Personality::ALL.len());
    // An old scenario file without the field still parses.
    let parsed: CarDealerConfig = ron::from_str("(max_turns: 25)").unwrap();
    assert_eq!(parsed.personality, PersonalityChoice::Off);
    let parsed: CarDealerConfig = ron::from_str("(personality: Fixed(Talkative))").unwrap();
    assert_eq!(parsed.personality, PersonalityChoice::Fixed(Personality::Talkative));
}
