import json
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras", reason="training needs the [train] extra")

from handwritten_letters.training.run_files import BEST_MODEL, read_history  # noqa: E402
from handwritten_letters.training.train import TrainConfig, train  # noqa: E402


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


def _sigint_at_default():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _train_command(data, out, *options):
    return [sys.executable, "-m", "handwritten_letters.cli", "train", "--train", str(data), "--out", str(out),
            "--batch-size", "32", "--val-fraction", "0.25", *options]


def _wait_for_epoch(process, out, epoch, timeout=180):
    state = out / "checkpoint" / "state.json"
    deadline = time.time() + timeout
    while not (state.exists() and json.loads(state.read_text())["epoch"] >= epoch):
        assert process.poll() is None and time.time() < deadline, process.communicate()
        time.sleep(0.05)


def _weights(path):
    import keras

    return keras.models.load_model(path).get_weights()


@pytest.mark.slow
def test_killed_run_resumed_ends_with_the_same_weights_as_an_uninterrupted_one(letter_like_files, tmp_path):
    """kill -9 mid-run, then --resume: bitwise the same model as a run never interrupted
    (best recipe: augmentation, dropout, cosine schedule; same seed, same machine)."""
    options = ("--recipe", "best", "--epochs", "3", "--seed", "11")
    whole = subprocess.run(_train_command(letter_like_files, tmp_path / "whole", *options),
                           capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr

    out = tmp_path / "killed"
    process = subprocess.Popen(_train_command(letter_like_files, out, *options),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _wait_for_epoch(process, out, 1)
    process.kill()
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    finished = json.loads((out / "checkpoint" / "state.json").read_text())["epoch"]
    assert finished < 3, "the run ended before it could be killed; nothing was tested"
    resumed = subprocess.run(_train_command(letter_like_files, out, *options, "--resume"),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr

    whole_history, resumed_history = (read_history(p / "history.csv") for p in (tmp_path / "whole", out))
    assert len(whole_history) == len(resumed_history) == 3
    for a, b in zip(whole_history, resumed_history):
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    for a, b in zip(_weights(tmp_path / "whole" / BEST_MODEL), _weights(out / BEST_MODEL)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("change, message", [
    ({"val_fraction": 0.3}, "val_fraction: was 0.25, now 0.3"),
    ({"seed": 4}, "seed: was 3, now 4"),
    ({"limit": 500}, "limit: was None, now 500"),
])
def test_resume_with_other_settings_is_refused_and_says_what_differs(letter_like_files, tmp_path, change, message):
    from handwritten_letters.errors import LettersError

    config = TrainConfig(train_paths=[str(letter_like_files)], out_dir=str(tmp_path / "run"),
                         val_fraction=0.25, epochs=1, batch_size=32, seed=3, verbose=0)
    train(config)
    with pytest.raises(LettersError, match="not the same run") as refused:
        train(replace(config, resume=True, epochs=2, **change))
    assert message in str(refused.value)


def test_resume_on_changed_data_is_refused(tmp_path):
    from helpers import letter_like_dataset, write_idx_pair

    from handwritten_letters.errors import LettersError

    images, labels = letter_like_dataset(per_class=12)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    write_idx_pair(data_dir, "generated-train", images.transpose(0, 2, 1), labels + 1)
    config = TrainConfig(train_paths=[str(data_dir)], out_dir=str(tmp_path / "run"), val_fraction=0.25,
                         epochs=1, batch_size=32, seed=3, verbose=0)
    train(config)
    write_idx_pair(data_dir, "generated-train", images[::-1].transpose(0, 2, 1), labels[::-1] + 1)
    with pytest.raises(LettersError, match="training data files differ"):
        train(replace(config, resume=True, epochs=2))


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_run_leaves_a_checkpoint_that_resume_continues(letter_like_files, tmp_path, stop_signal):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "handwritten_letters.cli", "train", "--train", str(letter_like_files),
               "--out", str(out), "--epochs", "200", "--batch-size", "32", "--val-fraction", "0.25"]
    # SIGINT back at its default in the child: a suite started with `nohup` or `&` from a script
    # passes SIGINT on as ignored, and the program rightly keeps an ignored SIGINT ignored
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_sigint_at_default)
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


def test_a_full_disk_mid_run_is_a_clear_error_and_keeps_the_last_good_checkpoint(letter_like_files, tmp_path,
                                                                                 monkeypatch):
    import errno

    import keras

    from handwritten_letters.errors import LettersError

    saves = []
    real_save = keras.Model.save

    def save_until_the_disk_fills(model, path, *args, **kwargs):
        saves.append(path)
        if len(saves) > 2:  # epoch 1 wrote Best_Model and its checkpoint; epoch 2 finds the disk full
            Path(path).write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(model, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", save_until_the_disk_fills)
    config = TrainConfig(train_paths=[str(letter_like_files)], out_dir=str(tmp_path / "run"), val_fraction=0.25,
                         epochs=3, batch_size=32, seed=3, verbose=0)
    with pytest.raises(LettersError, match="No space left on device.*checkpoint of epoch 1 and Best_Model.keras "
                                           "are intact.*--resume"):
        train(config)
    assert not list((tmp_path / "run").rglob("*.tmp.keras")), "a partial file was left behind"
    monkeypatch.setattr(keras.Model, "save", real_save)
    resumed = train(replace(config, resume=True))
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]


def test_an_unwritable_out_is_a_clear_error(letter_like_files, tmp_path):
    from handwritten_letters.errors import LettersError

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    config = TrainConfig(train_paths=[str(letter_like_files)], out_dir=str(blocker / "run"), verbose=0)
    with pytest.raises(LettersError, match="cannot write the run directory"):
        train(config)


def test_a_run_can_start_from_another_runs_weights_and_refuses_another_network(trained_run, tmp_path):
    import keras

    from handwritten_letters.errors import LettersError

    config, result = trained_run
    continued = train(replace(config, out_dir=str(tmp_path / "more"), epochs=1, learning_rate=1e-12,
                              init_from=str(result.best_model)))
    assert continued.best_val_accuracy == pytest.approx(result.best_val_accuracy, abs=0.02)  # not from scratch
    start, after = (keras.models.load_model(p, compile=False) for p in (result.best_model, continued.best_model))
    kernels = [(a, b) for layer_a, layer_b in zip(start.layers, after.layers) if "conv" in layer_a.name
               for a, b in zip(layer_a.get_weights(), layer_b.get_weights())]
    assert kernels and all(np.allclose(a, b, atol=1e-6) for a, b in kernels)  # a learning rate of ~0 keeps them
    assert json.loads((tmp_path / "more" / "run.json").read_text())["settings"]["init_from"] == str(result.best_model)
    with pytest.raises(LettersError, match="not a model of this network.s shape"):
        train(replace(config, out_dir=str(tmp_path / "other"), recipe="best", init_from=str(result.best_model)))
