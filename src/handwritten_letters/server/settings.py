"""The server's settings: one object, built once by `letters serve` (or a test) and read once by
each worker process when it builds the app."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace

ENVIRONMENT = "LETTERS_SERVE_SETTINGS"  # how the settings reach worker processes (uvicorn starts them)


@dataclass(frozen=True)
class ServeSettings:
    model: str | None = None  # letter ONNX model; None: the bundled one
    reader: str = "auto"  # how /api/v1/words reads: lines, segment, combined or auto
    line_model: str | None = None  # line ONNX model; None: the bundled one
    cors_origins: tuple[str, ...] = ()  # cross-origin requests allowed from these origins only
    feedback_db: str | None = None  # SQLite file for corrections from the page; None: not stored
    access_log: bool = False  # one JSON line per request on stderr
    profiles_db: str = ":memory:"  # SQLite file for writers' profiles; ":memory:" keeps them in this process only

    def to_environment(self) -> None:
        os.environ[ENVIRONMENT] = json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> "ServeSettings":
        stored = json.loads(os.environ.get(ENVIRONMENT) or "{}")
        known = {f.name for f in fields(cls)}
        settings = cls(**{k: v for k, v in stored.items() if k in known})
        return replace(settings, cors_origins=tuple(settings.cors_origins))
