"""Where letters stand in their line, and the case that tells.

A line of handwriting has an x-line and a baseline: small letters fill the band between them,
ascenders (b d f h k l t) rise above it, descenders (g j p q y) fall below, capitals stand as tall
as ascenders. The bands are measured from the line's own letters, so the same rules hold for a
child's big letters and a photo's small ones.

Case: a letter whose small form stays at the x-height (a c e g m n o p q r s u v w x y z) is a
capital when it rises well above the x-line, whatever its shape (so ``c o s u v w x z`` and ``p``,
whose two forms share a shape, get a case from the line instead of "either"); a letter whose
small form is tall too (the ascenders, and dotted i and j) is told by its shape alone, by the
letter model's case output. In a word, a capital starts it ("Hello") or the whole word is in
capitals ("HELLO"): the letters after the first take the word's case, so a neighbour's tall
capital or a hand's tall ``s`` does not make a capital inside a word.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..labels import CASE_UNTOLD
from ..reading.recognize import LOWER, UPPER, letter_case

ASCENDER_LETTERS = frozenset("bdfhklt")
DESCENDER_LETTERS = frozenset("gjpqy")
DOTTED = frozenset("ij")  # their dot rises above the x-height: no ascender evidence either way
X_HEIGHT_LETTERS = frozenset("acemnorsuvwxz")
SHAPE_TELLS_CASE = ASCENDER_LETTERS | DOTTED  # both forms stand tall: only the shape tells them apart
Box = tuple[float, float, float, float]  # left, top, right, bottom; y down
RISES, STAYS = 0.45, 0.2  # share of the x-height above the x-line (below the baseline): an ascender / none
CAPITAL_RISES = 0.2  # share of the x-height a capital rises above the x-line, at least (capitals are shorter than ascenders)


@dataclass(frozen=True)
class LineBands:
    """Where a line's letters stand: its x-line and baseline (y, pixels, y down)."""

    x_line: float
    baseline: float

    @property
    def x_height(self) -> float:
        return max(1.0, self.baseline - self.x_line)

    def rise(self, box: Box) -> float:
        """How far a box's top stands above the x-line, in x-heights."""
        return (self.x_line - box[1]) / self.x_height

    def fall(self, box: Box) -> float:
        """How far a box's bottom reaches below the baseline, in x-heights."""
        return (box[3] - self.baseline) / self.x_height


def line_bands(boxes: list[Box], letters: str) -> LineBands | None:
    """The x-line from the tops of x-height letters (the lower ones: a word's capital, read as its
    small letter, stands taller), the baseline from the bottoms of letters without descenders (one
    of each is enough: a short word has few); None when no letter tells."""
    tops = [b[1] for b, c in zip(boxes, letters) if c in X_HEIGHT_LETTERS]
    bottoms = [b[3] for b, c in zip(boxes, letters) if c not in DESCENDER_LETTERS]
    if not tops or not bottoms:
        return None
    bands = LineBands(float(np.percentile(tops, 75)), float(np.median(bottoms)))
    return bands if bands.baseline - bands.x_line > 2 else None


def told_case(letter: str, box: Box, bands: LineBands | None,
              upper_probability: float | None) -> str | None:
    """UPPER or LOWER where the line or the letter's shape tells, EITHER where neither can, None
    where nothing was asked (no bands, no case output)."""
    if letter not in SHAPE_TELLS_CASE and bands is not None:
        return UPPER if bands.rise(box) > CAPITAL_RISES else LOWER
    if upper_probability is None:
        return None
    return letter_case(letter, upper_probability)[0]


def word_cases(letters: str, boxes: list[Box], bands: LineBands | None, uppers: list[float | None],
               cores: list[Box] | None = None) -> list[str | None]:
    """The case of each letter of a word: every letter UPPER in a word written in capitals
    (``in_capitals``); else the first its own (``told_case``: "Hello") and the others LOWER; None
    where a letter's own case cannot be told at all. ``uppers``: the letter model's probability of
    upper case for each letter (None where not asked); ``cores``: as for ``in_capitals``."""
    own = [told_case(letter, core, bands, upper) for letter, core, upper in zip(letters, cores or boxes, uppers)]
    if not own:
        return []
    if bands is not None and in_capitals(letters, boxes, bands, cores, uppers):
        return [None if mine is None else UPPER for mine in own]
    return [own[0], *(None if mine is None else LOWER for mine in own[1:])]


def in_capitals(letters: str, boxes: list[Box], bands: LineBands, cores: list[Box] | None = None,
                uppers: list[float | None] | None = None) -> bool:
    """Whether a word is written in capitals: its ascenders stand no taller than its other letters
    and its descenders do not descend (in capitals all letters stand alike); without either, by
    the letter model's case output on its letters whose two forms differ in shape (``uppers``),
    else when most of its letters rise above the line's x-line as capitals do. ``cores``: the letters' boxes
    without what neighbours may reach into them, for the letters that should stay at the x-height
    (the full boxes for ascenders and descenders: a slanted ascender tops out at its box's edge)."""
    cores = cores or boxes
    rest = [bands.rise(box) for letter, box in zip(letters[1:], cores[1:]) if letter in X_HEIGHT_LETTERS]
    # a small t is shorter than the other ascenders; a j's dot says nothing
    tall = [bands.rise(box) for letter, box in zip(letters, boxes) if letter in ASCENDER_LETTERS - {"t"}]
    low = [bands.fall(box) for letter, box in zip(letters, boxes) if letter in DESCENDER_LETTERS - {"j"}]
    if tall or low:
        level = float(np.median(rest)) if rest else 0.0
        return max(tall, default=level) - level < CAPITAL_RISES and max(low, default=0.0) < STAYS
    shaped = [p for letter, p in zip(letters[1:], (uppers or [None] * len(letters))[1:])
              if p is not None and letter not in CASE_UNTOLD]
    if shaped:
        return float(np.mean(shaped)) > 0.5
    return len(rest) >= 2 and sum(rise > CAPITAL_RISES for rise in rest) >= 2 / 3 * len(rest)
