//! The plane loops, the row kernels they call, and the choice of backend.
//!
//! Every public entry point ends here after its arguments were checked:
//! slices match the layout, and integer planes are small enough for exact
//! `u64` totals. The loops below are generic over a [`FloatKernel`], the
//! few vector operations a backend provides; each backend instantiates
//! them once, inside a function compiled for its instruction set, so the
//! whole loop runs in that set. The backend is chosen once per call.
//!
//! Backends:
//! - `scalar`: the definition of every result, one lane at a time.
//! - `portable`: the `wide` crate's vectors, in the instruction set the
//!   crate was compiled for (SSE2 on a default x86-64 build, NEON on
//!   aarch64, simd128 on wasm32 with that feature).
//! - `x86_64::avx2`: `core::arch` kernels compiled for AVX2 and chosen at
//!   run time when the CPU has it, whatever the build flags.
//! - `x86_64::integer`: `core::arch` kernels for integer rows, on SSE2
//!   (the portable backend's integer kernels on x86-64) and AVX2.
//!
//! The `x86_64` kernels are compiled for every x86-64 target with SSE2,
//! which is all of them but bare-metal ones such as `x86_64-unknown-none`;
//! there, the portable and scalar backends serve.

#[cfg(feature = "rayon")]
mod bands;
#[cfg(feature = "alloc")]
mod interleaved;
mod norms;
mod portable;
mod scalar;
mod volume;
mod voxel_norms;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[allow(unsafe_code)]
mod x86_64;

use core::ops::Range;

use crate::sum::{BLOCK_VECTORS, BlockSink, LaneVector, PairwiseSum};
use crate::{
    AxisWeights, Backend, Error, Layout, Norm, Reduction, VolumeLayout,
};
#[cfg(feature = "rayon")]
pub(crate) use bands::{
    float_gradient_in_bands, float_values_in_bands,
    integer_strided_values_in_bands, integer_values_in_bands,
};
pub(crate) use norms::PixelNorm;
use norms::{norm_gradient_with, norm_values_with};
pub(crate) use scalar::{Float, Integer};
pub(crate) use volume::VolumeWeights;
pub(crate) use volume::{volume_gradient_with, volume_values_with};

/// The vector operations a backend provides for one float type, over the
/// logical lanes of the summation order ([`Float::LANES`]).
pub(crate) trait FloatKernel<T: Float>: Copy {
    /// The backend's vector of `T::LANES` lanes.
    type Lanes: LaneVector<Scalar = T>;

    /// A vector of `+0.0`.
    fn zero(self) -> Self::Lanes;

    /// The lanes of a vector, in order.
    #[cfg(feature = "alloc")]
    fn lanes_of(self, vector: Self::Lanes) -> T::Lanes;

    /// The vector of the given lanes.
    #[cfg(feature = "alloc")]
    fn vector_of(self, lanes: T::Lanes) -> Self::Lanes;

    /// The channels of pixels of `N` interleaved values: value `e` of
    /// the `N` vectors taken as one run (lane `e mod T::LANES` of vector
    /// `e / T::LANES`) is channel `e mod N` of pixel `e / N`, and lane `k`
    /// of vector `c` of the result is channel `c` of pixel `k`. It only
    /// moves lanes; a kernel may override it for some channel counts.
    #[cfg(feature = "alloc")]
    #[inline(always)]
    fn split_lanes<const N: usize>(
        self,
        interleaved: [Self::Lanes; N],
    ) -> [Self::Lanes; N] {
        interleaved::split_lanes_in_arrays(self, interleaved)
    }

    /// `|b[j] − a[j]|` for the first `T::LANES` values; when the slices
    /// are shorter, the missing lanes are `+0.0`.
    fn abs_diff(self, a: &[T], b: &[T]) -> Self::Lanes;

    /// Writes the gradient of `T::LANES` elements of a row from column
    /// `start` on, where both horizontal neighbours exist
    /// (`start ≥ 1`, `start + T::LANES < width`), into `out[..T::LANES]`.
    /// Must give the bits of [`scalar::gradient_element`].
    ///
    /// Returns the differences it computed on the way, as
    /// [`FloatKernel::abs_diff`] gives them: `|right − x|` and
    /// `|below − x|` of the lanes (`+0.0` without a row below), so that
    /// a one-pass caller can add them to the sums of the value.
    fn gradient_lanes(
        self,
        rows: &GradientRows<'_, T>,
        start: usize,
        factors: GradientFactors<T>,
        out: &mut [T],
    ) -> (Self::Lanes, Self::Lanes);

    /// [`FloatKernel::gradient_lanes`] for `vectors` consecutive vectors
    /// from column `start` on (`start ≥ 1`,
    /// `start + vectors · T::LANES < width`), writing
    /// `out[..vectors · T::LANES]`. The differences of each vector go to
    /// `sink`, one vector after the other (see [`DifferenceSink`]).
    #[inline(always)]
    fn gradient_vectors<S: DifferenceSink<Self::Lanes>>(
        self,
        rows: &GradientRows<'_, T>,
        start: usize,
        vectors: usize,
        factors: GradientFactors<T>,
        out: &mut [T],
        sink: &mut S,
    ) {
        for k in 0..vectors {
            let out = out.get_mut(k * T::LANES..).unwrap_or_default();
            let column = start + k * T::LANES;
            let (right, below) =
                self.gradient_lanes(rows, column, factors, out);
            let (right_sum, below_sum, _) = sink.open(self.zero());
            sink.close(right_sum.add(right), below_sum.add(below), 1);
        }
    }

    /// The terms of a per-pixel norm for the pixels of `row` in columns
    /// `start..start + T::LANES`, with the row `below` if there is one;
    /// `+0.0` in the lanes past the row. Must give the bits of
    /// [`scalar::pixel_term_at`].
    fn norm_terms(
        self,
        norm: PixelNorm<T>,
        row: &[T],
        below: Option<&[T]>,
        start: usize,
    ) -> Self::Lanes;

    /// Writes the gradient of `factor · Σ terms` for `T::LANES` elements
    /// of a row from column `start` on, where both horizontal neighbours
    /// exist (`start ≥ 1`, `start + T::LANES < width`), into
    /// `out[..T::LANES]`. Must give the bits of
    /// [`scalar::norm_gradient_element`].
    fn norm_gradient_lanes(
        self,
        norm: PixelNorm<T>,
        rows: &GradientRows<'_, T>,
        start: usize,
        factor: T,
        out: &mut [T],
    );

    /// The terms of a per-voxel norm for the voxels of `rows.slice.row`
    /// in columns `start..start + T::LANES`; `+0.0` in the lanes past the
    /// row. Must give the bits of [`scalar::voxel_term_at`].
    fn voxel_terms(
        self,
        norm: PixelNorm<T>,
        weights: VolumeWeights<T>,
        rows: &VoxelRows<'_, T>,
        start: usize,
    ) -> Self::Lanes;

    /// Writes the gradient of the per-voxel terms for `T::LANES` elements
    /// of `rows.slice.row` from column `start` on, where both horizontal
    /// neighbours exist (`start ≥ 1`, `start + T::LANES < width`), into
    /// `out[..T::LANES]`. Must give the bits of
    /// [`scalar::voxel_gradient_element`].
    fn voxel_gradient_lanes(
        self,
        norm: PixelNorm<T>,
        scales: VoxelScales<T>,
        rows: &VoxelRows<'_, T>,
        start: usize,
        out: &mut [T],
    );
}

/// A row of a volume's slice with the rows around it that the per-voxel
/// norms read, where they exist: the rows above and below it in its
/// slice, the same row and the one below it in the slice in front
/// (`z − 1`), the same row and the one above it in the slice behind
/// (`z + 1`).
#[derive(Clone, Copy)]
pub(crate) struct VoxelRows<'a, T> {
    pub(crate) slice: GradientRows<'a, T>,
    pub(crate) front: Option<&'a [T]>,
    pub(crate) front_below: Option<&'a [T]>,
    pub(crate) back: Option<&'a [T]>,
    pub(crate) back_above: Option<&'a [T]>,
}

/// The weights of a volume's differences and the factors `w·g` of their
/// shares in the gradient, for each axis.
#[derive(Clone, Copy)]
pub(crate) struct VoxelScales<T> {
    pub(crate) weights: VolumeWeights<T>,
    pub(crate) factors: VolumeWeights<T>,
}

/// A row of a plane with the rows above and below it, where they exist.
#[derive(Clone, Copy)]
pub(crate) struct GradientRows<'a, T> {
    pub(crate) above: Option<&'a [T]>,
    pub(crate) row: &'a [T],
    pub(crate) below: Option<&'a [T]>,
}

/// `N` elements of `values` from `start` on, if there are that many.
#[inline(always)]
pub(crate) fn lanes_at<T, const N: usize>(
    values: &[T],
    start: usize,
) -> Option<&[T; N]> {
    values.get(start..)?.first_chunk::<N>()
}

/// The upstream gradient's share for each term of a plane.
#[derive(Clone, Copy)]
pub(crate) struct GradientFactors<T> {
    pub(crate) vertical: T,
    pub(crate) horizontal: T,
}

/// Where a gradient kernel hands the differences it computes on the way:
/// `|right − x|` and `|below − x|` of each vector, as
/// [`FloatKernel::gradient_lanes`] returns them. The kernel adds them,
/// lane-wise and in order, to the open sums that [`DifferenceSink::open`]
/// gives it, and hands the sums back with [`DifferenceSink::close`].
pub(crate) trait DifferenceSink<V> {
    /// Whether the sink uses the differences: `false` only for
    /// [`Discard`], the sink of a gradient alone. (Read by the x86-64
    /// kernels only.)
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_feature = "sse2")),
        allow(dead_code)
    )]
    const USES_DIFFERENCES: bool = true;

    /// The open sums of the two terms, and how many vectors they take
    /// before they must be handed back: at least one, `usize::MAX` for no
    /// limit. `zero` is the vector of `+0.0`.
    fn open(&mut self, zero: V) -> (V, V, usize);

    /// Hands back the open sums, after `added` more vectors.
    fn close(&mut self, right: V, below: V, added: usize);
}

/// A gradient alone needs no differences; the kernel's work for them is
/// then dead code, and the compiler drops it.
pub(crate) struct Discard;

impl<V: Copy> DifferenceSink<V> for Discard {
    const USES_DIFFERENCES: bool = false;

    #[inline(always)]
    fn open(&mut self, zero: V) -> (V, V, usize) {
        (zero, zero, usize::MAX)
    }

    #[inline(always)]
    fn close(&mut self, _right: V, _below: V, _added: usize) {}
}

/// Two running sums, lane-wise, one per term.
impl<V: Copy> DifferenceSink<V> for (V, V) {
    #[inline(always)]
    fn open(&mut self, _zero: V) -> (V, V, usize) {
        (self.0, self.1, usize::MAX)
    }

    #[inline(always)]
    fn close(&mut self, right: V, below: V, _added: usize) {
        *self = (right, below);
    }
}

/// The open blocks of one row of a one-pass call: the differences go to
/// the open block of their term, and a block that reaches
/// `BLOCK_VECTORS` vectors goes to its term's sum, as in the summation
/// order of [`crate::sum`]. Handing this to a kernel lets it set up once
/// for a whole row instead of once per block.
struct RowBlocks<'s, V: LaneVector> {
    /// The sums of the open blocks, while `vectors > 0`. After a block is
    /// pushed they keep its sums, which nothing reads: `open` starts the
    /// next block from `+0.0`, and `push_row_tail` ignores a block of no
    /// vectors.
    right: V,
    below: V,
    /// Vectors in the open blocks.
    vectors: usize,
    horizontal: &'s mut PairwiseSum<V>,
    /// The sum of the vertical term, when the row has a row below.
    vertical: Option<&'s mut PairwiseSum<V>>,
}

impl<V: LaneVector> DifferenceSink<V> for RowBlocks<'_, V> {
    #[inline(always)]
    fn open(&mut self, zero: V) -> (V, V, usize) {
        // A block begun with `+0.0` has the bits of one begun with its
        // first vector: the differences are never `−0.0`.
        if self.vectors == 0 {
            (self.right, self.below) = (zero, zero);
        }
        (self.right, self.below, BLOCK_VECTORS - self.vectors)
    }

    #[inline(always)]
    fn close(&mut self, right: V, below: V, added: usize) {
        (self.right, self.below) = (right, below);
        self.vectors += added;
        if self.vectors == BLOCK_VECTORS {
            self.horizontal.push_block(right);
            if let Some(vertical) = self.vertical.as_deref_mut() {
                vertical.push_block(below);
            }
            self.vectors = 0;
        }
    }
}

/// The backend a call runs on, once availability was checked.
#[derive(Clone, Copy)]
pub(crate) enum Resolved {
    Scalar,
    Portable,
    /// The AVX2 kernels, and with `Some`, the AVX-512 ones for integer
    /// images and the AVX2 anisotropic float gradient compiled with
    /// AVX-512VL.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    Avx2(x86_64::avx2::Avx2, Option<x86_64::avx512::Avx512>),
}

impl From<Resolved> for Backend {
    /// The backend that resolves to this one again.
    fn from(resolved: Resolved) -> Backend {
        match resolved {
            Resolved::Scalar => Backend::Scalar,
            Resolved::Portable => Backend::Portable,
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Resolved::Avx2(_, None) => Backend::Avx2,
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Resolved::Avx2(_, Some(_)) => Backend::Avx512,
        }
    }
}

/// Whether the CPU running this code has AVX2: asked once of the CPU and
/// cached by the standard library under `std`, fixed at compile time
/// without it.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub(crate) fn has_avx2() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(target_feature = "avx2")
    }
}

/// Whether the CPU running this code has AVX-512F, AVX-512BW and
/// AVX-512VL, asked and cached as [`has_avx2`], and FMA and F16C, which
/// the compiler takes AVX-512F to imply. (Every CPU with AVX-512BW has
/// the other four.)
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub(crate) fn has_avx512() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(all(
            target_feature = "avx512f",
            target_feature = "avx512bw",
            target_feature = "avx512vl",
            target_feature = "fma",
            target_feature = "f16c"
        ))
    }
}

/// Whether a backend can run on this CPU.
pub(crate) fn is_available(backend: Backend) -> bool {
    resolve(backend).is_ok()
}

fn resolve(backend: Backend) -> Result<Resolved, Error> {
    match backend {
        Backend::Scalar => Ok(Resolved::Scalar),
        Backend::Portable => Ok(Resolved::Portable),
        Backend::Avx2 => {
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            if let Some(kernel) = x86_64::avx2::Avx2::detect() {
                return Ok(Resolved::Avx2(kernel, None));
            }
            Err(Error::BackendUnavailable { backend })
        }
        Backend::Avx512 => {
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            if let (Some(kernel), Some(avx512)) =
                (x86_64::avx2::Avx2::detect(), x86_64::avx512::Avx512::detect())
            {
                return Ok(Resolved::Avx2(kernel, Some(avx512)));
            }
            Err(Error::BackendUnavailable { backend })
        }
        Backend::Auto => {
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            if let Some(kernel) = x86_64::avx2::Avx2::detect() {
                let avx512 = x86_64::avx512::Avx512::detect();
                return Ok(Resolved::Avx2(kernel, avx512));
            }
            Ok(Resolved::Portable)
        }
    }
}

/// Work written once for every backend: [`FloatDispatch::run_task`]
/// gives it the kernel of the chosen backend, inlined into a function
/// compiled for that backend's instruction set.
#[cfg(feature = "alloc")]
pub(crate) trait FloatTask<T: Float> {
    /// What the work gives back.
    type Output;

    /// Does the work with `kernel`; `#[inline(always)]` in every
    /// implementation, so that it runs in the caller's instruction set.
    fn run<K: FloatKernel<T>>(self, kernel: K) -> Self::Output;
}

/// A float type with kernels on every backend.
pub(crate) trait FloatDispatch: Float {
    /// Runs `task` on the resolved backend.
    #[cfg(feature = "alloc")]
    fn run_task<W: FloatTask<Self>>(backend: Resolved, task: W) -> W::Output;

    /// [`float_values_with`] on the resolved backend.
    fn values_on(
        backend: Resolved,
        img: &[Self],
        layout: &Layout,
        reduction: Reduction,
        out: &mut [Self],
    );

    /// [`float_gradient_with`] on the resolved backend.
    fn gradient_on(
        backend: Resolved,
        img: &[Self],
        layout: &Layout,
        reduction: Reduction,
        upstream: &[Self],
        grad: &mut [Self],
    );

    /// [`float_value_and_gradient_with`] on the resolved backend.
    fn value_and_gradient_on(
        backend: Resolved,
        img: &[Self],
        layout: &Layout,
        reduction: Reduction,
        upstream: &[Self],
        values: &mut [Self],
        grad: &mut [Self],
    );

    /// [`volume_values_with`] on the resolved backend.
    #[allow(clippy::too_many_arguments)]
    fn volume_values_on(
        backend: Resolved,
        norm: Option<PixelNorm<Self>>,
        img: &[Self],
        layout: &VolumeLayout,
        reduction: Reduction,
        weights: VolumeWeights<Self>,
        out: &mut [Self],
    );

    /// [`volume_gradient_with`] on the resolved backend.
    #[allow(clippy::too_many_arguments)]
    fn volume_gradient_on(
        backend: Resolved,
        norm: Option<PixelNorm<Self>>,
        img: &[Self],
        layout: &VolumeLayout,
        reduction: Reduction,
        weights: VolumeWeights<Self>,
        upstream: &[Self],
        grad: &mut [Self],
    );

    /// [`norm_values_with`] on the resolved backend.
    fn norm_values_on(
        backend: Resolved,
        norm: PixelNorm<Self>,
        img: &[Self],
        layout: &Layout,
        reduction: Reduction,
        out: &mut [Self],
    );

    /// [`norm_gradient_with`] on the resolved backend.
    fn norm_gradient_on(
        backend: Resolved,
        norm: PixelNorm<Self>,
        img: &[Self],
        layout: &Layout,
        reduction: Reduction,
        upstream: &[Self],
        grad: &mut [Self],
    );
}

macro_rules! float_dispatch {
    ($t:ty) => {
        impl FloatDispatch for $t {
            #[cfg(feature = "alloc")]
            fn run_task<W: FloatTask<$t>>(
                backend: Resolved,
                task: W,
            ) -> W::Output {
                match backend {
                    Resolved::Scalar => task.run(scalar::Scalar),
                    Resolved::Portable => task.run(portable::Portable),
                    #[cfg(all(
                        target_arch = "x86_64",
                        target_feature = "sse2"
                    ))]
                    Resolved::Avx2(kernel, _) => {
                        x86_64::avx2::run_task(kernel, task)
                    }
                }
            }

            fn values_on(
                backend: Resolved,
                img: &[$t],
                layout: &Layout,
                reduction: Reduction,
                out: &mut [$t],
            ) {
                match backend {
                    Resolved::Scalar => float_values_with(
                        scalar::Scalar,
                        img,
                        layout,
                        reduction,
                        out,
                    ),
                    Resolved::Portable => float_values_with(
                        portable::Portable,
                        img,
                        layout,
                        reduction,
                        out,
                    ),
                    #[cfg(all(
                        target_arch = "x86_64",
                        target_feature = "sse2"
                    ))]
                    Resolved::Avx2(kernel, _) => x86_64::avx2::float_values(
                        kernel, img, layout, reduction, out,
                    ),
                }
            }

            fn gradient_on(
                backend: Resolved,
                img: &[$t],
                layout: &Layout,
                reduction: Reduction,
                upstream: &[$t],
                grad: &mut [$t],
            ) {
                match backend {
                    Resolved::Scalar => float_gradient_with(
                        scalar::Scalar,
                        img,
                        layout,
                        reduction,
                        upstream,
                        grad,
                    ),
                    Resolved::Portable => float_gradient_with(
                        portable::Portable,
                        img,
                        layout,
                        reduction,
                        upstream,
                        grad,
                    ),
                    #[cfg(all(
                        target_arch = "x86_64",
                        target_feature = "sse2"
                    ))]
                    Resolved::Avx2(_, Some(kernel)) => {
                        x86_64::avx512::float_gradient(
                            kernel, img, layout, reduction, upstream, grad,
                        )
                    }
                    #[cfg(all(
                        target_arch = "x86_64",
                        target_feature = "sse2"
                    ))]
                    Resolved::Avx2(kernel, None) => {
                        x86_64::avx2::float_gradient(
                            kernel, img, layout, reduction, upstream, grad,
                        )
                    }
                }
            }

            fn value_and_gradient_on(
                backend: Resolved,
                img: &[$t],
                layout: &Layout,
                reduction: Reduction,
                upstream: &[$t],
                values: &mut [$t],
                grad: &mut [$t],
            ) {
                match backend {
                    Resolved::Scalar => float_value_and_gradient_with(
                        scalar::Scalar,
                        img,
                        layout,
                        reduction,
                        upstream,
                        values,
                        grad,
                    ),
                    Resolved::Portable => float_value_and_gradient_with(
                        portable::Portable,
                        img,
                        layout,
                        reduction,
                        upstream,
                        values,
                        grad,
                    ),
                    #[cfg(all(
                        target_arch = "x86_64",
                        target_feature = "sse2"
                    ))]
                    Resolved::Avx2(_, Some(kernel)) => {
                        x86_64::avx512::float_value_and_gradient(
                            kernel, img, layout, reduction, upstream, values,
                            grad,
                        )
                    }
                    #[cfg(all(
                        target_arch = "x86_64",
                        target_feature = "sse2"
                    ))]
                    Resolved::Avx2(kernel, None) => {
                        x86_64::avx2::float_value_and_gradient(
                            kernel, img, layout, reduction, upstream, values,
                            grad,
                        )
                    }
                }
            }

            fn volume_values_on(
                backend: Resolved,
                norm: Option<PixelNorm<$t>>,
                img: &[$t],
                layout: &VolumeLayout,
                reduction: Reduction,
                weights: VolumeWeights<$t>,
                out: &mut [$t],
            ) {
                match backend {
                    Resolved::Scalar => volume_values_with(
                        scalar::Scalar,
                        norm,
                        img,
                        layout,
                        reduction,
                        weights,
                        out,
                    ),
                    Resolved::Portable => volume_values_with(
                        portable::Portable,
                        norm,
                        img,
                        layout,
                        reduction,
                        weights,
                        out,
                    ),
                    #[cfg(all(
                        target_arch = "x86_64",
                        target_feature = "sse2"
                    ))]
                    Resolved::Avx2(kernel, _) => x86_64::avx2::volume_values(
                        kernel, norm, img, layout, reduction, weights, out,
                    ),
                }
            }

            fn volume_gradient_on(
                backend: Resolved,
                norm: Option<PixelNorm<$t>>,
                img: &[$t],
                layout: &VolumeLayout,
                reduction: Reduction,
                weights: VolumeWeights<$t>,
                upstream: &[$t],
                grad: &mut [$t],
            ) {
                match backend {
                    Resolved::Scalar => volume_gradient_with(
                        scalar::Scalar,
                        norm,
                        img,
                        layout,
                        reduction,
                        weights,
                        upstream,
                        grad,
                    ),
                    Resolved::Portable => volume_gradient_with(
                        portable::Portable,
                        norm,
                        img,
                        layout,
                        reduction,
                        weights,
                        upstream,
                        grad,
                    ),
                    #[cfg(all(
                        target_arch = "x86_64",
                        target_feature = "sse2"
                    ))]
                    Resolved::Avx2(kernel, _) => x86_64::avx2::volume_gradient(
                        kernel, norm, img, layout, reduction, weights,
                        upstream, grad,
                    ),
                }
            }

            fn norm_values_on(
                backend: Resolved,
                norm: PixelNorm<$t>,
                img: &[$t],
                layout: &Layout,
                reduction: Reduction,
                out: &mut [$t],
            ) {
                match backend {
                    Resolved::Scalar => norm_values_with(
                        scalar::Scalar,
                        norm,
                        img,
                        layout,
                        reduction,
                        out,
                    ),
                    Resolved::Portable => norm_values_with(
                        portable::Portable,
                        norm,
                        img,
                        layout,
                        reduction,
                        out,
                    ),
                    #[cfg(all(
                        target_arch = "x86_64",
                        target_feature = "sse2"
                    ))]
                    Resolved::Avx2(kernel, _) => x86_64::avx2::norm_values(
                        kernel, norm, img, layout, reduction, out,
                    ),
                }
            }

            fn norm_gradient_on(
                backend: Resolved,
                norm: PixelNorm<$t>,
                img: &[$t],
                layout: &Layout,
                reduction: Reduction,
                upstream: &[$t],
                grad: &mut [$t],
            ) {
                match backend {
                    Resolved::Scalar => norm_gradient_with(
                        scalar::Scalar,
                        norm,
                        img,
                        layout,
                        reduction,
                        upstream,
                        grad,
                    ),
                    Resolved::Portable => norm_gradient_with(
                        portable::Portable,
                        norm,
                        img,
                        layout,
                        reduction,
                        upstream,
                        grad,
                    ),
                    #[cfg(all(
                        target_arch = "x86_64",
                        target_feature = "sse2"
                    ))]
                    Resolved::Avx2(kernel, _) => x86_64::avx2::norm_gradient(
                        kernel, norm, img, layout, reduction, upstream, grad,
                    ),
                }
            }
        }
    };
}

float_dispatch!(f32);
float_dispatch!(f64);

/// One value per plane of a floating-point image.
pub(crate) fn float_values<T: FloatDispatch>(
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    norm: Norm,
    backend: Backend,
    out: &mut [T],
) -> Result<(), Error> {
    let pixel_norm = norm.pixel_norm::<T>()?;
    let backend = resolve(backend)?;
    #[cfg(feature = "alloc")]
    if let (None, Some(channels)) = (&pixel_norm, layout.interleaved_channels())
    {
        let task = interleaved::InterleavedValues {
            img,
            layout,
            channels,
            reduction,
            out,
        };
        return T::run_task(backend, task);
    }
    if layout.needs_gather() {
        return for_each_gathered_group(
            img,
            layout,
            |planes, pixels, group| {
                let out = &mut out[planes];
                float_values(
                    pixels,
                    group,
                    reduction,
                    norm,
                    backend.into(),
                    out,
                )
            },
        );
    }
    match pixel_norm {
        None => T::values_on(backend, img, layout, reduction, out),
        Some(norm) => {
            T::norm_values_on(backend, norm, img, layout, reduction, out)
        }
    }
    Ok(())
}

/// The gradient of `Σ upstream[p] · TV(plane p)` for a floating-point
/// image.
pub(crate) fn float_gradient<T: FloatDispatch>(
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    norm: Norm,
    backend: Backend,
    upstream: &[T],
    grad: &mut [T],
) -> Result<(), Error> {
    let pixel_norm = norm.pixel_norm::<T>()?;
    let backend = resolve(backend)?;
    #[cfg(feature = "alloc")]
    if let (None, Some(channels)) = (&pixel_norm, layout.interleaved_channels())
    {
        let task = interleaved::InterleavedGradient {
            img,
            layout,
            channels,
            reduction,
            upstream,
            grad,
        };
        return T::run_task(backend, task);
    }
    if layout.needs_gather() {
        return for_each_gathered_group(
            img,
            layout,
            |planes, pixels, group| {
                let (upstream, grad) =
                    group_outputs(upstream, grad, layout, planes);
                let backend = backend.into();
                float_gradient(
                    pixels, group, reduction, norm, backend, upstream, grad,
                )
            },
        );
    }
    match pixel_norm {
        None => T::gradient_on(backend, img, layout, reduction, upstream, grad),
        Some(norm) => T::norm_gradient_on(
            backend, norm, img, layout, reduction, upstream, grad,
        ),
    }
    Ok(())
}

/// [`float_values`] and [`float_gradient`] of the same image: in one pass
/// for the anisotropic norm (but on narrow planes, see
/// [`float_value_and_gradient_with`]), as the two passes for the
/// per-pixel norms.
#[allow(clippy::too_many_arguments)]
pub(crate) fn float_value_and_gradient<T: FloatDispatch>(
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    norm: Norm,
    backend: Backend,
    upstream: &[T],
    values: &mut [T],
    grad: &mut [T],
) -> Result<(), Error> {
    let pixel_norm = norm.pixel_norm::<T>()?;
    let backend = resolve(backend)?;
    if let (None, Some(_)) = (&pixel_norm, layout.interleaved_channels()) {
        // Two passes, each over rows of all channels: the values, then
        // the gradient, as the two calls read interleaved pixels.
        let backend = backend.into();
        float_values(img, layout, reduction, norm, backend, values)?;
        return float_gradient(
            img, layout, reduction, norm, backend, upstream, grad,
        );
    }
    if layout.needs_gather() {
        return for_each_gathered_group(
            img,
            layout,
            |planes, pixels, group| {
                let values = &mut values[planes.clone()];
                let (upstream, grad) =
                    group_outputs(upstream, grad, layout, planes);
                float_value_and_gradient(
                    pixels,
                    group,
                    reduction,
                    norm,
                    backend.into(),
                    upstream,
                    values,
                    grad,
                )
            },
        );
    }
    // TODO(perf): a one-pass kernel for the per-pixel norms.
    if let Some(norm) = pixel_norm {
        T::norm_values_on(backend, norm, img, layout, reduction, values);
        T::norm_gradient_on(
            backend, norm, img, layout, reduction, upstream, grad,
        );
        return Ok(());
    }
    T::value_and_gradient_on(
        backend, img, layout, reduction, upstream, values, grad,
    );
    Ok(())
}

/// Calls `run` with the planes of an image whose rows are not contiguous
/// ([`Layout::needs_gather`]), gathered into a contiguous buffer:
/// the range of plane indices, their pixels and their layout.
///
/// The planes of small interleaved frames
/// ([`Layout::interleaved_channels`], at most [`MAX_GATHERED_FRAME`]
/// elements) are gathered a pixel at a time, all channels in one pass over
/// the frame; other layouts a plane at a time, an element at a time, which
/// keeps the buffer a plane long: measured on a 2048×2048 RGB `f32`
/// frame, a whole-frame buffer took 49 ms and a plane at a time 19 ms.
///
/// The anisotropic values and gradients of interleaved frames do not
/// come here: they are computed a row at a time
/// (`interleaved::InterleavedValues`, `interleaved::InterleavedGradient`).
///
/// TODO(perf): the per-pixel norms of interleaved frames a row at a time
/// too.
#[cfg(feature = "alloc")]
fn for_each_gathered_group<T: Copy>(
    img: &[T],
    layout: &Layout,
    mut run: impl FnMut(Range<usize>, &[T], &Layout) -> Result<(), Error>,
) -> Result<(), Error> {
    let channels = layout.interleaved_channels().filter(|&channels| {
        channels * layout.plane_len() <= MAX_GATHERED_FRAME
    });
    let group_planes = channels.unwrap_or(1);
    let group = Layout::planar(group_planes, layout.height(), layout.width())?;
    let mut pixels = alloc::vec::Vec::new();
    if layout.planes() > 0 {
        pixels
            .try_reserve_exact(group.len())
            .map_err(|_| Error::GatherAllocation { elements: group.len() })?;
    }
    for first in (0..layout.planes()).step_by(group_planes) {
        pixels.clear();
        match channels {
            Some(channels) => {
                gather_pixels(img, layout, first, channels, &mut pixels)
            }
            None => gather_plane(img, layout, first, &mut pixels),
        }
        run(first..first + group_planes, &pixels, &group)?;
    }
    Ok(())
}

/// The most elements of an interleaved frame gathered at once: 1 MiB of
/// `f32`, which stays in the caches.
#[cfg(feature = "alloc")]
const MAX_GATHERED_FRAME: usize = 1 << 18;

/// Appends plane `plane` of `img` to `pixels`, row-major.
#[cfg(feature = "alloc")]
fn gather_plane<T: Copy>(
    img: &[T],
    layout: &Layout,
    plane: usize,
    pixels: &mut alloc::vec::Vec<T>,
) {
    let (row_stride, column_stride) =
        (layout.row_stride(), layout.column_stride());
    let start = layout.plane_start(plane);
    for row in 0..layout.height() {
        // Every element the layout places lies in the slice (it was
        // checked), and its offset from the plane's start is part of the
        // layout's span, which fits in `isize`.
        let row_start = start.wrapping_add_signed(row as isize * row_stride);
        pixels.extend((0..layout.width()).map(|column| {
            img[row_start.wrapping_add_signed(column as isize * column_stride)]
        }));
    }
}

/// Appends the `channels` planes of interleaved pixels from plane `first`
/// on to `pixels`, one plane after the other.
#[cfg(feature = "alloc")]
fn gather_pixels<T: Copy>(
    img: &[T],
    layout: &Layout,
    first: usize,
    channels: usize,
    pixels: &mut alloc::vec::Vec<T>,
) {
    let (height, width) = (layout.height(), layout.width());
    let plane_len = layout.plane_len();
    let Some(first_pixel) = img.get(layout.plane_start(first)) else {
        return;
    };
    pixels.resize(channels * plane_len, *first_pixel);
    let start = layout.plane_start(first);
    for row in 0..height {
        // Channel `c` of pixel `j` is at `row_start + j·channels + c`, all
        // in the slice (see `interleaved_sums_with`).
        let row_start =
            start.wrapping_add_signed(row as isize * layout.row_stride());
        let source = &img[row_start..row_start + width * channels];
        let planes = pixels.chunks_exact_mut(plane_len);
        let rows = planes.map(|plane| &mut plane[row * width..][..width]);
        interleaved::split_channels(source, rows, channels);
    }
}

/// Without an allocator, a plane cannot be gathered.
#[cfg(not(feature = "alloc"))]
fn for_each_gathered_group<T: Copy>(
    _img: &[T],
    layout: &Layout,
    _run: impl FnMut(Range<usize>, &[T], &Layout) -> Result<(), Error>,
) -> Result<(), Error> {
    Err(Error::GatherNeedsAlloc { column_stride: layout.column_stride() })
}

/// The upstream values and the contiguous gradient of the planes
/// `planes`.
fn group_outputs<'a, T>(
    upstream: &'a [T],
    grad: &'a mut [T],
    layout: &Layout,
    planes: Range<usize>,
) -> (&'a [T], &'a mut [T]) {
    let plane_len = layout.plane_len();
    let elements = planes.start * plane_len..planes.end * plane_len;
    (&upstream[planes], &mut grad[elements])
}

/// The weights of a volume's axes in the element type.
fn volume_weights<T: Float>(weights: AxisWeights) -> VolumeWeights<T> {
    VolumeWeights {
        depth: T::from_f64(weights.depth()),
        height: T::from_f64(weights.height()),
        width: T::from_f64(weights.width()),
    }
}

/// One value per volume of a floating-point batch of volumes.
pub(crate) fn volume_values<T: FloatDispatch>(
    img: &[T],
    layout: &VolumeLayout,
    reduction: Reduction,
    norm: Norm,
    weights: AxisWeights,
    backend: Backend,
    out: &mut [T],
) -> Result<(), Error> {
    let norm = norm.pixel_norm::<T>()?;
    let weights = volume_weights(weights);
    T::volume_values_on(
        resolve(backend)?,
        norm,
        img,
        layout,
        reduction,
        weights,
        out,
    );
    Ok(())
}

/// The gradient of `Σ upstream[v] · TV(volume v)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn volume_gradient<T: FloatDispatch>(
    img: &[T],
    layout: &VolumeLayout,
    reduction: Reduction,
    norm: Norm,
    weights: AxisWeights,
    backend: Backend,
    upstream: &[T],
    grad: &mut [T],
) -> Result<(), Error> {
    let norm = norm.pixel_norm::<T>()?;
    let weights = volume_weights(weights);
    let backend = resolve(backend)?;
    T::volume_gradient_on(
        backend, norm, img, layout, reduction, weights, upstream, grad,
    );
    Ok(())
}

/// [`float_values`] on one backend.
#[inline(always)]
pub(crate) fn float_values_with<T: Float, K: FloatKernel<T>>(
    kernel: K,
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
    let width = layout.width();
    let mut vertical = PairwiseSum::new(kernel.zero());
    let mut horizontal = PairwiseSum::new(kernel.zero());
    for (plane, out) in plane_rows(img, layout).zip(out) {
        vertical.reset();
        horizontal.reset();
        push_plane(kernel, &mut vertical, &mut horizontal, plane.iter(), width);
        *out = plane_value(&vertical, &horizontal, layout, reduction);
    }
}

/// The rows of one plane, in place in the image slice: `height` rows of
/// `width` consecutive elements, the first at `start`, each `stride`
/// elements after the previous one.
#[derive(Clone, Copy)]
pub(crate) struct PlaneRows<'a, T> {
    img: &'a [T],
    start: usize,
    stride: isize,
    height: usize,
    width: usize,
}

impl<'a, T> PlaneRows<'a, T> {
    /// The rows, top to bottom.
    #[inline(always)]
    pub(crate) fn iter(self) -> impl Iterator<Item = &'a [T]> + Clone {
        (0..self.height).map(move |row| {
            // In the slice: the layout was checked against it, so every
            // row it places lies inside, and `row·stride` is at most the
            // extent of the rows, which fits in `isize`.
            let start =
                self.start.wrapping_add_signed(row as isize * self.stride);
            &self.img[start..start + self.width]
        })
    }
}

/// The planes of an image whose rows are contiguous (no
/// [`Layout::needs_gather`]), checked against `img`.
#[inline(always)]
pub(crate) fn plane_rows<'a, T>(
    img: &'a [T],
    layout: &Layout,
) -> impl Iterator<Item = PlaneRows<'a, T>> {
    let layout = *layout;
    (0..layout.planes()).map(move |plane| PlaneRows {
        img,
        start: layout.plane_start(plane),
        stride: layout.row_stride(),
        height: layout.height(),
        width: layout.width(),
    })
}

/// Feeds the differences of one plane of `width ≥ 1` columns, given as
/// its rows, to the sums: the first row's horizontal ones, then row by
/// row the vertical ones to the row above and the horizontal ones.
#[inline(always)]
pub(crate) fn push_plane<'a, T: Float + 'a, K: FloatKernel<T>>(
    kernel: K,
    vertical: &mut PairwiseSum<K::Lanes>,
    horizontal: &mut PairwiseSum<K::Lanes>,
    mut rows: impl Iterator<Item = &'a [T]>,
    width: usize,
) {
    if let Some(first) = rows.next() {
        push_abs_diffs(kernel, horizontal, &first[..width - 1], &first[1..]);
        // The rows of an image, in order in memory: ask for those ahead,
        // where that pays.
        let prefetch = prefetch_pays();
        let mut above = first;
        for row in rows {
            push_row_pair(kernel, vertical, horizontal, above, row, prefetch);
            above = row;
        }
    }
}

/// A plane's value from the sums of its two terms.
#[inline(always)]
fn plane_value<T: Float, V: LaneVector<Scalar = T>>(
    vertical: &PairwiseSum<V>,
    horizontal: &PairwiseSum<V>,
    layout: &Layout,
    reduction: Reduction,
) -> T {
    let (v, h) = (vertical.total(), horizontal.total());
    match reduction {
        Reduction::Sum => v + h,
        Reduction::Mean => {
            mean(v, layout.vertical_count())
                + mean(h, layout.horizontal_count())
        }
    }
}

/// Feeds the blocks of `|b[j] − a[j]|`, for every `j`, to `sum`: full
/// blocks of `BLOCK_VECTORS` vectors, then one shorter block with the
/// rest, its last vector padded with `+0.0`.
#[inline(always)]
pub(crate) fn push_abs_diffs<T: Float, K: FloatKernel<T>>(
    kernel: K,
    sum: &mut impl BlockSink<K::Lanes>,
    a: &[T],
    b: &[T],
) {
    let block_len = T::LANES * BLOCK_VECTORS;
    let blocks = a.chunks_exact(block_len).zip(b.chunks_exact(block_len));
    for (a, b) in blocks {
        sum.push_block(block_abs_diff(kernel, a, b));
    }

    let done = a.len() - a.len() % block_len;
    if done < a.len() {
        sum.push_block(block_abs_diff(kernel, &a[done..], &b[done..]));
    }
}

/// The sum of one block: the vectors of `|b[j] − a[j]|` added lane by
/// lane in order, for `a` and `b` of at most `T::LANES · BLOCK_VECTORS`
/// values, and at least one.
#[inline(always)]
fn block_abs_diff<T: Float, K: FloatKernel<T>>(
    kernel: K,
    a: &[T],
    b: &[T],
) -> K::Lanes {
    // Begun with `+0.0`, a block's sum has the bits of one begun with its
    // first vector: `+0.0 + x` is `x` for every `x` but `−0.0`, which an
    // absolute value never is (and a NaN stays a NaN, whose bits the
    // crate leaves unspecified).
    add_abs_diffs(kernel, kernel.zero(), a, b)
}

/// The sums of two blocks, each as [`block_abs_diff`] gives it, in one
/// loop over the vectors they both have, then each on its own for the
/// rest. The two chains of additions then overlap, where one block after
/// the other would wait for each addition before the next.
#[inline(always)]
fn block_pair_abs_diff<T: Float, K: FloatKernel<T>>(
    kernel: K,
    first: (&[T], &[T]),
    second: (&[T], &[T]),
) -> (K::Lanes, K::Lanes) {
    let shortest = first.0.len().min(first.1.len());
    let shortest = shortest.min(second.0.len()).min(second.1.len());
    let paired_len = shortest - shortest % T::LANES;

    let (a, b) = (&first.0[..paired_len], &first.1[..paired_len]);
    let (c, d) = (&second.0[..paired_len], &second.1[..paired_len]);
    let vectors = a
        .chunks_exact(T::LANES)
        .zip(b.chunks_exact(T::LANES))
        .zip(c.chunks_exact(T::LANES).zip(d.chunks_exact(T::LANES)));
    let (mut first_sum, mut second_sum) = (kernel.zero(), kernel.zero());
    for ((a, b), (c, d)) in vectors {
        first_sum = first_sum.add(kernel.abs_diff(a, b));
        second_sum = second_sum.add(kernel.abs_diff(c, d));
    }

    // The rest of each block, in order after its paired vectors.
    (
        add_abs_diffs(
            kernel,
            first_sum,
            &first.0[paired_len..],
            &first.1[paired_len..],
        ),
        add_abs_diffs(
            kernel,
            second_sum,
            &second.0[paired_len..],
            &second.1[paired_len..],
        ),
    )
}

/// `sum` plus the vectors of `|b[j] − a[j]|`, lane by lane in order; the
/// last vector, when partial, has `+0.0` in its missing lanes.
#[inline(always)]
fn add_abs_diffs<T: Float, K: FloatKernel<T>>(
    kernel: K,
    mut sum: K::Lanes,
    a: &[T],
    b: &[T],
) -> K::Lanes {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    // Whole vectors first, which the loop reads without a length test,
    // then the partial one that may end the slices.
    let a_vectors = a.chunks_exact(T::LANES);
    let b_vectors = b.chunks_exact(T::LANES);
    let rest = (a_vectors.remainder(), b_vectors.remainder());
    for (a, b) in a_vectors.zip(b_vectors) {
        sum = sum.add(kernel.abs_diff(a, b));
    }
    if !rest.0.is_empty() {
        sum = sum.add(kernel.abs_diff(rest.0, rest.1));
    }
    sum
}

/// Feeds the vertical differences between `above` and `row` and the
/// horizontal ones of `row`, in one pass over `row`: each sum receives
/// exactly the blocks that [`push_abs_diffs`] would give it. With
/// `prefetch`, for rows read in order from an image, each block asks for
/// the lines [`prefetch_ahead`] of it.
#[inline(always)]
fn push_row_pair<T: Float, K: FloatKernel<T>>(
    kernel: K,
    vertical: &mut impl BlockSink<K::Lanes>,
    horizontal: &mut impl BlockSink<K::Lanes>,
    above: &[T],
    row: &[T],
    prefetch: bool,
) {
    let width = row.len();
    let Some(left) = width.checked_sub(1).and_then(|end| row.get(..end)) else {
        return;
    };
    let right = &row[1..];
    let block_len = T::LANES * BLOCK_VECTORS;
    // Full blocks of both terms together: the horizontal term has one
    // difference fewer, so it decides how many there are.
    let blocks = left
        .chunks_exact(block_len)
        .zip(right.chunks_exact(block_len))
        .zip(above.chunks_exact(block_len).zip(row.chunks_exact(block_len)));
    for ((left, right), (above, below)) in blocks {
        if prefetch {
            prefetch_ahead(below);
        }
        let (h, v) = block_pair_abs_diff(kernel, (left, right), (above, below));
        horizontal.push_block(h);
        vertical.push_block(v);
    }

    // What is left of each term is less than a block, or, for the vertical
    // term when `width` is a multiple of the block, exactly one block.
    let done = left.len() - left.len() % block_len;
    if done < left.len() {
        let (h, v) = block_pair_abs_diff(
            kernel,
            (&left[done..], &right[done..]),
            (&above[done..], &row[done..]),
        );
        horizontal.push_block(h);
        vertical.push_block(v);
    } else if done < width {
        vertical.push_block(block_abs_diff(
            kernel,
            &above[done..],
            &row[done..],
        ));
    }
}

/// Whether this CPU gains from [`prefetch_ahead`]: see
/// [`x86_64::prefetch_pays`]; never on other targets, where the hint does
/// nothing.
#[inline(always)]
pub(crate) fn prefetch_pays() -> bool {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    return x86_64::prefetch_pays();
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    false
}

/// The prefetch hint of [`x86_64::prefetch_ahead`] for the lines past
/// `values`; nothing on other targets.
#[inline(always)]
fn prefetch_ahead<T>(values: &[T]) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    x86_64::prefetch_ahead(values);
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    let _ = values;
}

/// A term's mean over its `count` differences; a term with no difference
/// contributes zero.
pub(crate) fn mean<T: Float>(total: T, count: usize) -> T {
    if count == 0 { T::ZERO } else { total / T::from_count(count) }
}

/// [`float_gradient`] on one backend.
#[inline(always)]
pub(crate) fn float_gradient_with<T: Float, K: FloatKernel<T>>(
    kernel: K,
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
        let factors = gradient_factors(g, layout, reduction);
        plane_gradient(kernel, plane.iter(), width, factors, grad);
    }
}

/// The gradient of one plane of `width ≥ 1` columns, given as its rows,
/// row by row.
#[inline(always)]
pub(crate) fn plane_gradient<'a, T: Float + 'a, K: FloatKernel<T>>(
    kernel: K,
    plane: impl Iterator<Item = &'a [T]> + Clone,
    width: usize,
    factors: GradientFactors<T>,
    grad: &mut [T],
) {
    let mut above = None;
    let mut below_rows = plane.clone().skip(1);
    let rows = plane.zip(grad.chunks_exact_mut(width));
    for (row, grad) in rows {
        let rows = GradientRows { above, row, below: below_rows.next() };
        row_gradient(kernel, &rows, factors, grad);
        above = Some(row);
    }
}

/// The share of the upstream gradient `g` of a plane for each term.
#[inline(always)]
fn gradient_factors<T: Float>(
    g: T,
    layout: &Layout,
    reduction: Reduction,
) -> GradientFactors<T> {
    match reduction {
        Reduction::Sum => GradientFactors { vertical: g, horizontal: g },
        Reduction::Mean => GradientFactors {
            vertical: mean(g, layout.vertical_count()),
            horizontal: mean(g, layout.horizontal_count()),
        },
    }
}

/// Planes narrower than this many vectors get their value and their
/// gradient in two passes over each plane instead of one: the one pass
/// does extra work at both ends of every row (its first vector, the tails
/// of both terms, an overlapping last vector), which on narrow rows costs
/// more than reading the plane again from the caches. Chosen on one CPU,
/// the Intel machine of the README, where one pass ran against two calls
/// (`f32`) at 0.70–0.81× at widths 32 to 64, 0.85–0.89× at 96,
/// 0.93–0.97× at 128 and 1.00–1.06× at 192; other CPUs may cross over
/// at other widths.
const ONE_PASS_MIN_VECTORS: usize = 10;

/// [`float_values_with`] and [`float_gradient_with`] in one pass over the
/// image, with the results of the two; planes narrower than
/// [`ONE_PASS_MIN_VECTORS`] vectors in two passes, one plane at a time.
///
/// Row by row, [`row_value_and_gradient`] writes the gradient of a row
/// and adds the differences to its right and below to the sums: the
/// image is read from memory once instead of twice, and the differences
/// are computed once. The sums receive the same blocks as in
/// [`float_values_with`], in the same order (the vertical term of rows
/// `i` and `i + 1` while on row `i` rather than on row `i + 1`), so the
/// values have the same bits.
#[inline(always)]
pub(crate) fn float_value_and_gradient_with<T: Float, K: FloatKernel<T>>(
    kernel: K,
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    upstream: &[T],
    values: &mut [T],
    grad: &mut [T],
) {
    let plane_len = layout.plane_len();
    if plane_len == 0 {
        values.fill(T::ZERO);
        return;
    }
    let width = layout.width();
    let mut vertical = PairwiseSum::new(kernel.zero());
    let mut horizontal = PairwiseSum::new(kernel.zero());
    let planes = plane_rows(img, layout).zip(grad.chunks_exact_mut(plane_len));
    for (((plane, grad), &g), value) in planes.zip(upstream).zip(values) {
        vertical.reset();
        horizontal.reset();
        let factors = gradient_factors(g, layout, reduction);
        if width < ONE_PASS_MIN_VECTORS * T::LANES {
            // The two passes, one plane at a time: the plane is still in
            // the caches for the second.
            push_plane(
                kernel,
                &mut vertical,
                &mut horizontal,
                plane.iter(),
                width,
            );
            *value = plane_value(&vertical, &horizontal, layout, reduction);
            plane_gradient(kernel, plane.iter(), width, factors, grad);
            continue;
        }
        let mut above = None;
        let mut below_rows = plane.iter().skip(1);
        let rows = plane.iter().zip(grad.chunks_exact_mut(width));
        for (row, grad) in rows {
            let rows = GradientRows { above, row, below: below_rows.next() };
            row_value_and_gradient(
                kernel,
                &rows,
                factors,
                grad,
                &mut horizontal,
                &mut vertical,
            );
            above = Some(row);
        }
        *value = plane_value(&vertical, &horizontal, layout, reduction);
    }
}

/// The gradient of one row: the vector kernel where both horizontal
/// neighbours exist, the scalar definition at the ends.
#[inline(always)]
fn row_gradient<T: Float, K: FloatKernel<T>>(
    kernel: K,
    rows: &GradientRows<'_, T>,
    factors: GradientFactors<T>,
    grad: &mut [T],
) {
    let width = grad.len();
    let mut column = 0;
    if width > 0 {
        grad[0] = scalar::gradient_element(rows, 0, factors);
        column = 1;
    }

    let vectors = width.saturating_sub(column + 1) / T::LANES;
    if vectors > 0 {
        kernel.gradient_vectors(
            rows,
            column,
            vectors,
            factors,
            &mut grad[column..],
            &mut Discard,
        );
        column += vectors * T::LANES;
    }

    row_gradient_tail(kernel, rows, factors, grad, column);
}

/// The gradient of one row, and its share of the value: the horizontal
/// differences of the row and the vertical ones to the row below go to
/// `horizontal` and `vertical`, in blocks that end with the row.
///
/// The gradient vectors start on the lanes of the sums (columns `16·k`
/// for `f32`, from the second vector on), where the differences to the
/// right and below that they compute are the sums' vectors; the first
/// vector and the tail of the row are computed apart.
#[inline(always)]
fn row_value_and_gradient<T: Float, K: FloatKernel<T>>(
    kernel: K,
    rows: &GradientRows<'_, T>,
    factors: GradientFactors<T>,
    grad: &mut [T],
    horizontal: &mut PairwiseSum<K::Lanes>,
    vertical: &mut PairwiseSum<K::Lanes>,
) {
    let row = rows.row;
    let width = grad.len();
    let Some(last) = width.checked_sub(1) else { return };
    grad[0] = scalar::gradient_element(rows, 0, factors);

    // The first vector of each term: it begins the first block.
    let first_right = match last {
        0 => kernel.zero(),
        _ => kernel.abs_diff(&row[..last], &row[1..]),
    };
    let first_below = match rows.below {
        Some(below) => kernel.abs_diff(row, below),
        None => kernel.zero(),
    };
    let mut blocks = RowBlocks {
        right: first_right,
        below: first_below,
        vectors: 1,
        horizontal,
        vertical: rows.below.map(|_| vertical),
    };

    let mut column = 1;
    let mut next_difference = T::LANES;
    if T::LANES + 1 < width {
        kernel.gradient_lanes(rows, 1, factors, &mut grad[1..]);
        // From here on, each gradient vector yields the sums' next ones;
        // the element in column `T::LANES` is computed twice, to the same
        // bits.
        column = T::LANES;
        let vectors = width.saturating_sub(column + 1) / T::LANES;
        if vectors > 0 {
            kernel.gradient_vectors(
                rows,
                column,
                vectors,
                factors,
                &mut grad[column..],
                &mut blocks,
            );
            column += vectors * T::LANES;
        }
        next_difference = column;
    }

    // The differences that no gradient vector reached end the row's last
    // blocks.
    let RowBlocks { right, below, vectors, horizontal, vertical } = blocks;
    if last > 0 {
        push_row_tail(
            kernel,
            horizontal,
            (right, vectors),
            &row[..last],
            &row[1..],
            next_difference,
        );
    }
    if let (Some(below_row), Some(vertical)) = (rows.below, vertical) {
        push_row_tail(
            kernel,
            vertical,
            (below, vectors),
            row,
            below_row,
            next_difference,
        );
    }

    row_gradient_tail(kernel, rows, factors, grad, column);
}

/// Ends a term's blocks in one row: the vectors of `|b[j] − a[j]|` from
/// column `start` on are added to the open block of `vectors` vectors,
/// and each block is handed to `sum` when full or when the row ends.
#[inline(always)]
fn push_row_tail<T: Float, K: FloatKernel<T>>(
    kernel: K,
    sum: &mut PairwiseSum<K::Lanes>,
    (mut block, mut vectors): (K::Lanes, usize),
    a: &[T],
    b: &[T],
    mut start: usize,
) {
    while start < a.len() {
        let vector = kernel.abs_diff(&a[start..], &b[start..]);
        block = if vectors == 0 { vector } else { block.add(vector) };
        vectors += 1;
        if vectors == BLOCK_VECTORS {
            sum.push_block(block);
            vectors = 0;
        }
        start += T::LANES;
    }
    if vectors > 0 {
        sum.push_block(block);
    }
}

/// The gradient of a row from `column` on, after the vectors of the row
/// were computed up to there.
#[inline(always)]
fn row_gradient_tail<T: Float, K: FloatKernel<T>>(
    kernel: K,
    rows: &GradientRows<'_, T>,
    factors: GradientFactors<T>,
    grad: &mut [T],
    mut column: usize,
) {
    let width = grad.len();
    // The last vector that fits overlaps the previous one: its elements
    // are computed again, to the same bits, rather than one at a time.
    let last_start = width.saturating_sub(T::LANES + 1);
    if column > 1 && column < last_start + T::LANES {
        kernel.gradient_lanes(
            rows,
            last_start,
            factors,
            &mut grad[last_start..],
        );
        column = last_start + T::LANES;
    }

    while column < width {
        grad[column] = scalar::gradient_element(rows, column, factors);
        column += 1;
    }
}

/// The exact sums of absolute differences a backend provides for one
/// integer type.
pub(crate) trait IntegerKernel<T>: Copy {
    /// `Σ |b[j] − a[j]|` for slices of equal length, exactly. The caller
    /// guarantees that the total fits in `u64`.
    fn abs_diff_sum(self, a: &[T], b: &[T]) -> u64;

    /// The vertical total between `above` and `row` and the horizontal
    /// total of `row`, which have the same length. A kernel may override
    /// this to read `row` once for both.
    #[inline(always)]
    fn row_pair_sums(self, above: &[T], row: &[T]) -> (u64, u64) {
        let horizontal =
            match (row.get(..row.len().saturating_sub(1)), row.get(1..)) {
                (Some(left), Some(right)) => self.abs_diff_sum(left, right),
                _ => 0,
            };
        (self.abs_diff_sum(above, row), horizontal)
    }

    /// The vertical and horizontal totals of a plane given as its rows,
    /// all `width ≥ 1` long. A kernel may override this to keep its sums
    /// in registers across rows.
    #[inline(always)]
    fn plane_sums<'a>(
        self,
        rows: impl Iterator<Item = &'a [T]>,
        width: usize,
    ) -> (u64, u64)
    where
        T: 'a,
    {
        plane_sums_by_rows(self, rows, width)
    }

    /// Adds to `vertical[c]` and `horizontal[c]` the totals of channel
    /// `c` of a plane of interleaved pixels, given as its rows: each row
    /// holds `width·channels` values, pixel after pixel, and
    /// `channels ≥ 1` (the totals hold at least `channels` values). A
    /// kernel may override this for some types and channel counts.
    #[inline(always)]
    fn interleaved_sums<'a>(
        self,
        rows: impl Iterator<Item = &'a [T]>,
        channels: usize,
        vertical: &mut [u64],
        horizontal: &mut [u64],
    ) where
        T: Integer + 'a,
    {
        let mut above: Option<&[T]> = None;
        for row in rows {
            let left = &row[..row.len().saturating_sub(channels)];
            let right = row.get(channels..).unwrap_or_default();
            channel_abs_diff_sums(left, right, channels, horizontal);
            if let Some(above) = above {
                channel_abs_diff_sums(above, row, channels, vertical);
            }
            above = Some(row);
        }
    }

    /// [`IntegerKernel::interleaved_sums`] for a frame whose rows follow
    /// one another with no gap: `frame` holds whole rows of `row_len`
    /// values, a multiple of `channels`. A kernel may override this to
    /// read the frame as one run.
    #[inline(always)]
    fn interleaved_frame_sums(
        self,
        frame: &[T],
        row_len: usize,
        channels: usize,
        vertical: &mut [u64],
        horizontal: &mut [u64],
    ) where
        T: Integer,
    {
        let rows = frame.chunks_exact(row_len.max(1));
        self.interleaved_sums(rows, channels, vertical, horizontal);
    }
}

/// [`IntegerKernel::plane_sums`] row after row: the first row's
/// horizontal total, then [`IntegerKernel::row_pair_sums`] of each row
/// with the one above.
#[inline(always)]
pub(crate) fn plane_sums_by_rows<'a, T: 'a, K: IntegerKernel<T>>(
    kernel: K,
    mut rows: impl Iterator<Item = &'a [T]>,
    width: usize,
) -> (u64, u64) {
    let (mut vertical, mut horizontal) = (0, 0);
    if let Some(first) = rows.next() {
        horizontal += kernel.abs_diff_sum(&first[..width - 1], &first[1..]);
        let mut above = first;
        for row in rows {
            let (v, h) = kernel.row_pair_sums(above, row);
            vertical += v;
            horizontal += h;
            above = row;
        }
    }
    (vertical, horizontal)
}

/// Adds `|b[k] − a[k]|` to `totals[k % channels]` for every `k`, for
/// slices of equal length that start on a pixel of `channels ≥ 1`
/// values; `totals` holds at least `channels` values.
#[inline(always)]
pub(crate) fn channel_abs_diff_sums<T: Integer>(
    a: &[T],
    b: &[T],
    channels: usize,
    totals: &mut [u64],
) {
    let totals = &mut totals[..channels];
    for (a, b) in a.chunks(channels).zip(b.chunks(channels)) {
        for ((total, &a), &b) in totals.iter_mut().zip(a).zip(b) {
            *total += u64::from((b.widen() - a.widen()).unsigned_abs());
        }
    }
}

/// The most channels of an interleaved integer image that
/// [`interleaved_sums_with`] sums in one pass.
pub(crate) const MAX_INTERLEAVED_CHANNELS: usize = 16;

/// [`integer_sums_with`] for a layout of interleaved pixels
/// ([`Layout::interleaved_channels`] is `Some(channels)`): each row of all
/// channels is read once, as one run of `width·channels` values, and its
/// differences are summed per channel. Integer totals are exact, so the
/// order of the additions does not matter.
#[inline(always)]
fn interleaved_sums_with<T: Integer, K: IntegerKernel<T>, O>(
    kernel: K,
    img: &[T],
    layout: &Layout,
    channels: usize,
    out: &mut [O],
    combine: impl Fn(u64, u64) -> O,
) {
    let run = layout.width() * channels;
    let row_stride = layout.row_stride();
    for (frame, out) in out.chunks_exact_mut(channels).enumerate() {
        let start = layout.plane_start(frame * channels);
        let mut vertical = [0u64; MAX_INTERLEAVED_CHANNELS];
        let mut horizontal = [0u64; MAX_INTERLEAVED_CHANNELS];
        if row_stride == run as isize {
            // Rows with no gap between them: the frame is one run of
            // `height·run` values, all in the slice.
            let frame = &img[start..start + layout.height() * run];
            kernel.interleaved_frame_sums(
                frame,
                run,
                channels,
                &mut vertical,
                &mut horizontal,
            );
            for (channel, out) in out.iter_mut().enumerate() {
                *out = combine(vertical[channel], horizontal[channel]);
            }
            continue;
        }
        let rows = (0..layout.height()).map(|row| {
            // Channel `c` of pixel `j` is at `start + j·channels + c`:
            // the run holds exactly the elements of this row, all in the
            // slice (the layout was checked against it).
            let row_start =
                start.wrapping_add_signed(row as isize * row_stride);
            &img[row_start..row_start + run]
        });
        kernel.interleaved_sums(rows, channels, &mut vertical, &mut horizontal);
        for (channel, out) in out.iter_mut().enumerate() {
            *out = combine(vertical[channel], horizontal[channel]);
        }
    }
}

/// Writes `combine(vertical, horizontal)` for each plane of an integer
/// image, from the exact totals. Planes must not exceed
/// [`max_integer_plane_len`].
#[inline(always)]
pub(crate) fn integer_sums_with<T: Integer, K: IntegerKernel<T>, O>(
    kernel: K,
    img: &[T],
    layout: &Layout,
    out: &mut [O],
    combine: impl Fn(u64, u64) -> O,
) {
    let plane_len = layout.plane_len();
    if plane_len == 0 {
        for out in out {
            *out = combine(0, 0);
        }
        return;
    }
    if let Some(channels) = layout.interleaved_channels() {
        interleaved_sums_with(kernel, img, layout, channels, out, combine);
        return;
    }
    for (plane, out) in plane_rows(img, layout).zip(out) {
        let (vertical, horizontal) =
            kernel.plane_sums(plane.iter(), layout.width());
        *out = combine(vertical, horizontal);
    }
}

/// An integer type with kernels on every backend.
pub(crate) trait IntegerDispatch: Integer {
    /// [`integer_sums_with`] on the resolved backend.
    fn sums_on<O>(
        backend: Resolved,
        img: &[Self],
        layout: &Layout,
        out: &mut [O],
        combine: impl Fn(u64, u64) -> O,
    );
}

macro_rules! integer_dispatch {
    ($t:ty) => {
        impl IntegerDispatch for $t {
            fn sums_on<O>(
                backend: Resolved,
                img: &[$t],
                layout: &Layout,
                out: &mut [O],
                combine: impl Fn(u64, u64) -> O,
            ) {
                match backend {
                    Resolved::Scalar => integer_sums_with(
                        scalar::Scalar,
                        img,
                        layout,
                        out,
                        combine,
                    ),
                    #[cfg(all(
                        target_arch = "x86_64",
                        target_feature = "sse2"
                    ))]
                    Resolved::Portable => integer_sums_with(
                        x86_64::integer::Sse2::new(),
                        img,
                        layout,
                        out,
                        combine,
                    ),
                    #[cfg(not(all(
                        target_arch = "x86_64",
                        target_feature = "sse2"
                    )))]
                    Resolved::Portable => integer_sums_with(
                        scalar::Scalar,
                        img,
                        layout,
                        out,
                        combine,
                    ),
                    #[cfg(all(
                        target_arch = "x86_64",
                        target_feature = "sse2"
                    ))]
                    Resolved::Avx2(_, Some(kernel)) => {
                        x86_64::avx512::integer_sums(
                            kernel, img, layout, out, combine,
                        )
                    }
                    #[cfg(all(
                        target_arch = "x86_64",
                        target_feature = "sse2"
                    ))]
                    Resolved::Avx2(kernel, None) => x86_64::avx2::integer_sums(
                        kernel, img, layout, out, combine,
                    ),
                }
            }
        }
    };
}

integer_dispatch!(u8);
integer_dispatch!(u16);
integer_dispatch!(i16);

/// The exact `vertical + horizontal` total of each plane of an integer
/// image. Planes must not exceed [`max_integer_plane_len`].
pub(crate) fn integer_exact_sums<T: IntegerDispatch>(
    img: &[T],
    layout: &Layout,
    backend: Backend,
    out: &mut [u64],
) -> Result<(), Error> {
    let backend = resolve(backend)?;
    if layout.integers_need_gather() {
        return for_each_gathered_group(
            img,
            layout,
            |planes, pixels, group| {
                integer_exact_sums(
                    pixels,
                    group,
                    backend.into(),
                    &mut out[planes],
                )
            },
        );
    }
    T::sums_on(backend, img, layout, out, |v, h| v + h);
    Ok(())
}

/// One value per plane of an integer image, from exact totals.
pub(crate) fn integer_values<T: IntegerDispatch>(
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    backend: Backend,
    out: &mut [f64],
) -> Result<(), Error> {
    let backend = resolve(backend)?;
    if layout.integers_need_gather() {
        return for_each_gathered_group(
            img,
            layout,
            |planes, pixels, group| {
                let out = &mut out[planes];
                integer_values(pixels, group, reduction, backend.into(), out)
            },
        );
    }
    T::sums_on(backend, img, layout, out, |v, h| {
        integer_plane_value(v, h, layout, reduction)
    });
    Ok(())
}

/// The value of an integer plane of `layout` under `reduction`, from its
/// exact vertical and horizontal totals `v` and `h` (whose sum fits in
/// `u64` for planes up to [`max_integer_plane_len`]).
#[inline]
pub(crate) fn integer_plane_value(
    v: u64,
    h: u64,
    layout: &Layout,
    reduction: Reduction,
) -> f64 {
    match reduction {
        Reduction::Sum => (v + h) as f64,
        Reduction::Mean => {
            mean(v as f64, layout.vertical_count())
                + mean(h as f64, layout.horizontal_count())
        }
    }
}

/// The largest plane whose exact total fits in `u64`: a plane of `n`
/// elements has fewer than `2n` differences, each at most `MAX_DIFF`.
pub(crate) fn max_integer_plane_len<T: Integer>() -> u64 {
    u64::MAX / (2 * T::MAX_DIFF)
}
