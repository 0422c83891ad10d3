"""A writer's own letters from a folder: ``a/``, ``b/``, ... sub-folders of images (``A/`` for
capitals, where the file system tells them apart), or a ``labels.csv`` beside the images with a
header naming its file column (``filename`` or ``path``) and its ``label`` column. Every file that
cannot be used is listed with why; none is silently dropped."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ImageError, LettersError, NoImagesError
from ..labels import CLASS_NAMES
from .preprocess import preprocess
from .recognize import iter_image_files

CASE_UNKNOWN, CASE_LOWER, CASE_UPPER = 0, 1, 2
FILE_COLUMNS = ("filename", "path")  # what a labels.csv may call its file column (as timm and Kaggle CSVs do)
LABEL_COLUMN = "label"
SHOWN_SKIPPED = 5  # files named in the error when no letter could be read


@dataclass
class WriterLetters:
    pixels: np.ndarray  # (N, 28, 28) as the model sees them
    labels: np.ndarray  # (N,) letter index 0..25
    cases: np.ndarray  # (N,) CASE_*: from the folder's or label's case where it was given as one
    names: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)


def label_of(name: str) -> tuple[str, int] | None:
    """A folder or label name as (letter, case), or None when it is not one letter."""
    name = name.strip()
    if len(name) != 1 or name.lower() not in CLASS_NAMES:
        return None
    return name.lower(), (CASE_UPPER if name.isupper() else CASE_LOWER)


def labelled_files(folder: Path) -> tuple[list[tuple[Path, tuple[str, int]]], list[tuple[str, str]]]:
    labelled, skipped = [], []
    labels_csv = folder / "labels.csv"
    if labels_csv.exists():
        return _labelled_by_csv(folder, labels_csv)
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        label = label_of(sub.name)
        files = iter_image_files([sub])
        if label is None:
            skipped += [(str(f), f"folder {sub.name!r} is not one letter a-z or A-Z") for f in files]
        else:
            labelled += [(f, label) for f in files]
    return labelled, skipped


def _labelled_by_csv(folder: Path, labels_csv: Path) -> tuple[list, list]:
    labelled, skipped = [], []
    with open(labels_csv, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.DictReader(f)
        columns = [c.strip() for c in reader.fieldnames or []]
        file_column = next((c for c in FILE_COLUMNS if c in columns), None)
        if file_column is None or LABEL_COLUMN not in columns:
            raise LettersError(f"{labels_csv}: header {','.join(columns) or '(empty)'}; expected a file column "
                               f"({' or '.join(FILE_COLUMNS)}) and a {LABEL_COLUMN} column, e.g. filename,label")
        reader.fieldnames = columns
        for line, row in enumerate(reader, start=2):
            name, given = (row.get(file_column) or "").strip(), row.get(LABEL_COLUMN) or ""
            path, label = folder / name, label_of(given)
            if not name:
                skipped.append((f"{labels_csv}:{line}", f"no {file_column}"))
            elif label is None:
                skipped.append((str(path), f"{labels_csv}:{line}: label {given!r} is not one letter a-z or A-Z"))
            else:
                labelled.append((path, label))
    return labelled, skipped


def read_writer_letters(folder: str | Path) -> WriterLetters:
    """The writer's letters as the model sees them, and every skipped file with why."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LettersError(f"{folder}: not a folder; expected one sub-folder per letter (a/, b/, ...) or a labels.csv")
    labelled, skipped = labelled_files(folder)
    pixels, labels, cases, names = [], [], [], []
    for path, (letter, case) in labelled:
        try:
            item = preprocess(path)
        except ImageError as exc:
            skipped.append((str(path), str(exc)))
            continue
        if item.rejected:
            skipped.append((str(path), item.rejected))
            continue
        pixels.append(item.pixels)
        labels.append(CLASS_NAMES.index(letter))
        cases.append(case)
        names.append(str(path))
    if not pixels:
        reasons = "; ".join(f"{name}: {why}" for name, why in skipped[:SHOWN_SKIPPED])
        more = f" (and {len(skipped) - SHOWN_SKIPPED} more)" if len(skipped) > SHOWN_SKIPPED else ""
        raise NoImagesError(f"{folder}: no readable letters" + (f": {reasons}{more}" if skipped else
                            " (expected a/, b/, ... folders of images, A/ for capitals, or a labels.csv "
                            "with filename,label)"))
    return WriterLetters(np.stack(pixels), np.array(labels, np.int64), np.array(cases, np.int8), names, skipped)
