//! AVX-512 kernels, chosen at run time.
//!
//! The integer kernels of [`super::integer`] are written once over a
//! register type; with 64-byte registers and AVX-512BW (`vpsadbw`,
//! saturating 16-bit subtraction and `vpmaddwd` on 512 bits) they read
//! twice the bytes per instruction of AVX2. Float images keep the AVX2
//! kernels: their summation order is defined on 16 `f32` or 8 `f64`
//! lanes, which one 512-bit register holds exactly, but the inner loop
//! of the `f32` value on 512-bit registers measured no faster than on
//! 256-bit ones (the `f32/register-width` benchmark, in the README).
//! The anisotropic float gradient of single-threaded calls, alone and
//! with the values in one pass, is compiled here again with AVX-512VL:
//! the same 256-bit operations, which the compiler may then encode with
//! 32 registers instead of 16 and blend through mask registers. Its loop
//! keeps six splatted constants live, which with its working registers
//! need more than AVX2's 16. (The per-pixel norms, volumes and the
//! `rayon` bands keep the AVX2 build.)
//!
//! As for [`Avx2`], a value of [`Avx512`] exists only while running on a
//! CPU with AVX2, AVX-512F, AVX-512BW and AVX-512VL (and FMA and F16C,
//! which the compiler takes AVX-512F to imply), and it can only be made
//! by [`Avx512::detect`].

use super::super::scalar::{Float, Integer};
use super::super::{
    FloatKernel, IntegerKernel, float_gradient_with,
    float_value_and_gradient_with, integer_sums_with,
};
use super::avx2::Avx2;
use crate::{Layout, Reduction};

/// Proof that the CPU has AVX2, AVX-512F, AVX-512BW and AVX-512VL.
#[derive(Clone, Copy)]
pub(crate) struct Avx512 {
    avx2: Avx2,
}

impl Avx512 {
    /// The proof, if the CPU has AVX2, AVX-512F, AVX-512BW and AVX-512VL.
    #[inline]
    pub(crate) fn detect() -> Option<Self> {
        let avx2 = Avx2::detect()?;
        // SAFETY: checked just before, AVX2 by `Avx2::detect`.
        super::super::has_avx512()
            .then(|| unsafe { Avx512::new_unchecked(avx2) })
    }

    /// # Safety
    ///
    /// The CPU running the program must support AVX-512F, AVX-512BW and
    /// AVX-512VL
    /// (`avx2` proves AVX2).
    #[inline(always)]
    unsafe fn new_unchecked(avx2: Avx2) -> Self {
        Avx512 { avx2 }
    }

    /// The proof of AVX2 it holds, for the integer kernels of rows shorter
    /// than a 512-bit register and for the float gradient.
    #[inline(always)]
    pub(super) fn avx2(self) -> Avx2 {
        self.avx2
    }
}

/// The exact totals of an integer image, on AVX-512.
#[inline]
pub(crate) fn integer_sums<T: Integer, O>(
    kernel: Avx512,
    img: &[T],
    layout: &Layout,
    out: &mut [O],
    combine: impl Fn(u64, u64) -> O,
) where
    Avx512: IntegerKernel<T>,
{
    #[target_feature(enable = "avx2,avx512f,avx512bw")]
    fn compiled_for_avx512<T: Integer, O>(
        kernel: Avx512,
        img: &[T],
        layout: &Layout,
        out: &mut [O],
        combine: impl Fn(u64, u64) -> O,
    ) where
        Avx512: IntegerKernel<T>,
    {
        integer_sums_with(kernel, img, layout, out, combine)
    }
    // SAFETY: the `Avx512` value proves that the CPU has AVX2, AVX-512F
    // and AVX-512BW.
    unsafe { compiled_for_avx512(kernel, img, layout, out, combine) }
}

/// The gradient of a floating-point image: the AVX2 kernels, compiled
/// with AVX-512F and AVX-512VL enabled (see the module documentation).
/// The operations are those of [`super::avx2::float_gradient`], lane for
/// lane, so the bits are too.
#[inline]
pub(crate) fn float_gradient<T: Float>(
    kernel: Avx512,
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    upstream: &[T],
    grad: &mut [T],
) where
    Avx2: FloatKernel<T>,
{
    #[target_feature(enable = "avx2,avx512f,avx512vl")]
    fn compiled_for_avx512<T: Float>(
        kernel: Avx2,
        img: &[T],
        layout: &Layout,
        reduction: Reduction,
        upstream: &[T],
        grad: &mut [T],
    ) where
        Avx2: FloatKernel<T>,
    {
        float_gradient_with(kernel, img, layout, reduction, upstream, grad)
    }
    // SAFETY: the `Avx512` value proves that the CPU has AVX2, AVX-512F
    // and AVX-512VL.
    unsafe {
        compiled_for_avx512(
            kernel.avx2(),
            img,
            layout,
            reduction,
            upstream,
            grad,
        )
    }
}

/// The values and the gradient of a floating-point image in one pass: the
/// AVX2 kernels compiled with AVX-512F and AVX-512VL enabled, as
/// [`float_gradient`], with the bits of
/// [`super::avx2::float_value_and_gradient`].
#[inline]
pub(crate) fn float_value_and_gradient<T: Float>(
    kernel: Avx512,
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    upstream: &[T],
    values: &mut [T],
    grad: &mut [T],
) where
    Avx2: FloatKernel<T>,
{
    #[target_feature(enable = "avx2,avx512f,avx512vl")]
    fn compiled_for_avx512<T: Float>(
        kernel: Avx2,
        img: &[T],
        layout: &Layout,
        reduction: Reduction,
        upstream: &[T],
        values: &mut [T],
        grad: &mut [T],
    ) where
        Avx2: FloatKernel<T>,
    {
        float_value_and_gradient_with(
            kernel, img, layout, reduction, upstream, values, grad,
        )
    }
    // SAFETY: the `Avx512` value proves that the CPU has AVX2, AVX-512F
    // and AVX-512VL.
    unsafe {
        compiled_for_avx512(
            kernel.avx2(),
            img,
            layout,
            reduction,
            upstream,
            values,
            grad,
        )
    }
}
