"""Recognize letters with ONNX Runtime: images in, calibrated top-k answers out.

No TensorFlow here: a base install serves predictions with onnxruntime, numpy and Pillow.
One ``Recognizer`` holds one ONNX Runtime session, created once; ``InferenceSession.run`` is
thread-safe, so a recognizer can be shared by the threads of a server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
from PIL import Image

from ..errors import LettersError, ModelError, NoImagesError
from ..labels import CASE_UNTOLD, CLASS_NAMES, IMAGE_SIZE
from .calibration import softmax
from .letter_check import LetterCheck, letter_check_path
from .preprocess import PREPROCESS_VERSION, ImageSource, Preprocessed, preprocess
from .profile import WriterProfile, profile_path

DEFAULT_MODEL = "letters-cnn.onnx"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")  # what a folder search picks up
BATCH = 256  # letters per model call: every batch reader (files, Ray) uses this size


def iter_batches(n: int, batch_size: int) -> Iterator[slice]:
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


def bundled_path(name: str) -> Path:
    """A file shipped in the package's models folder (the one place that knows where it is)."""
    return Path(str(resources.files("handwritten_letters") / "models" / name))


def bundled_model_path() -> Path:
    """The bundled letter model."""
    return bundled_path(DEFAULT_MODEL)


def open_session(path: Path, threads: int | None = None):
    """An ONNX Runtime session on the CPU, its input's name and the file's metadata."""
    import onnxruntime as ort

    if not path.exists():
        raise ModelError(f"{path}: no such model file")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    # idle pool threads must not busy-wait: preprocessing runs between model calls on the same cores
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for bad files
        raise ModelError(f"{path}: not a loadable ONNX model ({exc})") from None
    return session, session.get_inputs()[0].name, dict(session.get_modelmeta().custom_metadata_map)


class OnnxModel:
    """An exported letter model: logits from uint8 (N, 28, 28) images, plus its metadata."""

    def __init__(self, path: str | Path, threads: int | None = None):
        self.path = Path(path)
        self.session, self.input_name, self.metadata = open_session(self.path, threads)
        classes = json.loads(self.metadata.get("class_names", "null")) or list(CLASS_NAMES)
        if list(classes) != list(CLASS_NAMES):
            raise ModelError(f"{self.path}: model classes {classes} are not a..z")
        self.temperature = float(self.metadata.get("temperature") or 1.0)
        self.rejection_threshold = float(self.metadata.get("rejection_threshold") or 0.0)
        if self.metadata.get("preprocess_version", PREPROCESS_VERSION) != PREPROCESS_VERSION:
            raise ModelError(
                f"{self.path}: made for preprocessing version {self.metadata['preprocess_version']}, "
                f"this package has {PREPROCESS_VERSION}"
            )

        # a cased model has a second output: each letter's log-odds of upper against lower case
        self.cased = len(self.session.get_outputs()) > 1
        self.has_features = len(self.session.get_outputs()) > 2
        # "is this a letter?" from the network's own features, when fitted for this model (letter_check.py)
        self.letter_check = LetterCheck.load(letter_check_path(self.path)) if self.has_features else None

    def outputs(self, images: np.ndarray) -> list[np.ndarray]:
        batch = np.asarray(images, dtype=np.float32).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
        return self.session.run(None, {self.input_name: batch})

    def logits(self, images: np.ndarray) -> np.ndarray:
        return self.outputs(images)[0]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return softmax(self.logits(images), self.temperature)

    def read(self, images: np.ndarray, profile: WriterProfile | None = None, check: bool = False
             ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Letters' probabilities (leaning toward a writer's ``profile`` when given), for a cased model
        each letter's probability of being upper case, and each picture's probability of not being a
        letter (when ``check`` is asked and the model has a letter check, else None): one run of the network."""
        outputs = self.outputs(images)
        checked = check and self.letter_check is not None
        unlike = self.letter_check.not_a_letter(outputs[2], outputs[0]) if checked else None
        upper = 1.0 / (1.0 + np.exp(-outputs[1])) if self.cased else None
        logits = outputs[0] / self.temperature
        if profile is not None and len(profile):
            evidence, taught_case = profile.lean(outputs[2])
            logits = logits + evidence
            if upper is not None:  # a letter matched to one the writer taught takes that letter's case
                upper = np.where(np.isnan(taught_case), upper, taught_case)
        return softmax(logits), upper, unlike

    def features(self, images: np.ndarray) -> np.ndarray:
        """What the network's last layer reads of each letter (N, D): what writers' profiles compare."""
        if not self.has_features:
            raise ModelError(f"{self.path}: this model does not give the features a writer's profile needs "
                             "(export a cased model with `letters export`)")
        return self.outputs(images)[2]


LETTER, NOT_SURE, NOT_A_LETTER, SEVERAL_LETTERS = "letter", "not_sure", "not_a_letter", "several_letters"
UNLIKE_ANY_LETTER = "not a letter: it looks like none of the letters the model was taught (a scribble, a blob or a pattern?)"
SEVERAL = ("several letters side by side: this reads one letter a picture; read it as a word "
           "(POST /api/v1/words, letters read)")

UPPER, LOWER, EITHER = "upper", "lower", "either"


def letter_case(letter: str, upper_probability: float) -> tuple[str, float | None]:
    """The case of an answer and its probability; EITHER (no probability) where both cases share a shape."""
    if letter in CASE_UNTOLD:
        return EITHER, None
    return (UPPER, upper_probability) if upper_probability >= 0.5 else (LOWER, 1.0 - upper_probability)


def in_case(letter: str | None, case: str | None) -> str | None:
    """The letter as written: capital for UPPER, small otherwise."""
    return letter.upper() if letter and case == UPPER else letter


@dataclass
class Prediction:
    label: str | None  # a..z, or None when rejected
    confidence: float  # calibrated probability of ``label`` (of the best guess when rejected)
    top_k: list[tuple[str, float]] = field(default_factory=list)
    rejected: bool = False
    reason: str | None = None
    pixels: np.ndarray | None = None  # the 28x28 the model saw
    box: tuple[int, int, int, int] | None = None
    # LETTER (answered), NOT_SURE (a letter, but the candidates are too close to pick one: see
    # top_k) or NOT_A_LETTER (blank, scribble, texture: the model was not asked)
    verdict: str = LETTER
    # UPPER, LOWER or EITHER (capital and small letter share one shape), with the probability of
    # UPPER/LOWER given the letter; None from a model that does not tell case
    case: str | None = None
    case_probability: float | None = None

    @property
    def text(self) -> str | None:
        """The answer as written: "A" for a capital, "a" otherwise."""
        return in_case(self.label, self.case)


class Recognizer:
    """Letters from images: preprocess, batch through ONNX Runtime, calibrate, reject."""

    def __init__(self, model_path: str | Path | None = None, threads: int | None = None,
                 profile: WriterProfile | None = None):
        """``profile``: a writer's letters to lean toward; by default the one saved beside the model
        (``model.profile.npz``, as ``letters finetune`` writes it), if any."""
        self.model = OnnxModel(model_path or bundled_model_path(), threads)
        beside = profile_path(self.model.path)
        self.profile = profile if profile is not None else (WriterProfile.load(beside) if beside.exists() else None)
        if self.profile is not None and len(self.profile) and not self.model.has_features:
            raise ModelError(f"{self.model.path}: a writer's profile needs a model that gives its features")

    @classmethod
    def default(cls) -> "Recognizer":
        return cls(bundled_model_path())

    @property
    def metadata(self) -> dict[str, str]:
        return self.model.metadata

    def predict(self, images: Sequence[ImageSource] | ImageSource, top_k: int = 3) -> list[Prediction]:
        """Images of single letters -> one Prediction each.

        ``images`` is one image (a path, bytes, a PIL image, or an array (H, W) or (H, W, 1|3|4))
        or several: a sequence of those, or an array batch (N, H, W) or (N, H, W, C).
        """
        return self.predict_preprocessed([preprocess(image) for image in as_image_list(images)], top_k)

    def predict_preprocessed(self, items: Sequence[Preprocessed], top_k: int = 3,
                             profile: WriterProfile | None = None) -> list[Prediction]:
        """``profile``: a writer's profile for these letters only (default: the recognizer's own, if any)."""
        accepted = [i for i, item in enumerate(items) if item.rejected is None]
        results: list[Prediction] = [
            Prediction(None, 0.0, rejected=True, reason=SEVERAL if item.several_letters else item.rejected,
                       pixels=item.pixels, box=item.box,
                       verdict=SEVERAL_LETTERS if item.several_letters else NOT_A_LETTER)
            for item in items
        ]
        if accepted:
            probabilities, upper, unlike = self._read_arrays(np.stack([items[i].pixels for i in accepted]), profile,
                                                             check=True)
            for row, i in enumerate(accepted):
                if unlike is not None and unlike[row] >= self.model.letter_check.threshold:
                    results[i] = Prediction(None, float(probabilities[row].max()), rejected=True,
                                            reason=UNLIKE_ANY_LETTER, pixels=items[i].pixels, box=items[i].box,
                                            verdict=NOT_A_LETTER)
                    continue
                results[i] = self._decide(probabilities[row], top_k, items[i],
                                          None if upper is None else upper[row])
        return results

    def predict_arrays(self, images: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for images already in model form (N, 28, 28), batched."""
        return self.predict_arrays_with_case(images)[0]

    def predict_arrays_with_case(self, images: np.ndarray, profile: WriterProfile | None = None
                                 ) -> tuple[np.ndarray, np.ndarray | None]:
        """``predict_arrays`` and, from a cased model, each letter's probability of upper case (else None)."""
        probabilities, upper, _ = self._read_arrays(images, profile)
        return probabilities, upper

    def _read_arrays(self, images: np.ndarray, profile: WriterProfile | None = None, check: bool = False
                     ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Probabilities, upper-case probabilities (cased model) and, when ``check`` is asked of a model
        with a letter check, probabilities of not being a letter; in batches. ``profile`` defaults to
        the recognizer's own. (Letters cut from words are not checked: their readers weigh them.)"""
        profile = profile if profile is not None else self.profile
        images = np.asarray(images).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
        if not len(images):
            empty = np.zeros((0, len(CLASS_NAMES)), dtype=np.float32)
            return empty, (empty if self.model.cased else None), None
        parts = [self.model.read(images[s], profile, check) for s in iter_batches(len(images), BATCH)]
        upper = np.concatenate([u for _, u, _ in parts]) if self.model.cased else None
        unlike = np.concatenate([n for _, _, n in parts]) if parts[0][2] is not None else None
        return np.concatenate([p for p, _, _ in parts]), upper, unlike

    def _decide(self, probabilities: np.ndarray, top_k: int, item: Preprocessed,
                upper: np.ndarray | None = None) -> Prediction:
        order = np.argsort(-probabilities)[: max(1, top_k)]
        ranked = [(CLASS_NAMES[i], float(probabilities[i])) for i in order]
        best, confidence = ranked[0]
        if confidence < self.model.rejection_threshold:
            candidates = [label for label, p in ranked[:3] if p >= 0.1 * confidence] if len(ranked) > 1 else [best]
            return Prediction(
                None, confidence, ranked, True,
                f"not sure: {' or '.join(candidates)}? (confidence {confidence:.2f}, below the "
                f"{self.model.rejection_threshold:.2f} this model answers at)", item.pixels, item.box, NOT_SURE,
            )
        case, case_probability = (None, None) if upper is None else letter_case(best, float(upper[order[0]]))
        return Prediction(best, confidence, ranked, False, None, item.pixels, item.box, LETTER, case,
                          None if case_probability is None else round(case_probability, 6))


def as_image_list(images: Sequence[ImageSource] | ImageSource) -> list[ImageSource]:
    """One image or several, as a list of single images."""
    if isinstance(images, np.ndarray):
        one_image = images.ndim == 2 or (images.ndim == 3 and images.shape[2] in (1, 3, 4))
        return [images] if one_image else list(images)
    if isinstance(images, (str, Path, bytes, bytearray, Image.Image)):
        return [images]
    return list(images)


def iter_image_files(paths: Iterable[str | Path], keep_missing: bool = False,
                     suffixes: Sequence[str] = IMAGE_SUFFIXES) -> list[Path]:
    """Files named directly, plus image files found under directories (recursive, sorted).

    A path that does not exist is an error, or with ``keep_missing`` stays in the list (where
    reading it gives its own error, so the other files are still read).
    """
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in suffixes))
        elif p.exists() or keep_missing:
            found.append(p)
        else:
            raise LettersError(f"{p}: no such file or directory")
    return found


def image_files_to_read(paths: Sequence[str | Path], suffixes: Sequence[str] = IMAGE_SUFFIXES) -> list[Path]:
    """The files a command reads: folders searched (for files of these suffixes), a missing path kept
    (reading it gives its own error, so the others are still read); none at all is an error naming
    what was given."""
    files = iter_image_files(paths, keep_missing=True, suffixes=suffixes)
    if not files:
        raise NoImagesError(f"{', '.join(map(str, paths))}: no image files found (looked for {', '.join(suffixes)})")
    return files
