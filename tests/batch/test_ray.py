"""`letters predict --engine ray` on a local Ray instance: the same answers as the local engine."""

import csv
import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

ray = pytest.importorskip("ray", reason="needs the [ray] extra")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_instance():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def letters_folder(tmp_path_factory):
    """300 drawn letter-like images in nested folders, plus bad files."""
    folder = tmp_path_factory.mktemp("ray-letters")
    rng = np.random.default_rng(0)
    for i in range(300):
        image = Image.new("L", (96, 96), 255)
        pen = ImageDraw.Draw(image)
        for _ in range(int(rng.integers(1, 4))):
            pen.line([tuple(int(v) for v in rng.integers(10, 86, 2)) for _ in range(3)], fill=0, width=7)
        sub = folder / "good" / f"part{i % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        image.save(sub / f"{i:03d}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    (folder / "empty.jpg").write_bytes(b"")
    return folder


def rows_by_name(text):
    return {r["path"].rsplit("/", 1)[1]: r for r in csv.DictReader(io.StringIO(text))}


def test_ray_engine_gives_the_local_engines_answers_and_error_rows(ray_instance, letters_folder, tmp_path):
    from handwritten_letters.batch.predict_files import run_predict, write_output
    from handwritten_letters.batch.ray_engine import iter_rows, predict_with_ray

    local_csv, ray_csv = tmp_path / "local.csv", tmp_path / "ray.csv"
    assert run_predict([letters_folder], None, 3, "csv", local_csv) == 2
    assert write_output(iter_rows(predict_with_ray([str(letters_folder)], actors=2)), "csv", ray_csv) == 2
    local, remote = rows_by_name(local_csv.read_text()), rows_by_name(ray_csv.read_text())
    assert len(local) == len(remote) == 302
    assert {n: r["label"] for n, r in local.items()} == {n: r["label"] for n, r in remote.items()}
    assert {n: r["confidence"] for n, r in local.items()} == {n: r["confidence"] for n, r in remote.items()}
    assert remote["broken.png"]["error"] == local["broken.png"]["error"] and "empty" in remote["empty.jpg"]["error"]


def test_ray_engine_writes_parquet_one_row_per_input(ray_instance, letters_folder, tmp_path):
    import pandas as pd

    from handwritten_letters.batch.predict_files import write_output
    from handwritten_letters.batch.ray_engine import iter_rows, predict_with_ray

    out = tmp_path / "results.parquet"
    write_output(iter_rows(predict_with_ray([str(letters_folder)], actors=1)), "csv", out)
    table = pd.read_parquet(out)
    assert len(table) == 302 and list(table.columns) == ["path", "label", "case", "case_probability", "confidence",
                                                         "top_k", "rejected", "reason", "error", "verdict"]
    assert table["error"].notna().sum() == 2


def test_the_cli_on_ray_reads_300_letters_as_the_local_engine_does(letters_folder):
    def cli(*options):
        return subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "predict", "--format", "csv",
                               *options, str(letters_folder / "good")], capture_output=True, text=True, timeout=300)

    on_ray, local = cli("--engine", "ray"), cli()
    assert on_ray.returncode == local.returncode == 0, on_ray.stderr[-2000:]
    assert "Traceback" not in on_ray.stderr
    ray_rows, local_rows = rows_by_name(on_ray.stdout), rows_by_name(local.stdout)
    assert len(ray_rows) == 300
    assert {n: r["label"] for n, r in ray_rows.items()} == {n: r["label"] for n, r in local_rows.items()}
