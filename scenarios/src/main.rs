//! `scenarios`: runs RON scenario files, lists them, and benchmarks envs.
//!
//! ```text
//! scenarios twenty_questions            run scenarios/twenty_questions.ron
//! scenarios path/to/experiment.ron      run a file
//! scenarios list                        every shipped scenario and its env id
//! scenarios bench twenty_questions-v0   env steps/s as one JSON line
//! scenarios bench chess-v0 --config "(opponent: Random)"   the same with an env config (RON)
//! scenarios bench-llm [--model PATH]    LLM agent tokens/s at batch 1, 8, 32 and turn latency
//! scenarios serve --addr 127.0.0.1:8765 envs over HTTP and WebSocket (docs/server.md)
//! scenarios serve-llm --addr 127.0.0.1:8766   OpenAI-compatible chat completions (docs/integrations.md)
//! scenarios dataset wordle-v0 --episodes 100000 --out data/wordle.jsonl   offline RL dataset
//! scenarios train scenarios/train/maze_fo_ppo.ron [--resume]   train a policy (docs/learning.md)
//! scenarios report runs/a [runs/b ...] [--open] [--max-episodes N]   runs/a/report.html
//! ```

mod bench;
mod bench_llm;
mod dataset;
mod output;
mod serve;
mod serve_llm;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use scenarios::scenario::ScenarioError;
use scenarios::{report, run, scenario};

#[derive(Debug, Parser)]
#[command(
    name = "scenarios",
    version,
    about = "Run a gym scenario: `scenarios <name | file.ron>`, `scenarios list`, `scenarios bench <env-id>`, \
             `scenarios dataset <env-id> --episodes N --out FILE`, `scenarios train <file.ron> [--resume]`, \
             `scenarios report RUN_DIR [RUN_DIR...] [--open]`"
)]
struct Cli {
    /// A scenario name (a file in scenarios/), a path to a .ron file, `list`, `bench`, `bench-llm`,
    /// `serve`, `serve-llm`, `dataset`, `train` or `report`.
    target: String,
    /// With `bench` and `dataset`: the env id; with `train`: the training file; with `report`: the
    /// run folder.
    env: Option<String>,
    /// With `report`: more run folders, compared with the first.
    more: Vec<String>,
    /// With `report`: open the page with `xdg-open`.
    #[arg(long)]
    open: bool,
    /// With `report`: episodes embedded per run folder at most, a sample stratified by ending.
    #[arg(long, default_value_t = report::DEFAULT_MAX_EPISODES)]
    max_episodes: usize,
    /// With `train`: continue from the run's last checkpoint (same training file).
    #[arg(long)]
    resume: bool,
    /// Episodes to play (overrides the file).
    #[arg(long)]
    episodes: Option<u64>,
    /// Live episodes per world (overrides the file).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Worker threads, one world each (overrides the file).
    #[arg(long)]
    threads: Option<usize>,
    /// Scenario seed (overrides the file).
    #[arg(long)]
    seed: Option<u64>,
    /// Agent name, e.g. `expert`, `random`, `scripted`, `stdio`, `llm`, `policy:<checkpoint folder>`
    /// (overrides the file).
    #[arg(long)]
    agent: Option<String>,
    /// With `--agent llm`, `bench-llm` and `serve-llm`: a GGUF file or a Hugging Face folder (default: SmolLM2-135M-Instruct
    /// Q8_0, fetched into the model cache).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Run folder for trajectories.jsonl and summary.json (overrides the file); with `dataset`,
    /// the JSONL file to write.
    #[arg(long)]
    out: Option<PathBuf>,
    /// With `bench` and `dataset`: the env config as RON, e.g. `(opponent: Random)` (default: the
    /// env's default).
    #[arg(long)]
    config: Option<String>,
    /// With `dataset`: one trajectory record per episode, or one transition per agent action.
    #[arg(long, value_enum, default_value_t = dataset::Format::Trajectories)]
    format: dataset::Format,
    /// With `bench`: seconds to spend measuring.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// With `serve` and `serve-llm`: the address to listen on (port 0 picks a free port; default
    /// 127.0.0.1:8765 for `serve`, 127.0.0.1:8766 for `serve-llm`).
    #[arg(long)]
    addr: Option<std::net::SocketAddr>,
    /// With `serve` and `serve-llm`: the largest request body or WebSocket message, in bytes.
    #[arg(long, default_value_t = serve::Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// With `serve`: the most slots in one batch.
    #[arg(long, default_value_t = serve::Limits::default().max_batch_size)]
    max_batch_size: usize,
    /// With `serve`: the most slots in all live batches together.
    #[arg(long, default_value_t = serve::Limits::default().max_server_episodes)]
    max_server_episodes: usize,
    /// With `serve`: seconds without a request after which a batch or an OpenEnv session is
    /// closed.
    #[arg(long, default_value_t = serve::Limits::default().idle_timeout.as_secs_f64())]
    idle_timeout: f64,
    /// With `serve`: the most OpenEnv sessions (WebSocket connections and named HTTP episodes)
    /// at once.
    #[arg(long, default_value_t = serve::Limits::default().max_sessions)]
    max_sessions: usize,
    /// With `serve`: the maximum action size in bytes; a longer action is an invalid action
    /// with the env's penalty, stored clipped (a scenario file sets it with `max_action_bytes`).
    #[arg(long, default_value_t = serve::Limits::default().max_action_bytes)]
    max_action_bytes: usize,
    /// With `serve-llm`: the most sequences (choices of all requests) decoded in one forward pass.
    #[arg(long, default_value_t = serve_llm::Limits::default().max_sequences)]
    max_sequences: usize,
    /// With `serve-llm`: the most requests in flight, queued or decoding (more are answered 429).
    #[arg(long, default_value_t = serve_llm::Limits::default().max_requests)]
    max_requests: usize,
    /// With `serve-llm`: the largest `max_tokens` a request may ask for, and the default.
    #[arg(long, default_value_t = serve_llm::Limits::default().max_tokens)]
    max_tokens: usize,
}

fn serve_llm(cli: &Cli) -> anyhow::Result<()> {
    let positive = |value: usize, flag: &str| {
        if value == 0 { Err(anyhow::anyhow!("{flag} must be at least 1")) } else { Ok(value) }
    };
    let limits = serve_llm::Limits {
        max_body_bytes: cli.max_body_bytes,
        max_sequences: positive(cli.max_sequences, "--max-sequences")?,
        max_requests: positive(cli.max_requests, "--max-requests")?,
        max_tokens: positive(cli.max_tokens, "--max-tokens")?,
        ..serve_llm::Limits::default()
    };
    let addr = cli.addr.unwrap_or(std::net::SocketAddr::from(([127, 0, 0, 1], 8766)));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve_llm::serve(addr, cli.model.as_deref(), limits))
}

fn serve(cli: &Cli, registry: sim_core::Registry) -> anyhow::Result<()> {
    let idle_timeout = std::time::Duration::try_from_secs_f64(cli.idle_timeout)
        .ok()
        .filter(|timeout| !timeout.is_zero())
        .ok_or_else(|| anyhow::anyhow!("--idle-timeout must be a positive number of seconds"))?;
    let limits = serve::Limits {
        max_body_bytes: cli.max_body_bytes,
        max_batch_size: cli.max_batch_size,
        max_server_episodes: cli.max_server_episodes,
        idle_timeout,
        max_sessions: cli.max_sessions,
        max_action_bytes: cli.max_action_bytes,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let addr = cli.addr.unwrap_or(std::net::SocketAddr::from(([127, 0, 0, 1], 8765)));
    runtime.block_on(serve::serve(addr, registry, limits))?;
    Ok(())
}

/// Keeps freed memory in the process instead of returning it to the system at once: training
/// on candle allocates a fresh buffer per tensor operation, and glibc's default serves large
/// ones with `mmap`, so every step paid page faults and zeroing (about a fifth of a maze PPO
/// update's `perf` profile). Changes no result.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before any training thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}

fn train(cli: &Cli, registry: &sim_core::Registry) -> anyhow::Result<()> {
    keep_freed_memory();
    let path = cli.env.as_deref().ok_or_else(|| anyhow::anyhow!("usage: scenarios train <file.ron> [--resume]"))?;
    let config = learn::train::load(std::path::Path::new(path), registry)?;
    let report =
        learn::train(&config, learn::TrainOptions { resume: cli.resume, show_progress: true, stop_after: None })?;
    output::print_line(serde_json::to_string(&report)?)
}

fn write_report(cli: &Cli) -> anyhow::Result<()> {
    let dirs: Vec<PathBuf> = cli.env.iter().chain(&cli.more).map(PathBuf::from).collect();
    let options = report::ReportOptions { max_episodes: cli.max_episodes };
    let path = report::write_report(&dirs, &options)?;
    output::print_line(path.display())?;
    if cli.open {
        report::open(&path);
    }
    Ok(())
}

fn list() -> anyhow::Result<()> {
    let registry = envs::registry();
    for path in scenario::shipped() {
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        match scenario::load(&path, &registry) {
            Ok(loaded) => output::print_line(format_args!("{name}\t{}", loaded.env.spec().id))?,
            Err(error) => output::print_line(format_args!("{name}\t(invalid: {error})"))?,
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`scenarios list | head -1`): nothing is wrong.
        Err(error) if output::is_closed_stdout(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            if error.downcast_ref::<ScenarioError>().is_some()
                || error.downcast_ref::<sim_core::ConfigError>().is_some()
                || error.downcast_ref::<agents::UnknownAgent>().is_some()
                || matches!(error.downcast_ref::<learn::LearnError>(), Some(learn::LearnError::File { .. }))
                || error.downcast_ref::<report::ReportError>().is_some_and(report::ReportError::is_input_error)
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn execute(cli: Cli) -> anyhow::Result<()> {
    if cli.target == "report" {
        return write_report(&cli);
    }
    if !cli.more.is_empty() {
        anyhow::bail!("unexpected arguments: {}", cli.more.join(" "));
    }
    let registry = envs::registry();
    match cli.target.as_str() {
        "list" => return list(),
        "serve" => return serve(&cli, registry),
        "serve-llm" => return serve_llm(&cli),
        "bench-llm" => return bench_llm::run(cli.model.as_deref()),
        "train" => return train(&cli, &registry),
        "bench" => {
            let id = cli.env.as_deref().ok_or_else(|| anyhow::anyhow!("usage: scenarios bench <env-id>"))?;
            let kind = registry.make(id, cli.config.as_deref())?;
            let report = bench::bench(&kind, cli.seconds)?;
            return output::print_line(serde_json::to_string(&report)?);
        }
        "dataset" => {
            let usage = "usage: scenarios dataset <env-id> --episodes N --out FILE";
            let id = cli.env.as_deref().ok_or_else(|| anyhow::anyhow!("{usage}"))?;
            let request = dataset::DatasetRequest {
                env: registry.make(id, cli.config.as_deref())?,
                episodes: cli.episodes.ok_or_else(|| anyhow::anyhow!("{usage} (--episodes is missing)"))?,
                seed: cli.seed.unwrap_or(0),
                batch_size: cli.batch_size.unwrap_or(64),
                threads: cli.threads.unwrap_or(1),
                out: cli.out.clone().ok_or_else(|| anyhow::anyhow!("{usage} (--out is missing)"))?,
                format: cli.format,
            };
            let summary = dataset::generate(&request, &registry)?;
            return output::print_line(serde_json::to_string(&summary)?);
        }
        _ => {}
    }
    let path = scenario::resolve(&cli.target)?;
    let mut loaded = scenario::load(&path, &registry)?;
    let overrides = scenario::Overrides {
        episodes: cli.episodes,
        batch_size: cli.batch_size,
        threads: cli.threads,
        seed: cli.seed,
        agent: cli.agent,
        model: cli.model,
        out: cli.out,
    };
    overrides.apply(&mut loaded);
    let to_stderr = run::stdio_mode(&loaded.agent).is_some();
    let out = loaded.out.clone();
    let summary = run::run(loaded)?;
    let table = run::table(&summary);
    let hint = format!("report: scenarios report {}", out.display());
    if to_stderr {
        // Standard output is the agent's channel; a closed stderr is no reason to fail a run.
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), format!("{table}{hint}\n").as_bytes());
        Ok(())
    } else {
        output::print(&format!("{table}{hint}\n"))
    }
}
