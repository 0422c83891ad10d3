"""EMNIST letters redrawn the way real letters reach the model, for training.

A letter a person draws reaches the model through ``preprocess``: cropped, scaled, its strokes
brought to one width (EMNIST's median), blurred, shrunk. EMNIST's own 28x28 images never went
through that path, and their stroke width is not one width: a short letter (``a``, ``r``) was
scaled up more than a tall one (``d``, ``l``, a dotted ``i``), so its strokes are thicker. A
model trained on raw EMNIST learns that cue, and a drawn ``a`` whose strokes the preprocessing
made as thin as a ``d``'s is read as ``d`` (docs/real-handwriting.md shows it).

Each training letter is therefore also given to the model as it would arrive from a drawing:

- ``preprocessed``: the EMNIST image itself, sent through the serving preprocessing;
- ``thin_pen``: the same letter redrawn with a thin pen (its centre line, as a mouse or a stylus
  draws it, at a random size), then sent through the serving preprocessing like any drawing.

Both use ``preprocess`` itself, so training sees exactly what serving produces (one stem for
both, no train/serve skew). Variants of one letter always stay on the same side of the split:
they are made after splitting.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image
from scipy import ndimage

from ..reading.preprocess import disk, ink_to_model_input, preprocess_grey
from .data import CASE_LOWER, Dataset, concatenate

VARIANTS = ("raw", "preprocessed", "thin_pen")
INK_LEVEL = 0.5  # EMNIST pixels above half intensity are the pen's stroke
THIN_PEN_HEIGHTS = (40, 110)  # drawn size of a redrawn letter, pixels (a 105-px canvas to a photo crop)
THIN_PEN_RADII = (0, 1, 2)  # stroke half-width around the centre line, pixels at that size
PAGE_MARGIN = 8


def _ink_box(ink: np.ndarray) -> tuple[slice, slice] | None:
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows):
        return None
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def through_preprocessing(image: np.ndarray) -> np.ndarray:
    """An EMNIST image (28x28 uint8, white ink) as ``preprocess`` would hand it to the model."""
    ink = image.astype(np.float32) / 255.0
    box = _ink_box(ink > 0.1)
    return image.copy() if box is None else ink_to_model_input(ink[box])


def thin_pen(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The letter's centre line drawn with a thin pen on white paper, then preprocessed."""
    from scipy import ndimage
    from skimage.morphology import skeletonize

    height = int(rng.integers(*THIN_PEN_HEIGHTS))
    scale = height / 28
    large = np.asarray(Image.fromarray(image).resize((height, height), Image.BILINEAR), dtype=np.float32) / 255.0
    line = skeletonize(large > INK_LEVEL)
    radius = int(rng.choice(THIN_PEN_RADII) * max(1.0, scale / 3) // 1)
    stroke = ndimage.binary_dilation(line, structure=disk(radius)) if radius else line
    page = np.full((height + 2 * PAGE_MARGIN,) * 2, 255, dtype=np.uint8)
    page[PAGE_MARGIN:-PAGE_MARGIN, PAGE_MARGIN:-PAGE_MARGIN][stroke] = 0
    result = preprocess_grey(page)
    # a letter the preprocessing refuses (a few strokes, far apart) stays as it was made
    return through_preprocessing(image) if result.rejected else result.pixels


def _redraw_chunk(args: tuple[np.ndarray, str, int]) -> np.ndarray:
    images, variant, seed = args
    rng = np.random.default_rng(seed)
    if variant == "preprocessed":
        return np.stack([through_preprocessing(image) for image in images])
    if variant == "thin_pen":
        return np.stack([thin_pen(image, rng) for image in images])
    raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")


def redraw(images: np.ndarray, variant: str, seed: int = 0, jobs: int | None = None) -> np.ndarray:
    """Every image as ``variant`` (see the module docstring), in order; deterministic for a seed."""
    if variant == "raw" or not len(images):
        return images.copy()
    chunks = np.array_split(images, max(1, len(images) // 2048))
    work = [(chunk, variant, seed * 100_003 + i) for i, chunk in enumerate(chunks)]
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(chunks) == 1:
        return np.concatenate([_redraw_chunk(w) for w in work])
    with ProcessPoolExecutor(jobs) as pool:
        return np.concatenate(list(pool.map(_redraw_chunk, work)))


def dotted_i(image: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A single straight stroke (an EMNIST ``i`` or ``l`` written as a bar) as a lowercase ``i``:
    the stem shortened, a dot above it, framed the way EMNIST frames a letter (long side 24 of 28).

    None when the image is not one bar. EMNIST has few dotted ``i``s (its ``i`` class is mostly
    capital I's bars), so a dotted ``i`` drawn on the page looked more like its dotted ``j``s.
    """
    labels, count = ndimage.label(image > 96)
    if count != 1:
        return None
    rows, cols = np.flatnonzero((labels > 0).any(axis=1)), np.flatnonzero((labels > 0).any(axis=0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    if width > 0.45 * height or height < 12:
        return None
    scale = 4
    stem = np.asarray(Image.fromarray(image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]).resize(
        (width * scale, max(1, int(height * scale * rng.uniform(0.6, 0.78)))), Image.BILINEAR), dtype=np.float32)
    stroke = max(2.0, float((stem > 96).sum(axis=1).mean()))  # the stem's width, pixels at this scale
    radius = stroke * rng.uniform(0.45, 0.9)
    gap = stroke * rng.uniform(0.4, 1.6)
    top_centre = float(np.argmax(stem[0] > 96) + (stem[0] > 96).sum() / 2) if (stem[0] > 96).any() else stem.shape[1] / 2
    dot_x = top_centre + rng.uniform(-0.6, 0.6) * stroke
    margin = int(radius + abs(dot_x - stem.shape[1] / 2) + stroke) + 2
    dot_space = int(2 * radius + gap) + 2
    canvas = np.zeros((stem.shape[0] + dot_space, stem.shape[1] + 2 * margin), dtype=np.float32)
    canvas[dot_space:, margin : margin + stem.shape[1]] = stem
    yy, xx = np.ogrid[: canvas.shape[0], : canvas.shape[1]]
    dot = np.clip(radius + 0.5 - np.hypot(yy - (radius + 1), xx - (margin + dot_x)), 0.0, 1.0) * float(stem.max())
    canvas = np.maximum(canvas, dot)
    return _emnist_frame(canvas)


def _emnist_frame(ink: np.ndarray) -> np.ndarray:
    """Ink (any size, 0..255 floats) cropped and framed as EMNIST frames a letter: long side 24
    pixels, centred in 28x28, uint8."""
    box = _ink_box(ink > 24)
    crop = ink[box]
    height, width = crop.shape
    factor = 24 / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = np.asarray(Image.fromarray(crop.astype(np.float32), mode="F").resize(size, Image.LANCZOS))
    framed = np.zeros((28, 28), dtype=np.float32)
    top, left = (28 - size[1]) // 2, (28 - size[0]) // 2
    framed[top : top + size[1], left : left + size[0]] = small
    return np.clip(framed / max(framed.max(), 1e-6) * 255.0, 0, 255).astype(np.uint8)


def with_dotted_i(dataset: Dataset, seed: int = 0) -> Dataset:
    """The dataset plus a dotted ``i`` made from each single-bar ``i`` and ``l`` in it."""
    from ..labels import CLASS_NAMES

    rng = np.random.default_rng(seed)
    i_class, l_class = CLASS_NAMES.index("i"), CLASS_NAMES.index("l")
    return _with_made(dataset, [dotted_i(image, rng) for image in
                                dataset.images[np.isin(dataset.labels, [i_class, l_class])]], i_class)


def _with_made(dataset: Dataset, made: list[np.ndarray | None], label: int) -> Dataset:
    """The dataset plus the letters made from its own (None: none could be made), all labelled
    ``label`` in lower case (a dotted i, a single-storey a)."""
    made = [m for m in made if m is not None]
    if not made:
        return dataset
    return concatenate([dataset, Dataset(np.stack(made), np.full(len(made), label, dtype=dataset.labels.dtype),
                                         np.full(len(made), CASE_LOWER, dtype=np.int8))])


SHORT_STEM_ABOVE_BOWL = (0.05, 0.35)  # the stem kept above the bowl, share of the bowl's height
BOWL_SPAN = 0.6  # rows at least this share of the letter's widest row are the bowl


def short_stem_a(image: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """An EMNIST ``d`` with its stem cut to just above the bowl: a single-storey ``a`` as many
    people write it (the pen comes back up past the bowl), framed as EMNIST frames a letter.

    None when the letter has no stem rising well above its bowl (a capital D, an open d).
    EMNIST's ``a`` class is mostly capitals and double-storey letters, so a drawn single-storey
    ``a`` with a rising stem was a ``d`` to the model (docs/real-handwriting.md).
    """
    ink = image > 127
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size < 8:
        return None
    spans = np.zeros(ink.shape[0], dtype=int)
    for row in rows:
        cols = np.flatnonzero(ink[row])
        spans[row] = cols[-1] - cols[0] + 1
    bowl_top, bottom = int(np.flatnonzero(spans >= BOWL_SPAN * spans.max())[0]), int(rows[-1])
    bowl = bottom - bowl_top + 1
    if bowl_top - rows[0] < 0.3 * bowl:
        return None
    keep_from = max(0, int(round(bowl_top - rng.uniform(*SHORT_STEM_ABOVE_BOWL) * bowl)))
    cut = image.astype(np.float32)
    cut[:keep_from] = 0.0
    return _emnist_frame(cut)


def with_short_stem_a(dataset: Dataset, seed: int = 0) -> Dataset:
    """The dataset plus a single-storey ``a`` made from each ``d`` in it that has a tall stem."""
    from ..labels import CLASS_NAMES

    rng = np.random.default_rng([seed, 1])
    a_class, d_class = CLASS_NAMES.index("a"), CLASS_NAMES.index("d")
    return _with_made(dataset, [short_stem_a(image, rng) for image in dataset.images[dataset.labels == d_class]],
                      a_class)


def with_variants(dataset: Dataset, variants: tuple[str, ...], seed: int = 0) -> Dataset:
    """The dataset once per variant, concatenated (labels repeated)."""
    if tuple(variants) == ("raw",):
        return dataset
    images = [redraw(dataset.images, v, seed + i) for i, v in enumerate(variants)]
    cases = None if dataset.cases is None else np.tile(dataset.cases, len(variants))
    return Dataset(np.concatenate(images), np.tile(dataset.labels, len(variants)), cases)


SYNTHETIC = {"dotted_i": with_dotted_i, "short_stem_a": with_short_stem_a}


def as_trained(dataset: Dataset, variants: tuple[str, ...], synthetic: tuple[str, ...] = (), seed: int = 0) -> Dataset:
    """A split as a recipe trains (or validates) on it: synthetic letters added, then every
    letter in each variant."""
    for name in synthetic:
        if name not in SYNTHETIC:
            raise ValueError(f"unknown synthetic letters {name!r}; expected one of {', '.join(SYNTHETIC)}")
        dataset = SYNTHETIC[name](dataset, seed)
    return with_variants(dataset, variants, seed)
