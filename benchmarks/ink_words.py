"""Words written as digital ink, read from their strokes, against the same words read as pictures.

    python benchmarks/ink_words.py [--data DIR] [--limit N] [--line-model M.onnx] [--model M.onnx]

The ink-words dev set (320 words by drawers 01-10 of the real-letter dev set, each as ink in the
JSON format and as the same picture; gaps, touching and overlapping letters): per kind, characters
right without the word list (1 - edit distance / length, summed over words), words right with it,
harm (right without the list, wrong with it), each with counts and 95% intervals; the same for the
pictures through ``TextReader.read``; how often ink without its times reads the same text; the
time per word. The dev drawers' letters have been chosen on: strangers' words read several points
lower. Figures only.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from handwritten_letters import Lexicon, TextReader
from handwritten_letters.reading.calibration import wilson_interval
from handwritten_letters.reading.ink import read_ink_file

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ink-words-dev"


def chars_right(read: str, truth: str) -> int:
    return max(0, len(truth) - Levenshtein.distance(read, truth))


def share(right: int, n: int) -> str:
    low, high = wilson_interval(right, n)
    return f"{right / n:.3f} ({right}/{n}; 95% {low:.3f}-{high:.3f})"


def tally(tallies: dict, keys, raw: str, with_list: str, truth: str) -> None:
    """Count one word under each key: characters right without the list and their number, words
    right with the list and their number, and harm (right without the list, wrong with it)."""
    for key in keys:
        t = tallies.setdefault(key, [0, 0, 0, 0, 0])
        t[0] += chars_right(raw, truth)
        t[1] += len(truth)
        t[2] += with_list == truth
        t[3] += 1
        t[4] += raw == truth and with_list != truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--line-model", type=Path, help="line ONNX model (default: bundled)")
    parser.add_argument("--model", type=Path, help="letter ONNX model (default: bundled)")
    args = parser.parse_args()
    rows = list(csv.DictReader(open(args.data / "labels.csv")))[: args.limit]
    reader = TextReader(letter_model=args.model, line_model=args.line_model, threads=1)
    english = Lexicon.english()
    tallies: dict[tuple[str, str], list[int]] = {}
    same_untimed, seconds = 0, 0.0
    for row in rows:
        truth, kind = row["text"], row["kind"]
        ink = read_ink_file(args.data / row["ink"])
        started = time.perf_counter()
        raw = reader.read_ink(ink).text
        seconds += time.perf_counter() - started
        readings = {"ink": (raw, reader.read_ink(ink, english).text),
                    "picture": (reader.read(args.data / row["filename"]).text,
                                reader.read(args.data / row["filename"], english).text)}
        same_untimed += reader.read_ink(ink.without_time()).text == raw
        for source, (without, with_list) in readings.items():
            tally(tallies, ((source, kind), (source, "all")), without, with_list, truth)
    print(f"ink-words dev set: {len(rows)} words by the dev drawers (their letters were chosen on)")
    print(f"{'':<22}{'characters right, no list':<38}{'words right with the list':<38}harm")
    for (source, kind), t in sorted(tallies.items()):
        print(f"{source + ' ' + kind:<22}{share(t[0], t[1]):<38}{share(t[2], t[3]):<38}{t[4]}")
    print(f"ink without times reads the same text: {share(same_untimed, len(rows))}")
    print(f"time to read one word from ink (no list): {seconds / len(rows) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
