"""A base install (no [train] extra) recognizes and serves without TensorFlow."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_recognizer_import_does_not_import_tensorflow():
    code = "import handwritten_letters.reading.recognize, handwritten_letters.server.app, sys; " \
           "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_base_install_in_a_fresh_venv_predicts(tmp_path):
    from helpers import letter_png

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", "-c", str(ROOT / "requirements.lock"), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    listed = subprocess.run([python, "-m", "pip", "list"], capture_output=True, text=True, check=True).stdout
    assert "tensorflow" not in listed and "keras" not in listed.lower()
    (tmp_path / "a.png").write_bytes(letter_png())
    result = subprocess.run([venv / "bin" / "letters", "predict", "--format", "csv", tmp_path / "a.png"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split(",")[1] == "a"
    # a writer's hand is learned in the base install too (the profile method needs no TensorFlow)
    for label in ("a", "x"):
        (tmp_path / "mine" / label).mkdir(parents=True)
        for k in range(2):
            strokes = (((20, 15), (80, 90)), ((80, 15), (20, 90))) if label == "x" else \
                (((20, 90), (50, 10)), ((50, 10), (80, 90)), ((32, 58), (68, 58)))
            (tmp_path / "mine" / label / f"{k}.png").write_bytes(letter_png(strokes, size=90 + 20 * k))
    taught = subprocess.run([venv / "bin" / "letters", "finetune", tmp_path / "mine", "--out", tmp_path / "run"],
                            capture_output=True, text=True, timeout=120)
    assert taught.returncode == 0, taught.stderr
    read = subprocess.run([venv / "bin" / "letters", "predict", "--model", tmp_path / "run" / "model.onnx",
                           "--format", "csv", tmp_path / "a.png"], capture_output=True, text=True, timeout=120)
    assert read.returncode == 0 and read.stdout.splitlines()[1].split(",")[1] == "a", read.stderr
