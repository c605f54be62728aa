//! The workspace tests, one binary (`--test gym`), one module per file. Filter by module:
//! `cargo test -p gym-tests --test gym golden::` runs `golden.rs` alone.

mod baselines;
mod conformance;
mod conv_rec;
mod data_teacher;
mod end_to_end;
mod golden;
mod maze_text_nav;
mod reco_feed;
mod report;
mod robot;
mod robust;
mod runs;
mod search_feedback;
mod search_stagewise;
mod serve_llm;
mod served;
mod server;
