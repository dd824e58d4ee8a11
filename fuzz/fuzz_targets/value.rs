//! Values and exact totals of every element type on every backend, against
//! the scalar backend and a naive reference. See the crate docs of
//! `total_variation_fuzz` for what is checked, and `src/input.rs` for how
//! the bytes are read.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    total_variation_fuzz::check_value(data);
});
