//! Total variation (TV) of images, and its gradient: exact, allocation-free
//! when asked, and in `#![no_std]`.
//!
//! # What it computes
//!
//! For a plane `x` of `H` rows and `W` columns, the anisotropic TV is
//!
//! ```text
//! TV(x) = Σ |x[i+1, j] − x[i, j]|  +  Σ |x[i, j+1] − x[i, j]|
//!         (vertical, (H−1)·W terms)   (horizontal, H·(W−1) terms)
//! ```
//!
//! An image is a flat, row-major slice with a shape `(*, H, W)`: zero or
//! more leading dimensions (batch, channels, …), then height and width.
//! A strided [`Layout`] describes other memory, so the caller never
//! copies it into planar form: rows padded to a pitch, a region of a
//! larger frame, interleaved channels (`H×W×C`, one result per channel)
//! or any tensor view with element strides. Rows whose pixels are
//! consecutive are read in place; others are gathered through a buffer
//! (see [`Layout::strided`]).
//! One value comes out per plane, in row-major order of the leading
//! dimensions. It is a loss and a regulariser (denoising, style transfer,
//! radiance-field grids), and a measure of sharpness or noise.
//!
//! Other norms of the discrete gradient, one term per pixel of its
//! forward differences `dx` and `dy`, are chosen with
//! [`TotalVariation::with_norm`]: [`Norm::Isotropic`] `√(dx² + dy²)`,
//! [`Norm::SquaredL2`] `dx² + dy²` and [`Norm::Smooth`]
//! `√(dx² + dy² + ε²) − ε`. See [`Norm`] for their definitions, their
//! means and their gradients.
//!
//! Volumes `(*, D, H, W)` ([`VolumeLayout`]) add the differences between
//! consecutive slices, with a weight per axis ([`AxisWeights`]); the
//! per-pixel norms become per-voxel ones, of `dx`, `dy` and `dz`: see
//! [`TotalVariation::volume_value`]. In a training or denoising loop,
//! [`TotalVariation::value_and_gradient_into`] gives the values and the
//! gradient in one pass over the image (two over each narrow plane,
//! while it is in the caches).
//!
//! ```
//! use total_variation::{Reduction, total_variation, total_variation_grad};
//!
//! // Two planes of 2×3: shape (2, 2, 3).
//! let img = [
//!     0.0f32, 1.0, 3.0, //
//!     0.0, 1.0, 3.0, //
//!     5.0, 5.0, 5.0, //
//!     5.0, 5.0, 5.0,
//! ];
//! let tv = total_variation(&img, &[2, 2, 3], Reduction::Sum)?;
//! assert_eq!(tv, [6.0, 0.0]);
//!
//! // The gradient of 1·TV(plane 0) + 2·TV(plane 1).
//! let grad = total_variation_grad(&img, &[2, 2, 3], Reduction::Sum,
//!     &[1.0, 2.0])?;
//! assert_eq!(&grad[..3], &[-1.0, 0.0, 1.0]);
//! # Ok::<(), total_variation::Error>(())
//! ```
//!
//! # Conventions
//!
//! The reference is `kornia.losses.total_variation` (kornia 0.9):
//!
//! - [`Reduction::Sum`] (the default) sums the differences;
//!   [`Reduction::Mean`] adds the mean of the vertical term over its
//!   `(H−1)·W` differences and the mean of the horizontal term over its
//!   `H·(W−1)`. An axis with no neighbours contributes 0.
//! - Non-finite values follow IEEE arithmetic: a NaN in a plane makes its
//!   value NaN, `inf − inf` is NaN, and an overflowing sum is `+inf`.
//! - Empty shapes are valid: no plane gives an empty output, and `H = 0` or
//!   `W = 0` gives 0 for each plane.
//! - The gradient is that of `Σₚ gₚ·TVₚ` for an upstream gradient `g` with
//!   one value per plane, with the subgradient `sign(0) = sign(NaN) = 0`.
//!   Its four terms per element are added in the order torch's autograd
//!   uses, so it equals torch's result bit for bit with
//!   [`Reduction::Sum`] and [`Reduction::Mean`] alike.
//! - Integer images (`u8`, `u16`, `i16`) are exact: differences never wrap,
//!   [`total_variation_exact`] returns `u64` totals, and the `f64` values
//!   are computed from those totals. kornia cannot take `u16` at all and
//!   returns `f32` means. They take only [`Norm::Anisotropic`].
//! - The per-pixel norms ([`Norm`]) take the differences past the last
//!   column or row as 0; [`Reduction::Mean`] divides their sum by `H·W`.
//!   The isotropic gradient uses the subgradient 0 where a pixel's
//!   `√(dx² + dy²)` is 0, and each element adds the shares of its three
//!   pixels in one fixed order (see [`Norm`]).
//!
//! # Numerics
//!
//! Floating-point totals use blocked pairwise summation in one documented
//! order: each row's differences in vectors of 16 `f32` or 8 `f64` lanes,
//! up to 16 vectors of a row summed lane by lane into a block, blocks
//! combined as a balanced binary tree, lanes reduced by halving. The order
//! is part of the definition of the result: every backend, on every CPU,
//! returns the same bits (a NaN result is NaN everywhere, though Rust
//! leaves its sign and payload bits unspecified). The error grows with the
//! logarithm of the plane size, not with the size itself: on a uniform
//! random 8192×8192 `f32` plane the value is within 5e-9 (relative) of the
//! exact one, where a sequential `f32` sum is 60 % off. The per-pixel
//! norms feed one term per pixel into the same order; their square roots
//! and divisions are correctly rounded on every backend (`libm` in the
//! scalar code), so they too give the same bits everywhere.
//!
//! # Backends
//!
//! [`Backend::Auto`], the default, picks the fastest code this CPU runs:
//! on x86-64, AVX2 kernels, and AVX-512 ones for integer images (and
//! the anisotropic float gradient) where the CPU also has AVX-512F,
//! AVX-512BW and AVX-512VL (`#[target_feature]`, detected at run time
//! under `std` and cached, so no `-C target-cpu` flag is needed);
//! elsewhere the portable SIMD kernels of the `wide` crate (SSE2, NEON, simd128, as the
//! build targets). [`Backend::Scalar`] is the plain definition. Integer
//! images use `psadbw` for `u8` and saturating 16-bit arithmetic for `u16`
//! and `i16` on x86-64. All backends give the same results.
//!
//! # Features
//!
//! - `std` (default): implies `alloc`; detects AVX2 and AVX-512 at run
//!   time. Without it, they are used only when the build enables them
//!   (`-C target-feature=+avx2`, `+avx512f,+avx512bw,+avx512vl`).
//! - `alloc`: the functions that return a `Vec`.
//! - `rayon` (off by default): implies `std`; the `par_*` methods of
//!   [`TotalVariation`] (such as `par_value` and `par_gradient_into`) run
//!   on the current rayon pool, cutting batches into chunks of planes and
//!   planes of at least 2^20 elements into bands of rows, and return the
//!   bits of the single-threaded calls for every type, norm, reduction
//!   and backend.
//! - `image` (off by default; implies `std`): [`image_layout`] reads an
//!   `image::ImageBuffer` in place, one plane per channel.
//! - `ndarray` (off by default; implies `alloc`): [`ndarray_layout`] gives
//!   the elements and layout of an `ndarray` array or view of any
//!   strides, borrowed when they fill their memory, copied otherwise.
//!
//! Without either, the `_into` forms write into slices the caller owns, and
//! the crate builds for bare-metal targets such as `thumbv7em-none-eabihf`.

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

#[cfg(any(feature = "image", feature = "ndarray"))]
mod adapters;
mod bytes;
mod element;
mod error;
mod kernels;
mod layout;
mod norm;
mod options;
#[cfg(feature = "rayon")]
mod parallel;
mod sum;
mod volume;

#[cfg(feature = "image")]
pub use adapters::image_layout;
#[cfg(feature = "ndarray")]
pub use adapters::ndarray_layout;
pub use bytes::pixels_from_bytes;

/// The examples of README.md, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
pub use element::{Element, FloatElement, IntegerElement};
pub use error::Error;
pub use layout::Layout;
pub use norm::Norm;
pub use options::{Backend, Reduction, TotalVariation};
pub use volume::{AxisWeights, VolumeLayout};

/// The total variation of each plane of an image of shape `(*, H, W)`.
///
/// # Errors
///
/// An [`Error`] when the shape is invalid (see [`Layout::new`]) or does not
/// match `img`, [`Error::PlaneTooLarge`] for an integer plane whose total
/// could overflow `u64`, and [`Error::OutputAllocation`] when the output
/// cannot be allocated.
///
/// ```
/// use total_variation::{Reduction, total_variation};
///
/// let img = [1.0f64, 2.0, 4.0, 8.0];
/// let tv = total_variation(&img, &[2, 2], Reduction::Sum)?;
/// assert_eq!(tv, [1.0 + 4.0 + 3.0 + 6.0]);
/// # Ok::<(), total_variation::Error>(())
/// ```
#[cfg(feature = "alloc")]
pub fn total_variation<T: Element>(
    img: &[T],
    shape: &[usize],
    reduction: Reduction,
) -> Result<Vec<T::Output>, Error> {
    TotalVariation::new()
        .with_reduction(reduction)
        .value(img, &Layout::new(shape)?)
}

/// Writes the total variation of each plane into `out`, which must hold
/// one value per plane. Needs no allocator.
///
/// # Errors
///
/// As [`total_variation`], and [`Error::OutputLength`] when `out` does not
/// hold one value per plane.
///
/// ```
/// use total_variation::{Error, Reduction, total_variation_into};
///
/// let img = [0u8; 2 * 3 * 4 * 4];
/// let mut out = [0.0f64; 2];
/// let shape = [2, 3, 4, 4];
/// let err = total_variation_into(&img, &shape, Reduction::Sum, &mut out);
/// assert_eq!(err, Err(Error::OutputLength { expected: 6, actual: 2 }));
/// ```
pub fn total_variation_into<T: Element>(
    img: &[T],
    shape: &[usize],
    reduction: Reduction,
    out: &mut [T::Output],
) -> Result<(), Error> {
    TotalVariation::new().with_reduction(reduction).value_into(
        img,
        &Layout::new(shape)?,
        out,
    )
}

/// The gradient of `Σₚ upstream[p] · TVₚ` with respect to every element of
/// `img`, shaped like `img`. See [`TotalVariation::gradient_into`].
///
/// # Errors
///
/// As [`TotalVariation::gradient_into`], the shape errors of
/// [`Layout::new`], and [`Error::OutputAllocation`] when the output cannot
/// be allocated.
///
/// ```
/// use total_variation::{Reduction, total_variation_grad};
///
/// let img = [0.0f32, 0.0, 1.0];
/// let grad = total_variation_grad(&img, &[1, 3], Reduction::Sum, &[1.0])?;
/// assert_eq!(grad, [0.0, -1.0, 1.0]);
/// # Ok::<(), total_variation::Error>(())
/// ```
#[cfg(feature = "alloc")]
pub fn total_variation_grad<T: FloatElement>(
    img: &[T],
    shape: &[usize],
    reduction: Reduction,
    upstream: &[T],
) -> Result<Vec<T>, Error> {
    TotalVariation::new().with_reduction(reduction).gradient(
        img,
        &Layout::new(shape)?,
        upstream,
    )
}

/// Writes the gradient of `Σₚ upstream[p] · TVₚ` into `grad`, which must be
/// as long as `img`. Needs no allocator.
///
/// # Errors
///
/// As [`total_variation_grad`] (but for [`Error::OutputAllocation`]: it
/// allocates nothing), and [`Error::GradientLength`] when `grad` is not as
/// long as `img`.
///
/// ```
/// use total_variation::{Reduction, total_variation_grad_into};
///
/// let mut grad = [0.0f64; 2];
/// let (img, shape, mean) = ([3.0, 1.0], [2, 1], Reduction::Mean);
/// total_variation_grad_into(&img, &shape, mean, &[4.0], &mut grad)?;
/// assert_eq!(grad, [4.0, -4.0]);
/// # Ok::<(), total_variation::Error>(())
/// ```
pub fn total_variation_grad_into<T: FloatElement>(
    img: &[T],
    shape: &[usize],
    reduction: Reduction,
    upstream: &[T],
    grad: &mut [T],
) -> Result<(), Error> {
    TotalVariation::new().with_reduction(reduction).gradient_into(
        img,
        &Layout::new(shape)?,
        upstream,
        grad,
    )
}

/// The exact `u64` sum of each plane of an integer image.
///
/// # Errors
///
/// As [`total_variation`].
///
/// ```
/// use total_variation::total_variation_exact;
///
/// let img = [0u8, 255, 0, 255];
/// assert_eq!(total_variation_exact(&img, &[2, 2])?, [2 * 255]);
/// # Ok::<(), total_variation::Error>(())
/// ```
#[cfg(feature = "alloc")]
pub fn total_variation_exact<T: IntegerElement>(
    img: &[T],
    shape: &[usize],
) -> Result<Vec<u64>, Error> {
    TotalVariation::new().exact_sum(img, &Layout::new(shape)?)
}
