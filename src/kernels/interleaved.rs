//! Interleaved float frames summed where they lie, without gathering
//! whole planes.
//!
//! A row of `N` channels is one run of `N·W` values. The differences of
//! each term are taken along that run as if it were one plane's row,
//! between values `N` apart for the horizontal term, and added lane by
//! lane into `N` vectors in turn: value `e` of a group of `N` vectors
//! (`N·LANES` values, `LANES` pixels) always lands in the same lane of
//! the same vector, so each lane receives the differences of one channel
//! and one pixel position of the group, in the order of the groups. At
//! the end of each block those `N` sums are split into the `N` channels
//! ([`FloatKernel::split_lanes`]), which gives each channel exactly the
//! block sum that [`push_abs_diffs`] forms from the channel's own row:
//! the order of the additions, and so the bits of every value, are those
//! of the planar image.
//!
//! That is for 2, 3 or 4 channels. Frames with more are split a row at a
//! time into a buffer of three rows per channel, which the planar sums
//! then read. The gradient ([`InterleavedGradient`]) reads such a buffer
//! for every channel count.
//!
//! [`push_abs_diffs`]: super::push_abs_diffs

use alloc::vec::Vec;

use super::{
    Float, FloatKernel, FloatTask, GradientRows, gradient_factors, plane_value,
    prefetch_ahead, prefetch_pays, push_abs_diffs, push_row_pair, row_gradient,
};
use crate::sum::{BLOCK_VECTORS, LaneVector, PairwiseSum};
use crate::{Error, Layout, Reduction};

/// The anisotropic values of the planes of an image of interleaved
/// pixels ([`Layout::interleaved_channels`] is `Some(channels)`).
pub(crate) struct InterleavedValues<'a, T> {
    pub(crate) img: &'a [T],
    pub(crate) layout: &'a Layout,
    pub(crate) channels: usize,
    pub(crate) reduction: Reduction,
    pub(crate) out: &'a mut [T],
}

impl<T: Float> FloatTask<T> for InterleavedValues<'_, T> {
    type Output = Result<(), Error>;

    #[inline(always)]
    fn run<K: FloatKernel<T>>(self, kernel: K) -> Result<(), Error> {
        let InterleavedValues { img, layout, channels, reduction, out } = self;
        let (height, width) = (layout.height(), layout.width());
        if height == 0 || width == 0 {
            out.fill(T::ZERO);
            return Ok(());
        }
        let row_len = width * channels;
        let mut vertical = sums_for(kernel, channels)?;
        let mut horizontal = sums_for(kernel, channels)?;
        // Frames of more channels than `sum_in_place` takes are split
        // into three rows of every channel: the one above, the current one
        // and the next.
        let mut rows = Vec::new();
        if channels > 4 {
            rows.try_reserve_exact(3 * row_len).map_err(|_| {
                Error::GatherAllocation { elements: 3 * row_len }
            })?;
            rows.resize(3 * row_len, T::ZERO);
        }

        let row_stride = layout.row_stride();
        for (frame, out) in out.chunks_exact_mut(channels).enumerate() {
            for sum in vertical.iter_mut().chain(&mut horizontal) {
                sum.reset();
            }
            let start = layout.plane_start(frame * channels);
            // Channel `c` of pixel `j` of a row is at `row_start +
            // j·channels + c`: the run holds exactly the elements of the
            // row, all in the slice (the layout was checked against it).
            let source = |row: usize| {
                let row_start =
                    start.wrapping_add_signed(row as isize * row_stride);
                &img[row_start..row_start + row_len]
            };
            let sums = (&mut vertical[..], &mut horizontal[..]);
            match channels {
                2 => sum_in_place::<T, K, 2>(kernel, sums, height, source),
                3 => sum_in_place::<T, K, 3>(kernel, sums, height, source),
                4 => sum_in_place::<T, K, 4>(kernel, sums, height, source),
                5.. => sum_split_rows(kernel, sums, &mut rows, height, source),
                // Pixels of fewer than two channels are not interleaved
                // (`Layout::interleaved_channels`).
                _ => {}
            }
            let terms = vertical.iter().zip(&horizontal);
            for (out, (vertical, horizontal)) in out.iter_mut().zip(terms) {
                *out = plane_value(vertical, horizontal, layout, reduction);
            }
        }
        Ok(())
    }
}

/// The anisotropic gradient of an image of interleaved pixels
/// ([`Layout::interleaved_channels`] is `Some(channels)`), written as
/// planes: each row of all channels is split into its channels in a ring
/// of three rows (the one above, the current one and the next), from
/// which the gradient of each channel's row is computed as in a plane.
pub(crate) struct InterleavedGradient<'a, T> {
    pub(crate) img: &'a [T],
    pub(crate) layout: &'a Layout,
    pub(crate) channels: usize,
    pub(crate) reduction: Reduction,
    pub(crate) upstream: &'a [T],
    pub(crate) grad: &'a mut [T],
}

impl<T: Float> FloatTask<T> for InterleavedGradient<'_, T> {
    type Output = Result<(), Error>;

    #[inline(always)]
    fn run<K: FloatKernel<T>>(self, kernel: K) -> Result<(), Error> {
        let InterleavedGradient {
            img,
            layout,
            channels,
            reduction,
            upstream,
            grad,
        } = self;
        let (height, width) = (layout.height(), layout.width());
        if height == 0 || width == 0 {
            return Ok(());
        }
        let row_len = width * channels;
        let mut rows = Vec::new();
        rows.try_reserve_exact(3 * row_len)
            .map_err(|_| Error::GatherAllocation { elements: 3 * row_len })?;
        rows.resize(3 * row_len, T::ZERO);

        let row_stride = layout.row_stride();
        let plane_len = layout.plane_len();
        let frames = grad
            .chunks_exact_mut(channels * plane_len)
            .zip(upstream.chunks_exact(channels));
        for (frame, (grad, upstream)) in frames.enumerate() {
            let start = layout.plane_start(frame * channels);
            // As in `InterleavedValues`: the run holds exactly the
            // elements of the row, all in the slice.
            let source = |row: usize| {
                let row_start =
                    start.wrapping_add_signed(row as isize * row_stride);
                &img[row_start..row_start + row_len]
            };
            split_row(source(0), &mut rows[..row_len], channels);
            for row in 0..height {
                // Slot `row mod 3` holds the current row; the next one
                // goes to the slot of the row above the one above.
                if row + 1 < height {
                    let next = (row + 1) % 3 * row_len;
                    let next = &mut rows[next..next + row_len];
                    split_row(source(row + 1), next, channels);
                }
                let slot = |row: usize| &rows[row % 3 * row_len..][..row_len];
                let above = row.checked_sub(1).map(slot);
                let below = (row + 1 < height).then(|| slot(row + 1));
                let current = slot(row);
                let planes = grad.chunks_exact_mut(plane_len).zip(upstream);
                for (channel, (grad, &g)) in planes.enumerate() {
                    let rows = GradientRows {
                        above: above.map(|a| channel_row(a, channel, width)),
                        row: channel_row(current, channel, width),
                        below: below.map(|b| channel_row(b, channel, width)),
                    };
                    let factors = gradient_factors(g, layout, reduction);
                    let grad = &mut grad[row * width..][..width];
                    row_gradient(kernel, &rows, factors, grad);
                }
            }
        }
        Ok(())
    }
}

/// Channel `channel` of a row split into its channels, `width` values
/// each.
#[inline(always)]
fn channel_row<T>(row: &[T], channel: usize, width: usize) -> &[T] {
    &row[channel * width..][..width]
}

/// The sums of one term for each of `channels` planes.
fn sums_for<T: Float, K: FloatKernel<T>>(
    kernel: K,
    channels: usize,
) -> Result<Vec<PairwiseSum<K::Lanes>>, Error> {
    let mut sums = Vec::new();
    sums.try_reserve_exact(channels)
        .map_err(|_| Error::GatherAllocation { elements: channels })?;
    sums.resize_with(channels, || PairwiseSum::new(kernel.zero()));
    Ok(sums)
}

/// The vertical and the horizontal sums of each channel.
type ChannelSums<'s, V> = (&'s mut [PairwiseSum<V>], &'s mut [PairwiseSum<V>]);

/// Feeds the rows of a frame of `N` interleaved channels, `source(row)`
/// for each of its `height` rows, to the sums of its channels, reading
/// the rows where they lie.
#[inline(always)]
fn sum_in_place<'a, T: Float, K: FloatKernel<T>, const N: usize>(
    kernel: K,
    (vertical, horizontal): ChannelSums<'_, K::Lanes>,
    height: usize,
    source: impl Fn(usize) -> &'a [T],
) {
    let block = N * T::LANES * BLOCK_VECTORS;
    let prefetch = prefetch_pays();
    let mut above: Option<&[T]> = None;
    for row in 0..height {
        let this = source(row);
        let right = this.get(N..).unwrap_or_default();
        let left = &this[..right.len()];
        // Block by block, both terms, while the block is in the caches;
        // the first term to read the row asks for the lines ahead.
        let mut horizontal_blocks = left.chunks(block).zip(right.chunks(block));
        for (index, block_values) in this.chunks(block).enumerate() {
            if let Some(above) = above {
                let above = above.get(index * block..).unwrap_or_default();
                push_interleaved_block::<T, K, N>(
                    kernel,
                    vertical,
                    above,
                    block_values,
                    prefetch,
                );
            }
            if let Some((left, right)) = horizontal_blocks.next() {
                push_interleaved_block::<T, K, N>(
                    kernel,
                    horizontal,
                    left,
                    right,
                    prefetch && above.is_none(),
                );
            }
        }
        above = Some(this);
    }
}

/// Pushes to the sums of the `N` channels their blocks of `|b[e] − a[e]|`
/// for the values `e` of a block of pixels of `N` interleaved channels
/// (see the module docs): each receives the block that [`push_abs_diffs`]
/// would give it from the channel's own values. Of `a` and `b`, as many
/// values as the shorter has count, at most a block. With `prefetch`,
/// for `b` read from the image for the first time, each group asks for
/// the lines [`prefetch_ahead`] of it: a few per group measured faster
/// than all of a block's at its start (on 2048×2048 RGB frames, 0.83
/// instead of 0.67 of the planar speed in the caches, 0.95 instead of
/// 0.84 from memory).
#[inline(always)]
fn push_interleaved_block<T: Float, K: FloatKernel<T>, const N: usize>(
    kernel: K,
    sums: &mut [PairwiseSum<K::Lanes>],
    a: &[T],
    b: &[T],
    prefetch: bool,
) {
    let group = N * T::LANES;
    let len = a.len().min(b.len()).min(group * BLOCK_VECTORS);
    if len == 0 {
        return;
    }
    let (a, b) = (&a[..len], &b[..len]);

    let mut interleaved = [kernel.zero(); N];
    let (a_groups, b_groups) = (a.chunks_exact(group), b.chunks_exact(group));
    let rest = (a_groups.remainder(), b_groups.remainder());
    for (a, b) in a_groups.zip(b_groups) {
        if prefetch {
            prefetch_ahead(b);
        }
        let vectors = a.chunks_exact(T::LANES).zip(b.chunks_exact(T::LANES));
        for (sum, (a, b)) in interleaved.iter_mut().zip(vectors) {
            *sum = sum.add(kernel.abs_diff(a, b));
        }
    }

    // The end of a row: the lanes past it add `+0.0`, as the lanes past
    // the end of a plane's row do.
    let vectors = rest.0.chunks(T::LANES).zip(rest.1.chunks(T::LANES));
    for (sum, (a, b)) in interleaved.iter_mut().zip(vectors) {
        *sum = sum.add(kernel.abs_diff(a, b));
    }

    for (sum, block) in sums.iter_mut().zip(kernel.split_lanes(interleaved)) {
        sum.push_block(block);
    }
}

/// [`FloatKernel::split_lanes`] through arrays, a lane at a time.
#[inline(always)]
pub(super) fn split_lanes_in_arrays<
    T: Float,
    K: FloatKernel<T>,
    const N: usize,
>(
    kernel: K,
    interleaved: [K::Lanes; N],
) -> [K::Lanes; N] {
    let mut channels = [T::ZERO_LANES; N];
    for (vector, &sums) in interleaved.iter().enumerate() {
        let mut lanes = kernel.lanes_of(sums);
        for (lane, &value) in lanes.as_mut().iter().enumerate() {
            let value_index = vector * T::LANES + lane;
            let out = channels
                .get_mut(value_index % N)
                .and_then(|channel| channel.as_mut().get_mut(value_index / N));
            if let Some(out) = out {
                *out = value;
            }
        }
    }
    let mut split = interleaved;
    for (split, lanes) in split.iter_mut().zip(channels) {
        *split = kernel.vector_of(lanes);
    }
    split
}

/// Feeds the rows of a frame of `channels` interleaved channels,
/// `source(row)` for each of its `height` rows, to the sums of its
/// channels: each row is split into `rows`, three rows per channel, and
/// summed from there as a plane's row would be.
#[inline(always)]
fn sum_split_rows<'a, T: Float, K: FloatKernel<T>>(
    kernel: K,
    (vertical, horizontal): ChannelSums<'_, K::Lanes>,
    rows: &mut [T],
    height: usize,
    source: impl Fn(usize) -> &'a [T],
) {
    let row_len = rows.len() / 3;
    let channels = vertical.len();
    let width = row_len / channels.max(1);
    if width == 0 {
        return;
    }
    split_row(source(0), &mut rows[..row_len], channels);
    for row in 0..height {
        let mut slots = rows.chunks_exact_mut(row_len);
        let [a, b, c]: [&mut [T]; 3] =
            core::array::from_fn(|_| slots.next().unwrap_or_default());
        // Slot `row mod 3` holds the current row. Splitting a row ahead of
        // its use, rather than just before, measured 8 % faster on
        // 256×256 RGB frames.
        let (above, current, next) = match row % 3 {
            0 => (c, a, b),
            1 => (a, b, c),
            _ => (b, c, a),
        };
        if row + 1 < height {
            split_row(source(row + 1), next, channels);
        }
        let channel_rows = current.chunks_exact(width);
        let sums = vertical.iter_mut().zip(horizontal.iter_mut());
        for (channel, (this, (vertical, horizontal))) in
            channel_rows.zip(sums).enumerate()
        {
            if row == 0 {
                let (left, right) = (&this[..width - 1], &this[1..]);
                push_abs_diffs(kernel, horizontal, left, right);
            } else {
                let above = &above[channel * width..][..width];
                // Rows of the small split buffer: nothing to ask for ahead
                // of them.
                push_row_pair(kernel, vertical, horizontal, above, this, false);
            }
        }
    }
}

/// Writes channel `c` of the pixels of `source`, `channels` values each,
/// to the `c`-th of the `channels` rows of `rows`.
#[inline(always)]
fn split_row<T: Copy>(source: &[T], rows: &mut [T], channels: usize) {
    let width = source.len() / channels.max(1);
    if width > 0 {
        split_channels(source, rows.chunks_exact_mut(width), channels);
    }
}

/// Writes channel `c` of the pixels of `source`, `channels` values each,
/// to the `c`-th of `rows`.
#[inline(always)]
pub(super) fn split_channels<'a, T: Copy + 'a>(
    source: &[T],
    rows: impl Iterator<Item = &'a mut [T]>,
    channels: usize,
) {
    match channels {
        3 => split_channels_n::<T, 3>(source, rows),
        4 => split_channels_n::<T, 4>(source, rows),
        _ => {
            for (channel, row) in rows.take(channels).enumerate() {
                let values = source[channel..].iter().step_by(channels);
                for (out, &value) in row.iter_mut().zip(values) {
                    *out = value;
                }
            }
        }
    }
}

/// [`split_channels`] for `N` channels, which the compiler unrolls.
#[inline(always)]
fn split_channels_n<'a, T: Copy + 'a, const N: usize>(
    source: &[T],
    rows: impl Iterator<Item = &'a mut [T]>,
) {
    let (source, _) = source.as_chunks::<N>();
    for (channel, row) in rows.take(N).enumerate() {
        for (out, pixel) in row.iter_mut().zip(source) {
            *out = pixel[channel];
        }
    }
}
