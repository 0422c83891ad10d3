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

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import CorruptImageError, ImageError, ImageTooLargeError, UnsupportedImageError
from ..labels import IMAGE_SIZE

PREPROCESS_VERSION = "1"
ACCEPTED_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")
MAX_SIDE = 4096
ANALYSIS_SIDE = 1024  # a page (or a letter found too small at first) is analysed at this long side at most
# A letter's photo is analysed first at this long side (JPEG decoded at 1/2-1/8 scale by its DCT,
# other formats brought down by area averaging); when the letter is a small part of the frame, its
# box is redone at the resolution it needs: a long side of LETTER_SIDE. Chosen by measurement
# (docs/speed.md): the answers match the full-resolution path's on every set measured.
WORKING_SIDE = 256
LETTER_SIDE = 144  # twice the letter's long side in the working square: more changes no answer

WORK_SIZE = 84  # 3 x 28: strokes are normalised and blurred at this scale
CONTENT_SIZE = 72  # 3 x 24: the letter's long side, as in EMNIST
TARGET_STROKE_WIDTH = 3.9 * 3  # EMNIST's median stroke width (28-px scale) at the working scale
BLUR_SIGMA = 1.0
INK_THRESHOLD = 0.35  # share of the way from background to the darkest ink
MIN_CONTRAST = 0.15
MIN_INK_PIXELS = 12
WORD_WIDTH = 2.0  # ink this many times wider than high, in two or more letter-sized pieces, is several letters
MAX_PIECES = 4  # a letter has at most 2-3 (i, j, broken strokes); more is a scribble or text
SOLID_FILL = 0.85
EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)
CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=np.uint8)  # the four-connected neighbourhood
BACKGROUND_FLOOR = 0.1  # faint leftovers of paper texture and JPEG noise
INK_TAIL_SHARE = 0.0005  # the darkest 0.05% of pixels set the ink level (ignoring a few outliers)...
INK_TAIL_PIXELS = 64  # ...or the darkest 64, if fewer: a small letter on a large photo is a tiny share
IMPULSE_NOISE_SHARE = 0.002  # of all pixels being 1-2 pixel specks: impulse noise

ImageSource = Union[str, Path, bytes, Image.Image, np.ndarray]


@dataclass
class Preprocessed:
    pixels: np.ndarray  # (28, 28) uint8, white ink on black; zeros when rejected
    rejected: str | None = None  # why this is not a letter, or None
    pieces: int = 0  # separate ink components kept
    box: tuple[int, int, int, int] | None = None  # ink bounding box in the source: left, top, right, bottom
    several_letters: bool = False  # two or more letter-sized pieces side by side: a word, not a letter


# --------------------------------------------------------------------------- decoding


# Large decodes at once per process: each holds up to MAX_SIDE^2 pixels (64 MB as RGBA).
LARGE_DECODE_PIXELS = 2048 * 2048
_large_decodes = threading.BoundedSemaphore(2)
ORIENTATION = 0x0112  # the EXIF tag
PNG_END = b"\x00\x00\x00\x00IEND"  # a PNG's last chunk: empty, named IEND
DECODE_SCALE = "handwritten_letters.decode_scale"  # image.info key: source pixels per decoded pixel (JPEG draft)


def read_source(source: ImageSource) -> ImageSource:
    """A path's bytes (other sources as they are), so an image can be decoded twice without reading twice."""
    if isinstance(source, (str, Path)):
        try:
            return Path(source).read_bytes()
        except OSError as exc:
            raise ImageError(f"{source}: cannot read file ({exc.strerror or exc})") from None
    return source


def open_image(source: ImageSource, name: str = "image", draft_side: int = ANALYSIS_SIDE) -> Image.Image:
    """Decode bytes or a file, refusing huge dimensions before the pixels are decoded. A JPEG at
    least twice ``draft_side`` is decoded at the smallest DCT scale (1/2 to 1/8) that keeps it
    ``draft_side`` or more: for almost nothing, where decoding every pixel costs the most.

    Every way an image can fail to decode becomes a typed ``ImageError`` naming ``name``.
    """
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        return Image.fromarray(_as_uint8(source, name))
    if isinstance(source, (str, Path)):
        name = str(source)
        source = read_source(source)
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
    if image.format == "JPEG" and max(width, height) >= 2 * draft_side:
        # grey straight from the decoder (JPEG's luma is the grey every other path computes)
        image.draft("L" if image.mode in ("RGB", "L") else image.mode, (max(1, width * draft_side // max(width, height)),
                                 max(1, height * draft_side // max(width, height))))
        image.info[DECODE_SCALE] = width / image.size[0]
    large = width * height >= LARGE_DECODE_PIXELS
    try:
        if large:
            _large_decodes.acquire()
        if image.format == "PNG" and image.mode == "L" and max(width, height) >= 2 * draft_side \
                and bytes(source[-12:]).startswith(PNG_END):  # a whole file: libpng would print its own errors
            return _grey_png(source, image)
        image.load()
        # only a rotated photo is copied: most images have no orientation to apply
        return ImageOps.exif_transpose(image) if image.getexif().get(ORIENTATION, 1) != 1 else image
    except Exception as exc:  # truncated data, bad EXIF, broken frames: all are the file's fault
        raise CorruptImageError(f"{name}: corrupt or truncated {image.format} image ({type(exc).__name__}: {exc})") from None
    finally:
        if large:
            _large_decodes.release()


def _grey_png(data: bytes, header: Image.Image) -> Image.Image:
    """A large 8-bit grey PNG (a scan) decoded by OpenCV's libpng, 1.7x faster than Pillow's
    decoder here; lossless, so the same pixels."""
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION)
    if pixels is None or pixels.shape != (header.size[1], header.size[0]):
        header.load()  # let Pillow decode it, and name what is wrong with it
        return header
    image = Image.fromarray(pixels)
    image.format = "PNG"
    return image


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
    # a float TIFF may hold any bits
    values = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    top = 65535.0 if image.mode.startswith("I;16") else float(values.max(initial=0) or 1.0)
    if image.mode == "F" and top <= 1.0:
        top = 1.0
    return Image.fromarray(np.clip(values * (255.0 / top), 0, 255).astype(np.uint8))


def grey_levels(image: Image.Image, side: int = ANALYSIS_SIDE) -> np.ndarray:
    """uint8 grey levels (255 = white), transparency flattened onto a contrasting background.

    Large images are first reduced by an integer factor (averaging each block of pixels) to a
    long side below twice ``side``: the answer never needs more, and the cost stays bounded.
    """
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        image = _eight_bit(image)
    factor = max(image.size) // side
    if factor >= 2:
        image = image.reduce(factor) if image.mode in ("L", "RGB", "RGBA", "LA") else image.convert("RGBA").reduce(factor)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if not has_alpha:
        return np.asarray(image if image.mode == "L" else image.convert("L"))
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


def decode_grey(source: ImageSource, name: str = "image", side: int = ANALYSIS_SIDE) -> tuple[np.ndarray, float]:
    """Grey levels for analysis (long side below twice ``side``), and the factor from their pixels
    to the source image's pixels."""
    image = open_image(source, name, draft_side=side)
    return _grey_and_scale(image, side)


def _grey_and_scale(image: Image.Image, side: int) -> tuple[np.ndarray, float]:
    grey = grey_levels(image, side)
    return grey, image.info.get(DECODE_SCALE, 1.0) * image.size[0] / grey.shape[1]


_LEVELS = np.arange(256, dtype=np.float32)


def ink_lookup(grey: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """A table from grey level (0..255) to ink intensity in [0, 1] (1 = the darkest stroke).

    The background is the median level (most pixels are paper). The ink is the tail that lies
    farther from it: darker than the paper (pen on paper, even paper photographed in dim light,
    whose median is below mid-grey) or lighter (chalk, a white pen on a dark screen).
    """
    histogram = cv2.calcHist([np.ascontiguousarray(grey)], [0], None, [256], [0, 256]).ravel()
    cumulative = np.cumsum(histogram, dtype=np.int64)
    tail = min(INK_TAIL_SHARE, INK_TAIL_PIXELS / grey.size)
    # the median and both tails' levels in one search of the cumulative histogram
    level, darkest, lightest = np.searchsorted(cumulative, np.array([0.5, tail, 1.0 - tail]) * cumulative[-1]).tolist()
    dark_ink = level - darkest >= lightest - level
    peak = darkest if dark_ink else lightest
    if abs(peak - level) < MIN_CONTRAST * 255:
        return None, "blank image: no ink stands out from the background"
    ink_of_level = np.clip((_LEVELS - level) / (peak - level), 0.0, 1.0)
    return ink_of_level, None


def ink_map(grey: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """Ink intensity in [0, 1] for every pixel, or why there is no ink."""
    table, reason = ink_lookup(grey)
    return (None, reason) if table is None else (table[grey], None)


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary drawing: twice its area over its outline's length."""
    ink = np.ascontiguousarray(mask, dtype=np.uint8)
    area = cv2.countNonZero(ink)
    # outside the image counts as paper, so ink at the border is outline (as ndimage.binary_erosion)
    inner = cv2.erode(ink, CROSS, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return float(2.0 * area / max(area - cv2.countNonZero(inner), 1))


@lru_cache(maxsize=16)
def disk(radius: int) -> np.ndarray:
    """A round pen's footprint, ``radius`` pixels either side of its centre (uint8, read-only: shared)."""
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    footprint = (x * x + y * y <= radius * radius).astype(np.uint8)
    footprint.flags.writeable = False
    return footprint


def _grey_dilation(image: np.ndarray, radius: int) -> np.ndarray:
    """Max over a disk (as ndimage.grey_dilation with a disk footprint: the border never adds ink)."""
    return cv2.dilate(image, disk(radius), borderType=cv2.BORDER_REPLICATE)


def _grey_erosion(image: np.ndarray, radius: int) -> np.ndarray:
    return cv2.erode(image, disk(radius), borderType=cv2.BORDER_REPLICATE)


def _normalise_stroke(work: np.ndarray) -> np.ndarray:
    """Thicken thin pen strokes (and thin marker strokes) towards EMNIST's stroke width."""
    mask = work > 0.5
    if not mask.any():
        return work
    width = _stroke_width(mask)
    if width < 0.85 * TARGET_STROKE_WIDTH:
        radius = int(round((TARGET_STROKE_WIDTH - width) / 2))
        return _grey_dilation(work, max(radius, 1))
    if width > 1.3 * TARGET_STROKE_WIDTH:
        radius = int(round((width - TARGET_STROKE_WIDTH) / 2))
        return _grey_erosion(work, max(radius, 1))
    return work


@lru_cache(maxsize=1024)  # a word's letter groups come in many sizes; 256 was cycled through
def _lanczos(size: int, new_size: int) -> np.ndarray:
    """(new_size, size) matrix R with R @ v == Pillow's Lanczos resize of v (a column) to new_size.

    Pillow's resize is linear and separable: resizing the identity once gives the operator, and
    a crop is then resized by two small matrix products, ~5x faster than Pillow on a float image.
    """
    unit = np.eye(size, dtype=np.float32)
    return np.asarray(Image.fromarray(unit, mode="F").resize((size, new_size), Image.LANCZOS))


def _fit_square(ink: np.ndarray) -> np.ndarray:
    """The ink, aspect ratio kept, long side CONTENT_SIZE, centred in WORK_SIZE x WORK_SIZE."""
    height, width = ink.shape
    scale = CONTENT_SIZE / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = _lanczos(height, new_h) @ ink.astype(np.float32, copy=False) @ _lanczos(width, new_w).T
    work = np.zeros((WORK_SIZE, WORK_SIZE), dtype=np.float32)
    top, left = (WORK_SIZE - new_h) // 2, (WORK_SIZE - new_w) // 2
    np.clip(resized, 0.0, 1.0, out=work[top : top + new_h, left : left + new_w])
    return work


def gaussian_blur_matrix(size: int, sigma: float) -> np.ndarray:
    """(size, size) matrix B with B @ v == a 1-D Gaussian blur of v, borders mirrored (d c b a | a b c d),
    the kernel truncated at 4 sigma: what SciPy's ``gaussian_filter1d`` does, without importing SciPy
    when serving (30 MB and 0.2 s a worker)."""
    radius = int(4.0 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    weights /= weights.sum()
    matrix = np.zeros((size, size))
    for i in range(size):
        for offset, weight in zip(offsets, weights):
            j = i + offset
            j = -j - 1 if j < 0 else (2 * size - j - 1 if j >= size else j)
            matrix[i, j] += weight
    return matrix


@lru_cache(maxsize=1)
def _blur_and_shrink_operator() -> np.ndarray:
    """(28, 84) matrix A with A @ work @ A.T == Lanczos-resize(Gaussian-blur(work)) to 28x28.

    Both steps are linear and separable, so they are applied to the unit vectors once (with the
    same SciPy blur and Pillow resize) and then cost two small matrix products per letter:
    ~15x faster than blurring and resizing every image.
    """
    unit = np.eye(WORK_SIZE, dtype=np.float32)
    blur = gaussian_blur_matrix(WORK_SIZE, BLUR_SIGMA) @ unit  # column j: the blurred unit vector j
    # row i: resized
    shrink = np.asarray(Image.fromarray(unit, mode="F").resize((IMAGE_SIZE, WORK_SIZE), Image.LANCZOS))
    return (shrink.T @ blur).astype(np.float32)


def _to_model_size(work: np.ndarray) -> np.ndarray:
    operator = _blur_and_shrink_operator()
    small = operator @ work.astype(np.float32, copy=False) @ operator.T
    np.maximum(small, 0.0, out=small)
    peak = small.max()
    if peak > 0:  # in place: the same arithmetic as round(small / peak * 255), without temporaries
        np.rint(np.multiply(np.divide(small, peak, out=small), 255.0, out=small), out=small)
    return small.astype(np.uint8)


def preprocess_grey(grey: np.ndarray, denoised: bool = False) -> Preprocessed:
    empty = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    table, reason = ink_lookup(grey)
    if table is None:
        return Preprocessed(empty, reason)
    ink = cv2.LUT(np.ascontiguousarray(grey), (table > INK_THRESHOLD).astype(np.uint8))
    # labels alone (OpenCV's WithStats variant costs more than the labelling on small images)
    count, labels = cv2.connectedComponents(ink, connectivity=8)
    keep = None  # which labels to keep; None: every piece
    if count <= 2:  # one piece of ink, the usual letter (or none): no count per label needed
        pieces, ink_pixels = 1, cv2.countNonZero(ink)
        if ink_pixels < MIN_INK_PIXELS:
            return Preprocessed(empty, "blank image: too little ink for a letter")
    else:
        areas = np.bincount(labels.ravel(), minlength=count)
        areas[0] = 0
        if not denoised and (areas[1:] <= 2).sum() > max(20, IMPULSE_NOISE_SHARE * grey.size):
            # salt-and-pepper noise (scanner dust, a grainy photo): a 3x3 median removes it
            return preprocess_grey(cv2.medianBlur(np.ascontiguousarray(grey), 3), denoised=True)
        largest = areas.max()
        keep = areas >= max(2, 0.02 * largest)  # specks of noise go
        keep[0] = False
        ink_pixels = int(areas[keep].sum())
        if ink_pixels < MIN_INK_PIXELS:
            return Preprocessed(empty, "blank image: too little ink for a letter")
        pieces = int((areas >= 0.1 * largest).sum())
        if keep[1:].all():
            keep = None
    left, top, width, height = cv2.boundingRect(ink if keep is None else keep[labels].view(np.uint8))
    right, bottom = left + width, top + height
    box = (left, top, right, bottom)
    several = pieces >= 2 and width >= WORD_WIDTH * height and _tall_pieces(ink, areas, height) >= 2
    if pieces > MAX_PIECES or several:
        return Preprocessed(empty, f"not a letter: {pieces} separate pieces of ink", pieces, box, several)
    crop_labels = labels[top:bottom, left:right]
    fill = ink_pixels / (width * height)  # every kept ink pixel lies in the box
    # textures and blots are judged by the network's features (letter_check.py): counting holes refused
    # speckled letters with pin holes in their ink; only a solid block is certain enough to refuse here
    if fill > 0.45:
        squarish = min(height, width) >= 0.4 * max(height, width)
        if height * width >= 400 and squarish and fill > SOLID_FILL:
            return Preprocessed(empty, "not a letter: a solid block of ink", pieces, box)
    # keep strokes and their antialiased edges; drop removed specks
    # the background floor is applied to the 256 levels, not to every pixel
    crop = cv2.LUT(grey[top:bottom, left:right], _above_background_floor(table).reshape(1, 256))
    if keep is not None:
        crop[(crop_labels > 0) & ~keep[crop_labels]] = 0.0
    return Preprocessed(_to_model_size(_normalise_stroke(_fit_square(crop))), None, pieces, box)


def _tall_pieces(ink: np.ndarray, areas: np.ndarray, height: int) -> int:
    """Pieces of ink (of the ones kept as pieces) at least half as tall as all the ink: letters, not dots."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    big = areas[1:] >= 0.1 * areas.max()
    return int((stats[1:, cv2.CC_STAT_HEIGHT][big] >= 0.5 * height).sum())


def ink_to_model_input(crop: np.ndarray) -> np.ndarray:
    """A crop of ink around one letter (1 = ink) -> the model's 28x28 uint8 input.

    Shared by single letters and by the letters cut out of words (``segment``).
    """
    return _to_model_size(_normalise_stroke(_fit_square(_above_background_floor(crop))))


def _above_background_floor(ink: np.ndarray) -> np.ndarray:
    return np.clip((ink - BACKGROUND_FLOOR) * (1.0 / (1.0 - BACKGROUND_FLOOR)), 0.0, 1.0)


def load_ink(source: ImageSource, name: str = "image") -> tuple[np.ndarray | None, str | None, float]:
    """Decode an image: its ink map (1 = ink, background removed) or why there is none, and the
    factor from the map's pixels to the source image's pixels."""
    grey, scale = decode_grey(source, name)
    ink, reason = ink_map(grey)
    return ink, reason, scale


def preprocess(source: ImageSource, name: str = "image") -> Preprocessed:
    """Any image of one letter -> the model's 28x28 input (or a reason it is not a letter).

    A large image is read at WORKING_SIDE first; a letter that is a small part of it is then
    redone from its box at the resolution it needs, and an image with no letter found that way
    is read again at ANALYSIS_SIDE (a tiny letter on a large page). ``box`` is in the source
    image's pixels.
    """
    source = read_source(source)
    image = open_image(source, name, draft_side=WORKING_SIDE)
    grey, scale = _grey_and_scale(image, WORKING_SIDE)
    result = _letter_in(grey, scale)
    if scale == 1.0:
        return result
    if result.rejected is not None:
        return result if result.rejected.startswith("not a letter") else _letter_in(*decode_grey(source, name))
    letter_side = max(result.box[2] - result.box[0], result.box[3] - result.box[1])
    if letter_side / scale >= LETTER_SIDE:
        return result
    return _redone(source, name, image, result) or result


def _letter_in(grey: np.ndarray, scale: float) -> Preprocessed:
    """The letter in these grey levels, its box in the source's pixels (``scale`` of them a grey pixel)."""
    result = preprocess_grey(grey)
    result.box = to_source_pixels(result.box, scale)
    return result


def _redone(source: ImageSource, name: str, image: Image.Image, found: Preprocessed) -> Preprocessed | None:
    """The letter found in ``found.box`` (source pixels) read again from its neighbourhood in the
    source, reduced only so its long side stays at least LETTER_SIDE; None if that finds no letter."""
    decoded = image.info.get(DECODE_SCALE, 1.0)
    full_size = (round(image.size[0] * decoded), round(image.size[1] * decoded))
    left, top, right, bottom = found.box
    letter_side = max(right - left, bottom - top)
    margin = max(4, letter_side // 4)
    region = (max(0, left - margin), max(0, top - margin), min(full_size[0], right + margin),
              min(full_size[1], bottom + margin))
    reduction = max(1, letter_side // LETTER_SIDE)
    # a JPEG decoded so small that the letter has fewer pixels than the working square gives it: decode
    # it again (a second decode costs more than the letter gains between CONTENT_SIZE and LETTER_SIDE);
    # anything else was decoded whole, so its pixels are all here already
    if decoded > 1.0 and letter_side / decoded < CONTENT_SIZE:
        image = open_image(source, name, draft_side=max(full_size) // reduction)
        decoded = image.info.get(DECODE_SCALE, 1.0)
    crop = image.crop(tuple(int(v / decoded) for v in region))
    crop.info[DECODE_SCALE] = decoded
    result = _letter_in(*_grey_and_scale(crop, max(1, max(crop.size) // max(1, round(reduction / decoded)))))
    if result.rejected is not None:
        return None
    box = result.box
    result.box = (box[0] + region[0], box[1] + region[1], box[2] + region[0], box[3] + region[1])
    return result


# --------------------------------------------------------------------------- lines (CTC reader)

LINE_HEIGHT = 32  # the line model's input height
LINE_TEXT_HEIGHT = 26  # the line's ink spans this many rows, centred
LINE_MARGIN = 4  # empty columns either side
LINE_WIDTH_MULTIPLE = 4  # the model's horizontal stride divides the width
LINE_STROKE_WIDTH = 3.2  # EMNIST's stroke width (3.9 px on a 24-px letter) at LINE_TEXT_HEIGHT


@dataclass
class LineInput:
    """A line ready for the line model, and where its pixels came from."""

    pixels: np.ndarray  # float32 (LINE_HEIGHT, W), 0..255, white ink on black
    left: float  # source x of the ink box's left edge
    top: float  # source y of the ink box's top edge
    scale: float  # model pixels per source pixel

    def source_x(self, x: float) -> float:
        return self.left + (x - LINE_MARGIN) / self.scale


def prepare_line(ink: np.ndarray) -> LineInput | None:
    """An ink map of one line of handwriting (1 = ink) -> the line model's input, or None when
    there is no ink.

    The same function makes the training lines and reads the user's, so both look alike: the
    ink's box scaled to LINE_TEXT_HEIGHT rows (aspect kept), strokes brought to EMNIST's width
    (a thin pen is thickened before it would fade in the resize), centred with a margin.
    """
    mask = ink > INK_THRESHOLD
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
    scale = LINE_TEXT_HEIGHT / crop.shape[0]
    left, top = float(cols[0]), float(rows[0])
    stroke = _stroke_width(mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]) * scale
    if stroke < 0.75 * LINE_STROKE_WIDTH:
        radius = max(1, int(round((LINE_STROKE_WIDTH - stroke) / (2 * scale))))
        crop = _grey_dilation(np.pad(crop, radius), radius)
        left, top = left - radius, top - radius
    new_h, new_w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    resized = np.asarray(Image.fromarray(crop, mode="F").resize((new_w, new_h), Image.BILINEAR, reducing_gap=2.0))
    width = -(-(new_w + 2 * LINE_MARGIN) // LINE_WIDTH_MULTIPLE) * LINE_WIDTH_MULTIPLE
    line = np.zeros((LINE_HEIGHT, width), dtype=np.float32)
    offset = max(0, (LINE_HEIGHT - new_h) // 2)
    line[offset : offset + new_h, LINE_MARGIN : LINE_MARGIN + new_w] = np.clip(resized[: LINE_HEIGHT - offset], 0.0, 1.0)
    peak = line.max()
    if peak <= 0:
        return None
    return LineInput(line * (255.0 / peak), left, top, new_w / crop.shape[1])
