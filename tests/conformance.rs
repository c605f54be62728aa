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
    wordle_conforms => "wordle-v0",
    maze_fo_conforms => "maze-fo-v0",
    maze_po_conforms => "maze-po-v0",
    text_nav_fo_conforms => "text_nav-fo-v0",
    text_nav_po_conforms => "text_nav-po-v0",
    tool_feedback_conforms => "tool_feedback-v0",
    guess_my_city_conforms => "guess_my_city-v0",
    car_dealer_conforms => "car_dealer-v0",
    robot_correction_conforms => "robot_correction-v0",
    robot_memory_conforms => "robot_memory-v0",
    data_teacher_conforms => "data_teacher-v0",
    reco_feed_conforms => "reco_feed-v0",
    conv_rec_conforms => "conv_rec-v0",
    search_feedback_conforms => "search_feedback-v0",
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
