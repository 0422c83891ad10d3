"""Inference speed, all measured in this one run on this machine.

    python benchmarks/inference.py [--model M.onnx] [--repeats 500]

Prints:
- single letter, end to end (PNG bytes -> decode -> preprocess -> ONNX Runtime -> answer): p50, p99
- the same letter through a seed-style Keras ``model.predict`` (the notebook's way), and the ratio
- batch throughput over 10,000 letters (arrays already 28x28, and PNG files end to end)
- cold start of ``letters predict one.png`` as a whole process (median of 5)
Targets (issue 4): end-to-end p50 <= 1 ms, >= 5,000 letters/s batched, cold start <= 1 s.
Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from handwritten_letters.preprocess import preprocess
from handwritten_letters.recognize import Recognizer

SHARED_TRAIN = (Path(__file__).resolve().parents[2] / "shared" / "data" / "emnist-letters"
                / "emnist-letters-train-rec085264-088799-images-idx3-ubyte.gz")


def sample_letters(n: int) -> np.ndarray:
    """Real EMNIST training letters when the shared data is here, else a drawn stroke pattern."""
    if SHARED_TRAIN.exists():
        from handwritten_letters.data import read_file

        images = read_file(SHARED_TRAIN).images
        return images[np.arange(n) % len(images)]
    rng = np.random.default_rng(0)
    images = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        images[i, 4:24, 12 + rng.integers(-2, 3)] = 255
        images[i, 4 + rng.integers(0, 4), 6:22] = 255
    return images


def as_png(letter: np.ndarray, size: int = 128) -> bytes:
    """A letter as a person's image: black ink on white paper, size x size pixels."""
    buffer = io.BytesIO()
    Image.fromarray(255 - letter).resize((size, size), Image.BICUBIC).save(buffer, "PNG")
    return buffer.getvalue()


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ms = np.array(seconds) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def time_each(function, repeats: int) -> list[float]:
    for _ in range(min(20, repeats)):
        function()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default: bundled)")
    parser.add_argument("--repeats", type=int, default=500)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    letters = sample_letters(args.batch)
    png = as_png(letters[0])
    recognizer = Recognizer(args.model)
    single = Recognizer(args.model, threads=1)

    end_to_end = time_each(lambda: recognizer.predict([png], top_k=3), args.repeats)
    end_to_end_1t = time_each(lambda: single.predict([png], top_k=3), args.repeats)
    decode_preprocess = time_each(lambda: preprocess(png), args.repeats)
    array = preprocess(png).pixels[None]
    model_only = time_each(lambda: single.predict_arrays(array), args.repeats)
    rows = [
        ("Recognizer, end to end (default threads)", *percentiles(end_to_end)),
        ("Recognizer, end to end (1 thread)", *percentiles(end_to_end_1t)),
        ("  of which decode + preprocess", *percentiles(decode_preprocess)),
        ("  of which ONNX Runtime (1 thread)", *percentiles(model_only)),
    ]

    keras_p50 = None
    try:
        from handwritten_letters import keras_env  # noqa: F401
        import keras

        from handwritten_letters.model import build_model

        keras_model = build_model("seed")
        keras_batch = array.astype(np.float32)
        keras_times = time_each(lambda: keras_model.predict(keras_batch, verbose=0), min(args.repeats, 200))
        keras_p50, keras_p99 = percentiles(keras_times)
        rows.append(("seed-style Keras model.predict, 1 image (model only)", keras_p50, keras_p99))
    except ImportError:
        rows.append(("seed-style Keras model.predict (needs [train] extra)", float("nan"), float("nan")))

    print(f"\n{'single letter (128x128 PNG)':<56} {'p50 ms':>8} {'p99 ms':>8}")
    for name, p50, p99 in rows:
        print(f"{name:<56} {p50:>8.3f} {p99:>8.3f}")
    ours = percentiles(end_to_end_1t)[0]
    if keras_p50:
        print(f"ratio: Keras model.predict p50 / our end-to-end p50 = {keras_p50 / ours:.1f}x")

    start = time.perf_counter()
    recognizer.predict_arrays(letters)
    array_rate = len(letters) / (time.perf_counter() - start)
    pngs = [as_png(letter, 64) for letter in letters[:2000]]
    start = time.perf_counter()
    recognizer.predict(pngs)
    png_rate = len(pngs) / (time.perf_counter() - start)
    print(f"\nbatch throughput: {array_rate:,.0f} letters/s ({len(letters):,} 28x28 arrays); "
          f"{png_rate:,.0f} letters/s ({len(pngs):,} 64x64 PNGs, decode + preprocess + model)")

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "one.png"
        path.write_bytes(png)
        command = [sys.executable, "-m", "handwritten_letters.cli", "predict", str(path)]
        if args.model:
            command[4:4] = ["--model", str(args.model)]
        cold = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            cold.append(time.perf_counter() - start)
    print(f"cold start, `letters predict one.png` as a process: median {statistics.median(cold):.2f} s "
          f"(min {min(cold):.2f} s, 5 runs)")


if __name__ == "__main__":
    main()
