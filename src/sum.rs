//! Blocked pairwise summation in one fixed order.
//!
//! Floating-point addition is not associative, so "the sum" of a plane's
//! differences is only defined once the order of the additions is. This
//! module fixes it, and every backend follows it, which is what makes the
//! results bit-identical across them:
//!
//! 1. The differences of one row are cut into vectors of `LANES`
//!    consecutive values (16 for `f32`, 8 for `f64`); the last vector of a
//!    row is filled up with `+0.0`. Rows are fed one after the other, top
//!    to bottom, and a row with no difference feeds nothing.
//! 2. A block is `BLOCK_VECTORS` consecutive vectors, added lane by lane in
//!    order into a block vector that starts at zero.
//! 3. Finished blocks are combined as a balanced binary tree, in the way a
//!    binary counter carries: a new block is added to the block of equal
//!    rank on its left, if there is one, and the sum carries one rank up.
//!    At the end the unfinished block is added to the remaining ranks from
//!    the lowest to the highest.
//! 4. The final vector is reduced by halving: lane `i` plus lane
//!    `i + LANES/2`, then the same on the first half, down to one value.
//!
//! Because every value added is an absolute value (`+0.0`, positive, `+inf`
//! or NaN), adding `+0.0` changes nothing, so the padding and the zero
//! starts of the blocks do not alter the result. The rounding error grows
//! with `BLOCK_VECTORS + log2(n)` instead of `n`, which keeps the sum of a
//! 8192×8192 `f32` plane within about 1e-7 of the exact value.

/// The number of vectors summed in order before a block joins the tree.
pub(crate) const BLOCK_VECTORS: usize = 8;

/// The ranks of the tree: enough for `usize::MAX` blocks.
const RANKS: usize = usize::BITS as usize;

/// A fixed-width group of lanes that the summation works on.
///
/// The scalar backend implements it on arrays, SIMD backends on registers;
/// both must produce the same bits for `add` and `reduce`.
pub(crate) trait LaneVector: Copy {
    /// The element type of a lane.
    type Scalar: Copy;

    /// A vector of `+0.0` in every lane.
    fn zero() -> Self;

    /// Lane-wise addition.
    fn add(self, other: Self) -> Self;

    /// The sum of the lanes, by halving (see the module docs).
    fn reduce(self) -> Self::Scalar;
}

/// Accumulates vectors into one sum in the order of the module docs.
pub(crate) struct PairwiseSum<V: LaneVector> {
    block: V,
    vectors_in_block: usize,
    /// Finished blocks so far; bit `r` set means `ranks[r]` holds a sum of
    /// `2^r` blocks.
    blocks_done: usize,
    ranks: [V; RANKS],
}

impl<V: LaneVector> PairwiseSum<V> {
    /// An empty sum.
    pub(crate) fn new() -> Self {
        PairwiseSum {
            block: V::zero(),
            vectors_in_block: 0,
            blocks_done: 0,
            ranks: [V::zero(); RANKS],
        }
    }

    /// Starts over, keeping the storage. Ranks whose bit is clear are never
    /// read, so they need no clearing.
    #[inline]
    pub(crate) fn reset(&mut self) {
        self.block = V::zero();
        self.vectors_in_block = 0;
        self.blocks_done = 0;
    }

    /// Adds the next vector of the sequence.
    #[inline(always)]
    pub(crate) fn push(&mut self, vector: V) {
        self.block = self.block.add(vector);
        self.vectors_in_block += 1;
        if self.vectors_in_block == BLOCK_VECTORS {
            self.finish_block();
        }
    }

    #[inline(never)]
    fn finish_block(&mut self) {
        let mut carry = self.block;
        let mut rank = 0;
        while self.blocks_done >> rank & 1 == 1 {
            carry = self.ranks[rank].add(carry);
            rank += 1;
        }
        // `rank < RANKS`: a usize of all ones would mean usize::MAX blocks
        // of at least one vector each, more than memory can hold.
        self.ranks[rank] = carry;
        self.blocks_done = self.blocks_done.wrapping_add(1);
        self.block = V::zero();
        self.vectors_in_block = 0;
    }

    /// The sum of everything pushed since the last reset.
    pub(crate) fn total(&self) -> V::Scalar {
        let mut total = self.block;
        for rank in 0..RANKS {
            if self.blocks_done >> rank & 1 == 1 {
                total = self.ranks[rank].add(total);
            }
        }
        total.reduce()
    }
}

/// Implements [`LaneVector`] for a scalar array, the definition that the
/// SIMD vectors reproduce.
macro_rules! array_lane_vector {
    ($scalar:ty, $lanes:expr) => {
        impl LaneVector for [$scalar; $lanes] {
            type Scalar = $scalar;

            #[inline(always)]
            fn zero() -> Self {
                [0.0; $lanes]
            }

            #[inline(always)]
            fn add(self, other: Self) -> Self {
                let mut out = self;
                for (lane, value) in out.iter_mut().zip(other) {
                    *lane += value;
                }
                out
            }

            #[inline(always)]
            fn reduce(self) -> $scalar {
                let mut lanes = self;
                let mut width = $lanes / 2;
                while width > 0 {
                    for lane in 0..width {
                        lanes[lane] += lanes[lane + width];
                    }
                    width /= 2;
                }
                lanes[0]
            }
        }
    };
}

array_lane_vector!(f32, 16);
array_lane_vector!(f64, 8);

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree shape, checked with exact small integers: any order gives
    /// the same total, so this tests bookkeeping, not rounding.
    #[test]
    fn totals_every_count_of_vectors() {
        let mut sum = PairwiseSum::<[f64; 8]>::new();
        for count in 0..200usize {
            sum.reset();
            let mut expected = 0.0;
            for k in 0..count {
                let mut v = [0.0; 8];
                for (lane, value) in v.iter_mut().enumerate() {
                    *value = (k * 8 + lane) as f64;
                    expected += *value;
                }
                sum.push(v);
            }
            assert_eq!(sum.total(), expected, "{count} vectors");
        }
    }

    /// Rounding happens in the documented order. The first vector holds
    /// 1.0 in lane 0, then 127 vectors hold t = 2^-53 (half an ulp of 1.0)
    /// in every lane. Derived by hand:
    /// - block 0, lane 0: 1 + t rounds back to 1 (ties to even), seven
    ///   times; lanes 1..8 of block 0 keep 7t, every other block 8t a lane;
    /// - the tree gives lane 0 = 1 + 120t (every partial sum is 1 plus an
    ///   even multiple of t, so exact) and lanes 1..8 = 127t;
    /// - halving: (1 + 120t) + 127t = 1 + 247t is a tie and rounds to
    ///   1 + 248t; then 1 + 502t, then 1 + 1010t, all exact.
    ///
    /// A left-to-right sum would have returned 1.0.
    #[test]
    fn rounding_follows_the_documented_order() {
        let t = f64::EPSILON / 2.0;
        let mut sum = PairwiseSum::<[f64; 8]>::new();
        sum.push([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        for _ in 1..16 * BLOCK_VECTORS {
            sum.push([t; 8]);
        }
        assert_eq!(sum.total(), 1.0 + 1010.0 * t);
    }
}
