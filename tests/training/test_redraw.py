"""Letters the training recipes make from EMNIST's own (redraw.py)."""

import numpy as np
from scipy import ndimage

from handwritten_letters.labels import CLASS_NAMES
from handwritten_letters.training.data import Dataset
from handwritten_letters.training.redraw import SYNTHETIC, dotted_i, short_stem_a, with_short_stem_a


def _ring(size=28, centre=(19, 12), radius=5, width=1.5) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    distance = np.hypot(yy - centre[0], xx - centre[1])
    return np.where(np.abs(distance - radius) <= width, 255, 0).astype(np.uint8)


def _d(stem_top=2) -> np.ndarray:
    """A lowercase d as EMNIST holds one: a bowl low in the frame and a stem up its right side."""
    image = _ring()
    image[stem_top:25, 16:19] = 255
    return image


def _stem_above_bowl(image) -> float:
    """How far the ink rises above the bowl (the rows at least 0.6 as wide as the widest), in bowl heights."""
    ink = image > 127
    rows = np.flatnonzero(ink.any(axis=1))
    spans = np.array([np.ptp(np.flatnonzero(r)) + 1 if r.any() else 0 for r in ink])
    bowl_top = np.flatnonzero(spans >= 0.6 * spans.max())[0]
    return (bowl_top - rows[0]) / (rows[-1] - bowl_top + 1)


def test_a_short_stem_a_keeps_the_bowl_and_only_a_little_of_the_stem():
    rng = np.random.default_rng(0)
    assert _stem_above_bowl(_d()) > 0.7
    for _ in range(20):
        made = short_stem_a(_d(), rng)
        assert made is not None and made.shape == (28, 28) and made.dtype == np.uint8
        ink = made > 127
        # framed as EMNIST frames letters: the long side spans ~24 pixels
        assert 22 <= max(np.ptp(np.flatnonzero(ink.any(axis=1))), np.ptp(np.flatnonzero(ink.any(axis=0)))) + 1 <= 26
        assert 0.0 < _stem_above_bowl(made) <= 0.45  # the d's stem rose most of a bowl above it; the a's barely does
        assert ndimage.label(ink)[1] == 1  # one stroke, not a bowl and a floating stem


def test_letters_without_a_tall_stem_give_no_short_stem_a():
    rng = np.random.default_rng(0)
    assert short_stem_a(_ring(), rng) is None  # an o
    assert short_stem_a(_d(stem_top=11), rng) is None  # the stem hardly rises: nothing to cut
    assert short_stem_a(np.zeros((28, 28), np.uint8), rng) is None


def test_with_short_stem_a_adds_as_from_the_ds_only_and_is_deterministic():
    d, o = CLASS_NAMES.index("d"), CLASS_NAMES.index("o")
    dataset = Dataset(np.stack([_d(), _d(3), _ring(), _d(stem_top=11)]), np.array([d, d, o, d]))
    first, again = with_short_stem_a(dataset, seed=5), SYNTHETIC["short_stem_a"](dataset, seed=5)
    assert len(first) == 6 and list(first.labels[4:]) == [CLASS_NAMES.index("a")] * 2
    assert np.array_equal(first.images, again.images)
    assert np.array_equal(first.images[:4], dataset.images)


def test_dotted_i_puts_a_dot_over_a_bar_and_refuses_other_shapes():
    bar = np.zeros((28, 28), np.uint8)
    bar[3:25, 13:16] = 255
    made = dotted_i(bar, np.random.default_rng(0))
    assert made is not None and ndimage.label(made > 96)[1] == 2  # stem and dot
    assert dotted_i(_ring(), np.random.default_rng(0)) is None
