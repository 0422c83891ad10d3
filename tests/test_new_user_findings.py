"""What a new user met, each through the command, the API or the server as they met it."""

import json
import logging
import socket
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from helpers import letter_png

from handwritten_letters.reading.calibration import wilson_interval
from handwritten_letters.server.app import create_app

X = (((20, 15), (80, 90)), ((80, 15), (20, 90)))
A = (((20, 90), (50, 10)), ((50, 10), (80, 90)), ((32, 58), (68, 58)))


def letters(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "handwritten_letters.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def data_url(png: bytes) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(png).decode()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from handwritten_letters.server.settings import ServeSettings

    db = tmp_path_factory.mktemp("profiles") / "profiles.sqlite"
    with TestClient(create_app(settings=ServeSettings(profiles_db=str(db)))) as c:
        yield c


def letter_folder(root, header="filename,label"):
    root.mkdir()
    rows = []
    for label, strokes in (("a", A), ("x", X)):
        for k in range(2):
            name = f"{label}{k}.png"
            (root / name).write_bytes(letter_png(strokes, size=90 + 20 * k))
            rows.append(f"{name},{label}")
    (root / "labels.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    return root


def test_finetune_reads_a_labels_csv_whose_file_column_is_path(tmp_path):
    result = letters("finetune", letter_folder(tmp_path / "mine", "path,label"), "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert "4 letters read" in result.stdout and "2 letters taught" in result.stdout


def test_finetune_names_an_unknown_header_and_what_it_expects(tmp_path):
    result = letters("finetune", letter_folder(tmp_path / "mine", "image_name,letter"), "--out", tmp_path / "run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "header image_name,letter" in result.stderr and "filename or path" in result.stderr


def test_finetune_names_the_files_it_could_not_read_when_none_could_be(tmp_path):
    (tmp_path / "mine" / "a").mkdir(parents=True)
    (tmp_path / "mine" / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = letters("finetune", tmp_path / "mine", "--out", tmp_path / "run")
    assert result.returncode == 1, result.stderr  # nothing to read: as `letters predict` on such a folder
    assert "broken.png" in result.stderr and "no readable letters" in result.stderr


def test_finetune_on_an_empty_folder_exits_as_predict_does(tmp_path):
    (tmp_path / "empty").mkdir()
    assert letters("finetune", tmp_path / "empty", "--out", tmp_path / "run").returncode == \
        letters("predict", tmp_path / "empty").returncode == 1


def test_plurals_and_the_capital_folders_are_said_right(tmp_path):
    root = tmp_path / "mine"
    (root / "a").mkdir(parents=True)
    (root / "zz").mkdir()
    (root / "a" / "0.png").write_bytes(letter_png(A))
    (root / "zz" / "0.png").write_bytes(letter_png(X))
    result = letters("finetune", root, "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert "1 letter read" in result.stdout and "1 letter taught" in result.stdout
    assert "letters taught" not in result.stdout and "1 letters" not in result.stderr + result.stdout
    assert "not one letter a-z or A-Z" in result.stderr


def test_out_json_writes_json_and_out_csv_writes_csv(tmp_path):
    (tmp_path / "a.png").write_bytes(letter_png())
    assert letters("predict", tmp_path / "a.png", "--out", tmp_path / "r.json").returncode == 0
    assert json.loads((tmp_path / "r.json").read_text())[0]["label"] == "a"
    assert letters("predict", tmp_path / "a.png", "--out", tmp_path / "r.csv").returncode == 0
    assert (tmp_path / "r.csv").read_text().startswith("path,label,")
    clash = letters("predict", tmp_path / "a.png", "--format", "csv", "--out", tmp_path / "r2.json")
    assert clash.returncode == 2 and "--format csv" in clash.stderr


def test_parquet_names_the_small_extra_it_needs(tmp_path):
    (tmp_path / "a.png").write_bytes(letter_png())
    code = ("import sys; sys.modules['pyarrow'] = None; from handwritten_letters.cli import main; "
            f"sys.argv = ['letters', 'predict', {str(tmp_path / 'a.png')!r}, '--out', {str(tmp_path / 'r.parquet')!r}]; "
            "main()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "[parquet]" in result.stderr and "[ray]" not in result.stderr


def test_the_version_is_one_flag_away():
    result = letters("--version")
    assert result.returncode == 0 and result.stdout.startswith("handwritten-letters ")


def test_serve_on_a_busy_port_says_so_before_announcing_an_address():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = letters("serve", "--port", port)
    assert result.returncode == 2 and "already in use" in result.stderr
    assert "open http" not in result.stderr and "Traceback" not in result.stderr


def test_read_names_the_file_on_every_line_of_a_reading(tmp_path):
    from PIL import Image, ImageDraw

    image = Image.new("L", (300, 260), 255)
    draw = ImageDraw.Draw(image)
    for top in (20, 150):  # two lines of ink: l o
        draw.line([(40, top), (40, top + 80)], fill=0, width=7)
        draw.ellipse([70, top + 30, 120, top + 80], outline=0, width=7)
    image.save(tmp_path / "two-lines.png")
    (tmp_path / "b.png").write_bytes(letter_png())
    result = letters("read", tmp_path / "two-lines.png", tmp_path / "b.png")
    lines = [line for line in result.stdout.splitlines() if line]
    assert all(line.split("\t")[0].endswith((".png",)) for line in lines), result.stdout


def test_the_upper_bound_of_a_perfect_score_is_one():
    assert wilson_interval(100, 100)[1] == 1.0 and wilson_interval(0, 100)[0] == 0.0


def test_top_k_in_the_query_is_honoured(client):
    body = client.post("/api/v1/letters?top_k=5", json={"image": data_url(letter_png())}).json()
    assert len(body["top_k"]) == 5
    assert client.post("/api/v1/letters?top_k=99", json={"image": data_url(letter_png())}).status_code == 422


def test_teaching_a_capital_counts_it_as_a_capital(client):
    profile = client.post("/api/v1/profiles").json()["id"]
    taught = client.post(f"/api/v1/profiles/{profile}/letters", json={"image": data_url(letter_png(A)), "label": "A"})
    assert taught.status_code == 200, taught.text
    assert taught.json()["per_letter"] == {"A": 1}


def test_the_access_log_names_profile_routes_by_their_template(client, caplog):
    profile = client.post("/api/v1/profiles").json()["id"]
    with caplog.at_level(logging.INFO, logger="handwritten_letters.access"):
        client.get(f"/api/v1/profiles/{profile}")
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "/api/v1/profiles/{profile_id}" in logged and profile not in logged.replace(profile + "\"", "")


def test_the_api_says_it_reads_capitals_and_words(client):
    description = client.get("/openapi.json").json()["info"]["description"]
    assert "a-z" not in description or "A-Z" in description
    assert "word" in description


def test_the_table_shows_a_capitals_best_candidate_as_a_capital(tmp_path):
    (tmp_path / "a.png").write_bytes(letter_png())  # letter_png draws a capital A
    result = letters("predict", tmp_path / "a.png")
    answer = result.stdout.split("\t")[1]
    assert answer.startswith("A ") and "[A:" in answer and "a:" not in answer.split("[")[1].split()[0]


def test_all_letters_measurable_is_said_so(tmp_path):
    root = tmp_path / "mine"
    for label in ("a", "x"):
        (root / label).mkdir(parents=True)
        for k in range(2):
            (root / label / f"{k}.png").write_bytes(letter_png(A if label == "a" else X, size=90 + 20 * k))
    result = letters("finetune", root, "--out", tmp_path / "run")
    assert "all 4 of your letters can be measured" in result.stderr and "of your 4 letters" not in result.stderr


@pytest.mark.parametrize("command", [("read",), ("predict",), ("data", "info")])
def test_help_names_file_arguments_as_a_user_gives_them(command):
    shown = letters(*command, "--help").stdout
    assert "list[" not in shown and "PATH <files or folders>" in shown
