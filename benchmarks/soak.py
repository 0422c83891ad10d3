"""Soak test: many concurrent clients send a mix of good and bad requests to `letters serve`
(2 workers, loopback) for a while; counts statuses, checks every error is our JSON, and prints
p99 latency and the workers' memory before and after.

    python benchmarks/soak.py [--clients 500] [--seconds 60] [--workers 2]

What must hold: 0 5xx, every error JSON, RSS growth <= 10%. The clients share the
2 cores with the server, so latencies are a floor. Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import platform
import time

import httpx
import numpy as np
import psutil
from fuzz import send
from serve_load import letter_png, server_rss_mb

from handwritten_letters.fuzzing import request_for
from handwritten_letters.server.launch import running_server


async def soak(base: str, clients: int, seconds: float, seed: int) -> tuple[collections.Counter, list[float]]:
    outcomes: collections.Counter = collections.Counter()
    latencies: list[float] = []
    good = letter_png()
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        async def one_client(number: int):
            rng = np.random.default_rng([seed, number])
            while time.perf_counter() < deadline:
                if rng.random() < 0.5:
                    method, url, kwargs = "POST", "/api/v1/letters", {"files": {"file": ("a.png", good, "image/png")}}
                else:
                    method, url, kwargs = request_for(rng)
                await send(client, method, base + url, kwargs, outcomes, latencies)

        await asyncio.gather(*(one_client(i) for i in range(clients)))
    return outcomes, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warm-up", type=float, default=15.0, help="seconds at full load before measuring")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with running_server("--workers", str(args.workers)) as (base, server):
        process = psutil.Process(server.pid)
        # warm-up at full load: lazily loaded parts (the word list) and the allocator's high-water mark for
        # this many requests in flight are reached before "before" is read, so growth after it is a leak
        asyncio.run(soak(base, args.clients, args.warm_up, args.seed + 1))
        before = server_rss_mb(process)
        outcomes, latencies = asyncio.run(soak(base, args.clients, args.seconds, args.seed))
        after = server_rss_mb(process)
        alive = httpx.get(base + "/health", timeout=5).status_code == 200
    ms = np.array(latencies) * 1000
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; {args.workers} server "
          f"workers; {args.clients} clients for {args.seconds:.0f} s, half good letters, half fuzzed requests")
    print(f"requests answered: {len(ms)} ({len(ms) / args.seconds:.0f}/s); outcomes: "
          + ", ".join(f"{k}: {n}" for k, n in sorted(outcomes.items())))
    print(f"latency p50 {np.percentile(ms, 50):.0f} ms, p99 {np.percentile(ms, 99):.0f} ms, max {ms.max():.0f} ms")
    print("RSS per worker, MB: before " + " ".join(f"{v:.0f}" for v in before) + "; after "
          + " ".join(f"{v:.0f}" for v in after) + f"; growth {100 * (max(after) / max(before) - 1):+.1f}%")
    print(f"server alive afterwards: {alive}")


if __name__ == "__main__":
    main()
