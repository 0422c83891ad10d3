"""Digital ink: pen strokes in the order they were written, validated once at the boundary, and
drawn as a picture in one place (the readers, the page's tests and the benchmarks all draw it so).

Two formats, one meaning:

- JSON ``{"strokes": [[[x, y, t], ...], ...], "width": W, "height": H}``: x, y in pixels with y
  downward, t in milliseconds (optional, per point: ``[x, y]`` is a point without a time);
  ``width``/``height`` of the writing area (optional).
- W3C InkML: ``<trace>`` elements of comma-separated points whose channels are X Y or X Y T
  (from a ``<traceFormat>`` when there is one; other channels, such as F for force, are read past).

Every error names the stroke and point and what was expected (``InkError``, an ``ImageError``:
the CLI and the API treat bad ink as they treat a bad picture).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import ImageError

MAX_STROKES = 2_000
MAX_POINTS = 200_000  # all strokes together
MAX_COORDINATE = 100_000.0  # pixels either way; a writing area is far smaller
MAX_TIME = 1e15  # ms: room for clocks that count from 1970
MAX_INK_BYTES = 8 * 1024 * 1024
INK_SUFFIXES = (".json", ".inkml")
RENDER_LONG_SIDE = 1600  # ink is drawn at most this large (its own pixels when smaller)
DEFAULT_PEN = 6.0  # the picture's pen, in the ink's own pixels (the page draws with 6)


class InkError(ImageError):
    """Ink that cannot be read: the message names the stroke and point and what was expected."""


@dataclass(frozen=True)
class Ink:
    """Strokes in writing order, each an (n, 3) float array of x, y, t (t is NaN where not given)."""

    strokes: tuple[np.ndarray, ...]
    width: float | None = None
    height: float | None = None

    @property
    def has_time(self) -> bool:
        return all(not np.isnan(stroke[:, 2]).any() for stroke in self.strokes)

    def without_time(self) -> "Ink":
        return Ink(tuple(np.column_stack([s[:, :2], np.full(len(s), np.nan)]) for s in self.strokes),
                   self.width, self.height)


# ----------------------------------------------------------------------------- reading


def _number(value, where: str, what: str, limit: float = MAX_COORDINATE) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InkError(f"{where}: {what} must be a number, got {type(value).__name__} {str(value)[:40]!r}")
    if not math.isfinite(value):
        raise InkError(f"{where}: {what} must be a finite number, got {value}")
    if abs(value) > limit:
        raise InkError(f"{where}: {what} {value} is out of range (at most {limit:g} either way)")
    return float(value)


def _area(value, name: str, field: str) -> float | None:
    if value is None:
        return None
    size = _number(value, name, field)
    if size <= 0:
        raise InkError(f"{name}: {field} must be positive, got {value:g}")
    return size


def _non_empty(strokes: list[np.ndarray], name: str) -> list[np.ndarray]:
    """The strokes, or an error when there are none (the parsers bound strokes and points as they read)."""
    if not strokes:
        raise InkError(f"{name}: no strokes (expected at least one stroke of at least one point)")
    return strokes


def ink_from_json(data, name: str = "ink") -> Ink:
    """Ink from the JSON format (already parsed, or bytes/str to parse)."""
    if isinstance(data, (bytes, bytearray, str)):
        if len(data) > MAX_INK_BYTES:
            raise InkError(f"{name}: {len(data)} bytes; ink of at most {MAX_INK_BYTES // 1024 // 1024} MB is read")
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise InkError(f"{name}: not JSON ({str(exc)[:80]})") from None
    if not isinstance(data, dict) or "strokes" not in data:
        raise InkError(f'{name}: expected a JSON object {{"strokes": [[[x, y, t], ...], ...], "width": W, '
                       f'"height": H}}')
    raw = data["strokes"]
    if not isinstance(raw, list):
        raise InkError(f"{name}: strokes must be a list of strokes, got {type(raw).__name__}")
    if len(raw) > MAX_STROKES:
        raise InkError(f"{name}: {len(raw)} strokes; at most {MAX_STROKES} are read")
    strokes, total = [], 0
    for s, stroke in enumerate(raw):
        if not isinstance(stroke, list) or not stroke:
            raise InkError(f"{name}: stroke {s} must be a non-empty list of points [x, y] or [x, y, t]")
        total += len(stroke)
        if total > MAX_POINTS:
            raise InkError(f"{name}: more than {MAX_POINTS} points; at most {MAX_POINTS} are read")
        points = np.empty((len(stroke), 3))
        for p, point in enumerate(stroke):
            where = f"{name}: stroke {s}, point {p}"
            if not isinstance(point, list) or len(point) not in (2, 3):
                raise InkError(f"{where}: expected [x, y] or [x, y, t], got {json.dumps(point)[:40]}")
            points[p, 0] = _number(point[0], where, "x")
            points[p, 1] = _number(point[1], where, "y")
            points[p, 2] = _number(point[2], where, "t", MAX_TIME) if len(point) == 3 else np.nan
        strokes.append(points)
    return Ink(tuple(_non_empty(strokes, name)), _area(data.get("width"), name, "width"),
               _area(data.get("height"), name, "height"))


def ink_from_inkml(data: bytes | str, name: str = "ink") -> Ink:
    """Ink from W3C InkML: each ``<trace>`` a stroke; X and Y channels (and T when present)."""
    import xml.etree.ElementTree as ElementTree

    if len(data) > MAX_INK_BYTES:
        raise InkError(f"{name}: {len(data)} bytes; ink of at most {MAX_INK_BYTES // 1024 // 1024} MB is read")
    if isinstance(data, (bytes, bytearray)) and b"<!DOCTYPE" in data[:2000].upper():
        raise InkError(f"{name}: InkML with a DOCTYPE is not read (entities could expand without bound)")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise InkError(f"{name}: not well-formed XML ({exc})") from None
    local = lambda tag: tag.rsplit("}", 1)[-1]  # noqa: E731  (namespaces vary: InkML's, or none)
    if local(root.tag) != "ink":
        raise InkError(f"{name}: expected an InkML document (root <ink>), got <{local(root.tag)}>")
    channels = ["X", "Y"]
    for element in root.iter():
        if local(element.tag) == "traceFormat":
            channels = [c.get("name", "").upper() for c in element if local(c.tag) == "channel"]
            break
    if "X" not in channels or "Y" not in channels:
        raise InkError(f"{name}: the trace format's channels are {' '.join(channels) or 'none'}; X and Y are needed")
    x, y = channels.index("X"), channels.index("Y")
    t = channels.index("T") if "T" in channels else None
    strokes, total = [], 0
    for s, trace in enumerate(e for e in root.iter() if local(e.tag) == "trace"):
        text = (trace.text or "").strip()
        if not text:
            raise InkError(f"{name}: trace {s} has no points")
        points = []
        for p, point in enumerate(text.split(",")):
            total += 1
            if total > MAX_POINTS:
                raise InkError(f"{name}: more than {MAX_POINTS} points; at most {MAX_POINTS} are read")
            values = point.split()
            where = f"{name}: trace {s}, point {p}"
            if len(values) < len(channels):
                raise InkError(f"{where}: {len(values)} values for the {len(channels)} channels "
                               f"{' '.join(channels)}")
            try:
                numbers = [float(v) for v in values[: len(channels)]]
            except ValueError:
                raise InkError(f"{where}: expected numbers for {' '.join(channels)}, got {point.strip()[:40]!r}") \
                    from None
            points.append((_number(numbers[x], where, "X"), _number(numbers[y], where, "Y"),
                           _number(numbers[t], where, "T", MAX_TIME) if t is not None else np.nan))
        strokes.append(np.array(points, dtype=float))
        if len(strokes) > MAX_STROKES:
            raise InkError(f"{name}: more than {MAX_STROKES} traces; at most {MAX_STROKES} are read")
    return Ink(tuple(_non_empty(strokes, name)))


def looks_like_inkml(data: bytes) -> bool:
    head = data[:512].lstrip().lower()
    return head.startswith(b"<?xml") or head.startswith(b"<ink")


def read_ink_file(path: str | Path) -> Ink:
    """Ink from a .json or .inkml file."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_INK_BYTES:
            raise InkError(f"{path}: {path.stat().st_size} bytes; ink of at most "
                           f"{MAX_INK_BYTES // 1024 // 1024} MB is read")
        data = path.read_bytes()
    except OSError as exc:
        raise InkError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if path.suffix.lower() == ".inkml" or looks_like_inkml(data):
        return ink_from_inkml(data, str(path))
    return ink_from_json(data, str(path))


def is_ink_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in INK_SUFFIXES


def ink_to_inkml(ink: Ink) -> str:
    """The same strokes as InkML (X Y, and T when every point has a time)."""
    timed = ink.has_time
    channels = '<channel name="X" type="decimal"/><channel name="Y" type="decimal"/>' + (
        '<channel name="T" type="decimal" units="ms"/>' if timed else "")
    traces = []
    for stroke in ink.strokes:
        columns = stroke if timed else stroke[:, :2]
        traces.append("<trace>" + ", ".join(" ".join(f"{v:g}" for v in point) for point in columns) + "</trace>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<ink xmlns="http://www.w3.org/2003/InkML">'
            f"<traceFormat>{channels}</traceFormat>" + "".join(traces) + "</ink>\n")


# ----------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class Drawn:
    """Ink drawn as a picture (white paper, black pen) and how its points map onto it."""

    pixels: np.ndarray  # uint8 (H, W)
    scale: float  # picture pixels per ink pixel
    origin: tuple[float, float]  # the ink point drawn at the picture's (0, 0)


def draw_strokes(strokes, pen: float = DEFAULT_PEN, margin: float | None = None,
                 long_side: int = RENDER_LONG_SIDE) -> Drawn:
    """The strokes drawn with a round pen of ``pen`` ink pixels on white paper, cropped to the ink
    with a margin, at most ``long_side`` pixels long (scaled down, never up)."""
    strokes = [np.asarray(s, dtype=float) for s in strokes]
    points = np.concatenate([s[:, :2] for s in strokes])
    margin = pen * 2 if margin is None else margin
    left, top = points.min(axis=0) - margin
    right, bottom = points.max(axis=0) + margin
    scale = min(1.0, long_side / max(right - left, bottom - top, 1.0))
    width, height = max(1, int(math.ceil((right - left) * scale))), max(1, int(math.ceil((bottom - top) * scale)))
    picture = np.full((height, width), 255, dtype=np.uint8)
    paint_strokes(picture, [(stroke[:, :2] - (left, top)) * scale for stroke in strokes],
                  max(1, int(round(pen * scale))), 0)
    return Drawn(picture, scale, (float(left), float(top)))


def paint_strokes(picture: np.ndarray, paths: list[np.ndarray], thickness: int, colour: int) -> None:
    """Paths (points in the picture's pixels, x then y) drawn onto ``picture`` with a round pen
    ``thickness`` pixels wide, anti-aliased; a path of one point is a dot."""
    shift = 4  # sub-pixel precision for OpenCV's drawing
    for path in paths:
        xy = np.round(path * (1 << shift)).astype(np.int32)
        if len(xy) == 1 or np.all(xy == xy[0]):
            cv2.circle(picture, tuple(int(v) for v in xy[0]), max(1, thickness // 2) << shift, colour, -1,
                       cv2.LINE_AA, shift)
        else:
            cv2.polylines(picture, [xy.reshape(-1, 1, 2)], False, colour, thickness, cv2.LINE_AA, shift)


def pen_for(ink: Ink) -> float:
    """A pen in proportion to the writing: a tenth of a typical stroke's height, 2 to 12 ink pixels
    (the page's 6 px pen on its usual letter size)."""
    heights = [float(np.ptp(s[:, 1])) for s in ink.strokes if len(s) > 1]
    typical = float(np.median(heights)) if heights else DEFAULT_PEN * 10
    return float(np.clip(typical / 6.0, 2.0, 12.0))
