"""A quiet, deterministic TensorFlow backend: imported by the training package before anything in
it imports Keras (TensorFlow reads these variables once, when it is first imported)."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ log lines are noise for users; errors still raise
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")  # same seed, same machine -> same weights


def import_tensorflow_quietly() -> None:
    """TensorFlow's C++ start-up lines (oneDNN notices, absl's "before InitializeLog") ignore
    TF_CPP_MIN_LOG_LEVEL; they go to the process's stderr while it is pointed elsewhere."""
    import logging
    import warnings

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing and similar notices
    warnings.filterwarnings("ignore", message=".*optimizer.*variables.*")  # restoring a model without its optimizer
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    except ImportError:  # no [train] extra: the caller says so
        pass
    finally:
        os.dup2(saved, 2)
        os.close(saved)

