//! The scalar kernels: the definition of every result.
//!
//! They follow the summation order of [`crate::sum`] literally, one lane
//! at a time, and every other backend must reproduce their bits.

use core::ops::{Add, Div, Mul, Neg, Sub};

use crate::sum::{LaneVector, PairwiseSum};

/// What the kernels need of `f32` and `f64`.
pub(crate) trait Float:
    Copy
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

/// Feeds `|b[j] − a[j]|` for every `j` to `sum`, in vectors of
/// `T::LANES` values, the last one padded with `+0.0`.
fn push_abs_diffs<T: Float>(sum: &mut PairwiseSum<T::Lanes>, a: &[T], b: &[T]) {
    for (a, b) in a.chunks(T::LANES).zip(b.chunks(T::LANES)) {
        let mut vector = T::Lanes::zero();
        for (lane, (&a, &b)) in vector.as_mut().iter_mut().zip(a.iter().zip(b))
        {
            *lane = (b - a).abs();
        }
        sum.push(vector);
    }
}

/// Feeds the vertical and horizontal differences of one plane of `width`
/// columns to their sums, row by row.
pub(crate) fn float_plane_sums<T: Float>(
    plane: &[T],
    width: usize,
    vertical: &mut PairwiseSum<T::Lanes>,
    horizontal: &mut PairwiseSum<T::Lanes>,
) {
    if width == 0 {
        return;
    }
    let mut above: Option<&[T]> = None;
    for row in plane.chunks_exact(width) {
        push_abs_diffs(horizontal, &row[..width - 1], &row[1..]);
        if let Some(above) = above {
            push_abs_diffs(vertical, above, row);
        }
        above = Some(row);
    }
}

/// Writes the gradient of one plane for the upstream factors of its
/// vertical and horizontal terms.
///
/// Each element collects up to four terms: `+sign(x − left)·gh`,
/// `−sign(right − x)·gh`, `−sign(below − x)·gv` and `+sign(x − above)·gv`,
/// a missing neighbour giving `+0.0`. They are added in that order, the
/// order in which torch's autograd accumulates them for kornia's function,
/// so that the bits match it, signed zeros included.
pub(crate) fn float_plane_gradient<T: Float>(
    plane: &[T],
    width: usize,
    g_vertical: T,
    g_horizontal: T,
    grad: &mut [T],
) {
    if width == 0 {
        return;
    }
    let rows = plane.chunks_exact(width).zip(grad.chunks_exact_mut(width));
    let mut above: Option<&[T]> = None;
    let mut below_rows = plane.chunks_exact(width).skip(1);
    for (row, grad) in rows {
        let below = below_rows.next();
        for (j, (&x, out)) in row.iter().zip(grad.iter_mut()).enumerate() {
            let from_left = match j.checked_sub(1) {
                Some(left) => (x - row[left]).sign() * g_horizontal,
                None => T::ZERO,
            };
            let to_right = match row.get(j + 1) {
                Some(&right) => -((right - x).sign() * g_horizontal),
                None => T::ZERO,
            };
            let to_below = match below {
                Some(below) => -((below[j] - x).sign() * g_vertical),
                None => T::ZERO,
            };
            let from_above = match above {
                Some(above) => (x - above[j]).sign() * g_vertical,
                None => T::ZERO,
            };
            *out = ((from_left + to_right) + to_below) + from_above;
        }
        above = Some(row);
    }
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

/// `Σ |b[j] − a[j]|`, exactly.
fn integer_abs_diff_sum<T: Integer>(a: &[T], b: &[T]) -> u64 {
    a.iter()
        .zip(b)
        .map(|(&a, &b)| u64::from((b.widen() - a.widen()).unsigned_abs()))
        .sum()
}

/// The exact vertical and horizontal totals of one integer plane of
/// `width` columns, small enough for them to fit in `u64`.
pub(crate) fn integer_plane_sums<T: Integer>(
    plane: &[T],
    width: usize,
) -> (u64, u64) {
    let (mut vertical, mut horizontal) = (0, 0);
    if width == 0 {
        return (0, 0);
    }
    let mut above: Option<&[T]> = None;
    for row in plane.chunks_exact(width) {
        horizontal += integer_abs_diff_sum(&row[..width - 1], &row[1..]);
        if let Some(above) = above {
            vertical += integer_abs_diff_sum(above, row);
        }
        above = Some(row);
    }
    (vertical, horizontal)
}
