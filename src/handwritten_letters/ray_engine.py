"""Batch recognition on Ray Data: many files, many cores, many machines.

The same rows as the local engine (``predict_files``): one per input file, bad files as error
rows, never a failed job. Image bytes are read by Ray Data (local folders, or any URI its
pyarrow filesystems read: ``s3://``, ``gs://``, ...), then an actor pool of predictors, each
holding one ONNX Runtime session (sessions cannot be pickled, so each actor builds its own)
with its threads set explicitly, preprocesses and recognizes them in batches.

Needs the ``[ray]`` extra. ``address`` (or ``RAY_ADDRESS``) joins a running cluster; otherwise a
local Ray instance is started.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Sequence

from .errors import LettersError, MissingExtraError
from .predict_files import COLUMNS, preprocess_or_error, rows_for_batch
from .recognize import IMAGE_SUFFIXES, Recognizer, bundled_model_path

BATCH = 256


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise MissingExtraError("--engine ray needs the ray extra: pip install 'handwritten-letters[ray]'") from None
    return ray


class Predictor:
    """One actor: one ONNX Runtime session, reused for every batch it is given."""

    def __init__(self, model_path: str, top_k: int, threads: int):
        self.recognizer = Recognizer(model_path, threads=threads)
        self.top_k = top_k

    def __call__(self, batch: dict) -> dict:
        paths = [str(p) for p in batch["path"]]
        outcomes = [preprocess_or_error(bytes(content), name=path) for path, content in zip(paths, batch["bytes"])]
        rows = rows_for_batch(paths, outcomes, self.recognizer, self.top_k)
        return {column: [row[column] for row in rows] for column in COLUMNS}


def _inputs(paths: Sequence[str]) -> list[str]:
    """Local paths made absolute (workers may start elsewhere); URIs passed on as given."""
    found = []
    for path in map(str, paths):
        if "://" in path:
            found.append(path)
        elif Path(path).exists():
            found.append(str(Path(path).resolve()))
        else:
            raise LettersError(f"{path}: no such file or directory")
    return found


def predict_with_ray(paths: Sequence[str], model: str | Path | None = None, top_k: int = 3,
                     address: str | None = None, actors: int | None = None, threads: int = 1) -> "object":
    """A Ray Dataset of prediction rows (columns ``predict_files.COLUMNS``), in input order."""
    ray = _ray()
    if not ray.is_initialized():
        ray.init(address=address or os.environ.get("RAY_ADDRESS") or None, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # rows come back in the order of the inputs
    # reading bytes is I/O: it reserves no CPU, or an actor pool using every CPU would starve it (deadlock)
    files = ray.data.read_binary_files(_inputs(paths), include_paths=True, num_cpus=0,
                                       file_extensions=[s.lstrip(".") for s in IMAGE_SUFFIXES])
    actors = actors or max(1, int(ray.cluster_resources().get("CPU", 1)) // threads)
    return files.map_batches(
        Predictor, fn_constructor_kwargs={"model_path": str(model or bundled_model_path()), "top_k": top_k,
                                          "threads": threads},
        batch_size=BATCH, concurrency=actors, num_cpus=threads, batch_format="numpy",
    )


def iter_rows(dataset) -> Iterator[dict]:
    for batch in dataset.iter_batches(batch_size=BATCH, batch_format="numpy"):
        for i in range(len(batch["path"])):
            yield {column: _plain(batch[column][i]) for column in COLUMNS}


def _plain(value):
    """NumPy scalars as Python values; Ray's NaN for a missing number back to None."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and value != value else value
