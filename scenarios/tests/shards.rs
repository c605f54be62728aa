//! A run split into shards and gathered by `ShardWriter` writes the same bytes as one run.

use scenarios::run::{ShardWriter, play_shard, run};
use scenarios::scenario::{load, resolve};

fn without_timing(json: &str) -> serde_json::Value {
    let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
    let object = value.as_object_mut().unwrap();
    object.remove("wall_seconds");
    object.remove("env_steps_per_second");
    value
}

#[test]
fn shards_gathered_in_order_equal_a_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let registry = envs::registry();
    let mut scenario = load(&resolve("twenty_questions_random").unwrap(), &registry).unwrap();
    scenario.episodes = 30;
    scenario.batch_size = 4;
    scenario.seed = 5;
    scenario.out = dir.path().join("single");
    run(scenario.clone()).unwrap();

    let sharded = dir.path().join("sharded");
    let mut writer = ShardWriter::create(&sharded, &scenario.env.spec().metrics).unwrap();
    for (first, episodes) in [(0, 7), (7, 12), (19, 11)] {
        let shard = play_shard(&scenario, first, episodes).unwrap();
        assert_eq!(shard.returns.len() as u64, episodes);
        writer.push(&shard.lines, &shard.returns, shard.env_steps).unwrap();
    }
    writer.finish(&scenario, 1.0).unwrap();

    let read = |folder: &std::path::Path, file: &str| std::fs::read_to_string(folder.join(file)).unwrap();
    assert_eq!(read(&sharded, "trajectories.jsonl"), read(&scenario.out, "trajectories.jsonl"));
    assert_eq!(without_timing(&read(&sharded, "summary.json")), without_timing(&read(&scenario.out, "summary.json")));
}

#[test]
fn shards_out_of_order_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let registry = envs::registry();
    let scenario = load(&resolve("twenty_questions_random").unwrap(), &registry).unwrap();
    let mut writer = ShardWriter::create(dir.path(), &[]).unwrap();
    let later = play_shard(&scenario, 3, 2).unwrap();
    let error = writer.push(&later.lines, &later.returns, later.env_steps).unwrap_err();
    assert!(error.to_string().contains("expected episode 0"), "{error}");
}
