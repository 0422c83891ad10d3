"""The official EMNIST test records as image files people would send, read by `letters predict`.

    python benchmarks/test_as_files.py [--model path.onnx] [--limit 14800]

Each test record (../shared/data/emnist-letters, records 0-14,799: letters a-s) is written as a
PNG, black ink on white, the letter 40-200 px tall with a 4-120 px margin on each side (seeded),
then the folder is read with `letters predict --format csv`, exactly as a user would. Refusals
("not sure", "not a letter") count as wrong. This reads the test records: run it once per
reported model, at the end, never to choose anything. Figures only.
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from handwritten_letters.labels import CLASS_NAMES
from handwritten_letters.training import data

EMNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "emnist-letters"
TEST = EMNIST / "emnist-letters-test14800-images-idx3-ubyte.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--limit", type=int, default=14_800)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    test = data.read_file(TEST)
    rng = np.random.default_rng(args.seed)
    picks = np.sort(rng.permutation(len(test))[: args.limit])
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        truth = {}
        for i in picks:
            size = int(rng.integers(40, 201))
            left, top, right, bottom = (int(v) for v in rng.integers(4, 121, 4))
            page = Image.new("L", (size + left + right, size + top + bottom), 255)
            page.paste(Image.fromarray(255 - test.images[i]).resize((size, size), Image.BICUBIC), (left, top))
            name = f"{i:05d}.png"
            page.save(folder / name)
            truth[name] = CLASS_NAMES[test.labels[i]]
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "predict", "--format", "csv",
                                 *(["--model", str(args.model)] if args.model else []), str(folder)],
                                capture_output=True, text=True)
        seconds = time.perf_counter() - started
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    right = sum(r["label"] == truth[Path(r["path"]).name] for r in rows)
    refused = sum(r["verdict"] != "letter" for r in rows)
    print(f"{len(rows)} official test records (a-s) as PNG files, letter 40-200 px, margins 4-120 px; "
          f"letters predict {seconds:.0f} s")
    print(f"answered correctly {right / len(rows):.4f} ({right}); refused {refused / len(rows):.4f} ({refused})")


if __name__ == "__main__":
    main()
