//! The plane loops, and the row kernels they call.
//!
//! Every public entry point ends here after its arguments were checked:
//! slices match the layout, and integer planes are small enough for exact
//! `u64` totals. The functions below only cut the image into planes and
//! turn the two totals of each plane (vertical and horizontal) into the
//! requested reduction.

mod scalar;

use crate::sum::PairwiseSum;
use crate::{Layout, Reduction};
pub(crate) use scalar::{Float, Integer};

/// One value per plane of a floating-point image.
pub(crate) fn float_values<T: Float>(
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
    let mut vertical = PairwiseSum::new();
    let mut horizontal = PairwiseSum::new();
    for (plane, out) in img.chunks_exact(plane_len).zip(out) {
        vertical.reset();
        horizontal.reset();
        scalar::float_plane_sums(
            plane,
            layout.width(),
            &mut vertical,
            &mut horizontal,
        );
        let (v, h) = (vertical.total(), horizontal.total());
        *out = match reduction {
            Reduction::Sum => v + h,
            Reduction::Mean => {
                mean(v, layout.vertical_count())
                    + mean(h, layout.horizontal_count())
            }
        };
    }
}

/// A term's mean over its `count` differences; a term with no difference
/// contributes zero.
fn mean<T: Float>(total: T, count: usize) -> T {
    if count == 0 { T::ZERO } else { total / T::from_count(count) }
}

/// The gradient of `Σ upstream[p] · TV(plane p)` for a floating-point
/// image.
pub(crate) fn float_gradient<T: Float>(
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
    let planes =
        img.chunks_exact(plane_len).zip(grad.chunks_exact_mut(plane_len));
    for ((plane, grad), &g) in planes.zip(upstream) {
        let (g_vertical, g_horizontal) = match reduction {
            Reduction::Sum => (g, g),
            Reduction::Mean => (
                scale_for_mean(g, layout.vertical_count()),
                scale_for_mean(g, layout.horizontal_count()),
            ),
        };
        scalar::float_plane_gradient(
            plane,
            layout.width(),
            g_vertical,
            g_horizontal,
            grad,
        );
    }
}

/// The upstream gradient of a mean over `count` differences. With no
/// difference the value is never used.
fn scale_for_mean<T: Float>(g: T, count: usize) -> T {
    if count == 0 { T::ZERO } else { g / T::from_count(count) }
}

/// The exact `vertical + horizontal` total of each plane of an integer
/// image. Planes must not exceed [`max_integer_plane_len`].
pub(crate) fn integer_exact_sums<T: Integer>(
    img: &[T],
    layout: &Layout,
    out: &mut [u64],
) {
    let plane_len = layout.plane_len();
    if plane_len == 0 {
        out.fill(0);
        return;
    }
    for (plane, out) in img.chunks_exact(plane_len).zip(out) {
        let (v, h) = scalar::integer_plane_sums(plane, layout.width());
        *out = v + h;
    }
}

/// One value per plane of an integer image, from exact totals.
pub(crate) fn integer_values<T: Integer>(
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    out: &mut [f64],
) {
    let plane_len = layout.plane_len();
    if plane_len == 0 {
        out.fill(0.0);
        return;
    }
    for (plane, out) in img.chunks_exact(plane_len).zip(out) {
        let (v, h) = scalar::integer_plane_sums(plane, layout.width());
        *out = match reduction {
            Reduction::Sum => (v + h) as f64,
            Reduction::Mean => {
                mean(v as f64, layout.vertical_count())
                    + mean(h as f64, layout.horizontal_count())
            }
        };
    }
}

/// The largest plane whose exact total fits in `u64`: a plane of `n`
/// elements has fewer than `2n` differences, each at most `MAX_DIFF`.
pub(crate) fn max_integer_plane_len<T: Integer>() -> u64 {
    u64::MAX / (2 * T::MAX_DIFF)
}
