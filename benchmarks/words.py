"""Word and line reading on images composed from EMNIST test letters training never saw.

    python benchmarks/words.py [--words 120] [--model M.onnx] [--seed 0]

The letters come from the official EMNIST Letters test records held in ../shared/data (they
cover a-s only, so the words are English words spelled with a-s). Each word is composed under
controlled conditions and read by `read_text`, with and without the default English lexicon.
Prints character accuracy (1 - CER) and word accuracy per condition, beside the single-letter
accuracy of the same letters and what independent letters predict for whole words (acc^length).
The lexicon holds every target word (a closed vocabulary), so its figures are an upper bound.
Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from handwritten_letters import data
from handwritten_letters.recognize import Recognizer
from rapidfuzz.distance import Levenshtein

from handwritten_letters.segment import Lexicon, read_text

TEST = Path(__file__).resolve().parents[2] / "shared" / "data" / "emnist-letters" / "emnist-letters-test14800-images-idx3-ubyte.gz"
SCALE = 3  # 28-px letters become ~84 px tall: a phone photo of a word


@dataclass(frozen=True)
class Condition:
    name: str
    gap: tuple[int, int]  # range of pixels between letters, at 28-px letter scale (negative: overlap)
    jitter: int = 0  # baseline jitter, pixels
    size: tuple[float, float] = (1.0, 1.0)  # letter scale range
    words_per_line: int = 1


CONDITIONS = [
    Condition("clear gaps", (4, 8)),
    Condition("tight gaps", (1, 2)),
    Condition("touching", (-1, 0)),
    Condition("overlapping", (-3, -2)),
    Condition("baseline jitter", (3, 6), jitter=4),
    Condition("size variation", (3, 6), size=(0.75, 1.25)),
    Condition("lines of 3 words", (3, 6), words_per_line=3),
]


def trimmed(letter: np.ndarray) -> np.ndarray:
    cols = np.flatnonzero(letter.max(axis=0) > 30)
    return letter[:, cols[0] : cols[-1] + 1]


def compose(words: list[str], condition: Condition, pool: dict[int, np.ndarray], images: np.ndarray,
            rng: np.random.Generator) -> Image.Image:
    """White ink on black at 28-px scale, then inverted and enlarged like a photo of paper."""
    tiles, x = [], 10
    for w, word in enumerate(words):
        if w:
            x += 22  # a word space
        for ch in word:
            letter = trimmed(images[rng.choice(pool[ord(ch) - 97])])
            scale = rng.uniform(*condition.size)
            if scale != 1.0:
                size = (max(1, round(letter.shape[1] * scale)), max(1, round(28 * scale)))
                letter = np.asarray(Image.fromarray(letter).resize(size, Image.BICUBIC))
            dy = int(rng.integers(-condition.jitter, condition.jitter + 1)) + (28 - letter.shape[0]) // 2
            tiles.append((x, 12 + dy, letter))
            x += letter.shape[1] + int(rng.integers(condition.gap[0], condition.gap[1] + 1))
    canvas = np.zeros((28 + 24 + 2 * condition.jitter + 16, x + 10), np.uint8)
    for left, top, letter in tiles:
        region = canvas[top : top + letter.shape[0], left : left + letter.shape[1]]
        np.maximum(region, letter[: region.shape[0], : region.shape[1]], out=region)
    image = Image.fromarray(255 - canvas)
    return image.resize((image.width * SCALE, image.height * SCALE), Image.BICUBIC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=120, help="words per condition")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not TEST.exists():
        raise SystemExit(f"needs the EMNIST test records at {TEST}")

    test = data.read_file(TEST)
    recognizer = Recognizer(args.model)
    single = float((recognizer.predict_arrays(test.images).argmax(axis=1) == test.labels).mean())
    lexicon = Lexicon.english()
    rng = np.random.default_rng(args.seed)
    vocabulary = sorted(w for n, ws in lexicon.words.items() if 3 <= n <= 8 for w in ws if max(w) <= "s")
    pool = {c: np.flatnonzero(test.labels == c) for c in range(19)}

    print(f"single-letter accuracy on the same test letters (a-s, 28x28 arrays): {single:.4f}")
    print(f"{args.words} words per condition from {len(vocabulary)} English words spelled with a-s; "
          f"letters {SCALE * 28} px tall\n")
    header = f"{'condition':<18} {'char acc':>9} {'word acc':>9} {'char acc+lex':>13} {'word acc+lex':>13} {'acc^len':>8}"
    print(header)
    print("-" * len(header))
    for condition in CONDITIONS:
        totals = {"raw": [0, 0], "lex": [0, 0]}  # char errors, words right
        chars = lengths = 0
        count = max(1, args.words // condition.words_per_line)
        for _ in range(count):
            words = [vocabulary[i] for i in rng.choice(len(vocabulary), condition.words_per_line)]
            truth = " ".join(words)
            image = compose(words, condition, pool, test.images, rng)
            reading = read_text(image, recognizer, lexicon)
            for key, text in (("raw", reading.raw_text), ("lex", reading.text)):
                totals[key][0] += Levenshtein.distance(text.replace("\n", " "), truth)
                totals[key][1] += sum(a == b for a, b in zip(text.split(), words)) if len(text.split()) == len(words) else 0
            chars += len(truth)
            lengths += sum(len(w) for w in words)
        n_words = count * condition.words_per_line
        expected = single ** (lengths / n_words)
        print(f"{condition.name:<18} {1 - totals['raw'][0] / chars:>9.3f} {totals['raw'][1] / n_words:>9.3f} "
              f"{1 - totals['lex'][0] / chars:>13.3f} {totals['lex'][1] / n_words:>13.3f} {expected:>8.3f}")


if __name__ == "__main__":
    main()
