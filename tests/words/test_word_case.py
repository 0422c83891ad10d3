"""Case in words: where a letter stands in its line, the word's first letter, words in capitals."""

from __future__ import annotations

import pytest
from helpers import FONTS

from handwritten_letters.words.case import LineBands, in_capitals, line_bands, told_case, word_cases

BANDS = LineBands(x_line=40.0, baseline=80.0)  # x-height 40 px


def box(left: float, top: float, bottom: float = 80.0) -> tuple[float, float, float, float]:
    return (left, top, left + 30, bottom)


def test_a_letter_of_one_shape_in_both_cases_is_a_capital_when_it_rises_above_the_x_line():
    assert told_case("o", box(0, 40), BANDS, None) == "lower"
    assert told_case("o", box(0, 22), BANDS, None) == "upper"  # rises 0.45 x-heights
    assert told_case("p", box(0, 40, 95), BANDS, None) == "lower"  # a descender, no rise
    assert told_case("p", box(0, 22), BANDS, None) == "upper"


def test_a_tall_small_letter_is_told_by_its_shape_and_nothing_without_it():
    assert told_case("h", box(0, 10), BANDS, 0.9) == "upper"
    assert told_case("h", box(0, 10), BANDS, 0.1) == "lower"
    assert told_case("h", box(0, 10), BANDS, None) is None
    assert told_case("o", box(0, 40), None, None) is None  # no line to tell by


def test_the_x_line_comes_from_the_small_letters_not_the_capital_before_them():
    boxes = [box(0, 10), box(30, 40), box(60, 41)]  # "Cow": C rises, o and w at the x-height
    bands = line_bands(boxes, "cow")
    assert bands.x_line >= 39 and bands.baseline == 80


def test_a_capital_starts_a_word_and_the_letters_after_it_are_small():
    letters, boxes = "sun", [box(0, 18), box(30, 40), box(60, 39)]
    assert word_cases(letters, boxes, BANDS, [None] * 3) == ["upper", "lower", "lower"]
    # a neighbour's tall capital or ascender reaching into a small letter's box does not make it a capital
    boxes = [box(0, 40), box(30, 20), box(60, 40)]
    assert word_cases(letters, boxes, BANDS, [None] * 3) == ["lower", "lower", "lower"]


def test_a_word_in_capitals_has_ascenders_no_taller_than_its_other_letters():
    caps = LineBands(x_line=10.0, baseline=80.0)  # measured from the capitals themselves
    word, boxes = "hold", [box(0, 10), box(30, 11), box(60, 10), box(90, 10)]
    assert in_capitals(word, boxes, caps)
    # h, l and d told upper by their shape (the letter model's case output), the o by the line
    assert word_cases(word, boxes, caps, [0.9, None, 0.9, 0.9]) == ["upper"] * 4
    small = [box(0, 10), box(30, 40), box(60, 10), box(90, 10)]  # h, l, d rise above the o
    assert not in_capitals(word, small, LineBands(40.0, 80.0))
    # no ascender or descender to compare: the letter model's case output on letters of two shapes
    assert in_capitals("name", [box(0, 10)] * 4, caps, uppers=[None, 0.9, 0.8, 0.7])
    assert not in_capitals("name", [box(0, 10)] * 4, caps, uppers=[None, 0.1, 0.2, 0.3])


@pytest.mark.skipif(not (FONTS / "fonts.csv").exists(), reason=f"handwriting fonts not found at {FONTS}")
def test_words_read_from_pictures_keep_the_case_they_were_written_in():
    from handwritten_letters import Lexicon, TextReader
    from handwritten_letters.training import font_letters, written_words

    path = font_letters.font_files(FONTS)["kalam"][0]  # a held-out hand
    reader = TextReader()
    for text in ("Sun", "hello", "Paper", "WINDOW"):
        reading = reader.read(written_words.font_word(path, text, 64), Lexicon.english())
        assert reading.text == text.lower() and reading.written == text


def test_a_word_s_last_letter_keeps_its_top_where_only_its_right_side_reaches_it():
    import cv2
    import numpy as np

    from handwritten_letters.words.line_reader import _core_box
    from handwritten_letters.words.page import InkPage

    ink = np.zeros((100, 100), np.float32)
    # a w whose middle peak stands lower than its arms (tops at 20, the middle at 45, the foot at 80)
    cv2.polylines(ink, [np.array([[10, 20], [30, 80], [50, 45], [70, 80], [90, 20]], np.int32)], False, 1.0, 3)
    page = InkPage(ink, np.zeros_like(ink, dtype=np.int32), [], 1.0)
    box = (8, 18, 93, 83)
    assert _core_box(page, box, first=False)[1] > 35  # within a word: a neighbour may reach its sides
    assert _core_box(page, box, first=False, last=True)[1] < 25  # the last: nothing lies to its right
    assert _core_box(page, box, first=True)[1] < 25
