"""Fit the "is this a letter?" head (``reading/letter_check.py``) for an exported model.

Letters: EMNIST training letters (the replay sample shipped with the package) and fresh renderings of
the training fonts' letters, half of them speckled (pin holes in the ink, specks around it), all
through the serving preprocessing. Not letters: the generators of ``non_letters`` (one seed for
fitting, another for choosing the threshold). The threshold is the lowest that keeps letters refused
at most ``MAX_LETTERS_REFUSED`` on the choosing set (held-out fonts' letters, speckled or not).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..reading.letter_check import LetterCheck, head_inputs, letter_check_path
from ..reading.preprocess import preprocess_grey
from ..reading.recognize import OnnxModel, bundled_path
from . import font_letters
from .non_letters import non_letters, pin_holes_and_specks

MAX_LETTERS_REFUSED = 0.02  # of letters, on the choosing set


def _preprocessed(pictures) -> np.ndarray:
    kept = [item.pixels for item in (preprocess_grey(p) for p in pictures) if item.rejected is None]
    return np.stack(kept)


def _outputs(model: OnnxModel, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    outputs = model.outputs(images)
    return outputs[2], outputs[0]


def _inputs(model: OnnxModel, images: np.ndarray) -> np.ndarray:
    return head_inputs(*_outputs(model, images))


def font_letter_pictures(font_dir, fonts, per_glyph: int, seed: int, speckled: float = 0.5) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    pictures = []
    for glyph in font_letters.glyphs(str(font_dir), tuple(fonts)):
        for _ in range(per_glyph):
            picture = font_letters.vary(glyph.inks[int(rng.integers(len(glyph.inks)))], rng)
            pictures.append(pin_holes_and_specks(picture, rng) if rng.random() < speckled else picture)
    return pictures


def fit_letter_check(model_path: str | Path, font_dir: str | Path, out: str | Path | None = None,
                     seed: int = 0) -> tuple[LetterCheck, dict]:
    from sklearn.linear_model import LogisticRegression

    model = OnnxModel(model_path)
    replay = np.load(bundled_path("replay-sample.npz"))["replay_images"]
    fitting_letters = np.concatenate([replay, _preprocessed(font_letter_pictures(
        font_dir, font_letters.training_fonts(font_dir), 2, seed))])
    fitting_others = _preprocessed([p for _, p in non_letters(6000, seed + 1)])
    features = _inputs(model, np.concatenate([fitting_letters, fitting_others]))
    target = np.r_[np.zeros(len(fitting_letters)), np.ones(len(fitting_others))]
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-6
    head = LogisticRegression(C=0.03, max_iter=2000, class_weight="balanced").fit((features - mean) / scale, target)
    check = LetterCheck(mean, scale, head.coef_[0], float(head.intercept_[0]), 1.0)
    choosing_letters = _preprocessed(font_letter_pictures(font_dir, font_letters.HELD_OUT, 3, seed + 2))
    choosing_others = _preprocessed([p for _, p in non_letters(900, seed + 3)])
    letters_p = check.not_a_letter(*_outputs(model, choosing_letters))
    others_p = check.not_a_letter(*_outputs(model, choosing_others))
    threshold = float(np.quantile(letters_p, 1 - MAX_LETTERS_REFUSED))
    check = LetterCheck(mean, scale, check.weights, check.bias, threshold)
    report = {"fitting": {"letters": len(fitting_letters), "not_letters": len(fitting_others)},
              "choosing": {"letters": len(choosing_letters), "letters_refused": float((letters_p >= threshold).mean()),
                           "not_letters": len(choosing_others),
                           "not_letters_refused": float((others_p >= threshold).mean())},
              "threshold": threshold}
    check.save(out or letter_check_path(model_path))
    return check, report
