"""The one place that knows EMNIST file formats.

Readers return ``Dataset(images, labels)``: uint8 images of shape (N, 28, 28), **upright**
(EMNIST stores every image transposed; it is undone here and nowhere else), and int64 labels
0..25 for a..z. Every reader validates at the boundary and raises ``DataFormatError`` naming
the file, the line or record, and what was expected.

Formats:
- Kaggle CSV (``label,pixel0..pixel783``, labels 1..26, header row optional), plain or .gz.
- Official IDX pairs ``*-images-idx3-ubyte`` + ``*-labels-idx1-ubyte``, plain or .gz.
- A directory holding either (see ``dataset_files``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Sequence

import numpy as np

from ..errors import DataFormatError
from ..labels import IMAGE_SIZE, NUM_CLASSES, PIXELS

CSV_CHUNK_LINES = 512  # parsed rows are int32: ~1.6 MB a chunk
IDX_CHUNK_RECORDS = 4096
IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049
IMAGES_SUFFIX = re.compile(r"-images-idx3-ubyte(\.gz)?$")
LABELS_SUFFIX = re.compile(r"-labels-idx1-ubyte(\.gz)?$")


# what a letter's case label says: unknown (EMNIST Letters merges case), lower or upper
CASE_UNKNOWN, CASE_LOWER, CASE_UPPER = 0, 1, 2
CASE_LABELS_SUFFIX = "-case-labels-idx1-ubyte"


@dataclass(frozen=True)
class Dataset:
    images: np.ndarray  # (N, 28, 28) uint8, upright, white ink on black
    labels: np.ndarray  # (N,) int64, 0..25
    cases: np.ndarray | None = None  # (N,) int8, CASE_*; None: case unknown throughout

    def __post_init__(self) -> None:
        if self.images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE) or len(self.images) != len(self.labels):
            raise ValueError(f"inconsistent dataset: images {self.images.shape}, labels {self.labels.shape}")
        if self.cases is not None and len(self.cases) != len(self.labels):
            raise ValueError(f"inconsistent dataset: {len(self.labels)} labels, {len(self.cases)} case labels")

    def __len__(self) -> int:
        return len(self.labels)

    def case_labels(self) -> np.ndarray:
        """CASE_* per letter (CASE_UNKNOWN throughout when the data has no case labels)."""
        return self.cases if self.cases is not None else np.zeros(len(self.labels), dtype=np.int8)

    def subset(self, index: np.ndarray) -> "Dataset":
        return Dataset(self.images[index], self.labels[index], None if self.cases is None else self.cases[index])

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=NUM_CLASSES)

    def fingerprint(self) -> str:
        """sha256 of the images and labels, in order: equal fingerprints, the same examples."""
        digest = hashlib.sha256(np.ascontiguousarray(self.images).tobytes())
        digest.update(np.ascontiguousarray(self.labels, dtype=np.int64).tobytes())
        return digest.hexdigest()

    def without_duplicates(self) -> tuple["Dataset", int]:
        """The dataset with each distinct image kept once (first occurrence), and how many went."""
        flat = np.ascontiguousarray(self.images).reshape(len(self), -1)
        _, first = np.unique(flat.view(np.dtype((np.void, flat.shape[1]))).ravel(), return_index=True)
        if len(first) == len(self):
            return self, 0
        return self.subset(np.sort(first)), len(self) - len(first)


def _open_binary(path: Path) -> BinaryIO:
    if not path.exists():
        raise DataFormatError(f"{path}: no such file")
    if path.is_dir():
        raise DataFormatError(f"{path}: is a directory, expected a data file")
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


# --------------------------------------------------------------------------- Kaggle CSV


def _count_lines(path: Path) -> int:
    lines = 0
    last = b"\n"
    with _open_binary(path) as f:
        try:
            for block in iter(lambda: f.read(1 << 20), b""):
                lines += block.count(b"\n")
                last = block[-1:]
        except (OSError, EOFError) as exc:
            raise DataFormatError(f"{path}: cannot be read ({exc})") from None
    return lines + (last != b"\n")


def _looks_like_header(line: str) -> bool:
    first = line.split(",", 1)[0].strip()
    return not first.lstrip("-").isdigit()


def _diagnose_csv_line(path: Path, line_number: int, line: str) -> DataFormatError:
    """Say exactly what is wrong with one CSV line (used after the fast path fails)."""
    cells = line.rstrip("\r\n").split(",")
    where = f"{path}, line {line_number}"
    if len(cells) != PIXELS + 1:
        return DataFormatError(
            f"{where}: expected {PIXELS + 1} columns (label + {PIXELS} pixels), got {len(cells)}"
        )
    for column, cell in enumerate(cells):
        name = "label" if column == 0 else f"pixel{column - 1}"
        try:
            value = int(cell.strip())
        except ValueError:
            return DataFormatError(f"{where}, column {name}: expected an integer, got {cell.strip()!r}")
        if column == 0 and not 1 <= value <= NUM_CLASSES:
            return DataFormatError(f"{where}: label {value} is outside 1..{NUM_CLASSES}")
        if column > 0 and not 0 <= value <= 255:
            return DataFormatError(f"{where}, column {name}: pixel {value} is outside 0..255")
    return DataFormatError(f"{where}: cannot be parsed as a Kaggle EMNIST row")


def _parse_csv_chunk(path: Path, lines: list[str], first_line_number: int) -> np.ndarray:
    try:
        rows = np.loadtxt(lines, delimiter=",", dtype=np.int32, ndmin=2)
    except (ValueError, OverflowError):
        rows = None
    if rows is None or rows.shape[1] != PIXELS + 1:
        for offset, line in enumerate(lines):
            error = _diagnose_csv_line(path, first_line_number + offset, line)
            if "cannot be parsed" not in str(error):
                raise error
        raise _diagnose_csv_line(path, first_line_number, lines[0])
    bad_label = (rows[:, 0] < 1) | (rows[:, 0] > NUM_CLASSES)
    bad_pixel = ((rows[:, 1:] < 0) | (rows[:, 1:] > 255)).any(axis=1)
    bad = np.flatnonzero(bad_label | bad_pixel)
    if bad.size:
        raise _diagnose_csv_line(path, first_line_number + int(bad[0]), lines[int(bad[0])])
    return rows


def read_csv(path: str | Path) -> Dataset:
    """Read a Kaggle EMNIST Letters CSV in chunks; memory stays near the size of the result."""
    path = Path(path)
    total_lines = _count_lines(path)
    images = np.empty((total_lines, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    labels = np.empty(total_lines, dtype=np.int64)
    count = 0
    with _open_binary(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
        line_number = 0
        chunk: list[str] = []
        chunk_start = 1
        for line in text:
            line_number += 1
            if line_number == 1 and _looks_like_header(line):
                continue
            if not line.strip():
                continue
            if not chunk:
                chunk_start = line_number
            chunk.append(line)
            if len(chunk) == CSV_CHUNK_LINES:
                count = _store_rows(images, labels, count, _parse_csv_chunk(path, chunk, chunk_start))
                chunk = []
        if chunk:
            count = _store_rows(images, labels, count, _parse_csv_chunk(path, chunk, chunk_start))
    if count == 0:
        raise DataFormatError(f"{path}: empty file, expected rows of label,pixel0..pixel{PIXELS - 1}")
    return Dataset(images[:count], labels[:count])


def _store_rows(images: np.ndarray, labels: np.ndarray, count: int, rows: np.ndarray) -> int:
    n = len(rows)
    labels[count : count + n] = rows[:, 0] - 1
    images[count : count + n] = _upright(rows[:, 1:])
    return count + n


def _upright(stored_records: np.ndarray) -> np.ndarray:
    """EMNIST stores images transposed; this is the one place that undoes it (a view, no copy)."""
    return stored_records.reshape(-1, IMAGE_SIZE, IMAGE_SIZE).transpose(0, 2, 1)


# --------------------------------------------------------------------------- IDX


def _read_idx(path: Path, magic: int, item_shape: tuple[int, ...], what: str) -> np.ndarray:
    header_size = 4 + 4 * (1 + len(item_shape))
    with _open_binary(path) as f:
        try:
            header = f.read(header_size)
            if len(header) < 4:
                raise DataFormatError(f"{path}: empty or truncated IDX header, expected {what}")
            found_magic = int.from_bytes(header[:4], "big")
            if found_magic != magic:
                raise DataFormatError(
                    f"{path}: bad IDX magic {found_magic}, expected {magic} ({what})"
                )
            if len(header) < header_size:
                raise DataFormatError(f"{path}: truncated IDX header")
            dims = [int.from_bytes(header[i : i + 4], "big") for i in range(4, header_size, 4)]
            if tuple(dims[1:]) != item_shape:
                raise DataFormatError(
                    f"{path}: records have shape {tuple(dims[1:])}, expected {item_shape}"
                )
            count = dims[0]
            record_bytes = int(np.prod(item_shape, dtype=np.int64))
            records = np.empty((count, *item_shape), dtype=np.uint8)
            chunk = np.empty(IDX_CHUNK_RECORDS * record_bytes, dtype=np.uint8)
            for start in range(0, count, IDX_CHUNK_RECORDS):
                n = min(IDX_CHUNK_RECORDS, count - start)
                got = _read_into(f, chunk[: n * record_bytes])
                if got < n * record_bytes:
                    done = start * record_bytes + got
                    raise DataFormatError(
                        f"{path}: truncated: header says {count} records, data ends in record "
                        f"{done // record_bytes} ({done} of {count * record_bytes} bytes)"
                    )
                block = chunk[: n * record_bytes]
                records[start : start + n] = _upright(block) if item_shape else block
            if f.read(1):
                raise DataFormatError(f"{path}: extra bytes after the {count} records the header declares")
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise DataFormatError(f"{path}: cannot be read ({exc})") from None
    return records


def _read_into(f: BinaryIO, buffer: np.ndarray) -> int:
    view = memoryview(buffer)
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            break
        got += n
    return got


def read_idx(images_path: str | Path, labels_path: str | Path | None = None) -> Dataset:
    """Read an IDX images file and its labels file (found beside it when not given)."""
    images_path = Path(images_path)
    if LABELS_SUFFIX.search(images_path.name):
        images_path, labels_path = images_path.with_name(
            LABELS_SUFFIX.sub(lambda m: "-images-idx3-ubyte" + (m.group(1) or ""), images_path.name)
        ), images_path
    labels_path = Path(labels_path) if labels_path else matching_labels_file(images_path)
    images = _read_idx(images_path, IDX_IMAGES_MAGIC, (IMAGE_SIZE, IMAGE_SIZE), "28x28 images")
    labels = _read_idx(labels_path, IDX_LABELS_MAGIC, (), "labels").astype(np.int64)
    if len(images) != len(labels):
        raise DataFormatError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if len(labels) == 0:
        raise DataFormatError(f"{images_path}: holds no records")
    bad = np.flatnonzero((labels < 1) | (labels > NUM_CLASSES))
    if bad.size:
        raise DataFormatError(
            f"{labels_path}, record {bad[0]}: label {labels[bad[0]]} is outside 1..{NUM_CLASSES}"
        )
    return Dataset(images, labels - 1, _read_case_labels(images_path, labels - 1))


def _read_case_labels(images_path: Path, labels: np.ndarray) -> np.ndarray | None:
    """CASE_* from a ``*-case-labels-idx1-ubyte[.gz]`` file beside the images (ASCII codes of the
    letters as written), or None when there is none."""
    for suffix in ("", ".gz"):
        path = images_path.with_name(IMAGES_SUFFIX.sub(CASE_LABELS_SUFFIX + suffix, images_path.name))
        if path.exists():
            break
    else:
        return None
    codes = _read_idx(path, IDX_LABELS_MAGIC, (), "case labels").astype(np.int64)
    upper = (codes >= ord("A")) & (codes <= ord("Z"))
    letters = np.where(upper, codes - ord("A"), codes - ord("a"))
    if len(codes) != len(labels):
        raise DataFormatError(f"{path} holds {len(codes)} case labels but {images_path} holds {len(labels)} images")
    wrong = np.flatnonzero(letters != labels)
    if wrong.size:
        raise DataFormatError(f"{path}, record {wrong[0]}: case label {codes[wrong[0]]} is not the letter "
                              f"{chr(ord('a') + int(labels[wrong[0]]))} of the labels file")
    return np.where(upper, CASE_UPPER, CASE_LOWER).astype(np.int8)


def matching_labels_file(images_path: Path) -> Path:
    if not IMAGES_SUFFIX.search(images_path.name):
        raise DataFormatError(
            f"{images_path}: expected a name ending in -images-idx3-ubyte[.gz] or -labels-idx1-ubyte[.gz]"
        )
    for suffix in ("", ".gz"):
        candidate = images_path.with_name(IMAGES_SUFFIX.sub("-labels-idx1-ubyte" + suffix, images_path.name))
        if candidate.exists():
            return candidate
    raise DataFormatError(f"{images_path}: no matching *-labels-idx1-ubyte[.gz] file beside it")


# --------------------------------------------------------------------------- directories, many files


def dataset_files(directory: Path, split: str = "train") -> list[Path]:
    """Data files in a directory for one split: names containing ``split``.

    IDX image files (labels are found beside them) and CSV files, sorted. Evaluation files
    are never picked up for training: ``split="test"`` skips names that also contain "train"
    (for example a "test-...-train-pool" file), and ``split="train"`` needs "train" in the name.
    """
    if not directory.is_dir():
        raise DataFormatError(f"{directory}: not a directory")
    chosen = []
    for path in sorted(directory.iterdir()):
        name = path.name.lower()
        if not (IMAGES_SUFFIX.search(name) or re.search(r"\.csv(\.gz)?$", name)):
            continue
        if split not in name or (split == "test" and "train" in name):
            continue
        chosen.append(path)
    if not chosen:
        raise DataFormatError(
            f"{directory}: no {split} data found (expected *{split}*-images-idx3-ubyte[.gz] or *{split}*.csv)"
        )
    return chosen


def read_file(path: str | Path) -> Dataset:
    path = Path(path)
    if re.search(r"\.csv(\.gz)?$", path.name.lower()):
        return read_csv(path)
    if IMAGES_SUFFIX.search(path.name) or LABELS_SUFFIX.search(path.name):
        return read_idx(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file")
    raise DataFormatError(
        f"{path}: unknown data format, expected a Kaggle .csv[.gz] or an *-images-idx3-ubyte[.gz] file"
    )


def expand_paths(paths: Iterable[str | Path], split: str = "train") -> list[Path]:
    """Files named directly, plus the ``split`` files of each directory."""
    expanded: list[Path] = []
    for p in map(Path, paths):
        expanded.extend(dataset_files(p, split) if p.is_dir() else [p])
    return expanded


def load(paths: str | Path | Sequence[str | Path], split: str = "train") -> Dataset:
    """Read and concatenate every dataset file named (files or directories)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    parts = [read_file(p) for p in expand_paths(paths, split)]
    if not parts:
        raise DataFormatError("no data files given")
    return concatenate(parts)


def concatenate(parts: Sequence[Dataset]) -> Dataset:
    """The datasets one after the other; case labels kept where any part has them."""
    if len(parts) == 1:
        return parts[0]
    cases = None if all(p.cases is None for p in parts) else np.concatenate([p.case_labels() for p in parts])
    return Dataset(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]), cases)


def stratified_split(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of indices into (train, validation), keeping each class's share."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    rng = np.random.default_rng(seed)
    train_parts, val_parts = [], []
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_val = int(round(len(members) * val_fraction))
        if len(members) > 1:
            n_val = min(max(n_val, 1), len(members) - 1)
        val_parts.append(members[:n_val])
        train_parts.append(members[n_val:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(val_parts))


def train_validation(
    paths: Sequence[str | Path], val_fraction: float, seed: int, limit: int | None = None
) -> tuple[Dataset, Dataset]:
    """Load training data and split it; the same arguments always give the same two sets."""
    dataset = load(paths, split="train")
    if limit and limit < len(dataset):
        keep, _ = stratified_split(dataset.labels, 1 - limit / len(dataset), seed)
        dataset = dataset.subset(keep)
    train_index, val_index = stratified_split(dataset.labels, val_fraction, seed)
    return dataset.subset(train_index), dataset.subset(val_index)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

