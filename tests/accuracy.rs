//! Accuracy of the `f32` pairwise summation on large planes, against an
//! exact reference: every difference of two `f32` values is exact in
//! `f64`, and the reference adds them with compensated (Neumaier)
//! summation in `f64`, whose error is far below what is measured here.
//!
//! The planes hold uniform values in [0, 1), the case where a naive
//! sequential `f32` sum is worst. These tests allocate 64 MiB and 256 MiB
//! and are slow in debug builds, so they run in release builds only (the
//! test command of the README builds in release).

use total_variation::{Backend, Layout, Reduction, TotalVariation};

/// Uniform values in [0, 1) from a fixed xorshift sequence.
fn uniform_plane(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

/// `Σ |x[i+1, j] − x[i, j]| + Σ |x[i, j+1] − x[i, j]|` with compensated
/// summation in `f64`.
fn exact_tv(img: &[f32], height: usize, width: usize) -> f64 {
    let (mut sum, mut compensation) = (0.0f64, 0.0f64);
    let mut add = |value: f64| {
        let t = sum + value;
        compensation += if sum.abs() >= value.abs() {
            (sum - t) + value
        } else {
            (value - t) + sum
        };
        sum = t;
    };
    for i in 0..height {
        for j in 0..width {
            let x = f64::from(img[i * width + j]);
            if i + 1 < height {
                add((f64::from(img[(i + 1) * width + j]) - x).abs());
            }
            if j + 1 < width {
                add((f64::from(img[i * width + j + 1]) - x).abs());
            }
        }
    }
    sum + compensation
}

fn relative_error(side: usize, backend: Backend) -> f64 {
    let img = uniform_plane(side * side, 0x5eed_0000 + side as u64);
    let layout = Layout::new(&[side, side]).unwrap();
    let tv = TotalVariation::new()
        .with_reduction(Reduction::Sum)
        .with_backend(backend)
        .value(&img, &layout)
        .unwrap()[0];
    let exact = exact_tv(&img, side, side);
    let error = (f64::from(tv) - exact).abs() / exact;
    let sequential = sequential_f32_tv(&img, side, side);
    // Shown with `cargo test --release --test accuracy -- --nocapture`.
    println!(
        "{side}x{side}: pairwise {error:.2e}, sequential f32 {:.2e}",
        (f64::from(sequential) - exact).abs() / exact
    );
    error
}

/// What a plain loop computes: one `f32` accumulator, in reading order.
fn sequential_f32_tv(img: &[f32], height: usize, width: usize) -> f32 {
    let mut sum = 0.0f32;
    for i in 0..height {
        for j in 0..width {
            let x = img[i * width + j];
            if i + 1 < height {
                sum += (img[(i + 1) * width + j] - x).abs();
            }
            if j + 1 < width {
                sum += (img[i * width + j + 1] - x).abs();
            }
        }
    }
    sum
}

#[test]
#[cfg_attr(debug_assertions, ignore = "slow in debug builds")]
fn plane_of_4096_squared_within_1e_7() {
    let error = relative_error(4096, Backend::Auto);
    assert!(error <= 1e-7, "relative error {error:e}");
}

#[test]
#[cfg_attr(debug_assertions, ignore = "slow in debug builds")]
fn plane_of_8192_squared_within_2e_7() {
    let error = relative_error(8192, Backend::Auto);
    assert!(error <= 2e-7, "relative error {error:e}");
}
