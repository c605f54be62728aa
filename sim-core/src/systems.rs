//! What env systems query through: the episodes being stepped ([`Stepping`]). They read
//! their env's config through [`crate::EnvConfig`].
//!
//! The engine runs every system on every step of the world, but only episodes that were given
//! an action are stepped. `Stepping` filters the others out once, here, so an env system's loop
//! body runs only for stepped episodes.

use bevy_ecs::prelude::*;
use bevy_ecs::query::{IterQueryData, QueryData, QueryFilter};
use bevy_ecs::system::SystemParam;

use crate::components::AgentAction;

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
