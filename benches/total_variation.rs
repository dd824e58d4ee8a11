//! Throughput of values and gradients on every backend, beside the
//! machine's streaming limits measured on the same buffers.
//!
//! Ids read `backend/summation/size`. Throughput is in bytes of image
//! read, so the value of TV compares directly with `streaming-sum`, a
//! plain SIMD sum over the same buffer (no computation can read faster),
//! and a gradient compares with `copy`, which reads and writes as many
//! bytes. Run `cargo bench -- f32/value` for one group.

use std::hint::black_box;
use std::time::Duration;

use baselines::{pixels, streaming_sum};

use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group,
    criterion_main, measurement::WallTime,
};
use total_variation::{
    Backend, Element, FloatElement, Layout, Norm, Reduction, TotalVariation,
    VolumeLayout,
};

#[path = "baselines/mod.rs"]
mod baselines;

/// The shapes: one small plane, a batch that fits in the caches, and a
/// batch of 48 MiB in `f32` that does not.
const SHAPES: [(&str, &[usize]); 3] = [
    ("64x64", &[64, 64]),
    ("8x3x256x256", &[8, 3, 256, 256]),
    ("3x2048x2048", &[3, 2048, 2048]),
];

fn backends() -> Vec<(&'static str, Backend)> {
    [
        ("scalar", Backend::Scalar),
        ("portable", Backend::Portable),
        ("avx2", Backend::Avx2),
    ]
    .into_iter()
    .filter(|(_, backend)| backend.is_available())
    .collect()
}

/// [`backends`] and AVX-512, which differs from AVX2 for integer images
/// and the anisotropic float gradient (alone and in one pass) only.
fn backends_with_avx512() -> Vec<(&'static str, Backend)> {
    let mut backends = backends();
    if Backend::Avx512.is_available() {
        backends.push(("avx512", Backend::Avx512));
    }
    backends
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>, bytes: usize) {
    group.throughput(Throughput::Bytes(bytes as u64));
    let large = bytes > 8 << 20;
    group.sample_size(if large { 20 } else { 50 });
    group.warm_up_time(Duration::from_millis(if large { 1000 } else { 500 }));
    group.measurement_time(Duration::from_secs(if large { 4 } else { 2 }));
}

/// Float totals are pairwise sums; integer totals are exact.
fn value_group<T: Element>(
    c: &mut Criterion,
    name: &str,
    summation: &str,
    convert: impl Fn(f64) -> T + Copy,
) {
    for (size, shape) in SHAPES {
        let layout = Layout::new(shape).unwrap();
        let img = pixels(layout.len(), convert);
        let bytes = std::mem::size_of_val(img.as_slice());
        let mut group = c.benchmark_group(format!("{name}/value"));
        configure(&mut group, bytes);
        let as_f32: Vec<f32> = pixels(bytes / 4, |v| v as f32);
        group.bench_function(BenchmarkId::new("streaming-sum/-", size), |b| {
            b.iter(|| streaming_sum(black_box(&as_f32)))
        });
        let backends = if summation == "exact" {
            backends_with_avx512()
        } else {
            backends()
        };
        for (backend_name, backend) in backends {
            let tv = TotalVariation::new().with_backend(backend);
            let mut out = vec![T::Output::default(); layout.planes()];
            group.bench_function(
                BenchmarkId::new(format!("{backend_name}/{summation}"), size),
                |b| {
                    b.iter(|| {
                        tv.value_into(black_box(&img), &layout, &mut out)
                            .unwrap()
                    })
                },
            );
        }
        group.finish();
    }
}

fn gradient_group<T: FloatElement>(
    c: &mut Criterion,
    name: &str,
    convert: impl Fn(f64) -> T + Copy,
) {
    for (size, shape) in SHAPES {
        let layout = Layout::new(shape).unwrap();
        let img = pixels(layout.len(), convert);
        let upstream = vec![convert(1.0); layout.planes()];
        let mut grad = vec![T::default(); layout.len()];
        let mut group = c.benchmark_group(format!("{name}/gradient"));
        configure(&mut group, std::mem::size_of_val(img.as_slice()));
        group.bench_function(BenchmarkId::new("copy/-", size), |b| {
            b.iter(|| grad.copy_from_slice(black_box(&img)))
        });
        for (backend_name, backend) in backends_with_avx512() {
            let tv = TotalVariation::new()
                .with_backend(backend)
                .with_reduction(Reduction::Sum);
            group.bench_function(
                BenchmarkId::new(format!("{backend_name}/pairwise"), size),
                |b| {
                    b.iter(|| {
                        tv.gradient_into(
                            black_box(&img),
                            &layout,
                            &upstream,
                            &mut grad,
                        )
                        .unwrap()
                    })
                },
            );
        }
        group.finish();
    }
}

/// The value and the gradient of the same image: two separate calls
/// against the one-pass call.
fn value_and_gradient_group<T: FloatElement<Output = T>>(
    c: &mut Criterion,
    name: &str,
    convert: impl Fn(f64) -> T + Copy,
) {
    for (size, shape) in SHAPES {
        let layout = Layout::new(shape).unwrap();
        let img = pixels(layout.len(), convert);
        let upstream = vec![convert(1.0); layout.planes()];
        let mut values = vec![T::default(); layout.planes()];
        let mut grad = vec![T::default(); layout.len()];
        let mut group = c.benchmark_group(format!("{name}/value-and-gradient"));
        configure(&mut group, std::mem::size_of_val(img.as_slice()));
        for (backend_name, backend) in backends_with_avx512() {
            let tv = TotalVariation::new()
                .with_backend(backend)
                .with_reduction(Reduction::Sum);
            group.bench_function(
                BenchmarkId::new(format!("{backend_name}/separate"), size),
                |b| {
                    b.iter(|| {
                        tv.value_into(black_box(&img), &layout, &mut values)
                            .unwrap();
                        tv.gradient_into(&img, &layout, &upstream, &mut grad)
                            .unwrap()
                    })
                },
            );
            group.bench_function(
                BenchmarkId::new(format!("{backend_name}/one-pass"), size),
                |b| {
                    b.iter(|| {
                        tv.value_and_gradient_into(
                            black_box(&img),
                            &layout,
                            &upstream,
                            &mut values,
                            &mut grad,
                        )
                        .unwrap()
                    })
                },
            );
        }
        group.finish();
    }
}

/// The per-pixel norms, values and gradients of `f32` on the two batch
/// shapes, on the best backend here and the portable one: groups
/// `f32/value-<norm>` and `f32/gradient-<norm>`, beside `f32/value` and
/// `f32/gradient` of the anisotropic norm.
fn norm_groups(c: &mut Criterion) {
    let norms = [
        ("isotropic", Norm::Isotropic),
        ("squared", Norm::SquaredL2),
        ("smooth", Norm::Smooth { epsilon: 0.01 }),
    ];
    let best = if Backend::Avx2.is_available() { "avx2" } else { "portable" };
    let backends = [(best, Backend::Auto), ("portable", Backend::Portable)];
    for (norm_name, norm) in norms {
        for (size, shape) in &SHAPES[1..] {
            let layout = Layout::new(shape).unwrap();
            let img = pixels(layout.len(), |v| v as f32);
            let upstream = vec![1.0f32; layout.planes()];
            let mut out = vec![0.0f32; layout.planes()];
            let mut grad = vec![0.0f32; layout.len()];
            let bytes = std::mem::size_of_val(img.as_slice());

            let mut group = c.benchmark_group(format!("f32/value-{norm_name}"));
            configure(&mut group, bytes);
            for (backend_name, backend) in backends {
                let tv =
                    TotalVariation::new().with_norm(norm).with_backend(backend);
                group.bench_function(
                    BenchmarkId::new(format!("{backend_name}/pairwise"), size),
                    |b| {
                        b.iter(|| {
                            tv.value_into(black_box(&img), &layout, &mut out)
                                .unwrap()
                        })
                    },
                );
            }
            group.finish();

            let mut group =
                c.benchmark_group(format!("f32/gradient-{norm_name}"));
            configure(&mut group, bytes);
            for (backend_name, backend) in backends {
                let tv =
                    TotalVariation::new().with_norm(norm).with_backend(backend);
                group.bench_function(
                    BenchmarkId::new(format!("{backend_name}/pairwise"), size),
                    |b| {
                        b.iter(|| {
                            tv.gradient_into(
                                black_box(&img),
                                &layout,
                                &upstream,
                                &mut grad,
                            )
                            .unwrap()
                        })
                    },
                );
            }
            group.finish();
        }
    }
}

/// Volumes of `f32`: the value and the gradient of one 64×256×256
/// volume (16 MiB), anisotropic and isotropic, beside the same buffer as
/// 64 planes.
fn volume_group(c: &mut Criterion) {
    let dims = [64, 256, 256];
    let volume = VolumeLayout::new(&dims).unwrap();
    let planes = volume.slices();
    let img = pixels(volume.len(), |v| v as f32);
    let mut values = [0.0f32; 1];
    let mut plane_values = vec![0.0f32; planes.planes()];
    let mut grad = vec![0.0f32; volume.len()];
    let mut group = c.benchmark_group("f32/volume");
    configure(&mut group, std::mem::size_of_val(img.as_slice()));
    for (backend_name, backend) in backends() {
        let tv = TotalVariation::new().with_backend(backend);
        let size = "64x256x256";
        group.bench_function(
            BenchmarkId::new(format!("{backend_name}/value"), size),
            |b| {
                b.iter(|| {
                    tv.volume_value_into(black_box(&img), &volume, &mut values)
                        .unwrap()
                })
            },
        );
        group.bench_function(
            BenchmarkId::new(format!("{backend_name}/gradient"), size),
            |b| {
                b.iter(|| {
                    tv.volume_gradient_into(
                        black_box(&img),
                        &volume,
                        &[1.0],
                        &mut grad,
                    )
                    .unwrap()
                })
            },
        );
        let isotropic = tv.with_norm(Norm::Isotropic);
        group.bench_function(
            BenchmarkId::new(format!("{backend_name}/isotropic-value"), size),
            |b| {
                b.iter(|| {
                    isotropic
                        .volume_value_into(
                            black_box(&img),
                            &volume,
                            &mut values,
                        )
                        .unwrap()
                })
            },
        );
        group.bench_function(
            BenchmarkId::new(
                format!("{backend_name}/isotropic-gradient"),
                size,
            ),
            |b| {
                b.iter(|| {
                    isotropic
                        .volume_gradient_into(
                            black_box(&img),
                            &volume,
                            &[1.0],
                            &mut grad,
                        )
                        .unwrap()
                })
            },
        );
        group.bench_function(
            BenchmarkId::new(format!("{backend_name}/planes-value"), size),
            |b| {
                b.iter(|| {
                    tv.value_into(black_box(&img), &planes, &mut plane_values)
                        .unwrap()
                })
            },
        );
    }
    group.finish();
}

/// The same three-channel image in the layouts camera frames come in:
/// planar `3×H×W`, rows padded to a pitch, a region of a larger frame, and
/// interleaved `H×W×3` and `H×W×4` (RGB, RGBA), on the best backend.
/// Throughput counts the bytes of the pixels the layout describes, so each
/// figure compares directly with the planar one.
fn layout_group<T: Element>(
    c: &mut Criterion,
    name: &str,
    convert: impl Fn(f64) -> T + Copy,
) {
    let size = std::mem::size_of::<T>();
    for (label, height, width) in
        [("3x256x256", 256usize, 256usize), ("3x2048x2048", 2048, 2048)]
    {
        let mut group = c.benchmark_group(format!("{name}/layouts"));
        configure(&mut group, 3 * height * width * size);
        let tv = TotalVariation::new();
        let mut out = [T::Output::default(); 4];
        let pitch = width + 64;
        let cases = [
            (
                "planar",
                Layout::new(&[3, height, width]).unwrap(),
                3 * height * width,
            ),
            (
                "padded",
                Layout::padded(3, height, width, pitch).unwrap(),
                3 * height * pitch,
            ),
            (
                "region",
                Layout::new(&[3, height + 32, width + 32])
                    .unwrap()
                    .region(16, 16, height, width)
                    .unwrap(),
                3 * (height + 32) * (width + 32),
            ),
            (
                "interleaved-rgb",
                Layout::interleaved(height, width, 3).unwrap(),
                3 * height * width,
            ),
            (
                "interleaved-rgba",
                Layout::interleaved(height, width, 4).unwrap(),
                4 * height * width,
            ),
        ];
        for (case, layout, storage) in cases {
            let img = pixels(storage, convert);
            group.throughput(Throughput::Bytes((layout.len() * size) as u64));
            let out = &mut out[..layout.planes()];
            group.bench_function(BenchmarkId::new(case, label), |b| {
                b.iter(|| tv.value_into(black_box(&img), &layout, out).unwrap())
            });
        }
        group.finish();
    }
}

/// The `par_*` methods in a pool of 2 threads beside the single-threaded
/// calls, on a batch of planes and on one large plane: group `parallel`,
/// ids `single|threads-2/value|gradient/size`.
#[cfg(feature = "rayon")]
fn parallel_group(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let tv = TotalVariation::new();
    let mut group = c.benchmark_group("parallel");
    group.sample_size(10);
    for (size, shape) in
        [("3x2048x2048", &[3, 2048, 2048][..]), ("8192x8192", &[8192, 8192])]
    {
        let layout = Layout::new(shape).unwrap();
        let img = pixels(layout.len(), |v| v as f32);
        let upstream = vec![1.0f32; layout.planes()];
        let mut out = vec![0.0f32; layout.planes()];
        let mut grad = vec![0.0f32; layout.len()];
        group.throughput(Throughput::Bytes(
            std::mem::size_of_val(img.as_slice()) as u64,
        ));
        group.bench_function(BenchmarkId::new("single/value", size), |b| {
            b.iter(|| tv.value_into(black_box(&img), &layout, &mut out))
        });
        group.bench_function(BenchmarkId::new("threads-2/value", size), |b| {
            b.iter(|| {
                pool.install(|| {
                    tv.par_value_into(black_box(&img), &layout, &mut out)
                })
            })
        });
        group.bench_function(BenchmarkId::new("single/gradient", size), |b| {
            b.iter(|| {
                tv.gradient_into(black_box(&img), &layout, &upstream, &mut grad)
            })
        });
        group.bench_function(
            BenchmarkId::new("threads-2/gradient", size),
            |b| {
                b.iter(|| {
                    pool.install(|| {
                        tv.par_gradient_into(
                            black_box(&img),
                            &layout,
                            &upstream,
                            &mut grad,
                        )
                    })
                })
            },
        );
    }
    // An interleaved u8 RGB frame: regions of rows of all channels.
    let layout = Layout::interleaved(2048, 2048, 3).unwrap();
    let img = pixels(layout.len(), |v| (v * 256.0) as u8);
    let mut out = vec![0.0f64; layout.planes()];
    group.throughput(Throughput::Bytes(img.len() as u64));
    let size = "u8-rgb-2048x2048";
    group.bench_function(BenchmarkId::new("single/value", size), |b| {
        b.iter(|| tv.value_into(black_box(&img), &layout, &mut out))
    });
    group.bench_function(BenchmarkId::new("threads-2/value", size), |b| {
        b.iter(|| {
            pool.install(|| {
                tv.par_value_into(black_box(&img), &layout, &mut out)
            })
        })
    });
    group.finish();
}

/// The inner loop of the `f32` value on 256-bit and on 512-bit registers,
/// side by side: 32 columns of each row per step (the last partial step
/// of a row is left out), no pairwise tree, and independent accumulators
/// enough to keep either loop from waiting on the latency of its
/// additions. It measures whether AVX-512 would pay for float images,
/// which run the AVX2 kernels on the `Avx2`, `Avx512` and `Auto`
/// backends.
#[cfg(target_arch = "x86_64")]
fn register_width_group(c: &mut Criterion) {
    use std::arch::x86_64::*;

    /// The columns where a step of 32 starts, with a column after it.
    fn steps(width: usize) -> impl Iterator<Item = usize> {
        (0..width.saturating_sub(32)).step_by(32)
    }

    #[target_feature(enable = "avx2")]
    fn loop_avx2(plane: &[f32], height: usize, width: usize) -> f32 {
        let magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX));
        let (mut across, mut down) =
            ([_mm256_setzero_ps(); 4], [_mm256_setzero_ps(); 4]);
        for i in 0..height.saturating_sub(1) {
            let (Some(row), Some(below)) = (
                plane.get(i * width..(i + 1) * width),
                plane.get((i + 1) * width..(i + 2) * width),
            ) else {
                break;
            };
            for j in steps(width) {
                let p = row[j..j + 33].as_ptr();
                let q = below[j..j + 32].as_ptr();
                for k in 0..4 {
                    // SAFETY: the 8 values from `k·8` and from `k·8 + 1`
                    // lie in the 33 checked at `p`, those from `k·8` in
                    // the 32 checked at `q`.
                    let (x, next, under) = unsafe {
                        (
                            _mm256_loadu_ps(p.add(8 * k)),
                            _mm256_loadu_ps(p.add(8 * k + 1)),
                            _mm256_loadu_ps(q.add(8 * k)),
                        )
                    };
                    let h = _mm256_and_ps(_mm256_sub_ps(next, x), magnitude);
                    let v = _mm256_and_ps(_mm256_sub_ps(under, x), magnitude);
                    across[k] = _mm256_add_ps(across[k], h);
                    down[k] = _mm256_add_ps(down[k], v);
                }
            }
        }
        let mut total = _mm256_setzero_ps();
        for k in 0..4 {
            total = _mm256_add_ps(total, _mm256_add_ps(across[k], down[k]));
        }
        let mut lanes = [0.0f32; 8];
        // SAFETY: `lanes` holds the 8 values stored.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), total) };
        lanes.iter().sum()
    }

    #[target_feature(enable = "avx512f,avx512dq")]
    fn loop_avx512(plane: &[f32], height: usize, width: usize) -> f32 {
        let magnitude = _mm512_castsi512_ps(_mm512_set1_epi32(i32::MAX));
        let (mut across, mut down) =
            ([_mm512_setzero_ps(); 2], [_mm512_setzero_ps(); 2]);
        for i in 0..height.saturating_sub(1) {
            let (Some(row), Some(below)) = (
                plane.get(i * width..(i + 1) * width),
                plane.get((i + 1) * width..(i + 2) * width),
            ) else {
                break;
            };
            for j in steps(width) {
                let p = row[j..j + 33].as_ptr();
                let q = below[j..j + 32].as_ptr();
                for k in 0..2 {
                    // SAFETY: the 16 values from `k·16` and from
                    // `k·16 + 1` lie in the 33 checked at `p`, those from
                    // `k·16` in the 32 checked at `q`.
                    let (x, next, under) = unsafe {
                        (
                            _mm512_loadu_ps(p.add(16 * k)),
                            _mm512_loadu_ps(p.add(16 * k + 1)),
                            _mm512_loadu_ps(q.add(16 * k)),
                        )
                    };
                    let h = _mm512_and_ps(_mm512_sub_ps(next, x), magnitude);
                    let v = _mm512_and_ps(_mm512_sub_ps(under, x), magnitude);
                    across[k] = _mm512_add_ps(across[k], h);
                    down[k] = _mm512_add_ps(down[k], v);
                }
            }
        }
        let total = _mm512_add_ps(
            _mm512_add_ps(across[0], down[0]),
            _mm512_add_ps(across[1], down[1]),
        );
        _mm512_reduce_add_ps(total)
    }

    if !(std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512dq"))
    {
        return;
    }
    for (size, planes, height, width) in
        [("8x3x256x256", 24, 256, 256), ("3x2048x2048", 3, 2048, 2048)]
    {
        let img: Vec<f32> = pixels(planes * height * width, |v| v as f32);
        let mut group = c.benchmark_group("f32/register-width");
        configure(&mut group, size_of_val(img.as_slice()));
        let plane_len = height * width;
        group.bench_function(BenchmarkId::new("avx2-loop/-", size), |b| {
            b.iter(|| {
                for plane in black_box(&img).chunks_exact(plane_len) {
                    // SAFETY: AVX2 was detected above.
                    black_box(unsafe { loop_avx2(plane, height, width) });
                }
            })
        });
        group.bench_function(BenchmarkId::new("avx512-loop/-", size), |b| {
            b.iter(|| {
                for plane in black_box(&img).chunks_exact(plane_len) {
                    // SAFETY: AVX-512F and AVX-512DQ were detected above.
                    black_box(unsafe { loop_avx512(plane, height, width) });
                }
            })
        });
        group.finish();
    }
}

fn benches(c: &mut Criterion) {
    value_group(c, "f32", "pairwise", |v| v as f32);
    value_group(c, "f64", "pairwise", |v| v);
    value_group(c, "u8", "exact", |v| (v * 256.0) as u8);
    value_group(c, "u16", "exact", |v| (v * 65536.0) as u16);
    value_group(c, "i16", "exact", |v| (v * 65536.0 - 32768.0) as i16);
    gradient_group(c, "f32", |v| v as f32);
    gradient_group(c, "f64", |v| v);
    value_and_gradient_group(c, "f32", |v| v as f32);
    value_and_gradient_group(c, "f64", |v| v);
    norm_groups(c);
    volume_group(c);
    layout_group(c, "f32", |v| v as f32);
    layout_group(c, "u8", |v| (v * 256.0) as u8);
    layout_group(c, "u16", |v| (v * 65536.0) as u16);
    #[cfg(feature = "rayon")]
    parallel_group(c);
    #[cfg(target_arch = "x86_64")]
    register_width_group(c);
}

criterion_group!(total_variation, benches);
criterion_main!(total_variation);
