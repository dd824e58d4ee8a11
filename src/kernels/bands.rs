//! Large planes cut into bands of rows, computed on rayon's threads with
//! the bits of the whole plane.
//!
//! The gradient of a row depends only on the row and its neighbours
//! above and below, so each band of rows writes its own part of the
//! gradient with the row kernels of the single-threaded loops.
//!
//! A value is one summation tree per term over the plane's blocks (see
//! [`crate::sum`]). Number the blocks of a term through the plane, `0`,
//! `1`, …; a band holds the blocks `a..b`. The tree is a binary counter,
//! so these blocks cut into complete subtrees: runs of `2^r` blocks that
//! start at a multiple of `2^r`. A band sums its blocks as such subtrees
//! (see [`SubtreeCollector`]), and the subtrees of all bands, in the
//! order of the blocks, are added to one sum with
//! [`PairwiseSum::push_subtree`], which gives the bits of pushing their
//! blocks one by one. The subtrees cross from a backend's vectors to the
//! scalar arrays of [`Float::Lanes`], whose lane-wise addition has the
//! bits of every backend's.
//!
//! Integer totals are exact, so each band's totals are added in any
//! order.

use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

use rayon::prelude::*;

use super::norms::row_norm_gradient;
use super::portable::Portable;
use super::scalar::{Float, Scalar};
use super::{
    FloatKernel, GradientFactors, GradientRows, IntegerDispatch, PixelNorm,
    Resolved, gradient_factors, integer_plane_value, mean, plane_value,
    push_abs_diffs, push_row_pair, resolve, row_gradient,
};
use crate::sum::{BLOCK_VECTORS, BlockSink, LaneVector, PairwiseSum};
use crate::{Backend, Error, Layout, Norm, Reduction};

/// A complete subtree of a term's summation tree: its rank `r` (it sums
/// `2^r` blocks) and its sum, as the scalar lanes.
type Subtree<T> = (u32, <T as Float>::Lanes);

/// The work on one band, written once for every backend.
pub(crate) trait BandTask<T: Float> {
    /// What the band gives back.
    type Output;

    /// Does the work with `kernel`; inlined into the caller, so that it
    /// runs in the caller's instruction set.
    fn run<K: FloatKernel<T>>(self, kernel: K) -> Self::Output;
}

/// A float type whose bands run on every backend.
pub(crate) trait BandDispatch: Float<Lanes: Send> + Send + Sync {
    /// Runs `task` on the resolved backend.
    fn run_band<W: BandTask<Self>>(backend: Resolved, task: W) -> W::Output;
}

macro_rules! band_dispatch {
    ($t:ty) => {
        impl BandDispatch for $t {
            fn run_band<W: BandTask<$t>>(
                backend: Resolved,
                task: W,
            ) -> W::Output {
                match backend {
                    Resolved::Scalar => task.run(Scalar),
                    Resolved::Portable => task.run(Portable),
                    #[cfg(all(
                        target_arch = "x86_64",
                        target_feature = "sse2"
                    ))]
                    Resolved::Avx2(kernel, _) => {
                        super::x86_64::avx2::run_band(kernel, task)
                    }
                }
            }
        }
    };
}

band_dispatch!(f32);
band_dispatch!(f64);

/// Sums the blocks of one term of a band as the complete subtrees of the
/// plane's tree that they form, earliest blocks first.
///
/// The band's blocks start at the plane-wide index `start`. While `start`
/// is a multiple of `2^t` and the band has `2^t` blocks more, the next
/// `2^t` blocks form a complete subtree of rank `t`: `open`, a fresh
/// [`PairwiseSum`], sums them and hands on its one subtree. `t` is the
/// count of trailing zeros of `start`, so the subtrees grow as `start`
/// gains trailing zeros. When the band ends first, `open` holds `c` blocks,
/// `c < 2^t`; its complete subtrees, the highest rank first, are the
/// complete subtrees of the plane's tree over these blocks: the first
/// starts at `start`, a multiple of `2^t`, and each next one starts at a
/// multiple of its own size. (A band starting at block 0 hands on
/// everything at its end.)
struct SubtreeCollector<T: Float, K: FloatKernel<T>> {
    kernel: K,
    /// The plane-wide index of the first block in `open`.
    start: usize,
    /// The blocks since `start`.
    open: PairwiseSum<K::Lanes>,
    open_blocks: usize,
    /// The blocks of the subtree that `open` completes: `2^t` for `t`
    /// trailing zeros of `start`; `None` when `start` is 0.
    subtree_blocks: Option<usize>,
    /// The complete subtrees so far.
    done: Vec<Subtree<T>>,
}

impl<T: Float, K: FloatKernel<T>> BlockSink<K::Lanes>
    for SubtreeCollector<T, K>
{
    #[inline(always)]
    fn push_block(&mut self, block: K::Lanes) {
        SubtreeCollector::push_block(self, block);
    }
}

impl<T: Float, K: FloatKernel<T>> SubtreeCollector<T, K> {
    /// A collector for the blocks from the plane-wide index `start` on.
    #[inline(always)]
    fn new(kernel: K, start: usize) -> Self {
        SubtreeCollector {
            kernel,
            start,
            open: PairwiseSum::new(kernel.zero()),
            open_blocks: 0,
            subtree_blocks: 1usize.checked_shl(start.trailing_zeros()),
            done: Vec::new(),
        }
    }

    /// Adds the sum of the next block.
    #[inline(always)]
    fn push_block(&mut self, block: K::Lanes) {
        self.open.push_block(block);
        self.open_blocks += 1;
        if Some(self.open_blocks) == self.subtree_blocks {
            self.hand_on_open();
            self.start += self.open_blocks;
            self.open_blocks = 0;
            self.open.reset();
            self.subtree_blocks =
                1usize.checked_shl(self.start.trailing_zeros());
        }
    }

    /// Moves the complete subtrees of `open` to `done`.
    #[inline(always)]
    fn hand_on_open(&mut self) {
        let kernel = self.kernel;
        for (rank, sum) in self.open.subtrees() {
            self.done.push((rank, kernel.lanes_of(sum)));
        }
    }

    /// Every subtree of the band, earliest blocks first.
    #[inline(always)]
    fn finish(mut self) -> Vec<Subtree<T>> {
        self.hand_on_open();
        self.done
    }
}

/// The blocks of a term of `differences` values per row.
fn blocks_per_row<T: Float>(differences: usize) -> usize {
    differences.div_ceil(T::LANES * BLOCK_VECTORS)
}

/// The rows `rows` of a plane, each with the row below it if there is
/// one.
fn rows_with_below<T>(
    plane: &[T],
    width: usize,
    rows: Range<usize>,
) -> impl Iterator<Item = (&[T], Option<&[T]>)> {
    let mut below = plane.chunks_exact(width).skip(rows.start + 1);
    plane
        .chunks_exact(width)
        .skip(rows.start)
        .take(rows.len())
        .map(move |row| (row, below.next()))
}

/// The anisotropic differences of the rows `rows` of a plane: the
/// horizontal ones of each row and the vertical ones to the row above.
struct DifferenceBand<'a, T> {
    plane: &'a [T],
    width: usize,
    rows: Range<usize>,
}

/// The subtrees of the vertical and the horizontal term of a band.
struct DifferenceSubtrees<T: Float> {
    vertical: Vec<Subtree<T>>,
    horizontal: Vec<Subtree<T>>,
}

impl<T: Float> BandTask<T> for DifferenceBand<'_, T> {
    type Output = DifferenceSubtrees<T>;

    #[inline(always)]
    fn run<K: FloatKernel<T>>(self, kernel: K) -> DifferenceSubtrees<T> {
        let DifferenceBand { plane, width, rows } = self;
        let horizontal_start =
            rows.start * blocks_per_row::<T>(width.saturating_sub(1));
        // Row `i ≥ 1` holds the vertical differences to row `i − 1`.
        let vertical_start =
            rows.start.saturating_sub(1) * blocks_per_row::<T>(width);
        let mut horizontal = SubtreeCollector::new(kernel, horizontal_start);
        let mut vertical = SubtreeCollector::new(kernel, vertical_start);

        let mut above = match rows.start.checked_sub(1) {
            Some(first) => plane.chunks_exact(width).nth(first),
            None => None,
        };
        for row in plane.chunks_exact(width).skip(rows.start).take(rows.len()) {
            // The blocks of a plane's single-threaded sums, row by row;
            // without the prefetch hint, measured on one thread only.
            match above {
                Some(above) => push_row_pair(
                    kernel,
                    &mut vertical,
                    &mut horizontal,
                    above,
                    row,
                    false,
                ),
                None => push_abs_diffs(
                    kernel,
                    &mut horizontal,
                    &row[..width - 1],
                    &row[1..],
                ),
            }
            above = Some(row);
        }
        DifferenceSubtrees {
            vertical: vertical.finish(),
            horizontal: horizontal.finish(),
        }
    }
}

/// The terms of a per-pixel norm for the pixels of the rows `rows`.
struct TermBand<'a, T> {
    plane: &'a [T],
    width: usize,
    rows: Range<usize>,
    norm: PixelNorm<T>,
}

impl<T: Float> BandTask<T> for TermBand<'_, T> {
    type Output = Vec<Subtree<T>>;

    #[inline(always)]
    fn run<K: FloatKernel<T>>(self, kernel: K) -> Vec<Subtree<T>> {
        let TermBand { plane, width, rows, norm } = self;
        let block_len = T::LANES * BLOCK_VECTORS;
        let start = rows.start * blocks_per_row::<T>(width);
        let mut terms = SubtreeCollector::new(kernel, start);
        for (row, below) in rows_with_below(plane, width, rows) {
            // The blocks of `norms::push_row_terms`.
            let mut block_start = 0;
            while block_start < width {
                let block_end = width.min(block_start + block_len);
                let mut block =
                    kernel.norm_terms(norm, row, below, block_start);
                let mut start = block_start + T::LANES;
                while start < block_end {
                    let terms = kernel.norm_terms(norm, row, below, start);
                    block = block.add(terms);
                    start += T::LANES;
                }
                terms.push_block(block);
                block_start = block_end;
            }
        }
        terms.finish()
    }
}

/// The upstream gradient's share of each term, for a norm.
#[derive(Clone, Copy)]
enum GradientShares<T> {
    /// The anisotropic norm: one factor per term.
    Differences(GradientFactors<T>),
    /// A per-pixel norm and the factor of its terms.
    PixelTerms(PixelNorm<T>, T),
}

/// The gradient of the rows from `first_row` on that `grad` holds.
struct GradientBand<'a, T> {
    plane: &'a [T],
    width: usize,
    first_row: usize,
    shares: GradientShares<T>,
    grad: &'a mut [T],
}

impl<T: Float> BandTask<T> for GradientBand<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run<K: FloatKernel<T>>(self, kernel: K) {
        let GradientBand { plane, width, first_row, shares, grad } = self;
        let rows = first_row..first_row + grad.len() / width;
        let mut above = match first_row.checked_sub(1) {
            Some(first) => plane.chunks_exact(width).nth(first),
            None => None,
        };
        let band = rows_with_below(plane, width, rows);
        for ((row, below), grad) in band.zip(grad.chunks_exact_mut(width)) {
            let rows = GradientRows { above, row, below };
            match shares {
                GradientShares::Differences(factors) => {
                    row_gradient(kernel, &rows, factors, grad)
                }
                GradientShares::PixelTerms(norm, factor) => {
                    row_norm_gradient(kernel, norm, &rows, factor, grad)
                }
            }
            above = Some(row);
        }
    }
}

/// The bands of a plane of `height` rows: `rows_per_band` rows each, the
/// last one shorter.
fn bands(
    height: usize,
    rows_per_band: usize,
) -> impl IndexedParallelIterator<Item = Range<usize>> {
    let rows_per_band = rows_per_band.max(1);
    (0..height.div_ceil(rows_per_band)).into_par_iter().map(move |band| {
        let start = band * rows_per_band;
        start..height.min(start + rows_per_band)
    })
}

/// Adds the subtrees of each band, in order, to a fresh sum.
fn combine<T: Float>(
    bands: impl IntoIterator<Item = Vec<Subtree<T>>>,
) -> PairwiseSum<T::Lanes> {
    let mut sum = PairwiseSum::new(T::ZERO_LANES);
    for subtrees in bands {
        for (rank, subtree) in subtrees {
            sum.push_subtree(rank, subtree);
        }
    }
    sum
}

/// The value of one plane of `width ≥ 1` columns, computed in bands.
fn plane_value_in_bands<T: BandDispatch>(
    backend: Resolved,
    norm: Option<PixelNorm<T>>,
    plane: &[T],
    layout: &Layout,
    reduction: Reduction,
    rows_per_band: usize,
) -> T {
    let width = layout.width();
    let bands = bands(layout.height(), rows_per_band);
    match norm {
        None => {
            let subtrees: Vec<DifferenceSubtrees<T>> = bands
                .map(|rows| {
                    T::run_band(backend, DifferenceBand { plane, width, rows })
                })
                .collect();
            let (vertical, horizontal): (Vec<_>, Vec<_>) = subtrees
                .into_iter()
                .map(|band| (band.vertical, band.horizontal))
                .unzip();
            plane_value(
                &combine::<T>(vertical),
                &combine::<T>(horizontal),
                layout,
                reduction,
            )
        }
        Some(norm) => {
            let subtrees: Vec<Vec<Subtree<T>>> = bands
                .map(|rows| {
                    let band = TermBand { plane, width, rows, norm };
                    T::run_band(backend, band)
                })
                .collect();
            let total = combine::<T>(subtrees).total();
            match reduction {
                Reduction::Sum => total,
                Reduction::Mean => mean(total, layout.plane_len()),
            }
        }
    }
}

/// [`super::float_values`], each plane cut into bands of `rows_per_band`
/// rows, on the current rayon pool.
pub(crate) fn float_values_in_bands<T: BandDispatch>(
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    norm: Norm,
    backend: Backend,
    out: &mut [T],
    rows_per_band: usize,
) -> Result<(), Error> {
    let pixel_norm = norm.pixel_norm::<T>()?;
    let backend = resolve(backend)?;
    let plane_len = layout.plane_len();
    if plane_len == 0 {
        out.fill(T::ZERO);
        return Ok(());
    }
    img.par_chunks_exact(plane_len).zip(out.par_iter_mut()).for_each(
        |(plane, out)| {
            *out = plane_value_in_bands(
                backend,
                pixel_norm,
                plane,
                layout,
                reduction,
                rows_per_band,
            );
        },
    );
    Ok(())
}

/// [`super::float_gradient`], each plane cut into bands of
/// `rows_per_band` rows, on the current rayon pool.
#[allow(clippy::too_many_arguments)]
pub(crate) fn float_gradient_in_bands<T: BandDispatch>(
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    norm: Norm,
    backend: Backend,
    upstream: &[T],
    grad: &mut [T],
    rows_per_band: usize,
) -> Result<(), Error> {
    let pixel_norm = norm.pixel_norm::<T>()?;
    let backend = resolve(backend)?;
    let plane_len = layout.plane_len();
    if plane_len == 0 {
        return Ok(());
    }
    let width = layout.width();
    let band_len = rows_per_band.max(1) * width;
    let planes = img
        .par_chunks_exact(plane_len)
        .zip(grad.par_chunks_exact_mut(plane_len));
    planes.zip(upstream.par_iter()).for_each(|((plane, grad), &g)| {
        let shares = match pixel_norm {
            None => GradientShares::Differences(gradient_factors(
                g, layout, reduction,
            )),
            Some(norm) => GradientShares::PixelTerms(
                norm,
                match reduction {
                    Reduction::Sum => g,
                    Reduction::Mean => mean(g, plane_len),
                },
            ),
        };
        grad.par_chunks_mut(band_len).enumerate().for_each(|(band, grad)| {
            let first_row = band * rows_per_band.max(1);
            let task = GradientBand { plane, width, first_row, shares, grad };
            T::run_band(backend, task);
        });
    });
    Ok(())
}

/// The vertical and horizontal totals of the rows `rows` of an integer
/// plane, with the vertical differences to the row above the band.
fn integer_band_totals<T: IntegerDispatch>(
    backend: Resolved,
    plane: &[T],
    width: usize,
    rows: Range<usize>,
) -> (u64, u64) {
    let band = plane.get(rows.start * width..rows.end * width);
    let layout = Layout::planar(1, rows.len(), width);
    let (mut vertical, mut horizontal) = (0, 0);
    if let (Some(band), Ok(layout)) = (band, layout) {
        let mut totals = [(0, 0)];
        T::sums_on(backend, band, &layout, &mut totals, |v, h| (v, h));
        (vertical, horizontal) = totals[0];
    }
    // The seam: the row above the band and the band's first row, whose
    // vertical differences belong to this band.
    if let Some(above) = rows.start.checked_sub(1) {
        let seam = plane.get(above * width..(above + 2) * width);
        if let (Some(seam), Ok(layout)) = (seam, Layout::planar(1, 2, width)) {
            let mut seam_vertical = [0];
            T::sums_on(backend, seam, &layout, &mut seam_vertical, |v, _| v);
            vertical += seam_vertical[0];
        }
    }
    (vertical, horizontal)
}

/// [`super::integer_values`], each plane cut into bands of
/// `rows_per_band` rows, on the current rayon pool. Planes must not
/// exceed [`super::max_integer_plane_len`].
pub(crate) fn integer_values_in_bands<T: IntegerDispatch + Sync>(
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    backend: Backend,
    out: &mut [f64],
    rows_per_band: usize,
) -> Result<(), Error> {
    let backend = resolve(backend)?;
    let plane_len = layout.plane_len();
    if plane_len == 0 {
        out.fill(0.0);
        return Ok(());
    }
    let width = layout.width();
    img.par_chunks_exact(plane_len).zip(out.par_iter_mut()).for_each(
        |(plane, out)| {
            let (v, h) = bands(layout.height(), rows_per_band)
                .map(|rows| integer_band_totals(backend, plane, width, rows))
                .reduce(|| (0, 0), |(v1, h1), (v2, h2)| (v1 + v2, h1 + h2));
            *out = integer_plane_value(v, h, layout, reduction);
        },
    );
    Ok(())
}

/// [`super::integer_values`] of a strided layout, cut into regions of
/// `rows_per_band` rows of every plane on the current rayon pool: each
/// region gives the totals of its rows in every plane, and the vertical
/// differences across a seam are those of the two-row region around it.
/// Layouts whose rows must be gathered run on the calling thread. Planes
/// must not exceed [`super::max_integer_plane_len`].
pub(crate) fn integer_strided_values_in_bands<T: IntegerDispatch + Sync>(
    img: &[T],
    layout: &Layout,
    reduction: Reduction,
    backend: Backend,
    out: &mut [f64],
    rows_per_band: usize,
) -> Result<(), Error> {
    if layout.integers_need_gather() {
        // Gathered a plane at a time, on the calling thread.
        // TODO(perf): gather bands on the threads.
        return super::integer_values(img, layout, reduction, backend, out);
    }
    let backend = resolve(backend)?;
    let planes = layout.planes();
    let add = |mut totals: Vec<(u64, u64)>, band: Vec<(u64, u64)>| {
        for ((v, h), (band_v, band_h)) in totals.iter_mut().zip(band) {
            (*v, *h) = (*v + band_v, *h + band_h);
        }
        totals
    };
    let totals = bands(layout.height(), rows_per_band)
        .map(|rows| strided_band_totals(backend, img, layout, rows))
        .try_reduce(|| vec![(0, 0); planes], |a, b| Ok(add(a, b)))?;
    for (out, (v, h)) in out.iter_mut().zip(totals) {
        *out = integer_plane_value(v, h, layout, reduction);
    }
    Ok(())
}

/// The vertical and horizontal totals of each plane over the rows `rows`
/// of a strided layout, with the vertical differences between the row
/// above them and their first row.
fn strided_band_totals<T: IntegerDispatch>(
    backend: Resolved,
    img: &[T],
    layout: &Layout,
    rows: Range<usize>,
) -> Result<Vec<(u64, u64)>, Error> {
    let width = layout.width();
    let band = layout.region(rows.start, 0, rows.len(), width)?;
    let mut totals = vec![(0, 0); layout.planes()];
    // The regions lie inside the layout, which was checked against `img`.
    T::sums_on(backend, img, &band, &mut totals, |v, h| (v, h));
    if let Some(above) = rows.start.checked_sub(1) {
        let seam = layout.region(above, 0, 2, width)?;
        let mut seams = vec![0; layout.planes()];
        T::sums_on(backend, img, &seam, &mut seams, |v, _| v);
        for ((v, _), seam) in totals.iter_mut().zip(seams) {
            *v += seam;
        }
    }
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushing the blocks of each band into a collector, then every
    /// band's subtrees into one sum, gives the bits of pushing every block
    /// into one sum, for every cut of up to 70 blocks into three bands.
    /// The blocks are chosen so that the order of additions shows in the
    /// bits: 1.0 and values below half an ulp of it.
    #[test]
    fn bands_give_the_bits_of_one_sum() {
        let blocks: Vec<[f64; 8]> = (0..70)
            .map(|k| {
                let mut v = [f64::EPSILON * (0.3 + (k % 7) as f64 / 9.0); 8];
                if k % 11 == 0 {
                    v[k % 8] = 1.0 + k as f64;
                }
                v
            })
            .collect();
        for len in 0..blocks.len() {
            let blocks = &blocks[..len];
            let mut whole = PairwiseSum::new([0.0; 8]);
            for &block in blocks {
                whole.push_block(block);
            }
            for first in 0..=len {
                for second in first..=len {
                    let cuts = [0..first, first..second, second..len];
                    let bands = cuts.map(|band| {
                        let mut collector =
                            SubtreeCollector::<f64, _>::new(Scalar, band.start);
                        for &block in &blocks[band] {
                            collector.push_block(block);
                        }
                        collector.finish()
                    });
                    let sum = combine::<f64>(bands);
                    assert_eq!(
                        sum.total().to_bits(),
                        whole.total().to_bits(),
                        "{len} blocks cut at {first} and {second}"
                    );
                }
            }
        }
    }

    /// The subtrees of a band from block 5 to block 12: blocks 5, 6–7,
    /// 8–11 and 12, by the binary counter.
    #[test]
    fn a_band_is_cut_into_aligned_subtrees() {
        let mut collector = SubtreeCollector::<f64, _>::new(Scalar, 5);
        for k in 5..13 {
            collector.push_block([k as f64; 8]);
        }
        let ranks: Vec<u32> =
            collector.finish().iter().map(|(rank, _)| *rank).collect();
        assert_eq!(ranks, [0, 1, 2, 0]);
    }
}
