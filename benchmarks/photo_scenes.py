"""Photo-like images of one letter at any size, for the photo-cost benchmarks.

A letter (28x28, white on black, as EMNIST keeps it) is written dark on paper that is lit unevenly
and has a fine grain (a phone photo; JPEG), or on clean paper with a few specks (a scan or a
drawing exported as PNG), filling a given share of the frame's short side squared.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image


def scene(letter: np.ndarray, size: tuple[int, int], fill: float, rng: np.random.Generator,
          grain: float = 4.0) -> Image.Image:
    """``letter`` filling ``fill`` of the frame (its side is sqrt(fill) x the short side), placed at
    random, on paper with uneven light; ``grain``: the paper's per-pixel noise (grey levels)."""
    width, height = size
    low = rng.normal(0.0, 6.0, (max(2, height // 64), max(2, width // 64))).astype(np.float32)
    paper = 205.0 + cv2.resize(low, (width, height), interpolation=cv2.INTER_CUBIC)
    paper += np.linspace(-15.0, 10.0, width, dtype=np.float32)[None, :]
    if grain:
        paper += rng.normal(0.0, grain, (height, width)).astype(np.float32)
    else:  # a scan: clean paper, a few specks of dust
        specks = rng.random((height, width)) < 0.0005
        paper[specks] -= 60.0
    side = max(8, int(np.sqrt(fill) * min(width, height)))
    ink = cv2.resize(letter.astype(np.float32) / 255.0, (side, side), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    left, top = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
    region = paper[top : top + side, left : left + side]
    region[:] = region * (1.0 - ink) + 35.0 * ink
    rgb = np.clip(paper[..., None] * np.array([1.0, 0.98, 0.93], np.float32), 0, 255).astype(np.uint8)
    return Image.fromarray(rgb)


def encoded(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **({"quality": 90} if image_format == "JPEG" else {}))
    return buffer.getvalue()
