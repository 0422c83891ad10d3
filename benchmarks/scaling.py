"""Batch recognition throughput: the local engine, and Ray Data with 1 and 2 predictor actors,
on the same folder of PNG letters, measured in the same run.

    python benchmarks/scaling.py [--files 5000] [--size 64]

Prints letters/s for each engine (start-up excluded and shown apart) and the per-core rate the
README's plan for 100 million images is built from. Run it with nothing else on the machine.
Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from handwritten_letters.batch.predict_files import predict_files
from handwritten_letters.reading.recognize import Recognizer, iter_image_files


def make_letters(folder: Path, count: int, size: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(count):
        image = Image.new("L", (size, size), 255)
        pen = ImageDraw.Draw(image)
        for _ in range(int(rng.integers(1, 4))):
            pen.line([tuple(int(v) for v in rng.integers(size // 8, size - size // 8, 2)) for _ in range(3)],
                     fill=0, width=max(2, size // 14))
        image.save(folder / f"{i:06d}.png")


def local_rate(folder: Path) -> tuple[float, float]:
    started = time.perf_counter()
    recognizer = Recognizer()
    files = iter_image_files([folder])
    ready = time.perf_counter()
    rows = sum(1 for _ in predict_files(files, recognizer))
    return rows / (time.perf_counter() - ready), ready - started


def ray_rate(folder: Path, actors: int) -> tuple[float, float]:
    import ray

    from handwritten_letters.batch.ray_engine import iter_rows, predict_with_ray

    started = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, configure_logging=False)
    warm = sum(1 for _ in iter_rows(predict_with_ray([str(next(folder.iterdir()))], actors=actors)))
    ready = time.perf_counter()
    rows = sum(1 for _ in iter_rows(predict_with_ray([str(folder)], actors=actors)))
    elapsed = time.perf_counter() - ready
    ray.shutdown()
    return rows / elapsed, ready - started + 0 * warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        make_letters(folder, args.files, args.size)
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
              f"{args.files} PNG letters of {args.size}x{args.size}")
        print(f"{'engine':<22} {'letters/s':>10} {'start-up s':>11}")
        rates = {}
        for name, measure in (("local (1 process)", lambda: local_rate(folder)),
                              ("ray, 1 actor", lambda: ray_rate(folder, 1)),
                              ("ray, 2 actors", lambda: ray_rate(folder, 2))):
            rates[name], startup = measure()
            print(f"{name:<22} {rates[name]:>10.0f} {startup:>11.1f}")
        per_core = rates["ray, 2 actors"] / 2
        print(f"ray 2 actors / 1 actor: {rates['ray, 2 actors'] / rates['ray, 1 actor']:.2f}; "
              f"ray 1 actor / local: {rates['ray, 1 actor'] / rates['local (1 process)']:.2f}")
        print(f"per core (ray, 2 actors / 2): {per_core:.0f} letters/s -> 100 million images: "
              f"{1e8 / per_core / 3600:.0f} core-hours")


if __name__ == "__main__":
    main()
