//! Seed derivation: one scenario seed, one seed per episode, one stream per system.
//!
//! Invariant: every random draw inside an episode comes from a stream returned by
//! [`stream`], so an episode's transcript depends only on (scenario seed, episode index,
//! actions), never on batch size, thread count or the other episodes in the world.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::components::Episode;

/// The random generator every env, agent and simulator stream uses.
pub type StreamRng = ChaCha8Rng;

/// SplitMix64 finaliser: a bijective, well-mixing map on `u64`.
const fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over the bytes of a stream name; stable across platforms and releases.
const fn name_hash(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut hash = 0xCBF2_9CE4_8422_2325_u64;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
        i += 1;
    }
    hash
}

/// The seed of episode `episode_index` of a scenario run with `scenario_seed`.
///
/// Distinct indices give unrelated seeds (no `s + i` overlap between neighbouring scenarios).
pub const fn episode_seed(scenario_seed: u64, episode_index: u64) -> u64 {
    mix(mix(scenario_seed) ^ mix(episode_index.wrapping_add(0x5EED)))
}

/// A named random stream of one episode, e.g. `stream(seed, "oracle")`.
///
/// Each system that draws randomness uses its own name, so adding draws to one system
/// never shifts another's.
pub fn stream(episode_seed: u64, name: &str) -> StreamRng {
    stream_indexed(episode_seed, name, 0)
}

/// A named stream with an extra index, e.g. one stream per turn for a stateless agent.
pub fn stream_indexed(episode_seed: u64, name: &str, index: u64) -> StreamRng {
    let a = mix(episode_seed ^ name_hash(name));
    let b = mix(a ^ mix(index));
    let mut key = [0u8; 32];
    let words = [a, b, mix(b ^ 1), mix(b ^ 2)];
    for (chunk, word) in key.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    StreamRng::from_seed(key)
}

/// How an env picks one of its hidden items (a word, a city, a start cell) for an episode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Selection {
    /// Uniformly, from a named stream of the episode's seed.
    #[default]
    Random,
    /// Item `episode index mod count`: `count · k` episodes play every item `k` times, which
    /// suits evaluation.
    Cycle,
}

impl Selection {
    /// The index, below `count` (which must be positive), of the episode's item; `Random`
    /// draws from the stream `stream_name`.
    pub fn pick(self, episode: Episode, count: usize, stream_name: &str) -> usize {
        match self {
            Selection::Random => pick_random(episode, count, stream_name),
            Selection::Cycle => pick_cycled(episode, count),
        }
    }
}

/// A uniform index below `count` (positive) from the episode's stream `stream_name`.
pub fn pick_random(episode: Episode, count: usize, stream_name: &str) -> usize {
    stream(episode.seed, stream_name).random_range(0..count)
}

/// Index `episode index mod count` (`count` positive).
pub fn pick_cycled(episode: Episode, count: usize) -> usize {
    (episode.index % count as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn episode_seeds_are_distinct_and_stable() {
        let seeds: std::collections::BTreeSet<u64> = (0..10_000).map(|i| episode_seed(7, i)).collect();
        assert_eq!(seeds.len(), 10_000);
        assert_eq!(episode_seed(7, 3), episode_seed(7, 3));
        assert_ne!(episode_seed(7, 3), episode_seed(8, 3));
    }

    #[test]
    fn streams_differ_by_name_and_repeat_by_name() {
        let draw = |name: &str| stream(42, name).random::<u64>();
        assert_eq!(draw("oracle"), draw("oracle"));
        assert_ne!(draw("oracle"), draw("agent"));
        assert_ne!(stream_indexed(42, "agent", 1).random::<u64>(), stream_indexed(42, "agent", 2).random::<u64>());
    }
}

#[cfg(test)]
mod selection_tests {
    use super::*;

    #[test]
    fn cycling_visits_every_item_and_random_repeats_by_seed() {
        let episode = |index| Episode { index, seed: episode_seed(3, index) };
        let cycled: Vec<usize> = (0..6).map(|index| Selection::Cycle.pick(episode(index), 3, "item")).collect();
        assert_eq!(cycled, [0, 1, 2, 0, 1, 2]);
        let drawn = |index| Selection::Random.pick(episode(index), 1000, "item");
        assert_eq!(drawn(5), drawn(5));
        assert!((0..50).all(|index| drawn(index) < 1000));
        assert!((0..50).map(drawn).collect::<std::collections::BTreeSet<_>>().len() > 40);
    }
}
