"""Imported before Keras anywhere in the package: a quiet, deterministic TensorFlow backend.

TensorFlow reads these variables once, when it is first imported, so they are set here and
every module that needs Keras imports this module first.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ log lines are noise for users; errors still raise
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")  # same seed, same machine -> same weights
