//! The reusable configuration of a total-variation computation.

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

use crate::{
    AxisWeights, Element, Error, FloatElement, IntegerElement, Layout, Norm,
    VolumeLayout,
};

/// How the differences of a plane become one value.
///
/// ```
/// use total_variation::{Reduction, total_variation};
///
/// // 3 rows of 2: two vertical differences per column, one horizontal per
/// // row.
/// let img = [0.0f32, 1.0, 0.0, 1.0, 0.0, 5.0];
/// let sum = total_variation(&img, &[3, 2], Reduction::Sum)?;
/// let mean = total_variation(&img, &[3, 2], Reduction::Mean)?;
/// assert_eq!(sum, [4.0 + 7.0]);
/// assert_eq!(mean, [4.0 / 4.0 + 7.0 / 3.0]);
/// # Ok::<(), total_variation::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reduction {
    /// The sum of all absolute differences (kornia's default).
    #[default]
    Sum,
    /// The mean of the `(H−1)·W` vertical differences plus the mean of the
    /// `H·(W−1)` horizontal ones. A term with no difference (a single row
    /// or column) contributes zero.
    Mean,
}

/// The code that computes: every backend returns the same bits.
///
/// ```
/// use total_variation::Backend;
///
/// assert!(Backend::Scalar.is_available());
/// assert!(Backend::Portable.is_available());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// The fastest backend this CPU runs: `Avx512` on x86-64 CPUs with
    /// AVX2, AVX-512F, AVX-512BW and AVX-512VL, `Avx2` on those with AVX2
    /// only (detected at run time under `std`, at compile time without),
    /// the portable SIMD backend elsewhere.
    #[default]
    Auto,
    /// Plain scalar code, one lane at a time: the definition of the
    /// results.
    Scalar,
    /// Portable SIMD through the `wide` crate, in the instruction set the
    /// crate was compiled for: SSE2 on a default x86-64 build, NEON on
    /// aarch64. Integer images use `core::arch` SSE2 kernels on x86-64 and
    /// scalar code elsewhere.
    Portable,
    /// AVX2 kernels compiled with `#[target_feature]`, whatever the build
    /// flags. Unavailable on other CPUs and architectures.
    Avx2,
    /// AVX-512 kernels (AVX-512F and AVX-512BW) for integer images, the
    /// `Avx2` kernels for float images, compiled with
    /// `#[target_feature]` whatever the build flags. Unavailable on CPUs
    /// without AVX2, AVX-512F, AVX-512BW and AVX-512VL, and on other
    /// architectures.
    ///
    /// Integer images gain from 64-byte registers. The inner loop of the
    /// `f32` value measured no faster on 512-bit registers than on 256-bit
    /// ones, so float values keep the AVX2 kernels: they are the same
    /// bits on every backend anyway. The anisotropic float gradient of
    /// single-threaded calls (alone and in one pass with the values) runs
    /// those kernels compiled with AVX-512VL, which gives them 32
    /// registers and mask blends; the gradient without the values runs
    /// rows of at least four vectors (66 `f32` or 34 `f64` pixels) on
    /// 512-bit registers, with the same bits. (So does the second pass of
    /// one-pass calls on planes too narrow for one pass.)
    Avx512,
}

impl Backend {
    /// Whether this backend can run here.
    ///
    /// ```
    /// use total_variation::Backend;
    ///
    /// if !Backend::Avx2.is_available() {
    ///     println!("no AVX2: Auto uses the portable backend");
    /// }
    /// ```
    pub fn is_available(self) -> bool {
        crate::kernels::is_available(self)
    }
}

/// A reusable, `Copy` configuration: computes values and gradients of
/// total variation on a [`Layout`].
///
/// ```
/// use total_variation::{Layout, Reduction, TotalVariation};
///
/// let tv = TotalVariation::new().with_reduction(Reduction::Mean);
/// let layout = Layout::new(&[2, 2, 2])?;
/// let img = [0.0f64, 1.0, 0.0, 1.0, /* second plane */ 1.0, 1.0, 1.0, 1.0];
/// assert_eq!(tv.value(&img, &layout)?, [1.0, 0.0]);
/// # Ok::<(), total_variation::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TotalVariation {
    reduction: Reduction,
    norm: Norm,
    backend: Backend,
    axis_weights: AxisWeights,
}

impl TotalVariation {
    /// The default configuration: [`Reduction::Sum`],
    /// [`Norm::Anisotropic`], [`Backend::Auto`].
    ///
    /// ```
    /// use total_variation::{Norm, Reduction, TotalVariation};
    ///
    /// assert_eq!(TotalVariation::new().reduction(), Reduction::Sum);
    /// assert_eq!(TotalVariation::new().norm(), Norm::Anisotropic);
    /// ```
    pub const fn new() -> Self {
        TotalVariation {
            reduction: Reduction::Sum,
            norm: Norm::Anisotropic,
            backend: Backend::Auto,
            axis_weights: AxisWeights::UNIT,
        }
    }

    /// The same configuration with other weights for the three axes of
    /// a volume (see [`AxisWeights`]). Planes are not weighted.
    ///
    /// ```
    /// use total_variation::{AxisWeights, TotalVariation, VolumeLayout};
    ///
    /// let layout = VolumeLayout::new(&[2, 1, 2])?;
    /// // Slices [0, 1] and [3, 3]: depth |3 − 0| + |3 − 1|, width |1 − 0|.
    /// let img = [0.0f32, 1.0, 3.0, 3.0];
    /// let tv = TotalVariation::new();
    /// assert_eq!(tv.volume_value(&img, &layout)?, [5.0 + 1.0]);
    /// let thin = tv.with_axis_weights(AxisWeights::new(0.5, 1.0, 1.0)?);
    /// assert_eq!(thin.volume_value(&img, &layout)?, [2.5 + 1.0]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub const fn with_axis_weights(self, axis_weights: AxisWeights) -> Self {
        TotalVariation { axis_weights, ..self }
    }

    /// The weights of the axes of a volume.
    ///
    /// ```
    /// use total_variation::{AxisWeights, TotalVariation};
    ///
    /// assert_eq!(TotalVariation::new().axis_weights(), AxisWeights::UNIT);
    /// ```
    pub const fn axis_weights(&self) -> AxisWeights {
        self.axis_weights
    }

    /// The same configuration with another reduction.
    ///
    /// ```
    /// use total_variation::{Reduction, TotalVariation};
    ///
    /// let tv = TotalVariation::new().with_reduction(Reduction::Mean);
    /// assert_eq!(tv.reduction(), Reduction::Mean);
    /// ```
    pub const fn with_reduction(self, reduction: Reduction) -> Self {
        TotalVariation { reduction, ..self }
    }

    /// The same configuration with another norm (see [`Norm`]).
    ///
    /// The norm is checked when a value or gradient is computed, against
    /// the element type: an unusable `epsilon` of [`Norm::Smooth`] gives
    /// [`Error::InvalidEpsilon`] then, and an integer image with a
    /// per-pixel norm [`Error::NormNotForIntegers`].
    ///
    /// ```
    /// use total_variation::{Layout, Norm, Reduction, TotalVariation};
    ///
    /// let smooth = TotalVariation::new()
    ///     .with_norm(Norm::Smooth { epsilon: 0.75 })
    ///     .with_reduction(Reduction::Mean);
    /// assert_eq!(smooth.norm(), Norm::Smooth { epsilon: 0.75 });
    ///
    /// // One row of 2: the left pixel has dx = 1, the right one no
    /// // difference. (√(1 + 0.5625) − 0.75 + 0) / 2 = (1.25 − 0.75) / 2.
    /// let layout = Layout::new(&[1, 2])?;
    /// assert_eq!(smooth.value(&[1.0f32, 2.0], &layout)?, [0.25]);
    ///
    /// let bad = smooth.with_norm(Norm::Smooth { epsilon: -1.0 });
    /// assert!(bad.value(&[1.0f32, 2.0], &layout).is_err());
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub const fn with_norm(self, norm: Norm) -> Self {
        TotalVariation { norm, ..self }
    }

    /// The norm in use.
    ///
    /// ```
    /// use total_variation::{Norm, TotalVariation};
    ///
    /// let tv = TotalVariation::new().with_norm(Norm::SquaredL2);
    /// assert_eq!(tv.norm(), Norm::SquaredL2);
    /// ```
    pub const fn norm(&self) -> Norm {
        self.norm
    }

    /// The same configuration on another backend.
    ///
    /// Every backend returns the same bits; the choice only changes the
    /// speed. Forcing one is for tests, benchmarks and fuzzing.
    ///
    /// ```
    /// use total_variation::{Backend, Layout, TotalVariation};
    ///
    /// let img: Vec<f32> = (0..100).map(|i| (i * i % 7) as f32).collect();
    /// let layout = Layout::new(&[10, 10])?;
    /// let scalar = TotalVariation::new().with_backend(Backend::Scalar);
    /// let auto = TotalVariation::new();
    /// assert_eq!(scalar.value(&img, &layout)?, auto.value(&img, &layout)?);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub const fn with_backend(self, backend: Backend) -> Self {
        TotalVariation { backend, ..self }
    }

    /// The backend in use.
    ///
    /// ```
    /// use total_variation::{Backend, TotalVariation};
    ///
    /// assert_eq!(TotalVariation::new().backend(), Backend::Auto);
    /// ```
    pub const fn backend(&self) -> Backend {
        self.backend
    }

    /// The reduction in use.
    ///
    /// ```
    /// use total_variation::{Reduction, TotalVariation};
    ///
    /// assert_eq!(TotalVariation::default().reduction(), Reduction::Sum);
    /// ```
    pub const fn reduction(&self) -> Reduction {
        self.reduction
    }

    /// Writes one value per plane into `out`, without allocating.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] when `img` does not hold
    /// [`Layout::len`] elements (a contiguous layout),
    /// [`Error::StrideOutOfBounds`] or [`Error::StrideBeforeStart`] when
    /// a strided layout places an element outside `img`,
    /// [`Error::GatherAllocation`] when the buffer that gathers a plane
    /// whose column stride is not 1 cannot be allocated (and
    /// [`Error::GatherNeedsAlloc`] without the `alloc` feature),
    /// [`Error::OutputLength`] when `out` does not hold [`Layout::planes`]
    /// values, [`Error::PlaneTooLarge`] for an
    /// integer plane whose exact total could overflow `u64`, and
    /// [`Error::BackendUnavailable`] when the configured backend cannot
    /// run here.
    ///
    /// ```
    /// use total_variation::{Layout, TotalVariation};
    ///
    /// let layout = Layout::new(&[2, 1, 3])?;
    /// let mut out = [0.0f32; 2];
    /// TotalVariation::new().value_into(
    ///     &[0.0f32, 1.0, 3.0, 2.0, 2.0, 2.0],
    ///     &layout,
    ///     &mut out,
    /// )?;
    /// assert_eq!(out, [3.0, 0.0]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn value_into<T: Element>(
        &self,
        img: &[T],
        layout: &Layout,
        out: &mut [T::Output],
    ) -> Result<(), Error> {
        check_image::<T>(img, layout)?;
        check_output_len(out.len(), layout.planes())?;
        T::values(img, layout, self.reduction, self.norm, self.backend, out)
    }

    /// One value per plane, in row-major order of the leading dimensions.
    ///
    /// # Errors
    ///
    /// As [`TotalVariation::value_into`], but for the output slice, and
    /// [`Error::OutputAllocation`] when the output cannot be allocated.
    ///
    /// ```
    /// use total_variation::{Layout, TotalVariation};
    ///
    /// let layout = Layout::new(&[2, 2])?;
    /// let tv = TotalVariation::new().value(&[1u16, 3, 0, 65535], &layout)?;
    /// assert_eq!(tv, [(1 + 65532 + 2 + 65535) as f64]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    #[cfg(feature = "alloc")]
    pub fn value<T: Element>(
        &self,
        img: &[T],
        layout: &Layout,
    ) -> Result<Vec<T::Output>, Error> {
        check_image::<T>(img, layout)?;
        let mut out = output_vec(layout.planes())?;
        self.value_into(img, layout, &mut out)?;
        Ok(out)
    }

    /// Writes into `grad` the gradient of `Σₚ upstream[p] · TVₚ` with
    /// respect to every element of `img`, without allocating.
    ///
    /// This is what autograd computes for kornia's function when the
    /// per-plane output receives the gradient `upstream`. The subgradient
    /// of `|d|` is `sign(d)`, zero where `d` is zero or NaN. With
    /// [`Reduction::Mean`], each term's share is `upstream[p]` divided by
    /// its own count of differences.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`], [`Error::StrideOutOfBounds`] or
    /// [`Error::StrideBeforeStart`] when `img` does not match `layout`
    /// (see [`TotalVariation::value_into`]), [`Error::UpstreamLength`]
    /// when `upstream` does not hold one value per plane,
    /// [`Error::GradientLength`] when `grad` does not hold
    /// [`Layout::len`] elements (the gradient is contiguous, planes one
    /// after the other, whatever the strides of `img`),
    /// [`Error::GatherAllocation`] or [`Error::GatherNeedsAlloc`] as in
    /// [`TotalVariation::value_into`], and [`Error::BackendUnavailable`]
    /// when the configured backend cannot run here.
    ///
    /// ```
    /// use total_variation::{Layout, TotalVariation};
    ///
    /// let layout = Layout::new(&[1, 3])?;
    /// let mut grad = [f32::NAN; 3];
    /// TotalVariation::new().gradient_into(
    ///     &[0.0, 2.0, 1.0],
    ///     &layout,
    ///     &[0.5],
    ///     &mut grad,
    /// )?;
    /// // |x1 − x0| + |x2 − x1|: d/dx0 = −1, d/dx1 = 1 + 1, d/dx2 = −1.
    /// assert_eq!(grad, [-0.5, 1.0, -0.5]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn gradient_into<T: FloatElement>(
        &self,
        img: &[T],
        layout: &Layout,
        upstream: &[T],
        grad: &mut [T],
    ) -> Result<(), Error> {
        check_gradient_args(img, layout, upstream, None, grad.len())?;
        T::gradient(
            img,
            layout,
            self.reduction,
            self.norm,
            self.backend,
            upstream,
            grad,
        )
    }

    /// The gradient of `Σₚ upstream[p] · TVₚ`, shaped like the layout:
    /// contiguous, [`Layout::len`] elements.
    ///
    /// # Errors
    ///
    /// As [`TotalVariation::gradient_into`], but for the output slice, and
    /// [`Error::OutputAllocation`] when the output cannot be allocated.
    ///
    /// ```
    /// use total_variation::{Layout, Reduction, TotalVariation};
    ///
    /// let tv = TotalVariation::new().with_reduction(Reduction::Mean);
    /// let layout = Layout::new(&[2, 1])?;
    /// // One vertical difference, no horizontal one.
    /// assert_eq!(tv.gradient(&[5.0f64, 1.0], &layout, &[1.0])?, [1.0, -1.0]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    #[cfg(feature = "alloc")]
    pub fn gradient<T: FloatElement>(
        &self,
        img: &[T],
        layout: &Layout,
        upstream: &[T],
    ) -> Result<Vec<T>, Error> {
        layout.check_len(img.len())?;
        let mut grad = output_vec(layout.len())?;
        self.gradient_into(img, layout, upstream, &mut grad)?;
        Ok(grad)
    }

    /// Writes the values, as [`TotalVariation::value_into`], and the
    /// gradient, as [`TotalVariation::gradient_into`], in one pass over
    /// the image, without allocating.
    ///
    /// This is the step of a training or denoising loop that needs both
    /// the loss and its gradient: each row is read from memory once for
    /// both, which makes it faster than the two calls on images larger
    /// than the caches. Both results have the bits of the separate calls.
    /// Narrow planes (under 160 `f32` or 80 `f64` pixels wide, where the
    /// work at the ends of each row would outweigh the saving) are read
    /// twice each instead, value then gradient, while they are in the
    /// caches.
    ///
    /// # Errors
    ///
    /// As [`TotalVariation::gradient_into`], and
    /// [`Error::OutputLength`] when `values` does not hold
    /// [`Layout::planes`] values.
    ///
    /// ```
    /// use total_variation::{Layout, TotalVariation};
    ///
    /// let layout = Layout::new(&[1, 3])?;
    /// let (mut values, mut grad) = ([0.0f32; 1], [0.0f32; 3]);
    /// TotalVariation::new().value_and_gradient_into(
    ///     &[0.0, 2.0, 1.0],
    ///     &layout,
    ///     &[1.0],
    ///     &mut values,
    ///     &mut grad,
    /// )?;
    /// assert_eq!(values, [3.0]);
    /// assert_eq!(grad, [-1.0, 2.0, -1.0]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn value_and_gradient_into<T: FloatElement>(
        &self,
        img: &[T],
        layout: &Layout,
        upstream: &[T],
        values: &mut [T],
        grad: &mut [T],
    ) -> Result<(), Error> {
        let values_len = Some(values.len());
        check_gradient_args(img, layout, upstream, values_len, grad.len())?;
        T::value_and_gradient(
            img,
            layout,
            self.reduction,
            self.norm,
            self.backend,
            upstream,
            values,
            grad,
        )
    }

    /// The values, one per plane, and the gradient of
    /// `Σₚ upstream[p] · TVₚ` (contiguous, [`Layout::len`] elements), in
    /// one pass.
    ///
    /// # Errors
    ///
    /// As [`TotalVariation::value_and_gradient_into`], but for the output
    /// slices, and [`Error::OutputAllocation`] when an output cannot be
    /// allocated.
    ///
    /// ```
    /// use total_variation::{Layout, Reduction, TotalVariation};
    ///
    /// let tv = TotalVariation::new().with_reduction(Reduction::Mean);
    /// let layout = Layout::new(&[2, 2])?;
    /// let img = [0.0f64, 1.0, 1.0, 1.0];
    /// let (values, grad) = tv.value_and_gradient(&img, &layout, &[1.0])?;
    /// // Mean of |1 − 0| and |1 − 1| (vertical) plus the same (horizontal).
    /// assert_eq!(values, [1.0]);
    /// assert_eq!(grad, [-1.0, 0.5, 0.5, 0.0]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    #[cfg(feature = "alloc")]
    pub fn value_and_gradient<T: FloatElement>(
        &self,
        img: &[T],
        layout: &Layout,
        upstream: &[T],
    ) -> Result<(Vec<T>, Vec<T>), Error> {
        let (mut values, mut grad) =
            value_and_gradient_outputs(img, layout, upstream)?;
        self.value_and_gradient_into(
            img,
            layout,
            upstream,
            &mut values,
            &mut grad,
        )?;
        Ok((values, grad))
    }

    /// Writes one value per volume of a batch `(*, D, H, W)`, without
    /// allocating. Volumes take `f32` and `f64` elements and every
    /// [`Norm`]; the weights of [`TotalVariation::axis_weights`] apply to
    /// the three axes.
    ///
    /// With [`Norm::Anisotropic`], the value is the TV of each slice (as
    /// [`value_into`] gives it for a plane) plus the absolute differences
    /// between consecutive slices, each of the three terms weighted. With
    /// [`Reduction::Mean`], each term is the mean over its own count of
    /// differences (`(D − 1)·H·W`, `D·(H − 1)·W` and `D·H·(W − 1)`)
    /// before it is weighted.
    ///
    /// With a per-pixel norm, each voxel `(z, y, x)` gives one term of its
    /// weighted forward differences `dz = w_d·(x[z+1, y, x] − x[z, y, x])`,
    /// `dy = w_h·(x[z, y+1, x] − x[z, y, x])` and
    /// `dx = w_w·(x[z, y, x+1] − x[z, y, x])`, each missing past the last
    /// slice, row or column and on an axis of weight 0:
    /// `√(dx² + dy² + dz²)`, `dx² + dy² + dz²` or
    /// `√(dx² + dy² + dz² + ε²) − √(ε²)`. The squares are added as
    /// `(dx² + dy²) + dz²`, a missing `dx` or `dy` counting as `0`. The
    /// `D·H·W` terms of a volume are summed in the order of the planes'
    /// terms (each row of a slice a row of `W` terms, the slices front to
    /// back, one sum per volume), and [`Reduction::Mean`] divides the sum
    /// by `D·H·W`.
    ///
    /// For every norm, a volume of depth 1 with unit weights gives the
    /// bits of [`value_into`] on its plane.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] when `img` does not hold
    /// [`VolumeLayout::len`] elements, [`Error::OutputLength`] when `out`
    /// does not hold [`VolumeLayout::volumes`] values,
    /// [`Error::InvalidEpsilon`] for a smoothing scale unusable in `T`,
    /// and [`Error::BackendUnavailable`].
    ///
    /// ```
    /// use total_variation::{Norm, TotalVariation, VolumeLayout};
    ///
    /// // One 2×2×2 volume: slices [[0, 0], [0, 0]] and [[1, 1], [1, 1]].
    /// let img = [0.0f64, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
    /// let mut out = [0.0; 1];
    /// let layout = VolumeLayout::new(&[2, 2, 2])?;
    /// TotalVariation::new().volume_value_into(&img, &layout, &mut out)?;
    /// assert_eq!(out, [4.0]);
    ///
    /// // Slices [[0, 1], [2, 5]] and [[2, 4], [2, 5]]: voxel (0, 0, 0) has
    /// // (dx, dy, dz) = (1, 2, 2), the term 3; the others give 5, 3, 0,
    /// // 2, 1, 3 and 0.
    /// let img = [0.0f64, 1.0, 2.0, 5.0, 2.0, 4.0, 2.0, 5.0];
    /// let isotropic = TotalVariation::new().with_norm(Norm::Isotropic);
    /// isotropic.volume_value_into(&img, &layout, &mut out)?;
    /// assert_eq!(out, [17.0]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    ///
    /// [`value_into`]: TotalVariation::value_into
    pub fn volume_value_into<T: FloatElement>(
        &self,
        img: &[T],
        layout: &VolumeLayout,
        out: &mut [T],
    ) -> Result<(), Error> {
        layout.slices().check_len(img.len())?;
        check_output_len(out.len(), layout.volumes())?;
        T::volume_values(
            img,
            layout,
            self.reduction,
            self.norm,
            self.axis_weights,
            self.backend,
            out,
        )
    }

    /// One value per volume; see [`TotalVariation::volume_value_into`].
    ///
    /// # Errors
    ///
    /// As [`TotalVariation::volume_value_into`], but for the output
    /// slice, and [`Error::OutputAllocation`].
    ///
    /// ```
    /// use total_variation::{Reduction, TotalVariation, VolumeLayout};
    ///
    /// let tv = TotalVariation::new().with_reduction(Reduction::Mean);
    /// let layout = VolumeLayout::new(&[2, 1, 1])?;
    /// assert_eq!(tv.volume_value(&[2.0f32, -1.0], &layout)?, [3.0]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    #[cfg(feature = "alloc")]
    pub fn volume_value<T: FloatElement>(
        &self,
        img: &[T],
        layout: &VolumeLayout,
    ) -> Result<Vec<T>, Error> {
        layout.slices().check_len(img.len())?;
        let mut out = output_vec(layout.volumes())?;
        self.volume_value_into(img, layout, &mut out)?;
        Ok(out)
    }

    /// Writes into `grad` the gradient of `Σᵥ upstream[v] · TVᵥ` over the
    /// volumes, without allocating.
    ///
    /// With [`Norm::Anisotropic`], each element's gradient is the one of
    /// its slice (as [`TotalVariation::gradient_into`] computes it, with
    /// the height and width weights), then `− sign(back − x)·g_d` and
    /// `+ sign(x − front)·g_d` for its neighbours in the slices behind
    /// and in front, added in that order where they exist.
    ///
    /// With a per-pixel norm, each voxel passes a share to the element
    /// ahead of it on each axis: with `r = √(dx² + dy² + dz²)` (isotropic)
    /// or `r = √(dx² + dy² + dz² + ε²)` (smooth), `ux = (dx / r)·(w_w·g)`,
    /// `uy = (dy / r)·(w_h·g)` and `uz = (dz / r)·(w_d·g)`; the squared
    /// form passes `(dx + dx)·(w_w·g)` and so on. `g` is the volume's
    /// upstream value, divided by `D·H·W` for a mean; a missing
    /// difference passes nothing, and where the isotropic `r` is 0 the
    /// shares are the subgradient `+0.0`. The gradient of an element is
    ///
    /// ```text
    /// ((ux[left] + uy[above]) + uz[front]) − ((ux[own] + uy[own]) + uz[own])
    /// ```
    ///
    /// added in that order by every backend, a missing in-slice share
    /// counting as `+0.0`, and a depth share added only where its
    /// difference exists. So with unit weights a volume of depth 1 has
    /// the bits of [`TotalVariation::gradient_into`] on its plane, signed
    /// zeros included (and so do the slices of any volume with
    /// [`Reduction::Sum`] when only the depth weight is 0).
    ///
    /// # Errors
    ///
    /// As [`TotalVariation::volume_value_into`], with
    /// [`Error::UpstreamLength`] when `upstream` does not hold one value
    /// per volume and [`Error::GradientLength`] when `grad` is not as long
    /// as `img`.
    ///
    /// ```
    /// use total_variation::{TotalVariation, VolumeLayout};
    ///
    /// let layout = VolumeLayout::new(&[3, 1, 1])?;
    /// let mut grad = [0.0f32; 3];
    /// TotalVariation::new().volume_gradient_into(
    ///     &[0.0, 2.0, 1.0],
    ///     &layout,
    ///     &[1.0],
    ///     &mut grad,
    /// )?;
    /// assert_eq!(grad, [-1.0, 2.0, -1.0]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn volume_gradient_into<T: FloatElement>(
        &self,
        img: &[T],
        layout: &VolumeLayout,
        upstream: &[T],
        grad: &mut [T],
    ) -> Result<(), Error> {
        layout.slices().check_len(img.len())?;
        check_upstream_len(upstream.len(), layout.volumes())?;
        check_gradient_len(grad.len(), layout.len())?;
        T::volume_gradient(
            img,
            layout,
            self.reduction,
            self.norm,
            self.axis_weights,
            self.backend,
            upstream,
            grad,
        )
    }

    /// The gradient of `Σᵥ upstream[v] · TVᵥ`, shaped like `img`; see
    /// [`TotalVariation::volume_gradient_into`].
    ///
    /// # Errors
    ///
    /// As [`TotalVariation::volume_gradient_into`], but for the output
    /// slice, and [`Error::OutputAllocation`].
    ///
    /// ```
    /// use total_variation::{TotalVariation, VolumeLayout};
    ///
    /// let layout = VolumeLayout::new(&[2, 1, 2])?;
    /// let grad = TotalVariation::new().volume_gradient(
    ///     &[0.0f64, 1.0, 0.0, 1.0],
    ///     &layout,
    ///     &[1.0],
    /// )?;
    /// // No difference along the depth: sign(0) = 0.
    /// assert_eq!(grad, [-1.0, 1.0, -1.0, 1.0]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    #[cfg(feature = "alloc")]
    pub fn volume_gradient<T: FloatElement>(
        &self,
        img: &[T],
        layout: &VolumeLayout,
        upstream: &[T],
    ) -> Result<Vec<T>, Error> {
        layout.slices().check_len(img.len())?;
        let mut grad = output_vec(img.len())?;
        self.volume_gradient_into(img, layout, upstream, &mut grad)?;
        Ok(grad)
    }

    /// Writes the exact sum of each plane of an integer image, without
    /// allocating. The reduction of the configuration is not used: a mean
    /// is not an integer.
    ///
    /// # Errors
    ///
    /// As [`TotalVariation::value_into`].
    ///
    /// ```
    /// use total_variation::{Layout, TotalVariation};
    ///
    /// let mut out = [0u64; 1];
    /// TotalVariation::new().exact_sum_into(
    ///     &[0u8, 255, 255, 0],
    ///     &Layout::new(&[2, 2])?,
    ///     &mut out,
    /// )?;
    /// assert_eq!(out, [4 * 255]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn exact_sum_into<T: IntegerElement>(
        &self,
        img: &[T],
        layout: &Layout,
        out: &mut [u64],
    ) -> Result<(), Error> {
        check_image::<T>(img, layout)?;
        check_output_len(out.len(), layout.planes())?;
        if !self.norm.is_anisotropic() {
            return Err(Error::NormNotForIntegers { norm: self.norm });
        }
        T::exact_sums(img, layout, self.backend, out)
    }

    /// The exact sum of each plane of an integer image, as `u64`.
    ///
    /// # Errors
    ///
    /// As [`TotalVariation::value_into`], but for the output slice, and
    /// [`Error::OutputAllocation`] when the output cannot be allocated.
    ///
    /// ```
    /// use total_variation::{Layout, TotalVariation};
    ///
    /// let img = [u16::MAX, 0, u16::MAX];
    /// let layout = Layout::new(&[1, 3])?;
    /// let exact = TotalVariation::new().exact_sum(&img, &layout)?;
    /// assert_eq!(exact, [2 * 65535]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    #[cfg(feature = "alloc")]
    pub fn exact_sum<T: IntegerElement>(
        &self,
        img: &[T],
        layout: &Layout,
    ) -> Result<Vec<u64>, Error> {
        check_image::<T>(img, layout)?;
        let mut out = output_vec(layout.planes())?;
        self.exact_sum_into(img, layout, &mut out)?;
        Ok(out)
    }
}

/// A vector of `len` default values, or an error when it cannot be
/// allocated: a shape of many empty planes (`[usize::MAX, 0, 5]`) asks for
/// more output than memory can hold.
#[cfg(feature = "alloc")]
pub(crate) fn output_vec<T: Copy + Default>(
    len: usize,
) -> Result<Vec<T>, Error> {
    let mut out = Vec::new();
    out.try_reserve_exact(len)
        .map_err(|_| Error::OutputAllocation { values: len })?;
    out.resize(len, T::default());
    Ok(out)
}

/// Checks that `upstream` has one value per plane.
pub(crate) fn check_upstream<T>(
    upstream: &[T],
    layout: &Layout,
) -> Result<(), Error> {
    check_upstream_len(upstream.len(), layout.planes())
}

/// `Ok` when a slice holds the `expected` count, else the error that
/// `mismatch(expected, actual)` builds.
fn check_count(
    actual: usize,
    expected: usize,
    mismatch: fn(usize, usize) -> Error,
) -> Result<(), Error> {
    if actual == expected { Ok(()) } else { Err(mismatch(expected, actual)) }
}

/// Checks that the upstream gradient has `expected` values.
fn check_upstream_len(actual: usize, expected: usize) -> Result<(), Error> {
    check_count(actual, expected, |expected, actual| Error::UpstreamLength {
        expected,
        actual,
    })
}

/// Checks that an output slice of values has `expected` values.
pub(crate) fn check_output_len(
    actual: usize,
    expected: usize,
) -> Result<(), Error> {
    check_count(actual, expected, |expected, actual| Error::OutputLength {
        expected,
        actual,
    })
}

/// Checks that a gradient slice has `expected` elements.
pub(crate) fn check_gradient_len(
    actual: usize,
    expected: usize,
) -> Result<(), Error> {
    check_count(actual, expected, |expected, actual| Error::GradientLength {
        expected,
        actual,
    })
}

/// Checks the arguments of a gradient call, in the documented order: the
/// image, the upstream gradient, the values' output (`values`, the length
/// of the slice for the values, for the one-pass calls) and the
/// gradient's output.
pub(crate) fn check_gradient_args<T>(
    img: &[T],
    layout: &Layout,
    upstream: &[T],
    values: Option<usize>,
    grad: usize,
) -> Result<(), Error> {
    layout.check_len(img.len())?;
    check_upstream(upstream, layout)?;
    if let Some(values) = values {
        check_output_len(values, layout.planes())?;
    }
    check_gradient_len(grad, layout.len())
}

/// The outputs of a one-pass call that returns them: one value per plane
/// and the gradient, allocated once the image and the upstream gradient
/// are known to match the layout (so a shape of many empty planes cannot
/// ask for more memory than the upstream gradient shows).
#[cfg(feature = "alloc")]
pub(crate) fn value_and_gradient_outputs<T: Copy + Default>(
    img: &[T],
    layout: &Layout,
    upstream: &[T],
) -> Result<(Vec<T>, Vec<T>), Error> {
    layout.check_len(img.len())?;
    check_upstream(upstream, layout)?;
    Ok((output_vec(layout.planes())?, output_vec(layout.len())?))
}

/// Checks the image length, and that an integer plane's total fits.
pub(crate) fn check_image<T: Element>(
    img: &[T],
    layout: &Layout,
) -> Result<(), Error> {
    layout.check_len(img.len())?;
    let limit = T::max_plane_len();
    match u64::try_from(layout.plane_len()) {
        Ok(len) if len <= limit => Ok(()),
        _ => Err(Error::PlaneTooLarge { elements: layout.plane_len(), limit }),
    }
}
