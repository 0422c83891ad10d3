"""Reading lines of handwriting with the line (CTC) model, in ONNX Runtime and NumPy.

1. The page is cut into lines (as the segmentation reader does: the same ink map, specks
   dropped, the same refusals of pages that are not handwriting).
2. Each line goes through ``preprocess.prepare_line`` and the line model in one batch.
3. The columns are decoded (beam search, or greedy), spaces split words, and every letter gets
   a box from the columns its label fires in (to the midpoints between neighbouring letters),
   with its ink rows in the image's own pixels.
4. With a lexicon, each word's raw reading is compared with the list words within half its
   length in edits (RapidFuzz), each scored by the CTC probability of the word over the word's own
   columns plus its frequency (``_lexicon_word``). Both readings are reported.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..labels import CLASS_NAMES
from ..labels import LINE_ALPHABET as ALPHABET
from ..reading.ink import Ink, read_ink_file
from ..reading.preprocess import (
    INK_THRESHOLD,
    LINE_HEIGHT,
    PREPROCESS_VERSION,
    ImageSource,
    LineInput,
    ink_to_model_input,
    prepare_line,
)
from ..reading.recognize import bundled_path, open_session
from . import ctc
from .case import line_bands, word_cases
from .ctc import encode
from .lexicon import Lexicon
from .page import InkPage, check_deadline, ink_page, pieces_by_line
from .results import LetterReading, LineReading, TextReading, WordReading, in_source_pixels
from .segment import read_page

DEFAULT_LINE_MODEL = "lines-ctc.onnx"
SPACE = ctc.SPACE
LINE_BEAM_WIDTH = 4  # CTC prefix beam; as good as 8 and 16 on validation lines, faster (benchmarks/line_decoding.py)
LINE_LEXICON_MARGIN = 2.0  # CTC nats per letter a lexicon word may lose against the raw reading (best of 0.5-4 on validation)
# the line reader's word list: words within half the reading's length in edits, scored by their CTC
# probability plus 0.5 nat per Zipf unit, replace the reading when they lose at most 2 nats to it
# (its own prior included). Chosen on the held-out fonts' words (harm 1.0% against 5.2% at 6 nats and
# 1 nat per Zipf) and the ink-words dev pictures; a gate keeping sure readings lost the gains
LIST_EDIT_SHARE = 0.5
LIST_PRIOR_PER_ZIPF = 0.5
LIST_MARGIN = 2.0
LIST_MARGIN_PER_LETTER = 2.0  # nats more a letter beyond LIST_SHORT: a long string rarely lies near a word by chance
LIST_SHORT = 4
LIST_CANDIDATES = 200
# a word-beam search over the word's columns through the list's prefix tree (ctc.beam_search with a
# lexicon) finds listed words beyond the edit reach above; off: on the held-out fonts' pen-word
# pictures (720) it read as many words right (88.2%) and harmed one more, at width 16 and those
# words taking their place only when they beat the free reading (docs/words-and-lines.md)
LIST_BEAM_WIDTH = 0
LIST_BEAM_MARGIN = 0.0  # nats a word only the word-beam search found may lose to the free reading
MIN_SUPPORT = 0.02  # a letter a list word changes must have at least this probability where it stands
READERS = ("lines", "segment", "combined")
# what `auto` reads with: per case, the reader that read validation lines best (mean character
# accuracy over the 13 conditions of `benchmarks/words.py --split validation`): with a lexicon
# the line model (0.968 vs combined 0.962), without one both models combined (0.928 vs 0.923)
AUTO_WITH_LEXICON = "lines"
AUTO_WITHOUT_LEXICON = "combined"


def bundled_line_model_path() -> Path:
    """The bundled line (CTC) model."""
    return bundled_path(DEFAULT_LINE_MODEL)


class LineModel:
    """An exported line model: logits (N, W/stride, classes) from lines (N, 32, W)."""

    def __init__(self, path: str | Path | None = None, threads: int | None = None):
        self.path = Path(path) if path else bundled_line_model_path()
        self.session, self.input_name, self.metadata = open_session(self.path, threads)
        if self.metadata.get("kind") != "line-ctc":
            raise ModelError(f"{self.path}: not a line model (metadata kind {self.metadata.get('kind')!r}; "
                             "letter models go to --model)")
        if json.loads(self.metadata.get("alphabet", "null")) != ALPHABET:
            raise ModelError(f"{self.path}: the model's alphabet is not space + a..z")
        if self.metadata.get("preprocess_version") != PREPROCESS_VERSION:
            raise ModelError(f"{self.path}: made for preprocessing version {self.metadata.get('preprocess_version')}, "
                             f"this is {PREPROCESS_VERSION}")
        self.stride = int(self.metadata.get("stride", 2))

    def log_probabilities(self, lines: list[np.ndarray]) -> list[np.ndarray]:
        """Per line, log probabilities (columns, classes), each cut to the line's own width."""
        if not lines:
            return []
        width = max(line.shape[1] for line in lines)
        batch = np.zeros((len(lines), LINE_HEIGHT, width), dtype=np.float32)
        for i, line in enumerate(lines):
            batch[i, :, : line.shape[1]] = line
        logits = self.session.run(None, {self.input_name: batch})[0]
        return [ctc.log_softmax(logits[i, : line.shape[1] // self.stride]) for i, line in enumerate(lines)]


def _letter_reading(label: int, column: np.ndarray, box, top_k: int) -> LetterReading:
    letters = np.exp(column[2:])  # probabilities of a..z at the letter's strongest column
    order = np.argsort(-letters)[:top_k]
    return LetterReading(ALPHABET[label - 1], float(letters[label - 2]),
                         [(CLASS_NAMES[c], float(letters[c])) for c in order], box)


def _box(mask: np.ndarray, line: LineInput, x0: float, x1: float) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) in the band's pixels of the ink between model x0..x1 of a
    line (the whole span and the band's height if there is no ink there)."""
    left, right = int(np.floor(line.source_x(x0))), int(np.ceil(line.source_x(x1)))
    left, right = max(left, 0), min(max(right, left + 1), mask.shape[1])
    region = mask[:, left:right]
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    if not rows.size:
        return left, 0, right, mask.shape[0]
    return left + int(cols[0]), int(rows[0]), left + int(cols[-1]) + 1, int(rows[-1]) + 1


def _letter_spans(centres: list[float], start: float, stop: float) -> list[tuple[float, float]]:
    """Each letter's model x range: to the midpoints between it and its neighbours, the first
    from the word's start and the last to its stop (where the labels around the word sit)."""
    bounds = [start, *((a + b) / 2 for a, b in zip(centres[:-1], centres[1:])), stop]
    return list(zip(bounds[:-1], bounds[1:]))


class LineReader:
    """Reads text with the line model; the same results shape as ``segment.read_text``."""

    def __init__(self, model: LineModel | str | Path | None = None, beam_width: int = LINE_BEAM_WIDTH):
        self.model = model if isinstance(model, LineModel) else LineModel(model)
        self.beam_width = beam_width

    def decode(self, log_probs: np.ndarray) -> ctc.Decoded:
        if self.beam_width <= 1:
            return ctc.greedy(log_probs)
        return ctc.beam_search(log_probs, self.beam_width)[0]

    def read_line(self, log_probs: np.ndarray, line: LineInput, band_ink: np.ndarray, band_top: int,
                  lexicon: Lexicon | None, top_k: int) -> LineReading | None:
        decoded = self.decode(log_probs)
        words: list[list[int]] = [[]]  # label indices, split at spaces
        for index, label in enumerate(decoded.labels):
            if label == SPACE:
                words.append([])
            else:
                words[-1].append(index)
        mask = band_ink > INK_THRESHOLD
        readings = []
        for members in (w for w in words if w):
            raw = "".join(ALPHABET[decoded.labels[i] - 1] for i in members)
            text, columns = raw, [decoded.columns[i] for i in members]
            # the word's columns reach to the labels around it (a space, or the line's ends)
            start = decoded.columns[members[0] - 1][1] + 1 if members[0] > 0 else 0
            stop = decoded.columns[members[-1] + 1][0] if members[-1] + 1 < len(decoded.labels) else len(log_probs)
            if lexicon is not None:
                window = log_probs[start:stop]
                text = _lexicon_word(raw, window, lexicon)
                if text != raw:
                    columns = [(a + start, b + start) for a, b in ctc.align(window, encode(text))]
            if len(columns) != len(text):  # cannot happen for a text the columns were scored on
                continue
            stride = self.model.stride
            centres = [(a + b + 1) / 2 * stride for a, b in columns]
            letters = []
            spans = _letter_spans(centres, start * stride, stop * stride)
            for ch, (first, last), (x0, x1) in zip(text, columns, spans):
                label = ALPHABET.index(ch) + 1
                peak = first + int(np.argmax(log_probs[first : last + 1, label]))
                left, top, right, bottom = _box(mask, line, x0, x1)
                letters.append(_letter_reading(label, log_probs[peak], (left, top + band_top, right, bottom + band_top),
                                               top_k))
            readings.append(WordReading.of(text, raw, letters))
        if not readings:
            return None
        return LineReading.of(readings)


def list_margin(raw: str) -> float:
    """Nats a listed word may lose to the free reading ``raw`` and still replace it."""
    return LIST_MARGIN + LIST_MARGIN_PER_LETTER * max(0, len(raw) - LIST_SHORT)


def _lexicon_word(raw: str, log_probs: np.ndarray, lexicon: Lexicon) -> str:
    """The listed word the line model finds likeliest with its frequency, or the raw reading.

    Every list word within ``LIST_EDIT_SHARE`` of the reading's length in edits (of any length: a lost
    or doubled letter, helo -> hello) is scored by the CTC probability of the word over the word's
    own columns (all alignments, not the best path's letters) plus ``LIST_PRIOR_PER_ZIPF`` nats per
    Zipf unit of its frequency; the best replaces the reading when it loses at most ``list_margin``
    nats to the free reading with its own prior. A confident free reading the list
    does not hold (a name, a random string) keeps its lead, so it stays as read. With
    ``LIST_BEAM_WIDTH``, the words a word-beam search finds in the columns join the candidates,
    each taken only when it loses at most ``LIST_BEAM_MARGIN`` nats.
    """
    found = lexicon.near(raw, LIST_EDIT_SHARE, LIST_CANDIDATES)
    margins = [list_margin(raw)] * len(found)
    if LIST_BEAM_WIDTH:
        searched = [ctc.decode_indices(d.labels) for d in ctc.beam_search(log_probs, LIST_BEAM_WIDTH, lexicon=lexicon)]
        far = [word for word in searched if word not in found and word != raw]
        found, margins = found + far, margins + [LIST_BEAM_MARGIN] * len(far)
    if not found:
        return raw
    priors = np.array([LIST_PRIOR_PER_ZIPF * lexicon.frequency(word) for word in [raw, *found]])
    scores = ctc.text_log_probabilities(log_probs, [encode(word) for word in [raw, *found]]) + priors
    gains = scores[1:] - scores[0] + np.array(margins)
    best = int(np.argmax(np.where(gains >= 0, scores[1:], -np.inf)))
    return found[best] if gains[best] >= 0 else raw


def _letters_support(raw: str, word: str, probabilities: list[dict[str, float]]) -> bool:
    """Every letter the word changes is among that letter's candidates with real probability."""
    return all(a == b or probabilities[i].get(b, 0.0) >= MIN_SUPPORT for i, (a, b) in enumerate(zip(raw, word)))


def read_page_lines(page: InkPage, reader: LineReader, lexicon: Lexicon | None = None, top_k: int = 3,
                    name: str = "image", deadline: float | None = None) -> TextReading:
    """The handwritten text on a decoded page (``segment.ink_page``), read with the line model:
    lines of words of letters, each with a box in the image's own pixels. Bounded like
    ``segment.read_text``."""
    bands, inputs = [], []
    for ids in pieces_by_line(page.labels, page.slices):
        band_top = min(page.slices[i - 1][0].start for i in ids)
        band_bottom = max(page.slices[i - 1][0].stop for i in ids)
        band_ink = np.where(np.isin(page.labels[band_top:band_bottom], ids), page.ink[band_top:band_bottom], 0.0)
        prepared = prepare_line(band_ink)
        if prepared is not None:
            bands.append((band_ink, band_top))
            inputs.append(prepared)
    check_deadline(deadline, name)  # before the model runs
    lines = []
    for (band_ink, band_top), prepared, log_probs in zip(bands, inputs,
                                                         reader.model.log_probabilities([p.pixels for p in inputs])):
        check_deadline(deadline, name)
        line = reader.read_line(log_probs, prepared, band_ink, band_top, lexicon, top_k)
        if line is not None:
            lines.append(line)
    return in_source_pixels(TextReading(lines, None if lines else "no letters found"), page.scale)


def with_case(reading: TextReading, page: InkPage, recognizer=None) -> TextReading:
    """Each letter's case (``case.word_cases``): from where it stands in its line, and for letters
    whose two forms both stand tall, from the letter model's case output on the letter's ink
    (none without a letter model, or from a model that does not tell case)."""
    for line in reading.lines:
        letters = [letter for word in line.words for letter in word.letters]
        firsts = {id(word.letters[0]) for word in line.words if word.letters}
        lasts = {id(word.letters[-1]) for word in line.words if word.letters}
        cores = [_core_box(page, letter.box, id(letter) in firsts, id(letter) in lasts) for letter in letters]
        bands = line_bands(cores, "".join(letter.label for letter in letters))
        uppers = _upper_probabilities(page, letters, recognizer)
        start = 0
        for word in line.words:
            stop = start + len(word.letters)
            cases = word_cases("".join(letter.label for letter in word.letters), [letter.box for letter in word.letters],
                               bands, uppers[start:stop], cores[start:stop])
            for letter, case in zip(word.letters, cases):
                letter.case = case
            start = stop
    return reading


def _upper_probabilities(page: InkPage, letters: list[LetterReading], recognizer) -> list[float | None]:
    """The letter model's probability that each letter (its ink inside its box) is upper case; None
    where there is no ink, no letter model, or a model that does not tell case."""
    crops = [_letter_ink(page, letter.box) for letter in letters]
    asked = [row for row, crop in enumerate(crops) if crop is not None]
    uppers: list[float | None] = [None] * len(letters)
    if asked and recognizer is not None:
        _, upper = recognizer.predict_arrays_with_case(np.stack([crops[row] for row in asked]))
        if upper is not None:
            for k, row in enumerate(asked):
                uppers[row] = float(upper[k, CLASS_NAMES.index(letters[row].label)])
    return uppers


def _in_ink_pixels(page: InkPage, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """A box in the source image's pixels, in the page's ink map's."""
    return tuple(int(round(v / page.scale)) for v in box)


def _core_box(page: InkPage, box: tuple[int, int, int, int], first: bool, last: bool = False) -> tuple[int, int, int, int]:
    """The letter's box with its top and bottom taken from the middle half of its columns (a word's
    first letter: all but its last quarter; its last letter: all but its first): where letters
    touch, a box's edges hold a neighbour's ascender or descender, and a word's first and last
    letters have no neighbour on one side (a W, a w or an N reaches its top only at its sides)."""
    left, top, right, bottom = _in_ink_pixels(page, box)
    quarter = max(0, (right - left) // 4)
    start = left if first else left + quarter
    stop = right if last else right - quarter
    middle = page.ink[max(top, 0) : max(bottom, top + 1), max(start, 0) : max(stop, start + 1)]
    rows = np.flatnonzero((middle > INK_THRESHOLD).any(axis=1))
    if not rows.size:
        return box
    return box[0], int(round((top + rows[0]) * page.scale)), box[2], int(round((top + rows[-1] + 1) * page.scale))


def _letter_ink(page: InkPage, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """The model's input for the page's ink inside a letter's box (source pixels); None if none."""
    left, top, right, bottom = _in_ink_pixels(page, box)
    crop = page.ink[max(top, 0) : max(bottom, top + 1), max(left, 0) : max(right, left + 1)]
    return ink_to_model_input(crop) if (crop > INK_THRESHOLD).any() else None


class TextReader:
    """One way to read text for every entry point (CLI, API): ``kind`` is "lines" (the CTC
    line model), "segment" (cut into letters, each read by the letter model), "combined"
    (both, fused letter by letter: ``combine``) or "auto" (AUTO_WITH_LEXICON when a lexicon is
    given, AUTO_WITHOUT_LEXICON otherwise)."""

    def __init__(self, kind: str = "auto", letter_model: str | Path | None = None,
                 line_model: str | Path | None = None, recognizer=None, threads: int | None = None,
                 beam_width: int = LINE_BEAM_WIDTH):
        from ..errors import LettersError
        from ..reading.recognize import Recognizer

        if kind not in (*READERS, "auto"):
            raise LettersError(f"reader: expected auto, {', '.join(READERS[:-1])} or {READERS[-1]}, got {kind!r}")
        self.kind = kind
        self._threads = threads
        self.recognizer = (recognizer or Recognizer(letter_model, threads=threads)) if kind != "lines" else None
        self.lines = LineReader(LineModel(line_model, threads=threads), beam_width) if kind != "segment" else None

    def describe(self) -> dict[str, str]:
        reader = {"reader": self.kind}
        if self.kind == "auto":
            reader["reads"] = f"{AUTO_WITH_LEXICON} with a lexicon, {AUTO_WITHOUT_LEXICON} without"
        if self.lines is None:
            return reader
        meta = self.lines.model.metadata
        return {**reader, "line_model": meta.get("name", "unknown"),
                **{k: meta[k] for k in ("validation_character_accuracy", "training_data", "test_accuracy") if meta.get(k)}}

    def warm_up(self) -> None:
        """One reading of a small drawn stroke, so the first request does not pay for it."""
        stroke = np.full((40, 120), 255, dtype=np.uint8)
        stroke[18:22, 10:110] = 0
        self.read(stroke)

    def read_ink(self, ink: Ink | str | Path, lexicon: Lexicon | None = None, top_k: int = 3, name: str = "ink",
                 deadline: float | None = None, profile=None) -> TextReading:
        """Text from digital ink (an ``Ink``, or a .json / .inkml file): its strokes grouped into letters
        in the order they were written (``ink_reader``), whichever ``kind`` reads pictures."""
        from .ink_reader import read_ink

        if not isinstance(ink, Ink):
            name, ink = str(ink), read_ink_file(ink)
        if self.recognizer is None:  # a lines-only reader still reads ink's letters with the letter model
            from ..reading.recognize import Recognizer

            self.recognizer = Recognizer(threads=self._threads)
        return read_ink(ink, self.recognizer, self.lines.model if self.lines else None, lexicon, top_k, profile,
                        name, deadline)

    def read(self, source: ImageSource, lexicon: Lexicon | None = None, top_k: int = 3, name: str = "image",
             deadline: float | None = None) -> TextReading:
        if isinstance(source, Ink):
            return self.read_ink(source, lexicon, top_k, name, deadline)
        page = ink_page(source, name)  # decoded once, whichever readers read it
        if isinstance(page, str):
            return TextReading([], page)
        kind = self.kind
        if kind == "auto":
            kind = AUTO_WITH_LEXICON if lexicon is not None else AUTO_WITHOUT_LEXICON
        if kind == "lines":
            reading = read_page_lines(page, self.lines, lexicon, top_k, name, deadline)
        elif kind == "segment":
            reading = read_page(page, self.recognizer, lexicon, top_k, name, deadline)
        else:
            by_lines = read_page_lines(page, self.lines, None, len(CLASS_NAMES), name, deadline)
            by_pieces = read_page(page, self.recognizer, None, len(CLASS_NAMES), name, deadline)
            reading = combine(by_lines, by_pieces, lexicon, top_k)
        return with_case(reading, page, self.recognizer)


def _fused_letter(a: LetterReading, b: LetterReading, top_k: int) -> LetterReading:
    """One letter read by both models: their probabilities multiplied (a product of experts),
    renormalised; the box of the cut-out letter (``b``), which is exact."""
    pa, pb = dict(a.top_k), dict(b.top_k)
    joint = {c: pa.get(c, 1e-6) * pb.get(c, 1e-6) for c in CLASS_NAMES}
    total = sum(joint.values())
    ranked = sorted(((c, p / total) for c, p in joint.items()), key=lambda cp: -cp[1])
    return LetterReading(ranked[0][0], ranked[0][1], ranked[:top_k], b.box)


def _counterpart(by_lines: TextReading, by_pieces: TextReading, line: int,
                 word: int) -> tuple[WordReading, list[int]] | None:
    """The segmentation's reading of the line reader's word ``word`` of line ``line`` when both
    see the same layout around it (as many lines, as many words in that line), and for each of
    its letters the line reader's letter it is: the same letters one for one, or one letter the
    line reader read once where the pieces show it twice (a double letter: CTC reads "ll" as one
    "l" unless a blank parts them; two cut-out pieces cannot merge)."""
    if len(by_lines.lines) != len(by_pieces.lines):
        return None
    ours, theirs = by_lines.lines[line].words, by_pieces.lines[line].words
    if len(ours) != len(theirs):
        return None
    count, pieces = len(ours[word].letters), theirs[word]
    if len(pieces.letters) == count:
        return pieces, list(range(count))
    labels, read = "".join(l.label for l in pieces.letters), "".join(l.label for l in ours[word].letters)
    if len(labels) == count + 1:
        for k in range(count):
            if labels[k] == labels[k + 1] and labels[:k] + labels[k + 1:] == read:
                return pieces, [i if i <= k else i - 1 for i in range(count + 1)]
    return None


def combine(by_lines: TextReading, by_pieces: TextReading, lexicon: Lexicon | None, top_k: int) -> TextReading:
    """Both readers' readings as one: each word on which they agree about the layout (lines,
    words in its line, letters in the word, or all but a double letter the line reader read once:
    ``_counterpart``) gets each letter's probabilities multiplied; other words keep the line
    model's reading (letters it could not cut apart are where the segmentation goes wrong)."""
    lines = []
    for index, line in enumerate(by_lines.lines):
        words = []
        for w, word in enumerate(line.words):
            other = _counterpart(by_lines, by_pieces, index, w)
            if other is not None:
                pieces, ours = other
                letters = [_fused_letter(word.letters[i], y, len(CLASS_NAMES)) for i, y in zip(ours, pieces.letters)]
            else:
                letters = word.letters
            raw = "".join(l.label for l in letters)
            text = raw
            probabilities = [dict(l.top_k) for l in letters]
            if lexicon is not None:
                found = lexicon.best(np.log(np.array([[p.get(c, 1e-6) for c in CLASS_NAMES] for p in probabilities])))
                raw_score = sum(np.log(max(l.confidence, 1e-6)) for l in letters)
                if (found and found[1] >= raw_score - LINE_LEXICON_MARGIN * len(raw)
                        and _letters_support(raw, found[0], probabilities)
                        and lexicon.allows(raw, found[0], float(np.exp(raw_score)))):
                    text = found[0]
            letters = [LetterReading(ch, p.get(ch, 0.0), l.top_k[:top_k], l.box)
                       for ch, p, l in zip(text, probabilities, letters)]
            words.append(WordReading.of(text, raw, letters))
        lines.append(LineReading.of(words))
    return TextReading(lines, by_lines.reason)
