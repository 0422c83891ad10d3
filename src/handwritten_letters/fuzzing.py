"""Hostile inputs for fuzzing the boundaries: image bytes of every accepted format and mode,
mutated (truncated, bit-flipped, with forged headers), and random API requests.

Used by the test suite (a few hundred cases) and ``benchmarks/fuzz.py`` (tens of thousands);
every generator takes a NumPy ``Generator`` so a case is reproducible from its seed.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")
MODES = {  # modes each format can store
    "PNG": ("L", "RGB", "RGBA", "LA", "P", "1", "I;16"),
    "JPEG": ("L", "RGB", "CMYK"),
    "BMP": ("L", "RGB", "1", "P"),
    "GIF": ("L", "P"),
    "WEBP": ("RGB", "RGBA"),
    "TIFF": ("L", "RGB", "RGBA", "CMYK", "I;16", "1", "F"),
}


def _drawing(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    image = Image.new("L", size, int(rng.integers(0, 256)))
    pen = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(0, 6))):
        points = [tuple(int(v) for v in rng.integers(0, max(size), 2)) for _ in range(int(rng.integers(2, 6)))]
        pen.line(points, fill=int(rng.integers(0, 256)), width=int(rng.integers(1, 12)))
    return image


def _in_mode(image: Image.Image, mode: str, rng: np.random.Generator) -> Image.Image:
    if mode == "I;16":
        return Image.fromarray(np.asarray(image, dtype=np.uint16) * int(rng.integers(1, 258)))
    if mode == "F":
        return Image.fromarray(np.asarray(image, dtype=np.float32) * float(rng.choice([1 / 255, 1.0, 1000.0])))
    if mode == "P":
        converted = image.convert("RGB").convert("P", palette=Image.ADAPTIVE, colors=int(rng.integers(2, 64)))
        if rng.random() < 0.5:
            converted.info["transparency"] = int(rng.integers(0, 2))
        return converted
    if mode in ("RGBA", "LA"):
        converted = image.convert(mode)
        alpha = Image.fromarray(rng.choice([0, 128, 255], size=image.size[::-1]).astype(np.uint8))
        converted.putalpha(alpha)
        return converted
    return image.convert(mode)


def forged_header(rng: np.random.Generator) -> bytes:
    """A tiny real PNG whose header claims huge dimensions (a decompression bomb's calling card)."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1), 255).save(buffer, "PNG")
    png = bytearray(buffer.getvalue())
    ihdr = png.index(b"IHDR")
    png[ihdr + 4 : ihdr + 12] = struct.pack(">II", *(int(v) for v in rng.integers(1, 2**31 - 1, 2)))
    png[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(png[ihdr : ihdr + 17])))
    return bytes(png)


def image_bytes(rng: np.random.Generator) -> bytes:
    """A valid image file: any accepted format and mode, 1-300 px a side, sometimes animated,
    sometimes with an EXIF rotation, sometimes a header-only bomb."""
    if rng.random() < 0.05:
        return forged_header(rng)
    fmt = str(rng.choice(FORMATS))
    mode = str(rng.choice(MODES[fmt]))
    size = tuple(int(v) for v in rng.integers(1, 300, 2))
    image = _in_mode(_drawing(rng, size), mode, rng)
    options: dict = {}
    if fmt in ("GIF", "PNG", "WEBP") and mode not in ("I;16", "1") and rng.random() < 0.2:
        frames = [_in_mode(_drawing(rng, size), mode, rng) for _ in range(int(rng.integers(1, 4)))]
        options.update(save_all=True, append_images=frames)
    if fmt == "JPEG" and rng.random() < 0.3:
        exif = Image.Exif()
        exif[0x0112] = int(rng.integers(1, 9))  # orientation
        options["exif"] = exif.tobytes()
    if fmt == "JPEG":
        options["quality"] = int(rng.integers(5, 96))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def mutated(payload: bytes, rng: np.random.Generator) -> bytes:
    """The bytes unchanged, truncated, bit-flipped, spliced with noise, or with a broken header."""
    kind = rng.integers(0, 6)
    if kind == 0 or not payload:
        return payload
    data = bytearray(payload)
    if kind == 1:
        return bytes(data[: int(rng.integers(0, len(data)))])
    if kind == 2:
        for _ in range(int(rng.integers(1, 9))):
            position = int(rng.integers(0, len(data)))
            data[position] ^= 1 << int(rng.integers(0, 8))
        return bytes(data)
    if kind == 3:
        position = int(rng.integers(0, len(data)))
        return bytes(data[:position]) + rng.bytes(int(rng.integers(1, 200))) + bytes(data[position:])
    if kind == 4:
        head = min(len(data), 64)
        data[:head] = bytes(b if rng.random() > 0.1 else int(rng.integers(0, 256)) for b in data[:head])
        return bytes(data)
    return rng.bytes(int(rng.integers(0, 2000)))


def _data_url(payload: bytes, rng: np.random.Generator) -> str:
    encoded = base64.b64encode(payload).decode()
    return str(rng.choice([
        "data:image/png;base64," + encoded, encoded, "data:image/png;base64", "data:image/png," + encoded,
        "data:;base64," + encoded[: len(encoded) // 2], encoded + "!!", "data:image/png;base64,@@@", "",
    ]))


def _top_k_value(rng: np.random.Generator):
    return rng.choice(np.array([3, 1, 26, 0, 27, -5, 99, "abc", "", "3.5", None, [], {}, True, 1e9], dtype=object))


def request_for(rng: np.random.Generator) -> tuple[str, str, dict]:
    """A random request to the API: (method, url, keyword arguments for an HTTP client's request)."""
    route = str(rng.choice(["/api/v1/letters", "/api/v1/words"]))
    query = str(rng.choice(["", "?lexicon=false", "?lexicon=true", "?lexicon=maybe", "?lexicon=", "?x=%ff"]))
    url = route + (query if route.endswith("words") else "")
    kind = rng.integers(0, 6)
    images = [mutated(image_bytes(rng), rng) for _ in range(int(rng.integers(0, 4)))]
    if kind == 0:
        files = [("file", (f"f{i}.{rng.choice(['png', 'jpg', ''])}", img, "image/png")) for i, img in enumerate(images)]
        fields = {"top_k": str(_top_k_value(rng))} if rng.random() < 0.5 else {}
        return "POST", url, {"files": files or None, "data": fields or None}
    if kind in (1, 2):
        body: dict = {}
        if images:
            body["image"] = _data_url(images[0], rng)
        if len(images) > 1 and rng.random() < 0.7:
            body["images"] = [_data_url(img, rng) for img in images[1:]]
        if rng.random() < 0.5:
            body["top_k"] = _top_k_value(rng)
        if rng.random() < 0.2:
            body = rng.choice(np.array([[], "text", 3, None, {"image": 5}, {"images": "x"}], dtype=object))
        return "POST", url, {"content": json.dumps(body), "headers": {"content-type": "application/json"}}
    if kind == 3:
        return "POST", url, {"content": rng.bytes(int(rng.integers(0, 3000))),
                             "headers": {"content-type": str(rng.choice([
                                 "application/json", "multipart/form-data", "multipart/form-data; boundary=x",
                                 "text/plain", "image/png", ""]))}}
    if kind == 4:
        return str(rng.choice(["GET", "PUT", "DELETE"])), url, {}
    return "POST", url, {"content": images[0] if images else b"", "headers": {"content-type": "image/png"}}
