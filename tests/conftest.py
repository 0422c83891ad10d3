"""Fixtures shared by the tests; helpers they share are in helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import letter_like_dataset, write_idx_pair


@pytest.fixture(scope="session")
def letter_like_files(tmp_path_factory) -> Path:
    """A directory with a generated training IDX pair (file orientation, labels 1..26)."""
    directory = tmp_path_factory.mktemp("letter_like")
    images, labels = letter_like_dataset(per_class=40)
    write_idx_pair(directory, "generated-train", images.transpose(0, 2, 1), labels + 1)
    return directory


@pytest.fixture(scope="session")
def trained_run(letter_like_files, tmp_path_factory):
    """One short training run on generated data, shared by the train/evaluate/export tests."""
    pytest.importorskip("keras", reason="needs the [train] extra")
    from handwritten_letters.training.train import TrainConfig, train

    out = tmp_path_factory.mktemp("run")
    config = TrainConfig(train_paths=[str(letter_like_files)], out_dir=str(out), val_fraction=0.25,
                         epochs=4, batch_size=32, seed=7, verbose=0)
    return config, train(config)
