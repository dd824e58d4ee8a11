//! Strided layouts: the fuzzer picks a shape, strides, an offset and a
//! slice length, and the checks compare the crate with this file's own
//! reading of the layout.
//!
//! | bytes | meaning |
//! | --- | --- |
//! | 1 | number of dimensions: `2 + b % 4` |
//! | 1 per dimension | leading ones `b % 4`; height and width `b % 7`, or 40 rows and 300 columns for `b ≥ 0xF0` |
//! | 1 per dimension | its stride, `b as i8` (any sign; 0 broadcasts) |
//! | 2 | the offset, little-endian `% 4096` |
//! | 2 | the slice length, little-endian `% 8192` |
//! | 1 | norm, as [`crate::input::norm`] |
//! | the rest | the pixels, as `f32` bit patterns from the bytes, then a generator |
//!
//! What must hold: the call succeeds exactly when every element the
//! layout places lies in the slice (otherwise `StrideBeforeStart` or
//! `StrideOutOfBounds` with the lowest or highest index); on success,
//! values, gradients and the one-pass call of `f32` pixels, and the exact
//! totals of `u8`, `u16` and `i16` pixels, have the bits of the same
//! elements copied here into a contiguous image, on every backend.

use total_variation::{
    Backend, Error, IntegerElement, Layout, Reduction, TotalVariation,
};

use crate::input::{Bytes, Rng, norm};

/// A layout as the fuzzer described it.
struct View {
    shape: Vec<usize>,
    strides: Vec<isize>,
    offset: usize,
}

impl View {
    /// The address of every element, in row-major order of the shape.
    fn addresses(&self) -> Vec<i64> {
        let count: usize = self.shape.iter().product();
        (0..count)
            .map(|flat| {
                let mut rest = flat;
                let mut address = self.offset as i64;
                let axes = self.shape.iter().zip(&self.strides).rev();
                for (&dim, &stride) in axes {
                    address += (rest % dim) as i64 * stride as i64;
                    rest /= dim;
                }
                address
            })
            .collect()
    }
}

/// Runs one case.
pub fn check_strided(data: &[u8]) {
    let mut bytes = Bytes::new(data);
    let dims = 2 + usize::from(bytes.byte() % 4);
    // At most 3·3·3·40·300 elements.
    let shape: Vec<usize> = (0..dims)
        .map(|axis| match (bytes.byte(), dims - axis) {
            (b, 3..) => usize::from(b % 4),
            (b @ 0..0xF0, _) => usize::from(b % 7),
            (_, 2) => 40,
            _ => 300,
        })
        .collect();
    let strides: Vec<isize> =
        (0..dims).map(|_| isize::from(bytes.byte() as i8)).collect();
    let offset = usize::from(u16::from_le_bytes(bytes.array())) % 4096;
    let len = usize::from(u16::from_le_bytes(bytes.array())) % 8192;
    let norm = norm(bytes.byte());
    let mut rng = Rng::from_input(data);
    let pixels: Vec<f32> = (0..len)
        .map(|_| match bytes.next() {
            Some(b) => f32::from(b as i8) / 4.0,
            None => (rng.next_u64() % 9) as f32 - 4.0,
        })
        .collect();
    let view = View { shape, strides, offset };

    let layout = Layout::strided(&view.shape, &view.strides, view.offset)
        .expect("small shapes and strides always describe a layout");
    let addresses = view.addresses();
    let lowest = addresses.iter().min().copied();
    let highest = addresses.iter().max().copied();
    let expected_error = match (lowest, highest) {
        (Some(low), _) if low < 0 => Some(Error::StrideBeforeStart {
            axis: None,
            before: (-low) as usize,
        }),
        (_, Some(high)) if high >= len as i64 => {
            Some(Error::StrideOutOfBounds {
                axis: None,
                last: high as usize,
                len,
            })
        }
        _ => None,
    };
    // Only read when every address lies in the slice.
    let copy: Vec<f32> = match expected_error {
        Some(_) => Vec::new(),
        None => addresses.iter().map(|&a| pixels[a as usize]).collect(),
    };
    let planar = Layout::new(&view.shape).expect("a small shape");
    let upstream: Vec<f32> =
        (0..layout.planes()).map(|p| 1.0 + p as f32).collect();
    let bytes_img: Vec<u8> = pixels.iter().map(|&v| v as i8 as u8).collect();
    let bytes_copy: Vec<u8> = copy.iter().map(|&v| v as i8 as u8).collect();
    // 16-bit values spread over the whole range, extremes included.
    let word = |v: f32| (v as i32).wrapping_mul(4099) as u16;
    let words_img: Vec<u16> = pixels.iter().map(|&v| word(v)).collect();
    let words_copy: Vec<u16> = copy.iter().map(|&v| word(v)).collect();
    let signed_img: Vec<i16> = words_img.iter().map(|&v| v as i16).collect();
    let signed_copy: Vec<i16> = words_copy.iter().map(|&v| v as i16).collect();
    let backends =
        [Backend::Scalar, Backend::Portable, Backend::Avx2, Backend::Avx512];
    for backend in backends {
        if !backend.is_available() {
            continue;
        }
        for reduction in [Reduction::Sum, Reduction::Mean] {
            let config = TotalVariation::new()
                .with_backend(backend)
                .with_reduction(reduction)
                .with_norm(norm);
            let got = config.value(&pixels, &layout).map_err(without_axis);
            let reference = config.value(&copy, &planar);
            let grad = config
                .gradient(&pixels, &layout, &upstream)
                .map_err(without_axis);
            let both = config
                .value_and_gradient(&pixels, &layout, &upstream)
                .map_err(without_axis);
            match (expected_error, &reference) {
                (Some(error), _) => {
                    assert_eq!(got, Err(error));
                    assert_eq!(grad, Err(error));
                    assert_eq!(both.err(), Some(error));
                }
                // An unusable epsilon: the same error either way.
                (None, Err(error)) => {
                    assert_eq!(got.as_ref().err(), Some(error))
                }
                (None, Ok(reference)) => {
                    assert_eq!(bits(&got.unwrap()), bits(reference));
                    let reference_grad =
                        config.gradient(&copy, &planar, &upstream).unwrap();
                    assert_eq!(bits(&grad.unwrap()), bits(&reference_grad));
                    let (values, grad) = both.unwrap();
                    assert_eq!(bits(&values), bits(reference));
                    assert_eq!(bits(&grad), bits(&reference_grad));
                }
            }
        }
        let images = (&layout, &planar, expected_error);
        check_exact(backend, (&bytes_img, &bytes_copy), images);
        check_exact(backend, (&words_img, &words_copy), images);
        check_exact(backend, (&signed_img, &signed_copy), images);
    }
}

/// The exact totals of an integer image in `layout` against those of the
/// copy of its elements in `planar`, or the expected error.
fn check_exact<T: IntegerElement>(
    backend: Backend,
    (img, copy): (&[T], &[T]),
    (layout, planar, expected_error): (&Layout, &Layout, Option<Error>),
) {
    let exact = TotalVariation::new()
        .with_backend(backend)
        .exact_sum(img, layout)
        .map_err(without_axis);
    match expected_error {
        Some(error) => assert_eq!(exact, Err(error)),
        None => {
            assert_eq!(exact, TotalVariation::new().exact_sum(copy, planar))
        }
    }
}

/// Bits with every NaN the same.
fn bits(values: &[f32]) -> Vec<u32> {
    values
        .iter()
        .map(|v| if v.is_nan() { f32::NAN.to_bits() } else { v.to_bits() })
        .collect()
}

/// The error with the axis left out: the unit tests check the axis
/// named; the fuzzer, the bounds.
fn without_axis(error: Error) -> Error {
    match error {
        Error::StrideBeforeStart { before, .. } => {
            Error::StrideBeforeStart { axis: None, before }
        }
        Error::StrideOutOfBounds { last, len, .. } => {
            Error::StrideOutOfBounds { axis: None, last, len }
        }
        other => other,
    }
}
