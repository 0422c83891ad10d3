"""Read handwritten Latin letters and words: recognize with ONNX Runtime, train with Keras.

The public face, importable from here and stable across releases::

    from handwritten_letters import Recognizer, TextReader, Lexicon, bundled_model_path

- ``Recognizer``: single letters from images (``Prediction``: label, case, confidence, top_k).
- ``TextReader``: words and lines (``TextReading`` > ``LineReading`` > ``WordReading`` > ``LetterReading``).
- ``Lexicon``: a word list that the readers use as a prior.
- ``bundled_model_path`` / ``bundled_line_model_path``: the models shipped with the package.

The package is split by job: ``reading`` (preprocess, recognize, calibration), ``words`` (word and
line reading), ``batch`` (many files, Ray), ``server`` (the web page and JSON API) never import
``training`` (Keras/TensorFlow, the ``[train]`` extra); an import contract checks it.
Names are loaded on first use, so ``import handwritten_letters`` stays cheap.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "Recognizer": "reading.recognize", "Prediction": "reading.recognize", "bundled_model_path": "reading.recognize",
    "TextReader": "words.line_reader", "bundled_line_model_path": "words.line_reader",
    "Lexicon": "words.lexicon", "TextReading": "words.results", "LineReading": "words.results",
    "WordReading": "words.results", "LetterReading": "words.results",
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
