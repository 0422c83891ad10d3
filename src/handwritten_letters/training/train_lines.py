"""Training the line (CTC) model on synthetic lines, with the letter trainer's run conventions.

The run directory holds what ``train`` writes (``Best_Model.keras``, ``history.csv``,
``curves.png``, ``run.json``, ``checkpoint/`` for ``--resume``). "accuracy" in the history is
the character accuracy (1 - character error rate) of greedy decoding on the validation lines,
which are composed once, from validation letters only, with a fixed seed.

Lines are drawn from (seed, epoch, batch) alone, so a resumed run sees the lines an
uninterrupted one would have.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import keras
import numpy as np

from ..errors import LettersError
from ..words import ctc
from ..words.ctc import decode_indices
from ..words.lexicon import english_words
from . import font_letters, redraw, run_files, train
from .config import LineTrainConfig
from .font_lines import FontLineWriter
from .line_model import build_line_model, compile_line_model
from .pen_words import PenWordWriter
from .synthetic_lines import TRAINING_STYLE, LineComposer, MixedLines, batch_of_lines

VALIDATION_SEED_OFFSET = 1000
LENGTH_GROUP = 8  # batches drawn together and sorted by text length, so a batch pads little
# Keras fixes the input shape from the first two batches it sees: the shortest and the longest
# lines of a group come first, so the width is left open (None) in the traced signature
GROUP_ORDER = (0, 7, 1, 6, 2, 5, 3, 4)


@dataclass
class _Schedule:
    """What train.make_callbacks reads from a recipe."""

    early_stopping_patience: int
    schedule: str = "cosine"


def as_composed(letters, config: LineTrainConfig, seed: int):
    return redraw.as_trained(letters, tuple(config.variants), tuple(config.synthetic), seed)


def _letter_config(config: LineTrainConfig) -> train.TrainConfig:
    """The letter split the lines are composed from: the same files, fraction and seed as ``letters train``."""
    return train.TrainConfig(train_paths=config.train_paths, out_dir=config.out_dir,
                             val_fraction=config.val_fraction, seed=config.seed, limit=config.limit)


def mixed_lines(letters, config: LineTrainConfig, words: list[str], fonts: str, seed: int) -> MixedLines:
    """Lines from these letters and, for ``config.font_share`` and ``config.pen_words`` of them, written
    in the ``fonts`` ("training" or "held-out"): their glyphs, and pen words in their hands."""
    composer = LineComposer(as_composed(letters, config, seed), words,
                            replace(TRAINING_STYLE, proportions=config.proportions, pen_lines=config.pen_lines))
    if not config.font_share and not config.pen_words:
        return MixedLines(composer)
    font_dir = train.font_directory(config)
    names = font_letters.training_fonts(font_dir) if fonts == "training" else list(font_letters.HELD_OUT)
    return MixedLines(composer, FontLineWriter(font_dir, names) if config.font_share else None, config.font_share,
                      PenWordWriter(font_dir, names) if config.pen_words else None, config.pen_words)


def validation_lines(val_letters, config: LineTrainConfig, words: list[str]):
    """The run's validation lines, composed once from validation letters only (and held-out fonts),
    training and export alike."""
    lines = mixed_lines(val_letters, config, words, "held-out", config.seed + VALIDATION_SEED_OFFSET)
    return validation_batches(lines, config.validation_lines, config.batch_size, config.seed)


class LineBatches(keras.utils.PyDataset):
    """Freshly composed lines every batch; the same (seed, epoch, index) gives the same batch."""

    def __init__(self, composer: MixedLines, batch_size: int, steps: int, seed: int):
        super().__init__()
        self.composer, self.batch_size, self.steps, self.seed = composer, batch_size, steps, seed
        self.epoch = 0

    def start_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int):
        group = np.random.default_rng([self.seed, self.epoch, index // LENGTH_GROUP])
        texts = sorted((self.composer.text(group) for _ in range(LENGTH_GROUP * self.batch_size)), key=len)
        part = GROUP_ORDER[index % LENGTH_GROUP]
        texts = texts[part * self.batch_size : (part + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, index, 1])
        return batch_of_lines([self.composer.line(t, rng) for t in texts], texts)


def validation_batches(composer: MixedLines, count: int, batch_size: int,
                       seed: int) -> list[tuple[np.ndarray, np.ndarray, list[str]]]:
    rng = np.random.default_rng([seed, VALIDATION_SEED_OFFSET])
    texts = sorted((composer.text(rng) for _ in range(count)), key=len)
    batches = []
    for start in range(0, count, batch_size):
        chunk = texts[start : start + batch_size]
        images, labels = batch_of_lines([composer.line(t, rng) for t in chunk], chunk)
        batches.append((images, labels, chunk))
    return batches


def character_accuracy(logits_batches: list[np.ndarray], texts: list[str]) -> float:
    from rapidfuzz.distance import Levenshtein

    errors = characters = 0
    for logits, text in zip((row for batch in logits_batches for row in batch), texts):
        read = decode_indices(ctc.greedy(ctc.log_softmax(logits)).labels)
        errors += Levenshtein.distance(read, text)
        characters += len(text)
    return 1.0 - errors / max(characters, 1)


class LineValidation(keras.callbacks.Callback):
    """Puts the validation lines' CTC loss (``val_loss``, as ``evaluate`` would: the mean over
    lines) and character accuracy (``val_accuracy``) in the epoch's logs, before early stopping
    and the run state read them: one pass of the model over the lines gives both."""

    def __init__(self, batches):
        super().__init__()
        self.batches = batches
        self.loss = keras.losses.CTC()

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        outputs, total_loss = [], 0.0
        for images, labels, _ in self.batches:
            logits = self.model(images, training=False)
            total_loss += float(keras.ops.convert_to_numpy(self.loss(labels, logits))) * len(images)
            outputs.append(keras.ops.convert_to_numpy(logits))
        logs["val_loss"] = total_loss / sum(len(images) for images, _, _ in self.batches)
        logs["val_accuracy"] = character_accuracy(outputs, [t for _, _, texts in self.batches for t in texts])


def _settings(config: LineTrainConfig) -> dict:
    keep = ("val_fraction", "seed", "epochs", "steps_per_epoch", "batch_size", "validation_lines",
            "learning_rate", "width", "limit", "variants", "synthetic", "init_from", "line_seed", "font_share",
            "proportions", "pen_lines", "pen_words")
    return json.loads(json.dumps({k: getattr(config, k) for k in keep}))  # as run.json holds them


def _run_record(config: LineTrainConfig, letter_config: train.TrainConfig, split: dict) -> dict:
    """What run.json records of a line run before it starts."""
    return {
        "kind": "lines",
        "config": asdict(config),
        "settings": _settings(config),
        "data_sha256": train.data_fingerprint(letter_config),
        "split": split,
        "versions": run_files.package_versions(),
        "machine": run_files.machine(),
        "status": "running",
    }


def train_lines(config: LineTrainConfig) -> train.TrainResult:
    """Train the line model on freshly composed lines; resumable and recorded like a letter run."""
    out_dir = train.writable_run_directory(config.out_dir)
    started = time.time()
    letter_config = _letter_config(config)
    train_letters, val_letters, split = train.load_split(letter_config)
    words = english_words()
    composer = mixed_lines(train_letters, config, words, "training", config.seed)
    run_info = _run_record(config, letter_config, split)
    # every setting must match: the cosine schedule is laid out over the planned epochs
    state = train.load_resume_state(out_dir, run_info, tuple(run_info["settings"])) if config.resume else None
    keras.utils.set_random_seed(config.seed)
    if state:
        model = keras.models.load_model(out_dir / run_files.CHECKPOINT_DIR / state["model"])
        train.restore_seed_generator_states(model, state.get("seed_generators", {}))
    else:
        model = compile_line_model(build_line_model(config.width), config.learning_rate,
                                   config.epochs * config.steps_per_epoch)
        if config.init_from:
            train.start_from_weights(model, config.init_from)
    validation = validation_lines(val_letters, config, words)
    callbacks = train.make_callbacks(_Schedule(config.early_stopping_patience), letter_config, out_dir, state)
    run_files.atomic_write_text(out_dir / "run.json", json.dumps(run_info, indent=2))
    line_seed = config.seed if config.line_seed is None else config.line_seed
    batches = LineBatches(composer, config.batch_size, config.steps_per_epoch, line_seed)
    order = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: batches.start_epoch(epoch))
    initial_epoch = state["epoch"] if state else 0
    stopped_early = bool(state) and state["early_stopping"]["wait"] >= config.early_stopping_patience
    interrupted = False
    if initial_epoch < config.epochs and not stopped_early:
        verbose = config.verbose if config.verbose is not None else (1 if sys.stderr.isatty() else 2)
        interrupted = train.run_fit(
            lambda: model.fit(batches, epochs=config.epochs, shuffle=False,
                              initial_epoch=initial_epoch, verbose=verbose,
                              callbacks=[order, LineValidation(validation), *callbacks]),
            config.out_dir, callbacks[-1])
    history = callbacks[-1].history
    best_row = train.finish_run(out_dir, run_info, history, config.steps_per_epoch * config.batch_size, started,
                                interrupted)
    return train.TrainResult(out_dir=out_dir, best_model=out_dir / run_files.BEST_MODEL, best_epoch=best_row["epoch"],
                             best_val_accuracy=best_row.get("val_accuracy", float("nan")),
                             epochs_run=len(history), interrupted=interrupted, history=history)


def rebuild_validation_lines(model_path: Path):
    """The validation lines of the run beside ``model_path`` (run.json), as it validated on
    them; None without a line run there. Refuses when the letters are not the run's."""
    run_file = Path(model_path).parent / "run.json"
    if not run_file.exists():
        return None
    run = json.loads(run_file.read_text())
    if run.get("kind") != "lines":
        return None
    config = LineTrainConfig(**{**run["config"], "variants": tuple(run["config"].get("variants", ("raw",))),
                                "synthetic": tuple(run["config"].get("synthetic", ()))})
    _, val_letters, split = train.load_split(_letter_config(config))
    if split != run.get("split"):
        raise LettersError(f"{model_path}: the letters in {', '.join(config.train_paths)} are not the ones the run "
                           f"composed its lines from (split sha256 differs from {run_file})")
    return validation_lines(val_letters, config, english_words())
