//! AVX2 kernels over `core::arch`, chosen at run time.
//!
//! A default build targets plain x86-64 (SSE2), so these functions are
//! compiled with `#[target_feature(enable = "avx2")]` and called only
//! after the CPU was found to have AVX2. The generic loops of
//! [`super::super`] are instantiated inside them and inlined, so the whole
//! loop is AVX2 code.
//!
//! Soundness rests on one invariant: a value of [`Avx2`], [`F32x16`] or
//! [`F64x8`] exists only while running on a CPU with AVX2. Their fields
//! are private to this module, and the only way to make an [`Avx2`] is
//! [`Avx2::new_unchecked`], whose callers prove it. The vectors are made
//! only through an [`Avx2`] or from other vectors. An [`Avx2`] whose
//! `wide_gradient` is set also proves AVX-512F: only
//! [`Avx2::with_wide_gradient`] sets it, and its callers prove that.

use core::arch::x86_64::*;

#[cfg(feature = "alloc")]
use super::super::FloatTask;
#[cfg(feature = "rayon")]
use super::super::bands::BandTask;
use super::super::norms::{
    self, LaneArithmetic, norm_gradient_with, norm_values_with,
};
use super::super::scalar::{Float, Integer, Scalar};
use super::super::voxel_norms;
use super::super::{
    DifferenceSink, FloatKernel, GradientFactors, GradientRows, IntegerKernel,
    PixelNorm, VolumeWeights, VoxelRows, VoxelScales, float_gradient_with,
    float_value_and_gradient_with, float_values_with, integer_sums_with,
    lanes_at,
};
use super::avx512;
use crate::sum::LaneVector;
use crate::{Layout, Reduction, VolumeLayout};

/// Proof that the CPU has AVX2.
#[derive(Clone, Copy)]
pub(crate) struct Avx2 {
    /// Whether the anisotropic float gradient alone runs its long runs of
    /// vectors on 512-bit registers ([`super::avx512`]); set only when the
    /// CPU has AVX-512F.
    wide_gradient: bool,
}

impl Avx2 {
    /// The proof, if the CPU has AVX2.
    #[inline]
    pub(crate) fn detect() -> Option<Self> {
        // SAFETY: checked just before.
        super::super::has_avx2().then(|| unsafe { Avx2::new_unchecked() })
    }

    /// # Safety
    ///
    /// The CPU running the program must support AVX2.
    #[inline(always)]
    unsafe fn new_unchecked() -> Self {
        Avx2 { wide_gradient: false }
    }

    /// This proof, with the anisotropic float gradient alone on 512-bit
    /// registers.
    ///
    /// # Safety
    ///
    /// The CPU running the program must support AVX-512F.
    #[inline(always)]
    pub(super) unsafe fn with_wide_gradient(self) -> Self {
        Avx2 { wide_gradient: true }
    }
}

/// The values of a floating-point image, on AVX2.
#[inline]
pub(crate) fn float_values<T: Float>(
    kernel: Avx2,
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    out: &mut [T],
) where
    Avx2: FloatKernel<T>,
{
    #[target_feature(enable = "avx2")]
    fn compiled_for_avx2<T: Float>(
        kernel: Avx2,
        img: &[T],
        layout: &Layout,
        reduction: Reduction,
        out: &mut [T],
    ) where
        Avx2: FloatKernel<T>,
    {
        float_values_with(kernel, img, layout, reduction, out)
    }
    // SAFETY: the `Avx2` value proves that the CPU has AVX2.
    unsafe { compiled_for_avx2(kernel, img, layout, reduction, out) }
}

/// The gradient of a floating-point image, on AVX2.
#[inline]
pub(crate) fn float_gradient<T: Float>(
    kernel: Avx2,
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    upstream: &[T],
    grad: &mut [T],
) where
    Avx2: FloatKernel<T>,
{
    #[target_feature(enable = "avx2")]
    fn compiled_for_avx2<T: Float>(
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
    // SAFETY: the `Avx2` value proves that the CPU has AVX2.
    unsafe { compiled_for_avx2(kernel, img, layout, reduction, upstream, grad) }
}

/// The values and the gradient of a floating-point image in one pass, on
/// AVX2.
#[inline]
pub(crate) fn float_value_and_gradient<T: Float>(
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
    #[target_feature(enable = "avx2")]
    fn compiled_for_avx2<T: Float>(
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
    // SAFETY: the `Avx2` value proves that the CPU has AVX2.
    unsafe {
        compiled_for_avx2(
            kernel, img, layout, reduction, upstream, values, grad,
        )
    }
}

/// The values of a floating-point image with a per-pixel norm, on AVX2.
#[inline]
pub(crate) fn norm_values<T: Float>(
    kernel: Avx2,
    norm: PixelNorm<T>,
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    out: &mut [T],
) where
    Avx2: FloatKernel<T>,
{
    #[target_feature(enable = "avx2")]
    fn compiled_for_avx2<T: Float>(
        kernel: Avx2,
        norm: PixelNorm<T>,
        img: &[T],
        layout: &Layout,
        reduction: Reduction,
        out: &mut [T],
    ) where
        Avx2: FloatKernel<T>,
    {
        norm_values_with(kernel, norm, img, layout, reduction, out)
    }
    // SAFETY: the `Avx2` value proves that the CPU has AVX2.
    unsafe { compiled_for_avx2(kernel, norm, img, layout, reduction, out) }
}

/// The gradient of a floating-point image with a per-pixel norm, on AVX2.
#[inline]
pub(crate) fn norm_gradient<T: Float>(
    kernel: Avx2,
    norm: PixelNorm<T>,
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    upstream: &[T],
    grad: &mut [T],
) where
    Avx2: FloatKernel<T>,
{
    #[target_feature(enable = "avx2")]
    fn compiled_for_avx2<T: Float>(
        kernel: Avx2,
        norm: PixelNorm<T>,
        img: &[T],
        layout: &Layout,
        reduction: Reduction,
        upstream: &[T],
        grad: &mut [T],
    ) where
        Avx2: FloatKernel<T>,
    {
        norm_gradient_with(kernel, norm, img, layout, reduction, upstream, grad)
    }
    // SAFETY: the `Avx2` value proves that the CPU has AVX2.
    unsafe {
        compiled_for_avx2(kernel, norm, img, layout, reduction, upstream, grad)
    }
}

/// The values of a floating-point batch of volumes, on AVX2.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn volume_values<T: Float>(
    kernel: Avx2,
    norm: Option<PixelNorm<T>>,
    img: &[T],
    layout: &VolumeLayout,
    reduction: Reduction,
    weights: VolumeWeights<T>,
    out: &mut [T],
) where
    Avx2: FloatKernel<T>,
{
    #[target_feature(enable = "avx2")]
    fn compiled_for_avx2<T: Float>(
        kernel: Avx2,
        norm: Option<PixelNorm<T>>,
        img: &[T],
        layout: &VolumeLayout,
        reduction: Reduction,
        weights: VolumeWeights<T>,
        out: &mut [T],
    ) where
        Avx2: FloatKernel<T>,
    {
        super::super::volume_values_with(
            kernel, norm, img, layout, reduction, weights, out,
        )
    }
    // SAFETY: the `Avx2` value proves that the CPU has AVX2.
    unsafe {
        compiled_for_avx2(kernel, norm, img, layout, reduction, weights, out)
    }
}

/// The gradient of a floating-point batch of volumes, on AVX2.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn volume_gradient<T: Float>(
    kernel: Avx2,
    norm: Option<PixelNorm<T>>,
    img: &[T],
    layout: &VolumeLayout,
    reduction: Reduction,
    weights: VolumeWeights<T>,
    upstream: &[T],
    grad: &mut [T],
) where
    Avx2: FloatKernel<T>,
{
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    fn compiled_for_avx2<T: Float>(
        kernel: Avx2,
        norm: Option<PixelNorm<T>>,
        img: &[T],
        layout: &VolumeLayout,
        reduction: Reduction,
        weights: VolumeWeights<T>,
        upstream: &[T],
        grad: &mut [T],
    ) where
        Avx2: FloatKernel<T>,
    {
        super::super::volume_gradient_with(
            kernel, norm, img, layout, reduction, weights, upstream, grad,
        )
    }
    // SAFETY: the `Avx2` value proves that the CPU has AVX2.
    unsafe {
        compiled_for_avx2(
            kernel, norm, img, layout, reduction, weights, upstream, grad,
        )
    }
}

/// The exact totals of an integer image, on AVX2.
#[inline]
pub(crate) fn integer_sums<T: Integer, O>(
    kernel: Avx2,
    img: &[T],
    layout: &Layout,
    out: &mut [O],
    combine: impl Fn(u64, u64) -> O,
) where
    Avx2: IntegerKernel<T>,
{
    #[target_feature(enable = "avx2")]
    fn compiled_for_avx2<T: Integer, O>(
        kernel: Avx2,
        img: &[T],
        layout: &Layout,
        out: &mut [O],
        combine: impl Fn(u64, u64) -> O,
    ) where
        Avx2: IntegerKernel<T>,
    {
        integer_sums_with(kernel, img, layout, out, combine)
    }
    // SAFETY: the `Avx2` value proves that the CPU has AVX2.
    unsafe { compiled_for_avx2(kernel, img, layout, out, combine) }
}

/// Work written once for every backend, on AVX2.
#[cfg(feature = "alloc")]
#[inline]
pub(crate) fn run_task<T: Float, W: FloatTask<T>>(
    kernel: Avx2,
    task: W,
) -> W::Output
where
    Avx2: FloatKernel<T>,
{
    #[target_feature(enable = "avx2")]
    fn compiled_for_avx2<T: Float, W: FloatTask<T>>(
        kernel: Avx2,
        task: W,
    ) -> W::Output
    where
        Avx2: FloatKernel<T>,
    {
        task.run(kernel)
    }
    // SAFETY: the `Avx2` value proves that the CPU has AVX2.
    unsafe { compiled_for_avx2(kernel, task) }
}

/// [`FloatKernel::split_lanes`] for `f32`: 3 and 4 channels in
/// registers, 8 pixels at a time; other counts through arrays.
#[cfg(feature = "alloc")]
#[inline(always)]
fn split_f32_lanes<const N: usize>(
    kernel: Avx2,
    interleaved: [F32x16; N],
) -> [F32x16; N] {
    let mut split = interleaved;
    if let (3, Some(&[a, b, c])) = (N, interleaved.first_chunk()) {
        // Pixels 0–7 fill the first three registers, 8–15 the others.
        let low = split_rgb(kernel, [a.low, a.high, b.low]);
        let high = split_rgb(kernel, [b.high, c.low, c.high]);
        if let Some(split) = split.first_chunk_mut::<3>() {
            for (channel, (low, high)) in
                split.iter_mut().zip(low.into_iter().zip(high))
            {
                *channel = F32x16 { low, high };
            }
        }
    } else if let (4, Some(&[a, b, c, d])) = (N, interleaved.first_chunk()) {
        let low = split_rgba(kernel, [a.low, a.high, b.low, b.high]);
        let high = split_rgba(kernel, [c.low, c.high, d.low, d.high]);
        if let Some(split) = split.first_chunk_mut::<4>() {
            for (channel, (low, high)) in
                split.iter_mut().zip(low.into_iter().zip(high))
            {
                *channel = F32x16 { low, high };
            }
        }
    } else {
        split = super::super::interleaved::split_lanes_in_arrays::<f32, _, N>(
            kernel,
            interleaved,
        );
    }
    split
}

/// The channels of 8 RGB pixels held in three registers, in pixel
/// order.
///
/// Channel `c` of pixel `k` is value `3k + c` of the registers, which
/// lies in lane `(3k + c) mod 8`: the lanes a channel takes in the three
/// registers are distinct, so two blends gather them into one register
/// and a permutation orders them.
#[cfg(feature = "alloc")]
#[inline(always)]
fn split_rgb(_: Avx2, [a, b, c]: [__m256; 3]) -> [__m256; 3] {
    // SAFETY: AVX2 is present, proven by the `Avx2` argument; these
    // intrinsics only move lanes between registers.
    unsafe {
        // Lanes {0,3,6} of a, {1,4,7} of b, {2,5} of c, and so on.
        let r = _mm256_blend_ps::<0x24>(_mm256_blend_ps::<0x92>(a, b), c);
        let g = _mm256_blend_ps::<0x49>(_mm256_blend_ps::<0x24>(a, b), c);
        let bl = _mm256_blend_ps::<0x92>(_mm256_blend_ps::<0x49>(a, b), c);
        let red_order = _mm256_setr_epi32(0, 3, 6, 1, 4, 7, 2, 5);
        let green_order = _mm256_setr_epi32(1, 4, 7, 2, 5, 0, 3, 6);
        let blue_order = _mm256_setr_epi32(2, 5, 0, 3, 6, 1, 4, 7);
        [
            _mm256_permutevar8x32_ps(r, red_order),
            _mm256_permutevar8x32_ps(g, green_order),
            _mm256_permutevar8x32_ps(bl, blue_order),
        ]
    }
}

/// [`split_rgb`] for 8 RGBA pixels in four registers: a 4×4 transpose
/// within each 128-bit half, which leaves the even pixels in the low half
/// and the odd ones in the high half, then a permutation that orders
/// them.
#[cfg(feature = "alloc")]
#[inline(always)]
fn split_rgba(_: Avx2, [p01, p23, p45, p67]: [__m256; 4]) -> [__m256; 4] {
    // SAFETY: as in `split_rgb`.
    unsafe {
        // Halves: [r0 r2 g0 g2 | r1 r3 g1 g3], [b0 b2 a0 a2 | …].
        let rg0 = _mm256_castps_pd(_mm256_unpacklo_ps(p01, p23));
        let ba0 = _mm256_castps_pd(_mm256_unpackhi_ps(p01, p23));
        let rg4 = _mm256_castps_pd(_mm256_unpacklo_ps(p45, p67));
        let ba4 = _mm256_castps_pd(_mm256_unpackhi_ps(p45, p67));
        // [r0 r2 r4 r6 | r1 r3 r5 r7] and so on.
        let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        let r = _mm256_castpd_ps(_mm256_unpacklo_pd(rg0, rg4));
        let g = _mm256_castpd_ps(_mm256_unpackhi_pd(rg0, rg4));
        let b = _mm256_castpd_ps(_mm256_unpacklo_pd(ba0, ba4));
        let a = _mm256_castpd_ps(_mm256_unpackhi_pd(ba0, ba4));
        [
            _mm256_permutevar8x32_ps(r, order),
            _mm256_permutevar8x32_ps(g, order),
            _mm256_permutevar8x32_ps(b, order),
            _mm256_permutevar8x32_ps(a, order),
        ]
    }
}

/// [`FloatKernel::split_lanes`] for `f64`: 3 and 4 channels in
/// registers, 4 pixels at a time; other counts through arrays.
#[cfg(feature = "alloc")]
#[inline(always)]
fn split_f64_lanes<const N: usize>(
    kernel: Avx2,
    interleaved: [F64x8; N],
) -> [F64x8; N] {
    let mut split = interleaved;
    if let (3, Some(&[a, b, c])) = (N, interleaved.first_chunk()) {
        // Pixels 0–3 fill the first three registers, 4–7 the others.
        let low = split_rgb_f64(kernel, [a.low, a.high, b.low]);
        let high = split_rgb_f64(kernel, [b.high, c.low, c.high]);
        if let Some(split) = split.first_chunk_mut::<3>() {
            for (channel, (low, high)) in
                split.iter_mut().zip(low.into_iter().zip(high))
            {
                *channel = F64x8 { low, high };
            }
        }
    } else if let (4, Some(&[a, b, c, d])) = (N, interleaved.first_chunk()) {
        let low = split_rgba_f64(kernel, [a.low, a.high, b.low, b.high]);
        let high = split_rgba_f64(kernel, [c.low, c.high, d.low, d.high]);
        if let Some(split) = split.first_chunk_mut::<4>() {
            for (channel, (low, high)) in
                split.iter_mut().zip(low.into_iter().zip(high))
            {
                *channel = F64x8 { low, high };
            }
        }
    } else {
        split = super::super::interleaved::split_lanes_in_arrays::<f64, _, N>(
            kernel,
            interleaved,
        );
    }
    split
}

/// [`split_rgb`] for 4 RGB pixels of `f64` in three registers,
/// `[r0 g0 b0 r1]`, `[g1 b1 r2 g2]`, `[b2 r3 g3 b3]`: again two blends
/// and an ordering per channel.
#[cfg(feature = "alloc")]
#[inline(always)]
fn split_rgb_f64(_: Avx2, [a, b, c]: [__m256d; 3]) -> [__m256d; 3] {
    // SAFETY: as in `split_rgb`.
    unsafe {
        // [r0 r3 r2 r1], [g1 g0 g3 g2], [b2 b1 b0 b3].
        let r = _mm256_blend_pd::<0b0010>(_mm256_blend_pd::<0b0100>(a, b), c);
        let g = _mm256_blend_pd::<0b0100>(_mm256_blend_pd::<0b1001>(a, b), c);
        let bl = _mm256_blend_pd::<0b1001>(_mm256_blend_pd::<0b0010>(a, b), c);
        [
            _mm256_permute4x64_pd::<0b01_10_11_00>(r),
            _mm256_permute_pd::<0b0101>(g),
            _mm256_permute4x64_pd::<0b11_00_01_10>(bl),
        ]
    }
}

/// [`split_rgb`] for 4 RGBA pixels of `f64`, one per register: a 4×4
/// transpose.
#[cfg(feature = "alloc")]
#[inline(always)]
fn split_rgba_f64(_: Avx2, [p0, p1, p2, p3]: [__m256d; 4]) -> [__m256d; 4] {
    // SAFETY: as in `split_rgb`.
    unsafe {
        // [r0 r1 b0 b1], [g0 g1 a0 a1], then pixels 2 and 3.
        let rb01 = _mm256_unpacklo_pd(p0, p1);
        let ga01 = _mm256_unpackhi_pd(p0, p1);
        let rb23 = _mm256_unpacklo_pd(p2, p3);
        let ga23 = _mm256_unpackhi_pd(p2, p3);
        [
            _mm256_permute2f128_pd::<0x20>(rb01, rb23),
            _mm256_permute2f128_pd::<0x20>(ga01, ga23),
            _mm256_permute2f128_pd::<0x31>(rb01, rb23),
            _mm256_permute2f128_pd::<0x31>(ga01, ga23),
        ]
    }
}

/// One band of a plane (see `kernels::bands`), on AVX2.
#[cfg(feature = "rayon")]
#[inline]
pub(crate) fn run_band<T: Float, W: BandTask<T>>(
    kernel: Avx2,
    task: W,
) -> W::Output
where
    Avx2: FloatKernel<T>,
{
    #[target_feature(enable = "avx2")]
    fn compiled_for_avx2<T: Float, W: BandTask<T>>(
        kernel: Avx2,
        task: W,
    ) -> W::Output
    where
        Avx2: FloatKernel<T>,
    {
        task.run(kernel)
    }
    // SAFETY: the `Avx2` value proves that the CPU has AVX2.
    unsafe { compiled_for_avx2(kernel, task) }
}

/// The values each term of a gradient vector chooses among, splatted
/// once per run of vectors: `g` and `0·g` for the vertical and the
/// horizontal factors, `+0.0` and the mask that clears the sign bit. The
/// terms with `−g` are subtracted instead of added, which gives the same
/// bits, since `a − b` is `a + (−b)` in IEEE 754 (except the sign of a
/// NaN, which Rust leaves unspecified and the crate does not compare).
/// Few constants leave registers for the loop's working values.
struct GradientSigns<V> {
    zero: V,
    magnitude: V,
    gv: V,
    zero_gv: V,
    gh: V,
    zero_gh: V,
}

/// The slices of a run of gradient vectors: the row shifted one column
/// left, in place and one column right, and the output, all as long as
/// the run (as are the rows above and below that go with them).
pub(super) struct GradientRun<'a, T> {
    pub(super) left: &'a [T],
    pub(super) x: &'a [T],
    pub(super) right: &'a [T],
    pub(super) out: &'a mut [T],
}

/// Defines a vector of two AVX registers and its kernel.
///
/// No intrinsic appears in a closure in these methods: a closure is
/// compiled without the AVX2 feature, so an intrinsic inside it could not
/// be inlined and would become a function call per operation. (Closures
/// that only pick subslices are harmless.) Every method is
/// `#[inline(always)]` and lands in the `#[target_feature]` functions
/// above.
macro_rules! avx2_kernel {
    (
        $name:ident, $t:ty, $lanes:literal, $half:literal, $register:ty,
        sign_mask = $sign_mask:expr,
        loadu = $loadu:ident, storeu = $storeu:ident, set1 = $set1:ident,
        add = $add:ident, sub = $sub:ident, and = $and:ident,
        andnot = $andnot:ident, xor = $xor:ident,
        mul = $mul:ident, div = $div:ident, sqrt = $sqrt:ident,
        cmp = $cmp:ident,
        blendv = $blendv:ident,
        maskload = $maskload:ident, mask_lane = $mask_lane:ty,
        split_lanes = $split_lanes:ident,
        wide_gradient_run = $wide_gradient_run:path,
        reduce = |$v:ident| $reduce:block,
        shift_in = |$previous:ident, $current:ident| $shift_in:block
    ) => {
        #[doc = concat!(
            "", stringify!($lanes), " `", stringify!($t), "` lanes: the first ",
            stringify!($half), " in `low`, the others in `high`."
        )]
        #[derive(Clone, Copy)]
        pub(crate) struct $name {
            low: $register,
            high: $register,
        }

        impl $name {
            /// Loads the lanes.
            #[inline(always)]
            fn load(_: Avx2, values: &[$t; $lanes]) -> Self {
                let p = values.as_ptr();
                // SAFETY: AVX is present, proven by the `Avx2` argument;
                // `values` holds both halves, so the unaligned loads stay
                // inside it.
                unsafe { $name { low: $loadu(p), high: $loadu(p.add($half)) } }
            }

            /// Loads the first `values.len()` lanes (at most all of them),
            /// with `+0.0` in the others, reading nothing past the slice.
            #[inline(always)]
            fn load_partial(token: Avx2, values: &[$t]) -> Self {
                /// All ones for the lanes to read, then zeros: the mask of
                /// the first `k` lanes starts at index `$half − k`.
                const MASKS: [$mask_lane; 2 * $half] = {
                    let mut masks = [0; 2 * $half];
                    let mut lane = 0;
                    while lane < $half {
                        masks[lane] = -1;
                        lane += 1;
                    }
                    masks
                };
                let len = values.len().min($lanes);
                if len == 0 {
                    return $name::splat(token, 0.0);
                }
                let low_len = len.min($half);
                let high_len = len.saturating_sub($half);
                let p = values.as_ptr();
                // SAFETY: AVX2 is present, proven by the `Avx2` argument.
                // The mask tables are read at `$half − k` for
                // k = low_len, high_len ≤ $half, so $half entries fit in
                // the 2·$half of `MASKS`. A masked load reads only the
                // lanes whose mask is set: the first `low_len` values from
                // `p`, and `high_len` more from `p + $half`, which is
                // inside the slice when `high_len > 0` (then
                // len > $half); `low_len + high_len = len ≤ values.len()`.
                unsafe {
                    let low_mask = _mm256_loadu_si256(
                        MASKS.as_ptr().add($half - low_len).cast(),
                    );
                    let low = $maskload(p, low_mask);
                    let high = if high_len > 0 {
                        let high_mask = _mm256_loadu_si256(
                            MASKS.as_ptr().add($half - high_len).cast(),
                        );
                        $maskload(p.add($half), high_mask)
                    } else {
                        $set1(0.0)
                    };
                    $name { low, high }
                }
            }

            /// Every lane set to `value`.
            #[inline(always)]
            fn splat(_: Avx2, value: $t) -> Self {
                // SAFETY: AVX is present, proven by the `Avx2` argument.
                let v = unsafe { $set1(value) };
                $name { low: v, high: v }
            }

            /// Stores the lanes.
            #[inline(always)]
            fn store(self, out: &mut [$t; $lanes]) {
                let p = out.as_mut_ptr();
                // SAFETY: a value of this type proves AVX (module
                // invariant); `out` holds both halves.
                unsafe {
                    $storeu(p, self.low);
                    $storeu(p.add($half), self.high);
                }
            }
        }

        avx2_kernel!(@binary $name, add, $add);
        avx2_kernel!(@binary $name, sub, $sub);
        avx2_kernel!(@binary $name, and, $and);
        avx2_kernel!(@binary $name, mul, $mul);
        avx2_kernel!(@binary $name, div, $div);

        impl $name {
            /// `g` with the sign of `self` where `self` is positive or
            /// negative, `otherwise` where it is zero or NaN, given
            /// `magnitude`, the mask that clears the sign bit.
            ///
            /// With `g` and `0·g`, this is `sign(self)·g` of the scalar
            /// definition without the multiplication: `1·g` is `g` and
            /// `−1·g` is `g` with its sign bit flipped. One comparison and
            /// one blend per register.
            #[inline(always)]
            fn sign_times(
                self,
                zero: Self,
                magnitude: Self,
                g: Self,
                otherwise: Self,
            ) -> Self {
                // SAFETY: a value of this type proves AVX (module
                // invariant).
                unsafe {
                    let low_signed = $xor(g.low, $andnot(magnitude.low, self.low));
                    let high_signed =
                        $xor(g.high, $andnot(magnitude.high, self.high));
                    $name {
                        low: $blendv(
                            otherwise.low,
                            low_signed,
                            $cmp::<_CMP_NEQ_OQ>(self.low, zero.low),
                        ),
                        high: $blendv(
                            otherwise.high,
                            high_signed,
                            $cmp::<_CMP_NEQ_OQ>(self.high, zero.high),
                        ),
                    }
                }
            }

            /// The lanes of `self` one place later: lane 0 takes the last
            /// lane of `previous`, and the last lane of `self` drops out.
            #[inline(always)]
            fn shift_in(self, previous: Self) -> Self {
                // SAFETY: a value of this type proves AVX2 (module
                // invariant).
                unsafe {
                    let low = {
                        let ($previous, $current) = (previous.high, self.low);
                        $shift_in
                    };
                    let high = {
                        let ($previous, $current) = (self.low, self.high);
                        $shift_in
                    };
                    $name { low, high }
                }
            }

            /// The correctly rounded square root of each lane.
            #[inline(always)]
            fn sqrt(self) -> Self {
                // SAFETY: a value of this type proves AVX (module
                // invariant).
                unsafe { $name { low: $sqrt(self.low), high: $sqrt(self.high) } }
            }

            /// `self`, with `+0.0` in the lanes where `test` equals zero
            /// (ordered: a NaN lane of `test` keeps `self`).
            #[inline(always)]
            fn zero_where_zero(self, test: Self, zero: Self) -> Self {
                // SAFETY: a value of this type proves AVX (module
                // invariant).
                unsafe {
                    let low = $cmp::<_CMP_EQ_OQ>(test.low, zero.low);
                    let high = $cmp::<_CMP_EQ_OQ>(test.high, zero.high);
                    $name {
                        low: $blendv(self.low, zero.low, low),
                        high: $blendv(self.high, zero.high, high),
                    }
                }
            }
        }

        impl LaneVector for $name {
            type Scalar = $t;

            #[inline(always)]
            fn add(self, other: Self) -> Self {
                $name::add(self, other)
            }

            #[inline(always)]
            fn reduce(self) -> $t {
                let $v = self;
                // SAFETY: a value of this type proves AVX (module
                // invariant).
                unsafe { $reduce }
            }
        }

        impl FloatKernel<$t> for Avx2 {
            type Lanes = $name;

            #[inline(always)]
            fn zero(self) -> $name {
                $name::splat(self, 0.0)
            }

            #[cfg(feature = "alloc")]
            #[inline(always)]
            fn lanes_of(self, vector: $name) -> [$t; $lanes] {
                let mut lanes = [0.0; $lanes];
                vector.store(&mut lanes);
                lanes
            }

            #[cfg(feature = "alloc")]
            #[inline(always)]
            fn vector_of(self, lanes: [$t; $lanes]) -> $name {
                $name::load(self, &lanes)
            }

            #[cfg(feature = "alloc")]
            #[inline(always)]
            fn split_lanes<const N: usize>(
                self,
                interleaved: [$name; N],
            ) -> [$name; N] {
                $split_lanes(self, interleaved)
            }

            #[inline(always)]
            fn abs_diff(self, a: &[$t], b: &[$t]) -> $name {
                let magnitude =
                    $name::splat(self, <$t>::from_bits(!$sign_mask));
                let (a, b) = match (lanes_at(a, 0), lanes_at(b, 0)) {
                    (Some(a), Some(b)) => {
                        ($name::load(self, a), $name::load(self, b))
                    }
                    // The tail of a row: the lanes past it are 0 − 0.
                    _ => {
                        let len = a.len().min(b.len());
                        (
                            $name::load_partial(self, &a[..len]),
                            $name::load_partial(self, &b[..len]),
                        )
                    }
                };
                b.sub(a).and(magnitude)
            }

            #[inline(always)]
            fn gradient_lanes(
                self,
                rows: &GradientRows<'_, $t>,
                start: usize,
                factors: GradientFactors<$t>,
                out: &mut [$t],
            ) -> ($name, $name) {
                let zero = $name::splat(self, 0.0);
                let mut differences = (zero, zero);
                // One vector: the neighbouring rows are tested in the
                // loop, which keeps a single copy of it here.
                $name::gradient_run(
                    self,
                    rows,
                    (start, 1),
                    factors,
                    out,
                    &mut differences,
                    false,
                );
                differences
            }

            #[inline(always)]
            fn gradient_vectors<S: DifferenceSink<$name>>(
                self,
                rows: &GradientRows<'_, $t>,
                start: usize,
                vectors: usize,
                factors: GradientFactors<$t>,
                out: &mut [$t],
                sink: &mut S,
            ) {
                $name::gradient_run(
                    self,
                    rows,
                    (start, vectors),
                    factors,
                    out,
                    sink,
                    true,
                )
            }

            #[inline(always)]
            fn norm_terms(
                self,
                norm: PixelNorm<$t>,
                row: &[$t],
                below: Option<&[$t]>,
                start: usize,
            ) -> $name {
                norms::norm_terms_lanes(self, norm, row, below, start)
            }

            #[inline(always)]
            fn norm_gradient_lanes(
                self,
                norm: PixelNorm<$t>,
                rows: &GradientRows<'_, $t>,
                start: usize,
                factor: $t,
                out: &mut [$t],
            ) {
                norms::norm_gradient_lanes(
                    self, norm, rows, start, factor, out,
                )
            }

            #[inline(always)]
            fn voxel_terms(
                self,
                norm: PixelNorm<$t>,
                weights: VolumeWeights<$t>,
                rows: &VoxelRows<'_, $t>,
                start: usize,
            ) -> $name {
                voxel_norms::voxel_terms_lanes(self, norm, weights, rows, start)
            }

            #[inline(always)]
            fn voxel_gradient_lanes(
                self,
                norm: PixelNorm<$t>,
                scales: VoxelScales<$t>,
                rows: &VoxelRows<'_, $t>,
                start: usize,
                out: &mut [$t],
            ) {
                voxel_norms::voxel_gradient_lanes(
                    self, norm, scales, rows, start, out,
                )
            }
        }

        impl $name {
            /// [`FloatKernel::gradient_vectors`] for the `vectors`
            /// vectors from column `start`, with one loop for each set of
            /// neighbouring rows when `one_loop_per_neighbours` (for long
            /// runs) and a single loop otherwise (for one vector).
            #[inline(always)]
            fn gradient_run<S: DifferenceSink<$name>>(
                token: Avx2,
                rows: &GradientRows<'_, $t>,
                (start, vectors): (usize, usize),
                factors: GradientFactors<$t>,
                out: &mut [$t],
                sink: &mut S,
                one_loop_per_neighbours: bool,
            ) {
                // The slices the vectors read and write, checked once.
                let row = rows.row;
                let len = vectors.saturating_mul($lanes);
                let end = start.saturating_add(len);
                let slices = (
                    start.checked_sub(1).and_then(|j| row.get(j..end - 1)),
                    row.get(start..end),
                    row.get(start + 1..end.saturating_add(1)),
                    out.get_mut(..len),
                );
                let (Some(left), Some(x), Some(right), Some(out)) = slices
                else {
                    // Not reached by the callers, which keep to the
                    // contract; the scalar definition, vector by vector.
                    let zero = $name::splat(token, 0.0);
                    for k in 0..vectors.min(out.len() / $lanes) {
                        let out = &mut out[k * $lanes..];
                        let column = start.saturating_add(k * $lanes);
                        let (right, below) =
                            Scalar.gradient_lanes(rows, column, factors, out);
                        let (right_sum, below_sum, _) = sink.open(zero);
                        sink.close(
                            right_sum.add($name::load(token, &right)),
                            below_sum.add($name::load(token, &below)),
                            1,
                        );
                    }
                    return;
                };
                let above = rows.above.and_then(|a| a.get(start..end));
                let below = rows.below.and_then(|b| b.get(start..end));
                let signs = $name::gradient_signs(token, factors);
                // As many vectors at a time as the sink takes: all of them
                // for a gradient alone, the rest of the open block for the
                // one pass.
                let mut done = 0;
                while done < vectors {
                    let (right_sum, below_sum, room) = sink.open(signs.zero);
                    let count = room.clamp(1, vectors - done);
                    let part = done * $lanes..(done + count) * $lanes;
                    let run = GradientRun {
                        left: &left[part.clone()],
                        x: &x[part.clone()],
                        right: &right[part.clone()],
                        out: &mut out[part.clone()],
                    };
                    let above = above.map(|a| &a[part.clone()]);
                    let below = below.map(|b| &b[part]);
                    let sums = (right_sum, below_sum);
                    let (right_sum, below_sum) = if !one_loop_per_neighbours {
                        run.vectors(token, &signs, above, below, sums)
                    } else if token.wide_gradient
                        && !S::USES_DIFFERENCES
                        && count >= avx512::WIDE_GRADIENT_MIN_VECTORS
                    {
                        // A gradient without the values, whose sink takes
                        // no differences (the rows of the one pass, which
                        // adds them, measured slower on 512-bit registers
                        // for images read from memory).
                        // SAFETY: `wide_gradient` is set only on CPUs with
                        // AVX-512F (module invariant), and AVX2 is proven
                        // by `token`.
                        unsafe {
                            $wide_gradient_run(run, factors, above, below)
                        };
                        sums
                    } else {
                        // One loop for each set of neighbouring rows (the
                        // calls are inlined with constant arguments), so
                        // that none tests for them per vector.
                        match (above, below) {
                            (Some(above), Some(below)) => run.vectors(
                                token,
                                &signs,
                                Some(above),
                                Some(below),
                                sums,
                            ),
                            (Some(above), None) => run.vectors(
                                token,
                                &signs,
                                Some(above),
                                None,
                                sums,
                            ),
                            (None, Some(below)) => run.vectors(
                                token,
                                &signs,
                                None,
                                Some(below),
                                sums,
                            ),
                            (None, None) => {
                                run.vectors(token, &signs, None, None, sums)
                            }
                        }
                    };
                    sink.close(right_sum, below_sum, count);
                    done += count;
                }
            }


            /// The splatted values a gradient vector chooses among.
            #[inline(always)]
            fn gradient_signs(
                token: Avx2,
                factors: GradientFactors<$t>,
            ) -> GradientSigns<$name> {
                // Each term is ±g or 0·g: see `sign_times`. (For a NaN
                // g, `−1·g` and `−g` may differ in the NaN's sign bit,
                // which Rust leaves unspecified.)
                let (v, h) = (factors.vertical, factors.horizontal);
                GradientSigns {
                    zero: $name::splat(token, 0.0),
                    magnitude: $name::splat(token, <$t>::from_bits(!$sign_mask)),
                    gv: $name::splat(token, v),
                    zero_gv: $name::splat(token, 0.0 * v),
                    gh: $name::splat(token, h),
                    zero_gh: $name::splat(token, 0.0 * h),
                }
            }
        }

        impl<'a> GradientRun<'a, $t> {
            /// The vectors of the run, with the rows above and below where
            /// there are.
            #[inline(always)]
            fn vectors(
                self,
                token: Avx2,
                signs: &GradientSigns<$name>,
                above: Option<&[$t]>,
                below: Option<&[$t]>,
                (mut right_sum, mut below_sum): ($name, $name),
            ) -> ($name, $name) {
                let s = signs;
                // Whole vectors of every slice, zipped: the loop stops at
                // the shortest and checks no index. A missing row above or
                // below is stood in for by `x`, never read (for long runs,
                // `gradient_run` makes the tests of `above` and `below`
                // constants).
                let (left, _) = self.left.as_chunks::<$lanes>();
                let (x, _) = self.x.as_chunks::<$lanes>();
                let (right, _) = self.right.as_chunks::<$lanes>();
                let (above_rows, _) = above.unwrap_or(self.x).as_chunks();
                let (below_rows, _) = below.unwrap_or(self.x).as_chunks();
                let (out, _) = self.out.as_chunks_mut::<$lanes>();
                let vectors = left
                    .iter()
                    .zip(x)
                    .zip(right)
                    .zip(above_rows.iter().zip(below_rows))
                    .zip(out);
                // `sign(right − x)·g` of the previous vector: the terms to
                // the left of this one, one lane later.
                let mut previous_right: Option<$name> = None;
                for ((((left, x), right), (above_row, below_row)), out) in
                    vectors
                {
                    let x = $name::load(token, x);
                    let right = $name::load(token, right).sub(x);
                    let right_term =
                        right.sign_times(s.zero, s.magnitude, s.gh, s.zero_gh);
                    let from_left = match previous_right {
                        Some(previous) => right_term.shift_in(previous),
                        None => x.sub($name::load(token, left)).sign_times(
                            s.zero,
                            s.magnitude,
                            s.gh,
                            s.zero_gh,
                        ),
                    };
                    previous_right = Some(right_term);
                    // Plus `sign(right − x)·(−g)`: minus `sign(right − x)·g`.
                    let mut sum = from_left.sub(right_term);
                    right_sum = right_sum.add(right.and(s.magnitude));
                    if below.is_some() {
                        let below = $name::load(token, below_row).sub(x);
                        // Likewise, plus `sign(below − x)·(−g)`.
                        sum = sum.sub(below.sign_times(
                            s.zero,
                            s.magnitude,
                            s.gv,
                            s.zero_gv,
                        ));
                        below_sum = below_sum.add(below.and(s.magnitude));
                    } else {
                        sum = sum.add(s.zero);
                    }
                    if above.is_some() {
                        sum = sum.add(
                            x.sub($name::load(token, above_row)).sign_times(
                                s.zero,
                                s.magnitude,
                                s.gv,
                                s.zero_gv,
                            ),
                        );
                    } else {
                        sum = sum.add(s.zero);
                    }
                    sum.store(out);
                }
                (right_sum, below_sum)
            }
        }

        impl LaneArithmetic<$t> for Avx2 {
            #[inline(always)]
            fn load(self, values: &[$t]) -> $name {
                match lanes_at(values, 0) {
                    Some(values) => $name::load(self, values),
                    // Not reached: callers pass enough values.
                    None => $name::load_partial(self, values),
                }
            }

            #[inline(always)]
            fn splat(self, value: $t) -> $name {
                $name::splat(self, value)
            }

            #[inline(always)]
            fn store(self, lanes: $name, out: &mut [$t]) {
                if let Some(out) = out.first_chunk_mut::<$lanes>() {
                    lanes.store(out);
                }
            }

            #[inline(always)]
            fn sub(self, a: $name, b: $name) -> $name {
                a.sub(b)
            }

            #[inline(always)]
            fn mul(self, a: $name, b: $name) -> $name {
                a.mul(b)
            }

            #[inline(always)]
            fn div(self, a: $name, b: $name) -> $name {
                a.div(b)
            }

            #[inline(always)]
            fn sqrt(self, a: $name) -> $name {
                a.sqrt()
            }

            #[inline(always)]
            fn zero_where_zero(self, values: $name, test: $name) -> $name {
                values.zero_where_zero(test, $name::splat(self, 0.0))
            }
        }
    };
    (@binary $name:ident, $method:ident, $intrinsic:ident) => {
        impl $name {
            #[inline(always)]
            fn $method(self, other: Self) -> Self {
                // SAFETY: a value of this type proves AVX (module
                // invariant).
                unsafe {
                    $name {
                        low: $intrinsic(self.low, other.low),
                        high: $intrinsic(self.high, other.high),
                    }
                }
            }
        }
    };
}

avx2_kernel!(
    F32x16,
    f32,
    16,
    8,
    __m256,
    sign_mask = 1u32 << 31,
    loadu = _mm256_loadu_ps,
    storeu = _mm256_storeu_ps,
    set1 = _mm256_set1_ps,
    add = _mm256_add_ps,
    sub = _mm256_sub_ps,
    and = _mm256_and_ps,
    andnot = _mm256_andnot_ps,
    xor = _mm256_xor_ps,
    mul = _mm256_mul_ps,
    div = _mm256_div_ps,
    sqrt = _mm256_sqrt_ps,
    cmp = _mm256_cmp_ps,
    blendv = _mm256_blendv_ps,
    maskload = _mm256_maskload_ps,
    mask_lane = i32,
    split_lanes = split_f32_lanes,
    wide_gradient_run = avx512::wide_f32::gradient_run,
    // Lane i plus lane i + 8, then i + 4, i + 2, i + 1.
    reduce = |v| {
        let eight = _mm256_add_ps(v.low, v.high);
        let four = _mm_add_ps(
            _mm256_castps256_ps128(eight),
            _mm256_extractf128_ps::<1>(eight),
        );
        let two = _mm_add_ps(four, _mm_movehl_ps(four, four));
        let one = _mm_add_ss(two, _mm_shuffle_ps::<0b01>(two, two));
        _mm_cvtss_f32(one)
    },
    // [a7, b0, …, b6]: a's high half and b's low half side by side, then
    // in each 128-bit half the last lane of the first and three of the
    // second.
    shift_in = |a, b| {
        let middle = _mm256_permute2f128_ps::<0x21>(a, b);
        _mm256_castsi256_ps(_mm256_alignr_epi8::<12>(
            _mm256_castps_si256(b),
            _mm256_castps_si256(middle),
        ))
    }
);

avx2_kernel!(
    F64x8,
    f64,
    8,
    4,
    __m256d,
    sign_mask = 1u64 << 63,
    loadu = _mm256_loadu_pd,
    storeu = _mm256_storeu_pd,
    set1 = _mm256_set1_pd,
    add = _mm256_add_pd,
    sub = _mm256_sub_pd,
    and = _mm256_and_pd,
    andnot = _mm256_andnot_pd,
    xor = _mm256_xor_pd,
    mul = _mm256_mul_pd,
    div = _mm256_div_pd,
    sqrt = _mm256_sqrt_pd,
    cmp = _mm256_cmp_pd,
    blendv = _mm256_blendv_pd,
    maskload = _mm256_maskload_pd,
    mask_lane = i64,
    split_lanes = split_f64_lanes,
    wide_gradient_run = avx512::wide_f64::gradient_run,
    // Lane i plus lane i + 4, then i + 2, i + 1.
    reduce = |v| {
        let four = _mm256_add_pd(v.low, v.high);
        let two = _mm_add_pd(
            _mm256_castpd256_pd128(four),
            _mm256_extractf128_pd::<1>(four),
        );
        let one = _mm_add_sd(two, _mm_unpackhi_pd(two, two));
        _mm_cvtsd_f64(one)
    },
    // [a3, b0, b1, b2]: [a2, a3, b0, b1] shuffled with b.
    shift_in = |a, b| {
        let middle = _mm256_permute2f128_pd::<0x21>(a, b);
        _mm256_shuffle_pd::<0b0101>(middle, b)
    }
);
