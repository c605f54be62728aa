//! Golden transcripts: fixed seeds and agents, compared line by line with files under
//! `tests/golden/<env-id>/`. After an intended change of dynamics, regenerate them with
//! `UPDATE_GOLDEN=1 cargo test -p gym-tests --test gym golden::` and review the diff.

use std::path::PathBuf;

use sim_core::EpisodeRecord;

fn render(record: &EpisodeRecord) -> String {
    let mut out = format!("# {} episode {} seed {}\n", record.env, record.episode, record.seed);
    for entry in record.transcript.entries() {
        let speaker = format!("{:?}/{:?}", entry.speaker, entry.kind).to_lowercase();
        out.push_str(&format!("[{speaker}] {}\n", entry.text));
    }
    out.push_str(&format!(
        "= return {} turns {} success {} terminated {} truncated {} hidden {:?}\n",
        record.episode_return, record.turns, record.success, record.terminated, record.truncated, record.hidden
    ));
    if !record.metrics.is_empty() {
        out.push_str(&format!("= metrics {}\n", serde_json::to_string(&record.metrics).unwrap()));
    }
    out.push('\n');
    out
}

fn transcripts(env: &str, agent: &str, seed: u64, episodes: u64) -> String {
    let records = gym_tests::play_records(env, None, agent, seed, episodes, 4);
    records.iter().map(render).collect()
}

fn check(env: &str, agent: &str, seed: u64, episodes: u64) {
    compare(&transcripts(env, agent, seed, episodes), env, &format!("{agent}-seed{seed}.txt"));
}

/// A golden case with a config (RON), stored as `<name>.txt`.
fn check_config(env: &str, config: &str, agent: &str, seed: u64, episodes: u64, name: &str) {
    let records = gym_tests::play_records(env, Some(config), agent, seed, episodes, 4);
    compare(&records.iter().map(render).collect::<String>(), env, &format!("{name}.txt"));
}

fn compare(actual: &str, env: &str, file: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden").join(env).join(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1 to create it", path.display()));
    for (number, (want, got)) in expected.lines().zip(actual.lines()).enumerate() {
        assert_eq!(want, got, "{}:{}: transcript differs", path.display(), number + 1);
    }
    assert_eq!(expected.lines().count(), actual.lines().count(), "{}: length differs", path.display());
}

#[test]
fn twenty_questions_expert() {
    check("twenty_questions-v0", "expert", 0, 3);
    check("twenty_questions-v0", "expert", 1, 3);
}

#[test]
fn twenty_questions_random() {
    check("twenty_questions-v0", "random", 0, 2);
}

#[test]
fn twenty_questions_scripted_free_form() {
    check("twenty_questions-v0", "scripted", 0, 2);
}

#[test]
fn chess_random_and_scripted() {
    check("chess-v0", "random", 0, 2);
    check("chess-v0", "scripted", 0, 1);
}

#[test]
fn chess_expert() {
    check("chess-v0", "expert", 0, 1);
}

#[test]
fn chess_endgames_expert_and_random() {
    check("chess_endgames-v0", "expert", 0, 3);
    check("chess_endgames-v0", "random", 0, 2);
}

#[test]
fn wordle_expert_random_and_dataset() {
    check("wordle-v0", "expert", 0, 3);
    check("wordle-v0", "random", 0, 1);
    check("wordle-v0", "dataset", 0, 2);
}

#[test]
fn maze_experts_random_and_dataset() {
    check("maze-fo-v0", "expert", 0, 2);
    check("maze-po-v0", "expert", 0, 2);
    check("maze-po-v0", "random", 0, 1);
    check("maze-fo-v0", "dataset", 0, 1);
}

#[test]
fn text_nav_planner_random_and_dataset() {
    check("text_nav-fo-v0", "expert", 0, 2);
    check("text_nav-po-v0", "expert", 0, 2);
    check("text_nav-fo-v0", "random", 0, 1);
    check("text_nav-po-v0", "dataset", 0, 1);
}

#[test]
fn tool_feedback_noisy_expert_and_immediate() {
    check("tool_feedback-v0", "noisy", 0, 4);
    check("tool_feedback-v0", "expert", 0, 2);
    check("tool_feedback-v0", "immediate", 0, 2);
}

#[test]
fn guess_my_city_expert() {
    check("guess_my_city-v0", "expert", 0, 3);
}

#[test]
fn guess_my_city_random() {
    check("guess_my_city-v0", "random", 0, 1);
}

#[test]
fn guess_my_city_scripted_free_form() {
    check("guess_my_city-v0", "scripted", 0, 2);
}

#[test]
fn car_dealer_expert() {
    check("car_dealer-v0", "expert", 0, 3);
}

#[test]
fn car_dealer_random() {
    check("car_dealer-v0", "random", 0, 2);
}

#[test]
fn car_dealer_scripted_free_form() {
    check("car_dealer-v0", "scripted", 0, 2);
}

#[test]
fn robot_correction_planner_oracle_and_random() {
    check("robot_correction-v0", "planner", 0, 3);
    check("robot_correction-v0", "oracle", 0, 2);
    check("robot_correction-v0", "random", 0, 2);
}

#[test]
fn robot_memory_campaign() {
    check("robot_memory-v0", "memory", 0, 1);
}

#[test]
fn data_teacher_weakest() {
    check("data_teacher-v0", "weakest", 0, 1);
}

#[test]
fn reco_feed_clickbait_and_random() {
    check("reco_feed-v0", "clickbait", 0, 2);
    check("reco_feed-v0", "random", 0, 1);
}

#[test]
fn conv_rec_graph_pruned_and_max_entropy() {
    check("conv_rec-v0", "graph_pruned", 0, 2);
    check("conv_rec-v0", "max_entropy", 0, 1);
}

#[test]
fn search_feedback_feedback_append_asker_and_query_only() {
    check("search_feedback-v0", "feedback_append", 0, 3);
    check("search_feedback-v0", "asker", 0, 2);
    check("search_feedback-v0", "query_only", 0, 1);
}

#[test]
fn search_feedback_stagewise_planner() {
    let config = "(stagewise: true, leak: 1)";
    check_config("search_feedback-v0", config, "stagewise_planner", 0, 3, "stagewise_planner-seed0");
}
