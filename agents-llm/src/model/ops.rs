//! Element-wise numerics shared by the layers: a bit-reproducible `exp`, SwiGLU and RMSNorm.

/// `e^x` as a fixed sequence of f32 operations, so every build and vector lane computes the
/// same bits: `x` is clamped to [-87, 88] (NaN stays NaN), reduced by `n` multiples of ln 2 (Cody–Waite split),
/// `e^r` on |r| <= ln 2 / 2 is the degree-6 Taylor polynomial (truncation error below 1e-7
/// relative), and `n` is added to the exponent bits. Within a few ulp of the true value.
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN_2_HIGH: f32 = 0.693_359_4;
    const LN_2_LOW: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E).round_ties_even();
    let r = n.mul_add(-LN_2_LOW, n.mul_add(-LN_2_HIGH, x));
    let mut polynomial: f32 = 1.0 / 720.0;
    for coefficient in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        polynomial = polynomial.mul_add(r, coefficient);
    }
    f32::from_bits((polynomial.to_bits() as i32 + ((n as i32) << 23)) as u32)
}

/// SwiGLU in place: `gate = silu(gate) * up`, with [`exp`] (vectorised with the caller's
/// target features).
pub(super) fn swiglu(gate: &mut [f32], up: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if crate::q8::avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        unsafe { swiglu_avx2(gate, up) };
        return;
    }
    swiglu_portable(gate, up);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn swiglu_avx2(gate: &mut [f32], up: &[f32]) {
    swiglu_portable(gate, up);
}

#[inline(always)]
fn swiglu_portable(gate: &mut [f32], up: &[f32]) {
    for (g, u) in gate.iter_mut().zip(up) {
        *g = *g / (1.0 + exp(-*g)) * u;
    }
}

/// RMSNorm of each row of `x` (rows as wide as `weight`), scaled by `weight`, into `out`.
pub(super) fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let width = weight.len();
    for (row, out) in x.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        let mean_square = row.iter().map(|v| v * v).sum::<f32>() / width as f32;
        let scale = 1.0 / (mean_square + eps).sqrt();
        out.iter_mut().zip(row).zip(weight).for_each(|((o, v), w)| *o = v * scale * w);
    }
}

#[cfg(test)]
mod tests {
    use rand::RngExt;

    use super::*;

    fn random(count: usize, seed: u64) -> Vec<f32> {
        let mut rng = sim_core::seed::stream(seed, "attention-test");
        (0..count).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    #[test]
    fn exp_is_within_a_few_ulp_and_exact_at_zero() {
        assert_eq!(exp(0.0), 1.0);
        let mut worst = 0f64;
        for i in 0..=200_000 {
            let x = -87.0 + 175.0 * i as f32 / 200_000.0;
            let truth = f64::from(x).exp();
            worst = worst.max(((f64::from(exp(x)) - truth) / truth).abs());
        }
        assert!(worst < 4e-7, "largest relative error {worst}");
        // Clamped outside the range: finite, no NaN from the exponent bits.
        assert!(exp(-1000.0) > 0.0 && exp(-1000.0) < 1e-37);
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn swiglu_on_avx2_equals_the_portable_loop() {
        let gate = random(1000, 7).iter().map(|x| x * 20.0).collect::<Vec<_>>();
        let up = random(1000, 8);
        let (mut fast, mut portable) = (gate.clone(), gate.clone());
        swiglu(&mut fast, &up);
        swiglu_portable(&mut portable, &up);
        assert_eq!(
            fast.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            portable.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        for ((g, u), out) in gate.iter().zip(&up).zip(&fast) {
            let expected = f64::from(*g) / (1.0 + (-f64::from(*g)).exp()) * f64::from(*u);
            assert!((f64::from(*out) - expected).abs() <= 1e-5 * (1.0 + expected.abs()));
        }
    }
}
