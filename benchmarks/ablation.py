"""Ablation of the `best` recipe: add one piece at a time to the seed recipe, same data and seed.

    python benchmarks/ablation.py [--limit 20000] [--epochs 8] [--out runs/ablation]

Protocol: every variant trains on the same stratified subset of the shared training files
(``--limit`` images, seed 42), with the same 10% validation split carved from it, for the same
number of epochs, and is scored on that validation split only. The EMNIST test records are not
touched here: the choice of recipe is made on validation data. Prints a table; passes or fails nothing.

Besides clean validation accuracy, each variant reads its validation letters again, drawn as ink
on paper, rotated ±20° or with thin strokes, through the real preprocessing path (the
distortions of benchmarks/robustness.py): what each piece adds to robustness.
A variant whose run directory already holds a finished run is scored again, not retrained.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from dataclasses import asdict
from pathlib import Path

import numpy as np
from robustness import paper, rotate, stroke

from handwritten_letters.reading.preprocess import preprocess
from handwritten_letters.training import data
from handwritten_letters.training.recipes import RECIPES, variant
from handwritten_letters.training.run_files import BEST_MODEL, read_history
from handwritten_letters.training.train import TrainConfig, train

SHIFTS = [("rot ±20°", rotate(20)), ("thin", stroke("thin"))]

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "emnist-letters"

SEED = RECIPES["seed"]
STEPS = [
    ("seed (notebook)", SEED),
    ("+ augmentation", variant(SEED, augment=True)),
    ("+ label smoothing 0.1", variant(SEED, augment=True, label_smoothing=0.1)),
    ("+ AdamW, cosine schedule", variant(SEED, augment=True, label_smoothing=0.1, optimizer="adamw",
                                          schedule="cosine", learning_rate=2e-3, weight_decay=1e-4)),
    ("+ deeper last block (= best)", RECIPES["best"]),
]


def shifted_validation(limit: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Preprocessed 28x28 inputs of the validation letters under each shift (never test letters)."""
    _, validation = data.train_validation([SHARED], 0.1, 42, limit=limit)
    shifted = {}
    for name, distort in SHIFTS:
        shift_rng = np.random.default_rng(0)
        items = [preprocess(distort(paper(image), shift_rng)) for image in validation.images]
        rejected = np.array([item.rejected is not None for item in items])
        # rejected images count as wrong: label -1 never matches a prediction
        shifted[name] = (np.stack([item.pixels for item in items]), np.where(rejected, -1, validation.labels))
    return shifted


def shifted_accuracy(model_path: Path, shifted: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """The model, loaded once, scored on each shifted copy of the validation letters."""
    import keras

    model = keras.saving.load_model(model_path)
    return {shift: float((model.predict(pixels, batch_size=512, verbose=0).argmax(axis=1) == labels).mean())
            for shift, (pixels, labels) in shifted.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"))
    args = parser.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{args.limit} training images (stratified subset), 10% validation, {args.epochs} epochs, seed 42")
    shifted = shifted_validation(args.limit)
    print(f"{'step':<32} {'val acc':>8} {'val loss':>9} " + "".join(f"{name:>10}" for name, _ in SHIFTS)
          + f" {'best epoch':>10} {'img/s':>7}")
    results = []
    for index, (name, recipe) in enumerate(STEPS):
        recipe = variant(recipe, epochs=args.epochs, early_stopping_patience=args.epochs)
        out = args.out / f"{index}-{recipe.name}"
        if not (out / "run.json").exists():
            train(TrainConfig(train_paths=[str(SHARED)], out_dir=str(out), recipe=recipe, limit=args.limit, verbose=0))
        run = json.loads((out / "run.json").read_text())
        best = max(read_history(out / "history.csv"), key=lambda r: r["val_accuracy"])
        robust = shifted_accuracy(out / BEST_MODEL, shifted)
        results.append({"step": name, "recipe": asdict(recipe), **best, "shifted_validation_accuracy": robust,
                        "images_per_second": run["timings"]["train_images_per_second"]})
        print(f"{name:<32} {best['val_accuracy']:>8.4f} {best['val_loss']:>9.4f} "
              + "".join(f"{robust[shift]:>10.4f}" for shift, _ in SHIFTS)
              + f" {int(best['epoch']):>10} {run['timings']['train_images_per_second']:>7.0f}", flush=True)
    (args.out / "ablation.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
