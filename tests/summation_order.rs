//! The value of the anisotropic norm against the summation order that the
//! crate documents (module docs of `sum`, and README.md), written out
//! here on plain arrays, one addition at a time: vectors of 16 `f32` or 8
//! `f64` lanes padded with `+0.0`, blocks of 16 vectors that never span
//! two rows, a binary-counter tree over the blocks of all rows, and a
//! halving sum of the lanes.
//!
//! The other tests compare the backends with one another, and with
//! references within a tolerance; this one checks that every backend,
//! the scalar one included, adds in the documented order, bit for bit.

// The test uses the functions that return a `Vec`.
#![cfg(feature = "alloc")]

use total_variation::{Backend, Element, Layout, Reduction, TotalVariation};

mod common;
use common::{bits, bits32, fast_backends};

/// Vectors in one block.
const BLOCK_VECTORS: usize = 16;

/// The float types under test, with what the order needs of them.
trait Float: Element<Output = Self> + Copy + PartialEq + core::fmt::Debug {
    /// Lanes in one vector of the summation order.
    const LANES: usize;
    const ZERO: Self;
    fn from_f64(value: f64) -> Self;
    fn plus(self, other: Self) -> Self;
    fn abs_diff(a: Self, b: Self) -> Self;
    /// [`common::bits`] or [`common::bits32`], widened.
    fn bits(values: &[Self]) -> Vec<u64>;
}

impl Float for f32 {
    const LANES: usize = 16;
    const ZERO: Self = 0.0;
    fn from_f64(value: f64) -> Self {
        value as f32
    }
    fn plus(self, other: Self) -> Self {
        self + other
    }
    fn abs_diff(a: Self, b: Self) -> Self {
        (b - a).abs()
    }
    fn bits(values: &[Self]) -> Vec<u64> {
        bits32(values).into_iter().map(u64::from).collect()
    }
}

impl Float for f64 {
    const LANES: usize = 8;
    const ZERO: Self = 0.0;
    fn from_f64(value: f64) -> Self {
        value
    }
    fn plus(self, other: Self) -> Self {
        self + other
    }
    fn abs_diff(a: Self, b: Self) -> Self {
        (b - a).abs()
    }
    fn bits(values: &[Self]) -> Vec<u64> {
        bits(values)
    }
}

/// One term of one plane, summed in the documented order: `rows` holds,
/// for each row, the differences of that row in column order.
fn documented_sum<T: Float>(rows: &[Vec<T>]) -> T {
    // ranks[r]: the sum of 2^r blocks, where taken.
    let mut ranks: Vec<Option<Vec<T>>> = Vec::new();
    for row in rows {
        for block in row.chunks(T::LANES * BLOCK_VECTORS) {
            let mut carry = vec![T::ZERO; T::LANES];
            for (vector, values) in block.chunks(T::LANES).enumerate() {
                // The first vector is the block's sum so far; the padding
                // of a short last vector is `+0.0`.
                let mut lanes = vec![T::ZERO; T::LANES];
                lanes[..values.len()].copy_from_slice(values);
                carry = if vector == 0 {
                    lanes
                } else {
                    carry.iter().zip(&lanes).map(|(&s, &v)| s.plus(v)).collect()
                };
            }
            let mut rank = 0;
            loop {
                if rank == ranks.len() {
                    ranks.push(None);
                }
                match ranks[rank].take() {
                    Some(left) => {
                        carry = left
                            .iter()
                            .zip(&carry)
                            .map(|(&l, &c)| l.plus(c))
                            .collect();
                        rank += 1;
                    }
                    None => {
                        ranks[rank] = Some(carry);
                        break;
                    }
                }
            }
        }
    }
    let mut total = vec![T::ZERO; T::LANES];
    for rank in ranks.into_iter().flatten() {
        total = rank.iter().zip(&total).map(|(&r, &t)| r.plus(t)).collect();
    }
    while total.len() > 1 {
        let half = total.len() / 2;
        total = (0..half).map(|i| total[i].plus(total[i + half])).collect();
    }
    total[0]
}

/// The value of each plane of a `(planes, height, width)` image with
/// `Reduction::Sum`, in the documented order.
fn documented_values<T: Float>(
    img: &[T],
    planes: usize,
    height: usize,
    width: usize,
) -> Vec<T> {
    img.chunks(height * width)
        .take(planes)
        .map(|plane| {
            let row = |i: usize| &plane[i * width..(i + 1) * width];
            let horizontal: Vec<Vec<T>> = (0..height)
                .map(|i| {
                    row(i).windows(2).map(|p| T::abs_diff(p[0], p[1])).collect()
                })
                .collect();
            let vertical: Vec<Vec<T>> = (1..height)
                .map(|i| {
                    row(i - 1)
                        .iter()
                        .zip(row(i))
                        .map(|(&a, &b)| T::abs_diff(a, b))
                        .collect()
                })
                .collect();
            documented_sum(&vertical).plus(documented_sum(&horizontal))
        })
        .collect()
}

/// Pixels of magnitudes from 2^-12 to 2^12, so that the rounding of each
/// addition depends on what it adds to, and two orders rarely agree;
/// among them `+0.0`, `−0.0` and runs of equal pixels, whose differences
/// are zeros.
fn pixels<T: Float>(len: usize, seed: u64) -> Vec<T> {
    let mut state = seed | 1;
    let mut previous = 0.0;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mantissa = (state >> 40) as f64 / (1u64 << 24) as f64;
            let exponent = (state & 31) as i32 - 12;
            previous = match state >> 32 & 15 {
                0 => 0.0,
                1 => -0.0,
                2 | 3 => previous,
                _ => mantissa * 2f64.powi(exponent),
            };
            T::from_f64(previous)
        })
        .collect()
}

/// Widths around one and two blocks of each type's vectors, and odd ones.
const WIDTHS: &[usize] =
    &[1, 2, 9, 17, 127, 128, 129, 255, 256, 257, 300, 511, 512, 513, 1031];

fn check<T: Float>() {
    let heights: &[usize] = if cfg!(miri) { &[1, 3] } else { &[1, 2, 3, 7] };
    let widths: &[usize] = if cfg!(miri) { &[9, 257] } else { WIDTHS };
    let planes = 2;
    let mut backends = fast_backends();
    backends.push(Backend::Scalar);
    for &height in heights {
        for &width in widths {
            let len = planes * height * width;
            let img = pixels::<T>(len, (height * 10_007 + width) as u64);
            let expected = documented_values(&img, planes, height, width);
            let layout = Layout::planar(planes, height, width).unwrap();
            for &backend in &backends {
                let tv = TotalVariation::new()
                    .with_reduction(Reduction::Sum)
                    .with_backend(backend);
                let got = tv.value(&img, &layout).unwrap();
                assert_eq!(
                    T::bits(&got),
                    T::bits(&expected),
                    "{backend:?} {height}x{width}"
                );
            }
        }
    }
}

#[test]
fn f32_values_follow_the_documented_order() {
    check::<f32>();
}

#[test]
fn f64_values_follow_the_documented_order() {
    check::<f64>();
}
