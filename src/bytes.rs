//! Pixels held in a byte buffer.

use crate::{Element, Error};

/// Views a byte buffer as pixels of type `T`, without copying.
///
/// Camera drivers, files and network buffers hand over bytes; this checks
/// that they can be read as `T` in place.
///
/// # Errors
///
/// [`Error::Misaligned`] when `bytes` does not start on `T`'s alignment,
/// and [`Error::ByteLength`] when its length is not a multiple of `T`'s
/// size. An empty buffer gives an empty slice, wherever it points.
///
/// ```
/// use total_variation::{Error, Reduction, pixels_from_bytes, total_variation};
///
/// let pixels: Vec<f32> = vec![0.0, 0.5, 2.0];
/// let bytes: &[u8] = bytemuck::cast_slice(&pixels);
/// let img: &[f32] = pixels_from_bytes(bytes)?;
/// assert_eq!(total_variation(img, &[1, 3], Reduction::Sum)?, [2.0]);
///
/// let err = pixels_from_bytes::<f32>(&bytes[..7]).unwrap_err();
/// assert_eq!(err, Error::ByteLength { bytes: 7, element_size: 4 });
/// # Ok::<(), Error>(())
/// ```
pub fn pixels_from_bytes<T: Element + bytemuck::Pod>(
    bytes: &[u8],
) -> Result<&[T], Error> {
    if bytes.is_empty() {
        // An empty buffer (say, from `Vec::new()`) may have any address.
        return Ok(&[]);
    }
    let size = core::mem::size_of::<T>();
    let align = core::mem::align_of::<T>();
    if bytes.as_ptr().align_offset(align) != 0 {
        return Err(Error::Misaligned { align });
    }
    if !bytes.len().is_multiple_of(size) {
        return Err(Error::ByteLength {
            bytes: bytes.len(),
            element_size: size,
        });
    }
    bytemuck::try_cast_slice(bytes).map_err(|_| Error::Misaligned { align })
}
