//! Edge cases with hand-derived answers: every error and its message,
//! non-finite values, empty and thin shapes, integer extremes, and the
//! allocation-free `_into` forms.

// The tests use the functions that return a `Vec`.
#![cfg(feature = "alloc")]

use core::fmt::Debug;
use core::ops::{Add, Div};

use total_variation::{
    Error, FloatElement, Layout, Norm, Reduction, TotalVariation,
    pixels_from_bytes, total_variation, total_variation_exact,
    total_variation_grad, total_variation_grad_into, total_variation_into,
};

const REDUCTIONS: [Reduction; 2] = [Reduction::Sum, Reduction::Mean];

/// A value no computation here produces: an output slice still holding it
/// was not written.
const SENTINEL: f32 = -1234.5;

/// Asserts that `err` displays a message containing every one of `parts`.
fn assert_message_has(err: Error, parts: &[&str]) {
    let message = err.to_string();
    for part in parts {
        assert!(message.contains(part), "{message:?} lacks {part:?}");
    }
}

/// The error of every entry point for `shape`, given slices of the
/// lengths passed. Also checks that the `_into` forms left their output
/// untouched.
fn errors_of_every_entry_point(
    shape: &[usize],
    img_len: usize,
    out_len: usize,
) -> [Error; 6] {
    let img_f32 = vec![1.0f32; img_len];
    let img_u8 = vec![1u8; img_len];
    let img_i16 = vec![1i16; img_len];
    let upstream = vec![1.0f64; out_len];
    let mut out = vec![f64::from(SENTINEL); out_len];
    let mut grad = vec![SENTINEL; img_len];

    let errors = [
        total_variation(&img_f32, shape, Reduction::Sum).unwrap_err(),
        total_variation_exact(&img_u8, shape).unwrap_err(),
        total_variation_grad(
            &vec![1.0f64; img_len],
            shape,
            Reduction::Mean,
            &upstream,
        )
        .unwrap_err(),
        total_variation_into(&img_i16, shape, Reduction::Mean, &mut out)
            .unwrap_err(),
        total_variation_grad_into(
            &img_f32,
            shape,
            Reduction::Sum,
            &vec![1.0f32; out_len],
            &mut grad,
        )
        .unwrap_err(),
        Layout::new(shape)
            .and_then(|layout| {
                let mut exact = vec![u64::MAX; out_len];
                let result = TotalVariation::new()
                    .exact_sum_into(&img_u8, &layout, &mut exact);
                assert!(exact.iter().all(|&v| v == u64::MAX));
                result
            })
            .unwrap_err(),
    ];
    assert!(out.iter().all(|&v| v == f64::from(SENTINEL)));
    assert!(grad.iter().all(|&v| v == SENTINEL));
    errors
}

// ---------------------------------------------------------------------
// Errors.
// ---------------------------------------------------------------------

#[test]
fn shape_with_no_dimension_is_too_short() {
    let expected = Error::ShapeTooShort { dims: 0 };
    assert_eq!(errors_of_every_entry_point(&[], 0, 1), [expected; 6]);
    assert_eq!(Layout::new(&[]), Err(expected));
    assert_message_has(expected, &["got 0"]);
}

#[test]
fn shape_with_one_dimension_is_too_short() {
    let expected = Error::ShapeTooShort { dims: 1 };
    assert_eq!(errors_of_every_entry_point(&[5], 5, 1), [expected; 6]);
    assert_eq!(Layout::new(&[5]), Err(expected));
    assert_message_has(expected, &["got 1"]);
}

#[test]
fn shape_that_does_not_fit_in_usize_overflows() {
    let big = usize::MAX;
    // H·W overflows.
    assert_eq!(Layout::new(&[big, 2]), Err(Error::ShapeOverflow));
    // H·W overflows even with no plane at all.
    assert_eq!(Layout::new(&[0, big, 2]), Err(Error::ShapeOverflow));
    // The product of the leading dimensions overflows.
    assert_eq!(Layout::new(&[big, 2, 1, 1]), Err(Error::ShapeOverflow));
    // Planes and H·W fit, their product does not.
    assert_eq!(Layout::new(&[2, big, 1]), Err(Error::ShapeOverflow));
    assert_eq!(Layout::planar(2, 1, big), Err(Error::ShapeOverflow));
    // Just fits.
    assert_eq!(Layout::new(&[big, 1, 1]).map(|l| l.len()), Ok(big));
    assert_eq!(Layout::new(&[big, 0, 2]).map(|l| l.len()), Ok(0));

    let expected = Error::ShapeOverflow;
    assert_eq!(errors_of_every_entry_point(&[3, big, 2], 0, 3), [expected; 6]);
    assert_message_has(expected, &["usize"]);
}

#[test]
fn image_of_the_wrong_length_is_a_mismatch() {
    for actual in [23, 25] {
        let expected = Error::LengthMismatch { expected: 24, actual };
        let shape = [2, 3, 4];
        assert_eq!(
            errors_of_every_entry_point(&shape, actual, 2),
            [expected; 6]
        );
        assert_message_has(expected, &["24", &actual.to_string()]);
    }

    // The largest shape that fits, against an empty slice: the forms that
    // allocate nothing report it.
    let big = usize::MAX;
    let expected = Error::LengthMismatch { expected: big, actual: 0 };
    assert_eq!(
        total_variation_into::<f32>(&[], &[big, 1, 1], Reduction::Sum, &mut []),
        Err(expected)
    );
    let layout = Layout::new(&[big, 1, 1]).unwrap();
    assert_eq!(
        TotalVariation::new().exact_sum_into::<u8>(&[], &layout, &mut []),
        Err(expected)
    );
    assert_eq!(
        total_variation_grad::<f64>(&[], &[big, 1, 1], Reduction::Sum, &[]),
        Err(expected)
    );
    assert_message_has(expected, &[&big.to_string(), "0"]);
}

/// The same mismatch through the forms that return a `Vec`: the image is
/// checked before any output is allocated.
#[test]
fn huge_plane_count_against_a_short_slice_is_a_mismatch() {
    let big = usize::MAX;
    let expected = Error::LengthMismatch { expected: big, actual: 0 };
    assert_eq!(
        total_variation::<f32>(&[], &[big, 1, 1], Reduction::Sum),
        Err(expected)
    );
    assert_eq!(total_variation_exact::<u8>(&[], &[big, 1, 1]), Err(expected));
}

/// A consistent shape of `usize::MAX` empty planes asks for an output no
/// memory can hold: an error, not an abort.
#[test]
fn output_too_large_to_allocate() {
    let expected = Error::OutputAllocation { values: usize::MAX };
    let shape = [usize::MAX, 0, 5];
    assert_eq!(
        total_variation::<f32>(&[], &shape, Reduction::Sum),
        Err(expected)
    );
    assert_eq!(
        total_variation::<u16>(&[], &shape, Reduction::Mean),
        Err(expected)
    );
    assert_eq!(total_variation_exact::<u8>(&[], &shape), Err(expected));
    assert_message_has(expected, &[&usize::MAX.to_string()]);
}

/// An empty byte buffer is an empty image, wherever its pointer points.
#[test]
fn empty_byte_buffer_is_an_empty_image() {
    let empty: Vec<u8> = Vec::new();
    assert_eq!(pixels_from_bytes::<f32>(&empty), Ok(&[][..]));
    assert_eq!(pixels_from_bytes::<f64>(&empty[..]), Ok(&[][..]));
}

#[test]
fn output_slice_too_short() {
    let img = [0u8; 6 * 4];
    let shape = [2, 3, 2, 2];
    let expected = Error::OutputLength { expected: 6, actual: 4 };
    let mut out = [f64::from(SENTINEL); 4];
    assert_eq!(
        total_variation_into(&img, &shape, Reduction::Sum, &mut out),
        Err(expected)
    );
    assert_eq!(out, [f64::from(SENTINEL); 4]);

    let mut exact = [u64::MAX; 4];
    let layout = Layout::new(&shape).unwrap();
    assert_eq!(
        TotalVariation::new().exact_sum_into(&img, &layout, &mut exact),
        Err(expected)
    );
    assert_eq!(exact, [u64::MAX; 4]);

    let mut out = [SENTINEL; 4];
    assert_eq!(
        total_variation_into(&[0.0f32; 24], &shape, Reduction::Mean, &mut out),
        Err(expected)
    );
    assert_eq!(out, [SENTINEL; 4]);
    assert_message_has(expected, &["4", "6"]);
}

#[test]
fn output_slice_too_long() {
    let img = [0.0f64; 6 * 4];
    let shape = [2, 3, 2, 2];
    let expected = Error::OutputLength { expected: 6, actual: 9 };
    let mut out = [f64::from(SENTINEL); 9];
    assert_eq!(
        total_variation_into(&img, &shape, Reduction::Mean, &mut out),
        Err(expected)
    );
    assert_eq!(out, [f64::from(SENTINEL); 9]);

    let mut exact = [u64::MAX; 9];
    let layout = Layout::new(&shape).unwrap();
    assert_eq!(
        TotalVariation::new().exact_sum_into(&[0u16; 24], &layout, &mut exact),
        Err(expected)
    );
    assert_eq!(exact, [u64::MAX; 9]);
    assert_message_has(expected, &["9", "6"]);

    // No plane at all: any output slice but an empty one is too long.
    let expected = Error::OutputLength { expected: 0, actual: 1 };
    let mut out = [f64::from(SENTINEL)];
    assert_eq!(
        total_variation_into(&[0i16; 0], &[0, 3, 3], Reduction::Sum, &mut out),
        Err(expected)
    );
    assert_eq!(out, [f64::from(SENTINEL)]);
    assert_message_has(expected, &["1", "0"]);
}

#[test]
fn upstream_gradient_of_the_wrong_length() {
    let img = [0.0f32; 6 * 4];
    let shape = [2, 3, 2, 2];
    for actual in [5, 7] {
        let expected = Error::UpstreamLength { expected: 6, actual };
        let upstream = vec![1.0f32; actual];
        assert_eq!(
            total_variation_grad(&img, &shape, Reduction::Sum, &upstream),
            Err(expected)
        );
        let mut grad = [SENTINEL; 24];
        assert_eq!(
            total_variation_grad_into(
                &img,
                &shape,
                Reduction::Mean,
                &upstream,
                &mut grad
            ),
            Err(expected)
        );
        assert_eq!(grad, [SENTINEL; 24]);
        assert_message_has(expected, &[&actual.to_string(), "6"]);
    }
}

#[test]
fn gradient_slice_of_the_wrong_length() {
    let img = [0.0f64; 24];
    let shape = [2, 3, 4];
    for actual in [23, 25] {
        let expected = Error::GradientLength { expected: 24, actual };
        let mut grad = vec![f64::from(SENTINEL); actual];
        assert_eq!(
            total_variation_grad_into(
                &img,
                &shape,
                Reduction::Sum,
                &[1.0, 1.0],
                &mut grad
            ),
            Err(expected)
        );
        assert!(grad.iter().all(|&v| v == f64::from(SENTINEL)));
        assert_message_has(expected, &[&actual.to_string(), "24"]);
    }
}

/// The one-pass call checks the image, the upstream gradient, the values
/// slice and the gradient slice, in that order, and writes nothing when
/// one is wrong.
#[test]
fn one_pass_errors_leave_the_outputs_untouched() {
    let tv = TotalVariation::new();
    let layout = Layout::new(&[2, 3, 4]).unwrap();
    let img = [0.5f32; 24];
    let cases: [(usize, usize, usize, usize, Error); 5] = [
        (23, 2, 2, 24, Error::LengthMismatch { expected: 24, actual: 23 }),
        (24, 1, 2, 24, Error::UpstreamLength { expected: 2, actual: 1 }),
        (24, 2, 3, 24, Error::OutputLength { expected: 2, actual: 3 }),
        (24, 2, 2, 25, Error::GradientLength { expected: 24, actual: 25 }),
        // Several wrong: the first in the order wins.
        (24, 3, 1, 0, Error::UpstreamLength { expected: 2, actual: 3 }),
    ];
    for (img_len, upstream_len, values_len, grad_len, expected) in cases {
        let upstream = vec![1.0f32; upstream_len];
        let mut values = vec![SENTINEL; values_len];
        let mut grad = vec![SENTINEL; grad_len];
        assert_eq!(
            tv.value_and_gradient_into(
                &img[..img_len],
                &layout,
                &upstream,
                &mut values,
                &mut grad,
            ),
            Err(expected)
        );
        assert!(values.iter().chain(&grad).all(|&v| v == SENTINEL));
        if values_len == 2 && grad_len == 24 {
            assert_eq!(
                tv.value_and_gradient(&img[..img_len], &layout, &upstream),
                Err(expected)
            );
        }
    }
}

/// The checks come in a fixed order: the shape, then the image length
/// (then, for integers, the plane size), then the output slices.
#[test]
fn errors_are_reported_in_a_fixed_order() {
    let mut out = [0.0f64; 1];
    assert_eq!(
        total_variation_into(&[0u8; 3], &[2, 2, 2], Reduction::Sum, &mut out),
        Err(Error::LengthMismatch { expected: 8, actual: 3 })
    );
    let mut grad = [0.0f32; 3];
    assert_eq!(
        total_variation_grad_into(
            &[0.0f32; 3],
            &[2, 2, 2],
            Reduction::Sum,
            &[1.0],
            &mut grad
        ),
        Err(Error::LengthMismatch { expected: 8, actual: 3 })
    );
    assert_eq!(
        total_variation_grad_into(
            &[0.0f32; 8],
            &[2, 2, 2],
            Reduction::Sum,
            &[1.0],
            &mut grad
        ),
        Err(Error::UpstreamLength { expected: 2, actual: 1 })
    );
}

/// Eight-aligned storage for byte-level tests.
fn aligned_bytes() -> Vec<f64> {
    vec![0.0, 1.5, -2.0, 4.0]
}

#[test]
fn byte_buffer_of_a_partial_element() {
    let storage = aligned_bytes();
    let bytes: &[u8] = bytemuck::cast_slice(&storage);

    let expected = Error::ByteLength { bytes: 12, element_size: 8 };
    assert_eq!(pixels_from_bytes::<f64>(&bytes[..12]), Err(expected));
    assert_message_has(expected, &["12", "8"]);

    let expected = Error::ByteLength { bytes: 7, element_size: 2 };
    assert_eq!(pixels_from_bytes::<u16>(&bytes[..7]), Err(expected));
    assert_message_has(expected, &["7", "2"]);

    // Whole elements are fine, and hold the values stored.
    assert_eq!(pixels_from_bytes::<f64>(&bytes[8..24]), Ok(&[1.5, -2.0][..]));
    assert_eq!(pixels_from_bytes::<u8>(&bytes[3..10]).map(<[u8]>::len), Ok(7));
}

#[test]
fn byte_buffer_off_the_alignment() {
    let storage = aligned_bytes();
    let bytes: &[u8] = bytemuck::cast_slice(&storage);

    let expected = Error::Misaligned { align: 4 };
    assert_eq!(pixels_from_bytes::<f32>(&bytes[1..17]), Err(expected));
    assert_eq!(pixels_from_bytes::<f32>(&bytes[2..18]), Err(expected));
    // Alignment is checked before the length.
    assert_eq!(pixels_from_bytes::<f32>(&bytes[1..8]), Err(expected));
    assert_message_has(expected, &["4-byte"]);

    // f64 needs 8 bytes on most targets, 4 on some 32-bit ones.
    let align = core::mem::align_of::<f64>();
    if align > 4 {
        assert_eq!(
            pixels_from_bytes::<f64>(&bytes[4..20]),
            Err(Error::Misaligned { align })
        );
    }
    assert_eq!(
        pixels_from_bytes::<i16>(&bytes[3..11]),
        Err(Error::Misaligned { align: 2 })
    );
    // Four bytes in is aligned for f32 and u16.
    assert_eq!(
        pixels_from_bytes::<f32>(&bytes[4..20]).map(<[f32]>::len),
        Ok(4)
    );
    assert_eq!(
        pixels_from_bytes::<u16>(&bytes[4..10]).map(<[u16]>::len),
        Ok(3)
    );
    // u8 has no alignment to miss.
    assert!(pixels_from_bytes::<u8>(&bytes[1..2]).is_ok());
}

/// The largest integer plane: a plane of `n` elements has fewer than `2n`
/// differences, each at most the type's range, so the exact total fits in
/// `u64` for `n ≤ (2^64 − 1) / (2·range)`.
///
/// The image length is checked before the plane size, so with at least
/// one plane this error needs a slice of more than 2^47 elements (for
/// `u16` and `i16`; 2^55 for `u8`). Only a shape with no plane, whose
/// slice is empty, reaches it. On 32-bit targets no plane can be that
/// large.
#[cfg(target_pointer_width = "64")]
#[test]
fn integer_plane_too_large_for_an_exact_total() {
    fn check<T: total_variation::IntegerElement>(range: u64) {
        let limit = u64::MAX / (2 * range);
        let fits = usize::try_from(limit).unwrap();
        let expected = Error::PlaneTooLarge { elements: fits + 1, limit };

        assert_eq!(
            total_variation::<T>(&[], &[0, 1, fits], Reduction::Sum),
            Ok(vec![])
        );
        assert_eq!(total_variation_exact::<T>(&[], &[0, fits, 1]), Ok(vec![]));
        assert_eq!(
            total_variation::<T>(&[], &[0, 1, fits + 1], Reduction::Mean),
            Err(expected)
        );
        assert_eq!(
            total_variation_exact::<T>(&[], &[0, fits + 1, 1]),
            Err(expected)
        );
        assert_eq!(
            total_variation_into::<T>(
                &[],
                &[0, 1, fits + 1],
                Reduction::Sum,
                &mut []
            ),
            Err(expected)
        );
        assert_message_has(
            expected,
            &[&(fits + 1).to_string(), &limit.to_string()],
        );
    }
    check::<u8>(255);
    check::<u16>(65535);
    check::<i16>(65535);

    // Floating-point planes have no such limit.
    let huge = [0, 1 << 31, 1 << 31];
    assert_eq!(total_variation::<f32>(&[], &huge, Reduction::Sum), Ok(vec![]));
}

// ---------------------------------------------------------------------
// Non-finite values.
// ---------------------------------------------------------------------

trait Float:
    FloatElement
    + PartialEq
    + PartialOrd
    + Debug
    + From<f32>
    + Into<f64>
    + Add<Output = Self>
    + Div<Output = Self>
{
    const MAX: Self;
    /// `−MAX`.
    const LOWEST: Self;
    const INFINITY: Self;
    const NAN: Self;
}

impl Float for f32 {
    const MAX: f32 = f32::MAX;
    const LOWEST: f32 = f32::MIN;
    const INFINITY: f32 = f32::INFINITY;
    const NAN: f32 = f32::NAN;
}

impl Float for f64 {
    const MAX: f64 = f64::MAX;
    const LOWEST: f64 = f64::MIN;
    const INFINITY: f64 = f64::INFINITY;
    const NAN: f64 = f64::NAN;
}

fn is_nan<T: Float>(x: T) -> bool {
    x.into().is_nan()
}

fn is_plus_inf<T: Float>(x: T) -> bool {
    x.into() == f64::INFINITY
}

fn cast<T: Float>(values: &[f32]) -> Vec<T> {
    values.iter().map(|&v| T::from(v)).collect()
}

/// A 3×4 plane: horizontal 1 + 1 + 1 in the first row; vertical
/// 1 + 0 + 1 + 2 between the first two rows, 4·4 between the last two.
const CLEAN_PLANE: [f32; 12] = [0., 1., 2., 3., 1., 1., 1., 1., 5., 5., 5., 5.];

/// The value of [`CLEAN_PLANE`]: 3 + 20 = 23, or 20/8 + 3/9.
fn clean_value<T: Float>(reduction: Reduction) -> T {
    if reduction == Reduction::Sum {
        T::from(23.0)
    } else {
        T::from(20.0) / T::from(8.0) + T::from(3.0) / T::from(9.0)
    }
}

fn nan_poisons_only_its_plane<T: Float>() {
    for reduction in REDUCTIONS {
        for position in 0..12 {
            for nan_plane in 0..2 {
                let mut img = cast::<T>(&[CLEAN_PLANE, CLEAN_PLANE].concat());
                img[nan_plane * 12 + position] = T::NAN;
                let tv = total_variation(&img, &[2, 3, 4], reduction).unwrap();
                assert!(is_nan(tv[nan_plane]), "{position} {reduction:?}");
                assert_eq!(tv[1 - nan_plane], clean_value::<T>(reduction));
            }
        }
        // A pixel with no neighbour takes part in no difference.
        let tv = total_variation(&[T::NAN], &[1, 1], reduction).unwrap();
        assert_eq!(tv, [T::from(0.0)]);
    }
}

#[test]
fn nan_poisons_only_its_plane_f32() {
    nan_poisons_only_its_plane::<f32>();
}

#[test]
fn nan_poisons_only_its_plane_f64() {
    nan_poisons_only_its_plane::<f64>();
}

/// The TV of the pair `(a, b)`, as one row and as one column, with both
/// reductions: four values that must agree.
fn pair_values<T: Float>(a: T, b: T) -> Vec<T> {
    let mut values = Vec::new();
    for shape in [[1, 2], [2, 1]] {
        for reduction in REDUCTIONS {
            values.extend(total_variation(&[a, b], &shape, reduction).unwrap());
        }
    }
    values
}

fn infinities<T: Float>() {
    let (inf, neg_inf) = (T::INFINITY, T::from(f32::NEG_INFINITY));
    let one = T::from(1.0);
    // Next to a finite value, or to the infinity of the other sign: +inf.
    for (a, b) in [
        (inf, one),
        (one, inf),
        (neg_inf, one),
        (one, neg_inf),
        (inf, neg_inf),
        (neg_inf, inf),
    ] {
        let values = pair_values(a, b);
        assert!(values.iter().all(|&v| is_plus_inf(v)), "{a:?} {b:?}");
    }
    // Next to the same infinity: inf − inf is NaN.
    for (a, b) in [(inf, inf), (neg_inf, neg_inf)] {
        let values = pair_values(a, b);
        assert!(values.iter().all(|&v| is_nan(v)), "{a:?} {b:?}");
    }
    // A constant infinite plane is NaN, not 0.
    let tv = total_variation(&[inf; 9], &[3, 3], Reduction::Sum).unwrap();
    assert!(is_nan(tv[0]));
}

#[test]
fn infinities_f32() {
    infinities::<f32>();
}

#[test]
fn infinities_f64() {
    infinities::<f64>();
}

fn overflow_is_plus_inf<T: Float>() {
    let (max, zero) = (T::MAX, T::from(0.0));
    for reduction in REDUCTIONS {
        // One difference too large for the type.
        let tv =
            total_variation(&[max, T::LOWEST], &[1, 2], reduction).unwrap();
        assert!(is_plus_inf(tv[0]), "{reduction:?}");
        // Two finite differences whose sum is too large.
        let tv = total_variation(&[zero, max, zero], &[3, 1], reduction);
        assert!(is_plus_inf(tv.unwrap()[0]), "{reduction:?}");
        // A long row of large differences, summed across lanes and blocks.
        let half = max / T::from(2.0);
        let row: Vec<T> =
            (0..300).map(|j| if j % 2 == 0 { zero } else { half }).collect();
        let tv = total_variation(&row, &[1, 300], reduction).unwrap();
        assert!(is_plus_inf(tv[0]), "{reduction:?}");
    }
}

#[test]
fn overflow_is_plus_inf_f32() {
    overflow_is_plus_inf::<f32>();
}

#[test]
fn overflow_is_plus_inf_f64() {
    overflow_is_plus_inf::<f64>();
}

/// `[[NaN, 1], [3, 0]]`: the differences with the NaN have sign 0. Left
/// are `0 − 3` (horizontal, row 1) and `0 − 1` (vertical, column 1):
/// x01 gets +1 from below, x10 +1 from its right, x11 −1 twice.
fn gradient_through_nan<T: Float>() {
    let img = cast::<T>(&[f32::NAN, 1.0, 3.0, 0.0]);
    let grad =
        total_variation_grad(&img, &[2, 2], Reduction::Sum, &[T::from(1.0)]);
    assert_eq!(grad.unwrap(), cast::<T>(&[0.0, 1.0, 1.0, -2.0]));
    // Two differences per term: each weighs 1/2 with Mean.
    let grad =
        total_variation_grad(&img, &[2, 2], Reduction::Mean, &[T::from(1.0)]);
    assert_eq!(grad.unwrap(), cast::<T>(&[0.0, 0.5, 0.5, -1.0]));

    // Every difference of a row around a NaN is NaN: no gradient at all.
    let img = cast::<T>(&[0.0, f32::NAN, 2.0]);
    for reduction in REDUCTIONS {
        let grad =
            total_variation_grad(&img, &[1, 3], reduction, &[T::from(5.0)]);
        assert_eq!(grad.unwrap(), cast::<T>(&[0.0; 3]));
    }

    // An infinity has a sign: |1 − inf| pulls inf down and 1 up.
    let img = [T::INFINITY, T::from(1.0)];
    let grad =
        total_variation_grad(&img, &[2, 1], Reduction::Sum, &[T::from(1.0)]);
    assert_eq!(grad.unwrap(), cast::<T>(&[1.0, -1.0]));
}

#[test]
fn gradient_through_nan_f32() {
    gradient_through_nan::<f32>();
}

#[test]
fn gradient_through_nan_f64() {
    gradient_through_nan::<f64>();
}

// ---------------------------------------------------------------------
// Empty and thin shapes.
// ---------------------------------------------------------------------

/// Every form of every type on a shape with no element, expecting
/// `planes` zeros.
fn check_empty_shape(shape: &[usize], planes: usize) {
    for reduction in REDUCTIONS {
        assert_eq!(
            total_variation::<f32>(&[], shape, reduction).unwrap(),
            vec![0.0; planes]
        );
        assert_eq!(
            total_variation::<f64>(&[], shape, reduction).unwrap(),
            vec![0.0; planes]
        );
        assert_eq!(
            total_variation::<u8>(&[], shape, reduction).unwrap(),
            vec![0.0; planes]
        );
        assert_eq!(
            total_variation::<u16>(&[], shape, reduction).unwrap(),
            vec![0.0; planes]
        );
        assert_eq!(
            total_variation::<i16>(&[], shape, reduction).unwrap(),
            vec![0.0; planes]
        );

        let mut out = vec![SENTINEL; planes];
        total_variation_into::<f32>(&[], shape, reduction, &mut out).unwrap();
        assert_eq!(out, vec![0.0; planes]);
        let mut out = vec![f64::from(SENTINEL); planes];
        total_variation_into::<i16>(&[], shape, reduction, &mut out).unwrap();
        assert_eq!(out, vec![0.0; planes]);

        let upstream = vec![1.0f64; planes];
        let grad =
            total_variation_grad::<f64>(&[], shape, reduction, &upstream);
        assert_eq!(grad.unwrap(), Vec::<f64>::new());
        let upstream = vec![1.0f32; planes];
        total_variation_grad_into::<f32>(
            &[],
            shape,
            reduction,
            &upstream,
            &mut [],
        )
        .unwrap();
    }
    assert_eq!(
        total_variation_exact::<u8>(&[], shape).unwrap(),
        vec![0; planes]
    );
    assert_eq!(
        total_variation_exact::<u16>(&[], shape).unwrap(),
        vec![0; planes]
    );
    let mut exact = vec![u64::MAX; planes];
    let layout = Layout::new(shape).unwrap();
    TotalVariation::new()
        .exact_sum_into::<i16>(&[], &layout, &mut exact)
        .unwrap();
    assert_eq!(exact, vec![0; planes]);
}

#[test]
fn no_plane_gives_an_empty_output() {
    check_empty_shape(&[0, 3, 4], 0);
    check_empty_shape(&[2, 0, 3, 4], 0);
    check_empty_shape(&[3, 0, 0, 2, 2], 0);
}

#[test]
fn empty_planes_give_zeros() {
    check_empty_shape(&[0, 0], 1);
    check_empty_shape(&[0, 5], 1);
    check_empty_shape(&[5, 0], 1);
    check_empty_shape(&[2, 0, 4], 2);
    check_empty_shape(&[2, 4, 0], 2);
    check_empty_shape(&[2, 3, 1, 0], 6);
}

/// `[0, 3, 1, 1]` has the differences 3, 2 and 0: the sum 5, and 5/3 as a
/// mean. Laid out as one row there is no vertical term; as one column no
/// horizontal term. Both give the same values and gradients.
fn thin_planes<T: Float>() {
    let img = cast::<T>(&[0.0, 3.0, 1.0, 1.0]);
    let g = [T::from(3.0)];
    for shape in [[1, 4], [4, 1]] {
        let tv = total_variation(&img, &shape, Reduction::Sum).unwrap();
        assert_eq!(tv, [T::from(5.0)], "{shape:?}");
        let tv = total_variation(&img, &shape, Reduction::Mean).unwrap();
        assert_eq!(tv, [T::from(5.0) / T::from(3.0)], "{shape:?}");

        // Signs of the differences: +1, −1, 0.
        let grad = total_variation_grad(&img, &shape, Reduction::Sum, &g);
        assert_eq!(grad.unwrap(), cast::<T>(&[-3.0, 6.0, -3.0, 0.0]));
        let grad = total_variation_grad(&img, &shape, Reduction::Mean, &g);
        assert_eq!(grad.unwrap(), cast::<T>(&[-1.0, 2.0, -1.0, 0.0]));
    }
    // A single pixel, alone or in a batch: nothing to differ from.
    for reduction in REDUCTIONS {
        let img = cast::<T>(&[7.0, -2.0, 9.5]);
        let tv = total_variation(&img, &[3, 1, 1], reduction).unwrap();
        assert_eq!(tv, cast::<T>(&[0.0; 3]));
        let upstream = cast::<T>(&[1.0, 2.0, 3.0]);
        let grad = total_variation_grad(&img, &[3, 1, 1], reduction, &upstream);
        assert_eq!(grad.unwrap(), cast::<T>(&[0.0; 3]));
    }
}

#[test]
fn thin_planes_f32() {
    thin_planes::<f32>();
}

#[test]
fn thin_planes_f64() {
    thin_planes::<f64>();
}

#[test]
fn thin_integer_planes() {
    for shape in [[1, 4], [4, 1]] {
        let img = [0u8, 3, 1, 1];
        assert_eq!(total_variation_exact(&img, &shape).unwrap(), [5]);
        assert_eq!(
            total_variation(&img, &shape, Reduction::Sum).unwrap(),
            [5.0]
        );
        assert_eq!(
            total_variation(&img, &shape, Reduction::Mean).unwrap(),
            [5.0 / 3.0]
        );
    }
}

// ---------------------------------------------------------------------
// Integer extremes.
// ---------------------------------------------------------------------

/// `[[lo, hi, lo], [hi, lo, hi]]`: every one of the 3 vertical and 4
/// horizontal differences is `hi − lo`.
fn check_extreme_plane<T: total_variation::IntegerElement + Debug>(
    lo: T,
    hi: T,
    range: u64,
) {
    let img = [lo, hi, lo, hi, lo, hi];
    assert_eq!(total_variation_exact(&img, &[2, 3]).unwrap(), [7 * range]);
    let sum = total_variation(&img, &[2, 3], Reduction::Sum).unwrap();
    assert_eq!(sum, [(7 * range) as f64]);
    // Each term's mean is one difference.
    let mean = total_variation(&img, &[2, 3], Reduction::Mean).unwrap();
    assert_eq!(mean, [(2 * range) as f64]);
}

#[test]
fn integer_extremes() {
    check_extreme_plane(0u8, 255, 255);
    check_extreme_plane(0u16, 65535, 65535);
    check_extreme_plane(i16::MIN, i16::MAX, 65535);
    // 7·255 and 7·65535, written out.
    assert_eq!(
        total_variation_exact(&[0u8, 255, 0, 255, 0, 255], &[2, 3]).unwrap(),
        [1785]
    );
    assert_eq!(
        total_variation_exact(
            &[-32768i16, 32767, -32768, 32767, -32768, 32767],
            &[2, 3]
        )
        .unwrap(),
        [458_745]
    );
}

/// A checkerboard of the two extremes: every one of the `2·n·(n − 1)`
/// differences is the whole range. For `n = 300` and a range of 65535 the
/// total, 11 756 979 000, does not fit in 32 bits.
fn check_extreme_checkerboard<T: total_variation::IntegerElement + Debug>(
    lo: T,
    hi: T,
    range: u64,
    n: usize,
) {
    let img: Vec<T> = (0..n * n)
        .map(|k| if (k / n + k % n).is_multiple_of(2) { lo } else { hi })
        .collect();
    let differences = (2 * n * (n - 1)) as u64;
    let shape = [1, n, n];
    assert_eq!(
        total_variation_exact(&img, &shape).unwrap(),
        [differences * range]
    );
    let sum = total_variation(&img, &shape, Reduction::Sum).unwrap();
    assert_eq!(sum, [(differences * range) as f64]);
    let mean = total_variation(&img, &shape, Reduction::Mean).unwrap();
    assert_eq!(mean, [(2 * range) as f64]);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "too slow under miri (about 5 minutes); \
    tests/kernel_tails.rs runs the integer kernels there"
)]
fn integer_extreme_checkerboards() {
    check_extreme_checkerboard(0u8, u8::MAX, 255, 256);
    check_extreme_checkerboard(0u16, u16::MAX, 65535, 300);
    check_extreme_checkerboard(i16::MIN, i16::MAX, 65535, 300);
    assert_eq!(2 * 300 * 299 * 65535u64, 11_756_979_000);
    assert!(11_756_979_000u64 > u64::from(u32::MAX));
}

// ---------------------------------------------------------------------
// The allocation-free forms.
// ---------------------------------------------------------------------

/// Deterministic pixels in [−8, 8), with repeats so that some
/// differences are zero.
fn pixels<T: Float>(len: usize, seed: u32) -> Vec<T> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let v = (state >> 16) as f32 / 4096.0 - 8.0;
            T::from(if state.is_multiple_of(5) { 1.0 } else { v })
        })
        .collect()
}

/// Every `_into` form writes what its `Vec` form returns, bit for bit,
/// over every element of a NaN-filled output.
fn into_forms_match_vec_forms<T: Float>() {
    let shapes: [&[usize]; 7] = [
        &[3, 5, 7],
        &[2, 2, 1, 33],
        &[1, 40, 1],
        &[4, 17, 19],
        &[0, 3, 3],
        &[2, 0, 3],
        &[1, 1],
    ];
    for (seed, shape) in shapes.iter().enumerate() {
        let len: usize = shape.iter().product();
        let planes = Layout::new(shape).unwrap().planes();
        let img = pixels::<T>(len, seed as u32);
        let upstream = pixels::<T>(planes, seed as u32 + 100);
        for reduction in REDUCTIONS {
            let values = total_variation(&img, shape, reduction).unwrap();
            let mut out = vec![T::NAN; planes];
            total_variation_into(&img, shape, reduction, &mut out).unwrap();
            let bits = |v: &[T]| {
                v.iter().map(|&x| x.into().to_bits()).collect::<Vec<_>>()
            };
            assert_eq!(bits(&out), bits(&values), "{shape:?} {reduction:?}");

            let grad = total_variation_grad(&img, shape, reduction, &upstream)
                .unwrap();
            let mut into = vec![T::NAN; len];
            total_variation_grad_into(
                &img, shape, reduction, &upstream, &mut into,
            )
            .unwrap();
            assert_eq!(bits(&into), bits(&grad), "{shape:?} {reduction:?}");

            // The configuration object gives the same bits again.
            let tv = TotalVariation::new().with_reduction(reduction);
            let layout = Layout::new(shape).unwrap();
            assert_eq!(bits(&tv.value(&img, &layout).unwrap()), bits(&values));
            let mut again = vec![T::NAN; len];
            tv.gradient_into(&img, &layout, &upstream, &mut again).unwrap();
            assert_eq!(bits(&again), bits(&grad));
        }
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "too slow under miri (about a minute); \
    tests/kernel_tails.rs runs the kernels there"
)]
fn into_forms_match_vec_forms_f32() {
    into_forms_match_vec_forms::<f32>();
}

#[test]
#[cfg_attr(
    miri,
    ignore = "too slow under miri (about a minute); \
    tests/kernel_tails.rs runs the kernels there"
)]
fn into_forms_match_vec_forms_f64() {
    into_forms_match_vec_forms::<f64>();
}

#[test]
fn integer_into_forms_match_vec_forms() {
    let img: Vec<u16> =
        (0..3 * 7 * 9u32).map(|k| (k * 7919 % 65536) as u16).collect();
    let shape = [3, 7, 9];
    let layout = Layout::new(&shape).unwrap();
    let mut exact = [u64::MAX; 3];
    TotalVariation::new().exact_sum_into(&img, &layout, &mut exact).unwrap();
    assert_eq!(exact.to_vec(), total_variation_exact(&img, &shape).unwrap());
    for reduction in REDUCTIONS {
        let mut out = [f64::NAN; 3];
        total_variation_into(&img, &shape, reduction, &mut out).unwrap();
        let values = total_variation(&img, &shape, reduction).unwrap();
        assert_eq!(
            out.map(f64::to_bits).to_vec(),
            values.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
}

/// A plane with no column may have any number of rows: the element count
/// is 0 however large the other dimensions are, and nothing overflows
/// (this runs with overflow checks in debug builds).
#[test]
fn zero_width_with_huge_dimensions() {
    let layout = Layout::new(&[usize::MAX, 2, 0]).unwrap();
    assert_eq!((layout.len(), layout.plane_len()), (0, 0));
    assert_eq!(
        total_variation::<f32>(&[], &[3, usize::MAX, 0], Reduction::Sum),
        Ok(vec![0.0; 3])
    );
    assert_eq!(
        total_variation::<f64>(&[], &[2, usize::MAX, 0], Reduction::Mean),
        Ok(vec![0.0; 2])
    );
}

// ---------------------------------------------------------------------
// Norms.
// ---------------------------------------------------------------------

/// The error of a value and a gradient with `norm` on an `f32` and an
/// `f64` image, or `None` where they succeed; both calls must agree.
fn norm_errors(norm: Norm) -> [Option<Error>; 2] {
    let tv = TotalVariation::new().with_norm(norm);
    let layout = Layout::new(&[2, 2]).unwrap();
    let f32_value = tv.value(&[0.0f32; 4], &layout).err();
    let f32_grad = tv.gradient(&[0.0f32; 4], &layout, &[1.0]).err();
    let f64_value = tv.value(&[0.0f64; 4], &layout).err();
    let f64_grad = tv.gradient(&[0.0f64; 4], &layout, &[1.0]).err();
    assert_eq!(f32_value, f32_grad, "{norm:?}");
    assert_eq!(f64_value, f64_grad, "{norm:?}");
    [f32_value, f64_value]
}

#[test]
fn epsilon_that_is_not_finite_and_positive_is_refused() {
    for epsilon in [0.0, -0.0, -1.0, f64::NAN, f64::INFINITY, -f64::INFINITY] {
        let norm = Norm::Smooth { epsilon };
        let errors = norm_errors(norm);
        assert_eq!(
            errors,
            [
                Some(Error::InvalidEpsilon { norm, element: "f32" }),
                Some(Error::InvalidEpsilon { norm, element: "f64" }),
            ]
        );
        assert_message_has(
            errors[1].unwrap(),
            &["epsilon", "finite and positive", "in f64"],
        );
    }
    let err = norm_errors(Norm::Smooth { epsilon: -2.5 })[0].unwrap();
    assert_message_has(err, &["in f32", "got -2.5e0"]);
}

#[test]
fn epsilon_whose_square_leaves_the_element_type_is_refused() {
    // 1e-30² = 1e-60 is 0 in f32 (its least subnormal is 1.4e-45), and
    // 1e20² = 1e40 is beyond f32::MAX (3.4e38); both are fine in f64.
    for epsilon in [1e-30, 1e20, 1e-50, f64::from(f32::MAX)] {
        let norm = Norm::Smooth { epsilon };
        let [f32_error, f64_error] = norm_errors(norm);
        assert_eq!(
            f32_error,
            Some(Error::InvalidEpsilon { norm, element: "f32" })
        );
        assert_eq!(f64_error, None, "{epsilon}");
    }
    // In f64: 1e-170² underflows to 0 and 1e160² overflows.
    for epsilon in [1e-170, 1e160, f64::MAX, f64::MIN_POSITIVE] {
        let norm = Norm::Smooth { epsilon };
        assert_eq!(
            norm_errors(norm)[1],
            Some(Error::InvalidEpsilon { norm, element: "f64" }),
        );
    }
    // A square that is subnormal but not zero is usable: 1e-21² = 1e-42
    // in f32.
    assert_eq!(norm_errors(Norm::Smooth { epsilon: 1e-21 }), [None, None]);
}

#[test]
fn epsilon_is_checked_even_without_a_pixel() {
    let norm = Norm::Smooth { epsilon: f64::NAN };
    let tv = TotalVariation::new().with_norm(norm);
    let layout = Layout::new(&[0, 4, 4]).unwrap();
    assert_eq!(
        tv.value::<f32>(&[], &layout),
        Err(Error::InvalidEpsilon { norm, element: "f32" })
    );
}

#[test]
fn integer_images_take_only_the_anisotropic_norm() {
    let layout = Layout::new(&[2, 2]).unwrap();
    let norms =
        [Norm::Isotropic, Norm::SquaredL2, Norm::Smooth { epsilon: 1.0 }];
    for norm in norms {
        let tv = TotalVariation::new().with_norm(norm);
        let expected = Err(Error::NormNotForIntegers { norm });
        assert_eq!(tv.value(&[0u8; 4], &layout), expected);
        assert_eq!(tv.value(&[0u16; 4], &layout), expected);
        assert_eq!(tv.value(&[0i16; 4], &layout), expected);
        assert_eq!(tv.exact_sum(&[0u8; 4], &layout), expected.map(|_| vec![]));
        assert_message_has(
            Error::NormNotForIntegers { norm },
            &["takes only f32 and f64 images", "anisotropic"],
        );
    }
    let tv = TotalVariation::new().with_norm(Norm::Anisotropic);
    assert_eq!(tv.value(&[0u8, 3, 0, 0], &layout), Ok(vec![6.0]));
}

#[test]
fn norms_compare_epsilon_by_bits() {
    let nan = Norm::Smooth { epsilon: f64::NAN };
    assert_eq!(nan, nan);
    assert_ne!(Norm::Smooth { epsilon: 0.0 }, Norm::Smooth { epsilon: -0.0 });
    assert_ne!(Norm::Isotropic, Norm::SquaredL2);
    assert_eq!(Norm::default(), Norm::Anisotropic);
}

/// Isotropic TV has no gradient where both differences of a pixel are 0:
/// the subgradient 0 is used, so flat regions give 0, never NaN, even
/// next to infinite upstream values.
#[test]
fn isotropic_gradient_at_zero_is_zero() {
    let layout = Layout::new(&[3, 20]).unwrap();
    let tv = TotalVariation::new().with_norm(Norm::Isotropic);
    let flat = vec![2.0f32; layout.len()];
    let grad = tv.gradient(&flat, &layout, &[1e38]).unwrap();
    assert!(grad.iter().all(|&g| g == 0.0), "{grad:?}");
    // A difference so small that its square underflows to 0 also takes
    // the subgradient: 1e-30 − 0 in f32 squares to 0.
    let mut img = vec![0.0f32; layout.len()];
    img[25] = 1e-30;
    let grad = tv.gradient(&img, &layout, &[1.0]).unwrap();
    assert!(grad.iter().all(|g| g.is_finite()), "{grad:?}");
}

/// Differences that overflow are the documented limit: a finite image
/// whose neighbours differ by more than `f32::MAX` has an infinite
/// difference, so an infinite value and a NaN gradient.
#[test]
fn overflowing_differences_are_the_limit() {
    let layout = Layout::new(&[1, 2]).unwrap();
    let tv = TotalVariation::new().with_norm(Norm::Isotropic);
    let img = [-f32::MAX, f32::MAX];
    assert_eq!(tv.value(&img, &layout).unwrap(), [f32::INFINITY]);
    let grad = tv.gradient(&img, &layout, &[1.0]).unwrap();
    assert!(grad.iter().all(|g| g.is_nan()), "{grad:?}");
    // Squares that overflow (|d| > 1.8e19 in f32) give an infinite value
    // and, for the isotropic norm, a gradient of 0 instead of ±1.
    let img = [0.0f32, 1e20];
    assert_eq!(tv.value(&img, &layout).unwrap(), [f32::INFINITY]);
    assert_eq!(tv.gradient(&img, &layout, &[1.0]).unwrap(), [-0.0, 0.0]);
}
