//! The scenario runner as a library: loading scenario files and running them into
//! `trajectories.jsonl` and `summary.json`. The `scenarios` binary and the Python package use
//! the same code, so a run gives the same bytes whichever starts it.

pub mod run;
pub mod scenario;
