"""Where the time of one API request goes, measured in-process (no network, no HTTP client).

    python benchmarks/serve_overhead.py [--repeats 2000]

The app is called as ASGI with a prepared request, so the figures are the server's own: the
whole request to ``/api/v1/letters`` (multipart upload and JSON data URL) against the work
inside it (decode, preprocess, model, the response's 28x28 PNG), and the parts of the rest:
multipart parsing, JSON encoding of the answer, and the hop to the thread pool. Figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from inference import as_png, sample_letters  # noqa: E402

from handwritten_letters.server.app import create_app  # noqa: E402
from handwritten_letters.server.routes import json_response, png_data_url  # noqa: E402
from handwritten_letters.server.schemas import LetterResult  # noqa: E402


def multipart(png: bytes) -> tuple[bytes, bytes]:
    boundary = b"----letters0123456789"
    body = (b"--" + boundary + b'\r\ncontent-disposition: form-data; name="file"; filename="a.png"\r\n'
            b"content-type: image/png\r\n\r\n" + png + b"\r\n--" + boundary + b"--\r\n")
    return body, b"multipart/form-data; boundary=" + boundary


async def call(app, path: str, body: bytes, content_type: bytes) -> int:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"bench"), (b"content-type", content_type),
                         (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    sent = False
    status = 0

    async def receive():
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def p50(timings: list[float]) -> float:
    return float(np.median(timings) * 1000)


async def measure(app, repeats: int, png: bytes) -> None:
    recognizer = app.state.recognizer
    upload, upload_type = multipart(png)
    data_url = json.dumps({"image": "data:image/png;base64," + base64.b64encode(png).decode()}).encode()

    async def timed(coroutine_factory) -> float:
        for _ in range(50):
            await coroutine_factory()
        timings = []
        for _ in range(repeats):
            start = time.perf_counter()
            await coroutine_factory()
            timings.append(time.perf_counter() - start)
        return p50(timings)

    def work():
        prediction = recognizer.predict([png], top_k=3)[0]
        return LetterResult.of(prediction, png_data_url(prediction.pixels))

    async def work_async():
        work()

    result = work()
    rows = [
        ("whole request, multipart upload", await timed(lambda: call(app, "/api/v1/letters", upload, upload_type))),
        ("whole request, JSON data URL", await timed(lambda: call(app, "/api/v1/letters", data_url, b"application/json"))),
        ("the work: decode + preprocess + model + 28x28 PNG", await timed(work_async)),
    ]

    async def noop_hop():
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(lambda: None)

    async def encode():
        json_response(result)

    rows += [("  thread-pool hop (empty function)", await timed(noop_hop)),
             ("  JSON encoding of the answer", await timed(encode))]
    print(f"{'one letter, 128x128 PNG, in-process ASGI':<56} {'p50 ms':>8}")
    for name, value in rows:
        print(f"{name:<56} {value:>8.3f}")
    print(f"overhead of the upload request over its work: {rows[0][1] - rows[2][1]:.3f} ms "
          f"({(rows[0][1] - rows[2][1]) / rows[2][1]:.0%} of the work)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2000)
    args = parser.parse_args()
    app = create_app()
    png = as_png(sample_letters(1)[0])
    assert asyncio.run(call(app, "/api/v1/letters", *multipart(png))) == 200
    asyncio.run(measure(app, args.repeats, png))


if __name__ == "__main__":
    main()
