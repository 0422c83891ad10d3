"""A run folder's files, shared by every trainer (letters, lines, fine-tuning): the best model and
the checkpoint written atomically, the history, the curves, the versions a run records.

A run directory holds ``Best_Model.keras`` (best validation accuracy so far), ``history.csv`` (one
row per finished epoch), ``curves.png``, ``run.json`` (config, data hashes, versions, timings)
and ``checkpoint/`` (the last finished epoch, for ``--resume``).
"""

from __future__ import annotations

import csv
import os
import platform
from pathlib import Path

import keras

from .. import __version__

BEST_MODEL = "Best_Model.keras"
CHECKPOINT_DIR = "checkpoint"
HISTORY_COLUMNS = ["epoch", "accuracy", "loss", "val_accuracy", "val_loss", "learning_rate", "seconds"]


def atomic_write_text(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # a full disk leaves the previous file, not a partial one


def atomic_save_model(model: keras.Model, path: Path) -> None:
    temporary = path.with_name(path.stem + ".tmp.keras")
    try:
        model.save(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_history(path: Path, history: list[dict]) -> None:
    lines = [",".join(HISTORY_COLUMNS)]
    lines += [",".join(str(row.get(c, "")) for c in HISTORY_COLUMNS) for row in history]
    atomic_write_text(path, "\n".join(lines) + "\n")


def read_history(path: Path) -> list[dict]:
    with open(path) as f:
        return [{k: float(v) if k != "epoch" else int(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def plot_curves(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("accuracy", "loss")):
        ax.plot(epochs, [r.get(metric) for r in history], marker="o", label="train")
        ax.plot(epochs, [r.get("val_" + metric) for r in history], marker="o", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric.capitalize()}: train vs validation")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version(), "handwritten-letters": __version__}
    for name in ("keras", "tensorflow-cpu", "tensorflow", "numpy", "onnxruntime"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            pass
    return versions


def machine() -> dict[str, str | int | None]:
    """The machine a run ran on, as run.json records it."""
    return {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count()}
