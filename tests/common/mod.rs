//! Helpers shared by the integration tests that compare backends.

// Each test file uses the helpers it needs.
#![allow(dead_code)]

use total_variation::Backend;

/// The backends other than the scalar one that run here.
pub fn fast_backends() -> Vec<Backend> {
    [Backend::Auto, Backend::Portable, Backend::Avx2, Backend::Avx512]
        .into_iter()
        .filter(|backend| backend.is_available())
        .collect()
}

/// Bits, with every NaN as one (its sign and payload are unspecified).
pub fn bits(values: &[f64]) -> Vec<u64> {
    values
        .iter()
        .map(|v| if v.is_nan() { f64::NAN } else { *v }.to_bits())
        .collect()
}

/// [`bits`] of `f32` values.
pub fn bits32(values: &[f32]) -> Vec<u32> {
    values
        .iter()
        .map(|v| if v.is_nan() { f32::NAN } else { *v }.to_bits())
        .collect()
}
