"""Corrections from the page: through the API into SQLite, out through `letters feedback`."""

import base64
import concurrent.futures
import sqlite3
import subprocess
import sys

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import assert_json_error, letter_png

from handwritten_letters.server.app import create_app
from handwritten_letters.server.feedback import FeedbackStore
from handwritten_letters.server.limits import MAX_BODY_BYTES

DATA_URL = "data:image/png;base64," + base64.b64encode(letter_png()).decode()


def correction(label="a", image=DATA_URL):
    return {"image": image, "answer": "a", "top_k": [{"label": "a", "probability": 0.9}], "correct_label": label}


@pytest.fixture()
def db(tmp_path):
    return tmp_path / "feedback.sqlite3"


@pytest.fixture()
def client(db):
    with TestClient(create_app(feedback_db=db)) as c:
        yield c


def test_a_correction_is_stored_exactly_as_sent_and_exported_for_finetune(client, db, tmp_path):
    assert client.get("/api/v1/feedback").json() == {"collecting": True}
    response = client.post("/api/v1/feedback", json=correction("Q"))
    assert response.status_code == 200 and response.json()["stored"]
    with sqlite3.connect(db) as connection:
        image, label, answer, model = connection.execute(
            "SELECT image, correct_label, answer, model_name FROM feedback").fetchone()
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert image == letter_png() and label == "q" and answer == "a" and model
    assert FeedbackStore(db).export(tmp_path / "export") == 1
    assert (tmp_path / "export" / "q" / "000001.png").read_bytes() == letter_png()
    assert FeedbackStore(db).stats() == [{"letter": "q", "total": 1, "model_right": 0, "read_as": {"a": 1}}]


@pytest.mark.parametrize("body, status, error", [
    (correction("7"), 422, "invalid_label"),
    (correction("ab"), 422, "invalid_request"),
    ({**correction(), "image": None}, 422, "invalid_request"),
    ({"answer": "a", "correct_label": "a"}, 422, "invalid_request"),
    (correction(image="data:image/png;base64,@@"), 422, "invalid_base64"),
    (correction(image="data:image/png;base64," + base64.b64encode(b"not an image").decode()), 415, None),
])
def test_bad_feedback_is_a_json_4xx_and_stores_nothing(client, db, body, status, error):
    assert_json_error(client.post("/api/v1/feedback", json=body), status, error)
    assert FeedbackStore(db).count() == 0


def test_oversized_feedback_is_413(client, db):
    huge = correction(image="data:image/png;base64," + "A" * (MAX_BODY_BYTES + 10))
    assert_json_error(client.post("/api/v1/feedback", json=huge), 413)
    assert FeedbackStore(db).count() == 0


def test_feedback_is_off_unless_asked_for():
    with TestClient(create_app()) as c:
        assert c.get("/api/v1/feedback").json() == {"collecting": False}
        assert_json_error(c.post("/api/v1/feedback", json=correction()), 403, "feedback_off")


@pytest.mark.slow
def test_two_workers_writing_at_once_lose_nothing(db, tmp_path):
    from handwritten_letters.server.launch import running_server

    with running_server("--workers", "2", "--collect-feedback", "--feedback-db", str(db)) as (base, _):
        with httpx.Client(timeout=30) as http, concurrent.futures.ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda i: http.post(base + "/api/v1/feedback",
                                                         json=correction("abcdefghij"[i % 10])).status_code,
                                     range(200)))
    assert statuses == [200] * 200
    assert FeedbackStore(db).count() == 200
    exported = subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "feedback", "export", "--db", str(db),
                               "--out", str(tmp_path / "mine")], capture_output=True, text=True, timeout=60)
    assert exported.returncode == 0 and "200 images" in exported.stdout
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == list("abcdefghij")
    stats = subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "feedback", "stats", "--db", str(db)],
                           capture_output=True, text=True, timeout=60)
    assert stats.returncode == 0 and "20 stored" in stats.stdout
