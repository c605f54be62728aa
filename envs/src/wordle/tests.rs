use proptest::prelude::*;
use rand::RngExt;
use sim_core::conformance::contains_words;
use sim_core::seed::stream;
use sim_core::{Env, GymEnv};

use super::*;

fn word(text: &str) -> Word {
    Word::parse(text).unwrap()
}

fn marks(guess: &str, answer: &str, rule: RepeatedLetters) -> &'static str {
    render_pattern(feedback(word(guess), word(answer), rule))
}

#[test]
fn lists_are_sorted_and_answers_are_guesses() {
    let lists = word_lists();
    assert_eq!(lists.answers().len(), 2135);
    assert_eq!(lists.guesses().len(), 4667);
    assert!(lists.answers().windows(2).all(|pair| pair[0] < pair[1]));
    for (index, answer) in lists.answers().iter().enumerate() {
        assert!(lists.is_guess(*answer), "{answer} is not a guess");
        assert_eq!(lists.answer_index(*answer), Some(index));
        assert_eq!(answer.to_string(), lists.answer_text(index));
    }
}

#[test]
fn no_fixed_text_spells_an_answer() {
    let lists = word_lists();
    for text in fixed_texts() {
        for index in 0..lists.answers().len() {
            let answer = lists.answer_text(index);
            assert!(!contains_words(&text, answer), "`{answer}` appears in {text:?}");
        }
    }
}

#[test]
fn lmrl_feedback_ignores_multiplicity() {
    assert_eq!(marks("geese", "those", RepeatedLetters::Lmrl), "b y y g g");
    assert_eq!(marks("crane", "crane", RepeatedLetters::Lmrl), "g g g g g");
    assert_eq!(marks("crane", "house", RepeatedLetters::Lmrl), "b b b b g");
    assert_eq!(marks("speed", "abide", RepeatedLetters::Lmrl), "b b y y y");
    assert_eq!(marks("eerie", "steep", RepeatedLetters::Lmrl), "y y b b y");
}

/// The worked examples of docs/envs/wordle.md's repeated-letter table are what the code says,
/// so the page and the code cannot drift apart.
#[test]
fn the_pages_repeated_letter_table_matches_the_code() {
    let page = include_str!("../../../docs/envs/wordle.md");
    let section = page.split("### Repeated letters").nth(1).expect("the page has a repeated-letters section");
    let mut header = None;
    let mut checked = 0;
    for line in section.lines().map(str::trim).take_while(|line| !line.starts_with('#')) {
        let Some(row) = line.strip_prefix('|').and_then(|row| row.strip_suffix('|')) else {
            continue;
        };
        let cells: Vec<&str> = row.split('|').map(|cell| cell.trim().trim_matches('`')).collect();
        if cells.iter().all(|cell| cell.chars().all(|c| c == '-' || c == ':')) {
            continue;
        }
        let Some(columns) = &header else {
            header = Some(cells.iter().map(|cell| cell.to_string()).collect::<Vec<_>>());
            continue;
        };
        let (guess, answer) = cells[0].split_once(" → ").unwrap_or_else(|| panic!("row {line:?}: no `guess → word`"));
        for (column, expected) in columns.iter().zip(&cells).skip(1) {
            let rule = match column.as_str() {
                "Lmrl" => RepeatedLetters::Lmrl,
                "Standard" => RepeatedLetters::Standard,
                other => panic!("unknown rule column {other:?}"),
            };
            assert_eq!(marks(guess, answer, rule), *expected, "{guess} → {answer} under {column}, as the page says");
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} worked examples were found in the table");
}

#[test]
fn standard_feedback_counts_letters() {
    assert_eq!(marks("geese", "those", RepeatedLetters::Standard), "b b b g g");
    assert_eq!(marks("speed", "abide", RepeatedLetters::Standard), "b b y b y");
    assert_eq!(marks("eerie", "steep", RepeatedLetters::Standard), "y y b b b");
    assert_eq!(marks("crane", "crane", RepeatedLetters::Standard), "g g g g g");
}

#[test]
fn patterns_round_trip() {
    for pattern in 0..PATTERNS as u8 {
        assert_eq!(parse_pattern(render_pattern(pattern)), Some(pattern));
    }
    assert_eq!(parse_pattern("bybgb"), Some(parse_pattern("b y b g b").unwrap()));
    assert_eq!(parse_pattern("b y b g"), None);
    assert_eq!(parse_pattern("b y b g b g"), None);
    assert_eq!(parse_pattern("Refused: x"), None);
}

#[test]
fn guesses_are_parsed_like_lmrl_gym() {
    assert_eq!(parse_guess("crane"), Ok(word("crane")));
    assert_eq!(parse_guess(" C R A N E\n"), Ok(word("crane")));
    assert_eq!(parse_guess("cranes"), Err(InvalidGuess::WrongLength(6)));
    assert_eq!(parse_guess(""), Err(InvalidGuess::WrongLength(0)));
    assert_eq!(parse_guess("cr4ne"), Err(InvalidGuess::NotLetters));
    assert_eq!(parse_guess("caf\u{e9}s"), Err(InvalidGuess::NotLetters));
    assert_eq!(parse_guess("zzzzz"), Err(InvalidGuess::NotInList));
}

fn play(config: &str, seed: u64, guesses: &[&str]) -> (GymEnv, Vec<sim_core::Step>) {
    let kind = crate::registry().make(Wordle::ID, Some(config)).unwrap();
    let mut env = GymEnv::new(kind);
    let _ = env.reset(Some(seed));
    // Stops after the step that ends the episode (a guess may hit the answer early).
    let mut steps: Vec<sim_core::Step> = Vec::new();
    for guess in guesses {
        if steps.last().is_some_and(sim_core::Step::done) {
            break;
        }
        steps.push(env.step(*guess));
    }
    (env, steps)
}

fn hidden_answer(seed: u64) -> &'static str {
    let episode_seed = sim_core::seed::episode_seed(seed, 0);
    let index = stream(episode_seed, "answer").random_range(0..word_lists().answers().len());
    word_lists().answer_text(index)
}

#[test]
fn the_winning_guess_scores_zero_and_ends_the_episode() {
    let answer = hidden_answer(3);
    let other = if answer == "house" { "mouse" } else { "house" };
    let (_, steps) = play("()", 3, &[other, answer]);
    assert_eq!(steps[0].reward, -1.0);
    assert!(!steps[0].done());
    assert_eq!(steps[1].observation, "g g g g g");
    assert_eq!(steps[1].reward, 0.0);
    assert!(steps[1].terminated && !steps[1].truncated);
}

#[test]
fn invalid_guesses_say_why_and_use_a_try() {
    let (_, steps) = play("()", 5, &["abc", "12345", "zzzzz", "", "crane!", "x".repeat(1000).as_str()]);
    assert_eq!(steps[0].observation, WRONG_LENGTH);
    assert_eq!(steps[1].observation, NOT_LETTERS);
    assert_eq!(steps[2].observation, NOT_IN_LIST);
    for step in &steps {
        assert!(step.info.invalid_action);
        assert_eq!(step.reward, -1.0);
    }
    assert!(steps[5].terminated, "the sixth try ends the game");
}

#[test]
fn the_config_flag_selects_the_real_rule_and_the_prompt_says_so() {
    let kind = crate::registry().make(Wordle::ID, Some("(repeated_letters: Standard)")).unwrap();
    let mut env = GymEnv::new(kind);
    let reset = env.reset(Some(0));
    assert_eq!(rule_from_prompt(&reset.observation), RepeatedLetters::Standard);
    let kind = crate::registry().make(Wordle::ID, None).unwrap();
    let mut env = GymEnv::new(kind);
    assert_eq!(rule_from_prompt(&env.reset(Some(0)).observation), RepeatedLetters::Lmrl);
}

#[test]
fn cycle_selection_plays_every_answer_in_order() {
    let kind = crate::registry().make(Wordle::ID, Some("(selection: Cycle, max_guesses: 1)")).unwrap();
    let mut env = GymEnv::new(kind);
    let _ = env.reset(Some(9));
    for index in 0..3 {
        let step = env.step(word_lists().answer_text(index));
        assert_eq!(step.observation, "g g g g g");
        let _ = env.reset(None);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The hidden word never appears in anything the env says, whatever the agent guesses.
    #[test]
    fn the_hidden_word_never_leaks(seed in any::<u64>(), picks in proptest::collection::vec(0usize..4667, 6)) {
        let lists = word_lists();
        let guesses: Vec<&str> = picks.iter().map(|i| lists.guess_text(*i)).collect();
        let (env, _) = play("()", seed, &guesses);
        let answer = hidden_answer(seed);
        for entry in env.transcript().unwrap().observed() {
            prop_assert!(!contains_words(&entry.text, answer), "{answer} in {:?}", entry.text);
        }
    }

    /// Feedback is all green exactly on the answer, and the two rules agree on green marks.
    #[test]
    fn feedback_rules_agree_on_greens(guess in 0usize..4667, answer in 0usize..2135) {
        let lists = word_lists();
        let (guess, answer) = (lists.guesses()[guess], lists.answers()[answer]);
        let lmrl = feedback(guess, answer, RepeatedLetters::Lmrl);
        let standard = feedback(guess, answer, RepeatedLetters::Standard);
        prop_assert_eq!(lmrl == ALL_GREEN, guess == answer);
        prop_assert_eq!(standard == ALL_GREEN, guess == answer);
        let (mut l, mut s) = (lmrl, standard);
        for _ in 0..WORD_LENGTH {
            prop_assert_eq!(l % 3 == 2, s % 3 == 2);
            prop_assert!(s % 3 <= l % 3, "the real rule never marks more than LMRL-Gym's");
            l /= 3;
            s /= 3;
        }
    }
}
