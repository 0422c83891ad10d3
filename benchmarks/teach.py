"""Teaching one hand: fonts stand in for writers (each font is one consistent hand), the real
dev set's drawers for real people. Through the commands a user runs.

    python benchmarks/teach.py fonts [--fonts held-out|training] [--method profile|deep]
    python benchmarks/teach.py drawers
    python benchmarks/teach.py sweep     # the profile's settings, chosen on the training fonts

fonts: for each font, 1 rendering of each of the 52 letters is written as DIR/<letter>/ (capital
folders for capitals) and taught with `letters finetune DIR --out RUN`; 2 other renderings (other
seeds: pen width, slant and size varied) are read with `letters predict --model RUN/model.onnx` and
with the bundled model. A font's renderings are cleaner and more alike than a person's repeated
letters: the stand-in overstates what a real writer gains.
drawers: drawers 01-05 of the dev set taught (their 130 letters), drawers 06-10 read.
Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from handwritten_letters.reading.calibration import wilson_interval
from handwritten_letters.training import font_letters

REAL_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "letters-real-dev"


def letters_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "handwritten_letters.cli", *map(str, args)], capture_output=True,
                          text=True)


def read(folder: Path, model: Path | None) -> dict[str, str]:
    done = letters_cli("predict", "--format", "csv", folder, *(["--model", model] if model else []))
    return {row["path"]: row["label"] for row in csv.DictReader(io.StringIO(done.stdout))}


def as_teaching_folder(labels_csv: Path, out: Path) -> None:
    with open(labels_csv) as f:
        for row in csv.DictReader(f):
            letter = row["letter"].upper() if row["case"] == "upper" else row["letter"]
            (out / letter).mkdir(parents=True, exist_ok=True)
            source = labels_csv.parent / row["filename"]
            shutil.copy(source, out / letter / source.name.replace(".png", f"-{row['font']}.png"))


def score(labels_csv: Path, answers: dict[str, str]) -> tuple[int, int]:
    with open(labels_csv) as f:
        rows = list(csv.DictReader(f))
    return sum(answers[str(labels_csv.parent / r["filename"])] == r["letter"] for r in rows), len(rows)


def share(right: int, n: int) -> str:
    low, high = wilson_interval(right, n)
    return f"{right / n:.3f} ({right}/{n}; 95% {low:.3f}-{high:.3f})"


def fonts(args) -> None:
    names = font_letters.HELD_OUT if args.fonts == "held-out" else font_letters.training_fonts(args.font_dir)[:6]
    totals = {"bundled": [0, 0], "taught": [0, 0]}
    print(f"{'font':<22}{'joined':>7}{'bundled':>10}{'taught':>10}{'seconds':>9}")
    for name in names:
        with tempfile.TemporaryDirectory() as temporary:
            work = Path(temporary)
            teach_csv = font_letters.write_renderings(work / "render-teach", args.font_dir, [name], 1, seed=101)
            as_teaching_folder(teach_csv, work / "teach")
            measure_csv = font_letters.write_renderings(work / "measure", args.font_dir, [name], 2, seed=202)
            started = time.perf_counter()
            done = letters_cli("finetune", work / "teach", "--out", work / "run", "--method", args.method)
            seconds = time.perf_counter() - started
            if done.returncode:
                print(f"{name}: finetune refused or failed: {done.stderr.strip().splitlines()[-1]}")
                continue
            bundled = score(measure_csv, read(work / "measure", None))
            taught = score(measure_csv, read(work / "measure", work / "run" / "model.onnx"))
        for key, (right, n) in (("bundled", bundled), ("taught", taught)):
            totals[key][0] += right
            totals[key][1] += n
        print(f"{name:<22}{'yes' if name in font_letters.JOINED else 'no':>7}{bundled[0] / bundled[1]:>10.3f}"
              f"{taught[0] / taught[1]:>10.3f}{seconds:>9.1f}")
    print(f"mean over {len(names)} fonts: bundled {share(*totals['bundled'])}, taught {share(*totals['taught'])}")


def drawers(args) -> None:
    with open(REAL_DEV / "labels.csv") as f:
        rows = list(csv.DictReader(f))
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        measure = work / "measure"
        measure.mkdir()
        for row in rows:
            drawer = int(row["filename"].rsplit("_", 1)[1].split(".")[0])
            source = REAL_DEV / row["filename"]
            target = (work / "teach" / row["label"]) if drawer <= 5 else measure
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target / source.name)
        truth = {str(measure / Path(r["filename"]).name): r["label"] for r in rows
                 if int(r["filename"].rsplit("_", 1)[1].split(".")[0]) > 5}
        done = letters_cli("finetune", work / "teach", "--out", work / "run", "--method", args.method)
        print(done.stdout.strip() or done.stderr.strip())
        if done.returncode:
            return
        for name, model in (("bundled", None), ("taught", work / "run" / "model.onnx")):
            answers = read(measure, model)
            right = sum(answers[p] == label for p, label in truth.items())
            print(f"drawers 06-10 ({len(truth)} letters), {name}: {share(right, len(truth))}")




def sweep(args) -> None:
    """The profile's settings, chosen on the training fonts as writers (never the held-out fonts or the dev set)."""
    import itertools

    import numpy as np

    from handwritten_letters.reading import profile as profile_module
    from handwritten_letters.reading.profile import WriterProfile
    from handwritten_letters.reading.recognize import OnnxModel, bundled_model_path

    model = OnnxModel(bundled_model_path())
    writers = []
    for name in font_letters.training_fonts(args.font_dir):
        taught = font_letters.letters(args.font_dir, [name], 1, seed=101)
        measured = font_letters.letters(args.font_dir, [name], 2, seed=202)
        features = model.features(taught.images)
        outputs = model.outputs(measured.images)
        writers.append((WriterProfile.empty(features.shape[1]).added(features, taught.labels, taught.cases),
                        outputs, measured.labels))
    base = np.mean([(o[0].argmax(1) == labels).mean() for _, o, labels in writers])
    print(f"{len(writers)} training fonts as writers; bundled model {base:.4f}")
    for weight, floor, spread in itertools.product((0.5, 1.0, 2.0), (0.3, 0.5, 0.7), (0.02, 0.05, 0.1)):
        scores = []
        for taught, outputs, labels in writers:
            candidate = WriterProfile(taught.features, taught.labels, taught.cases, weight, floor, spread)
            logits = outputs[0] / model.temperature + candidate.evidence(outputs[2])
            scores.append((logits.argmax(1) == labels).mean())
        print(f"weight {weight:<4} floor {floor:<4} spread {spread:<5} mean {np.mean(scores):.4f} "
              f"worst {np.min(scores):.4f}")
    print(f"(in use: weight {profile_module.WEIGHT}, floor {profile_module.FLOOR}, spread {profile_module.SPREAD})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["fonts", "drawers", "sweep"])
    parser.add_argument("--fonts", choices=["held-out", "training"], default="held-out")
    parser.add_argument("--font-dir", type=Path, default=font_letters.default_font_dir())
    parser.add_argument("--method", choices=["profile", "deep"], default="profile")
    args = parser.parse_args()
    {"fonts": fonts, "drawers": drawers, "sweep": sweep}[args.what](args)


if __name__ == "__main__":
    main()
