//! The one error type of the crate.

use core::fmt;

use crate::{Backend, Norm};

/// Everything that can be wrong with the arguments of a call.
///
/// Each variant carries the numbers involved, and its [`Display`] message
/// states them, so a log line is enough to find the mistake:
///
/// ```
/// use total_variation::{Error, Reduction, total_variation};
///
/// let img = [0.0f32; 23];
/// let err = total_variation(&img, &[2, 3, 4], Reduction::Sum).unwrap_err();
/// assert_eq!(err, Error::LengthMismatch { expected: 24, actual: 23 });
/// assert_eq!(
///     err.to_string(),
///     "the shape holds 24 elements but the slice has 23"
/// );
/// ```
///
/// [`Display`]: core::fmt::Display
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The shape has fewer than two dimensions: height and width are needed.
    ShapeTooShort {
        /// How many dimensions the shape has.
        dims: usize,
    },
    /// The number of planes, of elements in a plane, or of elements in
    /// all does not fit in `usize`.
    ShapeOverflow,
    /// The image slice does not hold exactly the elements of the shape.
    LengthMismatch {
        /// Elements the shape describes.
        expected: usize,
        /// Elements in the slice.
        actual: usize,
    },
    /// The output slice for the per-plane values has the wrong length.
    OutputLength {
        /// Planes in the shape.
        expected: usize,
        /// Length of the output slice.
        actual: usize,
    },
    /// The output of a call that returns a `Vec` cannot be allocated.
    OutputAllocation {
        /// Values the output would hold.
        values: usize,
    },
    /// The upstream gradient does not hold one value per plane.
    UpstreamLength {
        /// Planes in the shape.
        expected: usize,
        /// Length of the upstream slice.
        actual: usize,
    },
    /// The gradient output slice does not match the image.
    GradientLength {
        /// Elements the shape describes.
        expected: usize,
        /// Length of the gradient slice.
        actual: usize,
    },
    /// A byte buffer's length is not a multiple of the element size.
    ByteLength {
        /// Length of the buffer in bytes.
        bytes: usize,
        /// Size of one element in bytes.
        element_size: usize,
    },
    /// A byte buffer does not start on the element's alignment.
    Misaligned {
        /// The alignment the element type needs, in bytes.
        align: usize,
    },
    /// A plane is so large that its exact integer total could exceed
    /// `u64::MAX`. The shape is checked against the element type even when
    /// it has no plane at all.
    PlaneTooLarge {
        /// Elements in one plane.
        elements: usize,
        /// The largest plane this element type supports.
        limit: u64,
    },
    /// The backend asked for cannot run on this CPU or architecture.
    BackendUnavailable {
        /// The backend asked for.
        backend: Backend,
    },
    /// The `epsilon` of [`Norm::Smooth`] is not usable for this element
    /// type: it, or its square in the element type, is zero, negative,
    /// infinite or NaN.
    InvalidEpsilon {
        /// The norm asked for, with its `epsilon`.
        norm: Norm,
        /// The element type, `"f32"` or `"f64"`.
        element: &'static str,
    },
    /// A norm other than [`Norm::Anisotropic`] was asked of an integer
    /// image, or an exact integer total was asked with such a norm.
    NormNotForIntegers {
        /// The norm asked for.
        norm: Norm,
    },
    /// A volume shape has fewer than three dimensions.
    VolumeShapeTooShort {
        /// How many dimensions the shape has.
        dims: usize,
    },
    /// An axis weight is negative, NaN, infinite or larger than
    /// `f32::MAX`.
    InvalidAxisWeights,
    /// A strided layout was given a different number of strides than
    /// dimensions.
    StridesLength {
        /// Dimensions in the shape.
        dims: usize,
        /// Strides given.
        strides: usize,
    },
    /// A strided layout has more dimensions than
    /// [`Layout::MAX_STRIDED_DIMS`](crate::Layout::MAX_STRIDED_DIMS).
    TooManyDims {
        /// Dimensions in the shape.
        dims: usize,
        /// The most a strided layout may have.
        max: usize,
    },
    /// A padded layout's rows are shorter than its width.
    PitchTooSmall {
        /// Elements from one row to the next.
        pitch: usize,
        /// Elements in a row.
        width: usize,
    },
    /// A region does not lie inside the planes it is cut from.
    RegionOutOfBounds {
        /// First row of the region.
        top: usize,
        /// First column of the region.
        left: usize,
        /// Rows in the region.
        height: usize,
        /// Columns in the region.
        width: usize,
        /// Rows in each plane.
        plane_height: usize,
        /// Columns in each plane.
        plane_width: usize,
    },
    /// A strided layout places an element past the end of the slice.
    ///
    /// Dimensions are counted as in the shape of
    /// [`Layout::strided`](crate::Layout::strided), from 0: for
    /// [`Layout::interleaved`](crate::Layout::interleaved) and
    /// [`Layout::padded`](crate::Layout::padded), 0 is the channels or
    /// planes, 1 the rows and 2 the columns.
    StrideOutOfBounds {
        /// The first dimension, innermost first, whose stride takes the
        /// elements past the end; `None` when the offset already is.
        axis: Option<usize>,
        /// The index of the last element the layout places.
        last: usize,
        /// Length of the slice.
        len: usize,
    },
    /// A strided layout places an element before the start of the slice.
    /// Dimensions are counted as for [`Error::StrideOutOfBounds`].
    StrideBeforeStart {
        /// The first dimension, innermost first, whose (negative) stride
        /// takes the elements before the start; `None` when the offset
        /// already is.
        axis: Option<usize>,
        /// How many elements before the start the first element lies.
        before: usize,
    },
    /// The layout's rows are not contiguous (a column stride other than 1,
    /// as in interleaved images): they are gathered into a buffer, which
    /// needs the `alloc` feature.
    GatherNeedsAlloc {
        /// The layout's column stride.
        column_stride: isize,
    },
    /// The buffer that gathers the rows of a plane with a column stride
    /// other than 1 cannot be allocated.
    GatherAllocation {
        /// Elements in the buffer: a plane, or a few rows of every channel.
        elements: usize,
    },
    /// The buffer that copies an `ndarray` view whose elements leave gaps
    /// in memory cannot be allocated.
    ViewCopyAllocation {
        /// Elements in the view.
        elements: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::ShapeTooShort { dims } => write!(
                f,
                "a shape needs at least two dimensions (height and width), \
                 got {dims}"
            ),
            Error::ShapeOverflow => f.write_str(
                "the number of elements in the shape, or the span of a \
                 strided layout, does not fit in usize",
            ),
            Error::LengthMismatch { expected, actual } => write!(
                f,
                "the shape holds {expected} elements but the slice has \
                 {actual}"
            ),
            Error::OutputLength { expected, actual } if actual < expected => {
                write!(
                    f,
                    "the output slice has room for {actual} planes but \
                     {expected} are needed"
                )
            }
            Error::OutputLength { expected, actual } => write!(
                f,
                "the output slice has room for {actual} planes but the \
                 shape has only {expected}"
            ),
            Error::OutputAllocation { values } => {
                write!(f, "cannot allocate an output of {values} values")
            }
            Error::UpstreamLength { expected, actual } => write!(
                f,
                "the upstream gradient has {actual} values but the shape \
                 has {expected} planes"
            ),
            Error::GradientLength { expected, actual } => write!(
                f,
                "the gradient slice has {actual} elements but the shape \
                 holds {expected}"
            ),
            Error::ByteLength { bytes, element_size } => write!(
                f,
                "the byte buffer has {bytes} bytes, not a multiple of the \
                 {element_size}-byte element size"
            ),
            Error::Misaligned { align } => write!(
                f,
                "the byte buffer does not start on a {align}-byte boundary"
            ),
            Error::PlaneTooLarge { elements, limit } => write!(
                f,
                "a plane of {elements} elements could overflow an exact u64 \
                 total; this element type allows at most {limit}"
            ),
            Error::BackendUnavailable { backend } => write!(
                f,
                "the {backend:?} backend cannot run on this CPU or \
                 architecture"
            ),
            Error::InvalidEpsilon { norm, element } => {
                let epsilon = match norm {
                    Norm::Smooth { epsilon } => epsilon,
                    _ => f64::NAN,
                };
                write!(
                    f,
                    "the epsilon of the smooth norm must be finite and \
                     positive, and so must its square in {element}; got \
                     {epsilon:e}"
                )
            }
            Error::NormNotForIntegers { norm } => write!(
                f,
                "the {norm:?} norm takes only f32 and f64 images; integer \
                 images have only the anisotropic norm"
            ),
            Error::VolumeShapeTooShort { dims } => write!(
                f,
                "a volume shape needs at least three dimensions (depth, \
                 height and width), got {dims}"
            ),
            Error::InvalidAxisWeights => f.write_str(
                "axis weights must be finite, at least 0 and at most \
                 f32::MAX",
            ),
            Error::StridesLength { dims, strides } => write!(
                f,
                "the shape has {dims} dimensions but {strides} strides \
                 were given"
            ),
            Error::TooManyDims { dims, max } => write!(
                f,
                "a strided layout has at most {max} dimensions, got {dims}"
            ),
            Error::PitchTooSmall { pitch, width } => write!(
                f,
                "rows of {width} elements cannot start every {pitch} \
                 elements"
            ),
            Error::RegionOutOfBounds {
                top,
                left,
                height,
                width,
                plane_height,
                plane_width,
            } => write!(
                f,
                "a region of {height}×{width} at row {top}, column {left} \
                 does not fit in planes of {plane_height}×{plane_width}"
            ),
            Error::StrideOutOfBounds { axis: Some(axis), last, len } => {
                write!(
                    f,
                    "the stride of dimension {axis} takes the layout past \
                     the end of the slice: its last element is at index \
                     {last}, the slice has {len}"
                )
            }
            Error::StrideOutOfBounds { axis: None, last, len } => write!(
                f,
                "the layout's offset is past the end of the slice: its last \
                 element is at index {last}, the slice has {len}"
            ),
            Error::StrideBeforeStart { axis: Some(axis), before } => write!(
                f,
                "the stride of dimension {axis} takes the layout before the \
                 start of the slice: its first element would be at index \
                 -{before}"
            ),
            Error::StrideBeforeStart { axis: None, before } => write!(
                f,
                "the layout's offset is before the start of the slice: its \
                 first element would be at index -{before}"
            ),
            Error::GatherNeedsAlloc { column_stride } => write!(
                f,
                "rows with a column stride of {column_stride} are gathered \
                 into a buffer, which needs the alloc feature"
            ),
            Error::GatherAllocation { elements } => write!(
                f,
                "cannot allocate a buffer of {elements} elements to gather a \
                 plane"
            ),
            Error::ViewCopyAllocation { elements } => write!(
                f,
                "cannot allocate a buffer of {elements} elements to copy an \
                 array view whose elements are not contiguous in memory"
            ),
        }
    }
}

impl core::error::Error for Error {}
