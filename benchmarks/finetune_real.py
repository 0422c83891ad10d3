"""Fine-tuning on real people's letters, measured on letters it never saw.

    python benchmarks/finetune_real.py [--out runs/finetune-real] [--epochs 12]

The real-letter dev set (../shared/data/letters-real-dev, 260 letters, drawers 01-10 of each
letter) is split by drawer: drawers 01-05 are arranged as DIR/<letter>/<file>.png and given to
`letters finetune`; drawers 06-10 are read with `letters predict --format csv` by the bundled
model and by the fine-tuned one (refusals count as wrong). Prints the wall time of the
fine-tuning command, both accuracies, and the EMNIST letters before/after (from report.json).
Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REAL_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "letters-real-dev"
ADAPT_DRAWERS = {f"{d:02d}" for d in range(1, 6)}


def letters(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "handwritten_letters.cli", *args], capture_output=True, text=True)


def accuracy(model: Path | None, files: list[Path], labels: dict[str, str]) -> float:
    result = letters("predict", "--format", "csv", *(["--model", str(model)] if model else []), *map(str, files))
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    return sum(r["label"] == labels[Path(r["path"]).name] for r in rows) / len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/finetune-real"))
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args()
    with open(REAL_DEV / "labels.csv") as f:
        rows = list(csv.DictReader(f))
    labels = {Path(r["filename"]).name: r["label"] for r in rows}
    adapt_dir = args.out / "adapt-letters"
    shutil.rmtree(adapt_dir, ignore_errors=True)
    measure = []
    for row in rows:
        path = REAL_DEV / row["filename"]
        drawer = path.stem.rsplit("_", 1)[1]
        if drawer in ADAPT_DRAWERS:
            (adapt_dir / row["label"]).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, adapt_dir / row["label"] / path.name)
        else:
            measure.append(path)
    started = time.perf_counter()
    run = letters("finetune", str(adapt_dir), "--out", str(args.out / "run"), "--epochs", str(args.epochs),
                  "--method", "deep")
    seconds = time.perf_counter() - started
    if run.returncode:
        raise SystemExit(run.stderr)
    print(run.stdout)
    report = json.loads((args.out / "run" / "report.json").read_text())
    before, after = accuracy(None, measure, labels), accuracy(args.out / "run" / "model.onnx", measure, labels)
    print(f"letters finetune on {len(rows) - len(measure)} letters (drawers 01-05): {seconds:.0f} s wall, start-up included")
    print(f"drawers 06-10, {len(measure)} letters never seen, read by letters predict (refusals count as wrong):")
    print(f"  bundled model {before:.3f}   fine-tuned {after:.3f}   ({(after - before) * 100:+.1f} points)")
    print(f"EMNIST letters neither model trained on ({report['protocol'].split('EMNIST: ')[1]}):")
    print(f"  bundled model {report['before']['emnist_check']:.3f}   fine-tuned {report['after']['emnist_check']:.3f}")


if __name__ == "__main__":
    main()
