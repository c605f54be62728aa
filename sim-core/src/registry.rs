//! Env ids bound to env types: `make(id, config)`, `list()`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::env::{EnvKind, Environment, kind_from_ron};
use crate::error::ConfigError;

type Maker = fn(Option<&str>) -> Result<Arc<dyn EnvKind>, ConfigError>;

/// One registered env.
#[derive(Clone)]
pub struct Registration {
    pub id: &'static str,
    make: Maker,
}

/// A set of envs by id, listed in id order.
#[derive(Clone, Default)]
pub struct Registry {
    entries: BTreeMap<&'static str, Registration>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `E` under [`Environment::ID`].
    ///
    /// # Panics
    /// When the id is already taken or is not of the form `name-vN`.
    pub fn register<E: Environment>(&mut self) -> &mut Self {
        let id = E::ID;
        let versioned = id.rsplit_once("-v").is_some_and(|(name, version)| {
            !name.is_empty() && !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit())
        });
        assert!(versioned, "env id `{id}` must look like `name-vN`");
        let previous = self.entries.insert(id, Registration { id, make: kind_from_ron::<E> });
        assert!(previous.is_none(), "env id `{id}` registered twice");
        self
    }

    /// Builds an env from its id and an optional RON config (`None`: the default config).
    ///
    /// # Errors
    /// [`ConfigError::UnknownEnv`], or the config's parse or validation error.
    pub fn make(&self, id: &str, config: Option<&str>) -> Result<Arc<dyn EnvKind>, ConfigError> {
        let registration = self.entries.get(id).ok_or_else(|| ConfigError::UnknownEnv {
            id: id.to_owned(),
            known: self.ids().collect::<Vec<_>>().join(", "),
        })?;
        (registration.make)(config)
    }

    /// Registered ids, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.keys().copied()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.entries.contains_key(id)
    }
}

/// The `env` section of a scenario or training file: an env id and, optionally, its config as
/// RON text (kept raw, so the env's own config type parses it).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSection<'a> {
    pub id: String,
    #[serde(borrow, default)]
    pub config: Option<&'a ron::value::RawValue>,
}

impl EnvSection<'_> {
    /// Builds the env; `file_text` is the whole file this section was parsed from.
    ///
    /// # Errors
    /// (line, column, message) of the problem, positions 1-based in `file_text`.
    pub fn make(&self, registry: &Registry, file_text: &str) -> Result<Arc<dyn EnvKind>, (usize, usize, String)> {
        let config_text = self.config.map(ron::value::RawValue::get_ron);
        registry
            .make(&self.id, config_text)
            .map_err(|error| locate_config_error(file_text, &self.id, config_text, &error))
    }
}

/// 1-based line and column of a byte offset of `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
    (line, column)
}

/// Where in a larger file (a scenario or training file) a [`Registry::make`] error lies, and
/// its message: `file_text` is the whole file, `id` the env id written in it, `config_text`
/// the slice of `file_text` that holds the env config (when there is one).
///
/// Returns (line, column, message), positions 1-based in `file_text`.
pub fn locate_config_error(
    file_text: &str,
    id: &str,
    config_text: Option<&str>,
    error: &ConfigError,
) -> (usize, usize, String) {
    // The config's text is a slice of the file: its offset is the distance between the two.
    let config_offset = config_text.map_or(0, |config| {
        (config.as_ptr() as usize).saturating_sub(file_text.as_ptr() as usize).min(file_text.len())
    });
    match error {
        ConfigError::Parse { line, column, message } => {
            let (base_line, base_column) = line_column(file_text, config_offset);
            let column = if *line == 1 { base_column + column - 1 } else { *column };
            (base_line + line - 1, column, format!("env config: {message}"))
        }
        ConfigError::UnknownEnv { .. } => {
            let (line, column) = line_column(file_text, file_text.find(&format!("\"{id}\"")).unwrap_or(0));
            (line, column, error.to_string())
        }
        ConfigError::Invalid(message) => {
            let (line, column) = line_column(file_text, config_offset);
            (line, column, message.clone())
        }
    }
}
