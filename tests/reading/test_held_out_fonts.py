"""Hands the model never saw: the held-out handwriting fonts, drawn as files and read through the
file path, must read no worse than reported (README, MODEL_CARD.md) minus 2 points."""

import csv

import pytest
from helpers import FONTS

from handwritten_letters import Recognizer
from handwritten_letters.training.font_letters import HELD_OUT, JOINED, write_renderings

# what MODEL_CARD.md reports for the bundled model, letters-cnn 5 with its letter check
# (benchmarks/fonts.py: 3 renderings, seed 7)
# on the eight held-out fonts (three joined hands, great-vibes among them: harder than the six before)
REPORTED = {"all": 0.917, "print": 0.971, "joined": 0.827, "case": 0.976}
FLOOR_MARGIN = 0.02
CASE_SHOWN = set("abdefghnqrt")


@pytest.mark.skipif(not (FONTS / "fonts.csv").exists(),
                    reason=f"handwriting fonts not found at {FONTS} (CI always has them)")
def test_held_out_fonts_read_no_worse_than_reported(tmp_path):
    labels = write_renderings(tmp_path, FONTS, HELD_OUT, per_glyph=3, seed=7)
    with open(labels) as f:
        rows = list(csv.DictReader(f))
    predictions = Recognizer.default().predict([tmp_path / row["filename"] for row in rows])
    tallies = {key: [0, 0] for key in REPORTED}
    for row, prediction in zip(rows, predictions):
        right = prediction.label == row["letter"]
        for key in ("all", "joined" if row["font"] in JOINED else "print"):
            tallies[key][0] += right
            tallies[key][1] += 1
        if right and row["letter"] in CASE_SHOWN:
            tallies["case"][0] += prediction.case == row["case"]
            tallies["case"][1] += 1
    assert tallies["all"][1] == len(HELD_OUT) * 52 * 3
    shares = {key: right / n for key, (right, n) in tallies.items()}
    below = {key: round(share, 3) for key, share in shares.items() if share < REPORTED[key] - FLOOR_MARGIN}
    assert not below, f"held-out fonts read worse than reported: {below} (reported {REPORTED})"
