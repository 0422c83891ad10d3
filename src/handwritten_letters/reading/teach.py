"""Teach the recognizer one person's hand in seconds, without training: a writer's profile
(``profile.py``) from a folder of their letters, measured on their own letters before it is kept.

Measurement: every letter taught at least twice in its case is read once by the base model and
once with the profile built from all the *other* letters (leave-one-out), so each is a letter the
profile never saw. A letter taught only once cannot be measured that way (without it, its letter
has no example in that shape), so a folder of one example per letter is written with a warning,
not a figure.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import LettersError
from .calibration import wilson_interval
from .profile import WriterProfile, profile_path
from .recognize import OnnxModel, bundled_model_path
from .writer_letters import read_writer_letters

MIN_MEASURED = 20  # fewer measurable letters than this: say the figures cannot tell much


@dataclass
class TeachResult:
    out_dir: Path
    model_onnx: Path
    report: dict
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _share(right: int, n: int) -> dict:
    low, high = wilson_interval(right, n)
    return {"right": right, "n": n, "accuracy": right / n if n else None, "ci95": [low, high] if n else None}


def leave_one_out(logits: np.ndarray, profile: WriterProfile) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each measurable letter (taught at least twice in its case): the base model's answer (from
    its calibrated ``logits``, one row per taught letter) and the answer with a profile of every other
    letter. Returns (which letters, before, after)."""
    kinds = profile.labels * 3 + profile.cases
    counts = np.bincount(kinds, minlength=26 * 3)
    measurable = np.flatnonzero(counts[kinds] >= 2)
    if not len(measurable):
        return measurable, np.zeros(0, np.int64), np.zeros(0, np.int64)
    before = logits[measurable]
    after = before + profile.evidence(profile.features[measurable], leave_out=measurable)  # never itself
    return measurable, before.argmax(axis=1), after.argmax(axis=1)


def teach(folder: str | Path, out_dir: str | Path, base_model: str | Path | None = None) -> TeachResult:
    """Learn a writer's profile from ``folder`` (a/, b/, ... or labels.csv); write ``out_dir/model.onnx``
    (the base model) with ``model.profile.npz`` beside it, and ``report.json``. Refuses, writing
    nothing, when the profile reads the writer's own measurable letters worse than the base model."""
    started = time.perf_counter()
    base_model = Path(base_model) if base_model else bundled_model_path()
    model = OnnxModel(base_model)
    if not model.has_features:
        raise LettersError(f"{base_model}: this model does not give the features a writer's profile needs; "
                           "use the bundled model or one exported from a cased run, or --method deep")
    letters = read_writer_letters(folder)
    logits, _, features = model.outputs(letters.pixels)  # one pass: the answers and the features
    profile = WriterProfile.empty(features.shape[1]).added(features, letters.labels, letters.cases)
    measured, before, after = leave_one_out(logits / model.temperature, profile)
    truth = letters.labels[measured]
    report = {
        "method": "profile", "base_model": str(base_model), "letters": len(letters.labels),
        "letters_taught": sorted(profile.taught()), "skipped": len(letters.skipped),
        "before": _share(int((before == truth).sum()), len(measured)),
        "after": _share(int((after == truth).sum()), len(measured)),
        "protocol": "each letter taught at least twice in its case, read by the base model and by the "
                    "profile of every other letter (leave-one-out); refusals are not applied",
    }
    warnings = []
    if len(measured) < MIN_MEASURED:
        measurable = (f"all {len(measured)} of your letters can be measured" if len(measured) == len(letters.labels)
                      else f"only {len(measured)} of your {len(letters.labels)} letter"
                           f"{'' if len(letters.labels) == 1 else 's'} can be measured (a letter "
                           f"needs at least 2 examples in its case)")
        warnings.append(f"{measurable}: too few to say whether the profile helps; teach 2-5 of each letter")
    if len(measured) and report["after"]["right"] < report["before"]["right"]:
        raise LettersError(
            f"{folder}: not written: with the profile, {report['after']['right']} of your {len(measured)} held-out "
            f"letters read right against {report['before']['right']} without it (leave-one-out); "
            "check the folders' labels, or teach more examples of the letters it confuses")
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        model_onnx = out_dir / "model.onnx"
        shutil.copyfile(base_model, model_onnx)
        profile.save(profile_path(model_onnx))
        report["seconds"] = round(time.perf_counter() - started, 2)
        (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    except OSError as exc:
        raise LettersError(f"{out_dir}: cannot write the run ({exc.strerror or exc})") from None
    return TeachResult(out_dir, model_onnx, report, letters.skipped, warnings)
