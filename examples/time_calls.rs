//! Times the crate's `f32` calls on request, for a script that times
//! another library in turn (`scripts/compare_kornia.py --alternate`).
//!
//! ```text
//! cargo run --release --example time_calls
//! ```
//!
//! Each line read from standard input names an operation, a shape of the
//! benchmarks and a time budget in seconds:
//!
//! ```text
//! value 3x2048x2048 0.5
//! ```
//!
//! The answer is one line on standard output: the median, over runs, of
//! the mean seconds per call in a run, then the number of runs and of
//! calls per run. A run repeats the call for at least 20 ms, after one
//! untimed call, and there are at least five runs, whatever the budget.
//! A bad request (an empty line included) gets one line beginning with
//! `error:`. The operations are `value`, `gradient`,
//! `value-and-gradient` (the one-pass call) and `streaming-sum` (a plain
//! sum of the same image, the benchmarks' streaming-read limit). Images
//! are made once per shape and kept, so a shape asked for again is timed
//! on memory that is already mapped.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hint::black_box;
use std::io::{self, BufRead, Write};
use std::time::Instant;

use total_variation::{Backend, Layout, Reduction, TotalVariation};

// The benchmarks' pixels and streaming sum, so that both measure the
// same limit on the same data.
#[path = "../benches/baselines/mod.rs"]
mod baselines;

use baselines::{pixels, streaming_sum};

/// The shapes of `benches/total_variation.rs`: name, planes, height, width.
const SHAPES: [(&str, usize, usize, usize); 3] = [
    ("64x64", 1, 64, 64),
    ("8x3x256x256", 24, 256, 256),
    ("3x2048x2048", 3, 2048, 2048),
];

/// The operations a request may name.
const OPERATIONS: [&str; 4] =
    ["value", "gradient", "value-and-gradient", "streaming-sum"];

/// The shortest run, in seconds.
const RUN_SECONDS: f64 = 0.02;

/// One shape's image and the buffers its calls write.
struct Buffers {
    layout: Layout,
    img: Vec<f32>,
    upstream: Vec<f32>,
    values: Vec<f32>,
    grad: Vec<f32>,
}

impl Buffers {
    fn new(planes: usize, height: usize, width: usize) -> Result<Self, String> {
        let layout =
            Layout::planar(planes, height, width).map_err(|e| e.to_string())?;
        Ok(Self {
            img: pixels(layout.len(), |v| v as f32),
            upstream: vec![1.0; planes],
            values: vec![0.0; planes],
            grad: vec![0.0; layout.len()],
            layout,
        })
    }

    /// One call of `operation`.
    fn call(
        &mut self,
        tv: &TotalVariation,
        operation: &str,
    ) -> Result<(), String> {
        let img = black_box(&self.img);
        let result = match operation {
            "value" => tv.value_into(img, &self.layout, &mut self.values),
            "gradient" => tv.gradient_into(
                img,
                &self.layout,
                &self.upstream,
                &mut self.grad,
            ),
            "value-and-gradient" => tv.value_and_gradient_into(
                img,
                &self.layout,
                &self.upstream,
                &mut self.values,
                &mut self.grad,
            ),
            "streaming-sum" => {
                black_box(streaming_sum(img));
                Ok(())
            }
            other => return Err(format!("unknown operation {other:?}")),
        };
        black_box((&self.values, &self.grad));
        result.map_err(|e| e.to_string())
    }
}

/// (median seconds per call, runs, calls per run) of `operation` on
/// `buffers`, spending about `budget` seconds.
fn measure(
    tv: &TotalVariation,
    buffers: &mut Buffers,
    operation: &str,
    budget: f64,
) -> Result<(f64, usize, usize), String> {
    let mut run = |calls: usize| -> Result<f64, String> {
        let start = Instant::now();
        for _ in 0..calls {
            buffers.call(tv, operation)?;
        }
        Ok(start.elapsed().as_secs_f64())
    };
    run(1)?;
    // Grow the run until it lasts RUN_SECONDS, at most tenfold at a time.
    let mut calls = 1;
    let mut elapsed = run(calls)?;
    while elapsed < RUN_SECONDS {
        let grow =
            if elapsed > 0.0 { RUN_SECONDS / elapsed * 1.2 } else { 10.0 };
        calls = (calls + 1).max((calls as f64 * grow.min(10.0)) as usize);
        elapsed = run(calls)?;
    }
    // An odd number of runs, so that the median is one of them.
    let runs = ((budget / elapsed) as usize).clamp(5, 51) | 1;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        times.push(run(calls)? / calls as f64);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[runs / 2], runs, calls))
}

/// The answer to one request line.
fn answer(
    tv: &TotalVariation,
    images: &mut HashMap<&'static str, Buffers>,
    line: &str,
) -> Result<String, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.is_empty() {
        return Err("empty request".to_string());
    }
    let [operation, shape, budget] = words[..] else {
        return Err(format!("expected OPERATION SHAPE SECONDS, got {line:?}"));
    };
    let budget: f64 = budget
        .parse()
        .ok()
        .filter(|seconds: &f64| seconds.is_finite() && *seconds >= 0.0)
        .ok_or_else(|| {
            format!("SECONDS must be a number of seconds, got {budget:?}")
        })?;
    if !OPERATIONS.contains(&operation) {
        return Err(format!("unknown operation {operation:?}"));
    }
    let &(name, planes, height, width) = SHAPES
        .iter()
        .find(|(name, ..)| *name == shape)
        .ok_or_else(|| format!("unknown shape {shape:?}"))?;
    let buffers = match images.entry(name) {
        Entry::Occupied(entry) => entry.into_mut(),
        Entry::Vacant(entry) => {
            entry.insert(Buffers::new(planes, height, width)?)
        }
    };
    let (seconds, runs, calls) = measure(tv, buffers, operation, budget)?;
    Ok(format!("{seconds:e} {runs} {calls}"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tv = TotalVariation::new().with_reduction(Reduction::Sum);
    // `Auto` runs the first of these that the CPU has.
    let runs_on = [Backend::Avx512, Backend::Avx2, Backend::Portable]
        .into_iter()
        .find(|backend| backend.is_available())
        .unwrap_or(Backend::Scalar);
    eprintln!("backend: Auto, running {runs_on:?}");
    let mut images = HashMap::new();
    let mut out = io::stdout().lock();
    let mut input = io::stdin().lock();
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        if input.read_until(b'\n', &mut bytes)? == 0 {
            return Ok(());
        }
        // A line that is not UTF-8 gets an error answer like any other
        // bad request, rather than ending the session.
        let line = String::from_utf8_lossy(&bytes);
        match answer(&tv, &mut images, line.trim_end_matches(['\r', '\n'])) {
            Ok(reply) => writeln!(out, "{reply}")?,
            Err(message) => writeln!(out, "error: {message}")?,
        }
        out.flush()?;
    }
}
