"""Word lists the readers use: the user's own (``--lexicon FILE``) or the English one. The one place
that knows where the English words come from."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np


@lru_cache(maxsize=1)
def english_words() -> tuple[str, ...]:
    """GCIDE (GNU Collaborative International Dictionary of English) words, via `english-words`:
    the readers' English lexicon and the line model's training words."""
    from english_words import get_english_words_set

    return tuple(sorted(get_english_words_set(["gcide"], lower=True, alpha=True)))


class Lexicon:
    """Words grouped by length as letter-index arrays, for vectorised scoring against a reading."""

    def __init__(self, words):
        by_length: dict[int, list[str]] = {}
        for word in {w.strip().lower() for w in words}:
            if word and word.isascii() and word.isalpha():
                by_length.setdefault(len(word), []).append(word)
        self.words = {n: sorted(ws) for n, ws in by_length.items()}
        self.codes = {n: np.array([[ord(c) - 97 for c in w] for w in ws]) for n, ws in self.words.items()}

    def __len__(self) -> int:
        return sum(len(ws) for ws in self.words.values())

    @classmethod
    def from_file(cls, path: str | Path) -> "Lexicon":
        from ..errors import LettersError

        try:
            lexicon = cls(Path(path).read_text(encoding="utf-8", errors="replace").split())
        except OSError as exc:
            raise LettersError(f"{path}: cannot read lexicon ({exc.strerror or exc})") from None
        if not len(lexicon):
            raise LettersError(f"{path}: no words (expected one word of letters a-z per line)")
        return lexicon

    @classmethod
    def english(cls) -> "Lexicon":
        """The English word list (``english_words``), built once per process and shared."""
        return _english_lexicon()

    def best(self, log_probabilities: np.ndarray) -> tuple[str, float] | None:
        """The word of this length whose letters the model finds most likely, and that score."""
        codes = self.codes.get(len(log_probabilities))
        if codes is None:
            return None
        scores = log_probabilities[np.arange(len(log_probabilities)), codes].sum(axis=1)
        best = int(np.argmax(scores))
        return self.words[len(log_probabilities)][best], float(scores[best])


@lru_cache(maxsize=1)
def _english_lexicon() -> Lexicon:
    return Lexicon(english_words())
