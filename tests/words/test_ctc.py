"""CTC decoding in NumPy, checked against brute force over every alignment."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handwritten_letters.words import ctc


def collapse(path) -> tuple[int, ...]:
    out, previous = [], None
    for k in path:
        if k != ctc.BLANK and k != previous:
            out.append(k)
        previous = k
    return tuple(out)


def brute_force(log_probs: np.ndarray) -> dict[tuple[int, ...], float]:
    """log P(text) for every text, by summing every path of the columns."""
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(log_probs.shape[1]), repeat=len(log_probs)):
        p = float(log_probs[np.arange(len(path)), path].sum())
        key = collapse(path)
        totals[key] = np.logaddexp(totals.get(key, -np.inf), p)
    return totals


def random_columns(seed: int, columns: int = 5, classes: int = 3, sharpness: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ctc.log_softmax(rng.normal(0, sharpness, (columns, classes)))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_text_probability_is_the_sum_over_its_alignments(seed):
    log_probs = random_columns(seed)
    for text, expected in brute_force(log_probs).items():
        assert ctc.text_log_probability(log_probs, list(text)) == pytest.approx(expected, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_a_wide_beam_finds_the_most_likely_text(seed):
    log_probs = random_columns(seed)
    totals = brute_force(log_probs)
    best = ctc.beam_search(log_probs, beam_width=64, prune=-np.inf)[0]
    assert tuple(best.labels) == max(totals, key=totals.get)
    assert best.score == pytest.approx(totals[tuple(best.labels)], abs=1e-9)
    assert best.columns == ctc.align(log_probs, best.labels)  # the best text comes aligned


def test_greedy_merges_repeats_but_not_across_a_blank_and_reports_columns():
    best_path = [1, 1, 0, 1, 2, 2, 0]
    log_probs = np.full((len(best_path), 3), np.log(0.1))
    log_probs[np.arange(len(best_path)), best_path] = np.log(0.8)
    decoded = ctc.greedy(log_probs)
    assert decoded.labels == [1, 1, 2]
    assert decoded.columns == [(0, 1), (3, 3), (4, 5)]


def test_beam_search_prefers_a_text_many_paths_agree_on_over_the_single_best_path():
    # best single path: blank, blank (p 0.36); but "1" has 0.6*0.4 + 0.4*0.6 + 0.4*0.4 = 0.64
    log_probs = np.log(np.array([[0.6, 0.4], [0.6, 0.4]]))
    assert ctc.greedy(log_probs).labels == []
    assert ctc.beam_search(log_probs, beam_width=4)[0].labels == [1]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_many_texts_scored_at_once_score_as_each_alone(seed):
    log_probs = random_columns(seed)
    texts = [list(text) for text in brute_force(log_probs)] + [[1, 2, 1, 2, 1, 2], [1, 1, 1, 1, 1, 1]]
    together = ctc.text_log_probabilities(log_probs, texts)
    alone = [ctc.text_log_probability(log_probs, text) for text in texts]
    assert together == pytest.approx(alone, abs=1e-9)  # the last two are longer than the columns allow: -inf


def test_a_text_longer_than_the_columns_has_no_probability():
    assert ctc.text_log_probability(random_columns(0, columns=2), [1, 2, 1]) == -np.inf


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_alignment_spans_are_those_of_the_best_path_reading_the_text(seed):
    log_probs = random_columns(seed, columns=5, classes=3)
    best_path = max(itertools.product(range(3), repeat=5),
                    key=lambda path: log_probs[np.arange(5), path].sum())
    labels = list(collapse(best_path))
    spans = []
    previous = ctc.BLANK
    for t, k in enumerate(best_path):
        if k != ctc.BLANK and k != previous:
            spans.append([t, t])
        elif k != ctc.BLANK:
            spans[-1][1] = t
        previous = k
    assert ctc.align(log_probs, labels) == [tuple(s) for s in spans]


def test_alignment_of_a_text_the_columns_cannot_hold_is_empty():
    assert ctc.align(random_columns(0, columns=2), [1, 1]) == []  # a repeat needs a blank between: 3 columns


def _columns(rows: list[dict[str, float]]) -> np.ndarray:
    """Line-model columns (blank, space, a-z) from each column's letter probabilities; the rest blank."""
    log_probs = np.full((len(rows), 28), np.log(1e-6))
    for t, row in enumerate(rows):
        for letter, p in row.items():
            log_probs[t, 0 if letter == "-" else ctc.encode(letter)[0]] = np.log(p)
    return log_probs


def test_the_word_beam_search_walks_the_list_and_returns_only_listed_words():
    from handwritten_letters.words.lexicon import Lexicon

    # the best free reading is "hallo"; of the list, "hello" is what the columns hold
    log_probs = _columns([{"h": 0.9}, {"a": 0.6, "e": 0.4}, {"l": 0.9}, {"-": 0.9}, {"l": 0.9}, {"o": 0.9}])
    assert ctc.decode_indices(ctc.beam_search(log_probs, 4)[0].labels) == "hallo"
    lexicon = Lexicon(["hello", "help", "yellow"])
    found = [ctc.decode_indices(d.labels) for d in ctc.beam_search(log_probs, 4, lexicon=lexicon)]
    assert found == ["hello"]
    assert lexicon.starts("hel") and lexicon.starts("yellow") and not lexicon.starts("hx")
