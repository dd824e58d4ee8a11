//! The scalar kernels: the definition of every result.
//!
//! They follow the summation order of [`crate::sum`] literally, one lane
//! at a time, and every other backend must reproduce their bits.

use core::ops::{Add, Div, Mul, Neg, Sub};

use super::{
    FloatKernel, GradientFactors, GradientRows, IntegerKernel, PixelNorm,
    VolumeWeights, VoxelRows, VoxelScales,
};
use crate::sum::LaneVector;

/// What the kernels need of `f32` and `f64`.
pub(crate) trait Float:
    Copy
    + Send
    + Sync
    + 'static
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// The lanes of the summation order of this type.
    type Lanes: LaneVector<Scalar = Self> + AsMut<[Self]>;
    /// The number of lanes in [`Float::Lanes`].
    const LANES: usize;
    /// `+0.0` in every lane.
    const ZERO_LANES: Self::Lanes;
    /// `+0.0`.
    const ZERO: Self;
    /// `1.0`.
    const ONE: Self;
    /// The type's name, for error messages.
    const NAME: &'static str;

    /// The absolute value: the sign bit cleared.
    fn abs(self) -> Self;

    /// The correctly rounded square root (IEEE 754 `squareRoot`).
    fn sqrt(self) -> Self;

    /// Whether the value is neither infinite nor NaN.
    fn is_finite(self) -> bool;

    /// An `f64` rounded to the nearest value of this type.
    fn from_f64(value: f64) -> Self;

    /// A count of differences, rounded to the nearest value.
    fn from_count(count: usize) -> Self;

    /// `1`, `-1` or `0` for a positive, negative, zero or NaN value: the
    /// subgradient of `|x|` that torch uses.
    #[inline(always)]
    fn sign(self) -> Self {
        if self > Self::ZERO {
            Self::ONE
        } else if self < Self::ZERO {
            -Self::ONE
        } else {
            Self::ZERO
        }
    }
}

impl Float for f32 {
    type Lanes = [f32; 16];
    const LANES: usize = 16;
    const ZERO_LANES: [f32; 16] = [0.0; 16];
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    const NAME: &'static str = "f32";

    #[inline(always)]
    fn abs(self) -> f32 {
        f32::from_bits(self.to_bits() & !(1 << 31))
    }

    #[inline(always)]
    fn sqrt(self) -> f32 {
        // Both are correctly rounded. Under `std` the compiler's own
        // square root inlines as one instruction even inside the AVX2
        // kernels; `libm` serves `no_std`.
        #[cfg(feature = "std")]
        {
            f32::sqrt(self)
        }
        #[cfg(not(feature = "std"))]
        {
            libm::sqrtf(self)
        }
    }

    #[inline(always)]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }

    fn from_f64(value: f64) -> f32 {
        value as f32
    }

    fn from_count(count: usize) -> f32 {
        count as f32
    }
}

impl Float for f64 {
    type Lanes = [f64; 8];
    const LANES: usize = 8;
    const ZERO_LANES: [f64; 8] = [0.0; 8];
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    const NAME: &'static str = "f64";

    #[inline(always)]
    fn abs(self) -> f64 {
        f64::from_bits(self.to_bits() & !(1 << 63))
    }

    #[inline(always)]
    fn sqrt(self) -> f64 {
        // Both are correctly rounded. Under `std` the compiler's own
        // square root inlines as one instruction even inside the AVX2
        // kernels; `libm` serves `no_std`.
        #[cfg(feature = "std")]
        {
            f64::sqrt(self)
        }
        #[cfg(not(feature = "std"))]
        {
            libm::sqrt(self)
        }
    }

    #[inline(always)]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }

    fn from_f64(value: f64) -> f64 {
        value
    }

    fn from_count(count: usize) -> f64 {
        count as f64
    }
}

/// The scalar backend: plain arrays, one lane at a time.
#[derive(Clone, Copy)]
pub(crate) struct Scalar;

impl<T: Float> FloatKernel<T> for Scalar {
    type Lanes = T::Lanes;

    #[inline(always)]
    fn zero(self) -> T::Lanes {
        T::ZERO_LANES
    }

    #[cfg(feature = "alloc")]
    #[inline(always)]
    fn lanes_of(self, vector: T::Lanes) -> T::Lanes {
        vector
    }

    #[cfg(feature = "alloc")]
    #[inline(always)]
    fn vector_of(self, lanes: T::Lanes) -> T::Lanes {
        lanes
    }

    #[inline(always)]
    fn abs_diff(self, a: &[T], b: &[T]) -> T::Lanes {
        let mut lanes = T::ZERO_LANES;
        for (lane, (&a, &b)) in lanes.as_mut().iter_mut().zip(a.iter().zip(b)) {
            *lane = (b - a).abs();
        }
        lanes
    }

    #[inline(always)]
    fn gradient_lanes(
        self,
        rows: &GradientRows<'_, T>,
        start: usize,
        factors: GradientFactors<T>,
        out: &mut [T],
    ) -> (T::Lanes, T::Lanes) {
        for (offset, out) in out.iter_mut().take(T::LANES).enumerate() {
            *out = gradient_element(rows, start + offset, factors);
        }
        let x = rows.row.get(start..).unwrap_or_default();
        let right =
            self.abs_diff(x, rows.row.get(start + 1..).unwrap_or_default());
        let below = match rows.below {
            Some(below) => {
                self.abs_diff(x, below.get(start..).unwrap_or_default())
            }
            None => T::ZERO_LANES,
        };
        (right, below)
    }

    #[inline(always)]
    fn norm_terms(
        self,
        norm: PixelNorm<T>,
        row: &[T],
        below: Option<&[T]>,
        start: usize,
    ) -> T::Lanes {
        let mut lanes = T::ZERO_LANES;
        for (offset, lane) in lanes.as_mut().iter_mut().enumerate() {
            *lane = pixel_term_at(norm, row, below, start + offset);
        }
        lanes
    }

    #[inline(always)]
    fn norm_gradient_lanes(
        self,
        norm: PixelNorm<T>,
        rows: &GradientRows<'_, T>,
        start: usize,
        factor: T,
        out: &mut [T],
    ) {
        for (offset, out) in out.iter_mut().take(T::LANES).enumerate() {
            *out = norm_gradient_element(norm, rows, start + offset, factor);
        }
    }

    #[inline(always)]
    fn voxel_terms(
        self,
        norm: PixelNorm<T>,
        weights: VolumeWeights<T>,
        rows: &VoxelRows<'_, T>,
        start: usize,
    ) -> T::Lanes {
        let mut lanes = T::ZERO_LANES;
        for (offset, lane) in lanes.as_mut().iter_mut().enumerate() {
            *lane = voxel_term_at(norm, weights, rows, start + offset);
        }
        lanes
    }

    #[inline(always)]
    fn voxel_gradient_lanes(
        self,
        norm: PixelNorm<T>,
        scales: VoxelScales<T>,
        rows: &VoxelRows<'_, T>,
        start: usize,
        out: &mut [T],
    ) {
        for (offset, out) in out.iter_mut().take(T::LANES).enumerate() {
            *out = voxel_gradient_element(norm, scales, rows, start + offset);
        }
    }
}

/// The gradient of the element in column `column` of `rows.row`: the
/// definition that every backend reproduces.
///
/// Each element collects up to four terms: `+sign(x − left)·gh`,
/// `−sign(right − x)·gh`, `−sign(below − x)·gv` and `+sign(x − above)·gv`,
/// a missing neighbour giving `+0.0`. They are added in that order, the
/// order in which torch's autograd accumulates them for kornia's function,
/// so that the bits match it, signed zeros included. A column outside the
/// row gives `+0.0`.
#[inline(always)]
pub(crate) fn gradient_element<T: Float>(
    rows: &GradientRows<'_, T>,
    column: usize,
    factors: GradientFactors<T>,
) -> T {
    let GradientFactors { vertical: gv, horizontal: gh } = factors;
    let row = rows.row;
    let Some(&x) = row.get(column) else { return T::ZERO };
    let from_left = match column.checked_sub(1).and_then(|j| row.get(j)) {
        Some(&left) => (x - left).sign() * gh,
        None => T::ZERO,
    };
    let to_right = match row.get(column + 1) {
        Some(&right) => -((right - x).sign() * gh),
        None => T::ZERO,
    };
    let to_below = match rows.below.and_then(|below| below.get(column)) {
        Some(&below) => -((below - x).sign() * gv),
        None => T::ZERO,
    };
    let from_above = match rows.above.and_then(|above| above.get(column)) {
        Some(&above) => (x - above).sign() * gv,
        None => T::ZERO,
    };
    ((from_left + to_right) + to_below) + from_above
}

/// The element in column `column` of `row`, if both exist. (A function,
/// not a closure: see the AVX2 module on closures.)
#[inline(always)]
fn element<T>(row: Option<&[T]>, column: usize) -> Option<&T> {
    match row {
        Some(row) => row.get(column),
        None => None,
    }
}

/// `to − from`, or `None` where the neighbour `to` does not exist.
#[inline(always)]
// A `match`, not `Option::map` with a closure: see `element`.
#[allow(clippy::manual_map)]
fn difference<T: Float>(to: Option<&T>, from: T) -> Option<T> {
    match to {
        Some(&to) => Some(to - from),
        None => None,
    }
}

/// The term of one pixel for its forward differences, a missing one
/// given as `+0.0`: `q = dx·dx + dy·dy`, then `√q`, `q`, or
/// `√(q + ε²) − √(ε²)` with `ε²` and `√(ε²)` as stored in the norm.
///
/// Every term is `+0.0`, positive, `+inf` or NaN, never negative nor
/// `−0.0`: `q` is a sum of squares, and in the smooth form `q + ε² ≥ ε²`
/// after rounding, so the rounded square roots are ordered the same way
/// and their difference is at least `+0.0`. Padding a vector of terms
/// with `+0.0` therefore changes no sum (see [`crate::sum`]).
#[inline(always)]
pub(crate) fn pixel_term<T: Float>(norm: PixelNorm<T>, dx: T, dy: T) -> T {
    norm_of_squares(norm, dx * dx + dy * dy)
}

/// The term of a pixel or voxel whose squared differences add up to
/// `squares`: `√squares`, `squares`, or `√(squares + ε²) − √(ε²)`.
#[inline(always)]
pub(crate) fn norm_of_squares<T: Float>(norm: PixelNorm<T>, squares: T) -> T {
    match norm {
        PixelNorm::Isotropic => squares.sqrt(),
        PixelNorm::SquaredL2 => squares,
        PixelNorm::Smooth { epsilon_squared, offset } => {
            (squares + epsilon_squared).sqrt() - offset
        }
    }
}

/// The term of the pixel in column `column` of `row`, with the row
/// `below` it if there is one; `+0.0` for a column outside the row.
#[inline(always)]
pub(crate) fn pixel_term_at<T: Float>(
    norm: PixelNorm<T>,
    row: &[T],
    below: Option<&[T]>,
    column: usize,
) -> T {
    let Some(&x) = row.get(column) else { return T::ZERO };
    let dx = difference(row.get(column + 1), x).unwrap_or(T::ZERO);
    let dy = difference(element(below, column), x).unwrap_or(T::ZERO);
    pixel_term(norm, dx, dy)
}

/// The gradient of `g · term` of one pixel with respect to its two
/// differences, `(ux, uy)`: `∂/∂dx` and `∂/∂dy` times `g`.
///
/// With `q = dx·dx + dy·dy` as in [`pixel_term`]:
///
/// - isotropic: `r = √q`, then `ux = (dx / r)·g` and `uy = (dy / r)·g`;
///   both are `+0.0` where `r` is zero (the subgradient 0);
/// - squared: `ux = (dx + dx)·g`, `uy = (dy + dy)·g`;
/// - smooth: `r = √(q + ε²)`, then as isotropic (`r` is never zero).
///
/// A missing difference (`None`, past the last column or row) counts as
/// `+0.0` in `q`, and its own component is `+0.0`: it is a constant, not
/// a variable.
#[inline(always)]
pub(crate) fn pixel_flux<T: Float>(
    norm: PixelNorm<T>,
    dx: Option<T>,
    dy: Option<T>,
    g: T,
) -> (T, T) {
    let (x, y) = (dx.unwrap_or(T::ZERO), dy.unwrap_or(T::ZERO));
    let squares = x * x + y * y;
    let (ux, uy) = match norm {
        PixelNorm::SquaredL2 => ((x + x) * g, (y + y) * g),
        PixelNorm::Isotropic => {
            let r = squares.sqrt();
            if r == T::ZERO {
                return (T::ZERO, T::ZERO);
            }
            ((x / r) * g, (y / r) * g)
        }
        PixelNorm::Smooth { epsilon_squared, .. } => {
            let r = (squares + epsilon_squared).sqrt();
            ((x / r) * g, (y / r) * g)
        }
    };
    (
        if dx.is_some() { ux } else { T::ZERO },
        if dy.is_some() { uy } else { T::ZERO },
    )
}

/// The gradient of `g · Σ terms` with respect to the element in column
/// `column` of `rows.row`: the definition that every backend reproduces.
///
/// The element `x[i, j]` appears in three terms: its own pixel's, as
/// `−dx − dy`; its left neighbour's, as `dx[i, j−1]`; and the pixel
/// above's, as `dy[i−1, j]`. With the [`pixel_flux`] `(ux, uy)` of each,
/// the gradient is
///
/// ```text
/// (ux[i, j−1] + uy[i−1, j]) − (ux[i, j] + uy[i, j])
/// ```
///
/// added in exactly that order, a missing neighbour's share being `+0.0`.
/// A column outside the row gives `+0.0`.
#[inline(always)]
pub(crate) fn norm_gradient_element<T: Float>(
    norm: PixelNorm<T>,
    rows: &GradientRows<'_, T>,
    column: usize,
    g: T,
) -> T {
    let row = rows.row;
    let Some(&x) = row.get(column) else { return T::ZERO };
    let (own_x, own_y) = pixel_flux(
        norm,
        difference(row.get(column + 1), x),
        difference(element(rows.below, column), x),
        g,
    );
    let from_left = match column.checked_sub(1) {
        Some(left_column) => {
            let left = row[left_column];
            let dy = difference(element(rows.below, left_column), left);
            pixel_flux(norm, Some(x - left), dy, g).0
        }
        None => T::ZERO,
    };
    let from_above = match rows.above {
        Some(above) => {
            let top = above[column];
            let dx = difference(above.get(column + 1), top);
            pixel_flux(norm, dx, Some(x - top), g).1
        }
        None => T::ZERO,
    };
    (from_left + from_above) - (own_x + own_y)
}

/// `weight · (to − from)`, or `None` where the neighbour `to` does not
/// exist or the weight is 0: an axis of weight 0 is left out, its
/// differences missing as past the last slice, row or column.
#[inline(always)]
pub(crate) fn weighted_difference<T: Float>(
    weight: T,
    to: Option<&T>,
    from: T,
) -> Option<T> {
    match to {
        Some(&to) if weight != T::ZERO => Some(weight * (to - from)),
        _ => None,
    }
}

/// The squares of a voxel's weighted differences added up:
/// `(dx·dx + dy·dy) + dz·dz`, a missing `dx` or `dy` given as `+0.0`
/// and the last addition made only where `dz` exists. Without `dz` this
/// is the `q` of a pixel, operation for operation ([`pixel_term`]).
#[inline(always)]
pub(crate) fn voxel_squares<T: Float>(dx: T, dy: T, dz: Option<T>) -> T {
    let squares = dx * dx + dy * dy;
    match dz {
        Some(dz) => squares + dz * dz,
        None => squares,
    }
}

/// The term of the voxel in column `column` of `rows.slice.row`: the
/// per-pixel norm of its three weighted forward differences
/// ([`voxel_squares`], then [`norm_of_squares`]); `+0.0` for a column
/// outside the row.
///
/// Every term is `+0.0`, positive, `+inf` or NaN, as for a pixel.
#[inline(always)]
pub(crate) fn voxel_term_at<T: Float>(
    norm: PixelNorm<T>,
    weights: VolumeWeights<T>,
    rows: &VoxelRows<'_, T>,
    column: usize,
) -> T {
    let row = rows.slice.row;
    let Some(&x) = row.get(column) else { return T::ZERO };
    let right = row.get(column + 1);
    let below = element(rows.slice.below, column);
    let back = element(rows.back, column);
    let dx = weighted_difference(weights.width, right, x).unwrap_or(T::ZERO);
    let dy = weighted_difference(weights.height, below, x).unwrap_or(T::ZERO);
    let dz = weighted_difference(weights.depth, back, x);
    norm_of_squares(norm, voxel_squares(dx, dy, dz))
}

/// `share` where the difference `d` exists, `+0.0` where it does not.
#[inline(always)]
fn share_if_present<T: Float>(d: Option<T>, share: T) -> T {
    if d.is_some() { share } else { T::ZERO }
}

/// The gradient of `g · term` of one voxel with respect to the elements
/// ahead of it on each axis, `(ux, uy, uz)`, for its weighted differences
/// and the factors `w·g` of the three axes.
///
/// With `q` from [`voxel_squares`]:
///
/// - isotropic: `r = √q`, then `ux = (dx / r)·(w_x·g)`, and so on; all
///   three are `+0.0` where `r` is zero (the subgradient 0);
/// - squared: `ux = (dx + dx)·(w_x·g)`, and so on;
/// - smooth: `r = √(q + ε²)`, then as isotropic (`r` is never zero).
///
/// A missing difference counts as `+0.0` in `q` and its own component is
/// `+0.0`. With no `dz` and unit weights, `(ux, uy)` are the bits of
/// [`pixel_flux`].
#[inline(always)]
pub(crate) fn voxel_flux<T: Float>(
    norm: PixelNorm<T>,
    (dx, dy, dz): (Option<T>, Option<T>, Option<T>),
    factors: VolumeWeights<T>,
) -> (T, T, T) {
    let x = dx.unwrap_or(T::ZERO);
    let y = dy.unwrap_or(T::ZERO);
    let z = dz.unwrap_or(T::ZERO);
    let squares = voxel_squares(x, y, dz);
    let VolumeWeights { depth: gz, height: gy, width: gx } = factors;
    let (ux, uy, uz) = match norm {
        PixelNorm::SquaredL2 => ((x + x) * gx, (y + y) * gy, (z + z) * gz),
        PixelNorm::Isotropic => {
            let r = squares.sqrt();
            if r == T::ZERO {
                return (T::ZERO, T::ZERO, T::ZERO);
            }
            ((x / r) * gx, (y / r) * gy, (z / r) * gz)
        }
        PixelNorm::Smooth { epsilon_squared, .. } => {
            let r = (squares + epsilon_squared).sqrt();
            ((x / r) * gx, (y / r) * gy, (z / r) * gz)
        }
    };
    (
        share_if_present(dx, ux),
        share_if_present(dy, uy),
        share_if_present(dz, uz),
    )
}

/// The gradient of `g · Σ terms` of a volume with respect to the element
/// in column `column` of `rows.slice.row`: the definition that every
/// backend reproduces.
///
/// The element `x[z, y, x]` appears in four terms: its own voxel's, and
/// those of the voxels behind it on each axis (left, above, in front).
/// With the [`voxel_flux`] of each, the gradient is
///
/// ```text
/// ((ux[left] + uy[above]) + uz[front]) − ((ux[own] + uy[own]) + uz[own])
/// ```
///
/// added in exactly that order. A missing in-slice share (no left
/// neighbour, no row above, an axis of weight 0) is `+0.0`, as in the
/// plane's [`norm_gradient_element`]; a depth share is added only where
/// its difference exists (the slice in front, or behind, exists and the
/// depth weight is not 0). So without depth, the bits are those of the
/// plane, signed zeros included. A column outside the row gives `+0.0`.
#[inline(always)]
pub(crate) fn voxel_gradient_element<T: Float>(
    norm: PixelNorm<T>,
    scales: VoxelScales<T>,
    rows: &VoxelRows<'_, T>,
    column: usize,
) -> T {
    let VoxelScales { weights, factors } = scales;
    let (wz, wy, wx) = (weights.depth, weights.height, weights.width);
    let GradientRows { above, row, below } = rows.slice;
    let Some(&x) = row.get(column) else { return T::ZERO };

    let own_dz = weighted_difference(wz, element(rows.back, column), x);
    let own = (
        weighted_difference(wx, row.get(column + 1), x),
        weighted_difference(wy, element(below, column), x),
        own_dz,
    );
    let (own_x, own_y, own_z) = voxel_flux(norm, own, factors);

    let from_left = match column.checked_sub(1) {
        Some(left_column) => {
            let left = row[left_column];
            let differences = (
                weighted_difference(wx, Some(&x), left),
                weighted_difference(wy, element(below, left_column), left),
                weighted_difference(wz, element(rows.back, left_column), left),
            );
            voxel_flux(norm, differences, factors).0
        }
        None => T::ZERO,
    };
    let from_above = match above {
        Some(above) => {
            let top = above[column];
            let differences = (
                weighted_difference(wx, above.get(column + 1), top),
                weighted_difference(wy, Some(&x), top),
                weighted_difference(wz, element(rows.back_above, column), top),
            );
            voxel_flux(norm, differences, factors).1
        }
        None => T::ZERO,
    };
    let from_front = match rows.front {
        Some(front) if wz != T::ZERO => {
            let ahead = front[column];
            let differences = (
                weighted_difference(wx, front.get(column + 1), ahead),
                weighted_difference(
                    wy,
                    element(rows.front_below, column),
                    ahead,
                ),
                weighted_difference(wz, Some(&x), ahead),
            );
            Some(voxel_flux(norm, differences, factors).2)
        }
        _ => None,
    };

    let incoming = from_left + from_above;
    let incoming = match from_front {
        Some(share) => incoming + share,
        None => incoming,
    };
    let outgoing = own_x + own_y;
    let outgoing = match own_dz {
        Some(_) => outgoing + own_z,
        None => outgoing,
    };
    incoming - outgoing
}

/// What the kernels need of `u8`, `u16` and `i16`.
pub(crate) trait Integer: Copy {
    /// The largest absolute difference of two values.
    const MAX_DIFF: u64;

    /// The value as an `i32`, where differences cannot overflow.
    fn widen(self) -> i32;
}

macro_rules! integer {
    ($t:ty) => {
        impl Integer for $t {
            const MAX_DIFF: u64 = (<$t>::MAX as i64 - <$t>::MIN as i64) as u64;

            #[inline(always)]
            fn widen(self) -> i32 {
                i32::from(self)
            }
        }
    };
}

integer!(u8);
integer!(u16);
integer!(i16);

impl<T: Integer> IntegerKernel<T> for Scalar {
    #[inline(always)]
    fn abs_diff_sum(self, a: &[T], b: &[T]) -> u64 {
        a.iter()
            .zip(b)
            .map(|(&a, &b)| u64::from((b.widen() - a.widen()).unsigned_abs()))
            .sum()
    }
}
