//! The oracle's fact table: cities, countries and languages, loaded once from `cities.ron`
//! (project-written), with the open answers of every city rendered once.

use std::sync::OnceLock;

use serde::Deserialize;

/// Index of a city in [`Atlas::cities`].
pub type CityId = u16;
/// Index of a country in [`Atlas::countries`].
pub type CountryId = u16;
/// Index of a language in [`Atlas::languages`].
pub type LanguageId = u16;

/// Most cities an atlas may hold (the expert keeps candidate sets of 256 bits).
pub const MAX_CITIES: usize = 256;

/// World regions, each inside one continent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum Region {
    EastAsia,
    SoutheastAsia,
    SouthAsia,
    CentralAsia,
    WesternAsia,
    WesternEurope,
    CentralEurope,
    EasternEurope,
    SouthernEurope,
    SoutheasternEurope,
    NorthernEurope,
    NorthAfrica,
    WestAfrica,
    CentralAfrica,
    EastAfrica,
    SouthernAfrica,
    NorthAmerica,
    Caribbean,
    SouthAmerica,
    Oceania,
}

impl Region {
    pub const ALL: [Region; 20] = [
        Region::EastAsia,
        Region::SoutheastAsia,
        Region::SouthAsia,
        Region::CentralAsia,
        Region::WesternAsia,
        Region::WesternEurope,
        Region::CentralEurope,
        Region::EasternEurope,
        Region::SouthernEurope,
        Region::SoutheasternEurope,
        Region::NorthernEurope,
        Region::NorthAfrica,
        Region::WestAfrica,
        Region::CentralAfrica,
        Region::EastAfrica,
        Region::SouthernAfrica,
        Region::NorthAmerica,
        Region::Caribbean,
        Region::SouthAmerica,
        Region::Oceania,
    ];

    /// How answers name the region.
    pub fn label(self) -> &'static str {
        match self {
            Region::EastAsia => "East Asia",
            Region::SoutheastAsia => "Southeast Asia",
            Region::SouthAsia => "South Asia",
            Region::CentralAsia => "Central Asia",
            Region::WesternAsia => "Western Asia (the Middle East)",
            Region::WesternEurope => "Western Europe",
            Region::CentralEurope => "Central Europe",
            Region::EasternEurope => "Eastern Europe",
            Region::SouthernEurope => "Southern Europe",
            Region::SoutheasternEurope => "Southeastern Europe, where it meets Asia",
            Region::NorthernEurope => "Northern Europe",
            Region::NorthAfrica => "North Africa",
            Region::WestAfrica => "West Africa",
            Region::CentralAfrica => "Central Africa",
            Region::EastAfrica => "East Africa",
            Region::SouthernAfrica => "Southern Africa",
            Region::NorthAmerica => "North America",
            Region::Caribbean => "the Caribbean",
            Region::SouthAmerica => "South America",
            Region::Oceania => "Oceania",
        }
    }

    /// How open answers about the location name the region: regions that hold a single city
    /// of the table are merged with a neighbour, so that no location answer singles out one
    /// city (yes/no questions still tell every region apart).
    pub fn answer_label(self) -> &'static str {
        match self {
            Region::NorthAmerica | Region::Caribbean => "North America (the Caribbean included)",
            Region::CentralAsia | Region::WesternAsia => "Western or Central Asia",
            Region::WesternEurope | Region::NorthernEurope => "Western or Northern Europe",
            Region::SouthernEurope | Region::SoutheasternEurope => "Southern or Southeastern Europe",
            Region::CentralAfrica | Region::SouthernAfrica => "Central or Southern Africa",
            other => other.label(),
        }
    }

    /// Phrases that name the region in questions.
    pub fn phrases(self) -> &'static [&'static str] {
        match self {
            Region::EastAsia => &["east asia", "eastern asia", "far east"],
            Region::SoutheastAsia => &["southeast asia", "south east asia", "southeastern asia"],
            Region::SouthAsia => &["south asia", "southern asia", "indian subcontinent"],
            Region::CentralAsia => &["central asia"],
            Region::WesternAsia => &["western asia", "west asia", "middle east", "near east"],
            Region::WesternEurope => &["western europe", "west europe"],
            Region::CentralEurope => &["central europe"],
            Region::EasternEurope => &["eastern europe", "east europe"],
            Region::SouthernEurope => &["southern europe", "south europe"],
            Region::SoutheasternEurope => &["southeastern europe", "southeast europe", "balkans"],
            Region::NorthernEurope => &["northern europe", "north europe", "scandinavia", "nordic"],
            Region::NorthAfrica => &["north africa", "northern africa"],
            Region::WestAfrica => &["west africa", "western africa"],
            Region::CentralAfrica => &["central africa"],
            Region::EastAfrica => &["east africa", "eastern africa"],
            Region::SouthernAfrica => &["southern africa"],
            // "north america" names the continent.
            Region::NorthAmerica => &[],
            Region::Caribbean => &["caribbean", "west indies"],
            Region::SouthAmerica => &[],
            Region::Oceania => &["australasia"],
        }
    }

    pub fn continent(self) -> Continent {
        match self {
            Region::EastAsia
            | Region::SoutheastAsia
            | Region::SouthAsia
            | Region::CentralAsia
            | Region::WesternAsia => Continent::Asia,
            Region::WesternEurope
            | Region::CentralEurope
            | Region::EasternEurope
            | Region::SouthernEurope
            | Region::SoutheasternEurope
            | Region::NorthernEurope => Continent::Europe,
            Region::NorthAfrica
            | Region::WestAfrica
            | Region::CentralAfrica
            | Region::EastAfrica
            | Region::SouthernAfrica => Continent::Africa,
            Region::NorthAmerica | Region::Caribbean => Continent::NorthAmerica,
            Region::SouthAmerica => Continent::SouthAmerica,
            Region::Oceania => Continent::Oceania,
        }
    }
}

/// Continents (the Caribbean counts as North America; Istanbul's region as Europe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Continent {
    Asia,
    Europe,
    Africa,
    NorthAmerica,
    SouthAmerica,
    Oceania,
}

impl Continent {
    pub const ALL: [Continent; 6] = [
        Continent::Asia,
        Continent::Europe,
        Continent::Africa,
        Continent::NorthAmerica,
        Continent::SouthAmerica,
        Continent::Oceania,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Continent::Asia => "Asia",
            Continent::Europe => "Europe",
            Continent::Africa => "Africa",
            Continent::NorthAmerica => "North America",
            Continent::SouthAmerica => "South America",
            Continent::Oceania => "Oceania",
        }
    }

    pub fn phrases(self) -> &'static [&'static str] {
        match self {
            Continent::Asia => &["asia", "asian continent"],
            Continent::Europe => &["europe", "european continent"],
            Continent::Africa => &["africa", "african continent"],
            Continent::NorthAmerica => &["north america", "north american continent"],
            Continent::SouthAmerica => &["south america", "south american continent"],
            Continent::Oceania => &["oceania"],
        }
    }
}

/// Climate classes (a coarse grouping of Köppen types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum Climate {
    /// Köppen A: hot all year.
    Tropical,
    /// Köppen B: arid or semi-arid.
    Desert,
    /// Köppen Cs: dry summers, mild wet winters.
    Mediterranean,
    /// Köppen Cfa/Cwa: hot humid summers, mild winters.
    HumidSubtropical,
    /// Köppen Cfb: mild all year, frequent rain.
    Oceanic,
    /// Köppen D: warm summers, cold snowy winters.
    Continental,
    /// Tropical or subtropical latitudes made mild by altitude (Köppen Cwb and similar).
    Highland,
}

impl Climate {
    pub const ALL: [Climate; 7] = [
        Climate::Tropical,
        Climate::Desert,
        Climate::Mediterranean,
        Climate::HumidSubtropical,
        Climate::Oceanic,
        Climate::Continental,
        Climate::Highland,
    ];

    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// The open answer about the weather.
    pub fn sentence(self) -> &'static str {
        match self {
            Climate::Tropical => "The climate is tropical: hot all year, with a rainy season.",
            Climate::Desert => "The climate is dry, desert-like, with very little rain.",
            Climate::Mediterranean => "The climate is Mediterranean: warm dry summers and mild, wetter winters.",
            Climate::HumidSubtropical => "The climate is humid subtropical: hot, humid summers and mild winters.",
            Climate::Oceanic => "The climate is mild and oceanic: cool summers, mild winters and frequent rain.",
            Climate::Continental => "The climate is continental: warm summers and cold, snowy winters.",
            Climate::Highland => "The climate is mild all year because the city lies high above sea level.",
        }
    }
}

/// The kind of sight a city is best known for (its landmark fact). A shared vocabulary: each
/// type belongs to several cities, so the open answer about landmarks narrows the candidates
/// without naming one city.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum LandmarkType {
    Tower,
    Skyline,
    Palace,
    Fortress,
    Temple,
    Cathedral,
    Mosque,
    Ruins,
    Monument,
    Museum,
    OldTown,
    Waterfront,
    Mountain,
    Park,
    Bridge,
    Market,
    Nightlife,
    Parliament,
    Square,
}

impl LandmarkType {
    pub const ALL: [LandmarkType; 19] = [
        LandmarkType::Tower,
        LandmarkType::Skyline,
        LandmarkType::Palace,
        LandmarkType::Fortress,
        LandmarkType::Temple,
        LandmarkType::Cathedral,
        LandmarkType::Mosque,
        LandmarkType::Ruins,
        LandmarkType::Monument,
        LandmarkType::Museum,
        LandmarkType::OldTown,
        LandmarkType::Waterfront,
        LandmarkType::Mountain,
        LandmarkType::Park,
        LandmarkType::Bridge,
        LandmarkType::Market,
        LandmarkType::Nightlife,
        LandmarkType::Parliament,
        LandmarkType::Square,
    ];

    /// How answers name the type ("It is known for {label}.").
    pub fn label(self) -> &'static str {
        match self {
            LandmarkType::Tower => "a very tall modern tower",
            LandmarkType::Skyline => "a skyline of skyscrapers",
            LandmarkType::Palace => "a royal or imperial palace",
            LandmarkType::Fortress => "a historic castle or fortress",
            LandmarkType::Temple => "old temples and pagodas",
            LandmarkType::Cathedral => "a great cathedral or basilica",
            LandmarkType::Mosque => "a great mosque with tall minarets",
            LandmarkType::Ruins => "ancient ruins",
            LandmarkType::Monument => "a famous monument, memorial or statue",
            LandmarkType::Museum => "its museums",
            LandmarkType::OldTown => "a historic old quarter",
            LandmarkType::Waterfront => "its seafront promenade",
            LandmarkType::Mountain => "a mountain or natural landmark",
            LandmarkType::Park => "a large park or garden",
            LandmarkType::Bridge => "a famous bridge",
            LandmarkType::Market => "huge bustling markets",
            LandmarkType::Nightlife => "its music, arts and festivals",
            LandmarkType::Parliament => "a grand parliament or government building",
            LandmarkType::Square => "a grand central square",
        }
    }

    /// Phrases that name the type in yes/no questions ("Is it known for a cathedral?").
    pub fn phrases(self) -> &'static [&'static str] {
        match self {
            LandmarkType::Tower => &["tower"],
            LandmarkType::Skyline => &["skyline", "skyscraper", "high rise"],
            LandmarkType::Palace => &["palace"],
            LandmarkType::Fortress => &["castle", "fortress", "fort", "citadel"],
            LandmarkType::Temple => &["temple", "pagoda", "shrine", "stupa"],
            LandmarkType::Cathedral => &["cathedral", "basilica", "church", "monastery"],
            LandmarkType::Mosque => &["mosque", "minaret"],
            LandmarkType::Ruins => &["ruin", "ancient ruin", "pyramid", "archaeological site", "amphitheatre"],
            LandmarkType::Monument => &["monument", "memorial", "statue", "obelisk", "mausoleum"],
            LandmarkType::Museum => &["museum", "gallery"],
            LandmarkType::OldTown => {
                &["old town", "old quarter", "historic quarter", "historic centre", "historic center", "medina"]
            }
            LandmarkType::Waterfront => &["promenade", "seafront", "boardwalk", "beachfront"],
            LandmarkType::Mountain => &["mountain", "volcano", "natural landmark", "natural wonder"],
            LandmarkType::Park => &["park", "garden"],
            LandmarkType::Bridge => &["bridge"],
            LandmarkType::Market => &["market", "bazaar", "souk"],
            LandmarkType::Nightlife => &["music", "festival", "nightlife", "arts scene", "film industry"],
            LandmarkType::Parliament => &["parliament", "capitol", "legislature"],
            LandmarkType::Square => &["square", "plaza"],
        }
    }
}

/// The kind of dish a city is known for (its signature food fact). A shared vocabulary, like
/// [`LandmarkType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum FoodKind {
    Noodles,
    Dumplings,
    Rice,
    Spicy,
    Grilled,
    Seafood,
    Soups,
    Stews,
    Breads,
    Sweets,
    StreetSnacks,
    Sandwiches,
    Tacos,
    Sausages,
    MeatDishes,
    Pizza,
}

impl FoodKind {
    pub const ALL: [FoodKind; 16] = [
        FoodKind::Noodles,
        FoodKind::Dumplings,
        FoodKind::Rice,
        FoodKind::Spicy,
        FoodKind::Grilled,
        FoodKind::Seafood,
        FoodKind::Soups,
        FoodKind::Stews,
        FoodKind::Breads,
        FoodKind::Sweets,
        FoodKind::StreetSnacks,
        FoodKind::Sandwiches,
        FoodKind::Tacos,
        FoodKind::Sausages,
        FoodKind::MeatDishes,
        FoodKind::Pizza,
    ];

    /// How answers name the kind ("The local food is known for {label}.").
    pub fn label(self) -> &'static str {
        match self {
            FoodKind::Noodles => "noodles and pasta",
            FoodKind::Dumplings => "dumplings and filled pastries",
            FoodKind::Rice => "rice dishes",
            FoodKind::Spicy => "spicy curries and chilli dishes",
            FoodKind::Grilled => "grilled and roasted meat",
            FoodKind::Seafood => "fish and seafood",
            FoodKind::Soups => "soups",
            FoodKind::Stews => "slow-cooked stews",
            FoodKind::Breads => "breads, pies and baked goods",
            FoodKind::Sweets => "sweets, desserts and sweet drinks",
            FoodKind::StreetSnacks => "fried street-food snacks",
            FoodKind::Sandwiches => "hearty sandwiches",
            FoodKind::Tacos => "tacos and tortilla dishes",
            FoodKind::Sausages => "sausages",
            FoodKind::MeatDishes => "hearty meat dishes such as cutlets and meatballs",
            FoodKind::Pizza => "pizza",
        }
    }

    /// Phrases that name the kind in yes/no questions ("Do people eat noodles?").
    pub fn phrases(self) -> &'static [&'static str] {
        match self {
            FoodKind::Noodles => &["noodle", "pasta", "ramen", "spaghetti"],
            FoodKind::Dumplings => &["dumpling", "dim sum", "empanada", "filled pastry", "filled pastries"],
            FoodKind::Rice => &["rice", "pilaf", "biryani", "risotto", "paella"],
            FoodKind::Spicy => &["curry", "curries", "chilli", "chili", "spicy", "hot pot"],
            FoodKind::Grilled => &["grilled", "grill", "barbecue", "barbecued", "bbq", "kebab", "roast", "roasted"],
            FoodKind::Seafood => &["seafood", "fish", "shellfish", "crab", "oyster", "shrimp", "prawn", "sushi"],
            FoodKind::Soups => &["soup", "broth", "chowder"],
            FoodKind::Stews => &["stew", "stewed", "casserole"],
            FoodKind::Breads => &["bread", "flatbread", "bagel", "croissant", "pie", "bakery", "baked good"],
            FoodKind::Sweets => &["sweet", "dessert", "cake", "pastry", "pastries", "waffle", "tart"],
            FoodKind::StreetSnacks => &["street food", "fried snack", "fritter"],
            FoodKind::Sandwiches => &["sandwich", "sandwiches", "burger"],
            FoodKind::Tacos => &["taco", "tortilla", "burrito", "fajita"],
            FoodKind::Sausages => &["sausage", "hot dog", "bratwurst"],
            FoodKind::MeatDishes => &["cutlet", "meatball", "schnitzel", "meat dish", "meat dishes"],
            FoodKind::Pizza => &["pizza"],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedEntry {
    name: String,
    aliases: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CityEntry {
    name: String,
    aliases: Vec<String>,
    country: String,
    region: Region,
    climate: Climate,
    population: f32,
    latitude: f32,
    longitude: f32,
    capital: bool,
    #[serde(default)]
    coast: Option<String>,
    #[serde(default)]
    river: Option<String>,
    #[serde(default)]
    other_water: Option<String>,
    #[serde(default)]
    also_waters: Vec<String>,
    languages: Vec<String>,
    landmark: LandmarkType,
    food: FoodKind,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AtlasFile {
    countries: Vec<NamedEntry>,
    languages: Vec<NamedEntry>,
    cities: Vec<CityEntry>,
}

/// A country or a language: its name and the other names questions may use.
#[derive(Debug, Clone)]
pub struct Named {
    pub name: String,
    pub aliases: Vec<String>,
}

impl Named {
    /// The name, then the aliases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// Population bands shown in open answers (metropolitan area, millions).
/// (Auckland is the table's only city under 2 million, so the lowest band is "under 5 million":
/// no open answer may single out one city.)
pub const POPULATION_BANDS: [(f32, &str); 4] = [
    (20.0, "More than 20 million people live in its metropolitan area."),
    (10.0, "Between 10 and 20 million people live in its metropolitan area."),
    (5.0, "Between 5 and 10 million people live in its metropolitan area."),
    (0.0, "Fewer than 5 million people live in its metropolitan area."),
];

/// A city and its facts.
#[derive(Debug, Clone)]
pub struct City {
    pub name: String,
    /// Other names a guess may use (old names, local spellings, abbreviations).
    pub aliases: Vec<String>,
    pub country: CountryId,
    pub region: Region,
    pub climate: Climate,
    /// Metropolitan population in millions.
    pub population: f32,
    pub latitude: f32,
    pub longitude: f32,
    pub capital: bool,
    pub coast: Option<String>,
    pub river: Option<String>,
    pub other_water: Option<String>,
    /// Waters the city also lies on whose names would give the city or its country away
    /// ("Tokyo Bay", "the East China Sea"): yes/no questions about them are answered, open
    /// answers never name them.
    pub also_waters: Vec<String>,
    pub languages: Vec<LanguageId>,
    /// The kind of sight the city is best known for.
    pub landmark: LandmarkType,
    /// The kind of dish the city is known for.
    pub food: FoodKind,
}

impl City {
    /// The name, then the aliases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    pub fn continent(&self) -> Continent {
        self.region.continent()
    }

    pub fn coastal(&self) -> bool {
        self.coast.is_some()
    }

    /// Bodies of water named in the table (coast, river, other).
    pub fn waters(&self) -> impl Iterator<Item = &str> {
        [&self.coast, &self.river, &self.other_water].into_iter().flatten().map(String::as_str)
    }
}

/// Everything the rule-based oracle knows.
#[derive(Debug)]
pub struct Atlas {
    cities: Vec<City>,
    countries: Vec<Named>,
    languages: Vec<Named>,
}

impl Atlas {
    fn from_file(file: AtlasFile) -> Result<Self, String> {
        let countries: Vec<Named> =
            file.countries.into_iter().map(|c| Named { name: c.name, aliases: c.aliases }).collect();
        let languages: Vec<Named> =
            file.languages.into_iter().map(|l| Named { name: l.name, aliases: l.aliases }).collect();
        if file.cities.len() > MAX_CITIES {
            return Err(format!("{} cities; at most {MAX_CITIES}", file.cities.len()));
        }
        let mut cities = Vec::with_capacity(file.cities.len());
        for entry in file.cities {
            let country = countries
                .iter()
                .position(|c| c.name == entry.country)
                .ok_or_else(|| format!("city `{}`: unknown country `{}`", entry.name, entry.country))?;
            let languages = entry
                .languages
                .iter()
                .map(|name| {
                    languages
                        .iter()
                        .position(|l| l.name == *name)
                        .map(|i| i as LanguageId)
                        .ok_or_else(|| format!("city `{}`: unknown language `{name}`", entry.name))
                })
                .collect::<Result<Vec<_>, String>>()?;
            if languages.is_empty() {
                return Err(format!("city `{}` has no language", entry.name));
            }
            if !(entry.population > 0.0 && entry.latitude.abs() <= 90.0 && entry.longitude.abs() <= 180.0) {
                return Err(format!("city `{}`: population or coordinates out of range", entry.name));
            }
            cities.push(City {
                name: entry.name,
                aliases: entry.aliases,
                country: country as CountryId,
                region: entry.region,
                climate: entry.climate,
                population: entry.population,
                latitude: entry.latitude,
                longitude: entry.longitude,
                capital: entry.capital,
                coast: entry.coast,
                river: entry.river,
                other_water: entry.other_water,
                also_waters: entry.also_waters,
                languages,
                landmark: entry.landmark,
                food: entry.food,
            });
        }
        Ok(Self { cities, countries, languages })
    }

    pub fn cities(&self) -> &[City] {
        &self.cities
    }

    pub fn countries(&self) -> &[Named] {
        &self.countries
    }

    pub fn languages(&self) -> &[Named] {
        &self.languages
    }

    pub fn city(&self, id: CityId) -> &City {
        &self.cities[id as usize]
    }

    /// The country of a city.
    pub fn country_of(&self, id: CityId) -> &Named {
        &self.countries[self.city(id).country as usize]
    }

    /// Every name that must not appear in an answer about `id` unless it was guessed: the
    /// city's name and aliases, its country's name and aliases.
    pub fn secret_names(&self, id: CityId) -> impl Iterator<Item = &str> {
        self.city(id).names().chain(self.country_of(id).names())
    }
}

/// The fact table shipped with the env (parsed once per process).
///
/// # Panics
/// If the shipped `cities.ron` is inconsistent; the crate's tests load it.
pub fn atlas() -> &'static Atlas {
    static ATLAS: OnceLock<Atlas> = OnceLock::new();
    ATLAS.get_or_init(|| {
        let file: AtlasFile = ron::from_str(include_str!("cities.ron")).unwrap_or_else(|e| panic!("cities.ron: {e}"));
        Atlas::from_file(file).unwrap_or_else(|e| panic!("cities.ron: {e}"))
    })
}
