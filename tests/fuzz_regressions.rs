//! Inputs the fuzz targets of `fuzz/` found, reduced to the smallest
//! case, kept as regression tests.

#![cfg(feature = "alloc")]

use total_variation::{
    Error, Layout, Norm, Reduction, TotalVariation, VolumeLayout,
    total_variation, total_variation_exact, total_variation_grad,
};

/// A zero width makes every count zero, however many planes and rows:
/// `Layout::new` accepts `(2, 1, usize::MAX, 0)`, so every call on it
/// must work, and give 0 for each of its 2 planes. Found by the `value`
/// target as the input `04 10 12 02 05 f0 00 00`.
#[test]
fn zero_width_with_planes_times_height_beyond_usize() {
    let shape = [2, 1, usize::MAX, 0];
    let layout = Layout::new(&shape).unwrap();
    assert_eq!((layout.planes(), layout.plane_len()), (2, 0));
    assert_eq!(layout.len(), 0);
    assert!(layout.is_empty());

    assert_eq!(
        total_variation::<f32>(&[], &shape, Reduction::Sum),
        Ok(vec![0.0, 0.0])
    );
    assert_eq!(total_variation_exact::<i16>(&[], &shape), Ok(vec![0, 0]));
    assert_eq!(
        total_variation_grad::<f64>(&[], &shape, Reduction::Mean, &[1.0, 2.0]),
        Ok(vec![])
    );
}

/// Empty planes cost nothing to hold, so a shape may have more of them
/// than memory could hold values for: the one-pass call must reject an
/// upstream gradient of the wrong length before it allocates the values.
/// Found by the `gradient` target (AddressSanitizer stopped at an
/// allocation of 2^43 bytes).
#[test]
fn one_pass_checks_the_upstream_gradient_before_allocating() {
    let planes = 1usize << 40;
    let layout = Layout::new(&[planes, 0, 3]).unwrap();
    assert_eq!(
        TotalVariation::new().value_and_gradient::<f64>(&[], &layout, &[]),
        Err(Error::UpstreamLength { expected: planes, actual: 0 })
    );
}

/// No volume at all still has a volume length: `VolumeLayout::new`
/// rejects a shape whose `D·H·W` does not fit in `usize`, as `Layout`
/// rejects a plane of more than `usize::MAX` elements, so that no call
/// computes it with an overflow. Found by the `gradient` target, whose
/// volumes check reached the length of `(0, D, H, W)` with a huge `D`.
#[test]
fn a_volume_longer_than_usize_is_rejected_without_volumes() {
    for shape in [[0, usize::MAX, 2, 1], [0, 1 << 40, 1 << 40, 1]] {
        assert_eq!(VolumeLayout::new(&shape), Err(Error::ShapeOverflow));
    }
    // Zero volumes of a size that fits are fine, and give nothing.
    let layout = VolumeLayout::new(&[0, 1 << 20, 1 << 20, 3]).unwrap();
    assert_eq!(layout.volume_len(), 3 << 40);
    let tv = TotalVariation::new().with_norm(Norm::Isotropic);
    assert_eq!(tv.volume_value::<f32>(&[], &layout), Ok(vec![]));
    assert_eq!(tv.volume_gradient::<f64>(&[], &layout, &[]), Ok(vec![]));
}
