//! The entry point `tv_f32`, and nothing else: the linker keeps only
//! what it reaches, so the size of the program is the size of the
//! `f32` value kernel with its checks and error paths.

#![no_std]
#![no_main]

use total_variation::{Reduction, total_variation_into};

/// Writes the total variation of each plane of a `planes × height ×
/// width` `f32` image into `out`; returns 0, or 1 on an error.
///
/// # Safety
///
/// `img` must point to `planes · height · width` readable values and
/// `out` to `planes` writable ones.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tv_f32(
    img: *const f32,
    planes: usize,
    height: usize,
    width: usize,
    out: *mut f32,
) -> i32 {
    let len = planes.saturating_mul(height).saturating_mul(width);
    // SAFETY: the caller guarantees both slices.
    let (img, out) = unsafe {
        (
            core::slice::from_raw_parts(img, len),
            core::slice::from_raw_parts_mut(out, planes),
        )
    };
    let shape = [planes, height, width];
    match total_variation_into(img, &shape, Reduction::Sum, out) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
