"""Training throughput (images/s) for one epoch of each recipe, measured in the same run.

    python benchmarks/train_throughput.py [--images 12000] [--batch-size 128]

Uses the shared EMNIST training files when present (../shared/data), generated images otherwise.
The first batch (graph tracing) is excluded. Prints figures only; it never passes or fails on time.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from handwritten_letters.training import data  # noqa: E402  (the training package sets Keras' environment first)
from handwritten_letters.training.recipes import RECIPES, build_training_model  # noqa: E402

keras = __import__("keras")  # after the training package: it sets TensorFlow's environment first

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "emnist-letters"


class Timer(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 0:
            self.after_first = time.perf_counter()
            self.first_batch = batch

    def on_epoch_end(self, epoch, logs=None):
        self.end = time.perf_counter()


def training_images(n: int, seed: int = 0):
    if SHARED.is_dir():
        dataset = data.load(SHARED, split="train")
        keep = np.random.default_rng(seed).permutation(len(dataset))[:n]
        return dataset.images[keep], dataset.labels[keep], f"shared EMNIST training files ({n} images)"
    rng = np.random.default_rng(seed)  # throughput does not depend on what the pixels show
    images = (rng.random((n, 28, 28)) ** 4 * 255).astype(np.uint8)
    return images, rng.integers(0, 26, n), f"random images ({n}); shared data not found"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=12_000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES))
    args = parser.parse_args()
    images, labels, source = training_images(args.images)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; data: {source}")
    print(f"{'recipe':<10} {'images/s':>10} {'epoch of 124,800 (min)':>24}")
    rates = {}
    for name in args.recipes:
        keras.utils.set_random_seed(0)
        model = build_training_model(RECIPES[name], steps_per_epoch=len(images) // args.batch_size, epochs=1)
        timer = Timer()
        model.fit(images, labels, batch_size=args.batch_size, epochs=1, verbose=0, callbacks=[timer])
        measured = len(images) - args.batch_size  # the first batch includes tracing
        rates[name] = measured / (timer.end - timer.after_first)
        print(f"{name:<10} {rates[name]:>10.0f} {124_800 / rates[name] / 60:>24.1f}")
    if "seed" in rates:
        for name, rate in rates.items():
            if name != "seed":
                print(f"{name} / seed throughput ratio: {rate / rates['seed']:.2f}")


if __name__ == "__main__":
    main()
