//! End-to-end tests of the real `scenarios` binary in scratch folders: the main job, the
//! determinism of `trajectories.jsonl` across batch sizes and threads, the stdio agent
//! protocol, `list` and `bench`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The `scenarios` binary cargo built beside this test.
fn binary() -> PathBuf {
    gym_tests::scenarios_binary()
}

fn scenarios(args: &[&str]) -> Output {
    Command::new(binary()).args(args).stdin(Stdio::null()).output().unwrap()
}

fn run_to(out: &Path, extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["twenty_questions", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = scenarios(&args);
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    std::fs::read(out.join("trajectories.jsonl")).unwrap()
}

#[test]
fn main_job_writes_trajectories_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let output = scenarios(&["twenty_questions", "--episodes", "40", "--out", dir.path().to_str().unwrap()]);
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let table = String::from_utf8(output.stdout).unwrap();
    for row in ["success rate", "mean return", "mean turns", "normalized score", "env steps/s"] {
        assert!(table.contains(row), "summary table lacks {row}: {table}");
    }
    let summary: Value = serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
    for field in [
        "scenario",
        "env",
        "agent",
        "episodes",
        "seed",
        "success_rate",
        "mean_return",
        "mean_turns",
        "normalized_score",
        "env_steps",
        "wall_seconds",
    ] {
        assert!(summary.get(field).is_some(), "summary.json lacks {field}");
    }
    assert_eq!(summary["episodes"], 40);
    let win_rate = summary["endings"]["win"].as_f64().unwrap();
    assert_eq!(win_rate, summary["success_rate"].as_f64().unwrap(), "every success of the expert is a win ending");
    assert_eq!(summary["invalid_action_rate"], 0.0);
    assert_eq!(summary["env"], "twenty_questions-v0");
    let lines = std::fs::read_to_string(dir.path().join("trajectories.jsonl")).unwrap();
    let records: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 40);
    for (index, record) in records.iter().enumerate() {
        assert_eq!(record["episode"], index as u64, "episodes are written in index order");
        assert_eq!(record["schema"], "sim-core.trajectory/1");
        assert!(matches!(record["ending"].as_str(), Some("win" | "out_of_questions")), "{}", record["ending"]);
    }
    let steps: u64 = records.iter().map(|r| r["turns"].as_u64().unwrap()).sum();
    assert_eq!(summary["env_steps"], steps);
}

#[test]
fn trajectories_are_byte_identical_across_batch_sizes_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let reference = run_to(&dir.path().join("a"), &["--episodes", "150", "--batch-size", "1", "--threads", "1"]);
    for (batch, threads) in [("7", "1"), ("7", "2"), ("64", "2"), ("64", "1")] {
        let out = dir.path().join(format!("b{batch}t{threads}"));
        let other = run_to(&out, &["--episodes", "150", "--batch-size", batch, "--threads", threads]);
        assert!(reference == other, "batch size {batch}, {threads} threads changed trajectories.jsonl");
    }
    let reseeded = run_to(&dir.path().join("c"), &["--episodes", "150", "--seed", "9"]);
    assert!(reference != reseeded, "the seed flag changed nothing");
}

#[test]
fn random_agent_flag_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    run_to(dir.path(), &["--episodes", "5", "--agent", "random"]);
    let summary: Value = serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["agent"], "random");
}

/// Starts `scenarios twenty_questions --agent stdio` with piped standard streams.
fn spawn_stdio_run(out: &Path, episodes: &str, batch_size: &str) -> std::process::Child {
    Command::new(binary())
        .args(["twenty_questions", "--agent", "stdio", "--episodes", episodes, "--batch-size", batch_size])
        .args(["--out", out.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// An external agent written against the documented protocol: it asks "Is it alive?" and
/// then guesses a dog, answering requests in reverse order to exercise matching by id.
#[test]
fn stdio_agent_plays_over_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_stdio_run(dir.path(), "6", "3");
    let mut to_runner = child.stdin.take().unwrap();
    let mut from_runner = BufReader::new(child.stdout.take().unwrap());
    let mut requests = 0;
    let mut pending = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if from_runner.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let request: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(request["protocol"], "sim-core.stdio/1");
        assert_eq!(request["env"], "twenty_questions-v0");
        let transcript = request["transcript"].as_array().unwrap();
        assert_eq!(transcript.last().unwrap()["text"], request["observation"]);
        requests += 1;
        pending.push(request);
        // The runner sends one request per live episode, then waits for all replies.
        let batch = pending.len();
        let waiting_for_more = from_runner.buffer().contains(&b'\n');
        if !waiting_for_more {
            for request in pending.drain(..).rev() {
                let action = if request["turn"] == 0 { "Is it alive?" } else { "Is it a dog?" };
                writeln!(to_runner, "{}", serde_json::json!({"episode": request["episode"], "action": action}))
                    .unwrap();
            }
            to_runner.flush().unwrap();
            assert!(batch <= 3);
        }
    }
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "stderr: {stderr}");
    assert!(stderr.contains("mean return"), "the summary goes to stderr in stdio mode: {stderr}");
    let records = std::fs::read_to_string(dir.path().join("trajectories.jsonl")).unwrap();
    assert_eq!(records.lines().count(), 6);
    assert!(requests >= 6);
}

#[test]
fn stdio_garbage_stops_the_run_with_a_clear_error_and_valid_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_stdio_run(dir.path(), "4", "1");
    {
        let mut to_runner = child.stdin.take().unwrap();
        let mut from_runner = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        // Finish episode 0 properly: guess until done (the runner asks again while it lasts).
        from_runner.read_line(&mut line).unwrap();
        let mut answered = 0;
        loop {
            let request: Value = serde_json::from_str(&line).unwrap();
            if request["episode"] != 0 {
                break;
            }
            writeln!(to_runner, "{}", serde_json::json!({"episode": 0, "action": "Is it a dog?"})).unwrap();
            answered += 1;
            line.clear();
            if from_runner.read_line(&mut line).unwrap() == 0 {
                break;
            }
        }
        assert!(answered >= 1);
        to_runner.write_all(b"this is not json\n").unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("reply line") && stderr.contains("this is not json"), "stderr: {stderr}");
    let written = std::fs::read_to_string(dir.path().join("trajectories.jsonl")).unwrap();
    assert_eq!(written.lines().count(), 1, "episode 0 finished before the garbage");
    for line in written.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        assert_eq!(record["episode"], 0);
    }
}

#[test]
fn list_names_every_scenario_with_its_env() {
    let output = scenarios(&["list"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let rows: Vec<(&str, &str)> = text.lines().map(|l| l.split_once('\t').unwrap()).collect();
    assert!(rows.contains(&("twenty_questions", "twenty_questions-v0")), "{text}");
    assert!(rows.contains(&("twenty_questions_random", "twenty_questions-v0")), "{text}");
}

#[test]
fn bench_reports_steps_per_second_as_one_json_line() {
    let output = scenarios(&["bench", "twenty_questions-v0", "--seconds", "0.3"]);
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(text.lines().count(), 1);
    let report: Value = serde_json::from_str(text.trim()).unwrap();
    for field in ["single_thread_steps_per_sec", "batched_steps_per_sec", "single_env_steps_per_sec"] {
        assert!(report[field].as_f64().unwrap() > 0.0, "{field} missing or zero: {text}");
    }
}

fn dataset(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["dataset", "wordle-v0", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    scenarios(&args)
}

#[test]
fn dataset_writes_trajectories_with_rewards_and_done_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("wordle.jsonl");
    let output = dataset(&path, &["--episodes", "50", "--seed", "3"]);
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["trajectories"], 50);
    assert_eq!(summary["agent"], "dataset");
    let text = std::fs::read_to_string(&path).unwrap();
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 50);
    let mut total = 0.0;
    for (index, record) in records.iter().enumerate() {
        assert_eq!(record["schema"], "sim-core.trajectory/1");
        assert_eq!(record["episode"], index as u64);
        let rewards = record["rewards"].as_array().unwrap();
        assert_eq!(rewards.len() as u64, record["turns"].as_u64().unwrap());
        let sum: f64 = rewards.iter().map(|r| r.as_f64().unwrap()).sum();
        assert_eq!(sum, record["return"].as_f64().unwrap());
        assert!(record["terminated"].as_bool().unwrap() != record["truncated"].as_bool().unwrap());
        total += sum;
    }
    assert!((total / 50.0 - summary["avg_return"].as_f64().unwrap()).abs() < 1e-9);
}

#[test]
fn dataset_is_identical_across_batch_sizes_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, extra) in
        [("a", ["--batch-size", "1", "--threads", "1"]), ("b", ["--batch-size", "16", "--threads", "2"])]
    {
        let path = dir.path().join(name);
        let mut args = vec!["--episodes", "40", "--format", "steps"];
        args.extend_from_slice(&extra);
        let output = dataset(&path, &args);
        assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
        files.push(std::fs::read(&path).unwrap());
    }
    assert_eq!(files[0], files[1]);
    let steps: Vec<Value> =
        String::from_utf8(files.remove(0)).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(steps[0]["schema"], "sim-core.steps/1");
    assert_eq!(steps[0]["step"], 0);
    let episodes_done = steps.iter().filter(|step| step["done"] == true).count();
    assert_eq!(episodes_done, 40, "one done step per episode");
}

#[test]
fn dataset_refuses_an_env_without_a_behaviour_policy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chess.jsonl");
    let output = scenarios(&["dataset", "chess-v0", "--episodes", "2", "--out", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no offline-dataset behaviour policy") && stderr.contains("wordle-v0"), "{stderr}");
    assert!(!path.exists());
}

#[test]
fn wordle_scenarios_run_and_are_listed() {
    let text = String::from_utf8(scenarios(&["list"]).stdout).unwrap();
    for name in ["wordle", "wordle_random"] {
        assert!(text.lines().any(|line| line == format!("{name}\twordle-v0")), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let output = scenarios(&[name, "--episodes", "30", "--out", dir.path().to_str().unwrap()]);
        assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
        let summary: Value = serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["episodes"], 30);
        assert!(summary["normalized_score"].as_f64().is_some());
        if name == "wordle" {
            assert_eq!(summary["success_rate"], 1.0);
            assert_eq!(summary["invalid_action_rate"], 0.0);
        }
    }
}

/// `scenarios train`: a bad training file exits 2 naming file, line and column; a tiny one
/// trains, and its checkpoint plays as `--agent policy:<folder>`, identically for every batch
/// size.
#[test]
fn train_reports_bad_files_and_its_checkpoint_plays() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("tiny.ron");
    let out = dir.path().join("train");
    std::fs::write(&good, gym_tests::tiny_training_file(&out, 4, 2, 4, 3)).unwrap();
    let bad = dir.path().join("bad.ron");
    std::fs::write(&bad, std::fs::read_to_string(&good).unwrap().replace("batch_size: 16", "batch_size: 0")).unwrap();
    let output = scenarios(&["train", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("{}:5:", bad.display())), "the line of batch_size: {stderr}");
    let output = scenarios(&["train", good.to_str().unwrap()]);
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["updates"], 4);
    for file in ["metrics.jsonl", "timing.jsonl", "curve.svg", "train.ron", "checkpoint/model.safetensors"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let agent = format!("policy:{}", out.join("checkpoint").display());
    let play = |batch: &str, name: &str| {
        let run = dir.path().join(name);
        let output = scenarios(&[
            "maze_fo",
            "--agent",
            &agent,
            "--episodes",
            "5",
            "--batch-size",
            batch,
            "--out",
            run.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
        std::fs::read(run.join("trajectories.jsonl")).unwrap()
    };
    assert_eq!(play("1", "one"), play("4", "four"));
    let missing = scenarios(&["maze_fo", "--agent", "policy:/nonexistent/checkpoint", "--episodes", "1"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("policy.json"));
}
