//! The `par_*` methods return the bits of the single-threaded calls, and
//! the same errors, for every element type, norm, reduction and backend,
//! in the global rayon pool and in pools of 2 and 3 threads.
//!
//! The single-threaded call is the reference: every other property of
//! the results is tested against independent references elsewhere.
#![cfg(feature = "rayon")]

use proptest::prelude::*;
use total_variation::{
    Backend, Element, Error, FloatElement, Layout, Norm, Reduction,
    TotalVariation,
};

/// A value's bits, with every NaN made the same: Rust leaves the sign
/// and payload of a NaN result unspecified.
trait CanonicalBits: Copy {
    fn canonical_bits(self) -> u64;
}

impl CanonicalBits for f32 {
    fn canonical_bits(self) -> u64 {
        if self.is_nan() { u64::MAX } else { u64::from(self.to_bits()) }
    }
}

impl CanonicalBits for f64 {
    fn canonical_bits(self) -> u64 {
        if self.is_nan() { u64::MAX } else { self.to_bits() }
    }
}

fn bits<T: CanonicalBits>(values: &[T]) -> Vec<u64> {
    values.iter().map(|v| v.canonical_bits()).collect()
}

/// The same bits or the same error.
fn assert_same<T: CanonicalBits>(
    parallel: Result<Vec<T>, Error>,
    single: Result<Vec<T>, Error>,
    what: &str,
) {
    match (parallel, single) {
        (Ok(p), Ok(s)) => {
            assert_eq!(p.len(), s.len(), "{what}: lengths");
            if let Some(i) =
                bits(&p).iter().zip(bits(&s)).position(|(p, s)| *p != s)
            {
                panic!("{what}: element {i} differs");
            }
        }
        (p, s) => assert_eq!(p.err(), s.err(), "{what}"),
    }
}

fn available_backends() -> Vec<Backend> {
    [
        Backend::Auto,
        Backend::Scalar,
        Backend::Portable,
        Backend::Avx2,
        Backend::Avx512,
    ]
    .into_iter()
    .filter(|b| b.is_available())
    .collect()
}

const NORMS: [Norm; 4] = [
    Norm::Anisotropic,
    Norm::Isotropic,
    Norm::SquaredL2,
    Norm::Smooth { epsilon: 0.5 },
];

const REDUCTIONS: [Reduction; 2] = [Reduction::Sum, Reduction::Mean];

/// Every configuration: backends, norms and reductions.
fn configurations() -> Vec<TotalVariation> {
    let mut all = Vec::new();
    for backend in available_backends() {
        for norm in NORMS {
            for reduction in REDUCTIONS {
                all.push(
                    TotalVariation::new()
                        .with_backend(backend)
                        .with_norm(norm)
                        .with_reduction(reduction),
                );
            }
        }
    }
    all
}

/// Deterministic values in [0, 1), with runs of equal values (so that
/// differences of zero, and their subgradients, occur).
fn pixels(len: usize, seed: u64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let value = (state >> 11) as f64 / (1u64 << 53) as f64;
            if i % 5 == 0 { 0.25 } else { value }
        })
        .collect()
}

/// Checks the three float calls, their `_into` forms (outputs filled
/// with NaN first, so that a value left unwritten is seen) and their
/// errors, for one configuration.
fn check_float<T: FloatElement + CanonicalBits>(
    tv: TotalVariation,
    img: &[T],
    layout: &Layout,
    upstream: &[T],
    nan: T,
) {
    let what = format!("{tv:?} {layout:?}");
    assert_same(
        tv.par_value(img, layout),
        tv.value(img, layout),
        &format!("value {what}"),
    );
    assert_same(
        tv.par_gradient(img, layout, upstream),
        tv.gradient(img, layout, upstream),
        &format!("gradient {what}"),
    );
    let parallel = tv.par_value_and_gradient(img, layout, upstream);
    let single = tv.value_and_gradient(img, layout, upstream);
    let (pv, pg) = match parallel {
        Ok((v, g)) => (Ok(v), Ok(g)),
        Err(e) => (Err(e), Err(e)),
    };
    let (sv, sg) = match single {
        Ok((v, g)) => (Ok(v), Ok(g)),
        Err(e) => (Err(e), Err(e)),
    };
    assert_same(pv, sv, &format!("value_and_gradient values {what}"));
    assert_same(pg, sg, &format!("value_and_gradient gradient {what}"));

    let mut values = vec![nan; layout.planes()];
    let mut grad = vec![nan; layout.len()];
    let into = tv
        .par_value_and_gradient_into(
            img,
            layout,
            upstream,
            &mut values,
            &mut grad,
        )
        .map(|()| (values, grad));
    match (into, tv.value_and_gradient(img, layout, upstream)) {
        (Ok((pv, pg)), Ok((sv, sg))) => {
            assert_eq!(bits(&pv), bits(&sv), "into values {what}");
            assert_eq!(bits(&pg), bits(&sg), "into gradient {what}");
        }
        (p, s) => assert_eq!(p.err(), s.err(), "into {what}"),
    }
}

/// [`check_float`] for every configuration, in `f32` and `f64`, on
/// pixels from `seed` and one upstream value per plane.
fn check_all_floats(shape: &[usize], seed: u64) {
    let layout = Layout::new(shape).unwrap();
    let img = pixels(layout.len(), seed);
    let upstream: Vec<f64> =
        (0..layout.planes()).map(|p| 1.0 - 0.375 * p as f64).collect();
    let img32: Vec<f32> = img.iter().map(|&v| v as f32).collect();
    let up32: Vec<f32> = upstream.iter().map(|&v| v as f32).collect();
    for tv in configurations() {
        check_float(tv, &img32, &layout, &up32, f32::NAN);
        check_float(tv, &img, &layout, &upstream, f64::NAN);
    }
}

/// The values of an integer image and the errors of the per-pixel
/// norms, for every configuration.
fn check_integer<T: Element<Output = f64>>(img: &[T], layout: &Layout) {
    for tv in configurations() {
        let what = format!("{tv:?} {layout:?}");
        assert_same(tv.par_value(img, layout), tv.value(img, layout), &what);
        let mut out = vec![f64::NAN; layout.planes()];
        let into = tv.par_value_into(img, layout, &mut out).map(|()| out);
        assert_same(into, tv.value(img, layout), &format!("into {what}"));
    }
}

fn check_all_integers(shape: &[usize], seed: u64) {
    let layout = Layout::new(shape).unwrap();
    let img = pixels(layout.len(), seed);
    let u8s: Vec<u8> = img.iter().map(|&v| (v * 256.0) as u8).collect();
    let u16s: Vec<u16> = img.iter().map(|&v| (v * 65536.0) as u16).collect();
    let i16s: Vec<i16> =
        img.iter().map(|&v| (v * 65536.0 - 32768.0) as i16).collect();
    check_integer(&u8s, &layout);
    check_integer(&u16s, &layout);
    check_integer(&i16s, &layout);
}

/// Runs `check` in the global pool and in pools of 2 and 3 threads.
fn in_every_pool(check: impl Fn() + Sync) {
    check();
    for threads in [2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(&check);
    }
}

/// Batches of planes large enough to be split among threads, and the
/// edge shapes: empty planes, zero planes, one row, one column.
#[test]
fn batches_and_edge_shapes() {
    let shapes: &[&[usize]] = &[
        &[64, 32, 33],
        &[3, 7, 160, 61],
        &[257, 1, 300],
        &[300, 257, 1],
        &[1000, 9, 9],
        &[0, 16, 16],
        &[100_000, 0, 7],
        &[5, 300, 0],
        &[1, 1, 1],
        &[2, 2],
        &[65, 1024],
    ];
    in_every_pool(|| {
        for (seed, shape) in shapes.iter().enumerate() {
            check_all_floats(shape, seed as u64);
            check_all_integers(shape, seed as u64);
        }
    });
}

/// Every width from 1 to 300, in batches that are split.
#[test]
fn every_width_up_to_300() {
    in_every_pool(|| {
        for width in 1..=300usize {
            let planes = (1 << 16) / (3 * width) + 2;
            let layout = Layout::new(&[planes, 3, width]).unwrap();
            let img: Vec<f32> = pixels(layout.len(), width as u64)
                .into_iter()
                .map(|v| v as f32)
                .collect();
            let upstream = vec![0.75f32; planes];
            for norm in [Norm::Anisotropic, Norm::Isotropic] {
                let tv = TotalVariation::new().with_norm(norm);
                check_float(tv, &img, &layout, &upstream, f32::NAN);
            }
        }
    });
}

/// Planes large enough to be cut into bands of rows: odd heights, widths
/// whose rows have a count of blocks that is not a power of two, a width
/// whose vertical term has one block more than its horizontal one (1025,
/// for both float types), a single column, two rows, and a batch of such
/// planes.
#[test]
fn planes_cut_into_bands() {
    let shapes: &[&[usize]] = &[
        &[1031, 1021],
        &[1100, 1025],
        &[2, 1100, 1000],
        &[4097, 300],
        &[(1 << 20) + 7, 1],
        &[2, (1 << 19) + 33],
        &[1, 1, 1 << 20],
    ];
    for (seed, shape) in shapes.iter().enumerate() {
        check_all_floats(shape, 100 + seed as u64);
        check_all_integers(shape, 100 + seed as u64);
    }
    // Fewer configurations in the smaller pools, for time.
    for threads in [2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            check_all_floats(&[1031, 1021], 7);
            check_all_integers(&[2, 1031, 1021], 8);
        });
    }
}

/// Non-finite pixels: NaN and infinities in a plane that is cut.
#[test]
fn non_finite_pixels() {
    let layout = Layout::new(&[1100, 1000]).unwrap();
    let mut img: Vec<f32> =
        pixels(layout.len(), 5).into_iter().map(|v| v as f32).collect();
    img[3] = f32::INFINITY;
    img[700_000] = f32::NEG_INFINITY;
    img[900_123] = f32::NAN;
    for tv in configurations() {
        check_float(tv, &img, &layout, &[1.5], f32::NAN);
    }
    // Huge values whose sum overflows to +inf.
    let huge: Vec<f32> = (0..layout.len())
        .map(|i| if i % 2 == 0 { f32::MAX } else { -f32::MAX })
        .collect();
    check_float(TotalVariation::new(), &huge, &layout, &[1.0], f32::NAN);
}

/// Every error of the single-threaded calls, from the parallel ones.
#[test]
fn errors_match() {
    let layout = Layout::new(&[4, 128, 128]).unwrap();
    let img = vec![0.5f32; layout.len()];
    let up = [1.0f32; 4];
    let tv = TotalVariation::new();
    let check = |tv: TotalVariation, img: &[f32], up: &[f32]| {
        check_float(tv, img, &layout, up, f32::NAN);
        let mut short = vec![0.0f32; 3];
        let mut grad = vec![0.0f32; img.len()];
        assert_eq!(
            tv.par_value_into(img, &layout, &mut short),
            tv.value_into(img, &layout, &mut short)
        );
        assert_eq!(
            tv.par_gradient_into(img, &layout, up, &mut short),
            tv.gradient_into(img, &layout, up, &mut short)
        );
        let mut values = vec![0.0f32; 4];
        assert_eq!(
            tv.par_value_and_gradient_into(
                img, &layout, up, &mut short, &mut grad
            ),
            tv.value_and_gradient_into(img, &layout, up, &mut short, &mut grad)
        );
        assert_eq!(
            tv.par_value_and_gradient_into(
                img,
                &layout,
                up,
                &mut values,
                &mut short
            ),
            tv.value_and_gradient_into(
                img,
                &layout,
                up,
                &mut values,
                &mut short
            )
        );
    };
    // Short image, short upstream, a bad epsilon, NaN epsilon.
    check(tv, &img[1..], &up);
    check(tv, &img, &up[1..]);
    check(tv.with_norm(Norm::Smooth { epsilon: -1.0 }), &img, &up);
    check(tv.with_norm(Norm::Smooth { epsilon: f64::NAN }), &img, &up);
    check(tv.with_norm(Norm::Smooth { epsilon: 1e-30 }), &img, &up);
    // Unavailable backends give their error where they are unavailable.
    check(tv.with_backend(Backend::Avx2), &img, &up);
    assert!(tv.par_value(&img[1..], &layout).is_err());

    // Integers: per-pixel norms and planes too large for u64 totals.
    let bytes = vec![7u8; layout.len()];
    for norm in NORMS {
        let tv = tv.with_norm(norm);
        assert_same(
            tv.par_value(&bytes, &layout),
            tv.value(&bytes, &layout),
            &format!("{norm:?}"),
        );
    }
    let huge = Layout::new(&[usize::MAX / 2, 2]).unwrap();
    assert_eq!(tv.par_value(&[0u16; 0], &huge), tv.value(&[0u16; 0], &huge));
    let empty = Layout::new(&[usize::MAX, 0, 5]).unwrap();
    assert_eq!(tv.par_value(&[0.0f32; 0], &empty).map(|v| v.len()), {
        tv.value(&[0.0f32; 0], &empty).map(|v| v.len())
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random shapes, split into planes or bands or not at all.
    #[test]
    fn random_shapes(
        planes in 0usize..6,
        height in 0usize..1500,
        width in 1usize..1200,
        seed in any::<u64>(),
    ) {
        let shape = [planes, height, width];
        let layout = Layout::new(&shape).unwrap();
        let img: Vec<f32> = pixels(layout.len(), seed)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        let upstream = vec![-0.5f32; planes];
        let tv = TotalVariation::new();
        for norm in NORMS {
            for reduction in REDUCTIONS {
                let tv = tv.with_norm(norm).with_reduction(reduction);
                check_float(tv, &img, &layout, &upstream, f32::NAN);
            }
        }
        let u16s: Vec<u16> =
            img.iter().map(|&v| (v * 65535.0) as u16).collect();
        check_integer(&u16s, &layout);
    }
}

/// Strided layouts (padded rows, interleaved channels, a region) give the
/// single-threaded bits. They run whole on the calling thread for now: the
/// pieces of the other splits cut the slice into contiguous planes, which
/// gave wrong lengths and values for strided layouts before they were
/// kept whole.
#[test]
fn strided_layouts() {
    let (height, width) = (300, 301);
    let img = pixels(4 * height * (width + 7), 11);
    let img32: Vec<f32> = img.iter().map(|&v| v as f32).collect();
    let bytes: Vec<u8> = img.iter().map(|&v| (v * 256.0) as u8).collect();
    let layouts = [
        Layout::padded(3, height, width, width + 7).unwrap(),
        Layout::interleaved(height, width, 4).unwrap(),
        Layout::new(&[4, height, width + 7])
            .unwrap()
            .region(3, 5, height - 9, width - 2)
            .unwrap(),
    ];
    in_every_pool(|| {
        for layout in &layouts {
            let upstream: Vec<f32> =
                (0..layout.planes()).map(|p| 0.5 + p as f32).collect();
            for tv in configurations() {
                check_float(tv, &img32, layout, &upstream, f32::NAN);
            }
            check_integer(&bytes, layout);
        }
    });
}

/// Integer values of strided layouts are cut into regions of rows of
/// every plane: interleaved frames (with a region that starts inside the
/// frame, and a short last band), u8, u16 and i16; a transposed plane,
/// which is gathered, runs whole.
#[test]
fn strided_integer_bands() {
    let (height, width) = (1000, 700);
    let img = pixels(3 * height * width, 17);
    let u8s: Vec<u8> = img.iter().map(|&v| (v * 256.0) as u8).collect();
    let u16s: Vec<u16> = img.iter().map(|&v| (v * 65536.0) as u16).collect();
    let i16s: Vec<i16> =
        img.iter().map(|&v| (v * 65536.0 - 32768.0) as i16).collect();
    let layouts = [
        Layout::interleaved(height, width, 3).unwrap(),
        Layout::interleaved(height, width, 3)
            .unwrap()
            .region(7, 3, height - 20, width - 5)
            .unwrap(),
        // Plane `p`'s element `(i, j)` at `i + j·height`: transposed.
        Layout::strided(
            &[3, height, width],
            &[(height * width) as isize, 1, height as isize],
            0,
        )
        .unwrap(),
    ];
    in_every_pool(|| {
        for layout in &layouts {
            check_integer(&u8s, layout);
            check_integer(&u16s, layout);
            check_integer(&i16s, layout);
        }
    });
}
