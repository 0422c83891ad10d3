"""Real letters people drew (../shared/data/letters-real-dev, Omniglot's Latin alphabet, 260
letters, 10 per letter): accuracy per model and per letter, through the real file path.

    python benchmarks/real_letters.py [--model name=path.onnx ...] [--figure docs/real-handwriting.png]

Refusals ("not sure", "not a letter") count as wrong; the share refused is shown apart. With
``--figure``, draws for the letters the first model misses most: each drawing as drawn, the
28x28 the model sees, and EMNIST training letters of the same class as the model sees them
(through the same preprocessing). Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import collections
import csv
from pathlib import Path

import numpy as np
from PIL import Image

from handwritten_letters.labels import CLASS_NAMES
from handwritten_letters.reading.preprocess import preprocess
from handwritten_letters.reading.recognize import Recognizer, bundled_model_path
from handwritten_letters.training import data
from handwritten_letters.training.redraw import through_preprocessing

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL_DEV = SHARED / "letters-real-dev"
EMNIST_RECORDS = SHARED / "emnist-letters" / "emnist-letters-train-rec085264-088799-images-idx3-ubyte.gz"


def read_dev() -> list[dict]:
    with open(REAL_DEV / "labels.csv") as f:
        return [{"path": REAL_DEV / row["filename"], "label": row["label"]} for row in csv.DictReader(f)]


def score(recognizer: Recognizer, rows: list[dict]) -> dict:
    predictions = recognizer.predict([row["path"] for row in rows])
    right = collections.Counter()
    confusions = collections.Counter()
    for prediction, row in zip(predictions, rows):
        if prediction.label == row["label"]:
            right[row["label"]] += 1
        else:
            confusions[(row["label"], prediction.label or f"refused:{prediction.top_k[0][0] if prediction.top_k else '-'}")] += 1
    total = sum(right.values())
    return {"accuracy": total / len(rows), "right": right, "confusions": confusions,
            "refused": sum(p.rejected for p in predictions) / len(rows),
            "top_guess": sum(bool(p.top_k) and p.top_k[0][0] == r["label"] for p, r in zip(predictions, rows)) / len(rows)}


def tile(images: list[np.ndarray], size: int = 56) -> np.ndarray:
    cells = [np.pad(np.asarray(Image.fromarray(i).resize((size, size), Image.NEAREST)), 2, constant_values=90)
             for i in images]
    return np.concatenate(cells, axis=1)


def figure(rows: list[dict], letters: list[str], path: Path) -> None:
    emnist = data.load([EMNIST_RECORDS]) if EMNIST_RECORDS.exists() else None
    bands = []
    for letter in letters:
        drawn = [row["path"] for row in rows if row["label"] == letter][:10]
        as_drawn = [255 - np.asarray(Image.open(p).convert("L").resize((28, 28), Image.LANCZOS)) for p in drawn]
        seen = [preprocess(p).pixels for p in drawn]
        band = [tile(as_drawn), tile(seen)]
        if emnist is not None:
            index = np.flatnonzero(emnist.labels == CLASS_NAMES.index(letter))[:10]
            band.append(tile([through_preprocessing(emnist.images[i]) for i in index]))
        bands.append(np.concatenate(band + [np.full((6, band[0].shape[1]), 255, np.uint8)], axis=0))
    Image.fromarray(np.concatenate(bands, axis=0)).save(path)
    print(f"figure: {path} (per letter, three rows: as drawn; what the model sees; EMNIST training letters "
          "of the class through the same preprocessing)")


def risk_coverage_plot(model_path: str, run_dir: Path, path: Path) -> None:
    """Share answered vs accuracy of what is answered, as the threshold rises: on the run's
    validation split (as trained) and on the real letters; the model's own threshold marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from handwritten_letters.reading.calibration import risk_coverage
    from handwritten_letters.training.export import validation_split_of_run

    recognizer = Recognizer(model_path)
    validation = validation_split_of_run(run_dir / "Best_Model.keras")  # as the run validated on it
    rows = read_dev()
    items = [preprocess(row["path"]) for row in rows]
    dev_probabilities = recognizer.predict_arrays(np.stack([item.pixels for item in items]))
    dev_labels = np.array([CLASS_NAMES.index(row["label"]) for row in rows])
    fig, ax = plt.subplots(figsize=(6, 4.2))
    threshold = recognizer.model.rejection_threshold
    for name, probabilities, labels in (("EMNIST validation, as trained", recognizer.predict_arrays(validation.images),
                                         validation.labels),
                                        ("real letters (dev, 260)", dev_probabilities, dev_labels)):
        curve = risk_coverage(probabilities, labels)
        line, = ax.plot(curve["coverage"], curve["selective_accuracy"], label=name)
        at = int(round(threshold * 100))
        ax.plot(curve["coverage"][at], curve["selective_accuracy"][at], "o", color=line.get_color())
        print(f"risk-coverage, {name}: at the model's threshold {threshold:.2f}: answers "
              f"{curve['coverage'][at]:.3f}, of those right {curve['selective_accuracy'][at]:.3f}")
    ax.set_xlabel("share of letters answered (coverage)")
    ax.set_ylabel("accuracy of the answered letters")
    ax.set_title(f"Risk-coverage; dots: the model's threshold {threshold:.2f}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"risk-coverage plot: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=[], help="name=path.onnx (default: the bundled model)")
    parser.add_argument("--figure", type=Path)
    parser.add_argument("--risk-coverage", type=Path, help="plot for the first model (needs --run)")
    parser.add_argument("--run", type=Path, help="the first model's training run (for its validation split)")
    args = parser.parse_args()
    if not (REAL_DEV / "labels.csv").exists():
        raise SystemExit(f"the real-letter dev set is not at {REAL_DEV}")
    rows = read_dev()
    models = [m.split("=", 1) for m in args.model] or [["bundled", str(bundled_model_path())]]
    results = {}
    print(f"real letters (Omniglot Latin, dev), {len(rows)} letters; refusals count as wrong")
    print(f"{'model':<12} {'accuracy':>9} {'top guess':>10} {'refused':>8}  letters below 9/10")
    for name, path in models:
        results[name] = result = score(Recognizer(path), rows)
        weak = " ".join(f"{c}:{result['right'][c]}" for c in CLASS_NAMES if result["right"][c] < 9)
        print(f"{name:<12} {result['accuracy']:>9.3f} {result['top_guess']:>10.3f} {result['refused']:>8.3f}  {weak}")
    print("\nper letter (right of 10): " + " ".join(f"{c}" for c in CLASS_NAMES))
    for name, result in results.items():
        print(f"  {name:<10} " + " ".join(str(result["right"][c]) if result["right"][c] < 10 else "." for c in CLASS_NAMES))
    for name, result in results.items():
        print(f"most common errors, {name}: " + ", ".join(f"{t}->{p} x{n}" for (t, p), n in result["confusions"].most_common(8)))
    if args.risk_coverage:
        risk_coverage_plot(models[0][1], args.run, args.risk_coverage)
    if args.figure:
        first = results[models[0][0]]
        worst = [c for c in sorted(CLASS_NAMES, key=lambda c: first["right"][c]) if first["right"][c] < 9][:6]
        figure(rows, worst or ["i", "a", "r"], args.figure)


if __name__ == "__main__":
    main()
