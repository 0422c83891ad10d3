"""Reading a line model's output in NumPy: greedy and beam-search CTC decoding, and the
probability of a given text (for lexicon words).

Column scores come as logits (T, C) with class 0 the blank; ``alphabet[k - 1]`` is class k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..labels import LINE_ALPHABET

BLANK = 0
SPACE = 1  # the class of LINE_ALPHABET's space


def encode(text: str) -> list[int]:
    """Text as the line model's class indices (0 is the blank)."""
    return [LINE_ALPHABET.index(c) + 1 for c in text]


def decode_indices(indices) -> str:
    return "".join(LINE_ALPHABET[i - 1] for i in indices if i != BLANK)
PRUNE = np.log(1e-3)  # classes less likely than this in a column are not extended by the beam


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@dataclass
class Decoded:
    labels: list[int]  # class indices, blanks and repeats removed
    score: float  # log probability (greedy: of the best path; beam: of the text, summed over paths)
    # per label, the first and last column its best alignment emits it in; None when not aligned
    # (beam search aligns only its best text: ``align`` gives the others' when wanted)
    columns: list[tuple[int, int]] | None


def greedy(log_probs: np.ndarray) -> Decoded:
    """The best path, repeats merged, blanks dropped; with the columns each label spans."""
    best = log_probs.argmax(axis=1)
    labels, columns = [], []
    previous = BLANK
    for t, k in enumerate(best):
        k = int(k)
        if k != BLANK and k != previous:
            labels.append(k)
            columns.append((t, t))
        elif k != BLANK and k == previous:
            columns[-1] = (columns[-1][0], t)
        previous = k
    return Decoded(labels, float(log_probs[np.arange(len(best)), best].sum()), columns)


def _logsumexp(a: float, b: float) -> float:
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    high = max(a, b)
    return high + float(np.log1p(np.exp(-abs(a - b))))


def beam_search(log_probs: np.ndarray, beam_width: int = 8, prune: float = PRUNE, lexicon=None) -> list[Decoded]:
    """CTC prefix beam search: the ``beam_width`` most likely texts, each scored by the sum
    over all its alignments (classes below ``prune`` in a column are not followed, so scores
    can be a little low). Best first; only the best comes with its columns (``align``).

    With a ``lexicon`` (``words.lexicon.Lexicon``), a word-beam search: a text grows only into the
    start of a listed word (a prefix tree walked by the beam), and only listed words are returned:
    the words the model's columns hold, wherever they are from the best free reading."""
    # prefix -> (log p ending in blank, log p ending in its last label)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -np.inf)}
    allowed: dict[tuple[int, ...], bool] = {}

    def listed_start(prefix: tuple[int, ...]) -> bool:
        if prefix not in allowed:
            allowed[prefix] = lexicon.starts(decode_indices(prefix))
        return allowed[prefix]

    for column in log_probs:
        candidates = np.flatnonzero(column > prune)
        if lexicon is not None:
            candidates = candidates[candidates != SPACE]
        following: dict[tuple[int, ...], list[float]] = {}

        def add(prefix, blank_part, label_part, following=following):
            entry = following.setdefault(prefix, [-np.inf, -np.inf])
            entry[0] = _logsumexp(entry[0], blank_part)
            entry[1] = _logsumexp(entry[1], label_part)

        for prefix, (p_blank, p_label) in beams.items():
            total = _logsumexp(p_blank, p_label)
            for k in candidates:
                k = int(k)
                p = float(column[k])
                if k == BLANK:
                    add(prefix, total + p, -np.inf)
                elif prefix and prefix[-1] == k:
                    add(prefix, -np.inf, p_label + p)  # the same label goes on
                    add(prefix + (k,), -np.inf, p_blank + p)  # a repeat needs a blank between
                elif lexicon is None or listed_start(prefix + (k,)):
                    add(prefix + (k,), -np.inf, total + p)
        ranked = sorted(following.items(), key=lambda item: -_logsumexp(*item[1]))[:beam_width]
        beams = {prefix: (parts[0], parts[1]) for prefix, parts in ranked}
    ranked = sorted(beams.items(), key=lambda item: -_logsumexp(*item[1]))
    if lexicon is not None:
        ranked = [(prefix, parts) for prefix, parts in ranked
                  if prefix and decode_indices(prefix) in lexicon]
    return [Decoded(list(prefix), _logsumexp(*parts), align(log_probs, list(prefix)) if rank == 0 else None)
            for rank, (prefix, parts) in enumerate(ranked)]


def text_log_probability(log_probs: np.ndarray, labels: list[int]) -> float:
    """log P(labels | columns), summed over all alignments (the CTC forward algorithm)."""
    return float(text_log_probabilities(log_probs, [labels])[0])


def text_log_probabilities(log_probs: np.ndarray, texts: list[list[int]]) -> np.ndarray:
    """log P(text | columns) of each text, summed over all alignments (the CTC forward algorithm),
    all the texts in one pass over the columns."""
    if not texts:
        return np.zeros(0)
    states = max(2 * len(labels) + 1 for labels in texts)
    extended = np.full((len(texts), states), BLANK)
    skip = np.zeros((len(texts), states), dtype=bool)
    for row, labels in enumerate(texts):
        ext, jumps = _extended(labels)  # a label may skip the blank before it unless it repeats
        extended[row, : len(ext)], skip[row, : len(ext)] = ext, jumps
    # states past a text's own end only receive flow, never give it back: its end is read where it is
    alpha = np.full((len(texts), states), -np.inf)
    alpha[:, 0] = log_probs[0, BLANK]
    if states > 1:
        alpha[:, 1] = log_probs[0, extended[:, 1]]
    step, jump = np.full_like(alpha, -np.inf), np.full_like(alpha, -np.inf)
    for column in log_probs[1:]:
        step[:, 1:] = alpha[:, :-1]
        jump[:, 2:] = np.where(skip[:, 2:], alpha[:, :-2], -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, step), jump) + column[extended]
    ends = np.array([2 * len(labels) for labels in texts])
    rows = np.arange(len(texts))
    last = alpha[rows, ends]
    result = np.where(ends > 0, np.logaddexp(last, alpha[rows, np.maximum(ends - 1, 0)]), last)
    too_short = np.array([len(labels) > len(log_probs) for labels in texts])
    return np.where(too_short, -np.inf, result)


def _extended(labels: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The CTC states (blank, l1, blank, l2, ..., blank) and which may be entered from two back."""
    extended = [BLANK]
    for k in labels:
        extended += [k, BLANK]
    extended = np.array(extended)
    skip = np.zeros(len(extended), dtype=bool)
    skip[2:] = (extended[2:] != BLANK) & (extended[2:] != extended[:-2])
    return extended, skip


def align(log_probs: np.ndarray, labels: list[int]) -> list[tuple[int, int]]:
    """Where each label sits: the first and last column of it in the most likely path that
    reads ``labels`` (Viterbi over the CTC states). Empty if no path can."""
    if not labels or len(log_probs) < len(labels):
        return []
    extended, skip = _extended(labels)
    states = len(extended)
    score = np.full(states, -np.inf)
    score[0], score[1] = log_probs[0, BLANK], log_probs[0, extended[1]]
    came_from = np.zeros((len(log_probs), states), dtype=np.int32)
    index = np.arange(states)
    for t in range(1, len(log_probs)):
        options = np.full((3, states), -np.inf)
        options[0] = score
        options[1, 1:] = score[:-1]
        options[2, 2:] = np.where(skip[2:], score[:-2], -np.inf)
        choice = options.argmax(axis=0)
        came_from[t] = index - choice
        score = options[choice, index] + log_probs[t, extended]
    state = states - 1 if states == 1 or score[-1] >= score[-2] else states - 2
    if score[state] == -np.inf:
        return []
    spans: dict[int, list[int]] = {}
    for t in range(len(log_probs) - 1, -1, -1):
        if extended[state] != BLANK:
            spans.setdefault(state // 2, [t, t])[0] = t
        state = came_from[t, state]
    return [(spans[i][0], spans[i][1]) for i in range(len(labels))]
