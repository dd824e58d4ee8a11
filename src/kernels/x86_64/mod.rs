//! Kernels written with `core::arch` for x86-64: AVX2 and AVX-512, chosen
//! at run time, and SSE2, part of every x86-64 CPU.

pub(super) mod avx2;
pub(super) mod avx512;
pub(super) mod integer;

/// How far ahead of the row being summed the float kernels ask for the
/// lines they will read next: 8 KiB, one row of 2048 `f32` pixels.
pub(crate) const PREFETCH_DISTANCE: usize = 8192;

/// Asks the CPU to bring into its caches, for each 64-byte line of
/// `values`, the line [`PREFETCH_DISTANCE`] bytes further on. A hint that
/// changes no result: rows read in order from memory arrive sooner than
/// the hardware prefetcher alone brings them.
#[inline(always)]
pub(crate) fn prefetch_ahead<T>(values: &[T]) {
    use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    let ahead = values.as_ptr().cast::<i8>().wrapping_add(PREFETCH_DISTANCE);
    for offset in (0..size_of_val(values)).step_by(64) {
        // SAFETY: `prefetcht0` is SSE, part of every target this module
        // is compiled for. It reads nothing into the program and never
        // faults, whatever the address, which `wrapping_add` computes
        // without dereferencing.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(offset)) }
    }
}
