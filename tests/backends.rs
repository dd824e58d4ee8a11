//! Every backend returns the bits of the scalar definition.
//!
//! Widths run around every multiple of the lane counts (16 for `f32`,
//! 8 for `f64`), so every tail length is hit, and values include ties,
//! signed zeros, NaN, infinities, subnormals and huge magnitudes. A NaN
//! result must be NaN on every backend; its sign and payload bits are not
//! part of the contract (see `bits32`).

use proptest::prelude::*;
use total_variation::{Backend, Layout, Norm, Reduction, TotalVariation};

/// Every norm, with smoothing scales that are ordinary, tiny (whose
/// square is subnormal in `f32`) and large.
const NORMS: [Norm; 6] = [
    Norm::Anisotropic,
    Norm::Isotropic,
    Norm::SquaredL2,
    Norm::Smooth { epsilon: 0.5 },
    Norm::Smooth { epsilon: 1e-20 },
    Norm::Smooth { epsilon: 3e15 },
];

/// The backends to compare with the scalar one, where they can run.
fn fast_backends() -> Vec<Backend> {
    [Backend::Auto, Backend::Portable, Backend::Avx2, Backend::Avx512]
        .into_iter()
        .filter(|backend| backend.is_available())
        .collect()
}

/// A value that exercises the corners of IEEE arithmetic.
fn special_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => (-3i32..=3).prop_map(f64::from),
        2 => -1.0e3f64..1.0e3,
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::MIN_POSITIVE / 4.0),
        1 => Just(-f64::MIN_POSITIVE / 3.0),
        1 => Just(f64::MAX),
        1 => Just(-f64::MAX / 2.0),
        1 => Just(1.0e300),
    ]
}

/// Shapes with 0 to 2 leading dimensions, heights 0..=9, widths 0..=130
/// (around every lane multiple) and, in a quarter of the cases,
/// 150..=300: wide enough for the one-pass kernel (from 160 `f32` or 80
/// `f64` pixels) and for rows of two blocks of the summation order.
fn shape() -> impl Strategy<Value = Vec<usize>> {
    let width = prop_oneof![3 => 0usize..=130, 1 => 150usize..=300];
    (prop::collection::vec(0usize..3, 0..=2), 0usize..=9, width).prop_map(
        |(mut leading, height, width)| {
            leading.push(height);
            leading.push(width);
            leading
        },
    )
}

/// A finite value, with ties: the values of half of the cases, since a
/// wide image of special values nearly always holds a NaN or an
/// infinity, and then its value says little about the sums.
fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        2 => (-3i32..=3).prop_map(f64::from),
        1 => -1.0e3f64..1.0e3,
    ]
}

fn case() -> impl Strategy<Value = (Vec<usize>, Vec<f64>, Vec<f64>)> {
    (shape(), any::<bool>()).prop_flat_map(|(shape, finite)| {
        let layout = Layout::new(&shape).unwrap();
        let value =
            if finite { finite_f64().boxed() } else { special_f64().boxed() };
        (
            Just(shape),
            prop::collection::vec(value, layout.len()),
            prop::collection::vec(special_f64(), layout.planes()),
        )
    })
}

/// Both reductions with every norm.
fn reductions_and_norms() -> impl Iterator<Item = (Reduction, Norm)> {
    [Reduction::Sum, Reduction::Mean]
        .into_iter()
        .flat_map(|reduction| NORMS.map(|norm| (reduction, norm)))
}

/// The bits of each value, every NaN written as one canonical NaN: Rust
/// leaves the sign and payload of a NaN result unspecified (the compiler
/// may swap the operands of an addition), so only "is NaN" is comparable.
fn bits32(values: &[f32]) -> Vec<u32> {
    values
        .iter()
        .map(|v| if v.is_nan() { f32::NAN } else { *v }.to_bits())
        .collect()
}

/// As [`bits32`], for `f64`.
fn bits64(values: &[f64]) -> Vec<u64> {
    values
        .iter()
        .map(|v| if v.is_nan() { f64::NAN } else { *v }.to_bits())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        if cfg!(miri) { 4 } else { 256 }
    ))]

    #[test]
    #[cfg_attr(miri, ignore = "proptest's case generation is too slow under \
        miri; tests/kernel_tails.rs runs the same kernels there")]
    fn f32_backends_match_scalar((shape, img, upstream) in case()) {
        let layout = Layout::new(&shape).unwrap();
        let img: Vec<f32> = img.iter().map(|&v| v as f32).collect();
        let upstream: Vec<f32> = upstream.iter().map(|&v| v as f32).collect();
        for (reduction, norm) in reductions_and_norms() {
            let scalar = TotalVariation::new()
                .with_reduction(reduction)
                .with_norm(norm)
                .with_backend(Backend::Scalar);
            let value = scalar.value(&img, &layout).unwrap();
            let grad = scalar.gradient(&img, &layout, &upstream).unwrap();
            for backend in fast_backends() {
                let tv = scalar.with_backend(backend);
                prop_assert_eq!(
                    bits32(&tv.value(&img, &layout).unwrap()),
                    bits32(&value),
                    "value, {:?} {:?} {:?}", backend, reduction, norm
                );
                prop_assert_eq!(
                    bits32(&tv.gradient(&img, &layout, &upstream).unwrap()),
                    bits32(&grad),
                    "gradient, {:?} {:?} {:?}", backend, reduction, norm
                );
            }
            // The one-pass call, on every backend, the scalar one included,
            // gives the bits of the two separate scalar calls.
            for backend in fast_backends().into_iter().chain([Backend::Scalar]) {
                let tv = scalar.with_backend(backend);
                let (fused_value, fused_grad) =
                    tv.value_and_gradient(&img, &layout, &upstream).unwrap();
                prop_assert_eq!(
                    bits32(&fused_value),
                    bits32(&value),
                    "one-pass value, {:?} {:?}", backend, reduction
                );
                prop_assert_eq!(
                    bits32(&fused_grad),
                    bits32(&grad),
                    "one-pass gradient, {:?} {:?}", backend, reduction
                );
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "proptest's case generation is too slow under \
        miri; tests/kernel_tails.rs runs the same kernels there")]
    fn f64_backends_match_scalar((shape, img, upstream) in case()) {
        let layout = Layout::new(&shape).unwrap();
        for (reduction, norm) in reductions_and_norms() {
            let scalar = TotalVariation::new()
                .with_reduction(reduction)
                .with_norm(norm)
                .with_backend(Backend::Scalar);
            let value = scalar.value(&img, &layout).unwrap();
            let grad = scalar.gradient(&img, &layout, &upstream).unwrap();
            for backend in fast_backends() {
                let tv = scalar.with_backend(backend);
                prop_assert_eq!(
                    bits64(&tv.value(&img, &layout).unwrap()),
                    bits64(&value),
                    "value, {:?} {:?} {:?}", backend, reduction, norm
                );
                prop_assert_eq!(
                    bits64(&tv.gradient(&img, &layout, &upstream).unwrap()),
                    bits64(&grad),
                    "gradient, {:?} {:?} {:?}", backend, reduction, norm
                );
            }
            // The one-pass call, on every backend, the scalar one included,
            // gives the bits of the two separate scalar calls.
            for backend in fast_backends().into_iter().chain([Backend::Scalar]) {
                let tv = scalar.with_backend(backend);
                let (fused_value, fused_grad) =
                    tv.value_and_gradient(&img, &layout, &upstream).unwrap();
                prop_assert_eq!(
                    bits64(&fused_value),
                    bits64(&value),
                    "one-pass value, {:?} {:?}", backend, reduction
                );
                prop_assert_eq!(
                    bits64(&fused_grad),
                    bits64(&grad),
                    "one-pass gradient, {:?} {:?}", backend, reduction
                );
            }
        }
    }
}

/// Large planes cross many blocks and tree ranks: the SIMD trees must
/// combine them exactly as the scalar one does.
#[test]
fn large_planes_match_scalar() {
    let (height, width) = if cfg!(miri) { (3, 40) } else { (97, 1031) };
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let img: Vec<f32> = (0..height * width)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect();
    let layout = Layout::new(&[height, width]).unwrap();
    let upstream = [0.75f32];
    for norm in NORMS {
        let scalar =
            TotalVariation::new().with_norm(norm).with_backend(Backend::Scalar);
        let expected = scalar.value(&img, &layout).unwrap();
        let grad = scalar.gradient(&img, &layout, &upstream).unwrap();
        for backend in fast_backends() {
            let tv = scalar.with_backend(backend);
            let got = tv.value(&img, &layout).unwrap();
            assert_eq!(bits32(&got), bits32(&expected), "{backend:?} {norm:?}");
            let got = tv.gradient(&img, &layout, &upstream).unwrap();
            assert_eq!(bits32(&got), bits32(&grad), "{backend:?} {norm:?}");
        }
    }
}

#[test]
fn avx2_is_refused_where_it_cannot_run() {
    let tv = TotalVariation::new().with_backend(Backend::Avx2);
    let layout = Layout::new(&[1, 2]).unwrap();
    let result = tv.value(&[0.0f32, 1.0], &layout);
    if Backend::Avx2.is_available() {
        assert_eq!(result.unwrap(), [1.0]);
    } else {
        assert_eq!(
            result,
            Err(total_variation::Error::BackendUnavailable {
                backend: Backend::Avx2
            })
        );
    }
}

#[test]
fn avx512_is_refused_where_it_cannot_run() {
    let tv = TotalVariation::new().with_backend(Backend::Avx512);
    let layout = Layout::new(&[1, 2]).unwrap();
    let float = tv.value(&[0.0f32, 1.0], &layout);
    let integer = tv.exact_sum(&[0u8, 3], &layout);
    if Backend::Avx512.is_available() {
        assert_eq!(float.unwrap(), [1.0]);
        assert_eq!(integer.unwrap(), [3]);
    } else {
        let refused = total_variation::Error::BackendUnavailable {
            backend: Backend::Avx512,
        };
        assert_eq!(float, Err(refused));
        assert_eq!(integer, Err(refused));
    }
}

/// Integer images of any shape and values: the exact totals, and the
/// values, are the same on every backend.
fn integer_case<T: std::fmt::Debug + Clone>(
    pixel: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = (Vec<usize>, Vec<T>)> {
    shape().prop_flat_map(move |shape| {
        let len = Layout::new(&shape).unwrap().len();
        (Just(shape), prop::collection::vec(pixel.clone(), len))
    })
}

fn check_integer_backends<T: total_variation::IntegerElement>(
    shape: &[usize],
    img: &[T],
) -> Result<(), TestCaseError> {
    let layout = Layout::new(shape).unwrap();
    let scalar = TotalVariation::new().with_backend(Backend::Scalar);
    let exact = scalar.exact_sum(img, &layout).unwrap();
    let mean = scalar.with_reduction(Reduction::Mean).value(img, &layout);
    for backend in fast_backends() {
        let tv = scalar.with_backend(backend);
        prop_assert_eq!(&tv.exact_sum(img, &layout).unwrap(), &exact);
        prop_assert_eq!(
            bits64(
                &tv.with_reduction(Reduction::Mean)
                    .value(img, &layout)
                    .unwrap()
            ),
            bits64(mean.as_ref().unwrap())
        );
    }
    Ok(())
}

/// Extremes are likelier than in a uniform draw.
fn u16_pixel() -> impl Strategy<Value = u16> + Clone {
    prop_oneof![Just(0u16), Just(u16::MAX), Just(32768u16), any::<u16>()]
}

fn i16_pixel() -> impl Strategy<Value = i16> + Clone {
    prop_oneof![
        Just(i16::MIN),
        Just(i16::MAX),
        Just(0i16),
        Just(-1i16),
        any::<i16>()
    ]
}

fn u8_pixel() -> impl Strategy<Value = u8> + Clone {
    prop_oneof![Just(0u8), Just(u8::MAX), any::<u8>()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        if cfg!(miri) { 4 } else { 128 }
    ))]

    #[test]
    #[cfg_attr(miri, ignore = "proptest's case generation is too slow under \
        miri; tests/kernel_tails.rs runs the same kernels there")]
    fn u8_backends_match_scalar((shape, img) in integer_case(u8_pixel())) {
        check_integer_backends(&shape, &img)?;
    }

    #[test]
    #[cfg_attr(miri, ignore = "proptest's case generation is too slow under \
        miri; tests/kernel_tails.rs runs the same kernels there")]
    fn u16_backends_match_scalar((shape, img) in integer_case(u16_pixel())) {
        check_integer_backends(&shape, &img)?;
    }

    #[test]
    #[cfg_attr(miri, ignore = "proptest's case generation is too slow under \
        miri; tests/kernel_tails.rs runs the same kernels there")]
    fn i16_backends_match_scalar((shape, img) in integer_case(i16_pixel())) {
        check_integer_backends(&shape, &img)?;
    }
}

/// Rows long enough for the 16-bit kernels to flush their 32-bit lanes
/// several times, filled with the largest differences.
#[test]
fn long_integer_rows_match_scalar() {
    let width = if cfg!(miri) { 70 } else { 600_000 };
    let u16_img: Vec<u16> = (0..2 * width)
        .map(|k| if (k + k / width) % 2 == 0 { 0 } else { u16::MAX })
        .collect();
    let i16_img: Vec<i16> =
        u16_img.iter().map(|&v| (v ^ 0x8000) as i16).collect();
    let u8_img: Vec<u8> = u16_img.iter().map(|&v| v as u8).collect();
    let layout = Layout::new(&[2, width]).unwrap();
    // Every difference is the largest: (2·width − 2) horizontal ones and
    // `width` vertical ones.
    let count = (2 * width - 2 + width) as u64;
    for backend in [Backend::Scalar].into_iter().chain(fast_backends()) {
        let tv = TotalVariation::new().with_backend(backend);
        assert_eq!(tv.exact_sum(&u16_img, &layout).unwrap(), [count * 65535]);
        assert_eq!(tv.exact_sum(&i16_img, &layout).unwrap(), [count * 65535]);
        assert_eq!(tv.exact_sum(&u8_img, &layout).unwrap(), [count * 255]);
    }
}
