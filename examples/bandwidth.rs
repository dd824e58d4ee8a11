//! Prints how close the `f32` kernels come to the machine's memory limits,
//! on the shapes of the benchmarks, timed alternately in one process.
//!
//! ```text
//! cargo run --release --example bandwidth [RUNS]
//! ```
//!
//! For each shape it times three pairs, each in rounds that run its two
//! sides one after the other: a plain sum of the image (the
//! streaming-read limit) and the value; a copy of the image (as many
//! bytes read and written as a gradient) and the gradient; the value and
//! gradient as two calls and as one pass. Each figure is the lower
//! quartile of its rounds. On a machine shared with other jobs, timing
//! the two sides round after round keeps a slow spell from landing on
//! one side of a ratio only, as it can between criterion's groups.

use std::hint::black_box;
use std::time::Instant;

use total_variation::{Layout, Reduction, TotalVariation};

// The benchmarks' pixels and streaming sum, so that both measure the
// same limit on the same data.
#[path = "../benches/baselines/mod.rs"]
mod baselines;

use baselines::{pixels, streaming_sum};

/// The shapes of `benches/total_variation.rs`: planes, height, width.
const SHAPES: [(&str, usize, usize, usize); 3] = [
    ("64x64", 1, 64, 64),
    ("8x3x256x256", 24, 256, 256),
    ("3x2048x2048", 3, 2048, 2048),
];

/// Seconds taken by `f`.
fn time(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

/// The lower quartiles of the times of `first` and `second`, run one
/// after the other `rounds` times.
fn alternate(
    rounds: usize,
    mut first: impl FnMut(),
    mut second: impl FnMut(),
) -> (f64, f64) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        a.push(time(&mut first));
        b.push(time(&mut second));
    }
    (lower_quartile(a), lower_quartile(b))
}

/// The lower quartile of `times`.
fn lower_quartile(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 4]
}

/// A duration in the unit that suits it.
fn show(seconds: f64) -> String {
    match seconds {
        s if s < 1e-3 => format!("{:.2} µs", s * 1e6),
        s => format!("{:.3} ms", s * 1e3),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: Option<usize> =
        std::env::args().nth(1).map(|arg| arg.parse()).transpose()?;
    if runs == Some(0) {
        return Err("RUNS must be at least 1".into());
    }
    let tv = TotalVariation::new().with_reduction(Reduction::Sum);
    println!("backend: {:?}", tv.backend());
    for (name, planes, height, width) in SHAPES {
        let layout = Layout::planar(planes, height, width)?;
        let img = pixels(layout.len(), |v| v as f32);
        let upstream = vec![1.0f32; planes];
        let mut values = vec![0.0f32; planes];
        let mut grad = vec![0.0f32; layout.len()];
        let mut copy = vec![0.0f32; layout.len()];
        let mut one_pass_values = values.clone();
        let mut one_pass_grad = grad.clone();
        let rounds = runs.unwrap_or(match layout.len() {
            len if len > 1 << 22 => 41,
            len if len > 1 << 16 => 201,
            _ => 2001,
        });
        // Each pair alternates in a loop of its own, so that both sides
        // of a ratio follow the same kind of work: a streaming sum right
        // after a gradient would also pay for writing back its output.
        let (sum, value) = alternate(
            rounds,
            || {
                black_box(streaming_sum(black_box(&img)));
            },
            || tv.value_into(black_box(&img), &layout, &mut values).unwrap(),
        );
        let (copied, gradient) = alternate(
            rounds,
            || copy.copy_from_slice(black_box(&img)),
            || {
                tv.gradient_into(black_box(&img), &layout, &upstream, &mut grad)
                    .unwrap()
            },
        );
        let (separate, one_pass) = alternate(
            rounds,
            || {
                tv.value_into(black_box(&img), &layout, &mut values).unwrap();
                tv.gradient_into(&img, &layout, &upstream, &mut grad).unwrap();
            },
            || {
                tv.value_and_gradient_into(
                    black_box(&img),
                    &layout,
                    &upstream,
                    &mut one_pass_values,
                    &mut one_pass_grad,
                )
                .unwrap()
            },
        );
        black_box((&values, &grad, &copy, &one_pass_values, &one_pass_grad));
        println!("{name} ({rounds} rounds, lower quartiles)");
        println!(
            "  value      {:>10}  streaming sum {:>10}  speed ratio {:.2}",
            show(value),
            show(sum),
            sum / value
        );
        println!(
            "  gradient   {:>10}  copy          {:>10}  speed ratio {:.2}",
            show(gradient),
            show(copied),
            copied / gradient
        );
        println!(
            "  one pass   {:>10}  two calls     {:>10}  speed-up    {:.2}x",
            show(one_pass),
            show(separate),
            separate / one_pass
        );
    }
    Ok(())
}
