//! Reading questions, the counterpart trait ([`CityOracle`]), the rule-based oracle and the
//! leak guard.
//!
//! A question is read in one pass without allocating (see [`crate::text`]): its words are
//! looked up in a phrase table built from the fact table (city, country, language, region,
//! continent and water names) and from fixed phrase lists (question openers, topics, yes/no
//! facts, comparisons, numbers). Then, in order:
//! 1. a question that names exactly one city (any name or alias) is a guess of that city; one
//!    that names several is answered "one at a time";
//! 2. a question that starts like a yes/no question ("Is", "Does", "Can", ...) and states
//!    facts ("in Asia", "on the coast", "more than 10 million people", "in Japan",
//!    "Spanish") is answered "Yes." when all of them hold (with "not"/"never" inverting),
//!    "No." otherwise; facts joined by "or" are answered "one at a time";
//! 3. otherwise a question about a topic (weather, language, food kind, landmark type, water,
//!    population, location, continent, hemisphere, capital status) gets the open answer of
//!    that topic, one short sentence from the fact table;
//! 4. a question for the name of the city or its country gets a fixed refusal, anything else
//!    the fixed "cannot answer" reply.
//!
//! Whatever a [`CityOracle`] answers, the env passes it through [`leak_guard`] before the
//! agent sees it. The full list of forms is in `docs/envs/guess_my_city.md`.

use std::borrow::Cow;
use std::sync::OnceLock;

use super::cities::{
    Atlas, CityId, Climate, Continent, CountryId, FoodKind, LandmarkType, LanguageId, POPULATION_BANDS, Region, atlas,
};
use crate::text::{Lexicon, Token, WordId, contains_sequence, for_each_word, words};

/// Longest question accepted, in bytes.
pub const MAX_QUESTION_BYTES: usize = 400;
const MAX_TOKENS: usize = 64;
/// Most facts one yes/no question may combine.
pub const MAX_FACTS: usize = 6;

/// The reply to a correct guess.
pub const CORRECT_REPLY: &str = "Yes! You guessed my city.";
/// The reply to a question the oracle cannot map (and to any answer the leak guard stops).
pub const UNMAPPED_REPLY: &str = "I can't answer that. Ask about where my city is, its climate, languages, \
population, landmarks, food or waters, or guess its name.";
/// The reply to a question for the name of the city or of its country.
pub const NAME_REPLY: &str = "I can't tell you the name of my city or of its country. Ask about something else, \
or guess.";
/// The reply to a question that names several cities or joins several facts with "or".
pub const ONE_AT_A_TIME_REPLY: &str = "Please ask about one thing, or name one city, at a time.";

/// Why a question was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidQuestion {
    /// No words at all.
    Empty,
    /// Over [`MAX_QUESTION_BYTES`] bytes or over the config's word limit.
    TooLong,
}

/// What an open question asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Location,
    Continent,
    Hemisphere,
    Climate,
    Language,
    Population,
    Landmark,
    Food,
    Water,
    Capital,
}

impl Topic {
    pub const ALL: [Topic; 10] = [
        Topic::Location,
        Topic::Continent,
        Topic::Hemisphere,
        Topic::Climate,
        Topic::Language,
        Topic::Population,
        Topic::Landmark,
        Topic::Food,
        Topic::Water,
        Topic::Capital,
    ];
}

/// Index of a named body of water in the reader's water list.
pub type WaterId = u16;

/// A fact a yes/no question can state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fact {
    Continent(Continent),
    Region(Region),
    NorthernHemisphere,
    SouthernHemisphere,
    EasternHemisphere,
    WesternHemisphere,
    /// Within 10 degrees of the equator.
    NearEquator,
    /// Between the tropics of Cancer and Capricorn.
    InTropics,
    Coastal,
    Inland,
    OnRiver,
    Capital,
    /// The city's climate class is one of these (bits of [`Climate::bit`]).
    Climate(u8),
    Language(LanguageId),
    Country(CountryId),
    Water(WaterId),
    /// The city's landmark type is this one.
    Landmark(LandmarkType),
    /// The city's signature food is of this kind.
    Food(FoodKind),
    /// Metropolitan population above this many millions.
    PopulationAbove(f32),
    PopulationBelow(f32),
}

impl Fact {
    /// The open topic a question mentioning this fact asks about ("What sea is it on?").
    pub fn topic(self) -> Option<Topic> {
        Some(match self {
            Fact::Continent(_) => Topic::Continent,
            Fact::Region(_) => Topic::Location,
            Fact::NorthernHemisphere
            | Fact::SouthernHemisphere
            | Fact::EasternHemisphere
            | Fact::WesternHemisphere
            | Fact::NearEquator
            | Fact::InTropics => Topic::Hemisphere,
            Fact::Coastal | Fact::Inland | Fact::OnRiver | Fact::Water(_) => Topic::Water,
            Fact::Capital => Topic::Capital,
            Fact::Climate(_) => Topic::Climate,
            Fact::Language(_) => Topic::Language,
            Fact::Landmark(_) => Topic::Landmark,
            Fact::Food(_) => Topic::Food,
            Fact::PopulationAbove(_) | Fact::PopulationBelow(_) => Topic::Population,
            Fact::Country(_) => return None,
        })
    }
}

/// A yes/no question: the facts it states (all must hold) and whether it is negated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YesNo {
    facts: [Fact; MAX_FACTS],
    count: u8,
    pub negated: bool,
}

impl YesNo {
    pub fn facts(&self) -> &[Fact] {
        &self.facts[..self.count as usize]
    }
}

/// What a question asks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Question {
    Invalid(InvalidQuestion),
    /// Names exactly one city.
    Guess(CityId),
    /// Names several cities, or joins several facts with "or".
    SeveralOptions,
    YesNo(YesNo),
    Open(Topic),
    /// Asks for the name of the city or its country.
    AskedForName,
    /// Anything the oracle cannot map.
    Unknown,
}

/// What a phrase of the reader's table means.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Meaning {
    City(CityId),
    Fact(Fact),
    Topic(Topic),
    YesNoOpener,
    OpenOpener,
    Negation,
    Or,
    Above,
    Below,
    Number(u32),
    Million,
    Name,
}

const YES_NO_OPENERS: &[&str] = &[
    "is", "does", "can", "do", "are", "could", "would", "will", "has", "have", "was", "were", "should", "might", "may",
    "did", "isnt", "doesnt", "cant", "arent", "am", "shall", "must", "hasnt", "wouldnt", "couldnt",
];

const OPEN_OPENERS: &[&str] = &[
    "what",
    "whats",
    "which",
    "how",
    "why",
    "who",
    "when",
    "tell",
    "describe",
    "please tell",
    "please describe",
    "can you tell",
    "could you tell",
    "would you tell",
    "will you tell",
    "can you describe",
    "could you describe",
    "would you describe",
    "do you know",
    "give me",
    "say something",
];

const TOPIC_PHRASES: &[(Topic, &[&str])] = &[
    (
        Topic::Location,
        &[
            "where",
            "wheres",
            "located",
            "location",
            "region",
            "part of world",
            "area of world",
            "geography",
            "situated",
        ],
    ),
    (Topic::Continent, &["continent"]),
    (Topic::Hemisphere, &["hemisphere", "equator", "latitude", "longitude"]),
    (
        Topic::Climate,
        &[
            "weather",
            "climate",
            "temperature",
            "season",
            "rain",
            "rainfall",
            "summer",
            "winter",
            "warm",
            "sunny",
            "warmth",
        ],
    ),
    (Topic::Language, &["language", "speak", "spoken", "tongue", "dialect", "talk"]),
    (
        Topic::Population,
        &[
            "population",
            "populous",
            "how many people",
            "how big",
            "how large",
            "size",
            "inhabitant",
            "resident",
            "people live",
            "crowded",
            "big",
            "large",
        ],
    ),
    (
        Topic::Landmark,
        &[
            "landmark",
            "famous",
            "known for",
            "sight",
            "attraction",
            "tourist",
            "building",
            "architecture",
            "see",
            "visit",
            "sightseeing",
            "recognizable",
            "recognisable",
            "iconic",
        ],
    ),
    (
        Topic::Food,
        &[
            "food",
            "dish",
            "cuisine",
            "eat",
            "meal",
            "specialty",
            "speciality",
            "snack",
            "delicacy",
            "cook",
            "cooking",
            "culinary",
        ],
    ),
    (Topic::Water, &["water", "body of water", "lake", "bay", "waterfront", "harbour", "harbor", "waterway", "canal"]),
    (Topic::Capital, &["government", "political", "administrative", "status"]),
];

const NUMBER_WORDS: &[(&str, u32)] = &[
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("fifteen", 15),
    ("twenty", 20),
    ("twenty five", 25),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
];

fn fixed_facts() -> Vec<(Fact, &'static [&'static str])> {
    let temperate = Climate::Mediterranean.bit()
        | Climate::HumidSubtropical.bit()
        | Climate::Oceanic.bit()
        | Climate::Continental.bit()
        | Climate::Highland.bit();
    let mut facts: Vec<(Fact, &'static [&'static str])> = vec![
        (Fact::NorthernHemisphere, &["northern hemisphere", "north of equator", "above equator"]),
        (Fact::SouthernHemisphere, &["southern hemisphere", "south of equator", "below equator"]),
        (Fact::EasternHemisphere, &["eastern hemisphere", "east of greenwich", "east of prime meridian"]),
        (Fact::WesternHemisphere, &["western hemisphere", "west of greenwich", "west of prime meridian"]),
        (Fact::NearEquator, &["near equator", "close to equator", "on equator", "equatorial", "by equator"]),
        (Fact::InTropics, &["tropics", "in tropics", "between tropics"]),
        (
            Fact::Coastal,
            &[
                "coast",
                "coastal",
                "sea",
                "ocean",
                "seaside",
                "beach",
                "port",
                "seaport",
                "shore",
                "on coast",
                "by sea",
                "near sea",
                "near ocean",
                "sea coast",
                "port city",
            ],
        ),
        (Fact::Inland, &["inland", "landlocked", "land locked"]),
        (Fact::OnRiver, &["river", "on river", "riverside", "by river", "along river", "river run through"]),
        (Fact::Capital, &["capital", "capital city", "seat of government", "national capital"]),
        (Fact::Climate(Climate::Tropical.bit()), &["tropical"]),
        (Fact::Climate(Climate::Desert.bit()), &["desert", "arid", "dry", "semi arid", "semiarid"]),
        (Fact::Climate(Climate::Mediterranean.bit()), &["mediterranean", "mediterranean climate"]),
        (Fact::Climate(Climate::HumidSubtropical.bit()), &["subtropical", "humid subtropical"]),
        (Fact::Climate(Climate::Oceanic.bit()), &["oceanic", "maritime", "oceanic climate"]),
        (
            Fact::Climate(Climate::Continental.bit()),
            &["continental", "snow", "snowy", "cold winter", "freezing", "harsh winter", "cold"],
        ),
        (
            Fact::Climate(Climate::Highland.bit()),
            &["highland", "high altitude", "high elevation", "altitude", "elevated"],
        ),
        (Fact::Climate(temperate), &["temperate"]),
        (Fact::Climate(Climate::Tropical.bit() | Climate::Desert.bit()), &["hot", "hot climate", "very hot"]),
        (Fact::Climate(Climate::Tropical.bit() | Climate::HumidSubtropical.bit()), &["humid"]),
        (
            Fact::Climate(Climate::Mediterranean.bit() | Climate::Oceanic.bit() | Climate::Highland.bit()),
            &["mild", "mild climate"],
        ),
        (Fact::PopulationAbove(10.0), &["megacity", "megalopolis"]),
    ];
    facts.extend(LandmarkType::ALL.map(|landmark| (Fact::Landmark(landmark), landmark.phrases())));
    facts.extend(FoodKind::ALL.map(|food| (Fact::Food(food), food.phrases())));
    facts
}

/// The question reader's tables, built once from the fact table.
#[derive(Debug)]
pub struct Reader {
    lexicon: Lexicon<Meaning>,
    /// Named bodies of water (folded words), by [`WaterId`].
    waters: Vec<Box<[WordId]>>,
    /// Per city, the waters named in its facts.
    city_waters: Vec<Vec<WaterId>>,
    /// Per city, the word sequences the leak guard looks for.
    secret_names: Vec<Vec<Box<[WordId]>>>,
}

impl Reader {
    fn build(atlas: &Atlas) -> Result<Self, String> {
        let mut lexicon = Lexicon::new();
        // Cities first: a country or water phrase equal to a city name stays a city
        // ("Singapore"), so it is skipped below.
        for (id, city) in atlas.cities().iter().enumerate() {
            for name in city.names() {
                lexicon.add(name, Meaning::City(id as CityId)).map_err(|e| format!("city names: {e}"))?;
            }
        }
        let taken = |lexicon: &Lexicon<Meaning>, phrase: &str| {
            let ids: Option<Vec<WordId>> = words(phrase).iter().map(|w| lexicon.get(w)).collect();
            let tokens: Option<Vec<Token>> =
                ids.map(|ids| ids.iter().map(|&word| Token { word, ..Token::UNKNOWN }).collect());
            tokens
                .and_then(|tokens| lexicon.longest_at(&tokens))
                .is_some_and(|(length, meaning)| length == words(phrase).len() && matches!(meaning, Meaning::City(_)))
        };
        for (id, country) in atlas.countries().iter().enumerate() {
            for name in country.names() {
                if !taken(&lexicon, name) {
                    lexicon.add(name, Meaning::Fact(Fact::Country(id as CountryId)))?;
                }
            }
        }
        for (id, language) in atlas.languages().iter().enumerate() {
            for name in language.names() {
                lexicon.add(name, Meaning::Fact(Fact::Language(id as LanguageId)))?;
            }
        }
        for continent in Continent::ALL {
            for phrase in continent.phrases() {
                lexicon.add(phrase, Meaning::Fact(Fact::Continent(continent)))?;
            }
        }
        for region in Region::ALL {
            for phrase in region.phrases() {
                lexicon.add(phrase, Meaning::Fact(Fact::Region(region)))?;
            }
        }
        // Named waters: every coast and river, and short other waters ("Lake Michigan");
        // "the Yangtze River" is also "Yangtze", "the Pacific Ocean" also "Pacific".
        let mut waters: Vec<Box<[WordId]>> = Vec::new();
        let add_water = |lexicon: &mut Lexicon<Meaning>, phrase: &str, waters: &mut Vec<Box<[WordId]>>| {
            let ids = lexicon.intern_all(phrase);
            let id = match waters.iter().position(|w| *w == ids) {
                Some(existing) => existing,
                None => {
                    waters.push(ids);
                    waters.len() - 1
                }
            } as WaterId;
            // A phrase with another meaning (a city, a language) keeps it.
            let _ = lexicon.add(phrase, Meaning::Fact(Fact::Water(id)));
        };
        for city in atlas.cities() {
            let mut names: Vec<&str> =
                city.coast.iter().chain(&city.river).chain(&city.also_waters).map(String::as_str).collect();
            if let Some(other) = &city.other_water {
                let bare = other.strip_prefix("the ").unwrap_or(other);
                if bare.starts_with(|c: char| c.is_ascii_uppercase()) && !bare.contains(',') && words(bare).len() <= 4 {
                    names.push(other);
                }
            }
            for name in names {
                add_water(&mut lexicon, name, &mut waters);
                let bare = words(name);
                let short = match bare.as_slice() {
                    [short, last] if last == "river" || last == "ocean" => Some(short.clone()),
                    [first, short] if first == "river" => Some(short.clone()),
                    _ => None,
                };
                if let Some(short) = short.filter(|s| s.len() >= 4 && s != "indian") {
                    add_water(&mut lexicon, &short, &mut waters);
                }
            }
        }
        for (fact, phrases) in fixed_facts() {
            for phrase in phrases {
                lexicon.add(phrase, Meaning::Fact(fact))?;
            }
        }
        for (topic, phrases) in TOPIC_PHRASES {
            for phrase in *phrases {
                lexicon.add(phrase, Meaning::Topic(*topic))?;
            }
        }
        for opener in YES_NO_OPENERS {
            lexicon.add(opener, Meaning::YesNoOpener)?;
        }
        for opener in OPEN_OPENERS {
            lexicon.add(opener, Meaning::OpenOpener)?;
        }
        for word in ["not", "never"] {
            lexicon.add(word, Meaning::Negation)?;
        }
        for word in ["or", "either"] {
            lexicon.add(word, Meaning::Or)?;
        }
        for phrase in ["more than", "over", "above", "at least", "bigger than", "larger than", "greater than", "exceed"]
        {
            lexicon.add(phrase, Meaning::Above)?;
        }
        for phrase in ["less than", "fewer than", "under", "below", "smaller than", "at most"] {
            lexicon.add(phrase, Meaning::Below)?;
        }
        for (word, value) in NUMBER_WORDS {
            lexicon.add(word, Meaning::Number(*value))?;
        }
        for word in ["million", "mln"] {
            lexicon.add(word, Meaning::Million)?;
        }
        for phrase in ["name", "named", "called", "country", "nation", "which city", "what city", "identity"] {
            lexicon.add(phrase, Meaning::Name)?;
        }
        let city_waters = atlas
            .cities()
            .iter()
            .map(|city| {
                let mut tokens = [Token::UNKNOWN; MAX_TOKENS];
                let mut found = Vec::new();
                for text in city.waters().chain(city.also_waters.iter().map(String::as_str)) {
                    let count = lexicon.read(text, MAX_TOKENS, &mut tokens).unwrap_or(0);
                    for (id, water) in waters.iter().enumerate() {
                        if contains_sequence(&tokens[..count], water) && !found.contains(&(id as WaterId)) {
                            found.push(id as WaterId);
                        }
                    }
                }
                found
            })
            .collect();
        let secret_names = (0..atlas.cities().len() as CityId)
            .map(|id| atlas.secret_names(id).map(|name| lexicon.intern_all(name)).collect())
            .collect();
        Ok(Self { lexicon, waters, city_waters, secret_names })
    }

    /// Reads a question; `max_words` is the longest accepted question in words.
    pub fn read(&self, question: &str, max_words: usize) -> Question {
        let question = question.trim();
        if question.len() > MAX_QUESTION_BYTES {
            return Question::Invalid(InvalidQuestion::TooLong);
        }
        let mut buffer = [Token::UNKNOWN; MAX_TOKENS];
        let Some(count) = self.lexicon.read(question, max_words, &mut buffer) else {
            return Question::Invalid(InvalidQuestion::TooLong);
        };
        if count == 0 {
            return Question::Invalid(InvalidQuestion::Empty);
        }
        let tokens = &buffer[..count];
        let mut parts = Parts::default();
        self.lexicon.scan(tokens, |position, length, meaning| parts.add(tokens, position, length, meaning));
        parts.question()
    }

    /// Whether a fact holds for a city.
    pub fn holds(&self, atlas: &Atlas, city: CityId, fact: Fact) -> bool {
        let c = atlas.city(city);
        match fact {
            Fact::Continent(continent) => c.continent() == continent,
            Fact::Region(region) => c.region == region,
            Fact::NorthernHemisphere => c.latitude > 0.0,
            Fact::SouthernHemisphere => c.latitude < 0.0,
            Fact::EasternHemisphere => c.longitude > 0.0,
            Fact::WesternHemisphere => c.longitude < 0.0,
            Fact::NearEquator => c.latitude.abs() <= 10.0,
            Fact::InTropics => c.latitude.abs() <= 23.44,
            Fact::Coastal => c.coastal(),
            Fact::Inland => !c.coastal(),
            Fact::OnRiver => c.river.is_some(),
            Fact::Capital => c.capital,
            Fact::Climate(mask) => mask & c.climate.bit() != 0,
            Fact::Language(language) => c.languages.contains(&language),
            Fact::Country(country) => c.country == country,
            Fact::Water(water) => self.city_waters[city as usize].contains(&water),
            Fact::Landmark(landmark) => c.landmark == landmark,
            Fact::Food(food) => c.food == food,
            Fact::PopulationAbove(millions) => c.population > millions,
            Fact::PopulationBelow(millions) => c.population < millions,
        }
    }

    /// Number of named bodies of water.
    pub fn water_count(&self) -> usize {
        self.waters.len()
    }

    /// Whether `text` contains (as whole words, any case, accents folded) the name or an
    /// alias of `city` or of its country.
    pub fn mentions_secret(&self, city: CityId, text: &str) -> bool {
        let mut buffer = [Token::UNKNOWN; MAX_TOKENS];
        let names = &self.secret_names[city as usize];
        let check = |tokens: &[Token]| names.iter().any(|name| contains_sequence(tokens, name));
        match self.lexicon.read(text, usize::MAX, &mut buffer) {
            Some(count) => check(&buffer[..count]),
            None => {
                let mut total = 0usize;
                for_each_word(text, |_| {
                    total += 1;
                    true
                });
                let mut tokens = vec![Token::UNKNOWN; total];
                let count = self.lexicon.read(text, usize::MAX, &mut tokens).unwrap_or(0);
                check(&tokens[..count])
            }
        }
    }
}

/// What a scan found in a question.
#[derive(Default)]
struct Parts {
    cities: [Option<CityId>; 2],
    facts: [Option<Fact>; MAX_FACTS],
    fact_count: usize,
    too_many_facts: bool,
    topic: Option<Topic>,
    start: Option<Meaning>,
    negations: u32,
    or: bool,
    name: bool,
    /// A comparison waiting for its number: (above, position after the comparison).
    comparison: Option<(bool, usize)>,
    /// A number waiting for "million": (value, position after it, above).
    number: Option<(f32, usize, bool)>,
}

impl Parts {
    fn push_fact(&mut self, fact: Fact) {
        if self.facts[..self.fact_count].contains(&Some(fact)) {
            return;
        }
        if self.fact_count == MAX_FACTS {
            self.too_many_facts = true;
            return;
        }
        self.facts[self.fact_count] = Some(fact);
        self.fact_count += 1;
    }

    fn finish_number(&mut self, millions: bool) {
        if let Some((value, _, above)) = self.number.take() {
            let value = if millions || value < 1000.0 { value } else { value / 1_000_000.0 };
            self.push_fact(if above { Fact::PopulationAbove(value) } else { Fact::PopulationBelow(value) });
        }
    }

    fn number_at(&mut self, value: u32, position: usize, end: usize) {
        if let Some((above, after)) = self.comparison
            && position <= after + 1
        {
            self.comparison = None;
            self.number = Some((value as f32, end, above));
        }
    }

    fn add(&mut self, tokens: &[Token], position: usize, length: usize, meaning: Meaning) {
        if position == 0 {
            self.start = Some(meaning);
        }
        // A number not followed by "million" counts as is.
        if self.number.is_some_and(|(_, after, _)| after != position || meaning != Meaning::Million) {
            self.finish_number(false);
        }
        let end = position + length;
        match meaning {
            Meaning::City(city) => {
                if self.cities[0].is_none_or(|first| first == city) {
                    self.cities[0] = Some(city);
                } else {
                    self.cities[1] = Some(city);
                }
            }
            Meaning::Fact(fact) => self.push_fact(fact),
            Meaning::Topic(topic) => {
                self.topic.get_or_insert(topic);
            }
            Meaning::Negation => self.negations += 1,
            Meaning::Or => self.or = true,
            Meaning::Name => self.name = true,
            Meaning::Above | Meaning::Below => self.comparison = Some((meaning == Meaning::Above, end)),
            Meaning::Number(value) => self.number_at(value, position, end),
            Meaning::Million => self.finish_number(true),
            Meaning::YesNoOpener | Meaning::OpenOpener => {}
        }
        // Digits are not phrases: look at the unmatched tokens after this match.
        let next = tokens.get(end..).unwrap_or_default();
        if let Some(value) = next.first().and_then(|t| t.number)
            && self.comparison.is_some()
        {
            self.number_at(value, end, end + 1);
        }
    }

    fn question(mut self) -> Question {
        self.finish_number(false);
        if self.cities[1].is_some() {
            return Question::SeveralOptions;
        }
        if let Some(city) = self.cities[0] {
            return Question::Guess(city);
        }
        if self.too_many_facts {
            return Question::Unknown;
        }
        let facts: Vec<Fact> = self.facts[..self.fact_count].iter().flatten().copied().collect();
        let yes_no_start = self.start == Some(Meaning::YesNoOpener);
        let open_start = matches!(self.start, Some(Meaning::OpenOpener | Meaning::Topic(_)));
        if !facts.is_empty() && (yes_no_start || !open_start) {
            if self.or && facts.len() > 1 {
                return Question::SeveralOptions;
            }
            let mut yes_no = YesNo { facts: [Fact::Coastal; MAX_FACTS], count: facts.len() as u8, negated: false };
            yes_no.facts[..facts.len()].copy_from_slice(&facts);
            yes_no.negated = self.negations % 2 == 1;
            return Question::YesNo(yes_no);
        }
        if let Some(topic) = self.topic.or_else(|| facts.iter().find_map(|fact| fact.topic())) {
            return Question::Open(topic);
        }
        if self.name || facts.iter().any(|fact| matches!(fact, Fact::Country(_))) {
            return Question::AskedForName;
        }
        Question::Unknown
    }
}

/// The shipped reader (built once per process).
///
/// # Panics
/// If the fact table's names clash; the crate's tests build it.
pub fn reader() -> &'static Reader {
    static READER: OnceLock<Reader> = OnceLock::new();
    READER.get_or_init(|| Reader::build(atlas()).unwrap_or_else(|e| panic!("guess_my_city reader: {e}")))
}

/// One question for a [`CityOracle`]: the secret city, the agent's text and the env's reading
/// of it (a rule-based backend uses the reading, a language-model backend the text).
#[derive(Debug, Clone, Copy)]
pub struct OracleRequest<'a> {
    pub city: CityId,
    pub text: &'a str,
    pub question: Question,
    /// How the episode's oracle is asked to answer.
    pub style: AnswerStyle,
}

/// How the oracle answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum AnswerStyle {
    /// One precise sentence from the fact table for an open question; the fixed "cannot
    /// answer" reply for a question the oracle cannot map (the default).
    #[default]
    Exact,
    /// Closer to the paper's language-model oracle: open questions get a short, vague answer
    /// ([`terse_answer`]: the continent instead of the region, three climate classes, two
    /// population classes, coast or inland, and nothing about languages, landmarks or food),
    /// and a question the oracle cannot map gets [`DONT_KNOW_REPLY`]. Yes/no questions and
    /// guesses are answered as in `Exact`.
    Terse,
}

/// The terse oracle's reply to a question it cannot map, and to open questions about what it
/// will not describe.
pub const DONT_KNOW_REPLY: &str = "I don't know.";

/// The counterpart that answers the agent's questions about the secret city.
///
/// The env owns the dynamics: it reads every question itself, decides guesses (a question
/// naming the secret city wins, one naming another city gets "No."), rejects invalid
/// questions, and passes only the remaining questions to the oracle, in one batch per step
/// (all stepping episodes of a world). It then runs every answer through [`leak_guard`],
/// so a backend cannot reveal the city or its country, and it never reads the answer
/// to score. A backend only has to answer in text; [`RuleBasedOracle`] is the default, and
/// a language-model backend can be added as another [`OracleBackend`] variant
/// (`super::OracleBackend`) without touching the env's systems.
pub trait CityOracle: Send + Sync + std::fmt::Debug {
    /// Appends one answer per request, in order.
    fn answer_batch(&self, requests: &[OracleRequest<'_>], answers: &mut Vec<Cow<'static, str>>);
}

/// The default oracle: answers from the fact table (`cities.ron`), deterministically.
#[derive(Debug, Default, Clone, Copy)]
pub struct RuleBasedOracle;

impl RuleBasedOracle {
    /// The answer to one request.
    pub fn answer(&self, request: &OracleRequest<'_>) -> Cow<'static, str> {
        answer_in_style(request.city, request.question, request.style)
    }
}

impl CityOracle for RuleBasedOracle {
    fn answer_batch(&self, requests: &[OracleRequest<'_>], answers: &mut Vec<Cow<'static, str>>) {
        answers.extend(requests.iter().map(|request| self.answer(request)));
    }
}

/// The rule-based answer to a question about `city` (before the leak guard).
pub fn answer(city: CityId, question: Question) -> Cow<'static, str> {
    Cow::Borrowed(match question {
        Question::Guess(guess) if guess == city => CORRECT_REPLY,
        Question::Guess(_) => "No.",
        Question::YesNo(yes_no) => {
            let (reader, atlas) = (reader(), atlas());
            let all = yes_no.facts().iter().all(|fact| reader.holds(atlas, city, *fact));
            if all != yes_no.negated { "Yes." } else { "No." }
        }
        Question::Open(topic) => open_answers()[city as usize][topic as usize].as_str(),
        Question::AskedForName => NAME_REPLY,
        Question::SeveralOptions => ONE_AT_A_TIME_REPLY,
        Question::Unknown | Question::Invalid(_) => UNMAPPED_REPLY,
    })
}

/// The rule-based answer in `style` (before the leak guard).
pub fn answer_in_style(city: CityId, question: Question, style: AnswerStyle) -> Cow<'static, str> {
    match (style, question) {
        (AnswerStyle::Exact, _) => answer(city, question),
        (AnswerStyle::Terse, Question::Open(topic)) => Cow::Borrowed(terse_answer(atlas(), city, topic)),
        (AnswerStyle::Terse, Question::Unknown) => Cow::Borrowed(DONT_KNOW_REPLY),
        (AnswerStyle::Terse, _) => answer(city, question),
    }
}

/// The terse, vague answer to an open question (see [`AnswerStyle::Terse`]).
pub fn terse_answer(atlas: &Atlas, id: CityId, topic: Topic) -> &'static str {
    let city = atlas.city(id);
    match topic {
        Topic::Location | Topic::Continent => match city.continent() {
            Continent::Africa => "Africa.",
            Continent::Asia => "Asia.",
            Continent::Europe => "Europe.",
            Continent::NorthAmerica => "North America.",
            Continent::SouthAmerica => "South America.",
            Continent::Oceania => "Oceania.",
        },
        Topic::Hemisphere => {
            if city.latitude >= 0.0 {
                "The northern one."
            } else {
                "The southern one."
            }
        }
        Topic::Climate => match city.climate {
            Climate::Tropical | Climate::Desert => "Hot.",
            Climate::Mediterranean | Climate::HumidSubtropical => "Warm.",
            Climate::Oceanic | Climate::Continental | Climate::Highland => "Mild, sometimes cold.",
        },
        Topic::Population => {
            if city.population >= 10.0 {
                "Huge."
            } else {
                "Big."
            }
        }
        Topic::Water => {
            if city.coastal() {
                "By the sea."
            } else {
                "Inland."
            }
        }
        Topic::Capital => {
            if city.capital {
                "Yes, the capital."
            } else {
                "Not the capital."
            }
        }
        Topic::Language | Topic::Landmark | Topic::Food => DONT_KNOW_REPLY,
    }
}

/// The final filter on every answer: if it mentions the name or an alias of `city` or of its
/// country, the agent gets [`UNMAPPED_REPLY`] instead. (The env skips it only for the reply to
/// a correct guess, which is fixed and names nothing.)
pub fn leak_guard(city: CityId, answer: Cow<'static, str>) -> Cow<'static, str> {
    if reader().mentions_secret(city, &answer) { Cow::Borrowed(UNMAPPED_REPLY) } else { answer }
}

fn join(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The open answer of every city and topic, rendered once.
fn open_answers() -> &'static [[String; Topic::ALL.len()]] {
    static ANSWERS: OnceLock<Vec<[String; Topic::ALL.len()]>> = OnceLock::new();
    ANSWERS.get_or_init(|| {
        let atlas = atlas();
        (0..atlas.cities().len() as CityId).map(|id| Topic::ALL.map(|topic| open_answer(atlas, id, topic))).collect()
    })
}

/// The open answer about languages for a city whose main language is the main language of no
/// other city of the table.
pub const OWN_LANGUAGE_REPLY: &str = "People there mostly speak their own national language.";

/// The open answer about waters: the kinds of water the city lies on (an ocean, a sea, or a bay
/// or strait; a river; lakes or canals for inland cities), never their names, which would single
/// out most cities. Named waters are answered by yes/no questions ("Is it on the Nile?").
fn water_answer(city: &super::cities::City) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if let Some(coast) = &city.coast {
        let coast_words = words(coast);
        parts.push(if coast_words.iter().any(|w| w == "ocean") {
            "an ocean"
        } else if coast_words.iter().any(|w| w == "sea") {
            "a sea"
        } else {
            "a bay or strait"
        });
    }
    if city.river.is_some() {
        parts.push("a river");
    }
    // Lakes, lagoons and canals are told only for inland cities (the coast says more).
    if city.other_water.is_some() && !city.coastal() {
        parts.push("lakes or canals");
    }
    match (city.coastal(), parts.is_empty()) {
        (true, _) => format!("It is on the coast, by {}.", join(&parts)),
        (false, false) => format!("It is inland, by {}.", join(&parts)),
        (false, true) => "It is inland, and not on a major river or lake.".to_owned(),
    }
}

/// One open answer, built from the facts.
pub fn open_answer(atlas: &Atlas, id: CityId, topic: Topic) -> String {
    let city = atlas.city(id);
    match topic {
        Topic::Location => format!("It is in {}.", city.region.answer_label()),
        Topic::Continent => format!("It is in {}.", city.continent().label()),
        Topic::Hemisphere => format!(
            "It is in the {} and {} hemispheres.",
            if city.latitude >= 0.0 { "northern" } else { "southern" },
            if city.longitude >= 0.0 { "eastern" } else { "western" }
        ),
        Topic::Climate => city.climate.sentence().to_owned(),
        Topic::Language => {
            // Only the main language, and only when it is the main language of another city
            // too: the full list, or a language of one city, would single out the city.
            let main = city.languages[0];
            let shared = atlas.cities().iter().filter(|other| other.languages[0] == main).count() >= 2;
            if shared {
                format!("People there mostly speak {}.", atlas.languages()[main as usize].name)
            } else {
                OWN_LANGUAGE_REPLY.to_owned()
            }
        }
        Topic::Population => {
            POPULATION_BANDS.iter().find(|(floor, _)| city.population >= *floor).map_or("", |(_, text)| text).to_owned()
        }
        Topic::Landmark => format!("It is known for {}.", city.landmark.label()),
        Topic::Food => format!("The local food is known for {}.", city.food.label()),
        Topic::Water => water_answer(city),
        Topic::Capital => {
            if city.capital {
                "It is the national capital.".to_owned()
            } else {
                "It is not the national capital.".to_owned()
            }
        }
    }
}
