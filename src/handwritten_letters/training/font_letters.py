"""Letters in handwriting fonts, both cases, varied the way pens and hands vary, for training.

Each font is one person's hand (see the font folder's README). A glyph is rendered once per
font file with Pillow's FreeType (it reads WOFF2 directly) and cached as an ink bitmap; every
epoch then draws fresh renderings from the cache cheaply: pen width (a mouse's thin line to a
marker), slant, rotation, aspect, elastic wobble, broken strokes and size. Every rendering goes
through ``preprocess_grey`` exactly as a drawing on the page does (one stem for training and
serving), so the model sees font letters as it will see people's.

Some fonts are held out of training as a dev set for hands the model never saw (``HELD_OUT``);
``training_fonts`` never returns them.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import DataFormatError
from ..labels import CLASS_NAMES
from ..reading.ink import paint_strokes
from ..reading.preprocess import disk, preprocess_grey
from .data import CASE_LOWER, CASE_UPPER, Dataset

FONTS_ENV = "LETTERS_FONTS"  # where the handwriting fonts are, when not given
# Held out of training, a dev set for hands the model never saw: three joined (cursive) hands, one of
# them a formal script with ornate capitals (great-vibes), two thin-pen and three broad-pen print hands.
# All eight were unseen by letters-cnn 4 too, so a run continued from it is measured fairly.
HELD_OUT = ("cedarville-cursive", "marck-script", "great-vibes", "indie-flower", "kalam", "patrick-hand",
            "gloria-hallelujah", "sriracha")
JOINED = frozenset({
    "bad-script", "cedarville-cursive", "dancing-script", "freehand", "grand-hotel", "marck-script", "oooh-baby",
    "rochester", "sacramento", "satisfy", "yellowtail", "alex-brush", "allura", "birthstone", "cookie", "corinthia",
    "courgette", "ephesis", "great-vibes", "kaushan-script", "lobster-two", "monsieur-la-doulaise", "montecarlo",
    "mr-de-haviland", "pacifico", "parisienne", "pinyon-script", "smooch", "tangerine", "twinkle-star", "vibur",
    "whisper",
})
# Single-line stroke fonts: a pen's path for every letter rather than a filled outline, drawn here
# with round pens of three widths as a font's weights. Hershey's script hands come from the
# Hershey-Fonts package (MIT; the simplex and complex cuts are two tracings of one formal script;
# its "cursive" is the same paths again); the EMS hands are SVG fonts in the hersheytext npm package (MIT
# code, OFL fonts): Allure, a copperplate script, and Felix, a calligraphic italic with joined
# capitals. Named by a recipe to train on; never held out, never in fonts.csv.
class StrokeHand(NamedTuple):
    source: str  # "hershey": a font of the Hershey-Fonts package; "svg": an SVG font in the stroke-font folder
    font: str


STROKE_HANDS = {
    "hershey-script": StrokeHand("hershey", "scripts"),
    "hershey-script-complex": StrokeHand("hershey", "scriptc"),
    "ems-allure": StrokeHand("svg", "EMSAllure.svg"),
    "ems-felix": StrokeHand("svg", "EMSFelix.svg"),
}
STROKE_PENS = (0.03, 0.05, 0.07)  # pen widths, shares of RENDER_SIZE
STROKE_FONTS_ENV = "LETTERS_STROKE_FONTS"  # the hersheytext package's svg_fonts folder, when not in node_modules
JOINED = JOINED | frozenset(STROKE_HANDS)
CHARACTERS = "".join(CLASS_NAMES) + "".join(CLASS_NAMES).upper()
RENDER_SIZE = 96  # font size in pixels for the cached glyphs (a letter's body ~40-90 px)


@dataclass(frozen=True)
class Glyph:
    font: str
    character: str
    inks: tuple[np.ndarray, ...]  # one per weight of the font: (H, W) uint8, 255 = ink, cropped to the ink


def default_font_dir() -> Path | None:
    """The handwriting fonts: $LETTERS_FONTS, else a ``data/handwriting-fonts`` folder beside the project."""
    if os.environ.get(FONTS_ENV):
        return Path(os.environ[FONTS_ENV])
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "handwriting-fonts"
        if candidate.is_dir():
            return candidate
    return None


def font_files(font_dir: str | Path) -> dict[str, list[Path]]:
    """Every font's files by name, as the folder's fonts.csv lists them."""
    font_dir = Path(font_dir)
    index = font_dir / "fonts.csv"
    if not index.exists():
        raise DataFormatError(f"{font_dir}: not a handwriting-fonts folder (no fonts.csv)")
    files: dict[str, list[Path]] = {}
    with open(index, newline="") as f:
        for row in csv.DictReader(f):
            files.setdefault(row["font"], []).append(font_dir / row["file"])
    return files


def files_of(font_dir: str | Path, fonts: list[str] | tuple[str, ...]) -> dict[str, list[Path]]:
    """The named fonts' files; a name fonts.csv does not list is an error that names it."""
    files = font_files(font_dir)
    unknown = [name for name in fonts if name not in files]
    if unknown:
        raise DataFormatError(f"{font_dir}: no font named {', '.join(unknown)} in fonts.csv")
    return {name: files[name] for name in fonts}


def training_fonts(font_dir: str | Path) -> list[str]:
    return sorted(name for name in font_files(font_dir) if name not in HELD_OUT)


def text_ink(font: ImageFont.FreeTypeFont, text: str) -> np.ndarray | None:
    """``text`` in ``font`` as ink (H, W) uint8, 255 = ink, cropped to its ink; None if it has none."""
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new("L", (right - left + 8, bottom - top + 8), 0)
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), text, font=font, fill=255)
    return cropped_to_ink(np.asarray(canvas))


def cropped_to_ink(ink: np.ndarray) -> np.ndarray | None:
    """Ink (255 = ink) without its empty border rows and columns; None if there is no ink."""
    rows, cols = np.flatnonzero(ink.max(axis=1) > 64), np.flatnonzero(ink.max(axis=0) > 64)
    if not len(rows):
        return None
    return np.ascontiguousarray(ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])


def _render(path: Path, character: str) -> np.ndarray | None:
    font = ImageFont.truetype(str(path), RENDER_SIZE)
    left, top, right, bottom = font.getbbox(character)
    if right - left < 2 or bottom - top < 2:
        return None
    return text_ink(font, character)


def stroke_font_dir() -> Path:
    """The hersheytext package's SVG fonts: $LETTERS_STROKE_FONTS, else ``node_modules/hersheytext/svg_fonts``
    in the working folder or beside the project (``npm install hersheytext``)."""
    if os.environ.get(STROKE_FONTS_ENV):
        return Path(os.environ[STROKE_FONTS_ENV])
    for parent in [Path.cwd(), *Path(__file__).resolve().parents]:
        candidate = parent / "node_modules" / "hersheytext" / "svg_fonts"
        if candidate.is_dir():
            return candidate
    return Path.cwd() / "node_modules" / "hersheytext" / "svg_fonts"


def _hershey_paths(hand: str) -> dict[str, list[np.ndarray]]:
    try:
        from HersheyFonts import HersheyFonts
    except ImportError as error:
        raise DataFormatError(f"{hand}: a stroke hand needs the Hershey-Fonts package "
                              f"(pip install 'handwritten-letters[train]')") from error
    font = HersheyFonts()
    font.load_default_font(STROKE_HANDS[hand].font)
    scale = 0.7 * RENDER_SIZE / (font.render_options["base_line"] - font.render_options["cap_line"])
    return {character: [np.asarray(stroke, dtype=np.float64) * scale for stroke in font.strokes_for_text(character)]
            for character in CHARACTERS}


def svg_font_paths(path: Path, cap_height: float) -> dict[str, list[np.ndarray]]:
    """Every letter of a single-line SVG font as pen paths (x, y down), scaled so its capitals stand
    ``cap_height`` tall; curves followed in steps of about a hundredth of the capitals' height."""
    try:
        from svg.path import Move, parse_path
    except ImportError as error:
        raise DataFormatError(f"{path}: an SVG stroke hand needs the svg.path package "
                              f"(pip install 'handwritten-letters[train]')") from error
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as error:
        raise DataFormatError(f"{path}: not a readable SVG font ({error})") from error
    namespace = "{http://www.w3.org/2000/svg}"
    face = root.find(f".//{namespace}font-face")
    if face is None or not face.get("cap-height"):
        raise DataFormatError(f"{path}: an SVG font needs a <font-face> with its cap-height")
    units = float(face.get("cap-height"))
    scale = cap_height / units
    paths = {}
    for glyph in root.iter(f"{namespace}glyph"):
        character, outline = glyph.get("unicode"), glyph.get("d")
        if character not in CHARACTERS or not outline:
            continue
        strokes: list[list[complex]] = []
        for segment in parse_path(outline):
            if isinstance(segment, Move):
                strokes.append([segment.end])
                continue
            steps = max(1, int(np.ceil(segment.length() / (units / 100))))
            strokes[-1].extend(segment.point(t) for t in np.linspace(0.0, 1.0, steps + 1)[1:])
        paths[character] = [np.array([[p.real, -p.imag] for p in stroke]) * scale for stroke in strokes if len(stroke) > 1]
    return paths


def _stroke_hand_inks(hand: str) -> dict[str, tuple[np.ndarray, ...]]:
    """Every letter of a stroke hand drawn with each of STROKE_PENS, cap height about 0.7 RENDER_SIZE."""
    if STROKE_HANDS[hand].source == "hershey":
        paths = _hershey_paths(hand)
    else:
        folder = stroke_font_dir()
        if not (folder / STROKE_HANDS[hand].font).is_file():
            raise DataFormatError(f"{hand}: no {STROKE_HANDS[hand].font} in {folder}; the EMS hands are the "
                                  f"hersheytext package's SVG fonts: `npm install hersheytext` in the project "
                                  f"folder, or set {STROKE_FONTS_ENV} to its svg_fonts folder")
        paths = svg_font_paths(folder / STROKE_HANDS[hand].font, 0.7 * RENDER_SIZE)
    inks = {}
    for character, strokes in paths.items():
        if not strokes:
            continue
        low = np.min([s.min(axis=0) for s in strokes], axis=0)
        high = np.max([s.max(axis=0) for s in strokes], axis=0)
        drawn = []
        for share in STROKE_PENS:
            pen = max(1, round(share * RENDER_SIZE))
            canvas = np.zeros((int(high[1] - low[1]) + 2 * pen + 4, int(high[0] - low[0]) + 2 * pen + 4), np.uint8)
            paint_strokes(canvas, [s - low + pen + 2 for s in strokes], pen, 255)
            drawn.append(cropped_to_ink(canvas))
        inks[character] = tuple(ink for ink in drawn if ink is not None)
    return inks


@lru_cache(maxsize=8)
def glyphs(font_dir: str, fonts: tuple[str, ...]) -> tuple[Glyph, ...]:
    """Every letter of the named fonts (and stroke hands, ``STROKE_HANDS``) in each of their
    weights, rendered once."""
    files = files_of(font_dir, [name for name in fonts if name not in STROKE_HANDS])
    made = []
    for name in fonts:
        if name in STROKE_HANDS:
            made.extend(Glyph(name, character, inks) for character, inks in _stroke_hand_inks(name).items() if inks)
            continue
        for character in CHARACTERS:
            inks = tuple(ink for ink in (_render(path, character) for path in files[name]) if ink is not None)
            if inks:
                made.append(Glyph(name, character, inks))
    return tuple(made)


# ----------------------------------------------------------------------------- variation


@dataclass(frozen=True)
class Variation:
    """How far each variation goes (either way where it has a sign)."""

    height: tuple[int, int] = (28, 110)  # the letter's drawn height in pixels (a small pen box to a photo)
    pen: tuple[float, float] = (-0.6, 1.0)  # pen width change, share of the font's own stroke half-width
    centre_line: float = 0.25  # share drawn as their centre line with a thin pen (mouse, stylus)
    slant: float = 0.35  # horizontal shear
    rotation: float = 8.0  # degrees
    aspect: float = 0.25  # height/width change
    wobble: float = 1.2  # elastic displacement, pixels at the drawn size
    broken: float = 0.15  # share of renderings with a short gap cut into a stroke
    # a smooth warp of the whole letter, share of its drawn height (a hand's own way of shaping a
    # letter, where wobble is a pen's tremor)
    warp: float = 0.0
    whole_line: bool = False  # a line of letters: ``height`` is the line's, however wide it is


# the variations by name, each as the Variation settings that switch it off
VARIATIONS = {
    "pen": {"pen": (0.0, 0.0), "centre_line": 0.0},
    "geometry": {"slant": 0.0, "rotation": 0.0, "aspect": 0.0},
    "wobble": {"wobble": 0.0},
    "broken": {"broken": 0.0},
}
# variations off unless a recipe names them, each as the settings that switch it on
OPTIONAL_VARIATIONS = {"warp": {"warp": 0.07}}


def variation_with(names: tuple[str, ...] | list[str]) -> Variation:
    """The default variation with only the named kinds of variation on (size and position always vary)."""
    known = [*VARIATIONS, *OPTIONAL_VARIATIONS]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"unknown font variation {', '.join(unknown)}; known: {', '.join(known)}")
    off = {key: value for name, settings in VARIATIONS.items() if name not in names for key, value in settings.items()}
    on = {key: value for name, settings in OPTIONAL_VARIATIONS.items() if name in names
          for key, value in settings.items()}
    return replace(Variation(), **off, **on)


def centre_line(ink: np.ndarray) -> np.ndarray:
    """Ink's strokes (255 = ink) as one-pixel centre lines, for redrawing with another pen."""
    from skimage.morphology import skeletonize

    return skeletonize(ink > 127).astype(np.uint8) * 255


def _stroke_half_width(ink: np.ndarray) -> float:
    mask = ink > 127
    distance = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    return float(np.percentile(distance[mask], 90)) if mask.any() else 1.0


def _pen(ink: np.ndarray, rng: np.random.Generator, variation: Variation) -> np.ndarray:
    if rng.random() < variation.centre_line:
        line = centre_line(ink)
        radius = int(rng.integers(0, 3))
        return cv2.dilate(line, disk(radius)) if radius else line
    change = rng.uniform(*variation.pen) * _stroke_half_width(ink)
    radius = int(round(abs(change)))
    if radius == 0:
        return ink
    thinner = cv2.erode(ink, disk(radius))
    if change < 0:
        return thinner if (thinner > 127).sum() > 0.3 * (ink > 127).sum() else ink
    return cv2.dilate(ink, disk(radius))


def _geometry(ink: np.ndarray, rng: np.random.Generator, variation: Variation) -> np.ndarray:
    """Scale to the drawn height, then slant, rotate and stretch in one affine warp, on a margin."""
    height = rng.uniform(*variation.height)
    tall = variation.whole_line or ink.shape[0] > 0.5 * ink.shape[1]
    scale = height / ink.shape[0] if tall else height / max(ink.shape) * 1.2
    stretch = np.exp(rng.uniform(-1, 1) * np.log1p(variation.aspect))
    sx, sy = scale / np.sqrt(stretch), scale * np.sqrt(stretch)
    angle = np.radians(rng.uniform(-variation.rotation, variation.rotation))
    shear = rng.uniform(-variation.slant, variation.slant)
    cos, sin = np.cos(angle), np.sin(angle)
    linear = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, -shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    h, w = ink.shape
    corners = linear @ np.array([[0, w, 0, w], [0, 0, h, h]], dtype=np.float64)
    margin = 6 + int(0.3 * height)  # paper around the letter: the ink must not outweigh it
    offset = -corners.min(axis=1) + margin
    size = (int(np.ceil(corners[0].max() - corners[0].min())) + 2 * margin,
            int(np.ceil(corners[1].max() - corners[1].min())) + 2 * margin)
    matrix = np.hstack([linear, offset[:, None]]).astype(np.float32)
    return cv2.warpAffine(ink, matrix, size, flags=cv2.INTER_LINEAR, borderValue=0)


def _wobble(ink: np.ndarray, rng: np.random.Generator, variation: Variation) -> np.ndarray:
    h, w = ink.shape
    coarse = rng.normal(0.0, variation.wobble, (2, 4, 4)).astype(np.float32)
    field_x = cv2.resize(coarse[0], (w, h), interpolation=cv2.INTER_CUBIC)
    field_y = cv2.resize(coarse[1], (w, h), interpolation=cv2.INTER_CUBIC)
    if variation.warp:  # drawn only when on, so recipes without it keep their random stream
        rows = np.flatnonzero((ink > 127).any(axis=1))
        extent = float(rows[-1] - rows[0] + 1) if rows.size else float(h)
        bends = rng.normal(0.0, variation.warp * extent, (2, 3, 3)).astype(np.float32)
        field_x += cv2.resize(bends[0], (w, h), interpolation=cv2.INTER_CUBIC)
        field_y += cv2.resize(bends[1], (w, h), interpolation=cv2.INTER_CUBIC)
    grid_y, grid_x = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(ink, grid_x + field_x, grid_y + field_y, cv2.INTER_LINEAR, borderValue=0)


def _break_stroke(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ys, xs = np.nonzero(ink > 127)
    if not len(ys):
        return ink
    at = int(rng.integers(len(ys)))
    radius = max(1, int(0.04 * max(ink.shape)))
    broken = ink.copy()
    cv2.circle(broken, (int(xs[at]), int(ys[at])), radius, 0, -1)
    return broken


def vary(ink: np.ndarray, rng: np.random.Generator, variation: Variation = Variation()) -> np.ndarray:
    """One rendering of a cached glyph as a person might draw it: black ink on white paper."""
    drawn = _geometry(ink, rng, variation)
    drawn = _pen(drawn, rng, variation)
    drawn = _wobble(drawn, rng, variation)
    if rng.random() < variation.broken:
        drawn = _break_stroke(drawn, rng)
    return 255 - drawn


def model_input(ink: np.ndarray, rng: np.random.Generator, variation: Variation = Variation()) -> np.ndarray | None:
    """A varied rendering through the serving preprocessing: the model's 28x28, or None if refused."""
    for _ in range(3):  # a broken stroke can leave too many pieces; draw again
        result = preprocess_grey(vary(ink, rng, variation))
        if result.rejected is None:
            return result.pixels
    return None


def renderings_of(glyph: Glyph, per_glyph: int, joined_per_glyph: int | None = None,
                  joined_capital_per_glyph: int | None = None, stroke_per_glyph: int | None = None) -> int:
    """How many renderings a glyph gets: ``joined_per_glyph`` for a joined hand's, when given,
    ``joined_capital_per_glyph`` for a joined hand's capital, when given, and ``stroke_per_glyph``
    for a stroke hand's, when given."""
    if stroke_per_glyph is not None and glyph.font in STROKE_HANDS:
        return stroke_per_glyph
    if glyph.font not in JOINED:
        return per_glyph
    if joined_capital_per_glyph is not None and glyph.character.isupper():
        return joined_capital_per_glyph
    return joined_per_glyph if joined_per_glyph is not None else per_glyph


def letters(font_dir: str | Path, fonts: list[str] | tuple[str, ...], per_glyph: int, seed: int,
            variation: Variation = Variation(), joined_per_glyph: int | None = None,
            joined_capital_per_glyph: int | None = None, stroke_per_glyph: int | None = None) -> Dataset:
    """``per_glyph`` fresh renderings of every letter of the named fonts (``joined_per_glyph`` of a
    joined hand's, ``joined_capital_per_glyph`` of its capitals and ``stroke_per_glyph`` of a stroke
    hand's, when given; each in a weight of
    the font drawn at random, so a font with many weights counts as one hand), with case labels."""
    rng = np.random.default_rng(seed)
    images, labels, cases = [], [], []
    for glyph in glyphs(str(font_dir), tuple(fonts)):
        for _ in range(renderings_of(glyph, per_glyph, joined_per_glyph, joined_capital_per_glyph, stroke_per_glyph)):
            pixels = model_input(glyph.inks[int(rng.integers(len(glyph.inks)))], rng, variation)
            if pixels is None:
                continue
            images.append(pixels)
            labels.append(CLASS_NAMES.index(glyph.character.lower()))
            cases.append(CASE_UPPER if glyph.character.isupper() else CASE_LOWER)
    return Dataset(np.stack(images), np.array(labels, dtype=np.int64), np.array(cases, dtype=np.int8))


def write_renderings(out_dir: str | Path, font_dir: str | Path, fonts: list[str] | tuple[str, ...], per_glyph: int,
                     seed: int, variation: Variation = Variation()) -> Path:
    """``per_glyph`` renderings of every letter of the named fonts as PNG drawings (black ink on
    white, as a page or a scan gives them) in ``out_dir/FONT/{lower,upper}-LETTER-K.png``, and
    ``out_dir/labels.csv`` (filename, font, joined, letter, case): letters to read through the
    file path, as a person's would be."""
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    rows = []
    for glyph in glyphs(str(font_dir), tuple(fonts)):
        case = "upper" if glyph.character.isupper() else "lower"
        (out_dir / glyph.font).mkdir(parents=True, exist_ok=True)
        for k in range(per_glyph):
            name = f"{glyph.font}/{case}-{glyph.character.lower()}-{k}.png"
            page = vary(glyph.inks[int(rng.integers(len(glyph.inks)))], rng, variation)
            Image.fromarray(page).save(out_dir / name)
            rows.append({"filename": name, "font": glyph.font, "joined": glyph.font in JOINED,
                         "letter": glyph.character.lower(), "case": case})
    with open(out_dir / "labels.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out_dir / "labels.csv"
