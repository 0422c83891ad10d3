import json

import numpy as np
import pytest

pytest.importorskip("keras", reason="needs the [train] extra")

from helpers import letter_like_dataset, write_idx_pair  # noqa: E402

from handwritten_letters.reading.recognize import OnnxModel, Recognizer  # noqa: E402
from handwritten_letters.training import data  # noqa: E402
from handwritten_letters.training.evaluate import compare_paired, evaluate, wilson_interval  # noqa: E402
from handwritten_letters.training.export import export_onnx  # noqa: E402


@pytest.fixture(scope="module")
def held_out(tmp_path_factory):
    """Fresh samples from the same generator (another seed): data the run never saw."""
    directory = tmp_path_factory.mktemp("held_out")
    images, labels = letter_like_dataset(per_class=10, seed=0)  # same templates...
    rng = np.random.default_rng(99)
    noisy = np.clip(images.astype(int) + rng.integers(-20, 21, images.shape), 0, 255).astype(np.uint8)  # ...new noise
    return write_idx_pair(directory, "generated-test", noisy.transpose(0, 2, 1), labels + 1)


@pytest.fixture(scope="module")
def exported(trained_run, tmp_path_factory):
    _, result = trained_run
    return export_onnx(result.best_model, tmp_path_factory.mktemp("onnx") / "model.onnx")


def test_evaluate_writes_report_and_plots(trained_run, held_out, tmp_path):
    _, result = trained_run
    report = evaluate(result.best_model, [held_out], tmp_path)
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["n"] == 260 and 0.5 < saved["accuracy"] <= 1.0
    assert saved["accuracy_95ci"][0] <= saved["accuracy"] <= saved["accuracy_95ci"][1]
    assert saved["top3_accuracy"] >= saved["accuracy"]
    assert set(saved["per_class"]) == set("abcdefghijklmnopqrstuvwxyz")
    assert {"precision", "recall", "f1", "support"} <= set(saved["per_class"]["a"])
    assert report["accuracy"] == saved["accuracy"]
    for plot in ("confusion_matrix.png", "errors.png", "reliability.png"):
        assert (tmp_path / plot).stat().st_size > 5000


def test_onnx_export_matches_keras_and_carries_its_metadata(exported):
    assert exported.checked_images >= 1000
    assert exported.max_abs_difference < 1e-4
    assert 0.05 < exported.temperature < 20  # inside the search range, not pinned at its edge
    assert "answers" in OnnxModel(exported.path).metadata["operating_point"]
    model = OnnxModel(exported.path)
    assert json.loads(model.metadata["class_names"]) == list("abcdefghijklmnopqrstuvwxyz")
    assert float(model.metadata["temperature"]) == pytest.approx(exported.temperature, rel=1e-4)
    assert model.metadata["preprocess_version"]
    assert float(model.metadata["validation_accuracy"]) > 0.5


def test_onnx_and_keras_evaluations_agree(trained_run, exported, held_out, tmp_path):
    _, result = trained_run
    keras_report = evaluate(result.best_model, [held_out], tmp_path / "k")
    onnx_report = evaluate(exported.path, [held_out], tmp_path / "o")
    assert onnx_report["accuracy"] == keras_report["accuracy"]
    calibration = onnx_report["calibration"]
    assert "ece_after_temperature" in calibration and "temperature" in calibration


def test_recognizer_on_exported_model_reads_held_out_arrays(exported, held_out):
    dataset = data.read_file(held_out)
    probabilities = Recognizer(exported.path).predict_arrays(dataset.images)
    assert probabilities.shape == (260, 26)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert (probabilities.argmax(axis=1) == dataset.labels).mean() > 0.5


def test_paired_comparison_counts_the_images_only_one_model_reads():
    labels = np.zeros(1000, dtype=int)
    baseline = np.zeros(1000, dtype=int)
    baseline[:150] = 1  # baseline wrong on images 0..149
    model = np.zeros(1000, dtype=int)
    model[140:240] = 1  # model wrong on 140..239: right on 0..139 where the baseline is not, wrong on 150..239
    comparison = compare_paired(model, baseline, labels)
    assert comparison["only_model_right"] == 140 and comparison["only_baseline_right"] == 90
    assert comparison["baseline_accuracy"] == pytest.approx(0.85)
    assert comparison["accuracy_difference"] == pytest.approx(0.05)
    low, high = comparison["accuracy_difference_95ci"]
    assert 0 < low < 0.05 < high
    assert comparison["mcnemar_p_value"] < 0.01
    same = compare_paired(baseline, baseline, labels)
    assert same["accuracy_difference"] == 0 and same["mcnemar_p_value"] == 1.0


def test_evaluate_against_a_baseline_adds_the_paired_comparison(exported, held_out, tmp_path):
    report = evaluate(exported.path, [held_out], tmp_path, baseline_path=exported.path)
    comparison = json.loads((tmp_path / "report.json").read_text())["comparison"]
    assert comparison == report["comparison"]
    assert comparison["baseline_accuracy"] == pytest.approx(report["accuracy"])
    assert comparison["accuracy_difference"] == 0 and comparison["mcnemar_p_value"] == 1.0


def test_wilson_interval_brackets_the_proportion():
    low, high = wilson_interval(930, 1000)
    assert low < 0.93 < high and high - low < 0.04


@pytest.mark.slow
def test_best_recipe_trains_and_exports_without_its_training_only_augmentation(letter_like_files, tmp_path):
    from handwritten_letters.training.train import TrainConfig, train

    result = train(TrainConfig(train_paths=[str(letter_like_files)], out_dir=str(tmp_path), recipe="best",
                               epochs=2, batch_size=32, val_fraction=0.25, verbose=0))
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["recipe"]["augment"] and run["recipe"]["schedule"] == "cosine"
    exported = export_onnx(result.best_model, tmp_path / "best.onnx")
    assert exported.max_abs_difference < 1e-4  # random ops would make ONNX disagree (or fail to load)


def test_int8_export_keeps_accuracy_and_records_it(trained_run, exported, tmp_path):
    _, result = trained_run
    float_model = exported
    quantized = export_onnx(result.best_model, tmp_path / "int8.onnx", quantize=True)
    model = OnnxModel(quantized.path)
    assert "int8" in model.metadata["quantization"]
    assert abs(float(model.metadata["validation_accuracy"]) - float(model.metadata["float_validation_accuracy"])) < 0.03
    assert quantized.path.stat().st_size < 0.5 * float_model.path.stat().st_size


def test_evaluate_counts_an_image_found_in_two_files_once(trained_run, held_out, tmp_path):
    _, result = trained_run
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    dataset = data.read_file(held_out)
    first_hundred = write_idx_pair(copy_dir, "subset-test", dataset.images[:100].transpose(0, 2, 1),
                                   dataset.labels[:100] + 1)  # like test10k inside test14800
    report = evaluate(result.best_model, [held_out, first_hundred], tmp_path / "report")
    assert report["n"] == 260 and report["duplicates_dropped"] == 100


def test_export_refuses_a_validation_split_that_is_not_the_runs(tmp_path):
    from handwritten_letters.errors import ModelError
    from handwritten_letters.training.train import TrainConfig, train

    images, labels = letter_like_dataset(per_class=12)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    write_idx_pair(data_dir, "generated-train", images.transpose(0, 2, 1), labels + 1)
    result = train(TrainConfig(train_paths=[str(data_dir)], out_dir=str(tmp_path / "run"), val_fraction=0.25,
                               epochs=1, batch_size=32, seed=3, verbose=0))
    shuffled = np.random.default_rng(1).permutation(len(labels))
    write_idx_pair(data_dir, "generated-train", images[shuffled].transpose(0, 2, 1), labels[shuffled] + 1)
    with pytest.raises(ModelError, match="not the one the run validated on"):
        export_onnx(result.best_model, tmp_path / "model.onnx")


def test_export_to_an_unwritable_place_is_a_clear_error_and_leaves_nothing(trained_run, tmp_path):
    from handwritten_letters.errors import ModelError

    _, result = trained_run
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ModelError, match="cannot write there"):
        export_onnx(result.best_model, blocker / "model.onnx")


def test_temperature_recovers_a_known_overconfidence():
    """Logits three times too sharp for how often they are right: the fitted temperature is ~3."""
    from handwritten_letters.reading.calibration import fit_temperature, negative_log_likelihood

    rng = np.random.default_rng(0)
    honest = rng.normal(0, 2.0, (20_000, 26))
    probabilities = np.exp(honest) / np.exp(honest).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(26, p=p) for p in probabilities])
    temperature = fit_temperature(honest * 3.0, labels)
    assert temperature == pytest.approx(3.0, rel=0.05)
    assert negative_log_likelihood(honest * 3.0, labels, temperature) < negative_log_likelihood(honest * 3.0, labels, 1.0)


def test_rejection_threshold_answers_the_operating_points_share():
    from handwritten_letters.reading.calibration import MIN_COVERAGE, choose_rejection_threshold, operating_point

    rng = np.random.default_rng(1)
    n = 5000
    confidence = rng.uniform(0.34, 1.0, n)
    right = rng.random(n) < np.where(confidence < 0.45, 0.1, confidence)  # the least confident are mostly wrong
    probabilities = np.repeat(((1 - confidence) / 2)[:, None], 3, axis=1)
    probabilities[:, 0] = confidence  # the answer is always class 0...
    labels = np.where(right, 0, 1)  # ...and right when the label is 0
    threshold = choose_rejection_threshold(probabilities, labels)
    point = operating_point(probabilities, labels, threshold)
    assert point["coverage"] >= MIN_COVERAGE
    assert 0.34 < threshold < 0.45  # it refuses only the least confident 2%, which are mostly wrong


def _untrained_onnx(path):
    from handwritten_letters.training.model import build_model

    untrained = build_model("seed")
    untrained.predict(np.zeros((1, 28, 28), np.uint8), verbose=0)
    untrained.export(str(path), format="onnx", verbose=False)
    return path


def test_int8_export_that_loses_accuracy_is_refused_and_writes_nothing(trained_run, tmp_path, monkeypatch):
    import shutil

    from handwritten_letters.errors import ModelError
    from handwritten_letters.training import export

    _, result = trained_run
    broken = _untrained_onnx(tmp_path / "untrained.onnx")
    # a quantizer that wrecks the network every way it is asked to quantize
    monkeypatch.setattr(export, "quantize_int8", lambda float_path, out_path, *args: shutil.copy(broken, out_path))
    with pytest.raises(ModelError, match=r"int8 quantization reads .* export without --quantize"):
        export_onnx(result.best_model, tmp_path / "int8.onnx", quantize=True)
    assert not (tmp_path / "int8.onnx").exists()
    assert not list(tmp_path.glob("*.tmp.onnx"))


def test_int8_export_leaves_batch_normalisation_in_float_when_all_int8_loses_accuracy(trained_run, tmp_path,
                                                                                   monkeypatch):
    import shutil

    from handwritten_letters.training import export

    _, result = trained_run
    broken = _untrained_onnx(tmp_path / "untrained.onnx")
    asked = []

    def all_int8_wrecks_it(float_path, out_path, images, op_types=None):
        asked.append(op_types)
        if op_types is None:  # what per-tensor int8 of batch-norm constants did to a wider net
            shutil.copy(broken, out_path)
        else:
            quantize_int8(float_path, out_path, images, op_types)

    quantize_int8 = export.quantize_int8
    monkeypatch.setattr(export, "quantize_int8", all_int8_wrecks_it)
    quantized = export_onnx(result.best_model, tmp_path / "int8.onnx", quantize=True)
    assert asked == [None, export.CONV_AND_DENSE_ONLY]
    assert "batch normalisation in float32" in quantized.quantization
    metadata = OnnxModel(quantized.path).metadata
    assert "batch normalisation in float32" in metadata["quantization"]
    assert float(metadata["validation_accuracy"]) >= float(metadata["float_validation_accuracy"]) - 0.01


def test_export_command_says_how_the_served_weights_are_stored(trained_run, tmp_path):
    from typer.testing import CliRunner

    from handwritten_letters.cli import app

    _, result = trained_run
    out = tmp_path / "int8.onnx"
    shown = CliRunner().invoke(app, ["export", "--model", str(result.best_model), "--out", str(out), "--quantize"])
    assert shown.exit_code == 0, shown.output
    assert "validation accuracy 0." in shown.output
    assert "weights: int8, static QDQ" in shown.output
    assert out.exists()
