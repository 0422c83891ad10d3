"""'Is this a letter?' is judged by what the network has seen: pictures that are not letters are refused,
letters with pin holes and specks are still read, and a word sent as one letter says it is several."""

import csv

import numpy as np
import pytest
from fastapi.testclient import TestClient
from helpers import REAL_DEV
from PIL import Image

from handwritten_letters import Recognizer
from handwritten_letters.reading.letter_check import letter_check_path
from handwritten_letters.reading.recognize import bundled_model_path
from handwritten_letters.training.non_letters import KINDS, non_letters, pin_holes_and_specks


def test_the_bundled_model_has_its_letter_check():
    assert letter_check_path(bundled_model_path()).exists()
    assert Recognizer().model.letter_check is not None


def test_pictures_that_are_not_letters_are_refused():
    pictures = non_letters(360, seed=2026)  # a seed the check was neither fitted nor chosen on
    predictions = Recognizer().predict([picture for _, picture in pictures])
    refused = [p.verdict != "letter" for p in predictions]
    assert np.mean(refused) >= 0.95, {kind: sum(r for (k, _), r in zip(pictures, refused) if k == kind) for kind in KINDS}


def test_a_word_sent_as_one_letter_says_it_holds_several():
    from handwritten_letters.server.app import create_app

    picture = dict(non_letters(len(KINDS), seed=5))["several_letters"]
    import io

    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "PNG")
    with TestClient(create_app()) as client:
        body = client.post("/api/v1/letters", files={"file": ("word.png", buffer.getvalue(), "image/png")}).json()
    assert body["verdict"] == "several_letters" and body["label"] is None
    assert "/api/v1/words" in body["reason"]


@pytest.mark.skipif(not (REAL_DEV / "labels.csv").exists(), reason="needs the real-letter dev set")
def test_speckled_real_letters_read_as_well_as_clean_ones():
    rows = list(csv.DictReader(open(REAL_DEV / "labels.csv")))
    images = [np.array(Image.open(REAL_DEV / row["filename"]).convert("L")) for row in rows]
    truths = [row["label"] for row in rows]
    rng = np.random.default_rng(11)
    recognizer = Recognizer()
    clean = np.mean([p.label == t for p, t in zip(recognizer.predict(images), truths)])
    speckled = np.mean([p.label == t for p, t in
                        zip(recognizer.predict([pin_holes_and_specks(i, rng) for i in images]), truths)])
    assert clean >= 0.98 and speckled >= clean - 0.01, (clean, speckled)
