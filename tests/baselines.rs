//! Baseline scores of the shipped agents (the figures in docs/envs/twenty_questions.md).

use envs::twenty_questions::EXPERT_MEAN_RETURN;
use sim_core::{EpisodeStats, RunPlan, run_episodes};

/// One run of a built-in agent on an env config (`None`: the default), two threads.
fn run(env: &str, config: Option<&str>, agent: &str, episodes: u64, seed: u64) -> EpisodeStats {
    let kind = envs::registry().make(env, config).unwrap();
    let factory = agents::built_in(agent, env).unwrap();
    let plan = RunPlan { seed, first_episode: 0, episodes, batch_size: 64, threads: 2, ..Default::default() };
    let mut stats = EpisodeStats::default();
    run_episodes(&kind, &plan, factory.as_ref(), &mut |r| {
        stats.add(&r);
        Ok(())
    })
    .unwrap();
    stats
}

fn play(agent: &str, episodes: u64, seed: u64) -> EpisodeStats {
    run("twenty_questions-v0", None, agent, episodes, seed)
}

#[test]
fn expert_meets_the_bar_and_matches_its_score_anchor() {
    let stats = play("expert", 1000, 0);
    assert!(stats.success_rate() >= 0.95, "success rate {}", stats.success_rate());
    assert!(stats.mean_return() >= -9.0, "mean return {}", stats.mean_return());
    assert_eq!(stats.invalid_actions, 0);
    assert!(
        (stats.mean_return() - EXPERT_MEAN_RETURN).abs() < 1e-9,
        "EXPERT_MEAN_RETURN is {EXPERT_MEAN_RETURN} but the expert scores {}",
        stats.mean_return()
    );
}

#[test]
fn random_questioner_is_weak() {
    let stats = play("random", 1000, 0);
    assert!(stats.mean_return() <= -18.0, "mean return {}", stats.mean_return());
}

#[test]
fn expert_wins_every_object() {
    // Cycle selection plays each object once per knowledge-base size.
    let objects = envs::twenty_questions::knowledge().objects().len() as u64;
    let kind = envs::registry().make("twenty_questions-v0", Some("(selection: Cycle)")).unwrap();
    let factory = agents::built_in("expert", "twenty_questions-v0").unwrap();
    let plan =
        RunPlan { seed: 3, first_episode: 0, episodes: objects, batch_size: 32, threads: 1, ..Default::default() };
    let mut lost = Vec::new();
    run_episodes(&kind, &plan, factory.as_ref(), &mut |r| {
        if !r.success {
            lost.push(r.hidden[0].clone());
        }
        Ok(())
    })
    .unwrap();
    assert!(lost.is_empty(), "the expert cannot single out: {lost:?}");
}

fn play_chess(env: &str, config: &str, agent: &str, episodes: u64, seed: u64) -> (EpisodeStats, u64) {
    let kind = envs::registry().make(env, Some(config)).unwrap();
    let factory = agents::built_in(agent, env).unwrap();
    let plan = RunPlan { seed, first_episode: 0, episodes, batch_size: 16, threads: 2, ..Default::default() };
    let mut stats = EpisodeStats::default();
    let mut white_mated = 0;
    run_episodes(&kind, &plan, factory.as_ref(), &mut |r| {
        stats.add(&r);
        white_mated += u64::from(r.rewards.last().is_some_and(|last| *last == -1.0) && r.terminated);
        Ok(())
    })
    .unwrap();
    (stats, white_mated)
}

#[test]
fn chess_endgame_expert_mates_the_evaluation_positions_and_random_does_not() {
    // A quarter of the shipped positions (every material type) keeps the test fast; the
    // docs give the full set from a release run.
    let config = "(positions: EvaluationSet)";
    let (expert, _) = play_chess("chess_endgames-v0", config, "expert", 60, 0);
    assert!(expert.success_rate() >= 0.9, "expert win rate {}", expert.success_rate());
    assert_eq!(expert.invalid_actions, 0);
    let (random, _) = play_chess("chess_endgames-v0", config, "random", 200, 0);
    assert!(random.success_rate() <= 0.05, "random win rate {}", random.success_rate());
    assert_eq!(random.invalid_actions, 0);
}

#[test]
fn chess_endgame_expert_needs_more_moves_on_the_hard_set() {
    let (easy, _) = play_chess("chess_endgames-v0", "(positions: EvaluationSet)", "expert", 30, 0);
    let (hard, _) = play_chess("chess_endgames-v0", "(positions: HardEvaluationSet)", "expert", 30, 0);
    assert!(hard.success_rate() >= 0.9, "expert win rate on the hard set {}", hard.success_rate());
    assert!(
        hard.mean_turns() > 2.0 * easy.mean_turns(),
        "hard set {} moves, first set {}",
        hard.mean_turns(),
        easy.mean_turns()
    );
}

#[test]
fn chess_random_mover_loses_to_the_default_engine() {
    let (random, mated) = play_chess("chess-v0", "()", "random", 40, 0);
    assert_eq!(random.invalid_actions, 0);
    assert!(random.success_rate() <= 0.05, "random win rate {}", random.success_rate());
    assert!(mated >= 30, "the depth-2 engine mated the random mover only {mated} times in 40");
}

/// Win, draw, loss and illegal-move rates of the chess baselines, for the docs pages:
/// `cargo test --release -p gym-tests --test gym -- --ignored --nocapture baselines::chess_figures`.
#[test]
#[ignore = "minutes in a dev build; run in release for the docs"]
fn chess_figures() {
    let runs = [
        ("chess-v0", "()", "random", 1000),
        ("chess-v0", "()", "scripted", 1000),
        ("chess-v0", "()", "expert", 200),
        ("chess-v0", "(opponent: Engine(depth: 3))", "expert", 100),
        ("chess-v0", "(opponent: Random)", "random", 1000),
        ("chess_endgames-v0", "(positions: EvaluationSet)", "expert", 200),
        ("chess_endgames-v0", "(positions: EvaluationSet)", "random", 200),
        ("chess_endgames-v0", "()", "expert", 1000),
        ("chess_endgames-v0", "()", "random", 1000),
    ];
    println!(
        "| env | config | agent | episodes | win | draw | loss | illegal moves | mean return | mean turns | score |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (env, config, agent, episodes) in runs {
        let kind = envs::registry().make(env, Some(config)).unwrap();
        let factory = agents::built_in(agent, env).unwrap();
        let plan = RunPlan { seed: 0, first_episode: 0, episodes, batch_size: 16, threads: 2, ..Default::default() };
        let mut stats = EpisodeStats::default();
        let (mut wins, mut losses) = (0u64, 0u64);
        run_episodes(&kind, &plan, factory.as_ref(), &mut |r| {
            stats.add(&r);
            wins += u64::from(r.success);
            losses += u64::from(r.terminated && !r.success && r.rewards.last() == Some(&-1.0));
            Ok(())
        })
        .unwrap();
        let n = episodes as f64;
        let turns: f64 = stats.mean_turns() * n;
        let anchors = kind.spec().score_anchors.unwrap();
        println!(
            "| `{env}` | `{config}` | {agent} | {episodes} | {:.3} | {:.3} | {:.3} | {:.4} | {:.3} | {:.1} | {:.1} |",
            wins as f64 / n,
            (episodes - wins - losses) as f64 / n,
            losses as f64 / n,
            stats.invalid_actions as f64 / turns,
            stats.mean_return(),
            stats.mean_turns(),
            anchors.normalize(stats.mean_return()),
        );
    }
}

/// `tool_feedback-v0`: MINT's effects with fixed seeds (the figures in docs/envs/tool_feedback.md).
mod tool_feedback {
    use envs::tool_feedback::metrics::{ToolMetrics, feedback_gain};
    use envs::tool_feedback::{ALL_MODES, FeedbackMode};
    use sim_core::{RunPlan, run_episodes};

    const ENV: &str = "tool_feedback-v0";

    fn config(k: u32, mode: FeedbackMode) -> String {
        let mode = match mode {
            FeedbackMode::None => "None".to_owned(),
            FeedbackMode::Unary => "Unary".to_owned(),
            FeedbackMode::Binary { ground_truth } => format!("Binary(ground_truth: {ground_truth})"),
            FeedbackMode::Textual { ground_truth } => format!("Textual(ground_truth: {ground_truth})"),
        };
        format!("(max_steps: {k}, feedback: {mode})")
    }

    pub fn play(agent: &str, k: u32, mode: FeedbackMode, episodes: u64, seed: u64) -> ToolMetrics {
        let kind = envs::registry().make(ENV, Some(&config(k, mode))).unwrap();
        let factory = agents::built_in(agent, ENV).unwrap();
        let plan = RunPlan { seed, first_episode: 0, episodes, batch_size: 64, threads: 1, ..Default::default() };
        let mut records = Vec::new();
        run_episodes(&kind, &plan, factory.as_ref(), &mut |r| {
            records.push(r);
            Ok(())
        })
        .unwrap();
        ToolMetrics::from_records(&records)
    }

    fn textual() -> FeedbackMode {
        FeedbackMode::Textual { ground_truth: false }
    }

    #[test]
    fn success_rises_with_the_step_budget() {
        for agent in ["noisy", "expert"] {
            let rates: Vec<f64> = (1..=5).map(|k| play(agent, k, textual(), 400, 11).success_rate).collect();
            for pair in rates.windows(2) {
                assert!(pair[0] <= pair[1], "{agent}: SR@k falls: {rates:?}");
            }
            assert!(rates[4] > rates[0] + 0.2, "{agent}: SR@5 not above SR@1: {rates:?}");
        }
    }

    #[test]
    fn feedback_helps_the_noisy_planner_in_mint_order() {
        // SR@5 as a user reads it: the `solved_within_5` metric of real runs' summary.json.
        let rate = |mode| {
            let summary = crate::runs::summary(ENV, Some(&config(5, mode)), "noisy", 600, 12);
            crate::runs::metric(&summary, "solved_within_5")
        };
        let none = rate(FeedbackMode::None);
        let unary = rate(FeedbackMode::Unary);
        let binary = rate(FeedbackMode::Binary { ground_truth: false });
        let textual = rate(textual());
        let textual_gt = rate(FeedbackMode::Textual { ground_truth: true });
        assert!(none < unary && unary <= binary && binary <= textual, "{none} {unary} {binary} {textual}");
        assert!(textual <= textual_gt, "with GT {textual_gt} below without {textual}");
    }

    #[test]
    fn the_score_anchor_is_the_noisy_planner_without_feedback() {
        let none = play("noisy", 5, FeedbackMode::None, 1000, 0);
        assert!(
            (none.success_rate - envs::tool_feedback::NOISY_WITHOUT_FEEDBACK).abs() < 1e-9,
            "{}",
            none.success_rate
        );
    }

    #[test]
    fn bounds_hold_and_nobody_acts_invalidly() {
        let expert = play("expert", 5, textual(), 300, 13);
        assert_eq!(expert.success_rate, 1.0);
        assert_eq!(expert.invalid_action_rate, 0.0);
        let immediate = play("immediate", 5, textual(), 300, 13);
        assert!(immediate.success_rate < 0.02, "{}", immediate.success_rate);
        let noisy = play("noisy", 5, textual(), 300, 13);
        assert_eq!(noisy.invalid_action_rate, 0.0);
        let random = play("random", 5, textual(), 300, 13);
        assert!(random.invalid_action_rate > 0.05 && random.success_rate < 0.05);
    }

    /// Prints the tables of docs/envs/tool_feedback.md:
    /// `cargo test -p gym-tests --test gym baselines::tool_feedback::tool_feedback_report -- --ignored --nocapture`.
    #[test]
    #[ignore = "prints the documentation's tables"]
    fn tool_feedback_report() {
        println!(
            "| agent | mode | SR@1 | SR@2 | SR@3 | SR@4 | SR@5 | ΔSR@5 vs none | invalid rate | turns to success |"
        );
        for agent in ["immediate", "expert", "noisy"] {
            let none = play(agent, 5, FeedbackMode::None, 1000, 0);
            for mode in ALL_MODES {
                let rates: Vec<String> =
                    (1..=5).map(|k| format!("{:.3}", play(agent, k, mode, 1000, 0).success_rate)).collect();
                let at5 = play(agent, 5, mode, 1000, 0);
                println!(
                    "| {agent} | {} | {} | {:+.3} | {:.3} | {} |",
                    mode.label(),
                    rates.join(" | "),
                    feedback_gain(&at5, &none),
                    at5.invalid_action_rate,
                    at5.turns_to_success.map_or("-".to_owned(), |t| format!("{t:.2}"))
                );
            }
        }
    }
}

fn play_city(agent: &str, config: &str, episodes: u64, seed: u64) -> (EpisodeStats, Vec<String>) {
    let env = "guess_my_city-v0";
    let kind = envs::registry().make(env, Some(config)).unwrap();
    let factory = agents::built_in(agent, env).unwrap();
    let plan = RunPlan { seed, first_episode: 0, episodes, batch_size: 64, threads: 2, ..Default::default() };
    let mut stats = EpisodeStats::default();
    let mut lost = Vec::new();
    run_episodes(&kind, &plan, factory.as_ref(), &mut |r| {
        if !r.success {
            lost.push(r.hidden[0].clone());
        }
        stats.add(&r);
        Ok(())
    })
    .unwrap();
    (stats, lost)
}

#[test]
fn guess_my_city_expert_finds_every_city_and_matches_its_score_anchor() {
    let cities = envs::guess_my_city::atlas().cities().len() as u64;
    let (stats, lost) = play_city("expert", "(selection: Cycle)", cities, 0);
    assert!(lost.is_empty(), "the expert cannot single out: {lost:?}");
    assert_eq!(stats.invalid_actions, 0);
    let (stats, _) = play_city("expert", "()", 1000, 0);
    println!("expert: success {} mean return {}", stats.success_rate(), stats.mean_return());
    assert!(stats.success_rate() >= 0.9, "success rate {}", stats.success_rate());
    assert!(
        (stats.mean_return() - envs::guess_my_city::EXPERT_MEAN_RETURN).abs() < 1e-9,
        "EXPERT_MEAN_RETURN is {} but the expert scores {}",
        envs::guess_my_city::EXPERT_MEAN_RETURN,
        stats.mean_return()
    );
}

#[test]
fn guess_my_city_random_questioner_rarely_wins() {
    let (stats, _) = play_city("random", "()", 1000, 0);
    assert!(stats.success_rate() <= 0.1, "success rate {}", stats.success_rate());
    assert_eq!(stats.invalid_actions, 0);
    println!("random: success {} mean return {}", stats.success_rate(), stats.mean_return());
}

/// Car Dealer figures of one agent: stats, sale rate and mean sale price. The price is read
/// back from the buyer's final message in LMRL-Gym's structured form.
pub fn car_dealer_figures(agent: &str, episodes: u64, seed: u64) -> (EpisodeStats, f64, f64) {
    use envs::car_dealer::{Decision, parse_decision};
    let env = "car_dealer-v0";
    let kind = envs::registry().make(env, None).unwrap();
    let factory = agents::built_in(agent, env).unwrap();
    let plan = RunPlan { seed, first_episode: 0, episodes, batch_size: 64, threads: 2, ..Default::default() };
    let mut stats = EpisodeStats::default();
    let (mut sales, mut revenue) = (0u64, 0u64);
    run_episodes(&kind, &plan, factory.as_ref(), &mut |r| {
        let last = r.transcript.last().map(|e| e.text.to_string()).unwrap_or_default();
        if let Some(Decision::Accept { price, .. }) = parse_decision(&last) {
            assert_eq!(r.ending, "sale");
            assert!(r.hidden.contains(&format!("final_sale_amount={price}")), "{:?}", r.hidden);
            sales += 1;
            revenue += u64::from(price);
        }
        stats.add(&r);
        Ok(())
    })
    .unwrap();
    let mean_price = if sales == 0 { 0.0 } else { revenue as f64 / sales as f64 };
    (stats, sales as f64 / episodes as f64, mean_price)
}

#[test]
fn car_dealer_expert_beats_the_random_seller_by_a_clear_margin() {
    let (expert, expert_sales, expert_price) = car_dealer_figures("expert", 1000, 0);
    let (random, random_sales, random_price) = car_dealer_figures("random", 1000, 0);
    println!(
        "expert: return {:.3} sale rate {expert_sales:.3} mean price {expert_price:.0}; \
         random: return {:.3} sale rate {random_sales:.3} mean price {random_price:.0}",
        expert.mean_return(),
        random.mean_return()
    );
    assert!(expert.mean_return() >= random.mean_return() + 0.3, "{} vs {}", expert.mean_return(), random.mean_return());
    assert!(expert_sales > random_sales);
    assert_eq!(expert.invalid_actions, 0);
    assert!(
        (expert.mean_return() - envs::car_dealer::EXPERT_MEAN_RETURN).abs() < 1e-9,
        "EXPERT_MEAN_RETURN is {} but the expert scores {}",
        envs::car_dealer::EXPERT_MEAN_RETURN,
        expert.mean_return()
    );
}

/// One run of a built-in agent on an env config (seed 0, two threads).
fn run_config(env: &str, config: &str, agent: &str, episodes: u64) -> EpisodeStats {
    run(env, Some(config), agent, episodes, 0)
}

#[test]
fn vague_and_terse_oracles_make_the_experts_ask_more_questions() {
    let exact = run_config("twenty_questions-v0", "()", "expert", 300);
    let vague = run_config("twenty_questions-v0", "(answer_style: Vague)", "expert", 300);
    assert!(vague.mean_turns() > exact.mean_turns() + 0.5, "{} vs {}", vague.mean_turns(), exact.mean_turns());
    assert!(vague.success_rate() >= 0.8, "vague oracle: expert success {}", vague.success_rate());
    let exact = run_config("guess_my_city-v0", "()", "expert", 300);
    let terse = run_config("guess_my_city-v0", "(answer_style: Terse)", "expert", 300);
    assert!(terse.mean_turns() > exact.mean_turns() + 0.5, "{} vs {}", terse.mean_turns(), exact.mean_turns());
    assert!(terse.success_rate() >= 0.9, "terse oracle: expert success {}", terse.success_rate());
}

#[test]
fn buyer_personalities_change_the_expert_sellers_conversations() {
    // A toxic buyer runs out of patience sooner and walks out more often; an uncommunicative
    // one keeps its budget to itself, so the seller needs longer and sells less.
    let plain = run_config("car_dealer-v0", "()", "expert", 300);
    let toxic = run_config("car_dealer-v0", "(personality: Fixed(Toxic))", "expert", 300);
    let quiet = run_config("car_dealer-v0", "(personality: Fixed(Uncommunicative))", "expert", 300);
    assert!(toxic.mean_turns() < plain.mean_turns(), "toxic {} vs none {}", toxic.mean_turns(), plain.mean_turns());
    assert!(toxic.success_rate() < plain.success_rate(), "{} vs {}", toxic.success_rate(), plain.success_rate());
    assert!(quiet.mean_turns() > plain.mean_turns() + 1.0, "{} vs {}", quiet.mean_turns(), plain.mean_turns());
    assert!(quiet.success_rate() < plain.success_rate(), "{} vs {}", quiet.success_rate(), plain.success_rate());
}

fn print_figures_row(env: &str, config: &str, agent: &str, episodes: u64) {
    let stats = run_config(env, config, agent, episodes);
    let anchors = envs::registry().make(env, Some(config)).unwrap().spec().score_anchors.unwrap();
    println!(
        "| `{config}` | {agent} | {episodes} | {:.3} | {:.3} | {:.2} | {:.1} |",
        stats.mean_return(),
        stats.success_rate(),
        stats.mean_turns(),
        anchors.normalize(stats.mean_return()),
    );
}

#[test]
#[ignore = "a minute in release; run for the docs"]
fn difficulty_figures() {
    println!("| config | agent | episodes | mean return | success | mean turns | score |");
    println!("|---|---|---|---|---|---|---|");
    for agent in ["expert", "random"] {
        print_figures_row("car_dealer-v0", "()", agent, 1000);
        print_figures_row("car_dealer-v0", "(personality: Random)", agent, 1000);
        for personality in envs::car_dealer::Personality::ALL {
            print_figures_row("car_dealer-v0", &format!("(personality: Fixed({personality:?}))"), agent, 1000);
        }
    }
    for agent in ["expert", "random"] {
        for style in ["Exact", "Vague"] {
            print_figures_row("twenty_questions-v0", &format!("(answer_style: {style})"), agent, 1000);
        }
        for style in ["Exact", "Terse"] {
            print_figures_row("guess_my_city-v0", &format!("(answer_style: {style})"), agent, 1000);
        }
    }
}

#[test]
#[ignore = "a minute in release; run for the docs"]
fn endgame_difficulty_figures() {
    println!("| config | agent | episodes | mean return | success | mean turns | score |");
    println!("|---|---|---|---|---|---|---|");
    for config in [
        "(difficulty: Some((at_least: 5, at_most: 8)))",
        "(difficulty: Some((at_least: 10, at_most: 12)))",
        "(difficulty: Some((at_least: 15, at_most: 16)))",
        "(difficulty: Some((at_least: 15, at_most: 16)), opponent: Tablebase)",
        "(positions: HardEvaluationSet, opponent: Tablebase)",
    ] {
        for agent in ["expert", "random"] {
            print_figures_row("chess_endgames-v0", config, agent, 200);
        }
    }
}
