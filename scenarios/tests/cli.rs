//! Bad scenario files fail with exit code 2 and a message naming file, line and column.

use std::process::Command;

fn run_file(text: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.ron");
    std::fs::write(&path, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_scenarios"))
        .arg(&path)
        .args(["--out", dir.path().join("run").to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr.replace(&path.display().to_string(), "broken.ron"))
}

#[test]
fn unknown_field_names_its_position() {
    let (code, stderr) = run_file(
        "(\n    env: (id: \"twenty_questions-v0\"),\n    agent: \"expert\",\n    episodes: 2,\n    seed: 0,\n    colour: 3,\n)\n",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("broken.ron:6:"), "{stderr}");
    assert!(stderr.contains("colour"), "{stderr}");
}

#[test]
fn wrong_type_names_its_position() {
    let (code, stderr) = run_file(
        "(\n    env: (id: \"twenty_questions-v0\"),\n    agent: \"expert\",\n    episodes: \"many\",\n    seed: 0,\n)\n",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("broken.ron:4:"), "{stderr}");
}

#[test]
fn unknown_env_id_names_its_position() {
    let (code, stderr) =
        run_file("(\n    env: (id: \"chess-v9\"),\n    agent: \"expert\",\n    episodes: 2,\n    seed: 0,\n)\n");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("broken.ron:2:15"), "{stderr}");
    assert!(stderr.contains("chess-v9") && stderr.contains("twenty_questions-v0"), "{stderr}");
}

#[test]
fn bad_env_config_field_names_its_position_in_the_file() {
    let text = "(\n    env: (\n        id: \"twenty_questions-v0\",\n        config: (\n            max_questions: 20,\n            max_guesses: 3,\n        ),\n    ),\n    agent: \"expert\",\n    episodes: 2,\n    seed: 0,\n)\n";
    let (code, stderr) = run_file(text);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("broken.ron:6:"), "{stderr}");
    assert!(stderr.contains("max_guesses"), "{stderr}");
}

#[test]
fn unknown_agent_is_a_configuration_error() {
    let (code, stderr) = run_file("(env: (id: \"twenty_questions-v0\"), agent: \"oracle\", episodes: 2, seed: 0)");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("expert"), "{stderr}");
}

#[test]
fn unknown_scenario_name_is_reported() {
    let output = Command::new(env!("CARGO_BIN_EXE_scenarios")).arg("no_such_scenario").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no scenario `no_such_scenario`"));
}
