//! The Q8_0 matrix product of the linear layers, on the host.
//!
//! GGUF's Q8_0 stores a row in blocks of 32 signed bytes with one f16 scale each. The product
//! with a batch of input rows quantizes each input row the same way (scale rounded to f16),
//! multiplies block by block in integers and sums the scaled block sums in f32.
//!
//! Why not candle's `QMatMul`: its Q8_0 kernel converts both f16 scales on every block through
//! a function call and walks one weight row at a time, so at batch 1 it reached about 0.7x
//! llama.cpp and a batch of 32 barely paid. Here the weight scales are converted once, at load;
//! the weights are stored so that four rows are read as one sequential stream; the AVX2 kernel
//! computes tiles of 4 weight rows by 2 input rows, so each loaded weight block serves two
//! input rows and each loaded input block four weight rows.
//!
//! Invariant: every output element is computed by the same sequence of operations, with its
//! own accumulator, whatever the tile it falls in, the batch size or the thread that computes
//! it, so results do not depend on the batch. The AVX2 path performs exactly the arithmetic of
//! candle's AVX2 `vec_dot_q8_0_q8_0` (same products, same accumulation and horizontal-sum
//! order), so its outputs equal candle's bit for bit (tested).

use std::ops::Range;

use half::f16;
use rayon::prelude::*;

use crate::LlmError;

/// Values per Q8_0 block.
pub const BLOCK: usize = 32;
/// Bytes per Q8_0 block in a GGUF file: an f16 scale, then 32 signed bytes.
const BLOCK_BYTES: usize = 2 + BLOCK;

/// Whether the CPU runs the AVX2/FMA builds of the host math (here and in [`crate::model`]).
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// Weight rows are stored in groups of this many, block-interleaved.
const GROUP: usize = 4;
/// Products (rows × columns × inputs) below this run on the calling thread: splitting them
/// costs more than it saves.
const PARALLEL_PRODUCTS: usize = 1 << 18;

/// A weight matrix in Q8_0: `rows` outputs, each a row of `columns` inputs.
///
/// Layout: the rows are taken in groups of [`GROUP`]; a group stores block 0 of each of its rows,
/// then block 1 of each, and so on, so the kernel reads one sequential stream per group. Rows
/// after the last whole group are stored one after the other. Either way, block `b` of row `r`
/// in a group of width `W` starting at row `g` is at block index `g * blocks + b * W + (r - g)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Q8Matrix {
    rows: usize,
    columns: usize,
    /// `rows * columns` quants, in the layout above.
    quants: Vec<i8>,
    /// `rows * columns / BLOCK` block scales, converted from f16 once, in the same layout.
    scales: Vec<f32>,
}

/// Input rows quantized to Q8_0, ready for [`Q8Matrix::matmul`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Q8Rows {
    count: usize,
    columns: usize,
    quants: Vec<i8>,
    scales: Vec<f32>,
}

impl Q8Rows {
    /// Quantizes `count` rows of `input` (each `input.len() / count` wide, a multiple of
    /// [`BLOCK`]) exactly as GGUF/candle quantize activations: per block the scale is the largest
    /// magnitude over 127, rounded to f16, and each value is rounded half away from zero.
    ///
    /// # Panics
    /// If the rows are not a whole number of blocks.
    pub fn quantize(input: &[f32], count: usize) -> Self {
        let columns = input.len().checked_div(count).unwrap_or(0);
        assert!(columns * count == input.len() && columns.is_multiple_of(BLOCK), "rows of whole Q8_0 blocks");
        let mut rows = Self { count, columns, quants: vec![0i8; input.len()], scales: vec![0f32; input.len() / BLOCK] };
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked above).
            unsafe { quantize_blocks_avx2(input, &mut rows) };
            return rows;
        }
        quantize_blocks(input, &mut rows);
        rows
    }

    pub fn count(&self) -> usize {
        self.count
    }
}

/// Rounds half away from zero, like `f32::round`, without a libm call (`trunc` is one
/// instruction with SSE4.1): `x - trunc(x)` is exact.
#[inline(always)]
fn round_half_away(x: f32) -> f32 {
    let whole = x.trunc();
    if (x - whole).abs() >= 0.5 { whole + 1f32.copysign(x) } else { whole }
}

#[inline(always)]
fn quantize_blocks(input: &[f32], rows: &mut Q8Rows) {
    for ((block, out), scale_out) in
        input.chunks_exact(BLOCK).zip(rows.quants.chunks_exact_mut(BLOCK)).zip(rows.scales.iter_mut())
    {
        let largest = block.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = largest / 127.0;
        let inverse = if scale != 0.0 { 1.0 / scale } else { 0.0 };
        *scale_out = f16::from_f32(scale).to_f32();
        for (q, x) in out.iter_mut().zip(block) {
            *q = round_half_away(x * inverse) as i8;
        }
    }
}

/// [`quantize_blocks`] compiled for AVX2 (same arithmetic, vector instructions).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn quantize_blocks_avx2(input: &[f32], rows: &mut Q8Rows) {
    quantize_blocks(input, rows);
}

impl Q8Matrix {
    /// Reads a `rows × columns` matrix from GGUF Q8_0 bytes.
    ///
    /// # Errors
    /// `columns` not a multiple of [`BLOCK`], or the wrong number of bytes.
    pub fn from_gguf_bytes(rows: usize, columns: usize, bytes: &[u8]) -> Result<Self, LlmError> {
        if !columns.is_multiple_of(BLOCK) || bytes.len() != rows * columns / BLOCK * BLOCK_BYTES {
            return Err(LlmError::Format(format!("a {rows}x{columns} Q8_0 matrix cannot be {} bytes", bytes.len())));
        }
        let blocks = columns / BLOCK;
        let mut quants = Vec::with_capacity(rows * columns);
        let mut scales = Vec::with_capacity(rows * blocks);
        let mut push = |row: usize, b: usize| {
            let block = &bytes[(row * blocks + b) * BLOCK_BYTES..(row * blocks + b + 1) * BLOCK_BYTES];
            scales.push(f16::from_le_bytes([block[0], block[1]]).to_f32());
            quants.extend(block[2..].iter().map(|&byte| byte as i8));
        };
        let grouped = rows / GROUP * GROUP;
        for group in (0..grouped).step_by(GROUP) {
            for b in 0..blocks {
                (group..group + GROUP).for_each(|row| push(row, b));
            }
        }
        for row in grouped..rows {
            (0..blocks).for_each(|b| push(row, b));
        }
        Ok(Self { rows, columns, quants, scales })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn columns(&self) -> usize {
        self.columns
    }

    /// `out[i * rows + r]` = input row `i` · weight row `r`, for every input row.
    ///
    /// # Panics
    /// If the input width is not `columns` or `out` is not `input.count() * rows` long.
    ///
    /// Large products are split by weight rows over rayon's threads (`RAYON_NUM_THREADS`); each
    /// element is computed the same way whichever thread computes it.
    pub fn matmul(&self, input: &Q8Rows, out: &mut [f32]) {
        assert_eq!(input.columns, self.columns, "input width");
        assert_eq!(out.len(), input.count * self.rows, "output size");
        let threads = rayon::current_num_threads();
        let groups = self.rows / GROUP;
        if threads == 1 || self.rows * self.columns * input.count < PARALLEL_PRODUCTS || groups < 2 * threads {
            self.matmul_rows(input, 0..self.rows, out);
            return;
        }
        let per_thread = groups.div_ceil(threads) * GROUP;
        let ranges: Vec<Range<usize>> =
            (0..self.rows).step_by(per_thread).map(|start| start..(start + per_thread).min(self.rows)).collect();
        let parts: Vec<Vec<f32>> = ranges
            .par_iter()
            .map(|range| {
                let mut part = vec![0f32; input.count * range.len()];
                self.matmul_rows(input, range.clone(), &mut part);
                part
            })
            .collect();
        for (range, part) in ranges.iter().zip(&parts) {
            for (i, row) in part.chunks_exact(range.len()).enumerate() {
                out[i * self.rows + range.start..i * self.rows + range.end].copy_from_slice(row);
            }
        }
    }

    /// The products with weight rows `rows` (starting at a group boundary) into `out`,
    /// `input.count × rows.len()`.
    fn matmul_rows(&self, input: &Q8Rows, rows: Range<usize>, out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if avx2_fma() {
            // SAFETY: the CPU has AVX2 and FMA (checked above); the sizes are asserted by the caller.
            unsafe { avx2::matmul(self, input, rows, out) };
            return;
        }
        self.matmul_scalar(input, rows, out);
    }

    /// The block index of block `b` of row `r` (see the layout on [`Q8Matrix`]).
    fn block_index(&self, r: usize, b: usize) -> usize {
        let blocks = self.columns / BLOCK;
        let (group, width) = match r < self.rows / GROUP * GROUP {
            true => (r / GROUP * GROUP, GROUP),
            false => (r, 1),
        };
        group * blocks + b * width + (r - group)
    }

    /// The portable product: candle's generic order (integer block sum × weight scale × input
    /// scale, summed block by block).
    fn matmul_scalar(&self, input: &Q8Rows, rows: Range<usize>, out: &mut [f32]) {
        let blocks = self.columns / BLOCK;
        for (i, out) in out.chunks_exact_mut(rows.len()).enumerate() {
            let row_quants = &input.quants[i * self.columns..(i + 1) * self.columns];
            let row_scales = &input.scales[i * blocks..(i + 1) * blocks];
            for (r, out) in rows.clone().zip(out.iter_mut()) {
                let mut sum = 0f32;
                for b in 0..blocks {
                    let index = self.block_index(r, b);
                    let weights = &self.quants[index * BLOCK..(index + 1) * BLOCK];
                    let integer: i32 = weights
                        .iter()
                        .zip(&row_quants[b * BLOCK..(b + 1) * BLOCK])
                        .map(|(&w, &x)| w as i32 * x as i32)
                        .sum();
                    sum += integer as f32 * self.scales[index] * row_scales[b];
                }
                *out = sum;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use std::ops::Range;

    use super::{BLOCK, GROUP, Q8Matrix, Q8Rows};

    /// The horizontal sum in candle's order (high half onto low, then pairs, then the last two).
    #[target_feature(enable = "avx2,fma")]
    fn horizontal_sum(x: __m256) -> f32 {
        let sum = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
        let sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
        let sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
        _mm_cvtss_f32(sum)
    }

    /// Dot products of weight rows `r..r + W` with input rows `i..i + A`: `out[a][w]`. The
    /// weight rows are one group of the layout: `W == GROUP` at a group start, or `W == 1` past
    /// the last group.
    ///
    /// # Safety
    /// AVX2 and FMA; the rows exist.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn tile<const W: usize, const A: usize>(
        matrix: &Q8Matrix,
        input: &Q8Rows,
        r: usize,
        i: usize,
        out: &mut [[f32; W]; A],
    ) {
        let (columns, blocks) = (matrix.columns, matrix.columns / BLOCK);
        let ones = _mm256_set1_epi16(1);
        let mut accumulators = [[_mm256_setzero_ps(); W]; A];
        // The group's blocks, in order: block b of row r + w is block b * W + w.
        let weights = matrix.quants[r * columns..(r + W) * columns].as_ptr();
        let weight_scales = &matrix.scales[r * blocks..(r + W) * blocks];
        let inputs = input.quants[i * columns..(i + A) * columns].as_ptr();
        let input_scales = &input.scales[i * blocks..(i + A) * blocks];
        for b in 0..blocks {
            let mut signed = [_mm256_setzero_si256(); A];
            let mut magnitude = [_mm256_setzero_si256(); A];
            let mut input_scale = [_mm256_setzero_ps(); A];
            for a in 0..A {
                // SAFETY: row i + a, block b lies inside `input.quants` (sliced above).
                signed[a] = unsafe { _mm256_loadu_si256(inputs.add(a * columns + b * BLOCK).cast()) };
                magnitude[a] = _mm256_sign_epi8(signed[a], signed[a]);
                input_scale[a] = _mm256_set1_ps(input_scales[a * blocks + b]);
            }
            for w in 0..W {
                // SAFETY: block b * W + w of the group lies inside `matrix.quants` (sliced above).
                let weight = unsafe { _mm256_loadu_si256(weights.add((b * W + w) * BLOCK).cast()) };
                let weight_scale = _mm256_set1_ps(weight_scales[b * W + w]);
                for a in 0..A {
                    // |x| * (w with x's sign) = w * x, as unsigned × signed byte pairs.
                    let pairs = _mm256_maddubs_epi16(magnitude[a], _mm256_sign_epi8(weight, signed[a]));
                    let sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(ones, pairs));
                    // The block's scale, weight × input, in every lane (the same f32 product).
                    let scale = _mm256_mul_ps(weight_scale, input_scale[a]);
                    accumulators[a][w] = _mm256_fmadd_ps(scale, sums, accumulators[a][w]);
                }
            }
        }
        for a in 0..A {
            for w in 0..W {
                out[a][w] = horizontal_sum(accumulators[a][w]);
            }
        }
    }

    /// # Safety
    /// AVX2 and FMA; `out.len() == input.count * matrix.rows`, same widths.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn matmul(matrix: &Q8Matrix, input: &Q8Rows, rows: Range<usize>, out: &mut [f32]) {
        let width = rows.len();
        let grouped_end = rows.end.min(matrix.rows / GROUP * GROUP);
        let mut r = rows.start;
        while r + GROUP <= grouped_end {
            let column = r - rows.start;
            let mut i = 0;
            while i + 2 <= input.count {
                let mut results = [[0f32; GROUP]; 2];
                // SAFETY: rows r..r+4 and i..i+2 exist; the features are enabled here.
                unsafe { tile::<GROUP, 2>(matrix, input, r, i, &mut results) };
                for (a, result) in results.iter().enumerate() {
                    out[(i + a) * width + column..(i + a) * width + column + GROUP].copy_from_slice(result);
                }
                i += 2;
            }
            if i < input.count {
                let mut results = [[0f32; GROUP]; 1];
                // SAFETY: as above.
                unsafe { tile::<GROUP, 1>(matrix, input, r, i, &mut results) };
                out[i * width + column..i * width + column + GROUP].copy_from_slice(&results[0]);
            }
            r += GROUP;
        }
        for r in r..rows.end {
            for i in 0..input.count {
                let mut result = [[0f32; 1]; 1];
                // SAFETY: as above.
                unsafe { tile::<1, 1>(matrix, input, r, i, &mut result) };
                out[i * width + r - rows.start] = result[0][0];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
    use candle_core::{Device, Module, Tensor};
    use rand::RngExt;

    use super::*;

    fn random(count: usize, seed: u64) -> Vec<f32> {
        let mut rng = sim_core::seed::stream(seed, "q8-test");
        (0..count).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    /// The same weights as candle's Q8_0 `QMatMul` and as our matrix.
    fn both(rows: usize, columns: usize) -> (QMatMul, Q8Matrix) {
        let weights = Tensor::from_vec(random(rows * columns, 1), (rows, columns), &Device::Cpu).unwrap();
        let quantized = QTensor::quantize(&weights, GgmlDType::Q8_0).unwrap();
        let ours = Q8Matrix::from_gguf_bytes(rows, columns, &quantized.data().unwrap()).unwrap();
        (QMatMul::from_qtensor(quantized).unwrap(), ours)
    }

    #[test]
    fn the_product_equals_candles_bit_for_bit_for_every_batch_shape() {
        // 13 rows: three tiles of four and a single row; 1..=5 inputs: pairs and a single.
        let (rows, columns) = (13, 96);
        let (candle, ours) = both(rows, columns);
        for count in 1..=5 {
            let input = random(count * columns, 10 + count as u64);
            let tensor = Tensor::from_vec(input.clone(), (count, columns), &Device::Cpu).unwrap();
            let expected: Vec<f32> = candle.forward(&tensor).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            let mut out = vec![0f32; count * rows];
            ours.matmul(&Q8Rows::quantize(&input, count), &mut out);
            let same = expected.iter().zip(&out).all(|(a, b)| a.to_bits() == b.to_bits());
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                assert!(same, "batch {count}: {expected:?} vs {out:?}");
            }
            let close = expected.iter().zip(&out).all(|(a, b)| (a - b).abs() <= 1e-4 * (1.0 + a.abs()));
            assert!(close, "batch {count}: {expected:?} vs {out:?}");
        }
    }

    #[test]
    fn a_row_gets_the_same_result_alone_or_in_any_batch_and_the_scalar_path_agrees() {
        let (rows, columns) = (9, 64);
        let (_, ours) = both(rows, columns);
        let input = random(7 * columns, 3);
        let mut batched = vec![0f32; 7 * rows];
        ours.matmul(&Q8Rows::quantize(&input, 7), &mut batched);
        let mut scalar = vec![0f32; 7 * rows];
        ours.matmul_scalar(&Q8Rows::quantize(&input, 7), 0..rows, &mut scalar);
        for i in 0..7 {
            let mut alone = vec![0f32; rows];
            ours.matmul(&Q8Rows::quantize(&input[i * columns..(i + 1) * columns], 1), &mut alone);
            assert_eq!(alone, batched[i * rows..(i + 1) * rows], "row {i}");
        }
        assert!(batched.iter().zip(&scalar).all(|(a, b)| (a - b).abs() <= 1e-4 * (1.0 + a.abs())));
    }

    #[test]
    fn splitting_over_threads_changes_no_bit() {
        // Large enough to be split: 4 threads × 2 groups at least, and over the work threshold.
        let (rows, columns, count) = (258, 512, 3);
        let (_, ours) = both(rows, columns);
        let input = Q8Rows::quantize(&random(count * columns, 5), count);
        let mut alone = vec![0f32; count * rows];
        ours.matmul_rows(&input, 0..rows, &mut alone);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        let mut split = vec![0f32; count * rows];
        pool.install(|| ours.matmul(&input, &mut split));
        assert_eq!(alone, split);
    }

    #[test]
    fn rounding_is_half_away_from_zero_like_f32_round() {
        let mut values = vec![0.5f32, -0.5, 1.5, -1.5, 2.5, 0.49999997, -0.49999997, 126.5, -126.5, 0.0, -0.0, 127.0];
        values.extend(random(2000, 9).iter().map(|x| x * 130.0));
        for x in values {
            assert_eq!(round_half_away(x).to_bits(), x.round().to_bits(), "{x}");
        }
    }

    #[test]
    fn malformed_bytes_are_an_error() {
        assert!(Q8Matrix::from_gguf_bytes(2, 32, &[0; 67]).is_err());
        assert!(Q8Matrix::from_gguf_bytes(2, 30, &[0; 64]).is_err());
    }
}
