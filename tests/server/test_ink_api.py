"""Ink everywhere the product reads: POST /api/v1/ink (JSON or InkML), `letters read FILE.json|.inkml` and
TextReader give the same text; bad ink is a JSON 4xx, never a 5xx, and answered within seconds."""

import json
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient
from helpers import INK_LOW, assert_json_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handwritten_letters import TextReader
from handwritten_letters.reading.ink import MAX_POINTS, ink_from_json, ink_to_inkml
from handwritten_letters.server.app import create_app

INKML = {"content-type": "application/inkml+xml"}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def test_ink_reads_as_words_with_the_strokes_of_each_letter(client):
    body = client.post("/api/v1/ink?lexicon=false", json=INK_LOW).json()
    assert body["text"] == "low"
    letters = body["lines"][0]["words"][0]["letters"]
    assert [letter["strokes"] for letter in letters] == [[0], [1], [2]]
    assert all(letter["case"] in ("lower", "either") for letter in letters)
    assert letters[0]["box"][0] == 20  # the ink's own pixels


def test_a_capital_starting_a_word_is_written_as_one(client):
    """"Low": an L of two strokes (stem and foot) before the o and w of INK_LOW, moved right."""
    capital = [[[20, 10, 0], [20, 90, 300]], [[20, 90, 350], [55, 90, 500]]]
    rest = [[[x + 40, y, t + 1000] for x, y, t in stroke] for stroke in INK_LOW["strokes"][1:]]
    body = client.post("/api/v1/ink?lexicon=false", json={"strokes": capital + rest}).json()
    assert body["text"] == "low" and body["written"] == "Low"  # text stays small: what the word list matches
    assert [letter["case"] for letter in body["lines"][0]["words"][0]["letters"]] == ["upper", "lower", "lower"]
    small = client.post("/api/v1/ink?lexicon=false", json=INK_LOW).json()
    assert small["written"] == small["text"] == "low"


def test_json_inkml_the_cli_and_python_give_the_same_text(client, tmp_path):
    inkml = ink_to_inkml(ink_from_json(INK_LOW))
    (tmp_path / "word.json").write_text(json.dumps(INK_LOW))
    (tmp_path / "word.inkml").write_text(inkml)
    by_json = client.post("/api/v1/ink", json=INK_LOW).json()["text"]
    by_inkml = client.post("/api/v1/ink", content=inkml, headers=INKML).json()["text"]
    cli = subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "read", tmp_path / "word.json",
                          tmp_path / "word.inkml"], capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    read = [line.split("\t")[1] for line in cli.stdout.splitlines()]
    assert by_json == by_inkml == read[0] == read[1] == TextReader().read_ink(tmp_path / "word.json").text


def test_ink_without_times_reads_the_same(client):
    untimed = {"strokes": [[[x, y] for x, y, _ in stroke] for stroke in INK_LOW["strokes"]]}
    assert client.post("/api/v1/ink", json=untimed).json()["text"] == client.post("/api/v1/ink", json=INK_LOW).json()["text"]


def test_bad_ink_is_a_422_naming_the_stroke_and_point(client):
    response = client.post("/api/v1/ink", json={"strokes": [[[1, 2], [3, None]]]})
    assert_json_error(response, 422, "invalid_ink")
    assert "stroke 0, point 1" in response.json()["detail"]
    assert_json_error(client.post("/api/v1/ink", content=b"x", headers={"content-type": "text/plain"}), 415)


GARBAGE = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True, allow_infinity=True) |
                       st.integers(-10**12, 10**12) | st.text(max_size=5),
                       lambda children: st.lists(children, max_size=5) | st.dictionaries(st.sampled_from(
                           ["strokes", "width", "height", "x"]), children, max_size=3), max_leaves=40)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(GARBAGE)
def test_any_json_is_answered_with_200_or_a_json_4xx(client, body):
    started = time.monotonic()
    response = client.post("/api/v1/ink", content=json.dumps(body), headers={"content-type": "application/json"})
    assert response.status_code in (200, 413, 422), response.text
    assert time.monotonic() - started < 5


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.lists(st.tuples(st.floats(-500, 500), st.floats(-500, 500)), min_size=1, max_size=30),
                min_size=1, max_size=12))
def test_any_strokes_read_or_say_why(client, strokes):
    started = time.monotonic()
    response = client.post("/api/v1/ink", json={"strokes": [[list(p) for p in s] for s in strokes]})
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("body, headers", [
    (b"", {"content-type": "application/json"}),
    (b'{"strokes": [[[NaN, 1]]]}', {"content-type": "application/json"}),
    (b'{"strokes": "abc"}', {"content-type": "application/json"}),
    (b"[" * 100_000, {"content-type": "application/json"}),
    (b'<ink><traceFormat><channel name="P"/></traceFormat><trace>1</trace></ink>', INKML),
    (b"<ink>" + b"<trace>1 1</trace>" * 3000 + b"</ink>", INKML),
])
def test_hostile_ink_is_a_4xx_within_seconds(client, body, headers):
    started = time.monotonic()
    response = client.post("/api/v1/ink", content=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert time.monotonic() - started < 5


def test_a_million_points_are_refused_quickly(client):
    started = time.monotonic()
    body = json.dumps({"strokes": [[[i % 500, i % 300] for i in range(1_000_000)]]})
    response = client.post("/api/v1/ink", content=body, headers={"content-type": "application/json"})
    assert response.status_code in (413, 422) and time.monotonic() - started < 5
    assert MAX_POINTS < 1_000_000
