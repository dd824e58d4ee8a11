//! Every backend against the scalar one on small fixed images: every
//! tail length of the float vectors (16 `f32`, 8 `f64` lanes) and of the
//! integer registers (16 and 32 bytes), one and several rows, several
//! planes, volumes, and byte buffers at every misalignment.
//!
//! `tests/backends.rs` draws its cases with proptest, whose case
//! generation is too slow under miri. These cases are deterministic, and
//! fewer under miri (see [`widths`] and [`shapes`]), so miri runs this
//! file in CI (see README.md, "Fuzzing, miri and other architectures") to
//! check the unsafe code of the kernels, of `wide` and of `bytemuck` for
//! undefined behaviour.

// The tests use the functions that return a `Vec`.
#![cfg(feature = "alloc")]

use total_variation::{
    AxisWeights, Backend, Element, Layout, Norm, Reduction, TotalVariation,
    VolumeLayout, pixels_from_bytes,
};

/// Every norm, with a smoothing scale whose square is exact and one whose
/// square is subnormal in `f32`. Under miri, the anisotropic norm and
/// the smooth one, whose kernels hold every vector operation of the
/// per-pixel norms (square root and division included).
const NORMS: &[Norm] = if cfg!(miri) {
    &[Norm::Anisotropic, Norm::Smooth { epsilon: 0.25 }]
} else {
    &[
        Norm::Anisotropic,
        Norm::Isotropic,
        Norm::SquaredL2,
        Norm::Smooth { epsilon: 0.25 },
        Norm::Smooth { epsilon: 3e-20 },
    ]
};

/// The backends to compare with the scalar one, where they can run.
fn fast_backends() -> Vec<Backend> {
    [Backend::Portable, Backend::Avx2, Backend::Avx512, Backend::Auto]
        .into_iter()
        .filter(|backend| backend.is_available())
        .collect()
}

/// A build that enables AVX2 (as the second miri run of CI does) must run
/// the AVX2 backend: otherwise that run would test nothing new.
#[test]
fn avx2_runs_where_the_build_enables_it() {
    if cfg!(all(target_arch = "x86_64", target_feature = "avx2")) {
        assert!(Backend::Avx2.is_available());
    }
}

/// Likewise for AVX-512 (with AVX2, which the backend needs too).
#[test]
fn avx512_runs_where_the_build_enables_it() {
    if cfg!(all(
        target_arch = "x86_64",
        target_feature = "avx2",
        target_feature = "avx512f",
        target_feature = "avx512bw",
        target_feature = "avx512vl"
    )) {
        assert!(Backend::Avx512.is_available());
    }
}

/// Widths that hit every tail length of a vector of `lanes`: up to two
/// vectors and two more, or under miri, whose interpreter is some 10^4
/// times slower, up to one vector and one more.
fn widths(lanes: usize) -> impl Iterator<Item = usize> {
    if cfg!(miri) { 0..=lanes + 1 } else { 0..=2 * lanes + 2 }
}

/// The shapes of each width: one row, and two planes of three rows (two
/// rows under miri), the second filled with IEEE corner cases when the
/// type has them.
fn shapes(width: usize) -> Vec<(Vec<usize>, bool)> {
    if cfg!(miri) {
        vec![(vec![2, width], width % 2 == 1)]
    } else {
        vec![(vec![1, width], false), (vec![2, 3, width], true)]
    }
}

/// Both reductions; under miri only the mean, whose kernels are those of
/// the sum with one more step.
const REDUCTIONS: &[Reduction] = if cfg!(miri) {
    &[Reduction::Mean]
} else {
    &[Reduction::Sum, Reduction::Mean]
};

/// A fixed xorshift sequence.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Values with ties, fractions and, when `special`, one IEEE corner
/// case in every 7: NaN, infinities, signed zeros, a subnormal, the
/// largest finite value.
fn float_values(len: usize, seed: u64, special: bool) -> Vec<f64> {
    let corners = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        0.0,
        f64::MIN_POSITIVE / 4.0,
        f64::MAX,
    ];
    let mut sequence = Sequence(seed);
    (0..len)
        .map(|k| {
            let r = sequence.next();
            if special && k % 7 == 3 {
                corners[(r % 7) as usize]
            } else {
                (r % 9) as f64 - 4.0 + [0.0, 0.25][(r >> 8 & 1) as usize]
            }
        })
        .collect()
}

/// The bits of each value, every NaN as one: Rust leaves the sign and
/// payload of a NaN result unspecified.
fn canonical<T: Copy + Into<f64>>(values: &[T]) -> Vec<u64> {
    values
        .iter()
        .map(|&v| {
            let v: f64 = v.into();
            if v.is_nan() { f64::NAN.to_bits() } else { v.to_bits() }
        })
        .collect()
}

/// Values and gradients of one shape on every backend.
fn check_float<T>(shape: &[usize], img: &[T], upstream: &[T])
where
    T: total_variation::FloatElement + Into<f64> + std::fmt::Debug,
{
    let layout = Layout::new(shape).unwrap();
    for (reduction, norm) in REDUCTIONS
        .iter()
        .flat_map(|&reduction| NORMS.iter().map(move |&norm| (reduction, norm)))
    {
        let scalar = TotalVariation::new()
            .with_reduction(reduction)
            .with_norm(norm)
            .with_backend(Backend::Scalar);
        let value = scalar.value(img, &layout).unwrap();
        let grad = scalar.gradient(img, &layout, upstream).unwrap();
        for backend in fast_backends() {
            let tv = scalar.with_backend(backend);
            let context =
                format!("{backend:?} {reduction:?} {norm:?} {shape:?}");
            assert_eq!(
                canonical(&tv.value(img, &layout).unwrap()),
                canonical(&value),
                "value, {context}"
            );
            assert_eq!(
                canonical(&tv.gradient(img, &layout, upstream).unwrap()),
                canonical(&grad),
                "gradient, {context}"
            );
        }
        for backend in fast_backends().into_iter().chain([Backend::Scalar]) {
            let tv = scalar.with_backend(backend);
            let context =
                format!("{backend:?} {reduction:?} {norm:?} {shape:?}");
            let (fused_value, fused_grad) =
                tv.value_and_gradient(img, &layout, upstream).unwrap();
            assert_eq!(
                canonical(&fused_value),
                canonical(&value),
                "one-pass value, {context}"
            );
            assert_eq!(
                canonical(&fused_grad),
                canonical(&grad),
                "one-pass gradient, {context}"
            );
        }
    }
}

fn float_tails<T>(lanes: usize, cast: fn(f64) -> T)
where
    T: total_variation::FloatElement + Into<f64> + std::fmt::Debug,
{
    for width in widths(lanes) {
        for (shape, special) in shapes(width) {
            let layout = Layout::new(&shape).unwrap();
            let seed = 0x9e37_79b9 + width as u64;
            let img: Vec<T> = float_values(layout.len(), seed, special)
                .into_iter()
                .map(cast)
                .collect();
            let upstream: Vec<T> = [1.0, -0.5][..layout.planes()]
                .iter()
                .map(|&g| cast(g))
                .collect();
            check_float(&shape, &img, &upstream);
        }
    }
}

/// Planes of at least ten vectors get their value and gradient in one
/// pass (narrower ones in two): that kernel, at every tail length of its
/// rows. Under miri, one width of each type. The ten must be at least
/// `ONE_PASS_MIN_VECTORS` of `src/kernels/mod.rs`, or this test would no
/// longer reach the one-pass kernel.
#[test]
fn one_pass_rows_at_every_tail_match_scalar() {
    fn one_pass_widths(lanes: usize) -> std::ops::RangeInclusive<usize> {
        let first = 10 * lanes;
        if cfg!(miri) {
            first + 1..=first + 1
        } else {
            first..=first + lanes + 1
        }
    }
    // Two planes of three rows: finite values, then IEEE corner cases.
    let planes = |width: usize| {
        let mut img = float_values(3 * width, width as u64, false);
        img.extend(float_values(3 * width, width as u64, true));
        img
    };
    for width in one_pass_widths(16) {
        let img: Vec<f32> =
            planes(width).into_iter().map(|v| v as f32).collect();
        check_float(&[2, 3, width], &img, &[1.0, -0.5]);
    }
    for width in one_pass_widths(8) {
        check_float(&[2, 3, width], &planes(width), &[1.0, -0.5]);
    }
}

#[test]
fn f32_every_tail_matches_scalar() {
    float_tails::<f32>(16, |v| v as f32);
}

#[test]
fn f64_every_tail_matches_scalar() {
    float_tails::<f64>(8, |v| v);
}

/// Rows of three to six vectors at every tail length, one to four rows
/// high, so that the gradient's runs of vectors are long enough for the
/// 512-bit loop of the AVX-512 backend (four vectors) or just too short,
/// with every set of neighbouring rows (none, above, below, both), finite
/// values and IEEE corner cases, and upstream gradients of both signs
/// and zero. Miri never runs AVX-512; the tails above cover the other
/// backends there.
#[test]
#[cfg_attr(miri, ignore = "miri never runs the AVX-512 kernels")]
fn long_gradient_runs_match_scalar() {
    fn check<T>(lanes: usize, cast: fn(f64) -> T)
    where
        T: total_variation::FloatElement + Into<f64> + std::fmt::Debug,
    {
        for width in 3 * lanes + 2..=6 * lanes + 2 {
            for height in 1..=4 {
                for special in [false, true] {
                    let shape = [height, width];
                    let seed = (width * 8 + height) as u64;
                    let img: Vec<T> =
                        float_values(height * width, seed, special)
                            .into_iter()
                            .map(cast)
                            .collect();
                    // A zero upstream gradient makes every term a
                    // signed zero, whose signs the sums must keep.
                    for g in [-2.5, 0.0, -0.0] {
                        check_float(&shape, &img, &[cast(g)]);
                    }
                }
            }
        }
    }
    check::<f32>(16, |v| v as f32);
    check::<f64>(8, |v| v);
}

/// The norms of the volume cases: under miri only the smooth one, whose
/// per-voxel kernels hold the vector code of volumes (the anisotropic
/// norm runs the plane kernels, which the plane cases cover, and safe
/// code along the depth).
fn volume_norms() -> &'static [Norm] {
    if cfg!(miri) { &NORMS[NORMS.len() - 1..] } else { NORMS }
}

/// Values and gradients of volumes of every tail width on every
/// backend, for every norm, with unit, uneven and depth-free weights: the
/// per-voxel kernels read six rows around each one.
fn volume_tails<T>(lanes: usize, cast: fn(f64) -> T)
where
    T: total_variation::FloatElement + Into<f64> + std::fmt::Debug,
{
    let weights = if cfg!(miri) {
        vec![AxisWeights::new(0.5, 1.0, 2.0).unwrap()]
    } else {
        vec![
            AxisWeights::UNIT,
            AxisWeights::new(0.5, 1.0, 2.0).unwrap(),
            AxisWeights::new(0.0, 1.0, 1.0).unwrap(),
        ]
    };
    let dims: &[[usize; 3]] =
        if cfg!(miri) { &[[2, 2, 0]] } else { &[[1, 2, 0], [3, 3, 0]] };
    // And a row that crosses a block of the summation order.
    let block_crossing = (!cfg!(miri)).then_some(16 * lanes + 3);
    for width in widths(lanes).chain(block_crossing) {
        for &[depth, height, _] in dims {
            let layout = VolumeLayout::new(&[2, depth, height, width]).unwrap();
            let seed = 0x51ed_2701 + width as u64;
            let img: Vec<T> = float_values(layout.len(), seed, true)
                .into_iter()
                .map(cast)
                .collect();
            let upstream = [cast(1.0), cast(-0.5)];
            for (&reduction, norm, &weights) in REDUCTIONS
                .iter()
                .flat_map(|r| volume_norms().iter().map(move |&norm| (r, norm)))
                .flat_map(|(r, norm)| weights.iter().map(move |w| (r, norm, w)))
            {
                let scalar = TotalVariation::new()
                    .with_reduction(reduction)
                    .with_norm(norm)
                    .with_axis_weights(weights)
                    .with_backend(Backend::Scalar);
                let value = scalar.volume_value(&img, &layout).unwrap();
                let grad =
                    scalar.volume_gradient(&img, &layout, &upstream).unwrap();
                for backend in fast_backends() {
                    let tv = scalar.with_backend(backend);
                    let context = format!(
                        "{backend:?} {reduction:?} {norm:?} {weights:?} \
                         {depth}×{height}×{width}"
                    );
                    assert_eq!(
                        canonical(&tv.volume_value(&img, &layout).unwrap()),
                        canonical(&value),
                        "volume value, {context}"
                    );
                    let got =
                        tv.volume_gradient(&img, &layout, &upstream).unwrap();
                    assert_eq!(
                        canonical(&got),
                        canonical(&grad),
                        "volume gradient, {context}"
                    );
                }
            }
        }
    }
}

#[test]
fn f32_volume_tails_match_scalar() {
    volume_tails::<f32>(16, |v| v as f32);
}

#[test]
fn f64_volume_tails_match_scalar() {
    volume_tails::<f64>(8, |v| v);
}

/// A row that crosses a block of the summation order (16 vectors) and
/// ends in a tail: the SIMD backends must combine blocks in the scalar
/// order.
#[test]
fn rows_across_a_block_match_scalar() {
    let (f32_widths, f64_widths): (&[usize], &[usize]) = if cfg!(miri) {
        (&[257], &[129])
    } else {
        (&[255, 256, 257, 262], &[127, 128, 129])
    };
    for &width in f32_widths {
        let shape = [2, width];
        let img: Vec<f32> = float_values(2 * width, 7, false)
            .into_iter()
            .map(|v| v as f32 * 0.1)
            .collect();
        check_float(&shape, &img, &[1.0]);
    }
    for &width in f64_widths {
        let img = float_values(2 * width, 11, false);
        check_float(&[2, width], &img, &[3.0]);
    }
}

/// Eight planes of two rows whose differences are zero but in one or two
/// lanes of each vector, where they are random with full mantissas: the
/// vertical ones and those of the first row in the first lane (columns
/// `k · lanes`), those of the second row in the first and the last. The
/// value is then the sum of those lanes, whose rounding depends on how
/// their vectors are grouped into blocks; the other lanes, all zero, add
/// nothing that would round it away. A grouping that differs changes the
/// bits of a plane's value with good odds, of one of eight almost surely.
fn first_lane_planes(lanes: usize, width: usize) -> Vec<f64> {
    let mut sequence = Sequence(0x2545_f491 + width as u64);
    let mut step =
        || 1.0 + (sequence.next() >> 11) as f64 / (1u64 << 53) as f64;
    let mut img = Vec::new();
    for _plane in 0..8 {
        let (mut top, mut bottom) = (Vec::new(), Vec::new());
        let mut level = 0.0;
        for column in 0..width {
            if column % lanes == 1 {
                level += step();
            }
            top.push(level);
            bottom.push(level + if column % lanes == 0 { step() } else { 0.0 });
        }
        img.extend(top);
        img.extend(bottom);
    }
    img
}

/// The one-pass call groups the differences of a row into blocks as it
/// goes; on rows of several blocks it must group them as the value does.
/// Widths in `f64` elements: three blocks and one more difference, and
/// five blocks, seven vectors and two more elements; `f32` rows are twice
/// as wide, the same number of its vectors.
#[test]
#[cfg_attr(
    miri,
    ignore = "thousands of pixels; the kernels of these rows \
    run under miri in rows_across_a_block_match_scalar"
)]
fn block_boundaries_are_those_of_the_value() {
    let upstream = [1.0, -2.0, 0.5, 1.0, 3.0, -1.0, 1.0, 2.0];
    let widths = [3 * 16 * 8 + 1, 5 * 16 * 8 + 7 * 8 + 2];
    for width in widths {
        let img: Vec<f32> = first_lane_planes(16, 2 * width)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        check_float(&[8, 2, 2 * width], &img, &upstream.map(|g| g as f32));
        let img = first_lane_planes(8, width);
        check_float(&[8, 2, width], &img, &upstream);
    }
}

/// Exact totals and mean values of one integer shape on every backend.
fn check_integer<T: total_variation::IntegerElement>(
    shape: &[usize],
    img: &[T],
) {
    let layout = Layout::new(shape).unwrap();
    let scalar = TotalVariation::new().with_backend(Backend::Scalar);
    let mean = scalar.with_reduction(Reduction::Mean);
    let exact = scalar.exact_sum(img, &layout).unwrap();
    let value = mean.value(img, &layout).unwrap();
    for backend in fast_backends() {
        assert_eq!(
            scalar.with_backend(backend).exact_sum(img, &layout).unwrap(),
            exact,
            "{backend:?} {shape:?}"
        );
        assert_eq!(
            canonical(&mean.with_backend(backend).value(img, &layout).unwrap()),
            canonical(&value),
            "{backend:?} {shape:?}"
        );
    }
}

/// The widest integer register, in bytes: 64 with AVX-512, which miri
/// does not run, 32 with AVX2.
const WIDEST_REGISTER: usize = if cfg!(miri) { 32 } else { 64 };

/// Widths through two of the widest registers, rows of one and three,
/// values at the extremes and in between.
fn integer_tails<T: total_variation::IntegerElement>(
    lanes: usize,
    pick: fn(u64) -> T,
) {
    for width in widths(lanes) {
        for (shape, _) in shapes(width) {
            let len = Layout::new(&shape).unwrap().len();
            let mut sequence = Sequence(0x51_7cc1 + width as u64);
            let img: Vec<T> = (0..len).map(|_| pick(sequence.next())).collect();
            check_integer(&shape, &img);
        }
    }
}

#[test]
fn u8_every_tail_matches_scalar() {
    integer_tails::<u8>(WIDEST_REGISTER, |r| {
        [0, 255, r as u8][(r >> 60) as usize % 3]
    });
}

#[test]
fn u16_every_tail_matches_scalar() {
    integer_tails::<u16>(WIDEST_REGISTER / 2, |r| {
        [0, u16::MAX, r as u16][(r >> 60) as usize % 3]
    });
}

#[test]
fn i16_every_tail_matches_scalar() {
    integer_tails::<i16>(WIDEST_REGISTER / 2, |r| {
        [i16::MIN, i16::MAX, r as i16][(r >> 60) as usize % 3]
    });
}

/// `pixels_from_bytes` at every offset of an aligned buffer: the pixels
/// where the offset is a multiple of the alignment, an error elsewhere.
fn byte_views<T: Element + bytemuck::Pod + PartialEq + std::fmt::Debug>() {
    let size = size_of::<T>();
    let buffer = vec![0x3c00_3c00_3c00_3c00u64; 6];
    let bytes: &[u8] = bytemuck::cast_slice(&buffer);
    for offset in 0..2 * size {
        let view = &bytes[offset..offset + 4 * size];
        match pixels_from_bytes::<T>(view) {
            Ok(pixels) => {
                assert_eq!(offset % align_of::<T>(), 0);
                assert_eq!(pixels.len(), 4);
                assert_eq!(bytemuck::cast_slice::<T, u8>(pixels), view);
            }
            Err(err) => {
                assert_ne!(offset % align_of::<T>(), 0, "{err}");
            }
        }
    }
}

#[test]
fn byte_views_at_every_offset() {
    byte_views::<f32>();
    byte_views::<f64>();
    byte_views::<u16>();
    byte_views::<i16>();
    byte_views::<u8>();
}

/// 16-bit planes wide enough to be summed per position of a run of
/// registers, like an image of one channel: widths around the switch from
/// the row-by-row kernel (512) and around runs of three registers, values
/// at the extremes and in between.
#[test]
fn wide_16_bit_planes_match_scalar() {
    let widths: &[usize] = if cfg!(miri) {
        &[511, 512, 530]
    } else {
        &[511, 512, 513, 527, 530, 575, 576, 577, 1000]
    };
    for &width in widths {
        for height in [1, 3] {
            let shape = [2, height, width];
            let len = 2 * height * width;
            let mut sequence = Sequence(0x16b1 + width as u64);
            let picks: Vec<u64> = (0..len).map(|_| sequence.next()).collect();
            let unsigned: Vec<u16> = picks
                .iter()
                .map(|&r| [0, u16::MAX, r as u16][(r >> 60) as usize % 3])
                .collect();
            let signed: Vec<i16> = picks
                .iter()
                .map(|&r| {
                    [i16::MIN, i16::MAX, r as i16][(r >> 60) as usize % 3]
                })
                .collect();
            check_integer(&shape, &unsigned);
            check_integer(&shape, &signed);
        }
    }
}

/// Interleaved `u8` pixels, summed per channel straight over the rows:
/// row runs around one and two runs of three registers (48 and 96 bytes
/// on SSE2, 96 and 192 on AVX2, 192 and 384 on AVX-512), with 3 and 4
/// channels, in a region that starts inside a row and in the whole frame
/// (whose rows, with no gap between them, are read as one run), against
/// the channels copied into planes here.
#[test]
fn interleaved_u8_matches_its_planes() {
    let widths: &[usize] = if cfg!(miri) {
        &[2, 15, 17, 33, 65]
    } else {
        &[
            2, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 95, 96, 97, 127,
            128, 129,
        ]
    };
    for &channels in &[3usize, 4] {
        for &width in widths {
            let (height, full_width) = (3, width + 1);
            let mut sequence = Sequence(0x1eaf + width as u64);
            let img: Vec<u8> = (0..height * full_width * channels)
                .map(|_| {
                    let r = sequence.next();
                    [0, 255, r as u8][(r >> 60) as usize % 3]
                })
                .collect();
            let frame =
                Layout::interleaved(height, full_width, channels).unwrap();
            let region = frame.region(0, 1, height, width).unwrap();
            for (layout, left, width) in
                [(region, 1, width), (frame, 0, full_width)]
            {
                // Channel `c` of pixel `(i, j)` of the layout.
                let planes: Vec<u8> = (0..channels)
                    .flat_map(|c| {
                        let img = &img;
                        (0..height).flat_map(move |i| {
                            (0..width).map(move |j| {
                                img[(i * full_width + j + left) * channels + c]
                            })
                        })
                    })
                    .collect();
                let planar = Layout::new(&[channels, height, width]).unwrap();
                let expected = TotalVariation::new()
                    .with_backend(Backend::Scalar)
                    .exact_sum(&planes, &planar)
                    .unwrap();
                let backends =
                    [Backend::Scalar].into_iter().chain(fast_backends());
                for backend in backends {
                    let tv = TotalVariation::new().with_backend(backend);
                    assert_eq!(
                        tv.exact_sum(&img, &layout).unwrap(),
                        expected,
                        "{backend:?} {channels} channels, width {width}"
                    );
                }
            }
        }
    }
}

/// Interleaved `f32` and `f64` pixels (`f32` alone under miri), summed
/// in place for 2 to 4 channels (their block sums split into channels in
/// registers for 3 and 4) and through rows split into channels for 5,
/// and their gradient from rows split into channels: widths around a
/// vector, in a region that starts inside a row, give the bits of the
/// channels copied into planes here, values and gradients, alone and
/// together, for both reductions, with finite values (a misplaced one
/// changes the sums) and with IEEE corner cases (under miri, two widths,
/// the mean and the corner cases).
#[test]
fn interleaved_floats_match_their_planes() {
    fn check<T>(widths: &[usize], cast: fn(f64) -> T)
    where
        T: total_variation::FloatElement + Into<f64> + std::fmt::Debug,
    {
        let cases = [2usize, 3, 4, 5].into_iter().flat_map(|channels| {
            widths.iter().flat_map(move |&width| {
                // Under miri, the corner cases alone: the finite values
                // are there to catch misplaced ones, not undefined
                // behaviour.
                let specials: &[bool] =
                    if cfg!(miri) { &[true] } else { &[false, true] };
                specials.iter().map(move |&special| (channels, width, special))
            })
        });
        for (channels, width, special) in cases {
            let (height, full_width) = (3, width + 1);
            let len = height * full_width * channels;
            let seed = 0x5eed + width as u64;
            let img: Vec<T> = float_values(len, seed, special)
                .into_iter()
                .map(cast)
                .collect();
            let layout = Layout::interleaved(height, full_width, channels)
                .unwrap()
                .region(0, 1, height, width)
                .unwrap();
            // Channel `c` of pixel `(i, j)` of the region.
            let planes: Vec<T> = (0..channels)
                .flat_map(|c| {
                    let img = &img;
                    (0..height).flat_map(move |i| {
                        (0..width).map(move |j| {
                            img[(i * full_width + j + 1) * channels + c]
                        })
                    })
                })
                .collect();
            let planar = Layout::new(&[channels, height, width]).unwrap();
            for &reduction in REDUCTIONS {
                let scalar = TotalVariation::new()
                    .with_backend(Backend::Scalar)
                    .with_reduction(reduction);
                let expected = scalar.value(&planes, &planar).unwrap();
                // One upstream value per channel, a different one for each.
                let upstream: Vec<T> =
                    (0..channels).map(|c| cast(1.5 - c as f64)).collect();
                let expected_grad =
                    scalar.gradient(&planes, &planar, &upstream).unwrap();
                for backend in
                    [Backend::Scalar].into_iter().chain(fast_backends())
                {
                    let tv = scalar.with_backend(backend);
                    let case = format!(
                        "{backend:?} {channels} channels, width {width}, \
                         special values {special}"
                    );
                    assert_eq!(
                        canonical(&tv.value(&img, &layout).unwrap()),
                        canonical(&expected),
                        "{case}"
                    );
                    assert_eq!(
                        canonical(
                            &tv.gradient(&img, &layout, &upstream).unwrap()
                        ),
                        canonical(&expected_grad),
                        "{case}"
                    );
                    let (values, grad) = tv
                        .value_and_gradient(&img, &layout, &upstream)
                        .unwrap();
                    assert_eq!(
                        canonical(&values),
                        canonical(&expected),
                        "{case}"
                    );
                    assert_eq!(
                        canonical(&grad),
                        canonical(&expected_grad),
                        "{case}"
                    );
                }
            }
        }
    }
    let widths: &[usize] = if cfg!(miri) {
        &[9, 17]
    } else {
        &[1, 2, 7, 8, 9, 15, 16, 17, 24, 33]
    };
    check::<f32>(widths, |v| v as f32);
    if !cfg!(miri) {
        check::<f64>(widths, |v| v);
    }
}

/// Channels of interleaved pixels with random full mantissas, whose sums
/// round differently when their differences are grouped differently:
/// `channels` planes of `height × width`, interleaved, with one more
/// pixel at the start of each row that the region leaves out.
fn interleaved_random<T: Copy>(
    channels: usize,
    height: usize,
    width: usize,
    cast: fn(f64) -> T,
) -> (Vec<T>, Layout, Vec<T>, Layout) {
    let full_width = width + 1;
    let mut sequence = Sequence(0x9e37_79b9 + (channels * width) as u64);
    let img: Vec<T> = (0..height * full_width * channels)
        .map(|_| cast((sequence.next() >> 11) as f64 / (1u64 << 53) as f64))
        .collect();
    let layout = Layout::interleaved(height, full_width, channels)
        .unwrap()
        .region(0, 1, height, width)
        .unwrap();
    // Channel `c` of pixel `(i, j)` of the region.
    let mut planes = Vec::new();
    for c in 0..channels {
        for i in 0..height {
            for j in 0..width {
                planes.push(img[(i * full_width + j + 1) * channels + c]);
            }
        }
    }
    let planar = Layout::new(&[channels, height, width]).unwrap();
    (img, layout, planes, planar)
}

/// Interleaved rows of one, two and three blocks of the summation order
/// (256 `f32` or 128 `f64` pixels per channel) and a tail: every backend
/// must give each channel the bits of its plane, which the scalar
/// backend sums alone. The values have full mantissas, so a channel's
/// difference in another lane or another block changes the bits with
/// good odds, for one of the planes here almost surely.
#[test]
#[cfg_attr(
    miri,
    ignore = "thousands of pixels; the interleaved kernels run under miri \
    in interleaved_floats_match_their_planes"
)]
fn interleaved_rows_across_blocks_match_their_planes() {
    fn check<T>(lanes: usize, cast: fn(f64) -> T)
    where
        T: total_variation::FloatElement + Into<f64> + std::fmt::Debug,
    {
        let block = 16 * lanes;
        let widths = [block - 1, block, block + 1, 2 * block + 3 * lanes + 5];
        for channels in 2..=5 {
            for width in widths {
                let (img, layout, planes, planar) =
                    interleaved_random(channels, 3, width, cast);
                for reduction in [Reduction::Sum, Reduction::Mean] {
                    let scalar = TotalVariation::new()
                        .with_backend(Backend::Scalar)
                        .with_reduction(reduction);
                    let expected = scalar.value(&planes, &planar).unwrap();
                    let backends =
                        [Backend::Scalar].into_iter().chain(fast_backends());
                    for backend in backends {
                        let tv = scalar.with_backend(backend);
                        assert_eq!(
                            canonical(&tv.value(&img, &layout).unwrap()),
                            canonical(&expected),
                            "{backend:?} {channels} channels of {}, \
                             width {width}, {reduction:?}",
                            std::any::type_name::<T>(),
                        );
                    }
                }
            }
        }
    }
    check::<f32>(16, |v| v as f32);
    check::<f64>(8, |v| v);
}
