//! Blocked pairwise summation in one fixed order.
//!
//! Floating-point addition is not associative, so "the sum" of a plane's
//! differences is only defined once the order of the additions is. This
//! module fixes it, and every backend follows it, which is what makes the
//! results bit-identical across them:
//!
//! 1. The differences of one row are cut into vectors of `LANES`
//!    consecutive values (16 for `f32`, 8 for `f64`); the last vector of a
//!    row is filled up with `+0.0`.
//! 2. The vectors of one row are grouped into blocks of `BLOCK_VECTORS`
//!    consecutive vectors; the last block of a row may be shorter, and a
//!    row with no difference has no block. A block's sum adds its vectors
//!    lane by lane, in order.
//! 3. The blocks of all rows, top to bottom, are combined as a balanced
//!    binary tree, the way a binary counter carries: a new block is added
//!    to the sum of equal rank on its left, if there is one, and the
//!    result carries one rank up. At the end the remaining ranks are added
//!    from the lowest to the highest.
//! 4. The final vector is reduced by halving: lane `i` plus lane
//!    `i + LANES/2`, then the same on the first half, down to one value.
//!
//! In pseudocode, for one term of one plane:
//!
//! ```text
//! ranks = []                       # ranks[r]: a sum of 2^r blocks
//! for row in rows:
//!     for block in chunks(vectors(row), BLOCK_VECTORS):
//!         carry = block[0] + block[1] + … (lane-wise, left to right)
//!         r = 0
//!         while ranks[r] is taken: carry = ranks[r] + carry; free r; r += 1
//!         ranks[r] = carry
//! total = 0; for r in taken ranks, lowest first: total = ranks[r] + total
//! return halving_sum(total lanes)
//! ```
//!
//! Every value added is an absolute value or, for the per-pixel norms, a
//! term that is never negative nor `−0.0` (see
//! `kernels::scalar::pixel_term`): `+0.0`, positive, `+inf` or NaN. So
//! adding `+0.0` changes nothing: the padding does not alter the result. The rounding error grows with `BLOCK_VECTORS + log2(n)` instead
//! of `n`, which keeps the sum of an 8192×8192 `f32` plane within about
//! 1e-7 of the exact value. Blocks never span two rows, so a SIMD kernel
//! sums each block in registers with no state carried between rows.

/// The most vectors in one block.
pub(crate) const BLOCK_VECTORS: usize = 16;

/// The ranks of the tree: enough for `usize::MAX` blocks.
const RANKS: usize = usize::BITS as usize;

/// A fixed-width group of lanes that the summation works on.
///
/// The scalar backend implements it on arrays, SIMD backends on registers;
/// both must produce the same bits for `add` and `reduce`.
pub(crate) trait LaneVector: Copy {
    /// The element type of a lane.
    type Scalar: Copy;

    /// Lane-wise addition.
    fn add(self, other: Self) -> Self;

    /// The sum of the lanes, by halving (see the module docs).
    fn reduce(self) -> Self::Scalar;
}

/// Where the kernels hand the sums of a term's blocks, in order: a
/// [`PairwiseSum`], or whatever collects the blocks of part of a plane
/// for it.
pub(crate) trait BlockSink<V> {
    /// Takes the sum of the next block.
    fn push_block(&mut self, block: V);
}

impl<V: LaneVector> BlockSink<V> for PairwiseSum<V> {
    #[inline(always)]
    fn push_block(&mut self, block: V) {
        PairwiseSum::push_block(self, block);
    }
}

/// Combines block sums into one total in the order of the module docs.
pub(crate) struct PairwiseSum<V: LaneVector> {
    zero: V,
    /// Blocks so far; bit `r` set means `ranks[r]` holds a sum of `2^r`
    /// blocks.
    blocks: usize,
    ranks: [V; RANKS],
}

impl<V: LaneVector> PairwiseSum<V> {
    /// An empty sum; `zero` is the vector of `+0.0` in every lane.
    #[inline(always)]
    pub(crate) fn new(zero: V) -> Self {
        PairwiseSum { zero, blocks: 0, ranks: [zero; RANKS] }
    }

    /// Starts over, keeping the storage. Ranks whose bit is clear are never
    /// read, so they need no clearing.
    #[inline(always)]
    pub(crate) fn reset(&mut self) {
        self.blocks = 0;
    }

    /// Adds the sum of the next block.
    // Inlined, like everything here, so that SIMD vectors stay in the
    // instruction set of the kernel that uses them.
    #[inline(always)]
    pub(crate) fn push_block(&mut self, block: V) {
        let mut carry = block;
        let mut rank = 0;
        while self.blocks >> rank & 1 == 1 {
            carry = self.ranks[rank].add(carry);
            rank += 1;
        }
        // `rank < RANKS`: a usize of all ones would mean usize::MAX blocks
        // of at least one difference each, more than memory can hold.
        self.ranks[rank] = carry;
        self.blocks = self.blocks.wrapping_add(1);
    }

    /// The complete subtrees that the sum holds, earliest blocks first:
    /// for each set bit `r` of the count of blocks, from the highest,
    /// `(r, sum of its 2^r blocks)` as the tree combined them.
    #[cfg(feature = "rayon")]
    pub(crate) fn subtrees(&self) -> impl Iterator<Item = (u32, V)> + '_ {
        (0..usize::BITS)
            .rev()
            .filter(|&rank| self.blocks >> rank & 1 == 1)
            .map(|rank| (rank, self.ranks[rank as usize]))
    }

    /// Adds `subtree`, the sum of `2^rank` blocks that a fresh
    /// [`PairwiseSum`] combined, as if they had been pushed one by one
    /// with [`PairwiseSum::push_block`]. The count of blocks so far must
    /// be a multiple of `2^rank`.
    ///
    /// Why the bits are those of the pushes one by one: let the count be
    /// `c`, a multiple of `2^rank`, so its bits below `rank` are zero.
    /// While the `2^rank` blocks are pushed one by one, the count runs
    /// from `c` to `c + 2^rank − 1` before the last push: its bits below
    /// `rank` run through those of `0` to `2^rank − 1` and its higher
    /// bits stay those of `c`. So before the last push every carry stops
    /// below `rank`, and the ranks below `rank` hold exactly what a fresh
    /// sum holds after the same pushes (a rank whose bit is clear is
    /// never read). The last push then carries through every rank below
    /// `rank`, as the last of `2^rank` pushes into a fresh sum does, and
    /// arrives at rank `rank` with the carry that a fresh sum stores
    /// there: `subtree`. From there it continues into the ranks of `c`,
    /// which is what this function does with `subtree`, leaving the
    /// ranks below `rank` free and the count `c + 2^rank`.
    #[cfg(feature = "rayon")]
    #[inline]
    pub(crate) fn push_subtree(&mut self, rank: u32, subtree: V) {
        let mut carry = subtree;
        let mut rank = rank as usize;
        let blocks = 1usize << rank;
        while self.blocks >> rank & 1 == 1 {
            carry = self.ranks[rank].add(carry);
            rank += 1;
        }
        // `rank < RANKS`, as in `push_block`.
        self.ranks[rank] = carry;
        self.blocks = self.blocks.wrapping_add(blocks);
    }

    /// The sum of every block pushed since the last reset.
    #[inline(always)]
    pub(crate) fn total(&self) -> V::Scalar {
        let mut total = self.zero;
        for rank in 0..RANKS {
            if self.blocks >> rank & 1 == 1 {
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

    /// The tree's bookkeeping, checked with exact small integers: any
    /// order gives the same total, so this tests that every block counts
    /// once, for every count of blocks.
    #[test]
    fn totals_every_count_of_blocks() {
        let mut sum = PairwiseSum::new([0.0f64; 8]);
        for count in 0..200usize {
            sum.reset();
            let mut expected = 0.0;
            for k in 0..count {
                let mut v = [0.0; 8];
                for (lane, value) in v.iter_mut().enumerate() {
                    *value = (k * 8 + lane) as f64;
                    expected += *value;
                }
                sum.push_block(v);
            }
            assert_eq!(sum.total(), expected, "{count} blocks");
        }
    }

    /// Rounding happens in the documented tree. Block 0 holds 1.0 in lane
    /// 0; blocks 1 to 15 hold t = 2^-53 (half an ulp of 1.0) in every
    /// lane. Derived by hand:
    /// - the tree pairs block 0 with block 1 first: lane 0 becomes 1 + t,
    ///   a tie, which rounds to even: 1. Every later partial sum of lane 0
    ///   is 1 plus an even multiple of t (exact): 1 + 14t at the end;
    ///   lanes 1 to 7 hold 15t.
    /// - halving: (1 + 14t) + 15t = 1 + 29t, a tie between 1 + 28t and
    ///   1 + 30t (14 and 15 ulps), rounds to the even 1 + 28t; then
    ///   (1 + 28t) + 30t = 1 + 58t and (1 + 58t) + 60t = 1 + 118t, both
    ///   exact.
    ///
    /// A left-to-right sum would have returned 1.0 exactly.
    #[test]
    fn rounding_follows_the_documented_order() {
        let t = f64::EPSILON / 2.0;
        let mut sum = PairwiseSum::new([0.0f64; 8]);
        sum.push_block([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        for _ in 1..16 {
            sum.push_block([t; 8]);
        }
        assert_eq!(sum.total(), 1.0 + 118.0 * t);
    }
}
