//! The generated item catalogue and its topic lexicon.
//!
//! A catalogue depends only on `(catalogue_seed, size)`; it is generated once per run and shared
//! (through an `Arc`) by every episode that uses it, so an episode only holds its small per-user
//! state. Visible item fields are id, title, topic, tags, length, creator, rating and views;
//! `quality` and `clickbait` are the hidden truth the user simulator reacts to (the rating is a
//! noisy public estimate of quality, and the view count grows with clickbait as in real feeds).

use std::sync::{Arc, Mutex, OnceLock};

use rand::RngExt;
use sim_core::seed::{StreamRng, stream};

/// Number of topics of the lexicon.
pub const TOPIC_COUNT: usize = 20;

/// A topic of the lexicon: name, two related topics, tags and title nouns.
pub struct Topic {
    pub name: &'static str,
    pub related: [usize; 2],
    pub tags: [&'static str; 6],
    pub nouns: [&'static str; 6],
}

macro_rules! topics {
    ($(($name:literal, [$r1:literal, $r2:literal], [$($tag:literal),*], [$($noun:literal),*])),* $(,)?) => {
        [$(Topic { name: $name, related: [$r1, $r2], tags: [$($tag),*], nouns: [$($noun),*] }),*]
    };
}

/// The topic lexicon. Indices: 0 cooking, 1 travel, 2 fitness, 3 gaming, 4 music, 5 comedy,
/// 6 science, 7 history, 8 tech, 9 fashion, 10 pets, 11 diy, 12 gardening, 13 finance,
/// 14 sports, 15 movies, 16 art, 17 nature, 18 cars, 19 parenting.
pub static TOPICS: [Topic; TOPIC_COUNT] = topics![
    (
        "cooking",
        [1, 12],
        ["recipe", "pasta", "baking", "knife", "spices", "vegan"],
        ["weeknight pasta", "sourdough loaf", "street tacos", "curry from scratch", "knife skills", "one-pan dinner"]
    ),
    (
        "travel",
        [17, 7],
        ["backpacking", "city", "islands", "budget", "roadtrip", "hostels"],
        ["Lisbon alleys", "island hopping", "night trains", "a week in Kyoto", "desert roadtrip", "packing light"]
    ),
    (
        "fitness",
        [14, 0],
        ["strength", "running", "yoga", "mobility", "hiit", "stretching"],
        ["a 20-minute workout", "first 5k", "morning yoga", "kettlebell basics", "mobility flow", "rest days"]
    ),
    (
        "gaming",
        [8, 15],
        ["speedrun", "indie", "strategy", "retro", "esports", "walkthrough"],
        ["an indie gem", "a speedrun record", "retro consoles", "strategy openings", "boss fights", "co-op nights"]
    ),
    (
        "music",
        [16, 15],
        ["guitar", "jazz", "synth", "vinyl", "choir", "drums"],
        ["jazz chords", "a bedroom synth", "vinyl digging", "drum grooves", "choir harmonies", "guitar tone"]
    ),
    (
        "comedy",
        [15, 10],
        ["standup", "sketch", "parody", "improv", "pranks", "satire"],
        ["a standup set", "office sketches", "improv games", "parody songs", "awkward dates", "satire news"]
    ),
    (
        "science",
        [8, 17],
        ["physics", "space", "chemistry", "biology", "experiments", "math"],
        ["black holes", "kitchen chemistry", "tiny organisms", "rocket engines", "prime numbers", "a cloud chamber"]
    ),
    (
        "history",
        [1, 16],
        ["ancient", "medieval", "empires", "archives", "wars", "maps"],
        ["Roman roads", "medieval castles", "lost empires", "old maps", "the silk road", "forgotten inventors"]
    ),
    (
        "tech",
        [6, 18],
        ["gadgets", "coding", "ai", "repair", "linux", "smartphones"],
        ["a budget laptop", "coding tricks", "home servers", "phone repair", "tiny computers", "smart homes"]
    ),
    (
        "fashion",
        [16, 2],
        ["streetwear", "thrift", "sewing", "sneakers", "styling", "vintage"],
        ["thrift flips", "capsule wardrobes", "sneaker care", "vintage denim", "styling basics", "sewing a jacket"]
    ),
    (
        "pets",
        [17, 19],
        ["dogs", "cats", "training", "rescue", "aquarium", "birds"],
        ["puppy training", "rescue cats", "aquarium setups", "parrot tricks", "dog parks", "senior pets"]
    ),
    (
        "diy",
        [12, 18],
        ["woodwork", "tools", "renovation", "upcycling", "plumbing", "crafts"],
        ["a workbench", "tiling a floor", "upcycled chairs", "fixing a leak", "shelves from pallets", "power tools"]
    ),
    (
        "gardening",
        [17, 11],
        ["vegetables", "compost", "houseplants", "seeds", "balcony", "pruning"],
        ["balcony tomatoes", "compost heaps", "houseplant care", "seed swaps", "pruning roses", "raised beds"]
    ),
    (
        "finance",
        [8, 19],
        ["budgeting", "investing", "savings", "taxes", "frugal", "retirement"],
        ["budget spreadsheets", "index funds", "frugal weeks", "tax basics", "emergency funds", "side incomes"]
    ),
    (
        "sports",
        [2, 18],
        ["football", "tennis", "cycling", "highlights", "tactics", "climbing"],
        ["match highlights", "tennis tactics", "a cycling climb", "derby days", "bouldering problems", "penalty kicks"]
    ),
    (
        "movies",
        [5, 4],
        ["reviews", "trailers", "classics", "scifi", "horror", "behind-the-scenes"],
        ["classic noir", "scifi trailers", "horror tropes", "film scores", "set design", "director cuts"]
    ),
    (
        "art",
        [4, 9],
        ["painting", "sketching", "sculpture", "museums", "watercolor", "pottery"],
        [
            "watercolor skies",
            "pottery wheels",
            "museum nights",
            "charcoal portraits",
            "street murals",
            "tiny sculptures"
        ]
    ),
    (
        "nature",
        [1, 10],
        ["wildlife", "forests", "oceans", "birds", "mountains", "weather"],
        ["forest walks", "whale songs", "mountain storms", "owl nests", "tide pools", "river otters"]
    ),
    (
        "cars",
        [8, 14],
        ["restoration", "electric", "racing", "maintenance", "classics", "reviews"],
        ["a barn find", "electric conversions", "track days", "oil changes", "classic coupes", "rally stages"]
    ),
    (
        "parenting",
        [10, 0],
        ["toddlers", "school", "sleep", "family", "crafts", "teens"],
        ["toddler sleep", "school lunches", "family game nights", "teen talks", "rainy-day crafts", "bedtime stories"]
    ),
];

const OPENERS: [&str; 8] = [
    "A beginner's guide to",
    "Ten quiet minutes of",
    "Why I love",
    "Inside the world of",
    "Everything about",
    "A calm look at",
    "Notes on",
    "The craft of",
];

/// Title openers of clickbait items (every item with `clickbait >= HOOK_THRESHOLD` has one).
pub const HOOKS: [&str; 6] = [
    "You won't believe",
    "SHOCKING truth about",
    "Nobody tells you about",
    "This changes everything:",
    "I tried",
    "The secret of",
];

/// Items with at least this clickbait score get a hook title.
pub const HOOK_THRESHOLD: f32 = 0.6;

/// One catalogue item. `quality` and `clickbait` are hidden from the agent.
#[derive(Debug, Clone)]
pub struct Item {
    pub title: String,
    /// Primary topic (index into [`TOPICS`]).
    pub topic: u8,
    /// An optional secondary topic with weight 0.5 in the topic vector.
    pub secondary: Option<u8>,
    pub tags: [u8; 2],
    pub creator: u16,
    /// Minutes.
    pub length: f32,
    /// Hidden true quality in [0, 1].
    pub quality: f32,
    /// Hidden clickbait score in [0, 1].
    pub clickbait: f32,
    /// Public rating in stars (1.0–5.0), a noisy estimate of quality.
    pub rating: f32,
    /// Public view count in thousands.
    pub views_thousands: u32,
    /// The item's candidate line as observations show it (rendered once, at generation).
    pub line: String,
    /// `length` as observations show it (`{:.1}`, rendered once, at generation).
    pub length_text: String,
}

impl Item {
    /// Whether the title carries a hook (visible; the same as `clickbait >= HOOK_THRESHOLD`).
    pub fn hooked(&self) -> bool {
        self.clickbait >= HOOK_THRESHOLD
    }

    /// Weight of topic `t` in the item's sparse topic vector.
    pub fn topic_weight(&self, t: usize) -> f32 {
        if self.topic as usize == t {
            1.0
        } else if self.secondary.map(usize::from) == Some(t) {
            0.5
        } else {
            0.0
        }
    }
}

/// `i<id> | title | topic[/secondary] | tag, tag | length min | rating stars | views k views`.
fn candidate_line(id: usize, item: &Item) -> String {
    let topic = &TOPICS[item.topic as usize];
    let topics = match item.secondary {
        Some(secondary) => format!("{}/{}", topic.name, TOPICS[secondary as usize].name),
        None => topic.name.to_owned(),
    };
    format!(
        "i{id} | {} | {topics} | {}, {} | {:.1} min | {:.1} stars | {}k views",
        item.title,
        topic.tags[item.tags[0] as usize],
        topic.tags[item.tags[1] as usize],
        item.length,
        item.rating,
        item.views_thousands
    )
}

/// Cosine similarity of two items' topic vectors.
pub fn topic_cosine(a: &Item, b: &Item) -> f32 {
    let norm = |item: &Item| if item.secondary.is_some() { 1.25f32.sqrt() } else { 1.0 };
    let mut dot = 0.0;
    let topics_a = [Some(a.topic), a.secondary];
    for t in topics_a.into_iter().flatten() {
        dot += a.topic_weight(t as usize) * b.topic_weight(t as usize);
    }
    dot / (norm(a) * norm(b))
}

/// A cached catalogue with its `(seed, size)`.
type CacheEntry = (u64, u32, Arc<Catalogue>);

/// The generated catalogue; `items[i]` has the public id `i<i>`.
#[derive(Debug)]
pub struct Catalogue {
    pub seed: u64,
    pub items: Vec<Item>,
}

/// A standard normal draw (Box–Muller), from the stream given.
pub fn normal(rng: &mut StreamRng) -> f32 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

impl Catalogue {
    /// Generates `size` items from `seed` (stream `catalogue`).
    pub fn generate(seed: u64, size: u32) -> Self {
        let mut rng = stream(seed, "catalogue");
        let items = (0..size)
            .map(|_| {
                let topic = rng.random_range(0..TOPIC_COUNT);
                let lexicon = &TOPICS[topic];
                let secondary = (rng.random::<f32>() < 0.4).then(|| lexicon.related[rng.random_range(0..2)] as u8);
                let first_tag = rng.random_range(0..6u8);
                let tags = [first_tag, (first_tag + rng.random_range(1..6u8)) % 6];
                let clickbait = if rng.random::<f32>() < 0.2 {
                    rng.random_range(0.6f32..1.0)
                } else {
                    rng.random_range(0.0f32..0.5)
                };
                let mut quality = rng.random::<f32>().powf(0.8);
                if clickbait >= HOOK_THRESHOLD {
                    quality *= 0.6;
                }
                let length = (1.3 + 0.5 * normal(&mut rng)).exp().clamp(0.5, 15.0);
                let rating = ((1.0 + 4.0 * (quality + 0.12 * normal(&mut rng)).clamp(0.0, 1.0)) * 10.0).round() / 10.0;
                let views = (3.0 + 2.5 * clickbait + quality + 0.5 * normal(&mut rng)).exp().round() as u32;
                let noun = lexicon.nouns[rng.random_range(0..6)];
                let title = if clickbait >= HOOK_THRESHOLD {
                    format!("{} {noun}", HOOKS[rng.random_range(0..HOOKS.len())])
                } else {
                    format!("{} {noun}", OPENERS[rng.random_range(0..OPENERS.len())])
                };
                let creator = (topic * 25 + rng.random_range(0..25)) as u16;
                Item {
                    title,
                    topic: topic as u8,
                    secondary,
                    tags,
                    creator,
                    length: (length * 10.0).round() / 10.0,
                    quality,
                    clickbait,
                    rating,
                    views_thousands: views.max(1),
                    line: String::new(),
                    length_text: String::new(),
                }
            })
            .collect::<Vec<Item>>();
        let items = items
            .into_iter()
            .enumerate()
            .map(|(id, mut item)| {
                item.line = candidate_line(id, &item);
                item.length_text = format!("{:.1}", item.length);
                item
            })
            .collect();
        Self { seed, items }
    }

    /// The shared catalogue for `(seed, size)`, generated on first use and cached for the process.
    pub fn shared(seed: u64, size: u32) -> Arc<Catalogue> {
        static CACHE: OnceLock<Mutex<Vec<CacheEntry>>> = OnceLock::new();
        let mut cache = CACHE.get_or_init(Mutex::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, _, catalogue)) = cache.iter().find(|(s, n, _)| *s == seed && *n == size) {
            return catalogue.clone();
        }
        let catalogue = Arc::new(Self::generate(seed, size));
        cache.push((seed, size, catalogue.clone()));
        catalogue
    }

    /// Parses a public id (`i123`) into an index of `items`.
    pub fn parse_id(&self, text: &str) -> Option<u32> {
        let digits = text.strip_prefix('i').or_else(|| text.strip_prefix('I'))?;
        if digits.is_empty() || digits.len() > 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let index: u32 = digits.parse().ok()?;
        ((index as usize) < self.items.len()).then_some(index)
    }
}
