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
