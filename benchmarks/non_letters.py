"""Honest answers, counted: pictures that are not letters refused, letters answered (speckled too).

    python benchmarks/non_letters.py [--model PATH.onnx] [--count 450] [--seed 101]

1. Not letters: ``--count`` pictures of nine kinds (dense scribbles, filled blobs, hatching, spirals,
   stars, lone dots, random walks, zigzags, several letters side by side), 64-400 px, drawn as a pen
   or a mouse draws (``training/non_letters.py``; a seed the letter check was neither fitted nor
   chosen on): refused (not_a_letter, several_letters or not_sure) per kind.
2. The real-letter dev set (260), clean and with 5-20 one-pixel holes in each letter's ink and a few
   specks around it: answered right, answered wrong, refused.
3. The held-out fonts' letters (3 renderings of 52 letters each, seed 7): the same three counts.

Figures only; the dev set and the held-out fonts have been chosen on.
"""

from __future__ import annotations

import argparse
import collections
import csv
from pathlib import Path

import numpy as np
from PIL import Image

from handwritten_letters import Recognizer
from handwritten_letters.reading.calibration import wilson_interval
from handwritten_letters.training import font_letters
from handwritten_letters.training.non_letters import non_letters, pin_holes_and_specks

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def share(right: int, n: int) -> str:
    low, high = wilson_interval(right, n)
    return f"{right / n:.3f} ({right}/{n}; 95% {low:.3f}-{high:.3f})"


def outcomes(predictions, truths) -> str:
    right = sum(p.label == t and p.verdict == "letter" for p, t in zip(predictions, truths))
    refused = sum(p.verdict != "letter" for p in predictions)
    wrong = len(truths) - right - refused
    return f"right {right}, wrong {wrong}, refused {refused} of {len(truths)} ({right / len(truths):.3f} right)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--count", type=int, default=450)
    parser.add_argument("--seed", type=int, default=101)
    args = parser.parse_args()
    recognizer = Recognizer(args.model)
    pictures = non_letters(args.count, args.seed)
    predictions = recognizer.predict([picture for _, picture in pictures])
    refused, total = collections.Counter(), collections.Counter()
    for (kind, _), prediction in zip(pictures, predictions):
        total[kind] += 1
        refused[kind] += prediction.verdict != "letter"
    print(f"not letters refused: {share(sum(refused.values()), len(pictures))}")
    print("  " + "  ".join(f"{kind} {refused[kind]}/{total[kind]}" for kind in total))
    rows = list(csv.DictReader(open(DATA / "letters-real-dev" / "labels.csv")))
    images = [np.array(Image.open(DATA / "letters-real-dev" / row["filename"]).convert("L")) for row in rows]
    truths = [row["label"] for row in rows]
    rng = np.random.default_rng(args.seed)
    print(f"real-letter dev set, clean:    {outcomes(recognizer.predict(images), truths)}")
    print(f"real-letter dev set, speckled: "
          f"{outcomes(recognizer.predict([pin_holes_and_specks(i, rng) for i in images]), truths)}")
    rng = np.random.default_rng(7)
    fonts, truths = [], []
    for glyph in font_letters.glyphs(str(DATA / "handwriting-fonts"), tuple(font_letters.HELD_OUT)):
        for _ in range(3):
            fonts.append(font_letters.vary(glyph.inks[int(rng.integers(len(glyph.inks)))], rng))
            truths.append(glyph.character.lower())
    print(f"held-out fonts' letters:       {outcomes(recognizer.predict(fonts), truths)}")


if __name__ == "__main__":
    main()
