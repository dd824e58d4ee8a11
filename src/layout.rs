//! The shape descriptor: how a flat slice is cut into planes and rows.

use crate::Error;

/// A validated shape `(*, H, W)`, and where its elements lie in a slice.
///
/// A contiguous layout ([`Layout::new`], [`Layout::planar`]) holds planes
/// of `H` rows of `W` elements, stored row-major and one plane after the
/// other. A strided layout ([`Layout::strided`] and the constructors built
/// on it: [`Layout::padded`], [`Layout::interleaved`], [`Layout::region`])
/// places each element at its own offset in a larger slice, as camera
/// frames and tensor views do.
///
/// The leading dimensions, zero or more, are counted as planes: the
/// results come out one per plane, in row-major order of the leading
/// dimensions, exactly as a `(*,)` tensor would hold them. Building a
/// `Layout` checks once that every count fits in `usize`; the calls that
/// take a slice then check the slice against it: a contiguous layout
/// needs exactly [`Layout::len`] elements, a strided one needs every
/// element it places to lie inside the slice.
///
/// ```
/// use total_variation::Layout;
///
/// let layout = Layout::new(&[2, 3, 4, 5])?;
/// assert_eq!(layout.planes(), 6);
/// assert_eq!((layout.height(), layout.width()), (4, 5));
/// assert_eq!(layout.len(), 120);
/// # Ok::<(), total_variation::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    planes: usize,
    height: usize,
    width: usize,
    /// Where the elements lie, for a strided layout.
    strides: Option<Strides>,
}

/// The placement of a strided layout's elements: the element at leading
/// indices `l₀, l₁, …`, row `i` and column `j` is at
/// `offset + Σ lₖ·leading[k] + i·row + j·column`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Strides {
    /// Where the element at index zero lies; may be negative in a layout
    /// that no slice can hold, which the calls then reject.
    offset: isize,
    /// The leading dimensions and their strides; only the first
    /// `leading_dims` entries are used, the others are zero.
    leading: [(usize, isize); MAX_LEADING_DIMS],
    leading_dims: usize,
    row: isize,
    column: isize,
}

/// The most leading dimensions a strided layout may have.
const MAX_LEADING_DIMS: usize = Layout::MAX_STRIDED_DIMS - 2;

impl Layout {
    /// Reads a shape `(*, H, W)`, as a tensor library would give it.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeTooShort`] for fewer than two dimensions, and
    /// [`Error::ShapeOverflow`] when the product of the leading dimensions,
    /// `H·W` or the total element count does not fit in `usize`.
    ///
    /// ```
    /// use total_variation::{Error, Layout};
    ///
    /// assert_eq!(Layout::new(&[7]), Err(Error::ShapeTooShort { dims: 1 }));
    /// assert_eq!(Layout::new(&[4, 5])?.planes(), 1);
    /// assert_eq!(Layout::new(&[0, 3, 4, 5])?.planes(), 0);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn new(shape: &[usize]) -> Result<Self, Error> {
        let Some((&width, rest)) = shape.split_last() else {
            return Err(Error::ShapeTooShort { dims: 0 });
        };
        let Some((&height, leading)) = rest.split_last() else {
            return Err(Error::ShapeTooShort { dims: 1 });
        };
        let planes = leading
            .iter()
            .try_fold(1usize, |acc, &dim| acc.checked_mul(dim))
            .ok_or(Error::ShapeOverflow)?;
        Self::planar(planes, height, width)
    }

    /// Describes `planes` planes of `height` rows of `width` elements.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeOverflow`] when `height·width` or the total element
    /// count does not fit in `usize`.
    ///
    /// ```
    /// use total_variation::{Error, Layout};
    ///
    /// assert_eq!(Layout::planar(3, 2, 2)?.len(), 12);
    /// assert_eq!(Layout::planar(2, usize::MAX, 2), Err(Error::ShapeOverflow));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn planar(
        planes: usize,
        height: usize,
        width: usize,
    ) -> Result<Self, Error> {
        height
            .checked_mul(width)
            .and_then(|plane_len| plane_len.checked_mul(planes))
            .ok_or(Error::ShapeOverflow)?;
        Ok(Layout { planes, height, width, strides: None })
    }

    /// The number of planes: the product of the leading dimensions.
    ///
    /// ```
    /// # use total_variation::Layout;
    /// assert_eq!(Layout::new(&[2, 3, 8, 8])?.planes(), 6);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub const fn planes(&self) -> usize {
        self.planes
    }

    /// Rows in each plane (`H`).
    ///
    /// ```
    /// # use total_variation::Layout;
    /// assert_eq!(Layout::new(&[4, 5])?.height(), 4);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub const fn height(&self) -> usize {
        self.height
    }

    /// Elements in each row (`W`).
    ///
    /// ```
    /// # use total_variation::Layout;
    /// assert_eq!(Layout::new(&[4, 5])?.width(), 5);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub const fn width(&self) -> usize {
        self.width
    }

    /// Elements in one plane, `H·W`.
    ///
    /// ```
    /// # use total_variation::Layout;
    /// assert_eq!(Layout::new(&[2, 4, 5])?.plane_len(), 20);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub const fn plane_len(&self) -> usize {
        // Cannot overflow: `planar` checked the product.
        self.height * self.width
    }

    /// Elements in all planes, `planes·H·W`: the length of a gradient,
    /// and of the image slice of a contiguous layout (a strided layout's
    /// slice only has to hold every element the layout places).
    ///
    /// ```
    /// # use total_variation::Layout;
    /// assert_eq!(Layout::new(&[2, 4, 5])?.len(), 40);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub const fn len(&self) -> usize {
        // Cannot overflow: `planar` checked this product, in this order.
        self.planes * self.plane_len()
    }

    /// Whether the shape holds no element at all.
    ///
    /// ```
    /// # use total_variation::Layout;
    /// assert!(Layout::new(&[3, 0, 5])?.is_empty());
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of vertical differences in a plane, `(H−1)·W`.
    pub(crate) const fn vertical_count(&self) -> usize {
        self.height.saturating_sub(1) * self.width
    }

    /// The number of horizontal differences in a plane, `H·(W−1)`.
    pub(crate) const fn horizontal_count(&self) -> usize {
        self.height * self.width.saturating_sub(1)
    }

    /// Checks that a slice of `actual` elements holds the image: exactly
    /// [`Layout::len`] elements for a contiguous layout, every element
    /// the layout places for a strided one.
    pub(crate) fn check_len(&self, actual: usize) -> Result<(), Error> {
        let Some(strides) = self.strides else {
            return if actual == self.len() {
                Ok(())
            } else {
                Err(Error::LengthMismatch { expected: self.len(), actual })
            };
        };
        if self.is_empty() {
            return Ok(());
        }
        let offset = strides.offset as i128;
        let (low, high) = self.span();
        // The first axis that, added to the inner ones, leaves the slice is
        // the one to blame; the offset itself when it already lies outside.
        if low < 0 {
            let mut reached = offset;
            let axis = (offset >= 0).then_some(()).and_then(|()| {
                self.extents().find_map(|(axis, extent)| {
                    reached += extent.min(0);
                    (reached < 0).then_some(axis)
                })
            });
            return Err(Error::StrideBeforeStart {
                axis,
                before: (-low) as usize,
            });
        }
        let len = actual as i128;
        if high >= len {
            let mut reached = offset;
            let axis = (offset < len).then_some(()).and_then(|()| {
                self.extents().find_map(|(axis, extent)| {
                    reached += extent.max(0);
                    (reached >= len).then_some(axis)
                })
            });
            return Err(Error::StrideOutOfBounds {
                axis,
                last: high as usize,
                len: actual,
            });
        }
        Ok(())
    }
}

/// Strided layouts: rows with a pitch, interleaved channels, regions and
/// views with any strides.
impl Layout {
    /// The most dimensions, leading ones included, of a strided layout.
    pub const MAX_STRIDED_DIMS: usize = 8;

    /// Describes a shape `(*, H, W)` whose element at index
    /// `(l₀, …, i, j)` lies in the slice at
    ///
    /// ```text
    /// offset + l₀·strides[0] + … + i·strides[n−2] + j·strides[n−1]
    /// ```
    ///
    /// as a tensor view or an `ndarray` describes it. Strides count
    /// elements, not bytes.
    ///
    /// Any strides are accepted, negative, zero and overlapping ones
    /// included: the image is only read, and every result stays defined
    /// (an overlapping layout reads some elements more than once, as the
    /// same view of a tensor would). Gradients are written to a separate
    /// contiguous slice of [`Layout::len`] elements, planes one after the
    /// other, so strides never make two writes collide. Each call checks
    /// that every element the layout places lies inside the slice, and
    /// says which stride reaches out of it otherwise
    /// ([`Error::StrideOutOfBounds`], [`Error::StrideBeforeStart`]).
    ///
    /// Rows whose column stride is 1 are read in place, at the speed of a
    /// contiguous image, and give its bits. Other column strides
    /// (interleaved channels, a transposed view) are gathered into a
    /// contiguous plane first, which needs the `alloc` feature, and give
    /// the bits of that plane.
    ///
    /// # Errors
    ///
    /// [`Error::StridesLength`] when `strides` and `shape` differ in
    /// length, [`Error::ShapeTooShort`] for fewer than two dimensions,
    /// [`Error::TooManyDims`] beyond [`Layout::MAX_STRIDED_DIMS`]
    /// dimensions, and [`Error::ShapeOverflow`] when a count, or the
    /// distance between the first and the last element, does not fit.
    ///
    /// ```
    /// use total_variation::{Layout, TotalVariation};
    ///
    /// // The transpose of a 2×3 image stored row-major: a 3×2 view.
    /// let img = [0.0f32, 1.0, 3.0, 0.0, 1.0, 3.0];
    /// let view = Layout::strided(&[3, 2], &[1, 3], 0)?;
    /// // Rows 0 0, 1 1 and 3 3: only vertical differences, two of each.
    /// let tv = TotalVariation::new().value(&img, &view)?;
    /// assert_eq!(tv, [2.0 * (1.0 + 2.0)]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn strided(
        shape: &[usize],
        strides: &[isize],
        offset: usize,
    ) -> Result<Self, Error> {
        if shape.len() != strides.len() {
            return Err(Error::StridesLength {
                dims: shape.len(),
                strides: strides.len(),
            });
        }
        if shape.len() > Self::MAX_STRIDED_DIMS {
            return Err(Error::TooManyDims {
                dims: shape.len(),
                max: Self::MAX_STRIDED_DIMS,
            });
        }
        let planar = Self::new(shape)?;
        let leading_dims = shape.len() - 2;
        let mut leading = [(0, 0); MAX_LEADING_DIMS];
        let leading_axes = shape[..leading_dims].iter().zip(strides);
        for (slot, (&dim, &stride)) in leading.iter_mut().zip(leading_axes) {
            *slot = (dim, stride);
        }
        planar.with_strides(Strides {
            offset: isize::try_from(offset)
                .map_err(|_| Error::ShapeOverflow)?,
            leading,
            leading_dims,
            row: strides[leading_dims],
            column: strides[leading_dims + 1],
        })
    }

    /// Describes `planes` planes of `height` rows of `width` elements,
    /// each row `pitch` elements after the previous one and each plane
    /// `height·pitch` elements after the previous one: rows padded to an
    /// alignment, as camera drivers and image libraries store them. The
    /// last row of the last plane needs only `width` elements.
    ///
    /// # Errors
    ///
    /// [`Error::PitchTooSmall`] when `pitch < width`, and
    /// [`Error::ShapeOverflow`] when a count or the span does not fit.
    ///
    /// ```
    /// use total_variation::{Layout, TotalVariation};
    ///
    /// // Two rows of three pixels, each row padded to four elements.
    /// let img = [0.0f32, 1.0, 3.0, 99.0, 0.0, 1.0, 3.0];
    /// let layout = Layout::padded(1, 2, 3, 4)?;
    /// assert_eq!(TotalVariation::new().value(&img, &layout)?, [6.0]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn padded(
        planes: usize,
        height: usize,
        width: usize,
        pitch: usize,
    ) -> Result<Self, Error> {
        if pitch < width {
            return Err(Error::PitchTooSmall { pitch, width });
        }
        let plane_stride =
            height.checked_mul(pitch).ok_or(Error::ShapeOverflow)?;
        Self::strided(
            &[planes, height, width],
            &[stride(plane_stride)?, stride(pitch)?, 1],
            0,
        )
    }

    /// Describes an interleaved image of `height` rows of `width` pixels
    /// of `channels` values each (`H×W×C`, as RGB and RGBA frames are
    /// stored): one plane per channel, so the results come out one per
    /// channel, and a gradient comes out planar, `C×H×W`. Height comes
    /// first, as in every shape of this crate (image libraries often give
    /// width first).
    ///
    /// Rows padded to a pitch of `P ≥ width` pixels are the region of
    /// the first `width` pixels of an image `P` pixels wide:
    /// `Layout::interleaved(height, P, channels)?.region(0, 0, height,
    /// width)?`; the last row then needs only its `width` pixels.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeOverflow`] when a count or the span does not fit.
    ///
    /// ```
    /// use total_variation::{Layout, TotalVariation};
    ///
    /// // One row of two RGB pixels.
    /// let img = [0u8, 10, 200, 5, 10, 100];
    /// let layout = Layout::interleaved(1, 2, 3)?;
    /// let tv = TotalVariation::new().value(&img, &layout)?;
    /// assert_eq!(tv, [5.0, 0.0, 100.0]);
    ///
    /// // The same pixels in rows padded to 3 pixels (the padding is 99).
    /// let padded = [
    ///     0u8, 10, 200, 5, 10, 100, 99, 99, 99, //
    ///     0, 10, 200, 5, 10, 100,
    /// ];
    /// let layout = Layout::interleaved(2, 3, 3)?.region(0, 0, 2, 2)?;
    /// let tv = TotalVariation::new().value(&padded, &layout)?;
    /// assert_eq!(tv, [10.0, 0.0, 200.0]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn interleaved(
        height: usize,
        width: usize,
        channels: usize,
    ) -> Result<Self, Error> {
        let row = width.checked_mul(channels).ok_or(Error::ShapeOverflow)?;
        Self::strided(
            &[channels, height, width],
            &[1, stride(row)?, stride(channels)?],
            0,
        )
    }

    /// The rectangle of `height` rows and `width` columns whose first
    /// element is in row `top` and column `left` of each plane: a region
    /// of interest, read in place.
    ///
    /// # Errors
    ///
    /// [`Error::RegionOutOfBounds`] when the rectangle does not lie
    /// inside the planes, and [`Error::ShapeOverflow`] when its offset
    /// does not fit in `isize`.
    ///
    /// ```
    /// use total_variation::{Layout, TotalVariation};
    ///
    /// let img = [
    ///     9.0f32, 9.0, 9.0, 9.0, //
    ///     9.0, 0.0, 1.0, 9.0, //
    ///     9.0, 0.0, 3.0, 9.0,
    /// ];
    /// let centre = Layout::new(&[3, 4])?.region(1, 1, 2, 2)?;
    /// let tv = TotalVariation::new().value(&img, &centre)?;
    /// assert_eq!(tv, [1.0 + 3.0 + 2.0]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn region(
        &self,
        top: usize,
        left: usize,
        height: usize,
        width: usize,
    ) -> Result<Self, Error> {
        let fits = |start: usize, len: usize, within: usize| {
            start.checked_add(len).is_some_and(|end| end <= within)
        };
        if !fits(top, height, self.height) || !fits(left, width, self.width) {
            return Err(Error::RegionOutOfBounds {
                top,
                left,
                height,
                width,
                plane_height: self.height,
                plane_width: self.width,
            });
        }
        let strides = self.strides_or_contiguous()?;
        let shift = |index: usize, stride: isize| {
            isize::try_from(index).ok()?.checked_mul(stride)
        };
        let offset = shift(top, strides.row)
            .zip(shift(left, strides.column))
            .and_then(|(down, across)| down.checked_add(across))
            .and_then(|shift| shift.checked_add(strides.offset))
            .ok_or(Error::ShapeOverflow)?;
        Layout::planar(self.planes, height, width)?
            .with_strides(Strides { offset, ..strides })
    }

    /// Whether the elements lie one after the other, row-major, from the
    /// start of the slice: the layouts of [`Layout::new`] and
    /// [`Layout::planar`].
    ///
    /// ```
    /// # use total_variation::Layout;
    /// assert!(Layout::new(&[3, 4, 5])?.is_contiguous());
    /// assert!(!Layout::padded(3, 4, 5, 8)?.is_contiguous());
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub const fn is_contiguous(&self) -> bool {
        self.strides.is_none()
    }

    /// Elements from the start of one row to the start of the next
    /// (`isize::MAX` for a contiguous shape with no element whose width
    /// does not fit in `isize`).
    ///
    /// ```
    /// # use total_variation::Layout;
    /// assert_eq!(Layout::new(&[4, 5])?.row_stride(), 5);
    /// assert_eq!(Layout::padded(1, 4, 5, 8)?.row_stride(), 8);
    /// assert_eq!(Layout::interleaved(4, 5, 3)?.row_stride(), 15);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub const fn row_stride(&self) -> isize {
        match self.strides {
            Some(strides) => strides.row,
            // Only a shape with no element can be wider than `isize::MAX`
            // (no slice is that long); its rows are never read.
            None if self.width > isize::MAX as usize => isize::MAX,
            None => self.width as isize,
        }
    }

    /// Elements from one pixel to its right-hand neighbour.
    ///
    /// ```
    /// # use total_variation::Layout;
    /// assert_eq!(Layout::new(&[4, 5])?.column_stride(), 1);
    /// assert_eq!(Layout::interleaved(4, 5, 3)?.column_stride(), 3);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub const fn column_stride(&self) -> isize {
        match self.strides {
            Some(strides) => strides.column,
            None => 1,
        }
    }

    /// Whether the float kernels must gather the planes into a buffer:
    /// the elements of a row are not consecutive in the slice. Otherwise
    /// the kernels read the rows in place.
    pub(crate) const fn needs_gather(&self) -> bool {
        self.column_stride() != 1 && self.width > 1
    }

    /// Whether the integer kernels must gather the planes into a buffer:
    /// rows that are not contiguous, unless they hold interleaved pixels,
    /// which the integer kernels sum in place.
    pub(crate) fn integers_need_gather(&self) -> bool {
        self.needs_gather() && self.interleaved_channels().is_none()
    }

    /// The channel count `C` when the planes are the channels of
    /// interleaved pixels: the innermost leading dimension has `C` planes
    /// one element apart, and pixels are `C` elements apart, so a row of
    /// all channels is one run of `W·C` elements. Only for `W ≥ 2` and
    /// `2 ≤ C ≤ 16`.
    pub(crate) fn interleaved_channels(&self) -> Option<usize> {
        let strides = self.strides?;
        let last = strides.leading_dims.checked_sub(1)?;
        let (channels, stride) = strides.leading[last];
        let interleaved = stride == 1
            && strides.column == channels as isize
            && (2..=crate::kernels::MAX_INTERLEAVED_CHANNELS)
                .contains(&channels)
            && self.width >= 2;
        interleaved.then_some(channels)
    }

    /// Where the first element of plane `plane` lies, for
    /// `plane < self.planes()` and a layout checked against the slice.
    pub(crate) fn plane_start(&self, plane: usize) -> usize {
        let Some(strides) = self.strides else {
            return plane * self.plane_len();
        };
        let mut start = strides.offset;
        let mut rest = plane;
        for &(dim, stride) in
            strides.leading[..strides.leading_dims].iter().rev()
        {
            // `dim > 0`, or there would be no plane; the element lies in
            // the slice, so no partial sum overflows and the total is not
            // negative.
            start += (rest % dim) as isize * stride;
            rest /= dim;
        }
        start as usize
    }

    /// This shape with `strides`, once the distance between its first and
    /// last element is known to fit in `isize`, with the offset: every
    /// address the kernels compute, the offset plus some of the extents,
    /// then fits too.
    fn with_strides(self, strides: Strides) -> Result<Self, Error> {
        let layout = Layout { strides: Some(strides), ..self };
        let (low, high) = layout.span();
        if low < isize::MIN as i128 || high > isize::MAX as i128 {
            return Err(Error::ShapeOverflow);
        }
        Ok(layout)
    }

    /// The lowest and highest index a strided layout can place an element
    /// at (the offset alone when some dimension is 0).
    fn span(&self) -> (i128, i128) {
        let offset = self.strides.map_or(0, |s| s.offset) as i128;
        self.extents().fold((offset, offset), |(low, high), (_, extent)| {
            (low + extent.min(0), high + extent.max(0))
        })
    }

    /// The strides of this layout, those of a contiguous one included.
    fn strides_or_contiguous(&self) -> Result<Strides, Error> {
        if let Some(strides) = self.strides {
            return Ok(strides);
        }
        let mut leading = [(0, 0); MAX_LEADING_DIMS];
        leading[0] = (self.planes, stride(self.plane_len())?);
        Ok(Strides {
            offset: 0,
            leading,
            leading_dims: 1,
            row: stride(self.width)?,
            column: 1,
        })
    }

    /// For each axis of a strided layout, innermost first: its index in
    /// the shape and its extent `(dim − 1)·stride` (0 for an empty
    /// axis). Nothing for a contiguous layout.
    fn extents(&self) -> impl Iterator<Item = (usize, i128)> + '_ {
        let strides = self.strides.as_ref();
        let inner = strides.into_iter().flat_map(move |s| {
            [
                (s.leading_dims + 1, self.width, s.column),
                (s.leading_dims, self.height, s.row),
            ]
        });
        let leading = strides.into_iter().flat_map(|s| {
            let dims = s.leading[..s.leading_dims].iter().enumerate().rev();
            dims.map(|(axis, &(dim, stride))| (axis, dim, stride))
        });
        inner.chain(leading).map(|(axis, dim, stride)| {
            let extent = match dim.checked_sub(1) {
                Some(last) => last as i128 * stride as i128,
                None => 0,
            };
            (axis, extent)
        })
    }
}

/// A count as a stride.
fn stride(count: usize) -> Result<isize, Error> {
    isize::try_from(count).map_err(|_| Error::ShapeOverflow)
}

#[cfg(test)]
mod tests {
    use crate::{Error, Layout, TotalVariation};

    /// Rows whose pixels are not consecutive are gathered through a
    /// buffer: without an allocator, an error; rows whose pixels are
    /// consecutive are read in place either way.
    #[test]
    fn gathering_needs_an_allocator() {
        let img = [0.0f32, 9.0, 1.0, 9.0, 3.0];
        let every_other = Layout::strided(&[1, 3], &[5, 2], 0).unwrap();
        let mut out = [f32::NAN];
        let result =
            TotalVariation::new().value_into(&img, &every_other, &mut out);
        if cfg!(feature = "alloc") {
            assert_eq!(result, Ok(()));
            assert_eq!(out, [1.0 + 2.0]);
        } else {
            assert_eq!(
                result,
                Err(Error::GatherNeedsAlloc { column_stride: 2 })
            );
        }
        let in_place = Layout::padded(1, 1, 3, 5).unwrap();
        TotalVariation::new().value_into(&img, &in_place, &mut out).unwrap();
        assert_eq!(out, [9.0 + 8.0]);
    }
}
