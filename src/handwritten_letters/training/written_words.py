"""Words written with real people's pen strokes, for measuring the word readers (never for training).

The real-letter dev set keeps every letter's pen trajectory (``strokes.json``). A word is written
from one drawer's own letters at handwriting proportions: small letters at the x-height, ascenders
and capitals taller, descenders below the baseline, each placed after the one before with a gap
that is clear, touching or overlapping, then drawn with a round pen as the page draws.

The same words can be written with a handwriting font's letters instead of a drawer's (each
letter's centre line as its strokes, ``font_hands``): the same pen, proportions and gaps, so the
two tell apart what the gaps do and what a person's own letter shapes do.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from .font_letters import centre_line, glyphs
from .synthetic_lines import ASCENDERS, DESCENDERS

# heights in x-heights, from the baseline up (descenders reach below it)
ASCENDER_HEIGHT = 1.6
DESCENDER_DEPTH = 0.6
DOTTED_HEIGHT = 1.35  # an i or j with its dot
# the ink's space between letters, in x-heights: clear gaps, inks just touching, inks crossing
GAPS = {"gaps": 0.2, "touching": 0.0, "overlapping": -0.12}
X_HEIGHT = 56  # pixels, when drawn
PEN = 10  # pixels: about a fifth of the x-height, as the page's pen is in a word on its canvas

Stroke = np.ndarray  # (N, 2) points, x to the right, y down


def drawers_letters(strokes_file: str | Path) -> dict[str, dict[str, list[Stroke]]]:
    """The dev set's letters by drawer ("01".."10") and letter: each a list of strokes."""
    letters: dict[str, dict[str, list[Stroke]]] = {}
    for item in json.loads(Path(strokes_file).read_text()):
        drawer = item["id"].rsplit("_", 1)[-1]
        strokes = [np.asarray(stroke, dtype=np.float64)[:, :2] for stroke in item["strokes"] if stroke]
        letters.setdefault(drawer, {})[item["label"]] = strokes
    return letters


def font_hands(font_dir: str | Path, fonts: list[str] | tuple[str, ...]) -> dict[str, dict[str, list[Stroke]]]:
    """The named fonts' small letters as pen strokes, by font and letter: each letter's centre
    line, a point per pixel (``draw`` puts the pen down on each)."""
    hands: dict[str, dict[str, list[Stroke]]] = {}
    for glyph in glyphs(str(font_dir), tuple(fonts)):
        if glyph.character.islower():
            ys, xs = np.nonzero(centre_line(glyph.inks[0]))
            hands.setdefault(glyph.font, {})[glyph.character] = list(np.column_stack([xs, ys]).astype(np.float64)[:, None])
    return hands


def font_pen_hands(font_dir: str | Path, fonts: list[str] | tuple[str, ...]) -> dict[str, dict[str, list[Stroke]]]:
    """The named fonts' small letters as a pen would write them: each letter's centre line traced
    into strokes (``traced_strokes``), by font and letter: ink with a stroke order, for the ink
    reader, from hands no model trained on when the fonts are held out."""
    hands: dict[str, dict[str, list[Stroke]]] = {}
    for glyph in glyphs(str(font_dir), tuple(fonts)):
        if glyph.character.islower():
            strokes = traced_strokes(centre_line(glyph.inks[0]) > 0)
            if strokes:
                hands.setdefault(glyph.font, {})[glyph.character] = strokes
    return hands


_NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def traced_strokes(line: np.ndarray) -> list[Stroke]:
    """A one-pixel centre line as pen strokes: each connected piece walked from its leftmost end
    (a pixel with one neighbour; a loop from its leftmost pixel), a new stroke wherever the walk
    has to go back to a fork; pieces left to right, small pieces (a dot) after the piece they sit on."""
    count, labels = cv2.connectedComponents(line.astype(np.uint8), connectivity=8)
    pieces = []
    for label in range(1, count):
        ys, xs = np.nonzero(labels == label)
        pixels = set(zip(ys.tolist(), xs.tolist()))
        degree = {p: sum((p[0] + dy, p[1] + dx) in pixels for dy, dx in _NEIGHBOURS) for p in pixels}
        ends = [p for p in pixels if degree[p] == 1] or list(pixels)
        start = min(ends, key=lambda p: (p[1], p[0]))
        strokes, seen, stack = [], {start}, [start]
        current = [start]
        while stack:
            here = stack[-1]
            step = next(((here[0] + dy, here[1] + dx) for dy, dx in _NEIGHBOURS
                         if (here[0] + dy, here[1] + dx) in pixels and (here[0] + dy, here[1] + dx) not in seen), None)
            if step is None:
                stack.pop()
                if len(current) > 1:
                    strokes.append(current)
                current = [stack[-1]] if stack else []
                continue
            seen.add(step)
            stack.append(step)
            current.append(step)
        if len(current) > 1:
            strokes.append(current)
        if not strokes:
            strokes = [[start]]
        pieces.append((min(xs), len(ys), [np.array([[x, y] for y, x in stroke], dtype=np.float64) for stroke in strokes]))
    biggest = max((size for _, size, _ in pieces), default=0)
    main = sorted((p for p in pieces if p[1] >= 0.15 * biggest), key=lambda p: p[0])
    small = sorted((p for p in pieces if p[1] < 0.15 * biggest), key=lambda p: p[0])
    return [stroke for _, _, strokes in main + small for stroke in strokes]


def span(character: str, ascender: float = ASCENDER_HEIGHT, descender: float = DESCENDER_DEPTH,
         dotted: float = DOTTED_HEIGHT) -> tuple[float, float]:
    """Where a character's box stands: (top, bottom) in x-heights, y down, baseline at 0, for a hand
    whose ascenders and capitals stand ``ascender`` tall, descenders reach ``descender`` below and
    an i or j with its dot stands ``dotted`` tall."""
    if character.isupper() or character in ASCENDERS:
        return -ascender, 0.0
    if character == "j":
        return -dotted, descender
    if character in DESCENDERS:
        return -1.0, descender
    if character == "i":
        return -dotted, 0.0
    return -1.0, 0.0


def word_strokes(word: str, letters: dict[str, list[Stroke]], gap: float, pen: float = PEN / X_HEIGHT) -> list[Stroke]:
    """The word's strokes in x-height units (baseline at y = 0), each letter scaled to its span,
    ``gap`` x-heights between the inks of letters drawn with a pen ``pen`` x-heights wide."""
    placed: list[Stroke] = []
    right = 0.0
    for index, letter in enumerate(word):
        strokes = letters[letter]
        points = np.concatenate(strokes)
        low, high = points.min(axis=0), points.max(axis=0)
        top, bottom = span(letter)
        scale = (bottom - top) / max(high[1] - low[1], 1e-6)
        left = right + (gap + pen if index else 0.0)
        for stroke in strokes:
            placed.append(np.column_stack([left + (stroke[:, 0] - low[0]) * scale, top + (stroke[:, 1] - low[1]) * scale]))
        right = left + (high[0] - low[0]) * scale
    return placed


def fitted_scale(strokes: list[Stroke], width: float, height: float, margin: float) -> float:
    """How much ``fit`` scales these strokes."""
    points = np.concatenate(strokes)
    span = points.max(axis=0) - points.min(axis=0)
    return min((width - 2 * margin) / max(span[0], 1e-6), (height - 2 * margin) / max(span[1], 1e-6))


def fit(strokes: list[Stroke], width: float, height: float, margin: float) -> list[Stroke]:
    """The strokes scaled (aspect kept) and centred into a width x height box with a margin."""
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    scale = fitted_scale(strokes, width, height, margin)
    offset = np.array([width, height]) / 2 - (low + high) / 2 * scale
    return [stroke * scale + offset for stroke in strokes]


def draw(strokes: list[Stroke], x_height: float = X_HEIGHT, pen: int = PEN, margin: int = 30) -> np.ndarray:
    """The word as an image: black ink on white, drawn with a round pen ``pen`` pixels wide."""
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    width = int((high[0] - low[0]) * x_height) + 2 * margin
    height = int((high[1] - low[1]) * x_height) + 2 * margin
    page = np.full((height, width), 255, dtype=np.uint8)
    for stroke in strokes:
        pixels = np.round((stroke - low) * x_height + margin).astype(np.int32)
        cv2.polylines(page, [pixels.reshape(-1, 1, 2)], False, 0, thickness=pen, lineType=cv2.LINE_AA)
        if len(pixels) == 1:
            cv2.circle(page, tuple(int(v) for v in pixels[0]), pen // 2, 0, -1, lineType=cv2.LINE_AA)
    return page


def font_word(font_path: str | Path, text: str, size: int, pad: int = 24) -> np.ndarray:
    """``text`` written whole in a handwriting font (a joined font joins its letters its own way),
    ``size`` pixels: black ink on white."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(font_path), size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 255)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=0)
    return np.asarray(image)
