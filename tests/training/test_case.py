"""Case: read from the case labels beside EMNIST files, learned by a cased network where known, and
answered as upper, lower or either (one shape in both cases)."""

import numpy as np
import pytest
from helpers import letter_like_dataset, write_idx, write_idx_pair

pytest.importorskip("keras", reason="needs the [train] extra")

from handwritten_letters.labels import CLASS_NAMES, NUM_CASED_CLASSES, NUM_CLASSES  # noqa: E402
from handwritten_letters.reading.recognize import EITHER, LOWER, UPPER, in_case, letter_case  # noqa: E402
from handwritten_letters.training import data  # noqa: E402
from handwritten_letters.training.train import training_targets  # noqa: E402


def test_case_labels_beside_an_idx_file_are_read(tmp_path):
    images, labels = letter_like_dataset(per_class=2)
    write_idx_pair(tmp_path, "pool-train", images.transpose(0, 2, 1), labels + 1)
    codes = np.where(np.arange(len(labels)) % 2, ord("A") + labels, ord("a") + labels).astype(np.uint8)
    write_idx(tmp_path / "pool-train-case-labels-idx1-ubyte.gz", codes, 2049)
    dataset = data.read_idx(tmp_path / "pool-train-images-idx3-ubyte.gz")
    assert (dataset.cases == np.where(np.arange(len(labels)) % 2, data.CASE_UPPER, data.CASE_LOWER)).all()
    assert dataset.subset(np.array([1, 2])).cases.tolist() == [data.CASE_UPPER, data.CASE_LOWER]


def test_case_labels_that_disagree_with_the_letters_name_the_record(tmp_path):
    images, labels = letter_like_dataset(per_class=1)
    write_idx_pair(tmp_path, "pool-train", images.transpose(0, 2, 1), labels + 1)
    codes = (ord("a") + labels).astype(np.uint8)
    codes[3] = ord("Q")
    write_idx(tmp_path / "pool-train-case-labels-idx1-ubyte.gz", codes, 2049)
    with pytest.raises(data.DataFormatError, match=r"case-labels-idx1-ubyte.gz, record 3: case label 81"):
        data.read_idx(tmp_path / "pool-train-images-idx3-ubyte.gz")


def test_concatenating_keeps_case_where_known():
    known = data.Dataset(np.zeros((2, 28, 28), np.uint8), np.array([0, 1]), np.array([1, 2], np.int8))
    unknown = data.Dataset(np.zeros((1, 28, 28), np.uint8), np.array([3]))
    assert data.concatenate([unknown, known]).cases.tolist() == [0, 1, 2]


def test_training_targets_learn_case_only_where_the_shapes_differ():
    letters = np.array([CLASS_NAMES.index(c.lower()) for c in "aAoO"])
    cases = np.array([data.CASE_LOWER, data.CASE_UPPER, data.CASE_LOWER, data.CASE_UPPER], np.int8)
    targets = training_targets(data.Dataset(np.zeros((4, 28, 28), np.uint8), letters, cases), cased=True)
    a, o = CLASS_NAMES.index("a"), CLASS_NAMES.index("o")
    assert targets.tolist() == [a + NUM_CLASSES, a + 2 * NUM_CLASSES, o, o]  # o's case is not learned
    assert training_targets(data.Dataset(np.zeros((4, 28, 28), np.uint8), letters), cased=True).tolist() == \
        letters.tolist()


def test_cased_loss_and_serving_outputs_agree_with_the_letters():
    import keras

    from handwritten_letters.training.model import CasedLetterLoss, LetterAndCase, letter_accuracy

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (5, NUM_CASED_CLASSES)).astype("float32")
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    letters, case = (keras.ops.convert_to_numpy(t) for t in LetterAndCase()(logits))
    expected = probabilities[:, :NUM_CLASSES] + probabilities[:, NUM_CLASSES:]
    assert np.allclose(keras.ops.convert_to_numpy(keras.ops.softmax(letters)), expected, atol=1e-5)
    assert np.allclose(case, logits[:, NUM_CLASSES:] - logits[:, :NUM_CLASSES], atol=1e-5)
    k = 4
    unknown, lower, upper = (np.array([k + NUM_CLASSES * c] * 5) for c in (0, 1, 2))
    loss = CasedLetterLoss(0.0)
    nll = lambda p: float(np.mean(-np.log(p)))  # noqa: E731
    assert float(loss(unknown, probabilities)) == pytest.approx(nll(expected[:, k]), rel=1e-4)
    assert float(loss(lower, probabilities)) == pytest.approx(nll(probabilities[:, k]), rel=1e-4)
    assert float(loss(upper, probabilities)) == pytest.approx(nll(probabilities[:, NUM_CLASSES + k]), rel=1e-4)
    right = keras.ops.convert_to_numpy(letter_accuracy(upper, probabilities))
    assert right.tolist() == (expected.argmax(1) == k).tolist()


def test_answers_name_the_case_and_either_where_both_share_a_shape():
    assert letter_case("a", 0.9) == (UPPER, 0.9)
    assert letter_case("g", 0.2) == (LOWER, pytest.approx(0.8))
    assert letter_case("o", 0.99) == (EITHER, None)
    assert in_case("a", UPPER) == "A" and in_case("a", LOWER) == "a" and in_case("o", EITHER) == "o"
    assert in_case(None, UPPER) is None


def test_a_case_head_gives_one_case_for_every_letter_and_the_letters_as_a_26_way_softmax():
    import keras

    from handwritten_letters.training.model import LetterAndCase, LettersTimesCase

    layer = LettersTimesCase()
    features = np.random.default_rng(1).normal(0, 1, (6, 16)).astype("float32")
    joint = keras.ops.convert_to_numpy(layer(features))
    scores = features @ keras.ops.convert_to_numpy(layer.kernel) + keras.ops.convert_to_numpy(layer.bias)
    assert np.allclose(np.exp(joint).sum(axis=1), 1.0, atol=1e-5)  # log-probabilities of the 52 pairs
    letters, case = (keras.ops.convert_to_numpy(t) for t in LetterAndCase()(joint))
    expected = np.exp(scores[:, :NUM_CLASSES]) / np.exp(scores[:, :NUM_CLASSES]).sum(axis=1, keepdims=True)
    assert np.allclose(keras.ops.convert_to_numpy(keras.ops.softmax(letters)), expected, atol=1e-5)
    assert np.allclose(case, np.repeat(scores[:, NUM_CLASSES:], NUM_CLASSES, axis=1), atol=1e-4)  # one case


def test_a_case_head_network_starts_from_a_26_letter_one_and_serves_case(tmp_path):
    import keras

    from handwritten_letters.training.model import build_model, is_cased, logits_model
    from handwritten_letters.training.train import start_from_weights

    letters_only = build_model("seed")
    letters_only.save(tmp_path / "letters.keras")
    headed = build_model("seed", cased=True, case_head=True)
    start_from_weights(headed, str(tmp_path / "letters.keras"))
    assert is_cased(headed)
    headed.save(tmp_path / "headed.keras")
    reloaded = keras.models.load_model(tmp_path / "headed.keras", compile=False)
    images = np.random.default_rng(2).integers(0, 255, (3, 28, 28)).astype("uint8")
    letters, case, features = (keras.ops.convert_to_numpy(t) for t in logits_model(reloaded)(images))
    assert letters.shape == (3, NUM_CLASSES) and case.shape == (3, NUM_CLASSES) and features.shape[0] == 3
    assert np.allclose(case, case[:, :1], atol=1e-4)  # one case for all letters (float32 rounding aside)
