"""Words written in the held-out handwriting fonts (hands never trained on; joined fonts join their
letters their own way), read through `letters read --format json` as a user's files are.

    python benchmarks/font_words.py [--words 40] [--strings 10] [--seed 5] [--reader auto] [--keep DIR]
                                    [--line-model M.onnx] [--model M.onnx]

Per font: everyday English words (with plurals and past tenses) and random letter strings, each
rendered whole with the font (one of its weights) at a random size. Prints characters right
without the word list (`raw_text`, 1 - CER), everyday words right without and with it, and the
**harm rate**: readings right without the list and wrong with it, over words and random strings.
Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from rapidfuzz.distance import Levenshtein

from handwritten_letters.training import font_letters, written_words

# inflected forms a dictionary of headwords lacks, always in the sample
INFLECTED = ["rocks", "dogs", "walked", "letters", "words", "tested", "notes", "apples", "played", "houses"]


def everyday_words(count: int, rng: np.random.Generator) -> list[str]:
    from wordfreq import top_n_list

    pool = [w for w in top_n_list("en", 5000) if w.isascii() and w.isalpha() and 3 <= len(w) <= 9]
    return INFLECTED + list(rng.choice(pool, count - len(INFLECTED), replace=False))


def models(args) -> list[str]:
    return [*(["--line-model", str(args.line_model)] if args.line_model else []),
            *(["--model", str(args.model)] if args.model else [])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fonts", type=Path, default=font_letters.default_font_dir())
    parser.add_argument("--words", type=int, default=40)
    parser.add_argument("--strings", type=int, default=10)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--reader", default="auto")
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--line-model", type=Path, help="line ONNX model (default: bundled)")
    parser.add_argument("--model", type=Path, help="letter ONNX model (default: bundled)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    files = font_letters.font_files(args.fonts)
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        truth = {}
        for name in font_letters.HELD_OUT:
            words = everyday_words(args.words, rng)
            strings = ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), int(rng.integers(3, 8))))
                       for _ in range(args.strings)]
            for i, text in enumerate(words + strings):
                (folder / name).mkdir(parents=True, exist_ok=True)
                path = folder / name / f"{i:03d}.png"
                font = files[name][int(rng.integers(len(files[name])))]
                image = Image.fromarray(written_words.font_word(font, text, int(rng.integers(48, 96))))
                image.save(path)
                truth[str(path)] = (name, text, i < len(words))
        done = subprocess.run([sys.executable, "-m", "handwritten_letters.cli", "read", "--format", "json",
                               "--reader", args.reader, *models(args), str(folder)], capture_output=True, text=True)
        readings = {row["path"]: row for row in json.loads(done.stdout)}
    totals, harmed = {}, []
    for path, (name, text, is_word) in truth.items():
        row = readings[path]
        raw, chosen = (row.get("raw_text") or "").replace(" ", ""), (row.get("text") or "").replace(" ", "")
        hand = "joined" if name in font_letters.JOINED else "print"
        for key in (hand, "all", f"font:{name}"):
            t = totals.setdefault(key, {"chars": 0, "edits": 0, "raw_right": 0, "lex_right": 0, "harm": 0, "n": 0,
                                        "words": 0})
            t["chars"] += len(text)
            t["edits"] += min(len(text), Levenshtein.distance(raw, text))
            t["n"] += 1
            t["harm"] += raw == text and chosen != text  # over words and random strings alike
            if is_word:
                t["words"] += 1
                t["raw_right"] += raw == text
                t["lex_right"] += chosen == text
        if raw == text and chosen != text:
            harmed.append(f"{name}: {text} -> {chosen}")
    print(f"{'':<22}{'chars (raw)':>12}{'words raw':>11}{'with list':>11}{'harm':>7}   ({args.words} words + "
          f"{args.strings} strings per font, reader {args.reader})")
    for key, t in totals.items():
        print(f"{key:<22}{1 - t['edits'] / t['chars']:>12.3f}{t['raw_right'] / t['words']:>11.3f}"
              f"{t['lex_right'] / t['words']:>11.3f}{t['harm'] / t['n']:>7.3f}")
    print("harmed (right without the list, wrong with it): " + ("; ".join(harmed) or "none"))


if __name__ == "__main__":
    main()
