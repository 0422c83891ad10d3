"""Words drawn as pens draw, in the handwriting fonts' hands, for the line model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from helpers import FONTS

from handwritten_letters.reading.preprocess import LINE_HEIGHT
from handwritten_letters.training import font_letters
from handwritten_letters.training.font_lines import FontLineStyle
from handwritten_letters.training.pen_words import PEN_WORDS, PenWordWriter, draw_points
from handwritten_letters.training.synthetic_lines import model_line
from handwritten_letters.training.written_words import span

needs_fonts = pytest.mark.skipif(not (FONTS / "fonts.csv").exists(),
                                 reason=f"handwriting fonts not found at {FONTS} (CI always has them)")
SMALL_ONLY = FontLineStyle(capitalised=0.0, capitals=0.0)
UPRIGHT = replace(PEN_WORDS, slant=0.0, turn=0.0, size_jitter=0.0, rise_jitter=0.0, wobble=0.0, gap_jitter=0.0)


def test_letters_stand_at_the_lines_proportions():
    assert span("o", 1.6, 0.5, 1.3) == (-1.0, 0.0)
    assert span("h", 1.6, 0.5, 1.3) == (-1.6, 0.0) == span("H", 1.6, 0.5, 1.3)
    assert span("g", 1.6, 0.5, 1.3) == (-1.0, 0.5)
    assert span("i", 1.6, 0.5, 1.3) == (-1.3, 0.0)  # the dot above the x-height, below an ascender
    assert span("j", 1.6, 0.5, 1.3) == (-1.3, 0.5)


def test_a_pen_path_is_drawn_with_one_round_pen_of_the_given_width():
    path = np.column_stack([np.full(40, 10.0), np.arange(40.0)])  # a vertical bar's centre line
    for pen in (3.0, 7.0):
        ink = draw_points(path, pen)
        row = ink[ink.shape[0] // 2]
        assert abs((row > 0.5).sum() - pen) <= 1


@needs_fonts
def test_crossing_letters_draw_a_narrower_word_than_clear_gaps_and_each_line_is_read_shaped():
    fonts = ["caveat", "dancing-script"]
    clear = PenWordWriter(FONTS, fonts, replace(UPRIGHT, gap_kinds=(1, 0, 0), whole_words=0.0), SMALL_ONLY)
    crossing = PenWordWriter(FONTS, fonts, replace(UPRIGHT, gap_kinds=(0, 0, 1), whole_words=0.0), SMALL_ONLY)
    for seed in range(4):
        wide, _, x_height = clear.strokes("letters", np.random.default_rng(seed))
        narrow, _, same = crossing.strokes("letters", np.random.default_rng(seed))
        assert same == x_height  # the same hand, pen and size: only the gaps differ
        assert np.ptp(narrow[:, 0]) < np.ptp(wide[:, 0]) - 6 * 0.05 * x_height
        line = model_line(crossing.compose("letters", np.random.default_rng(seed)), np.random.default_rng(seed))
        assert line.shape[0] == LINE_HEIGHT and line.max() > 200


@needs_fonts
def test_a_joined_hand_writes_whole_words_with_its_joins():
    writer = PenWordWriter(FONTS, ["dancing-script"], replace(UPRIGHT, whole_words=1.0), SMALL_ONLY)
    ink = writer.compose("minimum", np.random.default_rng(0))
    columns = ink.max(axis=0) > 0.5
    inside = columns[np.flatnonzero(columns)[0] : np.flatnonzero(columns)[-1] + 1]
    assert inside.mean() > 0.97  # the letters are joined: hardly a column without ink from first to last


@needs_fonts
def test_training_lines_are_drawn_in_training_hands_and_validation_lines_in_held_out_ones():
    from handwritten_letters.training.config import LineTrainConfig
    from handwritten_letters.training.data import Dataset
    from handwritten_letters.training.train_lines import mixed_lines

    images = np.zeros((26, 28, 28), dtype=np.uint8)
    images[:, 4:24, 10:16] = 255
    letters = Dataset(images, np.arange(26), np.zeros(26, np.int8))
    config = LineTrainConfig(train_paths=[], out_dir="", pen_words=0.4, font_dir=str(FONTS), variants=("raw",),
                             synthetic=())
    training = mixed_lines(letters, config, ["ab"], "training", 0)
    validation = mixed_lines(letters, config, ["ab"], "held-out", 0)
    assert training.writer is None and training.pen_share == 0.4  # no font lines asked for
    assert set(validation.pen_writer.fonts) == set(font_letters.HELD_OUT)
    assert not set(training.pen_writer.fonts) & set(font_letters.HELD_OUT)
    rng = np.random.default_rng(0)
    assert all(training.line("ab ba", rng).shape[0] == LINE_HEIGHT for _ in range(6))


def test_a_centre_line_is_traced_into_strokes_from_its_left_end_and_a_dot_comes_last():
    from handwritten_letters.training.written_words import traced_strokes

    line = np.zeros((40, 30), dtype=bool)
    line[10:35, 12] = True  # an i's stem
    line[3:5, 12] = True  # its dot, a piece of its own above it
    strokes = traced_strokes(line)
    assert len(strokes) == 2 and len(strokes[0]) == 25 and len(strokes[1]) == 2
    assert strokes[0][0].tolist() == [12, 10] and strokes[0][-1].tolist() == [12, 34]  # walked end to end, x then y
    fork = np.zeros((30, 30), dtype=bool)
    fork[5:25, 5] = True  # a stem ...
    fork[15, 6:20] = True  # ... and a bar leaving it: the walk goes back to the fork for a second stroke
    strokes = traced_strokes(fork)
    assert sum(len(s) for s in strokes) >= 20 + 14 and len(strokes) >= 2
    covered = {tuple(p) for s in strokes for p in s.astype(int).tolist()}
    assert covered == {(x, y) for y, x in zip(*np.nonzero(fork))}  # every pixel of the line on a stroke
