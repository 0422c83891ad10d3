"""The `letters` command as a user runs it: one-line errors with status 2, never a traceback."""

import subprocess
import sys

import numpy as np
import pytest
from helpers import SHARED_TRAIN_RECORDS, needs_shared_data, write_csv, write_idx_pair


def letters(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "handwritten_letters.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture()
def good_rows():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), rng.integers(1, 27, 6)


def test_csv_with_a_bad_row(tmp_path, good_rows):
    path = write_csv(tmp_path / "train.csv", *good_rows)
    lines = path.read_text().splitlines()
    lines[4] = lines[4].replace(",", ",x", 1)
    path.write_text("\n".join(lines) + "\n")
    assert_one_line_error(letters("data", "info", path), "train.csv, line 5", "expected an integer")


def test_truncated_idx(tmp_path, good_rows):
    path = write_idx_pair(tmp_path, "x-train", *good_rows, gz=False)
    path.write_bytes(path.read_bytes()[:-100])
    assert_one_line_error(letters("data", "info", path), "x-train-images-idx3-ubyte", "data ends in record 5")


def test_missing_file(tmp_path):
    assert_one_line_error(letters("data", "info", tmp_path / "missing.csv"), "missing.csv: no such file")


def test_train_on_a_missing_file(tmp_path):
    pytest.importorskip("keras")
    assert_one_line_error(letters("train", "--train", tmp_path / "nope.csv", "--out", tmp_path / "r"), "nope.csv")


def test_a_mistyped_recipe_is_named_before_any_data_is_looked_for(tmp_path):
    result = letters("train", "--recipe", "hand", "--train", tmp_path / "nope.csv", "--out", tmp_path / "r")
    assert_one_line_error(result, "--recipe", "'hand'", "hands-more-joined")


def test_evaluate_a_missing_model(tmp_path, good_rows):
    data_path = write_idx_pair(tmp_path, "x-test", *good_rows)
    assert_one_line_error(letters("evaluate", "--model", tmp_path / "none.onnx", "--data", data_path,
                                  "--out", tmp_path / "e"), "none.onnx: no such model file")


def test_usage_errors_exit_with_status_2(tmp_path):
    result = letters("predict", "--format", "xml", tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert letters("train", "--epochs", "0").returncode == 2


@pytest.mark.slow
@needs_shared_data
def test_train_and_evaluate_on_kaggle_csvs_of_real_emnist_rows(tmp_path):
    """The foundation's acceptance: Kaggle-format CSVs in, every artifact out."""
    pytest.importorskip("keras")
    import json

    from handwritten_letters.training import data

    rows = data.read_file(SHARED_TRAIN_RECORDS)  # official train records: real EMNIST rows
    stored = rows.images.transpose(0, 2, 1)  # back to the file orientation Kaggle uses
    train_csv = write_csv(tmp_path / "emnist-letters-train.csv", stored[:3000], rows.labels[:3000] + 1)
    held_out_csv = write_csv(tmp_path / "held-out.csv", stored[3000:], rows.labels[3000:] + 1, header=True)
    run, evaluation = tmp_path / "R", tmp_path / "E"
    trained = letters("train", "--train", train_csv, "--epochs", "1", "--batch-size", "32", "--out", run, timeout=300)
    assert trained.returncode == 0, trained.stderr
    for name in ("Best_Model.keras", "history.csv", "curves.png", "run.json"):
        assert (run / name).exists(), name
    evaluated = letters("evaluate", "--model", run / "Best_Model.keras", "--data", held_out_csv, "--out", evaluation,
                        timeout=300)
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads((evaluation / "report.json").read_text())
    assert report["n"] == len(rows) - 3000 and report["accuracy"] > 0.3
    assert (evaluation / "confusion_matrix.png").exists()
    compared = letters("evaluate", "--model", run / "Best_Model.keras", "--baseline", run / "Best_Model.keras",
                       "--data", held_out_csv, "--out", tmp_path / "C", timeout=300)
    assert compared.returncode == 0, compared.stderr
    assert "difference +0.00 points" in compared.stdout and "McNemar p = 1" in compared.stdout


# ----------------------------------------------------------------------------- edges of predict and read


def test_an_empty_or_image_less_folder_says_so_and_exits_1(tmp_path):
    empty, other = tmp_path / "empty", tmp_path / "other"
    empty.mkdir()
    other.mkdir()
    (other / "notes.txt").write_text("no images here")
    for command in ("predict", "read"):
        for folder in (empty, other):
            result = letters(command, folder)
            assert result.returncode == 1, (command, result.stderr)
            assert "no image files found" in result.stderr and str(folder) in result.stderr
            assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_missing_path_is_an_error_row_and_the_others_are_read(tmp_path):
    import csv
    import io

    from helpers import letter_png

    (tmp_path / "a.png").write_bytes(letter_png())
    missing = tmp_path / "missing.png"
    result = letters("predict", "--format", "csv", missing, tmp_path / "a.png")
    assert result.returncode == 1, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["path"] for row in rows] == [str(missing), str(tmp_path / "a.png")]
    assert "no such file" in rows[0]["error"].lower() and rows[0]["label"] == ""
    assert rows[1]["error"] == "" and rows[1]["label"] == "a"


def test_read_and_predict_share_exit_codes(tmp_path):
    from helpers import letter_png

    (tmp_path / "a.png").write_bytes(letter_png())
    for command in ("predict", "read"):
        assert letters(command, tmp_path / "a.png").returncode == 0
        assert letters(command, tmp_path / "nope.png").returncode == 1
        assert letters(command, "--format", "yaml", tmp_path / "a.png").returncode == 2


def test_json_rows_are_typed(tmp_path):
    import json

    from helpers import letter_png

    (tmp_path / "a.png").write_bytes(letter_png())
    result = letters("predict", "--format", "json", tmp_path / "a.png", tmp_path / "gone.png")
    good, bad = json.loads(result.stdout)
    assert isinstance(good["top_k"], list) and set(good["top_k"][0]) == {"label", "probability"}
    assert isinstance(good["top_k"][0]["probability"], float) and good["error"] is None
    assert good["case"] in ("upper", "lower", "either", None)
    assert bad["top_k"] == [] and bad["label"] is None and bad["confidence"] is None and bad["error"]


def test_read_takes_folders_one_result_per_image(tmp_path):
    import json

    from helpers import letter_png

    (tmp_path / "sub").mkdir()
    (tmp_path / "one.png").write_bytes(letter_png())
    (tmp_path / "sub" / "two.png").write_bytes(letter_png())
    result = letters("read", "--no-lexicon", "--format", "json", tmp_path)
    assert result.returncode == 0, result.stderr
    assert [row["path"] for row in json.loads(result.stdout)] == [str(tmp_path / "one.png"),
                                                                  str(tmp_path / "sub" / "two.png")]


def test_help_renders_whole_at_80_columns():
    import os

    environment = {**os.environ, "COLUMNS": "80"}
    run = lambda *args: subprocess.run([sys.executable, "-m", "handwritten_letters.cli", *args],  # noqa: E731
                                       capture_output=True, text=True, env=environment, timeout=60).stdout
    assert "[ray]" in run("predict", "--help")
    serve = run("serve", "--help")
    assert "--collect-feedback" in serve and "…" not in serve and "<bool>" not in serve
    assert max(len(line) for line in serve.splitlines()) <= 80


def test_a_mistyped_folder_fails_before_tensorflow_starts(tmp_path):
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "handwritten_letters.cli", "finetune",
                             str(tmp_path / "my-leters")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "my-leters: no such file or directory" in result.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert imported and not any(name.split(".")[0] in ("tensorflow", "keras") for name in imported)
