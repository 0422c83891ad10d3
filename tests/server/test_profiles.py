"""Writers' profiles through the API: created with an unguessable id, taught letters, read with
at once (no restart), kept apart from every other profile, limited, exported, deleted."""

import base64
import io
import zipfile

import pytest
from fastapi.testclient import TestClient
from helpers import assert_json_error, letter_png

from handwritten_letters.server import profiles
from handwritten_letters.server.app import create_app

X = (((20, 15), (80, 90)), ((80, 15), (20, 90)))


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


def read(client, png, profile=None):
    url = "/api/v1/letters" + (f"?profile={profile}" if profile else "")
    return client.post(url, json={"image": data_url(png)}).json()


def new_profile(client) -> str:
    response = client.post("/api/v1/profiles")
    assert response.status_code == 201
    body = response.json()
    assert body["letters"] == 0 and len(body["id"]) >= 22
    return body["id"]


def test_a_taught_letter_changes_the_next_answer_for_its_profile_only(client):
    x = letter_png(X)
    mine, other = new_profile(client), new_profile(client)
    assert read(client, x)["label"] == "x"
    taught = client.post(f"/api/v1/profiles/{mine}/letters", json={"image": data_url(x), "label": "k"})
    assert taught.status_code == 200 and taught.json()["per_letter"] == {"k": 1}
    with_profile = read(client, x, mine)
    assert with_profile["label"] == "k" and with_profile["profile_letters"] == 1
    assert read(client, x, other)["label"] == "x" and read(client, x, other)["profile_letters"] == 0
    assert read(client, x)["label"] == "x" and read(client, x)["profile_letters"] is None


def test_ids_are_unguessable_and_unknown_ones_are_404(client):
    ids = {new_profile(client) for _ in range(5)}
    assert len(ids) == 5
    assert_json_error(client.get("/api/v1/profiles/not-a-real-profile-id-x"), 404, "no_such_profile")
    assert_json_error(client.post("/api/v1/letters?profile=../../etc", json={"image": data_url(letter_png())}),
                      404, "no_such_profile")


def test_teaching_needs_a_letter_and_an_image(client):
    mine = new_profile(client)
    assert_json_error(client.post(f"/api/v1/profiles/{mine}/letters", json={"image": data_url(letter_png()),
                                                                             "label": "7"}), 422, "invalid_label")
    assert_json_error(client.post(f"/api/v1/profiles/{mine}/letters", json={"label": "a"}), 422, "invalid_request")
    assert_json_error(client.post(f"/api/v1/profiles/{mine}/letters", content=b"x"), 415)


def test_capitals_are_kept_as_capitals_and_exported_as_finetune_folders(client, tmp_path):
    mine = new_profile(client)
    for label in ("A", "a", "x"):
        client.post(f"/api/v1/profiles/{mine}/letters", json={"image": data_url(letter_png()), "label": label})
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/api/v1/profiles/{mine}/export").content))
    assert sorted(name.split("/")[0] for name in archive.namelist()) == ["A", "a", "x"]


def test_deleted_profiles_are_gone(client):
    mine = new_profile(client)
    assert client.delete(f"/api/v1/profiles/{mine}").json() == {"status": "deleted"}
    assert_json_error(client.get(f"/api/v1/profiles/{mine}"), 404, "no_such_profile")


def test_limits_on_letters_and_profiles(client, monkeypatch):
    monkeypatch.setattr(profiles, "MAX_LETTERS_PER_PROFILE", 2)
    mine = new_profile(client)
    for _ in range(2):
        client.post(f"/api/v1/profiles/{mine}/letters", json={"image": data_url(letter_png()), "label": "a"})
    assert_json_error(client.post(f"/api/v1/profiles/{mine}/letters",
                                  json={"image": data_url(letter_png()), "label": "a"}), 507, "profile_full")
    monkeypatch.setattr(profiles, "MAX_PROFILES", 0)
    assert_json_error(client.post("/api/v1/profiles"), 507, "too_many_profiles")
