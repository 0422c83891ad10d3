"""Shared test helpers: writers for EMNIST-format files, generated letter-like data, shared data paths."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "emnist-letters"
SHARED_TRAIN_RECORDS = SHARED / "emnist-letters-train-rec085264-088799-images-idx3-ubyte.gz"
SHARED_TEST = SHARED / "emnist-letters-test14800-images-idx3-ubyte.gz"

needs_shared_data = pytest.mark.skipif(
    not SHARED_TRAIN_RECORDS.exists(),
    reason=f"shared EMNIST data not found at {SHARED} (CI always has it)",
)


def write_idx(path: Path, array: np.ndarray, magic: int) -> Path:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    payload = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(payload)
    return path


def write_idx_pair(directory: Path, stem: str, stored_images: np.ndarray, labels_1_26: np.ndarray,
                   gz: bool = True) -> Path:
    """Write EMNIST-style IDX files. ``stored_images`` are in file (transposed) orientation."""
    suffix = ".gz" if gz else ""
    images_path = write_idx(directory / f"{stem}-images-idx3-ubyte{suffix}", stored_images, 2051)
    write_idx(directory / f"{stem}-labels-idx1-ubyte{suffix}", labels_1_26, 2049)
    return images_path


def write_csv(path: Path, stored_images: np.ndarray, labels_1_26: np.ndarray, header: bool = False) -> Path:
    flat = stored_images.reshape(len(stored_images), -1)
    lines = []
    if header:
        lines.append("label," + ",".join(f"pixel{i}" for i in range(flat.shape[1])))
    lines += [f"{label}," + ",".join(map(str, row)) for label, row in zip(labels_1_26, flat)]
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt") as f:
        f.write("\n".join(lines) + "\n")
    return path


def letter_like_dataset(per_class: int = 40, seed: int = 0, classes: int = 26):
    """Upright uint8 images: one random stroke template per class, shifted and noised.

    Easy to learn but not trivial (shifts, noise), so a short training run must score far above chance.
    """
    rng = np.random.default_rng(seed)
    templates = np.zeros((classes, 28, 28), dtype=np.float32)
    for c in range(classes):
        for _ in range(3):  # three random thick strokes per class
            y0, x0, y1, x1 = rng.integers(5, 23, size=4)
            for t in np.linspace(0, 1, 40):
                y, x = int(y0 + (y1 - y0) * t), int(x0 + (x1 - x0) * t)
                templates[c, y - 1 : y + 2, x - 1 : x + 2] = 1.0
    images, labels = [], []
    for c in range(classes):
        for _ in range(per_class):
            dy, dx = rng.integers(-2, 3, size=2)
            image = np.roll(templates[c], (dy, dx), axis=(0, 1)) * rng.uniform(0.7, 1.0)
            image = np.clip(image + rng.normal(0, 0.08, image.shape), 0, 1)
            images.append((image * 255).astype(np.uint8))
            labels.append(c)
    return np.stack(images), np.array(labels)


@pytest.fixture(scope="session")
def letter_like_files(tmp_path_factory) -> Path:
    """A directory with a generated training IDX pair (file orientation, labels 1..26)."""
    directory = tmp_path_factory.mktemp("letter_like")
    images, labels = letter_like_dataset(per_class=40)
    write_idx_pair(directory, "generated-train", images.transpose(0, 2, 1), labels + 1)
    return directory


@pytest.fixture(scope="session")
def trained_run(letter_like_files, tmp_path_factory):
    """One short training run on generated data, shared by the train/evaluate/export tests."""
    pytest.importorskip("keras", reason="needs the [train] extra")
    from handwritten_letters.training.train import TrainConfig, train

    out = tmp_path_factory.mktemp("run")
    config = TrainConfig(train_paths=[str(letter_like_files)], out_dir=str(out), val_fraction=0.25,
                         epochs=4, batch_size=32, seed=7, verbose=0)
    return config, train(config)
