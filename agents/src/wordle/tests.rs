use envs::wordle::{DATASET_MEAN_RETURN, EXPERT_MEAN_RETURN, SCORE_ANCHORS};
use sim_core::{EpisodeStats, RunPlan, run_episodes};

use super::*;

/// Plays `episodes` episodes of `wordle-v0` (config as RON) with seed `seed`.
fn play(agent: &str, config: Option<&str>, seed: u64, episodes: u64) -> EpisodeStats {
    let kind = envs::registry().make("wordle-v0", config).unwrap();
    let factory = crate::built_in(agent, "wordle-v0").unwrap();
    let plan = RunPlan { seed, first_episode: 0, episodes, batch_size: 64, threads: 1, ..Default::default() };
    let mut stats = EpisodeStats::default();
    let started = std::time::Instant::now();
    run_episodes(&kind, &plan, factory.as_ref(), &mut |record| {
        stats.add(&record);
        Ok(())
    })
    .unwrap();
    eprintln!(
        "{agent} {config:?} seed {seed}: {episodes} episodes, win rate {:.4}, mean return {:.4}, mean turns {:.3} ({:.2?})",
        stats.success_rate(),
        stats.mean_return(),
        stats.mean_turns(),
        started.elapsed()
    );
    stats
}

#[test]
fn expert_wins_almost_always_and_its_mean_is_the_max_anchor() {
    let stats = play("expert", None, 0, 2000);
    assert!(stats.success_rate() >= 0.98, "win rate {}", stats.success_rate());
    assert!(stats.mean_return() >= -3.2, "mean return {}", stats.mean_return());
    assert_eq!(stats.invalid_actions, 0);
    assert!((stats.mean_return() - EXPERT_MEAN_RETURN).abs() < 1e-9, "expert mean {}", stats.mean_return());
    assert_eq!(SCORE_ANCHORS.max, EXPERT_MEAN_RETURN);
}

#[test]
fn expert_plays_the_real_rule_too() {
    let stats = play("expert", Some("(repeated_letters: Standard)"), 1, 500);
    assert!(stats.success_rate() >= 0.98, "win rate {}", stats.success_rate());
    assert!(stats.mean_return() >= -3.2, "mean return {}", stats.mean_return());
}

#[test]
fn random_guesser_mostly_loses() {
    let stats = play("random", None, 0, 2000);
    assert!(stats.mean_return() <= -5.5, "mean return {}", stats.mean_return());
    assert_eq!(stats.invalid_actions, 0);
}

#[test]
fn dataset_policy_mean_is_the_average_anchor() {
    let stats = play("dataset", None, 0, 2000);
    assert!((stats.mean_return() - DATASET_MEAN_RETURN).abs() < 1e-9, "dataset mean {}", stats.mean_return());
    assert_eq!(SCORE_ANCHORS.average, DATASET_MEAN_RETURN);
    const { assert!(SCORE_ANCHORS.min < SCORE_ANCHORS.average && SCORE_ANCHORS.average < SCORE_ANCHORS.max) };
}

#[test]
fn scripted_guesser_mixes_refusals_and_words() {
    let stats = play("scripted", None, 0, 200);
    assert!(stats.invalid_actions > 0);
    assert!(stats.invalid_action_rate() < 0.5);
}

#[test]
fn openings_are_fixed() {
    assert_eq!(opening(RepeatedLetters::Lmrl), "raise");
    assert_eq!(opening(RepeatedLetters::Standard), "raise");
}

#[test]
fn candidates_shrink_and_keep_the_answer() {
    let lists = word_lists();
    for answer_index in [0usize, 700, 2134] {
        let answer = lists.answers()[answer_index];
        let mut history = History { rule: RepeatedLetters::Standard, guesses: Vec::new() };
        for guess in ["crane", "pilot", "dumpy"] {
            let guess = Word::parse(guess).unwrap();
            history.guesses.push((guess, envs::wordle::feedback(guess, answer, history.rule)));
            assert!(candidates(&history).contains(&(answer_index as u16)));
        }
        assert!(candidates(&history).len() < 40);
    }
}
