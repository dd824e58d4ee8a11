//! Removes Gaussian noise from a photo by minimising
//!
//! ```text
//! loss(x) = ½‖x − y‖² + λ · Σₚ TV(xₚ)
//! ```
//!
//! with plain gradient descent, where `y` is the noisy photo and each
//! colour channel is one plane `xₚ` of a `(C, H, W)` image. The data term
//! keeps `x` close to what was observed; the TV term makes it piecewise
//! smooth, which removes the noise and keeps the edges.
//!
//! Each iteration makes one call of
//! [`TotalVariation::value_and_gradient_into`], with the upstream value `λ`
//! for every plane: it gives the TV of each plane (for the progress line)
//! and the gradient of `λ · Σₚ TV(xₚ)` (for the step) in one pass.
//!
//! ```text
//! cargo run --release --example denoise
//! cargo run --release --example denoise -- photo.jpg --noise 0.15 --out tv
//! cargo run --release --example denoise -- --help
//! ```

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{DynamicImage, GrayImage, ImageReader, RgbImage};
use total_variation::{Layout, Norm, TotalVariation};

/// `println!` that gives an error instead of a panic when standard output
/// is closed, as when the output is piped into `head`.
macro_rules! say {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout(), $($arg)*).map_err(|err| {
            format!("cannot write to standard output: {err}")
        })
    };
}

const DEFAULT_LAMBDA: f32 = 0.07;
const DEFAULT_STEP: f32 = 0.05;
const DEFAULT_ITERATIONS: usize = 100;
const DEFAULT_NOISE: f32 = 0.1;
const DEFAULT_SEED: u64 = 2024;

/// How many progress lines a run prints, besides the last iteration.
const PROGRESS_LINES: usize = 10;

/// White columns between the two halves of the side-by-side picture.
const SIDE_BY_SIDE_GAP: u32 = 8;

fn usage() -> String {
    format!(
        "\
Denoises a photo by gradient descent on ½‖x − y‖² + λ·TV(x).

Usage: denoise [IMAGE] [OPTIONS]

Arguments:
  IMAGE                 a PNG or JPEG file (default: assets/chelsea.png)

Options:
  --lambda VALUE        weight λ of the TV term, >= 0 (default: {lambda})
  --step VALUE          gradient-descent step, in (0, 2) (default: {step})
  --iterations COUNT    number of steps, > 0 (default: {iterations})
  --noise SIGMA         Gaussian noise sigma on a [0, 1] scale, >= 0
                        (default: {noise})
  --seed NUMBER         seed of the noise generator (default: {seed})
  --out FOLDER          where the PNG files go (default: out)
  --side-by-side PATH   also write noisy and denoised side by side as PNG
                        (a wide image is cut to its central square)
  --norm NAME           anisotropic (default), isotropic, squared, or
                        smooth:EPSILON (e.g. smooth:0.01)
  --compare-norms       for the anisotropic and isotropic norms, find the
                        λ of the best PSNR on a grid, and print both
                        (writes no file)
  -h, --help            print this help and exit
",
        lambda = DEFAULT_LAMBDA,
        step = DEFAULT_STEP,
        iterations = DEFAULT_ITERATIONS,
        noise = DEFAULT_NOISE,
        seed = DEFAULT_SEED,
    )
}

/// Everything the command line sets.
struct Options {
    input: PathBuf,
    lambda: f32,
    step: f32,
    iterations: usize,
    noise: f32,
    seed: u64,
    out_dir: PathBuf,
    side_by_side: Option<PathBuf>,
    norm: Norm,
    compare_norms: bool,
}

enum Command {
    Help,
    Denoise(Options),
}

fn parse_args(
    args: impl IntoIterator<Item = OsString>,
) -> Result<Command, String> {
    let mut options = Options {
        input: Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets")
            .join("chelsea.png"),
        lambda: DEFAULT_LAMBDA,
        step: DEFAULT_STEP,
        iterations: DEFAULT_ITERATIONS,
        noise: DEFAULT_NOISE,
        seed: DEFAULT_SEED,
        out_dir: PathBuf::from("out"),
        side_by_side: None,
        norm: Norm::Anisotropic,
        compare_norms: false,
    };
    let mut input = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else {
            if input.replace(PathBuf::from(arg)).is_some() {
                return Err("more than one input image given".into());
            }
            continue;
        };
        if text == "-h" || text == "--help" {
            return Ok(Command::Help);
        }
        if text == "--compare-norms" {
            options.compare_norms = true;
            continue;
        }
        if !text.starts_with('-') || text == "-" {
            if input.replace(PathBuf::from(arg)).is_some() {
                return Err("more than one input image given".into());
            }
            continue;
        }
        // Both `--name value` and `--name=value` are accepted.
        let (name, inline_value) = match text.split_once('=') {
            Some((name, value)) => (name, Some(OsString::from(value))),
            None => (text, None),
        };
        let name = name.to_owned();
        let mut value = || -> Result<OsString, String> {
            inline_value
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--lambda" => {
                options.lambda = parse_float(&name, &value()?)?;
                if options.lambda < 0.0 {
                    return Err(format!(
                        "{name} must be >= 0, got {}",
                        options.lambda
                    ));
                }
            }
            "--step" => {
                options.step = parse_float(&name, &value()?)?;
                if !(options.step > 0.0 && options.step < 2.0) {
                    return Err(format!(
                        "{name} must be > 0 and < 2 (from 2 on the data \
                         term diverges), got {}",
                        options.step
                    ));
                }
            }
            "--iterations" => {
                let count = parse_text(&name, &value()?)?;
                options.iterations = match count.trim().parse::<usize>() {
                    Ok(count) if count > 0 => count,
                    _ => {
                        return Err(format!(
                            "{name} must be a whole number from 1 to {}, \
                             got {count:?}",
                            usize::MAX
                        ));
                    }
                };
            }
            "--noise" => {
                options.noise = parse_float(&name, &value()?)?;
                if options.noise < 0.0 {
                    return Err(format!(
                        "{name} must be >= 0, got {}",
                        options.noise
                    ));
                }
            }
            "--seed" => {
                let seed = parse_text(&name, &value()?)?;
                options.seed = seed.trim().parse().map_err(|_| {
                    format!(
                        "{name} must be a whole number from 0 to {}, \
                         got {seed:?}",
                        u64::MAX
                    )
                })?;
            }
            "--out" => options.out_dir = PathBuf::from(value()?),
            "--side-by-side" => {
                options.side_by_side = Some(PathBuf::from(value()?));
            }
            "--norm" => options.norm = parse_norm(&name, &value()?)?,
            _ => {
                return Err(format!(
                    "unknown option {name} (see --help for the list)"
                ));
            }
        }
    }
    if let Some(input) = input {
        options.input = input;
    }
    Ok(Command::Denoise(options))
}

fn parse_text(name: &str, value: &OsString) -> Result<String, String> {
    value
        .to_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("the value of {name} is not valid UTF-8"))
}

/// A finite `f32`: NaN and infinities are refused.
fn parse_norm(name: &str, value: &OsString) -> Result<Norm, String> {
    let text = parse_text(name, value)?;
    let norm = match text.split_once(':') {
        None if text == "anisotropic" => Norm::Anisotropic,
        None if text == "isotropic" => Norm::Isotropic,
        None if text == "squared" => Norm::SquaredL2,
        Some(("smooth", epsilon)) => {
            let epsilon = epsilon.trim().parse::<f64>().map_err(|_| {
                format!("the epsilon of {name} {text} is not a number")
            })?;
            Norm::Smooth { epsilon }
        }
        _ => {
            return Err(format!(
                "{name} must be anisotropic, isotropic, squared or \
                 smooth:EPSILON, got {text:?}"
            ));
        }
    };
    // The norm's own check, on a one-pixel image: a bad epsilon is an
    // error here rather than after the photo is loaded.
    TotalVariation::new()
        .with_norm(norm)
        .value(&[0.0f32], &Layout::new(&[1, 1]).map_err(|e| e.to_string())?)
        .map_err(|err| format!("{name}: {err}"))?;
    Ok(norm)
}

fn parse_float(name: &str, value: &OsString) -> Result<f32, String> {
    let text = parse_text(name, value)?;
    match text.trim().parse::<f32>() {
        Ok(number) if number.is_finite() => Ok(number),
        Ok(_) => Err(format!("{name} must be a finite number, got {text:?}")),
        Err(_) => Err(format!("{name} needs a number, got {text:?}")),
    }
}

/// An image as `channels` planes of `height × width` values in `[0, 1]`,
/// one plane after the other: the `(C, H, W)` layout of the crate.
struct Planes {
    channels: usize,
    height: usize,
    width: usize,
    values: Vec<f32>,
}

impl Planes {
    fn layout(&self) -> Result<Layout, String> {
        Layout::new(&[self.channels, self.height, self.width])
            .map_err(|err| err.to_string())
    }

    fn with_values(&self, values: Vec<f32>) -> Planes {
        Planes { values, ..*self }
    }
}

/// Reads a PNG or JPEG, recognised by its content, into planes: one for
/// a grey image, three for a colour one (an alpha channel is dropped).
fn load_planes(path: &Path) -> Result<Planes, String> {
    let shown = path.display();
    let decoded = ImageReader::open(path)
        .map_err(|err| format!("cannot open {shown}: {err}"))?
        .with_guessed_format()
        .map_err(|err| format!("cannot read {shown}: {err}"))?
        .decode()
        .map_err(|err| format!("cannot decode {shown}: {err}"))?;
    let (width, height) = (decoded.width(), decoded.height());
    if width == 0 || height == 0 {
        return Err(format!("{shown} has no pixels ({width}×{height})"));
    }
    let (width, height) = (width as usize, height as usize);
    let plane_len = width * height;
    if decoded.color().has_color() {
        let interleaved = decoded.to_rgb32f().into_raw();
        let mut values = vec![0.0; 3 * plane_len];
        for (pixel, rgb) in interleaved.chunks_exact(3).enumerate() {
            for (channel, &value) in rgb.iter().enumerate() {
                values[channel * plane_len + pixel] = value;
            }
        }
        Ok(Planes { channels: 3, height, width, values })
    } else {
        let values = decoded.to_luma32f().into_raw();
        Ok(Planes { channels: 1, height, width, values })
    }
}

/// Converts `[0, 1]` planes to 8 bits, clamping what lies outside.
fn to_image(planes: &Planes) -> DynamicImage {
    let to_byte = |value: f32| (value.clamp(0.0, 1.0) * 255.0).round() as u8;
    let (width, height) = (planes.width as u32, planes.height as u32);
    let plane_len = planes.width * planes.height;
    if planes.channels == 1 {
        let bytes = planes.values.iter().map(|&value| to_byte(value));
        let grey = GrayImage::from_raw(width, height, bytes.collect());
        DynamicImage::ImageLuma8(grey.expect("one byte per pixel"))
    } else {
        let mut bytes = Vec::with_capacity(3 * plane_len);
        for pixel in 0..plane_len {
            for channel in 0..3 {
                bytes.push(to_byte(planes.values[channel * plane_len + pixel]));
            }
        }
        let rgb = RgbImage::from_raw(width, height, bytes);
        DynamicImage::ImageRgb8(rgb.expect("three bytes per pixel"))
    }
}

/// Writes a PNG with the strongest compression: a noisy picture comes out
/// about a tenth smaller than with the encoder's fast default.
fn save_png(image: &DynamicImage, path: &Path) -> Result<(), String> {
    let cannot_write = |err: &dyn std::fmt::Display| {
        format!("cannot write {}: {err}", path.display())
    };
    let file = File::create(path).map_err(|err| cannot_write(&err))?;
    let mut writer = BufWriter::new(file);
    let encoder = PngEncoder::new_with_quality(
        &mut writer,
        CompressionType::Best,
        FilterType::Adaptive,
    );
    image.write_with_encoder(encoder).map_err(|err| cannot_write(&err))?;
    writer.flush().map_err(|err| cannot_write(&err))
}

/// `left`, a white gap, then `right`: two pictures of the same size. A
/// landscape picture is cut to its central square first, so the pair is
/// about as wide as a page and its pixels stay unscaled.
fn side_by_side(left: &DynamicImage, right: &DynamicImage) -> RgbImage {
    let (width, height) = (left.width(), left.height());
    let half_width = width.min(height);
    let first_column = (width - half_width) / 2;
    let white = image::Rgb([255; 3]);
    let mut joined =
        RgbImage::from_pixel(2 * half_width + SIDE_BY_SIDE_GAP, height, white);
    for (half, picture) in [left, right].into_iter().enumerate() {
        let picture = picture.to_rgb8();
        let offset = half as u32 * (half_width + SIDE_BY_SIDE_GAP);
        for y in 0..height {
            for x in 0..half_width {
                let pixel = *picture.get_pixel(first_column + x, y);
                joined.put_pixel(offset + x, y, pixel);
            }
        }
    }
    joined
}

/// SplitMix64: a small, fast generator, good enough for test noise and
/// identical on every platform for a given seed.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `(0, 1]`: the top 53 bits, shifted away from zero so a
    /// logarithm of it is finite.
    fn next_unit_open_at_zero(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Two independent standard normal values (Box–Muller transform).
    fn next_normal_pair(&mut self) -> (f64, f64) {
        let radius = (-2.0 * self.next_unit_open_at_zero().ln()).sqrt();
        let angle = std::f64::consts::TAU * self.next_unit_open_at_zero();
        (radius * angle.cos(), radius * angle.sin())
    }
}

/// The clean planes plus Gaussian noise of deviation `sigma`, clamped to
/// `[0, 1]` as a sensor would saturate.
fn add_noise(clean: &Planes, sigma: f32, seed: u64) -> Planes {
    let mut rng = SplitMix64::new(seed);
    let mut noisy = clean.values.clone();
    for pair in noisy.chunks_mut(2) {
        let (first, second) = rng.next_normal_pair();
        for (value, normal) in pair.iter_mut().zip([first, second]) {
            *value = (*value + sigma * normal as f32).clamp(0.0, 1.0);
        }
    }
    clean.with_values(noisy)
}

/// Peak signal-to-noise ratio in dB against `clean`, for values in
/// `[0, 1]`; `estimate` is clamped to that range first.
fn psnr_db(clean: &Planes, estimate: &Planes) -> f64 {
    let squared_error: f64 = clean
        .values
        .iter()
        .zip(&estimate.values)
        .map(|(&truth, &value)| {
            let error = f64::from(value.clamp(0.0, 1.0) - truth);
            error * error
        })
        .sum();
    let mean_squared_error = squared_error / clean.values.len() as f64;
    -10.0 * mean_squared_error.log10()
}

/// The two terms of the loss at `x`: `½‖x − y‖²` and `Σₚ TV(xₚ)`.
/// The data term `½‖x − y‖²`, in `f64`.
fn data_term(x: &[f32], y: &[f32]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(&a, &b)| {
            let difference = f64::from(a - b);
            0.5 * difference * difference
        })
        .sum()
}

/// Gradient descent from `x = y` on `½‖x − y‖² + λ·Σₚ TV(xₚ)`, printing a
/// progress line every few iterations.
fn denoise(
    noisy: &Planes,
    options: &Options,
    lambda: f32,
    norm: Norm,
    report: bool,
) -> Result<Planes, String> {
    let layout = noisy.layout()?;
    let tv = TotalVariation::new().with_norm(norm);
    // Upstream gradient λ for every plane: the gradient written is then
    // that of λ·Σₚ TV(xₚ) directly.
    let upstream = vec![lambda; layout.planes()];
    let report_every = options.iterations.div_ceil(PROGRESS_LINES).max(1);
    let y = &noisy.values;
    let mut x = y.clone();
    let mut tv_values = vec![0.0; layout.planes()];
    let mut tv_gradient = vec![0.0; layout.len()];
    for iteration in 0..=options.iterations {
        // The values (for the progress line) and the gradient (for the
        // step) in one pass over the image.
        tv.value_and_gradient_into(
            &x,
            &layout,
            &upstream,
            &mut tv_values,
            &mut tv_gradient,
        )
        .map_err(|err| err.to_string())?;
        let last = iteration == options.iterations;
        if report && (iteration % report_every == 0 || last) {
            let data = data_term(&x, y);
            let total_tv: f64 = tv_values.iter().map(|&v| f64::from(v)).sum();
            let loss = data + f64::from(lambda) * total_tv;
            say!(
                "iteration {iteration:>5}/{}: loss {loss:>12.3}, \
                 ½‖x − y‖² {data:>10.3}, TV {total_tv:>12.3}",
                options.iterations
            )?;
        }
        if last {
            break;
        }
        for ((value, &observed), &tv_slope) in
            x.iter_mut().zip(y).zip(&tv_gradient)
        {
            *value -= options.step * ((*value - observed) + tv_slope);
        }
    }
    Ok(noisy.with_values(x))
}

/// For the anisotropic and the isotropic norm, the λ of the best PSNR on
/// a grid from 0.01 to 0.30, and that PSNR.
fn compare_norms(
    clean: &Planes,
    noisy: &Planes,
    options: &Options,
) -> Result<(), String> {
    say!("PSNR noisy: {:6.2} dB", psnr_db(clean, noisy))?;
    for (name, norm) in
        [("anisotropic", Norm::Anisotropic), ("isotropic", Norm::Isotropic)]
    {
        let mut best = (f32::NAN, f64::NEG_INFINITY);
        for step in 1..=30u8 {
            let lambda = f32::from(step) * 0.01;
            let denoised = denoise(noisy, options, lambda, norm, false)?;
            let psnr = psnr_db(clean, &denoised);
            if psnr > best.1 {
                best = (lambda, psnr);
            }
        }
        say!("{name:>11}: best PSNR {:6.2} dB at λ = {:.2}", best.1, best.0)?;
    }
    Ok(())
}

fn run(options: &Options) -> Result<(), String> {
    let started = Instant::now();
    let clean = load_planes(&options.input)?;
    say!(
        "{}: {}×{} pixels, {} plane{}",
        options.input.display(),
        clean.width,
        clean.height,
        clean.channels,
        if clean.channels == 1 { "" } else { "s" }
    )?;
    say!(
        "noise σ = {}, seed {}; λ = {}, step {}, {} iterations, {:?} norm",
        options.noise,
        options.seed,
        options.lambda,
        options.step,
        options.iterations,
        options.norm
    )?;

    // Made before the slow part, so that a bad folder fails at once.
    std::fs::create_dir_all(&options.out_dir).map_err(|err| {
        format!("cannot create {}: {err}", options.out_dir.display())
    })?;

    let noisy = add_noise(&clean, options.noise, options.seed);
    if options.compare_norms {
        return compare_norms(&clean, &noisy, options);
    }
    let descent_started = Instant::now();
    let denoised =
        denoise(&noisy, options, options.lambda, options.norm, true)?;
    let descent_time = descent_started.elapsed();

    let stem = options
        .input
        .file_stem()
        .map_or("image".into(), |stem| stem.to_string_lossy());
    let noisy_path = options.out_dir.join(format!("{stem}-noisy.png"));
    let denoised_path = options.out_dir.join(format!("{stem}-denoised.png"));
    let noisy_image = to_image(&noisy);
    let denoised_image = to_image(&denoised);
    save_png(&noisy_image, &noisy_path)?;
    save_png(&denoised_image, &denoised_path)?;
    say!("wrote {}", noisy_path.display())?;
    say!("wrote {}", denoised_path.display())?;
    if let Some(path) = &options.side_by_side {
        let joined = side_by_side(&noisy_image, &denoised_image);
        save_png(&DynamicImage::ImageRgb8(joined), path)?;
        say!("wrote {}", path.display())?;
    }

    let noisy_psnr = psnr_db(&clean, &noisy);
    let denoised_psnr = psnr_db(&clean, &denoised);
    let descent_ms = descent_time.as_secs_f64() * 1e3;
    say!("PSNR noisy:    {noisy_psnr:6.2} dB")?;
    let gain = denoised_psnr - noisy_psnr;
    if gain.is_finite() {
        say!("PSNR denoised: {denoised_psnr:6.2} dB ({gain:+.2} dB)")?;
    } else {
        say!("PSNR denoised: {denoised_psnr:6.2} dB")?;
    }
    say!(
        "gradient descent: {descent_ms:.1} ms ({:.2} ms per iteration); \
         total {:.1} ms",
        descent_ms / options.iterations as f64,
        started.elapsed().as_secs_f64() * 1e3
    )?;
    Ok(())
}

fn main() -> ExitCode {
    let command = match parse_args(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => match write!(std::io::stdout(), "{}", usage()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: cannot write to standard output: {err}");
                ExitCode::FAILURE
            }
        },
        Command::Denoise(options) => match run(&options) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::FAILURE
            }
        },
    }
}
