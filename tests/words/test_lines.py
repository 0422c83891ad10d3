"""The line (CTC) reader: synthetic lines, line preprocessing, training runs, export, reading."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import letter_like_dataset, needs_shared_data
from PIL import Image, ImageDraw
from rapidfuzz.distance import Levenshtein

from handwritten_letters.labels import LINE_ALPHABET
from handwritten_letters.reading.preprocess import (
    LINE_HEIGHT,
    LINE_STROKE_WIDTH,
    LINE_TEXT_HEIGHT,
    _stroke_width,
    prepare_line,
)
from handwritten_letters.training.data import Dataset
from handwritten_letters.training.synthetic_lines import MAX_LABEL, LineComposer, LineStyle, batch_of_lines
from handwritten_letters.words.ctc import decode_indices, encode

PLAIN = LineStyle(slant_share=0.0, stroke_change=0.0, noise=0.0, size_variation=0.0, jitter=(0, 0))


def letters_of_value(value: int, per_class: int = 3) -> Dataset:
    """Letters that are solid bars of one grey level: what a composed line holds tells where it came from."""
    images = np.zeros((26 * per_class, 28, 28), dtype=np.uint8)
    images[:, 4:24, 10:16] = value
    return Dataset(images, np.repeat(np.arange(26), per_class))


def test_lines_hold_only_the_letters_they_are_composed_from():
    rng = np.random.default_rng(0)
    training = LineComposer(letters_of_value(200), ["word", "line"], PLAIN)
    validation = LineComposer(letters_of_value(90), ["word", "line"], PLAIN)
    for _ in range(20):
        text = training.text(rng)
        assert set(np.unique(training.compose(text, rng))) <= {0.0, np.float32(200 / 255)}
        assert set(np.unique(validation.compose(text, rng))) <= {0.0, np.float32(90 / 255)}


def test_a_pen_line_draws_every_letter_with_one_pen_however_thick_its_strokes_were():
    import cv2

    from handwritten_letters.training.data import CASE_LOWER

    thin, thick = letters_of_value(255), letters_of_value(255)
    thin.images[:, :, :] = 0
    thin.images[:, 4:24, 12:14] = 255  # a 2-px bar; thick: a 6-px bar
    widths = {}
    for name, letters in (("thin", thin), ("thick", thick)):
        cased = Dataset(letters.images, letters.labels, np.full(len(letters), CASE_LOWER, dtype=np.int8))
        style = LineStyle(slant_share=0.0, stroke_change=0.0, noise=0.0, size_variation=0.0, jitter=(0, 0),
                          proportions=1.0, pen_lines=1.0, pen_width=(0.2, 0.2), pen_gap=(0.6, 0.6))
        ink = LineComposer(cased, ["word"], style).compose("ll", np.random.default_rng(0))
        mask = (ink > 0.5).astype(np.uint8)
        assert cv2.connectedComponents(mask)[0] - 1 == 2  # two bars with a clear gap
        widths[name] = np.median(mask.sum(axis=1)[mask.sum(axis=1) > 0])
    assert widths["thin"] == widths["thick"]  # the pen's width, not the letters'


def test_a_leaning_letter_is_stood_upright():
    import cv2

    from handwritten_letters.training.synthetic_lines import upright

    bar = np.zeros((28, 28), dtype=np.uint8)
    cv2.line(bar, (18, 3), (9, 24), 255, 2)  # an `l` leaning right by 9 columns over 21 rows
    stood = upright(bar)
    ink_columns = np.flatnonzero(stood.max(axis=0) > 127)
    assert ink_columns.size <= 4  # one upright bar, a pen wide
    assert (stood > 127).sum() >= 0.8 * (bar > 127).sum()  # all of it, not cropped


def test_a_pen_line_stands_two_leaning_ls_upright_as_a_drawer_writes_them():
    import cv2

    from handwritten_letters.training.data import CASE_LOWER

    letters = letters_of_value(255)
    letters.images[:, :, :] = 0
    for image in letters.images:
        cv2.line(image, (18, 3), (9, 24), 255, 2)
    cased = Dataset(letters.images, letters.labels, np.full(len(letters), CASE_LOWER, dtype=np.int8))
    style = LineStyle(slant_share=0.0, stroke_change=0.0, noise=0.0, size_variation=0.0, jitter=(0, 0),
                      proportions=1.0, pen_lines=1.0, pen_width=(0.2, 0.2), pen_gap=(-0.1, -0.1))
    ink = LineComposer(cased, ["word"], style).compose("ll", np.random.default_rng(0))
    mask = (ink > 0.5).astype(np.uint8)
    pen = 2 * round(0.2 * 0.625 * 28 / 2) + 2  # pixels: the pen's width at 28-px letter scale, anti-aliased
    columns = np.flatnonzero(mask.any(axis=0))
    # one block of two upright bars side by side, two pens wide (leaning, they would span 9 columns more)
    assert cv2.connectedComponents(mask)[0] - 1 == 1
    assert columns[-1] - columns[0] + 1 <= 2 * pen + 2


def test_some_random_strings_write_a_letter_twice():
    composer = LineComposer(letters_of_value(255), ["alpha"], LineStyle(random_strings=1.0, doubled=1.0))
    rng = np.random.default_rng(1)
    texts = [composer.text(rng) for _ in range(20)]
    assert all(any(a == b for word in text.split() for a, b in zip(word, word[1:])) for text in texts)


def test_texts_are_words_and_random_strings_of_at_most_30_letters_and_encode_round_trip():
    composer = LineComposer(letters_of_value(255), ["alpha", "beta", "gamma"])
    rng = np.random.default_rng(1)
    texts = [composer.text(rng) for _ in range(300)]
    assert all(1 <= len(t.replace(" ", "")) <= 30 for t in texts)
    assert any(" " in t for t in texts) and any(t in ("alpha", "beta", "gamma") for t in texts)
    assert any(w not in ("alpha", "beta", "gamma") for t in texts for w in t.split())  # random strings too
    for text in texts:
        assert decode_indices(encode(text)) == text
        assert min(encode(text)) >= 1 and max(encode(text)) <= len(LINE_ALPHABET)


def test_a_batch_pads_lines_to_a_shared_width_and_labels_to_max_label():
    lines = [np.full((LINE_HEIGHT, 40), 255.0, np.float32), np.full((LINE_HEIGHT, 100), 255.0, np.float32)]
    images, labels = batch_of_lines(lines, ["ab", "c d"])
    assert images.shape == (2, LINE_HEIGHT, 128) and labels.shape == (2, MAX_LABEL)
    assert decode_indices(labels[0]) == "ab" and decode_indices(labels[1]) == "c d"
    assert images[0, :, 40:].max() == 0


def test_composer_refuses_a_split_missing_a_letter():
    images = np.zeros((25, 28, 28), np.uint8)
    with pytest.raises(ValueError, match="z"):
        LineComposer(Dataset(images, np.arange(25)), ["a"])


def test_prepared_line_has_the_model_height_keeps_aspect_and_maps_columns_back():
    ink = np.zeros((200, 900), np.float32)
    ink[50:150, 100:110] = 1.0  # a bar 100 tall at x = 100
    ink[50:150, 700:710] = 1.0  # and one at x = 700
    line = prepare_line(ink)
    assert line.pixels.shape[0] == LINE_HEIGHT and line.pixels.shape[1] % 4 == 0
    assert line.pixels.max() == pytest.approx(255.0)
    rows = np.flatnonzero(line.pixels.max(axis=1) > 128)
    assert abs(len(rows) - LINE_TEXT_HEIGHT) <= 2
    columns = np.flatnonzero(line.pixels.max(axis=0) > 128)
    left_bar = columns[columns < line.pixels.shape[1] / 2]
    right_bar = columns[columns > line.pixels.shape[1] / 2]
    assert line.source_x(left_bar.mean()) == pytest.approx(105, abs=4)
    assert line.source_x(right_bar.mean()) == pytest.approx(705, abs=4)


def test_a_thin_pen_is_thickened_to_emnist_stroke_width_before_shrinking():
    image = Image.new("L", (1200, 300), 0)
    ImageDraw.Draw(image).line([(50, 50), (300, 250), (600, 50), (900, 250), (1150, 50)], fill=255, width=2)
    line = prepare_line(np.asarray(image, np.float32) / 255)
    width = _stroke_width(line.pixels > 128)
    assert 0.6 * LINE_STROKE_WIDTH <= width <= 1.6 * LINE_STROKE_WIDTH
    assert prepare_line(np.zeros((20, 20), np.float32)) is None


@pytest.fixture(scope="module")
def line_run(tmp_path_factory):
    pytest.importorskip("keras", reason="needs the [train] extra")
    from helpers import write_idx_pair

    from handwritten_letters.training.train_lines import LineTrainConfig, train_lines

    data_dir = tmp_path_factory.mktemp("letters")
    images, labels = letter_like_dataset(per_class=12)
    write_idx_pair(data_dir, "generated-train", images.transpose(0, 2, 1), labels + 1)
    out = tmp_path_factory.mktemp("lines")
    config = LineTrainConfig(train_paths=[str(data_dir)], out_dir=str(out), val_fraction=0.25, epochs=2,
                             steps_per_epoch=3, batch_size=8, validation_lines=16, width=16, verbose=0)
    return config, train_lines(config)


@pytest.mark.slow
def test_train_lines_writes_the_run_files_and_refuses_to_resume_other_settings(line_run):
    from dataclasses import replace

    from handwritten_letters.errors import LettersError
    from handwritten_letters.training.train_lines import train_lines

    config, result = line_run
    out = result.out_dir
    assert {"Best_Model.keras", "history.csv", "curves.png", "run.json", "checkpoint"} <= {p.name for p in out.iterdir()}
    run = json.loads((out / "run.json").read_text())
    assert run["kind"] == "lines" and run["epochs_run"] == 2 and run["split"]["n_validation"] > 0
    history = (out / "history.csv").read_text().splitlines()
    assert len(history) == 3 and history[0].split(",")[3] == "val_accuracy"
    val_loss = history[0].split(",").index("val_loss")  # the callback's own pass over the validation lines
    assert all(0 < float(row.split(",")[val_loss]) < 1e4 for row in history[1:])
    with pytest.raises(LettersError, match="epochs: was 2, now 3"):
        train_lines(replace(config, epochs=3, resume=True))  # the cosine schedule is laid out over 2 epochs


@pytest.mark.slow
def test_an_interrupted_line_run_resumed_ends_where_an_uninterrupted_one_does(line_run, tmp_path, monkeypatch):
    from dataclasses import replace

    import keras

    from handwritten_letters.training import train_lines as module

    config, result = line_run
    measure = module.LineValidation.on_epoch_end

    def interrupt_in_epoch_two(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt  # Ctrl-C during the second epoch: the first is on disk
        measure(self, epoch, logs)

    interrupted_config = replace(config, out_dir=str(tmp_path / "run"))
    monkeypatch.setattr(module.LineValidation, "on_epoch_end", interrupt_in_epoch_two)
    assert module.train_lines(interrupted_config).interrupted
    monkeypatch.setattr(module.LineValidation, "on_epoch_end", measure)
    resumed = module.train_lines(replace(interrupted_config, resume=True))
    assert resumed.epochs_run == 2 and not resumed.interrupted
    final = [w for w in keras.models.load_model(tmp_path / "run" / "checkpoint" / "epoch-002.keras").get_weights()]
    reference = keras.models.load_model(result.out_dir / "checkpoint" / "epoch-002.keras").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(final, reference))


@pytest.mark.slow
def test_export_checks_onnx_against_keras_and_the_reader_reads_with_it(line_run, tmp_path):
    from handwritten_letters.training.export import export_line_model
    from handwritten_letters.words.line_reader import LineModel, TextReader

    _, result = line_run
    exported = export_line_model(result.best_model, tmp_path / "lines.onnx")
    assert exported.max_abs_difference < 1e-3 and exported.checked_lines == 16
    model = LineModel(exported.path)
    assert model.metadata["kind"] == "line-ctc" and json.loads(model.metadata["alphabet"]) == LINE_ALPHABET
    image = Image.new("L", (300, 80), 255)
    ImageDraw.Draw(image).line([(20, 20), (40, 60), (60, 20), (80, 60)], fill=0, width=5)
    reading = TextReader("lines", line_model=exported.path).read(image)  # an untrained model may read nothing
    assert reading.lines or reading.reason == "no letters found"


def test_a_letter_model_given_as_line_model_is_refused_with_what_it_is():
    from handwritten_letters.errors import ModelError
    from handwritten_letters.reading.recognize import bundled_model_path
    from handwritten_letters.words.line_reader import LineModel

    with pytest.raises(ModelError, match="not a line model"):
        LineModel(bundled_model_path())


# --------------------------------------------------------------------------- the bundled line model

VALIDATION_WORDS = ["quick", "brown", "jumps", "zebra", "vexing", "whale", "oxygen", "mighty", "fjord", "lucky"]


@pytest.fixture(scope="module")
def validation_letters():
    """Letters of the validation split both bundled models were trained beside (never trained on)."""
    from helpers import SHARED

    from handwritten_letters.training.data import train_validation

    _, validation = train_validation([str(SHARED)], 0.1, 42)
    return validation


def word_image(word: str, letters, gap: int, rng, scale: int = 3) -> Image.Image:
    """A word of EMNIST letters at 28-px scale ``gap`` px apart (negative: overlapping), dark on white."""
    from handwritten_letters.training.synthetic_lines import trimmed

    tiles = [trimmed(letters.images[rng.choice(np.flatnonzero(letters.labels == ord(c) - 97))]) for c in word]
    width = 20 + sum(t.shape[1] for t in tiles) + gap * (len(tiles) - 1)
    canvas = np.zeros((56, width), np.uint8)
    x = 10
    for tile in tiles:
        region = canvas[14:42, x : x + tile.shape[1]]
        np.maximum(region, tile, out=region)
        x += tile.shape[1] + gap
    image = Image.fromarray(255 - canvas)
    return image.resize((image.width * scale, image.height * scale), Image.BICUBIC)


def character_accuracy(pairs) -> float:
    errors = sum(Levenshtein.distance(read, truth) for read, truth in pairs)
    return 1 - errors / sum(len(truth) for _, truth in pairs)


@needs_shared_data
@pytest.mark.parametrize("gap, floor", [(5, 0.90), (-2, 0.85)])
def test_the_bundled_line_reader_reads_words_of_unseen_letters_with_gaps_and_overlaps(validation_letters, gap, floor):
    from handwritten_letters.words.line_reader import TextReader

    reader = TextReader("lines")
    rng = np.random.default_rng(gap + 10)
    pairs = [(reader.read(word_image(w, validation_letters, gap, rng)).text, w) for w in VALIDATION_WORDS * 2]
    assert character_accuracy(pairs) >= floor, pairs


@needs_shared_data
def test_letter_boxes_follow_the_letters_left_to_right_inside_the_word(validation_letters):
    from handwritten_letters.words.line_reader import TextReader

    image = word_image("moving", validation_letters, 4, np.random.default_rng(3))
    reading = TextReader("lines").read(image, top_k=3)
    word = reading.lines[0].words[0]
    assert len(word.letters) == len(word.text)
    lefts = [l.box[0] for l in word.letters]
    assert lefts == sorted(lefts)
    for letter in word.letters:
        left, top, right, bottom = letter.box
        assert 0 <= left < right <= image.width and 0 <= top < bottom <= image.height
        assert letter.top_k[0][1] >= letter.top_k[-1][1] and 0 <= letter.confidence <= 1


@needs_shared_data
def test_two_lines_of_words_come_back_as_two_lines_with_spaces(validation_letters):
    from handwritten_letters.words.line_reader import TextReader

    rng = np.random.default_rng(4)
    top = np.asarray(word_image("cat", validation_letters, 5, rng))
    bottom = np.asarray(word_image("dog", validation_letters, 5, rng))
    gap = np.full((top.shape[0], 60), 255, np.uint8)
    first = np.concatenate([top, gap, top], axis=1)
    second = np.concatenate([bottom, gap, bottom], axis=1)
    page = np.full((first.shape[0] * 2 + 20, max(first.shape[1], second.shape[1])), 255, np.uint8)
    page[: first.shape[0], : first.shape[1]] = first
    page[first.shape[0] + 20 :, : second.shape[1]] = second
    reading = TextReader("lines").read(page)
    assert len(reading.lines) == 2 and all(len(line.words) == 2 for line in reading.lines)


def test_blank_and_dotted_pages_are_refused_with_a_reason_by_the_line_reader():
    from handwritten_letters.words.line_reader import TextReader

    reader = TextReader("lines")
    assert reader.read(np.full((80, 200), 255, np.uint8)).reason
    dots = Image.new("L", (800, 800), 255)
    pen = ImageDraw.Draw(dots)
    for i in range(100):
        x, y = (i % 10) * 80 + 10, (i // 10) * 80 + 10
        pen.ellipse((x, y, x + 8, y + 8), fill=0)
    assert "dots" in reader.read(dots).reason


def test_cli_read_chooses_the_reader_and_refuses_an_unknown_one(tmp_path):
    path = tmp_path / "stroke.png"
    image = Image.new("L", (300, 100), 255)
    ImageDraw.Draw(image).ellipse((30, 20, 90, 80), outline=0, width=6)
    image.save(path)
    for reader in ("lines", "segment", "auto"):
        result = subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "read", "--reader", reader,
                                 "--no-lexicon", "--format", "json", str(path)], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        assert "lines" in json.loads(result.stdout)
    result = subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "read", "--reader", "ocr", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "expected auto, lines, segment or combined" in result.stderr
    assert "Traceback" not in result.stderr


@needs_shared_data
def test_api_words_reads_touching_letters_with_the_line_reader(validation_letters):
    import io

    from fastapi.testclient import TestClient

    from handwritten_letters.server.app import create_app

    buffer = io.BytesIO()
    word_image("jumping", validation_letters, 0, np.random.default_rng(8)).save(buffer, "PNG")
    with TestClient(create_app()) as client:
        body = client.post("/api/v1/words?lexicon=false", files={"file": ("w.png", buffer.getvalue(), "image/png")}).json()
    letters = body["lines"][0]["words"][0]["letters"]
    assert Levenshtein.distance(body["text"], "jumping") <= 1, body["text"]
    assert len(letters) == len(body["text"]) and all(len(l["box"]) == 4 and l["top_k"] for l in letters)


@pytest.mark.slow
def test_a_line_run_can_start_from_another_runs_weights_and_refuses_another_shape(line_run, tmp_path):
    from dataclasses import replace

    import keras

    from handwritten_letters.errors import LettersError
    from handwritten_letters.training.train_lines import train_lines

    config, result = line_run
    start = keras.models.load_model(result.best_model, compile=False)
    continued = train_lines(replace(config, out_dir=str(tmp_path / "more"), epochs=1, learning_rate=1e-12,
                                    init_from=str(result.best_model), line_seed=7))
    after = keras.models.load_model(continued.best_model, compile=False)
    kernels = [(a, b) for layer_a, layer_b in zip(start.layers, after.layers) if "conv" in layer_a.name
               for a, b in zip(layer_a.get_weights(), layer_b.get_weights())]
    assert kernels and all(np.allclose(a, b, atol=1e-6) for a, b in kernels)  # a learning rate of ~0 keeps them
    with pytest.raises(LettersError, match="not a model of this network.s shape"):
        train_lines(replace(config, out_dir=str(tmp_path / "other"), width=8, init_from=str(result.best_model)))


def test_combine_fuses_each_word_both_readers_lay_out_alike_and_keeps_the_line_reading_elsewhere():
    from handwritten_letters.words.line_reader import combine
    from handwritten_letters.words.results import LetterReading, LineReading, TextReading, WordReading

    def letter(ranked, box):
        return LetterReading(ranked[0][0], ranked[0][1], ranked, box)

    def word(letters):
        return WordReading("".join(l.label for l in letters), "", 1.0, (0, 0, 1, 1), letters)

    line_box = (0, 0, 1, 1)
    by_lines = TextReading([LineReading([
        word([letter([("c", 0.9)], (0, 0, 9, 9)), letter([("a", 0.5), ("o", 0.45)], (9, 0, 19, 9)),
              letter([("t", 0.9)], (19, 0, 29, 9))]),
        word([letter([("d", 0.9)], (40, 0, 49, 9)), letter([("g", 0.8)], (49, 0, 59, 9))]),
    ], line_box)])
    by_pieces = TextReading([LineReading([
        word([letter([("c", 0.95)], (1, 1, 8, 8)), letter([("o", 0.8), ("a", 0.15)], (10, 1, 18, 8)),
              letter([("t", 0.9)], (20, 1, 28, 8))]),
        word([letter([("d", 0.9)], (40, 0, 45, 9)), letter([("o", 0.6)], (45, 0, 50, 9)),
              letter([("g", 0.8)], (50, 0, 59, 9))]),  # cut into three letters: another layout
    ], line_box)])
    fused = combine(by_lines, by_pieces, None, 3)
    first, second = fused.lines[0].words
    assert first.text == "cot"  # a 0.5 x 0.15 against o 0.45 x 0.8
    assert [l.box for l in first.letters] == [(1, 1, 8, 8), (10, 1, 18, 8), (20, 1, 28, 8)]  # the cut-out boxes
    assert first.letters[1].confidence == pytest.approx(0.36 / (0.36 + 0.075), rel=1e-3)
    assert second.text == "dg" and [l.box for l in second.letters] == [(40, 0, 49, 9), (49, 0, 59, 9)]
    other_lines = TextReading(by_pieces.lines * 2)  # the segmentation saw two lines: nothing is fused
    assert combine(by_lines, other_lines, None, 3).text == "cat dg"


def test_combine_takes_a_double_letter_the_pieces_show_twice_and_the_line_reader_once():
    from handwritten_letters.words.line_reader import combine
    from handwritten_letters.words.results import LetterReading, LineReading, TextReading, WordReading

    def word(labels, boxes):
        letters = [LetterReading(c, 0.9, [(c, 0.9)], box) for c, box in zip(labels, boxes)]
        return WordReading(labels, "", 1.0, (0, 0, 1, 1), letters)

    by_lines = TextReading([LineReading([word("helo", [(0, 0, 9, 9), (9, 0, 19, 9), (19, 0, 29, 9), (29, 0, 39, 9)])],
                                        (0, 0, 1, 1))])
    pieces = [(0, 0, 9, 9), (9, 0, 19, 9), (19, 0, 23, 9), (25, 0, 29, 9), (29, 0, 39, 9)]
    doubled = TextReading([LineReading([word("hello", pieces)], (0, 0, 1, 1))])
    fused = combine(by_lines, doubled, None, 3)
    assert fused.text == "hello" and [l.box for l in fused.lines[0].words[0].letters] == pieces
    other = TextReading([LineReading([word("hxelo", pieces)], (0, 0, 1, 1))])  # one more letter, not a double
    assert combine(by_lines, other, None, 3).text == "helo"


def test_auto_reads_with_the_line_model_given_a_lexicon_and_with_both_models_without(monkeypatch):
    from handwritten_letters.words import line_reader
    from handwritten_letters.words.lexicon import Lexicon

    calls = []
    real_combine = line_reader.combine
    monkeypatch.setattr(line_reader, "combine", lambda *args: calls.append("combined") or real_combine(*args))
    reader = line_reader.TextReader("auto")
    image = Image.new("L", (300, 100), 255)
    ImageDraw.Draw(image).ellipse((30, 20, 90, 80), outline=0, width=6)
    reader.read(image)
    assert calls == ["combined"]
    reader.read(image, Lexicon(["on", "no"]))
    assert calls == ["combined"]  # the lexicon reading did not go through combine
    assert reader.describe()["reads"] == "lines with a lexicon, combined without"


@pytest.mark.slow
def test_a_line_model_away_from_its_run_still_exports_as_a_line_model(line_run, tmp_path):
    import shutil

    _, result = line_run
    alone = tmp_path / "copied.keras"  # no run.json beside it: its validation lines cannot be rebuilt
    shutil.copy(result.best_model, alone)
    exported = subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "export", "--model", str(alone),
                               "--out", str(tmp_path / "lines.onnx")], capture_output=True, text=True, timeout=300)
    assert exported.returncode == 0, exported.stderr
    assert "line model" in exported.stdout and "not measured" in exported.stdout
    from handwritten_letters.words.line_reader import LineModel

    assert LineModel(tmp_path / "lines.onnx").metadata["kind"] == "line-ctc"


def test_a_condensed_hands_pen_line_is_narrower_at_the_same_height():
    import cv2

    from handwritten_letters.training.data import CASE_LOWER

    letters = letters_of_value(255)
    letters.images[:, :, :] = 0
    for image in letters.images:
        cv2.circle(image, (14, 14), 9, 255, 2)  # an `o` as wide as it is tall
    cased = Dataset(letters.images, letters.labels, np.full(len(letters), CASE_LOWER, dtype=np.int8))
    spans = {}
    for factor in (0.5, 1.0):
        style = LineStyle(slant_share=0.0, stroke_change=0.0, noise=0.0, size_variation=0.0, jitter=(0, 0),
                          proportions=1.0, pen_lines=1.0, pen_width=(0.2, 0.2), pen_gap=(0.3, 0.3),
                          pen_hand_width=(factor, factor))
        mask = LineComposer(cased, ["word"], style).compose("oooo", np.random.default_rng(0)) > 0.5
        rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        spans[factor] = (rows[-1] - rows[0], columns[-1] - columns[0])
    assert spans[0.5][0] == spans[1.0][0]  # the same height
    assert spans[0.5][1] < 0.8 * spans[1.0][1]  # four narrow o's, gaps kept
