import tracemalloc

import numpy as np
import pytest
from helpers import SHARED, needs_shared_data, write_csv, write_idx, write_idx_pair
from hypothesis import given, settings
from hypothesis import strategies as st

from handwritten_letters.errors import DataFormatError
from handwritten_letters.training import data


def upright_samples(n=5, seed=1):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[:, 0, 5] = 255  # an asymmetric mark: orientation mistakes show up
    return images, rng.integers(1, 27, size=n)


# ----------------------------------------------------------------------------- CSV


@pytest.mark.parametrize("header", [False, True])
@pytest.mark.parametrize("name", ["train.csv", "train.csv.gz"])
def test_csv_rows_become_upright_images_and_zero_based_labels(tmp_path, header, name):
    upright, labels = upright_samples()
    path = write_csv(tmp_path / name, upright.transpose(0, 2, 1), labels, header=header)
    dataset = data.read_csv(path)
    assert dataset.images.dtype == np.uint8 and dataset.images.shape == (5, 28, 28)
    np.testing.assert_array_equal(dataset.images, upright)
    np.testing.assert_array_equal(dataset.labels, labels - 1)


def _csv_with_line(tmp_path, bad_line, row=3):
    upright, labels = upright_samples(5)
    path = write_csv(tmp_path / "bad.csv", upright, labels)
    lines = path.read_text().splitlines()
    lines[row - 1] = bad_line
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "bad_line, expected",
    [
        ("1,2,3", r"bad\.csv, line 3: expected 785 columns \(label \+ 784 pixels\), got 3"),
        ("1," + ",".join(["0"] * 783) + ",x", r"bad\.csv, line 3, column pixel783: expected an integer, got 'x'"),
        ("27," + ",".join(["0"] * 784), r"bad\.csv, line 3: label 27 is outside 1\.\.26"),
        ("0," + ",".join(["0"] * 784), r"bad\.csv, line 3: label 0 is outside 1\.\.26"),
        ("5," + ",".join(["0"] * 10 + ["300"] + ["0"] * 773), r"bad\.csv, line 3, column pixel10: pixel 300 is outside 0\.\.255"),
        ("5," + ",".join(["-1"] + ["0"] * 783), r"line 3, column pixel0: pixel -1 is outside 0\.\.255"),
    ],
)
def test_bad_csv_row_is_named_by_file_line_and_column(tmp_path, bad_line, expected):
    with pytest.raises(DataFormatError, match=expected):
        data.read_csv(_csv_with_line(tmp_path, bad_line))


def test_bad_row_in_a_later_chunk_has_its_true_line_number(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CSV_CHUNK_LINES", 2)
    with pytest.raises(DataFormatError, match="line 5: label 99"):
        data.read_csv(_csv_with_line(tmp_path, "99," + ",".join(["0"] * 784), row=5))


def test_empty_csv_is_refused(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataFormatError, match="empty.csv: empty file"):
        data.read_csv(tmp_path / "empty.csv")


def test_header_only_csv_is_refused_as_empty(tmp_path):
    (tmp_path / "h.csv").write_text("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n")
    with pytest.raises(DataFormatError, match="empty file"):
        data.read_csv(tmp_path / "h.csv")


def _peak_read_overhead(tmp_path, n):
    rng = np.random.default_rng(0)
    path = write_csv(tmp_path / f"big{n}.csv", rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8),
                     rng.integers(1, 27, size=n))
    tracemalloc.start()
    dataset = data.read_csv(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = dataset.images.nbytes + dataset.labels.nbytes
    return peak - result, result


def test_csv_reading_streams_with_a_bounded_overhead(tmp_path):
    small_overhead, _ = _peak_read_overhead(tmp_path, 1000)
    overhead, result = _peak_read_overhead(tmp_path, 16000)
    assert overhead < 0.5 * result, f"{overhead / 1e6:.1f} MB above {result / 1e6:.1f} MB of arrays"
    assert overhead < small_overhead + 1_000_000, "overhead grows with the file: not streaming"


# ----------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("gz", [True, False])
def test_idx_pair_is_read_upright(tmp_path, gz):
    upright, labels = upright_samples()
    images_path = write_idx_pair(tmp_path, "x-train", upright.transpose(0, 2, 1), labels, gz=gz)
    for given_path in (images_path, tmp_path / images_path.name.replace("images-idx3", "labels-idx1")):
        dataset = data.read_file(given_path)
        np.testing.assert_array_equal(dataset.images, upright)
        np.testing.assert_array_equal(dataset.labels, labels - 1)


def test_idx_bad_magic_is_named(tmp_path):
    upright, labels = upright_samples()
    path = write_idx_pair(tmp_path, "x-train", upright, labels)
    write_idx(path, upright, 2049)
    with pytest.raises(DataFormatError, match=r"x-train-images-idx3-ubyte.gz: bad IDX magic 2049, expected 2051"):
        data.read_idx(path)


def test_truncated_idx_names_the_record(tmp_path):
    upright, labels = upright_samples(5)
    path = write_idx_pair(tmp_path, "x-train", upright, labels, gz=False)
    path.write_bytes(path.read_bytes()[: 16 + 784 * 2 + 100])
    with pytest.raises(DataFormatError, match=r"truncated: header says 5 records, data ends in record 2"):
        data.read_idx(path)


def test_truncated_gzip_stream_is_a_clear_error(tmp_path):
    upright, labels = upright_samples(50)
    path = write_idx_pair(tmp_path, "x-train", upright, labels, gz=True)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DataFormatError, match="x-train-images-idx3-ubyte.gz"):
        data.read_idx(path)


def test_image_and_label_counts_must_match(tmp_path):
    upright, labels = upright_samples(5)
    path = write_idx_pair(tmp_path, "x-train", upright, labels)
    write_idx(tmp_path / "x-train-labels-idx1-ubyte.gz", labels[:4], 2049)
    with pytest.raises(DataFormatError, match="holds 5 images but .* holds 4 labels"):
        data.read_idx(path)


def test_idx_label_outside_range_names_the_record(tmp_path):
    upright, labels = upright_samples(5)
    labels[3] = 0
    path = write_idx_pair(tmp_path, "x-train", upright, labels)
    with pytest.raises(DataFormatError, match=r"record 3: label 0 is outside 1\.\.26"):
        data.read_idx(path)


def test_missing_labels_file_is_named(tmp_path):
    upright, labels = upright_samples()
    path = write_idx(tmp_path / "x-train-images-idx3-ubyte.gz", upright, 2051)
    with pytest.raises(DataFormatError, match="no matching .*labels-idx1-ubyte"):
        data.read_idx(path)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DataFormatError, match="nope.csv: no such file"):
        data.read_file(tmp_path / "nope.csv")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(DataFormatError, match="unknown data format"):
        data.read_file(tmp_path / "notes.txt")


# ----------------------------------------------------------------------------- directories, many files


def test_directory_reads_only_the_requested_split(tmp_path):
    a, la = upright_samples(3, seed=1)
    b, lb = upright_samples(4, seed=2)
    c, lc = upright_samples(5, seed=3)
    write_idx_pair(tmp_path, "emnist-letters-train", a, la)
    write_idx_pair(tmp_path, "extra-test-pool-train", b, lb)
    write_idx_pair(tmp_path, "emnist-letters-test", c, lc)
    assert len(data.load(tmp_path, split="train")) == 7
    assert len(data.load(tmp_path, split="test")) == 5


def test_several_files_are_concatenated_in_order(tmp_path):
    a, la = upright_samples(3, seed=1)
    b, lb = upright_samples(4, seed=2)
    pa = write_idx_pair(tmp_path, "a-train", a.transpose(0, 2, 1), la)
    pb = write_csv(tmp_path / "b-train.csv", b.transpose(0, 2, 1), lb)
    dataset = data.load([pa, pb])
    np.testing.assert_array_equal(dataset.images, np.concatenate([a, b]))
    np.testing.assert_array_equal(dataset.labels, np.concatenate([la, lb]) - 1)


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(2, 60), min_size=2, max_size=26),
    fraction=st.floats(0.05, 0.5),
    seed=st.integers(0, 10_000),
)
def test_stratified_split_is_a_seeded_partition_keeping_class_shares(counts, fraction, seed):
    labels = np.concatenate([np.full(n, c) for c, n in enumerate(counts)])
    train, val = data.stratified_split(labels, fraction, seed)
    assert np.intersect1d(train, val).size == 0
    assert np.union1d(train, val).size == len(labels)
    for c, n in enumerate(counts):
        n_val = (labels[val] == c).sum()
        assert 1 <= n_val <= n - 1
        assert abs(n_val - n * fraction) <= 1
    again = data.stratified_split(labels, fraction, seed)
    np.testing.assert_array_equal(again[1], val)


@needs_shared_data
def test_shared_training_directory_loads_all_training_files_and_no_test_file():
    dataset = data.load(SHARED, split="train")
    assert len(dataset) == 65_222
    assert dataset.class_counts().min() == 1037
    test = data.load(SHARED / "emnist-letters-test14800-images-idx3-ubyte.gz")
    assert len(test) == 14_800 and (test.class_counts()[:18] == 800).all()
