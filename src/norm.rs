//! Which norm of the discrete gradient the total variation adds up.

use core::hash::{Hash, Hasher};

use crate::Error;
use crate::kernels::{Float, PixelNorm};

/// The norm of the discrete gradient that the total variation adds up.
///
/// [`Norm::Anisotropic`], the default, is kornia's: the absolute values of
/// all vertical and horizontal neighbour differences. The other norms work
/// per pixel: with the forward differences
///
/// ```text
/// dx[i, j] = x[i, j+1] − x[i, j]     (0 in the last column)
/// dy[i, j] = x[i+1, j] − x[i, j]     (0 in the last row)
/// ```
///
/// each of the `H·W` pixels contributes one term, a function of
/// `(dx, dy)`:
///
/// | norm | term of a pixel | gradient of the term at zero |
/// | --- | --- | --- |
/// | [`Norm::Isotropic`] | `√(dx² + dy²)` | none: the subgradient 0 is used |
/// | [`Norm::SquaredL2`] | `dx² + dy²` | 0 |
/// | [`Norm::Smooth`] | `√(dx² + dy² + ε²) − ε` | 0 |
///
/// [`Reduction::Sum`](crate::Reduction::Sum) adds the terms,
/// [`Reduction::Mean`](crate::Reduction::Mean) divides that sum by `H·W`,
/// the number of pixels. Only `f32` and `f64` images take a per-pixel
/// norm: integer images return [`Error::NormNotForIntegers`]. On volumes,
/// each voxel adds the depth difference `dz` to the sum of squares (see
/// [`volume_value_into`](crate::TotalVariation::volume_value_into)).
///
/// # Gradients
///
/// With `r = √(dx² + dy²)` (isotropic) or `r = √(dx² + dy² + ε²)`
/// (smooth), the term of pixel `(i, j)` passes `ux = (dx / r)·g` to
/// `x[i, j+1]` and `uy = (dy / r)·g` to `x[i+1, j]`, and `−(ux + uy)` to
/// `x[i, j]`, for an upstream factor `g` (divided by `H·W` for a mean);
/// the squared form passes `ux = (dx + dx)·g` and `uy = (dy + dy)·g`. A
/// difference past the last column or row is a constant 0 and passes
/// nothing. The gradient of an element is
///
/// ```text
/// (ux[i, j−1] + uy[i−1, j]) − (ux[i, j] + uy[i, j])
/// ```
///
/// added in that order by every backend, a missing neighbour's share
/// being `+0.0`. Where the isotropic `r` is 0 (a flat pixel, or
/// differences so small that their squares underflow to 0) the term has
/// no gradient: both shares are the subgradient `+0.0`, so no NaN comes
/// from a finite image there.
///
/// What can still overflow, with finite pixels and upstream values: a
/// difference larger than the type's `MAX` (neighbours of opposite signs
/// near `MAX`) is infinite, making the value `+inf` and the gradients
/// around it NaN; a difference whose square overflows (larger than about
/// `1.8e19` in `f32`, `1.3e154` in `f64`) makes the value `+inf` and,
/// for the isotropic and smooth forms, its pixel's shares 0 instead of
/// about `±g`; the squared form's shares `2·d·g` overflow for
/// `|d·g| > MAX / 2`; a sum of terms can overflow to `+inf` as in the
/// anisotropic form.
///
/// ```
/// use total_variation::{Layout, Norm, TotalVariation};
///
/// // 2×2: dx = 3 and dy = 4 at the top-left pixel, dy = 4 at the
/// // top-right one (no right neighbour), dx = 3 at the bottom-left one.
/// let img = [0.0f64, 3.0, 4.0, 7.0];
/// let layout = Layout::new(&[2, 2])?;
/// let tv = TotalVariation::new().with_norm(Norm::Isotropic);
/// assert_eq!(tv.value(&img, &layout)?, [5.0 + 4.0 + 3.0]);
/// let squared = tv.with_norm(Norm::SquaredL2);
/// assert_eq!(squared.value(&img, &layout)?, [25.0 + 16.0 + 9.0]);
/// # Ok::<(), total_variation::Error>(())
/// ```
///
/// Equality and hashing compare `epsilon` by its bits, so that a
/// [`TotalVariation`](crate::TotalVariation) holding a norm stays `Eq` and
/// `Hash`: `Smooth { epsilon: f64::NAN }` equals itself, and `0.0` and
/// `-0.0` differ (both are invalid anyway).
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub enum Norm {
    /// `Σ |dy| + Σ |dx|` over the `(H−1)·W` vertical and `H·(W−1)`
    /// horizontal neighbour pairs: kornia's total variation, and the
    /// default.
    #[default]
    Anisotropic,
    /// `Σ √(dx² + dy²)` over the pixels: the Rudin–Osher–Fatemi
    /// discretisation with forward differences.
    ///
    /// It is the sum of one Euclidean norm per pixel, not the square root
    /// of a sum over the image: some libraries call the latter "l2" TV,
    /// which is a different, non-local quantity. The term has no gradient
    /// where `dx = dy = 0`; the gradient uses the subgradient 0 there.
    Isotropic,
    /// `Σ (dx² + dy²)` over the pixels: smooth everywhere, and it
    /// penalises large jumps more than small ones.
    SquaredL2,
    /// `Σ (√(dx² + dy² + ε²) − ε)` over the pixels, Charbonnier's smooth
    /// approximation of [`Norm::Isotropic`]: 0 on a flat image, close to
    /// the isotropic term where `√(dx² + dy²) ≫ ε`, and a finite gradient
    /// everywhere (for finite differences whose squares do not overflow).
    Smooth {
        /// The smoothing scale `ε`, in units of the pixel values. It must
        /// be finite and positive, and so must `ε²` once converted to the
        /// element type: `1e-30` is fine in `f64` but its square is 0 in
        /// `f32`, and `1e20` overflows there.
        epsilon: f64,
    },
}

impl Norm {
    /// Whether this is the per-pair, anisotropic form.
    pub(crate) const fn is_anisotropic(self) -> bool {
        matches!(self, Norm::Anisotropic)
    }

    /// The per-pixel norm in element type `T`, or `None` for the
    /// anisotropic form.
    ///
    /// For [`Norm::Smooth`], `ε` is rounded to `T`, and `ε²` is computed
    /// in `T`; the term subtracts `√(ε²)` as computed in `T` (equal to
    /// `ε` unless `ε²` is subnormal), so that a flat pixel gives exactly
    /// `+0.0` and no term is negative.
    pub(crate) fn pixel_norm<T: Float>(
        self,
    ) -> Result<Option<PixelNorm<T>>, Error> {
        match self {
            Norm::Anisotropic => Ok(None),
            Norm::Isotropic => Ok(Some(PixelNorm::Isotropic)),
            Norm::SquaredL2 => Ok(Some(PixelNorm::SquaredL2)),
            Norm::Smooth { epsilon } => {
                let invalid =
                    Error::InvalidEpsilon { norm: self, element: T::NAME };
                // `!(a > 0)` also refuses NaN.
                if !(epsilon > 0.0 && epsilon.is_finite()) {
                    return Err(invalid);
                }
                let epsilon = T::from_f64(epsilon);
                let epsilon_squared = epsilon * epsilon;
                if !(epsilon_squared > T::ZERO && epsilon_squared.is_finite()) {
                    return Err(invalid);
                }
                Ok(Some(PixelNorm::Smooth {
                    epsilon_squared,
                    offset: epsilon_squared.sqrt(),
                }))
            }
        }
    }
}

impl PartialEq for Norm {
    fn eq(&self, other: &Self) -> bool {
        match (*self, *other) {
            (Norm::Anisotropic, Norm::Anisotropic)
            | (Norm::Isotropic, Norm::Isotropic)
            | (Norm::SquaredL2, Norm::SquaredL2) => true,
            (Norm::Smooth { epsilon: a }, Norm::Smooth { epsilon: b }) => {
                a.to_bits() == b.to_bits()
            }
            _ => false,
        }
    }
}

impl Eq for Norm {}

impl Hash for Norm {
    fn hash<H: Hasher>(&self, state: &mut H) {
        core::mem::discriminant(self).hash(state);
        if let Norm::Smooth { epsilon } = *self {
            epsilon.to_bits().hash(state);
        }
    }
}
