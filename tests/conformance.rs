//! The conformance checker, run for every registered env with its default config (a test
//! fails if an env is registered without being listed here).

use sim_core::conformance::{ConformanceOptions, check_env};

/// One test per env, so they run in parallel and a failure names its env.
macro_rules! conformance_tests {
    ($($test:ident => $id:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                let kind = envs::registry().make($id, None).unwrap();
                check_env(&kind, &ConformanceOptions::default()).unwrap_or_else(|error| panic!("{}: {error}", $id));
            }
        )*

        /// Every registered env has its test above.
        #[test]
        fn every_registered_env_is_checked() {
            let checked = [$($id),*];
            for id in envs::registry().ids() {
                assert!(checked.contains(&id), "no conformance test for {id}: add it to conformance_tests!");
            }
        }
    };
}

conformance_tests! {
    twenty_questions_conforms => "twenty_questions-v0",
    chess_conforms => "chess-v0",
    chess_endgames_conforms => "chess_endgames-v0",
    reco_feed_conforms => "reco_feed-v0",
    conv_rec_conforms => "conv_rec-v0",
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
