"""Fuzzing every boundary with generated inputs: a failure is always the documented typed error
(``ImageError``/``DataFormatError``; JSON 4xx from the API), never another exception or a 5xx.

A few hundred cases run here; ``benchmarks/fuzz.py`` runs tens of thousands and counts outcomes.
"""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handwritten_letters.errors import DataFormatError, ImageError
from handwritten_letters.fuzzing import image_bytes, mutated, request_for
from handwritten_letters.reading.preprocess import preprocess
from handwritten_letters.server.app import create_app
from handwritten_letters.training import data

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


@FUZZ
@given(st.data())
def test_any_image_bytes_preprocess_or_raise_image_error(draw):
    rng = np.random.default_rng(draw.draw(st.integers(0, 2**32 - 1)))
    payload = mutated(image_bytes(rng), rng)
    try:
        result = preprocess(payload, name="fuzz")
    except ImageError as exc:
        assert str(exc).startswith("fuzz")
    else:
        assert result.pixels.shape == (28, 28) and result.pixels.dtype == np.uint8


@FUZZ
@given(st.data())
def test_api_answers_json_4xx_or_200_to_any_request(client, draw):
    rng = np.random.default_rng(draw.draw(st.integers(0, 2**32 - 1)))
    method, url, kwargs = request_for(rng)
    response = client.request(method, url, **kwargs)
    assert response.status_code < 500, response.text
    body = response.json()
    if response.status_code >= 400:
        assert set(body) == {"error", "detail"}


@FUZZ
@given(st.binary(max_size=4000), st.sampled_from(["x.csv", "x-images-idx3-ubyte"]))
def test_any_data_file_reads_or_raises_data_format_error(tmp_path_factory, content, name):
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(content)
    if name.endswith("ubyte"):
        (path.parent / "x-labels-idx1-ubyte").write_bytes(content[:16])
    try:
        dataset = data.read_file(path)
    except DataFormatError as exc:
        assert str(path) in str(exc)
    else:
        assert dataset.images.shape[1:] == (28, 28)


@FUZZ
@given(st.data())
def test_mutated_csv_rows_read_or_name_the_line(tmp_path_factory, draw):
    rng = np.random.default_rng(draw.draw(st.integers(0, 2**32 - 1)))
    rows = [",".join(map(str, [rng.integers(1, 27), *rng.integers(0, 256, 784)])) for _ in range(3)]
    text = "\n".join(rows) + "\n"
    cut = text[: rng.integers(0, len(text))] if rng.random() < 0.5 else text.replace(",", rng.choice([";", ",,", ""]), 1)
    path = tmp_path_factory.mktemp("csv") / "train.csv"
    path.write_text(cut)
    try:
        data.read_file(path)
    except DataFormatError as exc:
        assert "train.csv" in str(exc)


schemathesis = pytest.importorskip("schemathesis")
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_the_openapi_schema_holds_for_generated_requests(case):
    """Schemathesis, from the app's own schema: no 5xx, responses match their documented schema."""
    response = case.call()
    assert response.status_code < 500, response.text
    # A schema cannot say "a decodable image": a schema-valid string is rarely one, and the API
    # rightly answers 422. Every other check runs (status codes, content types, response
    # schemas, headers, Allow on 405).
    case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance])
