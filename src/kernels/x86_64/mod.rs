//! Kernels written with `core::arch` for x86-64: AVX2 and AVX-512, chosen
//! at run time, and SSE2, part of every x86-64 CPU.

pub(super) mod avx2;
pub(super) mod avx512;
pub(super) mod integer;

/// How far ahead of the row being summed the float kernels ask for the
/// lines they will read next: 8 KiB, one row of 2048 `f32` pixels.
pub(crate) const PREFETCH_DISTANCE: usize = 8192;

/// Whether [`prefetch_ahead`] pays on this CPU: on Intel CPUs, and under
/// miri (see [`vendor_is_intel`]).
///
/// Measured on two machines only, for the `f32` value of a 48 MiB batch
/// read from memory (README.md, "Backends and speed"): the hint made it
/// faster on an Intel Xeon (Emerald Rapids) and slower on an AMD EPYC
/// (Zen 4), at every distance tried. Other CPUs follow their vendor,
/// unmeasured. The vendor is read once (`cpuid`) and kept.
pub(crate) fn prefetch_pays() -> bool {
    use core::sync::atomic::{AtomicU8, Ordering};
    const UNKNOWN: u8 = 0;
    const INTEL: u8 = 1;
    const OTHER: u8 = 2;
    static VENDOR: AtomicU8 = AtomicU8::new(UNKNOWN);
    match VENDOR.load(Ordering::Relaxed) {
        UNKNOWN => {
            let intel = vendor_is_intel();
            VENDOR.store(if intel { INTEL } else { OTHER }, Ordering::Relaxed);
            intel
        }
        vendor => vendor == INTEL,
    }
}

/// Whether the CPU's vendor string is `GenuineIntel`.
///
/// Under miri, which cannot run `cpuid`, `true`: the hint changes no
/// result, and miri then checks the code that gives it. In SGX enclaves,
/// where `cpuid` is an illegal instruction, `false`.
fn vendor_is_intel() -> bool {
    if cfg!(miri) {
        return true;
    }
    if cfg!(target_env = "sgx") {
        return false;
    }
    // SAFETY: `cpuid` exists on every x86-64 CPU, and leaf 0, which gives
    // the vendor string, is defined on all of them; the one place where
    // it faults, an SGX enclave, returned above. (Newer compilers declare
    // the intrinsic safe; older ones need the block.)
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
