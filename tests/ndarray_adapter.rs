//! `ndarray_layout` gives, for any array view, the bits of the view's
//! elements copied here into a planar buffer and computed through the
//! planar API, and lends out only memory the view's elements fill.
//!
//! The copy reads the view element by element, by index, in row-major
//! order of its shape, independently of the adapter.

#![cfg(feature = "ndarray")]

use std::borrow::Cow;
use std::collections::BTreeSet;

use ndarray::{
    Array, ArrayD, ArrayViewD, Axis, Dimension, IxDyn, Slice, array, s,
};
use proptest::prelude::*;
use total_variation::{
    Element, Error, IntegerElement, Layout, Norm, Reduction, TotalVariation,
    ndarray_layout,
};

/// The bits of `f32` values, every NaN made the same.
fn bits(values: &[f32]) -> Vec<u32> {
    values
        .iter()
        .map(|v| if v.is_nan() { f32::NAN.to_bits() } else { v.to_bits() })
        .collect()
}

/// Every index of `shape`, in row-major order.
fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let count: usize = shape.iter().product();
    (0..count)
        .map(|flat| {
            let mut rest = flat;
            let mut index = vec![0; shape.len()];
            for (slot, &dim) in index.iter_mut().zip(shape).rev() {
                *slot = rest % dim;
                rest /= dim;
            }
            index
        })
        .collect()
}

/// The view's elements, by index, and their contiguous layout.
fn planar_copy<T: Copy>(view: &ArrayViewD<'_, T>) -> (Vec<T>, Layout) {
    let copy =
        indices(view.shape()).iter().map(|index| view[IxDyn(index)]).collect();
    (copy, Layout::new(view.shape()).unwrap())
}

/// The addresses of the view's elements, each once.
fn addresses<T>(view: &ArrayViewD<'_, T>) -> BTreeSet<usize> {
    indices(view.shape())
        .iter()
        .map(|index| &view[IxDyn(index)] as *const T as usize)
        .collect()
}

/// A borrowed slice is exactly the memory the view's elements fill,
/// without a gap; a view that leaves no gap is borrowed.
fn assert_lends_only_its_memory<T: Clone>(
    view: &ArrayViewD<'_, T>,
    elements: &[T],
    borrowed: bool,
) {
    let size = size_of::<T>();
    let touched = addresses(view);
    let gap_free = match (touched.first(), touched.last()) {
        (Some(&low), Some(&high)) => (high - low) / size + 1 == touched.len(),
        _ => true,
    };
    if !borrowed {
        assert!(!gap_free, "copied a gap-free view");
    } else if elements.is_empty() {
        assert!(touched.is_empty());
    } else {
        let low = elements.as_ptr() as usize;
        let memory: BTreeSet<usize> =
            (0..elements.len()).map(|i| low + i * size).collect();
        assert_eq!(memory, touched, "lends memory outside the view");
    }
}

/// Values and gradients, every norm and reduction, of an `f32` view
/// through the adapter equal those of the copy.
fn assert_floats_match(view: &ArrayViewD<'_, f32>) {
    let (elements, layout) = ndarray_layout(view).unwrap();
    let borrowed = matches!(elements, Cow::Borrowed(_));
    assert_lends_only_its_memory(view, &elements, borrowed);
    let (copy, planar) = planar_copy(view);
    assert_eq!(layout.planes(), planar.planes());
    let upstream: Vec<f32> =
        (0..planar.planes()).map(|p| 0.5 + p as f32).collect();
    for norm in [
        Norm::Anisotropic,
        Norm::Isotropic,
        Norm::SquaredL2,
        Norm::Smooth { epsilon: 0.25 },
    ] {
        for reduction in [Reduction::Sum, Reduction::Mean] {
            let config =
                TotalVariation::new().with_norm(norm).with_reduction(reduction);
            let got = config.value(&elements, &layout).unwrap();
            let expected = config.value(&copy, &planar).unwrap();
            assert_eq!(bits(&got), bits(&expected), "{norm:?} {reduction:?}");
            let grad = config.gradient(&elements, &layout, &upstream).unwrap();
            let expected = config.gradient(&copy, &planar, &upstream).unwrap();
            assert_eq!(bits(&grad), bits(&expected), "{norm:?} {reduction:?}");
        }
    }
}

/// Exact totals of an integer view through the adapter equal those of
/// the copy, and so do the values.
fn assert_integers_match<T: IntegerElement>(view: &ArrayViewD<'_, T>) {
    let (elements, layout) = ndarray_layout(view).unwrap();
    let borrowed = matches!(elements, Cow::Borrowed(_));
    assert_lends_only_its_memory(view, &elements, borrowed);
    let (copy, planar) = planar_copy(view);
    let config = TotalVariation::new();
    assert_eq!(
        config.exact_sum(&elements, &layout).unwrap(),
        config.exact_sum(&copy, &planar).unwrap()
    );
    let mean = config.with_reduction(Reduction::Mean);
    let got = mean.value(&elements, &layout).unwrap();
    let expected = mean.value(&copy, &planar).unwrap();
    assert_eq!(got, expected);
}

/// How a test cuts a view out of a standard-order array: a slice of
/// each axis (start, end, step), then reversed axes, then an order of
/// the axes, then possibly a broadcast axis inserted.
#[derive(Clone, Debug)]
struct Recipe {
    slices: Vec<(usize, usize, isize)>,
    flips: Vec<bool>,
    order: Vec<usize>,
    /// Where a new axis goes and how long it is broadcast.
    broadcast: Option<(usize, usize)>,
}

/// Calls `check` with the view `recipe` cuts out of `storage`.
fn with_view<T, R>(
    storage: &ArrayD<T>,
    recipe: &Recipe,
    check: impl FnOnce(&ArrayViewD<'_, T>) -> R,
) -> R {
    let mut view = storage.view();
    for (axis, &(start, end, step)) in recipe.slices.iter().enumerate() {
        let slice = Slice::new(start as isize, Some(end as isize), step);
        view.slice_axis_inplace(Axis(axis), slice);
    }
    for (axis, &flip) in recipe.flips.iter().enumerate() {
        if flip {
            view.invert_axis(Axis(axis));
        }
    }
    let view = view.permuted_axes(recipe.order.clone());
    match recipe.broadcast {
        None => check(&view),
        Some((position, len)) => {
            let view = view.insert_axis(Axis(position));
            let mut shape = view.shape().to_vec();
            shape[position] = len;
            check(&view.broadcast(shape).unwrap())
        }
    }
}

/// A shape of 2 to 5 axes, a recipe for it, and the storage's length.
fn shape_and_recipe() -> impl Strategy<Value = (Vec<usize>, Recipe)> {
    (
        prop::collection::vec(0usize..=4, 0..=3),
        prop_oneof![0usize..=4, 5usize..=12],
        prop_oneof![0usize..=4, 5usize..=24],
    )
        .prop_flat_map(|(leading, height, width)| {
            let mut shape = leading;
            shape.push(height);
            shape.push(width);
            let n = shape.len();
            let slices: Vec<_> = shape
                .iter()
                .map(|&dim| {
                    (0..=dim).prop_flat_map(move |start| {
                        (
                            Just(start),
                            start..=dim,
                            prop_oneof![
                                4 => Just(1isize),
                                1 => Just(-1isize),
                                1 => Just(2isize),
                                1 => Just(-3isize),
                            ],
                        )
                    })
                })
                .collect();
            let whole: Vec<(usize, usize, isize)> =
                shape.iter().map(|&dim| (0, dim, 1)).collect();
            let order: Vec<usize> = (0..n).collect();
            (
                Just(shape),
                prop_oneof![1 => Just(whole).boxed(),
                    2 => slices.boxed()],
                prop::collection::vec(prop::bool::weighted(0.25), n),
                prop_oneof![
                    2 => Just(order.clone()),
                    1 => Just(order).prop_shuffle(),
                ],
                prop::option::weighted(0.2, (0..=n, 1usize..=3)),
            )
        })
        .prop_map(|(shape, slices, flips, order, broadcast)| {
            (shape, Recipe { slices, flips, order, broadcast })
        })
}

/// A float element: mostly small integers (ties), some specials.
fn float_element() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => (-3i32..=3).prop_map(|v| v as f32),
        3 => -100.0f32..100.0,
        1 => Just(-0.0f32),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn float_views_match_the_planar_copy(
        (shape, recipe, values) in shape_and_recipe().prop_flat_map(
            |(shape, recipe)| {
                let len: usize = shape.iter().product();
                let values = prop::collection::vec(float_element(), len);
                (Just(shape), Just(recipe), values)
            },
        ),
    ) {
        let storage = Array::from_shape_vec(IxDyn(&shape), values).unwrap();
        with_view(&storage, &recipe, assert_floats_match);
    }

    #[test]
    fn integer_views_match_the_planar_copy(
        (shape, recipe) in shape_and_recipe(),
        seed in any::<u64>(),
    ) {
        let len: usize = shape.iter().product();
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let words: Vec<i16> = (0..len).map(|_| next() as i16).collect();
        let storage = Array::from_shape_vec(IxDyn(&shape), bytes).unwrap();
        with_view(&storage, &recipe, assert_integers_match);
        let storage = Array::from_shape_vec(IxDyn(&shape), words).unwrap();
        with_view(&storage, &recipe, assert_integers_match);
    }
}

/// A 2×3 plane and its TV, worked out by hand: across 1 + 2 twice, down
/// 0 three times.
fn hand_plane() -> ndarray::Array2<f32> {
    array![[0.0, 1.0, 3.0], [0.0, 1.0, 3.0]]
}

fn values<T: Element>(view: &ArrayViewD<'_, T>) -> Vec<T::Output> {
    let (elements, layout) = ndarray_layout(view).unwrap();
    TotalVariation::new().value(&elements, &layout).unwrap()
}

#[test]
fn transposed_and_reversed_planes_are_read_in_place() {
    let plane = hand_plane();
    for view in [
        plane.view(),
        plane.t(),
        plane.slice(s![..;-1, ..]),
        plane.slice(s![.., ..;-1]),
        plane.slice(s![..;-1, ..;-1]).reversed_axes(),
    ] {
        let (elements, layout) = ndarray_layout(&view).unwrap();
        assert!(matches!(elements, Cow::Borrowed(_)), "{view:?}");
        assert_eq!(elements.len(), 6);
        assert_eq!(
            TotalVariation::new().value(&elements, &layout),
            Ok(vec![6.0])
        );
    }
}

#[test]
fn a_stepped_and_reversed_view_matches_the_hand_result() {
    // (2, 4, 5) with plane p, row i, column j holding p + i·j.
    let storage =
        Array::from_shape_fn((2, 4, 5), |(p, i, j)| (p + i * j) as f32);
    let view = storage.slice(s![.., ..;2, ..;-1]);
    assert_eq!(view.shape(), [2, 2, 5]);
    // Rows 0 and 2, columns reversed: row 0 is flat, row 2 changes by 2
    // four times; the columns differ by 2·j − 0 = 8, 6, 4, 2, 0.
    let expected = 4.0 * 2.0 + (8.0 + 6.0 + 4.0 + 2.0);
    let got = values(&view.into_dyn());
    assert_eq!(got, [expected, expected]);
    let (elements, _) = ndarray_layout(&view).unwrap();
    assert!(matches!(elements, Cow::Owned(_)));
}

#[test]
fn a_broadcast_plane_is_read_in_place() {
    let plane = hand_plane();
    let view = plane.broadcast((3, 2, 3)).unwrap();
    let (elements, layout) = ndarray_layout(&view).unwrap();
    assert!(matches!(elements, Cow::Borrowed(_)));
    assert_eq!(elements.len(), 6);
    assert_eq!(
        TotalVariation::new().value(&elements, &layout),
        Ok(vec![6.0; 3])
    );
    // A row repeated down the plane: no vertical difference.
    let row = array![0.0f32, 1.0, 3.0];
    let view = row.broadcast((4, 3)).unwrap();
    assert_eq!(values(&view.into_dyn()), [4.0 * 3.0]);
    // One value everywhere.
    let one = array![7.0f64];
    let view = one.broadcast((2, 3, 3)).unwrap();
    let (elements, layout) = ndarray_layout(&view).unwrap();
    assert_eq!(elements.len(), 1);
    assert_eq!(
        TotalVariation::new().value(&elements, &layout),
        Ok(vec![0.0; 2])
    );
}

#[test]
fn two_to_eight_axes_and_more() {
    for dims in 2..=8 {
        let shape: Vec<usize> = (0..dims).map(|axis| 2 + axis % 2).collect();
        let storage = ArrayD::from_shape_fn(IxDyn(&shape), |index| {
            index.slice().iter().product::<usize>() as f32
        });
        let (copy, planar) = planar_copy(&storage.view());
        let expected = TotalVariation::new().value(&copy, &planar).unwrap();
        assert_eq!(values(&storage.view()), expected, "{dims} axes");
        let mut reversed = storage.view();
        reversed.invert_axis(Axis(dims - 1));
        let (copy, planar) = planar_copy(&reversed);
        let expected = TotalVariation::new().value(&copy, &planar).unwrap();
        assert_eq!(values(&reversed), expected, "{dims} axes reversed");
    }
    let nine = ArrayD::<u8>::zeros(IxDyn(&[1; 9]));
    let too_many = Error::TooManyDims { dims: 9, max: 8 };
    assert_eq!(ndarray_layout(&nine).unwrap_err(), too_many);
    let stepped = nine.slice_each_axis(|_| Slice::new(0, None, 2));
    assert_eq!(ndarray_layout(&stepped).unwrap_err(), too_many);
}

#[test]
fn fewer_than_two_axes_are_errors() {
    let row = array![1.0f32, 2.0];
    assert_eq!(
        ndarray_layout(&row).unwrap_err(),
        Error::ShapeTooShort { dims: 1 }
    );
    let scalar = ndarray::arr0(1u16);
    assert_eq!(
        ndarray_layout(&scalar).unwrap_err(),
        Error::ShapeTooShort { dims: 0 }
    );
}

#[test]
fn empty_views_give_empty_or_zero_results() {
    let storage =
        Array::from_shape_fn((3, 4, 5), |(p, i, j)| (p * i + j) as u16);
    let config = TotalVariation::new();
    for (view, planes) in [
        (storage.slice(s![0..0, .., ..]), 0),
        (storage.slice(s![.., 2..2, ..]), 3),
        (storage.slice(s![.., .., 3..3;-1]), 3),
        (storage.slice(s![1..3, 4..4;2, ..]), 2),
    ] {
        let (elements, layout) = ndarray_layout(&view).unwrap();
        assert!(elements.is_empty());
        assert_eq!(config.value(&elements, &layout), Ok(vec![0.0; planes]));
        assert_eq!(config.exact_sum(&elements, &layout), Ok(vec![0; planes]));
    }
    let empty = ArrayD::<f64>::zeros(IxDyn(&[0, 0]));
    assert_eq!(values(&empty.view()), [0.0]);
}

#[test]
fn the_copy_error_names_its_size() {
    let err = Error::ViewCopyAllocation { elements: 1 << 40 };
    assert_eq!(
        err.to_string(),
        "cannot allocate a buffer of 1099511627776 elements to copy an \
         array view whose elements are not contiguous in memory"
    );
}
