//! kornia's own tests of `kornia.losses.total_variation`
//! (`tests/losses/test_total_variation.py` in kornia), ported to this
//! crate.
//!
//! kornia checks its numbers with a relative tolerance of 1e-3 against
//! four printed digits. Here the expected numbers are the full results of
//! kornia 0.9 on the same inputs, so they are checked much more tightly.
//!
//! kornia's tests of memory layouts (`channels_last`, permuted strides),
//! of non-tensor arguments and of `torch.compile` have no counterpart for
//! a function over contiguous slices; their nearest analogues are the
//! transposed-plane and short-shape tests below.

use total_variation::{
    Error, Layout, Reduction, TotalVariation, total_variation,
    total_variation_exact, total_variation_grad,
};

const REDUCTIONS: [Reduction; 2] = [Reduction::Sum, Reduction::Mean];

/// The relative tolerance of every value comparison below, for a type of
/// machine epsilon `epsilon`. The planes here have at most 40 differences,
/// so two summation orders differ by a few ulps; 64 leaves room for the
/// division of a mean and the final addition.
fn relative_tolerance(epsilon: f64) -> f64 {
    64.0 * epsilon
}

/// Asserts that `actual` and `expected` agree within
/// [`relative_tolerance`]; zero must be exact.
fn assert_values_close(
    actual: &[f64],
    expected: &[f64],
    epsilon: f64,
    what: &str,
) {
    assert_eq!(actual.len(), expected.len(), "{what}: number of values");
    let tolerance = relative_tolerance(epsilon);
    for (plane, (&actual, &expected)) in actual.iter().zip(expected).enumerate()
    {
        let difference = (actual - expected).abs();
        assert!(
            difference <= tolerance * expected.abs(),
            "{what}, plane {plane}: {actual} but kornia gives {expected}"
        );
    }
}

fn widen(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&value| f64::from(value)).collect()
}

/// A small seeded generator (SplitMix64), so that the random inputs of
/// kornia's tests are the same on every run.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, like `torch.rand`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn uniform_f64(&mut self, len: usize) -> Vec<f64> {
        (0..len).map(|_| self.next_f64()).collect()
    }
}

// ---------------------------------------------------------------------
// Constant images
// ---------------------------------------------------------------------

#[test]
fn constant_images_have_zero_variation() {
    let ones = vec![1.0f32; 3 * 4 * 5];
    let twos = vec![2.0f32; 2 * 3 * 4 * 5];
    for reduction in REDUCTIONS {
        let tv = total_variation(&ones, &[3, 4, 5], reduction).unwrap();
        assert_eq!(tv, [0.0; 3]);
        let tv = total_variation(&twos, &[2, 3, 4, 5], reduction).unwrap();
        assert_eq!(tv, [0.0; 6]);

        let tv = total_variation(&widen(&ones), &[3, 4, 5], reduction);
        assert_eq!(tv.unwrap(), [0.0; 3]);
        let tv = total_variation(&widen(&twos), &[2, 3, 4, 5], reduction);
        assert_eq!(tv.unwrap(), [0.0; 6]);
    }
}

/// kornia runs this one on `int32` with the mean reduction; this crate's
/// integer types are `u8`, `u16` and `i16`.
#[test]
fn constant_integer_images_have_zero_variation() {
    let shape = [2, 3, 4, 5];
    let len = 2 * 3 * 4 * 5;
    for reduction in REDUCTIONS {
        let tv = total_variation(&vec![2u8; len], &shape, reduction);
        assert_eq!(tv.unwrap(), [0.0; 6]);
        let tv = total_variation(&vec![2u16; len], &shape, reduction);
        assert_eq!(tv.unwrap(), [0.0; 6]);
        let tv = total_variation(&vec![-2i16; len], &shape, reduction);
        assert_eq!(tv.unwrap(), [0.0; 6]);
    }
    let exact = total_variation_exact(&[1u8; 3 * 4 * 5], &[3, 4, 5]);
    assert_eq!(exact.unwrap(), [0; 3]);
}

// ---------------------------------------------------------------------
// Value tables
// ---------------------------------------------------------------------

/// kornia's first 3-D input, shape (3, 4, 5).
#[rustfmt::skip]
const THREE_PLANES_OF_4_BY_5: [f32; 60] = [
    0.11747694, 0.5717714, 0.89223915, 0.2929412, 0.63556224,
    0.5371079, 0.13416398, 0.7782737, 0.21392655, 0.1757018,
    0.62360305, 0.8563448, 0.25304103, 0.68539226, 0.6956515,
    0.9350611, 0.01694632, 0.78724295, 0.4760313, 0.73099905,
    //
    0.4788819, 0.45253807, 0.932798, 0.5721999, 0.7612051,
    0.5455887, 0.8836531, 0.79551977, 0.6677338, 0.74293613,
    0.4830376, 0.16420758, 0.15784949, 0.21445751, 0.34168917,
    0.8675162, 0.5468113, 0.6117004, 0.01305223, 0.17554593,
    //
    0.6423703, 0.5561105, 0.54304767, 0.20339686, 0.8553698,
    0.98024786, 0.31562763, 0.10122144, 0.17686582, 0.26260805,
    0.20522952, 0.14523649, 0.8601968, 0.02593213, 0.7382898,
    0.71935296, 0.9625162, 0.42287344, 0.07979459, 0.9149871,
];

/// kornia's second 3-D input, shape (1, 2, 3).
#[rustfmt::skip]
const ONE_PLANE_OF_2_BY_3: [f32; 6] = [
    0.09094203, 0.32630223, 0.8066123,
    0.10921168, 0.09534764, 0.48588026,
];

/// kornia's first 4-D input, shape (2, 3, 2, 2).
#[rustfmt::skip]
const SIX_PLANES_OF_2_BY_2: [f32; 24] = [
    0.8756, 0.0920, 0.8034, 0.3107,
    0.3069, 0.2981, 0.9399, 0.7944,
    0.6269, 0.1494, 0.2493, 0.8490,
    //
    0.3256, 0.9923, 0.2856, 0.9104,
    0.4107, 0.4387, 0.2742, 0.0095,
    0.7064, 0.3674, 0.6139, 0.2487,
];

/// kornia's second 4-D input, shape (3, 1, 2, 3).
#[rustfmt::skip]
const THREE_PLANES_OF_2_BY_3: [f32; 18] = [
    0.1104, 0.2284, 0.4371, 0.4569, 0.1906, 0.8035,
    0.0552, 0.6831, 0.8310, 0.3589, 0.5044, 0.0802,
    0.5078, 0.5703, 0.9110, 0.4765, 0.8401, 0.2754,
];

/// One input of kornia's value tables, with the results of kornia 0.9 on
/// it. kornia builds its inputs in `f32` and converts them, so the `f64`
/// input is the `f32` one widened.
struct ValueTable {
    name: &'static str,
    shape: &'static [usize],
    input: &'static [f32],
    sum_f32: &'static [f32],
    mean_f32: &'static [f32],
    sum_f64: &'static [f64],
    mean_f64: &'static [f64],
}

impl ValueTable {
    fn check(&self) {
        let cases_f32 =
            [(Reduction::Sum, self.sum_f32), (Reduction::Mean, self.mean_f32)];
        for (reduction, expected) in cases_f32 {
            let tv = total_variation(self.input, self.shape, reduction);
            assert_values_close(
                &widen(&tv.unwrap()),
                &widen(expected),
                f64::from(f32::EPSILON),
                &format!("{} f32 {reduction:?}", self.name),
            );
        }
        let input = widen(self.input);
        let cases_f64 =
            [(Reduction::Sum, self.sum_f64), (Reduction::Mean, self.mean_f64)];
        for (reduction, expected) in cases_f64 {
            let tv = total_variation(&input, self.shape, reduction);
            assert_values_close(
                &tv.unwrap(),
                expected,
                f64::EPSILON,
                &format!("{} f64 {reduction:?}", self.name),
            );
        }
    }
}

// The expected numbers below were computed by kornia 0.9.0 (torch 2.15,
// CPU) on these inputs, and printed as the shortest decimals that read
// back to the same floats. kornia's own test lists them to four digits.

#[test]
fn three_dimensional_values_match_kornia() {
    ValueTable {
        name: "(3, 4, 5)",
        shape: &[3, 4, 5],
        input: &THREE_PLANES_OF_4_BY_5,
        sum_f32: &[12.664723, 7.9527316, 12.383778],
        mean_f32: &[0.8155668, 0.5162606, 0.79886013],
        sum_f64: &[12.664723504334688, 7.952731774188578, 12.38377846032381],
        mean_f64: &[0.8155667605809868, 0.5162606309866533, 0.7988601789188882],
    }
    .check();
    ValueTable {
        name: "(1, 2, 3)",
        shape: &[1, 2, 3],
        input: &ONE_PLANE_OF_2_BY_3,
        sum_f32: &[1.6900232],
        mean_f32: &[0.47000217],
        sum_f64: &[1.6900232285261154],
        mean_f64: &[0.47000216506421566],
    }
    .check();
}

#[test]
fn four_dimensional_values_match_kornia() {
    ValueTable {
        name: "(2, 3, 2, 2)",
        shape: &[2, 3, 2, 2],
        input: &SIX_PLANES_OF_2_BY_2,
        sum_f32: &[1.5672, 1.2836, 2.1543999, 1.4133999, 0.8584, 0.9154],
        mean_f32: &[0.7836, 0.6418, 1.0771999, 0.70669997, 0.4292, 0.4577],
        sum_f64: &[
            1.5671999603509903,
            1.2835999727249146,
            2.1543999910354614,
            1.4133999347686768,
            0.8583999816328287,
            0.915399968624115,
        ],
        mean_f64: &[
            0.7835999801754951,
            0.6417999863624573,
            1.0771999955177307,
            0.7066999673843384,
            0.42919999081641436,
            0.4576999843120575,
        ],
    }
    .check();
    ValueTable {
        name: "(3, 1, 2, 3)",
        shape: &[3, 1, 2, 3],
        input: &THREE_PLANES_OF_2_BY_3,
        sum_f32: &[1.9566001, 2.5787, 2.2682],
        mean_f32: &[0.55170834, 0.74744165, 0.64510834],
        sum_f64: &[1.9566000252962112, 2.578699938952923, 2.2681999802589417],
        mean_f64: &[0.5517083412657182, 0.7474416472638648, 0.6451083272695541],
    }
    .check();
}

// ---------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------

/// The values of a batch are those of its slices along the first axis,
/// computed one by one and put back in order. Each plane is summed on its
/// own, so they are equal bit for bit, not only within kornia's 1e-3.
#[test]
fn batch_gives_the_values_of_its_slices() {
    let mut random = SplitMix64(20);
    let shapes: [&[usize]; 3] = [&[3, 5, 5], &[4, 3, 5, 5], &[4, 2, 3, 5, 5]];
    for shape in shapes {
        let len: usize = shape.iter().product();
        let input_f64 = random.uniform_f64(len);
        let input_f32: Vec<f32> =
            input_f64.iter().map(|&value| value as f32).collect();
        let slice_len = len / shape[0];
        for reduction in REDUCTIONS {
            let whole = total_variation(&input_f64, shape, reduction).unwrap();
            let by_slices: Vec<f64> = input_f64
                .chunks_exact(slice_len)
                .flat_map(|slice| {
                    total_variation(slice, &shape[1..], reduction).unwrap()
                })
                .collect();
            assert_eq!(whole, by_slices, "f64 {shape:?} {reduction:?}");

            let whole = total_variation(&input_f32, shape, reduction).unwrap();
            let by_slices: Vec<f32> = input_f32
                .chunks_exact(slice_len)
                .flat_map(|slice| {
                    total_variation(slice, &shape[1..], reduction).unwrap()
                })
                .collect();
            assert_eq!(whole, by_slices, "f32 {shape:?} {reduction:?}");
        }
    }
}

/// kornia rejects anything that is not a tensor of shape `(*, H, W)`; here
/// the type is checked at compile time, and the shape at run time.
#[test]
fn shapes_without_height_and_width_are_rejected() {
    let tv = total_variation(&[1.0f32, 2.0], &[2], Reduction::Sum);
    assert_eq!(tv, Err(Error::ShapeTooShort { dims: 1 }));
    let tv = total_variation::<f32>(&[], &[], Reduction::Sum);
    assert_eq!(tv, Err(Error::ShapeTooShort { dims: 0 }));
}

// ---------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------

/// A 5×5 meshgrid whose value is its row index: 20 vertical differences of
/// 1, no horizontal one. kornia expects 20 for the sum and 1 for the mean.
#[test]
fn meshgrid_sums_to_20_and_averages_to_1() {
    let rows: Vec<f64> = (0..25).map(|index| f64::from(index / 5)).collect();
    let rows_f32: Vec<f32> = rows.iter().map(|&value| value as f32).collect();
    let rows_u8: Vec<u8> = (0..25).map(|index| index / 5).collect();

    assert_eq!(total_variation(&rows, &[5, 5], Reduction::Sum), Ok(vec![20.0]));
    assert_eq!(total_variation(&rows, &[5, 5], Reduction::Mean), Ok(vec![1.0]));
    let sum = total_variation(&rows_f32, &[5, 5], Reduction::Sum);
    assert_eq!(sum, Ok(vec![20.0]));
    let mean = total_variation(&rows_f32, &[5, 5], Reduction::Mean);
    assert_eq!(mean, Ok(vec![1.0]));
    let sum = total_variation(&rows_u8, &[5, 5], Reduction::Sum);
    assert_eq!(sum, Ok(vec![20.0]));
    let mean = total_variation(&rows_u8, &[5, 5], Reduction::Mean);
    assert_eq!(mean, Ok(vec![1.0]));
}

/// The two terms summed directly, in `f64`, for a plane of `height` rows
/// of `width` values.
fn terms_by_definition(
    plane: &[f64],
    height: usize,
    width: usize,
) -> (f64, f64) {
    let at = |row: usize, column: usize| plane[row * width + column];
    let mut vertical = 0.0;
    let mut horizontal = 0.0;
    for row in 0..height {
        for column in 0..width {
            if row + 1 < height {
                vertical += (at(row + 1, column) - at(row, column)).abs();
            }
            if column + 1 < width {
                horizontal += (at(row, column + 1) - at(row, column)).abs();
            }
        }
    }
    (vertical, horizontal)
}

/// kornia checks its flattened reduction against a reduction over the
/// last two axes; here, against the definition written out.
#[test]
fn reductions_match_the_definition() {
    let mut random = SplitMix64(67);
    let (height, width) = (6, 7);
    let input = random.uniform_f64(2 * 3 * height * width);
    let shape = [2, 3, height, width];
    let vertical_count = ((height - 1) * width) as f64;
    let horizontal_count = (height * (width - 1)) as f64;

    let mut sums = Vec::new();
    let mut means = Vec::new();
    for plane in input.chunks_exact(height * width) {
        let (vertical, horizontal) = terms_by_definition(plane, height, width);
        sums.push(vertical + horizontal);
        means.push(vertical / vertical_count + horizontal / horizontal_count);
    }
    let sum = total_variation(&input, &shape, Reduction::Sum).unwrap();
    assert_values_close(&sum, &sums, f64::EPSILON, "sum");
    let mean = total_variation(&input, &shape, Reduction::Mean).unwrap();
    assert_values_close(&mean, &means, f64::EPSILON, "mean");
}

/// kornia checks that a permuted tensor gives the same result as a
/// contiguous one. Transposing a plane swaps its two terms and their
/// counts, so the sum and the mean stay the same.
#[test]
fn transposed_planes_have_the_same_variation() {
    let mut random = SplitMix64(68);
    let (planes, height, width) = (6, 6, 7);
    let input = random.uniform_f64(planes * height * width);
    let mut transposed = vec![0.0; input.len()];
    for (plane, out) in input
        .chunks_exact(height * width)
        .zip(transposed.chunks_exact_mut(height * width))
    {
        for row in 0..height {
            for column in 0..width {
                out[column * height + row] = plane[row * width + column];
            }
        }
    }
    for reduction in REDUCTIONS {
        let tv = total_variation(&input, &[2, 3, height, width], reduction);
        let tv_transposed =
            total_variation(&transposed, &[2, 3, width, height], reduction);
        assert_values_close(
            &tv_transposed.unwrap(),
            &tv.unwrap(),
            f64::EPSILON,
            &format!("{reduction:?}"),
        );
    }
}

/// kornia's `TotalVariation` module always sums; so does this crate's
/// default configuration.
#[test]
fn default_configuration_matches_the_function() {
    let mut random = SplitMix64(69);
    let input = random.uniform_f64(2 * 3 * 4);
    let layout = Layout::new(&[1, 2, 3, 4]).unwrap();
    let from_configuration = TotalVariation::new().value(&input, &layout);
    let from_function = total_variation(&input, &[1, 2, 3, 4], Reduction::Sum);
    assert_eq!(from_configuration, from_function);
    assert_eq!(TotalVariation::default().reduction(), Reduction::Sum);
}

// ---------------------------------------------------------------------
// Gradient
// ---------------------------------------------------------------------

/// An input of kornia's gradcheck shape, (1, 2, 3, 4): `torch.rand` with
/// seed 0 in `f64`. No two neighbours are closer than 0.04, so the
/// function is linear around it and finite differences are exact up to
/// rounding.
#[rustfmt::skip]
const GRADCHECK_INPUT: [f64; 24] = [
    0.9700530018065531, 0.707819864399788, 0.45938294312745087,
    0.9207476841219603, 0.6450241201227648, 0.7911478921803037,
    0.17860617520075095, 0.3511076243939284, 0.5813409198075745,
    0.2882358921361502, 0.4528688488811142, 0.17679952620371409,
    //
    0.35526675833930643, 0.6219052486795277, 0.48184840078170854,
    0.4408004990443595, 0.40728157436444157, 0.2054385934615871,
    0.6650381757501495, 0.7848739004551177, 0.21036647491838456,
    0.6767391209176791, 0.10973526023744606, 0.5237520594022435,
];

const GRADCHECK_SHAPE: [usize; 4] = [1, 2, 3, 4];

/// The smallest distance between two neighbours in a plane.
fn smallest_neighbour_gap(plane: &[f64], width: usize) -> f64 {
    let mut gap = f64::INFINITY;
    for (index, &value) in plane.iter().enumerate() {
        if (index + 1) % width != 0 {
            gap = gap.min((plane[index + 1] - value).abs());
        }
        if let Some(&below) = plane.get(index + width) {
            gap = gap.min((below - value).abs());
        }
    }
    gap
}

/// Like kornia's gradcheck, the whole Jacobian: for each output plane `p`,
/// the gradient with the upstream one-hot at `p` against central finite
/// differences of `TVₚ`.
#[test]
fn gradient_matches_central_finite_differences() {
    let step = 1e-6;
    for plane in GRADCHECK_INPUT.chunks_exact(12) {
        assert!(smallest_neighbour_gap(plane, 4) > 100.0 * step);
    }
    for reduction in REDUCTIONS {
        for output in 0..2 {
            let mut upstream = [0.0; 2];
            upstream[output] = 1.0;
            let gradient = total_variation_grad(
                &GRADCHECK_INPUT,
                &GRADCHECK_SHAPE,
                reduction,
                &upstream,
            )
            .unwrap();
            for index in 0..GRADCHECK_INPUT.len() {
                let value_at = |shift: f64| {
                    let mut input = GRADCHECK_INPUT;
                    input[index] += shift;
                    let tv =
                        total_variation(&input, &GRADCHECK_SHAPE, reduction);
                    tv.unwrap()[output]
                };
                let estimate =
                    (value_at(step) - value_at(-step)) / (2.0 * step);
                assert!(
                    (estimate - gradient[index]).abs() <= 1e-6,
                    "{reduction:?}, output {output}, input {index}: \
                     {} but finite differences give {estimate}",
                    gradient[index],
                );
            }
        }
    }
}

/// The gradient of `0.75·TV₀ − 1.5·TV₁` that torch's autograd computes
/// through kornia 0.9 on the gradcheck input, equal bit for bit.
#[test]
fn gradient_equals_kornia_autograd() {
    let upstream = [0.75, -1.5];
    #[rustfmt::skip]
    let from_kornia_sum: [f64; 24] = [
        1.5, -0.75, -0.75, 1.5, -0.75, 3.0, -3.0, 0.75, 0.0, -2.25, 2.25,
        -1.5, 3.0, -4.5, 1.5, 3.0, -4.5, 6.0, -3.0, -4.5, 3.0, -4.5, 4.5, 0.0,
    ];
    #[rustfmt::skip]
    let from_kornia_mean: [f64; 24] = [
        0.17708333333333331, -0.09375, -0.07291666666666666,
        0.17708333333333331, -0.08333333333333333, 0.35416666666666663,
        -0.35416666666666663, 0.08333333333333331, -0.010416666666666671,
        -0.26041666666666663, 0.26041666666666663, -0.17708333333333331,
        0.35416666666666663, -0.5208333333333333, 0.1875,
        0.35416666666666663, -0.5416666666666666, 0.7083333333333333,
        -0.375, -0.5416666666666666, 0.35416666666666663,
        -0.5208333333333333, 0.5208333333333333, 0.020833333333333343,
    ];
    let cases = [
        (Reduction::Sum, from_kornia_sum),
        (Reduction::Mean, from_kornia_mean),
    ];
    for (reduction, expected) in cases {
        let gradient = total_variation_grad(
            &GRADCHECK_INPUT,
            &GRADCHECK_SHAPE,
            reduction,
            &upstream,
        )
        .unwrap();
        let bits = |values: &[f64]| -> Vec<u64> {
            values.iter().map(|value| value.to_bits()).collect()
        };
        assert_eq!(bits(&gradient), bits(&expected), "{reduction:?}");
    }

    // kornia 0.9's values on the same input.
    let sum =
        total_variation(&GRADCHECK_INPUT, &GRADCHECK_SHAPE, Reduction::Sum);
    assert_values_close(
        &sum.unwrap(),
        &[4.910948754346626, 5.156799864806101],
        f64::EPSILON,
        "gradcheck input, sum",
    );
    let mean =
        total_variation(&GRADCHECK_INPUT, &GRADCHECK_SHAPE, Reduction::Mean);
    assert_values_close(
        &mean.unwrap(),
        &[0.5772434686683607, 0.6074275548547057],
        f64::EPSILON,
        "gradcheck input, mean",
    );
}
