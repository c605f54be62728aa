//! Baselines of the Maze and Text-Nav agents (the figures in docs/envs/maze.md and
//! docs/envs/text_nav.md). Run with `--nocapture` to see the figures.

use sim_core::{EpisodeRecord, EpisodeStats, RunPlan, run_episodes};

fn records(env: &str, config: Option<&str>, agent: &str, episodes: u64, seed: u64) -> Vec<EpisodeRecord> {
    let kind = envs::registry().make(env, config).unwrap();
    let factory = agents::built_in(agent, env).unwrap();
    let plan = RunPlan { seed, first_episode: 0, episodes, batch_size: 64, threads: 1, ..Default::default() };
    let mut records = Vec::new();
    run_episodes(&kind, &plan, factory.as_ref(), &mut |record| {
        records.push(record);
        Ok(())
    })
    .unwrap();
    records.sort_by_key(|record| record.episode);
    records
}

fn stats(env: &str, config: Option<&str>, agent: &str, episodes: u64, seed: u64) -> EpisodeStats {
    let mut stats = EpisodeStats::default();
    for record in records(env, config, agent, episodes, seed) {
        stats.add(&record);
    }
    let anchors = envs::registry().make(env, config).unwrap().spec().score_anchors.unwrap();
    println!(
        "{env} {agent} ({episodes} episodes, seed {seed}, config {config:?}): mean return {:.4}, success {:.4}, \
         mean turns {:.2}, invalid rate {:.4}, normalised score {:.1}",
        stats.mean_return(),
        stats.success_rate(),
        stats.mean_turns(),
        stats.invalid_action_rate(),
        anchors.normalize(stats.mean_return())
    );
    stats
}

const EVERY_START: Option<&str> = Some("(start: Cycle)");

#[test]
fn maze_fully_observed_bfs_expert_scores_the_optimum_over_the_25_starts() {
    let stats = stats("maze-fo-v0", EVERY_START, "expert", 25, 0);
    assert_eq!(stats.success_rate(), 1.0);
    assert!((stats.mean_return() - -6.84).abs() < 1e-12, "mean return {}", stats.mean_return());
    assert!((stats.mean_return() - envs::maze::FULLY_OBSERVED_ANCHORS.max).abs() < 1e-12);
}

#[test]
fn maze_fully_observed_expert_with_spaced_digits() {
    let stats = stats("maze-fo-v0", Some("(start: Cycle, numbers: SpacedDigits)"), "expert", 25, 0);
    assert!((stats.mean_return() - -6.84).abs() < 1e-12, "mean return {}", stats.mean_return());
}

#[test]
fn maze_partially_observed_expert_localises_and_reaches_the_goal_from_every_start() {
    let stats = stats("maze-po-v0", EVERY_START, "expert", 25, 0);
    assert_eq!(stats.success_rate(), 1.0);
    assert_eq!(stats.invalid_actions, 0);
    // Localising takes 0.4 moves more than the fully observed optimum on average.
    assert!((stats.mean_return() - -7.24).abs() < 1e-12, "mean return {}", stats.mean_return());
}

#[test]
fn maze_random_baselines() {
    for env in ["maze-fo-v0", "maze-po-v0"] {
        let stats = stats(env, None, "random", 1000, 0);
        assert!(stats.mean_return() < -50.0, "{env}: mean return {}", stats.mean_return());
    }
}

#[test]
fn maze_dataset_policy_stays_in_its_submaze_and_only_stem_starts_succeed() {
    for env in ["maze-fo-v0", "maze-po-v0"] {
        let played = records(env, None, "dataset", 400, 0);
        let mut stats = EpisodeStats::default();
        for record in &played {
            stats.add(record);
            let kind = envs::registry().make(env, None).unwrap();
            let episode = sim_core::Episode { index: record.episode, seed: record.seed };
            let start = envs::maze::start_cell(&envs::maze::MazeConfig::default(), episode);
            let part = agents::maze::submaze(start);
            let mut cell = start;
            for action in record.actions() {
                cell = envs::maze::layout::step(cell, envs::maze::parse_move(&action).unwrap());
                assert_eq!(agents::maze::submaze(cell), part, "{env} episode {} left its submaze", record.episode);
            }
            assert_eq!(record.success, cell == envs::maze::GOAL);
            if record.success {
                assert_eq!(part, 2, "only the stem holds the goal");
            }
            drop(kind);
        }
        println!(
            "{env} dataset (400 episodes, seed 0): mean return {:.2}, success {:.3}, mean turns {:.1}",
            stats.mean_return(),
            stats.success_rate(),
            stats.mean_turns()
        );
    }
    // Both variants play the same moves: the partially observed collector knows its position.
    let fully: Vec<Vec<String>> = records("maze-fo-v0", None, "dataset", 50, 3).iter().map(|r| r.actions()).collect();
    let partially: Vec<Vec<String>> =
        records("maze-po-v0", None, "dataset", 50, 3).iter().map(|r| r.actions()).collect();
    assert_eq!(fully, partially);
}

#[test]
fn maze_dataset_average_return() {
    let _ = stats("maze-fo-v0", None, "dataset", 2000, 0);
}

#[test]
fn text_nav_fully_observed_planner_always_succeeds() {
    let stats = stats("text_nav-fo-v0", None, "expert", 1000, 0);
    assert_eq!(stats.success_rate(), 1.0);
    assert_eq!(stats.invalid_actions, 0);
    let every_room = stats_every_room("text_nav-fo-v0");
    assert_eq!(every_room.success_rate(), 1.0);
}

fn stats_every_room(env: &str) -> EpisodeStats {
    stats(env, Some("(start: Cycle)"), "expert", 8, 0)
}

#[test]
fn text_nav_partially_observed_planner_localises_and_succeeds() {
    let stats = stats("text_nav-po-v0", None, "expert", 1000, 0);
    assert!(stats.success_rate() >= 0.95, "success {}", stats.success_rate());
    assert_eq!(stats_every_room("text_nav-po-v0").success_rate(), 1.0);
}

#[test]
fn text_nav_random_and_dataset_baselines() {
    for env in ["text_nav-fo-v0", "text_nav-po-v0"] {
        let random = stats(env, None, "random", 1000, 0);
        assert!(random.success_rate() < 0.2, "{env}: random success {}", random.success_rate());
        let dataset = stats(env, None, "dataset", 2500, 0);
        assert!(dataset.success_rate() > random.success_rate());
    }
}

#[test]
fn behaviour_policies_are_deterministic_per_episode_seed() {
    for env in ["maze-fo-v0", "maze-po-v0", "text_nav-fo-v0", "text_nav-po-v0"] {
        let kind = envs::registry().make(env, None).unwrap();
        let factory = agents::built_in("dataset", env).unwrap();
        let mut runs = Vec::new();
        for (batch_size, threads) in [(1, 1), (64, 2)] {
            let plan = RunPlan { seed: 5, first_episode: 0, episodes: 100, batch_size, threads, ..Default::default() };
            let mut played = Vec::new();
            run_episodes(&kind, &plan, factory.as_ref(), &mut |record| {
                played.push(record);
                Ok(())
            })
            .unwrap();
            played.sort_by_key(|record| record.episode);
            runs.push(played);
        }
        assert_eq!(runs[0], runs[1], "{env}");
    }
}

const LOOK_ALIKE: Option<&str> = Some("(layout: LookAlike)");
const LOOK_ALIKE_EVERY_START: Option<&str> = Some("(layout: LookAlike, start: Cycle)");

#[test]
fn text_nav_look_alike_house_makes_the_partially_observed_expert_walk_further() {
    // From every start room: the planner wins in both variants, and partially observed it
    // takes more steps, because from a passage it cannot tell which one it is in.
    let fully = stats("text_nav-fo-v0", LOOK_ALIKE_EVERY_START, "expert", 8, 0);
    let partially = stats("text_nav-po-v0", LOOK_ALIKE_EVERY_START, "expert", 8, 0);
    assert_eq!(fully.success_rate(), 1.0);
    assert_eq!(partially.success_rate(), 1.0);
    assert!(
        partially.mean_turns() > fully.mean_turns(),
        "partially observed {} turns, fully observed {}",
        partially.mean_turns(),
        fully.mean_turns()
    );
    // The same over random starts.
    let fully = stats("text_nav-fo-v0", LOOK_ALIKE, "expert", 1000, 0);
    let partially = stats("text_nav-po-v0", LOOK_ALIKE, "expert", 1000, 0);
    assert_eq!(partially.success_rate(), 1.0);
    assert!(partially.mean_turns() > fully.mean_turns() + 0.2);
}

#[test]
fn text_nav_look_alike_house_defeats_a_planner_without_memory() {
    // In LMRL-Gym's house one observation localises, so a memoryless planner is as good as
    // the expert; in the look-alike house, partially observed, it is not.
    let distinct = stats("text_nav-po-v0", None, "memoryless", 1000, 0);
    assert!(distinct.success_rate() >= 0.95, "distinct house: {}", distinct.success_rate());
    let memoryless = stats("text_nav-po-v0", LOOK_ALIKE, "memoryless", 1000, 0);
    let expert = stats("text_nav-po-v0", LOOK_ALIKE, "expert", 1000, 0);
    assert!(
        memoryless.success_rate() + 0.5 < expert.success_rate(),
        "memoryless {} vs expert {}",
        memoryless.success_rate(),
        expert.success_rate()
    );
}

#[test]
fn text_nav_look_alike_baselines() {
    for env in ["text_nav-fo-v0", "text_nav-po-v0"] {
        let random = stats(env, LOOK_ALIKE, "random", 1000, 0);
        let dataset = stats(env, LOOK_ALIKE, "dataset", 2500, 0);
        assert!(dataset.success_rate() > random.success_rate(), "{env}");
    }
}
