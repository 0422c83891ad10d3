"""A writer's own letters from a folder: ``a/``, ``b/``, ... sub-folders of images (``A/`` for
capitals, where the file system tells them apart), or a ``labels.csv`` of ``filename,label``
beside the images. Every file that cannot be used is listed with why; none is silently dropped."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ImageError, LettersError
from ..labels import CLASS_NAMES
from .preprocess import preprocess
from .recognize import iter_image_files

CASE_UNKNOWN, CASE_LOWER, CASE_UPPER = 0, 1, 2


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
        with open(labels_csv, newline="") as f:
            for line, row in enumerate(csv.DictReader(f), start=2):
                path, label = folder / (row.get("filename") or ""), label_of(row.get("label") or "")
                if not row.get("filename"):
                    skipped.append((f"{labels_csv}:{line}", "no filename"))
                elif label is None:
                    skipped.append((str(path), f"unknown label {row.get('label')!r}; expected a letter a-z"))
                else:
                    labelled.append((path, label))
        return labelled, skipped
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        label = label_of(sub.name)
        files = iter_image_files([sub])
        if label is None:
            skipped += [(str(f), f"folder {sub.name!r} is not a letter a-z") for f in files]
        else:
            labelled += [(f, label) for f in files]
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
        raise LettersError(f"{folder}: no readable letters (expected a/, b/, ... folders of images, or labels.csv)")
    return WriterLetters(np.stack(pixels), np.array(labels, np.int64), np.array(cases, np.int8), names, skipped)
