//! Kernels written with `core::arch` for x86-64: AVX2 and AVX-512, chosen
//! at run time, and SSE2, part of every x86-64 CPU.

pub(super) mod avx2;
pub(super) mod avx512;
pub(super) mod integer;
