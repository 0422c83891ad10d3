"""Writers' profiles kept by the server, in SQLite: the only module that opens the profiles database.

A profile is an unguessable id and the letters its writer taught: each letter's image as sent,
its label and case, and the network's features of it (what the reading side compares new letters
with: ``reading.profile``). Nothing of one profile is ever read for another: every query names
its profile's id. Limits keep one writer, or many, from filling the server.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np

from ..errors import LettersError
from ..labels import CLASS_NAMES
from ..reading.profile import WriterProfile
from ..reading.writer_letters import CASE_UPPER

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS profiles (id TEXT PRIMARY KEY, created REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS letters (row INTEGER PRIMARY KEY AUTOINCREMENT, profile TEXT NOT NULL "
    "REFERENCES profiles(id) ON DELETE CASCADE, label TEXT NOT NULL CHECK (length(label) = 1), "
    "letter_case INTEGER NOT NULL, image BLOB NOT NULL, features BLOB NOT NULL, created REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS letters_of_profile ON letters(profile)",
)
MAX_LETTERS_PER_PROFILE = 500
MAX_PROFILES = 1000
BUSY_TIMEOUT_MS = 10_000


def default_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("handwritten-letters")) / "profiles.sqlite3"


class ProfileFull(LettersError):
    """A limit of the store was reached (letters in a profile, profiles on the server)."""


class ProfileStore:
    """Profiles in one SQLite file (or in memory for ``":memory:"``: one process, gone at exit)."""

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False,
                                       isolation_level=None)
            self._db.execute("PRAGMA foreign_keys=ON")
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            for statement in SCHEMA:
                self._db.execute(statement)
        except sqlite3.Error as exc:
            raise LettersError(f"{self.path}: cannot open the profiles database ({exc})") from None

    def _query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def create(self) -> str:
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM profiles").fetchone()
            if count >= MAX_PROFILES:
                raise ProfileFull(f"this server keeps at most {MAX_PROFILES} profiles")
            profile_id = secrets.token_urlsafe(18)  # 144 random bits: not guessable, not enumerable
            self._db.execute("INSERT INTO profiles VALUES (?, ?)", (profile_id, time.time()))
        return profile_id

    def exists(self, profile_id: str) -> bool:
        return bool(self._query("SELECT 1 FROM profiles WHERE id = ?", (profile_id,)))

    def add(self, profile_id: str, label: str, letter_case: int, image: bytes, features: np.ndarray) -> int:
        """Store one taught letter; returns how many the profile holds."""
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM letters WHERE profile = ?", (profile_id,)).fetchone()
            if count >= MAX_LETTERS_PER_PROFILE:
                raise ProfileFull(f"a profile holds at most {MAX_LETTERS_PER_PROFILE} letters")
            self._db.execute("INSERT INTO letters (profile, label, letter_case, image, features, created) "
                             "VALUES (?, ?, ?, ?, ?, ?)", (profile_id, label, int(letter_case), image,
                                                           np.asarray(features, np.float32).tobytes(), time.time()))
        return count + 1

    def counts(self, profile_id: str) -> dict[str, int]:
        """Letters taught, by letter as taught: ``A`` for capitals, ``a`` for small letters (as the export's folders)."""
        rows = self._query("SELECT label, letter_case, count(*) FROM letters WHERE profile = ? "
                           "GROUP BY label, letter_case ORDER BY label, letter_case", (profile_id,))
        counts: dict[str, int] = {}
        for label, case, n in rows:
            key = label.upper() if case == CASE_UPPER else label
            counts[key] = counts.get(key, 0) + n
        return counts

    def writer_profile(self, profile_id: str) -> WriterProfile | None:
        """The profile's letters as the reading side uses them; None when it holds none."""
        rows = self._query("SELECT label, letter_case, features FROM letters WHERE profile = ? ORDER BY row",
                           (profile_id,))
        if not rows:
            return None
        features = np.stack([np.frombuffer(blob, np.float32) for _, _, blob in rows])
        labels = np.array([CLASS_NAMES.index(label) for label, _, _ in rows])
        return WriterProfile.empty(features.shape[1]).added(features, labels, np.array([c for _, c, _ in rows]))

    def delete(self, profile_id: str) -> bool:
        with self._lock:
            self._db.execute("DELETE FROM letters WHERE profile = ?", (profile_id,))
            return self._db.execute("DELETE FROM profiles WHERE id = ?", (profile_id,)).rowcount > 0

    def letters(self, profile_id: str) -> list[tuple[str, int, bytes]]:
        """Every taught letter: (label, case, image as sent)."""
        return self._query("SELECT label, letter_case, image FROM letters WHERE profile = ? ORDER BY row",
                           (profile_id,))
