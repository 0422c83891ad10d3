"""Keras model -> ONNX file that serving runs with ONNX Runtime alone.

The exported graph takes raw uint8-valued float32 images (N, 28, 28) and returns logits.
What serving needs to interpret them travels inside the file as metadata: class names, the
temperature and rejection threshold fitted on the run's validation split, the preprocessing
version, and what data the model was trained on and how accurate it was.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ..errors import DataFormatError, ModelError
from ..labels import CLASS_NAMES, IMAGE_SIZE
from ..reading.calibration import choose_rejection_threshold, fit_temperature, operating_point, softmax
from ..reading.preprocess import PREPROCESS_VERSION
from ..reading.recognize import iter_batches
from . import data, redraw
from .model import logits_model
from .train import VALIDATION_VARIANT_SEED

MAX_ABS_DIFFERENCE = 1e-4
# int8 that reads this much less of validation than the float export is broken, not approximate
# (seen: a net with 1.5x the channels fell from 94.8% to 9.8% with every op in int8: per-tensor
# int8 of a batch normalisation's Mul/Add constants, where one channel's scale dwarfs the others)
MAX_QUANTIZATION_LOSS = 0.01
MIN_CHECK_IMAGES = 1000


@dataclass
class ExportResult:
    path: Path
    max_abs_difference: float
    checked_images: int
    temperature: float
    rejection_threshold: float
    validation_accuracy: float | None
    quantization: str | None = None  # how the served weights were quantized; None: float32


def load_keras_logits_model(path: str | Path) -> keras.Model:
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such model file")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a bad file
        raise ModelError(f"{path}: not a Keras model file ({type(exc).__name__}: {exc})") from None
    return logits_model(model)


def validation_split_of_run(model_path: Path) -> data.Dataset | None:
    """The run's validation split, rebuilt from run.json beside the model (same files, seed,
    fraction), as the run validated on it (with its recipe's redrawn variants).

    Refuses when the rebuilt split is not the one the run recorded: calibrating on other
    images could mean calibrating on letters the model trained on.
    """
    run_file = model_path.parent / "run.json"
    if not run_file.exists():
        return None
    run = json.loads(run_file.read_text())
    config = run["config"]
    try:
        _, validation = data.train_validation(
            config["train_paths"], config["val_fraction"], config["seed"], config.get("limit")
        )
    except DataFormatError as exc:
        raise ModelError(f"{model_path}: cannot rebuild the run's validation split from {run_file} ({exc})") from None
    recorded = run.get("split", {}).get("validation_sha256")
    if recorded is not None and validation.fingerprint() != recorded:
        raise ModelError(
            f"{model_path}: the validation split rebuilt from {', '.join(config['train_paths'])} is not the one "
            f"the run validated on (sha256 {validation.fingerprint()[:12]} vs {recorded[:12]} in {run_file}): "
            "the data changed since training"
        )
    recipe = run.get("recipe", {})
    return redraw.as_trained(validation, tuple(recipe.get("variants", ["raw"])), tuple(recipe.get("synthetic", [])),
                             config["seed"] + VALIDATION_VARIANT_SEED)


def validation_description(model_path: Path, count: int) -> str:
    """What the validation figures were measured on, in words (stored in the model, served by /api/v1/model)."""
    run_file = model_path.parent / "run.json"
    if not run_file.exists():
        return f"{count:,} letters given for calibration"
    run = json.loads(run_file.read_text())
    config, recipe = run["config"], run.get("recipe", {})
    forms = ", ".join(recipe.get("variants", ["raw"]))
    return (f"{count:,} letters: the training run's validation split ({config['val_fraction']:.0%} of its EMNIST "
            f"training images, stratified by letter, seed {config['seed']}; never trained on), each in the forms the "
            f"recipe trains on ({forms}); case merged")


def _run(session, images: np.ndarray) -> np.ndarray:
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: images[s]})[0] for s in iter_batches(len(images), 1024)])


# Quantized when quantizing every op loses accuracy: the convolutions and dense layers (where the
# time goes) and pooling, with the batch normalisations' Mul/Add left in float32
CONV_AND_DENSE_ONLY = ("Conv", "Gemm", "MatMul", "MaxPool")


def quantize_int8(float_path: Path, out_path: Path, calibration_images: np.ndarray,
                  op_types: tuple[str, ...] | None = None) -> None:
    """Static int8 quantization (QDQ, per-channel weights), calibrated on validation images;
    ``op_types``: only these operators (default: every one ONNX Runtime can quantize)."""
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    input_name = ort.InferenceSession(str(float_path), providers=["CPUExecutionProvider"]).get_inputs()[0].name

    class Batches(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(calibration_images[s] for s in iter_batches(len(calibration_images), 64))

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {input_name: batch}

    prepared = out_path.with_name(out_path.stem + ".prepared.onnx")
    quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
    try:
        quantize_static(str(prepared), str(out_path), Batches(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                        **({"op_types_to_quantize": list(op_types)} if op_types else {}))
    finally:
        prepared.unlink(missing_ok=True)


def export_onnx(model_path: str | Path, out_path: str | Path, model_name: str | None = None,
                extra_metadata: dict[str, str] | None = None, quantize: bool = False,
                calibration: data.Dataset | None = None) -> ExportResult:
    """Export, check against Keras, quantize if asked, calibrate on held-out letters (the run's
    validation split, or ``calibration`` when given), and write ``out_path`` atomically (a
    failed export leaves any previous file as it was)."""
    model_path, out_path = Path(model_path), Path(out_path)
    network = load_keras_logits_model(model_path)
    validation = calibration if calibration is not None else validation_split_of_run(model_path)
    if quantize and validation is None:
        raise ModelError(f"{model_path}: quantization is calibrated on the run's validation split: no run.json beside it")
    # validation images, topped up with varied synthetic ones to at least MIN_CHECK_IMAGES
    rng = np.random.default_rng(0)
    synthetic = (rng.random((MIN_CHECK_IMAGES, IMAGE_SIZE, IMAGE_SIZE)) ** 3 * 255).astype(np.uint8)
    real = validation.images if validation is not None else synthetic[:0]
    check_images = np.concatenate([real, synthetic[: max(0, MIN_CHECK_IMAGES - len(real))]]).astype(np.float32)
    keras_logits = network.predict(check_images, batch_size=1024, verbose=0)
    if isinstance(keras_logits, (list, tuple)):  # a cased network: letters' logits, then case log-odds
        keras_logits = keras_logits[0]

    _make_parent(out_path)
    float_path = out_path.with_name(out_path.stem + ".float.tmp.onnx")
    try:
        return _write_onnx(network, validation, real, check_images, keras_logits, model_path, out_path, float_path,
                           model_name, extra_metadata, quantize)
    except OSError as exc:  # a full disk: the previous file at out_path, if any, is untouched
        raise ModelError(f"{out_path}: cannot write the model ({exc.strerror or exc})") from None
    finally:
        for temporary in out_path.parent.glob(out_path.stem + ".*.tmp.onnx"):
            temporary.unlink(missing_ok=True)


def _write_onnx(network, validation, real, check_images, keras_logits, model_path: Path, out_path: Path,
                float_path: Path, model_name, extra_metadata, quantize: bool) -> ExportResult:
    import onnxruntime as ort

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # tf2onnx probes deprecated numpy names
        network.export(str(float_path), format="onnx", verbose=False)
    float_logits = _run(ort.InferenceSession(str(float_path), providers=["CPUExecutionProvider"]), check_images)
    difference = float(np.abs(float_logits - keras_logits).max())
    if difference >= MAX_ABS_DIFFERENCE:
        float_path.unlink()
        raise ModelError(f"{out_path}: ONNX logits differ from Keras by {difference:.2e} (limit {MAX_ABS_DIFFERENCE})")
    metadata = {
        "name": model_name or model_path.stem,
        "class_names": json.dumps(list(CLASS_NAMES)),
        "input": "float32 (N, 28, 28), raw pixel values 0..255, white ink on black, upright",
        "output": "logits (N, 26); probabilities = softmax(logits / temperature)"
                  + ("; second output: each letter's log-odds of upper against lower case (N, 26); third: "
                     "the features the last layer reads (N, 256), for writers' profiles"
                     if len(network.outputs) > 1 else ""),
        "preprocess_version": PREPROCESS_VERSION,
        "onnx_vs_keras_max_abs_difference": f"{difference:.3e}",
    }

    def validation_accuracy(logits: np.ndarray) -> float:
        return float((logits[: len(real)].argmax(axis=1) == validation.labels).mean())

    served_path, served_logits = float_path, float_logits
    if quantize:
        served_path, served_logits = _quantized(float_path, float_logits, out_path, check_images, len(real),
                                                validation_accuracy, metadata)
    temperature, threshold, accuracy = 1.0, 0.0, None
    if validation is not None:  # calibrate the model that will be served, on data it never trained on
        temperature, threshold = _calibrate(served_logits[: len(real)], validation, metadata)
        accuracy = validation_accuracy(served_logits)
        metadata["validation_data"] = validation_description(model_path, len(validation))
    metadata.update(
        temperature=f"{temperature:.6f}", rejection_threshold=f"{threshold:.2f}",
        validation_accuracy="" if accuracy is None else f"{accuracy:.6f}", **(extra_metadata or {}),
    )
    _save_with_metadata(served_path, out_path, metadata)
    return ExportResult(out_path, difference, len(check_images), temperature, threshold, accuracy,
                        metadata.get("quantization"))


def _quantized(float_path: Path, float_logits: np.ndarray, out_path: Path, check_images: np.ndarray,
               validation_count: int, validation_accuracy, metadata: dict) -> tuple[Path, np.ndarray]:
    """The int8 model (and its logits on the check images): every op quantized, or, when that loses
    more than MAX_QUANTIZATION_LOSS on validation, batch normalisation left in float32; refused if both lose."""
    import onnxruntime as ort

    served_path = out_path.with_name(out_path.stem + ".int8.tmp.onnx")
    float_accuracy = validation_accuracy(float_logits)
    for op_types in (None, CONV_AND_DENSE_ONLY):
        quantize_int8(float_path, served_path, check_images[: min(validation_count, 2048)], op_types)
        served_logits = _run(ort.InferenceSession(str(served_path), providers=["CPUExecutionProvider"]), check_images)
        int8_accuracy = validation_accuracy(served_logits)
        if int8_accuracy >= float_accuracy - MAX_QUANTIZATION_LOSS:
            break
    else:
        raise ModelError(
            f"{out_path}: not written: int8 quantization reads {int8_accuracy:.1%} of the validation letters "
            f"against {float_accuracy:.1%} in float32 (more than {MAX_QUANTIZATION_LOSS:.0%} lost, also with "
            f"batch normalisation left in float32); export without --quantize to serve float32"
        )
    metadata.update(
        quantization="int8, static QDQ, per-channel weights, calibrated on 2,048 validation images"
                     + ("" if op_types is None else "; batch normalisation in float32 (all-int8 lost accuracy)"),
        float_validation_accuracy=f"{float_accuracy:.6f}",
    )
    float_path.unlink()
    return served_path, served_logits


def _calibrate(validation_logits: np.ndarray, validation: data.Dataset, metadata: dict) -> tuple[float, float]:
    """Temperature and rejection threshold fitted on held-out letters, and the operating point they give."""
    temperature = fit_temperature(validation_logits, validation.labels)
    validation_probabilities = softmax(validation_logits, temperature)
    threshold = choose_rejection_threshold(validation_probabilities, validation.labels)
    point = operating_point(validation_probabilities, validation.labels, threshold)
    metadata["operating_point"] = (f"answers {point['coverage']:.1%} of validation letters, "
                                   f"{point['selective_accuracy']:.1%} of those right")
    return temperature, threshold


def _make_parent(out_path: Path) -> None:
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"{out_path}: cannot write there ({exc.strerror or exc})") from None


def _save_with_metadata(source: Path, out_path: Path, metadata: dict[str, str]) -> None:
    import onnx

    proto = onnx.load(str(source))
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(proto, str(source))
    os.replace(source, out_path)


@dataclass
class LineExportResult:
    path: Path
    max_abs_difference: float
    checked_lines: int
    validation_character_accuracy: float | None


def _line_model_metadata(name: str, difference: float, accuracy: float | None) -> dict[str, str]:
    """What a reader needs to decode a line model's output, stored in the ONNX file."""
    from ..labels import LINE_ALPHABET
    from ..words import ctc
    from .line_model import LINE_STRIDE

    return {
        "kind": "line-ctc",
        "name": name,
        "alphabet": json.dumps(LINE_ALPHABET),
        "blank": str(ctc.BLANK),
        "stride": str(LINE_STRIDE),
        "input": "float32 (N, 32, W), W a multiple of 4, values 0..255, white ink on black (preprocess.prepare_line)",
        "output": "logits (N, W / stride, 1 + len(alphabet)); class 0 is the CTC blank",
        "preprocess_version": PREPROCESS_VERSION,
        "onnx_vs_keras_max_abs_difference": f"{difference:.3e}",
        "validation_character_accuracy": "" if accuracy is None else f"{accuracy:.6f}",
    }


def export_line_model(model_path: str | Path, out_path: str | Path, model_name: str | None = None,
                      extra_metadata: dict[str, str] | None = None) -> LineExportResult:
    """Export a line (CTC) model, checked against Keras on the run's validation lines (rebuilt
    from run.json: validation letters only), with what decoding needs in its metadata."""
    import onnxruntime as ort

    from .train_lines import character_accuracy, rebuild_validation_lines

    model_path, out_path = Path(model_path), Path(out_path)
    if not model_path.exists():
        raise ModelError(f"{model_path}: no such model file")
    model = keras.models.load_model(model_path, compile=False)
    batches = rebuild_validation_lines(model_path)
    if batches is None:  # no run beside the model: check on lines of noise, no accuracy to report
        rng = np.random.default_rng(0)
        batches = [((rng.random((8, 32, 256)) ** 3 * 255).astype(np.float32), None, [])]
    keras_logits = [keras.ops.convert_to_numpy(model(images, training=False)) for images, _, _ in batches]
    _make_parent(out_path)
    temporary = out_path.with_name(out_path.stem + ".lines.tmp.onnx")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            model.export(str(temporary), format="onnx", verbose=False)
        session = ort.InferenceSession(str(temporary), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        onnx_logits = [session.run(None, {name: images})[0] for images, _, _ in batches]
        difference = max(float(np.abs(a - b).max()) for a, b in zip(onnx_logits, keras_logits))
        if difference >= MAX_ABS_DIFFERENCE * 10:  # logits of a deeper net over long lines: 1e-3
            raise ModelError(f"{out_path}: ONNX logits differ from Keras by {difference:.2e}")
        texts = [t for _, _, chunk in batches for t in chunk]
        accuracy = character_accuracy(onnx_logits, texts) if texts else None
        metadata = _line_model_metadata(model_name or model_path.parent.name, difference, accuracy)
        _save_with_metadata(temporary, out_path, {**metadata, **(extra_metadata or {})})
    except OSError as exc:
        raise ModelError(f"{out_path}: cannot write the model ({exc.strerror or exc})") from None
    finally:
        temporary.unlink(missing_ok=True)
    return LineExportResult(out_path, difference, sum(len(b[0]) for b in batches), accuracy)
