"""The walkthrough notebook runs top to bottom on a small slice of the shared data."""

import json
from pathlib import Path

import pytest
from helpers import SHARED, needs_shared_data

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "walkthrough.ipynb"


def test_committed_notebook_has_no_outputs():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    assert all(not c.get("outputs") and not c.get("execution_count") for c in cells if c["cell_type"] == "code")


@pytest.mark.slow
@needs_shared_data
def test_walkthrough_executes(tmp_path, monkeypatch):
    pytest.importorskip("keras")
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    monkeypatch.setenv("LETTERS_TRAIN", str(SHARED / "emnist-letters-train-rec085264-088799-images-idx3-ubyte.gz"))
    monkeypatch.setenv("LETTERS_LIMIT", "2000")
    monkeypatch.setenv("LETTERS_EPOCHS", "2")
    monkeypatch.setenv("LETTERS_RUNS", str(tmp_path / "runs"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    assert (tmp_path / "runs" / "Best_Model.keras").exists()
    assert (tmp_path / "runs" / "evaluation" / "report.json").exists()
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
