"""Start `letters serve` on a free loopback port for a benchmark, and stop it afterwards."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from typing import Iterator

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(workers: int = 1, *options: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """(base URL, server process), once /health answers; terminated (SIGTERM) on exit."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "handwritten_letters.cli", "serve", "--port", str(port), "--workers", str(workers),
         *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        yield base, server
    finally:
        server.terminate()
        server.wait(timeout=30)
