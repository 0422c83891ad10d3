"""The ``letters`` command: thin shells over functions that tests call directly.

Errors a user can fix (``LettersError``) print one line on stderr and exit with the error's status:
2 for usage, 1 when there was nothing to read (``errors.py``).
Heavy imports (TensorFlow for train/evaluate/export) happen inside the commands that need them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from .errors import LettersError, MissingExtraError
from .training.config import FinetuneConfig, LineTrainConfig, TrainConfig, recipe_named

# plain help (click's): rich markup would eat "[ray]" as a tag and cut option names at 80 columns
# the options' defaults are the run configs' own (reading them imports no Keras)
TRAIN, LINES = TrainConfig(train_paths=[], out_dir=""), LineTrainConfig(train_paths=[], out_dir="")
FINETUNE = FinetuneConfig(data_path="", out_dir="")

app = typer.Typer(
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
    help="Read handwritten letters: train and evaluate models, recognize images, serve a web page.",
)
def _show_version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"handwritten-letters {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                          help="Show the version and exit.")) -> None:
    pass  # the app's own help says what it is


data_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Get and inspect the EMNIST Letters data.")
app.add_typer(data_app, name="data")
feedback_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                           help="Corrections stored by `letters serve --collect-feedback`.")
app.add_typer(feedback_app, name="feedback")


def _feedback_store(db: Optional[Path]):
    from .server.feedback import FeedbackStore, default_path

    path = db or default_path()
    if not path.exists():
        raise LettersError(f"{path}: no feedback database (start `letters serve --collect-feedback` first, or pass --db)")
    return FeedbackStore(path)


@feedback_app.command("stats")
def feedback_stats(db: Optional[Path] = typer.Option(None, help="The SQLite file (default: user data folder).")):
    """Corrections per letter, and how often the model's answer was right."""
    rows = _feedback_store(db).stats()
    if not rows:
        typer.echo("no corrections stored yet")
    for row in rows:
        wrong = ", ".join(f"{k} x{n}" for k, n in sorted(row["read_as"].items(), key=lambda kv: -kv[1]))
        typer.echo(f"{row['letter']}  {row['total']:>5} stored, model right {row['model_right']:>5}"
                   + (f"; read as {wrong}" if wrong else ""))


@feedback_app.command("export")
def feedback_export(out: Path = typer.Option(..., help="Folder for a/, b/, ... sub-folders (what `letters finetune` reads)."),
                    db: Optional[Path] = typer.Option(None, help="The SQLite file (default: user data folder).")):
    """Write the stored images as per-letter folders, ready for `letters finetune`."""
    written = _feedback_store(db).export(out)
    typer.echo(f"{written} images written to {out}")


def _must_exist(paths, what: str) -> None:
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise LettersError(f"{', '.join(missing)}: no such file or directory ({what})")


def _need_train_extra(verbose: bool = False):
    """Import Keras (TensorFlow's start-up logs silenced unless ``verbose``) or say which extra is missing.

    Commands check their arguments first: a mistyped path costs no TensorFlow start-up.
    """
    try:
        from .training.keras_env import import_tensorflow_quietly

        if not verbose:
            import_tensorflow_quietly()
        import keras  # noqa: F401
    except ImportError:
        raise MissingExtraError(
            "this command needs the training extra: pip install 'handwritten-letters[train]'"
        ) from None


@data_app.command("download")
def data_download(
    dest: Optional[Path] = typer.Option(None, help="Directory for the data (default: the user cache dir)."),
    url: Optional[str] = typer.Option(None, help="Archive URL (default: the official NIST gzip.zip)."),
):
    """Download the official EMNIST archive (resumable, sha256-verified) and keep the Letters files."""
    from .training.download import OFFICIAL_URL, default_data_dir, download_letters

    target = dest or default_data_dir()
    files = download_letters(target, url or OFFICIAL_URL)
    for f in files:
        typer.echo(str(f))
    typer.echo(f"EMNIST Letters is in {target}; `letters train` uses it by default.", err=True)


@data_app.command("info")
def data_info(paths: List[Path] = typer.Argument(..., metavar="PATH", help="Data files or directories.")):
    """Read data files, validate them, and print per-class counts."""
    from .labels import CLASS_NAMES
    from .training import data

    dataset = data.load(paths)
    typer.echo(f"{len(dataset)} images")
    counts = dataset.class_counts()
    typer.echo(" ".join(f"{c}:{n}" for c, n in zip(CLASS_NAMES, counts)))


def _default_train_paths() -> list[Path]:
    from .training.download import default_data_dir

    directory = default_data_dir()
    if not directory.is_dir():
        raise LettersError(
            f"no training data in {directory}: run `letters data download`, or pass --train PATH "
            "(a Kaggle CSV, an IDX images file, or a directory)"
        )
    return [directory]


@app.command()
def train(
    train_paths: Optional[List[Path]] = typer.Option(
        None, "--train", help="Training data: Kaggle CSV, IDX images file or directory; repeat to combine."
    ),
    out: Path = typer.Option(Path("runs/latest"), help="Run directory."),
    recipe: str = typer.Option("seed", help="seed (the notebook's model and callbacks), best (augmented), real "
                                            "(best, also on letters as drawings reach the model; see README), "
                                            "real-wide (real on a net with 1.5x the channels), hands (real, also on "
                                            "handwriting fonts, upper and lower case), its variants hands-fonts, "
                                            "hands-joined and hands-more-joined, hands-all (hands on every training "
                                            "font, joined hands' letters 2x: the bundled model's recipe), "
                                            "hands-all-capitals (hands-all, joined hands' capitals 6x), hands-strokes "
                                            "(hands-all continued with Hershey's script drawn as a pen's path) and "
                                            "hands-strokes-ems (also two EMS single-line hands). "
                                            "docs/training.md lists them."),
    val_fraction: float = typer.Option(TRAIN.val_fraction, min=0.01, max=0.5,
                                       help="Share of the data held out for validation."),
    epochs: Optional[int] = typer.Option(None, min=1, help="Default: the recipe's own (docs/training.md lists them)."),
    batch_size: int = typer.Option(TRAIN.batch_size, min=1),
    seed: int = typer.Option(TRAIN.seed),
    learning_rate: Optional[float] = typer.Option(None, help="Default: the recipe's."),
    class_weight: str = typer.Option(TRAIN.class_weight, help="balanced (weight classes by 1/frequency) or none."),
    limit: Optional[int] = typer.Option(None, min=100, help="Use only this many images (stratified)."),
    init_from: Optional[Path] = typer.Option(None, "--from", help="Start from this model's weights (the recipe's "
                                                                  "network, e.g. runs/real2/Best_Model.keras)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last epoch."),
    fonts: Optional[Path] = typer.Option(None, "--fonts", help="The handwriting fonts folder (with fonts.csv), for "
                                                               "the hands recipe. Default: $LETTERS_FONTS."),
    verbose: bool = typer.Option(False, "--verbose", help="Show TensorFlow's own start-up and warning logs."),
):
    """Train the CNN; writes Best_Model.keras, history.csv, curves.png and run.json to --out."""
    if class_weight not in ("balanced", "none"):
        raise LettersError(f"--class-weight: expected 'balanced' or 'none', got {class_weight!r}")
    recipe_named(recipe, "--recipe")  # before the data is looked for or read
    _must_exist([*(train_paths or []), *([init_from] if init_from else []), *([fonts] if fonts else [])], "train")
    _need_train_extra(verbose)
    from .training.train import TrainConfig
    from .training.train import train as run_training

    config = TrainConfig(
        train_paths=[str(p) for p in (train_paths or _default_train_paths())], out_dir=str(out), recipe=recipe,
        val_fraction=val_fraction, epochs=epochs, batch_size=batch_size, seed=seed,
        learning_rate=learning_rate, class_weight=class_weight, limit=limit, resume=resume,
        init_from=str(init_from) if init_from else None, font_dir=str(fonts) if fonts else None,
    )
    _report_run(run_training(config), "validation accuracy", out)


def _report_run(result, measure: str, out: Path) -> None:
    """The best epoch of a finished run; an interrupted one says how to continue (exit 130)."""
    typer.echo(f"best epoch {result.best_epoch}: {measure} {result.best_val_accuracy:.4f} -> {result.best_model}")
    if result.interrupted:
        typer.echo(f"interrupted after {result.epochs_run} epochs; continue with --resume --out {out}", err=True)
        raise typer.Exit(130)


@app.command("train-lines")
def train_lines_command(
    train_paths: Optional[List[Path]] = typer.Option(
        None, "--train", help="EMNIST letters to compose lines from (same data and split as `letters train`)."),
    out: Path = typer.Option(Path("runs/lines"), help="Run directory."),
    epochs: int = typer.Option(LINES.epochs, min=1),
    steps: int = typer.Option(LINES.steps_per_epoch, min=1, help="Batches of freshly composed lines per epoch."),
    batch_size: int = typer.Option(LINES.batch_size, min=1),
    seed: int = typer.Option(LINES.seed),
    val_fraction: float = typer.Option(LINES.val_fraction, min=0.01, max=0.5,
                                       help="Share of the letters held out for validation lines."),
    learning_rate: float = typer.Option(LINES.learning_rate),
    width: int = typer.Option(LINES.width, min=8, help="The line model's size: its 2-D convolutions have width/4 to "
                                                       "1.5 x width channels (64 ~0.5 M parameters, 96 ~1.1 M)."),
    limit: Optional[int] = typer.Option(None, min=100, help="Compose from only this many letters (stratified)."),
    init_from: Optional[Path] = typer.Option(None, "--from", help="Start from this line model's weights "
                                                                  "(e.g. runs/lines/Best_Model.keras)."),
    line_seed: Optional[int] = typer.Option(None, help="Seed of the training lines (default: --seed, which also "
                                                       "splits the letters: keep --seed to keep the split)."),
    font_share: float = typer.Option(LINES.font_share, min=0.0, max=1.0, help="Share of lines written in the "
                                     "handwriting fonts (whole words; held-out fonts validate). The bundled model: "
                                     "0.5, then 0.3 continued."),
    fonts: Optional[Path] = typer.Option(None, help="The handwriting fonts folder (holds fonts.csv; default: found "
                                                    "beside the project or $LETTERS_FONTS)."),
    proportions: float = typer.Option(LINES.proportions, min=0.0, max=1.0, help="Share of EMNIST lines whose letters "
                                      "of known case stand at handwriting proportions (x-height, ascenders, descenders)."),
    pen_lines: float = typer.Option(LINES.pen_lines, min=0.0, max=1.0, help="Share of EMNIST lines redrawn along "
                                    "their letters' centre lines with one round pen, as the page draws."),
    pen_words: float = typer.Option(LINES.pen_words, min=0.0, max=1.0, help="Share of lines drawn as pen words in "
                                    "the handwriting fonts' hands (their letters' centre lines, one round pen, gaps "
                                    "from clear to crossing)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last epoch."),
    verbose: bool = typer.Option(False, "--verbose", help="Show TensorFlow's own start-up and warning logs."),
):
    """Train the line reader (CTC) on synthetic lines of EMNIST letters and handwriting fonts; export it with
    `letters export`."""
    _must_exist([*(train_paths or []), *([init_from] if init_from else []), *([fonts] if fonts else [])], "train-lines")
    _need_train_extra(verbose)
    from .training.train_lines import LineTrainConfig, train_lines

    config = LineTrainConfig(
        train_paths=[str(p) for p in (train_paths or _default_train_paths())], out_dir=str(out), epochs=epochs,
        steps_per_epoch=steps, batch_size=batch_size, seed=seed, val_fraction=val_fraction,
        learning_rate=learning_rate, width=width, limit=limit, resume=resume,
        init_from=str(init_from) if init_from else None, line_seed=line_seed, font_share=font_share,
        font_dir=str(fonts) if fonts else None, proportions=proportions,
        pen_lines=pen_lines, pen_words=pen_words,
    )
    _report_run(train_lines(config), "validation character accuracy", out)


@app.command()
def evaluate(
    model: Path = typer.Option(..., help="A .keras model (needs the train extra) or an exported .onnx model."),
    data_paths: List[Path] = typer.Option(..., "--data", help="Held-out data: CSV, IDX images file or directory."),
    out: Path = typer.Option(Path("runs/evaluation"), help="Directory for report.json and plots."),
    baseline: Optional[Path] = typer.Option(
        None, help="Another model to compare with on the same images (paired difference, McNemar test)."),
):
    """Evaluate on held-out data: report.json, confusion_matrix.png, errors.png, reliability.png."""
    if model.suffix != ".onnx" or (baseline is not None and baseline.suffix != ".onnx"):
        _need_train_extra()
    try:
        import matplotlib  # noqa: F401
        import seaborn  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        raise MissingExtraError("reports need the training extra: pip install 'handwritten-letters[train]'") from None
    from .training.evaluate import evaluate as run_evaluation

    report = run_evaluation(model, data_paths, out, baseline)
    low, high = report["accuracy_95ci"]
    calibration = report["calibration"]
    typer.echo(
        f"{report['n']} images: accuracy {report['accuracy']:.4f} (95% CI {low:.4f}-{high:.4f}), "
        f"top-3 {report['top3_accuracy']:.4f}, ECE {calibration['ece_before_temperature'] * 100:.2f}%"
        + (f" -> {calibration['ece_after_temperature'] * 100:.2f}% after temperature {calibration['temperature']:.2f}"
           if "ece_after_temperature" in calibration else "")
    )
    if "comparison" in report:
        comparison = report["comparison"]
        low, high = comparison["baseline_accuracy_95ci"]
        d_low, d_high = comparison["accuracy_difference_95ci"]
        typer.echo(
            f"baseline {baseline.name}: accuracy {comparison['baseline_accuracy']:.4f} (95% CI {low:.4f}-{high:.4f}); "
            f"difference {comparison['accuracy_difference'] * 100:+.2f} points (95% CI {d_low * 100:+.2f} to "
            f"{d_high * 100:+.2f}), McNemar p = {comparison['mcnemar_p_value']:.2g} "
            f"({comparison['only_model_right']} images only this model reads, "
            f"{comparison['only_baseline_right']} only the baseline)"
        )
    if report["duplicates_dropped"]:
        typer.echo(f"{report['duplicates_dropped']} images appeared more than once in the data and were counted once",
                   err=True)
    typer.echo(f"report and plots in {out}", err=True)


@app.command()
def export(
    model: Path = typer.Option(..., help="The trained Keras model, e.g. runs/latest/Best_Model.keras."),
    out: Path = typer.Option(Path("model.onnx"), help="Where to write the ONNX model."),
    name: Optional[str] = typer.Option(None, help="Model name stored in the file."),
    quantize: bool = typer.Option(False, "--quantize", help="Serve int8 weights (calibrated on validation images)."),
    training_data: Optional[str] = typer.Option(None, help="What the model was trained on, stored in the file."),
    test_accuracy: Optional[str] = typer.Option(None, help="Held-out accuracy and its protocol, stored in the file."),
    measured: Optional[List[str]] = typer.Option(None, help="NAME=TEXT: another figure and what it was measured "
                                                            "on, stored in the file (repeat)."),
    version: Optional[str] = typer.Option(None, help="Model version stored in the file (served as its version)."),
):
    """Export to ONNX, checked against Keras; temperature and rejection threshold fitted on validation.
    A line model (from `letters train-lines`) is exported with its decoding metadata."""
    _need_train_extra()
    import json

    from .training.export import export_line_model, export_onnx
    from .training.line_model import is_line_model

    figures = dict(item.split("=", 1) for item in measured or [] if "=" in item)
    if len(figures) != len(measured or []):
        raise LettersError("--measured: expected NAME=TEXT, e.g. dev_set='98.5% of 260 real letters ...'")
    extra = {k: v for k, v in (("training_data", training_data), ("test_accuracy", test_accuracy),
                                ("measured", json.dumps(figures) if figures else None), ("version", version)) if v}
    if is_line_model(model):
        if quantize:
            raise LettersError("--quantize: line models are exported as float32 only")
        lines = export_line_model(model, out, name, extra)
        accuracy = lines.validation_character_accuracy
        typer.echo(f"{lines.path}: line model; ONNX vs Keras max abs difference {lines.max_abs_difference:.2e} on "
                   f"{lines.checked_lines} lines; validation character accuracy (greedy) "
                   + ("not measured (no line run beside the model)" if accuracy is None else f"{accuracy:.4f}"))
        return
    result = export_onnx(model, out, name, extra, quantize=quantize)
    accuracy = result.validation_accuracy
    typer.echo(
        f"{result.path}: ONNX vs Keras max abs difference {result.max_abs_difference:.2e} on "
        f"{result.checked_images} images; temperature {result.temperature:.3f}; "
        f"rejection threshold {result.rejection_threshold:.2f}; validation accuracy "
        + ("not measured (no run beside the model)" if accuracy is None else f"{accuracy:.4f}")
        + (f"\nweights: {result.quantization}" if result.quantization else "")
    )


@app.command()
def finetune(
    data_path: Path = typer.Argument(..., help="Your letters: a folder of a/, b/, ... folders of images, or with a labels.csv."),
    out: Path = typer.Option(Path("runs/finetuned"), help="Run directory (model.onnx, report.json, ...)."),
    base: Optional[Path] = typer.Option(None, "--from", help="Start from this run directory or .keras file "
                                                             "(default: the bundled model's weights)."),
    replay: Optional[List[Path]] = typer.Option(None, help="EMNIST training data to replay (default: a sample "
                                                           "shipped with the package)."),
    epochs: int = typer.Option(FINETUNE.epochs, min=1, help="--method deep: epochs."),
    holdout: float = typer.Option(FINETUNE.holdout, min=0.05, max=0.9,
                                  help="--method deep: share of your letters held out to measure."),
    seed: int = typer.Option(FINETUNE.seed),
    verbose: bool = typer.Option(False, "--verbose", help="Show TensorFlow's own start-up and warning logs."),
    method: str = typer.Option("profile", help="profile (seconds, no TensorFlow: your letters kept as the "
                                                "network's features, answers lean toward them) or deep (retrain the "
                                                "network's weights: minutes, needs the [train] extra)."),
):
    """Teach the recognizer your handwriting; prints before/after on your own held-out letters.

    Writes RUN/model.onnx, which `letters predict`, `read` and `serve` take with --model."""
    _must_exist([data_path], "your letters")
    if method not in ("profile", "deep"):
        raise LettersError(f"--method: expected profile or deep, got {method!r}")
    if method == "profile":
        return _teach_profile(data_path, out, base)
    _need_train_extra(verbose)
    from .training.finetune import FinetuneConfig
    from .training.finetune import finetune as run_finetune

    result = run_finetune(FinetuneConfig(
        data_path=str(data_path), out_dir=str(out), base=str(base) if base else None,
        replay_paths=[str(p) for p in replay] if replay else None, epochs=epochs, holdout=holdout, seed=seed,
        progress=True))
    for file, reason in result.skipped:
        typer.echo(f"skipped {file}: {reason}", err=True)
    report = result.report
    counts = report["user_letters"]
    typer.echo(f"{counts['read']} letters read ({counts['skipped']} skipped): {counts['adapted_on']} to adapt on, "
               f"{counts['held_out']} held out; {report['seconds']:.0f} s")
    typer.echo(f"{'':<34}{'before':>8}{'after':>8}")
    for key, title in (("user_holdout", "your held-out letters"), ("emnist_check", "EMNIST letters (forgetting)")):
        typer.echo(f"{title:<34}{report['before'][key]:>8.3f}{report['after'][key]:>8.3f}")
    typer.echo(f"model: {result.model_onnx}  (letters predict --model {result.model_onnx} ...)")


def _count(n: int, noun: str) -> str:
    """``1 letter``, ``2 letters``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _teach_profile(data_path: Path, out: Path, base: Optional[Path]) -> None:
    from .reading.teach import teach

    result = teach(data_path, out, base if base and base.suffix == ".onnx" else None)
    for file, reason in result.skipped:
        typer.echo(f"skipped {file}: {reason}", err=True)
    report = result.report
    typer.echo(f"{_count(report['letters'], 'letter')} read ({report['skipped']} skipped), "
               f"{_count(len(report['letters_taught']), 'letter')} taught; {report['seconds']:.1f} s")
    before, after = report["before"], report["after"]
    if before["n"]:
        typer.echo(f"your held-out letters ({before['n']}, each read without itself): "
                   f"before {before['right']}/{before['n']} = {before['accuracy']:.3f} "
                   f"(95% {before['ci95'][0]:.3f}-{before['ci95'][1]:.3f}), "
                   f"after {after['right']}/{after['n']} = {after['accuracy']:.3f} "
                   f"(95% {after['ci95'][0]:.3f}-{after['ci95'][1]:.3f})")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"model: {result.model_onnx}  (letters predict --model {result.model_onnx} ...)")


@app.command()
def predict(
    paths: List[str] = typer.Argument(..., metavar="PATH", help="Image files or folders (searched recursively); "
                                                                "with --engine ray, also URIs such as s3://bucket/letters/."),
    model: Optional[Path] = typer.Option(None, help="ONNX model (default: the bundled model)."),
    top_k: int = typer.Option(3, "--top-k", min=1, max=26),
    output_format: Optional[str] = typer.Option(None, "--format", help="table, csv, json or parquet (default: what "
                                                "--out's suffix names, .csv/.json/.parquet; else table)."),
    out: Optional[Path] = typer.Option(None, help="Write results here instead of stdout, e.g. results.csv, "
                                                  "results.json or results.parquet (Parquet needs the [parquet] extra)."),
    engine: str = typer.Option("local", help="local (this process) or ray (Ray Data, needs the [ray] extra)."),
    address: Optional[str] = typer.Option(None, help="Ray cluster to join (default: $RAY_ADDRESS, else a local one)."),
    actors: Optional[int] = typer.Option(None, min=1, help="Ray predictor actors (default: one per CPU)."),
    jobs: Optional[int] = typer.Option(None, min=1, help="Local engine: processes that read, preprocess and "
                                                         "recognize (default: all cores; from 256 files)."),
):
    """Recognize one letter per image. Unreadable files get a row with the error; exit status 1 if any."""
    from .batch.predict_files import output_format_for

    output_format = output_format_for(output_format, out)
    if engine == "local":
        from .batch.predict_files import run_predict

        failures = run_predict([Path(p) for p in paths], model, top_k, output_format, out, jobs)
    elif engine == "ray":
        from .batch.predict_files import write_output
        from .batch.ray_engine import iter_rows, predict_with_ray

        failures = write_output(iter_rows(predict_with_ray(paths, model, top_k, address, actors)), output_format, out)
    else:
        raise LettersError(f"--engine: expected local or ray, got {engine!r}")
    if failures:
        raise typer.Exit(1)


@app.command()
def read(
    images: List[Path] = typer.Argument(..., metavar="PATH",
                                        help="Images of handwritten words or lines, digital ink (.json strokes or "
                                             ".inkml, read in the order the strokes were written), or folders of "
                                             "them (searched recursively; one result per file)."),
    reader: str = typer.Option("auto", help="lines (the CTC line model reads whole lines), segment (cut into "
                                            "letters, each read by the letter model), combined (both; each letter's "
                                            "probabilities multiplied where they agree) or auto (lines with a lexicon, combined "
                                            "without: what read validation lines best)."),
    model: Optional[Path] = typer.Option(None, help="Letter ONNX model, for the segment and combined readers "
                                                    "(default: bundled)."),
    line_model: Optional[Path] = typer.Option(None, help="Line ONNX model, for the lines and combined readers "
                                                         "(default: bundled)."),
    lexicon: Optional[Path] = typer.Option(None, help="Your own word list, one word a line "
                                                       "(default: everyday English with frequencies, wordfreq)."),
    no_lexicon: bool = typer.Option(False, "--no-lexicon", help="Report the raw reading only."),
    output_format: str = typer.Option("text", "--format", help="text or json (lines, words, letters, boxes)."),
):
    """Read handwritten words and lines, from pictures or from pen strokes (ink). Shows the raw reading too
    when the lexicon changed it."""
    import json

    from .errors import ImageError
    from .reading.ink import INK_SUFFIXES, is_ink_file
    from .reading.recognize import IMAGE_SUFFIXES, image_files_to_read
    from .server.schemas import TextResult
    from .words.lexicon import Lexicon
    from .words.line_reader import TextReader

    if output_format not in ("text", "json"):
        raise LettersError(f"--format: expected text or json, got {output_format!r}")
    if lexicon and no_lexicon:
        raise LettersError("--lexicon and --no-lexicon cannot be used together")
    text_reader = TextReader(reader, model, line_model)
    words = None if no_lexicon else (Lexicon.from_file(lexicon) if lexicon else Lexicon.english())
    files = image_files_to_read(images, IMAGE_SUFFIXES + INK_SUFFIXES)
    one_file = len(files) == 1 and len(images) == 1 and not images[0].is_dir()
    failures, results = 0, []
    for path in files:
        try:
            if is_ink_file(path):
                reading = text_reader.read_ink(path, words, name=str(path))
            else:
                reading = text_reader.read(path, words, name=str(path))
        except ImageError as exc:
            failures += 1
            typer.echo(f"error: {exc}", err=True)
            results.append({"path": str(path), "error": str(exc)})
            continue
        if output_format == "json":
            results.append({"path": str(path), **TextResult.of(reading).model_dump()})
        else:
            typer.echo(_reading_line(reading, words is not None, None if one_file else path))
    if output_format == "json":
        typer.echo(json.dumps(results[0] if one_file else results, indent=1))
    if failures:
        raise typer.Exit(1)


def _reading_line(reading, with_lexicon: bool, path: Path | None) -> str:
    """One reading as a line of text: the words (the raw reading beside them when the list changed them)."""
    shown = reading.written if reading.lines else f"({reading.reason})"
    if with_lexicon and reading.raw_text != reading.text:
        shown += f"    [without lexicon: {reading.raw_text}]"
    if path is None:
        return shown
    return "\n".join(f"{path}\t{line}" for line in shown.split("\n"))  # every line says whose it is


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535),
    model: Optional[Path] = typer.Option(None, help="ONNX model (default: the bundled model)."),
    workers: int = typer.Option(1, min=1, help="Worker processes, each with its own copy of the model."),
    cors_origin: Optional[List[str]] = typer.Option(None, help="Allow cross-origin requests from this origin."),
    collect_feedback: bool = typer.Option(False, "--collect-feedback",
                                          help="Store corrections sent from the page (the page says so)."),
    feedback_db: Optional[Path] = typer.Option(None, help="SQLite file for corrections (default: user data folder)."),
    access_log: bool = typer.Option(True, help="One JSON line per request on stderr (request id, route, status, ms)."),
    reader: str = typer.Option("auto", help="How /api/v1/words reads: lines, segment, combined or auto (as `letters read`)."),
    line_model: Optional[Path] = typer.Option(None, help="Line ONNX model for the lines reader (default: bundled)."),
    profiles_db: Optional[Path] = typer.Option(None, help="SQLite file for writers' profiles taught on the page "
                                                          "(default: user data folder)."),
):
    """Serve the drawing page at / and the JSON API at /api/v1 (OpenAPI docs at /docs)."""

    import uvicorn

    from .server.settings import ServeSettings

    if feedback_db and not collect_feedback:
        raise LettersError("--feedback-db needs --collect-feedback")
    _check_port_free(host, port)
    stored_at = None
    if collect_feedback:
        from .server.feedback import FeedbackStore, default_path

        stored_at = str(FeedbackStore(feedback_db or default_path()).path)  # fail here if it cannot be opened
        typer.echo(f"storing corrections from the page in {stored_at}", err=True)
    ServeSettings(model=str(model) if model else None, reader=reader, line_model=str(line_model) if line_model else None,
                  cors_origins=tuple(cors_origin or ()), feedback_db=stored_at, access_log=access_log,
                  profiles_db=str(_profiles_store(profiles_db))).to_environment()
    _prepare_worker_processes(workers)
    if workers == 1:
        from .server.app import create_app

        # this process is the worker: its app, models loaded once, is also the check that they load
        served = create_app()
    else:
        from .reading.recognize import Recognizer
        from .words.line_reader import TextReader

        # fail here, with one line, if a model cannot be loaded (the workers load their own)
        TextReader(reader, recognizer=Recognizer(model), line_model=line_model)
        served = "handwritten_letters.server.app:create_app"
    typer.echo(f"handwritten-letters: open http://{host}:{port}/ (API docs at /docs)", err=True)
    uvicorn.run(served, factory=workers > 1, host=host, port=port, workers=workers, log_level="warning")


def _check_port_free(host: str, port: int) -> None:
    """A port another program holds is a one-line error before anything is loaded or announced."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a closing socket is no obstacle
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LettersError(f"--port {port}: {host}:{port} is already in use by another program; "
                                   "choose another port with --port") from None
            raise LettersError(f"--host {host}: cannot listen there ({exc.strerror or exc})") from None


def _prepare_worker_processes(workers: int) -> None:
    """The environment every server worker inherits: memory arenas, and a shared metrics folder."""
    import os

    # glibc gives each thread of the request pool its own malloc arena and keeps them: resident memory
    # then creeps up under load with no leak behind it; two arenas keep it flat (read by worker processes)
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import tempfile

        # every worker writes its metrics here; /metrics sums them (prometheus-client multiprocess mode)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="letters-metrics-")
    elif os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        metrics_dir.mkdir(parents=True, exist_ok=True)
        for stale in metrics_dir.glob("*.db"):  # a restarted container keeps the folder: start the counts afresh
            stale.unlink()


def _profiles_store(path: Optional[Path]) -> Path:
    """Where writers' profiles are kept, opened once here so a bad path fails with one line."""
    from .server.profiles import ProfileStore, default_path

    return Path(ProfileStore(path or default_path()).path)


def command():
    """The click command of ``app``, with file arguments shown as what a user gives: Typer labels a
    list argument by its Python type (``<list[Path]>``)."""
    built = typer.main.get_command(app)
    pending = list(getattr(built, "commands", {}).values())
    while pending:
        sub = pending.pop()
        pending.extend(getattr(sub, "commands", {}).values())  # the data and feedback groups' commands
        for param in sub.params:
            if param.param_type_name == "argument" and param.nargs == -1:
                param.display_type_rich = lambda ctx: "<files or folders>"
    return built


def main() -> None:
    try:
        command()()
    except LettersError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
