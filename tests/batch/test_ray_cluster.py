"""`letters predict --engine ray --address` joins a real cluster started the way Ray users start one
(`ray start --head`, then `ray start --address` on a second node; Ray's defaults, token
authentication included), and reads what the local engine reads."""

import csv
import io
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import letter_png

pytest.importorskip("ray", reason="needs the [ray] extra")
pytestmark = pytest.mark.slow
RAY = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")


def users_shell(home: Path) -> dict[str, str]:
    """The environment of a user's shell: Ray's defaults. An in-process `ray.init` (the other Ray
    tests) turns token authentication on by setting RAY_AUTH_MODE in this process's environment."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    return {**inherited, "HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_head(port: int, temp_dir: str, environment: dict[str, str]) -> None:
    head = subprocess.run([RAY, "start", "--head", "--port", str(port), "--include-dashboard=false",
                           "--temp-dir", temp_dir, "--num-cpus", "1", "--node-ip-address", "127.0.0.1",
                           "--disable-usage-stats"], env=environment, capture_output=True, text=True, timeout=180)
    assert head.returncode == 0, head.stderr[-2000:]


@pytest.fixture()
def cluster(tmp_path):
    """A head and a second node on the loopback, each with one CPU; stopped by its processes afterwards."""
    port = free_port()
    home = tmp_path / "home"  # Ray's token file, if its defaults make one, stays in this test
    home.mkdir()
    environment = users_shell(home)
    temp_dir = f"/tmp/ray-test-{port}"  # short: Ray's socket paths must stay under 107 characters
    common = ["--num-cpus", "1", "--node-ip-address", "127.0.0.1", "--disable-usage-stats"]
    started = []
    try:
        head = subprocess.run([RAY, "start", "--head", "--port", str(port), "--include-dashboard=false",
                               "--temp-dir", temp_dir, *common], env=environment, capture_output=True, text=True,
                              timeout=180)
        assert head.returncode == 0, head.stderr[-2000:]
        started.append("head")
        node = subprocess.run([RAY, "start", "--address", f"127.0.0.1:{port}", *common], env=environment,
                              capture_output=True, text=True, timeout=180)
        assert node.returncode == 0, node.stderr[-2000:]
        yield f"127.0.0.1:{port}", environment
    finally:
        if started:
            stop_processes_of(temp_dir, port)
        shutil.rmtree(temp_dir, ignore_errors=True)


def stop_processes_of(temp_dir: str, port: int) -> None:
    """Stop this cluster's processes only (`ray stop` would stop every Ray on the machine): those whose
    command line names its temporary folder or its head's port, and their children."""
    import psutil

    def ours_by(cmdline: list[str]) -> bool:
        return any(temp_dir in part or part.endswith(f":{port}") for part in cmdline)

    ours = [p for p in psutil.process_iter(["cmdline"]) if ours_by(p.info["cmdline"] or [])]
    everyone = {p.pid: p for p in ours}
    for process in ours:
        try:
            everyone.update({child.pid: child for child in process.children(recursive=True)})
        except psutil.NoSuchProcess:
            pass
    for process in everyone.values():
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(list(everyone.values()), timeout=20)
    for process in alive:
        process.kill()


def rows(result) -> list[dict]:
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_a_cluster_started_with_ray_start_is_joined_and_reads_as_the_local_engine(cluster, tmp_path):
    address, environment = cluster
    folder = tmp_path / "letters"
    folder.mkdir()
    for i in range(12):
        (folder / f"{i:02d}.png").write_bytes(letter_png(size=60 + 10 * i))
    (folder / "broken.png").write_bytes(b"not an image")
    command = [sys.executable, "-m", "handwritten_letters.cli", "predict", "--format", "csv", str(folder)]
    on_cluster = rows(subprocess.run([*command, "--engine", "ray", "--address", address], env=environment,
                                     capture_output=True, text=True, timeout=600))
    local = rows(subprocess.run(command, capture_output=True, text=True, timeout=300))
    assert len(on_cluster) == len(local) == 13
    assert [(r["path"], r["label"], r["case"], r["confidence"], bool(r["error"])) for r in on_cluster] == \
        [(r["path"], r["label"], r["case"], r["confidence"], bool(r["error"])) for r in local]


def test_an_unreachable_cluster_is_one_line_saying_what_to_set(tmp_path):
    (tmp_path / "a.png").write_bytes(letter_png())
    environment = users_shell(tmp_path)
    result = subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "predict", "--engine", "ray",
                             "--address", f"127.0.0.1:{free_port()}", str(tmp_path / "a.png")], env=environment,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot join the Ray cluster" in errors[0] and "RAY_AUTH_MODE=token" in errors[0]
    assert "Traceback" not in result.stderr


def generated_token(home: Path) -> str:
    made = subprocess.run([RAY, "get-auth-token", "--generate"], env=users_shell(home), capture_output=True,
                          text=True, timeout=120)
    assert made.returncode == 0, made.stderr[-2000:]
    return made.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("token", ["file before ray start", "RAY_AUTH_TOKEN", "none"])
def test_a_fresh_shell_joins_a_cluster_as_its_user_started_it(token, tmp_path):
    """`ray start --head` run as a user runs it: with a token file already in HOME (Ray's own local start
    writes one), with RAY_AUTH_TOKEN set, or with no token at all; then `letters predict --address` from a
    new shell with that HOME and nothing else set."""
    home = tmp_path / "home"
    home.mkdir()
    head_environment = users_shell(home)
    shell = users_shell(home)
    if token == "file before ray start":
        generated_token(home)
        assert (home / ".ray" / "auth_token").exists()
    elif token == "RAY_AUTH_TOKEN":
        secret = "letters-test-token-0123456789abcdef0123456789abcdef"
        head_environment.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secret)
        shell["RAY_AUTH_TOKEN"] = secret
    port = free_port()
    temp_dir = f"/tmp/ray-test-{port}"
    try:
        start_head(port, temp_dir, head_environment)
        (tmp_path / "a.png").write_bytes(letter_png())
        result = subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "predict", "--format", "csv",
                                 "--engine", "ray", "--address", f"127.0.0.1:{port}", str(tmp_path / "a.png")],
                                env=shell, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
        assert [row["label"] for row in rows(result)] == ["a"]
    finally:
        stop_processes_of(temp_dir, port)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_a_wrong_token_is_one_line_saying_what_to_set(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    temp_dir = f"/tmp/ray-test-{port}"
    try:
        start_head(port, temp_dir, {**users_shell(home), "RAY_AUTH_MODE": "token",
                                    "RAY_AUTH_TOKEN": "right-token-0123456789abcdef0123456789abcdef"})
        (tmp_path / "a.png").write_bytes(letter_png())
        result = subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "predict", "--engine", "ray",
                                 "--address", f"127.0.0.1:{port}", str(tmp_path / "a.png")],
                                env={**users_shell(home), "RAY_AUTH_TOKEN": "wrong-token-0123456789abcdef0123456789ab"},
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 2, result.stderr[-2000:]
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "RAY_AUTH_TOKEN" in errors[0], result.stderr[-2000:]
        assert "Traceback" not in result.stderr
    finally:
        stop_processes_of(temp_dir, port)
        shutil.rmtree(temp_dir, ignore_errors=True)
