//! Self-attention: the query/key/value/output projections, rotary embeddings, and the causal
//! attention kernel over each sequence's own [`KvCache`](super::KvCache), one query row at a time.

use half::f16;

use super::config::{ModelConfig, RopeLayout};
use super::kv_cache::CHUNK;
use super::linear::{LayerInput, Linear};
use super::ops::exp;
use super::{Scratch, SequenceInput};
use crate::LlmError;

/// The attention projections of one layer.
pub(super) struct Attention {
    pub(super) query: Linear,
    pub(super) key: Linear,
    pub(super) value: Linear,
    pub(super) output: Linear,
}

impl Attention {
    /// Attends every new token of the batch (the normalised rows in `scratch.normed`) over its
    /// own sequence's cache of `layer`, after appending the new keys and values to it, and
    /// returns the output projection's rows.
    pub(super) fn forward(
        &self,
        layer: usize,
        config: &ModelConfig,
        rotary: &Rotary,
        batch: &mut [SequenceInput<'_>],
        scratch: &mut Scratch,
    ) -> Result<Vec<f32>, LlmError> {
        let hidden = config.hidden_size;
        let kv_width = config.kv_heads * config.head_dim();
        let mut input = LayerInput::new(&scratch.normed, scratch.rows);
        let mut queries = self.query.forward(&mut input)?;
        let mut keys = self.key.forward(&mut input)?;
        let values = self.value.forward(&mut input)?;
        let mut row = 0;
        for sequence in batch.iter_mut() {
            let start = sequence.cache.len();
            let count = sequence.tokens.len();
            for offset in 0..count {
                let (position, r) = (start + offset, row + offset);
                rotary.rotate(&mut queries[r * hidden..(r + 1) * hidden], position);
                rotary.rotate(&mut keys[r * kv_width..(r + 1) * kv_width], position);
            }
            let rows = row * kv_width..(row + count) * kv_width;
            sequence.cache.append(layer, &keys[rows.clone()], &values[rows], kv_width);
            let (cached_keys, cached_values) = sequence.cache.layer(layer);
            for offset in 0..count {
                let r = row + offset;
                attend(
                    config,
                    &queries[r * hidden..(r + 1) * hidden],
                    cached_keys,
                    cached_values,
                    start + offset + 1,
                    &mut scratch.scores,
                    &mut scratch.attended[r * hidden..(r + 1) * hidden],
                );
            }
            row += count;
        }
        self.output.forward(&mut LayerInput::new(&scratch.attended, scratch.rows))
    }
}

/// The rotary embedding table: per position, `head_dim / 2` cosines then `head_dim / 2` sines.
pub(super) struct Rotary {
    table: Vec<f32>,
    head_dim: usize,
    layout: RopeLayout,
}

impl Rotary {
    /// The table for every position of the model's context.
    pub(super) fn new(config: &ModelConfig) -> Self {
        let half = config.head_dim() / 2;
        let mut table = Vec::with_capacity(config.max_positions * 2 * half);
        for position in 0..config.max_positions {
            let angles: Vec<f64> = (0..half)
                .map(|i| position as f64 / f64::from(config.rope_theta).powf(2.0 * i as f64 / (2 * half) as f64))
                .collect();
            table.extend(angles.iter().map(|a| a.cos() as f32));
            table.extend(angles.iter().map(|a| a.sin() as f32));
        }
        Self { table, head_dim: config.head_dim(), layout: config.rope_layout }
    }

    /// Rotates every head of one row (queries or keys) to `position`.
    fn rotate(&self, row: &mut [f32], position: usize) {
        let head_dim = self.head_dim;
        let half = head_dim / 2;
        let table = &self.table[position * head_dim..(position + 1) * head_dim];
        let (cos, sin) = table.split_at(half);
        for head in row.chunks_exact_mut(head_dim) {
            for i in 0..half {
                let (a, b) = match self.layout {
                    RopeLayout::Interleaved => (2 * i, 2 * i + 1),
                    RopeLayout::Halves => (i, i + half),
                };
                let (x0, x1) = (head[a], head[b]);
                head[a] = x0 * cos[i] - x1 * sin[i];
                head[b] = x0 * sin[i] + x1 * cos[i];
            }
        }
    }
}

/// Causal attention of one query row over the first `visible` cached positions.
///
/// On x86-64 with AVX2, FMA and F16C the same code is compiled for those features (reading the
/// f16 cache with F16C); both builds perform the same f32 operations in the same order (fused
/// multiply-adds are explicit `mul_add` calls, never contractions) on the same exactly widened
/// values, so they compute identical values.
fn attend(
    config: &ModelConfig,
    query: &[f32],
    keys: &[f16],
    values: &[f16],
    visible: usize,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if crate::q8::avx2_fma() && std::arch::is_x86_feature_detected!("f16c") {
        // SAFETY: the CPU has the features the function is compiled for (checked above).
        unsafe { attend_avx2(config, query, keys, values, visible, scores, out) };
        return;
    }
    attend_portable::<Portable>(config, query, keys, values, visible, scores, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
fn attend_avx2(
    config: &ModelConfig,
    query: &[f32],
    keys: &[f16],
    values: &[f16],
    visible: usize,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    attend_portable::<F16c>(config, query, keys, values, visible, scores, out);
}

/// The arithmetic, per query head `h` over key/value head `k`: score `s_p` is
/// `fma(q[d], key_p[d], .)` over `d` in order from 0, times `1/sqrt(head_dim)`; `e_p` is
/// [`exp`]`(s_p - max s)`; output element `d` is `fma(e_p, value_p[d], .)` over `p` in
/// order from 0, divided by the sum of the `e_p` (summed in order).
#[inline(always)]
fn attend_portable<W: Widen>(
    config: &ModelConfig,
    query: &[f32],
    keys: &[f16],
    values: &[f16],
    visible: usize,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    let shape = AttentionShape {
        head_dim: config.head_dim(),
        kv_width: config.kv_heads * config.head_dim(),
        padded: visible.div_ceil(CHUNK) * CHUNK,
        visible,
    };
    let group = config.heads / config.kv_heads;
    let scale = 1.0 / (shape.head_dim as f32).sqrt();
    // `scores` holds `group` rows of `padded` scores: the query heads that share one
    // key/value head read each cached key and value together.
    scores.resize(group * shape.padded, 0.0);
    for kv_head in 0..config.kv_heads {
        let first_head = kv_head * group;
        // Up to four heads at a time, two chunks of positions at a time: eight vector
        // accumulators, independent of one another.
        for heads in (0..group).step_by(4) {
            let count = (group - heads).min(4);
            let query = &query[(first_head + heads) * shape.head_dim..];
            let scores = &mut scores[heads * shape.padded..];
            match count {
                1 => score_heads::<W, 1>(query, keys, kv_head, &shape, scale, scores),
                2 => score_heads::<W, 2>(query, keys, kv_head, &shape, scale, scores),
                3 => score_heads::<W, 3>(query, keys, kv_head, &shape, scale, scores),
                _ => score_heads::<W, 4>(query, keys, kv_head, &shape, scale, scores),
            }
        }
        let mut sums = [0f32; MAX_GROUP];
        for (row, sum) in scores.chunks_exact_mut(shape.padded).zip(sums.iter_mut()) {
            let row = &mut row[..visible];
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            // Plain loops rather than iterator adaptors, which are not always inlined and
            // so would not be compiled for the caller's target features.
            for score in row.iter_mut() {
                *score = exp(*score - max);
            }
            for score in row.iter() {
                *sum += *score;
            }
        }
        let out = &mut out[first_head * shape.head_dim..(first_head + group) * shape.head_dim];
        for heads in (0..group).step_by(4) {
            let count = (group - heads).min(4);
            let weights = &scores[heads * shape.padded..];
            let (out, sums) = (&mut out[heads * shape.head_dim..], &sums[heads..]);
            match count {
                1 => weigh_values::<W, 1>(weights, values, kv_head, &shape, sums, out),
                2 => weigh_values::<W, 2>(weights, values, kv_head, &shape, sums, out),
                3 => weigh_values::<W, 3>(weights, values, kv_head, &shape, sums, out),
                _ => weigh_values::<W, 4>(weights, values, kv_head, &shape, sums, out),
            }
        }
    }
}

/// The most query heads per key/value head (grouped-query attention) the model supports.
pub(super) const MAX_GROUP: usize = 16;

/// Sizes of one attention call.
struct AttentionShape {
    head_dim: usize,
    kv_width: usize,
    /// Positions visible to the query.
    visible: usize,
    /// `visible` rounded up to whole chunks: the length of a row of scores.
    padded: usize,
}

/// Scores of `H` consecutive query heads (`query` starts at the first) against the keys of
/// `kv_head`, for every chunk of visible positions, into rows of `shape.padded` of `scores`.
/// Lanes past `visible` in the last chunk hold scores of positions the query does not see.
#[inline(always)]
fn score_heads<W: Widen, const H: usize>(
    query: &[f32],
    keys: &[f16],
    kv_head: usize,
    shape: &AttentionShape,
    scale: f32,
    scores: &mut [f32],
) {
    let chunks = shape.padded / CHUNK;
    let mut chunk = 0;
    while chunk + 2 <= chunks {
        score_chunks::<W, H, 2>(query, keys, kv_head, chunk, shape, scale, scores);
        chunk += 2;
    }
    if chunk < chunks {
        score_chunks::<W, H, 1>(query, keys, kv_head, chunk, shape, scale, scores);
    }
}

/// [`score_heads`] for chunks `first..first + C`.
#[inline(always)]
fn score_chunks<W: Widen, const H: usize, const C: usize>(
    query: &[f32],
    keys: &[f16],
    kv_head: usize,
    first: usize,
    shape: &AttentionShape,
    scale: f32,
    scores: &mut [f32],
) {
    let head_dim = shape.head_dim;
    let mut sums = [[[0f32; CHUNK]; C]; H];
    let chunk_keys: [&[f16]; C] = std::array::from_fn(|c| {
        let start = ((first + c) * shape.kv_width + kv_head * head_dim) * CHUNK;
        &keys[start..start + head_dim * CHUNK]
    });
    for d in 0..head_dim {
        for (c, chunk_keys) in chunk_keys.iter().enumerate() {
            let key = W::eight(chunk_keys[d * CHUNK..(d + 1) * CHUNK].try_into().expect("a chunk lane"));
            for (h, sums) in sums.iter_mut().enumerate() {
                let q = query[h * head_dim + d];
                for (sum, &k) in sums[c].iter_mut().zip(&key) {
                    *sum = q.mul_add(k, *sum);
                }
            }
        }
    }
    for (h, sums) in sums.iter().enumerate() {
        for (c, sums) in sums.iter().enumerate() {
            let start = h * shape.padded + (first + c) * CHUNK;
            for (score, sum) in scores[start..start + CHUNK].iter_mut().zip(sums) {
                *score = sum * scale;
            }
        }
    }
}

/// The attention output of `H` consecutive query heads: the visible values of `kv_head`
/// weighted by `weights` (rows of `shape.padded`), divided by the heads' `sums`, into `out`
/// (rows of `head_dim`).
#[inline(always)]
fn weigh_values<W: Widen, const H: usize>(
    weights: &[f32],
    values: &[f16],
    kv_head: usize,
    shape: &AttentionShape,
    sums: &[f32],
    out: &mut [f32],
) {
    let mut dim = 0;
    while dim + 16 <= shape.head_dim {
        weigh_value_dims::<W, H, 16>(weights, values, kv_head, dim, shape, sums, out);
        dim += 16;
    }
    while dim + 8 <= shape.head_dim {
        weigh_value_dims::<W, H, 8>(weights, values, kv_head, dim, shape, sums, out);
        dim += 8;
    }
    while dim < shape.head_dim {
        weigh_value_dims::<W, H, 1>(weights, values, kv_head, dim, shape, sums, out);
        dim += 1;
    }
}

/// [`weigh_values`] for dimensions `first..first + D` of the heads.
#[inline(always)]
fn weigh_value_dims<W: Widen, const H: usize, const D: usize>(
    weights: &[f32],
    values: &[f16],
    kv_head: usize,
    first: usize,
    shape: &AttentionShape,
    sums: &[f32],
    out: &mut [f32],
) {
    let mut totals = [[0f32; D]; H];
    let offset = kv_head * shape.head_dim + first;
    for p in 0..shape.visible {
        let start = p * shape.kv_width + offset;
        let value: [f32; D] = W::many(&values[start..start + D]);
        for (h, totals) in totals.iter_mut().enumerate() {
            let weight = weights[h * shape.padded + p];
            for (total, &v) in totals.iter_mut().zip(&value) {
                *total = weight.mul_add(v, *total);
            }
        }
    }
    for (h, totals) in totals.iter().enumerate() {
        let start = h * shape.head_dim + first;
        for (o, total) in out[start..start + D].iter_mut().zip(totals) {
            *o = total / sums[h];
        }
    }
}

/// How the attention reads the f16 cache as f32. Both ways are exact (every f16 is an f32), so
/// they give the same bits (NaNs aside: F16C quiets a signalling NaN); the AVX2 build uses the
/// F16C conversion instruction.
trait Widen {
    fn eight(halves: &[f16; 8]) -> [f32; 8];

    #[inline(always)]
    fn many<const N: usize>(halves: &[f16]) -> [f32; N] {
        let mut out = [0f32; N];
        let mut eights = out.chunks_exact_mut(8);
        for (out, halves) in (&mut eights).zip(halves.chunks_exact(8)) {
            out.copy_from_slice(&Self::eight(halves.try_into().expect("eight halves")));
        }
        let done = N / 8 * 8;
        for (out, half) in eights.into_remainder().iter_mut().zip(&halves[done..]) {
            *out = widen(*half);
        }
        out
    }
}

/// Integer operations only, so the compiler vectorises them.
struct Portable;

impl Widen for Portable {
    #[inline(always)]
    fn eight(halves: &[f16; 8]) -> [f32; 8] {
        halves.map(widen)
    }
}

/// F16C's `vcvtph2ps`.
#[cfg(target_arch = "x86_64")]
struct F16c;

#[cfg(target_arch = "x86_64")]
impl Widen for F16c {
    #[inline(always)]
    fn eight(halves: &[f16; 8]) -> [f32; 8] {
        use std::arch::x86_64::{_mm_loadu_si128, _mm256_cvtph_ps, _mm256_storeu_ps};
        let mut out = [0f32; 8];
        // SAFETY: only called from `attend_avx2`, compiled for F16C and entered when the CPU has
        // it; eight halves are 16 bytes; unaligned load and store.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), _mm256_cvtph_ps(_mm_loadu_si128(halves.as_ptr().cast()))) };
        out
    }
}

/// An f16 as f32, exactly, without branches: the magnitude bits shifted into an f32 are the
/// value scaled by 2^-112 (normal and subnormal halves alike), so one exact multiplication by
/// 2^112 restores it; infinities and NaNs keep an all-ones exponent.
#[inline(always)]
fn widen(half: f16) -> f32 {
    let bits = u32::from(half.to_bits());
    let (sign, magnitude) = ((bits & 0x8000) << 16, bits & 0x7fff);
    let value = match magnitude >= 0x7c00 {
        true => f32::from_bits((magnitude << 13) | 0x7f80_0000),
        false => f32::from_bits(magnitude << 13) * f32::from_bits(0x7780_0000),
    };
    f32::from_bits(value.to_bits() | sign)
}

#[cfg(test)]
mod tests {
    use rand::RngExt;

    use super::*;

    fn random(count: usize, seed: u64) -> Vec<f32> {
        let mut rng = sim_core::seed::stream(seed, "attention-test");
        (0..count).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    fn config(heads: usize, kv_heads: usize, head_dim: usize) -> ModelConfig {
        ModelConfig {
            vocab_size: 16,
            hidden_size: heads * head_dim,
            intermediate_size: 16,
            layers: 1,
            heads,
            kv_heads,
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            max_positions: 64,
            rope_layout: RopeLayout::Halves,
        }
    }

    /// Keys laid out as [`KvCache`] stores them, from position-major rows.
    fn chunked(rows: &[f16], kv_width: usize) -> Vec<f16> {
        let positions = rows.len() / kv_width;
        let mut keys = vec![f16::ZERO; positions.div_ceil(CHUNK) * CHUNK * kv_width];
        for p in 0..positions {
            for i in 0..kv_width {
                keys[(p / CHUNK * kv_width + i) * CHUNK + p % CHUNK] = rows[p * kv_width + i];
            }
        }
        keys
    }

    fn halves(values: &[f32]) -> Vec<f16> {
        values.iter().map(|&v| f16::from_f32(v)).collect()
    }

    /// Softmax attention in f64, straight from the definition.
    fn reference(config: &ModelConfig, query: &[f32], keys: &[f16], values: &[f16], visible: usize) -> Vec<f32> {
        let (keys, values): (Vec<f32>, Vec<f32>) =
            (keys.iter().map(|h| h.to_f32()).collect(), values.iter().map(|h| h.to_f32()).collect());
        let head_dim = config.head_dim();
        let kv_width = config.kv_heads * head_dim;
        let group = config.heads / config.kv_heads;
        let mut out = vec![0f32; config.heads * head_dim];
        for head in 0..config.heads {
            let kv = head / group * head_dim;
            let q = &query[head * head_dim..(head + 1) * head_dim];
            let scores: Vec<f64> = (0..visible)
                .map(|p| {
                    let k = &keys[p * kv_width + kv..p * kv_width + kv + head_dim];
                    q.iter().zip(k).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum::<f64>() / (head_dim as f64).sqrt()
                })
                .collect();
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let total: f64 = weights.iter().sum();
            for d in 0..head_dim {
                let sum: f64 = (0..visible).map(|p| weights[p] * f64::from(values[p * kv_width + kv + d])).sum();
                out[head * head_dim + d] = (sum / total) as f32;
            }
        }
        out
    }

    #[test]
    fn attention_matches_the_definition_and_every_build_computes_the_same_bits() {
        // SmolLM2's shape (9 heads over 3, 64 wide) and the tiny test model's (4 over 2, 8 wide);
        // 1..=19 positions cover single and paired chunks and partial last chunks.
        for (heads, kv_heads, head_dim) in [(9, 3, 64), (4, 2, 8), (5, 1, 24)] {
            let config = config(heads, kv_heads, head_dim);
            let kv_width = kv_heads * head_dim;
            for visible in 1..=19 {
                let seed = (heads * 100 + visible) as u64;
                let query = random(heads * head_dim, seed);
                let key_rows = halves(&random(visible * kv_width, seed + 1));
                let values = halves(&random(visible * kv_width, seed + 2));
                let keys = chunked(&key_rows, kv_width);
                let mut scores = Vec::new();
                let mut out = vec![0f32; heads * head_dim];
                attend(&config, &query, &keys, &values, visible, &mut scores, &mut out);
                let expected = reference(&config, &query, &key_rows, &values, visible);
                for (a, b) in out.iter().zip(&expected) {
                    assert!((a - b).abs() <= 1e-5, "{heads}/{kv_heads}x{head_dim}, {visible} positions: {a} vs {b}");
                }
                let mut portable = vec![0f32; heads * head_dim];
                attend_portable::<Portable>(&config, &query, &keys, &values, visible, &mut scores, &mut portable);
                assert_eq!(
                    out.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    portable.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                );
            }
        }
    }

    #[test]
    fn every_f16_widens_exactly_on_both_paths() {
        let all: Vec<f16> = (0..=u16::MAX).map(f16::from_bits).collect();
        for eight in all.chunks_exact(8) {
            let eight: &[f16; 8] = eight.try_into().unwrap();
            let portable = Portable::eight(eight);
            for (half, widened) in eight.iter().zip(portable) {
                let expected = half.to_f32();
                assert!(
                    widened.to_bits() == expected.to_bits() || (widened.is_nan() && expected.is_nan()),
                    "{:#06x}: {widened} vs {expected}",
                    half.to_bits()
                );
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("f16c") && !eight.iter().any(|h| h.is_nan()) {
                // SAFETY: the CPU has F16C (checked above).
                let hardware = unsafe { widen_with_f16c(eight) };
                assert_eq!(hardware.map(f32::to_bits), portable.map(f32::to_bits));
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx,f16c")]
    fn widen_with_f16c(eight: &[f16; 8]) -> [f32; 8] {
        F16c::eight(eight)
    }
}
