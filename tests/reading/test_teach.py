"""Teaching a writer's hand in seconds, in the base install: `letters finetune DIR` (profile method)
writes a model that predict, read and serve take, measured on the writer's own letters, and
refuses to write one that reads them worse."""

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import letter_png

from handwritten_letters import Recognizer
from handwritten_letters.reading.profile import WriterProfile, profile_path
from handwritten_letters.reading.teach import teach

# stroke sets for a few letters, in a 100-px box (the helper draws them black on white)
SHAPES = {
    "a": (((20, 90), (50, 10)), ((50, 10), (80, 90)), ((32, 58), (68, 58))),
    "x": (((20, 15), (80, 90)), ((80, 15), (20, 90))),
    "l": (((50, 10), (50, 90)),),
    "t": (((50, 15), (50, 90)), ((25, 30), (75, 30))),
}


def write_letters(folder, per_letter=3, swap=None):
    rng = np.random.default_rng(0)
    for letter, strokes in SHAPES.items():
        name = swap.get(letter, letter) if swap else letter
        (folder / name).mkdir(parents=True, exist_ok=True)
        for k in range(per_letter):
            jitter = tuple(tuple(tuple(int(v + rng.integers(-4, 5)) for v in point) for point in stroke)
                           for stroke in strokes)
            (folder / name / f"{k}.png").write_bytes(letter_png(jitter, size=90 + 10 * k))
    return folder


def letters(*args):
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "handwritten_letters.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_finetune_writes_a_model_with_the_writers_profile_without_tensorflow(tmp_path):
    folder = write_letters(tmp_path / "mine")
    result = letters("finetune", folder, "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr[-2000:]
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert not any(name.split(".")[0] in ("tensorflow", "keras") for name in imported)
    assert "your held-out letters (12, each read without itself)" in result.stdout
    assert "95%" in result.stdout and "before" in result.stdout and "after" in result.stdout
    model = tmp_path / "run" / "model.onnx"
    assert model.exists() and profile_path(model).exists()
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["method"] == "profile" and report["letters"] == 12 and report["letters_taught"] == sorted(SHAPES)
    assert len(Recognizer(model).profile) == 12
    predicted = subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "predict", "--model", model,
                                folder / "x" / "0.png"], capture_output=True, text=True, timeout=120)
    assert predicted.returncode == 0 and "\tx " in predicted.stdout


def test_too_few_letters_to_measure_is_said(tmp_path):
    folder = write_letters(tmp_path / "mine", per_letter=1)
    result = letters("finetune", folder, "--out", tmp_path / "run")
    assert result.returncode == 0
    assert "warning: only 0 of your 4 letters can be measured" in result.stderr


def test_a_profile_that_reads_the_writers_letters_worse_is_refused(tmp_path, monkeypatch):
    from handwritten_letters.errors import LettersError
    from handwritten_letters.reading import teach as teach_module

    folder = write_letters(tmp_path / "mine")
    real = teach_module.leave_one_out

    def worse(logits, profile):
        measured, before, after = real(logits, profile)
        truth = profile.labels[measured]
        return measured, truth.copy(), (truth + 1) % 26  # every held-out letter right before, wrong after

    monkeypatch.setattr(teach_module, "leave_one_out", worse)
    with pytest.raises(LettersError, match=r"not written: with the profile, 0 of your 12 held-out letters read right "
                                           r"against 12 without it"):
        teach(folder, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_mislabelled_letters_are_learned_as_labelled(tmp_path):
    """The guard measures the writer's letters by the writer's own labels: a folder that calls its x's
    t's teaches t's (what the writer asked for), it is not refused."""
    folder = write_letters(tmp_path / "mine", swap={"x": "t", "t": "x"})
    result = letters("finetune", folder, "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr[-1000:]
    assert Recognizer(tmp_path / "run" / "model.onnx").predict(folder / "t" / "0.png")[0].label == "t"


def test_a_profile_leans_answers_toward_the_writers_letters_only_where_they_look_alike(tmp_path):
    rng = np.random.default_rng(0)
    taught = rng.normal(size=(3, 8)).astype(np.float32)
    profile = WriterProfile.empty(8).added(taught, np.array([0, 1, 2]))
    evidence = profile.evidence(np.concatenate([taught[:1], -taught[:1]]))
    assert evidence[0, 0] > 0 and evidence[0, 3:].max() == 0  # its own letter only
    assert evidence[1].max() == 0  # nothing alike: the network's answer stands
    saved = WriterProfile.load(profile.save(profile_path(tmp_path / "model.onnx")))
    assert np.array_equal(saved.labels, profile.labels) and saved.weight == profile.weight


def test_teach_refuses_a_folder_of_nothing_readable(tmp_path):
    from handwritten_letters.errors import LettersError

    (tmp_path / "mine" / "a").mkdir(parents=True)
    (tmp_path / "mine" / "a" / "broken.png").write_bytes(b"not an image")
    with pytest.raises(LettersError, match="no readable letters"):
        teach(tmp_path / "mine", tmp_path / "run")
