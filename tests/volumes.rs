//! TV of volumes `(*, D, H, W)`: against the plane functions on one
//! slice, a naive reference written here, central differences, and the
//! scalar backend.

#![cfg(feature = "alloc")]

mod common;

use common::{bits, bits32, fast_backends};
use proptest::prelude::*;
use total_variation::{
    AxisWeights, Backend, Error, Layout, Reduction, TotalVariation,
    VolumeLayout,
};

const REDUCTIONS: [Reduction; 2] = [Reduction::Sum, Reduction::Mean];

/// Element `(v, z, y, x)` of a volume batch.
struct Volume<'a> {
    img: &'a [f64],
    dims: [usize; 4],
}

impl Volume<'_> {
    fn at(&self, v: usize, z: usize, y: usize, x: usize) -> f64 {
        let [_, d, h, w] = self.dims;
        self.img[((v * d + z) * h + y) * w + x]
    }
}

/// The TV of each volume, summed in `f64` in reading order: each term
/// over its differences, weighted, with the mean over each term's count.
fn reference_values(
    img: &[f64],
    dims: [usize; 4],
    weights: [f64; 3],
    reduction: Reduction,
) -> Vec<f64> {
    let [n, d, h, w] = dims;
    let volume = Volume { img, dims };
    (0..n)
        .map(|v| {
            let mut sums = [0.0f64; 3];
            let mut counts = [0usize; 3];
            for z in 0..d {
                for y in 0..h {
                    for x in 0..w {
                        let here = volume.at(v, z, y, x);
                        let neighbours = [
                            (z + 1 < d).then(|| volume.at(v, z + 1, y, x)),
                            (y + 1 < h).then(|| volume.at(v, z, y + 1, x)),
                            (x + 1 < w).then(|| volume.at(v, z, y, x + 1)),
                        ];
                        for (axis, next) in neighbours.into_iter().enumerate() {
                            if let Some(next) = next {
                                sums[axis] += (next - here).abs();
                                counts[axis] += 1;
                            }
                        }
                    }
                }
            }
            (0..3)
                .map(|axis| {
                    let term = match reduction {
                        Reduction::Sum => sums[axis],
                        _ if counts[axis] == 0 => 0.0,
                        _ => sums[axis] / counts[axis] as f64,
                    };
                    weights[axis] * term
                })
                .sum()
        })
        .collect()
}

/// `sign(d)`, 0 for 0 and NaN.
fn sign(d: f64) -> f64 {
    if d > 0.0 {
        1.0
    } else if d < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The gradient by its documented definition, written out element by
/// element: the terms of the slice in the order of the plane gradient,
/// then the one to the slice behind and the one from the slice in front.
fn reference_gradient(
    img: &[f64],
    dims: [usize; 4],
    weights: [f64; 3],
    reduction: Reduction,
    upstream: &[f64],
) -> Vec<f64> {
    let [n, d, h, w] = dims;
    let volume = Volume { img, dims };
    let counts = [
        (d.max(1) - 1) * h * w,
        d * (h.max(1) - 1) * w,
        d * h * (w.max(1) - 1),
    ];
    let mut grad = Vec::with_capacity(img.len());
    for (v, &g) in upstream.iter().enumerate().take(n) {
        let factor = |axis: usize| {
            let share = match reduction {
                Reduction::Sum => g,
                _ if counts[axis] == 0 => 0.0,
                _ => g / counts[axis] as f64,
            };
            if weights[axis] == 0.0 { 0.0 } else { weights[axis] * share }
        };
        let (gz, gy, gx) = (factor(0), factor(1), factor(2));
        for z in 0..d {
            for y in 0..h {
                for x in 0..w {
                    let here = volume.at(v, z, y, x);
                    let term = |other: Option<f64>, f: &dyn Fn(f64) -> f64| {
                        other.map_or(0.0, f)
                    };
                    let from_left = term(
                        x.checked_sub(1).map(|x| volume.at(v, z, y, x)),
                        &|left| sign(here - left) * gx,
                    );
                    let to_right = term(
                        (x + 1 < w).then(|| volume.at(v, z, y, x + 1)),
                        &|right| -(sign(right - here) * gx),
                    );
                    let to_below = term(
                        (y + 1 < h).then(|| volume.at(v, z, y + 1, x)),
                        &|below| -(sign(below - here) * gy),
                    );
                    let from_above = term(
                        y.checked_sub(1).map(|y| volume.at(v, z, y, x)),
                        &|above| sign(here - above) * gy,
                    );
                    let mut value =
                        ((from_left + to_right) + to_below) + from_above;
                    if z + 1 < d {
                        let back = volume.at(v, z + 1, y, x);
                        value += -(sign(back - here) * gz);
                    }
                    if z > 0 {
                        let front = volume.at(v, z - 1, y, x);
                        value += sign(here - front) * gz;
                    }
                    grad.push(value);
                }
            }
        }
    }
    grad
}

/// Shapes `(n, D, H, W)` with small dimensions, zero included.
fn dims() -> impl Strategy<Value = [usize; 4]> {
    (0usize..3, 0usize..5, 0usize..5, 0usize..40)
        .prop_map(|(n, d, h, w)| [n, d, h, w])
}

/// Integers and halves in a small range: many ties, so zero
/// differences are common.
fn pixel() -> impl Strategy<Value = f64> {
    (-8i32..=8).prop_map(|v| f64::from(v) * 0.5)
}

fn weights() -> impl Strategy<Value = [f64; 3]> {
    let weight = prop_oneof![Just(1.0), Just(0.0), Just(0.4), 0.0f64..3.0];
    [weight.clone(), weight.clone(), weight]
}

fn case() -> impl Strategy<Value = ([usize; 4], Vec<f64>, Vec<f64>, [f64; 3])> {
    (dims(), weights()).prop_flat_map(|(dims, weights)| {
        let len: usize = dims.iter().product();
        (
            Just(dims),
            prop::collection::vec(pixel(), len),
            prop::collection::vec(pixel(), dims[0]),
            Just(weights),
        )
    })
}

fn config(weights: [f64; 3], reduction: Reduction) -> TotalVariation {
    let [d, h, w] = weights;
    TotalVariation::new()
        .with_reduction(reduction)
        .with_axis_weights(AxisWeights::new(d, h, w).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        if cfg!(miri) { 2 } else { 256 }
    ))]

    /// Values within a few roundings of the naive sum (the pixels are
    /// small multiples of 1/2, so the sums are nearly exact); gradients
    /// equal, bit for bit, the definition written out above.
    #[test]
    #[cfg_attr(miri, ignore = "proptest is too slow under miri")]
    fn volumes_match_the_reference((dims, img, upstream, weights) in case()) {
        let layout = VolumeLayout::new(&dims).unwrap();
        for reduction in REDUCTIONS {
            let tv = config(weights, reduction);
            let expected = reference_values(&img, dims, weights, reduction);
            let got = tv.volume_value(&img, &layout).unwrap();
            for (&got, &expected) in got.iter().zip(&expected) {
                prop_assert!(
                    (got - expected).abs() <= 1e-12 * expected.abs().max(1.0),
                    "{got} vs {expected}, {reduction:?} {weights:?}"
                );
            }
            let grad = tv.volume_gradient(&img, &layout, &upstream).unwrap();
            let expected =
                reference_gradient(&img, dims, weights, reduction, &upstream);
            prop_assert_eq!(bits(&grad), bits(&expected));
        }
    }

    /// Every backend gives the scalar bits, specials included.
    #[test]
    #[cfg_attr(miri, ignore = "proptest is too slow under miri")]
    fn volume_backends_match_scalar(
        (dims, img, upstream, weights) in case(),
        specials in prop::collection::vec(
            (any::<prop::sample::Index>(), prop_oneof![
                Just(f64::NAN), Just(f64::INFINITY), Just(-0.0),
                Just(f64::NEG_INFINITY), Just(1e300),
            ]),
            0..4,
        ),
    ) {
        let mut img = img;
        if !img.is_empty() {
            for (index, value) in specials {
                let i = index.index(img.len());
                img[i] = value;
            }
        }
        let layout = VolumeLayout::new(&dims).unwrap();
        let img32: Vec<f32> = img.iter().map(|&v| v as f32).collect();
        let upstream32: Vec<f32> = upstream.iter().map(|&v| v as f32).collect();
        for reduction in REDUCTIONS {
            let scalar = config(weights, reduction).with_backend(Backend::Scalar);
            let value = scalar.volume_value(&img, &layout).unwrap();
            let grad = scalar.volume_gradient(&img, &layout, &upstream).unwrap();
            let value32 = scalar.volume_value(&img32, &layout).unwrap();
            let grad32 =
                scalar.volume_gradient(&img32, &layout, &upstream32).unwrap();
            for backend in fast_backends() {
                let tv = scalar.with_backend(backend);
                prop_assert_eq!(
                    bits(&tv.volume_value(&img, &layout).unwrap()),
                    bits(&value)
                );
                prop_assert_eq!(
                    bits(&tv.volume_gradient(&img, &layout, &upstream).unwrap()),
                    bits(&grad)
                );
                prop_assert_eq!(
                    bits32(&tv.volume_value(&img32, &layout).unwrap()),
                    bits32(&value32)
                );
                prop_assert_eq!(
                    bits32(
                        &tv.volume_gradient(&img32, &layout, &upstream32)
                            .unwrap()
                    ),
                    bits32(&grad32)
                );
            }
        }
    }

    /// A volume of depth 1 with unit weights is its plane, bit for bit.
    #[test]
    #[cfg_attr(miri, ignore = "proptest is too slow under miri")]
    fn depth_one_is_the_plane((dims, img, upstream, _) in case()) {
        let [n, _, h, w] = dims;
        // The first slice of each volume, or made-up values where the
        // depth is 0.
        let img: Vec<f64> = (0..n * h * w)
            .map(|i| img.get(i).copied().unwrap_or((i % 7) as f64 * 0.5))
            .collect();
        let img = img.as_slice();
        let volumes = VolumeLayout::new(&[n, 1, h, w]).unwrap();
        let planes = Layout::new(&[n, h, w]).unwrap();
        for reduction in REDUCTIONS {
            for backend in fast_backends().into_iter().chain([Backend::Scalar]) {
                let tv = TotalVariation::new()
                    .with_reduction(reduction)
                    .with_backend(backend);
                prop_assert_eq!(
                    bits(&tv.volume_value(img, &volumes).unwrap()),
                    bits(&tv.value(img, &planes).unwrap())
                );
                prop_assert_eq!(
                    bits(&tv.volume_gradient(img, &volumes, &upstream).unwrap()),
                    bits(&tv.gradient(img, &planes, &upstream).unwrap())
                );
            }
        }
    }
}

/// Central differences of the value, in `f64`, on a volume whose
/// neighbours all differ by more than the step: no kink is crossed.
#[test]
fn gradient_matches_central_differences() {
    let dims = [1, 3, 4, 5];
    let len: usize = dims.iter().product();
    // Distinct values spread over [0, 60): neighbours differ by ≥ 0.5.
    let img: Vec<f64> =
        (0..len).map(|i| ((i * 37) % len) as f64 * 1.0 + 0.25).collect();
    let layout = VolumeLayout::new(&dims).unwrap();
    for (reduction, weights) in
        [(Reduction::Sum, [1.0, 1.0, 1.0]), (Reduction::Mean, [0.5, 2.0, 1.5])]
    {
        let tv = config(weights, reduction);
        let grad = tv.volume_gradient(&img, &layout, &[1.0]).unwrap();
        let step = 1e-3;
        for i in 0..len {
            let mut plus = img.clone();
            plus[i] += step;
            let mut minus = img.clone();
            minus[i] -= step;
            let slope = (tv.volume_value(&plus, &layout).unwrap()[0]
                - tv.volume_value(&minus, &layout).unwrap()[0])
                / (2.0 * step);
            assert!(
                (slope - grad[i]).abs() < 1e-9,
                "element {i}: {slope} vs {}",
                grad[i]
            );
        }
    }
}

/// Two 2×2×2 volumes worked by hand.
#[test]
fn hand_computed_volumes() {
    // Volume 0: slices [[0, 1], [2, 3]] and [[4, 5], [6, 7]].
    // depth: 4 · |4| = 16; height: 2 slices · 2 columns · |2| = 8;
    // width: 4 rows · |1| = 4. Volume 1: constant.
    let img = [0., 1., 2., 3., 4., 5., 6., 7., 9., 9., 9., 9., 9., 9., 9., 9.];
    let layout = VolumeLayout::new(&[2, 2, 2, 2]).unwrap();
    let tv = TotalVariation::new();
    assert_eq!(tv.volume_value(&img, &layout).unwrap(), [28.0, 0.0]);
    let mean = tv.with_reduction(Reduction::Mean);
    // Each term has 4 differences: 16/4 + 8/4 + 4/4.
    assert_eq!(mean.volume_value(&img, &layout).unwrap(), [7.0, 0.0]);
    let weighted =
        tv.with_axis_weights(AxisWeights::new(0.25, 0.5, 2.0).unwrap());
    assert_eq!(
        weighted.volume_value(&img, &layout).unwrap(),
        [4.0 + 4.0 + 8.0, 0.0]
    );
    // The element 0 of volume 0 has neighbours right (+1), below (+2) and
    // behind (+4), all larger: −1 on each axis.
    let grad = tv.volume_gradient(&img, &layout, &[1.0, 1.0]).unwrap();
    assert_eq!(grad[0], -3.0);
    // The element 7 has them left, above and in front, all smaller.
    assert_eq!(grad[7], 3.0);
    assert!(grad[8..].iter().all(|&g| g == 0.0));
}

#[test]
fn volume_errors() {
    let tv = TotalVariation::new();
    assert_eq!(
        VolumeLayout::new(&[3, 3]),
        Err(Error::VolumeShapeTooShort { dims: 2 })
    );
    assert_eq!(
        VolumeLayout::new(&[usize::MAX, 2, 1, 1]),
        Err(Error::ShapeOverflow)
    );
    for bad in [-1.0, f64::NAN, f64::INFINITY, 1e39] {
        assert_eq!(
            AxisWeights::new(1.0, bad, 1.0),
            Err(Error::InvalidAxisWeights)
        );
    }
    let layout = VolumeLayout::new(&[2, 2, 2, 2]).unwrap();
    let img = [0.0f32; 16];
    assert_eq!(
        tv.volume_value(&img[..15], &layout),
        Err(Error::LengthMismatch { expected: 16, actual: 15 })
    );
    let mut out = [0.0f32; 3];
    assert_eq!(
        tv.volume_value_into(&img, &layout, &mut out),
        Err(Error::OutputLength { expected: 2, actual: 3 })
    );
    assert_eq!(
        tv.volume_gradient(&img, &layout, &[1.0]),
        Err(Error::UpstreamLength { expected: 2, actual: 1 })
    );
    let mut grad = [0.0f32; 15];
    assert_eq!(
        tv.volume_gradient_into(&img, &layout, &[1.0, 1.0], &mut grad),
        Err(Error::GradientLength { expected: 16, actual: 15 })
    );
    for err in
        [Error::VolumeShapeTooShort { dims: 2 }, Error::InvalidAxisWeights]
    {
        assert!(!err.to_string().is_empty());
    }
    assert!(Error::VolumeShapeTooShort { dims: 2 }.to_string().contains('2'));
}

/// A left-out axis (weight 0) contributes `+0.0`, even when its
/// differences overflow to infinity.
#[test]
fn zero_weight_leaves_an_infinite_axis_out() {
    let layout = VolumeLayout::new(&[2, 1, 2]).unwrap();
    // Slices [−MAX, −MAX] and [MAX, MAX]: each depth difference is +inf,
    // each width difference 0.
    let img = [-f64::MAX, -f64::MAX, f64::MAX, f64::MAX];
    let tv = TotalVariation::new();
    assert_eq!(tv.volume_value(&img, &layout).unwrap(), [f64::INFINITY]);
    let no_depth =
        tv.with_axis_weights(AxisWeights::new(0.0, 1.0, 1.0).unwrap());
    let value = no_depth.volume_value(&img, &layout).unwrap();
    assert_eq!(bits(&value), bits(&[0.0]));
    let grad = no_depth.volume_gradient(&img, &layout, &[2.0]).unwrap();
    assert!(grad.iter().all(|&g| g == 0.0), "{grad:?}");
}
