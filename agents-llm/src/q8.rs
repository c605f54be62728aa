//! The Q8_0 matrix product of the linear layers, on the host.
//!
//! GGUF's Q8_0 stores a row in blocks of 32 signed bytes with one f16 scale each. The product
//! with a batch of input rows quantizes each input row the same way (scale rounded to f16),
//! multiplies block by block in integers and sums the scaled block sums in f32.
//!
//! Why not candle's `QMatMul`: its Q8_0 kernel converts both f16 scales on every block through
//! a function call and walks one weight row at a time, so at batch 1 it reached about 0.7x
//! llama.cpp and a batch of 32 barely paid.
//!
//! Layout and kernel: weight rows are stored in panels of eight, interleaved four bytes at a
//! time, so one 32-byte load holds the same four columns of eight rows. Multiplying it (AVX2
//! `maddubs` then `madd`) with those four columns of one input row, repeated eight times,
//! gives eight rows' partial sums in the eight lanes at once: a block's integer sums come out
//! one row per lane, with no horizontal reduction, and one conversion, one multiply and one
//! fused multiply-add per block apply the scales to eight outputs. The kernel computes up to
//! eight input rows per panel, so each loaded weight vector serves eight products. Input rows
//! are quantized with AVX2 too (same bytes as the portable code, tested).
//!
//! Arithmetic, the same on every path: output `(i, r)` is `acc = fma(S_b, w_b * x_b, acc)` over
//! the blocks `b` in order from `acc = 0`, where `S_b` is the exact integer dot product of the
//! block's quants and `w_b`, `x_b` its two scales. Integer sums are exact whatever their
//! order, so every output element is computed by the same operations whatever the tile it
//! falls in, the batch size or the thread that computes it: results do not depend on the batch
//! (tested), and the AVX2 and portable paths agree bit for bit (tested). It differs from
//! candle's order (lane-wise partial sums, then a horizontal sum) only by f32 rounding.

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

/// Weight rows are stored in panels of this many (the f32 lanes of an AVX2 vector).
const PANEL: usize = 8;
/// Columns per interleaved group of a panel: the bytes `maddubs` + `madd` sum into one lane.
const QUAD: usize = 4;
/// Input rows per kernel tile: each loaded weight vector serves this many products.
const TILE_INPUTS: usize = 8;
/// Products (rows × columns × inputs) below this run on the calling thread: splitting them
/// costs more than it saves.
const PARALLEL_PRODUCTS: usize = 1 << 18;

/// A weight matrix in Q8_0: `rows` outputs, each a row of `columns` inputs.
///
/// Layout: rows are padded with zero rows to a whole number of [`PANEL`]s. Panel `p` (rows
/// `8p..8p + 8`) stores its blocks in order; block `b` of a panel is 256 quants: for each
/// group of four columns `q` (0..8), four quants of row `8p`, then four of row `8p + 1`, and so
/// on. Quant `(r, c)` with `c = 32b + 4q + t` is therefore at
/// `p * 8 * columns + b * 256 + q * 32 + (r - 8p) * 4 + t`; its scale is at
/// `p * 8 * blocks + b * 8 + (r - 8p)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Q8Matrix {
    rows: usize,
    columns: usize,
    /// `panels * 8 * columns` quants, in the layout above.
    quants: Vec<i8>,
    /// `panels * 8 * columns / BLOCK` block scales, converted from f16 once, in the same order.
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
        if avx2_fma() {
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            unsafe { avx2::quantize(input, &mut rows) };
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

/// A block's stored scale and the multiplier that maps its values to quants, from its largest
/// magnitude.
#[inline(always)]
fn block_scale(largest: f32) -> (f32, f32) {
    let scale = largest / 127.0;
    let inverse = if scale != 0.0 { 1.0 / scale } else { 0.0 };
    (f16::from_f32(scale).to_f32(), inverse)
}

/// The portable quantization; `avx2::quantize` computes the same bytes and scales.
fn quantize_blocks(input: &[f32], rows: &mut Q8Rows) {
    for ((block, out), scale_out) in
        input.chunks_exact(BLOCK).zip(rows.quants.chunks_exact_mut(BLOCK)).zip(rows.scales.iter_mut())
    {
        let (scale, inverse) = block_scale(block.iter().fold(0f32, |m, x| m.max(x.abs())));
        *scale_out = scale;
        for (q, x) in out.iter_mut().zip(block) {
            *q = round_half_away(x * inverse) as i8;
        }
    }
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
        let panels = rows.div_ceil(PANEL);
        let mut quants = vec![0i8; panels * PANEL * columns];
        let mut scales = vec![0f32; panels * PANEL * blocks];
        for (row, bytes) in bytes.chunks_exact(blocks * BLOCK_BYTES).enumerate() {
            let (panel, lane) = (row / PANEL, row % PANEL);
            for (b, block) in bytes.chunks_exact(BLOCK_BYTES).enumerate() {
                scales[panel * PANEL * blocks + b * PANEL + lane] = f16::from_le_bytes([block[0], block[1]]).to_f32();
                let base = panel * PANEL * columns + b * BLOCK * PANEL + lane * QUAD;
                for (q, quad) in block[2..].chunks_exact(QUAD).enumerate() {
                    for (t, &byte) in quad.iter().enumerate() {
                        quants[base + q * QUAD * PANEL + t] = byte as i8;
                    }
                }
            }
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
    /// Large products are split by panels of rows over rayon's threads (`RAYON_NUM_THREADS`);
    /// each element is computed the same way whichever thread computes it.
    pub fn matmul(&self, input: &Q8Rows, out: &mut [f32]) {
        assert_eq!(input.columns, self.columns, "input width");
        assert_eq!(out.len(), input.count * self.rows, "output size");
        let threads = rayon::current_num_threads();
        let panels = self.rows.div_ceil(PANEL);
        if threads == 1 || self.rows * self.columns * input.count < PARALLEL_PRODUCTS || panels < 2 * threads {
            self.matmul_panels(input, 0..panels, out, self.rows);
            return;
        }
        let per_thread = panels.div_ceil(threads);
        let ranges: Vec<Range<usize>> =
            (0..panels).step_by(per_thread).map(|start| start..(start + per_thread).min(panels)).collect();
        let parts: Vec<Vec<f32>> = ranges
            .par_iter()
            .map(|panels| {
                let width = self.rows_of(panels).len();
                let mut part = vec![0f32; input.count * width];
                self.matmul_panels(input, panels.clone(), &mut part, width);
                part
            })
            .collect();
        for (panels, part) in ranges.iter().zip(&parts) {
            let rows = self.rows_of(panels);
            for (i, row) in part.chunks_exact(rows.len()).enumerate() {
                out[i * self.rows + rows.start..i * self.rows + rows.end].copy_from_slice(row);
            }
        }
    }

    /// The real (unpadded) rows of `panels`.
    fn rows_of(&self, panels: &Range<usize>) -> Range<usize> {
        panels.start * PANEL..(panels.end * PANEL).min(self.rows)
    }

    /// The products with the rows of `panels` into `out`: the product of input `i` and row `r`
    /// goes to `out[i * stride + r - first]`, `first` being the first row of the panels.
    fn matmul_panels(&self, input: &Q8Rows, panels: Range<usize>, out: &mut [f32], stride: usize) {
        #[cfg(target_arch = "x86_64")]
        if avx2_fma() {
            // SAFETY: the CPU has AVX2 and FMA (checked above); the sizes are asserted by the caller.
            unsafe { avx2::matmul(self, input, panels, out, stride) };
            return;
        }
        self.matmul_portable(input, panels, out, stride);
    }

    /// The quant of row `r`, column `c` (see the layout on [`Q8Matrix`]).
    fn quant(&self, r: usize, c: usize) -> i8 {
        let (panel, lane) = (r / PANEL, r % PANEL);
        let (b, q, t) = (c / BLOCK, c % BLOCK / QUAD, c % QUAD);
        self.quants[panel * PANEL * self.columns + b * BLOCK * PANEL + q * QUAD * PANEL + lane * QUAD + t]
    }

    /// The scale of block `b` of row `r`.
    fn scale(&self, r: usize, b: usize) -> f32 {
        self.scales[r / PANEL * PANEL * (self.columns / BLOCK) + b * PANEL + r % PANEL]
    }

    /// The portable product, in the arithmetic stated in the module documentation.
    fn matmul_portable(&self, input: &Q8Rows, panels: Range<usize>, out: &mut [f32], stride: usize) {
        let blocks = self.columns / BLOCK;
        let rows = self.rows_of(&panels);
        for i in 0..input.count {
            let row_quants = &input.quants[i * self.columns..(i + 1) * self.columns];
            let row_scales = &input.scales[i * blocks..(i + 1) * blocks];
            for r in rows.clone() {
                let mut sum = 0f32;
                for (b, &input_scale) in row_scales.iter().enumerate() {
                    let integer: i32 = (b * BLOCK..(b + 1) * BLOCK)
                        .map(|c| i32::from(self.quant(r, c)) * i32::from(row_quants[c]))
                        .sum();
                    sum = (integer as f32).mul_add(self.scale(r, b) * input_scale, sum);
                }
                out[i * stride + r - rows.start] = sum;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use std::ops::Range;

    use super::{BLOCK, PANEL, Q8Matrix, Q8Rows, QUAD, TILE_INPUTS, block_scale};

    /// [`super::quantize_blocks`] in vector instructions: the same largest magnitude, scale,
    /// products and rounding (half away from zero, as `trunc` plus a step where the exact
    /// remainder is at least one half), so the same bytes for finite inputs (a NaN may pick a
    /// different largest magnitude: `maxps` and `f32::max` treat it differently).
    ///
    /// # Safety
    /// AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn quantize(input: &[f32], rows: &mut Q8Rows) {
        let sign = _mm256_set1_ps(-0.0);
        let (half, one) = (_mm256_set1_ps(0.5), _mm256_set1_ps(1.0));
        // packs leave the four 8-byte groups in the order lo(0), lo(1), lo(2), lo(3), hi(0)...
        let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        for ((block, out), scale_out) in
            input.chunks_exact(BLOCK).zip(rows.quants.chunks_exact_mut(BLOCK)).zip(rows.scales.iter_mut())
        {
            // SAFETY: the block holds 32 f32, four vectors.
            let values: [__m256; 4] = std::array::from_fn(|k| unsafe { _mm256_loadu_ps(block.as_ptr().add(8 * k)) });
            let mut largest = _mm256_andnot_ps(sign, values[0]);
            for value in &values[1..] {
                largest = _mm256_max_ps(largest, _mm256_andnot_ps(sign, *value));
            }
            let largest = _mm_max_ps(_mm256_castps256_ps128(largest), _mm256_extractf128_ps(largest, 1));
            let largest = _mm_max_ps(largest, _mm_movehl_ps(largest, largest));
            let largest = _mm_cvtss_f32(_mm_max_ss(largest, _mm_movehdup_ps(largest)));
            let (scale, inverse) = block_scale(largest);
            *scale_out = scale;
            let inverse = _mm256_set1_ps(inverse);
            let quants: [__m256i; 4] = std::array::from_fn(|k| {
                let x = _mm256_mul_ps(values[k], inverse);
                let whole = _mm256_round_ps(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
                let remainder = _mm256_andnot_ps(sign, _mm256_sub_ps(x, whole));
                let step = _mm256_or_ps(_mm256_and_ps(x, sign), one);
                let away = _mm256_and_ps(_mm256_cmp_ps(remainder, half, _CMP_GE_OQ), step);
                _mm256_cvttps_epi32(_mm256_add_ps(whole, away))
            });
            let words = (_mm256_packs_epi32(quants[0], quants[1]), _mm256_packs_epi32(quants[2], quants[3]));
            let bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(words.0, words.1), order);
            // SAFETY: `out` holds the block's 32 bytes.
            unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), bytes) };
        }
    }

    /// Products of panel `panel` (eight weight rows) with input rows `first..first + A`:
    /// `out[a][lane]` is input `first + a` times row `8 * panel + lane`.
    ///
    /// # Safety
    /// AVX2 and FMA; the panel and the input rows exist.
    // Not inlined: the tile loop gets all sixteen vector registers to itself.
    #[target_feature(enable = "avx2,fma")]
    #[inline(never)]
    unsafe fn tile<const A: usize>(
        matrix: &Q8Matrix,
        input: &Q8Rows,
        panel: usize,
        first: usize,
        out: &mut [[f32; PANEL]; A],
    ) {
        let (columns, blocks) = (matrix.columns, matrix.columns / BLOCK);
        let weights = &matrix.quants[panel * PANEL * columns..(panel + 1) * PANEL * columns];
        let weight_scales = &matrix.scales[panel * PANEL * blocks..(panel + 1) * PANEL * blocks];
        let inputs = &input.quants[first * columns..(first + A) * columns];
        let input_scales = &input.scales[first * blocks..(first + A) * blocks];
        let ones = _mm256_set1_epi16(1);
        let mut accumulators = [_mm256_setzero_ps(); A];
        // An opaque trip count: with the quad loop fully unrolled the compiler loads all eight
        // weight vectors of a block first and runs out of vector registers.
        let quads = std::hint::black_box(BLOCK / QUAD);
        for b in 0..blocks {
            // The block's exact integer sums, one weight row per lane, per input row.
            let mut sums = [_mm256_setzero_si256(); A];
            for q in 0..quads {
                // SAFETY: the quad's 32 bytes, (b * 32 + q * 4) * 8 onwards, lie inside the panel
                // (sliced above: 8 * columns bytes).
                let weight = unsafe { _mm256_loadu_si256(weights.as_ptr().add((b * BLOCK + q * QUAD) * PANEL).cast()) };
                let magnitude = _mm256_abs_epi8(weight);
                for (a, sum) in sums.iter_mut().enumerate() {
                    // SAFETY: columns a * columns + b * 32 + q * 4 .. + 4 of the A input rows
                    // (sliced above) exist; the read is unaligned.
                    let quad = unsafe {
                        inputs.as_ptr().add(a * columns + b * BLOCK + q * QUAD).cast::<i32>().read_unaligned()
                    };
                    // |w| * (x with w's sign) = w * x, as unsigned × signed byte pairs; no pair
                    // saturates, since |w| <= 128 and |x| <= 127.
                    let signed = _mm256_sign_epi8(_mm256_set1_epi32(quad), weight);
                    let pairs = _mm256_maddubs_epi16(magnitude, signed);
                    *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(pairs, ones));
                }
            }
            // SAFETY: the slice holds the eight scales.
            let weight_scale = unsafe { _mm256_loadu_ps(weight_scales[b * PANEL..(b + 1) * PANEL].as_ptr()) };
            for (a, (accumulator, sum)) in accumulators.iter_mut().zip(sums).enumerate() {
                let scale = _mm256_mul_ps(weight_scale, _mm256_set1_ps(input_scales[a * blocks + b]));
                *accumulator = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), scale, *accumulator);
            }
        }
        for (out, accumulator) in out.iter_mut().zip(accumulators) {
            // SAFETY: `out` holds eight f32.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), accumulator) };
        }
    }

    /// [`tile`] for inputs `first..first + A`, copying the rows that exist (the last panel may
    /// be padded) into `out` at `columns` of rows of `stride`.
    ///
    /// # Safety
    /// AVX2 and FMA; the panel and the input rows exist.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile_into<const A: usize>(
        matrix: &Q8Matrix,
        input: &Q8Rows,
        panel: usize,
        first: usize,
        columns: Range<usize>,
        out: &mut [f32],
        stride: usize,
    ) {
        let mut results = [[0f32; PANEL]; A];
        // SAFETY: as the caller promises; the features are enabled here.
        unsafe { tile(matrix, input, panel, first, &mut results) };
        for (a, result) in results.iter().enumerate() {
            let at = (first + a) * stride;
            out[at + columns.start..at + columns.end].copy_from_slice(&result[..columns.len()]);
        }
    }

    /// # Safety
    /// AVX2 and FMA; `out` holds `input.count` rows of `stride`, same widths.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn matmul(
        matrix: &Q8Matrix,
        input: &Q8Rows,
        panels: Range<usize>,
        out: &mut [f32],
        stride: usize,
    ) {
        let first_row = panels.start * PANEL;
        for panel in panels {
            let rows = panel * PANEL..((panel + 1) * PANEL).min(matrix.rows);
            let columns = rows.start - first_row..rows.end - first_row;
            let mut first = 0;
            // Tiles of eight inputs, then at most one of four, then the last one to three.
            // SAFETY (every call): the panel and the tile's input rows exist; the features are
            // enabled here.
            while first + TILE_INPUTS <= input.count {
                unsafe { tile_into::<TILE_INPUTS>(matrix, input, panel, first, columns.clone(), out, stride) };
                first += TILE_INPUTS;
            }
            if first + 4 <= input.count {
                unsafe { tile_into::<4>(matrix, input, panel, first, columns.clone(), out, stride) };
                first += 4;
            }
            match input.count - first {
                3 => unsafe { tile_into::<3>(matrix, input, panel, first, columns, out, stride) },
                2 => unsafe { tile_into::<2>(matrix, input, panel, first, columns, out, stride) },
                1 => unsafe { tile_into::<1>(matrix, input, panel, first, columns, out, stride) },
                _ => {}
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
    fn the_product_is_candles_up_to_rounding_for_every_batch_shape() {
        // 13 rows: one whole panel and one padded; 1..=9 inputs: a tile of eight, tiles of four
        // and every tail of one to three.
        let (rows, columns) = (13, 96);
        let (candle, ours) = both(rows, columns);
        for count in 1..=9 {
            let input = random(count * columns, 10 + count as u64);
            let tensor = Tensor::from_vec(input.clone(), (count, columns), &Device::Cpu).unwrap();
            let expected: Vec<f32> = candle.forward(&tensor).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            let mut out = vec![0f32; count * rows];
            ours.matmul(&Q8Rows::quantize(&input, count), &mut out);
            // The same integer block sums and scales; only the f32 summation order differs.
            let close = expected.iter().zip(&out).all(|(a, b)| (a - b).abs() <= 1e-5 * (1.0 + a.abs()));
            assert!(close, "batch {count}: {expected:?} vs {out:?}");
        }
    }

    #[test]
    fn a_row_gets_the_same_bits_alone_or_in_any_batch_and_on_the_portable_path() {
        let (rows, columns) = (19, 64);
        let (_, ours) = both(rows, columns);
        // 13 inputs: a tile of eight, one of four and one of one.
        let count = 13;
        let input = random(count * columns, 3);
        let quantized = Q8Rows::quantize(&input, count);
        let mut batched = vec![0f32; count * rows];
        ours.matmul(&quantized, &mut batched);
        let mut portable = vec![0f32; count * rows];
        ours.matmul_portable(&quantized, 0..rows.div_ceil(PANEL), &mut portable, rows);
        assert_eq!(
            batched.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            portable.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        for i in 0..count {
            let mut alone = vec![0f32; rows];
            ours.matmul(&Q8Rows::quantize(&input[i * columns..(i + 1) * columns], 1), &mut alone);
            assert_eq!(alone, batched[i * rows..(i + 1) * rows], "row {i}");
        }
    }

    #[test]
    fn splitting_over_threads_changes_no_bit() {
        // Large enough to be split: 4 threads × 2 panels at least, and over the work threshold.
        let (rows, columns, count) = (258, 512, 3);
        let (_, ours) = both(rows, columns);
        let input = Q8Rows::quantize(&random(count * columns, 5), count);
        let mut alone = vec![0f32; count * rows];
        ours.matmul_panels(&input, 0..rows.div_ceil(PANEL), &mut alone, rows);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        let mut split = vec![0f32; count * rows];
        pool.install(|| ours.matmul(&input, &mut split));
        assert_eq!(alone, split);
    }

    #[test]
    fn the_vector_quantization_writes_the_portable_bytes() {
        let mut input = random(64 * BLOCK, 12).iter().map(|x| x * 9.0).collect::<Vec<_>>();
        // A zero block, halves that round away from zero, and a block of one large value.
        input[..BLOCK].fill(0.0);
        for (i, x) in input[BLOCK..2 * BLOCK].iter_mut().enumerate() {
            *x = (i as f32 - 16.0) + 0.5;
        }
        input[2 * BLOCK..3 * BLOCK].fill(1e-3);
        input[2 * BLOCK + 7] = -300.0;
        let fast = Q8Rows::quantize(&input, 2);
        let mut portable =
            Q8Rows { count: 2, columns: input.len() / 2, quants: vec![0; input.len()], scales: vec![0.0; 64] };
        quantize_blocks(&input, &mut portable);
        assert_eq!(fast, portable);
        assert!(portable.quants[..BLOCK].iter().all(|&q| q == 0) && portable.scales[0] == 0.0);
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
