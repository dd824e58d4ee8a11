//! Writes the seed corpus of the fuzz targets: one input per element
//! type and shape that matters, in the byte format of `src/input.rs`.
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example seed_corpus
//! ```
//!
//! It replaces `fuzz/corpus/value` and `fuzz/corpus/gradient`. Most seeds
//! hold no pixel bytes: their pixels come from the generator of the
//! fill mode, so each seed is a dozen bytes whatever the image size.

use std::fs;
use std::path::Path;

use total_variation_fuzz::input::{HUGE, encode_shape, flags};

/// Widths on both sides of every lane multiple (8 and 16 for the float
/// vectors and 16-bit integers, 32 for `u8` on AVX2) and of the blocks
/// of the summation order (128 `f64`, 256 `f32`).
const WIDTHS: [usize; 25] = [
    0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129,
    255, 256, 257, 511, 513, 1099,
];

/// The shapes of the seeds, besides one row of each width.
fn shapes() -> Vec<Vec<usize>> {
    let mut shapes: Vec<Vec<usize>> = Vec::new();
    for &width in &WIDTHS {
        shapes.push(vec![1, width]);
        shapes.push(vec![3, width]);
    }
    shapes.extend(
        [
            // Single columns, empty planes, leading dimensions.
            &[2, 1][..],
            &[39, 1],
            &[17, 2],
            &[0, 5],
            &[5, 0],
            &[0, 0],
            &[2, 0, 5],
            &[0, 3, 4],
            &[2, 3, 5, 17],
            &[3, 1, 2, 7, 33],
            &[2, 2, 2, 2, 4, 9],
            &[3, 0, 3, 1, 4, 4],
            &[2, 39, 257],
            // Too few dimensions.
            &[],
            &[9],
            // Products that overflow, and shapes too large to allocate.
            &[HUGE[0], 2, 2],
            &[HUGE[9], HUGE[9]],
            &[3, HUGE[2], 3],
            &[HUGE[0], 0, 5],
            &[HUGE[8], 0, 5],
            &[0, HUGE[8], HUGE[13]],
            &[3, 39, 1099],
            // Long rows for the 16-bit integer kernels.
            &[1, 131_073],
            &[2, 262_145],
        ]
        .map(<[usize]>::to_vec),
    );
    shapes
}

/// One input: element type, flags, shape, slice, upstream and norm
/// bytes (the anisotropic norm), then explicit value bytes.
fn input(kind: u8, flag_byte: u8, shape: &[usize], pixels: &[u8]) -> Vec<u8> {
    with_norm(kind, flag_byte, shape, 0, pixels)
}

/// As [`input`], with the norm byte `norm`.
fn with_norm(
    kind: u8,
    flag_byte: u8,
    shape: &[usize],
    norm: u8,
    pixels: &[u8],
) -> Vec<u8> {
    let mut bytes = vec![kind, flag_byte];
    bytes.extend(encode_shape(shape).expect("an encodable shape"));
    bytes.extend([0, 0, norm]);
    bytes.extend(pixels);
    bytes
}

/// A short name for a shape.
fn shape_name(shape: &[usize]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|&dim| match HUGE.iter().position(|&h| h == dim) {
            Some(k) if dim > 1_000_000 => format!("huge{k}"),
            _ => dim.to_string(),
        })
        .collect();
    if dims.is_empty() { "scalar".into() } else { dims.join("x") }
}

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let kinds = [("f32", 0u8), ("f64", 1), ("u8", 2), ("u16", 3), ("i16", 4)];
    // Fill modes: 0 special values, 1 uniform (integers: extremes), 2
    // small integers (integers: near the extremes), 3 any finite value.
    let fill = |mode: u8| mode << flags::FILL_SHIFT;
    for target in ["value", "gradient"] {
        let dir = root.join(target);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        let kinds = if target == "value" { &kinds[..] } else { &kinds[..2] };
        let mut count = 0;
        let mut write = |name: String, bytes: Vec<u8>| {
            count += 1;
            fs::write(dir.join(name), bytes)
        };
        for &(kind_name, kind) in kinds {
            for (index, shape) in shapes().iter().enumerate() {
                if kind < 2 && shape.last() > Some(&100_000) {
                    // Long rows are for the integer kernels.
                    continue;
                }
                let (mode, reduction) = (index % 4, index / 4 % 2);
                let flag_byte = fill(mode as u8) | reduction as u8;
                let name = format!(
                    "{kind_name}-{}-fill{mode}-{}",
                    shape_name(shape),
                    ["sum", "mean"][reduction]
                );
                write(name, input(kind, flag_byte, shape, &[]))?;
            }
            // Slices and upstream gradients one value off.
            for (off, name) in
                [(flags::SLICE_OFF, "slice"), (flags::UPSTREAM_OFF, "upstream")]
            {
                for delta in [1u8, 0xFF] {
                    let mut bytes = input(kind, off, &[2, 3, 17], &[]);
                    let at = bytes.len() - 3
                        + usize::from(off == flags::UPSTREAM_OFF);
                    bytes[at] = delta;
                    write(format!("{kind_name}-{name}-off-{delta}"), bytes)?;
                }
            }
            // Misaligned and partial byte views.
            write(
                format!("{kind_name}-bytes-misaligned-short"),
                input(
                    kind,
                    1 << flags::OFFSET_SHIFT | flags::BYTES_SHORT,
                    &[2, 9],
                    &[],
                ),
            )?;
            // A 3×5 plane of special values, given byte by byte: NaN,
            // ±inf, ±0, subnormals, the extremes.
            // The gradient target reads the upstream value first: 1.
            let upstream = if target == "gradient" { &[0x11][..] } else { &[] };
            let specials: Vec<u8> =
                upstream.iter().copied().chain(0x80..0xA0).collect();
            write(
                format!("{kind_name}-specials-3x5"),
                input(kind, 0, &[3, 5], &specials[..15 + upstream.len()]),
            )?;
            write(
                format!("{kind_name}-specials-2x17-mean"),
                input(kind, flags::MEAN, &[2, 17], &specials),
            )?;
            // Each per-pixel norm, and the smoothing scales of
            // `EPSILONS`, on tails of both vector widths and on special
            // values.
            for (norm, norm_name) in [(1u8, "isotropic"), (2, "squared")]
                .into_iter()
                .chain((0..16u8).map(|k| (3 | k << 2, "smooth")))
            {
                for (index, shape) in
                    [&[3, 17][..], &[2, 3, 33], &[1, 255]].iter().enumerate()
                {
                    let flag_byte = fill(index as u8 + 1) | (norm & 1);
                    write(
                        format!(
                            "{kind_name}-{norm_name}{norm}-{}",
                            shape_name(shape)
                        ),
                        with_norm(kind, flag_byte, shape, norm, &[]),
                    )?;
                }
                write(
                    format!("{kind_name}-{norm_name}{norm}-specials-3x5"),
                    with_norm(
                        kind,
                        0,
                        &[3, 5],
                        norm,
                        &specials[..15 + upstream.len()],
                    ),
                )?;
            }
        }
        println!("{count} seeds in {}", dir.display());
    }
    Ok(())
}
