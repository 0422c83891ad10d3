"""Do large images read the same when decoded at the size the answer needs? Accuracy of the
working-size letter path beside the full-resolution path (the preprocessing as of FULL_RESOLUTION,
loaded from git), with the bundled model, on the same images:

    python benchmarks/photo_accuracy.py [--letters 300] [--working-side 256] [--letter-side 144]

- the real-letter dev set (260 PNGs, 105 px: both paths read them alike by construction);
- EMNIST validation letters written out as PNGs at 64-1024 px (black on white, bicubic);
- photo-like scenes (``photo_scenes``): validation letters filling 5% and 80% of 2048x1536 and
  4000x3000 frames, as JPEG photos (grainy paper) and PNG scans (clean paper).

``--working-side`` / ``--letter-side`` try other settings than the package's (the choice is made
here, on validation letters and the dev set). Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from inference import FULL_RESOLUTION, as_png, previous_preprocess
from photo_scenes import encoded, scene

from handwritten_letters.reading import preprocess as current
from handwritten_letters.reading.recognize import Recognizer
from handwritten_letters.training import data

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def guess(prediction) -> int:
    """The model's best guess as a class index (-1: refused as not a letter)."""
    return ord(prediction.top_k[0][0]) - 97 if prediction.top_k else -1


def image_sets(count: int, seed: int):
    """(name, images, labels) for each set."""
    if (SHARED / "letters-real-dev" / "labels.csv").exists():
        with open(SHARED / "letters-real-dev" / "labels.csv") as f:
            rows = list(csv.DictReader(f))
        yield ("real dev set, 105 px PNG", [(SHARED / "letters-real-dev" / r["filename"]).read_bytes() for r in rows],
               np.array([ord(r["label"]) - 97 for r in rows]))
    _, validation = data.train_validation([str(SHARED / "emnist-letters")], 0.1, 42)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(validation), count, replace=False)
    letters, labels = validation.images[pick], validation.labels[pick]
    for size in (64, 128, 256, 512, 1024):
        yield f"validation letters, {size} px PNG", [as_png(letter, size) for letter in letters], labels
    for frame in ((2048, 1536), (4000, 3000)):
        for fill in (0.05, 0.8):
            for image_format, grain in (("JPEG", 4.0), ("PNG", 0.0)):
                images = [encoded(scene(letter, frame, fill, rng, grain), image_format) for letter in letters]
                yield f"{frame[0]}x{frame[1]} {image_format}, letter fills {fill:.0%}", images, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=300, help="validation letters per set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--working-side", type=int, default=current.WORKING_SIDE)
    parser.add_argument("--letter-side", type=int, default=current.LETTER_SIDE)
    args = parser.parse_args()
    current.WORKING_SIDE, current.LETTER_SIDE = args.working_side, args.letter_side
    full = previous_preprocess(FULL_RESOLUTION, "src/handwritten_letters/reading/preprocess.py")
    recognizer = Recognizer()
    print(f"working side {args.working_side}, letter side {args.letter_side}; bundled model; "
          f"{args.letters} validation letters per set")
    print(f"{'set':<44} {'n':>5} {'full res.':>10} {'working':>9} {'diff':>7} {'answers differ':>15}")
    for name, images, labels in image_sets(args.letters, args.seed):
        before = recognizer.predict_preprocessed([full(image) for image in images], 1)
        after = recognizer.predict_preprocessed([current.preprocess(image) for image in images], 1)
        right_before = np.mean([guess(a) == y for a, y in zip(before, labels)])
        right_after = np.mean([guess(a) == y for a, y in zip(after, labels)])
        differ = sum(guess(a) != guess(b) for a, b in zip(before, after))
        print(f"{name:<44} {len(labels):>5} {right_before:>10.3f} {right_after:>9.3f} "
              f"{100 * (right_after - right_before):>+6.1f}p {differ:>15}")


if __name__ == "__main__":
    main()
