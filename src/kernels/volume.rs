//! The anisotropic TV of volumes `(*, D, H, W)`: the two terms of every
//! slice, as for planes, and a third term along the depth. The per-voxel
//! norms are in [`super::voxel_norms`]; the entry points here send them
//! there.
//!
//! Each volume has three sums in the order of [`crate::sum`]: the
//! vertical and horizontal differences of its slices, slice after slice,
//! and the differences between consecutive slices, row after row (each
//! row of differences being `|slice[k + 1] − slice[k]|` on one row). A
//! volume of depth 1 thus has the bits of the same plane's value and
//! gradient.

use super::scalar::Float;
use super::voxel_norms::{voxel_gradient_with, voxel_values_with};
use super::{
    FloatKernel, GradientFactors, PixelNorm, mean, plane_gradient,
    push_abs_diffs, push_plane,
};
use crate::sum::PairwiseSum;
use crate::{Reduction, VolumeLayout};

/// The weights of the three terms, in the element type.
#[derive(Clone, Copy)]
pub(crate) struct VolumeWeights<T> {
    pub(crate) depth: T,
    pub(crate) height: T,
    pub(crate) width: T,
}

/// `weight · total`, or `+0.0` for a weight of 0 (so that an infinite or
/// NaN total of a left-out axis does not turn into NaN).
#[inline(always)]
pub(crate) fn weighted<T: Float>(weight: T, total: T) -> T {
    if weight == T::ZERO { T::ZERO } else { weight * total }
}

/// One value per volume, with the anisotropic norm (`None`) or a
/// per-voxel one.
#[inline(always)]
pub(crate) fn volume_values_with<T: Float, K: FloatKernel<T>>(
    kernel: K,
    norm: Option<PixelNorm<T>>,
    img: &[T],
    layout: &VolumeLayout,
    reduction: Reduction,
    weights: VolumeWeights<T>,
    out: &mut [T],
) {
    if let Some(norm) = norm {
        return voxel_values_with(
            kernel, norm, img, layout, reduction, weights, out,
        );
    }
    let slice_len = layout.slices().plane_len();
    let volume_len = layout.volume_len();
    if volume_len == 0 {
        out.fill(T::ZERO);
        return;
    }
    let width = layout.width();
    let mut depth = PairwiseSum::new(kernel.zero());
    let mut vertical = PairwiseSum::new(kernel.zero());
    let mut horizontal = PairwiseSum::new(kernel.zero());
    for (volume, out) in img.chunks_exact(volume_len).zip(out) {
        depth.reset();
        vertical.reset();
        horizontal.reset();
        let mut previous: Option<&[T]> = None;
        for slice in volume.chunks_exact(slice_len) {
            push_plane(
                kernel,
                &mut vertical,
                &mut horizontal,
                slice.chunks_exact(width),
                width,
            );
            if let Some(previous) = previous {
                let rows = previous.chunks_exact(width);
                for (front, back) in rows.zip(slice.chunks_exact(width)) {
                    push_abs_diffs(kernel, &mut depth, front, back);
                }
            }
            previous = Some(slice);
        }

        let (z, y, x) = (depth.total(), vertical.total(), horizontal.total());
        let (z, y, x) = match reduction {
            Reduction::Sum => (z, y, x),
            Reduction::Mean => (
                mean(z, layout.depth_count()),
                mean(y, layout.vertical_count()),
                mean(x, layout.horizontal_count()),
            ),
        };
        *out = (weighted(weights.depth, z) + weighted(weights.height, y))
            + weighted(weights.width, x);
    }
}

/// The gradient of `Σᵥ upstream[v] · TV(volume v)`.
///
/// The terms within each slice come from the plane kernels, with the
/// factors of the height and width axes; the depth terms are then added
/// to each element by one loop shared by every backend:
/// `(in-slice terms − sign(back − x)·g_d) + sign(x − front)·g_d`, each
/// only where that neighbouring slice exists.
///
/// A per-voxel norm (`Some`) goes to [`voxel_gradient_with`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn volume_gradient_with<T: Float, K: FloatKernel<T>>(
    kernel: K,
    norm: Option<PixelNorm<T>>,
    img: &[T],
    layout: &VolumeLayout,
    reduction: Reduction,
    weights: VolumeWeights<T>,
    upstream: &[T],
    grad: &mut [T],
) {
    if let Some(norm) = norm {
        return voxel_gradient_with(
            kernel, norm, img, layout, reduction, weights, upstream, grad,
        );
    }
    let slice_len = layout.slices().plane_len();
    let volume_len = layout.volume_len();
    if volume_len == 0 {
        return;
    }
    let width = layout.width();
    let volumes =
        img.chunks_exact(volume_len).zip(grad.chunks_exact_mut(volume_len));
    for ((volume, grad), &g) in volumes.zip(upstream) {
        let share = |weight: T, count: usize| {
            let g = match reduction {
                Reduction::Sum => g,
                Reduction::Mean => mean(g, count),
            };
            weighted(weight, g)
        };
        let depth = share(weights.depth, layout.depth_count());
        let factors = GradientFactors {
            vertical: share(weights.height, layout.vertical_count()),
            horizontal: share(weights.width, layout.horizontal_count()),
        };
        let slices = volume
            .chunks_exact(slice_len)
            .zip(grad.chunks_exact_mut(slice_len));
        for (slice, grad) in slices {
            plane_gradient(
                kernel,
                slice.chunks_exact(width),
                width,
                factors,
                grad,
            );
        }
        add_depth_terms(volume, slice_len, depth, grad);
    }
}

/// Adds to the gradient of each element of a volume its terms along the
/// depth: `−sign(back − x)·g`, then `+sign(x − front)·g`.
#[inline(always)]
fn add_depth_terms<T: Float>(
    volume: &[T],
    slice_len: usize,
    g: T,
    grad: &mut [T],
) {
    let slices = volume.chunks_exact(slice_len);
    let backs = volume.chunks_exact(slice_len).skip(1);
    let grads = grad.chunks_exact_mut(slice_len);
    for ((slice, back), grad) in slices.clone().zip(backs).zip(grads) {
        for ((grad, &x), &back) in grad.iter_mut().zip(slice).zip(back) {
            *grad = *grad + -((back - x).sign() * g);
        }
    }
    let fronts = volume.chunks_exact(slice_len);
    let grads = grad.chunks_exact_mut(slice_len).skip(1);
    for ((slice, front), grad) in slices.skip(1).zip(fronts).zip(grads) {
        for ((grad, &x), &front) in grad.iter_mut().zip(slice).zip(front) {
            *grad = *grad + (x - front).sign() * g;
        }
    }
}
