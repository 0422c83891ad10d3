"""Load test of `letters serve` on 127.0.0.1: concurrent clients for a bounded time.

    python benchmarks/serve_load.py [--workers 1] [--clients 1 64] [--seconds 10]

For each client count: requests/s, latency p50/p99, errors, and the server's resident memory
(per worker). Targets (2 cores): single-client p50 <= 5 ms, >= 500 req/s and 0 errors
with 64 concurrent clients, RSS <= 150 MB per worker. The load generator shares the machine's
cores with the server, so figures are a floor. Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import subprocess
import tempfile
import time

import httpx
import numpy as np
import psutil
from PIL import Image, ImageDraw

from handwritten_letters.server.launch import running_server


def letter_png() -> bytes:
    image = Image.new("L", (96, 96), 255)
    pen = ImageDraw.Draw(image)
    for line in (((20, 85), (48, 10)), ((48, 10), (76, 85)), ((30, 58), (66, 58))):
        pen.line(line, fill=0, width=7)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


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


WRK_SCRIPT = """
local f = io.open("{body}", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "multipart/form-data; boundary={boundary}"
"""


def run_wrk(url: str, clients: int, seconds: float, payload: bytes, directory: str) -> tuple[int, float, float, int]:
    """wrk (C) as the load generator: far lighter than Python clients on the same 2 cores."""
    import re

    boundary = "letters-benchmark-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + payload + f"\r\n--{boundary}--\r\n".encode()
    body_path, script_path = os.path.join(directory, "body.bin"), os.path.join(directory, "post.lua")
    with open(body_path, "wb") as f:
        f.write(body)
    with open(script_path, "w") as f:
        f.write(WRK_SCRIPT.format(body=body_path, boundary=boundary))
    output = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{int(seconds)}s", "--latency", "-s", script_path, url],
                            capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", output).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", output)) else 0
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    return requests, ms("50%"), ms("99%"), errors


def server_rss_mb(process: psutil.Process) -> list[float]:
    children = process.children(recursive=True)
    workers = children or [process]
    return [p.memory_info().rss / 1e6 for p in workers]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--generator", choices=["python", "wrk"], default="python",
                        help="load generator: Python asyncio clients, or wrk (Debian package) if installed")
    args = parser.parse_args()

    with running_server("--workers", str(args.workers)) as (base, server):
        payload = letter_png()
        process = psutil.Process(server.pid)
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
              f"server workers: {args.workers}; {args.seconds:.0f} s per level; POST /api/v1/letters (96x96 PNG); "
              f"load generator: {args.generator}")
        print(f"{'clients':>7} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'RSS MB/worker':>14}")
        asyncio.run(run_clients(base + "/api/v1/letters", 4, 1.0, payload))  # warm-up
        for clients in args.clients:
            if args.generator == "wrk":
                with tempfile.TemporaryDirectory() as directory:
                    count, p50, p99, errors = run_wrk(base + "/api/v1/letters", clients, args.seconds, payload, directory)
            else:
                latencies, errors = asyncio.run(run_clients(base + "/api/v1/letters", clients, args.seconds, payload))
                ms = np.array(latencies) * 1000
                count, p50, p99 = len(ms), np.percentile(ms, 50), np.percentile(ms, 99)
            rss = server_rss_mb(process)
            print(f"{clients:>7} {count:>9} {count / args.seconds:>8.0f} {p50:>8.2f} {p99:>8.2f} {errors:>7} "
                  f"{max(rss):>14.0f}")


if __name__ == "__main__":
    main()
