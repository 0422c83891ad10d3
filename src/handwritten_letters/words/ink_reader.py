"""Reading digital ink: the strokes, in the order they were written, decide where letters part.

A picture of touching or overlapping letters has lost where one letter ends; the strokes still
know. Letters are written one after another, so a letter is a run of consecutive strokes, plus a
late dot or bar (an ``i``'s dot, a ``t``'s bar written after the next letter). Grouping and reading
are decided together:

1. Lines: the ink drawn once, its row bands found as for pictures; each stroke joins the band
   holding its middle.
2. Late strokes (small, or a short bar, written left of where the pen already was) join the
   earlier stroke they lie over. Words part where the next stroke starts clearly right of all
   the ink before it.
3. Every run of up to ``MAX_STROKES_PER_LETTER`` consecutive strokes is drawn alone and read by
   the letter model in one batch; a beam search groups the strokes into letters, scoring each
   group by the model's belief, how its strokes overlap (one letter's strokes overlap, the next
   letter starts to the right). Times are not used: a person's pauses inside a letter are as long
   as between letters (docs/words-and-lines.md).
4. The letter's place in the line: the line's baseline and x-height are measured from the letters
   of the first reading, and a letter that rises above the x-height (b d f h k l t) or falls below
   the baseline (g j p q y) is told from one that does not (h/n, d/a, q/a, e/b); then the
   strokes are grouped again.
5. The word list: listed words near the reading, of any length (a lost or doubled letter), are
   each spelled by the best grouping of the word's strokes into their letters, and weighed with the
   line model's probability of them and their frequency against the free reading (``_word_from_list``).

Every letter names the strokes it was read from (indices into the ink's strokes).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..labels import CLASS_NAMES
from ..reading.ink import Drawn, Ink, draw_strokes, paint_strokes, pen_for
from ..reading.preprocess import CONTENT_SIZE, ink_to_model_input, prepare_line
from ..reading.recognize import Recognizer
from . import ctc
from .case import ASCENDER_LETTERS, DESCENDER_LETTERS, DOTTED, RISES, STAYS, LineBands, line_bands, word_cases
from .lexicon import Lexicon
from .page import check_deadline, find_lines
from .results import LetterReading, LineReading, TextReading, WordReading

MAX_STROKES_PER_LETTER = 4
GROUP_LONG_SIDE = 2 * CONTENT_SIZE
INK_BEAM_WIDTH = 16  # 8 read the ink-words dev set 0.942 of characters, 16 0.950, 32 0.950
LETTER_BONUS = 0.3  # nats a letter: without it, fewer (merged) letters always score higher (chosen on the ink-words dev set)
GAP_PENALTY = 12.0  # per line height of empty space between strokes inside one letter
SPLIT_OVERLAP_PENALTY = 6.0  # per line height a stroke lies within the letter before it, when parted from it
SPLIT_OVERLAP_ALLOWED = 0.15  # line heights two letters may overlap without cost
WORD_GAP = 0.9  # x-heights of empty space before a letter that starts a new word
LATE_STROKE_SIZE = 0.35  # line heights: a smaller stroke written left of the pen may be a dot or a bar's part
# line heights: a stroke smaller than TAP_SIZE within TAP_REACH of the stroke before it is part of it
# (a pen tapped on the paper; an i's dot drawn as taps just after its stem)
TAP_SIZE = 0.12
TAP_REACH = 0.6
DOT_SIZE = 0.3  # line heights: a group this small is a dot
DOT_PENALTY = -4.0
# a stroke right of the letter so far that starts more than AWAY line heights from its ink costs
# AWAY_PENALTY nats to keep in that letter: a letter's own later strokes start on its ink (the pen put
# back on it: a median 0.06 line heights in the ink-words dev set), the next letter's away (0.5);
# chosen on that set (0.06-0.45, 0-4 nats): l+o no longer reads as b
AWAY = 0.1
AWAY_PENALTY = 3.0
# letters whose later stroke is taught to start away from the ink so far: a k's arm starts at the top
# right and comes in to the stem (the dev letters' k arms start 0.4 of the letter's height away)
STARTS_AWAY_LETTERS = "k"
UNDOTTED_PENALTY = 2.0  # nats against an i or j without its dot
# an l is one stroke; c o s too in people's hands, but a traced joined hand's s or c may be two, and
# only the l was measured to matter (ink-words dev set)
ONE_STROKE_LETTERS = "l"
LONG_STROKE = 0.5  # line heights: a stroke this long is a letter's body, not a dot, bar or flick
ONE_STROKE_PENALTY = 2.0  # nats against a one-stroke letter, per long stroke beyond the first
TWIN_REACH = 0.15  # line heights: two long strokes whose sides lie this close, one over the other,
TWIN_SHARE = 0.7  # sharing this much of their height, are twins
TWIN_PENALTY = 4.0  # nats against one letter holding twin strokes
# a b's or p's bowl is drawn clockwise on the page (every drawer of the dev letters), an o, c, a, d,
# e or q anticlockwise: an anticlockwise bowl beside a stem is an l and an o, not a b
CLOCKWISE_BOWL_LETTERS = "bp"
BOWL_SHARE = 0.3  # a stroke enclosing this share of its box (signed) turns one way: a bowl
BOWL_SIZE = 0.2  # line heights: a bowl's long side at least
BOWL_PENALTY = 3.0  # nats against a clockwise-bowl letter whose strokes hold only anticlockwise bowls
# an a, d or q written in more than one stroke is a bowl and a straight stem (every dev drawer's):
# an o with an r or a u beside it is two letters, not an a
STEM_LETTERS = "adq"
STRAIGHT = 0.85  # a stroke whose ends lie this share of its length apart is straight: a stem
STEM_PENALTY = 3.0
# a k is a stem and an arm, with no closed loop: an l and an a beside it are two letters ("lakes")
LOOPLESS_LETTERS = "k"
CLOSED = 0.3  # a stroke whose ends lie under this share of its length apart, turning one way, is a loop
LOOP_PENALTY = 3.0
HOPELESS = -5.0  # chosen on the ink-words dev set: -3 reads fewer characters, -5 as many as reading every group
PLACE_PENALTY = 2.0  # nats against a letter whose ascender or descender the group does not show (or shows wrongly)
LINE_MODEL_WEIGHT = 0.3  # the line model's log probability of a grouping's text, against the letters' own
# a small letter's width in x-heights: median over the training fonts' print hands (and the spread of
# its log), from ``font_letters`` glyphs (tests/words/test_ink_reader.py measures them again); the
# letter model sees every letter squared, so "le" drawn together may read as a "k" without this
LETTER_WIDTHS = {
    "a": 0.88, "b": 0.84, "c": 0.77, "d": 0.85, "e": 0.83, "f": 0.8, "g": 0.85, "h": 0.83, "i": 0.25, "j": 0.62,
    "k": 0.81, "l": 0.23, "m": 1.38, "n": 0.81, "o": 0.85, "p": 0.83, "q": 0.84, "r": 0.65, "s": 0.77, "t": 0.72,
    "u": 0.83, "v": 0.83, "w": 1.18, "x": 0.84, "y": 0.85, "z": 0.83,
}
WIDTH_SPREAD = 0.3  # log units at least: hands vary more than fonts
WIDTH_WEIGHT = 0.5  # chosen on the ink-words dev set (0, 0.5, 1)
LIST_SPELLED = 30  # list words (of those nearest the reading) spelled against the strokes, likeliest first


@dataclass
class _Unit:
    """A stroke and the late strokes that belong to it."""

    strokes: list[int]
    box: tuple[float, float, float, float]  # left, top, right, bottom in ink pixels


@dataclass(order=True)
class _Path:
    score: float
    groups: tuple = field(default=(), compare=False)  # (start, stop) unit ranges


@dataclass
class _Groups:
    keys: list[tuple[int, int]]
    boxes: dict[tuple[int, int], tuple[float, float, float, float]]
    log_p: np.ndarray  # (groups, 26)
    upper: np.ndarray | None  # (groups, 26) probability of upper case, from a cased model
    rows: dict[tuple[int, int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rows = {key: row for row, key in enumerate(self.keys)}


def _box(strokes: list[np.ndarray]) -> tuple[float, float, float, float]:
    points = np.concatenate([s[:, :2] for s in strokes])
    return (float(points[:, 0].min()), float(points[:, 1].min()), float(points[:, 0].max()),
            float(points[:, 1].max()))


@lru_cache(maxsize=None)
def _indices(letters: str | frozenset[str]) -> list[int]:
    """The letters' places among the model's outputs."""
    return [CLASS_NAMES.index(letter) for letter in letters]


def _long_side(box: tuple[float, float, float, float]) -> float:
    return max(box[2] - box[0], box[3] - box[1])


def _union(boxes) -> tuple[float, float, float, float]:
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def ink_lines(ink: Ink, drawn: Drawn) -> list[list[int]]:
    """The strokes of each line of writing (``drawn``: all of the ink drawn), top to bottom, each
    line's in writing order."""
    bands = find_lines(drawn.pixels < 128)
    if len(bands) <= 1:
        return [list(range(len(ink.strokes)))]
    lines: list[list[int]] = [[] for _ in bands]
    for index, stroke in enumerate(ink.strokes):
        middle = (float(np.median(stroke[:, 1])) - drawn.origin[1]) * drawn.scale
        nearest = min(range(len(bands)), key=lambda b: 0 if bands[b][0] <= middle < bands[b][1]
                      else min(abs(middle - bands[b][0]), abs(middle - bands[b][1])))
        lines[nearest].append(index)
    return [line for line in lines if line]


def _line_height(ink: Ink, strokes: list[int]) -> float:
    heights = [float(np.ptp(ink.strokes[i][:, 1])) for i in strokes]
    tall = [h for h in heights if h > 0.3 * max(heights)] or heights
    return max(1.0, float(np.median(tall)))


def _units(ink: Ink, strokes: list[int], line_height: float) -> list[_Unit]:
    """Strokes in writing order, late dots and bars joined to the stroke they lie over."""
    units: list[_Unit] = []
    for index in strokes:
        stroke = ink.strokes[index]
        box = _box([stroke])
        width, height = box[2] - box[0], box[3] - box[1]
        centre = (box[0] + box[2]) / 2
        late = units and max(width, height) < LATE_STROKE_SIZE * line_height * 2 and \
            (height < LATE_STROKE_SIZE * line_height or width < LATE_STROKE_SIZE * line_height) and \
            centre < units[-1].box[0] - LATE_STROKE_SIZE * line_height / 2
        tap = units and max(width, height) < TAP_SIZE * line_height and \
            _box_distance(box, units[-1].box) < TAP_REACH * line_height
        if tap:  # a pen tap or an i's dot made of taps: part of the stroke just drawn
            units[-1].strokes.append(index)
            units[-1].box = _union([units[-1].box, box])
            continue
        if late:
            over = [u for u in units if u.box[0] - 0.1 * line_height <= centre <= u.box[2] + 0.1 * line_height]
            host = min(over or units, key=lambda u: abs((u.box[0] + u.box[2]) / 2 - centre))
            host.strokes.append(index)
            host.box = _union([host.box, box])
            continue
        units.append(_Unit([index], box))
    return units


def _box_distance(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """How far apart two boxes are (0 where they touch or overlap)."""
    return float(np.hypot(max(0.0, a[0] - b[2], b[0] - a[2]), max(0.0, a[1] - b[3], b[1] - a[3])))


def _parted_into_words(letters: list[LetterReading], x_height: float) -> list[list[LetterReading]]:
    """Letters parted into words where the space before a letter is wider than WORD_GAP x-heights."""
    words: list[list[LetterReading]] = []
    reach = -np.inf
    for letter in letters:
        if not words or letter.box[0] - reach > WORD_GAP * x_height:
            words.append([])
        words[-1].append(letter)
        reach = max(reach, letter.box[2])
    return words


def _unit_drawings(ink: Ink, units: list[_Unit], pen: float, scale: float) -> list[tuple[np.ndarray, int, int]]:
    """Each unit's strokes drawn once at ``scale`` with a round pen (ink 255 on 0, anti-aliased),
    with a pen's margin, and where the drawing's corner sits on the line's pixel grid: a letter
    group is then its units' drawings laid together (``_group_ink``), not drawn again."""
    thickness = max(1, int(round(pen * scale)))
    drawings = []
    for unit in units:
        left, top = int(np.floor((unit.box[0] - pen) * scale)), int(np.floor((unit.box[1] - pen) * scale))
        right, bottom = int(np.ceil((unit.box[2] + pen) * scale)), int(np.ceil((unit.box[3] + pen) * scale))
        picture = np.zeros((bottom - top + 1, right - left + 1), dtype=np.uint8)
        paint_strokes(picture, [ink.strokes[index][:, :2] * scale - (left, top) for index in unit.strokes],
                      thickness, 255)
        drawings.append((picture, left, top))
    return drawings


def _group_ink(drawings: list[tuple[np.ndarray, int, int]]) -> np.ndarray:
    """The units' drawings laid together on one canvas: ink in [0, 1] (1 = ink)."""
    left = min(x for _, x, _ in drawings)
    top = min(y for _, _, y in drawings)
    right = max(x + picture.shape[1] for picture, x, _ in drawings)
    bottom = max(y + picture.shape[0] for picture, _, y in drawings)
    canvas = np.zeros((bottom - top, right - left), dtype=np.uint8)
    for picture, x, y in drawings:
        region = canvas[y - top : y - top + picture.shape[0], x - left : x - left + picture.shape[1]]
        np.maximum(region, picture, out=region)
    return canvas.astype(np.float32) / 255.0


def _all_groups(units: list[_Unit]) -> dict[tuple[int, int], tuple[float, float, float, float]]:
    """Every run of up to ``MAX_STROKES_PER_LETTER`` consecutive units, with its box."""
    return {(i, j): _union(u.box for u in units[i:j])
            for i in range(len(units)) for j in range(i + 1, min(len(units), i + MAX_STROKES_PER_LETTER) + 1)}


def _read_groups(ink: Ink, units: list[_Unit], boxes: dict[tuple[int, int], tuple[float, float, float, float]],
                 away: set, pen: float, recognizer: Recognizer, profile, line_height: float) -> _Groups:
    """The letter model (and what the strokes say, ``stroke_evidence``) on each of the groups
    ``boxes`` holds (their boxes by unit range); the groups in ``away`` paid AWAY_PENALTY for a
    stroke started away from their ink, which a letter written that way is given back."""
    keys = list(boxes)
    # drawn no larger than twice what the preprocessing keeps of a letter (its long side becomes CONTENT_SIZE)
    drawings = _unit_drawings(ink, units, pen, min(1.0, GROUP_LONG_SIDE / line_height))
    crops = [ink_to_model_input(_group_ink(drawings[i:j])) for i, j in keys]
    probabilities, upper = recognizer.predict_arrays_with_case(np.stack(crops), profile)
    log_p = np.log(np.clip(probabilities, 1e-9, 1.0))
    shapes = {s: stroke_shape(ink.strokes[s]) for unit in units for s in unit.strokes}
    log_p += np.stack([stroke_evidence([shapes[s] for u in units[i:j] for s in u.strokes], line_height)
                       for i, j in keys])
    started_away = [row for row, key in enumerate(keys) if key in away]
    log_p[np.ix_(started_away, _indices(STARTS_AWAY_LETTERS))] += AWAY_PENALTY
    return _Groups(keys, boxes, log_p, upper)


class StrokeShape(NamedTuple):
    box: tuple[float, float, float, float]
    turn: float  # the area it encloses, signed, as a share of its box: > 0 clockwise on the page (y down)
    straight: float  # how far apart its ends lie, as a share of its length: 1 for a straight line


def stroke_shape(stroke: np.ndarray) -> StrokeShape:
    """A stroke's box, which way it turns (a b's bowl clockwise, an o anticlockwise) and how straight it is."""
    box = _box([stroke])
    x, y = stroke[:, 0], stroke[:, 1]
    area = 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
    length = float(np.sum(np.hypot(np.diff(x), np.diff(y))))
    chord = float(np.hypot(x[-1] - x[0], y[-1] - y[0]))
    return StrokeShape(box, area / max((box[2] - box[0]) * (box[3] - box[1]), 1.0), chord / length if length else 1.0)


def stroke_evidence(shapes: list[StrokeShape], line_height: float) -> np.ndarray:
    """Log-weights (26,) for each letter given the strokes it would be drawn with: an ``i`` or ``j``
    has its dot (a small stroke above the rest), an ``l`` is not two long strokes side by side (two
    ``l``s drawn over each other), a ``b`` or ``p`` has a clockwise bowl, not only an anticlockwise
    one (an ``l`` and an ``o``), and an ``a``, ``d`` or ``q`` of a bowl and more has a straight stem
    (not an ``o`` and an ``r``)."""
    weights = np.zeros(len(CLASS_NAMES))
    boxes = [shape.box for shape in shapes]
    sized = [shape for shape in shapes if _long_side(shape.box) >= BOWL_SIZE * line_height]
    anticlockwise = [shape for shape in sized if shape.turn <= -BOWL_SHARE]
    if anticlockwise and not any(shape.turn >= BOWL_SHARE for shape in sized):
        weights[_indices(CLOCKWISE_BOWL_LETTERS)] -= BOWL_PENALTY
    if any(shape.straight < CLOSED for shape in anticlockwise):
        weights[_indices(LOOPLESS_LETTERS)] -= LOOP_PENALTY
    if anticlockwise and len(sized) > 1 and not any(shape.straight >= STRAIGHT for shape in sized):
        weights[_indices(STEM_LETTERS)] -= STEM_PENALTY
    small = [_long_side(b) < DOT_SIZE * line_height for b in boxes]
    long = sum(_long_side(b) >= LONG_STROKE * line_height for b in boxes)
    body_top = min((b[1] for b, dot in zip(boxes, small) if not dot), default=None)
    dotted = body_top is not None and any(dot and b[3] < body_top for b, dot in zip(boxes, small))
    if not dotted:
        weights[_indices(DOTTED)] -= UNDOTTED_PENALTY
    if long > 1:
        weights[_indices(ONE_STROKE_LETTERS)] -= ONE_STROKE_PENALTY * (long - 1)
    return weights


def _misplaced(reach: float, expected: bool) -> float:
    """Nats against a letter whose ascender (or descender) reaches ``reach`` x-heights beyond the band:
    PLACE_PENALTY where it plainly disagrees, up to twice that the plainer it is."""
    if expected and reach < STAYS:
        return PLACE_PENALTY * (1.0 + (STAYS - reach) / STAYS)
    if not expected and reach > RISES:
        return PLACE_PENALTY * (1.0 + min(1.0, (reach - RISES) / RISES))
    return 0.0


_LOG_WIDTHS = np.log([LETTER_WIDTHS[letter] for letter in CLASS_NAMES])
_WIDTH_TOLD = np.array([letter not in "il" for letter in CLASS_NAMES])  # a stroke's width says little of i, l
_ASCENDS = np.array([letter in ASCENDER_LETTERS for letter in CLASS_NAMES])
_DESCENDS = np.array([letter in DESCENDER_LETTERS for letter in CLASS_NAMES])
_RISE_TOLD = np.array([letter not in DOTTED for letter in CLASS_NAMES])
_FALL_TOLD = np.array([letter != "f" for letter in CLASS_NAMES])  # f descends in some hands, not in others


def place_evidence(box: tuple[float, float, float, float], bands: LineBands, first: bool) -> np.ndarray:
    """Log-weights (26,) for each letter given where the box stands in the line."""
    rise, fall = bands.rise(box), bands.fall(box)
    width = max(box[2] - box[0], 0.05 * bands.x_height) / bands.x_height
    off = (np.log(width) - _LOG_WIDTHS) / WIDTH_SPREAD
    weights = -WIDTH_WEIGHT * np.minimum(4.0, 0.5 * off * off) * _WIDTH_TOLD
    if not first:  # a word's first letter may be a capital: as tall as an ascender
        weights -= np.where(_ASCENDS, _misplaced(rise, True), _misplaced(rise, False)) * _RISE_TOLD
    weights -= np.where(_DESCENDS, _misplaced(fall, True), _misplaced(fall, False)) * _FALL_TOLD
    return weights


def _group_structure(ink: Ink, units: list[_Unit], boxes: dict, line_height: float) -> tuple[dict, set]:
    """What each group's shape says of it being one letter, in nats, apart from what the letter is:
    the bonus a letter earns, less a dot alone, gaps inside it, strokes started away from its ink,
    and overlapping the letter after it; and the groups with a stroke started away."""
    scores, away = {}, set()
    for key, box in boxes.items():
        i, j = key
        score = LETTER_BONUS
        if _long_side(box) < DOT_SIZE * line_height:
            score += DOT_PENALTY  # a dot, or a bar's scrap: part of a letter, never one alone
        score -= TWIN_PENALTY * _twins([units[k].box for k in range(i, j)], line_height)
        reach = units[i].box[2]
        for k in range(i + 1, j):  # strokes inside one letter touch or overlap what came before
            unit = units[k]
            gap = max(0.0, unit.box[0] - reach) / line_height
            score -= GAP_PENALTY * max(0.0, gap - 0.05)
            if unit.box[0] >= reach - SPLIT_OVERLAP_ALLOWED * line_height:
                start = ink.strokes[unit.strokes[0]][0, :2]
                ours = np.concatenate([ink.strokes[s][:, :2] for u in units[i:k] for s in u.strokes])
                if float(np.min(np.hypot(*(ours - start).T))) > AWAY * line_height:
                    score -= AWAY_PENALTY
                    away.add(key)
            reach = max(reach, unit.box[2])
        if j < len(units):  # parting the next stroke from this letter
            left, _, right, _ = box
            nxt = units[j].box
            inside = max(0.0, min(right, nxt[2]) - max(left, nxt[0])) / line_height  # letters may overlap a little
            score -= SPLIT_OVERLAP_PENALTY * max(0.0, inside - SPLIT_OVERLAP_ALLOWED)
        scores[key] = score
    return scores, away


def _twins(boxes: list[tuple[float, float, float, float]], line_height: float) -> int:
    """How many pairs of long strokes lie one over the other: the same stroke drawn again is the
    next letter (two ``l``s written over each other), not part of this one."""
    near = TWIN_REACH * line_height
    long = [b for b in boxes if _long_side(b) >= LONG_STROKE * line_height]
    count = 0
    for k, a in enumerate(long):
        for b in long[k + 1:]:
            shared = min(a[3], b[3]) - max(a[1], b[1])
            if abs(a[0] - b[0]) < near and abs(a[2] - b[2]) < near and \
                    shared >= TWIN_SHARE * min(a[3] - a[1], b[3] - b[1]):
                count += 1
    return count


def _letter_log_p(groups: _Groups, key: tuple[int, int], evidence: dict | None) -> np.ndarray:
    return groups.log_p[groups.rows[key]] + (evidence[key] if evidence else 0.0)


def _group_choices(structure: dict, groups: _Groups, evidence: dict | None) -> tuple[dict, dict]:
    """Each group as its likeliest letter: its shape's score and that letter's log probability, and the letter."""
    scores, letters = {}, {}
    for key in groups.keys:
        log_p = _letter_log_p(groups, key, evidence)
        best = int(np.argmax(log_p))
        scores[key], letters[key] = structure[key] + float(log_p[best]), CLASS_NAMES[best]
    return scores, letters


def _beam_search(count: int, scores: dict) -> list[_Path]:
    beams: list[list[_Path]] = [[] for _ in range(count + 1)]
    beams[0] = [_Path(0.0)]
    for i in range(count):
        for path in beams[i]:
            for j in range(i + 1, min(count, i + MAX_STROKES_PER_LETTER) + 1):
                if (i, j) in scores:
                    beams[j].append(_Path(path.score + scores[(i, j)], path.groups + ((i, j),)))
        for j in range(i + 1, count + 1):
            beams[j] = heapq.nlargest(INK_BEAM_WIDTH, beams[j])
    return beams[count]


def _text(path: _Path, letters: dict) -> str:
    return "".join(letters[key] for key in path.groups)


def _line_log_probs(ink: Ink, strokes: list[int], pen: float, line_model,
                    drawn: Drawn | None = None) -> np.ndarray | None:
    """The line model's log probabilities over the line's strokes drawn as one picture (``drawn``
    when already drawn)."""
    if line_model is None:
        return None
    drawn = drawn or draw_strokes([ink.strokes[i] for i in strokes], pen)
    prepared = prepare_line((255 - drawn.pixels).astype(np.float32) / 255.0)
    return None if prepared is None else line_model.log_probabilities([prepared.pixels])[0]


def _best_reading(finals: list[_Path], letters: dict, line_log_probs: np.ndarray | None) -> tuple[_Path, float]:
    """The grouping whose letters and whose text, read by the line model over the whole line, agree best."""
    scores = np.array([path.score for path in finals])
    if line_log_probs is not None:  # every grouping's text scored in one pass over the columns
        texts = [ctc.encode(_text(path, letters)) for path in finals]
        scores = scores + LINE_MODEL_WEIGHT * ctc.text_log_probabilities(line_log_probs, texts)
    best = int(np.argmax(scores))
    return finals[best], float(scores[best])


def _letters(path: _Path, text: str, units: list[_Unit], groups: _Groups, evidence: dict | None,
             top_k: int) -> list[LetterReading]:
    letters = []
    for key, label in zip(path.groups, text):
        log_p = _letter_log_p(groups, key, evidence)
        p = np.exp(log_p - log_p.max())
        p /= p.sum()
        order = np.argsort(-p)[:top_k]
        index = CLASS_NAMES.index(label)
        letters.append(LetterReading(label, float(p[index]), [(CLASS_NAMES[c], float(p[c])) for c in order],
                                     tuple(int(round(v)) for v in groups.boxes[key]),
                                     strokes=tuple(sorted(s for u in units[key[0]:key[1]] for s in u.strokes))))
    return letters


def read_line(ink: Ink, strokes: list[int], pen: float, recognizer: Recognizer, line_model,
              lexicon: Lexicon | None, top_k: int, profile=None, drawn: Drawn | None = None) -> LineReading | None:
    """One line of ink: its strokes grouped into letters and read, parted into words (``drawn``:
    the line's strokes already drawn as one picture, when they are)."""
    line_height = _line_height(ink, strokes)
    units = _units(ink, strokes, line_height)
    boxes = _all_groups(units)
    structure, away = _group_structure(ink, units, boxes, line_height)
    # a group whose shape alone loses HOPELESS nats is never one letter: not worth the letter model
    structure = {key: score for key, score in structure.items() if key[1] == key[0] + 1 or score > HOPELESS}
    groups = _read_groups(ink, units, {key: boxes[key] for key in structure}, away, pen, recognizer, profile,
                          line_height)
    line_log_probs = _line_log_probs(ink, strokes, pen, line_model, drawn)
    scores, letters = _group_choices(structure, groups, None)
    best, _ = _best_reading(_beam_search(len(units), scores), letters, line_log_probs)
    evidence = None
    bands = line_bands([groups.boxes[k] for k in best.groups], _text(best, letters))
    if bands is not None:
        evidence = {key: place_evidence(box, bands, key[0] == 0) for key, box in groups.boxes.items()}
        scores, letters = _group_choices(structure, groups, evidence)
        best, _ = _best_reading(_beam_search(len(units), scores), letters, line_log_probs)
    raw_letters = _letters(best, _text(best, letters), units, groups, evidence, top_k)
    x_height = bands.x_height if bands else line_height / 2
    parted = _parted_into_words(raw_letters, x_height)
    spans, start = [], 0
    for letters in parted:
        spans.append(best.groups[start : start + len(letters)])
        start += len(letters)
    raws = ["".join(letter.label for letter in letters) for letters in parted]
    words = []
    for index, (letters, keys) in enumerate(zip(parted, spans)):
        raw = raws[index]
        if lexicon is not None:
            found = _word_from_list(index, raws, keys, structure, groups, evidence, line_log_probs, lexicon)
            if found is not None:
                word, path = found
                letters = _letters(path, word, units, groups, evidence, top_k)
                words.append(WordReading.of(word, raw, _in_word_case(letters, path.groups, groups, bands)))
                continue
        words.append(WordReading.of(raw, raw, _in_word_case(letters, keys, groups, bands)))
    return LineReading.of(words) if words else None


def _in_word_case(letters: list[LetterReading], keys: tuple, groups: _Groups,
                  bands: LineBands | None) -> list[LetterReading]:
    """The word's letters (read from the groups ``keys``) with their case (``case.word_cases``:
    "Hello", "HELLO")."""
    labels = "".join(letter.label for letter in letters)
    uppers = [None if groups.upper is None else float(groups.upper[groups.rows[key], CLASS_NAMES.index(c)])
              for key, c in zip(keys, labels)]
    for letter, case in zip(letters, word_cases(labels, [groups.boxes[key] for key in keys], bands, uppers)):
        letter.case = case
    return letters


def _spelled(word: str, start: int, stop: int, structure: dict, groups: _Groups,
             evidence: dict | None) -> _Path | None:
    """The best grouping of units ``start:stop`` into the letters of ``word``, scored by the groups'
    shapes and each letter's log probability of being the word's letter there; None if none can."""
    count, letters = stop - start, len(word)
    if not letters <= count <= letters * MAX_STROKES_PER_LETTER:
        return None
    codes = np.array([CLASS_NAMES.index(c) for c in word])
    best = np.full((count + 1, letters + 1), -np.inf)
    came_from = np.zeros((count + 1, letters + 1), dtype=np.int64)
    best[0, 0] = 0.0
    for i in range(count):
        if not np.isfinite(best[i]).any():
            continue
        for j in range(i + 1, min(count, i + MAX_STROKES_PER_LETTER) + 1):
            key = (start + i, start + j)
            if key not in structure:
                continue
            options = best[i, :-1] + structure[key] + _letter_log_p(groups, key, evidence)[codes]
            better = options > best[j, 1:]
            best[j, 1:][better] = options[better]
            came_from[j, 1:][better] = i
    if not np.isfinite(best[count, letters]):
        return None
    keys, j = [], count
    for k in range(letters, 0, -1):
        i = int(came_from[j, k])
        keys.append((start + i, start + j))
        j = i
    return _Path(float(best[count, letters]), tuple(reversed(keys)))


def _word_from_list(index: int, raws: list[str], keys: tuple, structure: dict, groups: _Groups,
                    evidence: dict | None, line_log_probs: np.ndarray | None,
                    lexicon: Lexicon) -> tuple[str, _Path] | None:
    """The listed word the strokes spell best, with its frequency, when it loses at most
    ``list_margin`` nats to the free reading with its own prior (beats it, when the reading is
    itself listed); None to keep the reading.

    Each candidate (a listed word near the reading, of any length: a lost or doubled letter) is
    spelled by the best grouping of the word's strokes into its letters (``_spelled``: the letter
    model's belief in each letter where it stands and the groups' shapes, as the free reading is
    scored), plus the line model's CTC probability of the line with the word in it, plus
    ``LIST_PRIOR_PER_ZIPF`` nats per Zipf unit of its frequency.
    """
    from .line_reader import LIST_CANDIDATES, LIST_EDIT_SHARE, LIST_PRIOR_PER_ZIPF, list_margin

    raw = raws[index]
    # never a rarer word for a listed one (``Lexicon.allows``): the free reading of a listed word stands
    candidates = [word for word in lexicon.near(raw, LIST_EDIT_SHARE, LIST_CANDIDATES)
                  if word != raw and lexicon.allows(raw, word, 0.0)]
    if not candidates:
        return None
    start, stop = keys[0][0], keys[-1][1]
    free = sum(structure[key] + float(_letter_log_p(groups, key, evidence).max()) for key in keys)
    texts = [raw, *candidates]
    priors = np.array([LIST_PRIOR_PER_ZIPF * lexicon.frequency(word) for word in texts])
    if line_log_probs is not None:
        lines = [" ".join([*raws[:index], word, *raws[index + 1:]]) for word in texts]
        line_scores = LINE_MODEL_WEIGHT * ctc.text_log_probabilities(line_log_probs, [ctc.encode(t) for t in lines])
    else:
        line_scores = np.zeros(len(texts))
    # spell only the candidates the line model and the prior leave in reach: spelling is the costly part
    reach = line_scores[1:] + priors[1:]
    order = np.argsort(-reach)[:LIST_SPELLED]
    # a listed reading is a word too: another word must beat it outright, not come within the margin
    target = free + line_scores[0] + priors[0] - (0.0 if raw in lexicon else list_margin(raw))
    best = None
    for k in order:
        if reach[k] + free < target:  # spelling scores at most as the free reading does
            break
        path = _spelled(candidates[k], start, stop, structure, groups, evidence)
        if path is None:
            continue
        total = path.score + reach[k]
        if total >= target and (best is None or total > best[0]):
            best = (total, candidates[k], path)
    return None if best is None else (best[1], best[2])


def read_ink(ink: Ink, recognizer: Recognizer, line_model=None, lexicon: Lexicon | None = None, top_k: int = 3,
             profile=None, name: str = "ink", deadline: float | None = None) -> TextReading:
    """Lines of words of letters read from ink, each letter with its box (ink pixels) and strokes."""
    pen = pen_for(ink)
    drawn = draw_strokes(ink.strokes, pen)
    parted = ink_lines(ink, drawn)
    lines = []
    for strokes in parted:
        check_deadline(deadline, name)
        line = read_line(ink, strokes, pen, recognizer, line_model, lexicon, len(CLASS_NAMES) if lexicon else top_k,
                         profile, drawn if len(parted) == 1 else None)
        if line is not None:
            lines.append(line)
    return TextReading(lines, None if lines else "no letters found")
