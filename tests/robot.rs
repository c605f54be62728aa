//! Fidelity tests of `robot_correction-v0` and `robot_memory-v0` (fixed seeds, stated margins):
//! DROC's "half the corrections" for the memory agent, the oracle as the lower bound on
//! interventions, live corrections raising success (YAY Robot), and hidden state staying hidden.

use envs::robot::report::{CampaignSummary, campaign_tasks, corrections_per_task_by_iteration, summarise};
use sim_core::{EpisodeRecord, Kind, Speaker};

fn play(env: &str, config: Option<&str>, agent: &str, episodes: u64, seed: u64) -> Vec<EpisodeRecord> {
    gym_tests::play_records(env, config, agent, seed, episodes, 16)
}

fn campaigns(agent: &str) -> (CampaignSummary, Vec<f64>) {
    let records = play("robot_memory-v0", None, agent, 100, 0);
    (summarise(&records), corrections_per_task_by_iteration(&records))
}

/// DROC: the memory agent needs at least 50% fewer corrections per task in iteration 2 than in
/// iteration 1 (measured: 5.29 → 1.45 → 0.89 over 100 campaigns, seed 0), and fewer than the
/// planner without memory overall (measured: 2.54 against 6.44 per task).
#[test]
fn memory_agent_halves_corrections_and_beats_the_planner() {
    // The effect as a user reads it: summary.json of real runs.
    let run = |agent| crate::runs::summary("robot_memory-v0", None, agent, 100, 0);
    let (memory_run, planner_run) = (run("memory"), run("planner"));
    let per_iteration = |summary: &serde_json::Value| -> Vec<f64> {
        (1..=3).map(|i| crate::runs::metric(summary, &format!("corrections_per_task_iteration_{i}"))).collect()
    };
    let (by_iteration, planner_by_iteration) = (per_iteration(&memory_run), per_iteration(&planner_run));
    // The typed metrics and the transcript's task lines tell the same story.
    let (memory, memory_from_transcripts) = campaigns("memory");
    assert_eq!(by_iteration, memory_from_transcripts, "typed metrics against the transcript's tasks");
    let metric = crate::runs::metric;
    assert!((metric(&memory_run, "corrections_per_task") - memory.corrections_per_task).abs() < 1e-9);
    assert!(by_iteration[1] <= 0.5 * by_iteration[0], "corrections per task by iteration: {by_iteration:?}");
    assert!(by_iteration[2] <= by_iteration[1], "corrections per task by iteration: {by_iteration:?}");
    assert!(
        metric(&memory_run, "corrections_per_task") < metric(&planner_run, "corrections_per_task"),
        "memory {memory_run}, planner {planner_run}"
    );
    // Without memory nothing carries over: iteration 2 is no better than iteration 1 by more than noise.
    assert!(planner_by_iteration[1] >= 0.9 * planner_by_iteration[0], "planner: {planner_by_iteration:?}");
    assert!(metric(&memory_run, "task_success_rate") >= metric(&planner_run, "task_success_rate"));
}

/// The oracle knows the hidden errors and preferences: no correction, every task done.
#[test]
fn oracle_needs_no_corrections() {
    let (oracle, _) = campaigns("oracle");
    assert_eq!(oracle.corrections_per_task, 0.0);
    assert_eq!(oracle.task_success_rate, 1.0);
    let records = play("robot_correction-v0", None, "oracle", 200, 1);
    assert!(records.iter().all(|r| r.success && r.episode_return == 1.0));
}

/// YAY Robot: live corrections raise the success of the same high-level policy.
#[test]
fn live_corrections_raise_success() {
    let with = summarise(&play("robot_correction-v0", None, "planner", 300, 0));
    let lazy = summarise(&play("robot_correction-v0", Some("(intervention_probability: 0.5)"), "planner", 300, 0));
    let without = summarise(&play("robot_correction-v0", Some("(intervention_probability: 0.0)"), "planner", 300, 0));
    assert_eq!(without.corrections_per_task, 0.0);
    assert!(with.task_success_rate >= without.task_success_rate + 0.3, "with {with:?}, without {without:?}");
    assert!(lazy.corrections_per_task < with.corrections_per_task);
    assert!(lazy.task_success_rate > without.task_success_rate);
}

/// The intervention budget caps the corrections of every task.
#[test]
fn intervention_budget_caps_corrections() {
    let records = play("robot_correction-v0", Some("(intervention_budget: 2)"), "random", 100, 0);
    for record in &records {
        for task in campaign_tasks(record) {
            assert!(task.corrections <= 2, "episode {}: {task:?}", record.episode);
        }
    }
}

/// Task boundaries in the transcript give every task of every campaign.
#[test]
fn the_record_gives_every_task() {
    for record in play("robot_memory-v0", None, "planner", 10, 3) {
        let tasks = campaign_tasks(&record);
        assert_eq!(tasks.len(), 6, "episode {}", record.episode);
        assert_eq!(tasks.iter().map(|t| t.iteration).collect::<Vec<_>>(), vec![1, 1, 2, 2, 3, 3]);
        let corrections = record.transcript.entries().iter().filter(|e| e.kind == Kind::Feedback).count();
        assert_eq!(tasks.iter().map(|t| t.corrections as usize).sum::<usize>(), corrections);
        assert_eq!(record.success, tasks.iter().all(|t| t.success));
    }
}

/// What the env says never gives away the hidden calibration, preferences or frame: no word
/// about biases or preferences, no gripper coordinates (a miss's error cannot be read off), and
/// no object's home named before the human names it in that task.
#[test]
fn hidden_state_never_appears() {
    let config = "(tabletop: (frame_mismatch_probability: 0.5, intervention_probability: 0.7))";
    for agent in ["random", "planner", "memory"] {
        for record in play("robot_memory-v0", Some(config), agent, 40, 9) {
            let mut human_spoke = false;
            for entry in record.transcript.observed() {
                let text = entry.text.to_lowercase();
                for word in ["bias", "calibration", "tolerance", "mirror", "frame", "belongs", "prefer", "noise"] {
                    let said = text.split(|c: char| !c.is_alphanumeric()).any(|w| w.starts_with(word));
                    // "frame" and "belongs" appear only in the rules text and the human's own words.
                    if said && !(entry.kind == Kind::Prompt && word == "frame") && !(entry.kind == Kind::Feedback) {
                        panic!("episode {}: {word:?} in {:?}", record.episode, entry.text);
                    }
                }
                assert!(!text.contains("gripper at"), "{}", entry.text);
                if entry.speaker == Speaker::Partner {
                    human_spoke = true;
                }
                if !human_spoke {
                    assert!(!text.contains(" goes in the "), "episode {}: {}", record.episode, entry.text);
                }
            }
            for hidden in &record.hidden {
                for entry in record.transcript.observed() {
                    assert!(!sim_core::conformance::contains_words(&entry.text, hidden), "{hidden} in {}", entry.text);
                }
            }
        }
    }
}

/// The score anchors of `robot_correction-v0` are the measured means of the random agent, the
/// planner without memory and the oracle (1000 episodes, seed 0).
#[test]
fn correction_score_anchors_match_the_baselines() {
    let anchors = envs::robot::CORRECTION_SCORE_ANCHORS;
    for (agent, anchor) in [("random", anchors.min), ("planner", anchors.average), ("oracle", anchors.max)] {
        let records = play("robot_correction-v0", None, agent, 1000, 0);
        let mean = records.iter().map(|r| r.episode_return).sum::<f64>() / records.len() as f64;
        assert!((mean - anchor).abs() < 1e-6, "{agent}: mean return {mean}, anchor {anchor}");
    }
}

/// Prints the figures of the docs page's campaign table:
/// `cargo test -p gym-tests --test gym robot:: -- --ignored --nocapture`.
#[test]
#[ignore]
fn print_campaign_figures() {
    for agent in ["planner", "memory", "oracle"] {
        let (summary, by_iteration) = campaigns(agent);
        println!("{agent}: corrections per task by iteration {by_iteration:?}; {summary:?}");
    }
}

/// Frame mismatch changes only the human's words: with the same actions the campaign unfolds
/// the same, and every left is a right.
#[test]
fn frame_mismatch_mirrors_the_words_only() {
    use envs::robot::human::{Heard, interpret};
    let plain = play("robot_correction-v0", None, "random", 30, 4);
    let mirrored = play("robot_correction-v0", Some("(frame_mismatch_probability: 1.0)"), "random", 30, 4);
    let mut nudges = 0;
    for (a, b) in plain.iter().zip(&mirrored) {
        assert_eq!(a.actions(), b.actions());
        assert_eq!(a.rewards, b.rewards);
        for (x, y) in a.transcript.entries().iter().zip(b.transcript.entries()) {
            let said =
                |text: &str| text.split("Human: \"").nth(1).map(|rest| rest.split('"').next().unwrap_or("").to_owned());
            match (said(&x.text).as_deref().and_then(interpret), said(&y.text).as_deref().and_then(interpret)) {
                (Some(Heard::Nudge { direction: d1, cm: c1 }), Some(Heard::Nudge { direction: d2, cm: c2 })) => {
                    assert_eq!((d1.mirrored(), c1), (d2, c2));
                    nudges += 1;
                }
                (p, q) => assert_eq!(p, q),
            }
        }
    }
    assert!(nudges > 20, "{nudges} nudges compared");
}
