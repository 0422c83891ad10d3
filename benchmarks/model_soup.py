"""A "model soup": networks fine-tuned from one start, averaged weight by weight into one network.

    python benchmarks/model_soup.py --out runs/soup A/Best_Model.keras B/Best_Model.keras [...]

Every weight and normalisation statistic is the mean over the networks; nothing is trained. The
networks must share one architecture (the same layers with the same shapes). Writes
``OUT/Best_Model.keras`` and, beside it, the first network's ``run.json`` (its validation split
calibrates `letters export --quantize`, so every network must have been trained on the same split:
checked against the split each run.json records). Then export and score it as any run (`letters export`, `benchmarks/fonts.py`,
`benchmarks/real_letters.py`). Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from handwritten_letters.training import model  # noqa: F401  (registers the custom layers for loading)
from handwritten_letters.training.run_files import BEST_MODEL


def split_of(run_json: Path) -> dict | None:
    """The split the run recorded (its training and validation letters' fingerprints, as `letters
    export` and `--resume` check them)."""
    return json.loads(run_json.read_text()).get("split")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=Path, help="Keras models (.keras), each with run.json beside it")
    parser.add_argument("--out", type=Path, required=True, help="folder for the soup's Best_Model.keras and run.json")
    args = parser.parse_args()
    if len(args.models) < 2:
        parser.error("a soup needs at least two models")
    splits = [split_of(path.with_name("run.json")) for path in args.models]
    unrecorded = [str(path) for path, split in zip(args.models, splits) if split is None]
    if unrecorded:
        parser.error("no split recorded in the run.json beside " + ", ".join(unrecorded))
    if any(split != splits[0] for split in splits):
        parser.error("the models were trained on different EMNIST splits: " + "; ".join(map(str, splits)))

    import keras  # after handwritten_letters.training, which sets Keras up (training/__init__)

    networks = [keras.models.load_model(path, compile=False) for path in args.models]
    weights = [network.get_weights() for network in networks]
    shapes = [[w.shape for w in ws] for ws in weights]
    if any(s != shapes[0] for s in shapes):
        parser.error("the models do not share one architecture (their weights' shapes differ)")
    soup = networks[0]
    soup.set_weights([np.mean(arrays, axis=0).astype(arrays[0].dtype) for arrays in zip(*weights)])
    args.out.mkdir(parents=True, exist_ok=True)
    soup.save(args.out / BEST_MODEL)
    shutil.copy(args.models[0].with_name("run.json"), args.out / "run.json")
    print(f"{args.out / BEST_MODEL}: the mean of {len(networks)} networks' weights ({len(weights[0])} arrays)")


if __name__ == "__main__":
    main()
