"""Load test of `letters serve` on 127.0.0.1: concurrent clients for a bounded time.

    python benchmarks/serve_load.py [--workers 1] [--clients 1 64] [--seconds 10]

For each client count: requests/s, latency p50/p99, errors, and the server's resident memory
(per worker). Targets (issue 5, 2 cores): single-client p50 <= 5 ms, >= 500 req/s and 0 errors
with 64 concurrent clients, RSS <= 150 MB per worker. The load generator shares the machine's
cores with the server, so figures are a floor. Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import psutil
from PIL import Image, ImageDraw


def letter_png() -> bytes:
    image = Image.new("L", (96, 96), 255)
    pen = ImageDraw.Draw(image)
    for line in (((20, 85), (48, 10)), ((48, 10), (76, 85)), ((30, 58), (66, 58))):
        pen.line(line, fill=0, width=7)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def run_clients(url: str, clients: int, seconds: float, payload: bytes) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        async def one_client():
            nonlocal errors
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                try:
                    response = await client.post(url, files={"file": ("a.png", payload, "image/png")})
                    ok = response.status_code == 200 and response.json()["label"] == "a"
                except (httpx.HTTPError, ValueError):
                    ok = False
                latencies.append(time.perf_counter() - start)
                errors += not ok
        await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies, errors


def server_rss_mb(process: psutil.Process) -> list[float]:
    children = process.children(recursive=True)
    workers = children or [process]
    return [p.memory_info().rss / 1e6 for p in workers]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "handwritten_letters.cli", "serve", "--port", str(port), "--workers", str(args.workers)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        payload = letter_png()
        process = psutil.Process(server.pid)
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
              f"server workers: {args.workers}; {args.seconds:.0f} s per level; POST /api/v1/letters (96x96 PNG)")
        print(f"{'clients':>7} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'RSS MB/worker':>14}")
        asyncio.run(run_clients(base + "/api/v1/letters", 4, 1.0, payload))  # warm-up
        for clients in args.clients:
            latencies, errors = asyncio.run(run_clients(base + "/api/v1/letters", clients, args.seconds, payload))
            ms = np.array(latencies) * 1000
            rss = server_rss_mb(process)
            print(f"{clients:>7} {len(ms):>9} {len(ms) / args.seconds:>8.0f} {np.percentile(ms, 50):>8.2f} "
                  f"{np.percentile(ms, 99):>8.2f} {errors:>7} {max(rss):>14.0f}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
