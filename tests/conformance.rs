//! The conformance checker, run for every registered env with its default config.

use sim_core::conformance::{ConformanceOptions, check_env};

#[test]
fn every_registered_env_conforms() {
    let registry = envs::registry();
    let ids: Vec<&str> = registry.ids().collect();
    assert!(ids.contains(&"twenty_questions-v0"));
    for id in ids {
        let kind = registry.make(id, None).unwrap();
        check_env(&kind, &ConformanceOptions::default()).unwrap_or_else(|error| panic!("{id}: {error}"));
    }
}

/// The optional Stockfish opponent keeps every contract (batch sizes, threads, replay). Needs a
/// `stockfish` binary (Debian package `stockfish`); skips cleanly when there is none.
#[test]
fn chess_with_a_stockfish_opponent_conforms() {
    if envs::chess::stockfish::find_binary().is_none() {
        eprintln!("skipped: no stockfish binary");
        return;
    }
    let kind = envs::registry().make("chess-v0", Some("(opponent: Stockfish(nodes: 2000), max_moves: 40)")).unwrap();
    let options = ConformanceOptions { cases: 1, episodes: 6, batch_sizes: vec![1, 4], threads: vec![1, 2] };
    check_env(&kind, &options).unwrap_or_else(|error| panic!("chess-v0 with Stockfish: {error}"));
}
