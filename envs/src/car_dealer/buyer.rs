//! The buyer: its persona, the counterpart trait ([`BuyerBackend`]), the rule-based buyer, and
//! the parser of the structured decision every buyer ends with.

use std::borrow::Cow;

use rand::RngExt;
use sim_core::seed::{stream, stream_indexed};

use super::catalogue::{BODIES, BRANDS, FEATURES, Mentions, article, dollars, mentions, msrp, prices};

/// LMRL-Gym's three buyer strategies (paper §4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Wants a discount: opens low, concedes slowly, pays less.
    DiscountLover,
    /// Wants many features: pays more when the pitch covers them, asks about the missing ones.
    FeatureSeeker,
    /// Impatient: little patience, opens close to its limit.
    Impatient,
}

impl Style {
    pub const ALL: [Style; 3] = [Style::DiscountLover, Style::FeatureSeeker, Style::Impatient];

    pub fn label(self) -> &'static str {
        match self {
            Style::DiscountLover => "discount_lover",
            Style::FeatureSeeker => "feature_seeker",
            Style::Impatient => "impatient",
        }
    }
}

/// LMRL-Gym's ten buyer personalities, layered on the strategy: each changes the buyer's
/// wording (an opening and a closing remark around every reply; the uncommunicative buyer
/// says only its first sentence), its patience and how low it opens its haggling. The wording stays civil: curt or mildly rude
/// phrasing, never slurs. No remark contains a price, a car, a feature or the words the
/// seller's readers look for, so a personality never changes what the buyer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Personality {
    Abusive,
    Angry,
    Insulting,
    Polite,
    Respectful,
    Rude,
    Sarcastic,
    Talkative,
    Toxic,
    Uncommunicative,
}

impl Personality {
    pub const ALL: [Personality; 10] = [
        Personality::Abusive,
        Personality::Angry,
        Personality::Insulting,
        Personality::Polite,
        Personality::Respectful,
        Personality::Rude,
        Personality::Sarcastic,
        Personality::Talkative,
        Personality::Toxic,
        Personality::Uncommunicative,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Personality::Abusive => "abusive",
            Personality::Angry => "angry",
            Personality::Insulting => "insulting",
            Personality::Polite => "polite",
            Personality::Respectful => "respectful",
            Personality::Rude => "rude",
            Personality::Sarcastic => "sarcastic",
            Personality::Talkative => "talkative",
            Personality::Toxic => "toxic",
            Personality::Uncommunicative => "uncommunicative",
        }
    }

    /// Seller turns added to the strategy's starting patience (never zero: every personality
    /// changes how long the buyer stays).
    pub fn patience_change(self) -> i32 {
        match self {
            Personality::Abusive => -3,
            Personality::Angry => -2,
            Personality::Insulting => -2,
            Personality::Polite => 2,
            Personality::Respectful => 1,
            Personality::Rude => -1,
            Personality::Sarcastic => -1,
            Personality::Talkative => 4,
            Personality::Toxic => -4,
            Personality::Uncommunicative => -1,
        }
    }

    /// Added to the share of its limit the buyer opens its haggling with (its counter-offers
    /// rise from there to its limit over four rounds): hostile buyers open lower, courteous
    /// ones closer to their limit.
    pub fn opening_shift(self) -> f64 {
        match self {
            Personality::Abusive => -0.06,
            Personality::Angry => -0.02,
            Personality::Insulting => -0.05,
            Personality::Polite => 0.04,
            Personality::Respectful => 0.03,
            Personality::Rude => -0.03,
            Personality::Sarcastic => -0.01,
            Personality::Talkative => 0.01,
            Personality::Toxic => -0.08,
            Personality::Uncommunicative => 0.02,
        }
    }

    /// Remarks said before a reply (empty: none).
    fn openers(self) -> &'static [&'static str] {
        match self {
            Personality::Abusive => &["Listen to me.", "Stop wasting my time.", "Are you even listening?"],
            Personality::Angry => &["Ugh.", "This is getting on my nerves.", "Honestly!"],
            Personality::Insulting => &["Do you even know your own lot?", "Is this your first day?", "Try to keep up."],
            Personality::Polite => &["Thank you.", "If you don't mind,", "Thanks for asking."],
            Personality::Respectful => &["I appreciate your help.", "With respect,", "Thank you for your time."],
            Personality::Rude => &["Whatever.", "Hmph.", "Get on with it."],
            Personality::Sarcastic => &["Oh, wonderful.", "What a surprise.", "Oh, sure."],
            Personality::Talkative => &[
                "Oh, where do I begin!",
                "You know, my cousin bought a car last spring and has not stopped talking about it.",
                "Funny, I was just telling my neighbour about this place.",
            ],
            Personality::Toxic => &["This place is a joke.", "Nobody here knows anything.", "Typical salesperson."],
            Personality::Uncommunicative => &[],
        }
    }

    /// Remarks said after a reply (empty: none).
    fn closers(self) -> &'static [&'static str] {
        match self {
            Personality::Abusive => &["Don't push me.", "And don't try anything."],
            Personality::Angry => &["I'm losing my temper here.", "Hurry up."],
            Personality::Insulting => &["Even you can follow that.", "Think you can manage?"],
            Personality::Polite => &["Thank you kindly.", "I hope that helps."],
            Personality::Respectful => &["I'm grateful for your patience.", "Whenever you're ready."],
            Personality::Rude => &["Don't drag this out.", "Next."],
            Personality::Sarcastic => &["Truly the deal of the century.", "I can hardly contain my excitement."],
            Personality::Talkative => {
                &["Anyway, I do love a good chat, so take your time.", "Sorry, I ramble. My family always says so."]
            }
            Personality::Toxic => &["You people are all the same.", "What a waste of a morning."],
            Personality::Uncommunicative => &[],
        }
    }

    /// The reply in this personality's voice, remarks drawn from `rng`. A decision line
    /// (`Output: ...`) stays at the end, unchanged.
    pub fn voice(self, reply: &str, rng: &mut sim_core::seed::StreamRng) -> String {
        let (body, decision) = match reply.find("Output: Decision=") {
            Some(at) => (reply[..at].trim_end(), Some(&reply[at..])),
            None => (reply, None),
        };
        let mut text = String::with_capacity(reply.len() + 80);
        if self == Personality::Uncommunicative {
            // Only the first sentence, and small talk shrunk to a grunt.
            let first = body.find(['.', '?', '!']).map_or(body, |end| &body[..=end]);
            text.push_str(if body.starts_with("I'm just looking") || body.starts_with("Hi.") { "Hm." } else { first });
        } else {
            let openers = self.openers();
            text.push_str(openers[rng.random_range(0..openers.len())]);
            text.push(' ');
            text.push_str(body);
            let closers = self.closers();
            text.push(' ');
            text.push_str(closers[rng.random_range(0..closers.len())]);
        }
        if let Some(decision) = decision {
            text.push(' ');
            text.push_str(decision);
        }
        text
    }
}

/// Budgets a buyer may have (LMRL-Gym's five).
pub const BUDGETS: [u32; 5] = [10_000, 30_000, 50_000, 70_000, 90_000];

/// Who the buyer is, drawn at reset from the episode's `buyer` stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Persona {
    /// Index into [`BRANDS`].
    pub brand: usize,
    /// Index into [`BODIES`].
    pub body: usize,
    /// Wanted features, one bit per [`FEATURES`] index (1 to 4 of them).
    pub features: u8,
    pub budget: u32,
    pub style: Style,
    /// The personality on top of the strategy; `None` unless the config draws one (drawn from
    /// the episode's separate `buyer-personality` stream, so the rest of the persona is the
    /// same either way).
    pub personality: Option<Personality>,
}

impl Persona {
    /// Draws a persona from the episode's `buyer` stream.
    pub fn draw(episode_seed: u64) -> Self {
        let mut rng = stream(episode_seed, "buyer");
        let brand = rng.random_range(0..BRANDS.len());
        let body = rng.random_range(0..BODIES.len());
        let wanted = rng.random_range(1..=4);
        let mut features = 0u8;
        while features.count_ones() < wanted {
            features |= 1 << rng.random_range(0..FEATURES.len());
        }
        let budget = BUDGETS[rng.random_range(0..BUDGETS.len())];
        let style = Style::ALL[rng.random_range(0..Style::ALL.len())];
        Self { brand, body, features, budget, style, personality: None }
    }

    /// The list price of the car the buyer came for.
    pub fn wanted_msrp(&self) -> u32 {
        msrp(self.brand, self.body)
    }

    fn wanted_features(&self) -> Vec<&'static str> {
        (0..FEATURES.len()).filter(|f| self.features & (1 << f) != 0).map(|f| FEATURES[f].0).collect()
    }
}

/// The rule-based buyer's memory of the conversation (the env keeps one per episode).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BuyerMemory {
    /// The car under discussion: last brand and body type the seller named.
    pub brand: Option<usize>,
    pub body: Option<usize>,
    /// Features the seller said the car has.
    pub features_heard: u8,
    pub asked_needs: bool,
    pub wrong_pitches: u32,
    /// Turns left before the buyer decides.
    pub patience: i32,
    /// The seller's current offer.
    pub offer: Option<u32>,
    /// The buyer's last counter-offer.
    pub counter: Option<u32>,
    pub rounds: u32,
    /// The decision, once made: `Some(price)` bought, `None` walked away.
    pub decided: Option<Option<u32>>,
}

/// One seller line for a [`BuyerBackend`].
#[derive(Debug)]
pub struct BuyerRequest<'a> {
    pub persona: &'a Persona,
    pub memory: &'a mut BuyerMemory,
    /// The seller's line.
    pub seller: &'a str,
    pub episode_seed: u64,
    /// Seller lines before this one.
    pub turn: u32,
    /// This is the last turn: the reply must contain a decision.
    pub must_decide: bool,
}

/// The counterpart that plays the buyer.
///
/// The env owns the dynamics: it draws the persona, keeps the memory, tells the backend when a
/// decision is due (the turn cap), and ends the episode only on a decision it can parse from
/// the reply in LMRL-Gym's structured form (`Output: Decision=Accept MSRP=$X Buy Price=$Y` or
/// `Output: Decision=Reject MSRP=$X`, see [`parse_decision`]); the reward comes from that
/// decision and the persona's budget, never from the backend directly. A forced final reply
/// without a parsable decision ends the episode with reward 0 (`ending: "no_decision"`).
/// [`RuleBasedBuyer`] is the default; a language-model buyer is another backend.
pub trait BuyerBackend: Send + Sync + std::fmt::Debug {
    /// Appends one reply per request, in order.
    fn reply_batch(&self, requests: &mut [BuyerRequest<'_>], replies: &mut Vec<Cow<'static, str>>);
}

/// The buyer's decision as parsed from its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept { msrp: u32, price: u32 },
    Reject { msrp: u32 },
}

/// Parses LMRL-Gym's structured decision, `Output: Decision=Accept MSRP=$X Buy Price=$Y` or
/// `Output: Decision=Reject MSRP=$X` (amounts with or without "$" and commas).
pub fn parse_decision(text: &str) -> Option<Decision> {
    let rest = &text[text.find("Output: Decision=")? + "Output: Decision=".len()..];
    let amount_after = |key: &str| -> Option<u32> {
        let start = rest.find(key)? + key.len();
        let digits: String = rest[start..]
            .trim_start_matches('$')
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .filter(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    if rest.starts_with("Accept") {
        Some(Decision::Accept { msrp: amount_after("MSRP=")?, price: amount_after("Buy Price=")? })
    } else if rest.starts_with("Reject") {
        Some(Decision::Reject { msrp: amount_after("MSRP=")? })
    } else {
        None
    }
}

/// LMRL-Gym's "fancy" reward: bought, price ÷ ((budget + MSRP) / 2); not bought,
/// −(budget − MSRP) ÷ MSRP.
pub fn fancy_reward(budget: u32, decision: Decision) -> f64 {
    match decision {
        Decision::Accept { msrp, price } => f64::from(price) / ((f64::from(budget) + f64::from(msrp)) / 2.0),
        Decision::Reject { msrp } => -(f64::from(budget) - f64::from(msrp)) / f64::from(msrp.max(1)),
    }
}

fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn capitalized(article: &str) -> &'static str {
    if article == "an" { "An" } else { "A" }
}

/// The default buyer: a persona-driven state machine (see `docs/envs/car_dealer.md`).
#[derive(Debug, Default, Clone, Copy)]
pub struct RuleBasedBuyer;

/// Starting patience (seller turns): by style, changed by the personality.
pub fn starting_patience(persona: &Persona) -> i32 {
    initial_patience(persona.style) + persona.personality.map_or(0, Personality::patience_change)
}

/// Starting patience (seller turns) by style.
pub fn initial_patience(style: Style) -> i32 {
    match style {
        Style::DiscountLover => 9,
        Style::FeatureSeeker => 9,
        Style::Impatient => 5,
    }
}

impl RuleBasedBuyer {
    /// How well the car under discussion matches the persona, in [0, 1].
    pub fn match_score(persona: &Persona, memory: &BuyerMemory) -> f64 {
        let body = if memory.body == Some(persona.body) { 0.45 } else { 0.0 };
        let brand = if memory.brand.unwrap_or(persona.brand) == persona.brand { 0.25 } else { 0.0 };
        let wanted = persona.features.count_ones().max(1);
        let heard = (persona.features & memory.features_heard).count_ones();
        body + brand + 0.30 * f64::from(heard) / f64::from(wanted)
    }

    /// The most the buyer will pay for the car under discussion.
    pub fn reservation(persona: &Persona, memory: &BuyerMemory) -> u32 {
        let score = Self::match_score(persona, memory);
        let style = match persona.style {
            Style::DiscountLover => 0.92,
            Style::FeatureSeeker => {
                let wanted = persona.features.count_ones().max(1);
                0.9 + 0.15 * f64::from((persona.features & memory.features_heard).count_ones()) / f64::from(wanted)
            }
            Style::Impatient => 1.0,
        };
        let mut limit = f64::from(persona.budget) * (0.78 + 0.30 * score) * style;
        if memory.body.is_some_and(|body| body != persona.body) {
            limit *= 0.8;
        }
        let list = f64::from(msrp(memory.brand.unwrap_or(persona.brand), memory.body.unwrap_or(persona.body)));
        (limit.min(f64::from(persona.budget) * 1.05).min(list) / 100.0).round() as u32 * 100
    }

    /// The buyer's counter-offer in round `round` (rising from its opening toward its limit).
    fn counter(persona: &Persona, reservation: u32, round: u32) -> u32 {
        let open = match persona.style {
            Style::DiscountLover => 0.70,
            Style::FeatureSeeker => 0.80,
            Style::Impatient => 0.88,
        } + persona.personality.map_or(0.0, Personality::opening_shift);
        let progress = (f64::from(round) / 4.0).min(1.0);
        let ratio = open + (1.0 - open) * progress;
        ((f64::from(reservation) * ratio) / 100.0).round() as u32 * 100
    }

    /// The reply to one seller line (updates the memory).
    pub fn reply(&self, request: &mut BuyerRequest<'_>) -> Cow<'static, str> {
        let persona = *request.persona;
        let memory = &mut *request.memory;
        let mut rng = stream_indexed(request.episode_seed, "buyer-wording", u64::from(request.turn));
        let pick = |rng: &mut sim_core::seed::StreamRng, n: usize| rng.random_range(0..n);
        let said: Mentions = mentions(request.seller);
        let lower = request.seller.to_ascii_lowercase();
        let asks_needs = [
            "looking for",
            "what do you need",
            "your budget",
            "what kind",
            "what type",
            "preferences",
            "what features",
            "what are you",
            "how can i help",
            "what can i",
            "tell me what",
        ]
        .iter()
        .any(|p| lower.contains(p));
        let agrees = ["deal", "agreed", "accept", "you got it", "sounds good", "it's yours", "its yours"]
            .iter()
            .any(|p| lower.contains(p));
        let offered = prices(request.seller).into_iter().min();
        memory.patience -= 1;
        if let Some(body) = said.body {
            if body != persona.body {
                memory.wrong_pitches += 1;
                memory.patience -= 2;
            }
            if memory.body != Some(body) {
                // Another car: earlier prices were for the old one.
                memory.offer = None;
                memory.counter = None;
                memory.rounds = 0;
            }
            memory.body = Some(body);
        }
        if let Some(brand) = said.brand {
            if memory.brand.is_some_and(|old| old != brand) {
                memory.offer = None;
                memory.counter = None;
                memory.rounds = 0;
            }
            memory.brand = Some(brand);
        }
        memory.features_heard |= said.features;
        if asks_needs && !memory.asked_needs {
            memory.asked_needs = true;
            memory.patience += 2;
        }
        let offer = offered.or(if agrees { memory.counter } else { None });
        if offer.is_some() {
            memory.offer = offer;
        }
        let reservation = Self::reservation(&persona, memory);
        let out_of_patience = memory.patience <= 0 || request.must_decide;
        let car = |memory: &BuyerMemory| {
            format!(
                "{} {}",
                BRANDS[memory.brand.unwrap_or(persona.brand)].0,
                BODIES[memory.body.unwrap_or(persona.body)].0
            )
        };
        if let (Some(offer), Some(_)) = (memory.offer, memory.body) {
            let counter = memory.counter.unwrap_or(0).max(Self::counter(&persona, reservation, memory.rounds));
            if offer <= counter || (out_of_patience && offer <= reservation) {
                return self.accept(&persona, memory, offer, &mut rng);
            }
            if out_of_patience {
                return self.reject(&persona, memory, &mut rng);
            }
            if offered.is_some() || agrees {
                memory.rounds += 1;
                let next = Self::counter(&persona, reservation, memory.rounds).max(memory.counter.unwrap_or(0));
                let next = next.min(offer.saturating_sub(100));
                memory.counter = Some(next);
                let text = match (persona.style, pick(&mut rng, 3)) {
                    (Style::DiscountLover, 0) => {
                        format!("That's too much for the {}. I could pay {}.", car(memory), dollars(next))
                    }
                    (Style::DiscountLover, 1) => {
                        format!("I'm looking for a real discount. How about {}?", dollars(next))
                    }
                    (Style::DiscountLover, _) => {
                        format!("{} is steep. {} and we have a deal.", dollars(offer), dollars(next))
                    }
                    (Style::FeatureSeeker, 0) => {
                        format!("For that money I'd expect more. I can offer {}.", dollars(next))
                    }
                    (Style::FeatureSeeker, 1) => format!("Hmm, {}? My offer is {}.", dollars(offer), dollars(next)),
                    (Style::FeatureSeeker, _) => format!("I'd pay {} for the {}.", dollars(next), car(memory)),
                    (Style::Impatient, 0) => format!("{}. Take it or leave it.", dollars(next)),
                    (Style::Impatient, 1) => format!("Too high. {}.", dollars(next)),
                    (Style::Impatient, _) => format!("Let's be quick: {}?", dollars(next)),
                };
                return Cow::Owned(text);
            }
        }
        if out_of_patience {
            return self.reject(&persona, memory, &mut rng);
        }
        let wanted = persona.features & !memory.features_heard;
        let text = if asks_needs {
            let features = join_and(&persona.wanted_features());
            let (brand, body) = (BRANDS[persona.brand].0, BODIES[persona.body].0);
            let (a_brand, a_body) = (article(brand), capitalized(article(body)));
            let (budget, first) = (dollars(persona.budget), capitalized(a_brand));
            match (persona.style, pick(&mut rng, 2)) {
                (Style::DiscountLover, 0) => format!(
                    "I want {a_brand} {brand} {body} with {features}, and I want a good price. I'd rather not say \
                     my budget."
                ),
                (Style::DiscountLover, _) => {
                    format!(
                        "Something like {a_brand} {brand} {body}, with {features}. Most of all, I'm after a bargain."
                    )
                }
                (Style::FeatureSeeker, 0) => {
                    format!(
                        "I'm looking for {a_brand} {brand} {body}. It must have {features}. My budget is about {budget}."
                    )
                }
                (Style::FeatureSeeker, _) => {
                    format!("{a_body} {body}, ideally {a_brand} {brand}, with {features}. I can spend around {budget}.")
                }
                (Style::Impatient, 0) => format!("{brand} {body}, {features}, {budget} max. Quickly, please."),
                (Style::Impatient, _) => {
                    format!("{first} {brand} {body} under {budget}. With {features}. I don't have all day.")
                }
            }
        } else if said.body.is_some_and(|body| body != persona.body) {
            let (offered, wanted) = (BODIES[said.body.unwrap_or(0)].0, BODIES[persona.body].0);
            match pick(&mut rng, 3) {
                0 => {
                    format!("I'm not really after {} {offered}. I want {} {wanted}.", article(offered), article(wanted))
                }
                1 => {
                    format!("{} {offered}? No, I came for {} {wanted}.", capitalized(article(offered)), article(wanted))
                }
                _ => "That's not the kind of car I had in mind.".to_owned(),
            }
        } else if memory.body.is_some() && persona.style == Style::FeatureSeeker && wanted != 0 {
            let missing = FEATURES[wanted.trailing_zeros() as usize].0;
            format!("Does the {} come with {missing}? And what's the price?", car(memory))
        } else if memory.body.is_some() {
            match pick(&mut rng, 3) {
                0 => format!("The {} sounds interesting. How much is it?", car(memory)),
                1 => "What price are we talking about?".to_owned(),
                _ => format!("And what would the {} cost me?", car(memory)),
            }
        } else {
            match pick(&mut rng, 3) {
                0 => "I'm just looking for a new car. What do you have?".to_owned(),
                1 => "Hi. I might buy a car today, if the price is right.".to_owned(),
                _ => "What would you recommend?".to_owned(),
            }
        };
        Cow::Owned(text)
    }

    fn accept(
        &self,
        persona: &Persona,
        memory: &mut BuyerMemory,
        price: u32,
        rng: &mut sim_core::seed::StreamRng,
    ) -> Cow<'static, str> {
        memory.decided = Some(Some(price));
        let list = msrp(memory.brand.unwrap_or(persona.brand), memory.body.unwrap_or(persona.body));
        let words = match rng.random_range(0..3) {
            0 => "Alright, you have a deal.",
            1 => "Fine, I'll take it.",
            _ => "Sounds fair. Let's sign the papers.",
        };
        Cow::Owned(format!("{words} Output: Decision=Accept MSRP={} Buy Price={}", dollars(list), dollars(price)))
    }

    fn reject(
        &self,
        persona: &Persona,
        memory: &mut BuyerMemory,
        rng: &mut sim_core::seed::StreamRng,
    ) -> Cow<'static, str> {
        memory.decided = Some(None);
        let words = match rng.random_range(0..3) {
            0 => "I don't think this is going to work. Goodbye.",
            1 => "I'll look somewhere else, thanks.",
            _ => "No, thank you. I'm leaving.",
        };
        Cow::Owned(format!("{words} Output: Decision=Reject MSRP={}", dollars(persona.wanted_msrp())))
    }
}

impl BuyerBackend for RuleBasedBuyer {
    fn reply_batch(&self, requests: &mut [BuyerRequest<'_>], replies: &mut Vec<Cow<'static, str>>) {
        replies.extend(requests.iter_mut().map(|request| {
            let reply = self.reply(request);
            match request.persona.personality {
                None => reply,
                Some(personality) => {
                    let mut rng =
                        stream_indexed(request.episode_seed, "buyer-personality-wording", u64::from(request.turn));
                    Cow::Owned(personality.voice(&reply, &mut rng))
                }
            }
        }));
    }
}
