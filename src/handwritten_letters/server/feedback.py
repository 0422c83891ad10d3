"""Corrections from the page, kept in SQLite: the only module that opens the feedback database.

Each row holds the image exactly as the page sent it, the model's answer and top-k, the right
label, the model's name and version, and the time. WAL mode and short transactions let several
server workers write at once; ``export`` writes the per-letter folders ``letters finetune`` reads.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from ..errors import LettersError
from ..labels import CLASS_NAMES
from ..reading.preprocess import open_image

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    image BLOB NOT NULL,
    image_format TEXT NOT NULL,
    answer TEXT,
    top_k TEXT NOT NULL,
    correct_label TEXT NOT NULL CHECK (length(correct_label) = 1),
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL
)
"""
BUSY_TIMEOUT_MS = 10_000


def default_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("handwritten-letters")) / "feedback.sqlite3"


@dataclass
class Correction:
    image: bytes
    answer: str | None  # what the model said (None when it refused)
    top_k: list[tuple[str, float]]
    correct_label: str
    model_name: str
    model_version: str


class FeedbackStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(SCHEMA)
                db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise LettersError(f"{self.path}: cannot open the feedback database ({exc})") from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return db

    def add(self, correction: Correction) -> int:
        """Store one correction; returns its id. The label must be a letter a-z."""
        label = correction.correct_label.strip().lower()
        if label not in CLASS_NAMES:
            raise ValueError(f"correct_label: expected a letter a-z, got {correction.correct_label!r}")
        image_format = open_image(correction.image, "image").format or "PNG"  # raises ImageError if not an image
        with closing(self._connect()) as db, db:
            cursor = db.execute(
                "INSERT INTO feedback (created, image, image_format, answer, top_k, correct_label, model_name, "
                "model_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), correction.image, image_format, correction.answer, json.dumps(correction.top_k), label,
                 correction.model_name, correction.model_version))
            return int(cursor.lastrowid)

    def count(self) -> int:
        with closing(self._connect()) as db:
            return int(db.execute("SELECT count(*) FROM feedback").fetchone()[0])

    def stats(self) -> list[dict]:
        """Per letter: corrections stored, how many said the model's answer was right, and what it said instead."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT correct_label, answer, count(*) FROM feedback GROUP BY correct_label, answer")
            table: dict[str, dict] = {}
            for label, answer, n in rows:
                entry = table.setdefault(label, {"letter": label, "total": 0, "model_right": 0, "read_as": {}})
                entry["total"] += n
                if answer == label:
                    entry["model_right"] += n
                else:
                    entry["read_as"][answer or "(refused)"] = n
        return [table[c] for c in CLASS_NAMES if c in table]

    def export(self, out_dir: str | Path) -> int:
        """Write every stored image to ``out_dir/<letter>/<id>.<format>``; returns how many."""
        out_dir = Path(out_dir)
        written = 0
        with closing(self._connect()) as db:
            for row_id, image, image_format, label in db.execute(
                    "SELECT id, image, image_format, correct_label FROM feedback ORDER BY id"):
                folder = out_dir / label
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{row_id:06d}.{image_format.lower()}").write_bytes(image)
                written += 1
        return written
