"""A writer's profile: a few of one person's letters, and how their answers lean toward that hand.

No training and no TensorFlow: the bundled network already describes every letter by the
features its last layer reads (the model's third output). A profile keeps the features of the
writer's own letters; a new letter is compared with them (cosine similarity) and each letter's
closest example adds to the network's answer in proportion to how close it is:

    logits = network logits / temperature + WEIGHT * max(0, similarity - FLOOR) / SPREAD

so a letter the writer taught pulls answers toward itself only when a new letter really looks
like it, and letters the writer never taught keep the network's answer. One example per letter
is enough to start; more examples of a letter widen what it recognises.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LettersError
from ..labels import CLASS_NAMES

# chosen on the training fonts as writers (never on the held-out fonts or the dev set): docs/results.md
WEIGHT = 0.5
FLOOR = 0.5  # similarities below this are not evidence (unrelated letters sit around 0.1-0.4)
SPREAD = 0.02
MAX_EXAMPLES = 2000  # letters kept in one profile
CASES = {"lower": 1, "upper": 2, "unknown": 0}


def unit_rows(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, dtype=np.float32)
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-6)


@dataclass
class WriterProfile:
    """One writer's letters as the network describes them."""

    features: np.ndarray  # (K, D) unit vectors
    labels: np.ndarray  # (K,) letter index 0..25
    cases: np.ndarray  # (K,) 0 unknown, 1 lower, 2 upper
    weight: float = WEIGHT
    floor: float = FLOOR
    spread: float = SPREAD

    @classmethod
    def empty(cls, dimensions: int) -> "WriterProfile":
        return cls(np.zeros((0, dimensions), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int8))

    def __len__(self) -> int:
        return len(self.labels)

    def taught(self) -> set[str]:
        return {CLASS_NAMES[i] for i in np.unique(self.labels)}

    def added(self, features: np.ndarray, labels: np.ndarray, cases: np.ndarray | None = None) -> "WriterProfile":
        """This profile with more letters (the newest kept when there are more than MAX_EXAMPLES)."""
        cases = np.zeros(len(labels), np.int8) if cases is None else np.asarray(cases, np.int8)
        keep = slice(-MAX_EXAMPLES, None)
        return WriterProfile(np.concatenate([self.features, unit_rows(features)])[keep],
                             np.concatenate([self.labels, np.asarray(labels, np.int64)])[keep],
                             np.concatenate([self.cases, cases])[keep], self.weight, self.floor, self.spread)

    def without(self, index: np.ndarray) -> "WriterProfile":
        keep = np.setdiff1d(np.arange(len(self)), index)
        return WriterProfile(self.features[keep], self.labels[keep], self.cases[keep], self.weight, self.floor,
                             self.spread)

    def _closest(self, features: np.ndarray, leave_out: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(N, 26) each: every taught letter's closest example to each row (its similarity, and which
        example it is); similarity -inf for letters not taught. One comparison serves both uses."""
        similarity = unit_rows(features) @ self.features.T  # (N, K)
        if leave_out is not None:
            similarity[np.arange(len(features)), leave_out] = -np.inf
        closeness = np.full((len(features), len(CLASS_NAMES)), -np.inf, np.float32)
        example = np.zeros((len(features), len(CLASS_NAMES)), np.int64)
        for letter in np.unique(self.labels):
            members = np.flatnonzero(self.labels == letter)
            example[:, letter] = members[similarity[:, members].argmax(axis=1)]
            closeness[:, letter] = similarity[np.arange(len(features)), example[:, letter]]
        return closeness, example

    def lean(self, features: np.ndarray, leave_out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """For each row, (N, 26) each: how much each letter's closest taught example speaks for it
        (0 where none does), and that example's case as 1 (capital) or 0 (small) where it speaks and
        its case was given, NaN elsewhere (the network's case stands). ``leave_out[n]``: an example
        not to compare row n with (itself, when measuring the profile)."""
        evidence = np.zeros((len(features), len(CLASS_NAMES)), np.float32)
        case = np.full((len(features), len(CLASS_NAMES)), np.nan, np.float32)
        if not len(self):
            return evidence, case
        closeness, example = self._closest(features, leave_out)
        evidence = self.weight * np.maximum(0.0, closeness - self.floor) / self.spread
        speaks = (closeness > self.floor) & (self.cases[example] != CASES["unknown"])
        case[speaks] = (self.cases[example] == CASES["upper"])[speaks]
        return evidence.astype(np.float32), case

    def evidence(self, features: np.ndarray, leave_out: np.ndarray | None = None) -> np.ndarray:
        """The first half of ``lean``: how much each letter's closest taught example speaks for it."""
        return self.lean(features, leave_out)[0]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        temporary = path.with_name(path.name + ".tmp.npz")
        np.savez(temporary, features=self.features, labels=self.labels, cases=self.cases,
                 settings=np.array([self.weight, self.floor, self.spread], np.float32))
        temporary.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "WriterProfile":
        try:
            with np.load(path) as stored:
                weight, floor, spread = (float(v) for v in stored["settings"])
                return cls(stored["features"].astype(np.float32), stored["labels"].astype(np.int64),
                           stored["cases"].astype(np.int8), weight, floor, spread)
        except (OSError, KeyError, ValueError) as exc:
            raise LettersError(f"{path}: not a writer's profile ({exc})") from None


def profile_path(model_path: str | Path) -> Path:
    """Where a model's writer profile lives: beside it, ``model.onnx`` -> ``model.profile.npz``."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + ".profile.npz")
