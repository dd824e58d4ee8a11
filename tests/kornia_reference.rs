//! The crate against kornia itself: values and gradients that kornia 0.9
//! and torch's autograd computed, read from `tests/data/kornia_vectors.txt`.
//!
//! `scripts/generate_kornia_vectors.py` writes that file and documents its
//! format: for each case an input of shape `(*, H, W)` in `f32` or `f64`,
//! an upstream gradient with one value per plane, and for each reduction
//! kornia's value and the gradient of `Σₚ upstream[p] · TVₚ`, every float
//! as the hexadecimal pattern of its bits.
//!
//! Gradients must match bit for bit, signed zeros included. Values may
//! differ in their last bits, because kornia sums each plane in torch's
//! order and this crate in its own pairwise one; [`value_tolerance`] is the
//! one rule for how far.

use std::fmt::Debug;
use std::path::Path;

use total_variation::{
    FloatElement, Reduction, total_variation, total_variation_grad,
    total_variation_grad_into, total_variation_into,
};

/// Where the vectors are, relative to the crate root.
const VECTORS_PATH: &str = "tests/data/kornia_vectors.txt";

/// The float types of the vectors, and what the tests need of them.
trait ReferenceFloat: FloatElement + Debug + PartialEq {
    /// The name of the type in the data file.
    const NAME: &'static str;
    /// The machine epsilon, as an `f64`.
    const EPSILON: f64;

    /// Reads the hexadecimal bit pattern of a value.
    fn from_hex(word: &str) -> Option<Self>;

    /// The bit pattern, widened to `u64`.
    fn bits(self) -> u64;

    /// The value, exactly, as an `f64`.
    fn to_f64(self) -> f64;

    /// A NaN, to fill output buffers before a call.
    fn nan() -> Self;
}

impl ReferenceFloat for f32 {
    const NAME: &'static str = "f32";
    const EPSILON: f64 = f32::EPSILON as f64;

    fn from_hex(word: &str) -> Option<f32> {
        if word.len() != 8 {
            return None;
        }
        u32::from_str_radix(word, 16).ok().map(f32::from_bits)
    }

    fn bits(self) -> u64 {
        u64::from(self.to_bits())
    }

    fn to_f64(self) -> f64 {
        f64::from(self)
    }

    fn nan() -> f32 {
        f32::NAN
    }
}

impl ReferenceFloat for f64 {
    const NAME: &'static str = "f64";
    const EPSILON: f64 = f64::EPSILON;

    fn from_hex(word: &str) -> Option<f64> {
        if word.len() != 16 {
            return None;
        }
        u64::from_str_radix(word, 16).ok().map(f64::from_bits)
    }

    fn bits(self) -> u64 {
        self.to_bits()
    }

    fn to_f64(self) -> f64 {
        self
    }

    fn nan() -> f64 {
        f64::NAN
    }
}

/// kornia's results for one reduction.
struct Expected<T> {
    reduction: Reduction,
    values: Vec<T>,
    gradient: Vec<T>,
}

/// One case of the data file.
struct Case<T> {
    name: String,
    shape: Vec<usize>,
    input: Vec<T>,
    upstream: Vec<T>,
    expected: Vec<Expected<T>>,
}

impl<T> Case<T> {
    fn planes(&self) -> usize {
        self.shape[..self.shape.len() - 2].iter().product()
    }

    fn height(&self) -> usize {
        self.shape[self.shape.len() - 2]
    }

    fn width(&self) -> usize {
        self.shape[self.shape.len() - 1]
    }

    /// The number of absolute differences in one plane.
    fn differences_per_plane(&self) -> usize {
        let (height, width) = (self.height(), self.width());
        height.saturating_sub(1) * width + height * width.saturating_sub(1)
    }

    /// Names an element by plane, row and column, for failure messages.
    fn position(&self, index: usize) -> String {
        let plane_len = self.height() * self.width();
        let (plane, offset) = (index / plane_len, index % plane_len);
        let (row, column) = (offset / self.width(), offset % self.width());
        format!("element {index} (plane {plane}, row {row}, column {column})")
    }
}

/// Every case of the data file, by float type.
struct Vectors {
    f32_cases: Vec<Case<f32>>,
    f64_cases: Vec<Case<f64>>,
}

/// The lines that carry data: no comments, no blank lines.
struct DataLines<'a> {
    lines: std::iter::Peekable<std::iter::Enumerate<std::str::Lines<'a>>>,
}

impl<'a> DataLines<'a> {
    fn new(text: &'a str) -> Self {
        DataLines { lines: text.lines().enumerate().peekable() }
    }

    /// The next data line and its number (from 1), if any.
    fn next_line(&mut self) -> Option<(usize, &'a str)> {
        for (index, line) in self.lines.by_ref() {
            let line = line.trim();
            if !line.is_empty() && !line.starts_with('#') {
                return Some((index + 1, line));
            }
        }
        None
    }

    /// Reads a field: a line `NAME COUNT`, where `NAME` may be two words,
    /// then `COUNT` values over as many lines as they take.
    fn field<T: ReferenceFloat>(
        &mut self,
        name: &str,
        expected_count: usize,
    ) -> Vec<T> {
        let (number, line) =
            self.next_line().unwrap_or_else(|| panic!("missing `{name}`"));
        let count = line
            .strip_prefix(name)
            .and_then(|rest| rest.trim().parse::<usize>().ok())
            .unwrap_or_else(|| {
                panic!("line {number}: expected `{name} COUNT`, got `{line}`")
            });
        assert_eq!(
            count, expected_count,
            "line {number}: `{name}` has the wrong number of values"
        );
        let mut values = Vec::with_capacity(count);
        while values.len() < count {
            let (number, line) = self
                .next_line()
                .unwrap_or_else(|| panic!("the file ends inside `{name}`"));
            for word in line.split_whitespace() {
                let value = T::from_hex(word).unwrap_or_else(|| {
                    panic!("line {number}: `{word}` is not an {}", T::NAME)
                });
                values.push(value);
            }
        }
        assert_eq!(values.len(), count, "`{name}` has too many values");
        values
    }

    /// Reads the fields of a case whose `case` line was just read.
    fn case<T: ReferenceFloat>(
        &mut self,
        name: &str,
        shape: Vec<usize>,
    ) -> Case<T> {
        let len = shape.iter().product();
        let planes = shape[..shape.len() - 2].iter().product();
        let input = self.field("input", len);
        let upstream = self.field("upstream", planes);
        let mut expected = Vec::new();
        for (reduction, label) in
            [(Reduction::Sum, "sum"), (Reduction::Mean, "mean")]
        {
            let values = self.field(&format!("value {label}"), planes);
            let gradient = self.field(&format!("grad {label}"), len);
            expected.push(Expected { reduction, values, gradient });
        }
        match self.next_line() {
            Some((_, "end")) => {}
            other => panic!("case {name}: expected `end`, got {other:?}"),
        }
        Case { name: name.to_owned(), shape, input, upstream, expected }
    }
}

/// Reads and parses the data file.
fn load_vectors() -> Vectors {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(VECTORS_PATH);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!("cannot read {}: {error}", path.display())
    });
    let mut lines = DataLines::new(&text);
    let mut vectors = Vectors { f32_cases: Vec::new(), f64_cases: Vec::new() };
    while let Some((number, line)) = lines.next_line() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let ["case", name, dtype, dims] = words[..] else {
            panic!("line {number}: expected `case NAME DTYPE SHAPE`");
        };
        let shape: Vec<usize> = dims
            .split(',')
            .map(|dim| dim.parse().expect("a dimension is an integer"))
            .collect();
        assert!(shape.len() >= 2, "line {number}: a shape needs H and W");
        match dtype {
            "f32" => vectors.f32_cases.push(lines.case(name, shape)),
            "f64" => vectors.f64_cases.push(lines.case(name, shape)),
            _ => panic!("line {number}: unknown dtype `{dtype}`"),
        }
    }
    vectors
}

fn reduction_name(reduction: Reduction) -> &'static str {
    match reduction {
        Reduction::Sum => "sum",
        _ => "mean",
    }
}

/// The largest relative difference allowed between this crate's value and
/// kornia's, for a plane of `differences` absolute differences in a type
/// of machine epsilon `epsilon`.
///
/// Every term is non-negative, so each of the two sums is within
/// `ε · depth` of the exact total, relatively, where `depth` is the
/// longest chain of roundings a term goes through: about `log2` of the
/// count for a pairwise sum and for torch's cascade sum, plus the 8
/// vectors added in order in one block of this crate, plus the division of
/// a mean and the final addition of the two terms. Allowing 4 ulps per
/// level covers both sides with room to spare: about 1e-5 for `f32` and
/// 2e-14 for `f64` at 2^15 differences.
fn value_tolerance(epsilon: f64, differences: usize) -> f64 {
    let log2_count = (differences.max(1) as f64).log2().ceil();
    4.0 * epsilon * (log2_count + 8.0 + 2.0)
}

/// The relative difference of `actual` from `expected`: 0 when both are
/// the same non-finite value or NaN, infinite when only one is.
fn relative_difference(actual: f64, expected: f64) -> f64 {
    if actual.is_nan() || expected.is_nan() {
        return if actual.is_nan() && expected.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if actual == expected {
        return 0.0;
    }
    if expected.is_infinite() || actual.is_infinite() {
        return f64::INFINITY;
    }
    ((actual - expected) / expected).abs()
}

/// Checks the values of every case of one float type, and returns the
/// largest relative difference seen.
fn check_values<T: ReferenceFloat>(cases: &[Case<T>]) -> f64 {
    let mut failures = Vec::new();
    let mut largest = 0.0f64;
    for case in cases {
        let tolerance =
            value_tolerance(T::EPSILON, case.differences_per_plane());
        for expected in &case.expected {
            let label = reduction_name(expected.reduction);
            let values =
                total_variation(&case.input, &case.shape, expected.reduction)
                    .unwrap_or_else(|error| panic!("{}: {error}", case.name));

            // The slice form must write the same bits over every output.
            let mut written = vec![T::nan(); case.planes()];
            total_variation_into(
                &case.input,
                &case.shape,
                expected.reduction,
                &mut written,
            )
            .unwrap_or_else(|error| panic!("{}: {error}", case.name));
            let same_bits = written
                .iter()
                .zip(&values)
                .all(|(written, value)| written.bits() == value.bits());
            assert!(same_bits, "{} {label}: the two forms differ", case.name);

            assert_eq!(values.len(), expected.values.len(), "{}", case.name);
            for (plane, (&actual, &wanted)) in
                values.iter().zip(&expected.values).enumerate()
            {
                let difference =
                    relative_difference(actual.to_f64(), wanted.to_f64());
                if difference.is_finite() {
                    largest = largest.max(difference);
                }
                if difference > tolerance {
                    failures.push(format!(
                        "{} {} {label}, plane {plane}: {actual:?}, kornia \
                         {wanted:?} (relative difference {difference:e}, \
                         allowed {tolerance:e})",
                        case.name,
                        T::NAME,
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} values differ from kornia:\n{}",
        failures.len(),
        failures.join("\n")
    );
    largest
}

/// Checks the gradients of every case of one float type, bit for bit, and
/// lists every element that differs.
fn check_gradients<T: ReferenceFloat>(cases: &[Case<T>]) {
    let mut failures = Vec::new();
    for case in cases {
        for expected in &case.expected {
            let label = reduction_name(expected.reduction);
            let gradient = total_variation_grad(
                &case.input,
                &case.shape,
                expected.reduction,
                &case.upstream,
            )
            .unwrap_or_else(|error| panic!("{}: {error}", case.name));

            // The slice form, over a buffer of NaN: any element it does
            // not write shows up as a difference.
            let mut written = vec![T::nan(); case.input.len()];
            total_variation_grad_into(
                &case.input,
                &case.shape,
                expected.reduction,
                &case.upstream,
                &mut written,
            )
            .unwrap_or_else(|error| panic!("{}: {error}", case.name));

            for (form, result) in [("Vec", &gradient), ("slice", &written)] {
                for (index, (&actual, &wanted)) in
                    result.iter().zip(&expected.gradient).enumerate()
                {
                    if actual.bits() != wanted.bits() {
                        failures.push(format!(
                            "{} {} {label} ({form} form), {}: {actual:?} \
                             ({:#x}), torch {wanted:?} ({:#x})",
                            case.name,
                            T::NAME,
                            case.position(index),
                            actual.bits(),
                            wanted.bits(),
                        ));
                    }
                }
            }
        }
    }
    let shown: Vec<&str> =
        failures.iter().take(40).map(|failure| &failure[..]).collect();
    assert!(
        failures.is_empty(),
        "{} gradient elements differ from torch; the first {}:\n{}",
        failures.len(),
        shown.len(),
        shown.join("\n")
    );
}

#[test]
#[cfg_attr(miri, ignore = "reads a file, which miri isolation forbids")]
fn data_file_covers_the_promised_cases() {
    let vectors = load_vectors();
    let shapes: Vec<&[usize]> =
        (vectors.f32_cases.iter().map(|case| &case.shape[..]))
            .chain(vectors.f64_cases.iter().map(|case| &case.shape[..]))
            .collect();
    assert!(vectors.f32_cases.len() >= 40, "f32 cases are missing");
    assert!(vectors.f64_cases.len() >= 40, "f64 cases are missing");
    for dims in 2..=5 {
        assert!(
            shapes.iter().any(|shape| shape.len() == dims),
            "no case with {dims} dimensions"
        );
    }
    let leading_zero = |shape: &[usize]| shape[..shape.len() - 2].contains(&0);
    assert!(shapes.iter().any(|shape| leading_zero(shape)));
    assert!(shapes.iter().any(|shape| shape.contains(&257)));
    let has_ties = vectors
        .f64_cases
        .iter()
        .any(|case| case.input.windows(2).any(|pair| pair[0] == pair[1]));
    assert!(has_ties, "no f64 case has equal neighbours");
    let has_nan = vectors
        .f32_cases
        .iter()
        .any(|case| case.input.iter().any(|value| value.is_nan()));
    assert!(has_nan, "no f32 case holds a NaN");
}

#[test]
#[cfg_attr(miri, ignore = "reads a file, which miri isolation forbids")]
fn gradients_equal_torch_bit_for_bit() {
    let vectors = load_vectors();
    check_gradients(&vectors.f32_cases);
    check_gradients(&vectors.f64_cases);
}

#[test]
#[cfg_attr(miri, ignore = "reads a file, which miri isolation forbids")]
fn values_match_kornia_within_the_tolerance() {
    let vectors = load_vectors();
    let largest_f32 = check_values(&vectors.f32_cases);
    let largest_f64 = check_values(&vectors.f64_cases);
    // Shown with `--nocapture`: how close the sums come to kornia's.
    eprintln!(
        "largest relative difference from kornia: f32 {largest_f32:e}, \
         f64 {largest_f64:e}"
    );
}
