"""Training recipes: ``seed`` is the notebook's model and callbacks, unchanged; ``best`` adds
on-the-fly augmentation, label smoothing, AdamW with a cosine schedule and a slightly deeper net;
``real`` is ``best`` trained also on each letter redrawn as real drawings reach the model.

A recipe names every choice that changes the result, so both stay reproducible with
``letters train --recipe seed|best`` and the ablation benchmark can switch one piece at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import keras

from .model import CasedLetterLoss, SparseCategoricalCrossentropyWithSmoothing, build_model, letter_accuracy


@dataclass(frozen=True)
class Recipe:
    name: str
    architecture: str = "seed"  # "seed", "deep" or "wide" (see model.ARCHITECTURES)
    augment: bool = False  # model.augmentation(): rotation, shear, scale, shift, elastic, stroke width
    aspect: float = 0.0  # augmentation also changes height/width by up to this share, either way
    label_smoothing: float = 0.0
    optimizer: str = "adam"  # "adam" or "adamw"
    schedule: str = "plateau"  # "plateau" (ReduceLROnPlateau on val_loss) or "cosine"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    epochs: int = 25
    early_stopping_patience: int = 5
    # each training letter as the model gets it: "raw" EMNIST, and redrawn as real letters arrive (see redraw.py)
    variants: tuple[str, ...] = ("raw",)
    synthetic: tuple[str, ...] = ()  # letters made from EMNIST's own and added (redraw.SYNTHETIC)
    cased: bool = False  # 52 outputs: upper and lower case learned where known (model.CasedLetterLoss)
    # fresh renderings of every letter of every training font, each epoch (font_letters.py); 0: none
    font_renderings: int = 0


RECIPES: dict[str, Recipe] = {
    "seed": Recipe("seed"),
    "best": Recipe(
        "best", architecture="deep", augment=True, label_smoothing=0.1, optimizer="adamw",
        schedule="cosine", learning_rate=2e-3, weight_decay=1e-4, epochs=30, early_stopping_patience=30,
    ),
}
# best, trained also on every letter as the serving preprocessing makes it from a drawing, plus the
# letter shapes people draw that EMNIST lacks (dotted i's, single-storey a's with a rising stem)
RECIPES["real"] = replace(RECIPES["best"], name="real", variants=("raw", "preprocessed", "thin_pen"),
                          synthetic=("dotted_i", "short_stem_a"), aspect=0.25, epochs=16, early_stopping_patience=16)
# real on a net with 1.5x the channels, to test whether "real" lacks capacity (it fits its augmented
# training letters no better than its validation letters): it does not (README, Results)
RECIPES["real-wide"] = replace(RECIPES["real"], name="real-wide", architecture="wide")


# real, also on letters in the training handwriting fonts (both cases, varied afresh each epoch),
# learning case where it is known: people's hands beyond EMNIST's census forms
RECIPES["hands"] = replace(RECIPES["real"], name="hands", cased=True, font_renderings=16, epochs=10,
                           early_stopping_patience=10, learning_rate=1e-3)
# hands, continued with three times the font letters an epoch (a third of each epoch): does more of the
# fonts' variety read unseen joined hands better? (docs/results.md)
RECIPES["hands-fonts"] = replace(RECIPES["hands"], name="hands-fonts", font_renderings=48, epochs=4,
                                 early_stopping_patience=4, learning_rate=5e-4)


def variant(recipe: Recipe, **changes) -> Recipe:
    """The same recipe with some pieces changed (for ablations)."""
    return replace(recipe, **changes)


def build_training_model(recipe: Recipe, steps_per_epoch: int, epochs: int) -> keras.Model:
    """The recipe's network, compiled with its optimizer, schedule and loss."""
    model = build_model(recipe.architecture, augment=recipe.augment, aspect=recipe.aspect, cased=recipe.cased)
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
