//! The scenario runner as a library: loading scenario files and running them into
//! `trajectories.jsonl` and `summary.json`, and the HTML report of run folders. The `scenarios` binary and the Python package use
//! the same code, so a run gives the same bytes whichever starts it.

pub mod report;
pub mod run;
pub mod scenario;
