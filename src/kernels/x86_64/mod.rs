//! Kernels compiled for x86-64 instruction sets beyond the build's
//! baseline, chosen at run time.

pub(super) mod avx2;
pub(super) mod integer;
