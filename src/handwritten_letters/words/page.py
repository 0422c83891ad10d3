"""Page analysis shared by every text reader: an image's ink and its pieces, lines found from the
horizontal projection, refusals of what is not handwriting to read, and the time budget."""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ReadingTooLongError
from ..reading.preprocess import INK_THRESHOLD, ImageSource, load_ink

MAX_PIECES_PER_IMAGE = 300  # pieces of ink on one page: a few lines of words; more is not a request to read
MAX_LINES = 40
MIN_DOTS_FOR_REFUSAL = 8
DOT_FILL = 0.7  # a dot or speck is squarish and solid (a disc fills 0.79 of its box; a pen's ring far less)
DOT_SHARE = 0.8  # of the pieces being dots: a page of specks (the dots of a word of i's are half)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], flags, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[::2], edges[1::2]))


def find_lines(mask: np.ndarray) -> list[tuple[int, int]]:
    """Row bands holding text; thin bands (dots, accents) join the nearest tall band."""
    bands = _runs(mask.any(axis=1))
    if not bands:
        return []
    tallest = max(b - a for a, b in bands)
    tall = [band for band in bands if band[1] - band[0] >= 0.4 * tallest]
    merged = {band: [band[0], band[1]] for band in tall}
    for a, b in bands:
        if (a, b) in merged:
            continue
        nearest = min(tall, key=lambda t: min(abs(a - t[1]), abs(t[0] - b)))
        merged[nearest][0], merged[nearest][1] = min(merged[nearest][0], a), max(merged[nearest][1], b)
    return sorted((a, b) for a, b in merged.values())


def _refusal(slices, areas: np.ndarray) -> str | None:
    """Why a page is not handwriting to read, judged before any letter is: too many pieces of
    ink for one request, or a page of dots and specks."""
    kept = [(i, s) for i, s in enumerate(slices, 1) if s is not None]
    if len(kept) > MAX_PIECES_PER_IMAGE:
        return f"not handwriting to read: {len(kept)} separate pieces of ink (at most {MAX_PIECES_PER_IMAGE})"
    if len(kept) < MIN_DOTS_FOR_REFUSAL:
        return None
    heights = np.array([s[0].stop - s[0].start for _, s in kept])
    widths = np.array([s[1].stop - s[1].start for _, s in kept])
    fill = areas[[i for i, _ in kept]] / (heights * widths)
    dots = (np.minimum(heights, widths) >= 0.5 * np.maximum(heights, widths)) & (fill >= DOT_FILL)
    if dots.mean() >= DOT_SHARE:
        return f"not handwriting to read: {int(dots.sum())} of {len(kept)} pieces of ink are dots or specks"
    return None


def ink_pieces(ink: np.ndarray) -> tuple[np.ndarray, list, str | None]:
    """Connected pieces of ink (specks dropped): their label image, their slices (None for a
    dropped label), and why the page is not handwriting to read, if it is not."""
    labels, count, stats = label_pieces(ink > INK_THRESHOLD)
    if count == 0:
        return labels, [], "no ink found"
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    areas[0] = 0
    speck = areas < max(4, 0.02 * areas.max())
    speck[0] = True
    labels[speck[labels]] = 0
    slices = piece_slices(stats, ~speck)
    return labels, slices, _refusal(slices, areas)


def label_pieces(mask: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Eight-connected pieces numbered 1.. in the order a raster scan first meets them (as SciPy's
    ``ndimage.label``: OpenCV's SAUF, Wu's algorithm, keeps row-major order), their count, and each label's
    box (OpenCV's stats: left, top, width, height, area; row 0 the background)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask.astype(np.uint8), 8, cv2.CV_32S,
                                                                            cv2.CCL_WU)
    return labels, count - 1, stats


def piece_slices(stats: np.ndarray, kept: np.ndarray) -> list:
    """Each label's (rows, columns) slices, None where ``kept`` is False (as ``ndimage.find_objects``)."""
    return [(slice(int(t), int(t + h)), slice(int(l), int(l + w))) if keep else None
            for (l, t, w, h, _), keep in zip(stats[1:], kept[1:])]


def pieces_by_line(labels: np.ndarray, slices) -> list[list[int]]:
    """The labels of the pieces of ink on each line (at most MAX_LINES), top to bottom."""
    lines = []
    for top, bottom in find_lines(labels > 0)[:MAX_LINES]:
        ids = [i + 1 for i, s in enumerate(slices) if s is not None and top <= (s[0].start + s[0].stop) / 2 < bottom]
        if ids:
            lines.append(ids)
    return lines


@dataclass
class InkPage:
    """An image's ink map and its pieces of ink: where every reader of text starts."""

    ink: np.ndarray  # 1 = ink
    labels: np.ndarray  # pieces of ink, specks dropped
    slices: list  # per label, its rows and columns (None for a dropped label)
    scale: float  # source-image pixels per ink-map pixel


def ink_page(source: ImageSource, name: str = "image") -> InkPage | str:
    """Decode an image into its ink and pieces, or say why there is nothing to read (no ink, a
    page of specks, too many pieces)."""
    ink, reason, scale = load_ink(source, name)
    if ink is None:
        return reason
    labels, slices, refusal = ink_pieces(ink)
    return refusal or InkPage(ink, labels, slices, scale)


def check_deadline(deadline: float | None, name: str) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise ReadingTooLongError(f"{name}: reading stopped after its time budget; send fewer lines or words")
