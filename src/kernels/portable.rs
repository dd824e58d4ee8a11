//! The portable SIMD backend, over the `wide` crate.
//!
//! `wide` picks its instructions when it is compiled: SSE2 on a default
//! x86-64 build, AVX2 under `-C target-cpu` flags that enable it, NEON on
//! aarch64 and simd128 on wasm32 with that target feature. Its vectors
//! `f32x16` and `f64x8` have exactly the logical lanes of the summation
//! order, and every operation used here is exact lane-wise IEEE
//! arithmetic or a bit operation, so the results are those of the scalar
//! definition. The lanes are reduced by [`LaneVector::reduce`] on arrays,
//! never by `wide`'s own horizontal sum, whose order differs between its
//! instruction sets.

use wide::{f32x16, f64x8};

use super::norms::{self, LaneArithmetic};
use super::scalar::{Float, Scalar};
use super::voxel_norms;
use super::{
    FloatKernel, GradientFactors, GradientRows, PixelNorm, VolumeWeights,
    VoxelRows, VoxelScales, lanes_at,
};
use crate::sum::LaneVector;

/// The portable SIMD backend.
#[derive(Clone, Copy)]
pub(crate) struct Portable;

macro_rules! portable_kernel {
    ($t:ty, $vector:ty, $lanes:literal) => {
        impl LaneVector for $vector {
            type Scalar = $t;

            #[inline(always)]
            fn add(self, other: Self) -> Self {
                self + other
            }

            #[inline(always)]
            fn reduce(self) -> $t {
                self.to_array().reduce()
            }
        }

        impl FloatKernel<$t> for Portable {
            type Lanes = $vector;

            #[inline(always)]
            fn zero(self) -> $vector {
                <$vector>::ZERO
            }

            #[cfg(feature = "alloc")]
            #[inline(always)]
            fn lanes_of(self, vector: $vector) -> [$t; $lanes] {
                vector.to_array()
            }

            #[cfg(feature = "alloc")]
            #[inline(always)]
            fn vector_of(self, lanes: [$t; $lanes]) -> $vector {
                <$vector>::new(lanes)
            }

            #[inline(always)]
            fn abs_diff(self, a: &[$t], b: &[$t]) -> $vector {
                match (lanes_at::<_, $lanes>(a, 0), lanes_at(b, 0)) {
                    (Some(&a), Some(&b)) => {
                        (<$vector>::new(b) - <$vector>::new(a)).abs()
                    }
                    _ => <$vector>::new(Scalar.abs_diff(a, b)),
                }
            }

            #[inline(always)]
            fn gradient_lanes(
                self,
                rows: &GradientRows<'_, $t>,
                start: usize,
                factors: GradientFactors<$t>,
                out: &mut [$t],
            ) -> ($vector, $vector) {
                let row = rows.row;
                let left = start.checked_sub(1).and_then(|j| lanes_at(row, j));
                let (Some(&x), Some(&left), Some(&right), Some(out)) = (
                    lanes_at::<_, $lanes>(row, start),
                    left,
                    lanes_at(row, start + 1),
                    out.first_chunk_mut::<$lanes>(),
                ) else {
                    let (right, below) =
                        Scalar.gradient_lanes(rows, start, factors, out);
                    return (<$vector>::new(right), <$vector>::new(below));
                };
                // Each term is sign(d)·g of the scalar definition, chosen
                // among g, −g and 0·g instead of multiplied: `1·g` is `g`,
                // `−1·g` is `−g`, and `0·g` is one value per plane.
                let zero = <$vector>::ZERO;
                let select = |d: $vector, positive, negative, otherwise| {
                    // Ordered comparisons: NaN selects `otherwise`.
                    d.simd_lt(zero).select(
                        negative,
                        d.simd_gt(zero).select(positive, otherwise),
                    )
                };
                let (v, h) = (factors.vertical, factors.horizontal);
                let [gv, minus_gv, zero_gv, minus_zero_gv] =
                    [v, -v, 0.0 * v, -(0.0 * v)].map(<$vector>::splat);
                let [gh, minus_gh, zero_gh, minus_zero_gh] =
                    [h, -h, 0.0 * h, -(0.0 * h)].map(<$vector>::splat);
                let x = <$vector>::new(x);

                let from_left =
                    select(x - <$vector>::new(left), gh, minus_gh, zero_gh);
                let right = <$vector>::new(right) - x;
                let to_right = select(right, minus_gh, gh, minus_zero_gh);
                let below = rows
                    .below
                    .and_then(|b| lanes_at(b, start))
                    .map(|&below| <$vector>::new(below) - x);
                let to_below = match below {
                    Some(below) => select(below, minus_gv, gv, minus_zero_gv),
                    None => zero,
                };
                let from_above = match rows
                    .above
                    .and_then(|a| lanes_at(a, start))
                {
                    Some(&above) => {
                        select(x - <$vector>::new(above), gv, minus_gv, zero_gv)
                    }
                    None => zero,
                };
                *out = (((from_left + to_right) + to_below) + from_above)
                    .to_array();
                (right.abs(), below.map_or(zero, |below| below.abs()))
            }

            #[inline(always)]
            fn norm_terms(
                self,
                norm: PixelNorm<$t>,
                row: &[$t],
                below: Option<&[$t]>,
                start: usize,
            ) -> $vector {
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
                norms::norm_gradient_lanes(self, norm, rows, start, factor, out)
            }

            #[inline(always)]
            fn voxel_terms(
                self,
                norm: PixelNorm<$t>,
                weights: VolumeWeights<$t>,
                rows: &VoxelRows<'_, $t>,
                start: usize,
            ) -> $vector {
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

        impl LaneArithmetic<$t> for Portable {
            #[inline(always)]
            fn load(self, values: &[$t]) -> $vector {
                match lanes_at::<_, $lanes>(values, 0) {
                    Some(&values) => <$vector>::new(values),
                    // Not reached: callers pass enough values. Missing
                    // lanes would read as `+0.0`.
                    None => {
                        let mut lanes = [0.0; $lanes];
                        for (lane, &value) in lanes.iter_mut().zip(values) {
                            *lane = value;
                        }
                        <$vector>::new(lanes)
                    }
                }
            }

            #[inline(always)]
            fn splat(self, value: $t) -> $vector {
                <$vector>::splat(value)
            }

            #[inline(always)]
            fn store(self, lanes: $vector, out: &mut [$t]) {
                if let Some(out) = out.first_chunk_mut::<$lanes>() {
                    *out = lanes.to_array();
                }
            }

            #[inline(always)]
            fn sub(self, a: $vector, b: $vector) -> $vector {
                a - b
            }

            #[inline(always)]
            fn mul(self, a: $vector, b: $vector) -> $vector {
                a * b
            }

            #[inline(always)]
            fn div(self, a: $vector, b: $vector) -> $vector {
                a / b
            }

            #[inline(always)]
            fn sqrt(self, a: $vector) -> $vector {
                a.sqrt()
            }

            #[inline(always)]
            fn zero_where_zero(
                self,
                values: $vector,
                test: $vector,
            ) -> $vector {
                let zero = <$vector>::ZERO;
                test.simd_eq(zero).select(zero, values)
            }
        }
    };
}

portable_kernel!(f32, f32x16, 16);
portable_kernel!(f64, f64x8, 8);

const _: () =
    assert!(<f32 as Float>::LANES == 16 && <f64 as Float>::LANES == 8);
