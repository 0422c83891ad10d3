"""Word lists the readers use, as a prior and never as a filter: the user's own (``--lexicon
FILE``) or everyday English. The one place that knows where the English words come from and when
a word from the list may replace what the models read.

English is `wordfreq`'s frequency-ranked list (the commonest 60,000 words, plurals and past tenses
included), each with its Zipf frequency, shipped as a small data file beside the models
(``english-words.tsv.gz``, built by ``python -m handwritten_letters.words.lexicon --build``), so
reading and serving never import wordfreq or load its 60 MB of data. A list word replaces a reading only when the readers'
letter models support it (their own margin rules) **and** ``allows`` agrees: a reading the models
are sure of stands, and a real word is never replaced by a rarer one.
"""

from __future__ import annotations

import bisect
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

ENGLISH_SIZE = 60_000  # words of wordfreq's English list, commonest first
SURE = 0.5  # a reading at least this probable is kept, whatever the list says (held-out font words)
# a word's frequency adds this many nats per Zipf unit (log10 occurrences per billion words) when
# list words compete for one reading: among words the image supports alike, the commoner wins
PRIOR_WEIGHT = 0.5
UNLISTED_ZIPF = 0.0


ENGLISH_FILE = "english-words.tsv.gz"  # word<TAB>zipf a line, commonest first; models/ beside the ONNX files


def english_list_path() -> Path:
    from ..reading.recognize import bundled_path

    return bundled_path(ENGLISH_FILE)


@lru_cache(maxsize=1)
def english_frequencies() -> dict[str, float]:
    """Everyday English words (a-z only) and their Zipf frequency, from the shipped list."""
    import gzip

    frequencies = {}
    with gzip.open(english_list_path(), "rt", encoding="utf-8") as lines:
        for line in lines:
            word, zipf = line.rstrip("\n").split("\t")
            frequencies[word] = float(zipf)
    return frequencies


def english_frequencies_from_wordfreq() -> dict[str, float]:
    """The same list made from `wordfreq` itself (its installed version): what the shipped file is built from."""
    from wordfreq import top_n_list, zipf_frequency

    words = [w for w in top_n_list("en", ENGLISH_SIZE) if w.isascii() and w.isalpha()]
    return {w.lower(): zipf_frequency(w, "en") for w in words}


def write_english_list(path: str | Path) -> int:
    """Write the list from wordfreq (commonest first); returns the number of words."""
    import gzip

    frequencies = english_frequencies_from_wordfreq()
    # mtime=0: the same wordfreq gives a byte-identical file
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed:
        packed.write("".join(f"{w}\t{z:g}\n" for w, z in frequencies.items()).encode("utf-8"))
    return len(frequencies)


def english_words() -> tuple[str, ...]:
    """The English words the readers know and the line model trains on."""
    return tuple(sorted(english_frequencies()))


class Lexicon:
    """Words grouped by length as letter-index arrays, for vectorised scoring against a reading."""

    def __init__(self, words, frequencies: dict[str, float] | None = None):
        by_length: dict[int, list[str]] = {}
        for word in {w.strip().lower() for w in words}:
            if word and word.isascii() and word.isalpha():
                by_length.setdefault(len(word), []).append(word)
        self.words = {n: sorted(ws) for n, ws in by_length.items()}
        # one byte a letter: the English list's codes take 0.4 MB a worker, not 3.6
        self.codes = {n: (np.frombuffer("".join(ws).encode("ascii"), dtype=np.uint8).reshape(len(ws), n) - 97)
                      for n, ws in self.words.items()}
        self.frequencies = frequencies  # None: every listed word alike (a user's own list)
        self.priors = {n: np.array([self.prior(w) for w in ws]) for n, ws in self.words.items()}
        self._listed = frozenset(w for ws in self.words.values() for w in ws)

    def __len__(self) -> int:
        return sum(len(ws) for ws in self.words.values())

    def __contains__(self, word: str) -> bool:
        return word in self._listed

    @cached_property
    def _sorted(self) -> list[str]:
        """Every listed word in order: a prefix tree walked by bisection (``starts``), no nodes kept;
        made on first use (only the word-beam search asks), not when the list loads."""
        return sorted(self._listed)

    def starts(self, prefix: str) -> bool:
        """Whether a listed word starts with ``prefix``."""
        at = bisect.bisect_left(self._sorted, prefix)
        return at < len(self._sorted) and self._sorted[at].startswith(prefix)

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
        """Everyday English with word frequencies, built once per process and shared."""
        return _english_lexicon()

    def frequency(self, word: str) -> float:
        """Zipf frequency (0 for a word not listed, or for every word of a list without frequencies)."""
        if self.frequencies is None:
            return 0.0
        return self.frequencies.get(word, UNLISTED_ZIPF)

    def prior(self, word: str) -> float:
        """What the word's frequency adds to its score, in nats."""
        return PRIOR_WEIGHT * self.frequency(word)

    def allows(self, raw: str, word: str, raw_probability: float) -> bool:
        """Whether ``word`` may replace the reading ``raw`` (already supported by the image): never for a
        reading the models are sure of, never a rarer word for a listed one."""
        if word == raw:
            return True
        if raw_probability >= SURE:
            return False
        return not (raw in self and self.frequency(word) <= self.frequency(raw))

    def near(self, reading: str, edit_share: float, limit: int, other_lengths_from: int = 4) -> list[str]:
        """Listed words within ``edit_share`` of the reading's length in edits (at least one), the
        closest first, at most ``limit``; of any length that allows (a lost or doubled letter: helo ->
        hello) when the reading has ``other_lengths_from`` letters or more, else of its own length
        (a clearly written "grx" is not a lost letter of a listed "gx")."""
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        edits = max(1, int(edit_share * len(reading)))
        spread = edits if len(reading) >= other_lengths_from else 0
        pool = [w for n in range(max(1, len(reading) - spread), len(reading) + spread + 1) for w in self.words.get(n, [])]
        return [word for word, _, _ in process.extract(reading, pool, scorer=Levenshtein.distance,
                                                       score_cutoff=edits, limit=limit)]

    def best(self, log_probabilities: np.ndarray) -> tuple[str, float] | None:
        """The word of this length whose letters the model finds most likely (frequency as a prior
        among them), and its letters' score (without the prior)."""
        codes = self.codes.get(len(log_probabilities))
        if codes is None:
            return None
        scores = log_probabilities[np.arange(len(log_probabilities)), codes].sum(axis=1)
        best = int(np.argmax(scores + self.priors[len(log_probabilities)]))
        return self.words[len(log_probabilities)][best], float(scores[best])


@lru_cache(maxsize=1)
def _english_lexicon() -> Lexicon:
    frequencies = english_frequencies()
    return Lexicon(frequencies, frequencies)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--build"]:
        sys.exit("usage: python -m handwritten_letters.words.lexicon --build  (writes the shipped English list "
                 "from the installed wordfreq)")
    print(f"{write_english_list(english_list_path())} words -> {english_list_path()}")
