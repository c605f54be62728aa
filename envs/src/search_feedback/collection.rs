//! The generated document collection of `search_feedback-v0` and its BM25 index.
//!
//! Topics are the senses of ambiguous head words ("jaguar" the cat and "jaguar" the car), so
//! a head query matches several topics. Each topic has 3–6 facets drawn from a fixed facet
//! table; each (topic, facet) has `docs_per_facet` documents written from sentence templates,
//! the topic's and the facet's lexicons, an audience (the constraint dimension), a word of a
//! distractor facet and boilerplate. Distractor documents mention several head words and
//! facet words but belong to no topic. Relevance is known by construction (see [`grade`]).
//!
//! The index is built once per process and collection config ([`collection`]) with tantivy's
//! BM25 over one text field (title and body), written by a single indexing thread in one
//! commit, so the segment is single and document `i` of the collection is tantivy doc id `i`.
//! Searches return the top 10 by score, ties broken by ascending doc id.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sim_core::seed::{StreamRng, stream, stream_indexed};
use tantivy::collector::TopDocs;
use tantivy::query::BooleanQuery;
use tantivy::schema::{Field, Schema, TEXT};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::text::words;

/// Results a search shows.
pub const RESULTS_PER_SEARCH: usize = 10;

/// A sense of a head word: its qualifier and three topic words.
pub type Sense = (&'static str, [&'static str; 3]);

/// An ambiguous head word and its two senses.
pub const HEADS: [(&str, [Sense; 2]); 15] = [
    ("jaguar", [("cat", ["rainforest", "predator", "spotted"]), ("car", ["sedan", "engine", "luxury"])]),
    ("mercury", [("planet", ["orbit", "sun", "crater"]), ("metal", ["element", "thermometer", "toxic"])]),
    ("python", [("snake", ["reptile", "constrictor", "scales"]), ("language", ["programming", "code", "library"])]),
    ("java", [("island", ["indonesia", "volcano", "jakarta"]), ("coffee", ["beans", "roast", "espresso"])]),
    ("apple", [("fruit", ["orchard", "cider", "harvest"]), ("computer", ["laptop", "software", "keyboard"])]),
    ("amazon", [("river", ["basin", "tributary", "delta"]), ("store", ["shopping", "delivery", "warehouse"])]),
    ("bass", [("fish", ["lake", "angler", "freshwater"]), ("guitar", ["strings", "amplifier", "bassline"])]),
    ("crane", [("bird", ["wetland", "migration", "feathers"]), ("machine", ["construction", "lifting", "tower"])]),
    ("mustang", [("horse", ["wild", "herd", "ranch"]), ("coupe", ["v8", "muscle", "convertible"])]),
    (
        "turkey",
        [("country", ["istanbul", "anatolia", "ankara"]), ("poultry", ["thanksgiving", "stuffing", "drumstick"])],
    ),
    ("seal", [("mammal", ["pup", "flipper", "colony"]), ("stamp", ["wax", "envelope", "signet"])]),
    ("bat", [("animal", ["cave", "echolocation", "nocturnal"]), ("club", ["baseball", "swing", "wooden"])]),
    ("mouse", [("rodent", ["whiskers", "burrow", "cheese"]), ("device", ["cursor", "click", "wireless"])]),
    ("pitcher", [("jug", ["water", "ceramic", "pour"]), ("player", ["mound", "strikeout", "bullpen"])]),
    ("oracle", [("prophet", ["delphi", "prophecy", "temple"]), ("database", ["sql", "schema", "tables"])]),
];

/// The facets: keyword and six lexicon words each.
pub const FACETS: [(&str, [&str; 6]); 8] = [
    ("history", ["origin", "century", "ancient", "heritage", "timeline", "founded"]),
    ("price", ["cost", "budget", "cheap", "expensive", "fees", "afford"]),
    ("safety", ["danger", "risk", "injury", "hazard", "warning", "protect"]),
    ("care", ["maintenance", "cleaning", "repair", "feeding", "upkeep", "hygiene"]),
    ("location", ["region", "map", "habitat", "area", "nearby", "directions"]),
    ("events", ["festival", "season", "schedule", "tournament", "show", "calendar"]),
    ("reviews", ["rating", "opinion", "recommend", "verdict", "compare", "stars"]),
    ("science", ["research", "study", "data", "measurement", "experiment", "analysis"]),
];

/// The audiences a document is written for (the need's optional constraint).
pub const AUDIENCES: [&str; 3] = ["beginners", "families", "experts"];

const TITLE_NOUNS: [&str; 5] = ["guide", "notes", "overview", "basics", "questions"];

const BOILERPLATE: [&str; 6] = [
    "Updated weekly by our editors.",
    "Read more in related articles below.",
    "Photos courtesy of our contributors.",
    "Share this page with friends.",
    "Sign up for the newsletter to get more.",
    "Comments are welcome at the end of the page.",
];

/// The collection part of the config (all of it keys the shared index).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectionConfig {
    /// Seed of the collection (not of the episode: every episode searches the same collection).
    pub seed: u64,
    /// Topics used (2–30): the first `topics` senses in [`HEADS`] order.
    pub topics: usize,
    /// Facets per topic are drawn between these bounds (3–6 in ConvSim's design notes).
    pub min_facets: usize,
    pub max_facets: usize,
    /// Documents per (topic, facet), spread evenly over the audiences (3–50).
    pub docs_per_facet: usize,
    /// Documents that mention head and facet words but belong to no topic.
    pub distractors: usize,
}

impl Default for CollectionConfig {
    fn default() -> Self {
        Self { seed: 0, topics: 30, min_facets: 3, max_facets: 6, docs_per_facet: 9, distractors: 60 }
    }
}

impl CollectionConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(2..=HEADS.len() * 2).contains(&self.topics) {
            return Err(format!("search_feedback: collection.topics must be between 2 and {}", HEADS.len() * 2));
        }
        if !(1..=FACETS.len()).contains(&self.min_facets) || self.max_facets < self.min_facets {
            return Err("search_feedback: need 1 <= min_facets <= max_facets".into());
        }
        if self.max_facets > FACETS.len() {
            return Err(format!("search_feedback: max_facets must be at most {}", FACETS.len()));
        }
        if !(3..=50).contains(&self.docs_per_facet) {
            return Err("search_feedback: docs_per_facet must be between 3 and 50".into());
        }
        if self.distractors > 1000 {
            return Err("search_feedback: distractors must be at most 1000".into());
        }
        Ok(())
    }
}

/// One topic: a sense of a head word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub head: &'static str,
    pub qualifier: &'static str,
    pub words: [&'static str; 3],
    /// Indices into [`FACETS`], ascending.
    pub facets: Vec<usize>,
}

impl Topic {
    /// "jaguar car".
    pub fn name(&self) -> String {
        format!("{} {}", self.head, self.qualifier)
    }
}

/// A document with its construction labels (never shown to the agent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub title: String,
    pub body: String,
    /// Topic index, `None` for a distractor.
    pub topic: Option<usize>,
    pub facet: usize,
    pub audience: usize,
}

/// The collection, its BM25 index and reader.
pub struct Collection {
    pub config: CollectionConfig,
    pub topics: Vec<Topic>,
    pub documents: Vec<Document>,
    index_reader: IndexReader,
    text_field: Field,
}

impl std::fmt::Debug for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection")
            .field("topics", &self.topics.len())
            .field("documents", &self.documents.len())
            .finish()
    }
}

/// One search hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub doc: u32,
    pub score: f32,
}

/// The external id of a document ("d17").
pub fn doc_id(doc: u32) -> String {
    format!("d{doc}")
}

/// Reads "d17" (or "D17", "[d17]") as a document number.
pub fn parse_doc_id(text: &str) -> Option<u32> {
    let text = text.trim_matches(|c: char| matches!(c, '[' | ']' | '(' | ')' | '.' | ';' | ','));
    let digits = text.strip_prefix('d').or_else(|| text.strip_prefix('D'))?;
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The shared collection for a config, built on first use (once per process per config).
///
/// # Panics
/// If tantivy fails to build an in-RAM index (only on allocation failure).
pub fn collection(config: &CollectionConfig) -> Arc<Collection> {
    static CACHE: OnceLock<Mutex<Vec<Arc<Collection>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    let mut built = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(found) = built.iter().find(|c| &c.config == config) {
        return Arc::clone(found);
    }
    let fresh = Arc::new(Collection::build(config).expect("building the in-RAM BM25 index"));
    built.push(Arc::clone(&fresh));
    fresh
}

fn pick<'a>(rng: &mut StreamRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// `count` distinct items of `items`, in a random order.
fn pick_distinct<'a>(rng: &mut StreamRng, items: &[&'a str], count: usize) -> Vec<&'a str> {
    let mut pool: Vec<&str> = items.to_vec();
    let mut out = Vec::with_capacity(count);
    while out.len() < count && !pool.is_empty() {
        out.push(pool.swap_remove(rng.random_range(0..pool.len())));
    }
    out
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

fn generate_topics(config: &CollectionConfig) -> Vec<Topic> {
    let mut rng = stream(config.seed, "search-topics");
    let mut topics = Vec::with_capacity(config.topics);
    'heads: for (head, senses) in HEADS {
        for (qualifier, topic_words) in senses {
            if topics.len() == config.topics {
                break 'heads;
            }
            let count = rng.random_range(config.min_facets..=config.max_facets);
            let mut facets: Vec<usize> = (0..FACETS.len()).collect();
            let mut chosen = Vec::with_capacity(count);
            while chosen.len() < count {
                chosen.push(facets.swap_remove(rng.random_range(0..facets.len())));
            }
            chosen.sort_unstable();
            topics.push(Topic { head, qualifier, words: topic_words, facets: chosen });
        }
    }
    topics
}

fn topic_document(
    rng: &mut StreamRng,
    topics: &[Topic],
    topic_index: usize,
    facet: usize,
    audience: usize,
) -> Document {
    let topic = &topics[topic_index];
    let (keyword, lexicon) = FACETS[facet];
    let facet_words = pick_distinct(rng, &lexicon, 4);
    let topic_words = pick_distinct(rng, &topic.words, 2);
    let other_facets: Vec<usize> = (0..FACETS.len()).filter(|&f| f != facet).collect();
    let other = other_facets[rng.random_range(0..other_facets.len())];
    let other_word = pick(rng, &FACETS[other].1);
    let audience_word = AUDIENCES[audience];
    let head = topic.head;
    let qualifier = topic.qualifier;
    let title = format!("{} {qualifier}: {keyword} {} for {audience_word}", capitalised(head), pick(rng, &TITLE_NOUNS));
    let opening = match rng.random_range(0..3) {
        0 => format!("This page looks at the {} and {} of the {head} {qualifier}.", facet_words[0], facet_words[1]),
        1 => format!("Everything about {} and {} for the {head} {qualifier}.", facet_words[0], facet_words[1]),
        _ => format!("The {head} {qualifier}: what to know about {} and {}.", facet_words[0], facet_words[1]),
    };
    let middle = match rng.random_range(0..3) {
        0 => format!(
            "Written for {audience_word}, it explains {} with examples about {} and {}.",
            facet_words[2], topic_words[0], topic_words[1]
        ),
        1 => format!(
            "Aimed at {audience_word}: {} explained through {} and {}.",
            facet_words[2], topic_words[0], topic_words[1]
        ),
        _ => {
            format!("Our {audience_word} section covers {}, {} and {}.", topic_words[0], facet_words[2], topic_words[1])
        }
    };
    let closing = format!(
        "Many readers ask about {} first. It also touches briefly on {other_word}. {}",
        facet_words[3],
        pick(rng, &BOILERPLATE)
    );
    Document { title, body: format!("{opening} {middle} {closing}"), topic: Some(topic_index), facet, audience }
}

fn distractor_document(rng: &mut StreamRng, topics: &[Topic]) -> Document {
    let mut heads: Vec<&str> = topics.iter().map(|t| t.head).collect();
    heads.dedup();
    let mentioned = pick_distinct(rng, &heads, 3.min(heads.len()));
    let facet = rng.random_range(0..FACETS.len());
    let facet_words = pick_distinct(rng, &FACETS[facet].1, 2);
    let other_facet = rng.random_range(0..FACETS.len());
    let other = pick(rng, &FACETS[other_facet].1);
    let audience = rng.random_range(0..AUDIENCES.len());
    let title = match mentioned.as_slice() {
        [a, b, ..] => format!("{} and {b}: a weekly roundup", capitalised(a)),
        [a] => format!("{} roundup", capitalised(a)),
        [] => "Weekly roundup".to_owned(),
    };
    let list = mentioned.join(", ");
    let body = format!(
        "News in brief about {list}. Short items on {} and {}, plus a note on {other}. {} {}",
        facet_words[0],
        facet_words.get(1).copied().unwrap_or("trends"),
        pick(rng, &BOILERPLATE),
        pick(rng, &BOILERPLATE)
    );
    Document { title, body, topic: None, facet, audience }
}

fn generate_documents(config: &CollectionConfig, topics: &[Topic]) -> Vec<Document> {
    let mut documents = Vec::new();
    for (topic_index, topic) in topics.iter().enumerate() {
        for &facet in &topic.facets {
            let mut rng = stream_indexed(config.seed, "search-documents", (topic_index * FACETS.len() + facet) as u64);
            for k in 0..config.docs_per_facet {
                documents.push(topic_document(&mut rng, topics, topic_index, facet, k % AUDIENCES.len()));
            }
        }
    }
    let mut rng = stream(config.seed, "search-distractors");
    for _ in 0..config.distractors {
        documents.push(distractor_document(&mut rng, topics));
    }
    // Shuffle so that ids say nothing about topics (Fisher-Yates on the collection stream).
    let mut rng = stream(config.seed, "search-order");
    for i in (1..documents.len()).rev() {
        documents.swap(i, rng.random_range(0..=i));
    }
    documents
}

impl Collection {
    /// Generates the collection and indexes it.
    ///
    /// # Errors
    /// A tantivy error while writing the in-RAM index.
    pub fn build(config: &CollectionConfig) -> tantivy::Result<Self> {
        let topics = generate_topics(config);
        let documents = generate_documents(config, &topics);
        let mut schema = Schema::builder();
        let text_field = schema.add_text_field("text", TEXT);
        let index = Index::create_in_ram(schema.build());
        // One indexing thread, one commit, no merges: a single segment in insertion order.
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000)?;
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        for document in &documents {
            let mut doc = TantivyDocument::default();
            doc.add_text(text_field, format!("{}\n{}", document.title, document.body));
            writer.add_document(doc)?;
        }
        writer.commit()?;
        writer.wait_merging_threads()?;
        let index_reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let searcher = index_reader.searcher();
        assert_eq!(searcher.segment_readers().len(), 1, "the collection index must be a single segment");
        assert_eq!(searcher.num_docs() as usize, documents.len());
        Ok(Self { config: config.clone(), topics, documents, index_reader, text_field })
    }

    /// The top [`RESULTS_PER_SEARCH`] documents for a free-text query by BM25 (any query word
    /// may match), best first, ties by ascending doc id. Words are folded as in
    /// [`crate::text::words`]; repeated words count once.
    pub fn search(&self, query: &str) -> Vec<Hit> {
        let terms: BTreeSet<String> = words(query).into_iter().collect();
        if terms.is_empty() {
            return Vec::new();
        }
        let query = BooleanQuery::new_multiterms_query(
            terms.iter().map(|w| Term::from_field_text(self.text_field, w)).collect(),
        );
        let searcher = self.index_reader.searcher();
        let top =
            searcher.search(&query, &TopDocs::with_limit(RESULTS_PER_SEARCH).order_by_score()).unwrap_or_default();
        let mut hits: Vec<Hit> = top.into_iter().map(|(score, address)| Hit { doc: address.doc_id, score }).collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)));
        hits
    }

    /// A short snippet of a document: its first `count` words.
    pub fn snippet(&self, doc: u32, count: usize) -> String {
        let body = &self.documents[doc as usize].body;
        let mut words = body.split_whitespace();
        let mut out: Vec<&str> = words.by_ref().take(count).collect();
        if words.next().is_some() {
            out.push("...");
        }
        out.join(" ")
    }
}

/// An information need: topic, target facet and optional audience constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub topic: usize,
    pub facet: usize,
    pub audience: Option<usize>,
}

/// The graded relevance of a document to a need, by construction: 2 = the need's topic and
/// facet (and audience, when the need has one); 1 = the need's topic otherwise; 0 = another
/// topic or a distractor.
pub fn grade(document: &Document, need: &Need) -> u8 {
    if document.topic != Some(need.topic) {
        return 0;
    }
    let audience_ok = need.audience.is_none_or(|a| a == document.audience);
    if document.facet == need.facet && audience_ok { 2 } else { 1 }
}

/// The qrels of a need: every document with a positive grade, by doc id.
pub fn judgments(collection: &Collection, need: &Need) -> Vec<(u32, u8)> {
    (0..collection.documents.len() as u32)
        .filter_map(|doc| {
            let g = grade(&collection.documents[doc as usize], need);
            (g > 0).then_some((doc, g))
        })
        .collect()
}

fn discount(rank: usize) -> f64 {
    1.0 / ((rank + 2) as f64).log2()
}

/// nDCG@3 with linear gains (trec_eval convention): DCG@3 of `ranking` over DCG@3 of the ideal
/// ordering of the judged documents. Unjudged and repeated documents gain 0.
pub fn ndcg_at_3(ranking: &[u32], qrels: &[(u32, u8)]) -> f64 {
    let gain_of = |doc: u32| qrels.binary_search_by_key(&doc, |&(d, _)| d).map_or(0, |i| qrels[i].1);
    let mut seen = Vec::with_capacity(3);
    let mut dcg = 0.0;
    for (rank, &doc) in ranking.iter().take(3).enumerate() {
        if !seen.contains(&doc) {
            dcg += f64::from(gain_of(doc)) * discount(rank);
            seen.push(doc);
        }
    }
    let mut ideal: Vec<u8> = qrels.iter().map(|&(_, g)| g).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal.iter().take(3).enumerate().map(|(rank, &g)| f64::from(g) * discount(rank)).sum();
    if idcg == 0.0 { 0.0 } else { dcg / idcg }
}

/// Recall@10 of a result list: the share of the need's grade-2 documents it holds (out of at
/// most 10).
pub fn recall_at_10(hits: &[Hit], qrels: &[(u32, u8)]) -> f64 {
    let best: Vec<u32> = qrels.iter().filter(|&&(_, g)| g == 2).map(|&(d, _)| d).collect();
    if best.is_empty() {
        return 0.0;
    }
    let found = hits.iter().take(RESULTS_PER_SEARCH).filter(|h| best.contains(&h.doc)).count();
    found as f64 / best.len().min(RESULTS_PER_SEARCH) as f64
}
