//! The shape descriptor: how a flat slice is cut into planes.

use crate::Error;

/// A validated shape `(*, H, W)`: a number of planes of `H` rows of `W`
/// elements, stored row-major and one plane after the other.
///
/// The leading dimensions, zero or more, are folded into one plane count:
/// the results come out one per plane, in row-major order of the leading
/// dimensions, exactly as a `(*,)` tensor would hold them. Building a
/// `Layout` checks once that every count fits in `usize`; the calls that
/// take a slice then check that its length matches [`Layout::len`].
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
}

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
        Ok(Layout { planes, height, width })
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

    /// Elements in all planes: the length the image slice must have.
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

    /// Checks that a slice of `actual` elements matches the shape.
    pub(crate) fn check_len(&self, actual: usize) -> Result<(), Error> {
        if actual == self.len() {
            Ok(())
        } else {
            Err(Error::LengthMismatch { expected: self.len(), actual })
        }
    }
}
