"""Fine-tune a trained model on one person's letters, in a couple of minutes on a CPU.

1. read the user's letters (per-letter folders or a labels.csv) through the serving
   ``preprocess``; unreadable files, unknown labels and "not a letter" images are listed and skipped;
2. hold out a stratified share of them to measure;
3. mix in EMNIST training letters (replay) so the model does not forget other people's writing;
4. train a few epochs at a low learning rate with the model's own augmentation, with training's
   steps (``train.EpochBatches``, its run files);
5. export to ONNX, calibrated on held-out letters, and report before/after on the user's held-out
   letters and on EMNIST letters neither model trained on (forgetting shown, not hidden).

The run directory holds ``Best_Model.keras`` (the fine-tuned network), ``model.onnx``,
``run.json``, ``report.json``, ``history.csv`` and ``curves.png``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np

from ..errors import LettersError
from ..labels import CLASS_NAMES, NUM_CASED_CLASSES, NUM_CLASSES
from ..reading.recognize import bundled_path
from ..reading.writer_letters import read_writer_letters
from . import data
from .config import FinetuneConfig
from .model import is_cased, letter_accuracy
from .run_files import BEST_MODEL, atomic_save_model, atomic_write_text, package_versions, plot_curves, write_history
from .train import EpochBatches, balanced_class_weights

BUNDLED_KERAS = "letters-cnn.keras"
REPLAY_SAMPLE = "replay-sample.npz"
USER_WEIGHT = 8  # each user letter is seen this many times an epoch: a few hundred letters beside thousands of replay


@dataclass
class FinetuneResult:
    out_dir: Path
    model_onnx: Path
    report: dict
    skipped: list[tuple[str, str]] = field(default_factory=list)


# ----------------------------------------------------------------------------- user letters


def read_user_letters(folder: str | Path) -> tuple[data.Dataset, list[str], list[tuple[str, str]]]:
    """The user's letters as the model sees them, their file names, and every skipped file with why."""
    letters = read_writer_letters(folder)
    return data.Dataset(letters.pixels, letters.labels), letters.names, letters.skipped


# ----------------------------------------------------------------------------- replay


def write_replay_sample(run_dir: str | Path, out_path: str | Path, per_class: int = 100, seed: int = 0) -> Path:
    """From a training run's own split: ``per_class`` training letters a class to replay while
    fine-tuning, and as many validation letters to measure forgetting (neither model trained on them)."""
    run = json.loads((Path(run_dir) / "run.json").read_text())["config"]
    train_set, val_set = data.train_validation(run["train_paths"], run["val_fraction"], run["seed"], run.get("limit"))
    rng = np.random.default_rng(seed)

    def sample(dataset: data.Dataset) -> data.Dataset:
        index = np.concatenate([rng.permutation(np.flatnonzero(dataset.labels == c))[:per_class]
                                for c in range(len(CLASS_NAMES))])
        return dataset.subset(np.sort(index))

    replay, check = sample(train_set), sample(val_set)
    np.savez_compressed(out_path, replay_images=replay.images, replay_labels=replay.labels,
                        check_images=check.images, check_labels=check.labels)
    return Path(out_path)


def write_bundled_weights(model_path: str | Path, out_path: str | Path) -> Path:
    """A trained model's network and weights without its optimizer state (a third of the file),
    as the starting point ``letters finetune`` ships with."""
    trained = keras.models.load_model(model_path)
    network = keras.models.clone_model(trained)
    network.set_weights(trained.get_weights())
    network.compile(loss=trained.loss, metrics=["accuracy"])
    network.save(out_path)
    return Path(out_path)


def replay_and_check(config: FinetuneConfig) -> tuple[data.Dataset, data.Dataset, str]:
    """EMNIST letters to replay while fine-tuning, EMNIST letters to measure forgetting, and where they came from."""
    if config.replay_paths:
        train_set, val_set = data.train_validation(config.replay_paths, 0.1, config.seed)
        rng = np.random.default_rng(config.seed)
        replay = train_set.subset(np.sort(rng.permutation(len(train_set))[:5000]))
        check = val_set.subset(np.sort(rng.permutation(len(val_set))[:2600]))
        return replay, check, ", ".join(config.replay_paths)
    sample_path = bundled_path(REPLAY_SAMPLE)
    with np.load(sample_path) as sample:
        return (data.Dataset(sample["replay_images"], sample["replay_labels"]),
                data.Dataset(sample["check_images"], sample["check_labels"]), "the sample shipped with the package")


def _base_model_path(config: FinetuneConfig) -> Path:
    if config.base is None:
        return bundled_path(BUNDLED_KERAS)
    base = Path(config.base)
    path = base / BEST_MODEL if base.is_dir() else base
    if not path.exists():
        raise LettersError(f"{path}: no such model (expected a run directory or a .keras file)")
    return path


# ----------------------------------------------------------------------------- fine-tuning


def _accuracy(model: keras.Model, dataset: data.Dataset) -> float:
    if not len(dataset):
        return float("nan")
    probabilities = model.predict(dataset.images, batch_size=512, verbose=0)
    if probabilities.shape[1] == NUM_CASED_CLASSES:  # a cased network: a letter is right in either case
        probabilities = probabilities[:, :NUM_CLASSES] + probabilities[:, NUM_CLASSES:]
    return float((probabilities.argmax(axis=1) == dataset.labels).mean())


class _EpochLog(keras.callbacks.Callback):
    """Keeps each epoch's figures and prints one line per epoch (``progress``: where to, or None)."""

    def __init__(self, epochs: int, progress=None):
        super().__init__()
        self.history: list[dict] = []
        self.started = 0.0
        self.epochs, self.progress = epochs, progress

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.history.append({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()
                                                     if k in ("accuracy", "loss", "val_accuracy", "val_loss")},
                             "seconds": round(time.perf_counter() - self.started, 3)})
        if self.progress is not None:
            row = self.history[-1]
            held_out = f", your held-out letters {row['val_accuracy']:.3f}" if "val_accuracy" in row else ""
            print(f"epoch {epoch + 1}/{self.epochs}: loss {row.get('loss', float('nan')):.3f}{held_out} "
                  f"({row['seconds']:.1f} s)", file=self.progress, flush=True)


def _adapt(model: keras.Model, adapt: data.Dataset, replay: data.Dataset, holdout: data.Dataset,
           config: FinetuneConfig) -> "_EpochLog":
    """A few epochs on the user's letters (weighted up) mixed with replayed EMNIST letters."""
    mixed = data.Dataset(np.concatenate([np.repeat(adapt.images, USER_WEIGHT, axis=0), replay.images]),
                         np.concatenate([np.repeat(adapt.labels, USER_WEIGHT), replay.labels]))
    # a cased network's accuracy is its letters' (either case), as its training measured it
    accuracy = (keras.metrics.MeanMetricWrapper(letter_accuracy, name="accuracy") if is_cased(model) else "accuracy")
    model.compile(optimizer=keras.optimizers.AdamW(config.learning_rate, weight_decay=1e-4),
                  loss=model.loss, metrics=[accuracy])
    batches = EpochBatches(mixed, config.batch_size, config.seed, balanced_class_weights(mixed.labels))
    log = _EpochLog(config.epochs, sys.stdout if config.progress else None)
    model.fit(batches, validation_data=(holdout.images, holdout.labels) if len(holdout) else None,
              epochs=config.epochs, shuffle=False, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, _: batches.start_epoch(e)), log])
    return log


def finetune(config: FinetuneConfig) -> FinetuneResult:
    from .export import export_onnx

    started = time.time()
    out_dir = Path(config.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LettersError(f"{out_dir}: cannot write the run directory ({exc.strerror or exc})") from None
    user, names, skipped = read_user_letters(config.data_path)
    adapt_index, holdout_index = data.stratified_split(user.labels, config.holdout, config.seed)
    adapt, holdout = user.subset(adapt_index), user.subset(holdout_index)
    replay, check, replay_source = replay_and_check(config)
    base_path = _base_model_path(config)
    keras.utils.set_random_seed(config.seed)
    model = keras.models.load_model(base_path)
    before = {"user_holdout": _accuracy(model, holdout), "emnist_check": _accuracy(model, check)}

    log = _adapt(model, adapt, replay, holdout, config)
    after = {"user_holdout": _accuracy(model, holdout), "emnist_check": _accuracy(model, check)}
    atomic_save_model(model, out_dir / BEST_MODEL)
    write_history(out_dir / "history.csv", log.history)
    plot_curves(log.history, out_dir / "curves.png")

    report = {
        "user_letters": {"read": len(user), "adapted_on": len(adapt), "held_out": len(holdout), "skipped": len(skipped)},
        "before": before, "after": after,
        "protocol": (f"user letters: {len(holdout)} held out (stratified, seed {config.seed}), never trained on; "
                     f"EMNIST: {len(check)} letters from the base run's validation split ({replay_source}), "
                     "which neither model trained on"),
        "skipped": [{"file": f, "reason": r} for f, r in skipped],
    }
    lineage = {"base_model": str(base_path), "finetune_letters": str(len(adapt)),
               "finetune_before_after": json.dumps({"before": before, "after": after})}
    # calibrated on letters it never trained on: the user's held-out letters and the EMNIST check letters
    calibration = data.Dataset(np.concatenate([holdout.images, check.images]),
                               np.concatenate([holdout.labels, check.labels]))
    exported = export_onnx(out_dir / BEST_MODEL, out_dir / "model.onnx", model_name=f"finetuned-{out_dir.name}",
                           extra_metadata={**lineage, "training_data": f"{base_path.name} fine-tuned on {len(adapt)} "
                                           f"user letters + {len(replay)} replayed EMNIST letters"},
                           calibration=calibration)
    report["temperature"], report["rejection_threshold"] = exported.temperature, exported.rejection_threshold
    report["seconds"] = round(time.time() - started, 1)
    atomic_write_text(out_dir / "report.json", json.dumps(report, indent=2))
    atomic_write_text(out_dir / "run.json", json.dumps({
        "kind": "finetune", "config": asdict(config), "base_model": str(base_path), "replay": replay_source,
        "n_user_letters": len(user), "user_files": names, "history": log.history, "versions": package_versions(),
        "seconds": report["seconds"]}, indent=2))
    return FinetuneResult(out_dir, exported.path, report, skipped)
