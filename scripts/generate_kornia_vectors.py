#!/usr/bin/env python3
"""Writes tests/data/kornia_vectors.txt: values and gradients from kornia.

Run it from anywhere with a Python that has torch and kornia 0.9:

    python scripts/generate_kornia_vectors.py

The Rust test tests/kornia_reference.rs reads the file it writes. CI never
runs this script; the output is committed. Everything is seeded and runs on
one CPU thread, so running it again rewrites the same bytes.

For every case, the file holds an input image of shape (*, H, W), one
upstream gradient value per plane, and for each reduction ("sum" and
"mean"):

- the value of kornia.losses.total_variation(input, reduction), and
- the gradient of (value * upstream).sum() with respect to the input, as
  torch's autograd computes it.

File format (plain text, one token per value, so Rust's std can parse it):

- Lines starting with '#' are comments; blank lines are ignored.
- A case starts with `case NAME DTYPE SHAPE`, where DTYPE is `f32` or `f64`
  and SHAPE lists the dimensions separated by commas (`2,3,17,33`).
- Then come six fields, in this order: `input`, `upstream`, `value sum`,
  `grad sum`, `value mean`, `grad mean`. Each field is one line with its
  name and its number of values, followed by the values on the next lines,
  VALUES_PER_LINE per line (none when the count is 0).
- Each value is the IEEE 754 bit pattern of the float in lowercase
  hexadecimal, 8 digits for f32 and 16 for f64: exact, signed zeros and
  NaN payloads included.
- A case ends with a line `end`.
"""

import pathlib
import sys

import kornia
import numpy as np
import torch

VALUES_PER_LINE = 8
OUTPUT = (
    pathlib.Path(__file__).resolve().parent.parent
    / "tests"
    / "data"
    / "kornia_vectors.txt"
)

DTYPES = {"f32": torch.float32, "f64": torch.float64}
BIT_VIEWS = {"f32": np.uint32, "f64": np.uint64}
HEX_DIGITS = {"f32": 8, "f64": 16}

SMALL_SIDES = [1, 2, 3, 17, 33]
# Leading dimensions, taken in turn; large planes get fewer planes.
LEADING_FOR_SMALL_PLANES = [(), (1,), (3,), (2, 3), (2, 1, 2), (2,)]
LEADING_FOR_LARGE_PLANES = [(), (1,), (2,)]
KINDS = ["uniform", "scaled-normal", "ties", "signed-ties"]


def case_shapes(dtype_name):
    """(leading dims, H, W, kind) for every case of one dtype."""
    cases = []
    turn = 0
    for height in SMALL_SIDES:
        for width in SMALL_SIDES:
            if height * width > 300:
                leading = LEADING_FOR_LARGE_PLANES[
                    turn % len(LEADING_FOR_LARGE_PLANES)
                ]
            else:
                leading = LEADING_FOR_SMALL_PLANES[
                    turn % len(LEADING_FOR_SMALL_PLANES)
                ]
            cases.append((leading, height, width, KINDS[turn % len(KINDS)]))
            turn += 1
    # Every kind once more on a square of 33, whatever the turn gave.
    for kind in KINDS:
        cases.append(((), 33, 33, kind))
    # One long side of 257.
    for short in [1, 2, 3, 17]:
        kind = KINDS[turn % len(KINDS)]
        cases.append(((), 257, short, kind))
        cases.append(((1,), short, 257, KINDS[(turn + 1) % len(KINDS)]))
        turn += 1
    # The largest plane, in f32 only to keep the file small.
    if dtype_name == "f32":
        cases.append(((), 33, 257, "ties"))
    # Empty outputs and empty planes.
    cases.append(((0,), 3, 4, "uniform"))
    cases.append(((0, 3), 17, 2, "uniform"))
    cases.append(((2, 0, 2), 5, 5, "uniform"))
    cases.append(((2,), 0, 5, "uniform"))
    cases.append(((1, 2), 3, 0, "uniform"))
    # NaN, infinities and overflowing differences.
    cases.append(((2,), 5, 6, "non-finite"))
    cases.append(((3,), 17, 3, "non-finite"))
    return cases


def make_input(shape, kind, dtype, generator):
    if kind == "uniform":
        return torch.rand(shape, generator=generator, dtype=dtype)
    if kind == "scaled-normal":
        normal = torch.randn(shape, generator=generator, dtype=dtype)
        exponents = torch.randint(-4, 5, shape, generator=generator)
        return normal * torch.pow(10.0, exponents.to(dtype))
    if kind == "ties":
        return torch.randint(0, 3, shape, generator=generator).to(dtype)
    if kind == "signed-ties":
        values = torch.randint(-2, 3, shape, generator=generator).to(dtype)
        negative = torch.rand(shape, generator=generator) < 0.5
        return torch.where(
            (values == 0) & negative, torch.tensor(-0.0, dtype=dtype), values
        )
    if kind == "non-finite":
        values = torch.randn(shape, generator=generator, dtype=dtype)
        largest = torch.finfo(dtype).max
        specials = torch.tensor(
            [float("nan"), float("inf"), -float("inf"), largest, -largest],
            dtype=dtype,
        )
        pick = torch.randint(0, 20, shape, generator=generator)
        for index, special in enumerate(specials):
            values = torch.where(pick == index, special, values)
        return values
    raise ValueError(kind)


def make_upstream(planes, dtype, generator):
    upstream = torch.randn((planes,), generator=generator, dtype=dtype)
    # Zero upstream values, of both signs, give signed zero gradients.
    if planes >= 3:
        upstream[1] = 0.0
        upstream[2] = -0.0
    return upstream


def value_and_gradient(image, upstream, reduction):
    image = image.clone().requires_grad_(True)
    value = kornia.losses.total_variation(image, reduction=reduction)
    (value * upstream).sum().backward()
    gradient = image.grad
    if gradient is None:
        gradient = torch.zeros_like(image)
    return value.detach(), gradient


def hex_lines(tensor, dtype_name):
    bits = tensor.detach().contiguous().numpy().reshape(-1)
    bits = bits.view(BIT_VIEWS[dtype_name])
    digits = HEX_DIGITS[dtype_name]
    words = [format(int(word), f"0{digits}x") for word in bits]
    return [
        " ".join(words[start : start + VALUES_PER_LINE])
        for start in range(0, len(words), VALUES_PER_LINE)
    ]


def write_field(lines, name, tensor, dtype_name):
    lines.append(f"{name} {tensor.numel()}")
    lines.extend(hex_lines(tensor, dtype_name))


def main():
    torch.set_num_threads(1)
    lines = [
        "# Total variation values and gradients computed by"
        f" kornia {kornia.__version__} with torch {torch.__version__}",
        "# on the CPU. Written by scripts/generate_kornia_vectors.py,"
        " which documents",
        "# the format; do not edit by hand.",
    ]
    count = 0
    for dtype_index, (dtype_name, dtype) in enumerate(DTYPES.items()):
        for case_index, (leading, height, width, kind) in enumerate(
            case_shapes(dtype_name)
        ):
            seed = 1000 * dtype_index + case_index
            generator = torch.Generator().manual_seed(seed)
            shape = (*leading, height, width)
            image = make_input(shape, kind, dtype, generator)
            planes = int(np.prod(leading, dtype=np.int64))
            upstream = make_upstream(planes, dtype, generator)
            name = f"{kind}-seed{seed}"
            dims = ",".join(str(dim) for dim in shape)
            lines.append(f"case {name} {dtype_name} {dims}")
            write_field(lines, "input", image, dtype_name)
            write_field(lines, "upstream", upstream, dtype_name)
            for reduction in ["sum", "mean"]:
                value, gradient = value_and_gradient(
                    image, upstream.reshape(leading), reduction
                )
                write_field(lines, f"value {reduction}", value, dtype_name)
                write_field(lines, f"grad {reduction}", gradient, dtype_name)
            lines.append("end")
            count += 1
    text = "\n".join(lines) + "\n"
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    summary = f"wrote {count} cases, {len(text)} bytes, to {OUTPUT}"
    print(summary, file=sys.stderr)


if __name__ == "__main__":
    main()
