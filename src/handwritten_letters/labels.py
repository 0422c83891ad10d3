"""The one place that knows the classes and the image geometry."""

CLASS_NAMES: tuple[str, ...] = tuple("abcdefghijklmnopqrstuvwxyz")
NUM_CLASSES = len(CLASS_NAMES)
IMAGE_SIZE = 28
PIXELS = IMAGE_SIZE * IMAGE_SIZE


def letter(index: int) -> str:
    """Class index 0..25 -> lowercase letter."""
    return CLASS_NAMES[index]


# The line model's classes: 0 is the CTC blank, class k is LINE_ALPHABET[k - 1].
LINE_ALPHABET = " " + "".join(CLASS_NAMES)
NUM_LINE_CLASSES = len(LINE_ALPHABET) + 1
