use std::sync::Arc;

use sim_core::{Env, EnvKind, GymEnv, kind};

use super::*;

fn env<E: Environment<Config = MazeConfig>>(config: MazeConfig) -> GymEnv {
    let kind: Arc<dyn EnvKind> = kind::<E>(config).unwrap();
    GymEnv::new(kind)
}

fn fixed(row: u8, column: u8) -> MazeConfig {
    MazeConfig { start: StartSelection::Fixed(row, column), ..MazeConfig::default() }
}

#[test]
fn layout_has_26_free_cells_and_25_starts() {
    assert_eq!(free_cells().len(), 26);
    assert_eq!(start_cells().len(), 25);
    assert!(!start_cells().contains(&GOAL));
}

#[test]
fn optimal_return_over_the_starts_is_minus_6_84() {
    let distances = layout::goal_distances();
    let total: u32 = start_cells().iter().map(|cell| distances[cell.index()] - 1).sum();
    assert_eq!(total, 171);
    assert!((-(f64::from(total)) / 25.0 - FULLY_OBSERVED_ANCHORS.max).abs() < 1e-12);
}

#[test]
fn fully_observed_text_matches_lmrl_gym() {
    let mut maze = env::<MazeFullyObserved>(fixed(1, 1));
    let reset = maze.reset(Some(0));
    assert!(reset.observation.ends_with(
        "The goal is at position 8, 6. Your current position is at position 1, 1. There are walls to your left, \
         above you, below you."
    ));
    let step = maze.step("move right");
    assert_eq!(
        step.observation,
        "The goal is at position 8, 6. Your current position is at position 1, 2. There are walls above you, below you."
    );
    assert_eq!(step.reward, -1.0);
    let step = maze.step("move up");
    assert_eq!(step.reward, -1.0, "a bump costs a move");
    assert!(step.observation.contains("position 1, 2."));
}

#[test]
fn spaced_digits_render_mode() {
    let config = MazeConfig { numbers: NumberRender::SpacedDigits, ..fixed(1, 11) };
    let mut maze = env::<MazeFullyObserved>(config);
    let reset = maze.reset(Some(0));
    assert!(reset.observation.contains("Your current position is at position 1, 1 1. There are walls to your right"));
}

#[test]
fn wall_sentences_singular_plural_and_none() {
    assert_eq!(wall_sentence(Cell::new(5, 6)), "There is a wall above you.");
    assert_eq!(wall_sentence(Cell::new(1, 3)), "There is a wall above you.");
    assert_eq!(wall_sentence(Cell::new(7, 6)), "There are walls to your right, to your left.");
}

#[test]
fn reaching_the_goal_ends_with_zero() {
    let mut maze = env::<MazeFullyObserved>(fixed(6, 6));
    let _ = maze.reset(Some(0));
    assert_eq!(maze.step("move down").reward, -1.0);
    let step = maze.step("move down\n");
    assert_eq!(step.reward, 0.0);
    assert!(step.terminated && step.info.success);
    assert_eq!(step.observation, SUCCESS_TEXT);
}

#[test]
fn invalid_action_costs_four_and_does_not_move() {
    let mut maze = env::<MazePartiallyObserved>(fixed(1, 1));
    let _ = maze.reset(Some(0));
    let step = maze.step("go right");
    assert_eq!(step.reward, INVALID_REWARD);
    assert!(step.info.invalid_action && !step.done());
    assert!(step.observation.ends_with("There are walls to your left, above you, below you."));
}

#[test]
fn the_hundredth_move_ends_with_the_timeout_penalty() {
    let mut maze = env::<MazeFullyObserved>(fixed(1, 1));
    let _ = maze.reset(Some(0));
    let mut total = 0.0;
    for turn in 1..=100 {
        let step = maze.step("move up");
        total += step.reward;
        assert_eq!(step.done(), turn == 100);
        if turn == 100 {
            assert!(step.terminated && !step.truncated);
            assert_eq!(step.observation, FAILURE_TEXT);
        }
    }
    assert_eq!(total, -101.0);
}

#[test]
fn partially_observed_text_never_shows_numbers() {
    let mut maze = env::<MazePartiallyObserved>(MazeConfig::default());
    for seed in 0..25 {
        let reset = maze.reset(Some(seed));
        assert!(!reset.observation.contains("position"));
        for action in ["move up", "move left", "move down", "move right", "jump"] {
            let step = maze.step(action);
            assert!(!step.observation.chars().any(|c| c.is_ascii_digit()), "{}", step.observation);
            if step.done() {
                break;
            }
        }
    }
}

#[test]
fn cycle_visits_every_start_cell() {
    let config = MazeConfig { start: StartSelection::Cycle, ..MazeConfig::default() };
    let starts: Vec<Cell> = (0..25).map(|index| start_cell(&config, Episode { index, seed: 9 })).collect();
    assert_eq!(starts, start_cells());
}

#[test]
fn invalid_configs_are_rejected() {
    assert!(validate(&fixed(8, 6)).is_err());
    assert!(validate(&fixed(0, 0)).is_err());
    assert!(validate(&MazeConfig { max_moves: 0, ..MazeConfig::default() }).is_err());
    assert!(validate(&fixed(1, 1)).is_ok());
}
