//! `image_layout` reads an `image::ImageBuffer` in place and gives, per
//! channel, the bits of the same pixels copied here into a planar
//! `(C, H, W)` buffer and computed through the planar API.
//!
//! The copy goes through `ImageBuffer::get_pixel`, one sample at a time,
//! independently of the adapter.

#![cfg(feature = "image")]

use image::{ImageBuffer, Luma, LumaA, Pixel, Rgb, Rgba};
use proptest::prelude::*;
use total_variation::{
    Element, Layout, Norm, Reduction, TotalVariation, image_layout,
};

/// The bits of a value, every NaN made the same.
trait Bits: Copy {
    fn bits(self) -> u64;
}

impl Bits for f32 {
    fn bits(self) -> u64 {
        let value = if self.is_nan() { f32::NAN } else { self };
        u64::from(value.to_bits())
    }
}

impl Bits for f64 {
    fn bits(self) -> u64 {
        if self.is_nan() { f64::NAN.to_bits() } else { self.to_bits() }
    }
}

fn bits<T: Bits>(values: &[T]) -> Vec<u64> {
    values.iter().map(|v| v.bits()).collect()
}

type Buffer<P> = ImageBuffer<P, Vec<<P as Pixel>::Subpixel>>;

/// The image's samples copied into planes, channel after channel, and
/// their contiguous layout.
fn planar_copy<P: Pixel>(img: &Buffer<P>) -> (Vec<P::Subpixel>, Layout) {
    let (width, height) = img.dimensions();
    let channels = usize::from(P::CHANNEL_COUNT);
    let mut planes = Vec::new();
    for channel in 0..channels {
        for y in 0..height {
            for x in 0..width {
                planes.push(img.get_pixel(x, y).channels()[channel]);
            }
        }
    }
    let shape = [channels, height as usize, width as usize];
    (planes, Layout::new(&shape).unwrap())
}

/// An image of `width·height` pixels holding `samples`.
fn image_of<P: Pixel>(
    width: u32,
    height: u32,
    samples: Vec<P::Subpixel>,
) -> Buffer<P> {
    ImageBuffer::from_raw(width, height, samples).unwrap()
}

/// Sum and mean values through the adapter equal those of the copy.
fn assert_values_match<P>(img: &Buffer<P>)
where
    P: Pixel,
    P::Subpixel: Element,
    <P::Subpixel as Element>::Output: Bits,
{
    let (samples, layout) = image_layout(img).unwrap();
    let (planes, planar) = planar_copy(img);
    assert_eq!(samples.as_ptr(), img.as_raw().as_ptr(), "not in place");
    assert_eq!(layout.planes(), usize::from(P::CHANNEL_COUNT));
    assert_eq!(
        (layout.height(), layout.width()),
        (planar.height(), planar.width())
    );
    for reduction in [Reduction::Sum, Reduction::Mean] {
        let config = TotalVariation::new().with_reduction(reduction);
        let got = config.value(samples, &layout).unwrap();
        let expected = config.value(&planes, &planar).unwrap();
        assert_eq!(bits(&got), bits(&expected), "{reduction:?}");
    }
}

/// Exact totals of an integer image through the adapter equal those of
/// the copy.
fn assert_exact_sums_match<P>(img: &Buffer<P>)
where
    P: Pixel,
    P::Subpixel: total_variation::IntegerElement,
{
    let (samples, layout) = image_layout(img).unwrap();
    let (planes, planar) = planar_copy(img);
    let config = TotalVariation::new();
    assert_eq!(
        config.exact_sum(samples, &layout).unwrap(),
        config.exact_sum(&planes, &planar).unwrap()
    );
}

/// Every norm's values and gradients of an `f32` image through the
/// adapter equal those of the copy; the gradient comes out planar.
fn assert_float_results_match<P: Pixel<Subpixel = f32>>(img: &Buffer<P>) {
    let (samples, layout) = image_layout(img).unwrap();
    let (planes, planar) = planar_copy(img);
    let upstream: Vec<f32> =
        (0..layout.planes()).map(|p| 0.5 + p as f32).collect();
    for norm in [
        Norm::Anisotropic,
        Norm::Isotropic,
        Norm::SquaredL2,
        Norm::Smooth { epsilon: 0.25 },
    ] {
        for reduction in [Reduction::Sum, Reduction::Mean] {
            let config =
                TotalVariation::new().with_norm(norm).with_reduction(reduction);
            let got = config.value(samples, &layout).unwrap();
            let expected = config.value(&planes, &planar).unwrap();
            assert_eq!(bits(&got), bits(&expected), "{norm:?} {reduction:?}");
            let grad = config.gradient(samples, &layout, &upstream).unwrap();
            let expected =
                config.gradient(&planes, &planar, &upstream).unwrap();
            assert_eq!(bits(&grad), bits(&expected), "{norm:?} {reduction:?}");
        }
    }
}

/// Width and height, zero included.
fn size() -> impl Strategy<Value = (u32, u32)> {
    (0u32..=9, prop_oneof![0u32..=9, 15u32..=40])
}

/// A float sample: mostly small integers (ties), some specials.
fn float_sample() -> impl Strategy<Value = f32> + Clone {
    prop_oneof![
        6 => (-3i32..=3).prop_map(|v| v as f32),
        3 => -1.0f32..2.0,
        1 => Just(-0.0f32),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
    ]
}

/// An image of pixel type `P` with samples from `sample`.
fn image<P, S>(sample: S) -> impl Strategy<Value = Buffer<P>>
where
    P: Pixel + std::fmt::Debug,
    P::Subpixel: std::fmt::Debug,
    S: Strategy<Value = P::Subpixel> + Clone,
{
    size().prop_flat_map(move |(width, height)| {
        let len = (width * height) as usize * usize::from(P::CHANNEL_COUNT);
        prop::collection::vec(sample.clone(), len)
            .prop_map(move |samples| image_of::<P>(width, height, samples))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn luma_u8(img in image::<Luma<u8>, _>(any::<u8>())) {
        assert_values_match(&img);
        assert_exact_sums_match(&img);
    }

    #[test]
    fn rgb_u8(img in image::<Rgb<u8>, _>(any::<u8>())) {
        assert_values_match(&img);
        assert_exact_sums_match(&img);
    }

    #[test]
    fn rgba_u8(img in image::<Rgba<u8>, _>(any::<u8>())) {
        assert_values_match(&img);
        assert_exact_sums_match(&img);
    }

    #[test]
    fn luma_alpha_u8(img in image::<LumaA<u8>, _>(any::<u8>())) {
        assert_values_match(&img);
        assert_exact_sums_match(&img);
    }

    #[test]
    fn luma_u16(img in image::<Luma<u16>, _>(any::<u16>())) {
        assert_values_match(&img);
        assert_exact_sums_match(&img);
    }

    #[test]
    fn rgb_u16(img in image::<Rgb<u16>, _>(any::<u16>())) {
        assert_values_match(&img);
        assert_exact_sums_match(&img);
    }

    #[test]
    fn rgba_u16(img in image::<Rgba<u16>, _>(any::<u16>())) {
        assert_values_match(&img);
        assert_exact_sums_match(&img);
    }

    #[test]
    fn luma_f32(img in image::<Luma<f32>, _>(float_sample())) {
        assert_values_match(&img);
        assert_float_results_match(&img);
    }

    #[test]
    fn rgb_f32(img in image::<Rgb<f32>, _>(float_sample())) {
        assert_values_match(&img);
        assert_float_results_match(&img);
    }

    #[test]
    fn rgba_f32(img in image::<Rgba<f32>, _>(float_sample())) {
        assert_values_match(&img);
        assert_float_results_match(&img);
    }
}

#[test]
fn an_rgba_image_by_hand() {
    // Two rows of two pixels; each channel worked out separately.
    #[rustfmt::skip]
    let samples = vec![
        0u8, 10, 100, 255,    3, 10, 100, 255,
        5, 10, 0, 255,        5, 30, 50, 0,
    ];
    let img = image_of::<Rgba<u8>>(2, 2, samples);
    let (samples, layout) = image_layout(&img).unwrap();
    // R: across |3−0| + |5−5|, down |5−0| + |5−3|.
    // G: across 0 + 20, down 0 + 20.
    // B: across 0 + 50, down 100 + 50.
    // A: across 0 + 255, down 0 + 255.
    let exact = TotalVariation::new().exact_sum(samples, &layout).unwrap();
    assert_eq!(exact, [3 + 5 + 2, 40, 200, 510]);
    let mean = TotalVariation::new()
        .with_reduction(Reduction::Mean)
        .value(samples, &layout)
        .unwrap();
    assert_eq!(mean, [3.0 / 2.0 + 7.0 / 2.0, 20.0, 25.0 + 75.0, 255.0]);
}

#[test]
fn a_grey_image_is_one_plane_read_row_by_row() {
    let img = image_of::<Luma<u16>>(3, 2, vec![0, 1, 3, 0, 1, 3]);
    let (samples, layout) = image_layout(&img).unwrap();
    assert_eq!(samples, [0, 1, 3, 0, 1, 3]);
    assert_eq!(layout.planes(), 1);
    assert_eq!((layout.row_stride(), layout.column_stride()), (3, 1));
    assert_eq!(TotalVariation::new().value(samples, &layout).unwrap(), [6.0]);
}

#[test]
fn a_longer_buffer_gives_only_the_image() {
    // `image` accepts a buffer longer than the image; the rest is not a
    // pixel and must not be read.
    let img = image_of::<Rgb<f32>>(
        1,
        2,
        vec![0.0, 1.0, 2.0, 4.0, 1.0, 2.0, f32::NAN],
    );
    let (samples, layout) = image_layout(&img).unwrap();
    assert_eq!(samples.len(), 6);
    let tv = TotalVariation::new().value(samples, &layout).unwrap();
    assert_eq!(tv, [4.0, 0.0, 0.0]);
}

#[test]
fn an_empty_image_gives_zeros() {
    let img = image_of::<Rgb<u8>>(0, 5, Vec::new());
    let (samples, layout) = image_layout(&img).unwrap();
    assert!(samples.is_empty());
    assert_eq!(
        TotalVariation::new().value(samples, &layout).unwrap(),
        [0.0; 3]
    );
    let img = image_of::<Rgba<f32>>(0, 0, Vec::new());
    let (samples, layout) = image_layout(&img).unwrap();
    assert_eq!(
        TotalVariation::new().value(samples, &layout).unwrap(),
        [0.0; 4]
    );
}

#[test]
fn a_borrowed_container_works_too() {
    // Any container that derefs to the samples: here a borrowed slice.
    let storage = [1u8, 4, 9, 16];
    let img: ImageBuffer<Luma<u8>, &[u8]> =
        ImageBuffer::from_raw(2, 2, &storage[..]).unwrap();
    let (samples, layout) = image_layout(&img).unwrap();
    assert_eq!(samples.as_ptr(), storage.as_ptr());
    let exact = TotalVariation::new().exact_sum(samples, &layout).unwrap();
    assert_eq!(exact, [3 + 7 + 8 + 12]);
}
