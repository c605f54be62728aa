//! Robustness of the `scenarios` binary at scale (issue #23): a closed stdout ends every
//! printing subcommand quietly; the stdio runner never deadlocks on long replies; the maximum
//! action size; the stdio protocol's delta mode gives the trajectories of full mode.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

fn binary() -> std::path::PathBuf {
    gym_tests::scenarios_binary()
}

/// Runs the binary with its standard output closed before it writes anything (the reader of
/// `scenarios ... | head -0`): it must exit 0 and print no panic.
fn assert_quiet_on_closed_stdout(args: &[&str]) {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{args:?} on a closed stdout: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
}

#[test]
fn list_bench_run_and_dataset_end_quietly_on_a_closed_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let data = dir.path().join("data.jsonl");
    assert_quiet_on_closed_stdout(&["list"]);
    assert_quiet_on_closed_stdout(&["bench", "twenty_questions-v0", "--seconds", "0.2"]);
    assert_quiet_on_closed_stdout(&["twenty_questions", "--episodes", "3", "--out", run.to_str().unwrap()]);
    assert!(run.join("summary.json").is_file(), "the run finished its work before printing");
    assert_quiet_on_closed_stdout(&["dataset", "wordle-v0", "--episodes", "3", "--out", data.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&data).unwrap().lines().count(), 3);
}

#[test]
fn serve_and_train_end_quietly_on_a_closed_stdout() {
    assert_quiet_on_closed_stdout(&["serve", "--addr", "127.0.0.1:0"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tiny.ron");
    std::fs::write(&file, gym_tests::tiny_training_file(&dir.path().join("train"), 1, 1, 2, 1)).unwrap();
    assert_quiet_on_closed_stdout(&["train", file.to_str().unwrap()]);
}

/// What a stdio run left: its exit status, stderr and requests seen.
struct StdioRun {
    success: bool,
    stderr: String,
    requests: Vec<Value>,
}

/// Plays `args` with a stdio agent that answers every request the moment it reads it (one
/// thread, no buffering of requests: the agent docs/protocol.md describes), with the action
/// `answer` gives. The run must end within `deadline`, or the test fails (a deadlock).
fn play_over_stdio(
    args: &[&str],
    deadline: Duration,
    answer: impl Fn(&Value, &mut Vec<Value>) -> Arc<str> + Send + 'static,
) -> StdioRun {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_runner = child.stdin.take().unwrap();
    let from_runner = BufReader::new(child.stdout.take().unwrap());
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let agent = std::thread::spawn(move || {
        let mut requests = Vec::new();
        let mut memory = Vec::new();
        for line in from_runner.lines() {
            let Ok(line) = line else { break };
            let request: Value = serde_json::from_str(&line).unwrap();
            let action = answer(&request, &mut memory);
            let reply = format!("{{\"episode\":{},\"action\":{}}}\n", request["episode"], Value::from(&*action));
            requests.push(request);
            if to_runner.write_all(reply.as_bytes()).and_then(|()| to_runner.flush()).is_err() {
                break;
            }
        }
        requests
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the stdio run did not finish within {deadline:?}: deadlocked");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    StdioRun { success: status.success(), stderr: stderr.join().unwrap(), requests: agent.join().unwrap() }
}

/// A scenario file in `dir`.
fn scenario_file(dir: &Path, text: &str) -> String {
    let path = dir.join("scenario.ron");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn records(out: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(out.join("trajectories.jsonl")).unwrap();
    text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// Replies far larger than a pipe buffer, answered as each request arrives, at batch size 64:
/// the second step's requests (each carrying the first, clipped, 64 KiB action) cannot all be
/// written before the agent's first reply is read, so a runner that wrote every request before
/// reading would deadlock.
fn long_replies_finish(reply_bytes: usize, episodes: u64) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let file = scenario_file(
        dir.path(),
        &format!(
            r#"(env: (id: "maze-fo-v0", config: (max_moves: 2)), agent: "stdio", episodes: {episodes}, batch_size: 64, seed: 0)"#
        ),
    );
    let action: Arc<str> = Arc::from("m".repeat(reply_bytes));
    let reply = Arc::clone(&action);
    let run = play_over_stdio(&[&file, "--out", out.to_str().unwrap()], Duration::from_secs(120), move |_, _| {
        Arc::clone(&reply)
    });
    assert!(run.success, "stderr: {}", run.stderr);
    assert_eq!(run.requests.len() as u64, 2 * episodes, "two moves per episode");
    let records = records(&out);
    assert_eq!(records.len() as u64, episodes);
    let marker = format!("… [truncated: {reply_bytes} bytes]");
    for (index, record) in records.iter().enumerate() {
        assert_eq!(record["episode"], index as u64);
        assert_eq!(record["turns"], 2);
        assert_eq!(record["invalid_actions"], 2, "an over-long action is invalid");
        let actions: Vec<&str> = record["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["kind"] == "action")
            .map(|entry| entry["text"].as_str().unwrap())
            .collect();
        assert_eq!(actions.len(), 2);
        for stored in actions {
            let kept = stored.strip_suffix(&marker).unwrap_or_else(|| panic!("not clipped: {} bytes", stored.len()));
            assert_eq!(kept.len(), sim_core::DEFAULT_MAX_ACTION_BYTES);
        }
    }
}

#[test]
fn stdio_replies_of_one_mib_at_batch_64_finish() {
    long_replies_finish(1 << 20, 64);
}

#[test]
fn stdio_replies_of_sixteen_mib_at_batch_64_finish() {
    long_replies_finish(16 << 20, 8);
}

/// The questions the memory agent below chooses from.
const QUESTIONS: [&str; 5] =
    ["Is it alive?", "Is it an animal?", "Is it a dog?", "Is it made of metal?", "Is it a car?"];

/// An agent that keeps each episode's transcript from the requests (the whole transcript in
/// full mode; `from` and `entries` in delta mode) and picks its question from all of it, so a
/// transcript rebuilt wrongly changes the actions.
fn remembering_agent(request: &Value, memory: &mut Vec<Value>) -> Arc<str> {
    let episode = request["episode"].as_u64().unwrap() as usize;
    if memory.len() <= episode {
        memory.resize(episode + 1, Value::Array(Vec::new()));
    }
    let transcript = memory[episode].as_array_mut().unwrap();
    if let Some(full) = request.get("transcript") {
        *transcript = full.as_array().unwrap().clone();
    } else {
        let from = request["from"].as_u64().unwrap() as usize;
        transcript.truncate(from);
        transcript.extend(request["entries"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(transcript.last().unwrap()["text"], request["observation"]);
    let digest: usize =
        transcript.iter().flat_map(|entry| entry["text"].as_str().unwrap().bytes()).map(usize::from).sum();
    Arc::from(QUESTIONS[digest % QUESTIONS.len()])
}

#[test]
fn delta_mode_gives_the_trajectories_of_full_mode() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for agent in ["stdio", "stdio:delta"] {
        let out = dir.path().join(agent.replace(':', "_"));
        let args = [
            "twenty_questions",
            "--agent",
            agent,
            "--episodes",
            "7",
            "--batch-size",
            "3",
            "--out",
            out.to_str().unwrap(),
        ];
        let run = play_over_stdio(&args, Duration::from_secs(60), remembering_agent);
        assert!(run.success, "{agent}: {}", run.stderr);
        if agent == "stdio:delta" {
            for request in &run.requests {
                assert!(request.get("transcript").is_none(), "delta requests carry no whole transcript");
                let new = request["entries"].as_array().unwrap().len();
                assert!(if request["turn"] == 0 { new == 1 } else { new == 2 }, "{request}");
            }
        }
        runs.push(std::fs::read(out.join("trajectories.jsonl")).unwrap());
    }
    assert!(!runs[0].is_empty());
    assert!(runs[0] == runs[1], "delta mode changed trajectories.jsonl");
}

/// `max_action_bytes` in a scenario file: a longer action is invalid, penalised like the empty
/// action and stored clipped; the summary records the limit.
#[test]
fn a_scenario_sets_the_maximum_action_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let file = scenario_file(
        dir.path(),
        r#"(env: (id: "twenty_questions-v0", config: (max_questions: 2)), agent: "stdio", episodes: 2, batch_size: 2, seed: 0, max_action_bytes: 8)"#,
    );
    let run = play_over_stdio(&[&file, "--out", out.to_str().unwrap()], Duration::from_secs(60), |_, _| {
        Arc::from("Is it a dog?")
    });
    assert!(run.success, "{}", run.stderr);
    let summary: Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["max_action_bytes"], 8);
    assert_eq!(summary["invalid_action_rate"], 1.0);
    for record in records(&out) {
        let entries = record["transcript"].as_array().unwrap();
        let action = entries.iter().find(|entry| entry["kind"] == "action").unwrap();
        assert_eq!(action["text"], "Is it a … [truncated: 12 bytes]");
        let answer = &entries[2];
        assert!(answer["text"].as_str().unwrap().starts_with("Your action was 12 bytes long"), "{answer}");
    }
}
