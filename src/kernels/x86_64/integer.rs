//! Exact sums of absolute differences of integer rows, on SSE2 and AVX2.
//!
//! Integer sums are exact, so unlike the float kernels these need not
//! follow any order: each kernel only has to return the true `u64` total.
//!
//! - `u8`: `psadbw` (`_mm_sad_epu8`, `_mm256_sad_epu8`) sums the absolute
//!   differences of 8 byte pairs into a 64-bit lane in one instruction.
//! - `u16`: `|a − b|` is `(a ⊖ b) | (b ⊖ a)` with saturating subtraction.
//!   The differences, biased by −32768 to fit `i16`, are added in pairs
//!   into `i32` lanes by `pmaddwd`; the bias is removed when the lanes are
//!   flushed into the `u64` total, often enough that they cannot overflow.
//! - `i16`: flipping the sign bit maps `i16` onto `u16` in the same order
//!   and with the same differences, then as `u16`.
//!
//! SSE2 is part of every x86-64 CPU, so its kernels need no detection.

use core::arch::x86_64::*;

use super::super::IntegerKernel;
use super::super::scalar::{Integer, Scalar};
use super::avx2::Avx2;

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

/// The absolute differences of interleaved bytes, summed per byte
/// position of a run of three registers (`RUN` bytes); see
/// `interleaved_sums`.
struct PositionSums<R, const RUN: usize> {
    /// Per register of the run, the 16-bit sums of its low and high bytes.
    lanes: [[R; 2]; 3],
    /// Runs added to `lanes` since they were last flushed.
    runs: usize,
    /// The flushed totals, per byte position of the run.
    positions: [u64; RUN],
}

/// Vectors of 16-bit differences between two flushes of the `i32` lanes:
/// each lane gains at most 2·32768 in absolute value per vector, so
/// 2^14 vectors stay below 2^31.
const VECTORS_PER_FLUSH: usize = 1 << 14;

macro_rules! integer_kernels {
    (
        $token:ty, $bytes:literal, $register:ty,
        loadu = $loadu:ident, zero = $zero:ident, set1_16 = $set1_16:ident,
        sad = $sad:ident, add64 = $add64:ident, add32 = $add32:ident,
        subs16 = $subs16:ident, or = $or:ident, xor = $xor:ident,
        madd = $madd:ident, storeu = $storeu:ident, and = $and:ident,
        subs8 = $subs8:ident, add16 = $add16:ident,
        unpacklo8 = $unpacklo8:ident, unpackhi8 = $unpackhi8:ident
    ) => {
        // The SSE2 intrinsics need no `unsafe` in a crate compiled with
        // SSE2; the AVX2 ones do. One body serves both.
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
                Scalar: IntegerKernel<T>,
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
                    _ => Scalar.abs_diff_sum(
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
                    _ => Scalar.abs_diff_sum(
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
                    return (
                        Scalar.abs_diff_sum(above, row),
                        Scalar.abs_diff_sum(left, right),
                    );
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

            /// Reads the rows in runs of three registers, whose length is
            /// a multiple of the channel count, so each byte position of a
            /// run always holds the same channel. The absolute differences
            /// are widened to 16-bit lanes per position and added up; at
            /// least every 256 runs, before a lane can pass 256·255 < 2^16,
            /// they are flushed into a `u64` per position. The positions
            /// are added up per channel at the end.
            #[inline(always)]
            fn interleaved_sums<'a>(
                self,
                rows: impl Iterator<Item = &'a [u8]>,
                channels: usize,
                vertical: &mut [u64],
                horizontal: &mut [u64],
            ) {
                if channels == 0 || (3 * $bytes) % channels != 0 {
                    return Scalar.interleaved_sums(
                        rows, channels, vertical, horizontal,
                    );
                }
                let mut vertical_sums =
                    PositionSums::<$register, { 3 * $bytes }>::new(self);
                let mut horizontal_sums =
                    PositionSums::<$register, { 3 * $bytes }>::new(self);
                let mut above: Option<&[u8]> = None;
                for row in rows {
                    let left = &row[..row.len().saturating_sub(channels)];
                    let right = row.get(channels..).unwrap_or_default();
                    horizontal_sums.add(self, left, right);
                    if let Some(above) = above {
                        vertical_sums.add(self, above, row);
                    }
                    above = Some(row);
                }
                vertical_sums.add_to_channels(self, channels, vertical);
                horizontal_sums.add_to_channels(self, channels, horizontal);
            }
        }

        /// Per-position sums of absolute byte differences over runs of
        /// three registers: 16-bit lanes, flushed into `u64` totals.
        #[allow(unused_unsafe)]
        impl PositionSums<$register, { 3 * $bytes }> {
            #[inline(always)]
            fn new(kernel: $token) -> Self {
                let _ = kernel;
                // SAFETY: the instruction set is proven by `kernel`.
                let zero = unsafe { $zero() };
                PositionSums {
                    lanes: [[zero; 2]; 3],
                    runs: 0,
                    positions: [0; 3 * $bytes],
                }
            }

            /// Adds `|b[k] − a[k]|` for slices of equal length that start
            /// on a run boundary: whole runs, then the rest, whose last
            /// register is read from a copy padded with zeros (equal in
            /// both, so adding nothing).
            #[inline(always)]
            fn add(&mut self, kernel: $token, a: &[u8], b: &[u8]) {
                let mut a_runs = a.chunks_exact(3 * $bytes);
                let mut b_runs = b.chunks_exact(3 * $bytes);
                // The sums stay in registers for a whole row.
                let [mut sums0, mut sums1, mut sums2] = self.lanes;
                for (a, b) in (&mut a_runs).zip(&mut b_runs) {
                    let (a0, a12) = a.split_at($bytes);
                    let (a1, a2) = a12.split_at($bytes);
                    let (b0, b12) = b.split_at($bytes);
                    let (b1, b2) = b12.split_at($bytes);
                    sums0 = Self::add_register(kernel, sums0, a0, b0);
                    sums1 = Self::add_register(kernel, sums1, a1, b1);
                    sums2 = Self::add_register(kernel, sums2, a2, b2);
                    self.runs += 1;
                    if self.runs == 256 {
                        self.lanes = [sums0, sums1, sums2];
                        self.flush(kernel);
                        [sums0, sums1, sums2] = self.lanes;
                    }
                }
                self.lanes = [sums0, sums1, sums2];

                let (a, b) = (a_runs.remainder(), b_runs.remainder());
                if a.is_empty() {
                    return;
                }
                let registers = a.chunks($bytes).zip(b.chunks($bytes));
                for (sums, (a, b)) in self.lanes.iter_mut().zip(registers) {
                    let mut padded = ([0u8; $bytes], [0u8; $bytes]);
                    padded.0[..a.len()].copy_from_slice(a);
                    padded.1[..b.len()].copy_from_slice(b);
                    *sums =
                        Self::add_register(kernel, *sums, &padded.0, &padded.1);
                }
                self.end_run(kernel);
            }

            /// `sums` plus the widened differences of one register; `a`
            /// and `b` hold exactly one register.
            #[inline(always)]
            fn add_register(
                kernel: $token,
                sums: [$register; 2],
                a: &[u8],
                b: &[u8],
            ) -> [$register; 2] {
                let (a, b) = (kernel.load(a), kernel.load(b));
                // SAFETY (every block below): the instruction set is
                // proven by `kernel`.
                let zero = unsafe { $zero() };
                let d = unsafe { $or($subs8(a, b), $subs8(b, a)) };
                unsafe {
                    [
                        $add16(sums[0], $unpacklo8(d, zero)),
                        $add16(sums[1], $unpackhi8(d, zero)),
                    ]
                }
            }

            /// Counts a run, flushing the lanes before they can overflow.
            #[inline(always)]
            fn end_run(&mut self, kernel: $token) {
                self.runs += 1;
                if self.runs == 256 {
                    self.flush(kernel);
                }
            }

            /// Moves the 16-bit lanes into the per-position totals and
            /// clears them. `unpacklo` (`lanes[k][0]`) and `unpackhi`
            /// (`lanes[k][1]`) work within each 128-bit half.
            #[inline(always)]
            fn flush(&mut self, kernel: $token) {
                let _ = kernel;
                for (k, halves) in self.lanes.iter_mut().enumerate() {
                    for (half, sum) in halves.iter_mut().enumerate() {
                        let mut lanes = [0u16; $bytes / 2];
                        // SAFETY: the instruction set is proven by
                        // `kernel`; `lanes` holds exactly the register's
                        // bytes.
                        unsafe { $storeu(lanes.as_mut_ptr().cast(), *sum) };
                        for (i, &lane) in lanes.iter().enumerate() {
                            let byte = i / 8 * 16 + half * 8 + i % 8;
                            self.positions[k * $bytes + byte] +=
                                u64::from(lane);
                        }
                        // SAFETY: as above.
                        *sum = unsafe { $zero() };
                    }
                }
                self.runs = 0;
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
                for pixel in self.positions.chunks_exact(channels) {
                    for (total, &sum) in totals.iter_mut().zip(pixel) {
                        *total += sum;
                    }
                }
            }
        }

        impl IntegerKernel<u16> for $token {
            #[inline(always)]
            fn abs_diff_sum(self, a: &[u16], b: &[u16]) -> u64 {
                self.abs_diff_sum_16(a, b, false)
            }
        }

        impl IntegerKernel<i16> for $token {
            #[inline(always)]
            fn abs_diff_sum(self, a: &[i16], b: &[i16]) -> u64 {
                self.abs_diff_sum_16(a, b, true)
            }
        }
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
    add16 = _mm_add_epi16,
    unpacklo8 = _mm_unpacklo_epi8,
    unpackhi8 = _mm_unpackhi_epi8
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
    add16 = _mm256_add_epi16,
    unpacklo8 = _mm256_unpacklo_epi8,
    unpackhi8 = _mm256_unpackhi_epi8
);
