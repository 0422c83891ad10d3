"""`letters finetune`: a user's own letters, read through the serving preprocessing, adapt a model."""

import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("keras", reason="fine-tuning needs the [train] extra")

from helpers import letter_like_dataset  # noqa: E402

from handwritten_letters.reading.recognize import OnnxModel, Recognizer  # noqa: E402
from handwritten_letters.training.finetune import FinetuneConfig, finetune, read_user_letters  # noqa: E402


def write_user_letters(folder, per_class=6, classes="abcdef"):
    images, labels = letter_like_dataset(per_class=per_class, seed=0)
    for image, label in zip(images, labels):
        letter = "abcdefghijklmnopqrstuvwxyz"[label]
        if letter not in classes:
            continue
        sub = folder / (letter.upper() if letter == "b" else letter)  # folder names in either case
        sub.mkdir(parents=True, exist_ok=True)
        page = Image.fromarray(255 - image).resize((84, 84), Image.LANCZOS)
        page.save(sub / f"{len(list(sub.iterdir()))}.png")
    (folder / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    Image.new("L", (60, 60), 255).save(folder / "c" / "blank.png")
    (folder / "7").mkdir()
    Image.fromarray(255 - images[0]).save(folder / "7" / "seven.png")
    return folder


def test_unreadable_files_unknown_labels_and_non_letters_are_listed_not_silently_dropped(tmp_path):
    dataset, names, skipped = read_user_letters(write_user_letters(tmp_path / "mine"))
    assert len(dataset) == 36 and set(np.unique(dataset.labels)) == set(range(6))
    reasons = {f.rsplit("/", 1)[-1]: r for f, r in skipped}
    assert "corrupt" in reasons["broken.png"] or "not an image" in reasons["broken.png"]
    assert "blank" in reasons["blank.png"]
    assert "is not one letter a-z or A-Z" in reasons["seven.png"]


def test_labels_csv_beside_the_images(tmp_path):
    folder = tmp_path / "csv"
    folder.mkdir()
    image = Image.fromarray(255 - letter_like_dataset(per_class=1)[0][0]).resize((84, 84))
    image.save(folder / "one.png")
    image.save(folder / "two.png")
    (folder / "labels.csv").write_text("filename,label\none.png,A\ntwo.png,%\n")
    dataset, _, skipped = read_user_letters(folder)
    assert list(dataset.labels) == [0] and "label '%' is not one letter" in skipped[0][1]


def test_finetune_writes_a_calibrated_model_with_its_lineage_and_a_before_after_report(trained_run, letter_like_files,
                                                                                        tmp_path):
    _, base = trained_run
    result = finetune(FinetuneConfig(data_path=str(write_user_letters(tmp_path / "mine")), out_dir=str(tmp_path / "run"),
                                     base=str(base.out_dir), replay_paths=[str(letter_like_files)], epochs=2))
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report == json.loads(json.dumps(result.report))
    assert report["user_letters"]["adapted_on"] + report["user_letters"]["held_out"] == 36
    assert set(report["before"]) == set(report["after"]) == {"user_holdout", "emnist_check"}
    assert "never trained on" in report["protocol"] and len(report["skipped"]) == 3
    for name in ("Best_Model.keras", "model.onnx", "run.json", "history.csv", "curves.png"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    model = OnnxModel(result.model_onnx)
    assert model.metadata["base_model"].endswith("Best_Model.keras")
    assert model.metadata["finetune_letters"] == str(report["user_letters"]["adapted_on"])
    assert json.loads(model.metadata["finetune_before_after"])["after"] == report["after"]
    assert len(Recognizer(result.model_onnx).predict(np.zeros((28, 28), np.uint8) + 255)) == 1


def test_finetune_from_the_bundled_weights_when_shipped():
    from handwritten_letters.training.finetune import BUNDLED_KERAS, REPLAY_SAMPLE, bundled_path

    for name in (BUNDLED_KERAS, REPLAY_SAMPLE):
        path = bundled_path(name)
        assert path.exists() and path.stat().st_size < 5_000_000, name
