//! The pixels of an `image::ImageBuffer`, read in place.

use core::ops::Deref;

use ::image::{ImageBuffer, Pixel};

use crate::{Element, Error, Layout};

/// The samples of `image` and their [`Layout`]: one plane per channel,
/// read in place from the interleaved buffer (`H×W×C`, see
/// [`Layout::interleaved`]), so the results come out one per channel in
/// the pixel's order (R, G, B, A; one plane for a grey image).
///
/// Any pixel type of the `image` crate whose samples are an [`Element`]
/// is accepted: `Luma`, `LumaA`, `Rgb` and `Rgba` of `u8`, `u16`, `f32`,
/// and of `i16` and `f64` where `image` has them. The slice holds exactly
/// the image's `H·W·C` samples, even when the buffer behind it is longer.
///
/// # Errors
///
/// [`Error::ShapeOverflow`] when the width or height does not fit in
/// `usize` (on 16-bit targets) or the sample count overflows, and
/// [`Error::LengthMismatch`] when the buffer holds fewer samples than the
/// image needs (which `image` does not allow to happen).
///
/// ```
/// use image::{Rgb, RgbImage};
/// use total_variation::{TotalVariation, image_layout};
///
/// // 2×1 pixels: red changes by 10, green by 0, blue by 255.
/// let mut img = RgbImage::new(2, 1);
/// img.put_pixel(0, 0, Rgb([10, 7, 0]));
/// img.put_pixel(1, 0, Rgb([20, 7, 255]));
/// let (samples, layout) = image_layout(&img)?;
/// let exact = TotalVariation::new().exact_sum(samples, &layout)?;
/// assert_eq!(exact, [10, 0, 255]);
/// # Ok::<(), total_variation::Error>(())
/// ```
pub fn image_layout<P, Container>(
    image: &ImageBuffer<P, Container>,
) -> Result<(&[P::Subpixel], Layout), Error>
where
    P: Pixel,
    P::Subpixel: Element,
    Container: Deref<Target = [P::Subpixel]>,
{
    let (width, height) = image.dimensions();
    let width = usize::try_from(width).map_err(|_| Error::ShapeOverflow)?;
    let height = usize::try_from(height).map_err(|_| Error::ShapeOverflow)?;
    let channels = usize::from(P::CHANNEL_COUNT);
    let layout = Layout::interleaved(height, width, channels)?;
    let buffer: &[P::Subpixel] = image.as_raw();
    let samples = buffer.get(..layout.len()).ok_or(Error::LengthMismatch {
        expected: layout.len(),
        actual: buffer.len(),
    })?;
    Ok((samples, layout))
}
