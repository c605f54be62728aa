//! Helpers shared by the workspace tests (the modules of the `gym` test binary, `main.rs`).

use std::path::PathBuf;

/// The `scenarios` binary cargo built beside the running test (`target/<profile>/scenarios`).
///
/// # Panics
/// When it is missing: the tests must run through `cargo test --workspace`, which builds it.
pub fn scenarios_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("tests run from target/<profile>/deps");
    let path = dir.join(format!("scenarios{}", std::env::consts::EXE_SUFFIX));
    assert!(path.is_file(), "{} is missing: run the tests with `cargo test --workspace`", path.display());
    path
}

/// Plays `episodes` episodes of a registered env (with an optional RON config) with a built-in
/// agent, episodes `0..episodes` of `seed`, and returns their records in episode order.
///
/// # Panics
/// On an unknown env, config or agent, or a failed run: tests call it with fixed arguments.
pub fn play_records(
    env: &str,
    config: Option<&str>,
    agent: &str,
    seed: u64,
    episodes: u64,
    batch_size: usize,
) -> Vec<sim_core::EpisodeRecord> {
    let kind = envs::registry().make(env, config).unwrap();
    let factory = agents::built_in(agent, env).unwrap();
    let plan = sim_core::RunPlan { seed, first_episode: 0, episodes, batch_size, threads: 1, ..Default::default() };
    let mut records = Vec::new();
    sim_core::run_episodes(&kind, &plan, factory.as_ref(), &mut |record| {
        records.push(record);
        Ok(())
    })
    .unwrap();
    records.sort_by_key(|r| r.episode);
    records
}
