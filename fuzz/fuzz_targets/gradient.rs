//! Gradients of `f32` and `f64` images on every backend, against the
//! scalar backend and the definition written out in the harness. See the
//! crate docs of `total_variation_fuzz` for what is checked, and
//! `src/input.rs` for how the bytes are read.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    total_variation_fuzz::check_gradient(data);
});
