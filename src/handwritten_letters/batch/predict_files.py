"""Predict over files and folders: batched, one row per file, stable documented columns.

Columns (csv and json): ``path, label, case, case_probability, confidence, top_k, rejected,
reason, error, verdict``. ``label`` is a lowercase letter, empty (null in JSON) when rejected or
failed; ``case`` is ``upper``, ``lower`` or ``either`` (capital and small letter look alike) with
``case_probability`` (null for ``either``); ``top_k`` is a list of ``{label, probability}`` in
JSON and ``a:0.912 o:0.051 d:0.020`` in CSV; ``error`` is set when the file could not be read (the
run goes on with the next file); ``verdict`` is ``letter``, ``not_sure`` (a letter, but its top
candidates are too close: ``reason`` names them) or ``not_a_letter`` (blank, scribble, texture).
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Iterator, Sequence, TextIO

from ..errors import ImageError, LettersError, MissingExtraError
from ..reading.preprocess import Preprocessed, preprocess
from ..reading.recognize import (
    BATCH,
    NOT_A_LETTER,
    NOT_SURE,
    SEVERAL_LETTERS,
    Prediction,
    Recognizer,
    image_files_to_read,
    in_case,
)

COLUMNS = ["path", "label", "case", "case_probability", "confidence", "top_k", "rejected", "reason", "error",
           "verdict"]


def row_for(path: Path, prediction: Prediction | None = None, error: str | None = None) -> dict:
    if prediction is None:
        return {**dict.fromkeys(COLUMNS), "path": str(path), "top_k": [], "error": error}
    return {
        "path": str(path), "label": prediction.label, "case": prediction.case,
        "case_probability": None if prediction.case_probability is None else round(prediction.case_probability, 4),
        "confidence": round(prediction.confidence, 4),
        "top_k": [{"label": k, "probability": round(v, 4)} for k, v in prediction.top_k],
        "rejected": prediction.rejected, "reason": prediction.reason, "error": None, "verdict": prediction.verdict,
    }


def top_k_text(top_k: list[dict]) -> str:
    """``a:0.912 o:0.051`` for CSV, tables and Parquet."""
    return " ".join(f"{c['label']}:{c['probability']:.3f}" for c in top_k)


def preprocess_or_error(source, name: str | None = None) -> Preprocessed | str:
    """The letter as the model sees it, or why the file cannot be read (a message, not an exception)."""
    try:
        return preprocess(source, name=name or str(source))
    except ImageError as exc:
        return str(exc)


def rows_for_batch(paths: Sequence[Path], outcomes: Sequence[Preprocessed | str], recognizer: Recognizer,
                   top_k: int) -> list[dict]:
    """One row per file: readable ones recognized in one batch, the others as error rows."""
    readable = [outcome for outcome in outcomes if not isinstance(outcome, str)]
    predictions = iter(recognizer.predict_preprocessed(readable, top_k))
    return [row_for(path, error=outcome) if isinstance(outcome, str) else row_for(path, next(predictions))
            for path, outcome in zip(paths, outcomes)]


def predict_files(files: Sequence[Path], recognizer: Recognizer, top_k: int = 3) -> Iterator[dict]:
    """One row per file, in order, in this process: files preprocessed and recognized in batches.

    Values are typed (``confidence`` a float, ``rejected`` a bool, ``None`` where there is none);
    ``write_rows`` turns them into text for CSV and tables.
    """
    for start in range(0, len(files), BATCH):
        chunk = files[start : start + BATCH]
        yield from rows_for_batch(chunk, [preprocess_or_error(path) for path in chunk], recognizer, top_k)


_worker_recognizer: Recognizer | None = None


def _rows_in_worker(task: tuple[Sequence[Path], str | None, int]) -> list[dict]:
    """A chunk of files read end to end in a pool process, with that process's own model session."""
    global _worker_recognizer
    paths, model, top_k = task
    if _worker_recognizer is None:
        _worker_recognizer = Recognizer(model, threads=1)
    return rows_for_batch(paths, [preprocess_or_error(path) for path in paths], _worker_recognizer, top_k)


def predict_files_in_pool(files: Sequence[Path], model: Path | None, pool, top_k: int = 3,
                          chunk: int = 128) -> Iterator[dict]:
    """As ``predict_files``, with every step (decode, preprocess, the model) in ``pool``'s
    processes, each with a one-thread session: the cores share all the work, and rows stream
    back in input order."""
    tasks = [(files[start : start + chunk], str(model) if model else None, top_k)
             for start in range(0, len(files), chunk)]
    for rows in pool.map(_rows_in_worker, tasks):
        yield from rows


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return top_k_text(value)
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def write_rows(rows: Iterator[dict], output_format: str, out: TextIO) -> int:
    """Write rows as table, csv or json; returns how many files failed."""
    failures = 0
    if output_format == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
    collected = []
    for row in rows:
        failures += bool(row["error"])
        if output_format == "csv":
            writer.writerow({k: _csv_value(v) for k, v in row.items()})
        elif output_format == "json":
            collected.append(row)
        else:
            if row["error"]:
                answer = f"error: {row['error']}"
            elif row["verdict"] in (NOT_A_LETTER, SEVERAL_LETTERS):
                reason = row["reason"] or ""  # said once: the reason names the verdict itself
                answer = reason if reason.startswith(("not a letter", "several letters")) else f"not a letter: {reason}"
            elif row["verdict"] == NOT_SURE:
                answer = f"{row['reason']}  [{top_k_text(row['top_k'])}]"
            else:
                answer = in_case(row["label"], row["case"])
                # the best candidate as answered ("A"), so the table's answer and its candidates agree
                shown = [{**c, "label": answer} if i == 0 and c["label"] == row["label"] else c
                         for i, c in enumerate(row["top_k"])]
                answer = f"{answer}  {row['confidence']:.3f}  [{top_k_text(shown)}]"
            out.write(f"{row['path']}\t{answer}\n")
    if output_format == "json":
        json.dump(collected, out, indent=1)
        out.write("\n")
    return failures


def write_parquet(rows: Iterator[dict], path: Path, chunk: int = 4096) -> int:
    """Stream rows into one Parquet file (constant memory); returns how many files failed."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingExtraError("Parquet output needs pyarrow: pip install 'handwritten-letters[parquet]' "
                                "(or write .csv or .json)") from None
    types = {"confidence": pa.float64(), "case_probability": pa.float64(), "rejected": pa.bool_()}  # others: text
    schema = pa.schema([(column, types.get(column, pa.string())) for column in COLUMNS])
    failures, pending = 0, []
    with pq.ParquetWriter(str(path), schema) as writer:
        for row in rows:
            failures += bool(row["error"])
            pending.append({**row, "top_k": top_k_text(row["top_k"])})
            if len(pending) >= chunk:
                writer.write_table(pa.Table.from_pylist(pending, schema=schema))
                pending = []
        writer.write_table(pa.Table.from_pylist(pending, schema=schema))
    return failures


FORMATS = ("table", "csv", "json", "parquet")
FORMAT_OF_SUFFIX = {".csv": "csv", ".json": "json", ".parquet": "parquet"}


def output_format_for(requested: str | None, out_path: Path | None) -> str:
    """The format rows are written in: the one asked for, else the one ``--out``'s suffix names
    (.csv, .json, .parquet), else a table. A format that contradicts the suffix is an error."""
    from_suffix = FORMAT_OF_SUFFIX.get(out_path.suffix.lower()) if out_path is not None else None
    if requested is None:
        return from_suffix or "table"
    if requested not in FORMATS:
        raise LettersError(f"--format: expected {', '.join(FORMATS)}, got {requested!r}")
    if requested == "parquet" and out_path is None:
        raise LettersError("--format parquet needs --out FILE.parquet (Parquet is not written to a terminal)")
    if from_suffix is not None and from_suffix != requested:
        raise LettersError(f"--format {requested} but --out {out_path} names {from_suffix}: give one of them, "
                           f"or matching ones")
    return requested


def write_output(rows: Iterator[dict], output_format: str, out_path: Path | None) -> int:
    """Rows to stdout, or to ``out_path``, in ``output_format`` (see ``output_format_for``)."""
    if output_format == "parquet" or (out_path is not None and out_path.suffix.lower() == ".parquet"):
        return write_parquet(rows, out_path)
    if out_path is None:
        return write_rows(rows, output_format, sys.stdout)
    try:
        with open(out_path, "w", newline="") as out:
            return write_rows(rows, output_format, out)
    except OSError as exc:
        raise LettersError(f"{out_path}: cannot write results ({exc.strerror or exc})") from None


def default_jobs() -> int:
    """Processes that read, preprocess and recognize: one per core (measured best: docs/speed.md)."""
    return os.cpu_count() or 1


PARALLEL_FROM = 256  # files: below this, starting worker processes costs more than it saves


def run_predict(paths: Sequence[Path], model: Path | None, top_k: int, output_format: str,
                out_path: Path | None = None, jobs: int | None = None) -> int:
    """Predict over files and folders; in ``jobs`` processes (default: all cores) from PARALLEL_FROM files."""
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    files = image_files_to_read(paths)
    jobs = jobs or default_jobs()

    def shown(rows: Iterator[dict]) -> Iterator[dict]:
        return iter(tqdm(rows, total=len(files), unit="img", file=sys.stderr,
                         disable=not sys.stderr.isatty() or len(files) < 100))

    if jobs == 1 or len(files) < PARALLEL_FROM:
        return write_output(shown(predict_files(files, Recognizer(model), top_k)), output_format, out_path)
    if model is not None and not Path(model).exists():
        raise LettersError(f"{model}: no such model file")
    # no session in this process: each worker opens its own (ONNX Runtime's threads do not survive a fork)
    with ProcessPoolExecutor(jobs) as pool:
        return write_output(shown(predict_files_in_pool(files, model, pool, top_k)), output_format, out_path)
