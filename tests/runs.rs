//! Runs of the real `scenarios` binary whose `summary.json` the paper-effect tests read: the
//! metrics a user gets from a run are the ones the effects are checked on.

use std::process::{Command, Stdio};

use serde_json::Value;

/// Plays `episodes` episodes of `env` (with its RON `config`, or the default) with a built-in
/// `agent` and `seed` through `scenarios <file.ron>`, and returns the run's `summary.json`.
pub fn summary(env: &str, config: Option<&str>, agent: &str, episodes: u64, seed: u64) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let config = config.map(|config| format!(", config: {config}")).unwrap_or_default();
    let file = dir.path().join("run.ron");
    std::fs::write(
        &file,
        format!(
            "(env: (id: {env:?}{config}), agent: {agent:?}, episodes: {episodes}, batch_size: 64, seed: {seed}, out: {:?})",
            out.display().to_string()
        ),
    )
    .unwrap();
    let output = Command::new(gym_tests::scenarios_binary()).arg(&file).stdin(Stdio::null()).output().unwrap();
    assert!(output.status.success(), "{env} {agent}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

/// The mean (or pooled ratio) of a metric in a summary.
pub fn metric(summary: &Value, name: &str) -> f64 {
    summary["metrics"][name]["mean"].as_f64().unwrap_or_else(|| panic!("no metric `{name}` in {summary}"))
}
