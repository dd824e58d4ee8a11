//! The per-voxel norms (isotropic, squared, smooth) on volumes: against
//! hand-worked volumes, a naive `f64` reference written here, central
//! differences, the plane functions at depth 1, and the scalar backend.
//!
//! The reference loops over the voxels, takes the three weighted forward
//! differences in `f64` (missing past the last slice, row or column, or
//! for an axis of weight 0) and adds the terms in reading order. It
//! shares nothing with the crate's kernels.

#![cfg(feature = "alloc")]

mod common;

use common::{bits, bits32, fast_backends};
use proptest::prelude::*;
use total_variation::{
    AxisWeights, Backend, Error, Layout, Norm, Reduction, TotalVariation,
    VolumeLayout,
};

const REDUCTIONS: [Reduction; 2] = [Reduction::Sum, Reduction::Mean];

const NORMS: [Norm; 3] =
    [Norm::Isotropic, Norm::SquaredL2, Norm::Smooth { epsilon: 0.5 }];

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

fn config(
    norm: Norm,
    reduction: Reduction,
    weights: [f64; 3],
) -> TotalVariation {
    let [d, h, w] = weights;
    TotalVariation::new()
        .with_norm(norm)
        .with_reduction(reduction)
        .with_axis_weights(AxisWeights::new(d, h, w).unwrap())
}

// ---------------------------------------------------------------------
// Hand-worked volumes.
// ---------------------------------------------------------------------

/// One 2×2×2 volume, slices
///
/// ```text
/// z = 0:  0 1     z = 1:  2 4
///         2 5             2 5
/// ```
///
/// Its voxels' differences `(dx, dy, dz)`, "-" for a missing one:
///
/// ```text
/// (0,0,0): ( 1,  2,  2)  r = 3     (1,0,0): ( 2,  0,  -)  r = 2
/// (0,0,1): ( -,  4,  3)  r = 5     (1,0,1): ( -,  1,  -)  r = 1
/// (0,1,0): ( 3,  -,  0)  r = 3     (1,1,0): ( 3,  -,  -)  r = 3
/// (0,1,1): ( -,  -,  0)  r = 0     (1,1,1): ( -,  -,  -)  r = 0
/// ```
const CUBE: [f64; 8] = [0.0, 1.0, 2.0, 5.0, 2.0, 4.0, 2.0, 5.0];

#[test]
fn isotropic_cube_by_hand() {
    let layout = VolumeLayout::new(&[2, 2, 2]).unwrap();
    let unit = [1.0; 3];
    // Terms 3 + 5 + 3 + 0 + 2 + 1 + 3 + 0.
    let sum = config(Norm::Isotropic, Reduction::Sum, unit);
    assert_eq!(sum.volume_value(&CUBE, &layout).unwrap(), [17.0]);
    let mean = config(Norm::Isotropic, Reduction::Mean, unit);
    assert_eq!(mean.volume_value(&CUBE, &layout).unwrap(), [17.0 / 8.0]);

    // Fluxes d / r: (0,0,0) → (1/3, 2/3, 2/3), (0,0,1) → (0, 0.8, 0.6),
    // (0,1,0) → (1, 0, 0), (1,0,0) → (1, 0, 0), (1,0,1) → (0, 1, 0),
    // (1,1,0) → (1, 0, 0), the r = 0 voxels → 0. The gradient is
    // (ux left + uy above + uz front) − (ux + uy + uz own):
    //   (0,0,0): −5/3              (0,0,1): 1/3 − 1.4 = −16/15
    //   (0,1,0): 2/3 − 1 = −1/3    (0,1,1): 1 + 0.8 = 1.8
    //   (1,0,0): 2/3 − 1 = −1/3    (1,0,1): 1 + 0.6 − 1 = 0.6
    //   (1,1,0): 0 + 0 − 1 = −1    (1,1,1): 1 + 1 + 0 = 2
    let expected =
        [-5.0 / 3.0, -16.0 / 15.0, -1.0 / 3.0, 1.8, -1.0 / 3.0, 0.6, -1.0, 2.0];
    let grad = sum.volume_gradient(&CUBE, &layout, &[1.0]).unwrap();
    assert_close(&grad, &expected, 1e-15);
    // Mean: the upstream value is divided by the 8 voxels.
    let grad = mean.volume_gradient(&CUBE, &layout, &[8.0]).unwrap();
    assert_close(&grad, &expected, 1e-15);

    let cube32: Vec<f32> = CUBE.iter().map(|&v| v as f32).collect();
    assert_eq!(sum.volume_value(&cube32, &layout).unwrap(), [17.0f32]);
    let grad = sum.volume_gradient(&cube32, &layout, &[1.0f32]).unwrap();
    let grad: Vec<f64> = grad.iter().map(|&g| f64::from(g)).collect();
    assert_close(&grad, &expected, 1e-6);
}

#[test]
fn squared_cube_by_hand() {
    let layout = VolumeLayout::new(&[2, 2, 2]).unwrap();
    let unit = [1.0; 3];
    // Terms 9 + 25 + 9 + 0 + 4 + 1 + 9 + 0.
    let sum = config(Norm::SquaredL2, Reduction::Sum, unit);
    assert_eq!(sum.volume_value(&CUBE, &layout).unwrap(), [57.0]);
    let mean = config(Norm::SquaredL2, Reduction::Mean, unit);
    assert_eq!(mean.volume_value(&CUBE, &layout).unwrap(), [57.0 / 8.0]);

    // Fluxes 2·d: (0,0,0) → (2, 4, 4), (0,0,1) → (0, 8, 6),
    // (0,1,0) → (6, 0, 0), (1,0,0) → (4, 0, 0), (1,0,1) → (0, 2, 0),
    // (1,1,0) → (6, 0, 0), the others 0.
    //   (0,0,0): −10               (0,0,1): 2 − 14 = −12
    //   (0,1,0): 4 − 6 = −2        (0,1,1): 6 + 8 = 14
    //   (1,0,0): 4 − 4 = 0         (1,0,1): 4 + 6 − 2 = 8
    //   (1,1,0): 0 − 6 = −6        (1,1,1): 6 + 2 + 0 = 8
    // Small integers: exact.
    let expected = [-10.0, -12.0, -2.0, 14.0, 0.0, 8.0, -6.0, 8.0];
    assert_eq!(sum.volume_gradient(&CUBE, &layout, &[1.0]).unwrap(), expected);
    let halves = expected.map(|g| g / 2.0);
    assert_eq!(mean.volume_gradient(&CUBE, &layout, &[4.0]).unwrap(), halves);
}

#[test]
fn smooth_cube_by_hand() {
    let layout = VolumeLayout::new(&[2, 2, 2]).unwrap();
    let sum = config(Norm::Smooth { epsilon: 1.0 }, Reduction::Sum, [1.0; 3]);
    // q = 9, 25, 9, 0, 4, 1, 9, 0: terms √(q + 1) − 1.
    let s10 = 10.0f64.sqrt();
    let expected = 3.0 * (s10 - 1.0)
        + (26.0f64.sqrt() - 1.0)
        + (5.0f64.sqrt() - 1.0)
        + (2.0f64.sqrt() - 1.0);
    assert_close(
        &sum.volume_value(&CUBE, &layout).unwrap(),
        &[expected],
        1e-15,
    );

    // Fluxes d / √(q + 1): (0,0,0) → (1, 2, 2)/√10,
    // (0,0,1) → (0, 4, 3)/√26, (0,1,0) → (3, 0, 0)/√10,
    // (1,0,0) → (2, 0, 0)/√5, (1,0,1) → (0, 1, 0)/√2,
    // (1,1,0) → (3, 0, 0)/√10, the others 0.
    let (s26, s5, s2) = (26.0f64.sqrt(), 5.0f64.sqrt(), 2.0f64.sqrt());
    let expected = [
        -5.0 / s10,
        1.0 / s10 - 7.0 / s26,
        2.0 / s10 - 3.0 / s10,
        3.0 / s10 + 4.0 / s26,
        2.0 / s10 - 2.0 / s5,
        2.0 / s5 + 3.0 / s26 - 1.0 / s2,
        -3.0 / s10,
        3.0 / s10 + 1.0 / s2,
    ];
    let grad = sum.volume_gradient(&CUBE, &layout, &[1.0]).unwrap();
    assert_close(&grad, &expected, 1e-15);
}

/// A 2×1×2 volume with weights `(w_z, w_y, w_x) = (0.5, 1, 2)`, slices
/// `[0, 1]` and `[3, 3]`:
///
/// ```text
/// (0,0,0): dx = 2·1 = 2, dz = 0.5·3 = 1.5    q = 6.25, r = 2.5
/// (0,0,1): dz = 0.5·2 = 1                    q = 1,    r = 1
/// (1,0,0): dx = 2·0 = 0                      q = 0,    r = 0
/// (1,0,1): nothing                           q = 0
/// ```
#[test]
fn weighted_volume_by_hand() {
    let layout = VolumeLayout::new(&[2, 1, 2]).unwrap();
    let img = [0.0f64, 1.0, 3.0, 3.0];
    let weights = [0.5, 1.0, 2.0];
    let isotropic = config(Norm::Isotropic, Reduction::Sum, weights);
    assert_eq!(isotropic.volume_value(&img, &layout).unwrap(), [3.5]);
    let squared = config(Norm::SquaredL2, Reduction::Sum, weights);
    assert_eq!(squared.volume_value(&img, &layout).unwrap(), [7.25]);

    // Isotropic shares (d / r)·w: (0,0,0) → ux = 0.8·2 = 1.6,
    // uz = 0.6·0.5 = 0.3; (0,0,1) → uz = 1·0.5 = 0.5; (1,0,0) → 0.
    //   (0,0,0): −1.9    (0,0,1): 1.6 − 0.5 = 1.1
    //   (1,0,0): 0.3     (1,0,1): 0 + 0.5 = 0.5
    let grad = isotropic.volume_gradient(&img, &layout, &[1.0]).unwrap();
    assert_close(&grad, &[-1.9, 1.1, 0.3, 0.5], 1e-15);
    // Squared shares 2·d·w: (0,0,0) → ux = 8, uz = 1.5; (0,0,1) → uz = 1.
    let grad = squared.volume_gradient(&img, &layout, &[1.0]).unwrap();
    assert_eq!(grad, [-9.5, 7.0, 1.5, 1.0]);
}

#[test]
fn flat_volumes_have_zero_value_and_gradient() {
    let layout = VolumeLayout::new(&[2, 3, 3, 20]).unwrap();
    let img = vec![1.5f32; layout.len()];
    for norm in NORMS {
        for reduction in REDUCTIONS {
            let tv = config(norm, reduction, [0.7, 1.0, 2.0]);
            let value = tv.volume_value(&img, &layout).unwrap();
            assert_eq!(bits32(&value), bits32(&[0.0, 0.0]), "{norm:?}");
            let grad = tv.volume_gradient(&img, &layout, &[1.0, -3.0]).unwrap();
            assert!(grad.iter().all(|&g| g == 0.0), "{norm:?}: {grad:?}");
        }
    }
}

#[test]
fn invalid_epsilon_on_a_volume() {
    let layout = VolumeLayout::new(&[1, 1, 2]).unwrap();
    let norm = Norm::Smooth { epsilon: 1e-30 };
    let tv = TotalVariation::new().with_norm(norm);
    // ε² underflows in f32, not in f64.
    assert_eq!(
        tv.volume_value(&[0.0f32, 1.0], &layout),
        Err(Error::InvalidEpsilon { norm, element: "f32" })
    );
    assert!(tv.volume_value(&[0.0f64, 1.0], &layout).is_ok());
    // The arguments are checked first.
    assert_eq!(
        tv.volume_gradient(&[0.0f32, 1.0], &layout, &[]),
        Err(Error::UpstreamLength { expected: 1, actual: 0 })
    );
}

// ---------------------------------------------------------------------
// The naive reference.
// ---------------------------------------------------------------------

/// The weighted forward differences `(dx, dy, dz)` of voxel
/// `(v, z, y, x)`, `None` where missing.
fn voxel_differences(
    img: &[f64],
    dims: [usize; 4],
    weights: [f64; 3],
    (v, z, y, x): (usize, usize, usize, usize),
) -> [Option<f64>; 3] {
    let [_, d, h, w] = dims;
    let at = |z: usize, y: usize, x: usize| img[((v * d + z) * h + y) * w + x];
    let here = at(z, y, x);
    let [wz, wy, wx] = weights;
    let weighted = |weight: f64, next: Option<f64>| {
        next.filter(|_| weight != 0.0).map(|next| weight * (next - here))
    };
    [
        weighted(wx, (x + 1 < w).then(|| at(z, y, x + 1))),
        weighted(wy, (y + 1 < h).then(|| at(z, y + 1, x))),
        weighted(wz, (z + 1 < d).then(|| at(z + 1, y, x))),
    ]
}

fn squares(differences: [Option<f64>; 3]) -> f64 {
    differences.iter().flatten().map(|d| d * d).sum()
}

/// The term of a voxel, and the scale of its rounding error (`√(q + ε²)`
/// for the smooth form, whose subtraction cancels).
fn naive_term(norm: Norm, q: f64) -> (f64, f64) {
    match norm {
        Norm::Isotropic => (q.sqrt(), q.sqrt()),
        Norm::SquaredL2 => (q, q),
        Norm::Smooth { epsilon } => {
            let r = (q + epsilon * epsilon).sqrt();
            (r - epsilon, r)
        }
        _ => unreachable!(),
    }
}

/// The value of each volume and the scale of its rounding error.
fn naive_values(
    img: &[f64],
    dims: [usize; 4],
    norm: Norm,
    weights: [f64; 3],
    reduction: Reduction,
) -> Vec<(f64, f64)> {
    let [n, d, h, w] = dims;
    let count = d * h * w;
    (0..n)
        .map(|v| {
            let (mut sum, mut scale) = (0.0, 0.0);
            for z in 0..d {
                for y in 0..h {
                    for x in 0..w {
                        let differences =
                            voxel_differences(img, dims, weights, (v, z, y, x));
                        let (term, error) =
                            naive_term(norm, squares(differences));
                        sum += term;
                        scale += error;
                    }
                }
            }
            match reduction {
                Reduction::Mean if count > 0 => {
                    (sum / count as f64, scale / count as f64)
                }
                _ => (sum, scale),
            }
        })
        .collect()
}

/// The derivative of a voxel's term with respect to each difference.
fn naive_partials(norm: Norm, differences: [Option<f64>; 3]) -> [f64; 3] {
    let q = squares(differences);
    differences.map(|d| {
        let Some(d) = d else { return 0.0 };
        match norm {
            Norm::Isotropic if q == 0.0 => 0.0,
            Norm::Isotropic => d / q.sqrt(),
            Norm::SquaredL2 => 2.0 * d,
            Norm::Smooth { epsilon } => d / (q + epsilon * epsilon).sqrt(),
            _ => unreachable!(),
        }
    })
}

/// The gradient by the chain rule, and the scale of its rounding error
/// for each element (the sum of the magnitudes of its shares).
fn naive_gradient(
    img: &[f64],
    dims: [usize; 4],
    norm: Norm,
    weights: [f64; 3],
    reduction: Reduction,
    upstream: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let [n, d, h, w] = dims;
    let mut grad = vec![0.0; img.len()];
    let mut scale = vec![0.0; img.len()];
    let [wz, wy, wx] = weights;
    for (v, &g) in upstream.iter().enumerate().take(n) {
        let g = match reduction {
            Reduction::Mean => g / (d * h * w) as f64,
            _ => g,
        };
        for z in 0..d {
            for y in 0..h {
                for x in 0..w {
                    let differences =
                        voxel_differences(img, dims, weights, (v, z, y, x));
                    let partials = naive_partials(norm, differences);
                    let here = ((v * d + z) * h + y) * w + x;
                    let ahead = [here + 1, here + w, here + h * w];
                    for axis in 0..3 {
                        if differences[axis].is_none() {
                            continue;
                        }
                        let share = partials[axis] * [wx, wy, wz][axis] * g;
                        grad[ahead[axis]] += share;
                        grad[here] -= share;
                        scale[ahead[axis]] += share.abs();
                        scale[here] += share.abs();
                    }
                }
            }
        }
    }
    (grad, scale)
}

// ---------------------------------------------------------------------
// Generated cases.
// ---------------------------------------------------------------------

/// Shapes `(n, D, H, W)`, zeros and depth 1 included; widths up to 40
/// reach the vector kernels of both element types and their tails.
fn dims() -> impl Strategy<Value = [usize; 4]> {
    (0usize..3, prop_oneof![Just(1usize), 0usize..5], 0usize..5, 0usize..40)
        .prop_map(|(n, d, h, w)| [n, d, h, w])
}

/// Small multiples of 1/4 (many equal neighbours, so many r = 0) and
/// values up to 100.
fn pixel() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => (-8i32..=8).prop_map(|k| f64::from(k) / 4.0),
        1 => -100.0f64..100.0,
    ]
}

fn weights() -> impl Strategy<Value = [f64; 3]> {
    let weight = prop_oneof![Just(1.0), Just(0.0), Just(0.4), 0.0f64..3.0];
    [weight.clone(), weight.clone(), weight]
}

fn norm() -> impl Strategy<Value = Norm> {
    prop_oneof![
        Just(Norm::Isotropic),
        Just(Norm::SquaredL2),
        prop_oneof![Just(0.5), Just(1e-3), 0.01f64..10.0]
            .prop_map(|epsilon| Norm::Smooth { epsilon }),
    ]
}

type Case = ([usize; 4], Vec<f64>, Vec<f64>, [f64; 3], Norm);

fn cases() -> impl Strategy<Value = Case> {
    (dims(), weights(), norm()).prop_flat_map(|(dims, weights, norm)| {
        let len: usize = dims.iter().product();
        (
            Just(dims),
            prop::collection::vec(pixel(), len),
            prop::collection::vec(-2.0f64..2.0, dims[0]),
            Just(weights),
            Just(norm),
        )
    })
}

/// The bound on the crate's distance from the reference, relative to an
/// error scale: about 10 roundings per term (differences, weights,
/// squares, sums, square root, subtraction or division, products) plus
/// `log2(n + 2)` for the pairwise sum, doubled, and the reference's own
/// sum of `n` terms.
fn tolerance(unit: f64, terms: usize, scale: f64) -> f64 {
    let crate_error = 2.0 * unit * (10.0 + ((terms + 2) as f64).log2());
    let reference_error = (terms + 1) as f64 * f64::EPSILON;
    (crate_error + reference_error) * scale + f64::MIN_POSITIVE
}

/// Rounds to `f32` and back.
fn round32(values: &[f64]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v as f32)).collect()
}

/// Checks the values and gradients of one element type against the
/// reference, the inputs (pixels, weights, ε) already rounded to it.
#[allow(clippy::too_many_arguments)]
fn check_against_reference(
    values: &[f64],
    grad: &[f64],
    (dims, img, upstream, weights, norm): &Case,
    reduction: Reduction,
    unit: f64,
) -> Result<(), TestCaseError> {
    let terms = dims[1] * dims[2] * dims[3];
    let expected = naive_values(img, *dims, *norm, *weights, reduction);
    for (&got, &(expected, scale)) in values.iter().zip(&expected) {
        prop_assert!(
            (got - expected).abs() <= tolerance(unit, terms, scale),
            "value {got} vs {expected} (scale {scale})"
        );
    }
    let (expected, scales) =
        naive_gradient(img, *dims, *norm, *weights, reduction, upstream);
    for (k, ((&got, &expected), &scale)) in
        grad.iter().zip(&expected).zip(&scales).enumerate()
    {
        prop_assert!(
            (got - expected).abs() <= tolerance(unit, 4, scale),
            "gradient {k}: {got} vs {expected} (scale {scale})"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        if cfg!(miri) { 2 } else { 256 }
    ))]

    /// `f64` values and gradients within the stated bound of the naive
    /// reference.
    #[test]
    #[cfg_attr(miri, ignore = "proptest is too slow under miri")]
    fn f64_matches_the_reference(case in cases()) {
        let (dims, img, upstream, weights, norm) = &case;
        let layout = VolumeLayout::new(dims).unwrap();
        for reduction in REDUCTIONS {
            let tv = config(*norm, reduction, *weights);
            let values = tv.volume_value(img, &layout).unwrap();
            let grad = tv.volume_gradient(img, &layout, upstream).unwrap();
            check_against_reference(
                &values, &grad, &case, reduction, f64::EPSILON / 2.0,
            )?;
        }
    }

    /// The same in `f32`, the reference fed the inputs as rounded to
    /// `f32` (pixels, upstream values, weights and ε).
    #[test]
    #[cfg_attr(miri, ignore = "proptest is too slow under miri")]
    fn f32_matches_the_reference(case in cases()) {
        let (dims, img, upstream, weights, norm) = case;
        let layout = VolumeLayout::new(&dims).unwrap();
        let img32: Vec<f32> = img.iter().map(|&v| v as f32).collect();
        let up32: Vec<f32> = upstream.iter().map(|&v| v as f32).collect();
        let rounded_norm = match norm {
            Norm::Smooth { epsilon } => {
                Norm::Smooth { epsilon: f64::from(epsilon as f32) }
            }
            other => other,
        };
        let rounded = (
            dims,
            round32(&img),
            round32(&upstream),
            round32(&weights).try_into().unwrap(),
            rounded_norm,
        );
        for reduction in REDUCTIONS {
            let tv = config(norm, reduction, weights);
            let values = tv.volume_value(&img32, &layout).unwrap();
            let grad = tv.volume_gradient(&img32, &layout, &up32).unwrap();
            let values: Vec<f64> =
                values.iter().map(|&v| f64::from(v)).collect();
            let grad: Vec<f64> = grad.iter().map(|&g| f64::from(g)).collect();
            check_against_reference(
                &values,
                &grad,
                &rounded,
                reduction,
                f64::from(f32::EPSILON) / 2.0,
            )?;
        }
    }
}

/// Central differences of the reference value, in `f64`, for every
/// element of small volumes. The isotropic norm has a kink where a voxel
/// with differences has `r = 0`: elements read by such a voxel, or by one
/// with `r` within a few steps of 0, are skipped.
fn check_central_differences(
    img: &[f64],
    dims: [usize; 4],
    norm: Norm,
    weights: [f64; 3],
    reduction: Reduction,
    upstream: &[f64],
) -> Result<(), TestCaseError> {
    let [n, d, h, w] = dims;
    let layout = VolumeLayout::new(&dims).unwrap();
    let tv = config(norm, reduction, weights);
    let grad = tv.volume_gradient(img, &layout, upstream).unwrap();
    let total = |img: &[f64]| -> f64 {
        naive_values(img, dims, norm, weights, reduction)
            .iter()
            .zip(upstream)
            .map(|(&(value, _), &g)| value * g)
            .sum()
    };
    // The voxels whose terms read each element: itself and those behind
    // it on each axis.
    let near_kink = |k: usize| -> bool {
        let (v, z, y, x) = (k / (d * h * w), k / (h * w) % d, k / w % h, k % w);
        let readers = [
            Some((z, y, x)),
            x.checked_sub(1).map(|x| (z, y, x)),
            y.checked_sub(1).map(|y| (z, y, x)),
            z.checked_sub(1).map(|z| (z, y, x)),
        ];
        readers.into_iter().flatten().any(|(z, y, x)| {
            let differences =
                voxel_differences(img, dims, weights, (v, z, y, x));
            let has_any = differences.iter().any(Option::is_some);
            has_any && squares(differences).sqrt() < 1e-3
        })
    };
    let step = 1e-6;
    for k in 0..n * d * h * w {
        if matches!(norm, Norm::Isotropic) && near_kink(k) {
            continue;
        }
        let mut plus = img.to_vec();
        plus[k] += step;
        let mut minus = img.to_vec();
        minus[k] -= step;
        let expected = (total(&plus) - total(&minus)) / (2.0 * step);
        prop_assert!(
            (grad[k] - expected).abs() <= 1e-5 * expected.abs().max(1.0),
            "element {k}: {} vs {expected}, {norm:?} {reduction:?}",
            grad[k]
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        if cfg!(miri) { 2 } else { 64 }
    ))]

    #[test]
    #[cfg_attr(miri, ignore = "proptest is too slow under miri")]
    fn gradient_matches_central_differences(
        (dims, img, upstream, weights, norm) in
            ((1usize..3, 1usize..4, 1usize..4, 1usize..6), weights(), norm())
                .prop_flat_map(|((n, d, h, w), weights, norm)| (
                    Just([n, d, h, w]),
                    prop::collection::vec(-4.0f64..4.0, n * d * h * w),
                    prop::collection::vec(-2.0f64..2.0, n),
                    Just(weights),
                    Just(norm),
                ))
    ) {
        for reduction in REDUCTIONS {
            check_central_differences(
                &img, dims, norm, weights, reduction, &upstream,
            )?;
        }
    }
}

// ---------------------------------------------------------------------
// Bits: depth 1 against the plane, backends against scalar.
// ---------------------------------------------------------------------

/// Values that stress the arithmetic: NaN, infinities, signed zeros,
/// subnormals of both types, values whose differences or squares
/// overflow.
fn special() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(0.0),
        Just(5e-324),
        Just(-1e-310),
        Just(1e-40),
        Just(-1e-45),
        Just(1e300),
        Just(-f64::MAX),
        Just(3e38),
        Just(-2e19),
    ]
}

/// A case with special values put in at random places, and some in the
/// upstream values.
fn special_cases() -> impl Strategy<Value = Case> {
    (
        cases(),
        prop::collection::vec((any::<prop::sample::Index>(), special()), 0..6),
        prop::collection::vec((any::<prop::sample::Index>(), special()), 0..2),
    )
        .prop_map(
            |((dims, mut img, mut upstream, weights, norm), a, b)| {
                for (index, value) in a {
                    if !img.is_empty() {
                        let i = index.index(img.len());
                        img[i] = value;
                    }
                }
                for (index, value) in b {
                    if !upstream.is_empty() {
                        let i = index.index(upstream.len());
                        upstream[i] = value;
                    }
                }
                (dims, img, upstream, weights, norm)
            },
        )
}

/// Every backend's values and gradient, for `f64` and `f32`.
#[allow(clippy::type_complexity)]
fn on_every_backend(
    case: &Case,
    reduction: Reduction,
) -> Vec<(Backend, Vec<u64>, Vec<u64>, Vec<u32>, Vec<u32>)> {
    let (dims, img, upstream, weights, norm) = case;
    let layout = VolumeLayout::new(dims).unwrap();
    let img32: Vec<f32> = img.iter().map(|&v| v as f32).collect();
    let up32: Vec<f32> = upstream.iter().map(|&v| v as f32).collect();
    [Backend::Scalar]
        .into_iter()
        .chain(fast_backends())
        .map(|backend| {
            let tv = config(*norm, reduction, *weights).with_backend(backend);
            (
                backend,
                bits(&tv.volume_value(img, &layout).unwrap()),
                bits(&tv.volume_gradient(img, &layout, upstream).unwrap()),
                bits32(&tv.volume_value(&img32, &layout).unwrap()),
                bits32(&tv.volume_gradient(&img32, &layout, &up32).unwrap()),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        if cfg!(miri) { 2 } else { 512 }
    ))]

    /// Every backend gives the scalar bits, specials included.
    #[test]
    #[cfg_attr(miri, ignore = "proptest is too slow under miri")]
    fn backends_match_scalar(case in special_cases()) {
        for reduction in REDUCTIONS {
            let results = on_every_backend(&case, reduction);
            let (_, value, grad, value32, grad32) = &results[0];
            for (backend, v, g, v32, g32) in &results[1..] {
                prop_assert_eq!(v, value, "{:?} f64 value", backend);
                prop_assert_eq!(g, grad, "{:?} f64 gradient", backend);
                prop_assert_eq!(v32, value32, "{:?} f32 value", backend);
                prop_assert_eq!(g32, grad32, "{:?} f32 gradient", backend);
            }
        }
    }

    /// A volume of depth 1 with unit weights is its plane, bit for bit,
    /// on every backend, specials included.
    #[test]
    #[cfg_attr(miri, ignore = "proptest is too slow under miri")]
    fn depth_one_is_the_plane(case in special_cases()) {
        let ([n, _, h, w], img, upstream, _, norm) = case;
        // Made-up values where the generated depth was 0.
        let img: Vec<f64> = (0..n * h * w)
            .map(|i| img.get(i).copied().unwrap_or((i % 7) as f64 * 0.25))
            .collect();
        let img32: Vec<f32> = img.iter().map(|&v| v as f32).collect();
        let up32: Vec<f32> = upstream.iter().map(|&v| v as f32).collect();
        let volumes = VolumeLayout::new(&[n, 1, h, w]).unwrap();
        let planes = Layout::new(&[n, h, w]).unwrap();
        for reduction in REDUCTIONS {
            let backends = fast_backends().into_iter().chain([Backend::Scalar]);
            for backend in backends {
                let tv = TotalVariation::new()
                    .with_norm(norm)
                    .with_reduction(reduction)
                    .with_backend(backend);
                prop_assert_eq!(
                    bits(&tv.volume_value(&img, &volumes).unwrap()),
                    bits(&tv.value(&img, &planes).unwrap())
                );
                prop_assert_eq!(
                    bits(
                        &tv.volume_gradient(&img, &volumes, &upstream)
                            .unwrap()
                    ),
                    bits(&tv.gradient(&img, &planes, &upstream).unwrap())
                );
                prop_assert_eq!(
                    bits32(&tv.volume_value(&img32, &volumes).unwrap()),
                    bits32(&tv.value(&img32, &planes).unwrap())
                );
                prop_assert_eq!(
                    bits32(
                        &tv.volume_gradient(&img32, &volumes, &up32).unwrap()
                    ),
                    bits32(&tv.gradient(&img32, &planes, &up32).unwrap())
                );
            }
        }
    }

    /// A depth weight of 0 leaves the depth out: with `Sum`, each slice's
    /// gradient is the plane's, bit for bit.
    #[test]
    #[cfg_attr(miri, ignore = "proptest is too slow under miri")]
    fn zero_depth_weight_gives_the_slices(case in special_cases()) {
        let ([n, d, h, w], img, upstream, _, norm) = case;
        let volumes = VolumeLayout::new(&[n, d, h, w]).unwrap();
        let planes = volumes.slices();
        // Each slice takes its volume's upstream value.
        let per_slice: Vec<f64> = upstream
            .iter()
            .flat_map(|&g| core::iter::repeat_n(g, d))
            .collect();
        let tv = config(norm, Reduction::Sum, [0.0, 1.0, 1.0]);
        prop_assert_eq!(
            bits(&tv.volume_gradient(&img, &volumes, &upstream).unwrap()),
            bits(&tv.gradient(&img, &planes, &per_slice).unwrap())
        );
    }
}
