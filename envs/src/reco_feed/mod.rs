//! `reco_feed-v0`: a RecoWorld-style session recommender over a generated catalogue, with a
//! rule-based user simulator (RecSim interest evolution and choc/kale satisfaction, KuaiSim's
//! temper leave model), reflective instructions and an optional multi-day campaign.
//!
//! Each turn the agent recommends a slate of `slate_size` ids from the candidate pool shown in
//! the observation; the user goes through the slate item by item and the next observation reports
//! each reaction, an optional reflective instruction, and the next pool. See
//! `docs/envs/reco_feed.md`.

pub mod catalogue;
pub mod metrics;
pub mod user;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sim_core::prelude::*;
use sim_core::seed::{StreamRng, stream};

pub use catalogue::{Catalogue, HOOK_THRESHOLD, HOOKS, Item, TOPIC_COUNT, TOPICS};
pub use user::{Instruction, Mindset, PERSONAS, Reaction, UserModel};

/// Reward weights (per slate) and penalties.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedRewards {
    pub click: f64,
    pub watch_minute: f64,
    pub like: f64,
    /// Added on the slate after which the user leaves a session (≤ 0).
    pub leave_penalty: f64,
    /// The reward of an invalid slate (≤ 0).
    pub invalid_penalty: f64,
    /// Campaign mode: added when the user comes back for another session (≥ 0).
    pub return_bonus: f64,
}

impl Default for FeedRewards {
    fn default() -> Self {
        Self { click: 0.1, watch_minute: 0.1, like: 0.5, leave_penalty: -1.0, invalid_penalty: -1.0, return_bonus: 2.0 }
    }
}

/// The env's section of a scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecoFeedConfig {
    /// The catalogue depends only on this seed and `catalogue_size`; it is shared by all episodes.
    pub catalogue_seed: u64,
    pub catalogue_size: u32,
    /// Items in the candidate pool shown each turn (resampled after every served slate).
    pub candidates: u32,
    /// Items per slate (K); every valid slate has exactly this many.
    pub slate_size: u32,
    /// Slates per session before the session is cut (the turn cap in single-session mode).
    pub max_slates: u32,
    /// 1: one session per episode. More: one episode is a campaign of that many days; after each
    /// session the user may come back on a later day.
    pub campaign_days: u32,
    pub rewards: FeedRewards,
    pub user: UserModel,
}

impl Default for RecoFeedConfig {
    fn default() -> Self {
        Self {
            catalogue_seed: 0,
            catalogue_size: 2000,
            candidates: 30,
            slate_size: 5,
            max_slates: 50,
            campaign_days: 1,
            rewards: FeedRewards::default(),
            user: UserModel::default(),
        }
    }
}

/// Slates after an instruction within which leaving counts against re-engagement.
pub const REENGAGEMENT_WINDOW: u32 = 3;
/// At most this many instructions per session.
const INSTRUCTIONS_PER_SESSION: u32 = 2;
/// Served slates counted as "the first slates" for the early CTR.
pub const EARLY_SLATES: u32 = 3;
/// Longest item, in minutes (bounds the reward range).
const MAX_LENGTH: f64 = 15.0;

/// The shared catalogue of the episode.
#[derive(Component, Debug, Clone)]
pub struct SharedCatalogue(pub Arc<Catalogue>);

/// The simulated user (hidden) and its random stream.
#[derive(Component, Debug)]
pub struct SimulatedUser {
    pub mindset: Mindset,
    rng: StreamRng,
}

/// What happened to the session in this step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionEvent {
    #[default]
    Continues,
    /// The user left; in a campaign they come back `gap` days later.
    LeftAndReturned { gap: u32 },
    /// The session hit `max_slates`; in a campaign they come back `gap` days later.
    CutAndReturned { gap: u32 },
    /// The user left and the episode ends.
    Left,
    /// The campaign's last session is over (left or cut) and the episode ends.
    CampaignOver,
    /// The user did not come back within the campaign.
    Churned,
}

/// Why a slate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlateError {
    Format,
    WrongCount { got: usize },
    Unknown(String),
    NotInPool(String),
    Duplicate(String),
}

impl std::fmt::Display for SlateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Format => write!(f, "no item ids found"),
            Self::WrongCount { got } => write!(f, "{got} ids given"),
            Self::Unknown(id) => write!(f, "`{id}` is not an item id"),
            Self::NotInPool(id) => write!(f, "{id} is not among the current candidates"),
            Self::Duplicate(id) => write!(f, "{id} appears twice"),
        }
    }
}

/// The feed's visible state and this step's exchange.
#[derive(Component, Debug)]
pub struct Feed {
    pool: Vec<u32>,
    pool_rng: StreamRng,
    slate: Vec<u32>,
    verdict: Result<(), SlateError>,
    reactions: Vec<Reaction>,
    /// Instruction spoken in this step (and its paraphrase).
    spoken: Option<(Instruction, usize)>,
    /// Instruction the next served slate is scored against.
    pending: Option<Instruction>,
    /// Served-slate numbers (episode-wide) of instructions whose re-engagement is undecided.
    open_instructions: Vec<u32>,
    instructions_this_session: u32,
    day: u32,
    session: u32,
    slates_in_session: u32,
    event: SessionEvent,
    /// Reward terms of this step.
    reward: f64,
    /// Session aggregates for the return model.
    session_engagement: f32,
    session_clicks: u32,
    session_hook_clicks: u32,
    recent_hooks: u32,
    recent_topics: Vec<u8>,
}

/// Exact per-episode counters, recorded as the episode's metrics ([`metrics::METRICS`]).
#[derive(Component, Debug, Default, Clone, PartialEq)]
pub struct FeedStats {
    pub served_slates: u32,
    pub impressions: u32,
    pub clicks: u32,
    pub likes: u32,
    pub watch_minutes: f64,
    pub early_impressions: u32,
    pub early_clicks: u32,
    /// Sum over served slates of intra-list diversity.
    pub diversity_sum: f64,
    pub instructions: u32,
    /// Items of slates served right after an instruction, and those satisfying it.
    pub instruction_items: u32,
    pub instruction_items_followed: u32,
    pub reengaged: u32,
    pub sessions: u32,
    /// Session ends with campaign days left, and the returns among them.
    pub return_chances: u32,
    pub returns: u32,
    pub return_days: u32,
}

/// The env type registered as `reco_feed-v0`.
pub struct RecoFeed;

const PROMPT_HEAD: &str = "You are the recommender of a short-video feed. Each turn, recommend a slate of \
{k} videos from the candidates listed, as `recommend <id>, <id>, ...` with exactly {k} distinct ids. The user \
goes through your slate in order; you will see how they reacted to each video (skipped, watched a share of it, \
liked it), and sometimes what they ask for. Keep them engaged: they leave when bored or annoyed.";

/// Bytes of the candidate block beyond its pre-rendered lines (header and footer with their numbers).
const CANDIDATES_FRAME: usize = 128;

/// Bytes [`render_candidates`] writes for `pool`, at most (so the observation is allocated once).
fn candidates_len(catalogue: &Catalogue, pool: &[u32]) -> usize {
    CANDIDATES_FRAME + pool.iter().map(|&id| catalogue.items[id as usize].line.len() + 1).sum::<usize>()
}

/// Appends `value` in decimal (what `{}` writes), without the formatting machinery.
fn push_decimal(out: &mut String, value: u32) {
    let mut digits = [0u8; 10];
    let mut start = digits.len();
    let mut rest = value;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &digit in &digits[start..] {
        out.push(char::from(digit));
    }
}

fn render_candidates(out: &mut String, catalogue: &Catalogue, pool: &[u32], next_slate: u32, k: u32) {
    out.reserve(candidates_len(catalogue, pool));
    out.push_str("Candidates for slate ");
    push_decimal(out, next_slate);
    out.push_str(" (id | title | topic | tags | length | rating | views):\n");
    for &id in pool {
        out.push_str(&catalogue.items[id as usize].line);
        out.push('\n');
    }
    out.push_str("Recommend ");
    push_decimal(out, k);
    out.push_str(" ids: `recommend i.., i.., ...`");
}

fn sample_pool(rng: &mut StreamRng, catalogue_size: u32, candidates: u32, pool: &mut Vec<u32>) {
    pool.clear();
    while pool.len() < candidates as usize {
        let id = rng.random_range(0..catalogue_size);
        if !pool.contains(&id) {
            pool.push(id);
        }
    }
}

/// Parses a slate: optional `recommend` keyword, then ids separated by commas or spaces.
///
/// # Errors
/// Why the slate cannot be served.
pub fn parse_slate(
    text: &str,
    catalogue: &Catalogue,
    pool: &[u32],
    k: u32,
    out: &mut Vec<u32>,
) -> Result<(), SlateError> {
    out.clear();
    let trimmed = text.trim();
    let body =
        trimmed.get(..9).filter(|head| head.eq_ignore_ascii_case("recommend")).map_or(trimmed, |_| &trimmed[9..]);
    let mut tokens = 0usize;
    for token in body.split(|c: char| c == ',' || c.is_whitespace()).filter(|t| !t.is_empty()) {
        tokens += 1;
        if tokens > k as usize {
            continue;
        }
        let Some(id) = catalogue.parse_id(token) else {
            return Err(SlateError::Unknown(token.chars().take(24).collect()));
        };
        if !pool.contains(&id) {
            return Err(SlateError::NotInPool(format!("i{id}")));
        }
        if out.contains(&id) {
            return Err(SlateError::Duplicate(format!("i{id}")));
        }
        out.push(id);
    }
    if tokens == 0 {
        return Err(SlateError::Format);
    }
    if tokens != k as usize {
        return Err(SlateError::WrongCount { got: tokens });
    }
    Ok(())
}

/// Intra-list diversity: 1 − mean pairwise topic cosine within the slate.
pub fn intra_list_diversity(catalogue: &Catalogue, slate: &[u32]) -> f64 {
    let mut sum = 0.0f64;
    let mut pairs = 0u32;
    for (i, &a) in slate.iter().enumerate() {
        for &b in &slate[i + 1..] {
            sum += f64::from(catalogue::topic_cosine(&catalogue.items[a as usize], &catalogue.items[b as usize]));
            pairs += 1;
        }
    }
    if pairs == 0 { 0.0 } else { 1.0 - sum / f64::from(pairs) }
}

impl Environment for RecoFeed {
    type Config = RecoFeedConfig;
    const ID: &'static str = "reco_feed-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        let r = &config.rewards;
        let best_slate = f64::from(config.slate_size) * (r.click + r.watch_minute * MAX_LENGTH + r.like);
        EnvSpec {
            score_anchors: (*config == RecoFeedConfig::default()).then_some(SCORE_ANCHORS),
            ..EnvSpec::new(
                config.max_slates.saturating_mul(config.campaign_days.max(1)),
                (r.invalid_penalty.min(0.0) + r.leave_penalty.min(0.0), best_slate + r.return_bonus.max(0.0)),
                "Recommend slates of short videos to a simulated user who reacts, drifts, gets bored, \
                          gives reflective instructions and leaves (RecSim/KuaiSim/RecoWorld)",
            )
            .with_metrics(metrics::METRICS)
        }
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        let r = &config.rewards;
        let checks = [
            (config.catalogue_size >= 10 && config.catalogue_size <= 1_000_000, "catalogue_size must be 10..=1000000"),
            (config.slate_size >= 1, "slate_size must be at least 1"),
            (config.candidates >= config.slate_size, "candidates must be at least slate_size"),
            (config.candidates <= config.catalogue_size / 2, "candidates must be at most half the catalogue"),
            (config.max_slates >= 1, "max_slates must be at least 1"),
            ((1..=365).contains(&config.campaign_days), "campaign_days must be 1..=365"),
            (r.click >= 0.0 && r.watch_minute >= 0.0 && r.like >= 0.0, "engagement weights must be >= 0"),
            (r.leave_penalty <= 0.0 && r.invalid_penalty <= 0.0, "penalties must be <= 0"),
            (r.return_bonus >= 0.0, "return_bonus must be >= 0"),
            ((0.0..=1.0).contains(&config.user.instruction_rate), "user.instruction_rate must be in [0, 1]"),
            ((0.0..=1.0).contains(&config.user.boredom_decay), "user.boredom_decay must be in [0, 1]"),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, message)) => Err(format!("reco_feed: {message}")),
            None => Ok(()),
        }
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        let catalogue = Catalogue::shared(config.catalogue_seed, config.catalogue_size);
        let mut user_rng = stream(episode.seed, "user");
        let mindset = Mindset::draw(&mut user_rng, &config.user);
        let mut pool_rng = stream(episode.seed, "pool");
        let mut pool = Vec::with_capacity(config.candidates as usize);
        sample_pool(&mut pool_rng, config.catalogue_size, config.candidates, &mut pool);
        let mut prompt = String::with_capacity(PROMPT_HEAD.len() + 256 + candidates_len(&catalogue, &pool));
        let k = config.slate_size.to_string();
        let mut parts = PROMPT_HEAD.split("{k}");
        prompt.push_str(parts.next().unwrap_or_default());
        for part in parts {
            prompt.push_str(&k);
            prompt.push_str(part);
        }
        if config.campaign_days > 1 {
            let _ = write!(
                prompt,
                " This is a campaign of {} days: after a session ends the user may come back on a later day.",
                config.campaign_days
            );
        }
        let _ = write!(prompt, "\nUser u{} opens the app (day 1, session 1).\n", episode.index);
        render_candidates(&mut prompt, &catalogue, &pool, 1, config.slate_size);
        entity.insert((
            SharedCatalogue(catalogue),
            SimulatedUser { mindset, rng: user_rng },
            Feed {
                pool,
                pool_rng,
                slate: Vec::with_capacity(config.slate_size as usize),
                verdict: Ok(()),
                reactions: Vec::with_capacity(config.slate_size as usize),
                spoken: None,
                pending: None,
                open_instructions: Vec::new(),
                instructions_this_session: 0,
                day: 1,
                session: 1,
                slates_in_session: 0,
                event: SessionEvent::Continues,
                reward: 0.0,
                session_engagement: 0.0,
                session_clicks: 0,
                session_hook_clicks: 0,
                recent_hooks: 0,
                recent_topics: Vec::new(),
            },
            FeedStats { sessions: 1, ..FeedStats::default() },
        ));
        Cow::Owned(prompt)
    }

    fn add_systems(schedule: &mut Schedule) {
        schedule.add_systems((
            read_slate.in_set(StepSet::Act),
            user_goes_through_slate.in_set(StepSet::React),
            render_feed.in_set(StepSet::Observe),
            score_slate.in_set(StepSet::Score),
        ));
    }

    fn hidden_state(entity: EntityRef) -> Vec<String> {
        entity.get::<SimulatedUser>().map(|user| user.mindset.describe()).unwrap_or_default()
    }

    fn episode_metrics(entity: EntityRef, _record: &EpisodeRecord) -> EpisodeMetrics {
        entity.get::<FeedStats>().map(metrics::episode_metrics).unwrap_or_default()
    }

    fn sample_actions(config: &Self::Config) -> Vec<String> {
        // Ids the default pool often holds, plus malformed slates of every kind.
        let k = config.slate_size as usize;
        let ids: Vec<String> = (0..config.catalogue_size.min(40)).map(|i| format!("i{i}")).collect();
        vec![
            format!("recommend {}", ids[..k.min(ids.len())].join(", ")),
            format!("recommend {}", ids.iter().rev().take(k).cloned().collect::<Vec<_>>().join(",")),
            "recommend i1, i1, i2, i3, i4".into(),
            "recommend i999999999".into(),
            "recommend".into(),
            "show me cooking".into(),
        ]
    }
}

/// Score anchors of the default config: min is the return of an agent whose every slate is
/// invalid (the user leaves after a few empty feeds; checked by a test),
/// average the random agent's and max the interest-tracking agent's mean return (1000 episodes,
/// seed 0; `cargo test -p gym-tests --test gym reco_feed:: -- --ignored`).
pub const SCORE_ANCHORS: ScoreAnchors =
    ScoreAnchors { min: INVALID_MEAN_RETURN, average: RANDOM_MEAN_RETURN, max: EXPERT_MEAN_RETURN };
/// Mean return of an always-invalid agent (default config).
pub const INVALID_MEAN_RETURN: f64 = -7.406;
/// Mean return of the random agent (default config, 1000 episodes, seed 0).
pub const RANDOM_MEAN_RETURN: f64 = 2.693;
/// Mean return of the interest-tracking agent (default config, 1000 episodes, seed 0).
pub const EXPERT_MEAN_RETURN: f64 = 51.051;

#[allow(clippy::type_complexity)]
fn read_slate(mut episodes: Stepping<(&EnvConfig<RecoFeed>, &SharedCatalogue, &mut Feed)>) {
    for (text, (config, catalogue, mut feed)) in episodes.iter_mut_with_action() {
        let feed = &mut *feed;
        feed.verdict = parse_slate(text, &catalogue.0, &feed.pool, config.slate_size, &mut feed.slate);
    }
}

fn return_probability(mindset: &Mindset, engagement_per_slate: f32, threshold: f32, regret: f32) -> f32 {
    let x = 4.0 * (mindset.satisfaction() - 0.5) + 0.8 * (engagement_per_slate - threshold) - 2.0 * regret + 0.3;
    1.0 / (1.0 + (-x).exp())
}

#[allow(clippy::type_complexity)]
fn user_goes_through_slate(
    mut episodes: Stepping<(&EnvConfig<RecoFeed>, &SharedCatalogue, &mut SimulatedUser, &mut Feed, &mut FeedStats)>,
) {
    for (config, catalogue, mut user, mut feed, mut stats) in episodes.iter_mut() {
        let (catalogue, user, feed, stats) = (&*catalogue.0, &mut *user, &mut *feed, &mut *stats);
        let model = &config.user;
        let weights = &config.rewards;
        feed.reactions.clear();
        feed.spoken = None;
        feed.event = SessionEvent::Continues;
        feed.reward = 0.0;
        if feed.verdict.is_err() {
            // The user waits through an empty feed.
            user.mindset.temper -= 1.0;
            feed.reward = weights.invalid_penalty;
        } else {
            stats.served_slates += 1;
            feed.slates_in_session += 1;
            let early = stats.served_slates <= EARLY_SLATES;
            let mut hooks = 0;
            feed.recent_topics.clear();
            for &id in &feed.slate {
                let reaction = user.mindset.react(&mut user.rng, model, catalogue, id);
                let item = &catalogue.items[id as usize];
                hooks += u32::from(item.hooked());
                feed.recent_topics.push(item.topic);
                stats.impressions += 1;
                stats.early_impressions += u32::from(early);
                if reaction.clicked {
                    let minutes = f64::from(reaction.fraction * item.length);
                    stats.clicks += 1;
                    stats.early_clicks += u32::from(early);
                    stats.watch_minutes += minutes;
                    feed.session_clicks += 1;
                    feed.session_hook_clicks += u32::from(item.hooked());
                    feed.reward += weights.click + weights.watch_minute * minutes;
                }
                if reaction.liked {
                    stats.likes += 1;
                    feed.reward += weights.like;
                }
                feed.reactions.push(reaction);
            }
            feed.recent_hooks = hooks;
            stats.diversity_sum += intra_list_diversity(catalogue, &feed.slate);
            feed.session_engagement += user.mindset.close_slate(model, &feed.reactions);
            if let Some(instruction) = feed.pending.take() {
                let followed =
                    feed.slate.iter().filter(|&&id| instruction.satisfied_by(&catalogue.items[id as usize])).count();
                stats.instruction_items += feed.slate.len() as u32;
                stats.instruction_items_followed += followed as u32;
                // The user judges by what the pool allowed: a slate with every satisfying
                // candidate (up to K) is fully followed.
                let achievable = feed
                    .pool
                    .iter()
                    .filter(|&&id| instruction.satisfied_by(&catalogue.items[id as usize]))
                    .count()
                    .min(feed.slate.len());
                let rate = if achievable == 0 { 1.0 } else { followed.min(achievable) as f32 / achievable as f32 };
                user.mindset.temper += model.heard_bonus * rate - 0.5 * model.heard_bonus * (1.0 - rate);
            }
        }
        // Instructions old enough count as re-engaged.
        let served = stats.served_slates;
        let settled = feed.open_instructions.iter().filter(|&&at| served >= at + REENGAGEMENT_WINDOW).count();
        stats.reengaged += settled as u32;
        feed.open_instructions.retain(|&at| served < at + REENGAGEMENT_WINDOW);

        let left = user.mindset.temper < 1.0;
        let cut = !left && feed.slates_in_session >= config.max_slates;
        if left || cut {
            // Instructions followed by leaving within the window were not re-engaging.
            feed.open_instructions.clear();
            feed.pending = None;
            if left {
                feed.reward += weights.leave_penalty;
            }
            end_session(config, user, feed, stats, left);
        } else if user.mindset.temper < model.warn_temper
            && feed.instructions_this_session < INSTRUCTIONS_PER_SESSION
            && feed.verdict.is_ok()
            && user.rng.random::<f32>() < model.instruction_rate
        {
            let instruction = user.mindset.instruction(feed.recent_hooks, &feed.recent_topics);
            let variant = user.rng.random_range(0..4usize);
            feed.spoken = Some((instruction, variant));
            feed.pending = Some(instruction);
            feed.instructions_this_session += 1;
            feed.open_instructions.push(stats.served_slates);
            stats.instructions += 1;
        }
        if matches!(
            feed.event,
            SessionEvent::Continues | SessionEvent::LeftAndReturned { .. } | SessionEvent::CutAndReturned { .. }
        ) && feed.verdict.is_ok()
        {
            sample_pool(&mut feed.pool_rng, catalogue.items.len() as u32, config.candidates, &mut feed.pool);
        }
    }
}

/// Ends a session: in single-session mode the episode ends when the user left (a cut session
/// is the engine's truncation); in a campaign the user may come back on a later day.
fn end_session(
    config: &EnvConfig<RecoFeed>,
    user: &mut SimulatedUser,
    feed: &mut Feed,
    stats: &mut FeedStats,
    left: bool,
) {
    if config.campaign_days <= 1 {
        feed.event = if left { SessionEvent::Left } else { SessionEvent::Continues };
        return;
    }
    if feed.day >= config.campaign_days {
        feed.event = SessionEvent::CampaignOver;
        return;
    }
    stats.return_chances += 1;
    let slates = feed.slates_in_session.max(1) as f32;
    let regret =
        if feed.session_clicks == 0 { 0.0 } else { feed.session_hook_clicks as f32 / feed.session_clicks as f32 };
    let probability =
        return_probability(&user.mindset, feed.session_engagement / slates, config.user.engagement_threshold, regret);
    let mut gap = None;
    for days_later in 1..=(config.campaign_days - feed.day) {
        if user.rng.random::<f32>() < probability {
            gap = Some(days_later);
            break;
        }
    }
    let Some(gap) = gap else {
        feed.event = SessionEvent::Churned;
        return;
    };
    stats.returns += 1;
    stats.return_days += gap;
    stats.sessions += 1;
    feed.day += gap;
    feed.session += 1;
    feed.slates_in_session = 0;
    feed.instructions_this_session = 0;
    feed.session_engagement = 0.0;
    feed.session_clicks = 0;
    feed.session_hook_clicks = 0;
    feed.reward += config.rewards.return_bonus;
    let mindset = &mut user.mindset;
    mindset.temper = mindset.initial_temper;
    mindset.boredom = [0.0; TOPIC_COUNT];
    mindset.exposure *= 0.5;
    feed.event = if left { SessionEvent::LeftAndReturned { gap } } else { SessionEvent::CutAndReturned { gap } };
}

fn render_feed(mut episodes: Stepping<(&EnvConfig<RecoFeed>, &SharedCatalogue, &Feed, &FeedStats, &mut Reply)>) {
    for (config, catalogue, feed, stats, mut reply) in episodes.iter_mut() {
        let catalogue = &*catalogue.0;
        // Reaction lines, an instruction and a session message, then the candidates.
        let mut out = String::with_capacity(512 + 96 * feed.reactions.len() + candidates_len(catalogue, &feed.pool));
        let next_slate = stats.served_slates + 1;
        if let Err(error) = &feed.verdict {
            let _ = writeln!(
                out,
                "Invalid slate: {error}. Answer with `recommend <id>, <id>, ...`: exactly {} distinct ids from the \
                 current candidates. The user saw nothing and is losing patience.",
                config.slate_size
            );
        } else {
            out.push_str("Slate ");
            push_decimal(&mut out, stats.served_slates);
            out.push_str(" reactions:\n");
            for (position, reaction) in feed.reactions.iter().enumerate() {
                let item = &catalogue.items[reaction.item as usize];
                push_decimal(&mut out, position as u32 + 1);
                out.push_str(". i");
                push_decimal(&mut out, reaction.item);
                out.push(' ');
                out.push_str(TOPICS[item.topic as usize].name);
                out.push_str(": ");
                if reaction.clicked {
                    let _ = write!(out, "clicked, watched {:.1} of ", reaction.fraction * item.length);
                    out.push_str(&item.length_text);
                    let _ = write!(out, " min ({:.0}%)", 100.0 * reaction.fraction);
                    if reaction.liked {
                        out.push_str(", liked");
                    }
                    out.push('\n');
                } else {
                    out.push_str("skipped\n");
                }
            }
        }
        if let Some((instruction, variant)) = feed.spoken {
            let _ = writeln!(out, "User: \"{}\"", instruction.render(variant));
        }
        let ends = match feed.event {
            SessionEvent::Continues => false,
            SessionEvent::LeftAndReturned { gap } | SessionEvent::CutAndReturned { gap } => {
                let why = if matches!(feed.event, SessionEvent::LeftAndReturned { .. }) {
                    "the user left"
                } else {
                    "the session reached its slate limit"
                };
                let _ = writeln!(
                    out,
                    "Session {} is over: {why}. The user came back {gap} day{} later (day {} of {}), session {} starts.",
                    feed.session - 1,
                    if gap == 1 { "" } else { "s" },
                    feed.day,
                    config.campaign_days,
                    feed.session
                );
                false
            }
            SessionEvent::Left => {
                out.push_str("The user left the session.");
                true
            }
            SessionEvent::CampaignOver => {
                out.push_str("The last session of the campaign is over.");
                true
            }
            SessionEvent::Churned => {
                out.push_str("The session is over and the user did not come back within the campaign.");
                true
            }
        };
        if !ends {
            render_candidates(&mut out, catalogue, &feed.pool, next_slate, config.slate_size);
        }
        reply.set(Speaker::Partner, if feed.verdict.is_err() { Kind::Admin } else { Kind::Observation }, out);
    }
}

fn score_slate(mut episodes: Stepping<(&EnvConfig<RecoFeed>, &Turn, &Feed, &mut FeedStats, &mut Outcome)>) {
    for (config, turn, feed, mut stats, mut outcome) in episodes.iter_mut() {
        outcome.reward = feed.reward;
        outcome.invalid_action = feed.verdict.is_err();
        let (terminated, ending) = match feed.event {
            SessionEvent::Left => (true, "user_left"),
            SessionEvent::Churned => (true, "churned"),
            SessionEvent::CampaignOver => (true, "campaign_over"),
            _ => (false, ""),
        };
        outcome.end_when(terminated, ending);
        let at_cap = turn.is_last();
        // Success: the user stayed to the cap (single session) or was still around at the end
        // of the campaign.
        outcome.success = (config.campaign_days <= 1 && !terminated && at_cap) || ending == "campaign_over";
        if (terminated || at_cap)
            && !feed.open_instructions.is_empty()
            && !matches!(feed.event, SessionEvent::Left | SessionEvent::Churned)
        {
            stats.reengaged += feed.open_instructions.len() as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::push_decimal;

    proptest! {
        /// `push_decimal` writes what `{}` writes (observations stay byte-identical).
        #[test]
        fn push_decimal_matches_display(value in any::<u32>(), small in 0u32..2000) {
            for value in [value, small, u32::MAX] {
                let mut out = String::from("x");
                push_decimal(&mut out, value);
                prop_assert_eq!(out, format!("x{value}"));
            }
        }
    }
}
