//! The per-pixel norms: isotropic, squared and smooth total variation.
//!
//! Each pixel `(i, j)` of a plane gives one term, a function of its
//! forward differences `dx = x[i, j+1] − x[i, j]` and
//! `dy = x[i+1, j] − x[i, j]` (`+0.0` past the last column or row); see
//! [`scalar::pixel_term`] for the exact operations. A row of `W` pixels
//! gives `W` terms, which enter the summation order of [`crate::sum`]
//! like a row of differences: vectors of `T::LANES` terms padded with
//! `+0.0`, blocks of up to `BLOCK_VECTORS` vectors within a row, one tree
//! per plane.
//!
//! The gradient of an element combines the "fluxes" of three pixels, its
//! own, its left neighbour's and the one above it
//! ([`scalar::norm_gradient_element`]). The SIMD backends compute each
//! flux from vectors loaded at three offsets, so a pixel's flux is
//! computed up to three times: sqrt and division dominate the cost.
//!
//! The vector code is written once, generic over [`LaneArithmetic`], and
//! used by the portable and AVX2 backends. Every operation in it is a
//! correctly rounded IEEE operation (subtraction, multiplication,
//! addition, division, square root), applied in the order of the scalar
//! definition, or a selection: so the bits are the scalar ones.

use super::scalar::{self, Float};
use super::{FloatKernel, GradientRows, mean, plane_rows};
use crate::sum::{BLOCK_VECTORS, LaneVector, PairwiseSum};
use crate::{Layout, Reduction};

/// A per-pixel norm, with its constants in the element type.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PixelNorm<T> {
    /// `√(dx² + dy²)`.
    Isotropic,
    /// `dx² + dy²`.
    SquaredL2,
    /// `√(dx² + dy² + ε²) − √(ε²)`.
    Smooth {
        /// `ε·ε`, rounded to `T`: positive and finite.
        epsilon_squared: T,
        /// `√(epsilon_squared)`, rounded to `T`.
        offset: T,
    },
}

/// The lane-wise operations of a SIMD backend that the generic norm
/// kernels use, each the correctly rounded IEEE operation in every lane.
pub(crate) trait LaneArithmetic<T: Float>: FloatKernel<T> {
    /// The first `T::LANES` values of `values`, which holds at least that
    /// many.
    fn load(self, values: &[T]) -> Self::Lanes;

    /// `value` in every lane.
    fn splat(self, value: T) -> Self::Lanes;

    /// Writes the lanes to the first `T::LANES` values of `out`, which
    /// holds at least that many.
    fn store(self, lanes: Self::Lanes, out: &mut [T]);

    /// `a − b`.
    fn sub(self, a: Self::Lanes, b: Self::Lanes) -> Self::Lanes;

    /// `a · b`.
    fn mul(self, a: Self::Lanes, b: Self::Lanes) -> Self::Lanes;

    /// `a / b`.
    fn div(self, a: Self::Lanes, b: Self::Lanes) -> Self::Lanes;

    /// `√a`.
    fn sqrt(self, a: Self::Lanes) -> Self::Lanes;

    /// `values`, with `+0.0` in the lanes where `test` equals zero
    /// (either sign; NaN does not).
    fn zero_where_zero(
        self,
        values: Self::Lanes,
        test: Self::Lanes,
    ) -> Self::Lanes;
}

/// [`scalar::pixel_term`] in every lane, for pixels whose right
/// neighbours are `right`; `below` is `None` in the last row.
#[inline(always)]
fn term_lanes<T: Float, K: LaneArithmetic<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    x: K::Lanes,
    right: K::Lanes,
    below: Option<K::Lanes>,
) -> K::Lanes {
    let dx = kernel.sub(right, x);
    let dy = match below {
        Some(below) => kernel.sub(below, x),
        None => kernel.zero(),
    };
    let squares = kernel.mul(dx, dx).add(kernel.mul(dy, dy));
    norm_of_squares_lanes(kernel, norm, squares)
}

/// [`scalar::norm_of_squares`] in every lane.
#[inline(always)]
pub(crate) fn norm_of_squares_lanes<T: Float, K: LaneArithmetic<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    squares: K::Lanes,
) -> K::Lanes {
    match norm {
        PixelNorm::Isotropic => kernel.sqrt(squares),
        PixelNorm::SquaredL2 => squares,
        PixelNorm::Smooth { epsilon_squared, offset } => {
            let shifted = squares.add(kernel.splat(epsilon_squared));
            kernel.sub(kernel.sqrt(shifted), kernel.splat(offset))
        }
    }
}

/// [`scalar::pixel_flux`] in every lane, for pixels that have a right
/// neighbour; `below` is `None` in the last row.
#[inline(always)]
fn flux_lanes<T: Float, K: LaneArithmetic<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    x: K::Lanes,
    right: K::Lanes,
    below: Option<K::Lanes>,
    g: K::Lanes,
) -> (K::Lanes, K::Lanes) {
    let zero = kernel.zero();
    let dx = kernel.sub(right, x);
    let dy = match below {
        Some(below) => kernel.sub(below, x),
        None => zero,
    };
    let squares = kernel.mul(dx, dx).add(kernel.mul(dy, dy));
    let (ux, uy) = match norm {
        PixelNorm::SquaredL2 => {
            (kernel.mul(dx.add(dx), g), kernel.mul(dy.add(dy), g))
        }
        PixelNorm::Isotropic => {
            let r = kernel.sqrt(squares);
            let ux = kernel.mul(kernel.div(dx, r), g);
            let uy = kernel.mul(kernel.div(dy, r), g);
            (kernel.zero_where_zero(ux, r), kernel.zero_where_zero(uy, r))
        }
        PixelNorm::Smooth { epsilon_squared, .. } => {
            let r = kernel.sqrt(squares.add(kernel.splat(epsilon_squared)));
            let ux = kernel.mul(kernel.div(dx, r), g);
            (ux, kernel.mul(kernel.div(dy, r), g))
        }
    };
    match below {
        Some(_) => (ux, uy),
        None => (ux, zero),
    }
}

/// The terms of the pixels in columns `start..start + T::LANES` of `row`,
/// `+0.0` past its end: [`FloatKernel::norm_terms`] for a SIMD backend.
#[inline(always)]
pub(crate) fn norm_terms_lanes<T: Float, K: LaneArithmetic<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    row: &[T],
    below: Option<&[T]>,
    start: usize,
) -> K::Lanes {
    // Every pixel of the vector has a right neighbour: the vector kernel.
    // Otherwise (the last vector of a row) the scalar definition.
    if start + T::LANES < row.len() {
        let x = kernel.load(&row[start..]);
        let right = kernel.load(&row[start + 1..]);
        let below = match below {
            Some(below) => Some(kernel.load(&below[start..])),
            None => None,
        };
        term_lanes(kernel, norm, x, right, below)
    } else {
        let mut lanes = T::ZERO_LANES;
        for (offset, lane) in lanes.as_mut().iter_mut().enumerate() {
            *lane = scalar::pixel_term_at(norm, row, below, start + offset);
        }
        kernel.load(lanes.as_mut())
    }
}

/// The gradient of the elements in columns `start..start + T::LANES`,
/// where `1 ≤ start` and `start + T::LANES < width`:
/// [`FloatKernel::norm_gradient_lanes`] for a SIMD backend.
#[inline(always)]
pub(crate) fn norm_gradient_lanes<T: Float, K: LaneArithmetic<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    rows: &GradientRows<'_, T>,
    start: usize,
    factor: T,
    out: &mut [T],
) {
    let row = rows.row;
    if start == 0 || start + T::LANES >= row.len() || out.len() < T::LANES {
        return scalar::Scalar
            .norm_gradient_lanes(norm, rows, start, factor, out);
    }
    let g = kernel.splat(factor);
    let left = kernel.load(&row[start - 1..]);
    let x = kernel.load(&row[start..]);
    let right = kernel.load(&row[start + 1..]);
    let (below_left, below) = match rows.below {
        Some(below) => (
            Some(kernel.load(&below[start - 1..])),
            Some(kernel.load(&below[start..])),
        ),
        None => (None, None),
    };

    let (own_x, own_y) = flux_lanes(kernel, norm, x, right, below, g);
    let (from_left, _) = flux_lanes(kernel, norm, left, x, below_left, g);
    let from_above = match rows.above {
        Some(above) => {
            let top = kernel.load(&above[start..]);
            let top_right = kernel.load(&above[start + 1..]);
            flux_lanes(kernel, norm, top, top_right, Some(x), g).1
        }
        None => kernel.zero(),
    };

    let gradient = kernel.sub(from_left.add(from_above), own_x.add(own_y));
    kernel.store(gradient, out);
}

/// One value per plane of a floating-point image with a per-pixel norm,
/// on one backend.
#[inline(always)]
pub(crate) fn norm_values_with<T: Float, K: FloatKernel<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    out: &mut [T],
) {
    let plane_len = layout.plane_len();
    if plane_len == 0 {
        out.fill(T::ZERO);
        return;
    }
    let mut sum = PairwiseSum::new(kernel.zero());
    for (plane, out) in plane_rows(img, layout).zip(out) {
        sum.reset();
        let mut below_rows = plane.iter().skip(1);
        for row in plane.iter() {
            push_row_terms(kernel, norm, &mut sum, row, below_rows.next());
        }
        let total = sum.total();
        *out = match reduction {
            Reduction::Sum => total,
            Reduction::Mean => mean(total, plane_len),
        };
    }
}

/// Feeds the terms of one row to `sum`: blocks of `BLOCK_VECTORS`
/// vectors, the last block shorter and its last vector padded with
/// `+0.0`. A block's vectors are added lane by lane, in order.
#[inline(always)]
fn push_row_terms<T: Float, K: FloatKernel<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    sum: &mut PairwiseSum<K::Lanes>,
    row: &[T],
    below: Option<&[T]>,
) {
    let width = row.len();
    let block_len = T::LANES * BLOCK_VECTORS;
    let mut block_start = 0;
    while block_start < width {
        let block_end = width.min(block_start + block_len);
        let mut block = kernel.norm_terms(norm, row, below, block_start);
        let mut start = block_start + T::LANES;
        while start < block_end {
            block = block.add(kernel.norm_terms(norm, row, below, start));
            start += T::LANES;
        }
        sum.push_block(block);
        block_start = block_end;
    }
}

/// The gradient of `Σₚ upstream[p] · TVₚ` with a per-pixel norm, on one
/// backend.
#[inline(always)]
pub(crate) fn norm_gradient_with<T: Float, K: FloatKernel<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    upstream: &[T],
    grad: &mut [T],
) {
    let plane_len = layout.plane_len();
    if plane_len == 0 {
        return;
    }
    let width = layout.width();
    let planes = plane_rows(img, layout).zip(grad.chunks_exact_mut(plane_len));
    for ((plane, grad), &g) in planes.zip(upstream) {
        let factor = match reduction {
            Reduction::Sum => g,
            Reduction::Mean => mean(g, plane_len),
        };
        let mut above = None;
        let mut below_rows = plane.iter().skip(1);
        let rows = plane.iter().zip(grad.chunks_exact_mut(width));
        for (row, grad) in rows {
            let rows = GradientRows { above, row, below: below_rows.next() };
            row_norm_gradient(kernel, norm, &rows, factor, grad);
            above = Some(row);
        }
    }
}

/// The gradient of one row: the vector kernel where both horizontal
/// neighbours exist, the scalar definition at the ends. As in the
/// anisotropic row gradient, the last vector that fits overlaps the
/// previous one and recomputes a few elements to the same bits.
#[inline(always)]
pub(super) fn row_norm_gradient<T: Float, K: FloatKernel<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    rows: &GradientRows<'_, T>,
    factor: T,
    grad: &mut [T],
) {
    let width = grad.len();
    let mut column = 0;
    if width > 0 {
        grad[0] = scalar::norm_gradient_element(norm, rows, 0, factor);
        column = 1;
    }

    while column + T::LANES < width {
        kernel.norm_gradient_lanes(
            norm,
            rows,
            column,
            factor,
            &mut grad[column..],
        );
        column += T::LANES;
    }

    let last_start = width.saturating_sub(T::LANES + 1);
    if column > 1 && column < last_start + T::LANES {
        kernel.norm_gradient_lanes(
            norm,
            rows,
            last_start,
            factor,
            &mut grad[last_start..],
        );
        column = last_start + T::LANES;
    }

    while column < width {
        grad[column] =
            scalar::norm_gradient_element(norm, rows, column, factor);
        column += 1;
    }
}
