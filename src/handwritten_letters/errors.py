"""Errors a user can act on. The CLI prints their message on one line and exits with the
error's ``exit_code``: 2 for a usage error (the command cannot run as asked), 1 when it ran but
its input gave nothing to read."""


class LettersError(Exception):
    """Base class: the message names the input and says what was expected."""

    exit_code = 2


class NoImagesError(LettersError):
    """The paths given hold no image files (an empty folder, a folder of other files)."""

    exit_code = 1


class DataFormatError(LettersError, ValueError):
    """A data file (CSV or IDX) is missing, malformed or inconsistent."""


class ImageError(LettersError, ValueError):
    """An image cannot be read or is outside the accepted limits."""


class UnsupportedImageError(ImageError):
    """The bytes are not an image in an accepted format."""


class ImageTooLargeError(ImageError):
    """The image's dimensions exceed the limit (checked before decoding)."""


class CorruptImageError(ImageError):
    """The image is truncated, corrupt or empty."""


class ReadingTooLongError(ImageError):
    """Reading an image took longer than the time budget it was given."""


class ModelError(LettersError):
    """A model file is missing, unreadable or not one of ours."""


class MissingExtraError(LettersError, ImportError):
    """A feature needs an optional dependency group that is not installed."""
