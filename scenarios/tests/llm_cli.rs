//! `--agent llm --model PATH` on a scenario, with a tiny random model in Hugging Face layout
//! (no download): the run writes token-in/token-out records.

use std::process::Command;

#[test]
fn the_llm_agent_runs_any_scenario_with_a_model_folder() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    agents_llm::tiny::write_random_model(&model, 1).unwrap();
    let out = dir.path().join("run");
    // Five questions of at most eight tokens keep the episode inside the tiny model's context.
    let scenario = dir.path().join("short.ron");
    std::fs::write(
        &scenario,
        r#"(
            env: (id: "twenty_questions-v0", config: (max_questions: 5)),
            agent: "expert",
            llm: (max_new_tokens: 8),
            episodes: 2,
            batch_size: 2,
            threads: 1,
            seed: 0,
        )"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_scenarios"))
        .arg(&scenario)
        .args(["--agent", "llm", "--model"])
        .arg(&model)
        .arg("--out")
        .arg(&out)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let trajectories = std::fs::read_to_string(out.join("trajectories.jsonl")).unwrap();
    assert_eq!(trajectories.lines().count(), 2);
    for line in trajectories.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let actions: Vec<&serde_json::Value> =
            record["transcript"].as_array().unwrap().iter().filter(|e| e["kind"] == "action").collect();
        assert_eq!(actions.len(), 5, "the scenario asks five questions");
        for action in actions {
            let tokens = &action["tokens"];
            let sampled = tokens["token_ids"].as_array().unwrap().len();
            assert!((1..=8).contains(&sampled));
            assert_eq!(tokens["logprobs"].as_array().unwrap().len(), sampled);
            let prompt = tokens["prompt_ids"].as_array().unwrap().len();
            assert_eq!(tokens["loss_mask"].as_array().unwrap().len(), prompt + sampled);
        }
    }
}

/// `bench-llm` ends quietly (exit 0, no panic) when its standard output is closed.
#[test]
fn bench_llm_ends_quietly_on_a_closed_stdout() {
    let dir = tempfile::tempdir().unwrap();
    agents_llm::tiny::write_random_model(dir.path(), 1).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scenarios"))
        .arg("bench-llm")
        .arg("--model")
        .arg(dir.path())
        .env("LM_GYM_BENCH_BATCHES", "1")
        .env("RAYON_NUM_THREADS", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
}
