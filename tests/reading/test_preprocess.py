"""One preprocessing path: the same letter, however it is drawn or stored, gives the same 28x28."""

import io
import re

import numpy as np
import pytest
from helpers import huge_png
from PIL import Image, ImageDraw

from handwritten_letters.errors import ImageError
from handwritten_letters.reading.preprocess import MAX_SIDE, preprocess

# a handwritten-looking "k": strokes in a 100x100 box
STROKES = [((30, 10), (30, 90)), ((30, 60), (72, 30)), ((42, 52), (75, 90))]


def draw_letter(size=(200, 200), offset=(50, 50), scale=1.0, width=9, ink=0, paper=255, mode="L"):
    image = Image.new(mode, size, paper)
    pen = ImageDraw.Draw(image)
    for (x0, y0), (x1, y1) in STROKES:
        points = [(offset[0] + x0 * scale, offset[1] + y0 * scale), (offset[0] + x1 * scale, offset[1] + y1 * scale)]
        pen.line(points, fill=ink, width=max(1, round(width * scale)))
    return image


def encode(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def reference():
    result = preprocess(draw_letter())
    assert result.rejected is None
    return result.pixels.astype(float)


def difference(pixels, reference):
    return np.abs(pixels.astype(float) - reference).mean()


def test_output_is_28x28_uint8_white_ink_on_black_filling_24_pixels(reference):
    assert reference.shape == (28, 28) and reference.max() == 255
    assert reference[0].max() < 40 and reference[:, 0].max() < 40  # the EMNIST border stays dark
    rows = np.flatnonzero(reference.max(axis=1) > 60)
    assert 22 <= rows[-1] - rows[0] + 1 <= 26  # long side spans ~24 px, as in EMNIST


def test_light_ink_on_dark_paper_gives_the_same_input(reference):
    assert difference(preprocess(draw_letter(ink=255, paper=0)).pixels, reference) == 0


@pytest.mark.parametrize("offset", [(0, 0), (95, 5), (10, 100)])
def test_position_on_the_page_does_not_matter(reference, offset):
    assert difference(preprocess(draw_letter(offset=offset)).pixels, reference) < 2


@pytest.mark.parametrize("scale", [0.5, 2.5])
def test_size_does_not_matter(reference, scale):
    canvas = (int(200 * scale) + 20, int(200 * scale) + 20)
    assert difference(preprocess(draw_letter(size=canvas, offset=(10, 10), scale=scale)).pixels, reference) < 6


@pytest.mark.parametrize("width", [2, 4, 16])
def test_pen_width_is_normalised_towards_emnist_strokes(reference, width):
    assert difference(preprocess(draw_letter(width=width)).pixels, reference) < 14


def test_wide_padding_does_not_matter(reference):
    padded = Image.new("L", (1200, 900), 255)
    padded.paste(draw_letter(), (700, 500))
    assert difference(preprocess(padded).pixels, reference) < 2


def test_blur_and_shrink_by_matrix_matches_blurring_and_resizing_the_image():
    from scipy import ndimage

    from handwritten_letters.reading import preprocess as module

    rng = np.random.default_rng(4)
    for _ in range(20):
        work = np.zeros((module.WORK_SIZE, module.WORK_SIZE), np.float32)
        top, left = rng.integers(0, 30, 2)
        work[top : top + 50, left : left + 50] = rng.random((50, 50)) > 0.6
        blurred = ndimage.gaussian_filter(work, module.BLUR_SIGMA)
        expected = np.asarray(Image.fromarray(blurred, mode="F").resize((28, 28), Image.LANCZOS))
        expected = np.round(np.clip(expected, 0, None) / np.clip(expected, 0, None).max() * 255)
        assert np.abs(module._to_model_size(work).astype(float) - expected).max() <= 1


def test_a_small_letter_in_a_corner_of_a_large_photo_is_found(reference):
    # ~500 ink pixels among 1.08 million: far below the share of pixels that sets the ink level on
    # small images, which once called such photos blank
    photo = Image.new("L", (1200, 900), 255)
    photo.paste(draw_letter(size=(70, 70), offset=(5, 5), scale=0.6), (30, 30))
    result = preprocess(encode(photo, "JPEG", quality=90))
    assert result.rejected is None
    assert difference(result.pixels, reference) < 10


def test_a_few_dark_specks_on_a_large_page_are_not_a_letter():
    page = np.full((900, 1200), 255, np.uint8)
    page[np.random.default_rng(2).integers(0, 900, 20), np.random.default_rng(3).integers(0, 1200, 20)] = 0
    assert preprocess(page).rejected is not None


def test_transparent_canvas_strokes_are_flattened_onto_paper(reference):
    dark = draw_letter(mode="RGBA", ink=(0, 0, 0, 255), paper=(0, 0, 0, 0))
    light = draw_letter(mode="RGBA", ink=(255, 255, 255, 255), paper=(255, 255, 255, 0))
    assert difference(preprocess(dark).pixels, reference) < 2
    assert difference(preprocess(light).pixels, reference) < 2


@pytest.mark.parametrize("fmt, options", [("PNG", {}), ("JPEG", {"quality": 60}), ("BMP", {}), ("GIF", {}),
                                          ("WEBP", {"lossless": True}), ("TIFF", {})])
def test_every_accepted_format_decodes_to_the_same_letter(reference, fmt, options):
    image = draw_letter(mode="RGB", ink=(20, 30, 160), paper=(250, 248, 240))
    assert difference(preprocess(encode(image, fmt, **options)).pixels, reference) < 5


@pytest.mark.parametrize("mode", ["1", "P", "LA", "RGB"])
def test_image_modes(reference, mode):
    assert difference(preprocess(draw_letter().convert(mode)).pixels, reference) < 8


def test_exif_orientation_is_applied(reference):
    stored = draw_letter().transpose(Image.Transpose.ROTATE_90)  # camera held sideways...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...and the file says "rotate 90 clockwise to view"
    assert difference(preprocess(encode(stored, "JPEG", exif=exif, quality=95)).pixels, reference) < 5


def test_numpy_arrays_and_files_are_accepted(reference, tmp_path):
    assert difference(preprocess(np.asarray(draw_letter())).pixels, reference) == 0
    draw_letter().save(tmp_path / "k.png")
    assert difference(preprocess(tmp_path / "k.png").pixels, reference) == 0


# ----------------------------------------------------------------------------- not a letter


def speckled(n_blobs, seed=0, size=200):
    rng = np.random.default_rng(seed)
    image = Image.new("L", (size, size), 255)
    pen = ImageDraw.Draw(image)
    for x, y in rng.integers(10, size - 10, size=(n_blobs, 2)):
        pen.ellipse((x - 4, y - 4, x + 4, y + 4), fill=0)
    return image


@pytest.mark.parametrize(
    "image, reason",
    [
        (Image.new("L", (100, 100), 255), "blank image"),
        (Image.new("RGB", (100, 100), (90, 120, 40)), "blank image"),
        (Image.new("RGBA", (100, 100), (0, 0, 0, 0)), "blank image"),
        (Image.fromarray(np.where(np.arange(100 * 100).reshape(100, 100) == 5050, 0, 255).astype(np.uint8)),
         "blank image|too little ink"),
        (Image.fromarray(np.random.default_rng(1).integers(0, 256, (120, 120), dtype=np.uint8)), "pieces|noise"),
        (speckled(25), "separate pieces"),
        (Image.fromarray(np.pad(np.zeros((60, 60), np.uint8), 30, constant_values=255)), "solid block"),
    ],
    ids=["white", "flat colour", "transparent", "one dot", "noise", "scattered blobs", "solid square"],
)
def test_images_that_are_not_a_letter_are_rejected_with_a_reason(image, reason):
    result = preprocess(image)
    assert result.rejected is not None and re.search(reason, result.rejected), result.rejected


def test_dotted_letters_are_not_rejected_as_pieces():
    image = draw_letter()
    ImageDraw.Draw(image).ellipse((120, 40, 134, 54), fill=0)  # an i-dot-like extra piece
    assert preprocess(image).rejected is None


def test_a_thick_vertical_bar_is_a_letter_not_a_blot():
    bar = Image.fromarray(np.pad(np.zeros((120, 22), np.uint8), 40, constant_values=255))  # an "l"
    assert preprocess(bar).rejected is None


# ----------------------------------------------------------------------------- bad files


def test_truncated_png_is_a_clear_error():
    data = encode(draw_letter(), "PNG")
    with pytest.raises(ImageError, match="corrupt or truncated PNG"):
        preprocess(data[: len(data) // 2], name="half.png")


@pytest.mark.parametrize("payload", [b"", b"GIF89a-not-really", b"\x00" * 100, b"%PDF-1.4 ..."])
def test_non_images_are_refused_by_content(payload):
    with pytest.raises(ImageError, match="upload.bin: (empty file|not an image)"):
        preprocess(payload, name="upload.bin")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ImageError, match="nope.png: cannot read file"):
        preprocess(tmp_path / "nope.png")


@pytest.mark.parametrize("width, height", [(MAX_SIDE + 1, 10), (50_000, 50_000)])
def test_huge_dimensions_are_refused_before_decoding(width, height):
    with pytest.raises(ImageError, match=f"{width}x{height} pixels; at most {MAX_SIDE}x{MAX_SIDE}|too large"):
        preprocess(huge_png(width, height), name="bomb.png")


def test_salt_and_pepper_noise_is_removed(reference):
    pixels = np.asarray(draw_letter()).copy()
    noise = np.random.default_rng(3).random(pixels.shape)
    pixels[noise < 0.02], pixels[noise > 0.98] = 0, 255
    result = preprocess(Image.fromarray(pixels))
    assert result.rejected is None and difference(result.pixels, reference) < 8


def photo_of_a_letter(frame, letter_side, at, fmt):
    """The reference letter drawn ``letter_side`` px tall at ``at`` on a large grainy photo."""
    rng = np.random.default_rng(0)
    paper = np.clip(rng.normal(205, 4, (frame[1], frame[0])), 0, 255).astype(np.uint8)
    photo = Image.fromarray(paper)
    letter = draw_letter(size=(letter_side, letter_side), offset=(0, 0), scale=letter_side / 100, paper=205)
    photo.paste(letter, at)
    return encode(photo.convert("RGB"), fmt, **({"quality": 90} if fmt == "JPEG" else {})), letter


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("letter_side, at", [(1500, (900, 300)), (150, (2600, 1900))])
def test_a_large_photo_reads_as_the_letter_drawn_alone_with_its_box_in_the_photos_pixels(reference, fmt,
                                                                                        letter_side, at):
    """A letter filling most of a 12 MP photo, or a small part of it: the same 28x28 as the letter
    drawn alone, and its box where it was drawn (in the photo's own pixels)."""
    image, letter = photo_of_a_letter((4000, 3000), letter_side, at, fmt)
    result = preprocess(image)
    assert result.rejected is None
    assert difference(result.pixels, reference) < 10
    alone = preprocess(letter).box  # the ink's box in the letter's own image
    expected = (at[0] + alone[0], at[1] + alone[1], at[0] + alone[2], at[1] + alone[3])
    assert np.abs(np.subtract(result.box, expected)).max() <= max(4, letter_side // 50)


def test_a_large_grey_scan_decodes_to_the_same_pixels_by_either_decoder():
    from handwritten_letters.reading import preprocess as module

    scan = np.asarray(draw_letter(size=(1200, 900), offset=(300, 200), scale=5.0))
    image = module.open_image(encode(Image.fromarray(scan), "PNG"), draft_side=256)
    assert image.format == "PNG" and np.array_equal(np.asarray(image), scan)
    truncated = encode(Image.fromarray(scan), "PNG")[:-2000]
    with pytest.raises(ImageError, match="truncated"):
        module.open_image(truncated, draft_side=256)
