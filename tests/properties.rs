//! Properties of every entry point, for every pixel type and reduction,
//! checked against a naive reference written here.
//!
//! The reference works in `f64` (and in `i64` for the exact integer
//! totals) with plain double loops over the pixels, one difference at a
//! time, counting the differences as it goes. It shares nothing with the
//! crate's kernels: no lanes, no blocks, no pairwise tree.
//!
//! Where a result must be exact (integer images, integer-valued floats
//! whose sums stay exact, gradients of sums) the comparison is exact.
//! Elsewhere one rule, [`tolerance`], decides.

// The tests use the functions that return a `Vec`.
#![cfg(feature = "alloc")]

use proptest::prelude::*;
use total_variation::{
    FloatElement, IntegerElement, Reduction, total_variation,
    total_variation_exact, total_variation_grad,
};

// ---------------------------------------------------------------------
// The naive reference.
// ---------------------------------------------------------------------

/// `(planes, height, width)` of a shape `(*, H, W)`.
fn dims(shape: &[usize]) -> (usize, usize, usize) {
    let (leading, plane) = shape.split_at(shape.len() - 2);
    (leading.iter().product(), plane[0], plane[1])
}

/// The vertical and horizontal totals of one plane, and how many
/// differences each one adds up.
#[derive(Clone, Copy, Debug, Default)]
struct Totals<S> {
    vertical: S,
    horizontal: S,
    vertical_count: usize,
    horizontal_count: usize,
}

/// The totals of every plane, summed left to right in `f64`.
fn naive_totals(img: &[f64], shape: &[usize]) -> Vec<Totals<f64>> {
    let (planes, h, w) = dims(shape);
    let at = |p: usize, i: usize, j: usize| img[(p * h + i) * w + j];
    let mut all = Vec::new();
    for p in 0..planes {
        let mut t = Totals::default();
        for i in 0..h {
            for j in 0..w {
                if i + 1 < h {
                    t.vertical += (at(p, i + 1, j) - at(p, i, j)).abs();
                    t.vertical_count += 1;
                }
                if j + 1 < w {
                    t.horizontal += (at(p, i, j + 1) - at(p, i, j)).abs();
                    t.horizontal_count += 1;
                }
            }
        }
        all.push(t);
    }
    all
}

/// The totals of every plane of an integer image, exactly.
fn naive_exact_totals(img: &[i64], shape: &[usize]) -> Vec<Totals<u64>> {
    let (planes, h, w) = dims(shape);
    let at = |p: usize, i: usize, j: usize| img[(p * h + i) * w + j];
    let mut all = Vec::new();
    for p in 0..planes {
        let mut t = Totals::default();
        for i in 0..h {
            for j in 0..w {
                if i + 1 < h {
                    t.vertical +=
                        (at(p, i + 1, j) - at(p, i, j)).unsigned_abs();
                    t.vertical_count += 1;
                }
                if j + 1 < w {
                    t.horizontal +=
                        (at(p, i, j + 1) - at(p, i, j)).unsigned_abs();
                    t.horizontal_count += 1;
                }
            }
        }
        all.push(t);
    }
    all
}

/// A term's mean; a term without differences counts as zero.
fn naive_mean(total: f64, count: usize) -> f64 {
    if count == 0 { 0.0 } else { total / count as f64 }
}

/// One plane's value from its totals.
fn naive_value(t: &Totals<f64>, reduction: Reduction) -> f64 {
    match reduction {
        Reduction::Sum => t.vertical + t.horizontal,
        Reduction::Mean => {
            naive_mean(t.vertical, t.vertical_count)
                + naive_mean(t.horizontal, t.horizontal_count)
        }
        _ => panic!("the reference knows only Sum and Mean"),
    }
}

/// `1`, `-1`, or `0` for zero and NaN.
fn naive_sign(d: f64) -> f64 {
    if d > 0.0 {
        1.0
    } else if d < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The gradient of `Σₚ upstream[p]·TVₚ`, built difference by difference:
/// each `|b − a|` adds `sign(b − a)·g` to `b` and subtracts it from `a`.
/// Also returns, per element, the sum of the absolute values of the terms
/// it received: the scale of its rounding error.
fn naive_gradient(
    img: &[f64],
    shape: &[usize],
    reduction: Reduction,
    upstream: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let (_, h, w) = dims(shape);
    let mut grad = vec![0.0; img.len()];
    let mut scale = vec![0.0; img.len()];
    let totals = naive_totals(img, shape);
    for (p, (t, &g)) in totals.iter().zip(upstream).enumerate() {
        let (g_vertical, g_horizontal) = match reduction {
            Reduction::Sum => (g, g),
            Reduction::Mean => (
                naive_mean(g, t.vertical_count),
                naive_mean(g, t.horizontal_count),
            ),
            _ => panic!("the reference knows only Sum and Mean"),
        };
        let index = |i: usize, j: usize| (p * h + i) * w + j;
        let mut add = |a: usize, b: usize, g: f64| {
            let term = naive_sign(img[b] - img[a]) * g;
            grad[b] += term;
            grad[a] -= term;
            scale[b] += term.abs();
            scale[a] += term.abs();
        };
        for i in 0..h {
            for j in 0..w {
                if i + 1 < h {
                    add(index(i, j), index(i + 1, j), g_vertical);
                }
                if j + 1 < w {
                    add(index(i, j), index(i, j + 1), g_horizontal);
                }
            }
        }
    }
    (grad, scale)
}

/// The planes of an image transposed one by one: `(*, H, W)` becomes
/// `(*, W, H)`.
fn transpose<T: Copy>(img: &[T], shape: &[usize]) -> (Vec<T>, Vec<usize>) {
    let (planes, h, w) = dims(shape);
    let mut out = Vec::with_capacity(img.len());
    for p in 0..planes {
        for j in 0..w {
            for i in 0..h {
                out.push(img[(p * h + i) * w + j]);
            }
        }
    }
    let mut transposed_shape = shape.to_vec();
    let n = shape.len();
    transposed_shape.swap(n - 2, n - 1);
    (out, transposed_shape)
}

// ---------------------------------------------------------------------
// The tolerance rule.
// ---------------------------------------------------------------------

/// How far a floating-point result of type `T` may be from the reference,
/// for a result that adds `terms` values whose absolute values sum to
/// `magnitude`.
///
/// `T::RELATIVE · log2(terms + 2)` covers the crate's own rounding: one
/// rounding per difference, then a pairwise sum whose error grows with the
/// logarithm of the count (1e-5 for `f32` and 1e-14 for `f64`, far above
/// the about 20 roundings of `2^-24` or `2^-53` it needs at these sizes).
/// `(terms + 1)·2^-53` covers the reference's own naive, left-to-right
/// `f64` sum.
fn tolerance<T: TestFloat>(terms: usize, magnitude: f64) -> f64 {
    let pairwise = T::RELATIVE * ((terms + 2) as f64).log2();
    let reference = (terms + 1) as f64 * f64::EPSILON / 2.0;
    (pairwise + reference) * magnitude
}

// ---------------------------------------------------------------------
// The pixel types, seen from the tests.
// ---------------------------------------------------------------------

trait TestFloat: FloatElement + PartialEq + core::fmt::Debug {
    /// The factor of `log2(terms + 2)` in [`tolerance`].
    const RELATIVE: f64;
    /// The type's machine epsilon.
    const EPSILON: f64;
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn bits(self) -> u64;
}

impl TestFloat for f32 {
    const RELATIVE: f64 = 1e-5;
    const EPSILON: f64 = f32::EPSILON as f64;
    fn from_f64(v: f64) -> f32 {
        v as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn bits(self) -> u64 {
        u64::from(self.to_bits())
    }
}

impl TestFloat for f64 {
    const RELATIVE: f64 = 1e-14;
    const EPSILON: f64 = f64::EPSILON;
    fn from_f64(v: f64) -> f64 {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn bits(self) -> u64 {
        self.to_bits()
    }
}

trait TestInt: IntegerElement + core::fmt::Debug {
    const MIN: i64;
    const MAX: i64;
    fn from_i64(v: i64) -> Self;
    fn to_i64(self) -> i64;
}

macro_rules! test_int {
    ($t:ty) => {
        impl TestInt for $t {
            const MIN: i64 = <$t>::MIN as i64;
            const MAX: i64 = <$t>::MAX as i64;
            fn from_i64(v: i64) -> $t {
                <$t>::try_from(v).expect("value in range")
            }
            fn to_i64(self) -> i64 {
                i64::from(self)
            }
        }
    };
}

test_int!(u8);
test_int!(u16);
test_int!(i16);

fn to_f64<T: TestFloat>(img: &[T]) -> Vec<f64> {
    img.iter().map(|&x| x.to_f64()).collect()
}

fn to_i64<T: TestInt>(img: &[T]) -> Vec<i64> {
    img.iter().map(|&x| x.to_i64()).collect()
}

fn from_i64<T: TestInt>(img: &[i64]) -> Vec<T> {
    img.iter().map(|&x| T::from_i64(x)).collect()
}

fn from_f64<T: TestFloat>(img: &[f64]) -> Vec<T> {
    img.iter().map(|&x| T::from_f64(x)).collect()
}

fn float_bits<T: TestFloat>(values: &[T]) -> Vec<u64> {
    values.iter().map(|&x| x.bits()).collect()
}

fn f64_bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|&x| x.to_bits()).collect()
}

// ---------------------------------------------------------------------
// Strategies.
// ---------------------------------------------------------------------

/// The largest image generated: big enough for many pairwise blocks in
/// one plane, small enough for a fast debug build.
const MAX_ELEMENTS: usize = 4096;

/// `(H, W)`: tiny planes, squares, and long thin rows and columns that
/// reach every tail length around the lane counts.
fn plane_dims() -> impl Strategy<Value = (usize, usize)> {
    prop_oneof![
        (0usize..=3, 0usize..=3),
        (0usize..=40, 0usize..=40),
        (0usize..=4, 0usize..=600),
        (0usize..=600, 0usize..=4),
        (1usize..=64, 1usize..=64),
    ]
}

/// Shapes `(*, H, W)` with 0 to 3 leading dimensions and at most
/// [`MAX_ELEMENTS`] elements.
fn shapes() -> impl Strategy<Value = Vec<usize>> {
    (prop::collection::vec(0usize..=4, 0..=3), plane_dims()).prop_map(
        |(mut shape, (h, w))| {
            let plane_len = (h * w).max(1);
            while shape.iter().product::<usize>() * plane_len > MAX_ELEMENTS {
                *shape.iter_mut().max().expect("a leading dimension") -= 1;
            }
            shape.extend([h, w]);
            shape
        },
    )
}

fn images<T: core::fmt::Debug>(
    pixel: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = (Vec<usize>, Vec<T>)> {
    shapes().prop_flat_map(move |shape| {
        let len: usize = shape.iter().product();
        (Just(shape), prop::collection::vec(pixel.clone(), len))
    })
}

fn reductions() -> impl Strategy<Value = Reduction> {
    prop_oneof![Just(Reduction::Sum), Just(Reduction::Mean)]
}

/// Any value of the type, with its extremes and runs of equal
/// neighbours made frequent, drawn from 64 random bits. (One plain
/// function of a `u64` per pixel generates images several times faster
/// than a union of strategies in a debug build.)
fn integer_pixel<T: TestInt>(raw: u64) -> T {
    let bits = (raw >> 3) as i64;
    T::from_i64(match raw % 8 {
        0 | 1 => bits % 3,
        2 => T::MIN,
        3 => T::MAX,
        _ => T::MIN + bits % (T::MAX - T::MIN + 1),
    })
}

fn integer_pixels<T: TestInt>() -> impl Strategy<Value = T> + Clone {
    any::<u64>().prop_map(integer_pixel::<T>)
}

/// Small integers for runs of equal neighbours, zeros of both signs, and
/// values from `2^-40` to `2^40` in size with 48 random mantissa bits,
/// drawn from 64 random bits.
fn finite_pixel<T: TestFloat>(raw: u64) -> T {
    const SMALL: [f64; 7] = [0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0];
    T::from_f64(match raw % 8 {
        0 | 1 => SMALL[(raw >> 3) as usize % SMALL.len()],
        2 => -0.0,
        _ => {
            let exponent = ((raw >> 3) & 0x1fff) as i32 % 81 - 40;
            let mantissa = (raw >> 16) as f64 / (1u64 << 48) as f64;
            (2.0 * mantissa - 1.0) * 2f64.powi(exponent)
        }
    })
}

fn finite_pixels<T: TestFloat>() -> impl Strategy<Value = T> + Clone {
    any::<u64>().prop_map(finite_pixel::<T>)
}

/// As [`finite_pixel`], but one pixel in 64 is NaN, `+inf` or `-inf`.
fn any_pixel<T: TestFloat>(raw: u64) -> T {
    const NON_FINITE: [f64; 3] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
    if raw % 64 == 63 {
        T::from_f64(NON_FINITE[(raw >> 6) as usize % NON_FINITE.len()])
    } else {
        finite_pixel(raw >> 6)
    }
}

fn any_pixels<T: TestFloat>() -> impl Strategy<Value = T> + Clone {
    any::<u64>().prop_map(any_pixel::<T>)
}

/// Integer-valued floats small enough that every sum of a generated image
/// is exact, even in `f32`: at most `2·4096` differences of at most 200.
fn integer_valued_pixels<T: TestFloat>() -> impl Strategy<Value = T> + Clone {
    (-100i32..=100).prop_map(|v| T::from_f64(f64::from(v)))
}

/// One upstream value per plane (the shapes have at most 4^3 planes).
fn upstreams<T: TestFloat>(
    value: impl Strategy<Value = f64>,
) -> impl Strategy<Value = Vec<T>> {
    prop::collection::vec(value.prop_map(T::from_f64), 64)
}

/// Small integers: every gradient sum built from them is exact.
fn exact_upstream() -> impl Strategy<Value = f64> {
    (-8i32..=8).prop_map(f64::from)
}

fn any_upstream() -> impl Strategy<Value = f64> {
    -10.0f64..10.0
}

fn planes(shape: &[usize]) -> usize {
    dims(shape).0
}

// ---------------------------------------------------------------------
// Integer images.
// ---------------------------------------------------------------------

/// `total_variation_exact` equals the reference's `u64` totals, `Sum` is
/// that total as `f64` (exact below 2^53, which every total here is), and
/// `Mean` is the reference mean within an ulp or two.
fn check_integer_values<T: TestInt>(
    shape: &[usize],
    img: &[T],
    reduction: Reduction,
) -> Result<(), TestCaseError> {
    let want = naive_exact_totals(&to_i64(img), shape);
    let exact = total_variation_exact(img, shape).unwrap();
    let want_exact: Vec<u64> =
        want.iter().map(|t| t.vertical + t.horizontal).collect();
    prop_assert_eq!(&exact, &want_exact);

    let got = total_variation(img, shape, reduction).unwrap();
    prop_assert_eq!(got.len(), want.len());
    for (p, (&got, t)) in got.iter().zip(&want).enumerate() {
        let total = t.vertical + t.horizontal;
        prop_assert!(total < 1 << 53);
        if reduction == Reduction::Sum {
            prop_assert_eq!(got, total as f64, "plane {}", p);
        } else {
            let want = naive_mean(t.vertical as f64, t.vertical_count)
                + naive_mean(t.horizontal as f64, t.horizontal_count);
            prop_assert!(
                (got - want).abs() <= 2.0 * f64::EPSILON * want,
                "plane {}: {} != {}",
                p,
                got,
                want
            );
        }
    }
    Ok(())
}

/// Asserts that two integer images have the same exact totals and the
/// same values, bit for bit, with both reductions.
fn assert_same_integer_tv<T: TestInt>(
    (shape, img): (&[usize], &[T]),
    (other_shape, other): (&[usize], &[T]),
) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        total_variation_exact(img, shape).unwrap(),
        total_variation_exact(other, other_shape).unwrap()
    );
    for reduction in [Reduction::Sum, Reduction::Mean] {
        let a = total_variation(img, shape, reduction).unwrap();
        let b = total_variation(other, other_shape, reduction).unwrap();
        prop_assert_eq!(f64_bits(&a), f64_bits(&b), "{:?}", reduction);
    }
    Ok(())
}

fn check_integer_constant<T: TestInt>(
    shape: &[usize],
    value: T,
) -> Result<(), TestCaseError> {
    let img = vec![value; shape.iter().product()];
    let n = planes(shape);
    prop_assert_eq!(total_variation_exact(&img, shape).unwrap(), vec![0; n]);
    for reduction in [Reduction::Sum, Reduction::Mean] {
        let tv = total_variation(&img, shape, reduction).unwrap();
        prop_assert_eq!(f64_bits(&tv), vec![0; n]);
    }
    Ok(())
}

/// `TV(x + c) = TV(x)` for a `c` that keeps every pixel in range, drawn
/// from `raw`.
fn check_integer_shift<T: TestInt>(
    shape: &[usize],
    img: &[T],
    raw: u64,
) -> Result<(), TestCaseError> {
    let wide = to_i64(img);
    let lowest = wide.iter().copied().min().unwrap_or(0);
    let highest = wide.iter().copied().max().unwrap_or(0);
    let (from, to) = (T::MIN - lowest, T::MAX - highest);
    let c = from + (raw % (to - from + 1) as u64) as i64;
    let shifted: Vec<i64> = wide.iter().map(|&x| x + c).collect();
    assert_same_integer_tv((shape, img), (shape, &from_i64::<T>(&shifted)))
}

/// `TV(MIN + MAX − x) = TV(x)`: the reflection that maps the type's range
/// onto itself.
fn check_integer_reflection<T: TestInt>(
    shape: &[usize],
    img: &[T],
) -> Result<(), TestCaseError> {
    let reflected: Vec<i64> =
        to_i64(img).iter().map(|&x| T::MIN + T::MAX - x).collect();
    assert_same_integer_tv((shape, img), (shape, &from_i64::<T>(&reflected)))
}

fn check_integer_transpose<T: TestInt>(
    shape: &[usize],
    img: &[T],
) -> Result<(), TestCaseError> {
    let (transposed, transposed_shape) = transpose(img, shape);
    assert_same_integer_tv((shape, img), (&transposed_shape, &transposed))
}

/// Each plane computed alone gives the bits it has in the batch.
fn check_integer_batch<T: TestInt>(
    shape: &[usize],
    img: &[T],
) -> Result<(), TestCaseError> {
    let (planes, h, w) = dims(shape);
    let exact = total_variation_exact(img, shape).unwrap();
    let sum = total_variation(img, shape, Reduction::Sum).unwrap();
    let mean = total_variation(img, shape, Reduction::Mean).unwrap();
    for p in 0..planes {
        let plane = &img[p * h * w..(p + 1) * h * w];
        let one = total_variation_exact(plane, &[h, w]).unwrap();
        prop_assert_eq!(one, vec![exact[p]], "plane {}", p);
        for (reduction, batch) in
            [(Reduction::Sum, &sum), (Reduction::Mean, &mean)]
        {
            let one = total_variation(plane, &[h, w], reduction).unwrap();
            prop_assert_eq!(
                f64_bits(&one),
                vec![batch[p].to_bits()],
                "plane {}, {:?}",
                p,
                reduction
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------
// Floating-point images.
// ---------------------------------------------------------------------

/// Values within [`tolerance`] of the reference.
fn check_float_values<T: TestFloat>(
    shape: &[usize],
    img: &[T],
    reduction: Reduction,
) -> Result<(), TestCaseError> {
    let want = naive_totals(&to_f64(img), shape);
    let got = total_variation(img, shape, reduction).unwrap();
    prop_assert_eq!(got.len(), want.len());
    for (p, (&got, t)) in got.iter().zip(&want).enumerate() {
        let want = naive_value(t, reduction);
        let terms = t.vertical_count + t.horizontal_count;
        let allowed = tolerance::<T>(terms, want);
        prop_assert!(
            (got.to_f64() - want).abs() <= allowed,
            "plane {}: {:?} vs {} (allowed {})",
            p,
            got,
            want,
            allowed
        );
    }
    Ok(())
}

/// With non-finite pixels a plane is NaN where the reference is, `+inf`
/// where the reference is, and within [`tolerance`] elsewhere.
fn check_float_values_non_finite<T: TestFloat>(
    shape: &[usize],
    img: &[T],
    reduction: Reduction,
) -> Result<(), TestCaseError> {
    let want = naive_totals(&to_f64(img), shape);
    let got = total_variation(img, shape, reduction).unwrap();
    prop_assert_eq!(got.len(), want.len());
    for (p, (&got, t)) in got.iter().zip(&want).enumerate() {
        let (got, want) = (got.to_f64(), naive_value(t, reduction));
        if want.is_nan() {
            prop_assert!(got.is_nan(), "plane {}: {}", p, got);
        } else if want == f64::INFINITY {
            prop_assert_eq!(got, f64::INFINITY, "plane {}", p);
        } else {
            let terms = t.vertical_count + t.horizontal_count;
            let allowed = tolerance::<T>(terms, want);
            prop_assert!((got - want).abs() <= allowed, "plane {}", p);
        }
    }
    Ok(())
}

/// With integer-valued pixels every total is exact, so `Sum` equals the
/// reference exactly and `Mean` is within an ulp or two of it.
fn check_float_values_exact<T: TestFloat>(
    shape: &[usize],
    img: &[T],
    reduction: Reduction,
) -> Result<(), TestCaseError> {
    let want = naive_totals(&to_f64(img), shape);
    let got = total_variation(img, shape, reduction).unwrap();
    prop_assert_eq!(got.len(), want.len());
    for (p, (&got, t)) in got.iter().zip(&want).enumerate() {
        let want = naive_value(t, reduction);
        if reduction == Reduction::Sum {
            prop_assert_eq!(got, T::from_f64(want), "plane {}", p);
        } else {
            prop_assert!(
                (got.to_f64() - want).abs() <= 2.0 * T::EPSILON * want,
                "plane {}: {:?} vs {}",
                p,
                got,
                want
            );
        }
    }
    Ok(())
}

/// With `Sum` and small integer upstream values, the gradient is exact:
/// the sign of a rounded difference is the sign of the exact one (a
/// difference with a NaN, or of equal infinities, is NaN in both types and
/// has sign 0), and sums of a few small integers are exact.
fn check_gradient_exact<T: TestFloat>(
    shape: &[usize],
    img: &[T],
    upstream: &[T],
) -> Result<(), TestCaseError> {
    let upstream = &upstream[..planes(shape)];
    let (want, _) =
        naive_gradient(&to_f64(img), shape, Reduction::Sum, &to_f64(upstream));
    let got = total_variation_grad(img, shape, Reduction::Sum, upstream);
    prop_assert_eq!(got.unwrap(), from_f64::<T>(&want));
    Ok(())
}

/// Any upstream values, either reduction, pixels that may be non-finite:
/// each element within [`tolerance`] of the reference, for its four
/// terms.
fn check_gradient_close<T: TestFloat>(
    shape: &[usize],
    img: &[T],
    reduction: Reduction,
    upstream: &[T],
) -> Result<(), TestCaseError> {
    let upstream = &upstream[..planes(shape)];
    let (want, scale) =
        naive_gradient(&to_f64(img), shape, reduction, &to_f64(upstream));
    let got = total_variation_grad(img, shape, reduction, upstream).unwrap();
    prop_assert_eq!(got.len(), want.len());
    for (k, (&got, (&want, &scale))) in
        got.iter().zip(want.iter().zip(&scale)).enumerate()
    {
        let allowed = tolerance::<T>(4, scale);
        prop_assert!(
            (got.to_f64() - want).abs() <= allowed,
            "element {}: {:?} vs {} (allowed {})",
            k,
            got,
            want,
            allowed
        );
    }
    Ok(())
}

/// A constant plane has value 0 and gradient 0.
fn check_float_constant<T: TestFloat>(
    shape: &[usize],
    value: T,
    reduction: Reduction,
    upstream: &[T],
) -> Result<(), TestCaseError> {
    let upstream = &upstream[..planes(shape)];
    let img = vec![value; shape.iter().product()];
    let tv = total_variation(&img, shape, reduction).unwrap();
    prop_assert_eq!(float_bits(&tv), vec![0; planes(shape)]);
    let grad = total_variation_grad(&img, shape, reduction, upstream);
    prop_assert_eq!(grad.unwrap(), vec![T::from_f64(0.0); img.len()]);
    Ok(())
}

/// `TV(x + c) = TV(x)` bit for bit, and the gradient is unchanged, for
/// integer-valued pixels and an integer `c`: the shift is exact.
fn check_float_shift<T: TestFloat>(
    shape: &[usize],
    img: &[T],
    c: i32,
    reduction: Reduction,
    upstream: &[T],
) -> Result<(), TestCaseError> {
    let upstream = &upstream[..planes(shape)];
    let shifted: Vec<T> =
        img.iter().map(|&x| T::from_f64(x.to_f64() + f64::from(c))).collect();
    let a = total_variation(img, shape, reduction).unwrap();
    let b = total_variation(&shifted, shape, reduction).unwrap();
    prop_assert_eq!(float_bits(&a), float_bits(&b));
    let a = total_variation_grad(img, shape, reduction, upstream).unwrap();
    let b = total_variation_grad(&shifted, shape, reduction, upstream);
    prop_assert_eq!(a, b.unwrap());
    Ok(())
}

/// `TV(−x) = TV(x)` bit for bit for any finite pixels, and the gradient
/// changes sign.
fn check_float_negation<T: TestFloat>(
    shape: &[usize],
    img: &[T],
    reduction: Reduction,
    upstream: &[T],
) -> Result<(), TestCaseError> {
    let upstream = &upstream[..planes(shape)];
    let negated: Vec<T> =
        img.iter().map(|&x| T::from_f64(-x.to_f64())).collect();
    let a = total_variation(img, shape, reduction).unwrap();
    let b = total_variation(&negated, shape, reduction).unwrap();
    prop_assert_eq!(float_bits(&a), float_bits(&b));
    let a = total_variation_grad(img, shape, reduction, upstream).unwrap();
    let b = total_variation_grad(&negated, shape, reduction, upstream);
    let minus_a: Vec<T> = a.iter().map(|&x| T::from_f64(-x.to_f64())).collect();
    prop_assert_eq!(minus_a, b.unwrap());
    Ok(())
}

/// Transposing the planes of an integer-valued image keeps its values
/// exactly (the sums are exact in any order), and transposes the `Sum`
/// gradient for small integer upstream values.
fn check_float_transpose_exact<T: TestFloat>(
    shape: &[usize],
    img: &[T],
    upstream: &[T],
) -> Result<(), TestCaseError> {
    let upstream = &upstream[..planes(shape)];
    let (transposed, transposed_shape) = transpose(img, shape);
    for reduction in [Reduction::Sum, Reduction::Mean] {
        let a = total_variation(img, shape, reduction).unwrap();
        let b = total_variation(&transposed, &transposed_shape, reduction);
        prop_assert_eq!(a, b.unwrap(), "{:?}", reduction);
    }
    let grad =
        total_variation_grad(img, shape, Reduction::Sum, upstream).unwrap();
    let transposed_grad = total_variation_grad(
        &transposed,
        &transposed_shape,
        Reduction::Sum,
        upstream,
    );
    prop_assert_eq!(transpose(&grad, shape).0, transposed_grad.unwrap());
    Ok(())
}

/// Transposing the planes of any finite image changes the order of the
/// sums only: both values stay within [`tolerance`] of the reference, so
/// within twice that of each other.
fn check_float_transpose_close<T: TestFloat>(
    shape: &[usize],
    img: &[T],
    reduction: Reduction,
) -> Result<(), TestCaseError> {
    let (transposed, transposed_shape) = transpose(img, shape);
    let want = naive_totals(&to_f64(img), shape);
    let a = total_variation(img, shape, reduction).unwrap();
    let b = total_variation(&transposed, &transposed_shape, reduction);
    for (p, ((a, b), t)) in a.iter().zip(b.unwrap()).zip(&want).enumerate() {
        let terms = t.vertical_count + t.horizontal_count;
        let allowed = 2.0 * tolerance::<T>(terms, naive_value(t, reduction));
        prop_assert!(
            (a.to_f64() - b.to_f64()).abs() <= allowed,
            "plane {}: {:?} vs {:?}",
            p,
            a,
            b
        );
    }
    Ok(())
}

/// Each plane computed alone gives the bits it has in the batch, for the
/// values and for the gradient.
fn check_float_batch<T: TestFloat>(
    shape: &[usize],
    img: &[T],
    reduction: Reduction,
    upstream: &[T],
) -> Result<(), TestCaseError> {
    let (planes, h, w) = dims(shape);
    let upstream = &upstream[..planes];
    let values = total_variation(img, shape, reduction).unwrap();
    let grad = total_variation_grad(img, shape, reduction, upstream).unwrap();
    for p in 0..planes {
        let range = p * h * w..(p + 1) * h * w;
        let plane = &img[range.clone()];
        let one = total_variation(plane, &[h, w], reduction).unwrap();
        prop_assert_eq!(float_bits(&one), vec![values[p].bits()], "{}", p);
        let one_grad =
            total_variation_grad(plane, &[h, w], reduction, &upstream[p..=p]);
        prop_assert_eq!(
            float_bits(&one_grad.unwrap()),
            float_bits(&grad[range]),
            "plane {}",
            p
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------
// The properties, once per pixel type.
// ---------------------------------------------------------------------

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

macro_rules! integer_properties {
    ($module:ident, $t:ty) => {
        mod $module {
            use super::*;

            proptest! {
                #![proptest_config(config())]

                #[test]
                fn values_match_reference(
                    (shape, img) in images(integer_pixels::<$t>()),
                    reduction in reductions(),
                ) {
                    check_integer_values(&shape, &img, reduction)?;
                }

                #[test]
                fn constant_plane_is_zero(
                    shape in shapes(),
                    value in integer_pixels::<$t>(),
                ) {
                    check_integer_constant(&shape, value)?;
                }

                #[test]
                fn shift_keeps_tv(
                    (shape, img) in images(integer_pixels::<$t>()),
                    raw in any::<u64>(),
                ) {
                    check_integer_shift(&shape, &img, raw)?;
                }

                #[test]
                fn reflection_keeps_tv(
                    (shape, img) in images(integer_pixels::<$t>()),
                ) {
                    check_integer_reflection(&shape, &img)?;
                }

                #[test]
                fn transpose_keeps_tv(
                    (shape, img) in images(integer_pixels::<$t>()),
                ) {
                    check_integer_transpose(&shape, &img)?;
                }

                #[test]
                fn batch_equals_planes(
                    (shape, img) in images(integer_pixels::<$t>()),
                ) {
                    check_integer_batch(&shape, &img)?;
                }
            }
        }
    };
}

integer_properties!(u8_image, u8);
integer_properties!(u16_image, u16);
integer_properties!(i16_image, i16);

proptest! {
    #![proptest_config(config())]

    /// `TV(−x) = TV(x)` for `i16`, whose `−32768` has no negation.
    #[test]
    fn i16_negation_keeps_tv(
        (shape, img) in images(
            integer_pixels::<i16>().prop_map(|x| x.max(-i16::MAX)),
        ),
    ) {
        let negated: Vec<i16> = img.iter().map(|&x| -x).collect();
        assert_same_integer_tv((&shape, &img), (&shape, &negated))?;
    }
}

macro_rules! float_properties {
    ($module:ident, $t:ty) => {
        mod $module {
            use super::*;

            proptest! {
                #![proptest_config(config())]

                #[test]
                fn values_match_reference(
                    (shape, img) in images(finite_pixels::<$t>()),
                    reduction in reductions(),
                ) {
                    check_float_values(&shape, &img, reduction)?;
                }

                #[test]
                fn non_finite_values_match_reference(
                    (shape, img) in images(any_pixels::<$t>()),
                    reduction in reductions(),
                ) {
                    check_float_values_non_finite(&shape, &img, reduction)?;
                }

                #[test]
                fn integer_valued_values_are_exact(
                    (shape, img) in images(integer_valued_pixels::<$t>()),
                    reduction in reductions(),
                ) {
                    check_float_values_exact(&shape, &img, reduction)?;
                }

                #[test]
                fn sum_gradient_is_exact(
                    (shape, img) in images(any_pixels::<$t>()),
                    upstream in upstreams::<$t>(exact_upstream()),
                ) {
                    check_gradient_exact(&shape, &img, &upstream)?;
                }

                #[test]
                fn gradient_matches_reference(
                    (shape, img) in images(any_pixels::<$t>()),
                    reduction in reductions(),
                    upstream in upstreams::<$t>(any_upstream()),
                ) {
                    check_gradient_close(&shape, &img, reduction, &upstream)?;
                }

                #[test]
                fn constant_plane_is_zero(
                    shape in shapes(),
                    value in finite_pixels::<$t>(),
                    reduction in reductions(),
                    upstream in upstreams::<$t>(any_upstream()),
                ) {
                    check_float_constant(&shape, value, reduction, &upstream)?;
                }

                #[test]
                fn shift_keeps_tv(
                    (shape, img) in images(integer_valued_pixels::<$t>()),
                    c in -1000i32..=1000,
                    reduction in reductions(),
                    upstream in upstreams::<$t>(any_upstream()),
                ) {
                    check_float_shift(&shape, &img, c, reduction, &upstream)?;
                }

                #[test]
                fn negation_keeps_tv(
                    (shape, img) in images(finite_pixels::<$t>()),
                    reduction in reductions(),
                    upstream in upstreams::<$t>(any_upstream()),
                ) {
                    check_float_negation(&shape, &img, reduction, &upstream)?;
                }

                #[test]
                fn transpose_keeps_tv_exactly(
                    (shape, img) in images(integer_valued_pixels::<$t>()),
                    upstream in upstreams::<$t>(exact_upstream()),
                ) {
                    check_float_transpose_exact(&shape, &img, &upstream)?;
                }

                #[test]
                fn transpose_keeps_tv_closely(
                    (shape, img) in images(finite_pixels::<$t>()),
                    reduction in reductions(),
                ) {
                    check_float_transpose_close(&shape, &img, reduction)?;
                }

                #[test]
                fn batch_equals_planes(
                    (shape, img) in images(any_pixels::<$t>()),
                    reduction in reductions(),
                    upstream in upstreams::<$t>(any_upstream()),
                ) {
                    check_float_batch(&shape, &img, reduction, &upstream)?;
                }
            }
        }
    };
}

float_properties!(f32_image, f32);
float_properties!(f64_image, f64);

// ---------------------------------------------------------------------
// The reference itself, on hand-derived cases.
// ---------------------------------------------------------------------

/// A 2×3 plane: vertical |3−0| + |1−1| + |0−4| = 7, horizontal
/// |1−0| + |4−1| + |1−3| + |0−1| = 7; means 7/3 and 7/4.
#[test]
fn reference_on_a_hand_derived_plane() {
    let img = [0.0, 1.0, 4.0, 3.0, 1.0, 0.0];
    let t = naive_totals(&img, &[2, 3])[0];
    assert_eq!((t.vertical, t.horizontal), (7.0, 7.0));
    assert_eq!((t.vertical_count, t.horizontal_count), (3, 4));
    assert_eq!(naive_value(&t, Reduction::Mean), 7.0 / 3.0 + 7.0 / 4.0);
    let exact = naive_exact_totals(&[0, 1, 4, 3, 1, 0], &[2, 3])[0];
    assert_eq!((exact.vertical, exact.horizontal), (7, 7));

    // x00 = 0: right +1 → −1, below +3 → −1: −2.
    // x01 = 1: left +1 → +1, right +3 → −1, below 0 → 0: 0.
    // x02 = 4: left +3 → +1, below −4 → +1: 2.
    // x10 = 3: right −2 → +1, above +3 → +1: 2.
    // x11 = 1: left −2 → −1, right −1 → +1, above 0: 0.
    // x12 = 0: left −1 → −1, above −4 → −1: −2.
    let (grad, _) = naive_gradient(&img, &[2, 3], Reduction::Sum, &[1.0]);
    assert_eq!(grad, [-2.0, 0.0, 2.0, 2.0, 0.0, -2.0]);
}

#[test]
fn transpose_moves_columns_to_rows() {
    let (t, shape) = transpose(&[1, 2, 3, 4, 5, 6], &[1, 2, 3]);
    assert_eq!((t, shape), (vec![1, 4, 2, 5, 3, 6], vec![1, 3, 2]));
}
