"""Lines for the line model written in handwriting fonts, and words written with real pen strokes."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import FONTS
from scipy import ndimage

from handwritten_letters.reading.preprocess import LINE_HEIGHT
from handwritten_letters.training import font_letters, written_words
from handwritten_letters.training.data import CASE_LOWER, CASE_UPPER, Dataset
from handwritten_letters.training.synthetic_lines import CAP_HEIGHT, LineComposer, LineStyle, MixedLines, proportioned

needs_fonts = pytest.mark.skipif(not (FONTS / "fonts.csv").exists(),
                                 reason=f"handwriting fonts not found at {FONTS} (CI always has them)")


def bar_letters(cases: np.ndarray) -> Dataset:
    images = np.zeros((26, 28, 28), dtype=np.uint8)
    images[:, 4:24, 10:16] = 255
    return Dataset(images, np.arange(26), cases)


def test_letters_of_known_case_stand_at_handwriting_proportions():
    rng = np.random.default_rng(0)
    bar = bar_letters(np.full(26, CASE_LOWER)).images[0]
    small, small_top = proportioned(bar, "o", CASE_LOWER, rng)
    capital, capital_top = proportioned(bar, "o", CASE_UPPER, rng)
    tall, tall_top = proportioned(bar, "h", CASE_LOWER, rng)
    low, low_top = proportioned(bar, "g", CASE_LOWER, rng)
    assert capital.shape[0] == tall.shape[0] == CAP_HEIGHT and capital_top == tall_top == CAP_HEIGHT
    assert 0.5 * CAP_HEIGHT <= small.shape[0] <= 0.75 * CAP_HEIGHT and small_top == small.shape[0]
    assert low.shape[0] > low_top  # a descender reaches below the baseline


def test_a_line_of_small_letters_and_capitals_keeps_their_sizes():
    cases = np.where(np.arange(26) % 2 == 0, CASE_UPPER, CASE_LOWER)  # a, c, e... capitals; b, d... small
    composer = LineComposer(bar_letters(cases), ["ab"], LineStyle(proportions=1.0, slant_share=0, stroke_change=0,
                                                                  noise=0, size_variation=0, jitter=(0, 0)))
    ink = composer.compose("ac", np.random.default_rng(1))
    columns = np.flatnonzero(ink.max(axis=0) > 0.5)
    heights = [int((ink[:, c] > 0.5).sum()) for c in (columns[0], columns[-1])]
    assert heights[0] == heights[1] == CAP_HEIGHT  # both capitals
    ink = composer.compose("cb", np.random.default_rng(1))  # C capital, b small with an ascender: both tall
    assert (ink.max(axis=1) > 0.5).sum() == CAP_HEIGHT


def test_a_share_of_font_lines_needs_fonts():
    composer = LineComposer(bar_letters(np.zeros(26, np.int8)), ["ab"])
    with pytest.raises(ValueError, match="needs fonts"):
        MixedLines(composer, None, font_share=0.5)


@needs_fonts
def test_font_lines_are_lines_the_model_reads_and_joined_fonts_write_whole_words():
    from handwritten_letters.training.font_lines import FontLineWriter

    writer = FontLineWriter(FONTS, ["dancing-script", "caveat"])
    rng = np.random.default_rng(2)
    joined = writer.render("common", "dancing-script", rng)
    _, pieces = ndimage.label(joined > 127)
    assert pieces == 1  # joined: one stroke across the word
    composer = LineComposer(bar_letters(np.zeros(26, np.int8)), ["word"])
    lines = MixedLines(composer, writer, font_share=1.0)
    for _ in range(5):
        line = lines.line("hello world", rng)
        assert line.shape[0] == LINE_HEIGHT and line.max() > 200


@needs_fonts
def test_training_lines_never_use_a_held_out_font():
    from handwritten_letters.training.config import LineTrainConfig
    from handwritten_letters.training.train_lines import mixed_lines

    config = LineTrainConfig(train_paths=[], out_dir="unused", font_share=0.5, font_dir=str(FONTS))
    letters = bar_letters(np.zeros(26, np.int8))
    training = mixed_lines(letters, config, ["word"], "training", 0)
    validation = mixed_lines(letters, config, ["word"], "held-out", 0)
    assert not set(training.writer.fonts) & set(font_letters.HELD_OUT)
    assert set(validation.writer.fonts) == set(font_letters.HELD_OUT)


def ring(cx: float) -> list[np.ndarray]:
    angles = np.linspace(0, 2 * np.pi, 40)
    return [np.column_stack([cx + 40 * np.cos(angles), 50 + 40 * np.sin(angles)])]


@pytest.mark.parametrize("spacing, pieces", [("gaps", 2), ("touching", 1), ("overlapping", 1)])
def test_written_words_space_the_inks_of_their_letters_as_named(spacing, pieces):
    letters = {"o": ring(50)}
    page = written_words.draw(written_words.word_strokes("oo", letters, written_words.GAPS[spacing]))
    _, found = ndimage.label(page < 128)
    assert found == pieces


@needs_fonts
def test_a_font_hand_writes_words_as_a_drawer_does_with_its_letters_centre_lines():
    hands = written_words.font_hands(FONTS, ["kalam"])
    assert sorted(hands["kalam"]) == list("abcdefghijklmnopqrstuvwxyz")
    apart = written_words.draw(written_words.word_strokes("ox", hands["kalam"], written_words.GAPS["gaps"]))
    _, found = ndimage.label(apart < 128)
    assert found == 2  # each letter one connected pen stroke, drawn as the page's pen draws
    pen = written_words.PEN
    ink_columns = np.flatnonzero((apart < 128).any(axis=0))
    assert np.diff(ink_columns).max() > 0.1 * written_words.X_HEIGHT  # the gap between the two
    touching = written_words.draw(written_words.word_strokes("ox", hands["kalam"], written_words.GAPS["touching"]))
    assert (touching < 128).any(axis=0)[30:-30].all()  # the two letters' inks meet in x: no empty column
    crossing = written_words.draw(written_words.word_strokes("ox", hands["kalam"], written_words.GAPS["overlapping"]))
    assert crossing.shape[1] < touching.shape[1] < apart.shape[1] - pen
