//! A naive reference, written from the definition in the crate docs and
//! sharing nothing with its kernels: double loops over the pixels, one
//! difference at a time, in `f64` (compensated) for floats and in `i64`
//! for integers.

use core::ops::{Add, Div, Mul, Neg, Sub};

use total_variation::{Norm, Reduction};

/// The vertical and horizontal sums of one plane and their counts.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals<S> {
    pub vertical: S,
    pub horizontal: S,
    pub vertical_count: usize,
    pub horizontal_count: usize,
}

/// Calls `visit(a, b)` for every pair of neighbours of a plane, vertical
/// pairs first (as `true`), then horizontal ones (as `false`).
fn neighbours<T: Copy>(
    plane: &[T],
    height: usize,
    width: usize,
    mut visit: impl FnMut(bool, T, T),
) {
    for i in 0..height.saturating_sub(1) {
        for j in 0..width {
            visit(true, plane[i * width + j], plane[(i + 1) * width + j]);
        }
    }
    for i in 0..height {
        for j in 0..width.saturating_sub(1) {
            visit(false, plane[i * width + j], plane[i * width + j + 1]);
        }
    }
}

/// A Neumaier-compensated `f64` sum.
#[derive(Clone, Copy, Default)]
struct Compensated {
    sum: f64,
    compensation: f64,
    /// Set once a term is infinite or NaN: then the plain sum is the
    /// answer, as compensation would turn `inf` into NaN.
    non_finite: bool,
}

impl Compensated {
    fn add(&mut self, value: f64) {
        let t = self.sum + value;
        if !value.is_finite() || !t.is_finite() {
            self.non_finite = true;
        } else if self.sum.abs() >= value.abs() {
            self.compensation += (self.sum - t) + value;
        } else {
            self.compensation += (value - t) + self.sum;
        }
        self.sum = t;
    }

    fn total(self) -> f64 {
        if self.non_finite { self.sum } else { self.sum + self.compensation }
    }
}

/// The totals of a float plane, each difference taken as `|b − a|` in
/// [`Float::difference`].
pub fn float_totals<T: Float>(
    plane: &[T],
    height: usize,
    width: usize,
) -> Totals<f64> {
    let (mut vertical, mut horizontal) =
        (Compensated::default(), Compensated::default());
    let mut totals = Totals::default();
    neighbours(plane, height, width, |is_vertical, a, b| {
        if is_vertical {
            vertical.add(T::difference(a, b));
            totals.vertical_count += 1;
        } else {
            horizontal.add(T::difference(a, b));
            totals.horizontal_count += 1;
        }
    });
    totals.vertical = vertical.total();
    totals.horizontal = horizontal.total();
    totals
}

/// The exact totals of an integer plane.
pub fn integer_totals<T: Copy + Into<i64>>(
    plane: &[T],
    height: usize,
    width: usize,
) -> Totals<u64> {
    let mut totals = Totals::default();
    neighbours(plane, height, width, |is_vertical, a, b| {
        let difference = (b.into() - a.into()).unsigned_abs();
        if is_vertical {
            totals.vertical += difference;
            totals.vertical_count += 1;
        } else {
            totals.horizontal += difference;
            totals.horizontal_count += 1;
        }
    });
    totals
}

/// The value of a plane from exact integer totals: the sum, or the two
/// means added, a term without differences giving 0.
pub fn integer_value(totals: &Totals<u64>, reduction: Reduction) -> f64 {
    let mean = |total: u64, count: usize| {
        if count == 0 { 0.0 } else { total as f64 / count as f64 }
    };
    match reduction {
        Reduction::Mean => {
            mean(totals.vertical, totals.vertical_count)
                + mean(totals.horizontal, totals.horizontal_count)
        }
        _ => (totals.vertical + totals.horizontal) as f64,
    }
}

/// What the reference needs of `f32` and `f64`.
pub trait Float:
    Copy
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    /// The unit roundoff, half the machine epsilon.
    const UNIT_ROUNDOFF: f64;
    /// The largest finite value, as `f64`.
    const MAX: f64;
    /// The smallest positive subnormal, as `f64`.
    const TINY: f64;

    /// `|b − a|` as the crate computes it, widened to `f64`: exact for
    /// `f32` (before the crate rounds it to `f32`), the same rounding for
    /// `f64`.
    fn difference(a: Self, b: Self) -> f64;

    /// `b − a` in the same way as [`Float::difference`], with its sign.
    fn signed_difference(a: Self, b: Self) -> f64;

    fn count(count: usize) -> Self;
    fn from_f64(value: f64) -> Self;
    fn sqrt(self) -> Self;
    fn to_f64(self) -> f64;
    fn is_finite(self) -> bool;
    fn is_nan(self) -> bool;
    /// The bits, with every NaN written as one NaN.
    fn canonical_bits(self) -> u64;
}

macro_rules! float {
    ($t:ty) => {
        impl Float for $t {
            const ZERO: $t = 0.0;
            const ONE: $t = 1.0;
            const UNIT_ROUNDOFF: f64 = <$t>::EPSILON as f64 / 2.0;
            const MAX: f64 = <$t>::MAX as f64;
            const TINY: f64 = <$t>::from_bits(1) as f64;

            fn difference(a: $t, b: $t) -> f64 {
                if core::mem::size_of::<$t>() == 4 {
                    (b as f64 - a as f64).abs()
                } else {
                    (b - a).abs() as f64
                }
            }

            fn signed_difference(a: $t, b: $t) -> f64 {
                if core::mem::size_of::<$t>() == 4 {
                    b as f64 - a as f64
                } else {
                    (b - a) as f64
                }
            }

            fn count(count: usize) -> $t {
                count as $t
            }

            fn from_f64(value: f64) -> $t {
                value as $t
            }

            fn sqrt(self) -> $t {
                <$t>::sqrt(self)
            }

            fn to_f64(self) -> f64 {
                self as f64
            }

            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }

            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }

            fn canonical_bits(self) -> u64 {
                let value = if self.is_nan() { <$t>::NAN } else { self };
                value.to_bits() as u64
            }
        }
    };
}

float!(f32);
float!(f64);

/// The relative error bound of a float value whose terms have at most
/// `count` differences each:
///
/// ```text
/// (32 + 2·⌈log2(count + 1)⌉) · u      u = 2^-24 (f32), 2^-53 (f64)
/// ```
///
/// Each difference goes through at most one rounding of its subtraction,
/// 15 additions inside its block, `⌈log2 B⌉` carries up the tree and at
/// most `⌊log2 B⌋ + 1` additions when the ranks are totalled (`B ≤
/// count` blocks), 4 halvings of the lanes (3 for `f64`), the addition
/// of the two terms, and for a mean one division: at most
/// `23 + 2·⌈log2(count + 1)⌉` roundings, each a factor `1 + δ`, `|δ| ≤
/// u`, on a sum of non-negative terms. The constant 32 leaves room for
/// the second-order terms and for the reference's own error (`≤ 2u` in
/// `f64`).
pub fn relative_bound<T: Float>(count: usize) -> f64 {
    let log2 = f64::from(usize::BITS - count.leading_zeros());
    (32.0 + 2.0 * log2) * T::UNIT_ROUNDOFF
}

/// Checks a float value against the reference totals of its plane.
///
/// - a NaN difference makes the value NaN, an infinite one `+inf`;
/// - otherwise the value is within [`relative_bound`] of the reference,
///   plus 4 subnormal steps for a mean that underflows; it may be `+inf`
///   only when the reference, or one of its terms, is within that bound
///   of overflowing.
pub fn check_float_value<T: Float>(
    value: T,
    totals: &Totals<f64>,
    reduction: Reduction,
) -> Result<(), String> {
    let mean = |total: f64, count: usize| {
        if count == 0 { 0.0 } else { total / count as f64 }
    };
    let expected = match reduction {
        Reduction::Mean => {
            mean(totals.vertical, totals.vertical_count)
                + mean(totals.horizontal, totals.horizontal_count)
        }
        _ => totals.vertical + totals.horizontal,
    };
    let value = value.to_f64();
    if expected.is_nan() {
        return if value.is_nan() {
            Ok(())
        } else {
            Err(format!("{value:e} where a difference is NaN"))
        };
    }
    if expected.is_infinite() {
        return if value == f64::INFINITY {
            Ok(())
        } else {
            Err(format!("{value:e} where a difference is infinite"))
        };
    }
    let count = totals.vertical_count.max(totals.horizontal_count);
    let bound = relative_bound::<T>(count);
    let error = (value - expected).abs();
    let allowed = bound * expected + 4.0 * T::TINY;
    let may_overflow = [totals.vertical, totals.horizontal, expected]
        .iter()
        .any(|&total| total * (1.0 + bound) >= T::MAX);
    if error <= allowed || (may_overflow && value == f64::INFINITY) {
        Ok(())
    } else {
        Err(format!(
            "{value:e} against the reference {expected:e}: relative error \
             {:e}, bound {bound:e} for {count} differences",
            error / expected
        ))
    }
}

/// `1`, `−1` or `0` for positive, negative, zero or NaN values.
fn sign<T: Float>(x: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else if x < T::ZERO {
        -T::ONE
    } else {
        T::ZERO
    }
}

/// The gradient of `Σₚ upstream[p]·TVₚ`, as the crate docs define it:
/// for each element the terms `+sign(x − left)·gh`, `−sign(right − x)·gh`,
/// `−sign(below − x)·gv`, `+sign(x − above)·gv` added in that order, a
/// missing neighbour giving `+0`; `gv = gh = g` for a sum, each divided by
/// its term's count of differences for a mean (0 for a term without any).
pub fn gradient<T: Float>(
    img: &[T],
    planes: usize,
    height: usize,
    width: usize,
    reduction: Reduction,
    upstream: &[T],
) -> Vec<T> {
    let mut grad = Vec::with_capacity(img.len());
    let plane_len = height * width;
    let share = |g: T, count: usize| match reduction {
        Reduction::Mean if count == 0 => T::ZERO,
        Reduction::Mean => g / T::count(count),
        _ => g,
    };
    for p in 0..planes {
        let plane = &img[p * plane_len..][..plane_len];
        let gv = share(upstream[p], height.saturating_sub(1) * width);
        let gh = share(upstream[p], height * width.saturating_sub(1));
        for i in 0..height {
            for j in 0..width {
                let x = plane[i * width + j];
                let at = |i: usize, j: usize| plane[i * width + j];
                let from_left =
                    if j > 0 { sign(x - at(i, j - 1)) * gh } else { T::ZERO };
                let to_right = if j + 1 < width {
                    -(sign(at(i, j + 1) - x) * gh)
                } else {
                    T::ZERO
                };
                let to_below = if i + 1 < height {
                    -(sign(at(i + 1, j) - x) * gv)
                } else {
                    T::ZERO
                };
                let from_above =
                    if i > 0 { sign(x - at(i - 1, j)) * gv } else { T::ZERO };
                grad.push(((from_left + to_right) + to_below) + from_above);
            }
        }
    }
    grad
}

/// `(ε², √(ε²))` in `T` for a usable smoothing scale, `None` for one the
/// crate must refuse: `ε` not finite and positive, or `ε²` rounded to `T`
/// zero or infinite.
pub fn smooth_constants<T: Float>(epsilon: f64) -> Option<(T, T)> {
    if !(epsilon.is_finite() && epsilon > 0.0) {
        return None;
    }
    let epsilon = T::from_f64(epsilon);
    let squared = epsilon * epsilon;
    (squared > T::ZERO && squared.is_finite())
        .then(|| (squared, squared.sqrt()))
}

/// A per-pixel norm's value of one plane in `f64`, with what is needed
/// to bound the crate's error.
pub struct NormTotals {
    /// The sum of the terms (in `f64`, compensated).
    pub total: f64,
    /// The sum of the error scales of the terms: the term itself, or for
    /// the smooth norm `√(q + ε²) + ε`, as it subtracts two values near
    /// each other.
    pub scale: f64,
    /// The largest intermediate `dx² + dy² (+ ε²)` of a pixel: where it
    /// reaches the element type's largest value, the crate's term is
    /// `+inf` although the term itself may not be.
    pub largest_square: f64,
    /// Pixels in the plane.
    pub pixels: usize,
}

/// The forward differences of pixel `(i, j)` as the crate takes them,
/// in `f64`: `dx = x[i, j+1] − x[i, j]`, `dy = x[i+1, j] − x[i, j]`, 0 past
/// the last column or row.
fn forward_differences<T: Float>(
    plane: &[T],
    height: usize,
    width: usize,
    i: usize,
    j: usize,
) -> (f64, f64) {
    let at = |i: usize, j: usize| plane[i * width + j];
    let x = at(i, j);
    let dx =
        if j + 1 < width { T::signed_difference(x, at(i, j + 1)) } else { 0.0 };
    let dy = if i + 1 < height {
        T::signed_difference(x, at(i + 1, j))
    } else {
        0.0
    };
    (dx, dy)
}

/// The terms of one plane for a per-pixel norm, in `f64`.
pub fn norm_totals<T: Float>(
    plane: &[T],
    height: usize,
    width: usize,
    norm: Norm,
) -> NormTotals {
    let mut total = Compensated::default();
    let (mut scale, mut largest_square) = (0.0f64, 0.0f64);
    for i in 0..height {
        for j in 0..width {
            let (dx, dy) = forward_differences(plane, height, width, i, j);
            let q = dx * dx + dy * dy;
            let (term, term_scale, square) = match norm {
                Norm::Isotropic => (q.sqrt(), q.sqrt(), q),
                Norm::SquaredL2 => (q, q, q),
                Norm::Smooth { epsilon } => {
                    let e = T::from_f64(epsilon).to_f64();
                    let r = (q + e * e).sqrt();
                    (r - e, r + e, q + e * e)
                }
                _ => panic!("not a per-pixel norm"),
            };
            total.add(term);
            scale += term_scale;
            largest_square = largest_square.max(square);
        }
    }
    NormTotals {
        total: total.total(),
        scale,
        largest_square,
        pixels: height * width,
    }
}

/// Checks a per-pixel norm's value of one plane against the reference.
///
/// The bound is [`relative_bound`] of the pixel count plus `8u` for the
/// operations of one term (difference, two squares, their sum, `+ ε²`,
/// square root, `− √(ε²)`), relative to the error scale, plus an absolute
/// `2·√TINY` per pixel: a square that falls into the subnormal range
/// loses its relative precision, and the square root of an absolute
/// error of `1.5·TINY` is at most that. A NaN difference makes the value
/// NaN, an infinite one `+inf`; `+inf` is also accepted where the total or
/// an intermediate square reaches the type's largest value.
pub fn check_norm_value<T: Float>(
    value: T,
    totals: &NormTotals,
    reduction: Reduction,
) -> Result<(), String> {
    let count = match reduction {
        Reduction::Mean if totals.pixels > 0 => totals.pixels as f64,
        _ => 1.0,
    };
    let expected = totals.total / count;
    let value = value.to_f64();
    if expected.is_nan() {
        return if value.is_nan() {
            Ok(())
        } else {
            Err(format!("{value:e} where a difference is NaN"))
        };
    }
    if expected.is_infinite() {
        return if value == f64::INFINITY {
            Ok(())
        } else {
            Err(format!("{value:e} where a difference is infinite"))
        };
    }
    let bound = relative_bound::<T>(totals.pixels) + 8.0 * T::UNIT_ROUNDOFF;
    let slack = 2.0 * T::TINY.sqrt() * totals.pixels as f64 / count;
    let allowed = bound * totals.scale / count + slack + 4.0 * T::TINY;
    let error = (value - expected).abs();
    let may_overflow = [totals.total, totals.largest_square]
        .iter()
        .any(|&v| v * (1.0 + bound) >= T::MAX);
    if error <= allowed || (may_overflow && value == f64::INFINITY) {
        Ok(())
    } else {
        Err(format!(
            "{value:e} against the reference {expected:e}: error {error:e}, \
             allowed {allowed:e}"
        ))
    }
}

/// The gradient of `Σₚ upstream[p]·TVₚ` for a per-pixel norm, written
/// from the definition in the crate docs, in `T`, one pixel at a time.
///
/// Per pixel, with `d = right − x` and `e = below − x` in `T` (`+0` and
/// no component past the last column or row) and `q = d·d + e·e`, the
/// flux `(ux, uy)` is `((d+d)·g, (e+e)·g)` for the squared norm, and
/// `((d/r)·g, (e/r)·g)` with `r = √q` (isotropic, `(+0, +0)` where
/// `r = 0`) or `r = √(q + ε²)` (smooth). An element's gradient is
/// `(ux[left] + uy[above]) − (ux[own] + uy[own])`, a missing neighbour
/// giving `+0`. The result must equal the crate's bit for bit.
pub fn norm_gradient<T: Float>(
    img: &[T],
    (planes, height, width): (usize, usize, usize),
    norm: Norm,
    reduction: Reduction,
    upstream: &[T],
) -> Vec<T> {
    let plane_len = height * width;
    let mut grad = Vec::with_capacity(img.len());
    let epsilon_squared = match norm {
        Norm::Smooth { epsilon } => {
            smooth_constants::<T>(epsilon).expect("a valid epsilon").0
        }
        _ => T::ZERO,
    };
    for p in 0..planes {
        let plane = &img[p * plane_len..][..plane_len];
        let g = match reduction {
            Reduction::Mean => upstream[p] / T::count(plane_len),
            _ => upstream[p],
        };
        // The fluxes of every pixel, then the gradient of every element.
        let mut flux = Vec::with_capacity(plane_len);
        for i in 0..height {
            for j in 0..width {
                let x = plane[i * width + j];
                let has_right = j + 1 < width;
                let has_below = i + 1 < height;
                let d = if has_right {
                    plane[i * width + j + 1] - x
                } else {
                    T::ZERO
                };
                let e = if has_below {
                    plane[(i + 1) * width + j] - x
                } else {
                    T::ZERO
                };
                let q = d * d + e * e;
                let (ux, uy) = match norm {
                    Norm::SquaredL2 => ((d + d) * g, (e + e) * g),
                    Norm::Isotropic => {
                        let r = q.sqrt();
                        if r == T::ZERO {
                            (T::ZERO, T::ZERO)
                        } else {
                            ((d / r) * g, (e / r) * g)
                        }
                    }
                    _ => {
                        let r = (q + epsilon_squared).sqrt();
                        ((d / r) * g, (e / r) * g)
                    }
                };
                flux.push((
                    if has_right { ux } else { T::ZERO },
                    if has_below { uy } else { T::ZERO },
                ));
            }
        }
        for i in 0..height {
            for j in 0..width {
                let from_left =
                    if j > 0 { flux[i * width + j - 1].0 } else { T::ZERO };
                let from_above =
                    if i > 0 { flux[(i - 1) * width + j].1 } else { T::ZERO };
                let (own_x, own_y) = flux[i * width + j];
                grad.push((from_left + from_above) - (own_x + own_y));
            }
        }
    }
    grad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_of_a_small_plane() {
        // 2×3: vertical |3−0| + |4−1| + |9−2|, horizontal 1 + 1 + 1 + 5.
        let plane = [0.0f32, 1.0, 2.0, 3.0, 4.0, 9.0];
        let totals = float_totals(&plane, 2, 3);
        assert_eq!((totals.vertical, totals.horizontal), (13.0, 8.0));
        assert_eq!((totals.vertical_count, totals.horizontal_count), (3, 4));
        let exact = integer_totals(&[0u8, 255, 255, 0], 2, 2);
        assert_eq!((exact.vertical, exact.horizontal), (510, 510));
    }

    #[test]
    fn bound_grows_with_the_logarithm() {
        assert_eq!(relative_bound::<f32>(0), 32.0 * 2f64.powi(-24));
        assert_eq!(relative_bound::<f32>(1000), 52.0 * 2f64.powi(-24));
    }

    #[test]
    fn value_checks() {
        let totals = Totals {
            vertical: 1.0,
            horizontal: f64::from(f32::MAX),
            vertical_count: 1,
            horizontal_count: 1,
        };
        assert!(
            check_float_value(f32::INFINITY, &totals, Reduction::Sum).is_ok()
        );
        assert!(check_float_value(1.0f32, &totals, Reduction::Sum).is_err());
        let nan = Totals { vertical: f64::NAN, ..totals };
        assert!(check_float_value(f32::NAN, &nan, Reduction::Mean).is_ok());
    }
}
