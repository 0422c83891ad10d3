"""Training recipes: ``seed`` is the notebook's model and callbacks, unchanged; ``best`` adds
on-the-fly augmentation, label smoothing, AdamW with a cosine schedule and a slightly deeper net;
``real`` is ``best`` trained also on each letter redrawn as real drawings reach the model.

A recipe names every choice that changes the result, so both stay reproducible with
``letters train --recipe seed|best`` and the ablation benchmark can switch one piece at a time.
"""

from __future__ import annotations

import keras

from .config import RECIPES, Recipe, variant  # noqa: F401  (the recipes' public face)
from .model import CasedLetterLoss, SparseCategoricalCrossentropyWithSmoothing, build_model, letter_accuracy


def build_training_model(recipe: Recipe, steps_per_epoch: int, epochs: int) -> keras.Model:
    """The recipe's network, compiled with its optimizer, schedule and loss."""
    model = build_model(recipe.architecture, augment=recipe.augment, aspect=recipe.aspect, cased=recipe.cased,
                        case_head=recipe.case_head)
    learning_rate = recipe.learning_rate
    if recipe.schedule == "cosine":
        total = max(1, steps_per_epoch * epochs)
        learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=total - total // 20, warmup_target=recipe.learning_rate, warmup_steps=total // 20,
            alpha=0.01,
        )
    if recipe.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(learning_rate, weight_decay=recipe.weight_decay)
    else:
        optimizer = keras.optimizers.Adam(learning_rate)
    metrics = ["accuracy"]
    if recipe.cased:
        loss = CasedLetterLoss(recipe.label_smoothing)
        metrics = [keras.metrics.MeanMetricWrapper(letter_accuracy, name="accuracy")]
    elif recipe.label_smoothing:
        # label smoothing needs one-hot targets; keep sparse labels everywhere else
        loss = SparseCategoricalCrossentropyWithSmoothing(recipe.label_smoothing)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model
