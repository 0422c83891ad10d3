"""The one place that knows the classes and the image geometry."""

CLASS_NAMES: tuple[str, ...] = tuple("abcdefghijklmnopqrstuvwxyz")
NUM_CLASSES = len(CLASS_NAMES)
IMAGE_SIZE = 28
PIXELS = IMAGE_SIZE * IMAGE_SIZE


# A cased network tells the two cases apart: its output k is letter k in lower case, 26 + k in upper case.
NUM_CASED_CLASSES = 2 * NUM_CLASSES
# letters whose capital and small letter have one shape once the size is gone (EMNIST frames every
# letter alike): their case is not learned and is answered "either"
SAME_SHAPE_CASES = frozenset("cosuvwxz")
# answered "either" too where measurement says the shape does not tell: p and y, whose case the
# bundled model tells right 66% and 80% of the time on the held-out fonts (chance is 50%; every other
# letter 91-100%; benchmarks/fonts.py). In a word, the line tells their case (words/case.py).
CASE_UNTOLD = SAME_SHAPE_CASES | {"p", "y"}


def letter(index: int) -> str:
    """Class index 0..25 -> lowercase letter."""
    return CLASS_NAMES[index]


# The line model's classes: 0 is the CTC blank, class k is LINE_ALPHABET[k - 1].
LINE_ALPHABET = " " + "".join(CLASS_NAMES)
NUM_LINE_CLASSES = len(LINE_ALPHABET) + 1
