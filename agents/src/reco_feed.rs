//! Agents for `reco_feed-v0`. Every agent reads only the observation text: the candidate lines
//! (`i<id> | title | topic[/secondary] | tags | length | rating | views`), the reaction lines
//! and the user's words.
//!
//! - [`RandomRecommender`]: K distinct random candidates.
//! - [`QualityGreedy`]: the K best-rated candidates.
//! - [`ClickbaitGreedy`]: hook titles first, then the most viewed (chases clicks).
//! - [`InterestTracker`]: estimates the user's taste per topic from the reactions of the last
//!   [`MEMORY_SLATES`] slates,
//!   spreads the slate over topics, avoids topics shown in the last slates and hook titles, and
//!   (unless built without) follows the user's last reflective instruction.
//! - [`FirstCandidates`]: the first K candidates (the cheap agent of `bench`).

use envs::reco_feed::{HOOKS, TOPIC_COUNT, TOPICS};
use rand::RngExt;
use sim_core::seed::stream_indexed;
use sim_core::{Action, AgentView, Kind, PerViewAgent};

/// A candidate as the observation shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub topic: Option<usize>,
    pub secondary: Option<usize>,
    pub rating: f32,
    pub views: u32,
}

impl Candidate<'_> {
    pub fn hooked(&self) -> bool {
        HOOKS.iter().any(|hook| self.title.starts_with(hook))
    }
}

/// The index of a topic name.
pub fn topic_index(name: &str) -> Option<usize> {
    TOPICS.iter().position(|topic| topic.name == name)
}

/// Parses one candidate line.
pub fn parse_candidate(line: &str) -> Option<Candidate<'_>> {
    if !line.starts_with('i') {
        return None;
    }
    let mut fields = line.split(" | ");
    let id = fields.next()?;
    if id.len() < 2 || !id[1..].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let title = fields.next()?;
    let topics = fields.next()?;
    let (topic, secondary) = match topics.split_once('/') {
        Some((a, b)) => (topic_index(a), topic_index(b)),
        None => (topic_index(topics), None),
    };
    let _tags = fields.next()?;
    let _length = fields.next()?;
    let rating = fields.next()?.strip_suffix(" stars")?.parse().ok()?;
    let views = fields.next()?.strip_suffix("k views")?.parse().ok()?;
    Some(Candidate { id, title, topic, secondary, rating, views })
}

/// The candidates of the latest observation.
pub fn candidates<'a>(view: &AgentView<'a>) -> Vec<Candidate<'a>> {
    view.transcript.last().map(|entry| entry.text.lines().filter_map(parse_candidate).collect()).unwrap_or_default()
}

/// The slate size stated in the opening prompt ("exactly K distinct ids").
fn slate_size(view: &AgentView<'_>) -> usize {
    view.transcript
        .entries()
        .first()
        .and_then(|prompt| prompt.text.split("with exactly ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|k| k.parse().ok())
        .unwrap_or(5)
}

fn slate_action(ids: impl Iterator<Item = impl AsRef<str>>) -> Action {
    let mut text = String::from("recommend ");
    for (i, id) in ids.enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        text.push_str(id.as_ref());
    }
    Action::from(text)
}

/// The ids of `pool` ranked by `score` (stable: ties keep the pool order), first `k`.
fn top_k<'a>(pool: &[Candidate<'a>], k: usize, score: impl Fn(&Candidate<'a>) -> f32) -> Vec<&'a str> {
    let mut order: Vec<usize> = (0..pool.len()).collect();
    order.sort_by(|&a, &b| score(&pool[b]).total_cmp(&score(&pool[a])).then(a.cmp(&b)));
    order.into_iter().take(k).map(|i| pool[i].id).collect()
}

/// K distinct random candidates (stream `random-recommender`, one per turn).
#[derive(Debug, Default, Clone)]
pub struct RandomRecommender;

impl PerViewAgent for RandomRecommender {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let pool = candidates(view);
        let k = slate_size(view).min(pool.len());
        let mut rng = stream_indexed(view.episode.seed, "random-recommender", u64::from(view.turn));
        let mut picked: Vec<usize> = Vec::with_capacity(k);
        while picked.len() < k {
            let i = rng.random_range(0..pool.len());
            if !picked.contains(&i) {
                picked.push(i);
            }
        }
        slate_action(picked.into_iter().map(|i| pool[i].id))
    }
}

/// The K best-rated candidates.
#[derive(Debug, Default, Clone)]
pub struct QualityGreedy;

impl PerViewAgent for QualityGreedy {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let pool = candidates(view);
        slate_action(top_k(&pool, slate_size(view), |c| c.rating).into_iter())
    }
}

/// Hook titles first, then the most viewed: the click-chasing policy.
#[derive(Debug, Default, Clone)]
pub struct ClickbaitGreedy;

impl PerViewAgent for ClickbaitGreedy {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let pool = candidates(view);
        let score = |c: &Candidate| if c.hooked() { 1e6 } else { 0.0 } + c.views as f32;
        slate_action(top_k(&pool, slate_size(view), score).into_iter())
    }
}

/// The first K candidates, as listed: the cheap agent of `bench`.
#[derive(Debug, Default, Clone)]
pub struct FirstCandidates;

impl PerViewAgent for FirstCandidates {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        let text = view.transcript.last().map_or("", |entry| entry.text.as_ref());
        // Every observation that lists candidates ends with "Recommend <k> ids: ...";
        // reading K there spares a scan of the prompt each turn.
        let last_line = text.rfind('\n').map_or(text, |at| &text[at + 1..]);
        let k = last_line
            .strip_prefix("Recommend ")
            .and_then(|rest| rest.split_once(' '))
            .and_then(|(k, _)| k.parse().ok())
            .unwrap_or_else(|| slate_size(view));
        let ids = text
            .lines()
            .filter(|line| line.starts_with('i'))
            .filter_map(|line| line.split_once(' ').filter(|(_, rest)| rest.starts_with("| ")).map(|(id, _)| id))
            .take(k);
        slate_action(ids)
    }
}

/// What the user asked for, as the tracker understands it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Drop this topic; lean toward the suggested one.
    Avoid { over: usize, suggest: Option<usize> },
    /// No hook titles; lean toward the topic.
    NoClickbait { topic: Option<usize> },
    /// More of this topic.
    More { topic: usize },
}

/// Reads a user utterance: topic names in order of mention and clickbait cues.
pub fn understand(utterance: &str) -> Option<Request> {
    let lower = utterance.to_lowercase();
    let mut mentioned: Vec<(usize, usize)> =
        TOPICS.iter().enumerate().filter_map(|(t, topic)| lower.find(topic.name).map(|at| (at, t))).collect();
    mentioned.sort_unstable();
    let topics: Vec<usize> = mentioned.into_iter().map(|(_, t)| t).collect();
    let clickbait = ["clickbait", "sensational", "bait", "shock"].iter().any(|cue| lower.contains(cue));
    if clickbait {
        return Some(Request::NoClickbait { topic: topics.first().copied() });
    }
    match topics.as_slice() {
        [] => None,
        [topic] => Some(Request::More { topic: *topic }),
        [over, suggest, ..] => Some(Request::Avoid { over: *over, suggest: Some(*suggest) }),
    }
}

/// Slates of reactions the tracker remembers (older ones are forgotten: tastes drift, and
/// reading the whole history every turn would make an episode quadratic).
pub const MEMORY_SLATES: usize = 20;

/// Reads the reactions so far and picks a slate that tracks the user's interests.
#[derive(Debug, Clone)]
pub struct InterestTracker {
    pub follow_instructions: bool,
}

impl InterestTracker {
    pub fn new(follow_instructions: bool) -> Self {
        Self { follow_instructions }
    }

    fn slate(&self, view: &AgentView<'_>) -> Action {
        let pool = candidates(view);
        let k = slate_size(view).min(pool.len());
        // Per topic: summed engagement and exposures, with an optimistic prior for exploration.
        let mut engagement = [0.0f32; TOPIC_COUNT];
        let mut shown = [0.0f32; TOPIC_COUNT];
        let mut recent = [0.0f32; TOPIC_COUNT];
        let mut observations: Vec<&str> = view
            .transcript
            .entries()
            .iter()
            .rev()
            .filter(|e| e.kind == Kind::Observation)
            .take(MEMORY_SLATES)
            .map(|e| e.text.as_ref())
            .collect();
        observations.reverse();
        let last_served = observations.len();
        for (index, text) in observations.iter().enumerate() {
            if text.contains("session") && text.contains("starts") {
                recent = [0.0; TOPIC_COUNT];
            }
            for line in text.lines() {
                let Some((head, reaction)) = line.split_once(": ") else { continue };
                let Some(topic) = head.rsplit(' ').next().and_then(topic_index) else { continue };
                if !head.contains(". i") {
                    continue;
                }
                let value = if reaction.starts_with("skipped") {
                    -0.2
                } else {
                    let percent = reaction
                        .split('(')
                        .nth(1)
                        .and_then(|rest| rest.split('%').next())
                        .and_then(|p| p.parse::<f32>().ok())
                        .unwrap_or(0.0);
                    percent / 100.0 + if reaction.ends_with("liked") { 0.5 } else { 0.0 }
                };
                engagement[topic] += value;
                shown[topic] += 1.0;
                // Boredom proxy: exposures in the last two slates.
                if index + 2 >= last_served {
                    recent[topic] += 1.0;
                }
            }
        }
        let request = if self.follow_instructions {
            view.transcript
                .last()
                .and_then(|entry| entry.text.lines().find_map(|line| line.strip_prefix("User: ")).and_then(understand))
        } else {
            None
        };
        let estimate = |t: usize| (engagement[t] + 0.6) / (shown[t] + 1.0);
        let score = |c: &Candidate| -> f32 {
            let Some(topic) = c.topic else { return -1.0 };
            let mut s = estimate(topic) - 0.15 * recent[topic] + 0.08 * (c.rating - 3.0);
            if let Some(secondary) = c.secondary {
                s += 0.3 * estimate(secondary);
            }
            if c.hooked() {
                s -= 0.5;
            }
            match request {
                Some(Request::Avoid { over, suggest }) => {
                    if topic == over {
                        s -= 10.0;
                    }
                    if Some(topic) == suggest {
                        s += 0.5;
                    }
                }
                Some(Request::NoClickbait { topic: wanted }) => {
                    if c.hooked() {
                        s -= 10.0;
                    }
                    if Some(topic) == wanted {
                        s += 0.5;
                    }
                }
                Some(Request::More { topic: wanted }) if topic == wanted || c.secondary == Some(wanted) => s += 10.0,
                Some(Request::More { .. }) | None => {}
            }
            s
        };
        // Greedy with at most two items per primary topic.
        let mut order: Vec<usize> = (0..pool.len()).collect();
        let scores: Vec<f32> = pool.iter().map(score).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        let mut per_topic = [0u8; TOPIC_COUNT + 1];
        let mut picked = Vec::with_capacity(k);
        for &i in &order {
            let slot = pool[i].topic.unwrap_or(TOPIC_COUNT);
            if per_topic[slot] < 2 {
                per_topic[slot] += 1;
                picked.push(i);
            }
            if picked.len() == k {
                break;
            }
        }
        for &i in &order {
            if picked.len() == k {
                break;
            }
            if !picked.contains(&i) {
                picked.push(i);
            }
        }
        slate_action(picked.into_iter().map(|i| pool[i].id))
    }
}

impl PerViewAgent for InterestTracker {
    fn act_one(&mut self, view: &AgentView<'_>) -> Action {
        self.slate(view)
    }
}
