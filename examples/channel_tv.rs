//! Prints the total variation of each channel of PNG or JPEG images, a
//! measure of their sharpness and of their noise: fine detail, sharp
//! edges and noise raise it, blur and flat areas lower it.
//!
//! The decoder gives interleaved samples (`H×W×C`: R, G, B, R, G, B, …).
//! [`Layout::interleaved`] describes them as one strided plane per
//! channel, so each channel is measured where it lies, without a planar
//! copy of the image.
//!
//! ```text
//! cargo run --release --example channel_tv
//! cargo run --release --example channel_tv -- photo.jpg scan.png
//! cargo run --release --example channel_tv -- --help
//! ```

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use image::{DynamicImage, ImageBuffer, ImageReader, Pixel};
use total_variation::{Element, Layout, Reduction, TotalVariation};

/// `println!` that gives an error instead of a panic when standard output
/// is closed, as when the output is piped into `head`.
macro_rules! say {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout(), $($arg)*).map_err(|err| {
            format!("cannot write to standard output: {err}")
        })
    };
}

const USAGE: &str = "\
Prints, for each image and each of its channels (L, R, G, B, A), the total
variation: the sum of the absolute differences between neighbouring
samples, down and across, and its mean (the mean difference down plus the
mean difference across). Sharp, detailed or noisy images score high,
blurred or flat ones low. Values are in the image's sample units: 0 to 255
for 8-bit images, 0 to 65535 for 16-bit ones, 0 to 1 for floating point.

Usage: channel_tv [IMAGE]...

Arguments:
  IMAGE        PNG or JPEG files (default: assets/chelsea.png)

Options:
  -h, --help   print this help and exit

Exit status: 0 when every image was measured, 1 when one could not be
read or decoded (the others are still measured), 2 for a bad argument.
";

enum Command {
    Help,
    Measure(Vec<PathBuf>),
}

fn parse_args(
    args: impl IntoIterator<Item = OsString>,
) -> Result<Command, String> {
    let mut paths = Vec::new();
    let mut only_paths = false;
    for arg in args {
        match arg.to_str() {
            Some("-h" | "--help") if !only_paths => return Ok(Command::Help),
            Some("--") if !only_paths => only_paths = true,
            Some(text)
                if text.starts_with('-') && text != "-" && !only_paths =>
            {
                return Err(format!("unknown option {text} (try --help)"));
            }
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    if paths.is_empty() {
        paths.push(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("assets")
                .join("chelsea.png"),
        );
    }
    Ok(Command::Measure(paths))
}

/// The TV of one channel of an image.
struct ChannelTv {
    name: &'static str,
    sum: f64,
    mean: f64,
}

/// The channel names of an image with `channels` samples per pixel.
fn channel_names(channels: usize) -> &'static [&'static str] {
    match channels {
        1 => &["L"],
        2 => &["L", "A"],
        3 => &["R", "G", "B"],
        _ => &["R", "G", "B", "A"],
    }
}

/// The sum and the mean TV of each channel of `image`, read in place.
fn channel_tvs<P>(
    image: &ImageBuffer<P, Vec<P::Subpixel>>,
) -> Result<Vec<ChannelTv>, String>
where
    P: Pixel,
    P::Subpixel: Element,
    <P::Subpixel as Element>::Output: Into<f64>,
{
    let too_large = |_| "the image is too large for this machine".to_owned();
    let width = usize::try_from(image.width()).map_err(too_large)?;
    let height = usize::try_from(image.height()).map_err(too_large)?;
    let channels = usize::from(P::CHANNEL_COUNT);
    // H×W×C samples: one plane per channel, each `channels` samples
    // from one pixel to the next.
    let layout = Layout::interleaved(height, width, channels)
        .map_err(|err| err.to_string())?;
    let samples: &[P::Subpixel] = image.as_raw();
    let tv = TotalVariation::new();
    let sums = tv.value(samples, &layout).map_err(|err| err.to_string())?;
    let means = tv
        .with_reduction(Reduction::Mean)
        .value(samples, &layout)
        .map_err(|err| err.to_string())?;
    let names = channel_names(channels);
    Ok(names
        .iter()
        .zip(sums.into_iter().zip(means))
        .map(|(&name, (sum, mean))| ChannelTv {
            name,
            sum: sum.into(),
            mean: mean.into(),
        })
        .collect())
}

/// What `measure` finds in one image.
struct Measurement {
    /// Size and sample layout, as `451×300 Rgb8`.
    description: String,
    /// Decimals worth printing in a sum: 0 for integer samples, whose
    /// sums are whole numbers.
    sum_decimals: usize,
    channels: Vec<ChannelTv>,
}

/// Decodes the image at `path` and measures each of its channels.
fn measure(path: &Path) -> Result<Measurement, String> {
    let shown = path.display();
    let decoded = ImageReader::open(path)
        .map_err(|err| format!("cannot open {shown}: {err}"))?
        .with_guessed_format()
        .map_err(|err| format!("cannot read {shown}: {err}"))?
        .decode()
        .map_err(|err| format!("cannot decode {shown}: {err}"))?;
    let description = format!(
        "{}×{} {:?}",
        decoded.width(),
        decoded.height(),
        decoded.color()
    );
    let (channels, sum_decimals) = match &decoded {
        DynamicImage::ImageLuma8(image) => (channel_tvs(image), 0),
        DynamicImage::ImageLumaA8(image) => (channel_tvs(image), 0),
        DynamicImage::ImageRgb8(image) => (channel_tvs(image), 0),
        DynamicImage::ImageRgba8(image) => (channel_tvs(image), 0),
        DynamicImage::ImageLuma16(image) => (channel_tvs(image), 0),
        DynamicImage::ImageLumaA16(image) => (channel_tvs(image), 0),
        DynamicImage::ImageRgb16(image) => (channel_tvs(image), 0),
        DynamicImage::ImageRgba16(image) => (channel_tvs(image), 0),
        DynamicImage::ImageRgb32F(image) => (channel_tvs(image), 4),
        DynamicImage::ImageRgba32F(image) => (channel_tvs(image), 4),
        // A sample layout added to `image` after this example was
        // written: converted, the one copy this example makes.
        other => (channel_tvs(&other.to_rgba32f()), 4),
    };
    let channels = channels
        .map_err(|message| format!("cannot measure {shown}: {message}"))?;
    Ok(Measurement { description, sum_decimals, channels })
}

/// Measures every image; the error of the first one that fails to
/// print, or whether every image was read.
fn run(paths: &[PathBuf]) -> Result<bool, String> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all_read = true;
    for path in paths {
        match measure(path) {
            Ok(Measurement { description, sum_decimals, channels }) => {
                let shown = path.strip_prefix(manifest_dir).unwrap_or(path);
                say!("{}: {description}", shown.display())?;
                for channel in channels {
                    say!(
                        "  {:<2} sum {:>14.sum_decimals$}   mean {:>10.4}",
                        channel.name,
                        channel.sum,
                        channel.mean
                    )?;
                }
            }
            Err(message) => {
                eprintln!("error: {message}");
                all_read = false;
            }
        }
    }
    Ok(all_read)
}

fn main() -> ExitCode {
    let command = match parse_args(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => write!(std::io::stdout(), "{USAGE}")
            .map(|()| true)
            .map_err(|err| format!("cannot write to standard output: {err}")),
        Command::Measure(paths) => run(&paths),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
