import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

pytest.importorskip("keras", reason="training needs the [train] extra")

from handwritten_letters.train import BEST_MODEL, TrainConfig, read_history, train  # noqa: E402


def test_short_run_learns_far_above_chance_and_writes_every_artifact(trained_run):
    config, result = trained_run
    out = result.out_dir
    for name in (BEST_MODEL, "history.csv", "curves.png", "run.json"):
        assert (out / name).stat().st_size > 0, name
    assert result.best_val_accuracy > 0.6  # chance is 1/26 = 0.04
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "finished"
    assert run["best_epoch"] == result.best_epoch
    assert run["n_train"] + run["n_validation"] == 26 * 40
    assert set(run["data_sha256"].values()) and all(len(h) == 64 for h in run["data_sha256"].values())
    assert run["timings"]["train_images_per_second"] > 0
    assert "keras" in run["versions"]
    assert len(read_history(out / "history.csv")) == result.epochs_run


def test_same_seed_same_history(trained_run, tmp_path):
    config, result = trained_run
    again = train(replace(config, out_dir=str(tmp_path / "again"), epochs=2))
    for first, second in zip(result.history[:2], again.history):
        assert first["val_loss"] == pytest.approx(second["val_loss"], abs=1e-6)
        assert first["loss"] == pytest.approx(second["loss"], abs=1e-6)


def test_resume_continues_without_losing_finished_epochs(letter_like_files, tmp_path):
    config = TrainConfig(train_paths=[str(letter_like_files)], out_dir=str(tmp_path / "run"),
                         val_fraction=0.25, epochs=1, batch_size=32, seed=3, verbose=0)
    first = train(config)
    resumed = train(replace(config, epochs=3, resume=True))
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]
    assert resumed.history[0] == first.history[0]
    assert len(read_history(tmp_path / "run" / "history.csv")) == 3


def test_resume_without_a_checkpoint_is_a_clear_error(letter_like_files, tmp_path):
    from handwritten_letters.errors import LettersError

    config = TrainConfig(train_paths=[str(letter_like_files)], out_dir=str(tmp_path), resume=True, verbose=0)
    with pytest.raises(LettersError, match="nothing to resume"):
        train(config)


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_run_leaves_a_checkpoint_that_resume_continues(letter_like_files, tmp_path, stop_signal):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "handwritten_letters.cli", "train", "--train", str(letter_like_files),
               "--out", str(out), "--epochs", "200", "--batch-size", "32", "--val-fraction", "0.25"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = out / "checkpoint" / "state.json"
    deadline = time.time() + 120
    while not (state.exists() and json.loads(state.read_text())["epoch"] >= 2):
        assert process.poll() is None and time.time() < deadline, process.communicate()
        time.sleep(0.2)
    process.send_signal(stop_signal)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "--resume" in stderr and "Traceback" not in stderr
    finished = len(read_history(out / "history.csv"))
    assert finished >= 2 and (out / BEST_MODEL).exists()
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"

    resumed = subprocess.run(command[:-6] + ["--epochs", str(finished + 1), "--batch-size", "32",
                                             "--val-fraction", "0.25", "--resume"],
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert len(read_history(out / "history.csv")) == finished + 1
