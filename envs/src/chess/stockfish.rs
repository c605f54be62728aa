//! An optional Black player: a Stockfish binary over UCI, searching a fixed number of nodes.
//!
//! Invariants: each episode gets its own process, started on Black's first move and told
//! `ucinewgame`, `Threads 1` and a fixed `Hash`, so its search (and the hash table it builds)
//! depends only on that episode's moves, never on other episodes, batch size or threads; the
//! search is bounded by `go nodes N`, not by time, so its moves do not depend on the machine's
//! speed. The process is ended when the episode's entity is dropped.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use cozy_chess::util::parse_uci_move;
use cozy_chess::{Board, Move};
use thiserror::Error;

/// Where the binary is looked for: `$PATH`, then Debian's `/usr/games`.
pub fn find_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join("stockfish")).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path.into_iter().chain([PathBuf::from("/usr/games/stockfish")]).find(|path| path.is_file())
}

/// A failure talking to the engine process.
#[derive(Debug, Error)]
pub enum StockfishError {
    #[error("no stockfish binary on PATH or in /usr/games")]
    NotFound,
    #[error("stockfish i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("stockfish closed its output")]
    Closed,
    #[error("stockfish answered an unusable move `{0}`")]
    BadMove(String),
}

/// One running engine process.
#[derive(Debug)]
pub struct Stockfish {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Stockfish {
    /// Starts the binary and sets it up for a deterministic game.
    ///
    /// # Errors
    /// When the binary is missing or does not speak UCI.
    pub fn start() -> Result<Self, StockfishError> {
        let path = find_binary().ok_or(StockfishError::NotFound)?;
        let mut child =
            Command::new(path).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
        let input = child.stdin.take().ok_or(StockfishError::Closed)?;
        let output = BufReader::new(child.stdout.take().ok_or(StockfishError::Closed)?);
        let mut engine = Self { child, input, output };
        engine.send("uci")?;
        engine.wait_for("uciok")?;
        engine.send("setoption name Threads value 1")?;
        engine.send("setoption name Hash value 16")?;
        engine.send("ucinewgame")?;
        engine.send("isready")?;
        engine.wait_for("readyok")?;
        Ok(engine)
    }

    fn send(&mut self, line: &str) -> Result<(), StockfishError> {
        writeln!(self.input, "{line}")?;
        self.input.flush()?;
        Ok(())
    }

    /// Reads lines until one starts with `prefix`, and returns it.
    fn wait_for(&mut self, prefix: &str) -> Result<String, StockfishError> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.output.read_line(&mut line)? == 0 {
                return Err(StockfishError::Closed);
            }
            if line.starts_with(prefix) {
                return Ok(line.trim().to_owned());
            }
        }
    }

    /// The engine's move in `board` after searching `nodes` nodes.
    ///
    /// # Errors
    /// When the process fails or answers a move that is not legal.
    pub fn best_move(&mut self, board: &Board, nodes: u32) -> Result<Move, StockfishError> {
        self.send(&format!("position fen {board}"))?;
        self.send(&format!("go nodes {nodes}"))?;
        let line = self.wait_for("bestmove")?;
        let text = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
        let mv = parse_uci_move(board, &text).map_err(|_| StockfishError::BadMove(text.clone()))?;
        if super::engine::legal_moves(board).contains(&mv) { Ok(mv) } else { Err(StockfishError::BadMove(text)) }
    }
}

impl Drop for Stockfish {
    fn drop(&mut self) {
        let _ = self.send("quit");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Needs a `stockfish` binary (Debian package `stockfish`); skips when there is none.
    #[test]
    fn stockfish_mates_in_one_and_repeats_itself() {
        if find_binary().is_none() {
            eprintln!("skipped: no stockfish binary");
            return;
        }
        let board: Board = "r5k1/8/8/8/8/8/5PPP/6K1 b - - 0 1".parse().unwrap();
        let mut engine = Stockfish::start().unwrap();
        assert_eq!(engine.best_move(&board, 5000).unwrap(), "a8a1".parse::<Move>().unwrap());
        let game = |engine: &mut Stockfish| {
            let mut board = Board::default();
            let mut moves = Vec::new();
            for _ in 0..12 {
                let mv = engine.best_move(&board, 3000).unwrap();
                board.play(mv);
                moves.push(mv);
            }
            moves
        };
        let first = game(&mut Stockfish::start().unwrap());
        let second = game(&mut Stockfish::start().unwrap());
        assert_eq!(first, second);
    }
}
