//! The checks shared by the fuzz targets of `total-variation`.
//!
//! Each target decodes its bytes into one case ([`input`]) and runs it on
//! every backend. What must hold:
//!
//! - **Backends agree.** `Portable`, `Avx2`, `Avx512` and `Auto` return
//!   the bits of `Scalar`, every NaN counting as the same value (Rust
//!   leaves the sign and payload of a NaN result unspecified), or the same
//!   error. `Avx2` or `Avx512` on a CPU without them returns
//!   `BackendUnavailable` once the arguments are valid.
//! - **Errors are the documented ones**, in the documented order, and the
//!   `_into` forms leave their output untouched on error.
//! - **No panic**, with overflow checks and debug assertions on (the
//!   default of `cargo fuzz build`).
//! - **Values agree with a naive reference** ([`reference`]): exactly for
//!   integer images (`exact_sum` equals the `i64` sum of the differences,
//!   and the `f64` values are computed from it), within
//!   [`reference::relative_bound`] for float images, and bit for bit for
//!   gradients, whose definition fixes the order of their four terms.
//! - **Every norm** ([`input::norm`]): the per-pixel norms against
//!   [`reference::check_norm_value`] (values, within a stated bound) and
//!   [`reference::norm_gradient`] (gradients, bit for bit); an unusable
//!   `epsilon` is `InvalidEpsilon` after the argument checks, and an
//!   integer image with a per-pixel norm `NormNotForIntegers`.
//! - **Volumes**: the gradient target reads its pixels as volumes too,
//!   with every norm; the backends agree, and a volume of depth 1 has
//!   the bits of its plane.
//! - **Strided layouts** ([`strided`], its own target): accepted exactly
//!   when every element lies in the slice, and then the bits of the same
//!   pixels copied into a contiguous image.

pub mod input;
pub mod reference;
pub mod strided;

use core::fmt::Debug;

use input::{Case, Kind, MAX_PLANES, Pixel, Types};
use reference::Float;
use total_variation::{
    Backend, Element, Error, FloatElement, IntegerElement, Layout, Norm,
    TotalVariation, VolumeLayout, pixels_from_bytes, total_variation,
    total_variation_exact, total_variation_grad,
};

/// The error a float call must return for `norm` once its other
/// arguments passed: `InvalidEpsilon` for a smoothing scale the
/// reference finds unusable in `T`.
fn norm_error<T: Float>(norm: Norm) -> Option<Error> {
    match norm {
        Norm::Smooth { epsilon }
            if reference::smooth_constants::<T>(epsilon).is_none() =>
        {
            Some(Error::InvalidEpsilon {
                norm,
                element: core::any::type_name::<T>(),
            })
        }
        _ => None,
    }
}

/// The backends compared with `Scalar`, available or not.
const BACKENDS: [Backend; 4] =
    [Backend::Portable, Backend::Avx2, Backend::Avx512, Backend::Auto];

/// The length of the output slice passed when the planes are too many to
/// allocate: the call must fail before it writes anything.
const SHORT_OUTPUT: usize = 3;

/// The `value` target: values of all five element types, and the exact
/// totals of the integer ones.
pub fn check_value(data: &[u8]) {
    let mut case = input::decode(data, Types::All);
    match case.kind {
        Kind::F32 => float_values::<f32>(&mut case),
        Kind::F64 => float_values::<f64>(&mut case),
        Kind::U8 => integer_values::<u8>(&mut case),
        Kind::U16 => integer_values::<u16>(&mut case),
        Kind::I16 => integer_values::<i16>(&mut case),
    }
}

/// The `gradient` target: gradients of `f32` and `f64` images.
pub fn check_gradient(data: &[u8]) {
    let mut case = input::decode(data, Types::Float);
    match case.kind {
        Kind::F32 => gradient::<f32>(&mut case),
        _ => gradient::<f64>(&mut case),
    }
}

/// A value compared bit for bit, every NaN as one.
trait Canonical: Copy + Debug {
    fn canonical(self) -> u64;
    /// A value no call here computes, to see what was written.
    const SENTINEL: Self;
}

impl Canonical for f32 {
    fn canonical(self) -> u64 {
        Float::canonical_bits(self)
    }
    const SENTINEL: f32 = -1234.5;
}

impl Canonical for f64 {
    fn canonical(self) -> u64 {
        Float::canonical_bits(self)
    }
    const SENTINEL: f64 = -1234.5;
}

impl Canonical for u64 {
    fn canonical(self) -> u64 {
        self
    }
    const SENTINEL: u64 = u64::MAX - 1234;
}

/// Whether two results are the same, bit for bit or as errors.
fn same<O: Canonical>(
    a: &Result<Vec<O>, Error>,
    b: &Result<Vec<O>, Error>,
) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => {
            a.len() == b.len()
                && a.iter().zip(b).all(|(x, y)| x.canonical() == y.canonical())
        }
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

/// Asserts that `result` equals `expected`, naming the backend.
#[track_caller]
fn assert_same<O: Canonical>(
    result: &Result<Vec<O>, Error>,
    expected: &Result<Vec<O>, Error>,
    what: &str,
) {
    assert!(
        same(result, expected),
        "{what}: {result:?}, expected {expected:?}"
    );
}

/// The layout of the case's shape, after checking that `Layout::new`
/// accepts exactly the shapes [`input::dims`] accepts, with the
/// documented error otherwise.
fn layout(case: &Case<'_>) -> Option<Layout> {
    let result = Layout::new(&case.shape);
    match (&result, input::dims(&case.shape)) {
        (Ok(layout), Ok(dims)) => {
            assert_eq!((layout.planes(), layout.height(), layout.width()), dims)
        }
        (Err(err), Err(input::ShapeError::TooShort)) => {
            assert_eq!(*err, Error::ShapeTooShort { dims: case.shape.len() })
        }
        (Err(err), Err(input::ShapeError::Overflow)) => {
            assert_eq!(*err, Error::ShapeOverflow)
        }
        _ => panic!("Layout::new({:?}) gave {result:?}", case.shape),
    }
    result.ok()
}

/// The error a value or exact-sum call must return on valid backends:
/// the image length first, then the plane size of an integer type, then
/// the output (which cannot be allocated, or is [`SHORT_OUTPUT`] long
/// when the planes exceed [`MAX_PLANES`]).
fn value_error<O>(
    layout: &Layout,
    img_len: usize,
    plane_limit: Option<u64>,
) -> Option<Error> {
    if img_len != layout.len() {
        return Some(Error::LengthMismatch {
            expected: layout.len(),
            actual: img_len,
        });
    }
    if let Some(limit) = plane_limit
        && layout.plane_len() as u64 > limit
    {
        return Some(Error::PlaneTooLarge {
            elements: layout.plane_len(),
            limit,
        });
    }
    if layout.planes() <= MAX_PLANES {
        return None;
    }
    let bytes = layout.planes().checked_mul(size_of::<O>());
    if bytes.is_none_or(|bytes| bytes > isize::MAX as usize) {
        Some(Error::OutputAllocation { values: layout.planes() })
    } else {
        Some(Error::OutputLength {
            expected: layout.planes(),
            actual: SHORT_OUTPUT,
        })
    }
}

/// Runs one of the value calls, in its collecting form and in its `_into`
/// form, asserts they agree and that the latter wrote nothing on error,
/// and returns the result.
fn collect_and_into<O: Canonical + Default>(
    planes: usize,
    collect: impl FnOnce() -> Result<Vec<O>, Error>,
    into: impl FnOnce(&mut [O]) -> Result<(), Error>,
) -> Result<Vec<O>, Error> {
    let output_bytes = planes.checked_mul(size_of::<O>());
    if planes <= MAX_PLANES
        || output_bytes.is_none_or(|bytes| bytes > isize::MAX as usize)
    {
        let collected = collect();
        if planes <= MAX_PLANES {
            let mut out = vec![O::SENTINEL; planes];
            let result = into(&mut out).map(|()| out.clone());
            assert_same(&result, &collected, "the _into form");
            if result.is_err() {
                assert!(
                    out.iter()
                        .all(|v| v.canonical() == O::SENTINEL.canonical())
                );
            }
        }
        collected
    } else {
        let mut out = [O::SENTINEL; SHORT_OUTPUT];
        let result = into(&mut out);
        assert!(result.is_err(), "{planes} planes in {SHORT_OUTPUT} values");
        assert!(out.iter().all(|v| v.canonical() == O::SENTINEL.canonical()));
        result.map(|()| out.to_vec())
    }
}

/// Checks every backend against `Scalar` and the expected error, and
/// returns the scalar result.
fn across_backends<O: Canonical>(
    expected_error: Option<Error>,
    run: impl Fn(Backend) -> Result<Vec<O>, Error>,
) -> Result<Vec<O>, Error> {
    let scalar = run(Backend::Scalar);
    match (expected_error, &scalar) {
        (Some(expected), Err(err)) => assert_eq!(*err, expected),
        (Some(expected), Ok(_)) => panic!("no error, expected {expected:?}"),
        (None, Err(err)) => panic!("unexpected error {err:?}"),
        (None, Ok(_)) => {}
    }
    for backend in BACKENDS {
        let result = run(backend);
        if scalar.is_ok() && !backend.is_available() {
            assert_eq!(
                result.err(),
                Some(Error::BackendUnavailable { backend })
            );
        } else {
            assert_same(&result, &scalar, &format!("{backend:?}"));
        }
    }
    scalar
}

/// Checks [`pixels_from_bytes`] on the image seen as bytes, starting
/// `case.byte_offset` bytes into an aligned buffer and maybe one byte
/// short.
fn byte_view<T: Element + bytemuck::Pod>(case: &Case<'_>, img: &[T]) {
    let img_bytes: &[u8] = bytemuck::cast_slice(img);
    let mut buffer = vec![0u64; (img_bytes.len() + case.byte_offset) / 8 + 1];
    let aligned: &mut [u8] = bytemuck::cast_slice_mut(&mut buffer);
    let view = &mut aligned[case.byte_offset..][..img_bytes.len()];
    view.copy_from_slice(img_bytes);
    let end = view.len() - usize::from(case.bytes_short && !view.is_empty());
    let view = &view[..end];

    let (size, align) = (size_of::<T>(), align_of::<T>());
    let result = pixels_from_bytes::<T>(view);
    if view.is_empty() {
        assert!(result.is_ok_and(<[T]>::is_empty));
    } else if case.byte_offset % align != 0 {
        assert_eq!(result.err(), Some(Error::Misaligned { align }));
    } else if view.len() % size != 0 {
        assert_eq!(
            result.err(),
            Some(Error::ByteLength { bytes: view.len(), element_size: size })
        );
    } else {
        // Compared as bytes: a NaN pixel must come back with its bits.
        let pixels = result.expect("an aligned whole view");
        assert_eq!(bytemuck::cast_slice::<T, u8>(pixels), view);
        assert_eq!(pixels.len(), img.len() - usize::from(case.bytes_short));
    }
}

/// A float pixel type, as the checks need it.
trait FuzzFloat:
    FloatElement + Float + Pixel + Canonical + Default + bytemuck::Pod
{
}

impl FuzzFloat for f32 {}
impl FuzzFloat for f64 {}

fn float_values<T: FuzzFloat>(case: &mut Case<'_>) {
    let img: Vec<T> = case.values.take(case.img_len);
    byte_view(case, &img);
    let Some(layout) = layout(case) else {
        let result = total_variation(&img, &case.shape, case.reduction);
        assert_eq!(result.err(), Layout::new(&case.shape).err());
        return;
    };
    let planes = layout.planes();
    let expected_error = value_error::<T>(&layout, img.len(), None)
        .or_else(|| norm_error::<T>(case.norm));
    let config = TotalVariation::new()
        .with_reduction(case.reduction)
        .with_norm(case.norm);
    let values = across_backends(expected_error, |backend| {
        let tv = config.with_backend(backend);
        collect_and_into(
            planes,
            || tv.value(&img, &layout),
            |out| tv.value_into(&img, &layout, out),
        )
    });
    let Ok(values) = values else { return };

    let (height, width) = (layout.height(), layout.width());
    if layout.plane_len() == 0 {
        assert!(values.iter().all(|v| v.canonical() == 0));
    }
    if case.norm != Norm::Anisotropic {
        for (plane, value) in
            img.chunks_exact(layout.plane_len().max(1)).zip(&values)
        {
            let totals =
                reference::norm_totals(plane, height, width, case.norm);
            if let Err(message) =
                reference::check_norm_value(*value, &totals, case.reduction)
            {
                panic!(
                    "{:?} {:?} {:?}: {message}",
                    case.shape, case.reduction, case.norm
                );
            }
        }
        return;
    }
    assert_same(
        &total_variation(&img, &case.shape, case.reduction),
        &Ok(values.clone()),
        "total_variation",
    );
    for (plane, value) in
        img.chunks_exact(layout.plane_len().max(1)).zip(&values)
    {
        let totals = reference::float_totals(plane, height, width);
        if let Err(message) =
            reference::check_float_value(*value, &totals, case.reduction)
        {
            panic!("{:?} {:?}: {message}", case.shape, case.reduction);
        }
    }
}

/// An integer pixel type, as the checks need it.
trait FuzzInteger:
    IntegerElement + Pixel + Into<i64> + bytemuck::Pod + PartialEq + Debug
{
    /// The largest difference of two values.
    const MAX_DIFF: u64;
}

impl FuzzInteger for u8 {
    const MAX_DIFF: u64 = 255;
}
impl FuzzInteger for u16 {
    const MAX_DIFF: u64 = 65_535;
}
impl FuzzInteger for i16 {
    const MAX_DIFF: u64 = 65_535;
}

fn integer_values<T: FuzzInteger>(case: &mut Case<'_>) {
    let img: Vec<T> = case.values.take(case.img_len);
    byte_view(case, &img);
    let Some(layout) = layout(case) else {
        let result = total_variation_exact(&img, &case.shape);
        assert_eq!(result.err(), Layout::new(&case.shape).err());
        return;
    };
    let planes = layout.planes();
    // A plane of n elements has fewer than 2n differences.
    let limit = Some(u64::MAX / (2 * T::MAX_DIFF));
    let config = TotalVariation::new()
        .with_reduction(case.reduction)
        .with_norm(case.norm);
    let norm_error = (case.norm != Norm::Anisotropic)
        .then_some(Error::NormNotForIntegers { norm: case.norm });

    let exact = across_backends(
        value_error::<u64>(&layout, img.len(), limit).or(norm_error),
        |backend| {
            let tv = config.with_backend(backend);
            collect_and_into(
                planes,
                || tv.exact_sum(&img, &layout),
                |out| tv.exact_sum_into(&img, &layout, out),
            )
        },
    );
    let values = across_backends(
        value_error::<f64>(&layout, img.len(), limit).or(norm_error),
        |backend| {
            let tv = config.with_backend(backend);
            collect_and_into(
                planes,
                || tv.value(&img, &layout),
                |out| tv.value_into(&img, &layout, out),
            )
        },
    );
    let (Ok(exact), Ok(values)) = (exact, values) else { return };

    assert_eq!(total_variation_exact(&img, &case.shape).as_ref(), Ok(&exact));
    let (height, width) = (layout.height(), layout.width());
    let reference: Vec<_> = img
        .chunks_exact(layout.plane_len().max(1))
        .map(|plane| reference::integer_totals(plane, height, width))
        .collect();
    let mut expected_exact: Vec<u64> =
        reference.iter().map(|t| t.vertical + t.horizontal).collect();
    let mut expected_values: Vec<f64> = reference
        .iter()
        .map(|t| reference::integer_value(t, case.reduction))
        .collect();
    if layout.plane_len() == 0 {
        // No element: every plane is empty and gives 0.
        expected_exact = vec![0; planes];
        expected_values = vec![0.0; planes];
    }
    assert_eq!(exact, expected_exact, "{:?}", case.shape);
    assert_same(&Ok(values), &Ok(expected_values), "integer value");
}

/// The same pixels as a batch of volumes (the last three dimensions of
/// the shape), with the case's norm: every backend gives the scalar bits
/// or the same error for the values and the gradient, and a volume of
/// depth 1 is its plane, bit for bit, for every norm.
fn volumes<T: FuzzFloat>(case: &Case<'_>, img: &[T], upstream: &[T]) {
    // Huge numbers of empty volumes ask for outputs that cannot be
    // allocated: the planes check the allocation errors.
    let Ok(layout) = VolumeLayout::new(&case.shape) else {
        return;
    };
    if layout.volumes() > MAX_PLANES {
        return;
    }
    let config = TotalVariation::new()
        .with_reduction(case.reduction)
        .with_norm(case.norm);
    // The arguments are checked first, then the norm: every norm is
    // defined on volumes, the smooth one for a usable `epsilon`.
    let length_error =
        (img.len() != layout.len()).then_some(Error::LengthMismatch {
            expected: layout.len(),
            actual: img.len(),
        });
    let norm_error = norm_error::<T>(case.norm);
    let values = across_backends(length_error.or(norm_error), |backend| {
        config.with_backend(backend).volume_value(img, &layout)
    });
    let upstream_error =
        (upstream.len() != layout.volumes()).then_some(Error::UpstreamLength {
            expected: layout.volumes(),
            actual: upstream.len(),
        });
    let expected_error = length_error.or(upstream_error).or(norm_error);
    let grad = across_backends(expected_error, |backend| {
        config.with_backend(backend).volume_gradient(img, &layout, upstream)
    });
    if layout.depth() == 1 && values.is_ok() {
        let planes = layout.slices();
        assert_same(&values, &config.value(img, &planes), "depth 1 values");
        if grad.is_ok() {
            assert_same(
                &grad,
                &config.gradient(img, &planes, upstream),
                "depth 1 gradient",
            );
        }
    }
}

fn gradient<T: FuzzFloat>(case: &mut Case<'_>) {
    let upstream: Vec<T> = case.values.take(case.upstream_len);
    let img: Vec<T> = case.values.take(case.img_len);
    volumes(case, &img, &upstream);
    let Some(layout) = layout(case) else {
        let result =
            total_variation_grad(&img, &case.shape, case.reduction, &upstream);
        assert_eq!(result.err(), Layout::new(&case.shape).err());
        return;
    };
    let expected_error = if img.len() != layout.len() {
        Some(Error::LengthMismatch {
            expected: layout.len(),
            actual: img.len(),
        })
    } else if upstream.len() != layout.planes() {
        Some(Error::UpstreamLength {
            expected: layout.planes(),
            actual: upstream.len(),
        })
    } else {
        norm_error::<T>(case.norm)
    };
    let config = TotalVariation::new()
        .with_reduction(case.reduction)
        .with_norm(case.norm);
    let grad = across_backends(expected_error, |backend| {
        let tv = config.with_backend(backend);
        let collected = tv.gradient(&img, &layout, &upstream);
        let mut out = vec![T::SENTINEL; img.len()];
        let result = tv
            .gradient_into(&img, &layout, &upstream, &mut out)
            .map(|()| out.clone());
        assert_same(&result, &collected, "gradient_into");
        if result.is_err() {
            assert!(
                out.iter().all(|v| v.canonical() == T::SENTINEL.canonical())
            );
        }
        // The one-pass call gives the bits, or the error, of the two
        // separate calls on the same backend.
        match (tv.value_and_gradient(&img, &layout, &upstream), &collected) {
            (Ok((values, one_pass)), Ok(_)) => {
                assert_same(&Ok(one_pass), &collected, "one-pass gradient");
                assert_same(
                    &Ok(values),
                    &tv.value(&img, &layout),
                    "one-pass values",
                );
            }
            (Err(err), Err(expected)) => assert_eq!(err, *expected),
            (one_pass, _) => {
                panic!("one-pass {one_pass:?}, separate {collected:?}")
            }
        }
        collected
    });
    let Ok(grad) = grad else { return };

    let mut longer = vec![T::SENTINEL; img.len() + 1];
    assert_eq!(
        config.gradient_into(&img, &layout, &upstream, &mut longer),
        Err(Error::GradientLength {
            expected: img.len(),
            actual: img.len() + 1
        })
    );
    if case.norm != Norm::Anisotropic {
        let expected = reference::norm_gradient(
            &img,
            (layout.planes(), layout.height(), layout.width()),
            case.norm,
            case.reduction,
            &upstream,
        );
        assert_same(&Ok(grad), &Ok(expected), "the reference norm gradient");
        return;
    }
    assert_same(
        &total_variation_grad(&img, &case.shape, case.reduction, &upstream),
        &Ok(grad.clone()),
        "total_variation_grad",
    );
    let expected = reference::gradient(
        &img,
        layout.planes(),
        layout.height(),
        layout.width(),
        case.reduction,
        &upstream,
    );
    assert_same(&Ok(grad), &Ok(expected), "the reference gradient");
}
