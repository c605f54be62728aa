//! Fidelity tests of `data_teacher-v0` (fixed seeds, stated margins): skill-targeted
//! allocation beats uniform allocation at the same data budget (DataEnvGym), invalid data
//! lowers the gain, and the student's mastery never appears.

use envs::data_teacher::{FinalMetrics, final_metrics};
use sim_core::EpisodeRecord;

fn play(config: Option<&str>, agent: &str, episodes: u64, seed: u64) -> Vec<EpisodeRecord> {
    let env = "data_teacher-v0";
    gym_tests::play_records(env, config, agent, seed, episodes, 16)
}

fn metrics(config: Option<&str>, agent: &str, episodes: u64) -> Vec<FinalMetrics> {
    play(config, agent, episodes, 0)
        .iter()
        .map(|r| {
            final_metrics(r).unwrap_or_else(|| {
                panic!("{config:?} {agent} episode {}: {}", r.episode, r.transcript.last().unwrap().text)
            })
        })
        .collect()
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let values: Vec<f64> = values.collect();
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn mean_gain(metrics: &[FinalMetrics]) -> f64 {
    mean(metrics.iter().map(|m| m.test_gain))
}

/// DataEnvGym: a state-conditioned, skill-targeted teacher beats uniform allocation at the same
/// data budget (960 examples). Measured over 100 episodes, seed 0 (skill list): weakest-first
/// +0.27 test accuracy against +0.25 for uniform; the margin asserted is 0.01.
#[test]
fn weakest_skill_first_beats_uniform_allocation() {
    for structure in ["SkillList", "SkillTree"] {
        let config = format!("(structure: {structure})");
        let uniform = metrics(Some(&config), "uniform", 100);
        let weakest = metrics(Some(&config), "weakest", 100);
        let examples = |m: &[FinalMetrics]| m.iter().map(|m| m.examples).sum::<u32>();
        assert_eq!(examples(&uniform), examples(&weakest), "same data budget");
        assert!(
            mean_gain(&weakest) >= mean_gain(&uniform) + 0.01,
            "{structure}: weakest {} uniform {}",
            mean_gain(&weakest),
            mean_gain(&uniform)
        );
        assert!(mean_gain(&uniform) > 0.1);
    }
}

/// Invalid (mislabelled) items lower the gain: the same weakest-first allocation with 30% of its
/// items written with wrong answers gains far less (measured +0.01 against +0.27).
#[test]
fn invalid_items_lower_the_gain() {
    let weakest = metrics(None, "weakest", 100);
    let sloppy = metrics(None, "sloppy", 100);
    assert!(
        mean_gain(&sloppy) + 0.15 <= mean_gain(&weakest),
        "sloppy {} weakest {}",
        mean_gain(&sloppy),
        mean_gain(&weakest)
    );
    assert!(sloppy.iter().all(|m| (m.invalid_fraction - 0.3125).abs() < 1e-3), "invalid fraction reported");
    assert!(weakest.iter().all(|m| m.invalid_fraction == 0.0));
    // Per-100-example efficiency and per-skill gains are reported for every episode.
    assert!(weakest.iter().all(|m| m.per_skill_gain.len() == 4 && m.examples == 960));
}

/// The student's mastery is never shown: no observation names it, and none prints a number
/// with the hidden values' four decimals.
#[test]
fn mastery_never_appears() {
    for structure in ["OpenEnded", "SkillList", "SkillTree"] {
        let config = format!("(structure: {structure})");
        for agent in ["uniform", "sloppy"] {
            for record in play(Some(&config), agent, 10, 5) {
                for entry in record.transcript.observed() {
                    assert!(!entry.text.to_lowercase().contains("mastery"), "{}", entry.text);
                    for hidden in &record.hidden {
                        let value = hidden.rsplit(' ').next().unwrap();
                        assert!(!entry.text.contains(value), "{value} in {}", entry.text);
                    }
                }
            }
        }
    }
}

/// Every line of an action is checked before anything is applied; a bad line rejects the action.
#[test]
fn a_bad_line_rejects_the_whole_action() {
    use sim_core::{Env, GymEnv};
    let kind = envs::registry().make("data_teacher-v0", None).unwrap();
    let mut env = GymEnv::new(kind);
    let _ = env.reset(Some(1));
    let step = env.step(sim_core::Action::from("gen add_carry n=10\ngen nonsense n=3\nend_iteration"));
    assert!(step.info.invalid_action);
    assert!(step.observation.contains("budget left 1000"), "{}", step.observation);
    let step = env.step(sim_core::Action::from("gen add_carry n=10 difficulty=1\nend_iteration"));
    assert!(!step.info.invalid_action);
    assert!(step.observation.contains("Iteration 1 done"), "{}", step.observation);
    assert!(step.observation.contains("budget left 990"), "{}", step.observation);
}

/// Prints the docs page's table: `cargo test -p gym-tests --test gym data_teacher:: -- --ignored --nocapture`.
#[test]
#[ignore]
fn print_figures() {
    for structure in ["OpenEnded", "SkillList", "SkillTree"] {
        let config = format!("(structure: {structure})");
        for agent in ["uniform", "weakest", "sloppy"] {
            let m = metrics(Some(&config), agent, 100);
            println!(
                "{structure} {agent}: test gain {:.4} per100 {:.4} invalid {:.3} examples {}",
                mean(m.iter().map(|m| m.test_gain)),
                mean(m.iter().map(|m| m.gain_per_100_examples)),
                mean(m.iter().map(|m| m.invalid_fraction)),
                mean(m.iter().map(|m| f64::from(m.examples)))
            );
        }
    }
}
