//! The `par_*` methods of [`TotalVariation`]: the same results, computed
//! on the threads of the current rayon pool.
//!
//! A call is cut into pieces that the single-threaded code computes to
//! the same bits:
//!
//! - Chunks of whole planes: each plane's value and gradient depend on
//!   that plane alone, so a chunk computed apart is the same computation
//!   as in the single-threaded call.
//! - Bands of rows of a plane of at least [`MIN_BANDED_PLANE_LEN`]
//!   elements: the gradient of a row depends only on the row and its
//!   neighbours, and each band's share of a value enters the plane's
//!   summation tree as the complete subtrees that its blocks form, so the
//!   tree is the single-threaded one (see `kernels::bands`). Every norm
//!   is cut into bands. Integer totals are exact, and add up in any order.
//!
//! - Bands of rows of a strided layout (see [`Layout::strided`]), across
//!   all its planes, as regions of the layout: integer values only, whose
//!   totals add up in any order. Float values and gradients of strided
//!   layouts run on the calling thread for now.
//!
//! A plane of one row is never cut.
//!
//! Small images run on the calling thread: below [`MIN_PARALLEL_LEN`]
//! elements, handing work to other threads costs more than it saves.

use rayon::prelude::*;

use crate::options::{
    check_gradient_args, check_image, check_output_len, output_vec,
    value_and_gradient_outputs,
};
use crate::{Element, Error, FloatElement, Layout, TotalVariation};
use alloc::vec::Vec;

/// The fewest elements that a call splits among threads.
const MIN_PARALLEL_LEN: usize = 1 << 16;

/// The fewest elements in a chunk of planes.
const MIN_CHUNK_LEN: usize = 1 << 15;

/// The fewest elements of a plane cut into bands of rows.
const MIN_BANDED_PLANE_LEN: usize = 1 << 20;

/// About how many elements a band of rows holds.
const BAND_LEN: usize = 1 << 16;

/// About how many elements a band of rows of a strided layout holds,
/// over all its planes.
const STRIDED_BAND_LEN: usize = 1 << 18;

/// How a call is cut into pieces for the threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Split {
    /// One piece: the single-threaded call.
    Whole,
    /// Chunks of `planes_per_chunk` planes, the last one shorter.
    Planes { planes_per_chunk: usize },
    /// Every plane cut into bands of `rows_per_band` rows, the last one
    /// shorter.
    Bands { rows_per_band: usize },
    /// A strided layout cut into regions of `rows_per_band` rows of every
    /// plane, the last one shorter.
    StridedBands { rows_per_band: usize },
}

impl Split {
    /// The split for `layout` on a pool of `threads` threads.
    fn choose(layout: &Layout, threads: usize) -> Split {
        let plane_len = layout.plane_len();
        if threads < 2 || layout.len() < MIN_PARALLEL_LEN || plane_len == 0 {
            return Split::Whole;
        }
        // The pieces below cut the slice into contiguous planes.
        if !layout.is_contiguous() {
            let band_width = layout.planes().saturating_mul(layout.width());
            let rows_per_band = (STRIDED_BAND_LEN / band_width).max(1);
            return match layout.height() > rows_per_band {
                true => Split::StridedBands { rows_per_band },
                false => Split::Whole,
            };
        }
        if plane_len >= MIN_BANDED_PLANE_LEN {
            let rows_per_band = (BAND_LEN / layout.width()).max(1);
            if layout.height() > rows_per_band {
                return Split::Bands { rows_per_band };
            }
        }
        // About four chunks per thread, so that a thread that finishes
        // early takes another one, but no chunk smaller than
        // `MIN_CHUNK_LEN` elements.
        let planes = layout.planes();
        let planes_per_chunk = planes
            .div_ceil(threads.saturating_mul(4))
            .max(MIN_CHUNK_LEN.div_ceil(plane_len));
        if planes_per_chunk >= planes {
            Split::Whole
        } else {
            Split::Planes { planes_per_chunk }
        }
    }

    /// The split for `layout` on the current rayon pool.
    fn for_current_pool(layout: &Layout) -> Split {
        Split::choose(layout, rayon::current_num_threads())
    }
}

/// The layout of a chunk of `planes` planes of `layout`'s shape.
fn chunk_layout(layout: &Layout, planes: usize) -> Result<Layout, Error> {
    Layout::planar(planes, layout.height(), layout.width())
}

impl TotalVariation {
    /// [`TotalVariation::value_into`] on the threads of the current rayon
    /// pool (the global one, or the one a caller
    /// [`install`](rayon::ThreadPool::install)s), with the same bits.
    ///
    /// Batches are cut into chunks of planes and large planes into bands
    /// of rows; small images and strided layouts (see
    /// [`Layout::strided`]) run on the calling thread. The same holds for
    /// every `par_*` method.
    ///
    /// # Errors
    ///
    /// As [`TotalVariation::value_into`].
    ///
    /// ```
    /// use total_variation::{Layout, TotalVariation};
    ///
    /// let layout = Layout::new(&[8, 64, 256])?;
    /// let img: Vec<f32> = (0..layout.len()).map(|i| (i % 7) as f32).collect();
    /// let tv = TotalVariation::new();
    /// let (mut single, mut parallel) = ([0.0; 8], [0.0; 8]);
    /// tv.value_into(&img, &layout, &mut single)?;
    /// tv.par_value_into(&img, &layout, &mut parallel)?;
    /// assert_eq!(single, parallel);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn par_value_into<T: Element>(
        &self,
        img: &[T],
        layout: &Layout,
        out: &mut [T::Output],
    ) -> Result<(), Error> {
        check_image::<T>(img, layout)?;
        check_output_len(out.len(), layout.planes())?;
        match Split::for_current_pool(layout) {
            Split::Whole => self.value_into(img, layout, out),
            Split::Planes { planes_per_chunk } => {
                let chunk_len = planes_per_chunk * layout.plane_len();
                img.par_chunks(chunk_len)
                    .zip(out.par_chunks_mut(planes_per_chunk))
                    .try_for_each(|(img, out)| {
                        let chunk = chunk_layout(layout, out.len())?;
                        self.value_into(img, &chunk, out)
                    })
            }
            Split::Bands { rows_per_band } => T::values_in_bands(
                img,
                layout,
                self.reduction(),
                self.norm(),
                self.backend(),
                out,
                rows_per_band,
            ),
            Split::StridedBands { rows_per_band } => {
                T::strided_values_in_bands(
                    img,
                    layout,
                    self.reduction(),
                    self.norm(),
                    self.backend(),
                    out,
                    rows_per_band,
                )
            }
        }
    }

    /// [`TotalVariation::value`] on the threads of the current rayon
    /// pool, with the same bits.
    ///
    /// # Errors
    ///
    /// As [`TotalVariation::value`].
    ///
    /// ```
    /// use total_variation::{Layout, TotalVariation};
    ///
    /// let layout = Layout::new(&[3, 512, 512])?;
    /// let img: Vec<u8> = (0..layout.len()).map(|i| (i % 251) as u8).collect();
    /// let tv = TotalVariation::new();
    /// assert_eq!(tv.par_value(&img, &layout)?, tv.value(&img, &layout)?);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn par_value<T: Element>(
        &self,
        img: &[T],
        layout: &Layout,
    ) -> Result<Vec<T::Output>, Error> {
        check_image::<T>(img, layout)?;
        let mut out = output_vec(layout.planes())?;
        self.par_value_into(img, layout, &mut out)?;
        Ok(out)
    }

    /// [`TotalVariation::gradient_into`] on the threads of the current
    /// rayon pool, with the same bits.
    ///
    /// # Errors
    ///
    /// As [`TotalVariation::gradient_into`].
    ///
    /// ```
    /// use total_variation::{Layout, TotalVariation};
    ///
    /// let layout = Layout::new(&[4, 128, 128])?;
    /// let img: Vec<f64> = (0..layout.len()).map(|i| (i % 5) as f64).collect();
    /// let upstream = [1.0, 0.5, -2.0, 3.0];
    /// let tv = TotalVariation::new();
    /// let mut single = vec![0.0; layout.len()];
    /// let mut parallel = vec![0.0; layout.len()];
    /// tv.gradient_into(&img, &layout, &upstream, &mut single)?;
    /// tv.par_gradient_into(&img, &layout, &upstream, &mut parallel)?;
    /// assert_eq!(single, parallel);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn par_gradient_into<T: FloatElement>(
        &self,
        img: &[T],
        layout: &Layout,
        upstream: &[T],
        grad: &mut [T],
    ) -> Result<(), Error> {
        check_gradient_args(img, layout, upstream, None, grad.len())?;
        match Split::for_current_pool(layout) {
            // TODO(perf): strided layouts in bands.
            Split::Whole | Split::StridedBands { .. } => {
                self.gradient_into(img, layout, upstream, grad)
            }
            Split::Planes { planes_per_chunk } => {
                let chunk_len = planes_per_chunk * layout.plane_len();
                img.par_chunks(chunk_len)
                    .zip(upstream.par_chunks(planes_per_chunk))
                    .zip(grad.par_chunks_mut(chunk_len))
                    .try_for_each(|((img, upstream), grad)| {
                        let chunk = chunk_layout(layout, upstream.len())?;
                        self.gradient_into(img, &chunk, upstream, grad)
                    })
            }
            Split::Bands { rows_per_band } => T::gradient_in_bands(
                img,
                layout,
                self.reduction(),
                self.norm(),
                self.backend(),
                upstream,
                grad,
                rows_per_band,
            ),
        }
    }

    /// [`TotalVariation::gradient`] on the threads of the current rayon
    /// pool, with the same bits.
    ///
    /// # Errors
    ///
    /// As [`TotalVariation::gradient`].
    ///
    /// ```
    /// use total_variation::{Layout, Norm, TotalVariation};
    ///
    /// let layout = Layout::new(&[2, 256, 256])?;
    /// let img: Vec<f32> = (0..layout.len()).map(|i| (i % 9) as f32).collect();
    /// let tv = TotalVariation::new().with_norm(Norm::Isotropic);
    /// let upstream = [1.0, 2.0];
    /// assert_eq!(
    ///     tv.par_gradient(&img, &layout, &upstream)?,
    ///     tv.gradient(&img, &layout, &upstream)?,
    /// );
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn par_gradient<T: FloatElement>(
        &self,
        img: &[T],
        layout: &Layout,
        upstream: &[T],
    ) -> Result<Vec<T>, Error> {
        layout.check_len(img.len())?;
        let mut grad = output_vec(layout.len())?;
        self.par_gradient_into(img, layout, upstream, &mut grad)?;
        Ok(grad)
    }

    /// [`TotalVariation::value_and_gradient_into`] on the threads of the
    /// current rayon pool, with the same bits.
    ///
    /// # Errors
    ///
    /// As [`TotalVariation::value_and_gradient_into`].
    ///
    /// ```
    /// use total_variation::{Layout, TotalVariation};
    ///
    /// let layout = Layout::new(&[4, 128, 128])?;
    /// let img: Vec<f32> = (0..layout.len()).map(|i| (i % 3) as f32).collect();
    /// let upstream = [1.0; 4];
    /// let mut values = [0.0; 4];
    /// let mut grad = vec![0.0; layout.len()];
    /// let tv = TotalVariation::new();
    /// tv.par_value_and_gradient_into(
    ///     &img, &layout, &upstream, &mut values, &mut grad,
    /// )?;
    /// assert_eq!(values.to_vec(), tv.value(&img, &layout)?);
    /// assert_eq!(grad, tv.gradient(&img, &layout, &upstream)?);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn par_value_and_gradient_into<T: FloatElement>(
        &self,
        img: &[T],
        layout: &Layout,
        upstream: &[T],
        values: &mut [T],
        grad: &mut [T],
    ) -> Result<(), Error> {
        let values_len = Some(values.len());
        check_gradient_args(img, layout, upstream, values_len, grad.len())?;
        match Split::for_current_pool(layout) {
            // TODO(perf): strided layouts in bands.
            Split::Whole | Split::StridedBands { .. } => self
                .value_and_gradient_into(img, layout, upstream, values, grad),
            Split::Planes { planes_per_chunk } => {
                let chunk_len = planes_per_chunk * layout.plane_len();
                img.par_chunks(chunk_len)
                    .zip(upstream.par_chunks(planes_per_chunk))
                    .zip(values.par_chunks_mut(planes_per_chunk))
                    .zip(grad.par_chunks_mut(chunk_len))
                    .try_for_each(|(((img, upstream), values), grad)| {
                        let chunk = chunk_layout(layout, upstream.len())?;
                        self.value_and_gradient_into(
                            img, &chunk, upstream, values, grad,
                        )
                    })
            }
            // Two passes, values then gradient: the one-pass call gives
            // the bits of the two.
            Split::Bands { rows_per_band } => {
                T::values_in_bands(
                    img,
                    layout,
                    self.reduction(),
                    self.norm(),
                    self.backend(),
                    values,
                    rows_per_band,
                )?;
                T::gradient_in_bands(
                    img,
                    layout,
                    self.reduction(),
                    self.norm(),
                    self.backend(),
                    upstream,
                    grad,
                    rows_per_band,
                )
            }
        }
    }

    /// [`TotalVariation::value_and_gradient`] on the threads of the
    /// current rayon pool, with the same bits.
    ///
    /// # Errors
    ///
    /// As [`TotalVariation::value_and_gradient`].
    ///
    /// ```
    /// use total_variation::{Layout, Reduction, TotalVariation};
    ///
    /// let tv = TotalVariation::new().with_reduction(Reduction::Mean);
    /// let layout = Layout::new(&[2, 2])?;
    /// let img = [0.0f64, 1.0, 1.0, 1.0];
    /// let (values, grad) = tv.par_value_and_gradient(&img, &layout, &[1.0])?;
    /// assert_eq!(values, [1.0]);
    /// assert_eq!(grad, [-1.0, 0.5, 0.5, 0.0]);
    /// # Ok::<(), total_variation::Error>(())
    /// ```
    pub fn par_value_and_gradient<T: FloatElement>(
        &self,
        img: &[T],
        layout: &Layout,
        upstream: &[T],
    ) -> Result<(Vec<T>, Vec<T>), Error> {
        let (mut values, mut grad) =
            value_and_gradient_outputs(img, layout, upstream)?;
        self.par_value_and_gradient_into(
            img,
            layout,
            upstream,
            &mut values,
            &mut grad,
        )?;
        Ok((values, grad))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(shape: &[usize]) -> Layout {
        Layout::new(shape).unwrap()
    }

    #[test]
    fn small_or_single_threaded_calls_stay_whole() {
        assert_eq!(Split::choose(&layout(&[4, 64, 64]), 8), Split::Whole);
        assert_eq!(Split::choose(&layout(&[64, 256, 256]), 1), Split::Whole);
        assert_eq!(Split::choose(&layout(&[1 << 20, 0, 5]), 8), Split::Whole);
    }

    #[test]
    fn large_planes_are_cut_into_bands() {
        assert_eq!(
            Split::choose(&layout(&[3, 2048, 2048]), 2),
            Split::Bands { rows_per_band: 32 }
        );
        assert_eq!(
            Split::choose(&layout(&[2, 1 << 20]), 2),
            Split::Bands { rows_per_band: 1 }
        );
        // One row is never cut; a column of one is cut into long bands.
        assert_eq!(Split::choose(&layout(&[1, 1 << 21]), 2), Split::Whole);
        assert_eq!(
            Split::choose(&layout(&[1 << 20, 1]), 2),
            Split::Bands { rows_per_band: 1 << 16 }
        );
    }

    #[test]
    fn planes_are_cut_into_chunks_of_at_least_min_chunk_len() {
        // 64 planes of 2^16 elements on 2 threads: 8 chunks of 8.
        assert_eq!(
            Split::choose(&layout(&[64, 256, 256]), 2),
            Split::Planes { planes_per_chunk: 8 }
        );
        // 4096 planes of 64 elements: 512 planes make `MIN_CHUNK_LEN`.
        assert_eq!(
            Split::choose(&layout(&[4096, 8, 8]), 2),
            Split::Planes { planes_per_chunk: 512 }
        );
    }
}
