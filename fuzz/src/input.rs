//! How the fuzzer's bytes become one case: an element type, a shape, a
//! slice length, a reduction, an upstream gradient and the pixels.
//!
//! Every byte string is a valid input; a byte past the end reads as 0.
//!
//! | bytes | meaning |
//! | --- | --- |
//! | 1 | element type: `b % 5` picks f32, f64, u8, u16, i16 (`b % 2` picks f32, f64 for the gradient) |
//! | 1 | flags, see [`flags`] |
//! | 1 | number of dimensions: `b % 7`, so 0 to 6 (0 to 4 leading ones) |
//! | 1 per leading dimension | `b % 4`, or [`HUGE`]`[b − 0xF0]` from `0xF0` on |
//! | 1 for the height | `b % 40`, or [`HUGE`]`[b − 0xF0]` from `0xF0` on |
//! | 2 for the width, little-endian `w` | `w % 1100` below `0xF000`, [`LONG`]`[w % 8]` below `0xFF00`, else [`HUGE`]`[w % 16]` |
//! | 1 | slice length `s`, see [`Case::img_len`] |
//! | 1 | upstream length `u`, see [`Case::upstream_len`] |
//! | 1 | norm: `b % 4` picks anisotropic, isotropic, squared, smooth; for smooth, `ε = `[`EPSILONS`]`[b >> 2 & 15]` |
//! | the rest | the upstream values, then the pixels, each read by [`Pixel::from_bytes`] |
//!
//! A shape of one dimension has only the width; a shape of none has no
//! dimension bytes at all. Once the bytes run out, the values come from a
//! xorshift generator seeded with a hash of the whole input, in the fill
//! mode of the flags, so a few bytes describe a large image.

use total_variation::{Norm, Reduction};

/// The bits of the flags byte.
pub mod flags {
    /// [`Reduction::Mean`](total_variation::Reduction::Mean) rather than
    /// `Sum`.
    pub const MEAN: u8 = 1;
    /// The image slice does not match the shape.
    pub const SLICE_OFF: u8 = 1 << 1;
    /// The upstream gradient does not hold one value per plane.
    pub const UPSTREAM_OFF: u8 = 1 << 2;
    /// The byte view of the image lacks its last byte.
    pub const BYTES_SHORT: u8 = 1 << 3;
    /// Bits 4 and 5: the fill mode of the generated values.
    pub const FILL_SHIFT: u8 = 4;
    /// Bits 6 and 7: the byte view starts this many bytes into an
    /// aligned buffer.
    pub const OFFSET_SHIFT: u8 = 6;
}

/// Dimensions whose products overflow, or that cannot be allocated.
pub const HUGE: [usize; 16] = [
    usize::MAX,
    usize::MAX - 1,
    usize::MAX / 2,
    usize::MAX / 2 + 1,
    usize::MAX / 3,
    1 << 63,
    1 << 62,
    1 << 48,
    1 << 40,
    1 << 32,
    (1 << 32) + 1,
    1 << 31,
    3 << 30,
    1 << 20,
    65_536,
    65_537,
];

/// Long rows, 2^17 to 2^19 values, around powers of two: in interleaved
/// `u8` images, many flushes of the 16-bit per-position sums (every 256
/// runs of three registers, at most 49 152 bytes).
pub const LONG: [usize; 8] =
    [131_071, 131_072, 131_073, 262_143, 262_144, 262_145, 393_217, 524_288];

/// The smoothing scales of [`Norm::Smooth`]: valid ones of every size,
/// ones whose square is subnormal or zero in `f32` or `f64`, or overflows
/// there, and invalid ones.
pub const EPSILONS: [f64; 16] = [
    0.5,
    1.0,
    1e-3,
    3e15,
    1e-21,
    1e-30,
    1e20,
    1e-160,
    1e-170,
    1e160,
    f64::MIN_POSITIVE,
    0.0,
    -1.0,
    f64::NAN,
    f64::INFINITY,
    -0.0,
];

/// The norm selected by a byte.
pub fn norm(byte: u8) -> Norm {
    match byte % 4 {
        0 => Norm::Anisotropic,
        1 => Norm::Isotropic,
        2 => Norm::SquaredL2,
        _ => Norm::Smooth { epsilon: EPSILONS[usize::from(byte >> 2 & 15)] },
    }
}

/// The most elements of an image the harness allocates.
pub const MAX_ELEMENTS: usize = 1 << 16;

/// The most elements of an image with rows of [`LONG`] width.
pub const MAX_LONG_ELEMENTS: usize = 1 << 20;

/// The most planes whose output the harness allocates; beyond, only the
/// error paths that need no output run.
pub const MAX_PLANES: usize = 1 << 16;

/// The pixel types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    F32,
    F64,
    U8,
    U16,
    I16,
}

/// Which element types a target decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Types {
    /// All five.
    All,
    /// `f32` and `f64`.
    Float,
}

/// A byte reader that reads zeros past the end.
pub struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data, pos: 0 }
    }

    /// The next byte, if there is one.
    pub fn next(&mut self) -> Option<u8> {
        let byte = self.data.get(self.pos).copied();
        self.pos += usize::from(byte.is_some());
        byte
    }

    /// The next byte, or 0.
    pub fn byte(&mut self) -> u8 {
        self.next().unwrap_or(0)
    }

    /// The next `N` bytes, zeros past the end.
    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        core::array::from_fn(|_| self.byte())
    }
}

/// The xorshift64 generator that continues where the bytes end.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with the FNV-1a hash of `data`.
    pub fn from_input(data: &[u8]) -> Self {
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        for &byte in data {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        // xorshift must not start at zero.
        Rng(hash | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A pixel type the harness can read from bytes or generate.
pub trait Pixel: Copy {
    /// A value chosen by `selector`, reading more bytes if it says so.
    fn from_bytes(selector: u8, bytes: &mut Bytes<'_>) -> Self;

    /// A generated value in fill mode `fill` (0 to 3).
    fn generate(fill: u8, rng: &mut Rng) -> Self;
}

macro_rules! float_pixel {
    ($t:ty, $bits:ty, $mantissa:expr) => {
        impl Pixel for $t {
            /// Below `0x80`, an integer in −16..16; below `0xC0`, one of
            /// 32 special values; else the raw bits of the next bytes.
            fn from_bytes(selector: u8, bytes: &mut Bytes<'_>) -> $t {
                const SIZE: usize = core::mem::size_of::<$t>();
                match selector {
                    0x00..0x80 => f64::from(selector & 0x1f) as $t - 16.0,
                    0x80..0xC0 => {
                        let smallest = <$t>::from_bits(1);
                        let largest_subnormal =
                            <$t>::from_bits(<$t>::MIN_POSITIVE.to_bits() - 1);
                        let quiet = <$bits>::MAX >> 1 & !(<$bits>::MAX >> 2);
                        let exponent = <$t>::INFINITY.to_bits();
                        [
                            <$t>::NAN,
                            -<$t>::NAN,
                            <$t>::INFINITY,
                            <$t>::NEG_INFINITY,
                            0.0,
                            -0.0,
                            <$t>::MIN_POSITIVE,
                            -<$t>::MIN_POSITIVE,
                            smallest,
                            -smallest,
                            largest_subnormal,
                            -largest_subnormal,
                            <$t>::MAX,
                            <$t>::MIN,
                            <$t>::MAX / 2.0,
                            -<$t>::MAX / 2.0,
                            1.0,
                            -1.0,
                            0.5,
                            <$t>::EPSILON,
                            1.0 + <$t>::EPSILON,
                            1.0e30,
                            -1.0e30,
                            (1u64 << $mantissa) as $t,
                            (1u64 << $mantissa) as $t + 2.0,
                            0.1,
                            -0.1,
                            1.0e-30,
                            // A quiet NaN with a payload, and a
                            // signalling one.
                            <$t>::from_bits(exponent | quiet | 1),
                            <$t>::from_bits(exponent | 1),
                            3.0,
                            -3.0,
                        ][usize::from(selector & 0x1f)]
                    }
                    _ => <$t>::from_le_bytes(bytes.array::<SIZE>()),
                }
            }

            /// 0: as [`Pixel::from_bytes`] on generated bytes; 1: uniform
            /// in [0, 1); 2: an integer in −16..=16; 3: any finite value.
            fn generate(fill: u8, rng: &mut Rng) -> $t {
                const SIZE: usize = core::mem::size_of::<$t>();
                let r = rng.next_u64();
                match fill {
                    0 => {
                        let mut bytes = r.to_le_bytes();
                        bytes.rotate_left(1);
                        let mut reader = Bytes::new(&bytes);
                        Self::from_bytes(r as u8, &mut reader)
                    }
                    1 => {
                        let unit = 1u64 << $mantissa;
                        (r >> (64 - $mantissa)) as $t / unit as $t
                    }
                    2 => (r % 33) as $t - 16.0,
                    _ => {
                        let bits = <$bits>::from_le_bytes(
                            r.to_le_bytes()[..SIZE].try_into().unwrap(),
                        );
                        let value = <$t>::from_bits(bits);
                        if value.is_finite() {
                            value
                        } else {
                            // Clear the top exponent bit.
                            let top = <$t>::INFINITY.to_bits()
                                & !(<$t>::INFINITY.to_bits() >> 1);
                            <$t>::from_bits(bits & !top)
                        }
                    }
                }
            }
        }
    };
}

float_pixel!(f32, u32, 24);
float_pixel!(f64, u64, 53);

macro_rules! integer_pixel {
    ($t:ty) => {
        impl Pixel for $t {
            /// The little-endian bytes of the value, `selector` first.
            fn from_bytes(selector: u8, bytes: &mut Bytes<'_>) -> $t {
                let mut raw = [0u8; core::mem::size_of::<$t>()];
                raw[0] = selector;
                for byte in &mut raw[1..] {
                    *byte = bytes.byte();
                }
                <$t>::from_le_bytes(raw)
            }

            /// 0: any value; 1: the extremes; 2: within 3 of an extreme or
            /// of zero; 3: an extreme, zero or the middle.
            fn generate(fill: u8, rng: &mut Rng) -> $t {
                let r = rng.next_u64();
                let (min, max) = (<$t>::MIN, <$t>::MAX);
                let step = (r >> 8) as $t % 4;
                match fill {
                    0 => r as $t,
                    1 => [min, max][(r & 1) as usize],
                    2 => match r % 3 {
                        0 => min.wrapping_add(step),
                        1 => max.wrapping_sub(step),
                        _ => step,
                    },
                    _ => [min, max, 0, max / 2 + 1][(r % 4) as usize],
                }
            }
        }
    };
}

integer_pixel!(u8);
integer_pixel!(u16);
integer_pixel!(i16);

/// The values of a case: from the remaining bytes, then generated.
pub struct Values<'a> {
    bytes: Bytes<'a>,
    rng: Rng,
    fill: u8,
}

impl Values<'_> {
    /// `count` values of type `T`.
    pub fn take<T: Pixel>(&mut self, count: usize) -> Vec<T> {
        (0..count)
            .map(|_| match self.bytes.next() {
                Some(selector) => T::from_bytes(selector, &mut self.bytes),
                None => T::generate(self.fill, &mut self.rng),
            })
            .collect()
    }
}

/// One decoded case.
pub struct Case<'a> {
    pub kind: Kind,
    pub reduction: Reduction,
    pub norm: Norm,
    /// The shape `(*, H, W)`, passed as given.
    pub shape: Vec<usize>,
    /// Elements of the image slice. The shape's count when the shape is
    /// valid and within [`MAX_ELEMENTS`] (or [`MAX_LONG_ELEMENTS`] for
    /// long rows); with [`flags::SLICE_OFF`], that count plus the slice
    /// byte read as `i8` (0 counts as +1). For any other shape, the slice
    /// byte itself.
    pub img_len: usize,
    /// Values of the upstream gradient: one per plane when the planes
    /// are at most [`MAX_PLANES`]; with [`flags::UPSTREAM_OFF`], that
    /// count plus the upstream byte read as `i8` (0 counts as +1). For any
    /// other shape, the upstream byte itself.
    pub upstream_len: usize,
    /// Where the byte view of the image starts in an aligned buffer.
    pub byte_offset: usize,
    /// Whether the byte view lacks its last byte.
    pub bytes_short: bool,
    pub values: Values<'a>,
}

/// `(planes, height, width)` of a shape, or why it is not one: the rules
/// of `Layout::new`, written again here.
pub fn dims(shape: &[usize]) -> Result<(usize, usize, usize), ShapeError> {
    let [leading @ .., height, width] = shape else {
        return Err(ShapeError::TooShort);
    };
    let planes = leading
        .iter()
        .try_fold(1usize, |acc, &dim| acc.checked_mul(dim))
        .ok_or(ShapeError::Overflow)?;
    height
        .checked_mul(*width)
        .and_then(|plane| plane.checked_mul(planes))
        .ok_or(ShapeError::Overflow)?;
    Ok((planes, *height, *width))
}

/// Why a shape is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeError {
    TooShort,
    Overflow,
}

/// `count` moved by `byte` read as a non-zero `i8`.
fn off_by(count: usize, byte: u8) -> usize {
    let delta = match byte as i8 {
        0 => 1,
        delta => isize::from(delta),
    };
    count.saturating_add_signed(delta)
}

/// Reads one case from the fuzzer's bytes.
pub fn decode(data: &[u8], types: Types) -> Case<'_> {
    let mut bytes = Bytes::new(data);
    let kind = match types {
        Types::All => [Kind::F32, Kind::F64, Kind::U8, Kind::U16, Kind::I16]
            [usize::from(bytes.byte() % 5)],
        Types::Float => [Kind::F32, Kind::F64][usize::from(bytes.byte() % 2)],
    };
    let flag_byte = bytes.byte();
    let reduction = if flag_byte & flags::MEAN != 0 {
        Reduction::Mean
    } else {
        Reduction::Sum
    };

    let dim_count = usize::from(bytes.byte() % 7);
    let mut shape = Vec::with_capacity(dim_count);
    for index in 0..dim_count {
        let dim = if index + 1 == dim_count {
            let w = u16::from_le_bytes(bytes.array());
            match w {
                0..0xF000 => usize::from(w) % 1100,
                0xF000..0xFF00 => LONG[usize::from(w) % 8],
                _ => HUGE[usize::from(w) % 16],
            }
        } else {
            let b = bytes.byte();
            let modulus = if index + 2 == dim_count { 40 } else { 4 };
            match b {
                0xF0.. => HUGE[usize::from(b - 0xF0)],
                _ => usize::from(b) % modulus,
            }
        };
        shape.push(dim);
    }

    let (slice_byte, upstream_byte) = (bytes.byte(), bytes.byte());
    let norm = norm(bytes.byte());
    let (img_len, upstream_len) = match dims(&shape) {
        Ok((planes, height, width)) => {
            // In the order `dims` checked it: `planes · height` alone may
            // overflow when the width is 0.
            let len = height * width * planes;
            let budget = if LONG.contains(&width) {
                MAX_LONG_ELEMENTS
            } else {
                MAX_ELEMENTS
            };
            let img_len = if len > budget {
                usize::from(slice_byte)
            } else if flag_byte & flags::SLICE_OFF != 0 {
                off_by(len, slice_byte)
            } else {
                len
            };
            let upstream_len = if planes > MAX_PLANES {
                usize::from(upstream_byte)
            } else if flag_byte & flags::UPSTREAM_OFF != 0 {
                off_by(planes, upstream_byte)
            } else {
                planes
            };
            (img_len, upstream_len)
        }
        Err(_) => (usize::from(slice_byte), usize::from(upstream_byte)),
    };

    Case {
        kind,
        reduction,
        norm,
        shape,
        img_len,
        upstream_len,
        byte_offset: usize::from(flag_byte >> flags::OFFSET_SHIFT),
        bytes_short: flag_byte & flags::BYTES_SHORT != 0,
        values: Values {
            bytes,
            rng: Rng::from_input(data),
            fill: flag_byte >> flags::FILL_SHIFT & 3,
        },
    }
}

/// The bytes that [`decode`] reads as `shape`, after the element type
/// and flags bytes and before the slice byte; `None` for a dimension it
/// cannot describe. Used by the seed generator.
pub fn encode_shape(shape: &[usize]) -> Option<Vec<u8>> {
    if shape.len() > 6 {
        return None;
    }
    let huge = |dim| HUGE.iter().position(|&h| h == dim);
    let mut out = vec![shape.len() as u8];
    for (index, &dim) in shape.iter().enumerate() {
        if index + 1 == shape.len() {
            let w = if dim < 1100 {
                dim as u16
            } else if let Some(k) = LONG.iter().position(|&l| l == dim) {
                0xF000 + k as u16
            } else {
                0xFF00 + huge(dim)? as u16
            };
            out.extend(w.to_le_bytes());
        } else {
            let limit = if index + 2 == shape.len() { 40 } else { 4 };
            out.push(if dim < limit {
                dim as u8
            } else {
                0xF0 + huge(dim)? as u8
            });
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_round_trip() {
        let shapes: [&[usize]; 8] = [
            &[],
            &[5],
            &[0, 7],
            &[3, 39, 1099],
            &[2, 0, 3, 1, 5, 17],
            &[usize::MAX, 0, 5],
            &[1, 131_073],
            &[1 << 32, 1 << 32],
        ];
        for shape in shapes {
            let mut input = vec![0, 0];
            input.extend(encode_shape(shape).unwrap());
            assert_eq!(decode(&input, Types::All).shape, shape);
        }
        assert_eq!(encode_shape(&[4, 4, 4]), None);
    }

    #[test]
    fn slice_and_upstream_lengths() {
        let mut input = vec![0, flags::SLICE_OFF | flags::UPSTREAM_OFF];
        input.extend(encode_shape(&[2, 3, 4]).unwrap());
        input.extend([0xFF, 0]);
        let case = decode(&input, Types::All);
        assert_eq!((case.img_len, case.upstream_len), (23, 3));

        // Too large to allocate: the slice byte is the length.
        let mut input = vec![0, 0];
        input.extend(encode_shape(&[3, 39, 1099]).unwrap());
        input.extend([9, 4]);
        let case = decode(&input, Types::All);
        assert_eq!((case.img_len, case.upstream_len), (9, 3));
    }

    #[test]
    fn norm_byte() {
        let mut input = vec![0, 0];
        input.extend(encode_shape(&[2, 3]).unwrap());
        input.extend([0, 0, 3 | 4 << 2]);
        let case = decode(&input, Types::All);
        assert_eq!(case.norm, Norm::Smooth { epsilon: 1e-21 });
        assert_eq!(norm(0), Norm::Anisotropic);
        assert_eq!(norm(6), Norm::SquaredL2);
    }

    #[test]
    fn empty_input_is_a_case() {
        let case = decode(&[], Types::Float);
        assert_eq!(case.kind, Kind::F32);
        assert!(case.shape.is_empty());
    }
}
