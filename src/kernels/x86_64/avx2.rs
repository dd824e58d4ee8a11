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
//! only through an [`Avx2`] or from other vectors.

use core::arch::x86_64::*;

use super::super::norms::{
    self, LaneArithmetic, norm_gradient_with, norm_values_with,
};
use super::super::scalar::{Float, Integer, Scalar};
use super::super::{
    FloatKernel, GradientFactors, GradientRows, IntegerKernel, PixelNorm,
    float_gradient_with, float_values_with, integer_sums_with, lanes_at,
};
use crate::sum::LaneVector;
use crate::{Layout, Reduction};

/// Proof that the CPU has AVX2.
#[derive(Clone, Copy)]
pub(crate) struct Avx2 {
    _private: (),
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
        Avx2 { _private: () }
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

/// Defines a vector of two AVX registers and its kernel.
///
/// No closure appears in these methods: a closure is compiled without the
/// AVX2 feature, so an intrinsic inside it could not be inlined and would
/// become a function call per operation. Every method is
/// `#[inline(always)]` and lands in the `#[target_feature]` functions
/// above.
macro_rules! avx2_kernel {
    (
        $name:ident, $t:ty, $lanes:literal, $half:literal, $register:ty,
        sign_mask = $sign_mask:expr,
        loadu = $loadu:ident, storeu = $storeu:ident, set1 = $set1:ident,
        add = $add:ident, sub = $sub:ident, and = $and:ident,
        mul = $mul:ident, div = $div:ident, sqrt = $sqrt:ident,
        cmp = $cmp:ident,
        blendv = $blendv:ident,
        maskload = $maskload:ident, mask_lane = $mask_lane:ty,
        reduce = |$v:ident| $reduce:block
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
            /// All ones in the lanes where `self > other`, ordered: false
            /// when either is NaN.
            #[inline(always)]
            fn greater(self, other: Self) -> Self {
                // SAFETY: a value of this type proves AVX (module
                // invariant).
                unsafe {
                    $name {
                        low: $cmp::<_CMP_GT_OQ>(self.low, other.low),
                        high: $cmp::<_CMP_GT_OQ>(self.high, other.high),
                    }
                }
            }

            /// `positive`, `negative` or `otherwise` in each lane, as
            /// `self` is positive, negative, or zero or NaN (NaN fails
            /// both ordered comparisons).
            ///
            /// With `g`, `−g` and `0·g`, this is `sign(self)·g` of the
            /// scalar definition without the multiplication: `1·g` is `g`,
            /// `−1·g` is `−g` and `0·g` is the same for every lane.
            #[inline(always)]
            fn select_by_sign(
                self,
                zero: Self,
                positive: Self,
                negative: Self,
                otherwise: Self,
            ) -> Self {
                let positive_mask = self.greater(zero);
                let negative_mask = self.less(zero);
                // SAFETY: a value of this type proves AVX (module
                // invariant).
                unsafe {
                    $name {
                        low: $blendv(
                            $blendv(
                                otherwise.low,
                                positive.low,
                                positive_mask.low,
                            ),
                            negative.low,
                            negative_mask.low,
                        ),
                        high: $blendv(
                            $blendv(
                                otherwise.high,
                                positive.high,
                                positive_mask.high,
                            ),
                            negative.high,
                            negative_mask.high,
                        ),
                    }
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

            /// All ones in the lanes where `self < other`, ordered.
            #[inline(always)]
            fn less(self, other: Self) -> Self {
                // SAFETY: as in `greater`.
                unsafe {
                    $name {
                        low: $cmp::<_CMP_LT_OQ>(self.low, other.low),
                        high: $cmp::<_CMP_LT_OQ>(self.high, other.high),
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
            ) {
                let row = rows.row;
                let left = start.checked_sub(1).and_then(|j| lanes_at(row, j));
                let (Some(x), Some(left), Some(right), Some(out)) = (
                    lanes_at(row, start),
                    left,
                    lanes_at(row, start + 1),
                    out.first_chunk_mut::<$lanes>(),
                ) else {
                    return Scalar.gradient_lanes(rows, start, factors, out);
                };
                let zero = $name::splat(self, 0.0);
                // Each term is ±g or 0·g: see `select_by_sign`. (For a NaN
                // g, `−1·g` and `−g` may differ in the NaN's sign bit,
                // which Rust leaves unspecified.)
                let (v, h) = (factors.vertical, factors.horizontal);
                let gv = $name::splat(self, v);
                let minus_gv = $name::splat(self, -v);
                let zero_gv = $name::splat(self, 0.0 * v);
                let minus_zero_gv = $name::splat(self, -(0.0 * v));
                let gh = $name::splat(self, h);
                let minus_gh = $name::splat(self, -h);
                let zero_gh = $name::splat(self, 0.0 * h);
                let minus_zero_gh = $name::splat(self, -(0.0 * h));
                let x = $name::load(self, x);

                let from_left = x
                    .sub($name::load(self, left))
                    .select_by_sign(zero, gh, minus_gh, zero_gh);
                let to_right = $name::load(self, right)
                    .sub(x)
                    .select_by_sign(zero, minus_gh, gh, minus_zero_gh);
                let below = rows.below.and_then(|b| lanes_at(b, start));
                let to_below = match below {
                    Some(below) => $name::load(self, below)
                        .sub(x)
                        .select_by_sign(zero, minus_gv, gv, minus_zero_gv),
                    None => zero,
                };
                let above = rows.above.and_then(|a| lanes_at(a, start));
                let from_above = match above {
                    Some(above) => x
                        .sub($name::load(self, above))
                        .select_by_sign(zero, gv, minus_gv, zero_gv),
                    None => zero,
                };
                let sum = from_left.add(to_right).add(to_below).add(from_above);
                sum.store(out);
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
    mul = _mm256_mul_ps,
    div = _mm256_div_ps,
    sqrt = _mm256_sqrt_ps,
    cmp = _mm256_cmp_ps,
    blendv = _mm256_blendv_ps,
    maskload = _mm256_maskload_ps,
    mask_lane = i32,
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
    mul = _mm256_mul_pd,
    div = _mm256_div_pd,
    sqrt = _mm256_sqrt_pd,
    cmp = _mm256_cmp_pd,
    blendv = _mm256_blendv_pd,
    maskload = _mm256_maskload_pd,
    mask_lane = i64,
    // Lane i plus lane i + 4, then i + 2, i + 1.
    reduce = |v| {
        let four = _mm256_add_pd(v.low, v.high);
        let two = _mm_add_pd(
            _mm256_castpd256_pd128(four),
            _mm256_extractf128_pd::<1>(four),
        );
        let one = _mm_add_sd(two, _mm_unpackhi_pd(two, two));
        _mm_cvtsd_f64(one)
    }
);
