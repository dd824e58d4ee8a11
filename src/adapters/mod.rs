//! Adapters from the image types of other crates to a pixel slice and its
//! [`Layout`](crate::Layout), each behind the feature of the same name.

#[cfg(feature = "image")]
mod image;
#[cfg(feature = "ndarray")]
mod ndarray;

#[cfg(feature = "image")]
pub use self::image::image_layout;
#[cfg(feature = "ndarray")]
pub use self::ndarray::ndarray_layout;
