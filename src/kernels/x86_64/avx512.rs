//! AVX-512 kernels, chosen at run time.
//!
//! The integer kernels of [`super::integer`] are written once over a
//! register type; with 64-byte registers and AVX-512BW (`vpsadbw`,
//! saturating 16-bit subtraction and `vpmaddwd` on 512 bits) they read
//! twice the bytes per instruction of AVX2. Float images keep the AVX2
//! kernels: their summation order is defined on 16 `f32` or 8 `f64`
//! lanes, which one 512-bit register holds exactly, but the inner loop
//! of the `f32` value on 512-bit registers measured no faster than on
//! 256-bit ones (the `f32/register-width` benchmark, in the README).
//! The anisotropic float gradient of single-threaded calls, alone and
//! with the values in one pass, is compiled here again with AVX-512VL
//! (32 registers, mask blends). The gradient alone also runs each run of
//! at least [`WIDE_GRADIENT_MIN_VECTORS`] vectors through the 512-bit
//! loop of this module: one register per vector of the summation order,
//! compares into mask registers, and half the instructions of the AVX2
//! loop, which bounds the gradient's speed when the image is in the
//! caches. Lane by lane it does the operations of the AVX2 loop, so the
//! bits are the same. The rows of the one pass keep the AVX2 loop: on
//! 512-bit registers they ran faster from the caches but slower
//! (0.82–0.90×) on images read from memory. Planes too narrow for the one
//! pass, whose values and gradient take two passes, get the 512-bit
//! gradient too. (The per-pixel norms, volumes and the `rayon` bands
//! keep the AVX2 build.)
//!
//! As for [`Avx2`], a value of [`Avx512`] exists only while running on a
//! CPU with AVX2, AVX-512F, AVX-512BW and AVX-512VL (and FMA and F16C,
//! which the compiler takes AVX-512F to imply), and it can only be made
//! by [`Avx512::detect`].

use super::super::scalar::{Float, Integer};
use super::super::{
    FloatKernel, IntegerKernel, float_gradient_with,
    float_value_and_gradient_with, integer_sums_with,
};
use super::avx2::Avx2;
use crate::{Layout, Reduction};

/// Proof that the CPU has AVX2, AVX-512F, AVX-512BW and AVX-512VL.
#[derive(Clone, Copy)]
pub(crate) struct Avx512 {
    avx2: Avx2,
}

impl Avx512 {
    /// The proof, if the CPU has AVX2, AVX-512F, AVX-512BW and AVX-512VL.
    #[inline]
    pub(crate) fn detect() -> Option<Self> {
        let avx2 = Avx2::detect()?;
        // SAFETY: checked just before, AVX2 by `Avx2::detect`.
        super::super::has_avx512()
            .then(|| unsafe { Avx512::new_unchecked(avx2) })
    }

    /// # Safety
    ///
    /// The CPU running the program must support AVX-512F, AVX-512BW and
    /// AVX-512VL
    /// (`avx2` proves AVX2).
    #[inline(always)]
    unsafe fn new_unchecked(avx2: Avx2) -> Self {
        Avx512 { avx2 }
    }

    /// The proof of AVX2 it holds, for the integer kernels of rows shorter
    /// than a 512-bit register and for the float gradient.
    #[inline(always)]
    pub(super) fn avx2(self) -> Avx2 {
        self.avx2
    }
}

/// The exact totals of an integer image, on AVX-512.
#[inline]
pub(crate) fn integer_sums<T: Integer, O>(
    kernel: Avx512,
    img: &[T],
    layout: &Layout,
    out: &mut [O],
    combine: impl Fn(u64, u64) -> O,
) where
    Avx512: IntegerKernel<T>,
{
    #[target_feature(enable = "avx2,avx512f,avx512bw")]
    fn compiled_for_avx512<T: Integer, O>(
        kernel: Avx512,
        img: &[T],
        layout: &Layout,
        out: &mut [O],
        combine: impl Fn(u64, u64) -> O,
    ) where
        Avx512: IntegerKernel<T>,
    {
        integer_sums_with(kernel, img, layout, out, combine)
    }
    // SAFETY: the `Avx512` value proves that the CPU has AVX2, AVX-512F
    // and AVX-512BW.
    unsafe { compiled_for_avx512(kernel, img, layout, out, combine) }
}

/// The gradient of a floating-point image: the AVX2 kernels, compiled
/// with AVX-512F and AVX-512VL enabled (see the module documentation).
/// The operations are those of [`super::avx2::float_gradient`], lane for
/// lane, so the bits are too.
#[inline]
pub(crate) fn float_gradient<T: Float>(
    kernel: Avx512,
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    upstream: &[T],
    grad: &mut [T],
) where
    Avx2: FloatKernel<T>,
{
    #[target_feature(enable = "avx2,avx512f,avx512vl")]
    fn compiled_for_avx512<T: Float>(
        kernel: Avx2,
        img: &[T],
        layout: &Layout,
        reduction: Reduction,
        upstream: &[T],
        grad: &mut [T],
    ) where
        Avx2: FloatKernel<T>,
    {
        float_gradient_with(kernel, img, layout, reduction, upstream, grad)
    }
    // SAFETY: the `Avx512` value proves that the CPU has AVX2, AVX-512F
    // and AVX-512VL, which `with_wide_gradient` and the compiled function
    // need.
    unsafe {
        compiled_for_avx512(
            kernel.avx2().with_wide_gradient(),
            img,
            layout,
            reduction,
            upstream,
            grad,
        )
    }
}

/// The values and the gradient of a floating-point image in one pass: the
/// AVX2 kernels compiled with AVX-512F and AVX-512VL enabled, as
/// [`float_gradient`], with the bits of
/// [`super::avx2::float_value_and_gradient`].
#[inline]
pub(crate) fn float_value_and_gradient<T: Float>(
    kernel: Avx512,
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    upstream: &[T],
    values: &mut [T],
    grad: &mut [T],
) where
    Avx2: FloatKernel<T>,
{
    #[target_feature(enable = "avx2,avx512f,avx512vl")]
    fn compiled_for_avx512<T: Float>(
        kernel: Avx2,
        img: &[T],
        layout: &Layout,
        reduction: Reduction,
        upstream: &[T],
        values: &mut [T],
        grad: &mut [T],
    ) where
        Avx2: FloatKernel<T>,
    {
        float_value_and_gradient_with(
            kernel, img, layout, reduction, upstream, values, grad,
        )
    }
    // SAFETY: the `Avx512` value proves that the CPU has AVX2, AVX-512F
    // and AVX-512VL, which `with_wide_gradient` and the compiled function
    // need.
    unsafe {
        compiled_for_avx512(
            kernel.avx2().with_wide_gradient(),
            img,
            layout,
            reduction,
            upstream,
            values,
            grad,
        )
    }
}

/// The shortest run of gradient vectors that takes the 512-bit loop.
/// Shorter runs (in rows of fewer than 66 `f32` or 34 `f64` pixels, and
/// the single vectors at the ends of rows) stay on the AVX2 loop, which
/// moves no sums between register kinds before and after.
pub(super) const WIDE_GRADIENT_MIN_VECTORS: usize = 4;

/// Defines, in a module of its own, the 512-bit loop of the anisotropic
/// gradient alone for one float type: the operations of the AVX2 loop
/// (`GradientRun::vectors` in [`super::avx2`]), lane for lane, on one
/// register that holds both halves of its vectors.
macro_rules! wide_gradient {
    (
        $module:ident, $t:ty, $lanes:literal, $register:ty,
        loadu = $loadu:ident, storeu = $storeu:ident, set1 = $set1:ident,
        set1_bits = $set1_bits:ident, sign_bits = $sign_bits:expr,
        add = $add:ident, sub = $sub:ident,
        cmp_mask = $cmp_mask:ident, mask_blend = $mask_blend:ident,
        to_bits = $to_bits:ident, from_bits = $from_bits:ident,
        shift_in = |$previous:ident, $current:ident| $shift_in:block
    ) => {
        pub(super) mod $module {
            use core::arch::x86_64::*;

            use super::super::super::GradientFactors;
            use super::super::avx2::GradientRun;

            /// Writes the gradient of the vectors of `run`, as the AVX2
            /// loop does, to the same bits, on 512-bit registers; with
            /// the rows above and below where there are.
            #[target_feature(enable = "avx2,avx512f")]
            pub(in super::super) fn gradient_run(
                run: GradientRun<'_, $t>,
                factors: GradientFactors<$t>,
                above: Option<&[$t]>,
                below: Option<&[$t]>,
            ) {
                // One loop for each set of neighbouring rows, as in the
                // AVX2 loop, so that none tests for them per vector.
                match (above, below) {
                    (Some(a), Some(b)) => {
                        vectors::<true, true>(run, factors, a, b)
                    }
                    (Some(a), None) => {
                        vectors::<true, false>(run, factors, a, &[])
                    }
                    (None, Some(b)) => {
                        vectors::<false, true>(run, factors, &[], b)
                    }
                    (None, None) => {
                        vectors::<false, false>(run, factors, &[], &[])
                    }
                }
            }

            /// The lanes of `current` one place later: lane 0 takes the
            /// last lane of `previous`.
            #[inline]
            #[target_feature(enable = "avx2,avx512f")]
            fn shift_in($previous: $register, $current: $register) -> $register
                $shift_in

            /// The lanes of `values`.
            #[inline]
            #[target_feature(enable = "avx2,avx512f")]
            fn load(values: &[$t; $lanes]) -> $register {
                // SAFETY: AVX-512F is enabled here; the unaligned load
                // reads the values of the array, one register's worth.
                unsafe { $loadu(values.as_ptr()) }
            }

            /// `g` with the sign of `d` where `d` is positive or negative,
            /// `otherwise` where it is zero or NaN: the AVX2 vectors'
            /// `sign_times`, with `sign` the mask of the sign bit.
            #[inline]
            #[target_feature(enable = "avx2,avx512f")]
            fn sign_times(
                d: $register,
                zero: $register,
                sign: __m512i,
                g: $register,
                otherwise: $register,
            ) -> $register {
                let signed = _mm512_xor_si512(
                    $to_bits(g),
                    _mm512_and_si512($to_bits(d), sign),
                );
                let nonzero = $cmp_mask::<_CMP_NEQ_OQ>(d, zero);
                $mask_blend(nonzero, otherwise, $from_bits(signed))
            }

            /// The loop of `GradientRun::vectors` in the AVX2 module,
            /// without the differences it hands to the one pass, with the
            /// rows above and below where `ABOVE` and `BELOW` say.
            #[inline]
            #[target_feature(enable = "avx2,avx512f")]
            fn vectors<const ABOVE: bool, const BELOW: bool>(
                run: GradientRun<'_, $t>,
                factors: GradientFactors<$t>,
                above: &[$t],
                below: &[$t],
            ) {
                let zero = $set1(0.0);
                let sign = $set1_bits($sign_bits);
                let (v, h) = (factors.vertical, factors.horizontal);
                let (gv, zero_gv) = ($set1(v), $set1(0.0 * v));
                let (gh, zero_gh) = ($set1(h), $set1(0.0 * h));
                // Whole vectors of every slice, zipped: the loop stops at
                // the shortest and checks no index. A missing row above
                // or below is stood in for by `x`, never read.
                let (left, _) = run.left.as_chunks::<$lanes>();
                let (x, _) = run.x.as_chunks::<$lanes>();
                let (right, _) = run.right.as_chunks::<$lanes>();
                let above = if ABOVE { above } else { run.x };
                let below = if BELOW { below } else { run.x };
                let (above_rows, _) = above.as_chunks::<$lanes>();
                let (below_rows, _) = below.as_chunks::<$lanes>();
                let (out, _) = run.out.as_chunks_mut::<$lanes>();
                let vectors = left
                    .iter()
                    .zip(x)
                    .zip(right)
                    .zip(above_rows.iter().zip(below_rows))
                    .zip(out);
                // `sign(right − x)·g` of the previous vector.
                let mut previous_right: Option<$register> = None;
                for ((((left, x), right), (above_row, below_row)), out) in
                    vectors
                {
                    let x = load(x);
                    let right = $sub(load(right), x);
                    let right_term = sign_times(right, zero, sign, gh, zero_gh);
                    let from_left = match previous_right {
                        Some(previous) => shift_in(previous, right_term),
                        None => sign_times(
                            $sub(x, load(left)),
                            zero,
                            sign,
                            gh,
                            zero_gh,
                        ),
                    };
                    previous_right = Some(right_term);
                    let mut sum = $sub(from_left, right_term);
                    if BELOW {
                        let below = $sub(load(below_row), x);
                        let term = sign_times(below, zero, sign, gv, zero_gv);
                        sum = $sub(sum, term);
                    } else {
                        sum = $add(sum, zero);
                    }
                    if ABOVE {
                        let above = $sub(x, load(above_row));
                        let term = sign_times(above, zero, sign, gv, zero_gv);
                        sum = $add(sum, term);
                    } else {
                        sum = $add(sum, zero);
                    }
                    // SAFETY: AVX-512F is enabled here; the unaligned
                    // store writes the values of `out`, one register's
                    // worth.
                    unsafe { $storeu(out.as_mut_ptr(), sum) }
                }
            }
        }
    };
}

wide_gradient!(
    wide_f32,
    f32,
    16,
    __m512,
    loadu = _mm512_loadu_ps,
    storeu = _mm512_storeu_ps,
    set1 = _mm512_set1_ps,
    set1_bits = _mm512_set1_epi32,
    sign_bits = i32::MIN,
    add = _mm512_add_ps,
    sub = _mm512_sub_ps,
    cmp_mask = _mm512_cmp_ps_mask,
    mask_blend = _mm512_mask_blend_ps,
    to_bits = _mm512_castps_si512,
    from_bits = _mm512_castsi512_ps,
    // [p15, c0, …, c14]: the 32 lanes of `current:previous` from lane 15.
    shift_in = |previous, current| {
        _mm512_castsi512_ps(_mm512_alignr_epi32::<15>(
            _mm512_castps_si512(current),
            _mm512_castps_si512(previous),
        ))
    }
);

wide_gradient!(
    wide_f64,
    f64,
    8,
    __m512d,
    loadu = _mm512_loadu_pd,
    storeu = _mm512_storeu_pd,
    set1 = _mm512_set1_pd,
    set1_bits = _mm512_set1_epi64,
    sign_bits = i64::MIN,
    add = _mm512_add_pd,
    sub = _mm512_sub_pd,
    cmp_mask = _mm512_cmp_pd_mask,
    mask_blend = _mm512_mask_blend_pd,
    to_bits = _mm512_castpd_si512,
    from_bits = _mm512_castsi512_pd,
    // [p7, c0, …, c6]: the 16 lanes of `current:previous` from lane 7.
    shift_in = |previous, current| {
        _mm512_castsi512_pd(_mm512_alignr_epi64::<7>(
            _mm512_castpd_si512(current),
            _mm512_castpd_si512(previous),
        ))
    }
);
