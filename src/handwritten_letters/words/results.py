"""What a reading of handwritten text is: lines of words of letters, each with its box and its
confidence, and the raw reading beside the one a lexicon chose. Every text reader returns these."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..reading.preprocess import to_source_pixels


@dataclass
class LetterReading:
    label: str
    confidence: float
    top_k: list[tuple[str, float]]
    box: tuple[int, int, int, int]  # left, top, right, bottom in the image
    case: str | None = None  # upper, lower or either, where the reader tells it
    strokes: tuple[int, ...] = ()  # read from ink: the indices of the strokes this letter was read from


@dataclass
class WordReading:
    text: str
    raw_text: str  # the reading without the lexicon
    confidence: float  # probability that every letter is right (product of letter confidences)
    box: tuple[int, int, int, int]
    letters: list[LetterReading] = field(default_factory=list)

    @property
    def written(self) -> str:
        """The word in the case its letters were written in, where a reader told it (else small)."""
        if len(self.letters) != len(self.text):
            return self.text
        return "".join(c.upper() if letter.case == "upper" else c for c, letter in zip(self.text, self.letters))

    @classmethod
    def of(cls, text: str, raw_text: str, letters: list[LetterReading]) -> "WordReading":
        """A word of these letters: their product of confidences, the box around them."""
        return cls(text, raw_text, float(np.prod([l.confidence for l in letters])),
                   enclosing([l.box for l in letters]), letters)


@dataclass
class LineReading:
    words: list[WordReading]
    box: tuple[int, int, int, int]

    @classmethod
    def of(cls, words: list[WordReading]) -> "LineReading":
        return cls(words, enclosing([w.box for w in words]))

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def raw_text(self) -> str:
        return " ".join(w.raw_text for w in self.words)

    @property
    def written(self) -> str:
        return " ".join(w.written for w in self.words)


@dataclass
class TextReading:
    lines: list[LineReading]
    reason: str | None = None  # why nothing was read, when nothing was

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def raw_text(self) -> str:
        return "\n".join(line.raw_text for line in self.lines)

    @property
    def written(self) -> str:
        """``text`` in the case it was written in, where the readers told it."""
        return "\n".join(line.written for line in self.lines)


def enclosing(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    """The smallest (left, top, right, bottom) box holding all the given boxes."""
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def in_source_pixels(reading: TextReading, scale: float) -> TextReading:
    for line in reading.lines:
        line.box = to_source_pixels(line.box, scale)
        for word in line.words:
            word.box = to_source_pixels(word.box, scale)
            for letter in word.letters:
                letter.box = to_source_pixels(letter.box, scale)
    return reading
