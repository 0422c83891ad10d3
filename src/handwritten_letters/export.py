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

import numpy as np

from . import keras_env  # noqa: F401  (before keras)
import keras

from . import data
from .calibration import choose_rejection_threshold, fit_temperature, softmax
from .errors import ModelError
from .labels import CLASS_NAMES, IMAGE_SIZE
from .model import logits_model
from .preprocess import PREPROCESS_VERSION

MAX_ABS_DIFFERENCE = 1e-4
MIN_CHECK_IMAGES = 1000


@dataclass
class ExportResult:
    path: Path
    max_abs_difference: float
    checked_images: int
    temperature: float
    rejection_threshold: float
    validation_accuracy: float | None


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
    """The run's validation split, rebuilt from run.json beside the model (same files, seed, fraction)."""
    run_file = model_path.parent / "run.json"
    if not run_file.exists():
        return None
    config = json.loads(run_file.read_text())["config"]
    _, validation = data.train_validation(
        config["train_paths"], config["val_fraction"], config["seed"], config.get("limit")
    )
    return validation


def export_onnx(model_path: str | Path, out_path: str | Path, model_name: str | None = None,
                extra_metadata: dict[str, str] | None = None) -> ExportResult:
    import onnx
    import onnxruntime as ort

    model_path, out_path = Path(model_path), Path(out_path)
    network = load_keras_logits_model(model_path)
    validation = validation_split_of_run(model_path)
    # validation images, topped up with varied synthetic ones to at least MIN_CHECK_IMAGES
    rng = np.random.default_rng(0)
    synthetic = (rng.random((MIN_CHECK_IMAGES, IMAGE_SIZE, IMAGE_SIZE)) ** 3 * 255).astype(np.uint8)
    real = validation.images if validation is not None else synthetic[:0]
    check_images = np.concatenate([real, synthetic[: max(0, MIN_CHECK_IMAGES - len(real))]]).astype(np.float32)
    keras_logits = network.predict(check_images, batch_size=1024, verbose=0)
    validation_logits = keras_logits[: len(real)]

    out_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = out_path.with_name(out_path.stem + ".tmp.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # tf2onnx probes deprecated numpy names
        network.export(str(temporary), format="onnx", verbose=False)

    session = ort.InferenceSession(str(temporary), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    onnx_logits = np.concatenate([
        session.run(None, {input_name: check_images[s]})[0] for s in data.iter_batches(len(check_images), 1024)
    ])
    difference = float(np.abs(onnx_logits - keras_logits).max())
    if difference >= MAX_ABS_DIFFERENCE:
        temporary.unlink()
        raise ModelError(f"{out_path}: ONNX logits differ from Keras by {difference:.2e} (limit {MAX_ABS_DIFFERENCE})")

    temperature, threshold, accuracy = 1.0, 0.0, None
    if validation is not None:
        temperature = fit_temperature(validation_logits, validation.labels)
        threshold = choose_rejection_threshold(softmax(validation_logits, temperature), validation.labels)
        accuracy = float((validation_logits.argmax(axis=1) == validation.labels).mean())

    metadata = {
        "name": model_name or model_path.stem,
        "class_names": json.dumps(list(CLASS_NAMES)),
        "input": "float32 (N, 28, 28), raw pixel values 0..255, white ink on black, upright",
        "output": "logits (N, 26); probabilities = softmax(logits / temperature)",
        "temperature": f"{temperature:.6f}",
        "rejection_threshold": f"{threshold:.2f}",
        "preprocess_version": PREPROCESS_VERSION,
        "validation_accuracy": "" if accuracy is None else f"{accuracy:.6f}",
        "onnx_vs_keras_max_abs_difference": f"{difference:.3e}",
        **(extra_metadata or {}),
    }
    proto = onnx.load(str(temporary))
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(proto, str(temporary))
    os.replace(temporary, out_path)
    return ExportResult(out_path, difference, len(check_images), temperature, threshold, accuracy)
