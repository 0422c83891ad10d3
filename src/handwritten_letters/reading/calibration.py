"""Honest confidence: temperature scaling, expected calibration error, rejection threshold.

Pure numpy/scipy, so the serving path can use it without TensorFlow.
"""

from __future__ import annotations

import math

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


MIN_COVERAGE = 0.98  # the operating point: answer at least this share of clean letters


def risk_coverage(probabilities: np.ndarray, labels: np.ndarray, thresholds: np.ndarray | None = None) -> dict:
    """For each threshold: the share of letters answered (coverage) and how many of those are right."""
    thresholds = np.round(np.arange(0.0, 1.0, 0.01), 2) if thresholds is None else thresholds
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    answered = confidence[None, :] >= thresholds[:, None]
    coverage = answered.mean(axis=1)
    right = (answered & correct[None, :]).sum(axis=1) / np.maximum(answered.sum(axis=1), 1)
    return {"threshold": thresholds.tolist(), "coverage": coverage.tolist(), "selective_accuracy": right.tolist()}


def choose_rejection_threshold(probabilities: np.ndarray, labels: np.ndarray,
                               min_coverage: float = MIN_COVERAGE) -> float:
    """The rejection threshold for the operating point: the highest threshold that still answers
    ``min_coverage`` of validation letters, and never one under which answers are mostly right.

    Answers under it are reported as "not sure" with their candidates instead of a guess.
    """
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    by_coverage = float(np.floor(np.quantile(confidence, 1.0 - min_coverage) * 100) / 100)
    mostly_wrong_below = 0.0  # the largest threshold below which answers are wrong more often than right
    for threshold in np.arange(0.05, 0.95, 0.01):
        below = confidence < threshold
        if below.sum() >= 20 and correct[below].mean() < 0.5:
            mostly_wrong_below = float(threshold)
    return round(min(by_coverage, mostly_wrong_below), 2)


def operating_point(probabilities: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    """Share answered at ``threshold``, and the accuracy of what is answered."""
    answered = probabilities.max(axis=1) >= threshold
    correct = probabilities.argmax(axis=1) == labels
    return {"threshold": threshold, "coverage": float(answered.mean()),
            "selective_accuracy": float(correct[answered].mean()) if answered.any() else float("nan")}


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% confidence interval for a proportion (Wilson score)."""
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # all right (or all wrong) has the bound exactly 1 (or 0); rounding would step a hair either side
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)
