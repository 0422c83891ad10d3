"""What a training run is asked to do: the recipes and the three runs' settings (letters, lines,
fine-tuning). No Keras here, so the command line takes its defaults from these dataclasses without
starting TensorFlow; the trainers read them.

A recipe names every choice that changes the result, so runs stay reproducible with
``letters train --recipe NAME`` and the ablation benchmark can switch one piece at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


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
    case_head: bool = False  # cased through 26 letters and a case head (model.LettersTimesCase), not 52 outputs
    # fresh renderings of every letter of every training font, each epoch (font_letters.py); 0: none
    font_renderings: int = 0
    # the same for a joined (cursive) training font's letters, when they need more than print's; 0: as print
    joined_renderings: int = 0
    # the same for a joined font's capitals (ornate, unlike print's, and read worst); 0: as its other letters
    joined_capital_renderings: int = 0
    # single-line stroke hands trained on beside the fonts (font_letters.STROKE_HANDS), and how many
    # renderings each of their letters gets an epoch (0: as a joined font's)
    stroke_hands: tuple[str, ...] = ()
    stroke_renderings: int = 0
    # how font letters vary (font_letters.VARIATIONS: pen, geometry, wobble, broken); fewer for ablations
    font_variations: tuple[str, ...] = ("pen", "geometry", "wobble", "broken")


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
# hands, continued with a joined hand's letters rendered three times as often as a print hand's (joined
# hands are 9 of the 28 training fonts, and unseen ones read worst, their capitals above all)
RECIPES["hands-joined"] = replace(RECIPES["hands"], name="hands-joined", font_renderings=32, joined_renderings=96,
                                  epochs=4, early_stopping_patience=4, learning_rate=5e-4)
# hands with a joined hand's letters rendered three times as often as a print hand's, from the
# EMNIST-only weights: the one change the font-letter ablation found to help unseen joined hands
RECIPES["hands-more-joined"] = replace(RECIPES["hands"], name="hands-more-joined", joined_renderings=48, epochs=6,
                                       early_stopping_patience=6)
# hands on all 55 training fonts (29 joined hands, most of them new): continued from letters-cnn 4,
# a joined hand's letters twice as often as a print hand's (joined hands are now half the fonts, so
# the earlier 3x would crowd out print), at half the learning rate
RECIPES["hands-all"] = replace(RECIPES["hands"], name="hands-all", font_renderings=16, joined_renderings=32,
                               epochs=5, early_stopping_patience=5, learning_rate=5e-4)
# hands-all with a joined hand's capitals rendered three times as often as its small letters: unseen
# joined hands read their small letters 94% and their capitals 71% with hands-all (docs/results.md)
RECIPES["hands-all-capitals"] = replace(RECIPES["hands-all"], name="hands-all-capitals", joined_capital_renderings=96)
# hands-all continued with a formal script hand no font has: Hershey's script as a pen's path (two
# tracings), its letters rendered three times as often as a joined font's (two hands among 57); more
# renderings of the same hands' capitals moved unseen joined capitals 2 points, a new hand is the lever
RECIPES["hands-strokes"] = replace(RECIPES["hands-all"], name="hands-strokes", epochs=3, early_stopping_patience=3,
                                   learning_rate=3e-4, stroke_hands=("hershey-script", "hershey-script-complex"),
                                   stroke_renderings=96)
# hands-strokes with two more hands no font has, unlike each other: EMS Allure's copperplate and EMS
# Felix's calligraphic italic (single-line SVG fonts, the hersheytext npm package), for the capitals
# of unseen joined hands, which one new hand moved 7 of 234
RECIPES["hands-strokes-ems"] = replace(RECIPES["hands-strokes"], name="hands-strokes-ems",
                                       stroke_hands=("hershey-script", "hershey-script-complex", "ems-allure",
                                                     "ems-felix"))


def recipe_named(name: str, option: str = "recipe") -> Recipe:
    """The recipe of this name; an unknown name is an error that lists the known ones."""
    from ..errors import LettersError

    if name not in RECIPES:
        raise LettersError(f"{option}: unknown recipe {name!r}; expected one of {', '.join(RECIPES)}")
    return RECIPES[name]


def variant(recipe: Recipe, **changes) -> Recipe:
    """The same recipe with some pieces changed (for ablations)."""
    return replace(recipe, **changes)


@dataclass
class TrainConfig:
    train_paths: list[str]
    out_dir: str
    recipe: str | Recipe = "seed"  # a name in recipes.RECIPES, or a Recipe (ablations)
    val_fraction: float = 0.1
    epochs: int | None = None  # None: the recipe's
    batch_size: int = 128
    seed: int = 42
    learning_rate: float | None = None  # None: the recipe's
    reduce_lr_patience: int = 2
    class_weight: str = "balanced"  # "balanced" or "none"
    limit: int | None = None  # use only this many images (stratified), for quick runs
    init_from: str | None = None  # start from this model's weights (a .keras file of the recipe's network)
    # the handwriting fonts, for a recipe that trains on them (None: found beside the project)
    font_dir: str | None = None
    resume: bool = False
    verbose: int | None = None  # None: a progress bar on a terminal, one line per epoch otherwise


@dataclass
class LineTrainConfig:
    train_paths: list[str]
    out_dir: str
    val_fraction: float = 0.1  # the letter split: same files, fraction and seed give the same split
    seed: int = 42
    epochs: int = 20
    steps_per_epoch: int = 400
    batch_size: int = 32
    validation_lines: int = 1024
    learning_rate: float = 2e-3
    width: int = 64  # the line model's size: its 2-D convolutions have width/4 to 1.5 x width channels
    early_stopping_patience: int = 5
    # letters as the real recipe trains on them (redraw.as_trained): also redrawn through the serving
    # preprocessing and with a thin pen, plus dotted i's and single-storey a's; lines of raw EMNIST
    # alone read real letters badly, and without the single-storey a's real lines read a as o
    variants: tuple[str, ...] = RECIPES["real"].variants
    synthetic: tuple[str, ...] = RECIPES["real"].synthetic
    limit: int | None = None  # letters to compose from (stratified), for quick runs
    init_from: str | None = None  # start from this line model's weights (a .keras file) instead of random ones
    line_seed: int | None = None  # seed of the training lines' composition (default: seed, which also splits)
    # share of lines written in handwriting fonts (whole words, joined hands with their joins; training
    # fonts for training lines, held-out fonts for validation lines); the rest composed from EMNIST letters
    font_share: float = 0.0
    font_dir: str | None = None  # the handwriting fonts (None: found beside the project)
    proportions: float = 0.6  # share of EMNIST lines at handwriting proportions (synthetic_lines.LineStyle)
    # share of EMNIST lines redrawn along their letters' centre lines with one round pen (LineStyle)
    pen_lines: float = 0.0
    # share of lines drawn as pen words in the fonts' hands (their letters' centre lines, one round pen,
    # handwriting proportions, gaps clear to crossing; pen_words.py), after the font lines' share
    pen_words: float = 0.0
    resume: bool = False
    verbose: int | None = None


@dataclass
class FinetuneConfig:
    data_path: str  # a folder of per-letter folders, or a folder with labels.csv
    out_dir: str
    base: str | None = None  # a run directory or a .keras file; None: the bundled model's weights
    replay_paths: list[str] | None = None  # EMNIST training files; None: the sample shipped with the package
    epochs: int = 12
    holdout: float = 0.3
    learning_rate: float = 3e-4
    batch_size: int = 64
    seed: int = 42
    progress: bool = False  # one line per epoch on stdout
