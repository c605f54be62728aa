//! The skill tree: four skills of three subskills each, every subskill an item generator with
//! exact answers at three difficulties, and a checker that recognises a question of the
//! subskill's form and computes its answer.

use rand::RngExt;
use sim_core::seed::StreamRng;

/// A subskill: its name, its skill, and an example question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subskill {
    pub name: &'static str,
    pub skill: &'static str,
}

pub const SKILLS: [&str; 4] = ["arithmetic", "units", "strings", "number_sense"];

pub const SUBSKILLS: [Subskill; 12] = [
    Subskill { name: "add_carry", skill: "arithmetic" },
    Subskill { name: "sub_borrow", skill: "arithmetic" },
    Subskill { name: "mul_small", skill: "arithmetic" },
    Subskill { name: "km_to_m", skill: "units" },
    Subskill { name: "hours_to_minutes", skill: "units" },
    Subskill { name: "kg_to_g", skill: "units" },
    Subskill { name: "reverse_word", skill: "strings" },
    Subskill { name: "count_vowels", skill: "strings" },
    Subskill { name: "sort_letters", skill: "strings" },
    Subskill { name: "max_of_list", skill: "number_sense" },
    Subskill { name: "round_to_ten", skill: "number_sense" },
    Subskill { name: "parity", skill: "number_sense" },
];

pub fn subskill_named(name: &str) -> Option<usize> {
    SUBSKILLS.iter().position(|s| s.name == name)
}

/// Subskill indices of a skill, in catalogue order.
pub fn subskills_of(skill: &str) -> impl Iterator<Item = usize> + '_ {
    SUBSKILLS.iter().enumerate().filter(move |(_, s)| s.skill == skill).map(|(i, _)| i)
}

/// Letters of the pseudo-words of the string subskills: a word is 2, 3 or 4 consonant-vowel
/// syllables (difficulty 1–3), so every difficulty has thousands of distinct items.
const CONSONANTS: &[u8] = b"bcdfghklmnprstvz";
const VOWELS: &[u8] = b"aeiou";

fn pseudo_word(rng: &mut StreamRng, syllables: u32) -> String {
    let mut word = String::with_capacity(2 * syllables as usize);
    for _ in 0..syllables {
        word.push(char::from(CONSONANTS[rng.random_range(0..CONSONANTS.len())]));
        word.push(char::from(VOWELS[rng.random_range(0..VOWELS.len())]));
    }
    word
}

/// One item: a question and its exact answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub subskill: usize,
    pub difficulty: u8,
    pub question: String,
    pub answer: String,
}

fn digits(rng: &mut StreamRng, count: u32) -> i64 {
    let low = 10i64.pow(count - 1);
    rng.random_range(low..low * 10)
}

/// A fresh item of a subskill at difficulty 1..=3.
pub fn generate(subskill: usize, difficulty: u8, rng: &mut StreamRng) -> Item {
    let d = u32::from(difficulty.clamp(1, 3));
    let question = match SUBSKILLS[subskill].name {
        "add_carry" => loop {
            let (a, b) = (digits(rng, d + 1), digits(rng, d + 1));
            if a % 10 + b % 10 >= 10 {
                break format!("What is {a} + {b}?");
            }
        },
        "sub_borrow" => loop {
            let (a, b) = (digits(rng, d + 1), digits(rng, d + 1));
            if a > b && a % 10 < b % 10 {
                break format!("What is {a} - {b}?");
            }
        },
        "mul_small" => {
            let (a, b) = match d {
                1 => (digits(rng, 2), rng.random_range(2..10)),
                2 => (digits(rng, 3), rng.random_range(2..10)),
                _ => (digits(rng, 2), digits(rng, 2)),
            };
            format!("What is {a} * {b}?")
        }
        "km_to_m" => format!("Convert {} km to m.", decimal(rng, d, 1)),
        "hours_to_minutes" => format!("Convert {} h to min.", decimal(rng, d, 25)),
        "kg_to_g" => format!("Convert {} kg to g.", decimal(rng, d, 1)),
        "reverse_word" | "count_vowels" | "sort_letters" => {
            let word = pseudo_word(rng, d + 1);
            match SUBSKILLS[subskill].name {
                "reverse_word" => format!("Reverse the word '{word}'."),
                "count_vowels" => format!("How many vowels are in '{word}'?"),
                _ => format!("Sort the letters of '{word}' alphabetically."),
            }
        }
        "max_of_list" => {
            let count = 1 + 2 * d as usize;
            let numbers: Vec<String> = (0..count).map(|_| rng.random_range(1..100 * d as i64).to_string()).collect();
            format!("Which is largest: {}?", numbers.join(", "))
        }
        "round_to_ten" => format!("Round {} to the nearest ten.", digits(rng, d + 2)),
        _ => format!("Is {} even or odd?", digits(rng, d + 2)),
    };
    let answer = answer(subskill, &question).unwrap_or_default();
    Item { subskill, difficulty: difficulty.clamp(1, 3), question, answer }
}

/// A decimal with `d - 1` decimal places whose hundredths are a multiple of `step`.
fn decimal(rng: &mut StreamRng, d: u32, step: i64) -> String {
    let whole = rng.random_range(1..500i64);
    match d {
        1 => whole.to_string(),
        2 => format!("{whole}.{}", rng.random_range(1..10)),
        _ => loop {
            let hundredths = rng.random_range(1..100i64);
            if hundredths % step == 0 && hundredths % 10 != 0 {
                break format!("{whole}.{hundredths:02}");
            }
        },
    }
}

/// Hundredths of a decimal written like `3`, `3.5` or `3.25`.
fn hundredths(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || fraction.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse::<i64>().ok()?,
    };
    Some(whole * 100 + fraction)
}

fn integer(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) || text.starts_with('0') {
        return None;
    }
    text.parse().ok()
}

fn quoted_word(question: &str, prefix: &str, suffix: &str) -> Option<String> {
    let word = question.strip_prefix(prefix)?.strip_suffix(suffix)?;
    (!word.is_empty() && word.len() <= 20 && word.bytes().all(|b| b.is_ascii_lowercase())).then(|| word.to_owned())
}

/// The exact answer of a question of the subskill's form, or `None` when the question is not
/// one (wrong template, wrong subskill, out-of-range numbers). This is the env's checker of
/// explicit items.
pub fn answer(subskill: usize, question: &str) -> Option<String> {
    let binary = |prefix: &str, op: &str| -> Option<(i64, i64)> {
        let body = question.strip_prefix(prefix)?.strip_suffix('?')?;
        let (a, b) = body.split_once(op)?;
        Some((integer(a)?, integer(b)?))
    };
    let convert = |unit: &str, target: &str| -> Option<i64> {
        let body = question.strip_prefix("Convert ")?.strip_suffix(&format!(" {unit} to {target}."))?;
        hundredths(body)
    };
    match SUBSKILLS.get(subskill)?.name {
        "add_carry" => {
            let (a, b) = binary("What is ", " + ")?;
            (a % 10 + b % 10 >= 10).then(|| (a + b).to_string())
        }
        "sub_borrow" => {
            let (a, b) = binary("What is ", " - ")?;
            (a > b && a % 10 < b % 10).then(|| (a - b).to_string())
        }
        "mul_small" => binary("What is ", " * ").map(|(a, b)| (a * b).to_string()),
        "km_to_m" => convert("km", "m").map(|h| (h * 10).to_string()),
        "kg_to_g" => convert("kg", "g").map(|h| (h * 10).to_string()),
        "hours_to_minutes" => convert("h", "min").filter(|h| h * 60 % 100 == 0).map(|h| (h * 60 / 100).to_string()),
        "reverse_word" => quoted_word(question, "Reverse the word '", "'.").map(|w| w.chars().rev().collect()),
        "count_vowels" => quoted_word(question, "How many vowels are in '", "'?")
            .map(|w| w.chars().filter(|c| "aeiou".contains(*c)).count().to_string()),
        "sort_letters" => quoted_word(question, "Sort the letters of '", "' alphabetically.").map(|w| {
            let mut letters: Vec<char> = w.chars().collect();
            letters.sort_unstable();
            letters.into_iter().collect()
        }),
        "max_of_list" => {
            let body = question.strip_prefix("Which is largest: ")?.strip_suffix('?')?;
            let numbers: Option<Vec<i64>> = body.split(", ").map(integer).collect();
            let numbers = numbers?;
            (numbers.len() >= 2).then(|| numbers.iter().max().map(ToString::to_string)).flatten()
        }
        "round_to_ten" => {
            let n = integer(question.strip_prefix("Round ")?.strip_suffix(" to the nearest ten.")?)?;
            Some(((n + 5) / 10 * 10).to_string())
        }
        "parity" => {
            let n = integer(question.strip_prefix("Is ")?.strip_suffix(" even or odd?")?)?;
            Some(if n % 2 == 0 { "even" } else { "odd" }.to_owned())
        }
        _ => None,
    }
}

/// Normalised answer comparison: trimmed, case-insensitive.
pub fn same_answer(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// A plausible wrong answer for a failed item (what the student said).
pub fn wrong_answer(item: &Item, rng: &mut StreamRng) -> String {
    if let Ok(n) = item.answer.parse::<i64>() {
        let delta = rng.random_range(1..4i64) * if rng.random_bool(0.5) { 1 } else { -1 };
        return (n + delta * if item.answer.len() > 2 { 10 } else { 1 }).max(0).to_string();
    }
    match item.answer.as_str() {
        "even" => "odd".to_owned(),
        "odd" => "even".to_owned(),
        word => {
            let mut chars: Vec<char> = word.chars().collect();
            if chars.len() > 1 {
                chars.swap(0, 1);
            }
            let swapped: String = chars.into_iter().collect();
            if swapped == word { format!("{word}s") } else { swapped }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::seed::stream;

    #[test]
    fn generated_items_check_and_other_subskills_reject_them() {
        let mut rng = stream(1, "test");
        for subskill in 0..SUBSKILLS.len() {
            for difficulty in 1..=3 {
                for _ in 0..50 {
                    let item = generate(subskill, difficulty, &mut rng);
                    assert_eq!(answer(subskill, &item.question).as_deref(), Some(item.answer.as_str()), "{item:?}");
                    for other in (0..SUBSKILLS.len()).filter(|&other| other != subskill) {
                        assert!(answer(other, &item.question).is_none(), "{item:?} as {other}");
                    }
                    assert!(!same_answer(&wrong_answer(&item, &mut rng), &item.answer), "{item:?}");
                }
            }
        }
        assert_eq!(answer(0, "What is 47 + 38?").as_deref(), Some("85"));
        assert_eq!(answer(0, "What is 41 + 38?"), None, "no carry");
        assert_eq!(answer(4, "Convert 2.25 h to min.").as_deref(), Some("135"));
        assert_eq!(answer(3, "Convert 3.5 km to m.").as_deref(), Some("3500"));
        assert_eq!(answer(10, "Round 345 to the nearest ten.").as_deref(), Some("350"));
    }
}
