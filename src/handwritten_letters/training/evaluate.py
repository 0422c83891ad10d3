"""Evaluation on held-out data: report.json, confusion matrix, error grid, reliability plot.

Works on a Keras model (``.keras``, needs the train extra) or an exported ONNX model. For
ONNX models that carry a fitted temperature, calibration is reported before and after it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..labels import CLASS_NAMES, NUM_CLASSES
from ..reading.calibration import reliability, softmax, wilson_interval
from ..reading.recognize import iter_batches
from . import data

BATCH = 1024


def model_logits(model_path: str | Path):
    """(logits function over uint8 (N, 28, 28) arrays, temperature stored with the model)."""
    model_path = Path(model_path)
    if model_path.suffix == ".onnx":
        from ..reading.recognize import OnnxModel

        onnx_model = OnnxModel(model_path)
        return onnx_model.logits, onnx_model.temperature
    from .export import load_keras_logits_model

    keras_model = load_keras_logits_model(model_path)
    return (lambda images: keras_model.predict(images, batch_size=BATCH, verbose=0)), 1.0


def compare_paired(predicted: np.ndarray, baseline_predicted: np.ndarray, labels: np.ndarray) -> dict:
    """Two models on the same images: accuracy difference with a 95% CI for paired proportions
    and the exact McNemar test (only the images where exactly one of the two is right count)."""
    from scipy.stats import binomtest

    n = len(labels)
    right, baseline_right = predicted == labels, baseline_predicted == labels
    only_model = int((right & ~baseline_right).sum())
    only_baseline = int((~right & baseline_right).sum())
    difference = (only_model - only_baseline) / n
    spread = math.sqrt(max(only_model + only_baseline - n * difference * difference, 0.0)) / n
    discordant = only_model + only_baseline
    p_value = binomtest(min(only_model, only_baseline), discordant, 0.5).pvalue if discordant else 1.0
    return {
        "baseline_accuracy": float(baseline_right.mean()),
        "baseline_accuracy_95ci": list(wilson_interval(int(baseline_right.sum()), n)),
        "accuracy_difference": difference,
        "accuracy_difference_95ci": [difference - 1.96 * spread, difference + 1.96 * spread],
        "only_model_right": only_model,
        "only_baseline_right": only_baseline,
        "mcnemar_p_value": float(p_value),
    }


def build_report(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> dict:
    from sklearn.metrics import classification_report, confusion_matrix

    probabilities = softmax(logits)
    predicted = probabilities.argmax(axis=1)
    n = len(labels)
    correct = int((predicted == labels).sum())
    top3 = np.argsort(-logits, axis=1)[:, :3]
    present = sorted(set(labels.tolist()) | set(predicted.tolist()))
    per_class = classification_report(
        labels, predicted, labels=present, target_names=[CLASS_NAMES[i] for i in present],
        output_dict=True, zero_division=0,
    )
    matrix = confusion_matrix(labels, predicted, labels=list(range(NUM_CLASSES)))
    off_diagonal = [
        (int(matrix[t, p]), CLASS_NAMES[t], CLASS_NAMES[p])
        for t in range(NUM_CLASSES) for p in range(NUM_CLASSES) if t != p and matrix[t, p]
    ]
    off_diagonal.sort(reverse=True)
    low, high = wilson_interval(correct, n)
    report = {
        "n": n,
        "accuracy": correct / n,
        "accuracy_95ci": [low, high],
        "top3_accuracy": float((top3 == labels[:, None]).any(axis=1).mean()),
        "classes_present": [CLASS_NAMES[i] for i in sorted(set(labels.tolist()))],
        "per_class": {
            k: {"precision": v["precision"], "recall": v["recall"], "f1": v["f1-score"], "support": int(v["support"])}
            for k, v in per_class.items() if k in CLASS_NAMES
        },
        "most_confused": [{"true": t, "predicted": p, "count": c} for c, t, p in off_diagonal[:15]],
        "calibration": {"ece_before_temperature": reliability(probabilities, labels)["ece"]},
    }
    if temperature != 1.0:
        report["calibration"].update(
            temperature=temperature, ece_after_temperature=reliability(softmax(logits, temperature), labels)["ece"]
        )
    return report


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion_matrix(labels: np.ndarray, predicted: np.ndarray, path: Path) -> None:
    import seaborn as sns
    from sklearn.metrics import confusion_matrix

    plt = _pyplot()
    shown = sorted(set(labels.tolist()) | set(predicted.tolist()))
    matrix = confusion_matrix(labels, predicted, labels=shown)
    names = [CLASS_NAMES[i] for i in shown]
    fig, ax = plt.subplots(figsize=(12, 10))
    sns.heatmap(matrix, annot=len(shown) <= 26, fmt="d", cmap="Blues", xticklabels=names, yticklabels=names,
                ax=ax, cbar_kws={"label": "images"}, annot_kws={"size": 7})
    ax.set_xlabel("predicted letter")
    ax.set_ylabel("true letter")
    ax.set_title(f"Confusion matrix ({len(labels)} images)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_errors(images: np.ndarray, labels: np.ndarray, predicted: np.ndarray, path: Path, limit: int = 48) -> None:
    plt = _pyplot()
    wrong = np.flatnonzero(predicted != labels)[:limit]
    columns = 8
    rows = max(1, math.ceil(len(wrong) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.4, rows * 1.6), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong):
        ax.imshow(images[i], cmap="gray_r")
        ax.set_title(f"{CLASS_NAMES[labels[i]]} → {CLASS_NAMES[predicted[i]]}", fontsize=10)
    fig.suptitle(f"Misclassified: true → predicted (first {len(wrong)} of {int((predicted != labels).sum())})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_reliability(logits: np.ndarray, labels: np.ndarray, temperature: float, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="perfect calibration")
    curves = [("before temperature", 1.0)] + ([("after temperature", temperature)] if temperature != 1.0 else [])
    for name, t in curves:
        result = reliability(softmax(logits, t), labels)
        ax.plot([b["confidence"] for b in result["bins"]], [b["accuracy"] for b in result["bins"]],
                marker="o", label=f"{name} (T={t:.2f}, ECE={result['ece'] * 100:.2f}%)")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate(model_path: str | Path, data_paths, out_dir: str | Path, baseline_path: str | Path | None = None) -> dict:
    """Evaluate a model on data it never trained on; writes the report and plots to ``out_dir``.

    With ``baseline_path``, the report also compares the two models on the same images.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = data.expand_paths([data_paths] if isinstance(data_paths, (str, Path)) else data_paths, "test")
    # the same record in two files (test10k is the start of test14800) must not count twice
    dataset, duplicates = data.load(files).without_duplicates()
    logits_of, temperature = model_logits(model_path)
    logits = np.concatenate([logits_of(dataset.images[s]) for s in iter_batches(len(dataset), BATCH)])
    report = build_report(logits, dataset.labels, temperature)
    report["model"] = str(model_path)
    report["data"] = [str(p) for p in files]
    report["duplicates_dropped"] = duplicates
    predicted = logits.argmax(axis=1)
    if baseline_path is not None:
        baseline_of, _ = model_logits(baseline_path)
        baseline_predicted = np.concatenate(
            [baseline_of(dataset.images[s]).argmax(axis=1) for s in iter_batches(len(dataset), BATCH)])
        report["comparison"] = {"baseline": str(baseline_path),
                                **compare_paired(predicted, baseline_predicted, dataset.labels)}
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    plot_confusion_matrix(dataset.labels, predicted, out_dir / "confusion_matrix.png")
    plot_errors(dataset.images, dataset.labels, predicted, out_dir / "errors.png")
    plot_reliability(logits, dataset.labels, temperature, out_dir / "reliability.png")
    return report
