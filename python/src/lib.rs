//! `lm_gym._native`: the Rust engine seen from Python. The Python package `lm_gym` wraps these
//! classes in the Gymnasium API (`lm_gym.TextEnv`, `lm_gym.VectorEnv`), runs scenarios and
//! shards them over Ray; this module stays small and typed, and releases the GIL whenever the
//! engine steps or a run plays.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use scenarios::scenario::Overrides;
use sim_core::{Action, AutoresetMode, Env as _, EnvKind, GymEnv, Info, Registry, Step, Transcript};

/// The registry every env id resolves against: all the envs of the gym.
fn registry() -> &'static Registry {
    static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(envs::registry)
}

fn make_kind(env_id: &str, config: Option<&str>) -> PyResult<Arc<dyn EnvKind>> {
    registry().make(env_id, config).map_err(|error| PyValueError::new_err(format!("{env_id}: {error}")))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn runtime_error(error: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(error.to_string())
}

/// Every registered env id, sorted.
#[pyfunction]
fn env_ids() -> Vec<&'static str> {
    registry().ids().collect()
}

/// The spec of an env (with its default config, or `config` as RON) as JSON: id, max_turns,
/// reward_range, score_anchors, description.
#[pyfunction]
#[pyo3(signature = (env_id, config=None))]
fn env_spec_json(env_id: &str, config: Option<&str>) -> PyResult<String> {
    let kind = make_kind(env_id, config)?;
    serde_json::to_string(kind.spec()).map_err(runtime_error)
}

/// A few well-formed actions of an env (what the conformance fuzzer plays besides arbitrary
/// strings): handy for smoke tests and scripted policies.
#[pyfunction]
#[pyo3(signature = (env_id, config=None))]
fn env_sample_actions(env_id: &str, config: Option<&str>) -> PyResult<Vec<String>> {
    Ok(make_kind(env_id, config)?.sample_actions())
}

/// A transcript as `(speaker, kind, text)` triples, the names as in `trajectories.jsonl`.
fn transcript_rows(transcript: Option<&Transcript>) -> Vec<(String, String, String)> {
    let name = |value: serde_json::Value| value.as_str().unwrap_or_default().to_owned();
    transcript
        .map(|transcript| {
            transcript
                .entries()
                .iter()
                .map(|entry| {
                    (
                        name(serde_json::to_value(entry.speaker).unwrap_or_default()),
                        name(serde_json::to_value(entry.kind).unwrap_or_default()),
                        entry.text.to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One step as a flat tuple: observation, reward, terminated, truncated, episode, turn,
/// invalid_action, success.
type StepTuple = (String, f64, bool, bool, u64, u32, bool, bool);

fn step_tuple(step: Step) -> StepTuple {
    let Info { episode, turn, invalid_action, success, .. } = step.info;
    (
        step.observation.into_owned(),
        step.reward,
        step.terminated,
        step.truncated,
        episode,
        turn,
        invalid_action,
        success,
    )
}

/// One episode at a time in its own world (`sim_core::GymEnv`).
#[pyclass(frozen, module = "lm_gym._native")]
struct Env {
    kind: Arc<dyn EnvKind>,
    inner: Mutex<GymEnv>,
}

#[pymethods]
impl Env {
    /// `config` is the env's config as RON text (`None`: the default config).
    #[new]
    #[pyo3(signature = (env_id, config=None))]
    fn new(env_id: &str, config: Option<&str>) -> PyResult<Self> {
        let kind = make_kind(env_id, config)?;
        Ok(Self { inner: Mutex::new(GymEnv::new(kind.clone())), kind })
    }

    /// The spec as JSON.
    fn spec_json(&self) -> PyResult<String> {
        serde_json::to_string(self.kind.spec()).map_err(runtime_error)
    }

    /// The config in use, as RON.
    fn config_ron(&self) -> String {
        self.kind.config_ron()
    }

    /// Starts an episode: `seed` re-seeds (the episode is episode 0 of a scenario run with that
    /// seed), `None` moves on to the next episode of the current seed. Returns the opening
    /// observation and the episode index.
    #[pyo3(signature = (seed=None))]
    fn reset(&self, py: Python<'_>, seed: Option<u64>) -> (String, u64) {
        let reset = py.detach(|| lock(&self.inner).reset(seed));
        (reset.observation.into_owned(), reset.info.episode)
    }

    /// Applies one action; see `StepTuple` for the fields.
    fn step(&self, py: Python<'_>, action: String) -> PyResult<StepTuple> {
        py.detach(|| lock(&self.inner).try_step(Action::from(action))).map(step_tuple).map_err(runtime_error)
    }

    /// The current episode's transcript as `(speaker, kind, text)`.
    fn transcript(&self) -> Vec<(String, String, String)> {
        transcript_rows(lock(&self.inner).transcript())
    }
}

fn autoreset_mode(name: &str) -> PyResult<AutoresetMode> {
    match name {
        "next_step" => Ok(AutoresetMode::NextStep),
        "same_step" => Ok(AutoresetMode::SameStep),
        "disabled" => Ok(AutoresetMode::Disabled),
        other => Err(PyValueError::new_err(format!(
            "unknown autoreset mode `{other}`; use next_step, same_step or disabled"
        ))),
    }
}

/// A batch step, column by column: observations, rewards, terminated, truncated, episode,
/// turn, invalid_action, success, autoreset, final_observation (same-step mode only).
type BatchColumns = (
    Vec<String>,
    Vec<f64>,
    Vec<bool>,
    Vec<bool>,
    Vec<u64>,
    Vec<u32>,
    Vec<bool>,
    Vec<bool>,
    Vec<bool>,
    Vec<Option<String>>,
);

fn batch_columns(steps: impl ExactSizeIterator<Item = Step>) -> BatchColumns {
    let size = steps.len();
    let mut columns: BatchColumns = (
        Vec::with_capacity(size),
        Vec::with_capacity(size),
        Vec::with_capacity(size),
        Vec::with_capacity(size),
        Vec::with_capacity(size),
        Vec::with_capacity(size),
        Vec::with_capacity(size),
        Vec::with_capacity(size),
        Vec::with_capacity(size),
        Vec::with_capacity(size),
    );
    for step in steps {
        columns.0.push(step.observation.into_owned());
        columns.1.push(step.reward);
        columns.2.push(step.terminated);
        columns.3.push(step.truncated);
        columns.4.push(step.info.episode);
        columns.5.push(step.info.turn);
        columns.6.push(step.info.invalid_action);
        columns.7.push(step.info.success);
        columns.8.push(step.info.autoreset);
        columns.9.push(step.info.final_observation.map(std::borrow::Cow::into_owned));
    }
    columns
}

/// A batch of slots of one env in one world, stepped together (`sim_core::VecEnv`).
#[pyclass(frozen, module = "lm_gym._native")]
struct VecEnv {
    inner: Mutex<sim_core::VecEnv>,
    size: usize,
}

#[pymethods]
impl VecEnv {
    /// `autoreset_mode`: `next_step`, `same_step` or `disabled`.
    #[new]
    #[pyo3(signature = (env_id, num_envs, autoreset_mode="next_step", config=None))]
    fn new(env_id: &str, num_envs: usize, autoreset_mode: &str, config: Option<&str>) -> PyResult<Self> {
        if num_envs == 0 {
            return Err(PyValueError::new_err("num_envs must be at least 1"));
        }
        let kind = make_kind(env_id, config)?;
        let mode = self::autoreset_mode(autoreset_mode)?;
        Ok(Self { inner: Mutex::new(sim_core::VecEnv::new(kind, num_envs, mode)), size: num_envs })
    }

    #[getter]
    fn num_envs(&self) -> usize {
        self.size
    }

    /// Re-seeds and restarts every slot; slot `i`'s `k`-th episode is scenario episode
    /// `k * num_envs + i` of `seed`. Returns the observations and episode indices.
    fn reset(&self, py: Python<'_>, seed: u64) -> (Vec<String>, Vec<u64>) {
        let resets = py.detach(|| lock(&self.inner).reset(seed));
        resets.into_iter().map(|reset| (reset.observation.into_owned(), reset.info.episode)).unzip()
    }

    /// Restarts the listed slots with their next episodes.
    fn reset_slots(&self, py: Python<'_>, slots: Vec<usize>) -> PyResult<(Vec<String>, Vec<u64>)> {
        let resets = py.detach(|| lock(&self.inner).reset_slots(&slots)).map_err(runtime_error)?;
        Ok(resets.into_iter().map(|reset| (reset.observation.into_owned(), reset.info.episode)).unzip())
    }

    /// Steps every slot, `actions[i]` for slot `i`, in one engine run.
    fn step(&self, py: Python<'_>, actions: Vec<String>) -> PyResult<BatchColumns> {
        let actions: Vec<Action> = actions.into_iter().map(Action::from).collect();
        let steps = py.detach(|| lock(&self.inner).step(actions)).map_err(runtime_error)?;
        Ok(batch_columns(steps.into_iter()))
    }

    /// Steps only the listed slots, in one engine run; the columns follow `slots`' order.
    fn step_some(&self, py: Python<'_>, slots: Vec<usize>, actions: Vec<String>) -> PyResult<BatchColumns> {
        if slots.len() != actions.len() {
            return Err(PyValueError::new_err(format!("{} slots but {} actions", slots.len(), actions.len())));
        }
        let pairs: Vec<(usize, Action)> = slots.into_iter().zip(actions.into_iter().map(Action::from)).collect();
        let steps = py.detach(|| lock(&self.inner).step_some(pairs)).map_err(runtime_error)?;
        Ok(batch_columns(steps.into_iter().map(|(_, step)| step)))
    }

    /// The transcript of a slot's current episode as `(speaker, kind, text)`.
    fn transcript(&self, slot: usize) -> PyResult<Vec<(String, String, String)>> {
        let inner = lock(&self.inner);
        if slot >= self.size {
            return Err(PyValueError::new_err(format!("slot {slot} does not exist (the batch has {})", self.size)));
        }
        Ok(transcript_rows(inner.transcript(slot)))
    }
}

/// A loaded scenario file, with the command line's overrides as settable attributes.
#[pyclass(module = "lm_gym._native")]
struct Scenario {
    /// The file's text: what travels to cluster workers, which re-parse it.
    #[pyo3(get)]
    text: String,
    loaded: scenarios::scenario::Scenario,
}

impl Scenario {
    /// Applies attribute assignments through the runner's one set of override rules.
    fn apply(&mut self, overrides: Overrides) {
        overrides.apply(&mut self.loaded);
    }
}

fn scenario_error(error: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(error.to_string())
}

#[pymethods]
impl Scenario {
    /// Loads a shipped scenario by name (`twenty_questions`) or a `.ron` file by path.
    #[staticmethod]
    fn load(target: &str) -> PyResult<Self> {
        let path = scenarios::scenario::resolve(target).map_err(scenario_error)?;
        let text =
            std::fs::read_to_string(&path).map_err(|error| scenario_error(format!("{}: {error}", path.display())))?;
        let name = path.file_stem().map_or_else(|| "scenario".to_owned(), |s| s.to_string_lossy().into_owned());
        Self::parse(text, &name, Some(&path.display().to_string()))
    }

    /// Parses a scenario from its text; `name` is its name (the file stem), `shown` the path
    /// error messages name.
    #[staticmethod]
    #[pyo3(signature = (text, name, shown=None))]
    fn parse(text: String, name: &str, shown: Option<&str>) -> PyResult<Self> {
        let loaded =
            scenarios::scenario::parse(&text, name, shown.unwrap_or(name), registry()).map_err(scenario_error)?;
        Ok(Self { text, loaded })
    }

    #[getter]
    fn name(&self) -> String {
        self.loaded.name.clone()
    }

    #[getter]
    fn env_id(&self) -> String {
        self.loaded.env.spec().id.clone()
    }

    #[getter]
    fn env_config(&self) -> String {
        self.loaded.env.config_ron()
    }

    #[getter]
    fn agent(&self) -> String {
        self.loaded.agent.clone()
    }

    #[setter]
    fn set_agent(&mut self, agent: String) {
        self.apply(Overrides { agent: Some(agent), ..Overrides::default() });
    }

    #[getter]
    fn episodes(&self) -> u64 {
        self.loaded.episodes
    }

    #[setter]
    fn set_episodes(&mut self, episodes: u64) {
        self.apply(Overrides { episodes: Some(episodes), ..Overrides::default() });
    }

    #[getter]
    fn batch_size(&self) -> usize {
        self.loaded.batch_size
    }

    #[setter]
    fn set_batch_size(&mut self, batch_size: usize) {
        self.apply(Overrides { batch_size: Some(batch_size), ..Overrides::default() });
    }

    #[getter]
    fn threads(&self) -> usize {
        self.loaded.threads
    }

    #[setter]
    fn set_threads(&mut self, threads: usize) {
        self.apply(Overrides { threads: Some(threads), ..Overrides::default() });
    }

    #[getter]
    fn seed(&self) -> u64 {
        self.loaded.seed
    }

    #[setter]
    fn set_seed(&mut self, seed: u64) {
        self.apply(Overrides { seed: Some(seed), ..Overrides::default() });
    }

    #[getter]
    fn out(&self) -> PathBuf {
        self.loaded.out.clone()
    }

    #[setter]
    fn set_out(&mut self, out: PathBuf) {
        self.apply(Overrides { out: Some(out), ..Overrides::default() });
    }

    /// Plays the whole scenario as `scenarios <name>` does, writing `trajectories.jsonl` and
    /// `summary.json` into `out`; returns the summary as JSON.
    fn run(&self, py: Python<'_>) -> PyResult<String> {
        if scenarios::run::stdio_mode(&self.loaded.agent).is_some() {
            return Err(PyValueError::new_err("the stdio agent answers on standard input: use the scenarios binary"));
        }
        let scenario = self.loaded.clone();
        let summary =
            py.detach(|| scenarios::run::run(scenario)).map_err(|error| runtime_error(format!("{error:#}")))?;
        serde_json::to_string(&summary).map_err(runtime_error)
    }

    /// Plays episodes `first..first + episodes` in a batched world. Returns their
    /// `trajectories.jsonl` lines (bytes), their exact returns and the env steps taken.
    fn play_shard<'py>(
        &self,
        py: Python<'py>,
        first: u64,
        episodes: u64,
    ) -> PyResult<(Bound<'py, PyBytes>, Vec<f64>, u64)> {
        let scenario = self.loaded.clone();
        let shard = py
            .detach(|| scenarios::run::play_shard(&scenario, first, episodes))
            .map_err(|error| runtime_error(format!("{error:#}")))?;
        Ok((PyBytes::new(py, &shard.lines), shard.returns, shard.env_steps))
    }
}

/// Gathers the shards of a run, in episode order, into `trajectories.jsonl` and writes
/// `summary.json` at the end, as the single-process run does.
#[pyclass(frozen, module = "lm_gym._native")]
struct ShardWriter {
    inner: Mutex<Option<scenarios::run::ShardWriter>>,
    started: Instant,
}

#[pymethods]
impl ShardWriter {
    /// A writer into `out` for the runs of `scenario` (whose env declares the metrics to pool).
    #[new]
    fn new(out: PathBuf, scenario: &Scenario) -> PyResult<Self> {
        let metrics = &scenario.loaded.env.spec().metrics;
        let writer =
            scenarios::run::ShardWriter::create(&out, metrics).map_err(|error| runtime_error(format!("{error:#}")))?;
        Ok(Self { inner: Mutex::new(Some(writer)), started: Instant::now() })
    }

    /// Appends the shard that starts at the next episode (what `Scenario.play_shard` returned).
    fn push(&self, py: Python<'_>, lines: &[u8], returns: Vec<f64>, env_steps: u64) -> PyResult<u64> {
        py.detach(|| {
            let mut inner = lock(&self.inner);
            let writer = inner.as_mut().ok_or_else(|| runtime_error("the writer is finished"))?;
            writer.push(lines, &returns, env_steps).map_err(|error| runtime_error(format!("{error:#}")))?;
            Ok(writer.episodes())
        })
    }

    /// Writes `summary.json` for `scenario` (wall time from this writer's creation) and returns
    /// the summary as JSON.
    fn finish(&self, scenario: &Scenario) -> PyResult<String> {
        let writer = lock(&self.inner).take().ok_or_else(|| runtime_error("the writer is finished"))?;
        if writer.episodes() != scenario.loaded.episodes {
            return Err(runtime_error(format!(
                "{} of the scenario's {} episodes were written",
                writer.episodes(),
                scenario.loaded.episodes
            )));
        }
        let summary = writer
            .finish(&scenario.loaded, self.started.elapsed().as_secs_f64())
            .map_err(|error| runtime_error(format!("{error:#}")))?;
        serde_json::to_string(&summary).map_err(runtime_error)
    }
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(env_ids, module)?)?;
    module.add_function(wrap_pyfunction!(env_spec_json, module)?)?;
    module.add_function(wrap_pyfunction!(env_sample_actions, module)?)?;
    module.add_class::<Env>()?;
    module.add_class::<VecEnv>()?;
    module.add_class::<Scenario>()?;
    module.add_class::<ShardWriter>()?;
    Ok(())
}
