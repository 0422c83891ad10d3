"""Training: the seed notebook's loop (EarlyStopping, ReduceLROnPlateau, best checkpoint),
made reproducible and resumable.

A run directory holds:
- ``Best_Model.keras``  best validation accuracy so far, written atomically
- ``history.csv``       one row per finished epoch
- ``curves.png``        accuracy and loss, train vs validation
- ``run.json``          config, data hashes, versions, timings, best epoch and metrics
- ``checkpoint/``       the last finished epoch (model + optimizer + callback state) for ``--resume``

Kill the process at any point: every finished epoch is on disk, and ``resume=True`` goes on
from the last one.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from ..errors import LettersError
from ..labels import CLASS_NAMES, NUM_CLASSES, SAME_SHAPE_CASES
from . import data, font_letters, redraw
from .config import LineTrainConfig, Recipe, TrainConfig, recipe_named, variant
from .recipes import build_training_model
from .run_files import (
    BEST_MODEL,
    CHECKPOINT_DIR,
    atomic_save_model,
    atomic_write_text,
    machine,
    package_versions,
    plot_curves,
    write_history,
)

# below any validation score: a line model's character accuracy (1 - CER) is negative while it
# inserts more characters than a line has, and its first epoch must still be kept as the best so far
NO_SCORE = float("-inf")
VALIDATION_VARIANT_SEED = 1000  # offset of the seed that redraws validation letters (export redraws them the same)


@dataclass
class TrainResult:
    out_dir: Path
    best_model: Path
    best_epoch: int
    best_val_accuracy: float
    epochs_run: int
    interrupted: bool = False
    history: list[dict] = field(default_factory=list)


def balanced_class_weights(labels: np.ndarray) -> dict[int, float]:
    counts = np.bincount(labels)
    present = np.flatnonzero(counts)
    return {int(c): float(len(labels) / (len(present) * counts[c])) for c in present}


class RunState(keras.callbacks.Callback):
    """Writes everything a resumed run needs at the end of every epoch, atomically."""

    def __init__(self, out_dir: Path, early_stopping, reduce_lr, history: list[dict], best: float):
        super().__init__()
        self.out_dir = out_dir
        self.early_stopping = early_stopping
        self.reduce_lr = reduce_lr
        self.history = history
        self.best = best
        self.epoch_started = 0.0
        self.learning_rate = 0.0
        self.saved_epoch = history[-1]["epoch"] if history else 0  # the last epoch whose checkpoint is whole

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.perf_counter()
        self.learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        row = {
            "epoch": epoch + 1,
            **{k: float(logs[k]) for k in ("accuracy", "loss", "val_accuracy", "val_loss") if k in logs},
            "learning_rate": self.learning_rate,
            "seconds": round(time.perf_counter() - self.epoch_started, 3),
        }
        self.history.append(row)
        if row.get("val_accuracy", NO_SCORE) > self.best:
            self.best = row["val_accuracy"]
            atomic_save_model(self.model, self.out_dir / BEST_MODEL)
        write_history(self.out_dir / "history.csv", self.history)
        checkpoint = self.out_dir / CHECKPOINT_DIR
        checkpoint.mkdir(exist_ok=True)
        name = f"epoch-{epoch + 1:03d}.keras"
        atomic_save_model(self.model, checkpoint / name)
        state = {
            "epoch": epoch + 1,
            "model": name,
            "best_val_accuracy": self.best,
            "history": self.history,
            "seed_generators": seed_generator_states(self.model),
            "early_stopping": {"wait": self.early_stopping.wait, "best": _float_or_none(self.early_stopping.best),
                               "best_epoch": self.early_stopping.best_epoch},
            "reduce_lr": None if self.reduce_lr is None else {
                "wait": self.reduce_lr.wait, "best": _float_or_none(self.reduce_lr.best),
                "cooldown_counter": self.reduce_lr.cooldown_counter},
        }
        atomic_write_text(checkpoint / "state.json", json.dumps(state, indent=1))
        self.saved_epoch = epoch + 1
        for old in checkpoint.glob("epoch-*.keras"):
            if old.name != name:
                old.unlink()


def seed_generator_states(model: keras.Model) -> dict[str, list[int]]:
    """Where each random layer (dropout, augmentation) is in its random stream.

    ``model.save`` does not store these, so a resumed run would draw other dropout masks and
    distortions than an uninterrupted one; the checkpoint keeps them beside the model.
    """
    return {layer.name: [int(v) for v in keras.ops.convert_to_numpy(layer.seed_generator.state)]
            for layer in model._flatten_layers() if isinstance(getattr(layer, "seed_generator", None),
                                                               keras.random.SeedGenerator)}


def restore_seed_generator_states(model: keras.Model, states: dict[str, list[int]]) -> None:
    for layer in model._flatten_layers():
        if layer.name in states:
            generator = layer.seed_generator
            generator.state.assign(np.array(states[layer.name], dtype=generator.state.dtype))


def _float_or_none(value) -> float | None:
    return None if value is None else float(value)


def data_fingerprint(config: TrainConfig) -> dict[str, str]:
    files = []
    for path in data.expand_paths(config.train_paths, "train"):
        files.append(path)
        if data.IMAGES_SUFFIX.search(path.name):
            files.append(data.matching_labels_file(path))
    return {str(p): data.file_sha256(p) for p in files}


def _fonts_record(config: TrainConfig) -> dict:
    font_dir = font_directory(config)
    return {"folder": str(font_dir), "fonts_csv_sha256": data.file_sha256(font_dir / "fonts.csv"),
            "training": font_letters.training_fonts(font_dir), "held_out": list(font_letters.HELD_OUT)}


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt


# ----------------------------------------------------------------------------- steps


def resolve_recipe(config: TrainConfig) -> Recipe:
    recipe = config.recipe if isinstance(config.recipe, Recipe) else recipe_named(config.recipe)
    return variant(recipe, learning_rate=config.learning_rate) if config.learning_rate is not None else recipe


def start_from_weights(model: keras.Model, path: str) -> None:
    """Another run's weights (the same network) as the starting point, instead of random ones.

    A 26-letter network can start a cased one: everything but the last layer is taken over.
    """
    try:
        source = keras.models.load_model(path, compile=False).get_weights()
    except (OSError, ValueError) as exc:
        raise LettersError(f"{path}: not a model to start from ({exc})") from None
    target = model.get_weights()
    shapes_differ = [i for i, (a, b) in enumerate(zip(source, target)) if a.shape != b.shape]
    if len(source) != len(target) or any(i < len(target) - 2 for i in shapes_differ):
        raise LettersError(f"{path}: not a model of this network's shape to start from")
    model.set_weights([b if i in shapes_differ else a for i, (a, b) in enumerate(zip(source, target))])


def load_split(config: TrainConfig) -> tuple[data.Dataset, data.Dataset, dict]:
    """The training and validation sets, and what identifies them (stored in run.json)."""
    train_set, val_set = data.train_validation(config.train_paths, config.val_fraction, config.seed, config.limit)
    split = {"train_sha256": train_set.fingerprint(), "validation_sha256": val_set.fingerprint(),
             "n_train": len(train_set), "n_validation": len(val_set)}
    return train_set, val_set, split


# run.json entries that must match for a resumed run to be the same run
RESUME_MUST_MATCH = ("val_fraction", "seed", "limit", "batch_size", "class_weight", "recipe", "epochs_planned",
                     "init_from")


def resume_differences(previous: dict, current: dict, must_match: tuple[str, ...] = RESUME_MUST_MATCH) -> list[str]:
    """What differs between a run on disk and the run asked for, as readable lines.

    A plateau-schedule run may be continued for more epochs; a cosine schedule is laid out over
    the planned epochs, so those must match too.
    """
    before, now = previous.get("settings", {}), current["settings"]
    keys = [k for k in must_match
            if k != "epochs_planned" or before.get("recipe", {}).get("schedule") == "cosine"]
    differences = [f"{key}: was {before.get(key)!r}, now {now.get(key)!r}" for key in keys
                   if before.get(key) != now.get(key)]
    if previous.get("data_sha256") != current["data_sha256"]:
        differences.append("the training data files differ (sha256)")
    elif previous.get("split") != current["split"]:
        differences.append("the training/validation split differs")
    return differences


class EpochBatches(keras.utils.PyDataset):
    """Batches in an order drawn from (seed, epoch) alone, so a resumed run sees the same
    batches as an uninterrupted one (Keras' own shuffling follows the process's random state).

    ``start_epoch`` is called from ``on_epoch_begin`` with the epoch's number (Keras also calls
    ``on_epoch_end`` once before training, so counting those calls would be off by one).
    """

    def __init__(self, dataset: data.Dataset, batch_size: int, seed: int, class_weight: dict[int, float] | None,
                 cased: bool = False, fresh: Callable[[int], data.Dataset] | None = None):
        super().__init__()
        self.dataset, self.cased, self.fresh, self.class_weight = dataset, cased, fresh, class_weight
        self.batch_size, self.seed = batch_size, seed
        self.epoch = None
        self._use(dataset)
        self.start_epoch(0)

    def _use(self, dataset: data.Dataset) -> None:
        self.images, self.labels = dataset.images, training_targets(dataset, self.cased)
        self.weights = (np.array([self.class_weight.get(c, 0.0) for c in range(int(dataset.labels.max()) + 1)],
                                 dtype=np.float32)[dataset.labels] if self.class_weight else None)

    def start_epoch(self, epoch: int) -> None:
        if epoch == self.epoch:  # prepared already (the constructor prepares epoch 0, then fit asks for it)
            return
        self.epoch = epoch
        if self.fresh is not None:  # letters made afresh each epoch (fonts) join the fixed ones; same count
            self._use(data.concatenate([self.dataset, self.fresh(epoch)]))
        self.order = np.random.default_rng([self.seed, epoch]).permutation(len(self.labels))

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def __getitem__(self, index: int):
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        if self.weights is None:
            return self.images[rows], self.labels[rows]
        return self.images[rows], self.labels[rows], self.weights[rows]


def training_targets(dataset: data.Dataset, cased: bool) -> np.ndarray:
    """What a network is trained to answer: the letter, or for a cased network letter + 26 * case
    (model.CasedLetterLoss), with case unknown for letters whose two cases share one shape."""
    if not cased:
        return dataset.labels
    cases = dataset.case_labels().astype(np.int64)
    same_shape = np.isin(dataset.labels, [CLASS_NAMES.index(c) for c in SAME_SHAPE_CASES])
    return dataset.labels + NUM_CLASSES * np.where(same_shape, data.CASE_UNKNOWN, cases)


def fresh_font_letters(recipe: Recipe, config: TrainConfig) -> Callable[[int], data.Dataset] | None:
    """For a recipe with font letters: each epoch's renderings of the training fonts."""
    if not recipe.font_renderings:
        return None
    font_dir = font_directory(config)
    fonts = font_letters.training_fonts(font_dir) + list(recipe.stroke_hands)
    joined = recipe.joined_renderings or recipe.font_renderings
    joined_capitals = recipe.joined_capital_renderings or joined
    strokes = recipe.stroke_renderings or None
    count = sum(font_letters.renderings_of(glyph, recipe.font_renderings, joined, joined_capitals, strokes)
                for glyph in font_letters.glyphs(str(font_dir), tuple(fonts)))

    def letters(epoch: int) -> data.Dataset:
        made = font_letters.letters(font_dir, fonts, recipe.font_renderings, config.seed * 1000 + epoch,
                                    font_letters.variation_with(recipe.font_variations), joined_per_glyph=joined,
                                    joined_capital_per_glyph=joined_capitals, stroke_per_glyph=strokes)
        return made.subset(np.resize(np.arange(len(made)), count))  # a refused rendering is made up by a repeat

    return letters


def font_directory(config: TrainConfig | LineTrainConfig) -> Path:
    """The handwriting fonts a run trains on (its own, or those beside the project)."""
    found = config.font_dir or font_letters.default_font_dir()
    if not found or not Path(found).is_dir():
        raise LettersError(f"{found or 'the handwriting fonts'}: no such folder; this run trains on handwriting "
                           f"fonts: give --fonts DIR (a folder with fonts.csv)")
    return Path(found)


def _run_settings(config: TrainConfig, recipe: Recipe, epochs: int) -> dict:
    return json.loads(json.dumps({"val_fraction": config.val_fraction, "seed": config.seed, "limit": config.limit,
            "batch_size": config.batch_size, "class_weight": config.class_weight, "recipe": asdict(recipe),
            # as run.json will hold them (tuples become lists)
            "epochs_planned": epochs, "init_from": config.init_from}))


def load_resume_state(out_dir: Path, run_info: dict, must_match: tuple[str, ...] = RESUME_MUST_MATCH) -> dict:
    state_path = out_dir / CHECKPOINT_DIR / "state.json"
    if not state_path.exists():
        raise LettersError(f"{out_dir}: nothing to resume (no {CHECKPOINT_DIR}/state.json)")
    differences = resume_differences(json.loads((out_dir / "run.json").read_text()), run_info, must_match)
    if differences:
        raise LettersError(f"{out_dir}: cannot resume, this is not the same run: " + "; ".join(differences)
                           + ". Start a new run with another --out, or resume with the original settings.")
    return json.loads(state_path.read_text())


def make_callbacks(recipe: Recipe, config: TrainConfig, out_dir: Path, state: dict | None) -> list:
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", mode="max", patience=recipe.early_stopping_patience, restore_best_weights=True
    )
    # the seed's plateau schedule; a cosine recipe schedules its learning rate in the optimizer
    reduce_lr = keras.callbacks.ReduceLROnPlateau(
        monitor="val_loss", factor=0.5, patience=config.reduce_lr_patience, min_lr=1e-5
    ) if recipe.schedule == "plateau" else None
    history, best = [], NO_SCORE
    if state:
        history, best = state["history"], state["best_val_accuracy"]
        es = state["early_stopping"]
        _restore_on_train_begin(early_stopping, {
            "wait": es["wait"], "best": es["best"], "best_epoch": es["best_epoch"],
            "best_weights": keras.models.load_model(out_dir / BEST_MODEL).get_weights(),
        })
        if reduce_lr is not None:
            _restore_on_train_begin(reduce_lr, state["reduce_lr"])
    run_state = RunState(out_dir, early_stopping, reduce_lr, history, best)
    # run_state last: it records the state the other callbacks reached this epoch
    return [c for c in (early_stopping, reduce_lr, run_state) if c is not None]


def fit_epochs(model: keras.Model, train_set: data.Dataset, val_set: data.Dataset, config: TrainConfig,
               epochs: int, initial_epoch: int, callbacks: list, class_weight: dict[int, float] | None) -> bool:
    """Train from ``initial_epoch`` to ``epochs``; returns whether Ctrl-C or SIGTERM stopped it."""
    verbose = config.verbose if config.verbose is not None else (1 if sys.stderr.isatty() else 2)
    recipe = resolve_recipe(config)
    batches = EpochBatches(train_set, config.batch_size, config.seed, class_weight, recipe.cased,
                           fresh_font_letters(recipe, config))
    order = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: batches.start_epoch(epoch))
    validation = (val_set.images, training_targets(val_set, recipe.cased))
    return run_fit(lambda: model.fit(batches, validation_data=validation, epochs=epochs,
                                     shuffle=False, initial_epoch=initial_epoch, verbose=verbose,
                                     callbacks=[order, *callbacks]),
                   config.out_dir, callbacks[-1])


def run_fit(fit, out_dir: str, run_state: RunState) -> bool:
    """Call ``fit()``; returns whether Ctrl-C or SIGTERM stopped it. A failed write (full disk,
    folder gone) becomes one readable error saying which epoch's files are whole."""
    previous_handler = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        fit()
    except KeyboardInterrupt:
        return True
    except OSError as exc:  # every file written so far is whole
        finished = run_state.saved_epoch
        raise LettersError(
            f"{out_dir}: cannot write the run ({exc.strerror or exc}); "
            + (f"the checkpoint of epoch {finished} and {BEST_MODEL} are intact: make room, then continue with "
               f"--resume" if finished else "no epoch had finished")
        ) from None
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
    return False


def finish_run(out_dir: Path, run_info: dict, history: list[dict], n_train: int, started: float,
               interrupted: bool) -> dict:
    if not history:
        raise LettersError(f"{out_dir}: interrupted before the first epoch finished; nothing was saved")
    best_row = max(history, key=lambda r: r.get("val_accuracy", NO_SCORE))
    plot_curves(history, out_dir / "curves.png")
    train_seconds = sum(r["seconds"] for r in history)
    run_info.update(
        status="interrupted" if interrupted else "finished",
        epochs_run=len(history),
        best_epoch=best_row["epoch"],
        best_validation={k: best_row[k] for k in ("val_accuracy", "val_loss") if k in best_row},
        timings={
            "train_seconds": round(train_seconds, 1),
            "wall_seconds": round(time.time() - started, 1),
            "train_images_per_second": round(n_train * len(history) / max(train_seconds, 1e-9), 1),
        },
    )
    atomic_write_text(out_dir / "run.json", json.dumps(run_info, indent=2))
    return best_row


def writable_run_directory(path: str) -> Path:
    """The run directory, made and checked writable before any work is spent on the run."""
    out_dir = Path(path)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / ".writable").touch()
        (out_dir / ".writable").unlink()
    except OSError as exc:
        raise LettersError(f"{out_dir}: cannot write the run directory ({exc.strerror or exc})") from None
    return out_dir


def _run_record(config: TrainConfig, recipe: Recipe, epochs: int, train_set: data.Dataset, val_set: data.Dataset,
                split: dict) -> dict:
    """What run.json records of a run before it starts: settings, data hashes, the split, versions, machine."""
    return {
        "config": asdict(config),
        "recipe": asdict(recipe),
        "settings": _run_settings(config, recipe, epochs),
        "epochs": epochs,
        "data_sha256": data_fingerprint(config),
        "split": split,
        "n_train": len(train_set),
        "n_validation": len(val_set),
        "train_class_counts": train_set.class_counts().tolist(),
        **({"fonts": _fonts_record(config)} if recipe.font_renderings else {}),
        "versions": package_versions(),
        "machine": machine(),
        "status": "running",
    }


def train(config: TrainConfig) -> TrainResult:
    """Train a recipe's CNN; returns where the best model is and how good it was on validation."""
    out_dir = writable_run_directory(config.out_dir)
    started = time.time()
    recipe = resolve_recipe(config)
    epochs = config.epochs or recipe.epochs
    train_set, val_set, split = load_split(config)
    run_info = _run_record(config, recipe, epochs, train_set, val_set, split)
    state = load_resume_state(out_dir, run_info) if config.resume else None
    keras.utils.set_random_seed(config.seed)
    # weights from the data as it is: letters a recipe adds (dotted i's) add to their class's weight
    # instead of diluting it, so the letters already there keep the balance they had
    class_weight = balanced_class_weights(train_set.labels) if config.class_weight == "balanced" else None
    train_set = redraw.as_trained(train_set, recipe.variants, recipe.synthetic, config.seed)
    val_set = redraw.as_trained(val_set, recipe.variants, recipe.synthetic, config.seed + VALIDATION_VARIANT_SEED)
    if state:
        model = keras.models.load_model(out_dir / CHECKPOINT_DIR / state["model"])
        restore_seed_generator_states(model, state.get("seed_generators", {}))
    else:
        model = build_training_model(recipe, -(-len(train_set) // config.batch_size), epochs)
        if config.init_from:
            start_from_weights(model, config.init_from)
    callbacks = make_callbacks(recipe, config, out_dir, state)
    atomic_write_text(out_dir / "run.json", json.dumps(run_info, indent=2))

    initial_epoch = state["epoch"] if state else 0
    stopped_early = bool(state) and state["early_stopping"]["wait"] >= recipe.early_stopping_patience
    interrupted = False
    if initial_epoch < epochs and not stopped_early:
        interrupted = fit_epochs(model, train_set, val_set, config, epochs, initial_epoch, callbacks, class_weight)
    history = callbacks[-1].history
    best_row = finish_run(out_dir, run_info, history, len(train_set), started, interrupted)
    return TrainResult(
        out_dir=out_dir, best_model=out_dir / BEST_MODEL, best_epoch=best_row["epoch"],
        best_val_accuracy=best_row.get("val_accuracy", float("nan")), epochs_run=len(history),
        interrupted=interrupted, history=history,
    )


def _restore_on_train_begin(callback: keras.callbacks.Callback, saved: dict) -> None:
    """Keras resets these callbacks in on_train_begin; put the resumed run's state back after it."""
    reset = callback.on_train_begin

    def on_train_begin(logs=None):
        reset(logs)
        for name, value in saved.items():
            setattr(callback, name, value)

    callback.on_train_begin = on_train_begin
