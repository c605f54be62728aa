//! The simulated user: a persona-drawn hidden mindset and its reaction to a slate.
//!
//! Dynamics (all parameters below are the env's, documented in `docs/envs/reco_feed.md`):
//! - choice: each slate item is examined in order; click probability is a logistic function of
//!   interest in the item's topics, boredom with its topic, satisfaction and the clickbait hook;
//! - watch fraction rises with interest and true quality and falls with clickbait;
//! - interest drifts toward or away from watched topics (RecSim interest evolution);
//! - boredom grows with each watched item of a topic and decays after each slate;
//! - net positive exposure (RecSim's choc/kale) falls with clickbait, rises with quality, and
//!   sets satisfaction = sigmoid(0.5 · NPE);
//! - temper (KuaiSim's leave model) drops after slates whose engagement is below a threshold;
//!   the user warns (reflective instruction) below `warn_temper` and leaves below 1.

use rand::RngExt;
use sim_core::seed::StreamRng;

use super::catalogue::{Catalogue, Item, TOPIC_COUNT, TOPICS, normal};

/// A persona archetype: favourite topics and a base patience.
pub struct Persona {
    pub name: &'static str,
    pub topics: [usize; 3],
    pub temper: f32,
}

/// The archetypes users are drawn from (then perturbed with noise).
pub static PERSONAS: [Persona; 8] = [
    Persona { name: "homecook-wanderer", topics: [0, 1, 12], temper: 7.0 },
    Persona { name: "console-tinkerer", topics: [3, 8, 15], temper: 6.0 },
    Persona { name: "trackside-athlete", topics: [2, 14, 18], temper: 7.0 },
    Persona { name: "weekend-builder", topics: [11, 12, 18], temper: 8.0 },
    Persona { name: "museum-regular", topics: [7, 16, 4], temper: 8.0 },
    Persona { name: "busy-household", topics: [19, 10, 0], temper: 6.0 },
    Persona { name: "curious-stargazer", topics: [6, 8, 17], temper: 7.0 },
    Persona { name: "couch-critic", topics: [5, 15, 4], temper: 6.0 },
];

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Why a user asks for a change; the constraint a following slate is scored against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instruction {
    /// "Too many {over}; something different but related, like {suggest}." An item follows it
    /// when its topic is not `over`.
    Avoid { over: u8, suggest: u8 },
    /// "More {topic}, less clickbait." An item follows it when its title has no hook.
    LessClickbait { topic: u8 },
    /// "Show me more {topic}." An item follows it when its primary topic is `topic`.
    MoreOf { topic: u8 },
}

impl Instruction {
    /// Whether an item satisfies the instruction's constraint (exact, from visible fields).
    pub fn satisfied_by(self, item: &Item) -> bool {
        match self {
            Self::Avoid { over, .. } => item.topic != over,
            Self::LessClickbait { .. } => !item.hooked(),
            Self::MoreOf { topic } => item.topic == topic,
        }
    }

    /// The instruction in words, from the paraphrase bank (`variant` picks the paraphrase).
    pub fn render(self, variant: usize) -> String {
        match self {
            Self::Avoid { over, suggest } => {
                let (over, suggest) = (TOPICS[over as usize].name, TOPICS[suggest as usize].name);
                match variant % 4 {
                    0 => format!("Too many {over} clips. Show me something different but related, like {suggest}."),
                    1 => format!("I'm getting tired of {over}. Maybe something like {suggest} instead?"),
                    2 => format!("Enough {over} for today; how about some {suggest}?"),
                    _ => format!("Can we move on from {over}? Something in the direction of {suggest} would be nice."),
                }
            }
            Self::LessClickbait { topic } => {
                let topic = TOPICS[topic as usize].name;
                match variant % 4 {
                    0 => format!("More {topic}, less clickbait please."),
                    1 => format!("These sensational titles are wearing me out. Give me honest {topic} videos."),
                    2 => format!("Stop with the bait headlines; I'd rather watch some real {topic}."),
                    _ => format!("I want genuine {topic} content, not shock titles."),
                }
            }
            Self::MoreOf { topic } => {
                let topic = TOPICS[topic as usize].name;
                match variant % 4 {
                    0 => format!("None of this is for me. Show me more {topic}."),
                    1 => format!("I'm not really into these. Got anything about {topic}?"),
                    2 => format!("Could you find me some {topic} instead?"),
                    _ => format!("I came here for {topic}, honestly."),
                }
            }
        }
    }
}

/// How the user reacted to one slate item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reaction {
    pub item: u32,
    pub clicked: bool,
    /// Fraction of the item watched (0 when skipped).
    pub fraction: f32,
    pub liked: bool,
}

/// The user's hidden state. Never rendered.
#[derive(Debug, Clone)]
pub struct Mindset {
    pub persona: u8,
    pub interest: [f32; TOPIC_COUNT],
    pub boredom: [f32; TOPIC_COUNT],
    /// Net positive exposure (RecSim long-term satisfaction).
    pub exposure: f32,
    pub temper: f32,
    pub initial_temper: f32,
}

/// The simulator's parameters (part of the env config).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserModel {
    /// Added to every persona's base temper.
    pub temper_offset: f32,
    /// Engagement per slate below which temper drops (KuaiSim uses 2 on its reward scale).
    pub engagement_threshold: f32,
    /// Weight of boredom in the click and watch scores.
    pub boredom_weight: f32,
    /// Boredom is multiplied by this after each slate.
    pub boredom_decay: f32,
    /// Below this temper the user may give a reflective instruction before leaving.
    pub warn_temper: f32,
    /// Probability that a disengaging user speaks up instead of staying silent.
    pub instruction_rate: f32,
    /// Temper gained by a fully followed instruction (the user feels heard); an ignored one
    /// costs half of it.
    pub heard_bonus: f32,
    /// Interest drift step (RecSim's `user_update_alpha` role).
    pub drift: f32,
}

impl Default for UserModel {
    fn default() -> Self {
        Self {
            temper_offset: 0.0,
            engagement_threshold: 1.6,
            boredom_weight: 0.3,
            boredom_decay: 0.6,
            warn_temper: 3.5,
            instruction_rate: 1.0,
            heard_bonus: 2.0,
            drift: 0.08,
        }
    }
}

impl Mindset {
    /// Draws a user: a persona archetype plus noise.
    pub fn draw(rng: &mut StreamRng, model: &UserModel) -> Self {
        let persona = rng.random_range(0..PERSONAS.len());
        let archetype = &PERSONAS[persona];
        let mut interest = [0.0; TOPIC_COUNT];
        for (topic, value) in interest.iter_mut().enumerate() {
            let base = if archetype.topics.contains(&topic) { 0.75 } else { -0.35 };
            *value = (base + 0.25 * normal(rng)).clamp(-1.0, 1.0);
        }
        let temper = (archetype.temper + model.temper_offset + normal(rng)).max(2.0);
        Self {
            persona: persona as u8,
            interest,
            boredom: [0.0; TOPIC_COUNT],
            exposure: 0.0,
            temper,
            initial_temper: temper,
        }
    }

    pub fn satisfaction(&self) -> f32 {
        sigmoid(0.5 * self.exposure)
    }

    fn affinity(&self, item: &Item) -> f32 {
        let mut score = self.interest[item.topic as usize];
        if let Some(secondary) = item.secondary {
            score += 0.5 * self.interest[secondary as usize];
        }
        score
    }

    /// Reacts to one item (cascade: the user goes through the slate in order) and updates
    /// interest, boredom and exposure.
    pub fn react(&mut self, rng: &mut StreamRng, model: &UserModel, catalogue: &Catalogue, id: u32) -> Reaction {
        let item = &catalogue.items[id as usize];
        let topic = item.topic as usize;
        let affinity = self.affinity(item) - model.boredom_weight * self.boredom[topic];
        let satisfaction = self.satisfaction();
        let click = sigmoid(2.2 * affinity + 2.5 * item.clickbait - 1.2 + 1.5 * (satisfaction - 0.5));
        if rng.random::<f32>() >= click {
            return Reaction { item: id, clicked: false, fraction: 0.0, liked: false };
        }
        let base = sigmoid(2.5 * affinity + 2.5 * (item.quality - 0.5)) * (1.0 - 0.65 * item.clickbait);
        let fraction = (base + 0.08 * normal(rng)).clamp(0.02, 1.0);
        let liked = fraction >= 0.7 && rng.random::<f32>() < item.quality * (0.5 + satisfaction);
        // Interest evolution: toward the topic with probability (interest + 1) / 2.
        let current = self.interest[topic];
        let step = model.drift * (1.0 - current.abs()) * fraction;
        let toward = rng.random::<f32>() < (current + 1.0) / 2.0;
        self.interest[topic] = (current + if toward { step } else { -step }).clamp(-1.0, 1.0);
        self.boredom[topic] += fraction;
        // Choc/kale: clickbait erodes, quality builds net positive exposure.
        self.exposure = 0.8 * self.exposure - 2.0 * (item.clickbait - 0.4) + (item.quality - 0.5) + 0.05 * normal(rng);
        Reaction { item: id, clicked: true, fraction, liked }
    }

    /// Ends a slate: boredom decays and temper falls when engagement was low.
    /// Returns the slate's engagement.
    pub fn close_slate(&mut self, model: &UserModel, reactions: &[Reaction]) -> f32 {
        for boredom in &mut self.boredom {
            *boredom *= model.boredom_decay;
        }
        let engagement: f32 = reactions.iter().map(|r| r.fraction + if r.liked { 0.5 } else { 0.0 }).sum::<f32>()
            * (0.5 + self.satisfaction());
        self.temper += (engagement - model.engagement_threshold).clamp(-2.0, 0.0);
        engagement
    }

    /// The cause of disengagement, as an instruction: clickbait fatigue first, then the most
    /// boring topic, else the favourite topic missing from recent slates.
    pub fn instruction(&self, recent_hooks: u32, recent_topics: &[u8]) -> Instruction {
        let favourite = |exclude: Option<usize>| {
            (0..TOPIC_COUNT)
                .filter(|&t| Some(t) != exclude)
                .max_by(|&a, &b| self.interest[a].total_cmp(&self.interest[b]).then(b.cmp(&a)))
                .unwrap_or(0)
        };
        if self.satisfaction() < 0.4 && recent_hooks >= 2 {
            return Instruction::LessClickbait { topic: favourite(None) as u8 };
        }
        let (bored, level) = self
            .boredom
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .map(|(t, level)| (t, *level))
            .unwrap_or((0, 0.0));
        if level >= 1.0 {
            let related = TOPICS[bored].related;
            let suggest = if self.interest[related[0]] >= self.interest[related[1]] { related[0] } else { related[1] };
            let suggest = if self.interest[suggest] > 0.0 { suggest } else { favourite(Some(bored)) };
            return Instruction::Avoid { over: bored as u8, suggest: suggest as u8 };
        }
        let missing = (0..TOPIC_COUNT)
            .filter(|t| !recent_topics.contains(&(*t as u8)))
            .max_by(|&a, &b| self.interest[a].total_cmp(&self.interest[b]).then(b.cmp(&a)))
            .unwrap_or_else(|| favourite(None));
        Instruction::MoreOf { topic: missing as u8 }
    }

    /// The hidden facts as strings for `hidden_state` (whole-word checked against observations).
    pub fn describe(&self) -> Vec<String> {
        let mut ranked: Vec<usize> = (0..TOPIC_COUNT).collect();
        ranked.sort_by(|&a, &b| self.interest[b].total_cmp(&self.interest[a]).then(a.cmp(&b)));
        let top = ranked[..3]
            .iter()
            .map(|&t| format!("{}={:+.2}", TOPICS[t].name, self.interest[t]))
            .collect::<Vec<_>>()
            .join(" ");
        vec![
            format!("persona {}", PERSONAS[self.persona as usize].name),
            format!("hidden interests {top}"),
            format!("hidden satisfaction {:.3} temper {:.2}", self.satisfaction(), self.temper),
        ]
    }
}
