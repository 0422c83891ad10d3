"""Serving reads without SciPy (30 MB and 0.2 s a worker): the OpenCV and NumPy stand-ins give what
SciPy gives, so no answer changes."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from handwritten_letters.reading import preprocess
from handwritten_letters.words import page

ndimage = pytest.importorskip("scipy.ndimage", reason="compares with SciPy")

masks = arrays(bool, st.tuples(st.integers(1, 40), st.integers(1, 40)), elements=st.booleans())


@settings(max_examples=200, deadline=None)
@given(masks)
def test_pieces_are_numbered_and_boxed_as_scipy_does(mask):
    labels, count, stats = page.label_pieces(mask)
    expected, expected_count = ndimage.label(mask, structure=np.ones((3, 3)))
    assert count == expected_count
    np.testing.assert_array_equal(labels, expected)
    kept = np.ones(count + 1, dtype=bool)
    assert page.piece_slices(stats, kept) == ndimage.find_objects(expected)


def test_the_blur_is_scipys_gaussian_filter():
    unit = np.eye(preprocess.WORK_SIZE)
    np.testing.assert_allclose(preprocess.gaussian_blur_matrix(preprocess.WORK_SIZE, preprocess.BLUR_SIGMA) @ unit,
                               ndimage.gaussian_filter1d(unit, preprocess.BLUR_SIGMA, axis=0), atol=1e-12)


def test_the_median_is_scipys():
    grey = np.random.default_rng(3).integers(0, 256, (37, 29), dtype=np.uint8)
    import cv2

    np.testing.assert_array_equal(cv2.medianBlur(grey, 3), ndimage.median_filter(grey, size=3))


def test_a_serving_worker_never_imports_scipy():
    code = ("import sys, numpy as np; from handwritten_letters.server.app import create_app; "
            "from handwritten_letters.words.line_reader import TextReader; "
            "TextReader().read(np.pad(np.full((30, 90), 0, np.uint8), 20, constant_values=255)); "
            "assert 'scipy' not in sys.modules, 'scipy imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
