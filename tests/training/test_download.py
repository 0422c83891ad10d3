"""`letters data download` against a local HTTP server (no internet here) that honours Range."""

import hashlib
import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from helpers import write_idx_pair
from typer.testing import CliRunner

from handwritten_letters.cli import app
from handwritten_letters.training import data, download
from handwritten_letters.training.download import DownloadError, download_letters


@pytest.fixture()
def letters_archive(tmp_path):
    """A small gzip.zip laid out like the official one, and the sha256 of each Letters member."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 30), ("test", 10)):
        write_idx_pair(tmp_path, f"emnist-letters-{split}", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                       rng.integers(1, 27, n))
    buffer = io.BytesIO()
    expected = {}
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("gzip/emnist-digits-train-images-idx3-ubyte.gz", b"not wanted")
        for path in sorted(tmp_path.glob("emnist-letters-*.gz")):
            archive.write(path, f"gzip/{path.name}")
            expected[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return buffer.getvalue(), expected


class ArchiveServer:
    def __init__(self, payload: bytes):
        self.payload = payload
        self.range_headers: list[str | None] = []
        self.cut_after: int | None = None  # drop the connection after this many bytes, once
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                requested = self.headers.get("Range")
                server.range_headers.append(requested)
                start = int(requested.split("=")[1].rstrip("-")) if requested else 0
                body = server.payload[start:]
                self.send_response(206 if requested else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_after is not None:
                    self.wfile.write(body[: server.cut_after])
                    server.cut_after = None
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/gzip.zip"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture()
def server(letters_archive):
    s = ArchiveServer(letters_archive[0])
    yield s
    s.close()


def test_download_extracts_and_verifies_only_the_letters_files(tmp_path, server, letters_archive):
    dest = tmp_path / "cache"
    files = download_letters(dest, server.url, letters_archive[1])
    assert sorted(f.name for f in files) == sorted(letters_archive[1])
    assert sorted(p.name for p in dest.iterdir()) == sorted(letters_archive[1])  # archive removed, no digits
    assert len(data.load(dest, split="train")) == 30
    assert len(data.load(dest, split="test")) == 10


def test_interrupted_download_resumes_with_a_range_request(tmp_path, server, letters_archive):
    dest = tmp_path / "cache"
    server.cut_after = 1000
    with pytest.raises(DownloadError, match="run the command again to resume"):
        download_letters(dest, server.url, letters_archive[1])
    assert (dest / "emnist-gzip.zip.part").stat().st_size == 1000
    download_letters(dest, server.url, letters_archive[1])
    assert server.range_headers == [None, "bytes=1000-"]
    assert len(data.load(dest, split="train")) == 30


def test_checksum_mismatch_keeps_no_file(tmp_path, server, letters_archive):
    wrong = {name: "0" * 64 for name in letters_archive[1]}
    dest = tmp_path / "cache"
    with pytest.raises(DownloadError, match="has sha256 .* expected 0000"):
        download_letters(dest, server.url, wrong)
    assert not list(dest.glob("emnist-letters-*"))


def test_unreachable_server_is_a_one_line_cli_error(tmp_path):
    result = CliRunner().invoke(app, ["data", "download", "--dest", str(tmp_path), "--url", "http://127.0.0.1:9/x.zip"])
    assert isinstance(result.exception, DownloadError)
    assert "cannot connect" in str(result.exception)


def test_cli_download_uses_the_official_file_list(tmp_path, server, letters_archive, monkeypatch):
    monkeypatch.setattr(download, "LETTERS_FILES", letters_archive[1])
    result = CliRunner().invoke(app, ["data", "download", "--dest", str(tmp_path / "d"), "--url", server.url])
    assert result.exit_code == 0, result.output
    assert "emnist-letters-train-images-idx3-ubyte.gz" in result.output
