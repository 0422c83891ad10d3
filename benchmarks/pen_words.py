"""Words drawn as pens draw in the held-out handwriting fonts' hands, read as pictures (and as ink).

    python benchmarks/pen_words.py [--words 24] [--strings 6] [--seed 11] [--line-model M.onnx] [--model M.onnx]
                                   [--ink]

Each word is written with one held-out font's small letters (each letter's centre line as its
strokes) at handwriting proportions, with clear gaps, inks just touching, or inks crossing, and
drawn with one round pen: the protocol of the ink-words dev set, with hands the models never
trained on in place of people's. Per condition (and per kind of hand): characters right without
the word list (1 - edit distance / length), words right with the list, and harm (right without
the list, wrong with it), with counts and 95% intervals, read through ``TextReader`` (the reader
of `letters read`). Held-out fonts are what choices are made on. Figures only.

``--ink``: the letters' centre lines traced into pen strokes in writing order
(``written_words.font_pen_hands``), each word read as digital ink (``TextReader.read_ink``) and as
the picture of the same strokes: ink against picture on the same words.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from handwritten_letters import Lexicon, TextReader
from handwritten_letters.reading.ink import Ink
from handwritten_letters.training import font_letters, written_words

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ink_words import share, tally  # noqa: E402


def everyday_words(count: int, rng: np.random.Generator) -> list[str]:
    from wordfreq import top_n_list

    pool = [w for w in top_n_list("en", 5000) if w.isascii() and w.isalpha() and 3 <= len(w) <= 9]
    return list(rng.choice(pool, count, replace=False))


def random_strings(count: int, rng: np.random.Generator) -> list[str]:
    return ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), int(rng.integers(3, 9)))) for _ in range(count)]


def as_ink(strokes: list[np.ndarray]) -> Ink:
    """Strokes in x-heights as ink in pixels at the pictures' size, a point every 10 ms."""
    return Ink(tuple(np.column_stack([stroke * written_words.X_HEIGHT, 10.0 * np.arange(len(stroke))])
                     for stroke in strokes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fonts", type=Path, default=font_letters.default_font_dir())
    parser.add_argument("--words", type=int, default=24, help="everyday words per font and condition")
    parser.add_argument("--strings", type=int, default=6, help="random strings per font and condition")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--line-model", type=Path, help="line ONNX model (default: bundled)")
    parser.add_argument("--model", type=Path, help="letter ONNX model (default: bundled)")
    parser.add_argument("--reader", default="auto")
    parser.add_argument("--ink", action="store_true", help="traced strokes, read as ink and as pictures")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    hands = (written_words.font_pen_hands if args.ink else written_words.font_hands)(args.fonts, font_letters.HELD_OUT)
    reader = TextReader(args.reader, letter_model=args.model, line_model=args.line_model, threads=1)
    english = Lexicon.english()
    tallies: dict[tuple[str, str], list[int]] = {}
    misses: list[str] = []
    harmed: list[str] = []
    for font in font_letters.HELD_OUT:
        hand = "joined" if font in font_letters.JOINED else "print"
        for condition, gap in written_words.GAPS.items():
            texts = everyday_words(args.words, rng) + random_strings(args.strings, rng)
            for text in texts:
                strokes = written_words.word_strokes(text, hands[font], gap)
                picture = written_words.draw(strokes)
                sources = {"picture": picture}
                if args.ink:
                    sources = {"ink": as_ink(strokes), **sources}
                for source, written in sources.items():
                    raw = reader.read(written).text
                    with_list = reader.read(written, english).text
                    keys = ((condition, "all"), (condition, hand), ("all", "all"))
                    tally(tallies, [(source + " " + a, b) if args.ink else (a, b) for a, b in keys], raw, with_list, text)
                    if raw != text:
                        misses.append(f"{source} {font} {condition}: {text} -> {raw}")
                    elif with_list != text:
                        harmed.append(f"{source} {font} {condition}: {text} -> {with_list}")
    print(f"held-out fonts' letters drawn as pen words: {len(font_letters.HELD_OUT)} hands, "
          f"{args.words} words + {args.strings} random strings each per condition (seed {args.seed})")
    print(f"{'':<30}{'characters right, no list':<40}{'words right with the list':<38}harm")
    for (condition, hand), t in sorted(tallies.items()):
        print(f"{condition + ' ' + hand:<30}{share(t[0], t[1]):<40}{share(t[2], t[3]):<38}"
              f"{share(t[4], t[3])}")
    print("harmed (right without the list, wrong with it):")
    for line in harmed:
        print("  " + line)
    print("misses without the list, first 30:")
    for line in misses[:30]:
        print("  " + line)


if __name__ == "__main__":
    main()
