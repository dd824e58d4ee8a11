//! Exact sums of absolute differences of integer rows, on SSE2, AVX2 and
//! AVX-512 (with AVX-512BW).
//!
//! Integer sums are exact, so unlike the float kernels these need not
//! follow any order: each kernel only has to return the true `u64` total.
//!
//! - `u8`: `psadbw` (`_mm_sad_epu8`, `_mm256_sad_epu8`, `_mm512_sad_epu8`)
//!   sums the absolute differences of 8 byte pairs into a 64-bit lane in
//!   one instruction.
//! - `u16`: `|a − b|` is `(a ⊖ b) | (b ⊖ a)` with saturating subtraction.
//!   The differences, biased by −32768 to fit `i16`, are added in pairs
//!   into `i32` lanes by `pmaddwd`; the bias is removed when the lanes are
//!   flushed into the `u64` total, often enough that they cannot overflow.
//! - `i16`: flipping the sign bit maps `i16` onto `u16` in the same order
//!   and with the same differences, then as `u16`.
//! - Interleaved pixels of any of the three (per-channel totals): the
//!   differences are added per position of a run of three registers, in
//!   lanes twice as wide as the elements (`PositionSums`).
//!
//! SSE2 is part of every x86-64 CPU, so its kernels need no detection.

use core::arch::x86_64::*;
use core::marker::PhantomData;

use super::super::scalar::{Integer, Scalar};
use super::super::{IntegerKernel, plane_sums_by_rows};
use super::avx2::Avx2;
use super::avx512::Avx512;

/// Proof that the CPU has SSE2: every x86-64 CPU has it.
#[derive(Clone, Copy)]
pub(crate) struct Sse2 {
    _private: (),
}

impl Sse2 {
    /// The proof; x86-64 targets always enable SSE2.
    pub(crate) const fn new() -> Self {
        const { assert!(cfg!(target_feature = "sse2")) };
        Sse2 { _private: () }
    }
}

/// The absolute differences of interleaved elements of type `T`, summed
/// per position of a run of three registers (`RUN` elements), where each
/// position always holds the same channel; see `interleaved_sums`.
///
/// Each register of the run has two accumulators of lanes twice as wide
/// as an element (16-bit lanes for `u8`, 32-bit for `u16` and `i16`):
/// `[all, odd]`. `all` adds the differences read as wide lanes,
/// `e + 2^b·o` for the even element `e` and the odd element `o` of a lane
/// of `2b` bits, wrapping; `odd` adds `o` alone. After `n ≤ 2^b + 1` runs
/// the odd elements' sum `Σo ≤ (2^b − 1)·n` is exact in `odd`, and the
/// even elements' `Σe = all − 2^b·odd (mod 2^2b)` is exact too because it
/// is below `2^2b`. Three instructions per register of differences: a
/// shift and two additions.
///
/// The last, partial register of a slice is read as the slice's last
/// register with the elements already counted masked out, which puts
/// element `k` at position `tail_shift + k` of a run; it has accumulators
/// of its own, `tail`.
struct PositionSums<R, T, const RUN: usize> {
    /// Per register of the run, its `[all, odd]` accumulators.
    lanes: [[R; 2]; 3],
    /// The `[all, odd]` accumulators of the slices' last registers.
    tail: [R; 2],
    /// The position in the run of element 0 of the last registers.
    tail_shift: usize,
    /// Runs added to `lanes` and `tail` since they were last flushed;
    /// each adds at most one register to each accumulator.
    runs: usize,
    /// Whether `tail` has had a register added since the last flush.
    tail_used: bool,
    /// The flushed sums of `lanes`, as the lanes of each register hold
    /// them: for register `k`, the sums of its even elements at
    /// `k·lanes..k·lanes + lanes/2`, of its odd ones after them. Adding
    /// lane to lane is what the compiler turns into vector code; the
    /// sums are moved to their positions once, at the end.
    flushed: [u64; RUN],
    /// The flushed totals, per position of the run.
    positions: [u64; RUN],
    element: PhantomData<T>,
}

/// Adds the sums of the even and odd elements of a register whose
/// element 0 is at position `first` of a run to the totals of its
/// positions: `even[i]` to position `first + 2i`, `odd[i]` to `first +
/// 2i + 1`, modulo the run's length. Out of line: it runs once per
/// hundreds of runs.
#[inline(never)]
fn add_lanes<L: Copy + Into<u64>>(
    positions: &mut [u64],
    first: usize,
    even: &[L],
    odd: &[L],
) {
    // `first` is a position of the run and a register is shorter than
    // the run, so the positions wrap around at most once; the registers
    // of the run itself never wrap.
    let (before, from_first) = positions.split_at_mut(first);
    if from_first.len() >= 2 * even.len() {
        let pairs = from_first.chunks_exact_mut(2);
        for (pair, (&e, &o)) in pairs.zip(even.iter().zip(odd)) {
            pair[0] += e.into();
            pair[1] += o.into();
        }
    } else {
        let sums = even.iter().zip(odd).flat_map(|(&e, &o)| [e, o]);
        for (position, sum) in from_first.iter_mut().chain(before).zip(sums) {
            *position += sum.into();
        }
    }
}

/// The narrowest 16-bit planes summed as images of one channel
/// (`PositionSums`) rather than row by row: measured on AVX2 against the
/// row-by-row kernel, 1.2× faster on 2048 columns, even on 256, 1.6×
/// slower on 64.
const MIN_POSITION_SUMS_WIDTH: usize = 512;

/// Vectors of 16-bit differences between two flushes of the `i32` lanes:
/// each lane gains at most 2·32768 in absolute value per vector, so
/// 2^14 vectors stay below 2^31.
const VECTORS_PER_FLUSH: usize = 1 << 14;

/// The methods of `PositionSums` for one instruction set and one
/// element type: `$lanes` elements of type `$elem` per register, runs of
/// `$run = 3·$lanes`, lanes of `$wide` added with `$add_lane` and shifted
/// by `$half_bits` (the bits of an element), `$abs_diff` the token's
/// method for `|a − b|` per element, and a flush at least every
/// `$max_runs ≤ 2^$half_bits` runs.
macro_rules! position_sums {
    (
        $token:ty, $register:ty, $elem:ty, $lanes:literal, $run:literal,
        wide = $wide:ty, half_bits = $half_bits:literal,
        max_runs = $max_runs:literal, abs_diff = $abs_diff:ident,
        zero = $zero:ident, storeu = $storeu:ident,
        add_lane = $add_lane:ident, sub_lane = $sub_lane:ident,
        srli_lane = $srli_lane:ident, slli_lane = $slli_lane:ident
    ) => {
        #[allow(unused_unsafe)]
        impl PositionSums<$register, $elem, { $run }> {
            /// [`IntegerKernel::interleaved_sums`]: reads the rows in runs
            /// of three registers, whose length is a multiple of the
            /// channel count, so each position of a run always holds the
            /// same channel (other channel counts go to the scalar
            /// kernel). The absolute differences are added up per
            /// position in wide lanes, flushed into a `u64` per position
            /// before they can overflow, and the positions are added up
            /// per channel at the end. Each register of a row serves its
            /// horizontal and its vertical differences.
            #[inline(always)]
            fn interleaved_sums<'a>(
                kernel: $token,
                rows: impl Iterator<Item = &'a [$elem]>,
                channels: usize,
                (vertical, horizontal): (&mut [u64], &mut [u64]),
            ) {
                if channels == 0 || $run % channels != 0 {
                    return Scalar.interleaved_sums(
                        rows, channels, vertical, horizontal,
                    );
                }
                let mut vertical_sums = Self::new(kernel);
                let mut horizontal_sums = Self::new(kernel);
                let mut above: Option<&[$elem]> = None;
                for row in rows {
                    match above {
                        Some(above) => Self::add_row_pair(
                            kernel,
                            &mut vertical_sums,
                            &mut horizontal_sums,
                            above,
                            row,
                            channels,
                        ),
                        None => {
                            let end = row.len().saturating_sub(channels);
                            let right = row.get(channels..).unwrap_or_default();
                            horizontal_sums.add(kernel, &row[..end], right, 0);
                        }
                    }
                    above = Some(row);
                }
                vertical_sums.add_to_channels(kernel, channels, vertical);
                horizontal_sums.add_to_channels(kernel, channels, horizontal);
            }

            /// [`IntegerKernel::interleaved_frame_sums`]: the frame's
            /// rows after the first, read as one run, against the run
            /// one row earlier for the vertical differences and against
            /// itself `channels` values on for the horizontal ones, as
            /// `interleaved_sums` reads a pair of rows. That run also
            /// pairs the last pixel of each row with the first pixel of
            /// the next; those differences are taken back out of the
            /// exact totals at the end.
            #[inline(always)]
            fn frame_sums(
                kernel: $token,
                frame: &[$elem],
                row_len: usize,
                channels: usize,
                (vertical, horizontal): (&mut [u64], &mut [u64]),
            ) {
                if channels == 0
                    || $run % channels != 0
                    || row_len == 0
                    || row_len % channels != 0
                {
                    let rows = frame.chunks_exact(row_len.max(1));
                    let totals = (vertical, horizontal);
                    return Self::interleaved_sums(
                        kernel, rows, channels, totals,
                    );
                }
                // Whole rows only, as the callers give them.
                let frame = &frame[..frame.len() - frame.len() % row_len];
                let mut vertical_sums = Self::new(kernel);
                let mut horizontal_sums = Self::new(kernel);

                let first = frame.get(..row_len).unwrap_or(frame);
                let end = first.len().saturating_sub(channels);
                let right = first.get(channels..).unwrap_or_default();
                horizontal_sums.add(kernel, &first[..end], right, 0);
                if let Some(rest) =
                    frame.get(row_len..).filter(|r| !r.is_empty())
                {
                    let above = &frame[..frame.len() - row_len];
                    Self::add_row_pair(
                        kernel,
                        &mut vertical_sums,
                        &mut horizontal_sums,
                        above,
                        rest,
                        channels,
                    );
                }
                vertical_sums.add_to_channels(kernel, channels, vertical);
                horizontal_sums.add_to_channels(kernel, channels, horizontal);

                // The pairs across rows: the last pixel of row `i − 1` and
                // the first of row `i`, for `i ≥ 2`.
                let row_starts = (2 * row_len..frame.len()).step_by(row_len);
                for start in row_starts {
                    let last = &frame[start - channels..start];
                    let first = &frame[start..start + channels];
                    let pixels = last.iter().zip(first);
                    for (total, (&a, &b)) in horizontal.iter_mut().zip(pixels) {
                        *total -=
                            u64::from((b.widen() - a.widen()).unsigned_abs());
                    }
                }
            }

            #[inline(always)]
            fn new(kernel: $token) -> Self {
                let _ = kernel;
                // SAFETY: the instruction set is proven by `kernel`.
                let zero = unsafe { $zero() };
                PositionSums {
                    lanes: [[zero; 2]; 3],
                    tail: [zero; 2],
                    tail_shift: 0,
                    runs: 0,
                    tail_used: false,
                    flushed: [0; $run],
                    positions: [0; $run],
                    element: PhantomData,
                }
            }

            /// Adds the vertical differences between `above` and `row`
            /// to `vertical` and the horizontal ones of `row`, `channels`
            /// apart, to `horizontal`, reading each register of `row`
            /// once for both while whole runs of horizontal differences
            /// remain; then the rest of each term on its own.
            #[inline(always)]
            fn add_row_pair(
                kernel: $token,
                vertical: &mut Self,
                horizontal: &mut Self,
                above: &[$elem],
                row: &[$elem],
                channels: usize,
            ) {
                const RUN: usize = $run;
                let pairs = row.len().saturating_sub(channels) / RUN;
                let end = pairs * RUN;
                // `end + channels ≤ row.len()`, and `above` is as long as
                // `row`.
                let mut runs = row[..end]
                    .chunks_exact(RUN)
                    .zip(row[channels..end + channels].chunks_exact(RUN))
                    .zip(above[..end].chunks_exact(RUN));
                let mut left = pairs;
                while left > 0 {
                    // A batch of runs with the sums in registers and no
                    // count to keep, then the flushes that are due. The
                    // terms count their runs apart: the first row and the
                    // rests add runs to one term only.
                    let batch = left
                        .min($max_runs - vertical.runs)
                        .min($max_runs - horizontal.runs);
                    let [mut v0, mut v1, mut v2] = vertical.lanes;
                    let [mut h0, mut h1, mut h2] = horizontal.lanes;
                    for ((x, next), up) in (&mut runs).take(batch) {
                        let (x0, x12) = x.split_at($lanes);
                        let (x1, x2) = x12.split_at($lanes);
                        let (n0, n12) = next.split_at($lanes);
                        let (n1, n2) = n12.split_at($lanes);
                        let (u0, u12) = up.split_at($lanes);
                        let (u1, u2) = u12.split_at($lanes);
                        let x0 = kernel.load(x0);
                        h0 =
                            Self::add_register(kernel, h0, x0, kernel.load(n0));
                        v0 =
                            Self::add_register(kernel, v0, kernel.load(u0), x0);
                        let x1 = kernel.load(x1);
                        h1 =
                            Self::add_register(kernel, h1, x1, kernel.load(n1));
                        v1 =
                            Self::add_register(kernel, v1, kernel.load(u1), x1);
                        let x2 = kernel.load(x2);
                        h2 =
                            Self::add_register(kernel, h2, x2, kernel.load(n2));
                        v2 =
                            Self::add_register(kernel, v2, kernel.load(u2), x2);
                    }
                    vertical.lanes = [v0, v1, v2];
                    horizontal.lanes = [h0, h1, h2];
                    vertical.runs += batch;
                    horizontal.runs += batch;
                    left -= batch;
                    if vertical.runs == $max_runs {
                        vertical.flush(kernel);
                    }
                    if horizontal.runs == $max_runs {
                        horizontal.flush(kernel);
                    }
                }

                let last = row.len().saturating_sub(channels);
                let right = row.get(channels..).unwrap_or_default();
                horizontal.add(kernel, &row[..last], right, end);
                vertical.add(kernel, above, row, end);
            }

            /// Adds `|b[k] − a[k]|` for `k ≥ from`, for slices of equal
            /// length that start on a run boundary, and `from` a multiple
            /// of the run: whole runs, then whole registers, then the
            /// last register of the slices with the bytes before the
            /// rest masked out (zeros in both, so adding nothing), or
            /// for slices shorter than a register, a copy padded with
            /// zeros.
            #[inline(always)]
            fn add(
                &mut self,
                kernel: $token,
                a: &[$elem],
                b: &[$elem],
                from: usize,
            ) {
                const RUN: usize = $run;
                let (Some(a_rest), Some(b_rest)) =
                    (a.get(from..), b.get(from..))
                else {
                    return;
                };
                let mut a_runs = a_rest.chunks_exact(RUN);
                let mut b_runs = b_rest.chunks_exact(RUN);
                let mut left = a_runs.len().min(b_runs.len());
                while left > 0 {
                    // A batch of runs with the sums in registers and no
                    // count to keep, then the flush if it is due.
                    let batch = left.min($max_runs - self.runs);
                    let mut lanes = self.lanes;
                    let runs = (&mut a_runs).zip(&mut b_runs).take(batch);
                    for (a, b) in runs {
                        let (a0, a12) = a.split_at($lanes);
                        let (a1, a2) = a12.split_at($lanes);
                        let (b0, b12) = b.split_at($lanes);
                        let (b1, b2) = b12.split_at($lanes);
                        let [s0, s1, s2] = lanes;
                        lanes = [
                            Self::add_register(
                                kernel,
                                s0,
                                kernel.load(a0),
                                kernel.load(b0),
                            ),
                            Self::add_register(
                                kernel,
                                s1,
                                kernel.load(a1),
                                kernel.load(b1),
                            ),
                            Self::add_register(
                                kernel,
                                s2,
                                kernel.load(a2),
                                kernel.load(b2),
                            ),
                        ];
                    }
                    self.lanes = lanes;
                    self.runs += batch;
                    left -= batch;
                    if self.runs == $max_runs {
                        self.flush(kernel);
                    }
                }

                let (a_rest, b_rest) = (a_runs.remainder(), b_runs.remainder());
                if a_rest.is_empty() {
                    return;
                }
                let mut a_registers = a_rest.chunks_exact($lanes);
                let mut b_registers = b_rest.chunks_exact($lanes);
                let mut lanes = self.lanes.iter_mut();
                // The registers first: `zip` stops when they end without
                // taking the next lanes, which a padded register needs.
                let registers = (&mut a_registers).zip(&mut b_registers);
                for ((a, b), sums) in registers.zip(&mut lanes) {
                    let (a, b) = (kernel.load(a), kernel.load(b));
                    *sums = Self::add_register(kernel, *sums, a, b);
                }
                let partial = a_registers.remainder().len();
                if partial > 0 {
                    let shift = (a.len() % RUN + RUN - $lanes) % RUN;
                    match kernel.last_lanes(a, b, partial) {
                        Some((a, b)) => {
                            if shift != self.tail_shift {
                                // Only when the slices' lengths differ
                                // from those of the last call: it keeps
                                // the per-position totals exact (the
                                // lengths differ by whole pixels, so
                                // the channels' totals would be too).
                                self.flush(kernel);
                                self.tail_shift = shift;
                            }
                            self.tail =
                                Self::add_register(kernel, self.tail, a, b);
                            self.tail_used = true;
                        }
                        None => {
                            let (a, b) = (
                                a_registers.remainder(),
                                b_registers.remainder(),
                            );
                            let mut padded: ([$elem; $lanes], [$elem; $lanes]) =
                                ([0; $lanes], [0; $lanes]);
                            padded.0[..a.len()].copy_from_slice(a);
                            padded.1[..b.len()].copy_from_slice(b);
                            let (a, b) = (
                                kernel.load(&padded.0),
                                kernel.load(&padded.1),
                            );
                            if let Some(sums) = lanes.next() {
                                *sums = Self::add_register(kernel, *sums, a, b);
                            }
                        }
                    }
                }
                self.end_run(kernel);
            }

            /// `sums` (`[all, odd]`) plus the differences `|b − a|` of
            /// one register.
            #[inline(always)]
            fn add_register(
                kernel: $token,
                sums: [$register; 2],
                a: $register,
                b: $register,
            ) -> [$register; 2] {
                let _ = kernel;
                // SAFETY (every block below): the instruction set is
                // proven by `kernel`.
                let d = kernel.$abs_diff(a, b);
                unsafe {
                    [
                        $add_lane(sums[0], d),
                        $add_lane(sums[1], $srli_lane::<$half_bits>(d)),
                    ]
                }
            }

            /// Counts a run, flushing the lanes before they can overflow.
            #[inline(always)]
            fn end_run(&mut self, kernel: $token) {
                self.runs += 1;
                if self.runs == $max_runs {
                    self.flush(kernel);
                }
            }

            /// Adds the wide lanes to `flushed`, those of `tail` (if any
            /// were added) to the per-position totals, and clears them:
            /// lane `i` of a register holds the sums of its elements `2i`
            /// (even) and `2i + 1` (odd).
            #[inline(always)]
            fn flush(&mut self, kernel: $token) {
                let flushed = self.flushed.chunks_exact_mut($lanes);
                for (sums, [all, odd]) in flushed.zip(&mut self.lanes) {
                    let (even, odd) = Self::take_lanes(kernel, all, odd);
                    let (even_sums, odd_sums) = sums.split_at_mut($lanes / 2);
                    for (sum, &e) in even_sums.iter_mut().zip(&even) {
                        *sum += u64::from(e);
                    }
                    for (sum, &o) in odd_sums.iter_mut().zip(&odd) {
                        *sum += u64::from(o);
                    }
                }
                if self.tail_used {
                    let [all, odd] = &mut self.tail;
                    let (even, odd) = Self::take_lanes(kernel, all, odd);
                    add_lanes(
                        &mut self.positions,
                        self.tail_shift,
                        &even,
                        &odd,
                    );
                    self.tail_used = false;
                }
                self.runs = 0;
            }

            /// The sums of the even and the odd elements held by `[all,
            /// odd]`, which are cleared.
            #[inline(always)]
            fn take_lanes(
                kernel: $token,
                all: &mut $register,
                odd: &mut $register,
            ) -> ([$wide; $lanes / 2], [$wide; $lanes / 2]) {
                let _ = kernel;
                // SAFETY: the instruction set is proven by `kernel`.
                let even =
                    unsafe { $sub_lane(*all, $slli_lane::<$half_bits>(*odd)) };
                let mut even_lanes: [$wide; $lanes / 2] = [0; $lanes / 2];
                let mut odd_lanes: [$wide; $lanes / 2] = [0; $lanes / 2];
                // SAFETY: the instruction set is proven by `kernel`; each
                // array holds exactly the register's bytes.
                unsafe {
                    $storeu(even_lanes.as_mut_ptr().cast(), even);
                    $storeu(odd_lanes.as_mut_ptr().cast(), *odd);
                }
                // SAFETY: as above.
                (*all, *odd) = unsafe { ($zero(), $zero()) };
                (even_lanes, odd_lanes)
            }

            /// Adds the totals of each channel to `totals`.
            #[inline(always)]
            fn add_to_channels(
                mut self,
                kernel: $token,
                channels: usize,
                totals: &mut [u64],
            ) {
                self.flush(kernel);
                for (k, sums) in self.flushed.chunks_exact($lanes).enumerate() {
                    let (even, odd) = sums.split_at($lanes / 2);
                    add_lanes(&mut self.positions, k * $lanes, even, odd);
                }
                for pixel in self.positions.chunks_exact(channels) {
                    for (total, &sum) in totals.iter_mut().zip(pixel) {
                        *total += sum;
                    }
                }
            }
        }
    };
}

/// [`IntegerKernel`] for a 16-bit element type on one instruction set of
/// `integer_kernels`; `$flip` flips the sign bits first (`i16`).
macro_rules! sixteen_bit_kernel {
    (
        $token:ty, $register:ty, $bytes:literal, $elem:ty,
        flip = $flip:literal
    ) => {
        impl IntegerKernel<$elem> for $token {
            #[inline(always)]
            fn abs_diff_sum(self, a: &[$elem], b: &[$elem]) -> u64 {
                self.abs_diff_sum_16(a, b, $flip)
            }

            /// Wide planes as images of one channel: each row is read
            /// once for both terms, and the sums stay in registers across
            /// rows. Narrower rows pay more for the setup and the flushes
            /// than they gain.
            #[inline(always)]
            fn plane_sums<'a>(
                self,
                rows: impl Iterator<Item = &'a [$elem]>,
                width: usize,
            ) -> (u64, u64) {
                if width < MIN_POSITION_SUMS_WIDTH {
                    return plane_sums_by_rows(self, rows, width);
                }
                let (mut vertical, mut horizontal) = ([0], [0]);
                self.interleaved_sums(rows, 1, &mut vertical, &mut horizontal);
                (vertical[0], horizontal[0])
            }

            #[inline(always)]
            fn interleaved_sums<'a>(
                self,
                rows: impl Iterator<Item = &'a [$elem]>,
                channels: usize,
                vertical: &mut [u64],
                horizontal: &mut [u64],
            ) {
                type Sums = PositionSums<$register, $elem, { 3 * $bytes / 2 }>;
                let totals = (vertical, horizontal);
                Sums::interleaved_sums(self, rows, channels, totals)
            }

            #[inline(always)]
            fn interleaved_frame_sums(
                self,
                frame: &[$elem],
                row_len: usize,
                channels: usize,
                vertical: &mut [u64],
                horizontal: &mut [u64],
            ) {
                type Sums = PositionSums<$register, $elem, { 3 * $bytes / 2 }>;
                let totals = (vertical, horizontal);
                Sums::frame_sums(self, frame, row_len, channels, totals)
            }
        }
    };
}

macro_rules! integer_kernels {
    (
        $token:ty, $bytes:literal, $register:ty,
        loadu = $loadu:ident, zero = $zero:ident, set1_16 = $set1_16:ident,
        sad = $sad:ident, add64 = $add64:ident, add32 = $add32:ident,
        subs16 = $subs16:ident, or = $or:ident, xor = $xor:ident,
        madd = $madd:ident, storeu = $storeu:ident, and = $and:ident,
        subs8 = $subs8:ident,
        narrower = |$narrow_token:ident| $narrower:expr,
        narrower_type = $narrower_type:ty
    ) => {
        // The SSE2 intrinsics need no `unsafe` in a crate compiled with
        // SSE2; the AVX2 and AVX-512 ones do. One body serves all three.
        #[allow(unused_unsafe)]
        impl $token {
            /// Loads one register from a chunk of exactly one register's
            /// bytes (the chunks come from `chunks_exact`). `T` is `u8`,
            /// `u16` or `i16`: every byte of such a slice is initialised.
            #[inline(always)]
            fn load<T: Integer>(self, chunk: &[T]) -> $register {
                if core::mem::size_of_val(chunk) < $bytes {
                    debug_assert!(false, "a chunk shorter than a register");
                    // SAFETY: the instruction set is proven by `self`.
                    return unsafe { $zero() };
                }
                // SAFETY: the instruction set is proven by `self`; `chunk`
                // holds at least the register's bytes (checked above), and
                // the load is unaligned.
                unsafe { $loadu(chunk.as_ptr().cast()) }
            }

            /// `|a − b|` per byte.
            #[inline(always)]
            fn abs_diff_u8(self, a: $register, b: $register) -> $register {
                // SAFETY: the instruction set is proven by `self`.
                unsafe { $or($subs8(a, b), $subs8(b, a)) }
            }

            /// `|a − b|` per 16-bit element, unsigned.
            #[inline(always)]
            fn abs_diff_u16(self, a: $register, b: $register) -> $register {
                // SAFETY: the instruction set is proven by `self`.
                unsafe { $or($subs16(a, b), $subs16(b, a)) }
            }

            /// `|a − b|` per 16-bit element, signed: with the sign bits
            /// flipped, `i16` maps onto `u16` in order.
            #[inline(always)]
            fn abs_diff_i16(self, a: $register, b: $register) -> $register {
                // SAFETY: the instruction set is proven by `self`.
                let sign_bit = unsafe { $set1_16(i16::MIN) };
                // SAFETY: as above.
                let (a, b) = unsafe { ($xor(a, sign_bit), $xor(b, sign_bit)) };
                self.abs_diff_u16(a, b)
            }

            /// The last register's worth of `a` and `b`, with every byte
            /// zeroed but those of their last `count` elements, or `None`
            /// when the slices are shorter than a register. Zeroed lanes
            /// are equal in both, so their difference is 0: this reads a
            /// row's tail with one full load instead of a scalar loop.
            #[inline(always)]
            fn last_lanes<T: Integer>(
                self,
                a: &[T],
                b: &[T],
                count: usize,
            ) -> Option<($register, $register)> {
                /// Zeros then ones: the mask keeping the last `k` bytes of
                /// a register starts at index `k`.
                const KEEP_LAST: [u8; 2 * $bytes] = {
                    let mut masks = [0; 2 * $bytes];
                    let mut byte = $bytes;
                    while byte < 2 * $bytes {
                        masks[byte] = 0xff;
                        byte += 1;
                    }
                    masks
                };
                let size = core::mem::size_of::<T>();
                let per_register = $bytes / size;
                let keep = count.checked_mul(size).filter(|&k| k <= $bytes)?;
                let a = a.get(a.len().checked_sub(per_register)?..)?;
                let b = b.get(b.len().checked_sub(per_register)?..)?;
                // SAFETY: the instruction set is proven by `self`; the mask
                // is read at `keep ≤ $bytes`, so $bytes bytes fit in
                // `KEEP_LAST`, and the load is unaligned.
                let mask =
                    unsafe { $loadu(KEEP_LAST.as_ptr().add(keep).cast()) };
                // SAFETY: as above.
                unsafe {
                    Some(($and(self.load(a), mask), $and(self.load(b), mask)))
                }
            }

            /// The kernel for what is shorter than a register: the next
            /// narrower instruction set, scalar code below SSE2.
            #[inline(always)]
            fn narrower(self) -> $narrower_type {
                let $narrow_token = self;
                $narrower
            }

            /// The lanes of a register as 64-bit integers.
            #[inline(always)]
            fn lanes64(self, v: $register) -> [u64; $bytes / 8] {
                let mut out = [0u64; $bytes / 8];
                // SAFETY: the instruction set is proven by `self`; `out`
                // holds exactly the register's bytes.
                unsafe { $storeu(out.as_mut_ptr().cast(), v) };
                out
            }

            /// The lanes of a register as 32-bit signed integers.
            #[inline(always)]
            fn lanes32(self, v: $register) -> [i32; $bytes / 4] {
                let mut out = [0i32; $bytes / 4];
                // SAFETY: as in `lanes64`.
                unsafe { $storeu(out.as_mut_ptr().cast(), v) };
                out
            }

            /// `Σ |b[j] − a[j]|` of 16-bit values, exact. With `flip`,
            /// the values are `i16` and their sign bits are flipped first.
            #[inline(always)]
            fn abs_diff_sum_16<T: Integer>(
                self,
                a: &[T],
                b: &[T],
                flip: bool,
            ) -> u64
            where
                $narrower_type: IntegerKernel<T>,
            {
                debug_assert_eq!(a.len(), b.len());
                const LANES: usize = $bytes / 2;
                // SAFETY (every block below without a comment of its own):
                // the instruction set is proven by `self`.
                let sign_bit = unsafe { $set1_16(i16::MIN) };
                let bias = if flip { sign_bit } else { unsafe { $zero() } };
                let ones = unsafe { $set1_16(1) };
                let mut a_chunks = a.chunks_exact(LANES);
                let mut b_chunks = b.chunks_exact(LANES);
                let mut total = 0u64;
                let mut acc = unsafe { $zero() };
                let mut vectors = 0usize;
                for (a, b) in (&mut a_chunks).zip(&mut b_chunks) {
                    let (a, b) = unsafe {
                        (
                            $xor(self.load::<T>(a), bias),
                            $xor(self.load::<T>(b), bias),
                        )
                    };
                    let d = unsafe { $or($subs16(a, b), $subs16(b, a)) };
                    // d − 32768 fits i16; pairs add into i32 lanes.
                    acc =
                        unsafe { $add32(acc, $madd($xor(d, sign_bit), ones)) };
                    vectors += 1;
                    if vectors == VECTORS_PER_FLUSH {
                        total += self.flush(acc, vectors);
                        acc = unsafe { $zero() };
                        vectors = 0;
                    }
                }
                let rest = a_chunks.remainder().len();
                let scalar_rest = match self.last_lanes(a, b, rest) {
                    Some((a, b)) if rest > 0 => {
                        let (a, b) = unsafe { ($xor(a, bias), $xor(b, bias)) };
                        let d = unsafe { $or($subs16(a, b), $subs16(b, a)) };
                        acc = unsafe {
                            $add32(acc, $madd($xor(d, sign_bit), ones))
                        };
                        vectors += 1;
                        0
                    }
                    _ => self.narrower().abs_diff_sum(
                        a_chunks.remainder(),
                        b_chunks.remainder(),
                    ),
                };
                total + self.flush(acc, vectors) + scalar_rest
            }

            /// The exact sum held by `i32` lanes after `vectors` biased
            /// pairs were added to each lane.
            #[inline(always)]
            fn flush(self, acc: $register, vectors: usize) -> u64 {
                let lanes = self.lanes32(acc);
                let biased: i64 =
                    lanes.iter().map(|&lane| i64::from(lane)).sum();
                // Each lane received 2 biased values per vector.
                let bias = 2 * 32768 * (lanes.len() * vectors) as i64;
                (biased + bias) as u64
            }
        }

        #[allow(unused_unsafe)]
        impl IntegerKernel<u8> for $token {
            #[inline(always)]
            fn abs_diff_sum(self, a: &[u8], b: &[u8]) -> u64 {
                debug_assert_eq!(a.len(), b.len());
                let mut a_chunks = a.chunks_exact($bytes);
                let mut b_chunks = b.chunks_exact($bytes);
                // SAFETY (every block below): the instruction set is
                // proven by `self`.
                let mut acc = unsafe { $zero() };
                for (a, b) in (&mut a_chunks).zip(&mut b_chunks) {
                    let sums = unsafe { $sad(self.load(a), self.load(b)) };
                    acc = unsafe { $add64(acc, sums) };
                }

                let rest = a_chunks.remainder().len();
                let scalar_rest = match self.last_lanes(a, b, rest) {
                    Some((a, b)) if rest > 0 => {
                        acc = unsafe { $add64(acc, $sad(a, b)) };
                        0
                    }
                    _ => self.narrower().abs_diff_sum(
                        a_chunks.remainder(),
                        b_chunks.remainder(),
                    ),
                };
                self.lanes64(acc).iter().sum::<u64>() + scalar_rest
            }

            /// One pass over `row` for both totals: each register of `row`
            /// serves its horizontal and its vertical differences.
            #[inline(always)]
            fn row_pair_sums(self, above: &[u8], row: &[u8]) -> (u64, u64) {
                let width = row.len();
                let (Some(left), Some(right)) =
                    (row.get(..width.saturating_sub(1)), row.get(1..))
                else {
                    return (0, 0);
                };
                if width <= $bytes {
                    // Too narrow for a register of horizontal differences.
                    return self.narrower().row_pair_sums(above, row);
                }
                // SAFETY (every block below): the instruction set is
                // proven by `self`.
                let mut vertical = unsafe { $zero() };
                let mut horizontal = unsafe { $zero() };
                let registers = left
                    .chunks_exact($bytes)
                    .zip(right.chunks_exact($bytes))
                    .zip(above.chunks_exact($bytes));
                for ((x, next), up) in registers {
                    let x = self.load(x);
                    let next = self.load(next);
                    let up = self.load(up);
                    horizontal = unsafe { $add64(horizontal, $sad(x, next)) };
                    vertical = unsafe { $add64(vertical, $sad(up, x)) };
                }

                // The tails, as the last register of each pair of slices
                // with the lanes already counted masked out: fewer than a
                // register of horizontal differences, and at most one
                // register of vertical ones.
                let done = left.len() - left.len() % $bytes;
                if let Some((a, b)) =
                    self.last_lanes(left, right, left.len() - done)
                {
                    horizontal = unsafe { $add64(horizontal, $sad(a, b)) };
                }
                if let Some((a, b)) = self.last_lanes(above, row, width - done)
                {
                    vertical = unsafe { $add64(vertical, $sad(a, b)) };
                }
                (
                    self.lanes64(vertical).iter().sum(),
                    self.lanes64(horizontal).iter().sum(),
                )
            }

            #[inline(always)]
            fn interleaved_sums<'a>(
                self,
                rows: impl Iterator<Item = &'a [u8]>,
                channels: usize,
                vertical: &mut [u64],
                horizontal: &mut [u64],
            ) {
                type Sums = PositionSums<$register, u8, { 3 * $bytes }>;
                let totals = (vertical, horizontal);
                Sums::interleaved_sums(self, rows, channels, totals)
            }

            #[inline(always)]
            fn interleaved_frame_sums(
                self,
                frame: &[u8],
                row_len: usize,
                channels: usize,
                vertical: &mut [u64],
                horizontal: &mut [u64],
            ) {
                type Sums = PositionSums<$register, u8, { 3 * $bytes }>;
                let totals = (vertical, horizontal);
                Sums::frame_sums(self, frame, row_len, channels, totals)
            }
        }

        // `u16` and `i16`: the same kernels, the sign bits of `i16`
        // flipped (`abs_diff_sum_16`, `abs_diff_i16`).
        sixteen_bit_kernel!($token, $register, $bytes, u16, flip = false);
        sixteen_bit_kernel!($token, $register, $bytes, i16, flip = true);
    };
}

integer_kernels!(
    Sse2,
    16,
    __m128i,
    loadu = _mm_loadu_si128,
    zero = _mm_setzero_si128,
    set1_16 = _mm_set1_epi16,
    sad = _mm_sad_epu8,
    add64 = _mm_add_epi64,
    add32 = _mm_add_epi32,
    subs16 = _mm_subs_epu16,
    or = _mm_or_si128,
    xor = _mm_xor_si128,
    madd = _mm_madd_epi16,
    storeu = _mm_storeu_si128,
    and = _mm_and_si128,
    subs8 = _mm_subs_epu8,
    narrower = |_sse2| Scalar,
    narrower_type = Scalar
);

integer_kernels!(
    Avx2,
    32,
    __m256i,
    loadu = _mm256_loadu_si256,
    zero = _mm256_setzero_si256,
    set1_16 = _mm256_set1_epi16,
    sad = _mm256_sad_epu8,
    add64 = _mm256_add_epi64,
    add32 = _mm256_add_epi32,
    subs16 = _mm256_subs_epu16,
    or = _mm256_or_si256,
    xor = _mm256_xor_si256,
    madd = _mm256_madd_epi16,
    storeu = _mm256_storeu_si256,
    and = _mm256_and_si256,
    subs8 = _mm256_subs_epu8,
    narrower = |_avx2| Sse2::new(),
    narrower_type = Sse2
);

integer_kernels!(
    Avx512,
    64,
    __m512i,
    loadu = _mm512_loadu_si512,
    zero = _mm512_setzero_si512,
    set1_16 = _mm512_set1_epi16,
    sad = _mm512_sad_epu8,
    add64 = _mm512_add_epi64,
    add32 = _mm512_add_epi32,
    subs16 = _mm512_subs_epu16,
    or = _mm512_or_si512,
    xor = _mm512_xor_si512,
    madd = _mm512_madd_epi16,
    storeu = _mm512_storeu_si512,
    and = _mm512_and_si512,
    subs8 = _mm512_subs_epu8,
    narrower = |avx512| avx512.avx2(),
    narrower_type = Avx2
);

position_sums!(
    Sse2,
    __m128i,
    u8,
    16,
    48,
    wide = u16,
    half_bits = 8,
    max_runs = 256,
    abs_diff = abs_diff_u8,
    zero = _mm_setzero_si128,
    storeu = _mm_storeu_si128,
    add_lane = _mm_add_epi16,
    sub_lane = _mm_sub_epi16,
    srli_lane = _mm_srli_epi16,
    slli_lane = _mm_slli_epi16
);

position_sums!(
    Avx2,
    __m256i,
    u8,
    32,
    96,
    wide = u16,
    half_bits = 8,
    max_runs = 256,
    abs_diff = abs_diff_u8,
    zero = _mm256_setzero_si256,
    storeu = _mm256_storeu_si256,
    add_lane = _mm256_add_epi16,
    sub_lane = _mm256_sub_epi16,
    srli_lane = _mm256_srli_epi16,
    slli_lane = _mm256_slli_epi16
);

position_sums!(
    Sse2,
    __m128i,
    u16,
    8,
    24,
    wide = u32,
    half_bits = 16,
    max_runs = 65536,
    abs_diff = abs_diff_u16,
    zero = _mm_setzero_si128,
    storeu = _mm_storeu_si128,
    add_lane = _mm_add_epi32,
    sub_lane = _mm_sub_epi32,
    srli_lane = _mm_srli_epi32,
    slli_lane = _mm_slli_epi32
);

position_sums!(
    Avx2,
    __m256i,
    u16,
    16,
    48,
    wide = u32,
    half_bits = 16,
    max_runs = 65536,
    abs_diff = abs_diff_u16,
    zero = _mm256_setzero_si256,
    storeu = _mm256_storeu_si256,
    add_lane = _mm256_add_epi32,
    sub_lane = _mm256_sub_epi32,
    srli_lane = _mm256_srli_epi32,
    slli_lane = _mm256_slli_epi32
);

position_sums!(
    Sse2,
    __m128i,
    i16,
    8,
    24,
    wide = u32,
    half_bits = 16,
    max_runs = 65536,
    abs_diff = abs_diff_i16,
    zero = _mm_setzero_si128,
    storeu = _mm_storeu_si128,
    add_lane = _mm_add_epi32,
    sub_lane = _mm_sub_epi32,
    srli_lane = _mm_srli_epi32,
    slli_lane = _mm_slli_epi32
);

position_sums!(
    Avx2,
    __m256i,
    i16,
    16,
    48,
    wide = u32,
    half_bits = 16,
    max_runs = 65536,
    abs_diff = abs_diff_i16,
    zero = _mm256_setzero_si256,
    storeu = _mm256_storeu_si256,
    add_lane = _mm256_add_epi32,
    sub_lane = _mm256_sub_epi32,
    srli_lane = _mm256_srli_epi32,
    slli_lane = _mm256_slli_epi32
);

position_sums!(
    Avx512,
    __m512i,
    u8,
    64,
    192,
    wide = u16,
    half_bits = 8,
    max_runs = 256,
    abs_diff = abs_diff_u8,
    zero = _mm512_setzero_si512,
    storeu = _mm512_storeu_si512,
    add_lane = _mm512_add_epi16,
    sub_lane = _mm512_sub_epi16,
    srli_lane = _mm512_srli_epi16,
    slli_lane = _mm512_slli_epi16
);

position_sums!(
    Avx512,
    __m512i,
    u16,
    32,
    96,
    wide = u32,
    half_bits = 16,
    max_runs = 65536,
    abs_diff = abs_diff_u16,
    zero = _mm512_setzero_si512,
    storeu = _mm512_storeu_si512,
    add_lane = _mm512_add_epi32,
    sub_lane = _mm512_sub_epi32,
    srli_lane = _mm512_srli_epi32,
    slli_lane = _mm512_slli_epi32
);

position_sums!(
    Avx512,
    __m512i,
    i16,
    32,
    96,
    wide = u32,
    half_bits = 16,
    max_runs = 65536,
    abs_diff = abs_diff_i16,
    zero = _mm512_setzero_si512,
    storeu = _mm512_storeu_si512,
    add_lane = _mm512_add_epi32,
    sub_lane = _mm512_sub_epi32,
    srli_lane = _mm512_srli_epi32,
    slli_lane = _mm512_slli_epi32
);
