//! Strided layouts against the same pixels copied into a contiguous
//! image, and their bounds. See `src/strided.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    total_variation_fuzz::strided::check_strided(data);
});
