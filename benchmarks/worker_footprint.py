"""What one serving worker costs: resident memory and time to ``/ready``, and what each part adds.

    python benchmarks/worker_footprint.py [--repeats 3]

1. ``letters serve`` with its defaults on a free loopback port: seconds from the start to the
   first ``/ready`` 200, then resident memory (RSS) after one letter and one word are read.
2. Each contributor on its own, in a fresh interpreter, in the order a worker meets them: the
   import (or load) it takes, with the RSS and seconds it adds to what came before.

Figures only (median of the repeats); measure on a quiet machine. Nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import letter_png  # noqa: E402

# (name, code run after the ones before it), in the order a worker meets them
STEPS = [
    ("python itself", "pass"),
    ("numpy", "import numpy"),
    ("Pillow", "import PIL.Image"),
    ("OpenCV", "import cv2"),
    ("ONNX Runtime", "import onnxruntime"),
    ("FastAPI + pydantic", "import fastapi, pydantic"),
    ("uvicorn", "import uvicorn"),
    ("prometheus-client", "import prometheus_client"),
    ("RapidFuzz", "import rapidfuzz.process"),
    ("the package's server modules", "import handwritten_letters.server.app"),
    ("letter model (ONNX session, warmed)", "from handwritten_letters.reading.recognize import Recognizer; "
                                            "import numpy as np; r = Recognizer(threads=1); "
                                            "r.predict_arrays(np.zeros((1, 28, 28), np.uint8))"),
    ("line model (ONNX session, warmed)", "from handwritten_letters.words.line_reader import TextReader; "
                                          "t = TextReader(recognizer=r, threads=1); t.warm_up()"),
    ("English word list", "from handwritten_letters.words.lexicon import Lexicon; Lexicon.english()"),
]

MEASURE = """
import resource, time, json, sys
def rss_mb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
rows = []
start = time.perf_counter()
for name, code in json.loads(sys.argv[1]):
    before_t, before_m = time.perf_counter(), rss_mb()
    exec(code, globals())
    rows.append([name, rss_mb() - before_m, time.perf_counter() - before_t])
print(json.dumps(rows))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def post(url: str, png: bytes) -> None:
    boundary = "----footprint"
    body = (f"--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
            f"content-type: image/png\r\n\r\n").encode() + png + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, body, {"content-type": f"multipart/form-data; boundary={boundary}"})
    urllib.request.urlopen(request, timeout=30).read()


def word_png() -> bytes:
    """Three letters side by side (l, o, w), drawn as the page draws."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("L", (240, 100), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(30, 10), (30, 85)], fill=0, width=6)
    draw.ellipse([60, 40, 110, 88], outline=0, width=6)
    draw.line([(130, 40), (145, 88), (160, 55), (175, 88), (190, 40)], fill=0, width=6)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def serve_once(letters: Path) -> tuple[float, float]:
    """Seconds to /ready and RSS (MB) after one letter and one word, for one `letters serve`."""
    port = free_port()
    profiles = Path(tempfile.mkdtemp()) / "profiles.sqlite"
    started = time.perf_counter()
    server = subprocess.Popen([str(letters), "serve", "--port", str(port), "--no-access-log",
                               "--profiles-db", str(profiles)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if server.poll() is not None:
                raise SystemExit("letters serve stopped before it was ready")
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.02)
        ready = time.perf_counter() - started
        post(f"http://127.0.0.1:{port}/api/v1/letters", letter_png())
        post(f"http://127.0.0.1:{port}/api/v1/words?lexicon=true", word_png())
        return ready, rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    letters = Path(sys.executable).parent / "letters"
    served = [serve_once(letters) for _ in range(args.repeats)]
    print(f"letters serve, defaults ({args.repeats} starts, median): /ready after "
          f"{statistics.median(s[0] for s in served):.2f} s; resident after one letter and one word "
          f"{statistics.median(s[1] for s in served):.0f} MB")
    runs = [json.loads(subprocess.run([sys.executable, "-c", MEASURE, json.dumps(STEPS)], capture_output=True,
                                      text=True, check=True).stdout) for _ in range(args.repeats)]
    print(f"\n{'contributor, in the order a worker meets it':<44}{'+RSS MB':>9}{'+seconds':>10}")
    for i, (name, _) in enumerate(STEPS):
        print(f"{name:<44}{statistics.median(r[i][1] for r in runs):>9.1f}"
              f"{statistics.median(r[i][2] for r in runs):>10.3f}")


if __name__ == "__main__":
    main()
