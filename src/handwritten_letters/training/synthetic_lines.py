"""Synthetic lines of handwriting composed from EMNIST letters, for the line (CTC) model.

Each line is 1-4 words (English words from a word list, or random letter strings so the model
does not lean on spelling alone), at most ``MAX_LETTERS`` letters, composed at EMNIST's 28-px
scale with letter gaps from clear to overlapping, baseline jitter, size and slant variation,
stroke width and noise, then passed through ``preprocess.prepare_line`` exactly as a
user's line is. The letters come from one split only: training lines from the training split,
validation lines from the validation split.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage

from ..labels import CLASS_NAMES
from ..reading.preprocess import LINE_HEIGHT, disk, prepare_line
from ..words.ctc import encode
from .data import CASE_LOWER, CASE_UPPER, Dataset
from .font_letters import centre_line

MAX_LETTERS = 30
MAX_LABEL = 40  # characters (letters and spaces) a training line holds; labels are padded to it
INK_COLUMN = 20  # grey level above which a column of an EMNIST letter holds ink
ASCENDERS, DESCENDERS = frozenset("bdfhklt"), frozenset("gjpqy")
CAP_HEIGHT = 28  # at EMNIST's scale: a capital or an ascender stands this tall on the baseline


@dataclass(frozen=True)
class LineStyle:
    """How one line is written. Gaps and jitter in pixels at EMNIST's 28-px letter scale."""

    gap: tuple[int, int] = (-4, 8)  # range of the line's base letter gap (negative: overlap)
    word_gap: tuple[int, int] = (11, 22)
    jitter: tuple[int, int] = (0, 4)  # range of the line's baseline jitter amplitude
    size: tuple[float, float] = (0.8, 1.15)  # per-letter scale range, for lines that vary size
    size_variation: float = 0.5  # share of lines whose letters vary in size
    slant: float = 0.3  # shear range, either way
    slant_share: float = 0.5
    stroke_change: float = 0.4  # share of lines drawn with a thicker or thinner pen
    noise: float = 0.3  # share of lines with sensor noise
    random_strings: float = 0.3  # share of words that are random letters, not English
    doubled: float = 0.25  # share of random strings with a letter written twice (ll, tt: English has many)
    # share of lines whose letters of known case stand at handwriting proportions (x-height, ascenders,
    # descenders, capitals) instead of each filling the 28-px box as EMNIST keeps them
    proportions: float = 0.6
    # share of lines whose letters are stood upright and redrawn along their centre lines with one
    # round pen, as a drawer writes on the page (one slant for the line, if any, comes after): a
    # stroke's width is then the pen's, so two touching `l`s (the "ll" of "hello") are one bar twice a
    # bar's width; their ink gaps in x-heights, clear to crossing, and the pen's width
    pen_lines: float = 0.0
    pen_gap: tuple[float, float] = (-0.25, 0.2)
    pen_width: tuple[float, float] = (0.12, 0.3)
    # how wide a pen line's hand writes: its letters scaled across by one draw for the line (a
    # condensed hand's narrow `e` and `o` to a wide one's), their heights kept; (1, 1), as lines-ctc 4
    # was trained: a run with 0.55-1.15 (and pens of 0.08-0.25) read the held-out fonts' pen words worse
    pen_hand_width: tuple[float, float] = (1.0, 1.0)


TRAINING_STYLE = LineStyle()


def trimmed(letter: np.ndarray) -> np.ndarray:
    """An EMNIST letter (28x28, white on black) without its empty columns."""
    cols = np.flatnonzero(letter.max(axis=0) > INK_COLUMN)
    return letter[:, cols[0] : cols[-1] + 1] if cols.size else letter[:, 12:16]


def _scaled(letter: np.ndarray, height: int) -> np.ndarray:
    width = max(1, round(letter.shape[1] * height / letter.shape[0]))
    return np.asarray(Image.fromarray(letter).resize((width, height), Image.BILINEAR))


def upright(letter: np.ndarray) -> np.ndarray:
    """The letter sheared so that its main axis stands vertical (image moments, as MNIST is
    deskewed), trimmed to its ink: a drawer's letters stand alike, so an EMNIST `l` becomes a bar."""
    moments = cv2.moments(letter.astype(np.float32))
    if moments["mu02"] < 1e-3:
        return letter
    skew = moments["mu11"] / moments["mu02"]  # columns per row the letter leans
    stood = sheared(letter.astype(np.float32), skew)
    return trimmed(np.clip(np.rint(stood), 0, 255).astype(np.uint8))


def _widened(letter: np.ndarray, factor: float) -> np.ndarray:
    if factor == 1.0:
        return letter
    width = max(1, round(letter.shape[1] * factor))
    return np.asarray(Image.fromarray(letter).resize((width, letter.shape[0]), Image.BILINEAR))


def proportioned(letter: np.ndarray, name: str, case: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """An EMNIST letter of known case at handwriting proportions: the letter (trimmed to its ink)
    and how far its top stands above the baseline. Capitals and ascenders stand CAP_HEIGHT tall,
    small letters at an x-height of 55-70% of it, descenders reach 35% below the baseline."""
    rows = np.flatnonzero(letter.max(axis=1) > INK_COLUMN)
    ink = trimmed(letter[rows[0] : rows[-1] + 1]) if rows.size else trimmed(letter)
    x_height = CAP_HEIGHT * rng.uniform(0.55, 0.7)
    if case == CASE_UPPER or name in ASCENDERS:
        return _scaled(ink, CAP_HEIGHT), CAP_HEIGHT
    if name in DESCENDERS:
        return _scaled(ink, round(x_height + 0.35 * CAP_HEIGHT)), round(x_height)
    if name == "i":  # its dot above the x-height
        return _scaled(ink, round(x_height * 1.35)), round(x_height * 1.35)
    return _scaled(ink, round(x_height)), round(x_height)


class LineComposer:
    """Composes lines from one split's letters; every draw comes from the given generator."""

    def __init__(self, letters: Dataset, words: list[str], style: LineStyle = TRAINING_STYLE):
        self.images = letters.images
        self.cases = letters.cases
        self.pool = [np.flatnonzero(letters.labels == c) for c in range(len(CLASS_NAMES))]
        missing = [CLASS_NAMES[c] for c, rows in enumerate(self.pool) if rows.size == 0]
        if missing:
            raise ValueError(f"no letters of class {', '.join(missing)} to compose lines from")
        self.words = [w for w in words if 1 <= len(w) <= 12 and w.isascii() and w.isalpha() and w.islower()]
        self.style = style

    def text(self, rng: np.random.Generator) -> str:
        count = int(rng.choice([1, 2, 3, 4], p=[0.55, 0.2, 0.15, 0.1]))
        words: list[str] = []
        letters = 0
        for _ in range(count):
            if rng.random() < self.style.random_strings:
                word = "".join(CLASS_NAMES[c] for c in rng.integers(0, 26, int(rng.integers(1, 11))))
                if rng.random() < self.style.doubled:
                    at = int(rng.integers(len(word)))
                    word = word[: at + 1] + word[at:]
            else:
                word = self.words[int(rng.integers(len(self.words)))]
            if words and letters + len(word) > MAX_LETTERS:
                break
            words.append(word[:MAX_LETTERS])
            letters += len(word)
        return " ".join(words)

    def _letter(self, ch: str, rng: np.random.Generator, proportions: bool) -> tuple[np.ndarray, int | None]:
        """One letter for ``ch``: its ink, and its top's height above the baseline (None: centred)."""
        pool = self.pool[CLASS_NAMES.index(ch)]
        row = pool[int(rng.integers(pool.size))]
        case = self.cases[row] if self.cases is not None else 0
        if proportions and case in (CASE_LOWER, CASE_UPPER):
            return proportioned(self.images[row], ch, int(case), rng)
        return trimmed(self.images[row]), None

    def compose(self, text: str, rng: np.random.Generator, style: LineStyle | None = None) -> np.ndarray:
        """The line's ink at 28-px letter scale, float32 in [0, 1] (1 = ink)."""
        style = style or self.style
        base_gap = int(rng.integers(style.gap[0], style.gap[1] + 1))
        amplitude = int(rng.integers(style.jitter[0], style.jitter[1] + 1))
        vary_size = rng.random() < style.size_variation
        proportions = rng.random() < style.proportions
        pen, hand_width = 0, 1.0
        if rng.random() < style.pen_lines:
            # skeletons are placed, then the pen widens every stroke by its radius on either side
            x_height = 0.625 * CAP_HEIGHT
            pen = max(1, round(rng.uniform(*style.pen_width) * x_height / 2))
            base_gap = round(rng.uniform(*style.pen_gap) * x_height) + 2 * pen
            if style.pen_hand_width != (1.0, 1.0):  # drawn only when asked, so other runs keep their random stream
                hand_width = rng.uniform(*style.pen_hand_width)
        margin = 8 + amplitude
        baseline = margin + CAP_HEIGHT
        tiles, x = [], margin
        for index, ch in enumerate(text):
            if ch == " ":
                x += int(rng.integers(style.word_gap[0], style.word_gap[1] + 1))
                continue
            letter, rise = self._letter(ch, rng, proportions)
            if vary_size:
                scale = rng.uniform(*style.size)
                letter = _scaled(letter, max(1, round(letter.shape[0] * scale))) if rise is None else letter
            # a pen line's gaps are measured between centre lines, so the letter keeps only its own
            letter = trimmed(centre_line(_widened(upright(letter), hand_width))) if pen else letter
            top = margin + (28 - letter.shape[0]) // 2 if rise is None else baseline - rise
            top += int(rng.integers(-amplitude, amplitude + 1))
            if index and text[index - 1] != " ":
                x += base_gap + int(rng.integers(-1, 2))
                x = max(x, tiles[-1][0] + 2) if tiles else x  # a letter never starts left of the one before
            tiles.append((x, max(0, top), letter))
            x += letter.shape[1]
        height = max([baseline + margin] + [top + letter.shape[0] + margin for _, top, letter in tiles])
        canvas = np.zeros((height, x + margin), dtype=np.uint8)
        for left, top, letter in tiles:
            region = canvas[top : top + letter.shape[0], left : left + letter.shape[1]]
            np.maximum(region, letter[: region.shape[0], : region.shape[1]], out=region)
        if pen:
            canvas = cv2.GaussianBlur(cv2.dilate(canvas, disk(pen)), (3, 3), 0)  # a round pen, anti-aliased
        ink = canvas.astype(np.float32) / 255.0
        if rng.random() < style.slant_share:
            ink = sheared(ink, rng.uniform(-style.slant, style.slant))
        if not pen and rng.random() < style.stroke_change:
            size = int(rng.choice([2, 3]))
            ink = (ndimage.grey_dilation(ink, size=(size, size)) if rng.random() < 0.6
                   else ndimage.grey_erosion(ink, size=(2, 2)) if (ink > 0.5).sum() > 200 else ink)
        return ink

    def line(self, text: str, rng: np.random.Generator, style: LineStyle | None = None) -> np.ndarray:
        """A model input (LINE_HEIGHT, W) for ``text``."""
        style = style or self.style
        return model_line(self.compose(text, rng, style), rng, style)


def model_line(ink: np.ndarray, rng: np.random.Generator, style: LineStyle = TRAINING_STYLE) -> np.ndarray:
    """A composed line's ink (1 = ink) as the model gets it: through ``prepare_line`` as a user's
    line is, then sometimes with sensor noise."""
    prepared = prepare_line(ink)
    # no ink only if every letter of the line was erased
    pixels = prepared.pixels if prepared is not None else np.zeros((LINE_HEIGHT, 16), dtype=np.float32)
    if rng.random() < style.noise:
        pixels = np.clip(pixels + rng.normal(0, rng.uniform(3, 15), pixels.shape), 0, 255).astype(np.float32)
    return pixels


class MixedLines:
    """Lines composed from EMNIST letters and, for shares of them, written in handwriting fonts
    (``writer``: the fonts' own glyphs) or drawn as pen words in the fonts' hands (``pen_writer``).
    The texts are the composer's (English words and random strings) either way."""

    def __init__(self, composer: LineComposer, writer=None, font_share: float = 0.0, pen_writer=None,
                 pen_share: float = 0.0):
        if font_share and writer is None or pen_share and pen_writer is None:
            raise ValueError("a share of font lines or pen words needs fonts to write them in")
        self.composer, self.writer, self.font_share = composer, writer, font_share
        self.pen_writer, self.pen_share = pen_writer, pen_share

    def text(self, rng: np.random.Generator) -> str:
        return self.composer.text(rng)

    def line(self, text: str, rng: np.random.Generator) -> np.ndarray:
        if self.writer is None and self.pen_writer is None:
            return self.composer.line(text, rng)
        draw = rng.random()
        source = (self.writer if draw < self.font_share
                  else self.pen_writer if draw < self.font_share + self.pen_share else None)
        if source is not None:
            ink = source.compose(text, rng)
            if ink is not None:
                return model_line(ink, rng, self.composer.style)
        return self.composer.line(text, rng)


def sheared(ink: np.ndarray, shear: float) -> np.ndarray:
    """Slant the line: x' = x + shear * (y - centre), widening the canvas to keep every stroke."""
    height, width = ink.shape
    extra = int(np.ceil(abs(shear) * height / 2)) + 1
    image = Image.fromarray(np.pad(ink, ((0, 0), (extra, extra))), mode="F")
    centre = height / 2
    return np.asarray(image.transform(image.size, Image.AFFINE, (1, shear, -shear * centre, 0, 1, 0), Image.BILINEAR))


def batch_of_lines(lines: list[np.ndarray], texts: list[str], width_multiple: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Pad lines to a common width (a multiple of ``width_multiple``, so few shapes are traced)
    and labels to MAX_LABEL. Returns images (N, LINE_HEIGHT, W) and labels (N, MAX_LABEL)."""
    width = -(-max(line.shape[1] for line in lines) // width_multiple) * width_multiple
    images = np.zeros((len(lines), LINE_HEIGHT, width), dtype=np.float32)
    labels = np.zeros((len(lines), MAX_LABEL), dtype=np.int32)
    for i, (line, text) in enumerate(zip(lines, texts)):
        images[i, :, : line.shape[1]] = line
        codes = encode(text)[:MAX_LABEL]
        labels[i, : len(codes)] = codes
    return images, labels
