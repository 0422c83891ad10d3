"""The Python API people use stays where they found it: the top level, and the old module paths
for one more release (with a DeprecationWarning)."""

import subprocess
import sys

import pytest


def test_the_public_face_is_importable_from_the_top_level():
    import handwritten_letters
    from handwritten_letters import (
        LetterReading,
        Lexicon,
        LineReading,
        Prediction,
        Recognizer,
        TextReader,
        TextReading,
        WordReading,
        bundled_line_model_path,
        bundled_model_path,
    )

    assert bundled_model_path().exists() and bundled_line_model_path().exists()
    assert Recognizer.__module__ == "handwritten_letters.reading.recognize"
    assert TextReader.__module__ == "handwritten_letters.words.line_reader"
    assert {Lexicon, TextReading, LineReading, WordReading, LetterReading, Prediction}
    assert "Recognizer" in dir(handwritten_letters)
    with pytest.raises(AttributeError):
        handwritten_letters.no_such_name  # noqa: B018


@pytest.mark.parametrize("old, new", [("recognize", "reading.recognize"), ("line_reader", "words.line_reader"),
                                      ("segment", "words.segment")])
def test_old_module_paths_still_work_and_warn(old, new):
    code = (f"import warnings; warnings.simplefilter('always')\n"
            f"with warnings.catch_warnings(record=True) as caught:\n"
            f"    import handwritten_letters.{old} as old\n"
            f"import handwritten_letters.{new} as new\n"
            f"assert old is new, (old, new)\n"
            f"assert any(issubclass(w.category, DeprecationWarning) and 'handwritten_letters.{new}' in str(w.message)"
            f" for w in caught), [str(w.message) for w in caught]\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_importing_the_package_loads_nothing_heavy():
    code = "import sys, handwritten_letters; print(sorted(m for m in ('onnxruntime', 'cv2', 'keras') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout
