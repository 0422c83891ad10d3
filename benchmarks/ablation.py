"""Ablation of the `best` recipe: add one piece at a time to the seed recipe, same data and seed.

    python benchmarks/ablation.py [--limit 20000] [--epochs 8] [--out runs/ablation]

Protocol: every variant trains on the same stratified subset of the shared training files
(``--limit`` images, seed 42), with the same 10% validation split carved from it, for the same
number of epochs, and is scored on that validation split only. The EMNIST test records are not
touched here: the choice of recipe is made on validation data. Prints a table; passes or fails nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from dataclasses import asdict
from pathlib import Path

from handwritten_letters.recipes import RECIPES, variant
from handwritten_letters.train import TrainConfig, train

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"))
    args = parser.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{args.limit} training images (stratified subset), 10% validation, {args.epochs} epochs, seed 42")
    print(f"{'step':<32} {'val acc':>8} {'val loss':>9} {'best epoch':>10} {'img/s':>7}")
    results = []
    for index, (name, recipe) in enumerate(STEPS):
        recipe = variant(recipe, epochs=args.epochs, early_stopping_patience=args.epochs)
        out = args.out / f"{index}-{recipe.name}"
        result = train(TrainConfig(train_paths=[str(SHARED)], out_dir=str(out), recipe=recipe,
                                   limit=args.limit, verbose=0))
        run = json.loads((out / "run.json").read_text())
        best = max(result.history, key=lambda r: r["val_accuracy"])
        results.append({"step": name, "recipe": asdict(recipe), **best,
                        "images_per_second": run["timings"]["train_images_per_second"]})
        print(f"{name:<32} {best['val_accuracy']:>8.4f} {best['val_loss']:>9.4f} {best['epoch']:>10} "
              f"{run['timings']['train_images_per_second']:>7.0f}", flush=True)
    (args.out / "ablation.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
