//! The per-sequence KV cache, in the layout the attention kernel reads.

use half::f16;

/// The cached keys and values of one sequence, in f16 (as llama.cpp's default cache; the
/// attention reads half the bytes, and decoding a batch streams the whole cache every step).
///
/// Per layer, the values are `len` rows of `kv_heads * head_dim`. The keys are stored by
/// chunks of [`CHUNK`] positions, position fastest: key element `i` (of `kv_heads * head_dim`)
/// at position `p` is at `(p / CHUNK * kv_width + i) * CHUNK + p % CHUNK`, so the attention
/// scores of a chunk of positions come out one position per vector lane. A chunk is
/// zero-filled when its first position is written.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    keys: Vec<Vec<f16>>,
    values: Vec<Vec<f16>>,
    len: usize,
}

/// Positions per key chunk (the f32 lanes of an AVX2 vector).
pub(super) const CHUNK: usize = 8;

impl KvCache {
    /// An empty cache for a model of `layers` layers.
    pub(super) fn new(layers: usize) -> Self {
        Self { keys: vec![Vec::new(); layers], values: vec![Vec::new(); layers], len: 0 }
    }

    /// Tokens whose keys and values are cached (the next token's position).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores the keys and values (rows of `kv_width`, one per new token) of `layer` at the
    /// positions from [`Self::len`] on. The positions count only once [`Self::advance`] is
    /// called, after the last layer.
    pub(super) fn append(&mut self, layer: usize, keys: &[f32], values: &[f32], kv_width: usize) {
        let start = self.len;
        let cached_keys = &mut self.keys[layer];
        for (offset, key_row) in keys.chunks_exact(kv_width).enumerate() {
            let position = start + offset;
            let chunk = position / CHUNK;
            if position.is_multiple_of(CHUNK) {
                cached_keys.resize((chunk + 1) * kv_width * CHUNK, f16::ZERO);
            }
            let lanes = &mut cached_keys[chunk * kv_width * CHUNK..(chunk + 1) * kv_width * CHUNK];
            for (lane, &key) in lanes.chunks_exact_mut(CHUNK).zip(key_row) {
                lane[position % CHUNK] = f16::from_f32(key);
            }
        }
        self.values[layer].extend(values.iter().map(|&value| f16::from_f32(value)));
    }

    /// The cached keys (chunked) and values of `layer`.
    pub(super) fn layer(&self, layer: usize) -> (&[f16], &[f16]) {
        (&self.keys[layer], &self.values[layer])
    }

    /// Counts `count` appended tokens as cached.
    pub(super) fn advance(&mut self, count: usize) {
        self.len += count;
    }
}
