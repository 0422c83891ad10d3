"""Letters in the held-out handwriting fonts (hands the model never trained on), read through
``letters predict --format csv`` exactly as a user's files are.

    python benchmarks/fonts.py [--model PATH.onnx] [--renderings 3] [--seed 7] [--keep DIR] [--training-fonts]

Every letter of each held-out font, both cases, ``--renderings`` times with pen width, slant,
rotation, aspect, wobble and size varied (``font_letters.Variation``), written as PNG drawings.
Prints accuracy for print and joined hands with 95% intervals (Wilson), case accuracy on the
letters whose capital has another shape, and per-letter and per-font tables. Refusals ("not
sure") count as wrong. Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import subprocess
import sys
import tempfile
from pathlib import Path

from handwritten_letters.reading.calibration import wilson_interval
from handwritten_letters.training import font_letters

# letters whose capital has another shape (the case bar is measured on these)
CASE_SHOWN = tuple("abdefghnqrt")


def read_through_cli(folder: Path, model: str | None) -> dict[str, dict]:
    command = [sys.executable, "-m", "handwritten_letters.cli", "predict", "--format", "csv", str(folder)]
    command += ["--model", model] if model else []
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr)
    return {row["path"]: row for row in csv.DictReader(io.StringIO(done.stdout))}


def share(right: int, n: int) -> str:
    low, high = wilson_interval(right, n)
    return f"{right / n:.3f} ({right}/{n}; 95% {low:.3f}-{high:.3f})"


def score(folder: Path, answers: dict[str, dict]) -> dict:
    with open(folder / "labels.csv") as f:
        truth = list(csv.DictReader(f))
    tallies = collections.defaultdict(lambda: [0, 0])
    for row in truth:
        answer = answers[str(folder / row["filename"])]
        right = answer["label"] == row["letter"]
        hand = "joined" if row["joined"] == "True" else "print"
        for key in (hand, "all", f"font:{row['font']}", f"letter:{row['letter']}", f"{row['case']}:{hand}"):
            tallies[key][0] += right
            tallies[key][1] += 1
        if row["letter"] in CASE_SHOWN and right:
            tallies["case"][0] += answer["case"] == row["case"]
            tallies["case"][1] += 1
        if right:
            tallies[f"case:{row['letter']}"][0] += answer["case"] in (row["case"], "either")
            tallies[f"case:{row['letter']}"][1] += 1
    return tallies


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="ONNX model (default: the bundled one)")
    parser.add_argument("--fonts", type=Path, default=font_letters.default_font_dir())
    parser.add_argument("--renderings", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write the renderings here and keep them")
    parser.add_argument("--training-fonts", action="store_true",
                        help="read fresh renderings of the training fonts instead: how well the model fits the "
                             "hands it learned from, beside how it reads unseen ones")
    args = parser.parse_args(argv)
    fonts = font_letters.training_fonts(args.fonts) if args.training_fonts else list(font_letters.HELD_OUT)
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        font_letters.write_renderings(folder, args.fonts, fonts, args.renderings, args.seed)
        tallies = score(folder, read_through_cli(folder, args.model))
    kind = "training" if args.training_fonts else "held-out"
    print(f"{kind} fonts: {', '.join(fonts)}; {args.renderings} renderings of 52 letters each")
    for key in ("print", "joined", "all", "lower:print", "upper:print", "lower:joined", "upper:joined"):
        print(f"  {key:14s} {share(*tallies[key])}")
    print(f"  case right on {''.join(CASE_SHOWN)} (letters read right): {share(*tallies['case'])}")
    print("per font:  " + "  ".join(f"{k[5:]} {r / n:.3f}" for k, (r, n) in sorted(tallies.items())
                                     if k.startswith("font:")))
    print("per letter: " + " ".join(f"{k[7:]} {r}/{n}" for k, (r, n) in sorted(tallies.items())
                                    if k.startswith("letter:")))
    print("case per letter (upper/lower/either right, of letters read right): "
          + " ".join(f"{k[5:]} {r / n:.2f}" for k, (r, n) in sorted(tallies.items()) if k.startswith("case:")))


if __name__ == "__main__":
    main()
