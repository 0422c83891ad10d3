"""Helpers the tests share: data files written the way the real ones are, drawn letters, the
shared data's paths, and the API's error shape. (Fixtures live in conftest.py.)"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "emnist-letters"
SHARED_TRAIN_RECORDS = SHARED / "emnist-letters-train-rec085264-088799-images-idx3-ubyte.gz"
SHARED_TEST = SHARED / "emnist-letters-test14800-images-idx3-ubyte.gz"
REAL_DEV = SHARED.parent / "letters-real-dev"
FONTS = SHARED.parent / "handwriting-fonts"
INK_WORDS_DEV = SHARED.parent / "ink-words-dev"

# a word written as ink: "lo" then "w", each letter its strokes in writing order (x, y, t)
INK_LOW = {"strokes": [
    [[20, 10, 0], [20, 90, 300]],  # l
    [[70, 55, 800], [52, 62, 850], [48, 80, 900], [60, 92, 950], [80, 88, 1000], [86, 70, 1050], [78, 56, 1100],
     [70, 55, 1150]],  # o
    [[105, 55, 1600], [115, 92, 1700], [127, 66, 1800], [139, 92, 1900], [150, 55, 2000]],  # w
], "width": 180, "height": 110}

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


def letter_png(strokes=(((20, 90), (50, 10)), ((50, 10), (80, 90)), ((32, 58), (68, 58))), size=100) -> bytes:
    """A drawn capital A, black on white."""
    image = Image.new("L", (size + 20, size + 20), 255)
    pen = ImageDraw.Draw(image)
    for (x0, y0), (x1, y1) in strokes:
        pen.line((x0 + 10, y0 + 10, x1 + 10, y1 + 10), fill=0, width=9)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()



def assert_json_error(response, status, error=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and body["detail"]
    assert "Traceback" not in response.text
    if error:
        assert body["error"] == error




def huge_png(width, height):
    """A real 1x1 PNG whose header claims width x height: a decompression bomb's calling card."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1), 255).save(buffer, "PNG")
    png = bytearray(buffer.getvalue())
    ihdr = png.index(b"IHDR")
    png[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    png[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(png[ihdr : ihdr + 17])))
    return bytes(png)
