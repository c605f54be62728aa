//! What env systems read besides their own components: the episodes being stepped
//! ([`Stepping`]) and their env's config ([`EnvConfig`]).
//!
//! The engine runs every system on every step of the world, but only episodes that were given
//! an action are stepped. `Stepping` filters the others out once, here, so an env system's loop
//! body runs only for stepped episodes.

use std::ops::Deref;
use std::sync::Arc;

use bevy_ecs::prelude::*;
use bevy_ecs::query::{IterQueryData, QueryData, QueryFilter};
use bevy_ecs::system::SystemParam;

use crate::components::AgentAction;
use crate::env::Environment;

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

/// A query over the episodes being stepped: like `Query<D, F>`, but an episode that was not
/// given an action in this step is never yielded.
///
/// ```ignore
/// fn score(mut episodes: Stepping<(&Guess, &mut Outcome), With<MyEnvEpisode>>) {
///     for (guess, mut outcome) in episodes.iter_mut() { /* ... */ }
/// }
/// ```
#[derive(SystemParam)]
pub struct Stepping<'w, 's, D: QueryData + 'static, F: QueryFilter + 'static = ()> {
    episodes: Query<'w, 's, (&'static AgentAction, D), F>,
}

impl<'w, 's, D: IterQueryData + 'static, F: QueryFilter + 'static> Stepping<'w, 's, D, F> {
    /// The stepped episodes' query items.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = D::Item<'_, 's>> {
        self.episodes.iter_mut().filter_map(|(action, item)| action.pending().map(|_| item))
    }

    /// The stepped episodes' query items, each with the agent's action text.
    pub fn iter_mut_with_action(&mut self) -> impl Iterator<Item = (&str, D::Item<'_, 's>)> {
        self.episodes.iter_mut().filter_map(|(action, item)| action.pending().map(|text| (text, item)))
    }
}
