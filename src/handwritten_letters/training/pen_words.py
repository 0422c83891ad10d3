"""Words drawn as pens draw, in many hands, for the line model.

A handwriting font is one hand; the centre lines of its letters are the paths a pen takes. A line
is written in one hand: each letter's centre line scaled to handwriting proportions (an x-height,
ascenders, capitals and descenders at ratios drawn for the line: tall or short), placed after the
one before with an ink gap from clear to crossing, each letter a little turned, scaled and raised
as a hand does, the whole path wobbled, then drawn with one round pen (a mouse's thin line to a
marker) and slanted. Joined hands are also written as whole words, their joins kept and their
centre lines redrawn with the pen. The picture then goes through ``prepare_line`` as a user's does.

This is what a picture of ink drawn on the page looks like (one pen, uniform width, touching and
crossing letters, upright narrow letters side by side: the "ll" of "hello"), in as many hands as
there are fonts, where filled glyphs (``font_lines``) show a font's own strokes.

Training lines use the training fonts only; held-out fonts write validation lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import ImageFont

from ..reading.preprocess import disk
from . import font_letters
from .font_lines import FontLineStyle, as_written
from .written_words import span

RENDER_SIZE = 96  # font size in pixels at which whole joined words are rendered (the glyph cache's size too)
# sub-pixel copies of every centre-line point, so a path scaled up to twice its size stays unbroken
_FILL = np.array([[0.0, 0.0], [0.5, 0.0], [-0.5, 0.0], [0.0, 0.5], [0.0, -0.5]])


@dataclass(frozen=True)
class PenWordStyle:
    """How a line of pen words is drawn. Lengths in x-heights unless said."""

    x_height: tuple[float, float] = (16.0, 32.0)  # pixels
    ascender: tuple[float, float] = (1.3, 1.9)  # ascenders' and capitals' height
    descender: tuple[float, float] = (0.35, 0.8)  # depth below the baseline
    # ink gap between letters: clear, just touching, crossing (shares of lines, then ranges)
    gap_kinds: tuple[float, float, float] = (0.35, 0.3, 0.35)
    clear_gap: tuple[float, float] = (0.05, 0.4)
    touching_gap: tuple[float, float] = (-0.04, 0.04)
    crossing_gap: tuple[float, float] = (-0.3, -0.05)
    gap_jitter: float = 0.04
    word_gap: tuple[float, float] = (0.6, 1.4)
    pen: tuple[float, float] = (0.06, 0.25)  # the pen's width
    # how wide the hand writes: the line's letters scaled across by one draw (condensed to wide); (1, 1),
    # as lines-ctc 4 was trained (0.6-1.15 read the held-out fonts' pen words worse: docs/words-and-lines.md)
    hand_width: tuple[float, float] = (1.0, 1.0)
    turn: float = 4.0  # degrees a letter turns, either way
    size_jitter: float = 0.08
    rise_jitter: float = 0.06
    wobble: float = 0.05  # a smooth tremor's amplitude
    slant: float = 0.35
    whole_words: float = 0.5  # share of a joined hand's lines written as whole words, joins kept
    margin: int = 8  # pixels of paper around the line


PEN_WORDS = PenWordStyle()
CASES = FontLineStyle()  # capitalised words and words in capitals as often as in font lines


def centre_points(ink: np.ndarray) -> np.ndarray:
    """Ink's centre line as (N, 2) points (x right, y down), one per pixel of the line."""
    ys, xs = np.nonzero(font_letters.centre_line(ink))
    return np.column_stack([xs, ys]).astype(np.float64)


def _turned(points: np.ndarray, rng: np.random.Generator, style: PenWordStyle) -> np.ndarray:
    """A letter's points about their centre, turned and stretched a little, as a hand varies a letter."""
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    angle = np.radians(rng.uniform(-style.turn, style.turn))
    stretch = 1.0 + rng.uniform(-style.size_jitter, style.size_jitter)
    cos, sin = np.cos(angle), np.sin(angle)
    matrix = np.array([[cos, -sin], [sin, cos]]) * stretch
    return (points - centre) @ matrix.T + centre


class PenWordWriter:
    """Writes text as pen words in the named fonts' hands (one hand and one pen per line)."""

    def __init__(self, font_dir: str | Path, fonts: list[str] | tuple[str, ...],
                 style: PenWordStyle = PEN_WORDS, case_style: FontLineStyle = CASES):
        if not fonts:
            raise ValueError("no fonts to write pen words in")
        self.fonts = sorted(fonts)
        self.glyphs = {(g.font, g.character): g for g in font_letters.glyphs(str(font_dir), tuple(self.fonts))}
        self.files = {name: [str(path) for path in paths] for name, paths in font_letters.files_of(font_dir, fonts).items()}
        self.style, self.case_style = style, case_style
        self._paths: dict[tuple[str, str, int], np.ndarray] = {}  # centre lines, made when first drawn

    def _letter(self, font: str, character: str, rng: np.random.Generator) -> np.ndarray | None:
        glyph = self.glyphs.get((font, character)) or self.glyphs.get((font, character.lower()))
        if glyph is None:
            return None
        key = (font, glyph.character, int(rng.integers(len(glyph.inks))))
        if key not in self._paths:
            self._paths[key] = centre_points(glyph.inks[key[2]])
        return self._paths[key]

    def _whole_word(self, font: str, word: str, x_height: float, rng: np.random.Generator) -> np.ndarray | None:
        """A joined hand's word as the font joins it: its centre line in pixels, baseline at y = 0."""
        path = self.files[font][int(rng.integers(len(self.files[font])))]
        points, font_x_height = _word_path(path, word)
        if points is None or font_x_height <= 0:
            return None
        return points * (x_height / font_x_height)

    def strokes(self, text: str, rng: np.random.Generator) -> tuple[np.ndarray, float, float] | None:
        """The line's pen path as points in pixels (x right, y down, baseline at 0), the pen's width
        in pixels and the x-height; None if the hand lacks a letter of the text."""
        style = self.style
        font = self.fonts[int(rng.integers(len(self.fonts)))]
        written = as_written(text, rng, self.case_style)
        x_height = rng.uniform(*style.x_height)
        ascender, descender = rng.uniform(*style.ascender), rng.uniform(*style.descender)
        pen = max(1.0, rng.uniform(*style.pen) * x_height)
        kind = rng.choice(3, p=np.asarray(style.gap_kinds) / sum(style.gap_kinds))
        gap = rng.uniform(*(style.clear_gap, style.touching_gap, style.crossing_gap)[kind])
        whole = font in font_letters.JOINED and rng.random() < style.whole_words
        # drawn only when asked, so other runs keep their random stream
        across = np.array([rng.uniform(*style.hand_width) if style.hand_width != (1.0, 1.0) else 1.0, 1.0])
        pieces, right = [], 0.0
        for index, word in enumerate(written.split(" ")):
            if index:
                right += rng.uniform(*style.word_gap) * x_height
            if whole:
                points = self._whole_word(font, word, x_height, rng)
                if points is None:
                    return None
                points = points * across
                points = points - [points[:, 0].min() - right, 0.0]
                pieces.append(points)
                right = points[:, 0].max()
                continue
            for position, character in enumerate(word):
                points = self._letter(font, character, rng)
                if points is None:
                    return None
                top, bottom = span(character, ascender, descender, 1.0 + 0.6 * (ascender - 1.0))
                low, high = points.min(axis=0), points.max(axis=0)
                scale = (bottom - top) * x_height / max(high[1] - low[1], 1.0)
                filled = (points[:, None, :] + _FILL[None]).reshape(-1, 2)
                placed = _turned((filled - low) * scale * across, rng, style)
                placed[:, 1] += (top + rng.uniform(-style.rise_jitter, style.rise_jitter)) * x_height - placed[:, 1].min()
                # the ink gap is between the inks: the centre lines stand a pen's width further apart
                jitter = rng.uniform(-style.gap_jitter, style.gap_jitter)
                step = 0.0 if not pieces or position == 0 else (gap + jitter) * x_height + pen
                left = right + step if position else right
                placed[:, 0] += left - placed[:, 0].min()
                pieces.append(placed)
                right = placed[:, 0].max()
        points = np.concatenate(pieces)
        points = _wobbled(points, x_height, rng, style)
        shear = rng.uniform(-style.slant, style.slant)
        points[:, 0] -= shear * points[:, 1]
        return points, pen, x_height

    def compose(self, text: str, rng: np.random.Generator) -> np.ndarray | None:
        """The text drawn as pen words: ink in [0, 1] (1 = ink), or None if the hand cannot write it."""
        made = self.strokes(text, rng)
        if made is None:
            return None
        points, pen, _ = made
        return draw_points(points, pen, self.style.margin)


@lru_cache(maxsize=4096)
def _word_path(path: str, word: str) -> tuple[np.ndarray | None, float]:
    """A word in the font at RENDER_SIZE: its centre line's points with the baseline at y = 0, and
    the font's x-height."""
    from PIL import Image, ImageDraw

    font = _font(path)
    left, top, right, bottom = font.getbbox(word, anchor="ls")
    canvas = Image.new("L", (right - left + 8, bottom - top + 8), 0)
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), word, font=font, fill=255, anchor="ls")
    ink = np.asarray(canvas)
    if ink.max() <= 64:
        return None, 0.0
    points = centre_points(ink)
    points[:, 1] -= 4 - top  # the baseline's row
    return (points[:, None, :] + _FILL[None]).reshape(-1, 2), _x_height(path)


@lru_cache(maxsize=256)
def _font(path: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, RENDER_SIZE)


@lru_cache(maxsize=256)
def _x_height(path: str) -> float:
    """The font's x-height at RENDER_SIZE: the ink height of its small x (a ligature-free letter
    with neither ascender nor descender)."""
    ink = font_letters.text_ink(_font(path), "x")
    return float(ink.shape[0]) if ink is not None else 0.0


def _wobbled(points: np.ndarray, x_height: float, rng: np.random.Generator, style: PenWordStyle) -> np.ndarray:
    """A smooth tremor along the line: each point moved by a few slow waves of x and y."""
    amplitude = style.wobble * x_height
    moved = points.copy()
    for axis in (0, 1):
        for _ in range(2):
            period = rng.uniform(0.8, 3.0) * x_height
            phase = rng.uniform(0, 2 * np.pi)
            along = points[:, int(rng.integers(2))]
            moved[:, axis] += rng.uniform(0, amplitude) * np.sin(2 * np.pi * along / period + phase)
    return moved


def draw_points(points: np.ndarray, pen: float, margin: int = 8) -> np.ndarray:
    """Points of a pen's path drawn with a round pen ``pen`` pixels wide: ink in [0, 1] (1 = ink)."""
    low = points.min(axis=0)
    pixels = np.rint(points - low + margin).astype(np.int64)
    width, height = pixels.max(axis=0) + margin + 1
    canvas = np.zeros((int(height), int(width)), dtype=np.uint8)
    canvas[pixels[:, 1], pixels[:, 0]] = 255
    radius = int(round((pen - 1) / 2))
    if radius:
        canvas = cv2.dilate(canvas, disk(radius))
    canvas = cv2.GaussianBlur(canvas, (3, 3), 0)  # the pen's edge, anti-aliased
    return canvas.astype(np.float32) / 255.0
