//! Baseline scores of the shipped agents (the figures in docs/envs/twenty_questions.md).

use envs::twenty_questions::EXPERT_MEAN_RETURN;
use sim_core::{EpisodeStats, RunPlan, run_episodes};

fn play(agent: &str, episodes: u64, seed: u64) -> EpisodeStats {
    let env = "twenty_questions-v0";
    let kind = envs::registry().make(env, None).unwrap();
    let factory = agents::built_in(agent, env).unwrap();
    let plan = RunPlan { seed, first_episode: 0, episodes, batch_size: 64, threads: 2 };
    let mut stats = EpisodeStats::default();
    run_episodes(&kind, &plan, factory.as_ref(), &mut |r| {
        stats.add(r.episode_return, r.turns, r.success, r.truncated, r.invalid_actions);
        Ok(())
    })
    .unwrap();
    stats
}

#[test]
fn expert_meets_the_bar_and_matches_its_score_anchor() {
    let stats = play("expert", 1000, 0);
    assert!(stats.success_rate() >= 0.95, "success rate {}", stats.success_rate());
    assert!(stats.mean_return() >= -9.0, "mean return {}", stats.mean_return());
    assert_eq!(stats.invalid_actions, 0);
    assert!(
        (stats.mean_return() - EXPERT_MEAN_RETURN).abs() < 1e-9,
        "EXPERT_MEAN_RETURN is {EXPERT_MEAN_RETURN} but the expert scores {}",
        stats.mean_return()
    );
}

#[test]
fn random_questioner_is_weak() {
    let stats = play("random", 1000, 0);
    assert!(stats.mean_return() <= -18.0, "mean return {}", stats.mean_return());
}

#[test]
fn expert_wins_every_object() {
    // Cycle selection plays each object once per knowledge-base size.
    let objects = envs::twenty_questions::knowledge().objects().len() as u64;
    let kind = envs::registry().make("twenty_questions-v0", Some("(selection: Cycle)")).unwrap();
    let factory = agents::built_in("expert", "twenty_questions-v0").unwrap();
    let plan = RunPlan { seed: 3, first_episode: 0, episodes: objects, batch_size: 32, threads: 1 };
    let mut lost = Vec::new();
    run_episodes(&kind, &plan, factory.as_ref(), &mut |r| {
        if !r.success {
            lost.push(r.hidden[0].clone());
        }
        Ok(())
    })
    .unwrap();
    assert!(lost.is_empty(), "the expert cannot single out: {lost:?}");
}
