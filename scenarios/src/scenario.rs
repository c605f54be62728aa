//! Scenario files: `scenarios/<name>.ron` names an env and its config, an agent, the episodes,
//! the batch size, the threads, the seed and the output folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sim_core::registry::{EnvSection, line_column};
use sim_core::{EnvKind, Registry};
use thiserror::Error;

/// A scenario that cannot be run; the runner exits with code 2.
#[derive(Debug, Error)]
pub enum ScenarioError {
    #[error("{path}:{line}:{column}: {message}")]
    Invalid { path: String, line: usize, column: usize, message: String },
    #[error("no scenario `{name}` (looked for {path}); run `scenarios list`")]
    NotFound { name: String, path: String },
    #[error("{path}: {source}")]
    Unreadable { path: String, source: std::io::Error },
}

fn default_batch_size() -> usize {
    64
}

fn default_threads() -> usize {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile<'a> {
    #[serde(borrow)]
    env: EnvSection<'a>,
    agent: String,
    episodes: u64,
    #[serde(default = "default_batch_size")]
    batch_size: usize,
    #[serde(default = "default_threads")]
    threads: usize,
    seed: u64,
    #[serde(default)]
    out: Option<String>,
    /// With `agent: "llm"`: a GGUF file or a Hugging Face folder (default: SmolLM2 Q8_0).
    #[serde(default)]
    model: Option<String>,
    /// With `agent: "llm"`: sampling, max new tokens per turn, chat template.
    #[serde(default)]
    llm: Option<agents_llm::LlmConfig>,
    /// The maximum action size in bytes (default 64 KiB): a longer action is invalid, with the
    /// env's penalty, and stored clipped.
    #[serde(default = "default_max_action_bytes")]
    max_action_bytes: usize,
}

fn default_max_action_bytes() -> usize {
    sim_core::DEFAULT_MAX_ACTION_BYTES
}

/// A loaded, checked scenario.
#[derive(Clone)]
pub struct Scenario {
    pub name: String,
    pub env: Arc<dyn EnvKind>,
    pub agent: String,
    pub episodes: u64,
    pub batch_size: usize,
    pub threads: usize,
    pub seed: u64,
    pub out: PathBuf,
    /// The `llm` agent's model (`None`: the default SmolLM2 Q8_0).
    pub model: Option<PathBuf>,
    /// The `llm` agent's settings.
    pub llm: agents_llm::LlmConfig,
    /// The maximum action size in bytes ([`sim_core::limit`]).
    pub max_action_bytes: usize,
}

/// Settings given beside a scenario file (the command line's flags, the Python package's
/// attributes) that replace the file's. Applied in one place, so both front ends keep the same
/// rules: counts are at least 1.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub episodes: Option<u64>,
    pub batch_size: Option<usize>,
    pub threads: Option<usize>,
    pub seed: Option<u64>,
    pub agent: Option<String>,
    pub model: Option<PathBuf>,
    pub out: Option<PathBuf>,
}

impl Overrides {
    /// Replaces the scenario's settings by the given ones.
    pub fn apply(self, scenario: &mut Scenario) {
        if let Some(episodes) = self.episodes {
            scenario.episodes = episodes.max(1);
        }
        if let Some(batch_size) = self.batch_size {
            scenario.batch_size = batch_size.max(1);
        }
        if let Some(threads) = self.threads {
            scenario.threads = threads.max(1);
        }
        if let Some(seed) = self.seed {
            scenario.seed = seed;
        }
        if let Some(agent) = self.agent {
            scenario.agent = agent;
        }
        if let Some(model) = self.model {
            scenario.model = Some(model);
        }
        if let Some(out) = self.out {
            scenario.out = out;
        }
    }
}

/// The folder holding the shipped scenario files.
pub fn scenario_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Resolves a scenario name (`twenty_questions`) or a path to a `.ron` file.
///
/// # Errors
/// [`ScenarioError::NotFound`] for a name with no file.
pub fn resolve(target: &str) -> Result<PathBuf, ScenarioError> {
    let as_path = Path::new(target);
    if target.ends_with(".ron") || target.contains(std::path::MAIN_SEPARATOR) {
        return Ok(as_path.to_path_buf());
    }
    let path = scenario_dir().join(format!("{target}.ron"));
    if path.is_file() {
        Ok(path)
    } else {
        Err(ScenarioError::NotFound { name: target.to_owned(), path: path.display().to_string() })
    }
}

/// Loads and checks a scenario file.
///
/// # Errors
/// [`ScenarioError`] naming the file, line and column of the first problem.
pub fn load(path: &Path, registry: &Registry) -> Result<Scenario, ScenarioError> {
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|source| ScenarioError::Unreadable { path: shown.clone(), source })?;
    let name = path.file_stem().map_or_else(|| "scenario".to_owned(), |s| s.to_string_lossy().into_owned());
    parse(&text, &name, &shown, registry)
}

/// Parses and checks a scenario from its text: what [`load`] does after reading the file.
/// `name` is the scenario's name (the file stem) and `shown` the path errors name. Used where
/// the text travels instead of the file, e.g. to the workers of a cluster.
///
/// # Errors
/// [`ScenarioError::Invalid`] naming `shown`, line and column of the first problem.
pub fn parse(text: &str, name: &str, shown: &str, registry: &Registry) -> Result<Scenario, ScenarioError> {
    let shown = shown.to_owned();
    let invalid = |line: usize, column: usize, message: String| ScenarioError::Invalid {
        path: shown.clone(),
        line,
        column,
        message,
    };
    let file: ScenarioFile<'_> = ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str(text)
        .map_err(|e| invalid(e.span.start.line, e.span.start.col, e.code.to_string()))?;
    let env = file.env.make(registry, text).map_err(|(line, column, message)| invalid(line, column, message))?;
    if file.episodes == 0 || file.batch_size == 0 || file.threads == 0 {
        let field = if file.episodes == 0 {
            "episodes"
        } else if file.batch_size == 0 {
            "batch_size"
        } else {
            "threads"
        };
        let offset = text.find(field).unwrap_or(0);
        let (line, column) = line_column(text, offset);
        return Err(invalid(line, column, format!("`{field}` must be at least 1")));
    }
    let name = name.to_owned();
    let out = file.out.map_or_else(|| PathBuf::from("runs").join(&name), PathBuf::from);
    Ok(Scenario {
        name,
        env,
        agent: file.agent,
        episodes: file.episodes,
        batch_size: file.batch_size,
        threads: file.threads,
        seed: file.seed,
        out,
        model: file.model.map(PathBuf::from),
        llm: file.llm.unwrap_or_default(),
        max_action_bytes: file.max_action_bytes,
    })
}

/// Every shipped scenario file, sorted by name.
pub fn shipped() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "ron"))
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths
}
