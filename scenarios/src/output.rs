//! The binary's results on standard output. A closed stdout (`scenarios list | head -1`) is not
//! a failure: writes go through a locked stdout, a broken pipe becomes [`StdoutClosed`], and
//! `main` ends quietly with exit code 0 on it, as command-line tools do. Nothing here uses
//! `println!`, which panics on a closed stdout.

use std::fmt;
use std::io::{ErrorKind, Write};

/// The reader of standard output went away; the command ends quietly with success.
#[derive(Debug)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Whether `error` (or any error in its chain) is [`StdoutClosed`].
pub fn is_closed_stdout(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<StdoutClosed>())
}

/// Writes `text` to standard output and flushes it.
///
/// # Errors
/// [`StdoutClosed`] on a broken pipe; other I/O errors with context.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(error) => Err(anyhow::Error::new(error).context("writing to standard output")),
    }
}

/// Writes `line` and a newline to standard output, like [`print`].
///
/// # Errors
/// As [`print`].
pub fn print_line(line: impl fmt::Display) -> anyhow::Result<()> {
    print(&format!("{line}\n"))
}
