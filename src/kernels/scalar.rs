//! The scalar kernels: the definition of every result.
//!
//! They follow the summation order of [`crate::sum`] literally, one lane
//! at a time, and every other backend must reproduce their bits.

use core::ops::{Add, Div, Mul, Neg, Sub};

use super::{FloatKernel, GradientFactors, GradientRows, IntegerKernel};
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

    /// The absolute value: the sign bit cleared.
    fn abs(self) -> Self;

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

    #[inline(always)]
    fn abs(self) -> f32 {
        f32::from_bits(self.to_bits() & !(1 << 31))
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

    #[inline(always)]
    fn abs(self) -> f64 {
        f64::from_bits(self.to_bits() & !(1 << 63))
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
