//! `tool_feedback-v0`: the action grammar, MINT's budgets, the feedback modes, and that the
//! answer never leaks through the teacher.

use envs::tool_feedback::tasks::{TaskKnobs, generate};
use envs::tool_feedback::{FeedbackMode, Plan, TaskFamily, TaskKind, ToolFeedback, ToolFeedbackConfig, read_statement};
use sim_core::conformance::contains_words;
use sim_core::seed::{episode_seed, stream};
use sim_core::{Env, GymEnv, Kind, kind};

fn env(config: ToolFeedbackConfig) -> GymEnv {
    GymEnv::new(kind::<ToolFeedback>(config).unwrap())
}

fn config(feedback: FeedbackMode, families: Vec<TaskFamily>) -> ToolFeedbackConfig {
    ToolFeedbackConfig { feedback, families, ..ToolFeedbackConfig::default() }
}

/// The task of episode 0 of a `reset(Some(seed))`, regenerated (for the test's eyes only).
fn task_of(seed: u64, config: &ToolFeedbackConfig) -> envs::tool_feedback::Task {
    let knobs = TaskKnobs { max_lookups: config.max_lookups, list_stages: config.list_stages };
    generate(&mut stream(episode_seed(seed, 0), "task"), &config.families, knobs)
}

#[test]
fn anything_but_one_block_is_invalid_and_costs_a_step() {
    let mut env = env(ToolFeedbackConfig::default());
    let prompt = env.reset(Some(1)).observation;
    assert!(prompt.ends_with("You have 5 steps left and 2 chances to propose solution left."), "{prompt}");
    for (turn, action) in
        ["", "just text", "<execute>1</execute> <execute>2</execute>", "<execute>1</execute><solution>2</solution>"]
            .into_iter()
            .enumerate()
    {
        let step = env.step(action);
        assert!(step.info.invalid_action, "{action:?}");
        assert!(step.observation.starts_with("I don't understand your input."), "{}", step.observation);
        let left = 4 - turn;
        assert!(step.observation.contains(&format!("You have {left} steps left")), "{}", step.observation);
        if left == 0 {
            assert!(step.terminated);
        }
    }
}

#[test]
fn tools_run_in_the_session_and_the_budget_counts_down() {
    let config = config(FeedbackMode::Binary { ground_truth: false }, vec![TaskFamily::Arithmetic]);
    let mut env = env(config);
    let _ = env.reset(Some(2));
    let step = env.step("Let me try. <execute>a = calc(6 * 7)\nrun(\"map(x + 1) | sum\", [1, a])</execute>");
    assert!(!step.info.invalid_action);
    assert!(step.observation.starts_with("Observation:\na = 42\n45\nYou have 4 steps left"), "{}", step.observation);
    let step = env.step("<execute>calc(10 ^ 40)</execute>");
    assert!(step.observation.contains("Error: number too large"), "{}", step.observation);
    assert!(step.observation.ends_with("Expert feedback: BAD."), "{}", step.observation);
    let step = env.step("<solution>1</solution>");
    assert!(step.observation.contains("Your answer is wrong.\nYou have 2 steps left and 1 chances"));
    let step = env.step("<solution>2</solution>");
    assert!(step.terminated && !step.info.success);
    assert_eq!(step.reward, 0.0);
}

#[test]
fn one_step_budget_allows_one_proposal_and_says_so() {
    let config = ToolFeedbackConfig { max_steps: 1, ..ToolFeedbackConfig::default() };
    let mut env = env(config);
    let prompt = env.reset(Some(3)).observation;
    assert!(prompt.ends_with(
        "You have 1 steps left and 1 chances to propose solution left. You should take the last step to propose a \
         solution."
    ));
}

#[test]
fn the_exact_answer_solves_and_ends_the_episode() {
    let config = config(FeedbackMode::Unary, vec![TaskFamily::Arithmetic]);
    for seed in 0..20 {
        let task = task_of(seed, &config);
        let TaskKind::Arithmetic(truth) = &task.kind else { unreachable!() };
        let mut env = env(config.clone());
        let _ = env.reset(Some(seed));
        let wrong = env.step(format!("<solution>{}</solution>", truth.answer + 1));
        assert!(wrong.observation.contains("Your answer is wrong. Try again."), "{}", wrong.observation);
        let right = env.step(format!("<solution>{}</solution>", truth.answer));
        assert!(right.terminated && right.info.success && right.reward == 1.0);
    }
}

#[test]
fn without_feedback_the_first_proposal_is_final() {
    let mut env = env(config(FeedbackMode::None, vec![TaskFamily::Arithmetic]));
    let _ = env.reset(Some(4));
    let step = env.step("<solution>3</solution>");
    assert!(step.terminated && !step.info.success);
    assert!(!step.observation.contains("wrong"), "{}", step.observation);
}

#[test]
fn textual_hints_name_the_mistake_and_only_gt_modes_reveal_values() {
    for ground_truth in [false, true] {
        let config = config(FeedbackMode::Textual { ground_truth }, vec![TaskFamily::Arithmetic]);
        for seed in 0..40 {
            let task = task_of(seed, &config);
            let (TaskKind::Arithmetic(truth), Some(Plan::Arithmetic(plan))) =
                (&task.kind, read_statement(&task.statement))
            else {
                unreachable!()
            };
            let mut env = env(config.clone());
            let _ = env.reset(Some(seed));
            let lookups: Vec<String> = plan.lookups.iter().map(|l| l.code()).collect();
            let _ = env.step(format!("<execute>{}</execute>", lookups.join("\n")));
            let mut unit_free = plan.clone();
            unit_free.factor = 1;
            let step = env.step(format!("<execute>{}</execute>", unit_free.calc_code()));
            assert!(step.observation.contains("GOOD"), "{}", step.observation);
            let wrong = if truth.factor > 1 { truth.answer / truth.factor } else { truth.answer + 7 };
            let step = env.step(format!("<solution>{wrong}</solution>"));
            if truth.factor > 1 {
                assert!(step.observation.contains("Check the unit"), "{}", step.observation);
            } else {
                assert!(step.observation.contains("recheck your arithmetic"), "{}", step.observation);
            }
            let reveal = format!("{} is {}", truth.reveal.0, truth.reveal.1);
            assert_eq!(step.observation.contains(&reveal), ground_truth, "{}", step.observation);
        }
    }
}

#[test]
fn skipped_lookups_and_failing_tests_are_diagnosed() {
    let config = config(FeedbackMode::Textual { ground_truth: true }, vec![TaskFamily::Arithmetic, TaskFamily::Lists]);
    for seed in 0..40 {
        let task = task_of(seed, &config);
        let mut env = env(config.clone());
        let _ = env.reset(Some(seed));
        match &task.kind {
            TaskKind::Arithmetic(_) => {
                let step = env.step("<execute>calc(5 * 5)</execute>");
                assert!(step.observation.contains("BAD. You computed before looking up"), "{}", step.observation);
                assert!(step.observation.contains("You still need the"), "{}", step.observation);
            }
            TaskKind::List(truth) => {
                let step = env.step("<solution>reverse | reverse</solution>");
                assert!(step.observation.contains("BAD. Your program fails test 1."), "{}", step.observation);
                assert!(step.observation.contains("After its first step"), "{}", step.observation);
                let step = env
                    .step(format!("<solution>{}</solution>", envs::tool_feedback::tasks::pipeline_code(&truth.stages)));
                assert!(step.info.success);
            }
        }
    }
}

/// Whatever the agent proposes or runs short of computing it, the answer is never said, in
/// any feedback mode.
#[test]
fn the_answer_never_appears_in_what_the_env_says() {
    let modes = envs::tool_feedback::ALL_MODES;
    for mode in modes {
        let config = config(mode, vec![TaskFamily::Arithmetic]);
        for seed in 0..40 {
            let task = task_of(seed, &config);
            let TaskKind::Arithmetic(truth) = &task.kind else { unreachable!() };
            let Some(Plan::Arithmetic(plan)) = read_statement(&task.statement) else { unreachable!() };
            let mut env = env(config.clone());
            let _ = env.reset(Some(seed));
            let lookups: Vec<String> = plan.lookups.iter().map(|l| l.code()).collect();
            for action in [
                "<execute>calc(1 + 1)</execute>".to_owned(),
                format!("<execute>{}</execute>", lookups.join("\n")),
                "<solution>12</solution>".to_owned(),
                format!("<solution>{}</solution>", truth.answer / truth.factor.max(2)),
            ] {
                let step = env.step(action);
                if step.done() {
                    break;
                }
            }
            let transcript = env.transcript().unwrap();
            for entry in transcript.observed() {
                assert!(
                    !contains_words(&entry.text, &truth.answer.to_string()),
                    "{}: answer {} in {:?}",
                    mode.label(),
                    truth.answer,
                    entry.text
                );
                if entry.kind == Kind::Feedback && !mode.per_turn() && mode != FeedbackMode::Unary {
                    panic!("{} gave per-turn feedback", mode.label());
                }
            }
        }
    }
}
