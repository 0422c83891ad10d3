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

from ..errors import LettersError, MissingExtraError
from ..reading.recognize import BATCH, IMAGE_SUFFIXES, Recognizer, bundled_model_path
from .predict_files import COLUMNS, preprocess_or_error, rows_for_batch


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
    address = address or os.environ.get("RAY_ADDRESS") or None
    use_token_if_at_hand(address)  # Ray reads its auth settings once, when it is imported
    ray = _ray()
    if not ray.is_initialized():
        join(ray, address)
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


DEFAULT_TOKEN_FILE = "~/.ray/auth_token"  # where `ray get-auth-token --generate` and Ray's local start put it


def use_token_if_at_hand(address: str | None) -> None:
    """Token mode for joining a cluster when a token is at hand (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH
    or Ray's default token file) and RAY_AUTH_MODE is not set: a cluster started with
    `ray start --head` where that file exists uses token authentication. Must run before
    ``import ray``, which reads RAY_AUTH_MODE once."""
    if not address or "RAY_AUTH_MODE" in os.environ:
        return
    if (os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
            or Path(DEFAULT_TOKEN_FILE).expanduser().exists()):
        os.environ["RAY_AUTH_MODE"] = "token"


def join(ray, address: str | None) -> None:
    """Join the cluster at ``address`` (or start a local Ray without one) as Ray's own tools would;
    one that cannot be joined is one line saying what to set."""
    if address and address != "auto":
        _reachable(address)
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except Exception as exc:  # Ray raises ConnectionError, AuthenticationError, RuntimeError, ...
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LettersError(
            f"--address {address}: cannot join the Ray cluster ({reason}). If the cluster uses token "
            f"authentication, set RAY_AUTH_MODE=token and its token: RAY_AUTH_TOKEN, or the file that "
            f"`ray get-auth-token` shows on the head node copied to {DEFAULT_TOKEN_FILE}"
        ) from None


def _reachable(address: str, seconds: float = 5.0) -> None:
    """Ray retries an unreachable address for minutes; a plain TCP connection tells at once."""
    import socket

    host, _, port = address.split("://")[-1].rpartition(":")
    if not port.isdigit():
        raise LettersError(f"--address {address}: expected HOST:PORT (the head's GCS port, 6379 by default)")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=seconds).close()
    except OSError as exc:
        raise LettersError(
            f"--address {address}: cannot join the Ray cluster (nothing answers there: {exc.strerror or exc}). "
            f"Start one with `ray start --head`, or give its head's address; if it uses token authentication, "
            f"also set RAY_AUTH_MODE=token and its token (RAY_AUTH_TOKEN, or {DEFAULT_TOKEN_FILE})"
        ) from None


def iter_rows(dataset) -> Iterator[dict]:
    for batch in dataset.iter_batches(batch_size=BATCH, batch_format="numpy"):
        for i in range(len(batch["path"])):
            yield {column: _plain(batch[column][i]) for column in COLUMNS}


def _plain(value):
    """NumPy scalars as Python values; Ray's NaN for a missing number back to None."""
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0:  # a list column (top_k) comes back as an array
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and value != value else value
