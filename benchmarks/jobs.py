"""`letters predict --jobs N` on 10,000 small PNG files: which default reads them fastest, and how much
runs differ. Run it with nothing else running.

    python benchmarks/jobs.py [--files 10000] [--runs 5] [--jobs 1 2 3 4]

Prints, per N, the median and the range of the wall time of whole runs (start-up included), and the
default `letters predict` uses today (`batch.predict_files.default_jobs`). Figures only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from handwritten_letters.batch.predict_files import default_jobs


def write_files(folder: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(count):
        image = np.full((64, 64), 255, np.uint8)
        x0, x1 = sorted(rng.integers(8, 56, 2))
        image[8:56, max(x0, 8) : max(x1, x0 + 6)] = 0
        Image.fromarray(image).save(folder / f"{i:05d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 3, 4])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        write_files(folder, args.files)
        print(f"{args.files:,} 64x64 PNG files; {os.cpu_count()} cores; {args.runs} runs each, interleaved")
        times: dict[int, list[float]] = {jobs: [] for jobs in args.jobs}
        for _ in range(args.runs):
            for jobs in args.jobs:
                started = time.perf_counter()
                subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "predict", "--format", "csv",
                                "--jobs", str(jobs), str(folder)], check=True, capture_output=True)
                times[jobs].append(time.perf_counter() - started)
        for jobs, seconds in times.items():
            print(f"--jobs {jobs}: median {statistics.median(seconds):.2f} s, range {min(seconds):.2f}-"
                  f"{max(seconds):.2f} s")
        print(f"default today: --jobs {default_jobs()}")


if __name__ == "__main__":
    main()
