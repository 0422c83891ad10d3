"""Robustness: accuracy of models under controlled shifts, through the real preprocessing path.

    python benchmarks/robustness.py --run runs/real --model seed=runs/seed/model.onnx --model real=runs/real/model.onnx
                                    [--per-class 100] [--seed 0]

Each letter of a training run's validation split (rebuilt from its run.json: letters that run,
and any run on the same data, split and seed, never trained on; all 26 letters) is turned into
the kind of image a person makes — black ink on white paper, 112 px tall on a 160 px canvas —
then distorted, encoded to a file format, decoded and preprocessed exactly as `letters predict`
does. Prints accuracy per condition and model (rejected images count as wrong). The EMNIST test
records are not used: choices are made on these figures. Figures only.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageFilter

from handwritten_letters.reading.preprocess import preprocess
from handwritten_letters.reading.recognize import Recognizer
from handwritten_letters.training import data


def paper(letter: np.ndarray) -> Image.Image:
    """The letter as black ink on a white 160x160 page, 112 px tall, centred."""
    page = Image.new("L", (160, 160), 255)
    page.paste(Image.fromarray(255 - letter).resize((112, 112), Image.BICUBIC), (24, 24))
    return page


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def rotate(degrees: float) -> Callable:
    return lambda page, rng: encode(page.rotate(degrees * rng.choice([-1, 1]), Image.BICUBIC, fillcolor=255))


def rescale(factor: float) -> Callable:
    def apply(page, rng):
        size = round(160 * factor)
        return encode(page.resize((size, size), Image.BICUBIC))
    return apply


def off_centre(page, rng):
    canvas = Image.new("L", (300, 300), 255)
    canvas.paste(page, tuple(int(v) for v in rng.integers(0, 140, size=2)))
    return encode(canvas)


def stroke(kind: str) -> Callable:
    size = 7
    return lambda page, rng: encode(page.filter(ImageFilter.MaxFilter(size) if kind == "thin" else ImageFilter.MinFilter(size)))


def inverted(page, rng):
    return encode(Image.fromarray(255 - np.asarray(page)))


def jpeg(page, rng):
    return encode(page, "JPEG", quality=15)


def salt(page, rng):
    pixels = np.asarray(page).copy()
    noise = rng.random(pixels.shape)
    pixels[noise < 0.02] = 0
    pixels[noise > 0.98] = 255
    return encode(Image.fromarray(pixels))


def small_in_corner(page, rng):
    canvas = Image.new("L", (1200, 900), 255)
    canvas.paste(page.resize((80, 80), Image.BICUBIC), (30, 30))
    return encode(canvas, "JPEG", quality=90)


CLEAN = "clean (PNG)"
CONDITIONS: list[tuple[str, Callable]] = [
    (CLEAN, lambda page, rng: encode(page)),
    ("rotation ±10°", rotate(10)),
    ("rotation ±20°", rotate(20)),
    ("scale 0.6", rescale(0.6)),
    ("scale 1.4", rescale(1.4)),
    ("off-centre on 300 px", off_centre),
    ("thin strokes", stroke("thin")),
    ("thick strokes", stroke("thick")),
    ("inverted polarity", inverted),
    ("JPEG quality 15", jpeg),
    ("salt-and-pepper 4%", salt),
    ("small in a corner of 1200x900", small_in_corner),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=[], help="name=path.onnx (repeat); default: bundled")
    parser.add_argument("--run", type=Path, required=True, help="training run whose validation split to use")
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = json.loads((args.run / "run.json").read_text())["config"]
    _, validation = data.train_validation(config["train_paths"], config["val_fraction"], config["seed"], config.get("limit"))
    models = dict(m.split("=", 1) for m in args.model) or {"bundled": None}
    recognizers = {name: Recognizer(path) for name, path in models.items()}

    rng = np.random.default_rng(args.seed)
    picks = np.concatenate([rng.choice(np.flatnonzero(validation.labels == c), args.per_class, replace=False)
                            for c in np.unique(validation.labels)])
    print(f"{len(picks)} validation letters of {args.run} ({args.per_class} per class, a-z); accuracy of the top answer, "
          "images the preprocessing rejects count as wrong")
    print(f"{'condition':<32}" + "".join(f"{name:>12}" for name in recognizers))
    unsure = {}
    for name, distort in CONDITIONS:
        condition_rng = np.random.default_rng(args.seed)
        items = [preprocess(distort(paper(validation.images[i]), condition_rng)) for i in picks]
        row = f"{name:<32}"
        for model_name, recognizer in recognizers.items():
            predictions = recognizer.predict_preprocessed(items, top_k=1)
            # each model's own rejection threshold is a serving policy, not accuracy: it is shown
            # apart (below) so that models with different thresholds are compared on their answers
            correct = np.mean([bool(p.top_k) and p.top_k[0][0] == chr(97 + validation.labels[i])
                               for p, i in zip(predictions, picks)])
            if name == CLEAN:
                unsure[model_name] = np.mean([p.rejected and bool(p.top_k) for p in predictions])
            row += f"{correct:>12.3f}"
        print(row, flush=True)
    arrays = validation.images[picks]
    row = f"{'(reference) 28x28 arrays, no preprocess':<32}"
    for recognizer in recognizers.values():
        row += f"{(recognizer.predict_arrays(arrays).argmax(axis=1) == validation.labels[picks]).mean():>12.3f}"
    print(row)
    print(f"{'below the rejection threshold, clean':<32}" + "".join(f"{unsure[name]:>12.3f}" for name in recognizers))


if __name__ == "__main__":
    main()
