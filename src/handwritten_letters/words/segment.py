"""Read handwritten words and lines: segmentation, recognition-driven decoding, optional lexicon.

1. Binarize with the recognizer's own ink map (same polarity handling), drop specks.
2. Lines from the horizontal projection; thin bands (i-dots, accents) join their nearest line.
3. Pieces of ink (connected components) per line; pieces that overlap horizontally are one
   blob (the dot of an i or j, a broken stroke). Word gaps come from the line's gap statistics.
4. Wide blobs get candidate cuts at minima of their vertical projection (touching letters).
5. No single segmentation is trusted: a beam search over the cut points scores every way of
   grouping consecutive pieces into letters with the letter model's calibrated probabilities,
   so touching and broken letters are resolved by what reads best. Small pieces the model
   does not read as a letter may be dropped as noise.
6. An optional lexicon re-ranks the beam's readings; both readings are reported.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..labels import CLASS_NAMES
from ..reading.preprocess import CROSS, ImageSource, ink_to_model_input
from ..reading.recognize import Recognizer
from .lexicon import Lexicon
from .page import InkPage, check_deadline, ink_page, pieces_by_line
from .results import LetterReading, LineReading, TextReading, WordReading, enclosing, in_source_pixels

MAX_PIECES_PER_LETTER = 4
SEGMENT_BEAM_WIDTH = 8  # ways of grouping pieces into letters kept at each piece
MAX_LETTER_WIDTH = 1.5  # x line height: wider groups are not one letter
MIN_CUT_SPACING = 0.15  # x line height between cuts of a touching blob
CUT_DEPTH = 0.8  # a cut column holds at most this share of the blob's median column ink
WORD_GAP = 0.45  # x line height: a wider gap is a space between words
NOISE_HEIGHT = 0.25  # x line height: smaller pieces may be noise
SKIP_NOISE = np.log(0.2)  # score of dropping a small piece as noise
SMALL_LETTER_PENALTY = np.log(0.05)
LETTER_BONUS = 0.8  # nats per letter: without it, fewer (merged) letters always score higher
WIDE_PENALTY = 3.0  # per line height beyond one: one letter is rarely wider than the line is high
CUT_BASE, CUT_INK = 0.8, 10.0  # cost of cutting through ink: a base plus per line height of ink cut
GAP_PENALTY = 15.0  # per line height of empty columns inside one letter: separate blobs are rarely one letter
SEGMENT_LEXICON_MARGIN = 1.2  # nats of letter-model probability per letter a lexicon word may lose
# a column holding this many line heights of ink (a line's height is 1.15 of its median blob's),
# and nearly the blob's tallest, is an ascender's bar
ASCENDER_COLUMN = 1.05
BAR_COLUMN = 0.85  # of the blob's tallest column
SEAM_DEPTH = 0.5  # a seam's column holds at most this share of the bars' ink (a stem drawn down and up again holds more)
SEAM_PENALTY = 2.0  # nats against one letter holding two ascender bars that touch at a seam




# --------------------------------------------------------------------------- segmentation


@dataclass
class Piece:
    """An atom of ink: part of a blob between two cut points."""

    mask: np.ndarray  # boolean, within ``box``
    box: tuple[int, int, int, int]  # left, top, right, bottom
    cut_cost: float = 0.0  # cost of separating this piece from the previous one (0: they never touched)
    seam: bool = False  # parted from the previous piece where two bars touch (``_double_bar_seams``)

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def _blobs(labels: np.ndarray, slices, ids: list[int]) -> list[list[int]]:
    """Group components that overlap horizontally (i-dots, broken strokes) into blobs, left to right."""
    spans = sorted(((slices[i - 1][1].start, slices[i - 1][1].stop, i) for i in ids))
    blobs: list[list] = []
    for left, right, i in spans:
        if blobs:
            b_left, b_right, members = blobs[-1]
            overlap = min(right, b_right) - max(left, b_left)
            if overlap >= 0.5 * min(right - left, b_right - b_left):
                blobs[-1] = [min(left, b_left), max(right, b_right), members + [i]]
                continue
        blobs.append([left, right, [i]])
    return [members for _, _, members in blobs]


def _cut_points(profile: np.ndarray, line_height: int) -> list[int]:
    """Columns where touching letters may join: low minima of the vertical projection."""
    width = len(profile)
    spacing = max(2, int(MIN_CUT_SPACING * line_height))
    if width < 2 * spacing or width < 0.6 * line_height:
        return []
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    low = CUT_DEPTH * np.median(smooth[smooth > 0]) if (smooth > 0).any() else 0
    candidates = [c for c in range(spacing, width - spacing)
                  if smooth[c] <= low and smooth[c] <= smooth[c - 1] and smooth[c] <= smooth[c + 1]]
    cuts: list[int] = []
    for c in sorted(candidates, key=lambda c: smooth[c]):
        if all(abs(c - other) >= spacing for other in cuts):
            cuts.append(c)
    return sorted(cuts)


def _pen_width(mask: np.ndarray) -> float:
    """The pen's width: the median length of the ink's runs along its rows (most strokes stand)."""
    padded = np.pad(mask, ((0, 0), (1, 1))).astype(np.int8)
    edges = np.diff(padded, axis=1)
    starts, stops = np.nonzero(edges == 1), np.nonzero(edges == -1)
    return float(np.median(stops[1] - starts[1])) if starts[1].size else 1.0


def _double_bar_seams(mask: np.ndarray, profile: np.ndarray, line_height: int) -> list[int]:
    """Where two upright bars of ascender height, drawn side by side, touch (the "ll" of "hello",
    the "lk" of "walked"): the thinnest column between two runs of such tall columns under a pen
    apart, where a blob too narrow for ``_cut_points`` has no cut."""
    columns = np.flatnonzero((profile >= ASCENDER_COLUMN * line_height) & (profile >= BAR_COLUMN * profile.max()))
    seams: list[int] = []
    if columns.size < 2 or np.diff(columns).max() < 2:  # no two runs of bars: nothing to part (most blobs)
        return seams
    pen = _pen_width(mask)
    for left, right in zip(columns[:-1], columns[1:]):
        if 1 < right - left <= pen:
            between = np.arange(left + 1, right)
            seam = int(between[np.argmin(profile[between])])
            if profile[seam] <= SEAM_DEPTH * min(profile[left], profile[right]):
                seams.append(seam)
    return seams


def _pieces_of_blob(labels: np.ndarray, slices, members: list[int], line_height: int) -> list[Piece]:
    # work inside the blob's own box: the cost follows the blob, not the page
    top, bottom = min(slices[i - 1][0].start for i in members), max(slices[i - 1][0].stop for i in members)
    left, right = min(slices[i - 1][1].start for i in members), max(slices[i - 1][1].stop for i in members)
    local = np.isin(labels[top:bottom, left:right], members)
    profile = local.sum(axis=0)
    seams = _double_bar_seams(local, profile, line_height)
    low = [c for c in _cut_points(profile, line_height) if all(abs(c - seam) > 2 for seam in seams)]
    cuts = [0, *sorted(low + seams), right - left]
    pieces = []
    for start, stop in zip(cuts[:-1], cuts[1:]):
        cut_cost = 0.0 if start == 0 else CUT_BASE if start in seams else CUT_BASE + CUT_INK * profile[start] / line_height
        part = np.zeros_like(local)
        part[:, start:stop] = local[:, start:stop]
        r = np.flatnonzero(part.any(axis=1))
        if r.size:
            box = (int(left + start), int(top + r[0]), int(left + stop), int(top + r[-1] + 1))
            pieces.append(Piece(part[r[0] : r[-1] + 1, start:stop], box, cut_cost, start in seams))
    return pieces


def _empty_columns(pieces: list[Piece]) -> int:
    """Columns between the pieces of a group that no piece covers."""
    left = min(p.box[0] for p in pieces)
    covered = np.zeros(max(p.box[2] for p in pieces) - left, dtype=bool)
    for p in pieces:
        covered[p.box[0] - left : p.box[2] - left] = True
    return int((~covered).sum())


def _union(pieces: list[Piece], ink: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    left, top, right, bottom = enclosing([p.box for p in pieces])
    mask = np.zeros((bottom - top, right - left), dtype=bool)
    for p in pieces:
        mask[p.box[1] - top : p.box[3] - top, p.box[0] - left : p.box[2] - left] |= p.mask
    near = cv2.dilate(mask.astype(np.uint8), CROSS, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0  # antialiased edges
    return np.where(near, ink[top:bottom, left:right], 0.0), (left, top, right, bottom)


# --------------------------------------------------------------------------- decoding


@dataclass(order=True)
class _Path:
    score: float
    letters: tuple = ()  # (start, stop) piece ranges that form letters


@dataclass
class _Candidates:
    """Every group of consecutive pieces that may be one letter, read by the model."""

    keys: list[tuple[int, int]]  # (start, stop) piece ranges
    boxes: dict[tuple[int, int], tuple[int, int, int, int]]
    probabilities: np.ndarray  # one row per key
    log_p: np.ndarray
    rows: dict[tuple[int, int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rows = {key: row for row, key in enumerate(self.keys)}

    def row(self, key: tuple[int, int]) -> int:
        return self.rows[key]


def _candidate_letters(pieces: list[Piece], ink: np.ndarray, line_height: int, recognizer: Recognizer) -> _Candidates:
    """Crop every group of up to MAX_PIECES_PER_LETTER consecutive pieces (not too wide) and read them in one batch."""
    n = len(pieces)
    crops = {}
    for i in range(n):
        for j in range(i + 1, min(n, i + MAX_PIECES_PER_LETTER) + 1):
            crop, box = _union(pieces[i:j], ink)
            if box[2] - box[0] <= MAX_LETTER_WIDTH * line_height or j == i + 1:
                crops[(i, j)] = (crop, box)
    keys = list(crops)
    probabilities = recognizer.predict_arrays(np.stack([ink_to_model_input(crops[k][0]) for k in keys]))
    return _Candidates(keys, {k: crops[k][1] for k in keys}, probabilities, np.log(np.clip(probabilities, 1e-12, 1.0)))


def _letter_scores(pieces: list[Piece], candidates: _Candidates, line_height: int) -> dict[tuple[int, int], float]:
    """How good each group is as one letter: the model's belief, less penalties for shape and cuts."""
    scores = {}
    for key, lp in zip(candidates.keys, candidates.log_p):
        box = candidates.boxes[key]
        small = (box[3] - box[1]) < NOISE_HEIGHT * line_height
        gaps = _empty_columns(pieces[key[0] : key[1]]) / line_height
        wide = max(0.0, (box[2] - box[0]) / line_height - 1.0)
        cut_after = pieces[key[1]].cut_cost if key[1] < len(pieces) else 0.0
        seams = sum(piece.seam for piece in pieces[key[0] + 1 : key[1]])
        scores[key] = (float(lp.max()) + LETTER_BONUS + (SMALL_LETTER_PENALTY if small else 0.0)
                       - GAP_PENALTY * gaps - WIDE_PENALTY * wide - cut_after - SEAM_PENALTY * seams)
    return scores


def _beam_search(pieces: list[Piece], scores: dict[tuple[int, int], float], line_height: int) -> list[_Path]:
    """The best ways (at most SEGMENT_BEAM_WIDTH) to group all the pieces into letters, small pieces maybe dropped."""
    n = len(pieces)
    beams: list[list[_Path]] = [[] for _ in range(n + 1)]
    beams[0] = [_Path(0.0)]
    for i in range(n):
        for path in beams[i]:
            if pieces[i].height < NOISE_HEIGHT * line_height:  # may be noise: drop it
                beams[i + 1].append(_Path(path.score + SKIP_NOISE, path.letters))
            for j in range(i + 1, min(n, i + MAX_PIECES_PER_LETTER) + 1):
                if (i, j) in scores:
                    beams[j].append(_Path(path.score + scores[(i, j)], path.letters + ((i, j),)))
        for j in range(i + 1, n + 1):
            beams[j] = heapq.nlargest(SEGMENT_BEAM_WIDTH, beams[j])
    return [p for p in beams[n] if p.letters]


def _lexicon_path(finals: list[_Path], best: _Path, candidates: _Candidates, lexicon: Lexicon) -> tuple[_Path, str] | None:
    """The beam path and word the lexicon prefers, if it loses at most SEGMENT_LEXICON_MARGIN a letter to the raw reading."""
    options = []
    for path in finals:
        rows = [candidates.row(k) for k in path.letters]
        found = lexicon.best(candidates.log_p[rows])
        if found:
            word, word_score = found
            raw_part = sum(float(candidates.log_p[r].max()) for r in rows)
            options.append((path.score - raw_part + word_score, word, path))
    if not options:
        return None
    score, word, path = max(options, key=lambda option: option[0] + lexicon.prior(option[1]))
    raw = "".join(CLASS_NAMES[int(candidates.log_p[candidates.row(k)].argmax())] for k in best.letters)
    raw_probability = float(np.exp(sum(float(candidates.log_p[candidates.row(k)].max()) for k in best.letters)))
    supported = score >= best.score - SEGMENT_LEXICON_MARGIN * len(best.letters)
    return (path, word) if supported and lexicon.allows(raw, word, raw_probability) else None


def _decode_word(pieces: list[Piece], ink: np.ndarray, line_height: int, recognizer: Recognizer,
                 lexicon: Lexicon | None, top_k: int) -> WordReading | None:
    candidates = _candidate_letters(pieces, ink, line_height, recognizer)
    finals = _beam_search(pieces, _letter_scores(pieces, candidates, line_height), line_height)
    if not finals:
        return None
    best = max(finals)
    raw = "".join(CLASS_NAMES[int(candidates.probabilities[candidates.row(k)].argmax())] for k in best.letters)
    chosen = _lexicon_path(finals, best, candidates, lexicon) if lexicon is not None else None
    chosen_path, chosen_text = chosen or (best, raw)
    letters = []
    for key, label in zip(chosen_path.letters, chosen_text):
        p = candidates.probabilities[candidates.row(key)]
        order = np.argsort(-p)[:top_k]
        letters.append(LetterReading(label, float(p[CLASS_NAMES.index(label)]),
                                     [(CLASS_NAMES[c], float(p[c])) for c in order], candidates.boxes[key]))
    return WordReading.of(chosen_text, raw, letters)


def read_text(source: ImageSource, recognizer: Recognizer, lexicon: Lexicon | None = None,
              top_k: int = 3, name: str = "image", deadline: float | None = None) -> TextReading:
    """Read the handwritten text in an image: lines of words of letters, each with a box in the
    image's own pixels.

    The work is bounded: pages with more than ``MAX_PIECES_PER_IMAGE`` pieces of ink or made of
    dots are refused with a reason, and past ``deadline`` (a ``time.monotonic()`` value) reading
    stops with ``ReadingTooLongError``.
    """
    page = ink_page(source, name)
    if isinstance(page, str):
        return TextReading([], page)
    return read_page(page, recognizer, lexicon, top_k, name, deadline)


def read_page(page: InkPage, recognizer: Recognizer, lexicon: Lexicon | None = None, top_k: int = 3,
              name: str = "image", deadline: float | None = None) -> TextReading:
    """``read_text`` on a page already decoded (``ink_page``)."""
    ink, labels, slices = page.ink, page.labels, page.slices
    lines = []
    for ids in pieces_by_line(labels, slices):
        line_height = max(1, int(np.median([slices[i - 1][0].stop - slices[i - 1][0].start for i in ids]) * 1.15))
        blob_groups = _blobs(labels, slices, ids)
        blob_boxes = [(min(slices[i - 1][1].start for i in g), max(slices[i - 1][1].stop for i in g)) for g in blob_groups]
        words, current = [], []
        for index, group in enumerate(blob_groups):
            if current and blob_boxes[index][0] - blob_boxes[index - 1][1] > WORD_GAP * line_height:
                words.append(current)
                current = []
            current.extend(_pieces_of_blob(labels, slices, group, line_height))
        words.append(current)
        readings = []
        for pieces in words:
            check_deadline(deadline, name)
            reading = _decode_word(pieces, ink, line_height, recognizer, lexicon, top_k) if pieces else None
            if reading:
                readings.append(reading)
        if readings:
            lines.append(LineReading.of(readings))
    return in_source_pixels(TextReading(lines, None if lines else "no letters found"), page.scale)
