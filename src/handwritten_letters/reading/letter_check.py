"""Is this a letter? Judged by what the network has seen: a small logistic head over the network's own
features (the ones writers' profiles compare), fitted against pictures that are not letters
(``training/letter_check.py``) and kept beside the model as ``MODEL.letter-check.npz``.

A picture the network reads like nothing it was taught (a scribble, a blob, hatching, a spiral) is
"not a letter"; a letter with pin holes, specks or a broken stroke still reads as the letter it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUFFIX = ".letter-check.npz"


def letter_check_path(model_path: str | Path) -> Path:
    path = Path(model_path)
    return path.with_name(path.stem + SUFFIX)


def head_inputs(features: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """The features, and how sure the network is of its best letter (its log-probability and the
    entropy over letters): a scribble's features may sit near a letter's while no letter wins."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    entropy = -(np.exp(log_p) * log_p).sum(axis=1, keepdims=True)
    return np.concatenate([features, log_p.max(axis=1, keepdims=True), entropy], axis=1)


@dataclass(frozen=True)
class LetterCheck:
    mean: np.ndarray  # (D,) feature standardisation
    scale: np.ndarray  # (D,)
    weights: np.ndarray  # (D,) logistic weights on standardised features
    bias: float
    threshold: float  # refuse at this probability of "not a letter" or more

    def not_a_letter(self, features: np.ndarray, logits: np.ndarray) -> np.ndarray:
        """Probability that each picture (its features (N, D) and letter logits (N, C)) is not a letter."""
        z = ((head_inputs(features, logits) - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def save(self, path: str | Path) -> None:
        np.savez(path, mean=self.mean, scale=self.scale, weights=self.weights, bias=self.bias,
                 threshold=self.threshold)

    @classmethod
    def load(cls, path: str | Path) -> "LetterCheck | None":
        path = Path(path)
        if not path.exists():
            return None
        with np.load(path) as stored:
            return cls(stored["mean"], stored["scale"], stored["weights"], float(stored["bias"]),
                       float(stored["threshold"]))
