"""The training side: data files, networks, recipes, training loops, export, fine-tuning, evaluation.

Needs the ``[train]`` extra (Keras 3 on TensorFlow). Importing this package first sets the Keras
backend and TensorFlow's environment (``keras_env``), so every module here imports Keras after it,
whatever order its imports are sorted in. The serving side (reading, words, batch, server) never
imports this package.
"""

from . import keras_env  # noqa: F401
