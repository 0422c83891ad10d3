"""The JSON API: every route, status and limit, on the bundled model."""

import base64
import io
import re
import subprocess

import numpy as np
import pytest
from fastapi.testclient import TestClient
from helpers import assert_json_error, letter_png
from PIL import Image

from handwritten_letters.server.app import MAX_IMAGES_PER_REQUEST, create_app
from handwritten_letters.server.limits import MAX_BODY_BYTES


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


def test_upload_reads_a_letter(client):
    response = client.post("/api/v1/letters", files={"file": ("a.png", letter_png(), "image/png")})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"label", "case", "case_probability", "text", "confidence", "top_k", "rejected", "reason",
                         "verdict", "preprocessed", "profile_letters"}
    assert body["label"] == "a" and not body["rejected"] and body["verdict"] == "letter"
    assert len(body["top_k"]) == 3 and body["top_k"][0]["label"] == "a"
    assert 0 < body["confidence"] <= 1
    seen = Image.open(io.BytesIO(base64.b64decode(body["preprocessed"].split(",", 1)[1])))
    assert seen.size == (28, 28)


def test_canvas_data_url_and_top_k(client):
    url = "data:image/png;base64," + base64.b64encode(letter_png()).decode()
    body = client.post("/api/v1/letters", json={"image": url, "top_k": 5}).json()
    assert body["label"] == "a" and len(body["top_k"]) == 5


def test_several_images_are_batched_in_order(client):
    blank = io.BytesIO()
    Image.new("L", (50, 50), 255).save(blank, "PNG")
    files = [("file", ("a.png", letter_png(), "image/png")), ("file", ("blank.png", blank.getvalue(), "image/png"))]
    results = client.post("/api/v1/letters", files=files).json()["results"]
    assert [r["label"] for r in results] == ["a", None]
    assert results[1]["rejected"] and "blank" in results[1]["reason"] and results[1]["verdict"] == "not_a_letter"


def test_body_over_5_mb_is_413(client):
    response = client.post("/api/v1/letters", files={"file": ("big.png", b"\0" * (MAX_BODY_BYTES + 1), "image/png")})
    assert_json_error(response, 413, "payload_too_large")


def test_random_bytes_are_415_whatever_the_file_name(client):
    noise = np.random.default_rng(0).bytes(4000)
    assert_json_error(client.post("/api/v1/letters", files={"file": ("x.png", noise, "image/png")}), 415)


def test_corrupt_image_is_422(client):
    assert_json_error(client.post("/api/v1/letters", files={"file": ("x.png", letter_png()[:300], "image/png")}),
                      422, "corrupt_image")


def test_huge_dimensions_are_refused_before_decoding(client):
    from helpers import huge_png

    assert_json_error(client.post("/api/v1/letters", files={"file": ("x.png", huge_png(30000, 30000), "image/png")}),
                      413, "image_too_large")


@pytest.mark.parametrize("payload, error", [
    ({"image": "data:image/png;base64,@@@"}, "invalid_base64"),
    ({}, "no_image"),
    ({"image": "x", "top_k": 99}, "invalid_request"),
])
def test_bad_json_requests_are_422(client, payload, error):
    assert_json_error(client.post("/api/v1/letters", json=payload), 422, error)


def test_other_content_types_are_415(client):
    assert_json_error(client.post("/api/v1/letters", content=b"hello", headers={"content-type": "text/plain"}), 415)


def test_too_many_images_is_413(client):
    small = io.BytesIO()
    Image.new("L", (8, 8), 255).save(small, "PNG")
    files = [("file", (f"{i}.png", small.getvalue(), "image/png")) for i in range(MAX_IMAGES_PER_REQUEST + 1)]
    assert_json_error(client.post("/api/v1/letters", files=files), 413, "too_many_images")


def test_model_info_and_health(client):
    info = client.get("/api/v1/model").json()
    assert info["classes"] == list("abcdefghijklmnopqrstuvwxyz")
    assert info["temperature"] > 0 and "validation_accuracy" in info["accuracy"]
    assert client.get("/health").json() == {"status": "ok"}


def test_every_served_figure_says_what_it_was_measured_on(client):
    info = client.get("/api/v1/model").json()
    assert info["accuracy"]
    for name, figure in info["accuracy"].items():
        assert set(figure) == {"value", "on"} and figure["on"], name
    assert "validation split" in info["accuracy"]["validation_accuracy"]["on"]
    served = client.get("/api/v1/model").text.lower()
    assert "../shared" not in served and "stop 2" not in served and "issue 1" not in served


def test_page_and_assets_are_served_with_security_headers(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-origin" not in page.headers
    assert "<script>" not in page.text and "style=" not in page.text  # nothing inline for the CSP to allow
    for asset in ("app.js", "style.css"):
        assert client.get(f"/static/{asset}").status_code == 200
    assert_json_error(client.get("/static/..%2Fapp.py"), 404)
    assert_json_error(client.get("/nowhere"), 404, "not_found")


def test_openapi_schema_documents_the_api(client):
    schema = client.get("/openapi.json").json()
    assert {"/api/v1/letters", "/api/v1/words", "/api/v1/model", "/health"} <= set(schema["paths"])


def test_cors_only_when_an_origin_is_configured():
    with TestClient(create_app(cors_origins=["https://example.org"])) as c:
        response = c.get("/health", headers={"origin": "https://example.org"})
        assert response.headers["access-control-allow-origin"] == "https://example.org"


def test_ready_after_start_up(client):
    assert client.get("/ready").json() == {"status": "ready"}


@pytest.mark.slow
def test_sigterm_lets_requests_in_flight_finish():
    import signal
    import threading
    import time

    import httpx

    from handwritten_letters.server.launch import running_server

    files = [("file", (f"{i}.png", letter_png(size=1200 + i), "image/png")) for i in range(MAX_IMAGES_PER_REQUEST)]
    answer = {}
    with running_server(stderr=subprocess.PIPE) as (base, server):
        request = threading.Thread(target=lambda: answer.update(
            response=httpx.post(base + "/api/v1/letters", files=files, timeout=60), answered=time.monotonic()))
        request.start()
        time.sleep(0.2)  # the request is in flight: 64 large letters take a while
        signalled = time.monotonic()
        server.send_signal(signal.SIGTERM)
        request.join(timeout=60)
        # uvicorn drains, then re-raises the signal it caught, so the exit status says "stopped by SIGTERM"
        assert server.wait(timeout=30) in (0, -signal.SIGTERM), server.stderr.read()
    response = answer["response"]
    assert answer["answered"] > signalled, "the request finished before the signal: nothing was tested"
    assert response.status_code == 200 and len(response.json()["results"]) == MAX_IMAGES_PER_REQUEST


@pytest.mark.slow
def test_two_workers_are_ready_and_share_their_metrics():
    import httpx

    from handwritten_letters.server.launch import running_server

    with running_server("--workers", "2") as (base, _):
        assert httpx.get(base + "/ready").status_code == 200
        for _ in range(4):
            httpx.post(base + "/api/v1/letters", files={"file": ("a.png", letter_png(), "image/png")})
        text = httpx.get(base + "/metrics").text
    counted = re.search(r'letters_requests_total\{method="POST",route="/api/v1/letters",status="200"\} (\S+)', text)
    assert counted and float(counted.group(1)) == 4.0  # summed over both workers
    assert 'letters_request_seconds_count{route="/api/v1/letters"} 4.0' in text


def test_metrics_count_requests_and_letters_read(client):
    client.post("/api/v1/letters", files={"file": ("a.png", letter_png(), "image/png")})
    text = client.get("/metrics").text
    assert 'letters_requests_total{method="POST",route="/api/v1/letters",status="200"}' in text
    assert 'letters_request_seconds_bucket{le="0.005",route="/api/v1/letters"}' in text
    assert 'letters_read_total{label="a"}' in text and "letters_model_info{" in text


def test_request_id_is_honoured_or_made(client):
    assert client.get("/health", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"
    made = client.get("/health", headers={"x-request-id": "bad id\n"}).headers["x-request-id"]
    assert len(made) == 32 and made != "bad id"


def test_access_log_is_one_json_line_without_image_data(caplog):
    import json
    import logging

    with TestClient(create_app()) as c, caplog.at_level(logging.INFO, logger="handwritten_letters.access"):
        c.post("/api/v1/letters", files={"file": ("a.png", letter_png(), "image/png")},
               headers={"x-request-id": "req-1"})
    [record] = [json.loads(r.message) for r in caplog.records if r.name == "handwritten_letters.access"]
    assert record["request_id"] == "req-1" and record["status"] == 200 and record["route"] == "/api/v1/letters"
    assert record["ms"] > 0 and "model_version" in record
    assert "base64" not in caplog.text and "PNG" not in caplog.text


def test_405_lists_every_method_of_the_path(client):
    response = client.put("/api/v1/feedback")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}
