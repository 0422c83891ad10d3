"""The page in a real browser: Playwright drives Debian's chromium (headless) against a live server."""

import contextlib
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import REAL_DEV

playwright_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")
expect = playwright_api.expect
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it)"),
]
SCREENSHOTS = Path(os.environ.get("LETTERS_SCREENSHOTS", "")) if os.environ.get("LETTERS_SCREENSHOTS") else None


@contextlib.contextmanager
def serving(app):
    """The app on a free loopback port, in a thread; yields its URL."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def server_url():
    from handwritten_letters.server.app import create_app

    with serving(create_app()) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic",
        ])
        yield browser
        browser.close()


PHONE_WIDTH = 390
PHONE = {"viewport": {"width": PHONE_WIDTH, "height": 844}, "has_touch": True, "is_mobile": True}


@contextlib.contextmanager
def opened(browser, url, **context_options):
    """The page in a fresh browser context; no script errors allowed on it."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url + "/")
    yield page
    context.close()
    assert not errors, f"errors in the page: {errors}"  # CSP violations show up here too


@pytest.fixture()
def page(browser, server_url):
    with opened(browser, server_url, viewport={"width": 1000, "height": 760}) as page:
        yield page


@pytest.fixture()
def phone_page(browser, server_url):
    with opened(browser, server_url, **PHONE) as page:
        yield page


def draw(page, strokes):
    """Strokes in a 0..1 box, drawn with the mouse on the canvas."""
    box = page.locator("#canvas").bounding_box()
    for stroke in strokes:
        (x0, y0), rest = stroke[0], stroke[1:]
        page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
        page.mouse.down()
        for x, y in rest:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=12)
        page.mouse.up()


def shot(page, name, tmp_path):
    page.screenshot(path=str((SCREENSHOTS or tmp_path) / name), full_page=True)


X_STROKES = [[(0.25, 0.2), (0.75, 0.8)], [(0.75, 0.2), (0.25, 0.8)]]


def test_drawing_a_letter_shows_the_answer_live(page, tmp_path):
    draw(page, X_STROKES)
    expect(page.locator("#status")).to_contain_text("Read as", timeout=30_000)
    assert page.locator("#label").text_content().strip() == "x"
    assert page.locator("#topk li").count() == 5
    assert page.locator("#preprocessed").get_attribute("src").startswith("data:image/png;base64,")
    shot(page, "draw-letter.png", tmp_path)

    page.click("#undo")
    page.click("#clear")
    assert page.locator("#status").text_content() == "Draw a letter to start."


def test_an_answer_arriving_after_the_board_is_cleared_is_not_shown(page):
    held = []  # the answers to the drawing, held back until the board is cleared
    page.route("**/api/v1/letters", lambda route: held.append(route))
    draw(page, X_STROKES)
    deadline = time.time() + 10
    while not held:
        assert time.time() < deadline, "the drawing was never sent"
        page.wait_for_timeout(50)
    page.click("#clear")
    for route in held:
        route.continue_()
    page.wait_for_timeout(1500)  # the answers arrive now
    assert page.locator("#status").text_content() == "Draw a letter to start."
    assert page.locator("#label").text_content().strip() == ""


def test_uploading_a_file_shows_the_answer(page, tmp_path):
    from helpers import letter_png

    path = tmp_path / "a.png"
    path.write_bytes(letter_png())
    page.set_input_files("#file", str(path))
    expect(page.locator("#status")).to_contain_text("Read as", timeout=30_000)
    assert page.locator("#label").text_content().strip() == "A"  # letter_png draws a capital A
    shot(page, "upload-letter.png", tmp_path)


def test_a_scribble_is_shown_as_not_a_letter(page, tmp_path):
    dots = [[(0.1 + 0.08 * i, 0.15 + 0.07 * (i % 5)), (0.11 + 0.08 * i, 0.16 + 0.07 * (i % 5))] for i in range(10)]
    draw(page, dots)
    expect(page.locator("#label")).to_have_text("Not a letter", timeout=30_000)
    status = page.locator("#status").text_content()
    assert status and "not a letter" not in status.lower()  # the verdict is said once; the status says why


def dense_scribble():
    rng = np.random.default_rng(3)
    points = np.cumsum(rng.normal(0, 0.09, (90, 2)), axis=0)
    points = (points - points.min(axis=0)) / np.ptp(points, axis=0) * 0.6 + 0.2
    return [[tuple(p) for p in points]]


def filled_blob():
    """A patch filled in with the pen, back and forth, as a person blots out a spot."""
    return [[(0.3 + 0.4 * (i % 2), 0.3 + 0.4 * i / 24) for i in range(25)]]


@pytest.mark.parametrize("name, strokes", [
    ("scribble", dense_scribble()), ("blob", filled_blob()), ("dot", [[(0.5, 0.5), (0.505, 0.505)]]),
])
def test_a_scribble_a_blob_and_a_lone_dot_are_not_letters(page, tmp_path, name, strokes):
    if name == "blob":
        page.locator("#pen-width").fill("40")
    draw(page, strokes)
    expect(page.locator("#label")).to_have_text("Not a letter", timeout=30_000)
    shot(page, f"not-a-letter-{name}.png", tmp_path)


def test_phone_width_layout_keeps_every_control_reachable(phone_page, tmp_path):
    page = phone_page
    for control in ("#canvas", "#pen-width", "#undo", "#clear", "#file"):
        assert page.locator(control).count() == 1
    canvas = page.locator("#canvas").bounding_box()
    assert canvas["width"] <= PHONE_WIDTH and canvas["x"] >= 0
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") in ("INPUT", "CANVAS", "BUTTON")
    shot(page, "phone.png", tmp_path)


def test_word_mode_reads_a_word_with_boxes(page, tmp_path):
    page.check("input[name=mode][value=word]")
    x_left = [[(0.05, 0.25), (0.2, 0.75)], [(0.2, 0.25), (0.05, 0.75)]]
    x_right = [[(0.3, 0.25), (0.45, 0.75)], [(0.45, 0.25), (0.3, 0.75)]]
    draw(page, x_left + x_right)
    expect(page.locator("#status")).to_contain_text("Read as", timeout=30_000)
    assert page.locator("#label").text_content().strip() == "xx"
    assert page.locator("#topk li").count() == 2  # one row per letter, with its box
    shot(page, "word-mode.png", tmp_path)


def circle(cx, cy, rx, ry, points=24):
    import math

    return [(cx + rx * math.cos(2 * math.pi * i / points), cy + ry * math.sin(2 * math.pi * i / points))
            for i in range(points + 1)]


def test_word_mode_reads_touching_letters_with_the_line_reader(page, tmp_path):
    """o, x, o drawn so each touches the next: no gap for a cut, the line model reads them whole."""
    page.check("input[name=mode][value=word]")
    strokes = [circle(0.14, 0.5, 0.1, 0.22),
               [(0.24, 0.3), (0.44, 0.72)], [(0.44, 0.3), (0.24, 0.72)],
               circle(0.54, 0.5, 0.1, 0.22)]
    draw(page, strokes)
    expect(page.locator("#status")).to_contain_text("Read as", timeout=30_000)
    assert page.locator("#label").text_content().strip() == "oxo"
    assert page.locator("#topk li").count() == 3
    shot(page, "word-mode-touching.png", tmp_path)


@pytest.mark.skipif(not (REAL_DEV / "strokes.json").exists(), reason="needs the real-letter dev set's pen strokes")
@pytest.mark.slow  # every stroke replayed with the mouse: 15-35 s a word
# "hello": its two upright l's, inks touching, group into one l when read freely ("helo"); the word
# list spells "hello" with the strokes
@pytest.mark.parametrize("word", ["cat", "letters", "hello"])
def test_word_mode_reads_a_word_written_with_touching_letters_from_real_pen_strokes(page, tmp_path, word):
    """The word's letters as one drawer (01) drew them, at handwriting proportions, replayed with
    the mouse so that each letter's ink touches the next: the word reads right."""
    from handwritten_letters.training import written_words

    page.check("input[name=mode][value=word]")
    width, height = page.evaluate("[document.getElementById('canvas').width, document.getElementById('canvas').height]")
    pen = float(page.locator("#pen-width").input_value())  # canvas pixels
    letters = written_words.drawers_letters(REAL_DEV / "strokes.json")["01"]
    layout = written_words.word_strokes(word, letters, 0.0, pen=0.0)
    x_height = written_words.fitted_scale(layout, width, height, margin=30)  # canvas pixels per x-height
    strokes = written_words.word_strokes(word, letters, written_words.GAPS["touching"], pen=pen / x_height)
    strokes = written_words.fit(strokes, width, height, margin=30)
    draw(page, [[(x / width, y / height) for x, y in np.vstack([stroke[:: max(1, len(stroke) // 12)], stroke[-1:]])]
                for stroke in strokes])
    expect(page.locator("#status")).to_contain_text("Read as", timeout=30_000)
    shot(page, f"word-mode-real-strokes-touching-{word}.png", tmp_path)
    assert page.locator("#label").text_content().strip() == word


@pytest.mark.slow
def test_the_loop_closes_draw_correct_export_finetune_serve(browser, tmp_path):
    """A person corrects the page's answers; the corrections fine-tune a model that is then served."""
    pytest.importorskip("keras", reason="fine-tuning needs the [train] extra")
    from handwritten_letters.server.app import create_app
    from handwritten_letters.server.feedback import FeedbackStore
    from handwritten_letters.training.finetune import FinetuneConfig, finetune

    db = tmp_path / "feedback.sqlite3"
    with serving(create_app(feedback_db=db)) as url:
        page = browser.new_page(viewport={"width": 1000, "height": 760})
        page.goto(url + "/")
        for letter in "xk":  # the same strokes, corrected to x once and to k once
            page.click("#clear")
            draw(page, X_STROKES)
            expect(page.locator("#status")).to_contain_text("Read as", timeout=30_000)
            expect(page.locator(".feedback-note")).to_be_visible()
            page.select_option("#correct-label", letter)
            expect(page.locator("#feedback-status")).to_contain_text(f"stored as \u201c{letter}\u201d", timeout=10_000)
        shot(page, "feedback.png", tmp_path)
        page.close()
    store = FeedbackStore(db)
    assert store.count() == 2
    assert store.export(tmp_path / "mine") == 2
    result = finetune(FinetuneConfig(data_path=str(tmp_path / "mine"), out_dir=str(tmp_path / "run"), epochs=1))
    with serving(create_app(model_path=result.model_onnx)) as url:
        page = browser.new_page()
        page.goto(url + "/api/v1/model")
        lineage = json.loads(page.locator("body").text_content())["lineage"]
        assert lineage["finetune_letters"] == 2 and lineage["base_model"].endswith(".keras")
        page.goto(url + "/")
        draw(page, X_STROKES)
        expect(page.locator("#status")).to_contain_text("Read as", timeout=30_000)
        page.close()


def test_not_sure_shows_the_candidates_not_a_red_not_a_letter(browser, tmp_path):
    from handwritten_letters.server.app import create_app

    app = create_app()
    app.state.recognizer.model.rejection_threshold = 0.9999  # every answer is "not sure"
    with serving(app) as url:
        page = browser.new_page(viewport={"width": 1000, "height": 760})
        page.goto(url + "/")
        draw(page, X_STROKES)
        expect(page.locator("#confidence")).to_have_text("Not sure", timeout=30_000)
        label = page.locator("#label")
        assert label.text_content().endswith("?") and "unsure" in label.get_attribute("class")
        assert "rejected" not in label.get_attribute("class")
        assert page.locator("#status").text_content().startswith("Not sure which letter this is")
        shot(page, "not-sure.png", tmp_path)
        page.close()


def test_at_phone_width_the_answer_shows_without_scrolling(phone_page, tmp_path):
    page = phone_page
    draw(page, X_STROKES)
    expect(page.locator("#status")).to_contain_text("Read as", timeout=30_000)
    assert page.evaluate("window.scrollY") == 0
    for answer in ("#label", "#confidence", "#topk li:nth-child(1)", "#topk li:nth-child(3)"):
        box = page.locator(answer).bounding_box()
        assert box and 0 <= box["y"] and box["y"] + box["height"] <= PHONE["viewport"]["height"], (answer, box)
    # the pen width, Undo and Clear share one row (nothing wraps onto a line of its own)
    rows = {round(page.locator(c).bounding_box()["y"] + page.locator(c).bounding_box()["height"] / 2)
            for c in ("#pen-width", "#undo", "#clear")}
    assert max(rows) - min(rows) <= 4, rows
    shot(page, "phone.png", tmp_path)


def test_word_mode_at_phone_width_shows_the_word_and_its_letters_on_screen(phone_page, tmp_path):
    page = phone_page
    page.check("input[name=mode][value=word]")
    draw(page, [[(0.05, 0.25), (0.2, 0.75)], [(0.2, 0.25), (0.05, 0.75)],
                [(0.3, 0.25), (0.45, 0.75)], [(0.45, 0.25), (0.3, 0.75)]])
    expect(page.locator("#status")).to_contain_text("Read as", timeout=30_000)
    assert page.locator("#label").text_content().strip() == "xx"
    for answer in ("#label", "#topk li:nth-child(1)", "#topk li:nth-child(2)"):
        box = page.locator(answer).bounding_box()
        assert box and 0 <= box["x"] and box["x"] + box["width"] <= PHONE_WIDTH, (answer, box)  # nothing cut off sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    shot(page, "phone-word.png", tmp_path)


def test_the_desktop_tools_do_not_wrap(page):
    rows = {round(page.locator(c).bounding_box()["y"] + page.locator(c).bounding_box()["height"] / 2)
            for c in ("#pen-width", "#undo", "#clear")}
    assert max(rows) - min(rows) <= 4, rows


def test_api_docs_render_with_the_network_cut(browser, server_url):
    context = browser.new_context()
    page = context.new_page()
    requested, errors = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def only_this_server(route):
        requested.append(route.request.url)
        if route.request.url.startswith(server_url):
            route.continue_()
        else:
            route.abort()  # the internet is cut: a CDN asset would fail here

    page.route("**/*", only_this_server)
    page.goto(server_url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("handwritten-letters", timeout=30_000)
    expect(page.locator(".opblock").first).to_be_visible()
    assert all(url.startswith(server_url) for url in requested), requested
    assert not errors, errors
    context.close()


def test_a_capital_a_drawn_on_the_page_is_shown_as_a_capital(page, tmp_path):
    draw(page, [[(0.2, 0.9), (0.5, 0.1), (0.8, 0.9)], [(0.32, 0.58), (0.68, 0.58)]])
    expect(page.locator("#status")).to_contain_text("Read as", timeout=30_000)
    assert page.locator("#label").text_content().strip() == "A"
    expect(page.locator("#status")).to_contain_text("upper case")
    shot(page, "capital-letter.png", tmp_path)


def test_nothing_sticks_out_sideways_at_phone_width(phone_page):
    page = phone_page
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    assert page.locator("#clear").bounding_box()["x"] + page.locator("#clear").bounding_box()["width"] <= PHONE_WIDTH


def test_a_correction_teaches_that_profile_and_no_other(browser, server_url, tmp_path):
    """One person corrects an answer on the page: their next answer changes; another person's does not."""
    mine = browser.new_context(viewport={"width": 1000, "height": 760})
    page = mine.new_page()
    page.goto(server_url + "/")
    draw(page, X_STROKES)
    expect(page.locator("#status")).to_contain_text("Read as", timeout=30_000)
    assert page.locator("#label").text_content().strip() == "x"
    page.select_option("#teach-label", "k")  # "Not right? It is k": teaches this browser's profile
    expect(page.locator("#status")).to_contain_text("your writing now has this", timeout=10_000)
    expect(page.locator("#profile-count")).to_contain_text("1 letter taught")
    page.click("#clear")
    draw(page, X_STROKES)
    expect(page.locator("#status")).to_contain_text("with your writing (1 letter)", timeout=30_000)
    assert page.locator("#label").text_content().strip() == "k"
    shot(page, "profile-correction.png", tmp_path)

    other = browser.new_context(viewport={"width": 1000, "height": 760})  # another person: own browser storage
    second = other.new_page()
    second.goto(server_url + "/")
    draw(second, X_STROKES)
    expect(second.locator("#status")).to_contain_text("Read as", timeout=30_000)
    assert second.locator("#label").text_content().strip() == "x"
    assert "with your writing" not in second.locator("#status").text_content()
    mine.close()
    other.close()


def test_teach_mode_asks_for_letters_and_keeps_them(page, tmp_path):
    page.check("input[name=mode][value=teach]")
    expect(page.locator("#teach-letter")).to_have_text("a")
    expect(page.locator("#label")).to_be_hidden()  # nothing is read while teaching: no empty answer block
    expect(page.locator("#topk")).to_be_hidden()
    draw(page, [[(0.3, 0.3), (0.7, 0.3), (0.7, 0.8), (0.3, 0.8), (0.3, 0.3)], [(0.7, 0.5), (0.75, 0.85)]])
    page.click("#teach-save")
    expect(page.locator("#teach-status")).to_contain_text("Kept \u201ca\u201d (1 taught)", timeout=10_000)
    expect(page.locator("#teach-letter")).to_have_text("b")
    page.click("#teach-skip")
    expect(page.locator("#teach-letter")).to_have_text("c")
    shot(page, "teach-mode.png", tmp_path)
    page.click("#profile-forget")
    expect(page.locator("#profile-line")).to_be_hidden()
    page.check("input[name=mode][value=letter]")
    expect(page.locator("#label")).to_be_visible()  # the answer block is back for reading


def test_teach_mode_keeps_an_uploaded_letter(page, tmp_path):
    from helpers import letter_png

    page.check("input[name=mode][value=teach]")
    (tmp_path / "a.png").write_bytes(letter_png())
    page.set_input_files("#file", str(tmp_path / "a.png"))
    expect(page.locator("#teach-status")).to_contain_text("Uploaded", timeout=10_000)
    page.click("#teach-save")
    expect(page.locator("#teach-status")).to_contain_text("Kept \u201ca\u201d (1 taught)", timeout=10_000)
    page.click("#profile-forget")


def test_a_capitals_best_candidate_bar_is_shown_as_the_capital(page):
    draw(page, [[(0.2, 0.9), (0.5, 0.1), (0.8, 0.9)], [(0.32, 0.58), (0.68, 0.58)]])
    expect(page.locator("#status")).to_contain_text("Read as", timeout=30_000)
    assert page.locator("#label").text_content().strip() == "A"
    assert page.locator("#topk li:nth-child(1) span").first.text_content() == "A"


def test_the_page_says_it_reads_capitals_and_words(page):
    lede = page.locator(".lede").text_content()
    assert "A\u2013Z" in lede and "word" in lede


def test_word_mode_on_a_laptop_screen_shows_the_answer_without_scrolling(browser, server_url, tmp_path):
    with opened(browser, server_url, viewport={"width": 1280, "height": 800}) as page:
        page.check("input[name=mode][value=word]")
        draw(page, [[(0.05, 0.25), (0.2, 0.75)], [(0.2, 0.25), (0.05, 0.75)],
                    [(0.3, 0.25), (0.45, 0.75)], [(0.45, 0.25), (0.3, 0.75)]])
        expect(page.locator("#status")).to_contain_text("Read as", timeout=30_000)
        for answer in ("#label", "#topk li:nth-child(2)"):
            box = page.locator(answer).bounding_box()
            assert box and box["y"] + box["height"] <= 800, (answer, box)
        letters = page.locator("#topk").text_content()
        assert "box" not in letters and "%" in letters  # each letter and how sure, not pixel boxes
        shot(page, "word-mode-laptop.png", tmp_path)


def test_word_mode_at_phone_width_the_answer_card_is_as_wide_as_the_drawing(phone_page):
    page = phone_page
    page.check("input[name=mode][value=word]")
    draw(page, [[(0.05, 0.25), (0.2, 0.75)], [(0.2, 0.25), (0.05, 0.75)]])
    expect(page.locator("#status")).to_contain_text("Read as", timeout=30_000)
    card, canvas = page.locator(".answer").bounding_box(), page.locator("#canvas").bounding_box()
    assert card["width"] >= canvas["width"] - 2, (card, canvas)
