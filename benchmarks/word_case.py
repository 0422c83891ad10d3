"""Case in words read from pictures: capitals that start words, small letters after them.

    python benchmarks/word_case.py [--words 30] [--seed 3]

Everyday words in the held-out handwriting fonts (hands never trained on), a third of them
starting with a capital and a third in capitals, rendered whole and read by ``TextReader`` with the English list. Of the letters
read right, how often the case is right: a word's first letter (capital or small) and the
letters after it, split by what tells their case (the line for letters whose small form stays at
the x-height, the shape for the ascenders and dotted i, j). Counts and 95% intervals. Figures only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from handwritten_letters import Lexicon, TextReader
from handwritten_letters.training import font_letters, written_words
from handwritten_letters.words.case import SHAPE_TELLS_CASE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ink_words import share  # noqa: E402
from pen_words import everyday_words  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fonts", type=Path, default=font_letters.default_font_dir())
    parser.add_argument("--words", type=int, default=30, help="words per font")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--line-model", type=Path)
    parser.add_argument("--model", type=Path)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    files = font_letters.font_files(args.fonts)
    reader = TextReader(letter_model=args.model, line_model=args.line_model, threads=1)
    english = Lexicon.english()
    tallies: dict[str, list[int]] = {}
    for font in font_letters.HELD_OUT:
        hand = "joined" if font in font_letters.JOINED else "print"
        for index, word in enumerate(everyday_words(args.words, rng)):
            written = (word, word.capitalize(), word.upper())[index % 3]
            path = files[font][int(rng.integers(len(files[font])))]
            picture = written_words.font_word(path, written, int(rng.integers(48, 96)))
            reading = reader.read(picture, english)
            if reading.text != word or len(reading.lines) != 1 or len(reading.lines[0].words) != 1:
                continue
            for position, (truth, letter) in enumerate(zip(written, reading.lines[0].words[0].letters)):
                told_by = "shape" if truth.lower() in SHAPE_TELLS_CASE else "line"
                where = ("first, capital" if truth.isupper() else "first, small") if position == 0 else \
                    "after, in capitals" if written.isupper() else "after"
                right = letter.case == ("upper" if truth.isupper() else "lower")
                for key in (f"{where}, told by the {told_by}", f"{hand}: all", "all"):
                    t = tallies.setdefault(key, [0, 0])
                    t[0] += right
                    t[1] += 1
    print(f"case of letters read right, in words read right: held-out fonts, {args.words} words each (seed {args.seed})")
    for key, (right, n) in sorted(tallies.items()):
        print(f"  {key:<42}{share(right, n)}")


if __name__ == "__main__":
    main()
