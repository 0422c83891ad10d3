"""Digital ink at the boundary: JSON strokes and InkML mean the same strokes; every error names the
stroke and point and what was expected; limits hold; drawing is one function."""

import json

import numpy as np
import pytest
from helpers import INK_LOW

from handwritten_letters.reading import ink as inks
from handwritten_letters.reading.ink import InkError, ink_from_inkml, ink_from_json, ink_to_inkml


def test_json_and_inkml_hold_the_same_strokes():
    ink = ink_from_json(json.dumps(INK_LOW))
    again = ink_from_inkml(ink_to_inkml(ink).encode())
    assert len(again.strokes) == 3 and again.has_time
    for a, b in zip(ink.strokes, again.strokes):
        np.testing.assert_allclose(a, b)


def test_points_without_times_are_ink_without_time():
    untimed = {"strokes": [[[x, y] for x, y, _ in stroke] for stroke in INK_LOW["strokes"]]}
    ink = ink_from_json(untimed)
    assert not ink.has_time and ink.width is None
    assert not ink_from_inkml(ink_to_inkml(ink)).has_time


def test_inkml_reads_past_channels_it_does_not_use():
    document = ('<ink xmlns="http://www.w3.org/2003/InkML"><traceFormat><channel name="X"/><channel name="Y"/>'
                '<channel name="F"/><channel name="T"/></traceFormat><trace>1 2 0.5 10, 3 4 0.6 20</trace></ink>')
    ink = ink_from_inkml(document)
    np.testing.assert_allclose(ink.strokes[0], [[1, 2, 10], [3, 4, 20]])


@pytest.mark.parametrize("body, where", [
    ({"strokes": [[[1, 2], [3, "x"]]]}, "stroke 0, point 1: y must be a number"),
    ({"strokes": [[[1, 2]], [[1, 2], [float("nan"), 2]]]}, "stroke 1, point 1: x must be a finite number"),
    ({"strokes": [[[1, 2]], []]}, "stroke 1 must be a non-empty list"),
    ({"strokes": [[[1, 2, 3, 4]]]}, "stroke 0, point 0: expected [x, y] or [x, y, t]"),
    ({"strokes": []}, "no strokes"),
    ({"points": []}, 'expected a JSON object {"strokes"'),
    ({"strokes": [[[1, 2]]], "width": -3}, "width must be positive"),
    ({"strokes": [[[1e9, 2]]]}, "x 1000000000.0 is out of range"),
])
def test_bad_json_ink_names_the_stroke_and_point(body, where):
    with pytest.raises(InkError, match=None) as error:
        ink_from_json(body, "word.json")
    assert str(error.value).startswith("word.json") and where in str(error.value), str(error.value)


@pytest.mark.parametrize("document, where", [
    ("<ink><trace>1 2, 3</trace></ink>", "trace 0, point 1: 1 values for the 2 channels"),
    ("<ink><trace>1 2, a b</trace></ink>", "trace 0, point 1: expected numbers"),
    ("<ink><trace></trace></ink>", "trace 0 has no points"),
    ("<svg/>", "root <ink>"),
    ("<ink><trace>1 2", "not well-formed XML"),
    ('<ink><traceFormat><channel name="F"/></traceFormat><trace>1</trace></ink>', "X and Y are needed"),
    ('<?xml version="1.0"?><!DOCTYPE ink [<!ENTITY a "aaaa">]><ink><trace>&a;</trace></ink>', "DOCTYPE"),
])
def test_bad_inkml_names_the_trace_and_point(document, where):
    with pytest.raises(InkError) as error:
        ink_from_inkml(document.encode(), "word.inkml")
    assert where in str(error.value), str(error.value)


def test_limits_on_strokes_and_points():
    with pytest.raises(InkError, match="at most"):
        ink_from_json({"strokes": [[[0, 0]]] * (inks.MAX_STROKES + 1)})
    with pytest.raises(InkError, match="at most"):
        ink_from_json({"strokes": [[[0, 0]] * (inks.MAX_POINTS + 1)]})


def test_ink_is_drawn_black_on_white_around_its_strokes():
    drawn = inks.draw_strokes(ink_from_json(INK_LOW).strokes, pen=6)
    assert drawn.pixels.dtype == np.uint8 and drawn.pixels.min() == 0 and drawn.pixels.max() == 255
    assert drawn.origin[0] <= 20 and drawn.origin[1] <= 10  # the picture starts at the ink, less a margin
