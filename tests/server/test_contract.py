"""The OpenAPI contract and the server agree: `schemathesis run .../openapi.json --checks all` against a
running `letters serve`, as a client developer would run it, finds no failure (the project's
schemathesis.toml says which answers the image routes give to bytes no schema can judge)."""

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
pytestmark = [pytest.mark.slow, pytest.mark.skipif(SCHEMATHESIS is None, reason="needs schemathesis (dev extra)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def served(tmp_path):
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "letters"), "serve", "--port", str(port),
                               "--no-access-log", "--profiles-db", str(tmp_path / "profiles.sqlite")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(600):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1).status == 200:
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_schemathesis_finds_no_failure_against_a_running_server(served):
    result = subprocess.run([SCHEMATHESIS, "run", f"{served}/openapi.json", "--checks", "all", "--max-examples", "25",
                             "--seed", "7", "--no-color"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:]


def test_the_json_routes_document_their_bodies_and_feedbacks_403(served):
    import json

    schema = json.load(urllib.request.urlopen(f"{served}/openapi.json"))
    teach = schema["paths"]["/api/v1/profiles/{profile_id}/letters"]["post"]
    feedback = schema["paths"]["/api/v1/feedback"]["post"]
    assert set(teach["requestBody"]["content"]["application/json"]["schema"]["required"]) == {"image", "label"}
    assert "correct_label" in feedback["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert "403" in feedback["responses"]
    export = schema["paths"]["/api/v1/profiles/{profile_id}/export"]["get"]
    assert "application/zip" in export["responses"]["200"]["content"]
