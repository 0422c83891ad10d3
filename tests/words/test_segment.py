"""Words and lines: segmentation on generated images with known boxes, decoding, CLI and API."""

import io
import subprocess
import sys

import numpy as np
import pytest
from helpers import SHARED_TRAIN_RECORDS, needs_shared_data
from PIL import Image, ImageDraw
from rapidfuzz.distance import Levenshtein

from handwritten_letters.errors import ImageError
from handwritten_letters.reading.recognize import Recognizer
from handwritten_letters.words.lexicon import Lexicon
from handwritten_letters.words.page import find_lines
from handwritten_letters.words.segment import _blobs, _cut_points, _double_bar_seams, read_text


@pytest.fixture(scope="module")
def recognizer():
    return Recognizer.default()


def shapes_image(boxes, size=(400, 140), width=7):
    """Ellipses (letter-like closed strokes) in the given boxes, black on white."""
    image = Image.new("L", size, 255)
    pen = ImageDraw.Draw(image)
    for box in boxes:
        pen.ellipse(box, outline=0, width=width)
    return image


def test_lines_come_from_the_horizontal_projection_and_dots_join_their_line():
    mask = np.zeros((200, 100), bool)
    mask[20:60, 10:90] = True  # line 1
    mask[8:13, 40:45] = True  # an i-dot above it, separated by blank rows
    mask[120:170, 10:90] = True  # line 2
    assert find_lines(mask) == [(8, 60), (120, 170)]


def test_an_i_dot_and_its_stem_are_one_blob():
    from scipy import ndimage

    mask = np.zeros((60, 80), bool)
    mask[25:55, 10:16] = True  # stem
    mask[12:18, 10:16] = True  # dot
    mask[25:55, 40:60] = True  # the next letter
    labels, _ = ndimage.label(mask)
    blobs = _blobs(labels, ndimage.find_objects(labels), [1, 2, 3])
    assert [len(b) for b in blobs] == [2, 1]


def test_touching_letters_get_a_cut_candidate_at_the_thin_join():
    profile = np.array([0, 20, 22, 21, 23, 20, 3, 2, 3, 19, 22, 20, 21, 22, 0])
    cuts = _cut_points(profile, line_height=20)
    assert len(cuts) == 1 and 6 <= cuts[0] <= 8


def test_two_ascender_bars_drawn_touching_are_parted_at_their_seam_and_a_stem_drawn_twice_is_not():
    line_height = 50  # an x-height letter's blob, 43 px tall, times 1.15
    two_bars = np.zeros((75, 14), dtype=bool)
    two_bars[:, 0:6] = two_bars[2:, 7:13] = True
    two_bars[40:44, 6] = True  # the pens touch at one point
    assert _double_bar_seams(two_bars, two_bars.sum(axis=0), line_height) == [6]
    stem_twice = np.zeros((75, 14), dtype=bool)
    stem_twice[:, 0:6] = stem_twice[:, 7:13] = True
    stem_twice[10:70, 6] = True  # down and up again, the strokes all but merged
    assert _double_bar_seams(stem_twice, stem_twice.sum(axis=0), line_height) == []
    short = two_bars[:45]  # two x-height strokes (the arms of a `w`) are not ascender bars
    assert _double_bar_seams(short, short.sum(axis=0), line_height) == []


def test_separate_letters_get_their_own_boxes(recognizer):
    boxes = [(20, 30, 90, 110), (130, 30, 200, 110), (240, 30, 310, 110)]
    reading = read_text(shapes_image(boxes), recognizer, lexicon=None)
    letters = [l for line in reading.lines for w in line.words for l in w.letters]
    assert len(reading.lines) == 1 and len(letters) == 3
    for letter, (left, top, right, bottom) in zip(letters, boxes):
        assert abs(letter.box[0] - left) <= 5 and abs(letter.box[2] - right) <= 5
        assert abs(letter.box[1] - top) <= 5 and abs(letter.box[3] - bottom) <= 5


def test_a_wide_gap_separates_words_and_a_second_line_is_found(recognizer):
    image = shapes_image([(20, 20, 80, 90), (100, 20, 160, 90), (300, 20, 360, 90),
                          (20, 160, 80, 230)], size=(400, 260))
    reading = read_text(image, recognizer, lexicon=None)
    assert [len(line.words) for line in reading.lines] == [2, 1]
    assert len(reading.text.split("\n")) == 2


def test_empty_image_reads_nothing_with_a_reason(recognizer):
    reading = read_text(Image.new("L", (300, 100), 255), recognizer)
    assert reading.text == "" and reading.lines == [] and "blank" in reading.reason


def test_specks_are_dropped_not_read_as_letters(recognizer):
    image = shapes_image([(20, 30, 90, 110)])
    pen = ImageDraw.Draw(image)
    for x in (150, 230, 330):
        pen.point((x, 70), fill=0)
    letters = [l for line in read_text(image, recognizer).lines for w in line.words for l in w.letters]
    assert len(letters) == 1


def test_corrupt_file_is_an_image_error(recognizer):
    with pytest.raises(ImageError, match="word.png"):
        read_text(b"\x89PNG\r\n\x1a\n broken", recognizer, name="word.png")


def test_lexicon_rereads_a_near_miss_and_keeps_the_raw_reading():
    lexicon = Lexicon(["cab", "cat", "dog"])
    log_p = np.log(np.full((3, 26), 0.01))
    for i, (best, second) in enumerate([("c", "e"), ("a", "o"), ("l", "t")]):  # raw "cal", true "cat"
        log_p[i, ord(best) - 97] = np.log(0.6)
        log_p[i, ord(second) - 97] = np.log(0.3)
    word, score = lexicon.best(log_p)
    assert word == "cat" and score == pytest.approx(np.log(0.6) * 2 + np.log(0.3))
    assert lexicon.best(log_p[:2]) is None  # no two-letter words


def compose_word(word, gap, rng):
    from handwritten_letters.training import data

    training = data.read_file(SHARED_TRAIN_RECORDS)  # training letters: never the evaluation files
    tiles = []
    for ch in word:
        choices = np.flatnonzero(training.labels == ord(ch) - 97)
        image = training.images[rng.choice(choices)]
        cols = np.flatnonzero(image.max(axis=0) > 30)
        tiles.append(image[:, cols[0] : cols[-1] + 1])
    strip = np.zeros((48, sum(t.shape[1] for t in tiles) + gap * (len(tiles) - 1) + 20), np.uint8)
    x = 10
    for tile in tiles:
        strip[10:38, x : x + tile.shape[1]] = np.maximum(strip[10:38, x : x + tile.shape[1]], tile)
        x += tile.shape[1] + gap
    return Image.fromarray(255 - strip).resize((strip.shape[1] * 3, 144), Image.BICUBIC)


@needs_shared_data
def test_composed_words_with_clear_gaps_are_read(recognizer):
    rng = np.random.default_rng(5)
    words = ["quick", "brown", "jumps", "machine", "python", "reading", "world", "simple"]
    raw_errors = lexicon_errors = total = 0
    lexicon = Lexicon.english()
    for word in words:
        reading = read_text(compose_word(word, 6, rng), recognizer, lexicon=lexicon)
        raw_errors += Levenshtein.distance(reading.raw_text, word)
        lexicon_errors += Levenshtein.distance(reading.text, word)
        total += len(word)
    assert raw_errors / total < 0.2  # single letters alone are ~93% right: errors here are l/i, g/q...
    assert lexicon_errors <= raw_errors


def png_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_cli_read_text_and_json(tmp_path):
    path = tmp_path / "shapes.png"
    shapes_image([(20, 30, 90, 110), (130, 30, 200, 110)]).save(path)
    result = subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "read", "--reader", "segment", "--no-lexicon",
                             str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and len(result.stdout.strip()) == 2, result.stderr
    result = subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "read", "--reader", "segment", "--format", "json",
                             "--no-lexicon", str(path), str(tmp_path / "missing.png")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "missing.png" in result.stderr
    import json

    parsed = json.loads(result.stdout)
    assert len(parsed[0]["lines"][0]["words"][0]["letters"]) == 2 and "error" in parsed[1]


def test_api_words_returns_text_and_boxes():
    from fastapi.testclient import TestClient

    from handwritten_letters.server.app import create_app
    from handwritten_letters.server.settings import ServeSettings

    # the cut-and-classify reader: two separate ellipses are two letters of one word
    with TestClient(create_app(settings=ServeSettings(reader="segment"))) as client:
        image = png_bytes(shapes_image([(20, 30, 90, 110), (130, 30, 200, 110)]))
        body = client.post("/api/v1/words?lexicon=false", files={"file": ("w.png", image, "image/png")}).json()
        letters = body["lines"][0]["words"][0]["letters"]
        assert len(body["text"]) == 2 and len(letters) == 2
        assert all(len(l["box"]) == 4 and l["top_k"] for l in letters)
        assert client.post("/api/v1/words", files={"file": ("w.png", b"junk", "image/png")}).status_code == 415


def test_the_english_list_knows_everyday_inflections_and_their_frequencies():
    english = Lexicon.english()
    for word in ("rocks", "dogs", "walked", "letters", "words", "tested", "notes", "apples"):
        assert word in english, word
    assert english.frequency("tested") > english.frequency("testes") > 0


def test_a_listed_word_is_never_replaced_by_a_rarer_one_nor_a_sure_reading_at_all():
    english = Lexicon.english()
    assert not english.allows("tested", "testes", raw_probability=0.1)  # rarer: refused
    assert english.allows("testes", "tested", raw_probability=0.1)  # commoner, and the image supports it
    assert not english.allows("qzxv", "quiz", raw_probability=0.95)  # the models are sure: the reading stands
    assert english.allows("qzxv", "quiz", raw_probability=0.2)
    own = Lexicon(["alpha", "beta"])  # a user's own list: no frequencies, every word alike
    assert own.frequency("alpha") == 0.0 and not own.allows("alpha", "beta", raw_probability=0.1)
