"""Pictures that are not one letter, drawn as a pen or a mouse draws them: what the recognizer must
refuse, made afresh from a seed (to fit the "is this a letter?" check, and to measure it).

Kinds: dense scribbles, filled blobs, hatching, spirals, stars and asterisks, lone dots, long random
walks, zigzags, and several letters side by side (a word sent to the letter route). Each is drawn
with a round pen on white paper at a size from 64 to 400 pixels, like a drawing on the page, a
photo or a scan.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

KINDS = ("scribble", "blob", "hatching", "spiral", "star", "dot", "random_walk", "zigzag", "several_letters")


def _canvas(rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    size = int(rng.integers(64, 401))
    return np.full((size, size), 255, np.uint8), size, max(1, int(round(size * rng.uniform(0.015, 0.06))))


def _polyline(image: np.ndarray, points: np.ndarray, pen: int) -> None:
    cv2.polylines(image, [np.round(points).astype(np.int32).reshape(-1, 1, 2)], False, 0, pen, cv2.LINE_AA)


def _scribble(rng, image, size, pen):
    centre = rng.uniform(0.35, 0.65, 2) * size
    points = [centre]
    for _ in range(int(rng.integers(40, 120))):
        points.append(np.clip(points[-1] + rng.normal(0, size * 0.12, 2), size * 0.1, size * 0.9))
    _polyline(image, np.array(points), pen)


def _blob(rng, image, size, pen):
    angles = np.sort(rng.uniform(0, 2 * math.pi, int(rng.integers(6, 14))))
    radius = size * rng.uniform(0.15, 0.4) * rng.uniform(0.6, 1.0, len(angles))
    centre = size / 2 + rng.normal(0, size * 0.05, 2)
    points = np.stack([centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)], axis=1)
    cv2.fillPoly(image, [np.round(points).astype(np.int32)], 0, cv2.LINE_AA)


def _hatching(rng, image, size, pen):
    angle = rng.uniform(0, math.pi)
    direction = np.array([math.cos(angle), math.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    lines = int(rng.integers(5, 16))
    for k in range(lines):
        offset = (k / (lines - 1) - 0.5) * size * 0.7
        middle = size / 2 + normal * offset
        half = size * rng.uniform(0.25, 0.4)
        _polyline(image, np.array([middle - direction * half, middle + direction * half]), pen)
    if rng.random() < 0.5:  # cross-hatched
        _hatching_once = angle + math.pi / 2
        direction = np.array([math.cos(_hatching_once), math.sin(_hatching_once)])
        normal = np.array([-direction[1], direction[0]])
        for k in range(lines):
            middle = size / 2 + normal * (k / (lines - 1) - 0.5) * size * 0.7
            _polyline(image, np.array([middle - direction * size * 0.3, middle + direction * size * 0.3]), pen)


def _spiral(rng, image, size, pen):
    turns = rng.uniform(2.0, 5.0)
    t = np.linspace(0, turns * 2 * math.pi, 300)
    radius = size * 0.4 * t / t[-1]
    _polyline(image, np.stack([size / 2 + radius * np.cos(t), size / 2 + radius * np.sin(t)], axis=1), pen)


def _star(rng, image, size, pen):
    arms = int(rng.integers(3, 9))
    start = rng.uniform(0, math.pi)
    for k in range(arms):  # an asterisk: lines through the middle
        angle = start + k * math.pi / arms
        half = size * rng.uniform(0.3, 0.42) * np.array([math.cos(angle), math.sin(angle)])
        _polyline(image, np.array([size / 2 - half, size / 2 + half]), pen)


def _dot(rng, image, size, pen):
    radius = max(2, int(size * rng.uniform(0.02, 0.06)))
    centre = (rng.uniform(0.3, 0.7, 2) * size).astype(int)
    cv2.circle(image, (int(centre[0]), int(centre[1])), radius, 0, -1, cv2.LINE_AA)


def _random_walk(rng, image, size, pen):
    steps = rng.normal(0, 1, (int(rng.integers(150, 400)), 2))
    walk = np.cumsum(steps, axis=0)
    walk = (walk - walk.min(axis=0)) / max(np.ptp(walk), 1e-6) * size * 0.8 + size * 0.1
    _polyline(image, walk, pen)


def _zigzag(rng, image, size, pen):
    teeth = int(rng.integers(6, 14))
    xs = np.linspace(size * 0.1, size * 0.9, teeth * 2 + 1)
    ys = np.where(np.arange(len(xs)) % 2 == 0, size * 0.3, size * 0.7) + rng.normal(0, size * 0.03, len(xs))
    _polyline(image, np.stack([xs, ys], axis=1), pen)


def _several_letters(rng, image, size, pen):
    """Three to six simple letters side by side (l, o, x, v, c), as a word is written."""
    count = int(rng.integers(3, 7))
    width = size * 0.85 / count
    height = width * rng.uniform(1.0, 1.4)
    top = size / 2 - height / 2
    for k in range(count):
        left = size * 0.075 + k * width
        box = (left + width * 0.1, top, left + width * 0.9, top + height)
        shape = rng.choice(["l", "o", "x", "v", "c"])
        x0, y0, x1, y1 = box
        if shape == "l":
            _polyline(image, np.array([[(x0 + x1) / 2, y0], [(x0 + x1) / 2, y1]]), pen)
        elif shape in "oc":
            t = np.linspace(0.6 if shape == "c" else 0, 2 * math.pi - (0.6 if shape == "c" else 0), 60)
            _polyline(image, np.stack([(x0 + x1) / 2 + (x1 - x0) / 2 * np.cos(t),
                                       (y0 + y1) / 2 + (y1 - y0) / 2 * np.sin(t)], axis=1), pen)
        elif shape == "x":
            _polyline(image, np.array([[x0, y0], [x1, y1]]), pen)
            _polyline(image, np.array([[x1, y0], [x0, y1]]), pen)
        else:
            _polyline(image, np.array([[x0, y0], [(x0 + x1) / 2, y1], [x1, y0]]), pen)


DRAW = {"scribble": _scribble, "blob": _blob, "hatching": _hatching, "spiral": _spiral, "star": _star,
        "dot": _dot, "random_walk": _random_walk, "zigzag": _zigzag, "several_letters": _several_letters}


def non_letter(kind: str, rng: np.random.Generator) -> np.ndarray:
    """One picture (uint8, white paper, black ink) of the given kind."""
    image, size, pen = _canvas(rng)
    DRAW[kind](rng, image, size, pen)
    return image


def non_letters(count: int, seed: int, kinds: tuple[str, ...] = KINDS) -> list[tuple[str, np.ndarray]]:
    """``count`` pictures, the kinds in turn."""
    rng = np.random.default_rng(seed)
    return [(kinds[i % len(kinds)], non_letter(kinds[i % len(kinds)], rng)) for i in range(count)]


def pin_holes_and_specks(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A letter as a speckled scan shows it: 5-20 one-pixel holes in its ink and a few specks around it."""
    out = image.copy()
    ink = np.argwhere(out < 128)
    if len(ink):
        for y, x in ink[rng.choice(len(ink), min(len(ink), int(rng.integers(5, 21))), replace=False)]:
            out[y, x] = 255
    paper = np.argwhere(out >= 128)
    for y, x in paper[rng.choice(len(paper), min(len(paper), int(rng.integers(2, 7))), replace=False)]:
        out[y, x] = 0
    return out
