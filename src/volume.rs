//! Volumes: the shape `(*, D, H, W)` and the weights of its three axes.

use core::hash::{Hash, Hasher};

use crate::{Error, Layout};

/// The shape of a batch of volumes `(*, D, H, W)`: any number of leading
/// dimensions, then depth, height and width, row-major and contiguous.
///
/// The anisotropic TV of a volume adds, to the TV of each of its `D`
/// slices, the absolute differences between neighbouring slices along
/// the depth; the per-pixel norms take one term per voxel, of its three
/// forward differences (see
/// [`volume_value_into`](crate::TotalVariation::volume_value_into)).
///
/// ```
/// use total_variation::VolumeLayout;
///
/// let layout = VolumeLayout::new(&[2, 4, 8, 16])?;
/// assert_eq!(layout.volumes(), 2);
/// assert_eq!((layout.depth(), layout.height(), layout.width()), (4, 8, 16));
/// assert_eq!(layout.volume_len(), 4 * 8 * 16);
/// assert_eq!(layout.len(), 2 * 4 * 8 * 16);
/// // Its slices, as a batch of planes.
/// assert_eq!(layout.slices().planes(), 8);
/// # Ok::<(), total_variation::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VolumeLayout {
    volumes: usize,
    depth: usize,
    slices: Layout,
}

impl VolumeLayout {
    /// The layout of `shape`, whose last three dimensions are depth,
    /// height and width.
    ///
    /// # Errors
    ///
    /// [`Error::VolumeShapeTooShort`] for fewer than three dimensions and
    /// [`Error::ShapeOverflow`] when a count of volumes, slices or
    /// elements does not fit in `usize`.
    ///
    /// ```
    /// use total_variation::{Error, VolumeLayout};
    ///
    /// assert_eq!(
    ///     VolumeLayout::new(&[8, 8]),
    ///     Err(Error::VolumeShapeTooShort { dims: 2 })
    /// );
    /// ```
    pub fn new(shape: &[usize]) -> Result<Self, Error> {
        let Some(split) = shape.len().checked_sub(3) else {
            return Err(Error::VolumeShapeTooShort { dims: shape.len() });
        };
        let (leading, dims) = shape.split_at(split);
        let volumes = leading
            .iter()
            .try_fold(1usize, |acc, &dim| acc.checked_mul(dim))
            .ok_or(Error::ShapeOverflow)?;
        Self::from_dims(volumes, dims[0], dims[1], dims[2])
    }

    /// The layout of `volumes` volumes of `depth × height × width`.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeOverflow`] when a count does not fit in `usize`:
    /// the volumes' slices, the elements of all of them, or those of one
    /// volume (even when there are no volumes).
    ///
    /// ```
    /// use total_variation::VolumeLayout;
    ///
    /// let layout = VolumeLayout::from_dims(1, 3, 4, 5)?;
    /// assert_eq!(layout, VolumeLayout::new(&[3, 4, 5])?);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn from_dims(
        volumes: usize,
        depth: usize,
        height: usize,
        width: usize,
    ) -> Result<Self, Error> {
        let slices = volumes.checked_mul(depth).ok_or(Error::ShapeOverflow)?;
        let slices = Layout::planar(slices, height, width)?;
        // The length of one volume must fit even when there is none.
        depth.checked_mul(slices.plane_len()).ok_or(Error::ShapeOverflow)?;
        Ok(VolumeLayout { volumes, depth, slices })
    }

    /// The number of volumes: the product of the leading dimensions.
    pub const fn volumes(&self) -> usize {
        self.volumes
    }

    /// `D`, the number of slices of a volume.
    pub const fn depth(&self) -> usize {
        self.depth
    }

    /// `H`, the number of rows of a slice.
    pub const fn height(&self) -> usize {
        self.slices.height()
    }

    /// `W`, the number of columns of a slice.
    pub const fn width(&self) -> usize {
        self.slices.width()
    }

    /// The slices of all volumes as one batch of `volumes · D` planes.
    pub const fn slices(&self) -> Layout {
        self.slices
    }

    /// The number of elements of one volume, `D · H · W`.
    pub const fn volume_len(&self) -> usize {
        // Cannot overflow: `from_dims` checked it.
        self.depth * self.slices.plane_len()
    }

    /// The number of elements of the whole batch.
    pub const fn len(&self) -> usize {
        self.slices.len()
    }

    /// Whether the batch has no element.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of differences along the depth in one volume.
    pub(crate) const fn depth_count(&self) -> usize {
        self.depth.saturating_sub(1) * self.slices.plane_len()
    }

    /// The number of vertical differences in one volume.
    pub(crate) const fn vertical_count(&self) -> usize {
        self.depth * self.slices.vertical_count()
    }

    /// The number of horizontal differences in one volume.
    pub(crate) const fn horizontal_count(&self) -> usize {
        self.depth * self.slices.horizontal_count()
    }
}

/// The weights of the depth, height and width terms of the TV of a
/// volume, for voxels that are not cubes (anisotropic spacing): the
/// anisotropic TV is `w_d·Σ|Δ_d| + w_h·Σ|Δ_h| + w_w·Σ|Δ_w|`, and the
/// per-voxel norms take the weighted differences `w_d·Δ_d`, `w_h·Δ_h`
/// and `w_w·Δ_w`. All are 1 by default.
///
/// A weight is finite, at least 0 and at most `f32::MAX`, so that it is
/// the same number in `f32` and `f64`. A weight of 0 leaves its axis out:
/// its term contributes `+0.0` to the value and its factor in the
/// gradient is `+0.0`; with a per-voxel norm its differences are missing,
/// as past the last slice, row or column.
///
/// ```
/// use total_variation::AxisWeights;
///
/// // Slices 2.5 times as far apart as the pixels of a slice.
/// let weights = AxisWeights::new(1.0 / 2.5, 1.0, 1.0)?;
/// assert_eq!(weights.depth(), 0.4);
/// assert_eq!(AxisWeights::default(), AxisWeights::new(1.0, 1.0, 1.0)?);
/// assert!(AxisWeights::new(f64::NAN, 1.0, 1.0).is_err());
/// # Ok::<(), total_variation::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AxisWeights {
    depth: f64,
    height: f64,
    width: f64,
}

impl AxisWeights {
    /// Weights of 1 on every axis.
    pub const UNIT: AxisWeights =
        AxisWeights { depth: 1.0, height: 1.0, width: 1.0 };

    /// The weights of the depth, height and width terms.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidAxisWeights`] when a weight is negative, NaN,
    /// infinite or larger than `f32::MAX`.
    pub fn new(depth: f64, height: f64, width: f64) -> Result<Self, Error> {
        let valid = |weight: f64| (0.0..=f64::from(f32::MAX)).contains(&weight);
        if valid(depth) && valid(height) && valid(width) {
            Ok(AxisWeights { depth, height, width })
        } else {
            Err(Error::InvalidAxisWeights)
        }
    }

    /// The weight of the differences along the depth.
    pub const fn depth(&self) -> f64 {
        self.depth
    }

    /// The weight of the vertical differences.
    pub const fn height(&self) -> f64 {
        self.height
    }

    /// The weight of the horizontal differences.
    pub const fn width(&self) -> f64 {
        self.width
    }

    fn bits(&self) -> [u64; 3] {
        [self.depth.to_bits(), self.height.to_bits(), self.width.to_bits()]
    }
}

impl Default for AxisWeights {
    fn default() -> Self {
        AxisWeights::UNIT
    }
}

/// Weights are equal when their bits are (no weight is NaN).
impl PartialEq for AxisWeights {
    fn eq(&self, other: &Self) -> bool {
        self.bits() == other.bits()
    }
}

impl Eq for AxisWeights {}

impl Hash for AxisWeights {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bits().hash(state);
    }
}
