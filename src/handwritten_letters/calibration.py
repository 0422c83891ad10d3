"""Honest confidence: temperature scaling, expected calibration error, rejection threshold.

Pure numpy/scipy, so the serving path can use it without TensorFlow.
"""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising validation NLL (Guo et al., 2017)."""
    from scipy.optimize import minimize_scalar

    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, labels, float(np.exp(log_t))),
        bounds=(np.log(0.05), np.log(20.0)), method="bounded",
    )
    return float(np.exp(result.x))


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> dict:
    """Per-bin confidence and accuracy, and the expected calibration error (ECE)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows = []
    ece = 0.0
    for b in range(bins):
        members = which == b
        if not members.any():
            continue
        conf, acc = float(confidence[members].mean()), float(correct[members].mean())
        ece += members.mean() * abs(conf - acc)
        rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "count": int(members.sum()),
                     "confidence": conf, "accuracy": acc})
    return {"ece": float(ece), "bins": rows}


def choose_rejection_threshold(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The largest confidence below which validation answers are wrong more often than right.

    Answers under this threshold are reported as "not a letter (low confidence)" instead of a guess.
    """
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    chosen = 0.0
    for threshold in np.arange(0.05, 0.95, 0.01):
        below = confidence < threshold
        if below.sum() >= 20 and correct[below].mean() < 0.5:
            chosen = float(threshold)
    return round(chosen, 2)
