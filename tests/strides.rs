//! Strided layouts read the image in place and give the bits of the same
//! pixels copied into a contiguous image; layouts that reach outside the
//! slice are errors, never panics.
//!
//! The copy is made here, element by element from the definition of a
//! strided layout (`offset + Σ index·stride`), independently of the
//! crate's own addressing.

use proptest::prelude::*;
use total_variation::{
    Backend, Error, Layout, Norm, Reduction, TotalVariation,
};

/// Every norm; the smooth one with an ordinary scale.
const NORMS: [Norm; 4] = [
    Norm::Anisotropic,
    Norm::Isotropic,
    Norm::SquaredL2,
    Norm::Smooth { epsilon: 0.5 },
];

/// Every backend that runs here, the scalar one first.
fn backends() -> Vec<Backend> {
    [
        Backend::Scalar,
        Backend::Auto,
        Backend::Portable,
        Backend::Avx2,
        Backend::Avx512,
    ]
    .into_iter()
    .filter(|backend| backend.is_available())
    .collect()
}

/// The bits of `f32` values, every NaN made the same.
fn bits(values: &[f32]) -> Vec<u32> {
    values
        .iter()
        .map(|v| if v.is_nan() { f32::NAN.to_bits() } else { v.to_bits() })
        .collect()
}

/// The bits of `f64` values, every NaN made the same.
fn bits64(values: &[f64]) -> Vec<u64> {
    values
        .iter()
        .map(|v| if v.is_nan() { f64::NAN.to_bits() } else { v.to_bits() })
        .collect()
}

/// A strided view of a storage buffer, as a test describes it.
#[derive(Clone, Debug)]
struct View {
    shape: Vec<usize>,
    strides: Vec<isize>,
    offset: usize,
    storage_len: usize,
}

impl View {
    /// Every element index of the view, in row-major order of `shape`,
    /// as a signed address (possibly outside the storage).
    fn addresses(&self) -> Vec<i64> {
        let count: usize = self.shape.iter().product();
        let mut addresses = Vec::with_capacity(count);
        for flat in 0..count {
            let mut rest = flat;
            let mut address = self.offset as i64;
            for (&dim, &stride) in self.shape.iter().zip(&self.strides).rev() {
                address += (rest % dim) as i64 * stride as i64;
                rest /= dim;
            }
            addresses.push(address);
        }
        addresses
    }

    /// The view's elements copied into a contiguous buffer.
    fn contiguous<T: Copy>(&self, storage: &[T]) -> Vec<T> {
        self.addresses().iter().map(|&a| storage[a as usize]).collect()
    }

    fn layout(&self) -> Layout {
        Layout::strided(&self.shape, &self.strides, self.offset).unwrap()
    }

    fn planar(&self) -> Layout {
        Layout::new(&self.shape).unwrap()
    }
}

/// A valid view: the axes of `(*, H, W)` stored in a random order (so the
/// column stride may exceed 1, as in interleaved images), each padded and
/// possibly reversed, and, rarely, a leading axis broadcast (stride 0).
fn valid_view() -> impl Strategy<Value = View> {
    let dims = (
        prop::collection::vec(0usize..=3, 0..=2),
        0usize..=6,
        prop_oneof![0usize..=20, 14usize..=70],
    );
    dims.prop_flat_map(|(leading, height, width)| {
        let mut shape = leading;
        shape.push(height);
        shape.push(width);
        let n = shape.len();
        let order: Vec<usize> = (0..n).collect();
        (
            Just(shape),
            // Innermost first: mostly the natural order.
            prop_oneof![
                3 => Just(order.clone()),
                2 => Just(order).prop_shuffle(),
            ],
            prop::collection::vec(
                prop_oneof![3 => Just(0usize), 1 => 1usize..=3],
                n,
            ),
            prop::collection::vec(prop::bool::weighted(0.2), n),
            prop::collection::vec(prop::bool::weighted(0.1), n),
            0usize..=5,
            0usize..=5,
        )
    })
    .prop_map(|(shape, order, pads, flips, broadcast, offset, tail)| {
        let n = shape.len();
        let mut strides = vec![0isize; n];
        let mut inner = 1usize;
        // `order` lists the axes outermost first; fill innermost first.
        for &axis in order.iter().rev() {
            let zero = broadcast[axis] && axis + 2 < n;
            strides[axis] = if zero { 0 } else { inner as isize };
            if !zero {
                inner *= (shape[axis] + pads[axis]).max(1);
            }
        }
        let mut offset = offset;
        for axis in 0..n {
            if flips[axis] && shape[axis] > 0 {
                offset += (shape[axis] - 1) * strides[axis] as usize;
                strides[axis] = -strides[axis];
            }
        }
        let span = inner + offset + tail;
        View { shape, strides, offset, storage_len: span }
    })
}

/// Any view, valid or not: small strides of either sign and a slice that
/// may be too short.
fn any_view() -> impl Strategy<Value = View> {
    (prop::collection::vec(0usize..=3, 0..=2), 0usize..=4, 0usize..=6)
        .prop_flat_map(|(leading, height, width)| {
            let mut shape = leading;
            shape.push(height);
            shape.push(width);
            let n = shape.len();
            (
                Just(shape),
                prop::collection::vec(-7isize..=7, n),
                0usize..=30,
                0usize..=60,
            )
        })
        .prop_map(|(shape, strides, offset, storage_len)| View {
            shape,
            strides,
            offset,
            storage_len,
        })
}

/// A pixel value: mostly small integers (ties), some specials.
fn pixel() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => (-3i32..=3).prop_map(|v| v as f32),
        3 => -100.0f32..100.0,
        1 => Just(-0.0f32),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
    ]
}

fn storage_f32(view: View) -> impl Strategy<Value = (View, Vec<f32>)> {
    let len = view.storage_len;
    (Just(view), prop::collection::vec(pixel(), len))
}

fn upstream(planes: usize) -> Vec<f32> {
    (0..planes).map(|p| 0.5 + p as f32).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Values, gradients and the one-pass call of a strided view have the
    /// bits of the contiguous copy, for every norm, reduction and backend,
    /// in `f32` and `f64`.
    #[test]
    fn floats_match_the_contiguous_copy(
        (view, storage) in valid_view().prop_flat_map(storage_f32),
    ) {
        let copy = view.contiguous(&storage);
        let (layout, planar) = (view.layout(), view.planar());
        let upstream = upstream(planar.planes());
        for backend in backends() {
            for norm in NORMS {
                for reduction in [Reduction::Sum, Reduction::Mean] {
                    let config = TotalVariation::new()
                        .with_backend(backend)
                        .with_norm(norm)
                        .with_reduction(reduction);
                    let expected = config.value(&copy, &planar).unwrap();
                    let got = config.value(&storage, &layout).unwrap();
                    prop_assert_eq!(bits(&got), bits(&expected));

                    let expected_grad =
                        config.gradient(&copy, &planar, &upstream).unwrap();
                    let grad =
                        config.gradient(&storage, &layout, &upstream).unwrap();
                    prop_assert_eq!(bits(&grad), bits(&expected_grad));

                    let (values, grad) = config
                        .value_and_gradient(&storage, &layout, &upstream)
                        .unwrap();
                    prop_assert_eq!(bits(&values), bits(&expected));
                    prop_assert_eq!(bits(&grad), bits(&expected_grad));

                    // The same pixels in f64, eight lanes to a vector.
                    let storage64: Vec<f64> =
                        storage.iter().map(|&v| f64::from(v)).collect();
                    let copy64 = view.contiguous(&storage64);
                    let upstream64: Vec<f64> =
                        upstream.iter().map(|&v| f64::from(v)).collect();
                    let expected = config.value(&copy64, &planar).unwrap();
                    let got = config.value(&storage64, &layout).unwrap();
                    prop_assert_eq!(bits64(&got), bits64(&expected));
                    let expected_grad = config
                        .gradient(&copy64, &planar, &upstream64)
                        .unwrap();
                    let grad = config
                        .gradient(&storage64, &layout, &upstream64)
                        .unwrap();
                    prop_assert_eq!(bits64(&grad), bits64(&expected_grad));
                }
            }
        }
    }

    /// Integer images: the exact totals and the values of the copy.
    #[test]
    fn integers_match_the_contiguous_copy(
        view in valid_view(),
        seed in any::<u64>(),
    ) {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let bytes: Vec<u8> =
            (0..view.storage_len).map(|_| next() as u8).collect();
        let words: Vec<i16> =
            (0..view.storage_len).map(|_| next() as i16).collect();
        let (layout, planar) = (view.layout(), view.planar());
        for backend in backends() {
            let config = TotalVariation::new().with_backend(backend);
            let copy = view.contiguous(&bytes);
            prop_assert_eq!(
                config.exact_sum(&bytes, &layout).unwrap(),
                config.exact_sum(&copy, &planar).unwrap()
            );
            let copy = view.contiguous(&words);
            let mean = config.with_reduction(Reduction::Mean);
            prop_assert_eq!(
                bits64(&mean.value(&words, &layout).unwrap()),
                bits64(&mean.value(&copy, &planar).unwrap())
            );
        }
    }

    /// A view is accepted exactly when every element it places lies in
    /// the slice, and then gives the copy's values; otherwise the error
    /// names the bound it crosses.
    #[test]
    fn out_of_bounds_views_are_errors(view in any_view()) {
        let storage: Vec<f32> =
            (0..view.storage_len).map(|i| (i * i % 7) as f32).collect();
        let layout = Layout::strided(&view.shape, &view.strides, view.offset)
            .unwrap();
        let addresses = view.addresses();
        let below = addresses.iter().any(|&a| a < 0);
        let above = addresses.iter().any(|&a| a >= storage.len() as i64);
        let config = TotalVariation::new();
        let result = config.value(&storage, &layout);
        match result {
            Ok(values) => {
                prop_assert!(!below && !above);
                let copy = view.contiguous(&storage);
                let expected = config.value(&copy, &view.planar()).unwrap();
                prop_assert_eq!(bits(&values), bits(&expected));
            }
            Err(Error::StrideBeforeStart { before, .. }) => {
                prop_assert!(below);
                let lowest = addresses.iter().min().copied().unwrap();
                prop_assert_eq!(before as i64, -lowest);
            }
            Err(Error::StrideOutOfBounds { last, len, .. }) => {
                prop_assert!(above && !below);
                let highest = addresses.iter().max().copied().unwrap();
                prop_assert_eq!(last as i64, highest);
                prop_assert_eq!(len, storage.len());
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
        let upstream = upstream(layout.planes());
        let grad = config.gradient(&storage, &layout, &upstream);
        prop_assert_eq!(grad.is_ok(), !below && !above);
        let bytes = vec![7u8; view.storage_len];
        prop_assert_eq!(
            config.exact_sum(&bytes, &layout).is_ok(),
            !below && !above
        );
    }
}

/// Interleaved pixels of `channels` values, in a batch of `frames`, cut
/// to a region: the layouts the per-channel integer kernels read.
fn interleaved_view() -> impl Strategy<Value = View> {
    (1usize..=3, 0usize..=5, 0usize..=130, 1usize..=17, 0usize..=2, 0usize..=3)
        .prop_map(|(frames, height, width, channels, top, left)| {
            let (full_height, full_width) = (height + top, width + left);
            let row = (full_width * channels) as isize;
            let frame = full_height * full_width * channels;
            View {
                shape: vec![frames, channels, height, width],
                strides: vec![frame as isize, 1, row, channels as isize],
                offset: top * row as usize + left * channels,
                storage_len: frames * frame,
            }
        })
}

/// Deterministic integers of every magnitude, extremes included.
fn integers<T>(len: usize, seed: u64, convert: impl Fn(u64) -> T) -> Vec<T> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            convert(state)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Interleaved integer images give the exact totals of the copy.
    #[test]
    fn interleaved_integers_are_exact(
        view in interleaved_view(),
        seed in any::<u64>(),
        extremes in any::<bool>(),
    ) {
        let len = view.storage_len;
        let (layout, planar) = (view.layout(), view.planar());
        // Extremes: every difference is the largest the type has.
        let bytes = integers(len, seed, |v| match extremes {
            true => if v % 2 == 0 { 0 } else { u8::MAX },
            false => v as u8,
        });
        let words = integers(len, seed, |v| v as u16);
        let signed = integers(len, seed, |v| match extremes {
            true => if v % 2 == 0 { i16::MIN } else { i16::MAX },
            false => v as i16,
        });
        for backend in backends() {
            let config = TotalVariation::new().with_backend(backend);
            prop_assert_eq!(
                config.exact_sum(&bytes, &layout).unwrap(),
                config.exact_sum(&view.contiguous(&bytes), &planar).unwrap()
            );
            prop_assert_eq!(
                config.exact_sum(&words, &layout).unwrap(),
                config.exact_sum(&view.contiguous(&words), &planar).unwrap()
            );
            prop_assert_eq!(
                config.exact_sum(&signed, &layout).unwrap(),
                config.exact_sum(&view.contiguous(&signed), &planar).unwrap()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Interleaved float images give the bits of the copy for every
    /// norm, reduction and backend, values and gradients.
    #[test]
    fn interleaved_floats_match_the_copy(
        (view, storage) in interleaved_view().prop_flat_map(storage_f32),
    ) {
        let copy = view.contiguous(&storage);
        let (layout, planar) = (view.layout(), view.planar());
        let upstream = upstream(planar.planes());
        for backend in backends() {
            for norm in NORMS {
                let config =
                    TotalVariation::new().with_backend(backend).with_norm(norm);
                let expected = config.value(&copy, &planar).unwrap();
                let got = config.value(&storage, &layout).unwrap();
                prop_assert_eq!(bits(&got), bits(&expected));
                let expected = config.gradient(&copy, &planar, &upstream);
                let got = config.gradient(&storage, &layout, &upstream);
                prop_assert_eq!(
                    bits(&got.unwrap()),
                    bits(&expected.unwrap())
                );
                let (values, grad) = config
                    .with_reduction(Reduction::Mean)
                    .value_and_gradient(&storage, &layout, &upstream)
                    .unwrap();
                let (expected_values, expected_grad) = config
                    .with_reduction(Reduction::Mean)
                    .value_and_gradient(&copy, &planar, &upstream)
                    .unwrap();
                prop_assert_eq!(bits(&values), bits(&expected_values));
                prop_assert_eq!(bits(&grad), bits(&expected_grad));
            }
        }
    }
}

#[test]
fn long_interleaved_rows_are_exact() {
    // Rows of 18 000 RGB pixels, 54 000 bytes: more than 256 runs of
    // three AVX-512 registers (and twice as many AVX2 ones) in one row,
    // so the 16-bit sums are flushed at their limit. Every difference of
    // channel `c` is 255 − 40·c (255 for red, the largest): a total
    // credited to the wrong channel at a flush shows.
    let (height, width) = (3, 18_000);
    let step = |c: usize| 255 - 40 * c as u8;
    let img: Vec<u8> = (0..height * width * 3)
        .map(|i: usize| {
            let low = (i / 3 + i / (3 * width)).is_multiple_of(2);
            if low { 0 } else { step(i % 3) }
        })
        .collect();
    let layout = Layout::interleaved(height, width, 3).unwrap();
    let count =
        height as u64 * (width as u64 - 1) + (height as u64 - 1) * width as u64;
    let expected: [u64; 3] = std::array::from_fn(|c| count * step(c) as u64);
    for backend in backends() {
        let config = TotalVariation::new().with_backend(backend);
        let exact = config.exact_sum(&img, &layout).unwrap();
        assert_eq!(exact, expected, "{backend:?}");
    }
}

#[test]
fn long_interleaved_16_bit_rows_are_exact() {
    // Rows of 2.2 million RGB pixels, 6.6 million values: more than 65536
    // runs of three AVX-512 registers (and twice as many AVX2 ones) in
    // one row, so the 32-bit sums are flushed at their limit. Every
    // difference of channel `c` is 65535 − 1000·c (65535 for red, the
    // largest): a total credited to the wrong channel at a flush shows.
    let (height, width) = (2, 2_200_000);
    let step = |c: usize| 65535 - 1000 * c as u16;
    let unsigned: Vec<u16> = (0..height * width * 3)
        .map(|i: usize| {
            let low = (i / 3 + i / (3 * width)).is_multiple_of(2);
            if low { 0 } else { step(i % 3) }
        })
        .collect();
    // The same differences, shifted to the signed range.
    let signed: Vec<i16> =
        unsigned.iter().map(|&v| (v ^ 0x8000) as i16).collect();
    let layout = Layout::interleaved(height, width, 3).unwrap();
    // Differences per channel: (width − 1) across each row, `width` down.
    let count =
        height as u64 * (width as u64 - 1) + (height as u64 - 1) * width as u64;
    let expected: [u64; 3] = std::array::from_fn(|c| count * step(c) as u64);
    for backend in backends() {
        let config = TotalVariation::new().with_backend(backend);
        assert_eq!(config.exact_sum(&signed, &layout).unwrap(), expected);
        assert_eq!(config.exact_sum(&unsigned, &layout).unwrap(), expected);
    }
}

#[test]
fn interleaved_rgb_gives_one_value_per_channel() {
    // Two rows of two RGB pixels.
    #[rustfmt::skip]
    let img: [u8; 12] = [
        10, 0, 255,   20, 0, 0,
        13, 5, 255,   20, 0, 1,
    ];
    let layout = Layout::interleaved(2, 2, 3).unwrap();
    assert_eq!(layout.planes(), 3);
    // Red: |20−10| + |20−13| across, |13−10| + |20−20| down.
    // Green: |0−0| + |0−5| across, |5−0| + 0 down.
    // Blue: |0−255| + |1−255| across, 0 + |1−0| down.
    let exact = TotalVariation::new().exact_sum(&img, &layout).unwrap();
    assert_eq!(exact, [10 + 7 + 3, 5 + 5, 255 + 254 + 1]);
    let mean = TotalVariation::new()
        .with_reduction(Reduction::Mean)
        .value(&img, &layout)
        .unwrap();
    assert_eq!(
        mean,
        [
            17.0 / 2.0 + 3.0 / 2.0,
            5.0 / 2.0 + 5.0 / 2.0,
            509.0 / 2.0 + 1.0 / 2.0
        ]
    );
}

#[test]
fn padding_is_never_read() {
    // A 2×3 plane with rows padded to 5; the padding holds NaN.
    let nan = f32::NAN;
    let img = [0.0, 1.0, 3.0, nan, nan, 0.0, 1.0, 4.0];
    let layout = Layout::padded(1, 2, 3, 5).unwrap();
    let config = TotalVariation::new();
    assert_eq!(
        config.value(&img, &layout).unwrap(),
        [1.0 + 2.0 + 1.0 + 3.0 + 1.0]
    );
    let grad = config.gradient(&img, &layout, &[1.0]).unwrap();
    let planar = [0.0, 1.0, 3.0, 0.0, 1.0, 4.0];
    let expected =
        config.gradient(&planar, &Layout::new(&[2, 3]).unwrap(), &[1.0]);
    assert_eq!(grad, expected.unwrap());
}

#[test]
fn a_region_reads_only_its_rectangle() {
    let nan = f64::NAN;
    #[rustfmt::skip]
    let img = [
        nan, nan, nan, nan,
        nan, 1.0, 2.0, nan,
        nan, 4.0, 8.0, nan,
        nan, nan, nan, nan,
    ];
    let region = Layout::new(&[4, 4]).unwrap().region(1, 1, 2, 2).unwrap();
    let tv = TotalVariation::new().value(&img, &region).unwrap();
    assert_eq!(tv, [1.0 + 4.0 + 3.0 + 6.0]);
    // A region of a region, and of an interleaved image.
    let inner = region.region(1, 0, 1, 2).unwrap();
    assert_eq!(TotalVariation::new().value(&img, &inner).unwrap(), [4.0]);
    let rgb = Layout::interleaved(4, 4, 3).unwrap().region(2, 1, 2, 3).unwrap();
    assert_eq!((rgb.planes(), rgb.height(), rgb.width()), (3, 2, 3));
    assert_eq!(rgb.column_stride(), 3);
}

#[test]
fn layout_errors_name_their_cause() {
    assert_eq!(
        Layout::strided(&[2, 3], &[3], 0),
        Err(Error::StridesLength { dims: 2, strides: 1 })
    );
    assert_eq!(
        Layout::strided(&[3], &[1], 0),
        Err(Error::ShapeTooShort { dims: 1 })
    );
    assert_eq!(
        Layout::strided(&[1; 9], &[1; 9], 0),
        Err(Error::TooManyDims { dims: 9, max: 8 })
    );
    assert_eq!(
        Layout::strided(&[2, 2], &[isize::MAX, 1], 0),
        Err(Error::ShapeOverflow)
    );
    assert_eq!(
        Layout::padded(1, 2, 5, 4),
        Err(Error::PitchTooSmall { pitch: 4, width: 5 })
    );
    let region = Layout::new(&[3, 4]).unwrap().region(2, 1, 2, 2);
    assert_eq!(
        region,
        Err(Error::RegionOutOfBounds {
            top: 2,
            left: 1,
            height: 2,
            width: 2,
            plane_height: 3,
            plane_width: 4,
        })
    );
    let message = region.unwrap_err().to_string();
    assert!(message.contains("2×2 at row 2, column 1"));
}

#[test]
fn slice_errors_name_the_stride() {
    let img = [0.0f32; 5];
    let config = TotalVariation::new();
    // Rows of 3 every 3 elements: the row stride reaches index 5.
    let layout = Layout::strided(&[2, 3], &[3, 1], 0).unwrap();
    let err = config.value(&img, &layout).unwrap_err();
    assert_eq!(
        err,
        Error::StrideOutOfBounds { axis: Some(0), last: 5, len: 5 }
    );
    assert!(err.to_string().contains("stride of dimension 0"));
    // The column stride alone already does.
    let layout = Layout::strided(&[1, 3], &[1, 3], 0).unwrap();
    let err = config.value(&img, &layout).unwrap_err();
    assert_eq!(
        err,
        Error::StrideOutOfBounds { axis: Some(1), last: 6, len: 5 }
    );
    // The offset itself.
    let layout = Layout::strided(&[1, 1], &[1, 1], 5).unwrap();
    let err = config.value(&img, &layout).unwrap_err();
    assert_eq!(err, Error::StrideOutOfBounds { axis: None, last: 5, len: 5 });
    // A negative stride from the start.
    let layout = Layout::strided(&[2, 2], &[-2, 1], 1).unwrap();
    let err = config.value(&img, &layout).unwrap_err();
    assert_eq!(err, Error::StrideBeforeStart { axis: Some(0), before: 1 });
    assert!(err.to_string().contains("would be at index -1"));
    // An empty view reads nothing, wherever it points.
    let layout = Layout::strided(&[0, 3], &[1000, 1], 1000).unwrap();
    assert_eq!(config.value(&img, &layout).unwrap(), [0.0]);
}

#[test]
fn the_gradient_of_a_strided_image_is_contiguous() {
    // A 2×2 view of every other element: the gradient holds 4 values.
    let img = [0.0f32, 9.0, 1.0, 9.0, 3.0, 9.0, 6.0];
    let layout = Layout::strided(&[2, 2], &[4, 2], 0).unwrap();
    let config = TotalVariation::new();
    let grad = config.gradient(&img, &layout, &[1.0]).unwrap();
    let expected = config
        .gradient(&[0.0, 1.0, 3.0, 6.0], &Layout::new(&[2, 2]).unwrap(), &[1.0])
        .unwrap();
    assert_eq!(grad, expected);
    let mut short = [0.0f32; 3];
    assert_eq!(
        config.gradient_into(&img, &layout, &[1.0], &mut short),
        Err(Error::GradientLength { expected: 4, actual: 3 })
    );
}

#[test]
fn equal_layouts_compare_equal() {
    let padded = Layout::padded(2, 3, 4, 6).unwrap();
    assert_eq!(padded, Layout::strided(&[2, 3, 4], &[18, 6, 1], 0).unwrap());
    let rgb = Layout::interleaved(3, 4, 3).unwrap();
    assert_eq!(rgb, Layout::strided(&[3, 3, 4], &[1, 12, 3], 0).unwrap());
    assert_ne!(rgb, Layout::strided(&[3, 3, 4], &[1, 12, 3], 1).unwrap());
    // A region of all of a contiguous layout is the same shape, strided.
    let whole = Layout::new(&[2, 3, 4]).unwrap();
    assert_ne!(whole, whole.region(0, 0, 3, 4).unwrap());
    assert_eq!(
        whole.region(0, 0, 3, 4).unwrap(),
        Layout::strided(&[2, 3, 4], &[12, 4, 1], 0).unwrap()
    );
}

#[test]
fn strides_of_contiguous_layouts() {
    let layout = Layout::new(&[2, 3, 4]).unwrap();
    assert_eq!((layout.row_stride(), layout.column_stride()), (4, 1));
    // A shape with no element may be wider than any slice.
    let empty = Layout::new(&[0, usize::MAX]).unwrap();
    assert_eq!(empty.row_stride(), isize::MAX);
    // One plane of no row.
    let tv = TotalVariation::new().value::<f32>(&[], &empty).unwrap();
    assert_eq!(tv, [0.0]);
}
