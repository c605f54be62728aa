//! The generated catalogue of `conv_rec-v0`: items with attribute sets over a two-level taxonomy.
//!
//! The catalogue is public (the recommender knows its items and their attributes, as in
//! EAR/CPR); it depends only on `(seed, items, attributes, attributes per item)` and is shared by
//! all episodes.

use std::sync::{Arc, Mutex, OnceLock};

use rand::RngExt;
use sim_core::seed::stream;

/// Parent attributes of the taxonomy.
pub const PARENTS: [&str; 12] =
    ["cuisine", "price", "mood", "setting", "diet", "music", "service", "drinks", "dessert", "area", "crowd", "style"];

/// Child names; attribute `j` of parent `p` is `PARENTS[p]/WORDS[j]`.
pub const WORDS: [&str; 50] = [
    "amber", "brisk", "cedar", "dusky", "ember", "fern", "garnet", "hazel", "indigo", "juniper", "kelp", "lilac",
    "maple", "nutmeg", "olive", "pebble", "quartz", "russet", "saffron", "thyme", "umber", "velvet", "willow",
    "yarrow", "zinc", "acorn", "birch", "clover", "dune", "elder", "flint", "ginger", "heather", "iris", "jade",
    "kiwi", "lotus", "moss", "nectar", "onyx", "poppy", "quill", "reed", "sage", "tansy", "upland", "vale", "wren",
    "yew", "zest",
];

/// The most attributes a catalogue can have.
pub const MAX_ATTRIBUTES: u32 = (PARENTS.len() * WORDS.len()) as u32;

/// A generated catalogue. Attribute `a` belongs to parent `a % 12` and is child `a / 12`.
#[derive(Debug)]
pub struct ConvCatalogue {
    pub attribute_names: Vec<String>,
    /// Sorted attribute indices of each item; item `i` has the public id `v<i>`.
    pub item_attributes: Vec<Vec<u16>>,
    /// Per attribute, the items holding it (sorted).
    pub holders: Vec<Vec<u32>>,
}

/// The key of a catalogue: `(seed, items, attributes, (fewest, most) attributes per item)`.
type CatalogueKey = (u64, u32, u32, (u32, u32));

/// A cached catalogue with its key.
type CacheEntry = (CatalogueKey, Arc<ConvCatalogue>);

impl ConvCatalogue {
    /// Generates `items` items over `attributes` attributes: each item has a uniform number in
    /// `per_item = (fewest, most)` (clamped to `1..=attributes`) of distinct attributes drawn from a
    /// Zipf(1) distribution, so attribute frequencies vary. The default config's `(3, 8)` gives
    /// the catalogues of every earlier version, byte for byte.
    pub fn generate(seed: u64, items: u32, attributes: u32, per_item: (u32, u32)) -> Self {
        let mut rng = stream(seed, "conv-catalogue");
        let attribute_names: Vec<String> = (0..attributes as usize)
            .map(|a| format!("{}/{}", PARENTS[a % PARENTS.len()], WORDS[a / PARENTS.len()]))
            .collect();
        // Zipf ranks are shuffled over attributes so popularity does not follow the parent.
        let mut ranked: Vec<u16> = (0..attributes as u16).collect();
        for i in (1..ranked.len()).rev() {
            ranked.swap(i, rng.random_range(0..=i));
        }
        let weights: Vec<f64> = (1..=attributes).map(|rank| 1.0 / f64::from(rank)).collect();
        let total: f64 = weights.iter().sum();
        let mut cumulative = Vec::with_capacity(weights.len());
        let mut running = 0.0;
        for weight in &weights {
            running += weight / total;
            cumulative.push(running);
        }
        let most = (per_item.1 as usize).clamp(1, attributes as usize);
        let fewest = (per_item.0 as usize).clamp(1, most);
        let mut item_attributes = Vec::with_capacity(items as usize);
        let mut holders = vec![Vec::new(); attributes as usize];
        for item in 0..items {
            let count = rng.random_range(fewest..=most);
            let mut set: Vec<u16> = Vec::with_capacity(count);
            while set.len() < count {
                let u: f64 = rng.random();
                let rank = cumulative.partition_point(|&c| c < u).min(ranked.len() - 1);
                let attribute = ranked[rank];
                if !set.contains(&attribute) {
                    set.push(attribute);
                }
            }
            set.sort_unstable();
            for &attribute in &set {
                holders[attribute as usize].push(item);
            }
            item_attributes.push(set);
        }
        Self { attribute_names, item_attributes, holders }
    }

    /// The shared catalogue for `(seed, items, attributes, per_item)`, generated once per process.
    pub fn shared(seed: u64, items: u32, attributes: u32, per_item: (u32, u32)) -> Arc<Self> {
        static CACHE: OnceLock<Mutex<Vec<CacheEntry>>> = OnceLock::new();
        let mut cache = CACHE.get_or_init(Mutex::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (seed, items, attributes, per_item);
        if let Some((_, catalogue)) = cache.iter().find(|(k, _)| *k == key) {
            return catalogue.clone();
        }
        let catalogue = Arc::new(Self::generate(seed, items, attributes, per_item));
        cache.push((key, catalogue.clone()));
        catalogue
    }

    /// The index of an attribute name (`mood/amber`).
    pub fn attribute(&self, name: &str) -> Option<u16> {
        let (parent, word) = name.split_once('/')?;
        let p = PARENTS.iter().position(|x| x.eq_ignore_ascii_case(parent))?;
        let w = WORDS.iter().position(|x| x.eq_ignore_ascii_case(word))?;
        let index = w * PARENTS.len() + p;
        (index < self.attribute_names.len()).then_some(index as u16)
    }

    /// The index of a parent name.
    pub fn parent(name: &str) -> Option<usize> {
        PARENTS.iter().position(|x| x.eq_ignore_ascii_case(name))
    }

    /// Parses an item id (`v12`).
    pub fn item(&self, text: &str) -> Option<u32> {
        let digits = text.strip_prefix('v').or_else(|| text.strip_prefix('V'))?;
        if digits.is_empty() || digits.len() > 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let index: u32 = digits.parse().ok()?;
        ((index as usize) < self.item_attributes.len()).then_some(index)
    }

    pub fn has(&self, item: u32, attribute: u16) -> bool {
        self.item_attributes[item as usize].binary_search(&attribute).is_ok()
    }
}
