"""Lines written in handwriting fonts, for the line (CTC) model: words as people write them.

A font is one person's hand: joined (cursive) fonts are written as whole words, with the joins
the font makes between its letters; print fonts either as the font spaces them or letter by
letter with a spacing of their own, from clear gaps to touching and overlapping letters. Words
keep the font's real proportions (x-height, ascenders, descenders, capitals). Each rendering is
then varied as a page is (``font_letters.vary``: size, slant, rotation, aspect, pen from a thin
centre line to a marker, wobble, broken strokes), given a wavy baseline, and goes through
``prepare_line`` exactly as a user's line does.

Training lines use the training fonts only; held-out fonts (``font_letters.HELD_OUT``) give
validation lines, never training ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import font_letters

RENDER_SIZE = 64  # font size in pixels of a line before it is varied
# how a line is varied after rendering: the whole line is one drawing, so it rotates less than a letter
LINE_VARIATION = font_letters.Variation(height=(24, 90), rotation=3.0, aspect=0.2, wobble=1.0, broken=0.1,
                                        whole_line=True)


@dataclass(frozen=True)
class FontLineStyle:
    spaced: float = 0.6  # share of print lines written letter by letter with a spacing of their own
    spacing: tuple[float, float] = (-0.12, 0.15)  # that spacing, share of the font size (negative: overlap)
    capitalised: float = 0.2  # share of lines whose words start with a capital
    capitals: float = 0.05  # share of lines written in capitals
    wave: float = 0.05  # baseline wave amplitude, share of the font size


@lru_cache(maxsize=256)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def as_written(text: str, rng: np.random.Generator, style: FontLineStyle) -> str:
    draw = rng.random()
    if draw < style.capitals:
        return text.upper()
    if draw < style.capitals + style.capitalised:
        return " ".join(word[:1].upper() + word[1:] for word in text.split(" "))
    return text


def _letter_by_letter(font: ImageFont.FreeTypeFont, text: str, spacing: float, wave: float,
                      rng: np.random.Generator) -> np.ndarray:
    """Each letter at the font's advance plus ``spacing`` pixels, its baseline on a gentle wave."""
    size = font.size
    width = int(sum(font.getlength(c) for c in text) + max(spacing, 0) * len(text)) + 2 * size
    canvas = Image.new("L", (width, 3 * size), 0)
    draw = ImageDraw.Draw(canvas)
    phase, period = rng.uniform(0, 2 * np.pi), rng.uniform(3, 8) * size
    x = float(size)
    for character in text:
        baseline = 2 * size + wave * np.sin(phase + 2 * np.pi * x / period)
        if character != " ":
            draw.text((x, baseline), character, font=font, fill=255, anchor="ls")
        x += font.getlength(character) + (spacing if character != " " else 0.0)
        x = max(x, 1.0)
    return np.asarray(canvas)


class FontLineWriter:
    """Writes text in the named fonts (one font, in one of its weights, per line)."""

    def __init__(self, font_dir: str | Path, fonts: list[str] | tuple[str, ...], style: FontLineStyle = FontLineStyle()):
        if not fonts:
            raise ValueError("no fonts to write lines in")
        self.files = {name: [str(path) for path in paths] for name, paths in font_letters.files_of(font_dir, fonts).items()}
        self.fonts = sorted(fonts)
        self.style = style

    def render(self, text: str, font_name: str, rng: np.random.Generator) -> np.ndarray | None:
        """The text in the font, as the font writes it: ink (H, W) uint8, 255 = ink, cropped."""
        paths = self.files[font_name]
        font = _font(paths[int(rng.integers(len(paths)))], RENDER_SIZE)
        written = as_written(text, rng, self.style)
        if font_name in font_letters.JOINED or rng.random() >= self.style.spaced:
            return font_letters.text_ink(font, written)
        spacing = rng.uniform(*self.style.spacing) * RENDER_SIZE
        return font_letters.cropped_to_ink(_letter_by_letter(font, written, spacing, self.style.wave * RENDER_SIZE, rng))

    def compose(self, text: str, rng: np.random.Generator) -> np.ndarray | None:
        """The text written in a font drawn at random and varied as a page is: ink in [0, 1] (1 = ink)."""
        ink = self.render(text, self.fonts[int(rng.integers(len(self.fonts)))], rng)
        if ink is None:
            return None
        drawn = font_letters.vary(ink, rng, LINE_VARIATION)
        return (255 - drawn).astype(np.float32) / 255.0

