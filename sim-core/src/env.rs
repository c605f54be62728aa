//! How an env plugs into the engine: the typed [`Environment`] trait an env implements, and
//! the object-safe [`EnvKind`] the registry, the batch engine and the runner use.

use std::any::TypeId;
use std::borrow::Cow;
use std::fmt::Debug;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use bevy_ecs::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::components::Episode;
use crate::components::EpisodeComponents;
use crate::error::ConfigError;
use crate::metrics::EpisodeMetrics;
use crate::record::EpisodeRecord;
use crate::spec::EnvSpec;

/// The env's config, shared by every episode bound to it: the engine inserts it on each
/// episode entity before [`Environment::spawn`], so systems read the config instead of a copy
/// of its fields.
///
/// Invariant: every episode of env type `E` has exactly one `EnvConfig<E>`, and episodes
/// spawned from the same [`crate::EnvKind`] share one allocation.
#[derive(Component)]
pub struct EnvConfig<E: Environment>(Arc<E::Config>);

impl<E: Environment> EnvConfig<E> {
    pub(crate) fn new(config: Arc<E::Config>) -> Self {
        Self(config)
    }
}

impl<E: Environment> Deref for EnvConfig<E> {
    type Target = E::Config;

    fn deref(&self) -> &E::Config {
        &self.0
    }
}

/// An environment, declared against sim-core alone.
///
/// An env contributes a config (mirroring its RON), the components `spawn` inserts on an
/// episode entity, and systems added to the engine's sets ([`crate::StepSet`]). Turn cap,
/// transcript, seeding, autoreset and recording are the engine's.
pub trait Environment: Send + Sync + 'static {
    /// The env's part of a scenario file. Unknown fields must be rejected
    /// (`#[serde(deny_unknown_fields)]`).
    type Config: Serialize + DeserializeOwned + Default + Clone + Debug + Send + Sync + 'static;

    /// The registered id, `name-vN`. The engine writes it into the spec's `id`.
    const ID: &'static str;

    /// Words an LLM agent's reply is started with, so a small model answers in the env's
    /// form (Twenty Questions: `"Is it"`); empty for none.
    const LLM_LEAD: &'static str = "";

    /// The spec for a config. Its `id` is ignored: the engine fills it from [`Self::ID`].
    fn spec(config: &Self::Config) -> EnvSpec;

    /// Rejects configs that parse but cannot be used.
    fn validate(_config: &Self::Config) -> Result<(), String> {
        Ok(())
    }

    /// Inserts the env's components for a new episode and returns its opening prompt. All
    /// randomness must come from `sim_core::seed::stream(episode.seed, ..)`. The engine has
    /// already inserted the episode's [`EnvConfig<Self>`], which systems read for the config.
    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str>;

    /// Adds the env's systems to the step schedule, each in one of the [`crate::StepSet`]s
    /// and filtered to a component only this env's episodes have ([`EnvConfig<Self>`] or a
    /// state component), stepping through [`crate::Stepping`]. Called once per world.
    fn add_systems(schedule: &mut Schedule);

    /// The hidden state of an episode, as strings that must never appear (as whole words,
    /// case-insensitively) in anything the env or its partners say.
    fn hidden_state(entity: EntityRef) -> Vec<String>;

    /// A few well-formed actions, used by the conformance checker beside arbitrary strings.
    fn sample_actions(config: &Self::Config) -> Vec<String>;

    /// The paper metrics of an episode that just ended, from its components and its record
    /// (every field but `metrics` filled in). Only metrics the spec declares
    /// ([`EnvSpec::with_metrics`](crate::EnvSpec::with_metrics)) may be set. Default: none.
    fn episode_metrics(_entity: EntityRef, _record: &EpisodeRecord) -> EpisodeMetrics {
        EpisodeMetrics::default()
    }
}

/// An env with its config, as the engine sees it. Built by [`kind`] or the registry.
pub trait EnvKind: Send + Sync {
    fn spec(&self) -> &EnvSpec;
    /// The config, rendered as RON (what a scenario file would hold).
    fn config_ron(&self) -> String;
    /// Identifies the env type, so its systems are added to a world once.
    fn systems_id(&self) -> TypeId;
    fn add_systems(&self, schedule: &mut Schedule);
    /// Spawns an episode entity with the engine's `components`, the env's config
    /// ([`EnvConfig`]) and the env's own components; returns it with the opening prompt.
    fn spawn<'w>(&self, world: &'w mut World, components: EpisodeComponents)
    -> (EntityWorldMut<'w>, Cow<'static, str>);
    fn hidden_state(&self, entity: EntityRef) -> Vec<String>;
    fn sample_actions(&self) -> Vec<String>;
    /// [`Environment::episode_metrics`].
    fn episode_metrics(&self, entity: EntityRef, record: &EpisodeRecord) -> EpisodeMetrics;
    /// [`Environment::LLM_LEAD`].
    fn llm_lead(&self) -> &'static str;
}

struct Configured<E: Environment> {
    config: Arc<E::Config>,
    spec: EnvSpec,
    env: PhantomData<fn() -> E>,
}

impl<E: Environment> EnvKind for Configured<E> {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }

    fn config_ron(&self) -> String {
        ron::ser::to_string(&*self.config).unwrap_or_default()
    }

    fn systems_id(&self) -> TypeId {
        TypeId::of::<E>()
    }

    fn add_systems(&self, schedule: &mut Schedule) {
        E::add_systems(schedule);
    }

    fn spawn<'w>(
        &self,
        world: &'w mut World,
        components: EpisodeComponents,
    ) -> (EntityWorldMut<'w>, Cow<'static, str>) {
        let episode = components.episode();
        let mut entity = world.spawn((components, EnvConfig::<E>::new(Arc::clone(&self.config))));
        let prompt = E::spawn(&self.config, episode, &mut entity);
        (entity, prompt)
    }

    fn hidden_state(&self, entity: EntityRef) -> Vec<String> {
        E::hidden_state(entity)
    }

    fn sample_actions(&self) -> Vec<String> {
        E::sample_actions(&self.config)
    }

    fn episode_metrics(&self, entity: EntityRef, record: &EpisodeRecord) -> EpisodeMetrics {
        E::episode_metrics(entity, record)
    }

    fn llm_lead(&self) -> &'static str {
        E::LLM_LEAD
    }
}

/// Binds an env type to a config.
///
/// # Errors
/// [`ConfigError::Invalid`] when [`Environment::validate`] rejects the config.
pub fn kind<E: Environment>(config: E::Config) -> Result<Arc<dyn EnvKind>, ConfigError> {
    E::validate(&config).map_err(ConfigError::Invalid)?;
    let spec = EnvSpec { id: E::ID.to_owned(), ..E::spec(&config) };
    Ok(Arc::new(Configured::<E> { config: Arc::new(config), spec, env: PhantomData }))
}

/// Parses a config from RON text (`None`: the default config) and binds it.
///
/// # Errors
/// [`ConfigError::Parse`] with the 1-based line and column inside `config`.
pub fn kind_from_ron<E: Environment>(config: Option<&str>) -> Result<Arc<dyn EnvKind>, ConfigError> {
    let config = match config {
        None => E::Config::default(),
        Some(text) => ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .from_str(text)
            .map_err(ConfigError::from_ron)?,
    };
    kind::<E>(config)
}
