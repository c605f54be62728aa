//! `chess-v0` and `chess_endgames-v0` through the single-env API: illegal moves, replies,
//! rendering and determinism.

use sim_core::{Env, GymEnv};

fn env(id: &str, config: Option<&str>) -> GymEnv {
    GymEnv::new(envs::registry().make(id, config).unwrap())
}

fn fen_line(observation: &str) -> &str {
    observation.lines().rev().find(|line| line.starts_with("FEN: ")).unwrap()
}

#[test]
fn an_illegal_move_costs_a_point_and_leaves_the_board() {
    let mut chess = env("chess-v0", None);
    let reset = chess.reset(Some(3));
    assert!(reset.observation.ends_with("FEN: rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1"));
    for bad in ["e5", "Ke2", "", "   ", "O-O", "hello world, I'd like to play e4 please", "\u{0}"] {
        let step = chess.step(bad);
        assert_eq!(step.reward, -1.0, "{bad:?}");
        assert!(step.info.invalid_action, "{bad:?}");
        assert!(!step.terminated && !step.truncated);
        assert!(step.observation.contains("rejected"), "{}", step.observation);
        assert_eq!(fen_line(&step.observation), fen_line(&reset.observation));
    }
    let step = chess.step("e2e4");
    assert_eq!(step.reward, 0.0);
    assert!(!step.info.invalid_action);
    assert!(step.observation.starts_with("You played e4. Black replied "), "{}", step.observation);
    assert!(fen_line(&step.observation).contains(" w KQkq "));
}

#[test]
fn the_same_seed_plays_the_same_game() {
    let moves = ["e4", "Nf3", "Bc4", "d3", "O-O", "Nc3", "h3", "a3"];
    let play = |seed| {
        let mut chess = env("chess-v0", None);
        let mut seen = vec![chess.reset(Some(seed)).observation.to_string()];
        for mv in moves {
            let step = chess.step(mv);
            seen.push(step.observation.to_string());
            if step.done() {
                break;
            }
        }
        seen
    };
    assert_eq!(play(1), play(1));
    let replies = |seed| play(seed).join("\n");
    assert!((2..12).any(|seed| replies(seed) != replies(1)), "the opponent never varies with the seed");
}

#[test]
fn render_modes() {
    let mut spaced = env("chess-v0", Some("(render: SpacedFen)"));
    assert!(spaced.reset(Some(0)).observation.contains("FEN: r n b q k b n r / p p p p p p p p / 8 / 8"));
    let mut ascii = env("chess-v0", Some("(render: Ascii, opponent: Random)"));
    let text = ascii.reset(Some(0)).observation;
    assert!(text.contains("8  r n b q k b n r\n"), "{text}");
    assert!(text.contains("White to move."));
    assert!(ascii.step("e4").observation.contains("4  . . . . P . . .\n"));
}

#[test]
fn bad_configs_are_rejected() {
    let registry = envs::registry();
    assert!(registry.make("chess-v0", Some("(opponent: Engine(depth: 0))")).is_err());
    assert!(registry.make("chess-v0", Some("(opponent: Engine(depth: 9))")).is_err());
    assert!(registry.make("chess-v0", Some("(max_moves: 0)")).is_err());
    assert!(registry.make("chess-v0", Some("(colour: White)")).is_err());
    assert!(registry.make("chess_endgames-v0", Some("(positions: Tablebase)")).is_err());
}

#[test]
fn endgame_evaluation_positions_cycle_by_episode() {
    let mut endgame = env("chess_endgames-v0", Some("(positions: EvaluationSet)"));
    let first = endgame.reset(Some(0)).observation;
    let expected = envs::chess::endgames::evaluation_set()[0].to_string();
    assert_eq!(fen_line(&first), format!("FEN: {expected}"));
    let mut generated = env("chess_endgames-v0", None);
    let a = generated.reset(Some(5)).observation;
    let b = generated.reset(Some(5)).observation;
    assert_eq!(a, b);
    assert!(a.starts_with("Chess endgame: Black has only a king."));
}
