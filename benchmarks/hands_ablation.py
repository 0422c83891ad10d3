"""Ablation of the `hands` recipe: what each kind of font-letter variation, the amount of font
letters and the way case is learned (52 outputs or a case head) add, on hands the model never saw;
and whether warping each letter's shape (a smooth bend of the whole letter) teaches the shapes of
unseen hands.

    python benchmarks/hands_ablation.py --base EMNIST_ONLY.keras --base-onnx EMNIST_ONLY.onnx \\
        [--epochs 3] [--rows 1,2,3] [--out runs/hands-ablation]

Protocol: every row starts from the same weights, a model trained on EMNIST alone (``--base``;
the bundled model's predecessor, letters-cnn 3), and trains ``--epochs`` epochs of the `hands`
recipe with one piece changed: same seed, same EMNIST split, same schedule. Row 0 is the base
itself. Each row is exported to ONNX (int8, as bundled) and scored on data its training never saw:

- EMNIST validation (the runs' shared 10% split, in the recipe's forms: 20,904 letters);
- the real-letter dev set (260 letters, as ``letters predict`` reads them; refusals wrong);
- the six held-out fonts (936 renderings: 52 letters x 3, seed 7, as ``benchmarks/fonts.py``),
  print and joined hands, and the case on letters whose capital has another shape.

Counts and 95% Wilson intervals beside every figure. The EMNIST test records are not read. A row
whose run directory already holds a model is scored again, not retrained. Prints a table (and
writes ablation.json); passes or fails nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from fonts import read_through_cli
from fonts import score as font_score
from real_letters import read_dev
from real_letters import score as dev_score

from handwritten_letters.reading.calibration import wilson_interval
from handwritten_letters.reading.recognize import OnnxModel, Recognizer
from handwritten_letters.training import font_letters
from handwritten_letters.training.export import export_onnx, validation_split_of_run
from handwritten_letters.training.recipes import RECIPES, variant
from handwritten_letters.training.run_files import BEST_MODEL
from handwritten_letters.training.train import TrainConfig, train

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
HANDS = RECIPES["hands"]
ROWS = [
    ("EMNIST only (the base)", None),
    ("+ font letters, every variation", HANDS),
    ("  pen width not varied", variant(HANDS, font_variations=("geometry", "wobble", "broken"))),
    ("  no slant, rotation, aspect", variant(HANDS, font_variations=("pen", "wobble", "broken"))),
    ("  no wobble, no broken strokes", variant(HANDS, font_variations=("pen", "geometry"))),
    ("  3x the font letters", variant(HANDS, font_renderings=48)),
    ("  joined hands' letters 3x", variant(HANDS, joined_renderings=48)),
    ("  a case head, not 52 outputs", variant(HANDS, case_head=True)),
    ("  joined 3x, letters warped", variant(HANDS, joined_renderings=48,
                                             font_variations=(*HANDS.font_variations, "warp"))),
]


def cell(right: int, n: int) -> str:
    if not n:
        return "-"  # a model without case answers no case
    low, high = wilson_interval(right, n)
    return f"{100 * right / n:5.1f} ({100 * low:.1f}-{100 * high:.1f})"


def validation_right(model: OnnxModel, validation) -> tuple[int, int]:
    logits = model.logits(validation.images)
    return int((np.asarray(logits).argmax(axis=1) == validation.labels).sum()), len(validation)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="the EMNIST-only model's weights (.keras)")
    parser.add_argument("--base-onnx", type=Path, required=True, help="the same model as bundled (.onnx)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rows", default=",".join(str(i) for i in range(len(ROWS))), help="which rows, e.g. 0,1,2")
    parser.add_argument("--out", type=Path, default=Path("runs/hands-ablation"))
    args = parser.parse_args()
    rows = [int(r) for r in args.rows.split(",")]

    models: dict[int, Path] = {}
    for index in rows:
        name, recipe = ROWS[index]
        if recipe is None:
            models[index] = args.base_onnx
            continue
        out = args.out / f"{index}-{name.strip().replace(' ', '-').replace(',', '')}"
        if not (out / "model.onnx").exists():
            recipe = variant(recipe, name=f"hands-ablation-{index}", epochs=args.epochs,
                             early_stopping_patience=args.epochs)
            train(TrainConfig(train_paths=[str(SHARED / "emnist-letters")], out_dir=str(out), recipe=recipe,
                              init_from=str(args.base), verbose=0))
            export_onnx(out / BEST_MODEL, out / "model.onnx", model_name=f"hands-ablation-{index}", quantize=True)
        models[index] = out / "model.onnx"

    trained = [path for index, path in models.items() if ROWS[index][1] is not None]
    validation = validation_split_of_run(trained[0].with_name(BEST_MODEL)) if trained else None
    dev = read_dev()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        font_letters.write_renderings(folder, font_letters.default_font_dir(), font_letters.HELD_OUT, 3, 7)
        print(f"{args.epochs} epochs from {args.base.name}; figures in % (95% interval)")
        print(f"{'row':<34} {'EMNIST val':>18} {'dev set':>18} {'fonts':>18} {'print':>18} {'joined':>18} "
              f"{'case':>18}")
        for index, model in models.items():
            fonts = font_score(Path(folder), read_through_cli(Path(folder), str(model)))
            recognizer = Recognizer(model)
            scored = dev_score(recognizer, dev)
            dev_right = sum(scored["right"].values())
            served = recognizer.model
            val = validation_right(served, validation) if validation is not None else (0, 1)
            if not served.cased:
                fonts["case"] = [0, 0]  # a model that answers no case has no case figure
            result = {"row": ROWS[index][0], "model": str(model), "emnist_validation": val,
                      "dev": (dev_right, len(dev)), **{k: tuple(fonts[k]) for k in ("all", "print", "joined", "case")}}
            results.append(result)
            print(f"{ROWS[index][0]:<34} {cell(*val):>18} {cell(dev_right, len(dev)):>18} "
                  + " ".join(f"{cell(*fonts[k]):>18}" for k in ("all", "print", "joined", "case")), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ablation.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
