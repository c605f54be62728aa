//! Helpers shared by the workspace tests (the `*.rs` test targets in this folder).

use std::path::PathBuf;

/// The `scenarios` binary cargo built beside the running test (`target/<profile>/scenarios`).
///
/// # Panics
/// When it is missing: the tests must run through `cargo test --workspace`, which builds it.
pub fn scenarios_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("tests run from target/<profile>/deps");
    let path = dir.join(format!("scenarios{}", std::env::consts::EXE_SUFFIX));
    assert!(path.is_file(), "{} is missing: run the tests with `cargo test --workspace`", path.display());
    path
}
