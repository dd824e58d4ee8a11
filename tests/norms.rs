//! The per-pixel norms against hand-worked cases, a naive `f64`
//! reference written here, and central finite differences.
//!
//! The reference loops over the pixels of each plane, takes the forward
//! differences in `f64` (0 past the last column or row) and adds the
//! terms left to right. It shares nothing with the crate's kernels.

#![cfg(feature = "alloc")]

use proptest::prelude::*;
use total_variation::{Layout, Norm, Reduction, TotalVariation};

// ---------------------------------------------------------------------
// Hand-worked cases.
// ---------------------------------------------------------------------

/// Asserts that every value is within `tolerance · max(1, |expected|)`.
fn assert_close(got: &[f64], expected: &[f64], tolerance: f64) {
    assert_eq!(got.len(), expected.len());
    for (k, (&g, &e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= tolerance * e.abs().max(1.0),
            "element {k}: got {g}, expected {e}\n{got:?}\n{expected:?}"
        );
    }
}

fn widen(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

fn tv(norm: Norm, reduction: Reduction) -> TotalVariation {
    TotalVariation::new().with_norm(norm).with_reduction(reduction)
}

/// The 2×2 image
///
/// ```text
/// 0 3
/// 4 7
/// ```
///
/// Pixel (0,0): dx = 3, dy = 4. Pixel (0,1): no dx, dy = 4. Pixel (1,0):
/// dx = 3, no dy. Pixel (1,1): neither.
const TWO_BY_TWO: [f64; 4] = [0.0, 3.0, 4.0, 7.0];

#[test]
fn isotropic_two_by_two_by_hand() {
    let layout = Layout::new(&[2, 2]).unwrap();
    // Terms 5, 4, 3, 0.
    let sum = tv(Norm::Isotropic, Reduction::Sum);
    assert_eq!(sum.value(&TWO_BY_TWO, &layout).unwrap(), [12.0]);
    let mean = tv(Norm::Isotropic, Reduction::Mean);
    assert_eq!(mean.value(&TWO_BY_TWO, &layout).unwrap(), [3.0]);

    // Fluxes (dx/r, dy/r): (0,0) → (0.6, 0.8), (0,1) → (0, 1),
    // (1,0) → (1, 0), (1,1) → (0, 0) (r = 0).
    // grad = (ux left + uy above) − (ux own + uy own):
    //   (0,0): 0 − 1.4 = −1.4     (0,1): 0.6 − 1 = −0.4
    //   (1,0): 0.8 − 1 = −0.2     (1,1): 1 + 1 = 2
    let grad = sum.gradient(&TWO_BY_TWO, &layout, &[1.0]).unwrap();
    assert_close(&grad, &[-1.4, -0.4, -0.2, 2.0], 1e-15);
    // Mean: the upstream gradient is divided by the 4 pixels.
    let grad = mean.gradient(&TWO_BY_TWO, &layout, &[2.0]).unwrap();
    assert_close(&grad, &[-0.7, -0.2, -0.1, 1.0], 1e-15);

    let img32: Vec<f32> = TWO_BY_TWO.iter().map(|&v| v as f32).collect();
    assert_eq!(sum.value(&img32, &layout).unwrap(), [12.0f32]);
    let grad = sum.gradient(&img32, &layout, &[1.0f32]).unwrap();
    assert_close(&widen(&grad), &[-1.4, -0.4, -0.2, 2.0], 1e-7);
}

#[test]
fn squared_two_by_two_by_hand() {
    let layout = Layout::new(&[2, 2]).unwrap();
    // Terms 9 + 16, 16, 9, 0.
    let sum = tv(Norm::SquaredL2, Reduction::Sum);
    assert_eq!(sum.value(&TWO_BY_TWO, &layout).unwrap(), [50.0]);
    let mean = tv(Norm::SquaredL2, Reduction::Mean);
    assert_eq!(mean.value(&TWO_BY_TWO, &layout).unwrap(), [12.5]);

    // Fluxes (2dx, 2dy): (6, 8), (0, 8), (6, 0), (0, 0).
    //   (0,0): 0 − 14 = −14   (0,1): 6 − 8 = −2
    //   (1,0): 8 − 6 = 2      (1,1): 6 + 8 = 14
    // All exact, and scaled exactly by an upstream of 0.5.
    let grad = sum.gradient(&TWO_BY_TWO, &layout, &[0.5]).unwrap();
    assert_eq!(grad, [-7.0, -1.0, 1.0, 7.0]);
    let grad = mean.gradient(&TWO_BY_TWO, &layout, &[4.0]).unwrap();
    assert_eq!(grad, [-14.0, -2.0, 2.0, 14.0]);
}

/// A 3×3 plane of zeros with 1 in the centre:
///
/// ```text
/// 0 0 0
/// 0 1 0
/// 0 0 0
/// ```
///
/// Non-zero differences: pixel (0,1) has dy = 1, pixel (1,0) has dx = 1,
/// pixel (1,1) has dx = dy = −1. Every other pixel has r = 0.
const CENTRE: [f64; 9] = [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0];

#[test]
fn isotropic_three_by_three_by_hand() {
    let layout = Layout::new(&[3, 3]).unwrap();
    let sum = tv(Norm::Isotropic, Reduction::Sum);
    let s2 = 2.0f64.sqrt();
    // 1 + 1 + √2.
    assert_close(&sum.value(&CENTRE, &layout).unwrap(), &[2.0 + s2], 1e-15);
    let mean = tv(Norm::Isotropic, Reduction::Mean);
    let value = mean.value(&CENTRE, &layout).unwrap();
    assert_close(&value, &[(2.0 + s2) / 9.0], 1e-15);

    // Fluxes: (0,1) → (0, 1), (1,0) → (1, 0), (1,1) → (−1/√2, −1/√2),
    // all others 0 (the subgradient at r = 0).
    //   centre: (1 + 1) − (−√2) = 2 + √2
    //   (0,1): 0 − 1 = −1          (1,0): 0 − 1 = −1
    //   (1,2): −1/√2 from the left (2,1): −1/√2 from above
    //   corners: 0
    let h = -1.0 / s2;
    let expected = [0.0, -1.0, 0.0, -1.0, 2.0 + s2, h, 0.0, h, 0.0];
    let grad = sum.gradient(&CENTRE, &layout, &[1.0]).unwrap();
    assert_close(&grad, &expected, 1e-15);
    // The corners are exact zeros, of the positive sign.
    for corner in [0, 2, 6, 8] {
        assert_eq!(grad[corner].to_bits(), 0.0f64.to_bits(), "{corner}");
    }
}

#[test]
fn smooth_three_by_three_by_hand() {
    let layout = Layout::new(&[3, 3]).unwrap();
    let norm = Norm::Smooth { epsilon: 1.0 };
    let (s2, s3) = (2.0f64.sqrt(), 3.0f64.sqrt());
    // (√2 − 1) + (√2 − 1) + (√3 − 1); flat pixels give √1 − 1 = 0.
    let total = 2.0 * s2 + s3 - 3.0;
    let sum = tv(norm, Reduction::Sum);
    assert_close(&sum.value(&CENTRE, &layout).unwrap(), &[total], 1e-15);
    let mean = tv(norm, Reduction::Mean);
    let value = mean.value(&CENTRE, &layout).unwrap();
    assert_close(&value, &[total / 9.0], 1e-15);

    // Fluxes d/r with r = √(dx² + dy² + 1): (0,1) → (0, 1/√2),
    // (1,0) → (1/√2, 0), (1,1) → (−1/√3, −1/√3), others (0, 0).
    //   centre: 2/√2 + 2/√3     (0,1), (1,0): −1/√2
    //   (1,2), (2,1): −1/√3     corners: 0
    let (a, b) = (1.0 / s2, 1.0 / s3);
    let expected = [0.0, -a, 0.0, -a, 2.0 * a + 2.0 * b, -b, 0.0, -b, 0.0];
    let grad = sum.gradient(&CENTRE, &layout, &[1.0]).unwrap();
    assert_close(&grad, &expected, 1e-15);
}

#[test]
fn single_row_and_single_column() {
    // One row 1, 4, 2: dx = 3, −2, then none. Every norm sees only dx.
    let img = [1.0f64, 4.0, 2.0];
    let row = Layout::new(&[1, 3]).unwrap();
    let column = Layout::new(&[3, 1]).unwrap();
    for layout in [row, column] {
        let value =
            |norm| tv(norm, Reduction::Sum).value(&img, &layout).unwrap()[0];
        assert_eq!(value(Norm::Isotropic), 5.0);
        assert_eq!(value(Norm::SquaredL2), 13.0);
        // ε = 4: (5 − 4) + (√20 − 4) + 0.
        let smooth = value(Norm::Smooth { epsilon: 4.0 });
        assert_close(&[smooth], &[1.0 + 20f64.sqrt() - 4.0], 1e-15);
        // Isotropic on one line is |dx|: the anisotropic gradient.
        let grad = tv(Norm::Isotropic, Reduction::Sum)
            .gradient(&img, &layout, &[1.0])
            .unwrap();
        assert_eq!(grad, [-1.0, 2.0, -1.0]);
    }
}

#[test]
fn flat_images_have_zero_value_and_gradient() {
    let layout = Layout::new(&[2, 5, 37]).unwrap();
    let flat64 = vec![3.25f64; layout.len()];
    let flat32 = vec![-1.5e30f32; layout.len()];
    let norms = [
        Norm::Isotropic,
        Norm::SquaredL2,
        Norm::Smooth { epsilon: 1e-3 },
        Norm::Smooth { epsilon: 1e-21 },
        Norm::Smooth { epsilon: 1e10 },
    ];
    for norm in norms {
        for reduction in [Reduction::Sum, Reduction::Mean] {
            let tv = tv(norm, reduction);
            let context = format!("{norm:?} {reduction:?}");
            // Exactly +0.0, also for ε whose square is subnormal in f32
            // (1e-21).
            let value = tv.value(&flat64, &layout).unwrap();
            let bits: Vec<u64> = value.iter().map(|v| v.to_bits()).collect();
            assert_eq!(bits, [0; 2], "{context}");
            let value = tv.value(&flat32, &layout).unwrap();
            let bits: Vec<u32> = value.iter().map(|v| v.to_bits()).collect();
            assert_eq!(bits, [0; 2], "{context}");
            let grad = tv.gradient(&flat64, &layout, &[1.0, -7.0]).unwrap();
            assert!(grad.iter().all(|&g| g == 0.0), "{context}");
            let grad = tv.gradient(&flat32, &layout, &[1e30, -7.0]).unwrap();
            assert!(grad.iter().all(|&g| g == 0.0), "{context}");
        }
    }
}

/// Squared TV of an integer-valued image is exact in `f64`, and its
/// gradient too: a check of the term order that needs no tolerance.
#[test]
fn squared_is_exact_on_small_integers() {
    let (h, w) = (7, 41);
    let img: Vec<f64> =
        (0..h * w).map(|k| ((k * 37 + k / w * 11) % 19) as f64 - 9.0).collect();
    let at = |i: usize, j: usize| img[i * w + j];
    let mut expected = 0.0;
    let mut grad = vec![0.0; h * w];
    for i in 0..h {
        for j in 0..w {
            if j + 1 < w {
                let dx = at(i, j + 1) - at(i, j);
                expected += dx * dx;
                grad[i * w + j + 1] += 2.0 * dx;
                grad[i * w + j] -= 2.0 * dx;
            }
            if i + 1 < h {
                let dy = at(i + 1, j) - at(i, j);
                expected += dy * dy;
                grad[(i + 1) * w + j] += 2.0 * dy;
                grad[i * w + j] -= 2.0 * dy;
            }
        }
    }
    let layout = Layout::new(&[h, w]).unwrap();
    let tv = tv(Norm::SquaredL2, Reduction::Sum);
    assert_eq!(tv.value(&img, &layout).unwrap(), [expected]);
    assert_eq!(tv.gradient(&img, &layout, &[1.0]).unwrap(), grad);
}

// ---------------------------------------------------------------------
// The naive reference.
// ---------------------------------------------------------------------

/// `(planes, height, width)` of a shape `(*, H, W)`.
fn dims(shape: &[usize]) -> (usize, usize, usize) {
    let (leading, plane) = shape.split_at(shape.len() - 2);
    (leading.iter().product(), plane[0], plane[1])
}

/// The forward differences of pixel (i, j) of plane `p`, 0 past the
/// edges.
fn differences(
    img: &[f64],
    (h, w): (usize, usize),
    p: usize,
    i: usize,
    j: usize,
) -> (f64, f64) {
    let at = |i: usize, j: usize| img[(p * h + i) * w + j];
    let dx = if j + 1 < w { at(i, j + 1) - at(i, j) } else { 0.0 };
    let dy = if i + 1 < h { at(i + 1, j) - at(i, j) } else { 0.0 };
    (dx, dy)
}

/// A pixel's term in `f64`, and the scale of its rounding error in the
/// crate's arithmetic (the smooth form subtracts `ε` from a value near
/// it).
fn naive_term(norm: Norm, dx: f64, dy: f64) -> (f64, f64) {
    let q = dx * dx + dy * dy;
    match norm {
        Norm::Isotropic => (q.sqrt(), q.sqrt()),
        Norm::SquaredL2 => (q, q),
        Norm::Smooth { epsilon } => {
            let r = (q + epsilon * epsilon).sqrt();
            (r - epsilon, r + epsilon)
        }
        _ => panic!("not a per-pixel norm"),
    }
}

/// The value of each plane, and the sum of the error scales of its terms.
fn naive_values(
    img: &[f64],
    shape: &[usize],
    norm: Norm,
    reduction: Reduction,
) -> Vec<(f64, f64)> {
    let (planes, h, w) = dims(shape);
    let count = (h * w) as f64;
    (0..planes)
        .map(|p| {
            let (mut total, mut scale) = (0.0, 0.0);
            for i in 0..h {
                for j in 0..w {
                    let (dx, dy) = differences(img, (h, w), p, i, j);
                    let (term, term_scale) = naive_term(norm, dx, dy);
                    total += term;
                    scale += term_scale;
                }
            }
            match reduction {
                Reduction::Sum => (total, scale),
                _ if h * w == 0 => (0.0, 0.0),
                _ => (total / count, scale / count),
            }
        })
        .collect()
}

/// `∂term/∂dx` and `∂term/∂dy` of one pixel, 0 where the isotropic norm
/// has no gradient.
fn naive_partials(norm: Norm, dx: f64, dy: f64) -> (f64, f64) {
    match norm {
        Norm::SquaredL2 => (2.0 * dx, 2.0 * dy),
        Norm::Isotropic => {
            let r = dx.hypot(dy);
            if r == 0.0 { (0.0, 0.0) } else { (dx / r, dy / r) }
        }
        Norm::Smooth { epsilon } => {
            let r = (dx * dx + dy * dy + epsilon * epsilon).sqrt();
            (dx / r, dy / r)
        }
        _ => panic!("not a per-pixel norm"),
    }
}

/// The gradient of `Σₚ upstream[p]·TVₚ`, by the chain rule through each
/// pixel's differences, and per element the sum of the absolute values
/// of its contributions (the scale of its rounding error).
fn naive_gradient(
    img: &[f64],
    shape: &[usize],
    norm: Norm,
    reduction: Reduction,
    upstream: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let (planes, h, w) = dims(shape);
    let mut grad = vec![0.0; img.len()];
    let mut scale = vec![0.0; img.len()];
    for (p, &g) in upstream.iter().enumerate().take(planes) {
        let g = match reduction {
            Reduction::Sum => g,
            _ => g / (h * w) as f64,
        };
        let index = |i: usize, j: usize| (p * h + i) * w + j;
        for i in 0..h {
            for j in 0..w {
                let (dx, dy) = differences(img, (h, w), p, i, j);
                let (px, py) = naive_partials(norm, dx, dy);
                let (ux, uy) = (px * g, py * g);
                if j + 1 < w {
                    grad[index(i, j + 1)] += ux;
                    grad[index(i, j)] -= ux;
                    scale[index(i, j + 1)] += ux.abs();
                    scale[index(i, j)] += ux.abs();
                }
                if i + 1 < h {
                    grad[index(i + 1, j)] += uy;
                    grad[index(i, j)] -= uy;
                    scale[index(i + 1, j)] += uy.abs();
                    scale[index(i, j)] += uy.abs();
                }
            }
        }
    }
    (grad, scale)
}

/// How far a result of an element type with unit roundoff `unit` may be
/// from the reference: about 8 roundings per term (differences, squares,
/// sum, square root, subtraction or division, product, the sum into the
/// gradient) plus `log2(n + 2)` for the pairwise sum, relative to the
/// error scale; doubled for safety, plus the reference's own
/// left-to-right `f64` sum of `n` terms.
fn tolerance(unit: f64, terms: usize, scale: f64) -> f64 {
    let crate_error = 2.0 * unit * (8.0 + ((terms + 2) as f64).log2());
    let reference_error = (terms + 1) as f64 * f64::EPSILON / 2.0;
    (crate_error + reference_error) * scale + f64::MIN_POSITIVE
}

// ---------------------------------------------------------------------
// Generated cases.
// ---------------------------------------------------------------------

/// Shapes `(*, H, W)` with up to two leading dimensions, heights up to
/// 12 and widths up to 70: every vector tail of both element types.
fn shapes() -> impl Strategy<Value = Vec<usize>> {
    (prop::collection::vec(1usize..3, 0..=2), 0usize..=12, 0usize..=70)
        .prop_map(|(mut shape, h, w)| {
            shape.extend([h, w]);
            shape
        })
}

/// Pixels: runs of small multiples of 1/4 (many equal neighbours, so
/// many r = 0), and values up to 1000 in size. Far from overflow and
/// underflow in `f32`.
fn pixel() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => (-8i32..=8).prop_map(|k| f64::from(k) / 4.0),
        2 => -1.0e3f64..1.0e3,
    ]
}

fn per_pixel_norm() -> impl Strategy<Value = Norm> {
    prop_oneof![
        Just(Norm::Isotropic),
        Just(Norm::SquaredL2),
        (-3.0f64..1.5).prop_map(|e| Norm::Smooth { epsilon: 10f64.powf(e) }),
    ]
}

fn reduction() -> impl Strategy<Value = Reduction> {
    prop_oneof![Just(Reduction::Sum), Just(Reduction::Mean)]
}

type Case = (Vec<usize>, Vec<f64>, Vec<f64>, Norm, Reduction);

fn cases() -> impl Strategy<Value = Case> {
    shapes().prop_flat_map(|shape| {
        let layout = Layout::new(&shape).unwrap();
        (
            Just(shape),
            prop::collection::vec(pixel(), layout.len()),
            prop::collection::vec(-3.0f64..3.0, layout.planes()),
            per_pixel_norm(),
            reduction(),
        )
    })
}

/// Values and gradients of `img` (already rounded to the element type)
/// against the reference.
fn check_against_reference(
    case: &Case,
    unit: f64,
    values: &[f64],
    grad: &[f64],
) -> Result<(), TestCaseError> {
    let (shape, img, upstream, norm, reduction) = case;
    let (_, h, w) = dims(shape);
    let expected = naive_values(img, shape, *norm, *reduction);
    for (p, (&got, &(want, scale))) in values.iter().zip(&expected).enumerate()
    {
        let allowed = tolerance(unit, h * w, scale);
        prop_assert!(
            (got - want).abs() <= allowed,
            "plane {p}: {got} vs {want} (allowed {allowed})"
        );
    }
    let (want, scale) = naive_gradient(img, shape, *norm, *reduction, upstream);
    for (k, ((&got, &want), &scale)) in
        grad.iter().zip(&want).zip(&scale).enumerate()
    {
        let allowed = tolerance(unit, 4, scale);
        prop_assert!(
            (got - want).abs() <= allowed,
            "element {k}: {got} vs {want} (allowed {allowed})"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        if cfg!(miri) { 4 } else { 256 }
    ))]

    #[test]
    fn f64_matches_the_reference(case in cases()) {
        let (shape, img, upstream, norm, reduction) = &case;
        let layout = Layout::new(shape).unwrap();
        let tv = tv(*norm, *reduction);
        let values = tv.value(img, &layout).unwrap();
        let grad = tv.gradient(img, &layout, upstream).unwrap();
        check_against_reference(&case, f64::EPSILON / 2.0, &values, &grad)?;
    }

    #[test]
    fn f32_matches_the_reference(case in cases()) {
        // The reference sees the pixels and upstream values as rounded to
        // f32, so only the crate's arithmetic differs.
        let (shape, img, upstream, norm, reduction) = case;
        let img32: Vec<f32> = img.iter().map(|&v| v as f32).collect();
        let up32: Vec<f32> = upstream.iter().map(|&v| v as f32).collect();
        let layout = Layout::new(&shape).unwrap();
        let tv = tv(norm, reduction);
        let values = widen(&tv.value(&img32, &layout).unwrap());
        let grad = widen(&tv.gradient(&img32, &layout, &up32).unwrap());
        let case = (shape, widen(&img32), widen(&up32), norm, reduction);
        check_against_reference(&case, f64::from(f32::EPSILON) / 2.0,
            &values, &grad)?;
    }
}

// ---------------------------------------------------------------------
// Finite differences.
// ---------------------------------------------------------------------

/// `Σₚ upstream[p]·TVₚ` by the reference, and `Σₚ |upstream[p]|·TVₚ`
/// (every term is non-negative), the scale of its rounding error.
fn weighted_total(
    img: &[f64],
    shape: &[usize],
    norm: Norm,
    reduction: Reduction,
    upstream: &[f64],
) -> (f64, f64) {
    naive_values(img, shape, norm, reduction)
        .iter()
        .zip(upstream)
        .map(|(&(value, _), &g)| (value * g, value * g.abs()))
        .fold((0.0, 0.0), |(a, b), (c, d)| (a + c, b + d))
}

/// The smallest `√(dx² + dy²)` among the three pixels whose terms hold
/// element `k`: where it is near 0, the isotropic term has a kink.
fn nearest_kink(img: &[f64], shape: &[usize], k: usize) -> f64 {
    let (_, h, w) = dims(shape);
    let (p, i, j) = (k / (h * w), k / w % h, k % w);
    let mut pixels = vec![(i, j)];
    if j > 0 {
        pixels.push((i, j - 1));
    }
    if i > 0 {
        pixels.push((i - 1, j));
    }
    pixels
        .into_iter()
        .map(|(i, j)| {
            let (dx, dy) = differences(img, (h, w), p, i, j);
            dx.hypot(dy)
        })
        .fold(f64::INFINITY, f64::min)
}

fn small_cases() -> impl Strategy<Value = Case> {
    (1usize..=3, 1usize..=9, 1usize..=21).prop_flat_map(|(planes, h, w)| {
        (
            Just(vec![planes, h, w]),
            prop::collection::vec(-4.0f64..4.0, planes * h * w),
            prop::collection::vec(-3.0f64..3.0, planes),
            prop_oneof![
                Just(Norm::Isotropic),
                Just(Norm::SquaredL2),
                (0.1f64..2.0).prop_map(|epsilon| Norm::Smooth { epsilon }),
            ],
            reduction(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        if cfg!(miri) { 2 } else { 64 }
    ))]

    /// The `f64` gradient against central differences of the reference,
    /// `(F(x + h·e_k) − F(x − h·e_k)) / 2h` with `h = 1e-6`: a truncation
    /// error of order `h²·F'''` (F''' ≤ about 1/r² for r ≥ 0.05, or
    /// 1/ε² for ε ≥ 0.1: below 1e-9) and a cancellation error below
    /// `n·2^-53·Σ|g|·TV / h`, about `1e-8·Σ|g|·TV` at these sizes.
    /// Isotropic elements next to a pixel with r < 0.05 are skipped:
    /// there the term is not smooth.
    #[test]
    fn f64_gradient_matches_finite_differences(case in small_cases()) {
        let (shape, img, upstream, norm, reduction) = &case;
        let layout = Layout::new(shape).unwrap();
        let grad = tv(*norm, *reduction)
            .gradient(img, &layout, upstream)
            .unwrap();
        let step = 1e-6;
        let (_, scale) =
            weighted_total(img, shape, *norm, *reduction, upstream);
        let mut moved = img.clone();
        for k in 0..img.len() {
            if *norm == Norm::Isotropic && nearest_kink(img, shape, k) < 0.05 {
                continue;
            }
            moved[k] = img[k] + step;
            let (plus, _) = weighted_total(&moved, shape, *norm, *reduction,
                upstream);
            moved[k] = img[k] - step;
            let (minus, _) = weighted_total(&moved, shape, *norm,
                *reduction, upstream);
            moved[k] = img[k];
            let central = (plus - minus) / (2.0 * step);
            let allowed = 1e-6 * (1.0 + central.abs()) + 1e-8 * scale;
            prop_assert!(
                (grad[k] - central).abs() <= allowed,
                "element {}: {} vs central difference {}", k, grad[k], central
            );
        }
    }
}
