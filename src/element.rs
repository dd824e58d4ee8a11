//! The pixel types the crate accepts, and what each one returns.

use crate::kernels;
use crate::{
    AxisWeights, Backend, Error, Layout, Norm, Reduction, VolumeLayout,
};

/// A pixel type: `f32`, `f64`, `u8`, `u16` or `i16`.
///
/// Floating-point images give one value of their own type per plane.
/// Integer images give an `f64` per plane, computed from exact integer
/// totals: differences never wrap, and [`Reduction::Sum`] is exact as long
/// as the total is at most 2^53 (beyond, it is the correctly rounded
/// `f64`); [`TotalVariation::exact_sum`] returns the exact `u64` at any
/// size. Integer images take only [`Norm::Anisotropic`]: the per-pixel
/// norms return [`Error::NormNotForIntegers`] (convert the image to `f64`
/// for them).
///
/// The trait is sealed: the kernels are written for these five types.
///
/// ```
/// use total_variation::{Reduction, total_variation};
///
/// let tv: Vec<f64> = total_variation(&[0u8, 255], &[1, 2], Reduction::Sum)?;
/// assert_eq!(tv, [255.0]);
/// # Ok::<(), total_variation::Error>(())
/// ```
///
/// [`TotalVariation::exact_sum`]: crate::TotalVariation::exact_sum
pub trait Element:
    Copy + Default + Send + Sync + 'static + sealed::Kernels
{
    /// The value returned for each plane.
    type Output: Copy
        + Default
        + PartialEq
        + core::fmt::Debug
        + Send
        + Sync
        + 'static;
}

/// A floating-point pixel type, `f32` or `f64`: the types with a gradient.
///
/// ```
/// use total_variation::{Reduction, total_variation_grad};
///
/// let grad = total_variation_grad(&[1.0f64, 3.0], &[1, 2], Reduction::Sum,
///     &[1.0])?;
/// assert_eq!(grad, [-1.0, 1.0]);
/// # Ok::<(), total_variation::Error>(())
/// ```
pub trait FloatElement: Element<Output = Self> + sealed::FloatKernels {}

/// An integer pixel type, `u8`, `u16` or `i16`: the types with an exact
/// `u64` total.
///
/// ```
/// use total_variation::total_variation_exact;
///
/// let exact = total_variation_exact(&[-32768i16, 32767], &[1, 2])?;
/// assert_eq!(exact, [65535]);
/// # Ok::<(), total_variation::Error>(())
/// ```
pub trait IntegerElement:
    Element<Output = f64> + sealed::IntegerKernels
{
}

pub(crate) mod sealed {
    use super::*;

    /// The per-type entry points into the kernels.
    pub trait Kernels: Sized {
        /// Writes one value per plane. `img` and `out` match `layout`.
        fn values(
            img: &[Self],
            layout: &Layout,
            reduction: Reduction,
            norm: Norm,
            backend: Backend,
            out: &mut [<Self as Element>::Output],
        ) -> Result<(), Error>
        where
            Self: Element;

        /// The largest plane whose totals cannot overflow.
        fn max_plane_len() -> u64;

        /// [`Kernels::values`], each plane cut into bands of
        /// `rows_per_band` rows on the current rayon pool.
        #[cfg(feature = "rayon")]
        #[allow(clippy::too_many_arguments)]
        fn values_in_bands(
            img: &[Self],
            layout: &Layout,
            reduction: Reduction,
            norm: Norm,
            backend: Backend,
            out: &mut [<Self as Element>::Output],
            rows_per_band: usize,
        ) -> Result<(), Error>
        where
            Self: Element;

        /// [`Kernels::values`] of a strided layout, cut into regions of
        /// `rows_per_band` rows of every plane on the current rayon pool
        /// where the type allows it.
        #[cfg(feature = "rayon")]
        #[allow(clippy::too_many_arguments)]
        fn strided_values_in_bands(
            img: &[Self],
            layout: &Layout,
            reduction: Reduction,
            norm: Norm,
            backend: Backend,
            out: &mut [<Self as Element>::Output],
            rows_per_band: usize,
        ) -> Result<(), Error>
        where
            Self: Element;
    }

    /// The gradient kernels of the floating-point types.
    pub trait FloatKernels: Sized {
        /// [`FloatKernels::gradient`], each plane cut into bands of
        /// `rows_per_band` rows on the current rayon pool.
        #[cfg(feature = "rayon")]
        #[allow(clippy::too_many_arguments)]
        fn gradient_in_bands(
            img: &[Self],
            layout: &Layout,
            reduction: Reduction,
            norm: Norm,
            backend: Backend,
            upstream: &[Self],
            grad: &mut [Self],
            rows_per_band: usize,
        ) -> Result<(), Error>;

        /// Writes the gradient. `img` and `grad` match `layout`, and
        /// `upstream` has one value per plane.
        fn gradient(
            img: &[Self],
            layout: &Layout,
            reduction: Reduction,
            norm: Norm,
            backend: Backend,
            upstream: &[Self],
            grad: &mut [Self],
        ) -> Result<(), Error>;

        /// Writes the values and the gradient in one pass. `img` and
        /// `grad` match `layout`; `upstream` and `values` have one value
        /// per plane.
        #[allow(clippy::too_many_arguments)]
        fn value_and_gradient(
            img: &[Self],
            layout: &Layout,
            reduction: Reduction,
            norm: Norm,
            backend: Backend,
            upstream: &[Self],
            values: &mut [Self],
            grad: &mut [Self],
        ) -> Result<(), Error>;

        /// Writes one value per volume. `img` and `out` match `layout`.
        fn volume_values(
            img: &[Self],
            layout: &VolumeLayout,
            reduction: Reduction,
            norm: Norm,
            weights: AxisWeights,
            backend: Backend,
            out: &mut [Self],
        ) -> Result<(), Error>;

        /// Writes the gradient of a batch of volumes. `img` and `grad`
        /// match `layout`, and `upstream` has one value per volume.
        #[allow(clippy::too_many_arguments)]
        fn volume_gradient(
            img: &[Self],
            layout: &VolumeLayout,
            reduction: Reduction,
            norm: Norm,
            weights: AxisWeights,
            backend: Backend,
            upstream: &[Self],
            grad: &mut [Self],
        ) -> Result<(), Error>;
    }

    /// The exact totals of the integer types.
    pub trait IntegerKernels: Sized {
        /// Writes the exact vertical plus horizontal total of each plane.
        /// `img` and `out` match `layout`, whose planes are no larger than
        /// `max_plane_len`.
        fn exact_sums(
            img: &[Self],
            layout: &Layout,
            backend: Backend,
            out: &mut [u64],
        ) -> Result<(), Error>;
    }
}

macro_rules! float_element {
    ($t:ty) => {
        impl Element for $t {
            type Output = $t;
        }

        impl FloatElement for $t {}

        impl sealed::Kernels for $t {
            fn values(
                img: &[$t],
                layout: &Layout,
                reduction: Reduction,
                norm: Norm,
                backend: Backend,
                out: &mut [$t],
            ) -> Result<(), Error> {
                kernels::float_values(
                    img, layout, reduction, norm, backend, out,
                )
            }

            fn max_plane_len() -> u64 {
                u64::MAX
            }

            #[cfg(feature = "rayon")]
            fn values_in_bands(
                img: &[$t],
                layout: &Layout,
                reduction: Reduction,
                norm: Norm,
                backend: Backend,
                out: &mut [$t],
                rows_per_band: usize,
            ) -> Result<(), Error> {
                kernels::float_values_in_bands(
                    img,
                    layout,
                    reduction,
                    norm,
                    backend,
                    out,
                    rows_per_band,
                )
            }

            /// On the calling thread: the bands of a float value must
            /// enter each plane's summation tree as whole subtrees, which
            /// the band kernels do only for contiguous planes.
            // TODO(perf): bands of strided float layouts.
            #[cfg(feature = "rayon")]
            fn strided_values_in_bands(
                img: &[$t],
                layout: &Layout,
                reduction: Reduction,
                norm: Norm,
                backend: Backend,
                out: &mut [$t],
                _rows_per_band: usize,
            ) -> Result<(), Error> {
                kernels::float_values(
                    img, layout, reduction, norm, backend, out,
                )
            }
        }

        impl sealed::FloatKernels for $t {
            #[cfg(feature = "rayon")]
            fn gradient_in_bands(
                img: &[$t],
                layout: &Layout,
                reduction: Reduction,
                norm: Norm,
                backend: Backend,
                upstream: &[$t],
                grad: &mut [$t],
                rows_per_band: usize,
            ) -> Result<(), Error> {
                kernels::float_gradient_in_bands(
                    img,
                    layout,
                    reduction,
                    norm,
                    backend,
                    upstream,
                    grad,
                    rows_per_band,
                )
            }

            fn gradient(
                img: &[$t],
                layout: &Layout,
                reduction: Reduction,
                norm: Norm,
                backend: Backend,
                upstream: &[$t],
                grad: &mut [$t],
            ) -> Result<(), Error> {
                kernels::float_gradient(
                    img, layout, reduction, norm, backend, upstream, grad,
                )
            }

            fn value_and_gradient(
                img: &[$t],
                layout: &Layout,
                reduction: Reduction,
                norm: Norm,
                backend: Backend,
                upstream: &[$t],
                values: &mut [$t],
                grad: &mut [$t],
            ) -> Result<(), Error> {
                kernels::float_value_and_gradient(
                    img, layout, reduction, norm, backend, upstream, values,
                    grad,
                )
            }

            fn volume_values(
                img: &[$t],
                layout: &VolumeLayout,
                reduction: Reduction,
                norm: Norm,
                weights: AxisWeights,
                backend: Backend,
                out: &mut [$t],
            ) -> Result<(), Error> {
                kernels::volume_values(
                    img, layout, reduction, norm, weights, backend, out,
                )
            }

            fn volume_gradient(
                img: &[$t],
                layout: &VolumeLayout,
                reduction: Reduction,
                norm: Norm,
                weights: AxisWeights,
                backend: Backend,
                upstream: &[$t],
                grad: &mut [$t],
            ) -> Result<(), Error> {
                kernels::volume_gradient(
                    img, layout, reduction, norm, weights, backend, upstream,
                    grad,
                )
            }
        }
    };
}

float_element!(f32);
float_element!(f64);

macro_rules! integer_element {
    ($t:ty) => {
        impl Element for $t {
            type Output = f64;
        }

        impl IntegerElement for $t {}

        impl sealed::Kernels for $t {
            fn values(
                img: &[$t],
                layout: &Layout,
                reduction: Reduction,
                norm: Norm,
                backend: Backend,
                out: &mut [f64],
            ) -> Result<(), Error> {
                if !norm.is_anisotropic() {
                    return Err(Error::NormNotForIntegers { norm });
                }
                kernels::integer_values(img, layout, reduction, backend, out)
            }

            fn max_plane_len() -> u64 {
                kernels::max_integer_plane_len::<$t>()
            }

            #[cfg(feature = "rayon")]
            fn values_in_bands(
                img: &[$t],
                layout: &Layout,
                reduction: Reduction,
                norm: Norm,
                backend: Backend,
                out: &mut [f64],
                rows_per_band: usize,
            ) -> Result<(), Error> {
                if !norm.is_anisotropic() {
                    return Err(Error::NormNotForIntegers { norm });
                }
                kernels::integer_values_in_bands(
                    img,
                    layout,
                    reduction,
                    backend,
                    out,
                    rows_per_band,
                )
            }

            #[cfg(feature = "rayon")]
            fn strided_values_in_bands(
                img: &[$t],
                layout: &Layout,
                reduction: Reduction,
                norm: Norm,
                backend: Backend,
                out: &mut [f64],
                rows_per_band: usize,
            ) -> Result<(), Error> {
                if !norm.is_anisotropic() {
                    return Err(Error::NormNotForIntegers { norm });
                }
                kernels::integer_strided_values_in_bands(
                    img,
                    layout,
                    reduction,
                    backend,
                    out,
                    rows_per_band,
                )
            }
        }

        impl sealed::IntegerKernels for $t {
            fn exact_sums(
                img: &[$t],
                layout: &Layout,
                backend: Backend,
                out: &mut [u64],
            ) -> Result<(), Error> {
                kernels::integer_exact_sums(img, layout, backend, out)
            }
        }
    };
}

integer_element!(u8);
integer_element!(u16);
integer_element!(i16);
