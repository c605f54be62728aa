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

/// A tiny behaviour-cloning training file for `maze-fo-v0` (seconds to train), writing its run
/// into `out`: `updates` updates, evaluated every `eval_every` on `eval_episodes` episodes.
/// `batch_size: 16` sits on line 5, where the tests break it on purpose.
pub fn tiny_training_file(
    out: &std::path::Path,
    updates: u32,
    eval_every: u32,
    eval_episodes: u32,
    seed: u64,
) -> String {
    format!(
        r#"(
    env: (id: "maze-fo-v0", config: (max_moves: 5)),
    policy: (model: (width: 16, layers: 1, heads: 2, mlp_width: 32, positions: 96), context: (lines: 1, max_bytes: 80), max_action_tokens: 12),
    init: Scratch,
    algorithm: Bc(batch_size: 16),
    dataset: Some(Generate(episodes: 8, seed: 0)),
    updates: {updates},
    eval: (every: {eval_every}, episodes: {eval_episodes}),
    seed: {seed},
    out: "{}",
)"#,
        out.display()
    )
}
