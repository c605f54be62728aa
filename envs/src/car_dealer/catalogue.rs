//! The dealership's catalogue (LMRL-Gym's 13 brands, 6 body types, 8 features), list prices,
//! and readers for what a text mentions: brands, body types, features and prices in any of
//! the usual forms ("$32,000", "32k", "32.5k", "32,500 dollars", "thirty-two thousand").

use std::sync::OnceLock;

use crate::text::{Lexicon, Token, for_each_word};

/// Brand names with the other names a text may use, and the base list price in dollars.
pub const BRANDS: [(&str, &[&str], u32); 13] = [
    ("Volkswagen", &["vw", "volkswagen"], 26_000),
    ("Lexus", &["lexus"], 44_000),
    ("Ford", &["ford"], 27_000),
    ("Mazda", &["mazda"], 25_000),
    ("Hyundai", &["hyundai"], 23_000),
    ("Toyota", &["toyota"], 26_000),
    ("Mercedes-Benz", &["mercedes", "benz", "merc"], 48_000),
    ("BMW", &["bmw", "beemer"], 46_000),
    ("Audi", &["audi"], 45_000),
    ("Subaru", &["subaru"], 26_000),
    ("Honda", &["honda"], 25_000),
    ("Porsche", &["porsche"], 75_000),
    ("Tesla", &["tesla"], 42_000),
];

/// Body types with the words that name them, and the list-price factor.
pub const BODIES: [(&str, &[&str], f64); 6] = [
    ("luxury car", &["luxury", "premium", "executive"], 1.6),
    ("sedan", &["sedan", "saloon"], 1.0),
    ("convertible", &["convertible", "cabriolet", "roadster", "drop top"], 1.35),
    ("truck", &["truck", "pickup", "pick up", "trucks"], 1.3),
    ("electric car", &["electric", "ev", "battery powered", "plug in"], 1.35),
    ("SUV", &["suv", "crossover", "sport utility"], 1.2),
];

/// Features with the words that name them.
pub const FEATURES: [(&str, &[&str]); 8] = [
    ("a backup camera", &["backup camera", "back up camera", "rear camera", "reversing camera", "rearview camera"]),
    ("a navigation system", &["navigation", "nav", "gps", "sat nav"]),
    ("heated seats", &["heated seat", "heated seats", "seat heating"]),
    ("leather seats", &["leather"]),
    ("third-row seating", &["third row", "3rd row", "seven seats", "7 seats", "seven seater", "7 seater"]),
    ("blind spot monitoring", &["blind spot"]),
    ("a sunroof", &["sunroof", "moonroof", "sun roof", "moon roof"]),
    ("Apple CarPlay", &["carplay", "car play"]),
];

/// The list price (MSRP) of a brand's model of a body type, rounded to $500.
pub fn msrp(brand: usize, body: usize) -> u32 {
    let raw = f64::from(BRANDS[brand].2) * BODIES[body].2;
    ((raw / 500.0).round() as u32) * 500
}

/// "a" or "an" before a name ("an Audi", "an SUV", "a sedan").
pub fn article(name: &str) -> &'static str {
    if name.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u']) || name.starts_with("SUV") {
        "an"
    } else {
        "a"
    }
}

/// Formats dollars as "$31,500".
pub fn dollars(amount: u32) -> String {
    let digits = amount.to_string();
    let mut out = String::with_capacity(digits.len() + 4);
    out.push('$');
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What a text mentions: sets of brand, body and feature indices (bit masks), in the order of
/// their last mention for brands and bodies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mentions {
    /// The last brand mentioned.
    pub brand: Option<usize>,
    /// The last body type mentioned.
    pub body: Option<usize>,
    pub features: u8,
}

/// What a catalogue phrase names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Brand(u8),
    Body(u8),
    Feature(u8),
}

/// The catalogue's phrase table (built once).
fn catalogue_words() -> &'static Lexicon<Item> {
    static LEXICON: OnceLock<Lexicon<Item>> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let mut lexicon = Lexicon::new();
        let mut add = |phrase: &str, item: Item| {
            lexicon.add(phrase, item).unwrap_or_else(|e| panic!("car_dealer catalogue: {e}"));
        };
        for (index, (_, names, _)) in BRANDS.iter().enumerate() {
            names.iter().for_each(|name| add(name, Item::Brand(index as u8)));
        }
        for (index, (_, names, _)) in BODIES.iter().enumerate() {
            names.iter().for_each(|name| add(name, Item::Body(index as u8)));
        }
        for (index, (_, names)) in FEATURES.iter().enumerate() {
            names.iter().for_each(|name| add(name, Item::Feature(index as u8)));
        }
        lexicon
    })
}

/// Reads the brands, body types and features a text mentions (whole words, any case, regular
/// plurals; see [`crate::text`]). Only the first 512 words are read.
pub fn mentions(text: &str) -> Mentions {
    let lexicon = catalogue_words();
    let mut tokens = [Token::UNKNOWN; 512];
    let count = match lexicon.read(text, tokens.len(), &mut tokens) {
        Some(count) => count,
        None => tokens.len(),
    };
    let mut found = Mentions::default();
    lexicon.scan(&tokens[..count], |_, _, item| match item {
        Item::Brand(brand) => found.brand = Some(brand as usize),
        Item::Body(body) => found.body = Some(body as usize),
        Item::Feature(feature) => found.features |= 1 << feature,
    });
    found
}

fn word_value(word: &str) -> Option<u32> {
    Some(match word {
        "zero" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

/// Dollar amounts of at least $1,000 in a text, in order: "$32,000", "$32000", "32k",
/// "32.5k", "32 grand", "32,500 dollars", "32 thousand", "thirty-two thousand (five hundred)".
/// Smaller numbers ("2 years", "$500 off") are not prices of a car.
pub fn prices(text: &str) -> Vec<u32> {
    let mut found = Vec::new();
    digit_prices(text, &mut found);
    word_prices(text, &mut found);
    found
}

fn digit_prices(text: &str, found: &mut Vec<u32>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && (bytes[i - 1].is_ascii_alphanumeric())) {
            i += 1;
            continue;
        }
        let dollar_sign = i > 0 && bytes[i - 1] == b'$';
        // Integer part with thousands separators, then an optional decimal part.
        let mut value: f64 = 0.0;
        let mut j = i;
        while j < bytes.len() {
            if bytes[j].is_ascii_digit() {
                value = value * 10.0 + f64::from(bytes[j] - b'0');
                j += 1;
            } else if bytes[j] == b','
                && j + 3 < bytes.len()
                && bytes[j + 1..j + 4].iter().all(u8::is_ascii_digit)
                && bytes.get(j + 4).is_none_or(|b| !b.is_ascii_digit())
            {
                j += 1;
            } else {
                break;
            }
        }
        if j + 1 < bytes.len() && bytes[j] == b'.' && bytes[j + 1].is_ascii_digit() {
            let mut scale = 0.1;
            j += 1;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                value += f64::from(bytes[j] - b'0') * scale;
                scale /= 10.0;
                j += 1;
            }
        }
        let rest = text[j..].trim_start().to_ascii_lowercase();
        let thousands = rest.starts_with('k') && !rest[1..].starts_with(|c: char| c.is_ascii_alphabetic())
            || rest.starts_with("thousand")
            || rest.starts_with("grand");
        let amount = if thousands { value * 1000.0 } else { value };
        let dollars = dollar_sign || thousands || rest.starts_with("dollar") || rest.starts_with("usd");
        if dollars && (1000.0..10_000_000.0).contains(&amount) {
            found.push(amount.round() as u32);
        }
        i = j.max(i + 1);
    }
}

fn word_prices(text: &str, found: &mut Vec<u32>) {
    // A run of number words: "thirty two thousand five hundred".
    let mut total = 0u32;
    let mut current = 0u32;
    let mut in_number = false;
    let mut saw_thousand = false;
    let mut flush = |total: &mut u32, current: &mut u32, in_number: &mut bool, saw_thousand: &mut bool| {
        let amount = *total + *current;
        if *in_number && *saw_thousand && amount >= 1000 {
            found.push(amount);
        }
        *total = 0;
        *current = 0;
        *in_number = false;
        *saw_thousand = false;
    };
    for_each_word(text, |word| {
        if let Some(value) = word_value(word) {
            current += value;
            in_number = true;
        } else if in_number && word == "hundred" {
            current = current.max(1) * 100;
        } else if in_number && (word == "thousand" || word == "grand") {
            total += current.max(1) * 1000;
            current = 0;
            saw_thousand = true;
        } else if !(in_number && word == "and") {
            flush(&mut total, &mut current, &mut in_number, &mut saw_thousand);
        }
        true
    });
    flush(&mut total, &mut current, &mut in_number, &mut saw_thousand);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_in_every_form() {
        assert_eq!(prices("It's $32,000."), [32_000]);
        assert_eq!(prices("32k, or 32.5k with leather"), [32_000, 32_500]);
        assert_eq!(prices("32,500 dollars"), [32_500]);
        assert_eq!(prices("thirty-two thousand"), [32_000]);
        assert_eq!(prices("thirty two thousand five hundred dollars"), [32_500]);
        assert_eq!(prices("I can do 28 grand"), [28_000]);
        assert_eq!(prices("$41500 and 2 years of service, $500 off"), [41_500]);
        assert_eq!(prices("a 2023 model with 3 seats"), Vec::<u32>::new());
        assert_eq!(dollars(31_500), "$31,500");
        assert_eq!(dollars(950), "$950");
        assert_eq!(prices(&dollars(123_456)), [123_456]);
    }

    #[test]
    fn mentions_of_the_catalogue() {
        let m = mentions("This Mercedes SUV has heated seats, a sunroof and Apple CarPlay.");
        assert_eq!(m.brand, Some(6));
        assert_eq!(m.body, Some(5));
        assert_eq!(m.features, (1 << 2) | (1 << 6) | (1 << 7));
        assert_eq!(msrp(4, 1), 23_000);
        assert_eq!(msrp(11, 0), 120_000);
    }
}
