//! Kernels written with `core::arch` for x86-64: AVX2 and AVX-512, chosen
//! at run time, and SSE2, part of every x86-64 CPU.

pub(super) mod avx2;
pub(super) mod avx512;
pub(super) mod integer;

/// How far ahead of the row being summed the float kernels ask for the
/// lines they will read next: 8 KiB, one row of 2048 `f32` pixels.
pub(crate) const PREFETCH_DISTANCE: usize = 8192;

/// Whether [`prefetch_ahead`] pays on this CPU: on Intel CPUs only.
///
/// Measured on two machines, for the `f32` value of a 48 MiB batch read
/// from memory: on an Intel Xeon (Emerald Rapids) the hint made it faster
/// in eight pairs of runs out of eight (0.885 of the streaming-read limit
/// instead of 0.83, medians); on an AMD EPYC (Zen 4) it made it slower,
/// 3.8 ms instead of 2.65 ms, whatever the distance ahead. The vendor is
/// read once (`cpuid`) and kept.
pub(crate) fn prefetch_pays() -> bool {
    use core::sync::atomic::{AtomicU8, Ordering};
    /// 0 until the vendor was read, then 1 for Intel and 2 for others.
    static INTEL: AtomicU8 = AtomicU8::new(0);
    match INTEL.load(Ordering::Relaxed) {
        0 => {
            let intel = is_intel();
            INTEL.store(if intel { 1 } else { 2 }, Ordering::Relaxed);
            intel
        }
        answer => answer == 1,
    }
}

/// Whether the CPU's vendor string is `GenuineIntel`.
fn is_intel() -> bool {
    if cfg!(miri) {
        // Miri runs no `cpuid`; a hint changes no result anyway.
        return false;
    }
    // SAFETY: `cpuid` exists on every x86-64 CPU, and leaf 0, which gives
    // the vendor string, is defined on all of them. (Newer compilers
    // declare the intrinsic safe; older ones need the block.)
    #[allow(unused_unsafe)]
    let leaf = unsafe { core::arch::x86_64::__cpuid(0) };
    // "Genu", "ineI", "ntel", little-endian, in EBX, EDX and ECX.
    (leaf.ebx, leaf.edx, leaf.ecx) == (0x756e_6547, 0x4965_6e69, 0x6c65_746e)
}

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
