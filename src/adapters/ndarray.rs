//! The elements of an `ndarray` array or view, of any strides.

use alloc::borrow::Cow;
use alloc::vec::Vec;

use ::ndarray::{ArrayRef, ArrayView, Axis, Dimension};

use crate::{Element, Error, Layout};

/// The elements of `array`, an array or a view of shape `(*, H, W)` and
/// any strides, and the [`Layout`] that places them: one result per
/// plane, in row-major order of the leading axes, as for a standard-order
/// copy of the array.
///
/// The elements are read in place, borrowed, whenever they fill the
/// memory between the first and the last of them: standard and Fortran
/// order, axes permuted ([`permuted_axes`], [`t`]) or reversed
/// ([`invert_axis`], a slice step of −1), a range of the outermost axis,
/// and broadcast axes (stride 0) over such an array. Other views, whose
/// elements leave gaps in memory (a slice step other than ±1, a range of
/// an inner axis), are copied into a planar buffer, owned: the memory in
/// the gaps is not the view's to lend out (it may belong to another
/// mutable view, or be uninitialised), so it cannot be part of a slice.
/// The results are the same bits either way. To read a rectangle of a
/// larger image in place, pass the whole image and cut the rectangle with
/// [`Layout::region`].
///
/// The slice borrows from `array`, so a view made for the call must be
/// bound to a variable first (`let view = img.t();`, then
/// `ndarray_layout(&view)`), not passed as a temporary.
///
/// [`permuted_axes`]: ndarray::ArrayBase::permuted_axes
/// [`t`]: ndarray::ArrayRef::t
/// [`invert_axis`]: ndarray::LayoutRef::invert_axis
///
/// # Errors
///
/// [`Error::ShapeTooShort`] for fewer than two axes,
/// [`Error::TooManyDims`] beyond [`Layout::MAX_STRIDED_DIMS`] axes (for
/// every array, copied or not), and [`Error::ViewCopyAllocation`] when
/// the copy cannot be allocated.
///
/// ```
/// use std::borrow::Cow;
///
/// use ndarray::{array, s};
/// use total_variation::{TotalVariation, ndarray_layout};
///
/// // Two planes of 2×3: shape (2, 2, 3).
/// let img = array![
///     [[0.0f32, 1.0, 3.0], [0.0, 1.0, 3.0]],
///     [[5.0, 5.0, 5.0], [5.0, 5.0, 5.0]],
/// ];
/// let tv = TotalVariation::new();
/// let (elements, layout) = ndarray_layout(&img)?;
/// assert!(matches!(elements, Cow::Borrowed(_)));
/// assert_eq!(tv.value(&elements, &layout)?, [6.0, 0.0]);
///
/// // Each plane transposed and its rows reversed: still in place.
/// let view = img.view().permuted_axes([0, 2, 1]);
/// let view = view.slice(s![.., .., ..;-1]);
/// let (elements, layout) = ndarray_layout(&view)?;
/// assert!(matches!(elements, Cow::Borrowed(_)));
/// assert_eq!(tv.value(&elements, &layout)?, [6.0, 0.0]);
///
/// // Every other column: copied. Columns 0 and 2 differ by 3 in plane 0.
/// let view = img.slice(s![.., .., ..;2]);
/// let (elements, layout) = ndarray_layout(&view)?;
/// assert!(matches!(elements, Cow::Owned(_)));
/// assert_eq!(tv.value(&elements, &layout)?, [6.0, 0.0]);
/// # Ok::<(), total_variation::Error>(())
/// ```
pub fn ndarray_layout<T: Element, D: Dimension>(
    array: &ArrayRef<T, D>,
) -> Result<(Cow<'_, [T]>, Layout), Error> {
    let shape = array.shape();
    if shape.len() > Layout::MAX_STRIDED_DIMS {
        return Err(Error::TooManyDims {
            dims: shape.len(),
            max: Layout::MAX_STRIDED_DIMS,
        });
    }
    let planar = Layout::new(shape)?;
    if array.is_empty() {
        return Ok((Cow::Borrowed(&[]), planar));
    }

    if let Some(memory) = memory_span(array.view()) {
        let strides = array.strides();
        let layout = Layout::strided(shape, strides, first_offset(array)?)?;
        return Ok((Cow::Borrowed(memory), layout));
    }

    // TODO(perf): a view with gaps is copied whole; one plane at a time,
    // inside the kernels, would need no buffer of the whole view.
    let elements = array.len();
    let mut copy = Vec::new();
    copy.try_reserve_exact(elements)
        .map_err(|_| Error::ViewCopyAllocation { elements })?;
    copy.extend(array.iter().copied());
    Ok((Cow::Owned(copy), planar))
}

/// The memory of a non-empty view, from its lowest to its highest
/// element, when its elements fill it: each broadcast axis (stride 0)
/// reads the same memory at every index, so the view at index 0 of each
/// spans the same memory, and ndarray lends that out when it is
/// contiguous in some order of the axes.
fn memory_span<T, D: Dimension>(view: ArrayView<'_, T, D>) -> Option<&[T]> {
    let mut view = view.into_dyn();
    for axis in (0..view.ndim()).rev() {
        if view.strides()[axis] == 0 {
            view = view.index_axis_move(Axis(axis), 0);
        }
    }
    view.to_slice_memory_order()
}

/// Where the first element of a non-empty array lies in its memory span:
/// each reversed axis (negative stride) puts its index 0 at the top of
/// the span, `(len − 1)·|stride|` elements above the lowest address.
fn first_offset<T, D: Dimension>(
    array: &ArrayRef<T, D>,
) -> Result<usize, Error> {
    array.shape().iter().zip(array.strides()).try_fold(
        0usize,
        |offset, (&len, &stride)| {
            if stride >= 0 || len == 0 {
                return Ok(offset);
            }
            (len - 1)
                .checked_mul(stride.unsigned_abs())
                .and_then(|above| offset.checked_add(above))
                .ok_or(Error::ShapeOverflow)
        },
    )
}
