//! A naive reference, written from the definition in the crate docs and
//! sharing nothing with its kernels: double loops over the pixels, one
//! difference at a time, in `f64` (compensated) for floats and in `i64`
//! for integers.

use core::ops::{Add, Div, Mul, Neg, Sub};

use total_variation::Reduction;

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

    fn count(count: usize) -> Self;
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

            fn count(count: usize) -> $t {
                count as $t
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
