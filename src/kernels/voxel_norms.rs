//! The per-voxel norms on volumes: isotropic, squared and smooth TV.
//!
//! Each voxel `(z, y, x)` gives one term, a function of its three
//! forward differences, each multiplied by the weight of its axis:
//! `dz = w_z·(x[z+1, y, x] − x[z, y, x])`, `dy` to the next row, `dx` to
//! the next column; see [`scalar::voxel_term_at`] for the exact
//! operations. The terms of row `y` of slice `z` are a row of `W` terms
//! of the summation order of [`crate::sum`], the rows of a slice top to
//! bottom and the slices front to back feeding one tree per volume.
//!
//! The gradient of an element combines the fluxes of four voxels: its
//! own and those of its neighbours to the left, above and in front
//! ([`scalar::voxel_gradient_element`]). As for planes, the SIMD
//! backends compute each flux from vectors loaded at the offsets of
//! those neighbours, every operation being the correctly rounded one of
//! the scalar definition, in its order: so the bits are the scalar ones.
//!
//! Without a depth difference (a volume of depth 1, or a depth weight of
//! 0) and with unit weights, every operation is the plane's: the squares
//! add up as `dx·dx + dy·dy`, the fluxes are multiplied by `1·g = g`, and
//! no depth share is added. So such a volume has the bits of its plane.

use super::norms::{LaneArithmetic, norm_of_squares_lanes};
use super::scalar::{self, Float};
use super::volume::weighted;
use super::{
    FloatKernel, GradientRows, PixelNorm, VolumeWeights, VoxelRows,
    VoxelScales, mean,
};
use crate::sum::{BLOCK_VECTORS, LaneVector, PairwiseSum};
use crate::{Reduction, VolumeLayout};

/// Row `y` of slice `z` of `volume`, if both exist.
#[inline(always)]
fn volume_row<'a, T>(
    volume: &'a [T],
    layout: &VolumeLayout,
    z: usize,
    y: usize,
) -> Option<&'a [T]> {
    if z >= layout.depth() || y >= layout.height() {
        return None;
    }
    let width = layout.width();
    // Within the volume, so no overflow: z < D and y < H.
    let start = (z * layout.height() + y) * width;
    volume.get(start..start + width)
}

/// The rows around row `y` of slice `z` that the per-voxel norms read.
#[inline(always)]
fn voxel_rows<'a, T>(
    volume: &'a [T],
    layout: &VolumeLayout,
    z: usize,
    y: usize,
) -> VoxelRows<'a, T> {
    // `usize::MAX` for the first slice or row: outside the volume.
    let (front, above) = (z.wrapping_sub(1), y.wrapping_sub(1));
    VoxelRows {
        slice: GradientRows {
            above: volume_row(volume, layout, z, above),
            row: volume_row(volume, layout, z, y).unwrap_or_default(),
            below: volume_row(volume, layout, z, y + 1),
        },
        front: volume_row(volume, layout, front, y),
        front_below: volume_row(volume, layout, front, y + 1),
        back: volume_row(volume, layout, z + 1, y),
        back_above: volume_row(volume, layout, z + 1, above),
    }
}

/// One value per volume with a per-voxel norm, on one backend.
#[inline(always)]
pub(crate) fn voxel_values_with<T: Float, K: FloatKernel<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    img: &[T],
    layout: &VolumeLayout,
    reduction: Reduction,
    weights: VolumeWeights<T>,
    out: &mut [T],
) {
    let volume_len = layout.volume_len();
    if volume_len == 0 {
        out.fill(T::ZERO);
        return;
    }
    let mut sum = PairwiseSum::new(kernel.zero());
    for (volume, out) in img.chunks_exact(volume_len).zip(out) {
        sum.reset();
        for z in 0..layout.depth() {
            for y in 0..layout.height() {
                let rows = voxel_rows(volume, layout, z, y);
                push_voxel_row_terms(kernel, norm, weights, &mut sum, &rows);
            }
        }
        let total = sum.total();
        *out = match reduction {
            Reduction::Sum => total,
            Reduction::Mean => mean(total, volume_len),
        };
    }
}

/// Feeds the terms of one row to `sum`, in blocks of `BLOCK_VECTORS`
/// vectors as the plane's rows of terms.
#[inline(always)]
fn push_voxel_row_terms<T: Float, K: FloatKernel<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    weights: VolumeWeights<T>,
    sum: &mut PairwiseSum<K::Lanes>,
    rows: &VoxelRows<'_, T>,
) {
    let width = rows.slice.row.len();
    let block_len = T::LANES * BLOCK_VECTORS;
    let mut block_start = 0;
    while block_start < width {
        let block_end = width.min(block_start + block_len);
        let mut block = kernel.voxel_terms(norm, weights, rows, block_start);
        let mut start = block_start + T::LANES;
        while start < block_end {
            block = block.add(kernel.voxel_terms(norm, weights, rows, start));
            start += T::LANES;
        }
        sum.push_block(block);
        block_start = block_end;
    }
}

/// The gradient of `Σᵥ upstream[v] · TV(volume v)` with a per-voxel norm,
/// on one backend.
///
/// The factor of an axis is `w·g`, with `g` the volume's upstream value
/// (divided by `D·H·W` for a mean), or `+0.0` for a weight of 0.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn voxel_gradient_with<T: Float, K: FloatKernel<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    img: &[T],
    layout: &VolumeLayout,
    reduction: Reduction,
    weights: VolumeWeights<T>,
    upstream: &[T],
    grad: &mut [T],
) {
    let volume_len = layout.volume_len();
    if volume_len == 0 {
        return;
    }
    let (height, width) = (layout.height(), layout.width());
    let volumes =
        img.chunks_exact(volume_len).zip(grad.chunks_exact_mut(volume_len));
    for ((volume, grad), &g) in volumes.zip(upstream) {
        let g = match reduction {
            Reduction::Sum => g,
            Reduction::Mean => mean(g, volume_len),
        };
        let factors = VolumeWeights {
            depth: weighted(weights.depth, g),
            height: weighted(weights.height, g),
            width: weighted(weights.width, g),
        };
        let scales = VoxelScales { weights, factors };
        for (index, grad) in grad.chunks_exact_mut(width).enumerate() {
            let rows =
                voxel_rows(volume, layout, index / height, index % height);
            row_voxel_gradient(kernel, norm, scales, &rows, grad);
        }
    }
}

/// The gradient of one row: the vector kernel where both horizontal
/// neighbours exist, the scalar definition at the ends; the last vector
/// that fits overlaps the previous one, as for planes.
#[inline(always)]
fn row_voxel_gradient<T: Float, K: FloatKernel<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    scales: VoxelScales<T>,
    rows: &VoxelRows<'_, T>,
    grad: &mut [T],
) {
    let width = grad.len();
    let mut column = 0;
    if width > 0 {
        grad[0] = scalar::voxel_gradient_element(norm, scales, rows, 0);
        column = 1;
    }

    while column + T::LANES < width {
        kernel.voxel_gradient_lanes(
            norm,
            scales,
            rows,
            column,
            &mut grad[column..],
        );
        column += T::LANES;
    }

    let last_start = width.saturating_sub(T::LANES + 1);
    if column > 1 && column < last_start + T::LANES {
        kernel.voxel_gradient_lanes(
            norm,
            scales,
            rows,
            last_start,
            &mut grad[last_start..],
        );
        column = last_start + T::LANES;
    }

    while column < width {
        grad[column] =
            scalar::voxel_gradient_element(norm, scales, rows, column);
        column += 1;
    }
}

/// The lanes of `row` from column `start` on, if the row exists.
#[inline(always)]
fn load_row<T: Float, K: LaneArithmetic<T>>(
    kernel: K,
    row: Option<&[T]>,
    start: usize,
) -> Option<K::Lanes> {
    match row {
        Some(row) => Some(kernel.load(&row[start..])),
        None => None,
    }
}

/// [`scalar::weighted_difference`] in every lane: `None` where the
/// neighbours do not exist or the weight is 0.
#[inline(always)]
fn weighted_lanes<T: Float, K: LaneArithmetic<T>>(
    kernel: K,
    weight: T,
    to: Option<K::Lanes>,
    from: K::Lanes,
) -> Option<K::Lanes> {
    match to {
        Some(to) if weight != T::ZERO => {
            Some(kernel.mul(kernel.splat(weight), kernel.sub(to, from)))
        }
        _ => None,
    }
}

/// [`scalar::voxel_squares`] in every lane.
#[inline(always)]
fn voxel_squares_lanes<T: Float, K: LaneArithmetic<T>>(
    kernel: K,
    dx: K::Lanes,
    dy: K::Lanes,
    dz: Option<K::Lanes>,
) -> K::Lanes {
    let squares = kernel.mul(dx, dx).add(kernel.mul(dy, dy));
    match dz {
        Some(dz) => squares.add(kernel.mul(dz, dz)),
        None => squares,
    }
}

/// `share` where the difference exists, `+0.0` where it does not.
#[inline(always)]
fn share_if_present<T: Float, K: LaneArithmetic<T>>(
    kernel: K,
    d: Option<K::Lanes>,
    share: K::Lanes,
) -> K::Lanes {
    match d {
        Some(_) => share,
        None => kernel.zero(),
    }
}

/// The weighted differences `(dx, dy, dz)` of the voxels of a vector,
/// each `None` where missing.
type DifferenceLanes<L> = (Option<L>, Option<L>, Option<L>);

/// [`scalar::voxel_flux`] in every lane.
#[inline(always)]
fn voxel_flux_lanes<T: Float, K: LaneArithmetic<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    (dx, dy, dz): DifferenceLanes<K::Lanes>,
    factors: VolumeWeights<T>,
) -> (K::Lanes, K::Lanes, K::Lanes) {
    let zero = kernel.zero();
    let x = dx.unwrap_or(zero);
    let y = dy.unwrap_or(zero);
    let z = dz.unwrap_or(zero);
    let squares = voxel_squares_lanes(kernel, x, y, dz);
    let gx = kernel.splat(factors.width);
    let gy = kernel.splat(factors.height);
    let gz = kernel.splat(factors.depth);
    let (ux, uy, uz) = match norm {
        PixelNorm::SquaredL2 => (
            kernel.mul(x.add(x), gx),
            kernel.mul(y.add(y), gy),
            kernel.mul(z.add(z), gz),
        ),
        PixelNorm::Isotropic => {
            let r = kernel.sqrt(squares);
            let ux = kernel.mul(kernel.div(x, r), gx);
            let uy = kernel.mul(kernel.div(y, r), gy);
            let uz = kernel.mul(kernel.div(z, r), gz);
            (
                kernel.zero_where_zero(ux, r),
                kernel.zero_where_zero(uy, r),
                kernel.zero_where_zero(uz, r),
            )
        }
        PixelNorm::Smooth { epsilon_squared, .. } => {
            let r = kernel.sqrt(squares.add(kernel.splat(epsilon_squared)));
            (
                kernel.mul(kernel.div(x, r), gx),
                kernel.mul(kernel.div(y, r), gy),
                kernel.mul(kernel.div(z, r), gz),
            )
        }
    };
    (
        share_if_present(kernel, dx, ux),
        share_if_present(kernel, dy, uy),
        share_if_present(kernel, dz, uz),
    )
}

/// The terms of the voxels in columns `start..start + T::LANES` of
/// `rows.slice.row`, `+0.0` past its end: [`FloatKernel::voxel_terms`]
/// for a SIMD backend.
#[inline(always)]
pub(crate) fn voxel_terms_lanes<T: Float, K: LaneArithmetic<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    weights: VolumeWeights<T>,
    rows: &VoxelRows<'_, T>,
    start: usize,
) -> K::Lanes {
    let row = rows.slice.row;
    // Every voxel of the vector has a right neighbour: the vector kernel.
    // Otherwise (the last vector of a row) the scalar definition.
    if start + T::LANES < row.len() {
        let zero = kernel.zero();
        let x = kernel.load(&row[start..]);
        let right = Some(kernel.load(&row[start + 1..]));
        let below = load_row(kernel, rows.slice.below, start);
        let back = load_row(kernel, rows.back, start);
        let dx = weighted_lanes(kernel, weights.width, right, x);
        let dy = weighted_lanes(kernel, weights.height, below, x);
        let dz = weighted_lanes(kernel, weights.depth, back, x);
        let squares = voxel_squares_lanes(
            kernel,
            dx.unwrap_or(zero),
            dy.unwrap_or(zero),
            dz,
        );
        norm_of_squares_lanes(kernel, norm, squares)
    } else {
        let mut lanes = T::ZERO_LANES;
        for (offset, lane) in lanes.as_mut().iter_mut().enumerate() {
            *lane = scalar::voxel_term_at(norm, weights, rows, start + offset);
        }
        kernel.load(lanes.as_mut())
    }
}

/// The gradient of the elements in columns `start..start + T::LANES`,
/// where `1 ≤ start` and `start + T::LANES < width`:
/// [`FloatKernel::voxel_gradient_lanes`] for a SIMD backend.
#[inline(always)]
pub(crate) fn voxel_gradient_lanes<T: Float, K: LaneArithmetic<T>>(
    kernel: K,
    norm: PixelNorm<T>,
    scales: VoxelScales<T>,
    rows: &VoxelRows<'_, T>,
    start: usize,
    out: &mut [T],
) {
    let row = rows.slice.row;
    if start == 0 || start + T::LANES >= row.len() || out.len() < T::LANES {
        return scalar::Scalar
            .voxel_gradient_lanes(norm, scales, rows, start, out);
    }
    let VoxelScales { weights, factors } = scales;
    let (wz, wy, wx) = (weights.depth, weights.height, weights.width);
    let left = kernel.load(&row[start - 1..]);
    let x = kernel.load(&row[start..]);
    let right = kernel.load(&row[start + 1..]);
    let below = load_row(kernel, rows.slice.below, start);
    let back = load_row(kernel, rows.back, start);

    let own_dz = weighted_lanes(kernel, wz, back, x);
    let own = (
        weighted_lanes(kernel, wx, Some(right), x),
        weighted_lanes(kernel, wy, below, x),
        own_dz,
    );
    let (own_x, own_y, own_z) = voxel_flux_lanes(kernel, norm, own, factors);

    let below_left = load_row(kernel, rows.slice.below, start - 1);
    let back_left = load_row(kernel, rows.back, start - 1);
    let differences = (
        weighted_lanes(kernel, wx, Some(x), left),
        weighted_lanes(kernel, wy, below_left, left),
        weighted_lanes(kernel, wz, back_left, left),
    );
    let from_left = voxel_flux_lanes(kernel, norm, differences, factors).0;

    let from_above = match rows.slice.above {
        Some(above) => {
            let top = kernel.load(&above[start..]);
            let top_right = Some(kernel.load(&above[start + 1..]));
            let back_above = load_row(kernel, rows.back_above, start);
            let differences = (
                weighted_lanes(kernel, wx, top_right, top),
                weighted_lanes(kernel, wy, Some(x), top),
                weighted_lanes(kernel, wz, back_above, top),
            );
            voxel_flux_lanes(kernel, norm, differences, factors).1
        }
        None => kernel.zero(),
    };

    let from_front = match rows.front {
        Some(front) if wz != T::ZERO => {
            let ahead = kernel.load(&front[start..]);
            let ahead_right = Some(kernel.load(&front[start + 1..]));
            let ahead_below = load_row(kernel, rows.front_below, start);
            let differences = (
                weighted_lanes(kernel, wx, ahead_right, ahead),
                weighted_lanes(kernel, wy, ahead_below, ahead),
                weighted_lanes(kernel, wz, Some(x), ahead),
            );
            Some(voxel_flux_lanes(kernel, norm, differences, factors).2)
        }
        _ => None,
    };

    let incoming = from_left.add(from_above);
    let incoming = match from_front {
        Some(share) => incoming.add(share),
        None => incoming,
    };
    let outgoing = own_x.add(own_y);
    let outgoing = match own_dz {
        Some(_) => outgoing.add(own_z),
        None => outgoing,
    };
    kernel.store(kernel.sub(incoming, outgoing), out);
}
