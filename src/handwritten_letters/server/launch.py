"""Run `letters serve` as a child process on a free loopback port, until it is ready; for
benchmarks and tests that need a real server (several workers, signals, a real socket)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from typing import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(*options: str, stderr=subprocess.DEVNULL, timeout: float = 60.0
                   ) -> Iterator[tuple[str, subprocess.Popen]]:
    """(base URL, server process) once ``/ready`` answers 200; stopped with SIGTERM on exit."""
    import httpx

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "handwritten_letters.cli", "serve", "--port", str(port), *options],
                              stdout=subprocess.DEVNULL, stderr=stderr, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/ready", timeout=1).status_code == 200:
                    break
            if time.time() > deadline or server.poll() is not None:
                raise RuntimeError(f"letters serve {' '.join(options)} did not become ready")
            time.sleep(0.1)
        yield base, server
    finally:
        if server.poll() is None:
            server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
