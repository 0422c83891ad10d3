"""Test-time augmentation and a small ensemble: what they add on validation, and what they cost.

    python benchmarks/tta_ensemble.py --model seed=runs/seed/model-int8.onnx --model best=runs/best/model-int8.onnx

Protocol: scored on the validation split only (10% of the shared training files, stratified,
seed 42: the split every model here was selected on), never on the test records, so the numbers
can decide whether TTA or an ensemble is worth shipping. Latency is the ONNX Runtime time for one
letter (1 thread, p50 of 500), measured in this run for each option. Figures only.

- TTA: the letter and its copies shifted by one pixel up/down/left/right; calibrated
  probabilities averaged over the five views (one batched call).
- Ensemble: calibrated probabilities of all given models averaged.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from inference import percentiles, time_each

from handwritten_letters.reading.recognize import OnnxModel
from handwritten_letters.training import data

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "emnist-letters"
SHIFTS = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]


def views(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) -> (N * 5, 28, 28): each letter, then its one-pixel shifts, side by side."""
    shifted = [np.roll(images, shift, axis=(1, 2)) for shift in SHIFTS]
    return np.stack(shifted, axis=1).reshape(-1, *images.shape[1:])


def probabilities(model: OnnxModel, images: np.ndarray, tta: bool) -> np.ndarray:
    if not tta:
        return np.concatenate([model.probabilities(images[s]) for s in data.iter_batches(len(images), 1024)])
    per_view = np.concatenate([model.probabilities(views(images[s])) for s in data.iter_batches(len(images), 256)])
    return per_view.reshape(len(images), len(SHIFTS), -1).mean(axis=1)


def latency_ms(function, repeats: int = 500) -> float:
    return percentiles(time_each(function, repeats))[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, help="name=path.onnx (repeat)")
    parser.add_argument("--train", type=Path, default=SHARED, help="training data the models were trained on")
    args = parser.parse_args()

    models = {}
    for item in args.model:
        name, _, path = item.partition("=")
        models[name] = OnnxModel(path, threads=1)
    _, validation = data.train_validation([args.train], 0.1, 42)
    images, labels = validation.images.astype(np.float32), validation.labels
    one = images[:1]
    print(f"validation: {len(labels):,} images (10% of {args.train.name}, stratified, seed 42)\n")
    print(f"{'option':<34}{'val acc':>9}{'ORT ms/letter':>15}")
    rows = []
    for tta in (False, True):
        for name, model in models.items():
            accuracy = (probabilities(model, images, tta).argmax(1) == labels).mean()
            cost = latency_ms(lambda model=model, tta=tta: model.probabilities(views(one) if tta else one))
            rows.append((f"{name}{' + TTA x5' if tta else ''}", accuracy, cost))
        if len(models) > 1:
            mean = np.mean([probabilities(model, images, tta) for model in models.values()], axis=0)
            cost = latency_ms(lambda tta=tta: [model.probabilities(views(one) if tta else one) for model in models.values()])
            rows.append((f"ensemble of {len(models)}{' + TTA x5' if tta else ''}", (mean.argmax(1) == labels).mean(), cost))
    for name, accuracy, cost in rows:
        print(f"{name:<34}{accuracy:>9.4f}{cost:>15.3f}")


if __name__ == "__main__":
    main()
