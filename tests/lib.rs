//! Workspace-level tests live in this folder's `*.rs` test targets; this library is empty.
