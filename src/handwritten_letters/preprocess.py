"""One path from any image of a letter to the model's 28x28 input, for every entry point.

It follows how EMNIST was made (Cohen et al., 2017, section II-A), and matches the statistics
of EMNIST's own images (measured on the training files: the letter's long side spans 24 of
28 pixels, centred; strokes ~3.9 px wide at that scale):

1. decode (PNG/JPEG/BMP/GIF/WebP/TIFF), apply EXIF orientation, flatten transparency;
2. grey, detect ink polarity (dark-on-light and light-on-dark both work), remove the
   background level and specks of noise;
3. crop to the ink, keep the aspect ratio, centre in a square with EMNIST's border,
   at a working scale of 84x84 (EMNIST worked at 128x128);
4. bring the stroke width to EMNIST's, Gaussian blur (sigma 1), resize to 28x28 with
   antialiasing, stretch to 0..255. Output is upright, white ink on black, as the model expects.

Images that are not a letter (blank, too little ink, a solid block, many separate pieces)
come back with ``rejected`` set to a reason instead of pixels the model would guess on.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

from .errors import CorruptImageError, ImageError, ImageTooLargeError, UnsupportedImageError
from .labels import IMAGE_SIZE

PREPROCESS_VERSION = "1"
ACCEPTED_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")
MAX_SIDE = 4096
ANALYSIS_SIDE = 1024

WORK_SIZE = 84  # 3 x 28: strokes are normalised and blurred at this scale
CONTENT_SIZE = 72  # 3 x 24: the letter's long side, as in EMNIST
TARGET_STROKE_WIDTH = 3.9 * 3  # EMNIST's median stroke width (28-px scale) at the working scale
BLUR_SIGMA = 1.0
INK_THRESHOLD = 0.35  # share of the way from background to the darkest ink
MIN_CONTRAST = 0.15
MIN_INK_PIXELS = 12
MAX_PIECES = 4  # a letter has at most 2-3 (i, j, broken strokes); more is a scribble or text
SOLID_FILL = 0.85
EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)
FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)
BACKGROUND_FLOOR = 0.1  # faint leftovers of paper texture and JPEG noise
MAX_HOLES = 8
INK_TAIL_SHARE = 0.0005  # the darkest 0.05% of pixels set the ink level (ignoring a few outliers)...
INK_TAIL_PIXELS = 64  # ...or the darkest 64, if fewer: a small letter on a large photo is a tiny share
IMPULSE_NOISE_SHARE = 0.002  # of all pixels being 1-2 pixel specks: impulse noise  # a letter encloses at most 2 regions (B); sloppy strokes add a few tiny ones  # ink covering this share of its own box is a blot, not a letter

ImageSource = Union[str, Path, bytes, Image.Image, np.ndarray]


@dataclass
class Preprocessed:
    pixels: np.ndarray  # (28, 28) uint8, white ink on black; zeros when rejected
    rejected: str | None = None  # why this is not a letter, or None
    pieces: int = 0  # separate ink components kept
    box: tuple[int, int, int, int] | None = None  # ink bounding box in the source: left, top, right, bottom


# --------------------------------------------------------------------------- decoding


# Large decodes at once per process: each holds up to MAX_SIDE^2 pixels (64 MB as RGBA).
LARGE_DECODE_PIXELS = 2048 * 2048
_large_decodes = threading.BoundedSemaphore(2)
DECODE_SCALE = "handwritten_letters.decode_scale"  # image.info key: source pixels per decoded pixel (JPEG draft)


def open_image(source: ImageSource, name: str = "image") -> Image.Image:
    """Decode bytes or a file, refusing huge dimensions before the pixels are decoded.

    Every way an image can fail to decode becomes a typed ``ImageError`` naming ``name``.
    """
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        return Image.fromarray(_as_uint8(source, name))
    if isinstance(source, (str, Path)):
        name = str(source)
        try:
            source = Path(source).read_bytes()
        except OSError as exc:
            raise ImageError(f"{name}: cannot read file ({exc.strerror or exc})") from None
    if not isinstance(source, (bytes, bytearray, memoryview)):
        raise ImageError(f"{name}: expected a path, bytes, a PIL image or an array, got {type(source).__name__}")
    if not source:
        raise CorruptImageError(f"{name}: empty file, expected an image")
    try:
        image = Image.open(io.BytesIO(source), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError:
        raise UnsupportedImageError(
            f"{name}: not an image in an accepted format ({', '.join(ACCEPTED_FORMATS)})"
        ) from None
    except Image.DecompressionBombError:
        raise ImageTooLargeError(f"{name}: image dimensions too large; at most {MAX_SIDE}x{MAX_SIDE}") from None
    except Exception as exc:  # Pillow's parsers raise OSError, SyntaxError, struct.error... for broken headers
        raise CorruptImageError(f"{name}: corrupt or truncated image ({type(exc).__name__}: {exc})") from None
    width, height = image.size
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ImageTooLargeError(f"{name}: image is {width}x{height} pixels; at most {MAX_SIDE}x{MAX_SIDE} accepted")
    if width == 0 or height == 0:
        raise CorruptImageError(f"{name}: image has no pixels")
    if image.format == "JPEG" and max(width, height) >= 2 * ANALYSIS_SIDE:
        # JPEG decodes at 1/2, 1/4 or 1/8 scale for almost nothing: a phone photo needs no more
        image.draft(image.mode, (width * ANALYSIS_SIDE // max(width, height),) * 2)
        image.info[DECODE_SCALE] = width / image.size[0]
    large = width * height >= LARGE_DECODE_PIXELS
    try:
        if large:
            _large_decodes.acquire()
        image.load()
        return ImageOps.exif_transpose(image)
    except Exception as exc:  # truncated data, bad EXIF, broken frames: all are the file's fault
        raise CorruptImageError(f"{name}: corrupt or truncated {image.format} image ({type(exc).__name__}: {exc})") from None
    finally:
        if large:
            _large_decodes.release()


def _as_uint8(array: np.ndarray, name: str = "image") -> np.ndarray:
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)) or 0 in array.shape:
        raise ImageError(f"{name}: an image array must be (height, width) or (height, width, 1|3|4), got {array.shape}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
        raise ImageError(f"{name}: an image array must hold finite numbers, got dtype {array.dtype}")
    scale = 255.0 if array.max(initial=0) <= 1.0 else 1.0
    return np.clip(array * scale, 0, 255).astype(np.uint8)


def _eight_bit(image: Image.Image) -> Image.Image:
    """16-bit and float images as 8-bit grey, by their own range (Pillow's convert would clip at 255)."""
    values = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)  # a float TIFF may hold any bits
    top = 65535.0 if image.mode.startswith("I;16") else float(values.max(initial=0) or 1.0)
    if image.mode == "F" and top <= 1.0:
        top = 1.0
    return Image.fromarray(np.clip(values * (255.0 / top), 0, 255).astype(np.uint8))


def grey_levels(image: Image.Image) -> np.ndarray:
    """uint8 grey levels (255 = white), transparency flattened onto a contrasting background.

    Very large images are first reduced (antialiased) so the long side is at most
    ``ANALYSIS_SIDE``: a letter never needs more, and the cost stays bounded.
    ``analysis_scale(image, grey)`` maps positions in the result back to the image's pixels.
    """
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        image = _eight_bit(image)
    factor = max(image.size) // ANALYSIS_SIDE
    if factor >= 2:
        image = image.reduce(factor) if image.mode in ("L", "RGB", "RGBA", "LA") else image.convert("RGBA").reduce(factor)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if not has_alpha:
        return np.asarray(image.convert("L"))
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
    alpha = rgba[..., 3]
    luminance = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    opaque = alpha > 0.5
    if not opaque.all() and opaque.any():
        # Strokes drawn on a transparent canvas: put them on a background they contrast with.
        background = 1.0 if luminance[opaque].mean() < 0.5 else 0.0
        luminance = luminance * alpha + background * (1.0 - alpha)
    return np.round(luminance * 255.0).astype(np.uint8)


def to_source_pixels(box: tuple[int, int, int, int] | None, scale: float) -> tuple[int, int, int, int] | None:
    """A box found in the (possibly reduced) analysis frame, in the source image's own pixels."""
    if box is None or scale == 1.0:
        return box
    return tuple(int(round(v * scale)) for v in box)  # type: ignore[return-value]


def decode_grey(source: ImageSource, name: str = "image") -> tuple[np.ndarray, float]:
    """Grey levels for analysis, and the factor from their pixels to the source image's pixels."""
    image = open_image(source, name)
    grey = grey_levels(image)
    return grey, image.info.get(DECODE_SCALE, 1.0) * image.size[0] / grey.shape[1]


def _level_at(histogram_cumsum: np.ndarray, share: float) -> int:
    return int(np.searchsorted(histogram_cumsum, share * histogram_cumsum[-1]))


def ink_lookup(grey: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """A table from grey level (0..255) to ink intensity in [0, 1] (1 = the darkest stroke).

    The background is the median level (most pixels are paper). The ink is the tail that lies
    farther from it: darker than the paper (pen on paper, even paper photographed in dim light,
    whose median is below mid-grey) or lighter (chalk, a white pen on a dark screen).
    """
    histogram = np.bincount(grey.ravel(), minlength=256)
    cumulative = np.cumsum(histogram)
    tail = min(INK_TAIL_SHARE, INK_TAIL_PIXELS / grey.size)
    level = _level_at(cumulative, 0.5)
    darkest, lightest = _level_at(cumulative, tail), _level_at(cumulative, 1.0 - tail)
    dark_ink = level - darkest >= lightest - level
    peak = darkest if dark_ink else lightest
    if abs(peak - level) < MIN_CONTRAST * 255:
        return None, "blank image: no ink stands out from the background"
    ink_of_level = np.clip((np.arange(256, dtype=np.float32) - level) / (peak - level), 0.0, 1.0)
    return ink_of_level, None


def ink_map(grey: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """Ink intensity in [0, 1] for every pixel, or why there is no ink."""
    table, reason = ink_lookup(grey)
    return (None, reason) if table is None else (table[grey], None)


def _count_holes(mask: np.ndarray) -> int:
    """Background regions enclosed by ink: a letter has at most two (B), noise has hundreds."""
    _, regions = ndimage.label(~np.pad(mask, 1), structure=FOUR_CONNECTED)  # padding joins all outside background into one region
    return max(regions - 1, 0)


def _stroke_width(mask: np.ndarray) -> float:
    area = mask.sum()
    perimeter = (mask & ~ndimage.binary_erosion(mask, structure=FOUR_CONNECTED)).sum()
    return float(2.0 * area / max(perimeter, 1))


def _disk(radius: int) -> np.ndarray:
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return x * x + y * y <= radius * radius


def _normalise_stroke(work: np.ndarray) -> np.ndarray:
    """Thicken thin pen strokes (and thin marker strokes) towards EMNIST's stroke width."""
    mask = work > 0.5
    if not mask.any():
        return work
    width = _stroke_width(mask)
    if width < 0.85 * TARGET_STROKE_WIDTH:
        radius = int(round((TARGET_STROKE_WIDTH - width) / 2))
        return ndimage.grey_dilation(work, footprint=_disk(max(radius, 1)))
    if width > 1.3 * TARGET_STROKE_WIDTH:
        radius = int(round((width - TARGET_STROKE_WIDTH) / 2))
        return ndimage.grey_erosion(work, footprint=_disk(max(radius, 1)))
    return work


def _fit_square(ink: np.ndarray) -> np.ndarray:
    """The ink, aspect ratio kept, long side CONTENT_SIZE, centred in WORK_SIZE x WORK_SIZE."""
    height, width = ink.shape
    scale = CONTENT_SIZE / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = np.asarray(Image.fromarray(ink.astype(np.float32), mode="F").resize((new_w, new_h), Image.LANCZOS))
    work = np.zeros((WORK_SIZE, WORK_SIZE), dtype=np.float32)
    top, left = (WORK_SIZE - new_h) // 2, (WORK_SIZE - new_w) // 2
    work[top : top + new_h, left : left + new_w] = np.clip(resized, 0.0, 1.0)
    return work


@lru_cache(maxsize=1)
def _blur_and_shrink_operator() -> np.ndarray:
    """(28, 84) matrix A with A @ work @ A.T == Lanczos-resize(Gaussian-blur(work)) to 28x28.

    Both steps are linear and separable, so they are applied to the unit vectors once (with the
    same SciPy blur and Pillow resize) and then cost two small matrix products per letter:
    ~15x faster than blurring and resizing every image.
    """
    unit = np.eye(WORK_SIZE, dtype=np.float32)
    blur = ndimage.gaussian_filter1d(unit, BLUR_SIGMA, axis=0)  # column j: the blurred unit vector j
    shrink = np.asarray(Image.fromarray(unit, mode="F").resize((IMAGE_SIZE, WORK_SIZE), Image.LANCZOS))  # row i: resized
    return (shrink.T @ blur).astype(np.float32)


def _to_model_size(work: np.ndarray) -> np.ndarray:
    operator = _blur_and_shrink_operator()
    small = np.clip(operator @ work.astype(np.float32) @ operator.T, 0.0, None)
    peak = small.max()
    return np.round(small / peak * 255.0).astype(np.uint8) if peak > 0 else small.astype(np.uint8)


def preprocess_grey(grey: np.ndarray, denoised: bool = False) -> Preprocessed:
    empty = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    table, reason = ink_lookup(grey)
    if table is None:
        return Preprocessed(empty, reason)
    labels, count = ndimage.label((table > INK_THRESHOLD)[grey], structure=EIGHT_CONNECTED)
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    areas[0] = 0
    if not denoised and (areas[1:] <= 2).sum() > max(20, IMPULSE_NOISE_SHARE * grey.size):
        # salt-and-pepper noise (scanner dust, a grainy photo): a 3x3 median removes it
        return preprocess_grey(ndimage.median_filter(grey, size=3), denoised=True)
    largest = areas.max()
    keep = areas >= max(2, 0.02 * largest)  # specks of noise go
    keep[0] = False
    if areas[keep].sum() < MIN_INK_PIXELS:
        return Preprocessed(empty, "blank image: too little ink for a letter")
    pieces = int((areas >= 0.1 * largest).sum())
    if pieces > MAX_PIECES:
        return Preprocessed(empty, f"not a letter: {pieces} separate pieces of ink", pieces)
    kept_slices = [s for s, k in zip(ndimage.find_objects(labels), keep[1:]) if k]
    top, bottom = min(s[0].start for s in kept_slices), max(s[0].stop for s in kept_slices)
    left, right = min(s[1].start for s in kept_slices), max(s[1].stop for s in kept_slices)
    box = (int(left), int(top), int(right), int(bottom))
    crop_labels = labels[top:bottom, left:right]
    crop_mask = keep[crop_labels]
    height, width = crop_mask.shape
    fill = crop_mask.mean()
    if fill > 0.45:  # only dense ink can be a blot or a texture; letters are mostly paper
        holes = _count_holes(crop_mask)
        if holes > MAX_HOLES:
            return Preprocessed(empty, f"not a letter: a texture or noise ({holes} holes in the ink)", pieces, box)
        squarish = min(height, width) >= 0.4 * max(height, width)
        if height * width >= 400 and squarish and fill > SOLID_FILL:
            return Preprocessed(empty, "not a letter: a solid block of ink", pieces, box)
    # keep strokes and their antialiased edges; drop removed specks
    crop = table[grey[top:bottom, left:right]]
    crop[(crop_labels > 0) & ~crop_mask] = 0.0
    return Preprocessed(ink_to_model_input(crop), None, pieces, box)


def ink_to_model_input(crop: np.ndarray) -> np.ndarray:
    """A crop of ink around one letter (1 = ink) -> the model's 28x28 uint8 input.

    Shared by single letters and by the letters cut out of words (``segment``).
    """
    crop = np.clip((crop - BACKGROUND_FLOOR) * (1.0 / (1.0 - BACKGROUND_FLOOR)), 0.0, 1.0)
    return _to_model_size(_normalise_stroke(_fit_square(crop)))


def load_ink(source: ImageSource, name: str = "image") -> tuple[np.ndarray | None, str | None, float]:
    """Decode an image: its ink map (1 = ink, background removed) or why there is none, and the
    factor from the map's pixels to the source image's pixels."""
    grey, scale = decode_grey(source, name)
    ink, reason = ink_map(grey)
    return ink, reason, scale


def preprocess(source: ImageSource, name: str = "image") -> Preprocessed:
    """Any image of one letter -> the model's 28x28 input (or a reason it is not a letter).

    ``box`` is in the source image's pixels.
    """
    grey, scale = decode_grey(source, name)
    result = preprocess_grey(grey)
    result.box = to_source_pixels(result.box, scale)
    return result
