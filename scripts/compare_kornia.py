#!/usr/bin/env python3
"""Times kornia's total variation on the CPU beside this crate's benchmarks.

Run it with a Python that has torch, kornia 0.9 and NumPy, after the
crate's f32 benchmarks:

    cargo bench --bench total_variation -- f32/
    python scripts/compare_kornia.py [--criterion-dir DIR]

CI never runs this script. On each shape of benches/total_variation.rs
(64x64, 8x3x256x256, 3x2048x2048; f32 pixels, uniform in [0, 1)) it times:

- kornia.losses.total_variation(img, reduction="sum"): "value";
- the same followed by backward() with an upstream gradient of ones:
  "gradient" (kornia has no gradient without its forward pass, so this row
  holds both, while the crate's gradient benchmark computes only the
  gradient);
- torch.sum of the same buffer (the streaming-read limit, as the crate's
  `streaming-sum` baseline);
- the same TV in NumPy, np.abs(np.diff(...)).sum over the last two axes.

Torch runs on one thread (torch.set_num_threads(1)) and on every CPU the
process may use. NumPy's element-wise operations and reductions use one
thread whatever torch does.

Each time is the median, over several runs, of the mean time per call in a
run; a run repeats the call until it lasts at least RUN_SECONDS, after a
first untimed call (allocations, lazy initialisation). The number of runs
adapts so each measurement takes about --seconds, with at least MIN_RUNS.
With the defaults the whole script takes under a minute on two
cores.

The crate's times are criterion medians (`median.point_estimate` of
`new/estimates.json`, in nanoseconds) for `f32/value/{backend}/pairwise/
{size}` and `f32/gradient/{backend}/pairwise/{size}`, from the first backend
measured of avx512 (the gradient only), avx2 and portable: the one
`Backend::Auto` runs. The criterion folder
is, first found: --criterion-dir, $TOTAL_VARIATION_CRITERION_DIR,
$CARGO_TARGET_DIR/criterion, then target/criterion in the repository.

With --alternate ROUNDS the script does not read criterion's results. It
builds the example `time_calls` and times the crate through it, in turn
with kornia and torch on one thread: for each shape, ROUNDS rounds of
kornia's value and the crate's value, kornia's value and backward and
the crate's one-pass value and gradient, torch.sum and the crate's
streaming sum, each side first in every other round. A slow spell of a
shared machine then falls on both sides of a ratio. It prints the median
time of each side and the median and range of the per-round ratios.
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import timeit

import kornia
import numpy as np
import torch

REPO = pathlib.Path(__file__).resolve().parent.parent
ENV_CRITERION_DIR = "TOTAL_VARIATION_CRITERION_DIR"
BENCH_COMMAND = "cargo bench --bench total_variation -- f32/"

# The shapes of benches/total_variation.rs, under the same names.
SHAPES = [
    ("64x64", (64, 64)),
    ("8x3x256x256", (8, 3, 256, 256)),
    ("3x2048x2048", (3, 2048, 2048)),
]
BACKENDS = ["avx512", "avx2", "portable"]  # in order of preference
SUMMATION = "pairwise"

RUN_SECONDS = 0.02
MIN_RUNS = 5
MAX_RUNS = 51


def parse_args():
    parser = argparse.ArgumentParser(
        description="Time kornia's total_variation (CPU) against this"
        " crate's criterion medians.",
    )
    parser.add_argument(
        "--criterion-dir",
        type=pathlib.Path,
        help="criterion output folder (default: $"
        + ENV_CRITERION_DIR
        + ", else $CARGO_TARGET_DIR/criterion, else target/criterion in"
        " the repository)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=1.5,
        help="time spent on each measurement, roughly (default 1.5);"
        " with --alternate, shared among the rounds, each of which takes"
        " at least five runs of 20 ms on each side",
    )
    parser.add_argument(
        "--alternate",
        type=int,
        metavar="ROUNDS",
        help="time the crate in turn with kornia, ROUNDS times per pair,"
        " instead of reading criterion's results",
    )
    parser.add_argument(
        "--shapes",
        nargs="+",
        choices=[name for name, _ in SHAPES],
        default=[name for name, _ in SHAPES],
        help="time only these shapes",
    )
    args = parser.parse_args()
    if args.alternate is not None and args.alternate < 1:
        parser.error("--alternate needs at least one round")
    return args


def criterion_dir(args):
    if args.criterion_dir is not None:
        return args.criterion_dir, "--criterion-dir"
    if os.environ.get(ENV_CRITERION_DIR):
        return pathlib.Path(os.environ[ENV_CRITERION_DIR]), (
            "$" + ENV_CRITERION_DIR
        )
    if os.environ.get("CARGO_TARGET_DIR"):
        target = pathlib.Path(os.environ["CARGO_TARGET_DIR"])
        return target / "criterion", "$CARGO_TARGET_DIR"
    return REPO / "target" / "criterion", "default"


# ---------------------------------------------------------------- machine


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_average():
    try:
        return " ".join(f"{load:.2f}" for load in os.getloadavg())
    except OSError:
        return "unknown"


def print_machine(all_threads, default_threads):
    capability = getattr(torch.backends.cpu, "get_cpu_capability", None)
    print(f"CPU: {cpu_model()}")
    print(
        f"cores: {os.cpu_count()} logical, {usable_cpus()} usable by this"
        f" process; 'all threads' = {all_threads}"
        f" (torch's default: {default_threads})"
    )
    print(
        f"Python {platform.python_version()}, torch {torch.__version__}"
        + (f" (CPU kernels: {capability()})" if capability else "")
        + f", kornia {kornia.__version__}, NumPy {np.__version__}"
    )


# ---------------------------------------------------------------- timing


def measure(function, budget):
    """Median seconds per call of `function`, with the runs and loops."""
    function()
    timer = timeit.Timer(function)
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= RUN_SECONDS:
            break
        # Grow towards RUN_SECONDS, at most tenfold at a time.
        grow = RUN_SECONDS / elapsed if elapsed > 0 else 10
        number = max(number + 1, int(number * min(10, grow * 1.2)))
    runs = max(MIN_RUNS, min(MAX_RUNS, int(budget / elapsed)))
    times = timer.repeat(repeat=runs, number=number)
    return statistics.median(times) / number, runs, number


def numpy_tv(image):
    """TV per plane, summed over the last two axes, as kornia's "sum"."""
    vertical = np.abs(np.diff(image, axis=-2)).sum(axis=(-2, -1))
    horizontal = np.abs(np.diff(image, axis=-1)).sum(axis=(-2, -1))
    return vertical + horizontal


def kornia_calls(shape, seed):
    """The image of `shape` (uniform in [0, 1), from `seed`) and the calls
    timed on it: kornia's value, kornia's value and backward (upstream
    ones), and torch.sum of the image."""
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand(shape, generator=generator, dtype=torch.float32)
    leaf = image.clone().requires_grad_(True)
    upstream = torch.ones(shape[:-2], dtype=torch.float32)
    total_variation = kornia.losses.total_variation

    def kornia_value():
        return total_variation(image, reduction="sum")

    def kornia_gradient():
        leaf.grad = None
        value = total_variation(leaf, reduction="sum")
        value.backward(upstream)

    def torch_sum():
        return torch.sum(image)

    return image, kornia_value, kornia_gradient, torch_sum


def time_shape(name, shape, all_threads, budget, seed):
    """{(operation, column): seconds} for one shape."""
    image, kornia_value, kornia_gradient, torch_sum = kornia_calls(
        shape, seed
    )
    array = image.numpy()  # the same buffer

    def numpy_value():
        return numpy_tv(array)

    # The two implementations must agree before their times mean anything.
    expected = kornia_value().double().numpy()
    got = numpy_tv(array.astype(np.float64))
    if not np.allclose(got, expected, rtol=1e-5, atol=0):
        worst = np.max(np.abs(got - expected) / np.abs(expected))
        print(
            f"warning: NumPy and kornia disagree on {name}"
            f" (relative difference {worst:.2e})",
            file=sys.stderr,
        )

    times = {}
    plan = [
        ("value", "kornia", kornia_value),
        ("gradient", "kornia", kornia_gradient),
        ("value", "torch.sum", torch_sum),
    ]
    for threads, column_suffix in [(1, "1"), (all_threads, "all")]:
        torch.set_num_threads(threads)
        for operation, column, function in plan:
            key = (operation, f"{column} {column_suffix}")
            times[key] = report(name, key, *measure(function, budget))
    torch.set_num_threads(1)
    key = ("value", "numpy")
    times[key] = report(name, key, *measure(numpy_value, budget))
    return times


def report(name, key, seconds, runs, number):
    operation, column = key
    print(
        f"  {name:<12} {operation:<8} {column:<13}"
        f" {format_time(seconds):>9}  ({runs} runs of {number} calls)",
        file=sys.stderr,
        flush=True,
    )
    return seconds


# ---------------------------------------------------------------- criterion


def criterion_medians(directory):
    """{full benchmark id: (median seconds, estimates.json path)}."""
    medians = {}
    if not directory.is_dir():
        return medians
    # Criterion writes new/benchmark.json beside new/estimates.json; its
    # `full_id` is the id as the benchmark named it, before the folder
    # names replaced the '/' ("f32/value" becomes "f32_value").
    for description in directory.glob("**/new/benchmark.json"):
        estimates = description.parent / "estimates.json"
        try:
            full_id = json.loads(description.read_text())["full_id"]
            median = json.loads(estimates.read_text())["median"]
            medians[full_id] = (median["point_estimate"] * 1e-9, estimates)
        except (OSError, KeyError, ValueError):
            continue
    return medians


def crate_times(medians, names):
    """{(shape, operation): (seconds, backend, path)}, and missing ids."""
    found = {}
    missing = []
    for name in names:
        for operation in ["value", "gradient"]:
            for backend in BACKENDS:
                full_id = f"f32/{operation}/{backend}/{SUMMATION}/{name}"
                if full_id in medians:
                    seconds, path = medians[full_id]
                    found[(name, operation)] = (seconds, backend, path)
                    break
            else:
                missing.append(
                    f"f32/{operation}/{{{','.join(BACKENDS)}}}/{SUMMATION}"
                    f"/{name}"
                )
    return found, missing


def baseline_times(medians, names):
    """{shape: (streaming-sum seconds or None, copy seconds or None)}."""
    baselines = {}
    for name in names:
        streaming = medians.get(f"f32/value/streaming-sum/-/{name}")
        copy = medians.get(f"f32/gradient/copy/-/{name}")
        baselines[name] = tuple(
            entry[0] if entry else None for entry in (streaming, copy)
        )
    return baselines


def newest_source():
    """(mtime, path) of the newest file the benchmarks are built from."""
    newest = (0.0, None)
    for folder in ["src", "benches"]:
        for path in (REPO / folder).glob("**/*.rs"):
            newest = max(newest, (path.stat().st_mtime, path))
    for name in ["Cargo.toml", "Cargo.lock"]:
        path = REPO / name
        if path.exists():
            newest = max(newest, (path.stat().st_mtime, path))
    return newest


# ---------------------------------------------------------------- alternate


def build_timer():
    """Path of the release build of the example `time_calls`, as cargo
    reports it."""
    built = subprocess.run(
        [
            "cargo",
            "build",
            "--release",
            "--example",
            "time_calls",
            "--message-format=json",
        ],
        cwd=REPO,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in built.stdout.splitlines():
        message = json.loads(line)
        target = message.get("target", {})
        if (
            message.get("reason") == "compiler-artifact"
            and target.get("name") == "time_calls"
            and "example" in target.get("kind", [])
            and message.get("executable")
        ):
            return pathlib.Path(message["executable"])
    raise RuntimeError("cargo built no time_calls executable")


class CrateTimer:
    """The example `time_calls`, asked one timing at a time."""

    def __init__(self, binary):
        self.child = subprocess.Popen(
            [str(binary)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def seconds(self, operation, shape, budget):
        self.child.stdin.write(f"{operation} {shape} {budget}\n")
        self.child.stdin.flush()
        reply = self.child.stdout.readline().strip()
        if not reply or reply.startswith("error"):
            raise RuntimeError(f"time_calls answered {reply!r}")
        return float(reply.split()[0])

    def close(self):
        self.child.stdin.close()
        self.child.wait()


def alternate_shape(name, shape, rounds, budget, timer, seed):
    """{label: (kornia or torch seconds per round, crate seconds per round)}."""
    _, kornia_value, kornia_gradient, torch_sum = kornia_calls(shape, seed)
    pairs = [
        ("value", kornia_value, "value"),
        ("value+grad", kornia_gradient, "value-and-gradient"),
        ("sum", torch_sum, "streaming-sum"),
    ]
    share = budget / rounds
    results = {}
    for label, theirs, ours in pairs:
        times = ([], [])
        for round_index in range(rounds):
            # Each side goes first in every other round, so that neither
            # always follows the other's traces in the caches.
            sides = ["theirs", "ours"]
            if round_index % 2:
                sides.reverse()
            for side in sides:
                if side == "theirs":
                    times[0].append(measure(theirs, share)[0])
                else:
                    times[1].append(timer.seconds(ours, name, share))
        results[label] = times
        print(
            f"  {name:<12} {label:<10} {format_time(statistics.median(times[0])):>9}"
            f"  crate {format_time(statistics.median(times[1])):>9}",
            file=sys.stderr,
            flush=True,
        )
    return results


def main_alternate(args, names, shapes):
    torch.set_num_threads(1)
    timer = CrateTimer(build_timer())
    print(f"load average at start: {load_average()}")
    print()
    print("timing in turn (median per call):", file=sys.stderr)
    started = time.perf_counter()
    try:
        results = {
            name: alternate_shape(
                name, shapes[name], args.alternate, args.seconds, timer, seed
            )
            for seed, name in enumerate(names)
        }
    finally:
        timer.close()
    elapsed = time.perf_counter() - started
    print(file=sys.stderr)

    headers = [
        "shape",
        "operation",
        "torch 1t",
        "crate",
        "ratio",
        "ratio range",
    ]
    rows = []
    for name in names:
        for label, (theirs, ours) in results[name].items():
            ratios = sorted(t / o for t, o in zip(theirs, ours))
            rows.append(
                [
                    name,
                    label,
                    format_time(statistics.median(theirs)),
                    format_time(statistics.median(ours)),
                    f"{statistics.median(ratios):.1f}x",
                    f"{ratios[0]:.1f}-{ratios[-1]:.1f}x",
                ]
            )
    print_table(headers, rows)
    print()
    print(
        "torch 1t: kornia's total_variation (value; value+grad: forward and"
        " backward\nwith upstream ones) and torch.sum (sum), on one thread."
        " crate: value_into,\nvalue_and_gradient_into (one pass) and a"
        f" plain AVX2 sum. {args.alternate} rounds per\npair, the two sides"
        " in turn; ratio: median of the rounds' torch/crate ratios."
    )
    print()
    print(f"timings took {elapsed:.0f} s")
    print(f"load average at end: {load_average()}")


# ---------------------------------------------------------------- output


def format_time(seconds):
    if seconds is None:
        return "-"
    for unit, scale in [("s", 1.0), ("ms", 1e-3), ("us", 1e-6)]:
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_ratio(numerator, denominator):
    if numerator is None or denominator is None:
        return "-"
    return f"{numerator / denominator:.1f}x"


def print_table(headers, rows):
    widths = [
        max(len(str(cell)) for cell in column)
        for column in zip(headers, *rows)
    ]
    # Text columns to the left, numbers to the right.
    left = 2
    for line in [headers, ["-" * width for width in widths], *rows]:
        cells = [
            str(cell).ljust(width) if index < left else str(cell).rjust(width)
            for index, (cell, width) in enumerate(zip(line, widths))
        ]
        print("  ".join(cells).rstrip())


def main():
    args = parse_args()
    default_threads = torch.get_num_threads()
    all_threads = usable_cpus()
    names = [name for name, _ in SHAPES if name in args.shapes]
    shapes = dict(SHAPES)

    print_machine(all_threads, default_threads)
    if args.alternate is not None:
        main_alternate(args, names, shapes)
        return
    print(f"load average at start: {load_average()}")
    print()
    print("timing (median per call):", file=sys.stderr)
    started = time.perf_counter()
    python_times = {}
    for seed, name in enumerate(names):
        python_times[name] = time_shape(
            name, shapes[name], all_threads, args.seconds, seed
        )
    elapsed = time.perf_counter() - started
    print(file=sys.stderr)

    directory, origin = criterion_dir(args)
    medians = criterion_medians(directory)
    crate, missing = crate_times(medians, names)
    baselines = baseline_times(medians, names)
    backends = sorted({backend for _, backend, _ in crate.values()})
    crate_header = f"crate ({'/'.join(backends) or 'none'})"

    headers = [
        "shape",
        "operation",
        "kornia 1t",
        f"kornia {all_threads}t",
        "NumPy",
        "torch.sum 1t",
        f"torch.sum {all_threads}t",
        crate_header,
        "k1t/crate",
        f"k{all_threads}t/crate",
    ]
    rows = []
    for name in names:
        times = python_times[name]
        for operation in ["value", "gradient"]:
            ours = crate.get((name, operation), (None, None, None))[0]
            kornia_one = times[(operation, "kornia 1")]
            kornia_all = times[(operation, "kornia all")]
            rows.append(
                [
                    name,
                    "value" if operation == "value" else "value+grad",
                    format_time(kornia_one),
                    format_time(kornia_all),
                    format_time(times.get((operation, "numpy"))),
                    format_time(times.get((operation, "torch.sum 1"))),
                    format_time(times.get((operation, "torch.sum all"))),
                    format_time(ours),
                    format_ratio(kornia_one, ours),
                    format_ratio(kornia_all, ours),
                ]
            )
    print_table(headers, rows)
    print()
    print(
        "Rows 'value+grad': kornia's forward and backward (upstream ones);"
        " the crate's\ngradient benchmark computes the gradient alone, into"
        " a buffer it reuses."
    )
    print(
        f"1t, {all_threads}t: torch on 1 and {all_threads} threads. NumPy:"
        f" one thread. k1t/crate, k{all_threads}t/crate: kornia's\ntime"
        " over the crate's; above 1x the crate is faster."
    )

    print()
    print(f"criterion results: {directory} (from {origin})")
    if crate:
        print("crate baselines from the same folder:")
        for name in names:
            streaming, copy = baselines[name]
            print(
                f"  {name:<12} streaming-sum {format_time(streaming):>9},"
                f"  copy {format_time(copy):>9}"
            )
        oldest = min(path.stat().st_mtime for _, _, path in crate.values())
        source_time, source = newest_source()
        if source is not None and source_time > oldest:
            print(
                "note: some criterion results are older than"
                f" {source.relative_to(REPO)}; rerun the benchmark if the"
                " crate changed since."
            )
    if missing:
        if not directory.is_dir():
            print("no criterion results: the folder does not exist.")
        else:
            print("no criterion results for:")
            for full_id in missing:
                print(f"  {full_id}")
        command = BENCH_COMMAND
        if origin != "default" and directory.name == "criterion":
            command = f"CARGO_TARGET_DIR={directory.parent} {command}"
        print(f"run, from {REPO}:\n  {command}")

    print()
    print(f"Python timings took {elapsed:.0f} s")
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
