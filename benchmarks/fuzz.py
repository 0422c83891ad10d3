"""Fuzz the boundaries at scale and count outcomes: image bytes through `preprocess`, and random
requests to a real `letters serve` (uvicorn, loopback).

    python benchmarks/fuzz.py [--images 10000] [--requests 10000] [--workers 2] [--concurrency 8]

Prints counts by outcome. What must hold: preprocessing ends in a result or an
ImageError, never another exception; the server answers every request with 2xx or a JSON 4xx
within 5 s, never a 5xx, and is alive afterwards. Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import platform
import time
import warnings

import httpx
import numpy as np

from handwritten_letters.errors import ImageError
from handwritten_letters.fuzzing import image_bytes, mutated, request_for
from handwritten_letters.reading.preprocess import preprocess
from handwritten_letters.server.launch import running_server


def fuzz_images(count: int, seed: int) -> collections.Counter:
    outcomes: collections.Counter = collections.Counter()
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        try:
            result = preprocess(mutated(image_bytes(rng), rng), name=f"case {i}")
            outcomes["read" if result.rejected is None else "refused: not a letter"] += 1
        except ImageError as exc:
            outcomes[f"ImageError: {type(exc).__name__}"] += 1
        except Exception as exc:  # the defect this benchmark looks for
            outcomes[f"UNEXPECTED {type(exc).__name__} (seed {seed}, case {i})"] += 1
    return outcomes


def outcome_of(response: httpx.Response) -> str:
    """The status, and for an error its name, or whether its body is not the API's JSON error."""
    if response.status_code < 400:
        return str(response.status_code)
    try:
        body = response.json()
        kind = body["error"] if isinstance(body, dict) and set(body) == {"error", "detail"} else "NOT OUR JSON"
    except ValueError:
        kind = "NOT JSON"
    return f"{response.status_code} {kind}"


async def send(client: httpx.AsyncClient, method: str, url: str, kwargs: dict, outcomes: collections.Counter,
               latencies: list[float]) -> None:
    """One request: its outcome counted (``outcome_of``, or "NO ANSWER"), its latency kept."""
    started = time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        outcomes[f"NO ANSWER {type(exc).__name__}"] += 1
        return
    latencies.append(time.perf_counter() - started)
    outcomes[outcome_of(response)] += 1


async def fuzz_server(base: str, count: int, seed: int, concurrency: int) -> tuple[collections.Counter, list[float]]:
    outcomes: collections.Counter = collections.Counter()
    latencies: list[float] = []
    queue = iter(range(count))

    async def worker(client: httpx.AsyncClient):
        for i in queue:
            method, url, kwargs = request_for(np.random.default_rng([seed, i]))
            await send(client, method, base + url, kwargs, outcomes, latencies)

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return outcomes, latencies


def show(title: str, outcomes: collections.Counter) -> None:
    print(f"\n{title}: {sum(outcomes.values())} cases")
    for outcome, n in sorted(outcomes.items(), key=lambda kv: -kv[1]):
        print(f"  {n:>7}  {outcome}")


def main() -> None:
    warnings.filterwarnings("ignore", module="PIL")  # Pillow warns about each broken tag it skips
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; seed {args.seed}")

    started = time.perf_counter()
    image_outcomes = fuzz_images(args.images, args.seed)
    show(f"preprocess(image bytes) [{time.perf_counter() - started:.0f} s]", image_outcomes)
    with running_server("--workers", str(args.workers)) as (base, _):
        started = time.perf_counter()
        outcomes, latencies = asyncio.run(fuzz_server(base, args.requests, args.seed, args.concurrency))
        elapsed = time.perf_counter() - started
        alive = httpx.get(base + "/health", timeout=5).status_code == 200
    show(f"requests to {args.workers} server workers, {args.concurrency} at a time [{elapsed:.0f} s]", outcomes)
    ms = np.array(latencies) * 1000
    server_errors = sum(n for k, n in outcomes.items() if k[:1] == "5" or k.startswith("NO ANSWER"))
    print(f"\nlatency p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.0f} ms; "
          f"answered over 5 s: {(ms > 5000).sum()}; 5xx or no answer: {server_errors}; "
          f"server alive afterwards: {alive}")


if __name__ == "__main__":
    main()
