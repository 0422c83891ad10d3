"""Inference speed, every figure beside its baselines measured in this one run on this machine.

    python benchmarks/inference.py [--model M.onnx] [--compare OTHER.onnx] [--repeats 1000] [--sizes-only]

Prints:
- time against image size: one letter on paper (``photo_scenes``: a clean grey scan as PNG, a
  grainy colour photo as PNG and as JPEG) from 64 px to 12 MP, end to end with 1 thread, beside
  the full-resolution path (the preprocessing as of FULL_RESOLUTION, loaded from git), and the
  ratios the goals name: a 4000x3000 JPEG over the same scene at 128 px (goal <= 10x), a
  2048x2048 PNG over 128 px (goal <= 12x);
- one letter, end to end (128x128 PNG bytes -> decode -> preprocess -> ONNX Runtime -> answer),
  1 thread, p50 and p99; beside it the bare ONNX Runtime call on the letter's 28x28 (ratio;
  the goal is <= 1.6x) and decode + preprocess now vs the previous preprocessing path
  (``preprocess.py`` as of PREVIOUS_PREPROCESS, loaded from git);
- the same network in Keras (the bundled letters-cnn.keras, needs the [train] extra): the seed
  notebook's ``model.predict``, and the fair baselines ``predict_on_batch`` and
  ``model(x, training=False)``, as ratios to ONNX Runtime;
- ONNX Runtime session options (intra-op threads, graph optimisation level; with ``--compare``,
  the same for another export, e.g. float32 vs int8): single-letter p50 and batch throughput, so
  the defaults are chosen by measurement;
- batch throughput (28x28 arrays; PNG files end to end) and the cold start of
  ``letters predict one.png``.
Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from handwritten_letters.reading.preprocess import decode_grey, preprocess, preprocess_grey
from handwritten_letters.reading.recognize import Recognizer

ROOT = Path(__file__).resolve().parents[1]
PREVIOUS_PREPROCESS = "c4c9549"  # the last commit before preprocessing moved to OpenCV
FULL_RESOLUTION = "2aa80b0"  # the last commit that read every letter at up to 1024 px
SIZES = [(64, 64), (128, 128), (256, 256), (512, 512), (1024, 1024), (2048, 2048), (4000, 3000)]
SHARED_TRAIN = (Path(__file__).resolve().parents[2] / "shared" / "data" / "emnist-letters"
                / "emnist-letters-train-rec085264-088799-images-idx3-ubyte.gz")


def sample_letters(n: int) -> np.ndarray:
    """Real EMNIST training letters when the shared data is here, else a drawn stroke pattern."""
    if SHARED_TRAIN.exists():
        from handwritten_letters.training.data import read_file

        images = read_file(SHARED_TRAIN).images
        return images[np.arange(n) % len(images)]
    rng = np.random.default_rng(0)
    images = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        images[i, 4:24, 12 + rng.integers(-2, 3)] = 255
        images[i, 4 + rng.integers(0, 4), 6:22] = 255
    return images


def as_png(letter: np.ndarray, size: int = 128) -> bytes:
    """A letter as a person's image: black ink on white paper, size x size pixels."""
    buffer = io.BytesIO()
    Image.fromarray(255 - letter).resize((size, size), Image.BICUBIC).save(buffer, "PNG")
    return buffer.getvalue()


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ms = np.array(seconds) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def time_each(function, repeats: int) -> list[float]:
    for _ in range(min(20, repeats)):
        function()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return timings


def previous_preprocess(commit: str = PREVIOUS_PREPROCESS, where: str = "src/handwritten_letters/preprocess.py"):
    """preprocess() as it was at ``commit``, from git (None outside a git checkout)."""
    try:
        source = subprocess.run(["git", "show", f"{commit}:{where}"],
                                cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / f"preprocess_{commit}.py"
    path.write_text(source)
    package = where.removeprefix("src/").removesuffix(".py").replace("/", ".").rsplit(".", 1)[0]
    spec = importlib.util.spec_from_file_location(f"{package}.preprocess_{commit}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.preprocess


def ort_session(path: Path, threads: int, level: str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


KINDS = {  # name: (format, paper grain, colour)
    "scan PNG, grey": ("PNG", 0.0, "L"),
    "photo PNG, colour": ("PNG", 4.0, "RGB"),
    "photo JPEG q90": ("JPEG", 4.0, "RGB"),
}


def time_against_size(single: Recognizer, repeats: int) -> None:
    """One letter per image size and kind, end to end, now and on the full-resolution path."""
    from photo_scenes import encoded, scene

    full = previous_preprocess(FULL_RESOLUTION, "src/handwritten_letters/reading/preprocess.py")
    letter = sample_letters(1)[0]
    print(f"\n{'one letter against image size, 1 thread':<40} {'bytes':>11} {'now ms':>8} {'full-res ms':>12} {'faster':>7}")
    times = {}
    for size in SIZES:
        for kind, (image_format, grain, colour) in KINDS.items():
            picture = scene(letter, size, 0.3, np.random.default_rng(0), grain).convert(colour)
            image = encoded(picture, image_format)
            count = max(5, min(repeats, int(2000 / max(1, size[0] * size[1] / 65536))))
            now = percentiles(time_each(lambda image=image: single.predict([image], top_k=3), count))[0]
            before = percentiles(time_each(lambda image=image: single.predict_preprocessed([full(image)], 3), count))[0] \
                if full else float("nan")
            times[size, kind] = now
            label = f"{size[0]}x{size[1]} {kind}"
            print(f"{label:<40} {len(image):>11,} {now:>8.2f} {before:>12.2f} {before / now:>6.1f}x")
    for kind in KINDS:
        large = (4000, 3000) if "JPEG" in kind else (2048, 2048)
        goal = 10 if "JPEG" in kind else 12
        print(f"ratio {large[0]}x{large[1]} / 128x128, {kind}, same scene: "
              f"{times[large, kind] / times[(128, 128), kind]:.1f}x (goal <= {goal}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default: bundled)")
    parser.add_argument("--compare", type=Path, default=None, help="another export of the network (float32/int8)")
    parser.add_argument("--repeats", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--sizes-only", action="store_true", help="only the time against image size")
    args = parser.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    letters = sample_letters(args.batch)
    png = as_png(letters[0])
    recognizer = Recognizer(args.model)
    single = Recognizer(args.model, threads=1)
    time_against_size(single, args.repeats)
    if args.sizes_only:
        return
    array = preprocess(png).pixels[None]
    model_input = array.astype(np.float32)
    session, input_name = single.model.session, single.model.input_name

    end_to_end = percentiles(time_each(lambda: single.predict([png], top_k=3), args.repeats))
    bare = percentiles(time_each(lambda: session.run(None, {input_name: model_input}), args.repeats))
    now = percentiles(time_each(lambda: preprocess(png), args.repeats))
    grey = decode_grey(png)[0]
    decode_only = percentiles(time_each(lambda: decode_grey(png), args.repeats))
    preprocess_only = percentiles(time_each(lambda: preprocess_grey(grey), args.repeats))
    print(f"\n{'one letter (128x128 PNG), 1 thread':<62} {'p50 ms':>8} {'p99 ms':>8}")
    rows = [("Recognizer.predict, end to end", end_to_end),
            ("  decode + preprocess (OpenCV path)", now),
            ("  bare ONNX Runtime call on its 28x28", bare),
            ("  decode alone (each step in its own loop)", decode_only),
            ("  preprocess alone, on the decoded grey levels", preprocess_only)]
    previous = previous_preprocess()
    if previous is not None:
        rows.append((f"  decode + preprocess, previous path ({PREVIOUS_PREPROCESS})",
                     percentiles(time_each(lambda: previous(png), args.repeats))))
    for name, (p50, p99) in rows:
        print(f"{name:<62} {p50:>8.3f} {p99:>8.3f}")
    print(f"ratio end to end / bare ONNX Runtime: {end_to_end[0] / bare[0]:.2f}x (goal: <= 1.6x, which leaves "
          f"{0.6 * bare[0]:.3f} ms around this model; decode + preprocess alone take {decode_only[0] + preprocess_only[0]:.3f})")
    if previous is not None:
        print(f"ratio previous / current decode + preprocess: {rows[-1][1][0] / now[0]:.2f}x")

    try:
        from handwritten_letters.training.model import logits_model  # the training package sets Keras' environment

        keras = __import__("keras")

        keras_model = logits_model(keras.models.load_model(ROOT / "src/handwritten_letters/models/letters-cnn.keras",
                                                           compile=False))
        print(f"\n{'the same network in Keras, one 28x28 (model only)':<62} {'p50 ms':>8} {'vs ORT':>8}")
        for name, call in (("model.predict (the seed notebook's way)", lambda: keras_model.predict(model_input, verbose=0)),
                           ("model.predict_on_batch", lambda: keras_model.predict_on_batch(model_input)),
                           ("model(x, training=False)", lambda: keras_model(model_input, training=False))):
            p50 = percentiles(time_each(call, min(args.repeats, 300)))[0]
            print(f"{name:<62} {p50:>8.3f} {p50 / bare[0]:>7.1f}x")
    except ImportError:
        print("\n(Keras baselines need the [train] extra)")

    def kind(path: Path) -> str:
        return "int8" if "quantization" in ort_session(path, 1, "ORT_ENABLE_ALL").get_modelmeta().custom_metadata_map \
            else "float32"

    paths = [Path(single.model.path)] + ([args.compare] if args.compare else [])
    models = [(kind(path), path) for path in paths]
    print(f"\n{'ONNX Runtime options':<40} {'single p50 ms':>14} {'batch letters/s':>16}")
    batch_input = letters.astype(np.float32)
    for kind, path in models:
        for threads in (1, 2):
            for level in ("ORT_ENABLE_BASIC", "ORT_ENABLE_EXTENDED", "ORT_ENABLE_ALL"):
                candidate = ort_session(path, threads, level)
                name = candidate.get_inputs()[0].name
                def one_call(session=candidate, name=name):
                    return session.run(None, {name: model_input})

                p50 = percentiles(time_each(one_call, args.repeats // 2))[0]
                start = time.perf_counter()
                for first in range(0, len(batch_input), 256):
                    candidate.run(None, {name: batch_input[first : first + 256]})
                rate = len(batch_input) / (time.perf_counter() - start)
                label = f"{kind}, {threads} thread{'s' if threads > 1 else ''}, {level.removeprefix('ORT_ENABLE_').lower()}"
                print(f"{label:<40} {p50:>14.3f} {rate:>16,.0f}")

    start = time.perf_counter()
    recognizer.predict_arrays(letters)
    array_rate = len(letters) / (time.perf_counter() - start)
    pngs = [as_png(letter, 64) for letter in letters[:2000]]
    start = time.perf_counter()
    recognizer.predict(pngs)
    png_rate = len(pngs) / (time.perf_counter() - start)
    print(f"\nbatch throughput, one process: {array_rate:,.0f} letters/s ({len(letters):,} 28x28 arrays); "
          f"{png_rate:,.0f} letters/s ({len(pngs):,} 64x64 PNGs, decode + preprocess + model)")

    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        (folder / "one.png").write_bytes(png)
        letters_command = str(Path(sys.executable).parent / "letters")
        model = ["--model", str(args.model)] if args.model else []
        cold = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([letters_command, "predict", *model, str(folder / "one.png")], check=True, capture_output=True)
            cold.append(time.perf_counter() - start)
        print(f"cold start, `letters predict one.png` as a process: median {statistics.median(cold):.2f} s "
              f"(min {min(cold):.2f} s, 5 runs)")
        files = folder / "files"
        files.mkdir()
        for i, letter in enumerate(letters[:10_000]):
            (files / f"{i:05d}.png").write_bytes(as_png(letter, 64))
        for jobs in (1, 2):
            start = time.perf_counter()
            subprocess.run([letters_command, "predict", *model, "--format", "csv", "--jobs", str(jobs), str(files)],
                           check=True, capture_output=True)
            print(f"`letters predict --format csv --jobs {jobs}` on {min(len(letters), 10_000):,} 64x64 PNG files: "
                  f"{time.perf_counter() - start:.2f} s wall, start-up included (goal: <= 3 s)")


if __name__ == "__main__":
    main()
