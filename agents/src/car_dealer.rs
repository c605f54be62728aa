//! Agents for `car_dealer-v0` (the agent is the seller): a random seller, a scripted expert
//! seller that asks for needs, pitches the matching car and concedes gradually, and a cheap
//! cycling seller for benchmarks.

use envs::car_dealer::catalogue::{BODIES, BRANDS, FEATURES, article, dollars, mentions, msrp, prices};
use rand::RngExt;
use sim_core::seed::stream_indexed;
use sim_core::{Action, AgentView, Kind, PerViewAgent, Speaker};

/// Says a random thing each turn: a random car at a random price ($5,000 to $100,000), a
/// random feature, a random discount, a random body type, or "Deal!" (drawn from the
/// episode's `random-seller` stream, one draw per turn).
#[derive(Debug, Default, Clone)]
pub struct RandomSeller;

impl RandomSeller {
    pub fn new() -> Self {
        Self
    }

    fn line(view: &AgentView<'_>) -> String {
        let mut rng = stream_indexed(view.episode.seed, "random-seller", u64::from(view.turn));
        let brand = BRANDS[rng.random_range(0..BRANDS.len())].0;
        let body = BODIES[rng.random_range(0..BODIES.len())].0;
        let feature = FEATURES[rng.random_range(0..FEATURES.len())].0;
        let price = dollars(rng.random_range(10..=200u32) * 500);
        match rng.random_range(0..5) {
            0 => format!("How about this {brand} {body} for {price}?"),
            1 => format!("It comes with {feature}."),
            2 => format!("I can give you a discount: {price}."),
            3 => format!("Are you interested in a {body}?"),
            _ => "Deal!".to_owned(),
        }
    }
}

impl PerViewAgent for RandomSeller {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Action::from(Self::line(view))
    }
}

/// Cycles through fixed seller lines (a needs question, pitches, prices in every form, a
/// feature list, agreement): the cheap scripted agent of `bench`.
#[derive(Debug, Default, Clone)]
pub struct CyclingSeller;

impl CyclingSeller {
    pub fn new() -> Self {
        Self
    }

    /// The lines, in cycling order.
    pub const LINES: [&'static str; 8] = [
        "Welcome! What are you looking for today?",
        "This Toyota sedan has heated seats, a sunroof and Apple CarPlay.",
        "It lists at $31,000, but I can do 29.5k.",
        "Our Honda SUV comes with a backup camera and third-row seating.",
        "For you, twenty-eight thousand five hundred dollars.",
        "I could go down to 27,000 dollars.",
        "Deal!",
        "What about a Tesla electric car with navigation for $55,000?",
    ];
}

impl PerViewAgent for CyclingSeller {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let index = (view.episode.index + u64::from(view.turn)) as usize % Self::LINES.len();
        Action::fixed(Self::LINES[index])
    }
}

/// What the expert has learnt from the conversation so far.
#[derive(Debug, Default)]
struct Notes {
    brand: Option<usize>,
    body: Option<usize>,
    features: u8,
    budget: Option<u32>,
    /// The expert's last quoted price.
    last_offer: Option<u32>,
    /// The buyer's last counter-offer.
    counter: Option<u32>,
}

fn read_notes(view: &AgentView<'_>) -> Notes {
    let mut notes = Notes::default();
    for entry in view.transcript.entries() {
        match (entry.speaker, entry.kind) {
            (Speaker::Agent, Kind::Action) => {
                if let Some(price) = prices(&entry.text).into_iter().min() {
                    notes.last_offer = Some(price);
                }
            }
            (Speaker::Partner, _) => {
                let said = mentions(&entry.text);
                notes.brand = said.brand.or(notes.brand);
                notes.body = said.body.or(notes.body);
                notes.features |= said.features;
                let amounts = prices(&entry.text);
                let stating_needs = entry.text.contains("budget")
                    || entry.text.contains("max")
                    || entry.text.contains("under")
                    || entry.text.contains("spend");
                if stating_needs && notes.budget.is_none() {
                    notes.budget = amounts.first().copied();
                } else if let Some(&counter) = amounts.last() {
                    notes.counter = Some(counter);
                }
            }
            _ => {}
        }
    }
    notes
}

/// Asks for the buyer's needs, pitches the car that matches them (brand, body type, every
/// wanted feature) at its list price or the stated budget, whichever is lower, then meets the
/// buyer halfway each round and takes its counter-offer once the gap is under 4% (or when
/// turns run out).
///
/// Stateless: it re-reads the transcript with the env's own readers of cars and prices.
#[derive(Debug, Default, Clone)]
pub struct ExpertSeller;

impl ExpertSeller {
    pub fn new() -> Self {
        Self
    }

    /// The expert's next line for a transcript.
    pub fn next_line(view: &AgentView<'_>) -> String {
        if view.turn == 0 {
            return "Welcome! What are you looking for today: which brand and body type, which features, and \
                    what is your budget?"
                .to_owned();
        }
        let notes = read_notes(view);
        let (Some(body), brand) = (notes.body, notes.brand.unwrap_or(5)) else {
            return "What kind of car would you like, and what's your budget?".to_owned();
        };
        let list = msrp(brand, body);
        let turns_left = view.spec.max_turns.saturating_sub(view.turn);
        match (notes.last_offer, notes.counter) {
            (None, _) => {
                let features: Vec<&str> =
                    (0..FEATURES.len()).filter(|f| notes.features & (1 << f) != 0).map(|f| FEATURES[f].0).collect();
                let start = notes.budget.map_or(list, |budget| budget.min(list));
                let with = match features.as_slice() {
                    [] => String::new(),
                    [one] => format!(" with {one}"),
                    [init @ .., last] => format!(" with {} and {last}", init.join(", ")),
                };
                format!(
                    "I have just the car for you: {} {} {}{with}. It lists at {}, and I can offer it to you for {}.",
                    article(BRANDS[brand].0),
                    BRANDS[brand].0,
                    BODIES[body].0,
                    dollars(list),
                    dollars(start)
                )
            }
            (Some(offer), Some(counter)) if counter < offer => {
                if f64::from(offer - counter) < 0.04 * f64::from(offer) || turns_left <= 2 {
                    format!("You have a deal at {}.", dollars(counter))
                } else {
                    let middle = (offer + counter) / 2 / 100 * 100;
                    format!("I can meet you halfway: {}.", dollars(middle))
                }
            }
            (Some(offer), _) => format!("It's a great car at a fair price: {}.", dollars(offer)),
        }
    }
}

impl PerViewAgent for ExpertSeller {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        Action::from(Self::next_line(view))
    }
}
