//! `car_dealer-v0`: LMRL-Gym's Car Dealer. The agent is the seller; the env is a buyer with a
//! persona drawn at reset (budget, preferred brand and body type, wanted features, and one of
//! the paper's three negotiation styles). The buyer reads the seller's free text (needs
//! questions, cars, features, prices in any usual form), states its needs, counter-offers,
//! and ends with a decision in LMRL-Gym's structured form; the reward is LMRL-Gym's "fancy"
//! formula at the end. See `docs/envs/car_dealer.md`.

pub mod buyer;
pub mod catalogue;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use sim_core::prelude::*;

pub use buyer::{
    BuyerBackend, BuyerMemory, BuyerRequest, Decision, Persona, Personality, RuleBasedBuyer, Style, fancy_reward,
    initial_patience, parse_decision, starting_patience,
};

/// Whether and how the buyer gets one of LMRL-Gym's ten personalities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PersonalityChoice {
    /// No personality: the strategy alone decides wording and patience (the default).
    #[default]
    Off,
    /// Uniformly among [`Personality::ALL`], from the episode's `buyer-personality` stream.
    Random,
    /// Always this one.
    Fixed(Personality),
}

impl PersonalityChoice {
    /// The personality of an episode.
    pub fn draw(self, episode_seed: u64) -> Option<Personality> {
        match self {
            PersonalityChoice::Off => None,
            PersonalityChoice::Random => {
                let mut rng = sim_core::seed::stream(episode_seed, "buyer-personality");
                Some(Personality::ALL[rand::RngExt::random_range(&mut rng, 0..Personality::ALL.len())])
            }
            PersonalityChoice::Fixed(personality) => Some(personality),
        }
    }
}

/// Which counterpart plays the buyer (see [`BuyerBackend`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BuyerKind {
    /// [`RuleBasedBuyer`].
    #[default]
    RuleBased,
}

impl BuyerKind {
    /// The backend's shared instance.
    pub fn instance(self) -> Arc<dyn BuyerBackend> {
        match self {
            BuyerKind::RuleBased => {
                static RULE_BASED: OnceLock<Arc<dyn BuyerBackend>> = OnceLock::new();
                RULE_BASED.get_or_init(|| Arc::new(RuleBasedBuyer)).clone()
            }
        }
    }
}

/// The env's section of a scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CarDealerConfig {
    /// Seller turns before the buyer must decide (LMRL-Gym: 50 texts, about 25 seller turns).
    pub max_turns: u32,
    /// Longer seller lines are invalid (bytes).
    pub max_line_bytes: usize,
    pub buyer: BuyerKind,
    /// The buyer's personality (LMRL-Gym's ten); `Off` by default.
    pub personality: PersonalityChoice,
}

impl Default for CarDealerConfig {
    fn default() -> Self {
        Self { max_turns: 25, max_line_bytes: 1000, buyer: BuyerKind::RuleBased, personality: PersonalityChoice::Off }
    }
}

/// The episode's buyer: persona, memory and backend; also the env's marker component.
#[derive(Component, Debug, Clone)]
pub struct Buyer {
    pub persona: Persona,
    pub memory: BuyerMemory,
    pub backend: Arc<dyn BuyerBackend>,
    /// The episode's seed (the rule-based buyer draws its wording from it).
    pub seed: u64,
}

/// This step's buyer reply and parsed decision (`None`: still talking).
#[derive(Component, Debug, Clone, Default)]
pub struct BuyerReply {
    pub text: Cow<'static, str>,
    pub decision: Option<Decision>,
    pub invalid: bool,
    /// The reply was forced (turn cap) but carried no parsable decision.
    pub undecided: bool,
}

/// The sale price, once the buyer accepted (for metrics; also in `hidden_state`).
#[derive(Component, Debug, Clone, Copy, Default)]
pub struct SalePrice(pub Option<u32>);

const PROMPT: &str = "Start. You are a salesperson at a car dealership, and a customer has just walked in. \
Find out what they want, pitch a car from the lot and agree on a price. The lot has Volkswagen, Lexus, Ford, \
Mazda, Hyundai, Toyota, Mercedes-Benz, BMW, Audi, Subaru, Honda, Porsche and Tesla models of every body type \
(luxury, sedan, convertible, truck, electric, SUV). Quote prices in dollars. The customer ends the \
conversation with a decision: \"Output: Decision=Accept MSRP=$X Buy Price=$Y\" or \"Output: \
Decision=Reject MSRP=$X\". You have at most {max} turns.";

const INVALID_MESSAGE: &str = "Say something to the customer (one line of at most {max} bytes).";

fn default_prompt() -> &'static str {
    static RENDERED: OnceLock<String> = OnceLock::new();
    RENDERED.get_or_init(|| PROMPT.replace("{max}", &CarDealerConfig::default().max_turns.to_string()))
}

/// Least possible return: no sale to a $90,000 buyer who wanted the cheapest car ($23,000).
pub const MIN_REWARD: f64 = -(90_000.0 - 23_000.0) / 23_000.0;
/// The return is below 2: the buyer never pays more than its budget.
pub const MAX_REWARD: f64 = 2.0;

/// The env type registered as `car_dealer-v0`.
pub struct CarDealer;

/// Score anchors: min the least "fancy" return of a failed sale; LMRL-Gym's dataset average
/// return 0.562 (paper Table 1); max the expert seller's mean return (1000 episodes, seed 0;
/// checked by a test).
pub const SCORE_ANCHORS: ScoreAnchors = ScoreAnchors { min: MIN_REWARD, average: 0.562, max: EXPERT_MEAN_RETURN };

/// The scripted expert seller's mean return (1000 episodes, seed 0).
pub const EXPERT_MEAN_RETURN: f64 = 0.6298934733077997;

impl Environment for CarDealer {
    type Config = CarDealerConfig;
    const ID: &'static str = "car_dealer-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        EnvSpec::new(
            config.max_turns,
            (MIN_REWARD, MAX_REWARD),
            "Sell a car to a rule-based buyer with a hidden persona (LMRL-Gym Car Dealer)",
        )
        .with_anchors(SCORE_ANCHORS)
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        if config.max_turns == 0 {
            return Err("car_dealer: max_turns must be at least 1".into());
        }
        if config.max_line_bytes == 0 {
            return Err("car_dealer: max_line_bytes must be at least 1".into());
        }
        Ok(())
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        let persona = Persona { personality: config.personality.draw(episode.seed), ..Persona::draw(episode.seed) };
        let memory = BuyerMemory { patience: starting_patience(&persona), ..BuyerMemory::default() };
        entity.insert((
            Buyer { persona, memory, backend: config.buyer.instance(), seed: episode.seed },
            BuyerReply::default(),
            SalePrice::default(),
        ));
        if config.max_turns == CarDealerConfig::default().max_turns {
            Cow::Borrowed(default_prompt())
        } else {
            Cow::Owned(PROMPT.replace("{max}", &config.max_turns.to_string()))
        }
    }

    fn add_systems(schedule: &mut Schedule) {
        schedule.add_systems((
            hear_seller.in_set(StepSet::React),
            render_reply.in_set(StepSet::Observe),
            score_decision.in_set(StepSet::Score),
        ));
    }

    fn hidden_state(entity: EntityRef) -> Vec<String> {
        let Some(buyer) = entity.get::<Buyer>() else { return Vec::new() };
        let p = &buyer.persona;
        let mut hidden = vec![format!(
            "buyer_persona={}/{}/{}/{}",
            p.style.label(),
            catalogue::BRANDS[p.brand].0,
            catalogue::BODIES[p.body].0,
            p.budget
        )];
        if let Some(personality) = p.personality {
            hidden.push(format!("buyer_personality={}", personality.label()));
        }
        if let Some(price) = entity.get::<SalePrice>().and_then(|s| s.0) {
            hidden.push(format!("final_sale_amount={price}"));
        }
        hidden
    }

    fn sample_actions(_config: &Self::Config) -> Vec<String> {
        [
            "Hello! What are you looking for today?",
            "This Toyota sedan has heated seats and a sunroof.",
            "I can let you have it for $28,500.",
            "How about 25k?",
            "Thirty thousand dollars, final offer.",
            "Deal!",
            "Our BMW SUV comes with Apple CarPlay and leather seats for 52,000 dollars.",
            "Would you like a convertible?",
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

/// Passes each seller line to the episode's buyer backend and parses its decision.
fn hear_seller(mut episodes: Stepping<(&Turn, &EnvConfig<CarDealer>, &mut Buyer, &mut BuyerReply)>) {
    let mut replies = Vec::with_capacity(1);
    for (text, (turn, config, mut buyer, mut reply)) in episodes.iter_mut_with_action() {
        if text.trim().is_empty() || text.len() > config.max_line_bytes {
            *reply = BuyerReply { text: Cow::Borrowed(""), decision: None, invalid: true, undecided: false };
            continue;
        }
        let must_decide = turn.is_last();
        let buyer = &mut *buyer;
        let mut request = BuyerRequest {
            persona: &buyer.persona,
            memory: &mut buyer.memory,
            seller: text,
            episode_seed: buyer.seed,
            turn: turn.taken,
            must_decide,
        };
        replies.clear();
        buyer.backend.reply_batch(std::slice::from_mut(&mut request), &mut replies);
        let text = replies.pop().unwrap_or(Cow::Borrowed(""));
        let decision = parse_decision(&text);
        let text = if text.trim().is_empty() { Cow::Borrowed("...") } else { text };
        *reply = BuyerReply { text, decision, invalid: false, undecided: must_decide && decision.is_none() };
    }
}

fn render_reply(mut episodes: Stepping<(&EnvConfig<CarDealer>, &BuyerReply, &mut Reply)>) {
    for (config, buyer_reply, mut reply) in episodes.iter_mut() {
        if buyer_reply.invalid {
            reply.set(Speaker::Env, Kind::Admin, INVALID_MESSAGE.replace("{max}", &config.max_line_bytes.to_string()));
        } else {
            reply.set(Speaker::Partner, Kind::Observation, buyer_reply.text.clone());
        }
    }
}

fn score_decision(mut episodes: Stepping<(&Turn, &Buyer, &BuyerReply, &mut SalePrice, &mut Outcome)>) {
    for (turn, buyer, reply, mut sale, mut outcome) in episodes.iter_mut() {
        outcome.invalid_action = reply.invalid;
        outcome.reward = 0.0;
        outcome.success = false;
        outcome.terminated = false;
        outcome.ending = None;
        match reply.decision {
            Some(decision) => {
                outcome.reward = fancy_reward(buyer.persona.budget, decision);
                outcome.terminated = true;
                if let Decision::Accept { price, .. } = decision {
                    sale.0 = Some(price);
                    outcome.success = true;
                    outcome.ending = Some("sale");
                } else {
                    outcome.ending = Some("no_sale");
                }
            }
            None if reply.undecided || turn.is_last() => {
                // The turn cap without a parsable decision: LMRL-Gym's reward 0.
                outcome.terminated = true;
                outcome.ending = Some("no_decision");
            }
            None => {}
        }
    }
}
