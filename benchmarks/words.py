"""Reading words and lines: the line (CTC) reader and the segmentation reader, per condition.

    python benchmarks/words.py [--split test|validation] [--reader all|lines|segment|combined]
                               [--words 60] [--seed 0] [--cli]

Protocol. Every image is composed from single letters under a controlled condition, then read
by `TextReader` with and without the English lexicon:

- ``--split validation``: letters from the validation split of the EMNIST training data (the
  letters neither model trained on; all of a-z), English words of 3-8 letters. This is the split
  that chooses the default reader (`letters read --reader auto`) and the lexicon margin.
- ``--split test`` (the reported figures): letters from the official EMNIST test records, which
  cover a-s only, so the words are English words spelled with a-s. Read once per reported model.
- Both add lines composed from the 260 real letters of ../shared/data/letters-real-dev (not
  EMNIST; never trained on), 3-8 letter English words.
- Both add words written as people write them (``--conditions written`` for these alone): whole
  words in the six held-out handwriting fonts (print and joined hands, in turn), and words written
  with the dev set's pen strokes, each word from one drawer's own letters (drawers 01-10 in turn) at
  handwriting proportions, with clear gaps, touching or overlapping, drawn with a round pen; and the
  same words with the held-out print fonts' letters (their centre lines) in place of a drawer's,
  touching and overlapping: the same pen, proportions and gaps, another hand's shapes.

Character accuracy is 1 - (edit distance / characters of the truth), spaces and line breaks
counted as characters; word accuracy counts words read exactly. The lexicon holds every target
word (a closed vocabulary), so its figures are an upper bound; the "random strings" condition
is the open vocabulary where a lexicon cannot help. The line model's training lines used
English words from the same word list (their spelling, never these letters' images).

``--cli`` also reads the two acceptance conditions (5 px gaps, 1 px overlap) as PNG files with
`letters read --no-lexicon --format text`, the command a user runs (``--cli-words`` of them, with
an interval from resampling the words; the first 60 are the same words at any count).
Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from rapidfuzz.distance import Levenshtein

from handwritten_letters.reading.preprocess import INK_THRESHOLD, load_ink
from handwritten_letters.training import data, font_letters, written_words
from handwritten_letters.training.synthetic_lines import sheared, trimmed  # gaps and slant as in training lines
from handwritten_letters.words.lexicon import Lexicon
from handwritten_letters.words.line_reader import TextReader

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TEST = SHARED / "emnist-letters" / "emnist-letters-test14800-images-idx3-ubyte.gz"
REAL = SHARED / "letters-real-dev"
SCALE = 3  # 28-px letters become ~84 px tall: a phone photo of a word


@dataclass(frozen=True)
class Condition:
    name: str
    gap: tuple[int, int]  # range of pixels between letters, at 28-px letter scale (negative: overlap)
    jitter: int = 0  # baseline jitter, pixels
    size: tuple[float, float] = (1.0, 1.0)  # letter scale range
    words_per_line: int = 1
    lines: int = 1
    slant: float = 0.0  # shear either way, up to this
    random_strings: bool = False
    real: bool = False  # letters drawn by people (letters-real-dev), not EMNIST
    # words written as people write them: "print" / "joined" (held-out handwriting fonts, whole words) or
    # a spacing of written_words.GAPS (each word from one dev-set drawer's own pen strokes)
    written: str | None = None
    font_pens: bool = False  # with a spacing of GAPS: the held-out print fonts' letters drawn with the pen, not a drawer's


CONDITIONS = [
    Condition("5 px gaps", (5, 5)),
    Condition("tight 1-2 px", (1, 2)),
    Condition("touching 0 px", (0, 0)),
    Condition("overlap 1 px", (-1, -1)),
    Condition("overlap 2-3 px", (-3, -2)),
    Condition("slant", (3, 6), slant=0.3),
    Condition("baseline jitter", (3, 6), jitter=4),
    Condition("size variation", (3, 6), size=(0.75, 1.25)),
    Condition("lines of 3 words", (3, 6), words_per_line=3),
    Condition("2 lines x 2 words", (3, 6), words_per_line=2, lines=2),
    Condition("random strings", (3, 6), random_strings=True),
    Condition("real letters, 5 px", (5, 5), real=True),
    Condition("real letters, overlap 1", (-1, -1), real=True),
]
WRITTEN = [
    Condition("held-out fonts, print", (0, 0), written="print"),
    Condition("held-out fonts, joined", (0, 0), written="joined"),
    *(Condition(f"drawers' strokes, {name}", (0, 0), written=name) for name in written_words.GAPS),
    *(Condition(f"print fonts' pen, {name}", (0, 0), written=name, font_pens=True) for name in ("touching", "overlapping")),
]
CLI_CONDITIONS = ("5 px gaps", "overlap 1 px")


def real_letters() -> tuple[np.ndarray, np.ndarray]:
    """The dev set's real letters at EMNIST's scale: ink cropped, height 24 in a 28-row tile, white on black."""
    import csv

    tiles, labels = [], []
    with open(REAL / "labels.csv") as f:
        for row in csv.DictReader(f):
            ink, _, _ = load_ink(REAL / row["filename"])
            inked = ink > INK_THRESHOLD
            rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
            crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
            scale = 24 / max(crop.shape)
            size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
            small = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize(size, Image.LANCZOS))
            tile = np.zeros((28, size[0] + 4), np.uint8)
            top = (28 - size[1]) // 2
            tile[top : top + size[1], 2 : 2 + size[0]] = small
            tiles.append(tile)
            labels.append(ord(row["label"]) - 97)
    return tiles, np.array(labels)


@functools.cache
def drawers_letters():
    """The dev set's pen strokes by drawer, read once."""
    return written_words.drawers_letters(REAL / "strokes.json")


@functools.cache
def font_pens():
    """The held-out print fonts' small letters as pen strokes, by font."""
    return written_words.font_hands(font_letters.default_font_dir(),
                                    [f for f in font_letters.HELD_OUT if f not in font_letters.JOINED])


@functools.cache
def font_files():
    return font_letters.font_files(font_letters.default_font_dir())


def written(condition: Condition, word: str, index: int, rng: np.random.Generator) -> Image.Image:
    """One word as a person writes it, under a written condition: the index picks the hand in turn."""
    if condition.written in written_words.GAPS:
        hands = font_pens() if condition.font_pens else drawers_letters()
        letters = hands[sorted(hands)[index % len(hands)]]
        return Image.fromarray(written_words.draw(written_words.word_strokes(word, letters, written_words.GAPS[
            condition.written])))
    fonts = [f for f in font_letters.HELD_OUT if (f in font_letters.JOINED) == (condition.written == "joined")]
    files = font_files()[fonts[index % len(fonts)]]
    return Image.fromarray(written_words.font_word(files[int(rng.integers(len(files)))], word, int(rng.integers(48, 96))))


def compose(lines: list[list[str]], condition: Condition, pool: dict[int, np.ndarray], images,
            rng: np.random.Generator) -> Image.Image:
    """Dark ink on white paper at SCALE x EMNIST's size; letters drawn from ``pool``."""
    rows = []
    for words in lines:
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
        if condition.slant:
            canvas = sheared(canvas.astype(np.float32), rng.uniform(-condition.slant, condition.slant)).astype(np.uint8)
        rows.append(canvas)
    width = max(r.shape[1] for r in rows)
    page = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]))) for r in rows])
    image = Image.fromarray(255 - page)
    return image.resize((image.width * SCALE, image.height * SCALE), Image.BICUBIC)


def sample_lines(condition: Condition, vocabulary: list[str], letters: str, rng) -> list[list[str]]:
    def word() -> str:
        if condition.random_strings:
            return "".join(rng.choice(list(letters), int(rng.integers(3, 9))))
        return vocabulary[int(rng.integers(len(vocabulary)))]

    return [[word() for _ in range(condition.words_per_line)] for _ in range(condition.lines)]


def as_text(truth_lines: list[list[str]]) -> str:
    """The text a perfect reading gives: words joined by spaces, lines by line breaks."""
    return "\n".join(" ".join(words) for words in truth_lines)


def score(text: str, truth_lines: list[list[str]]) -> tuple[int, int, int]:
    """(edit distance, words right, words) of a reading against the truth."""
    truth = as_text(truth_lines)
    read_words = text.split()
    truth_words = [w for words in truth_lines for w in words]
    right = sum(a == b for a, b in zip(read_words, truth_words)) if len(read_words) == len(truth_words) else 0
    return Levenshtein.distance(text, truth), right, len(truth_words)


def harmed(raw: str, with_lexicon: str, truth_lines: list[list[str]]) -> int:
    """Words the reading got right without the word list and wrong with it."""
    truth = [w for words in truth_lines for w in words]
    raw_words, lexicon_words = raw.split(), with_lexicon.split()
    if len(raw_words) != len(truth):
        return 0
    if len(lexicon_words) != len(truth):
        return sum(a == b for a, b in zip(raw_words, truth))
    return sum(r == t and w != t for r, w, t in zip(raw_words, lexicon_words, truth))


def edits(text: str, truth_lines: list[list[str]]) -> list[str]:
    """Each edit that turns the truth into the reading: "i->l" (read l for i), "+x" (x read
    where there was nothing), "-x" (x missed); a space or line break is written as "_"."""
    truth = as_text(truth_lines)
    shown = lambda ch: "_" if ch in " \n" else ch  # noqa: E731
    names = []
    for op in Levenshtein.editops(truth, text):
        if op.tag == "replace":
            names.append(f"{shown(truth[op.src_pos])}->{shown(text[op.dest_pos])}")
        elif op.tag == "insert":
            names.append(f"+{shown(text[op.dest_pos])}")
        else:
            names.append(f"-{shown(truth[op.src_pos])}")
    return names


def letters_for(split: str):
    if split == "test":
        test = data.read_file(TEST)
        return test.images, test.labels, "abcdefghijklmnopqrs"
    # the split both bundled models were trained with (letters train / train-lines defaults)
    _, validation = data.train_validation([str(SHARED / "emnist-letters")], 0.1, 42)
    return validation.images, validation.labels, "abcdefghijklmnopqrstuvwxyz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("test", "validation"), default="test")
    parser.add_argument("--reader", choices=("all", "lines", "segment", "combined"), default="all")
    parser.add_argument("--words", type=int, default=60, help="images per condition")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--line-model", type=Path, default=None)
    parser.add_argument("--model", type=Path, default=None, help="letter model for the segmentation reader")
    parser.add_argument("--cli", action="store_true", help="also read the acceptance conditions with `letters read`")
    parser.add_argument("--cli-words", type=int, default=None, help="words per acceptance condition (default: --words)")
    parser.add_argument("--conditions", choices=("all", "composed", "written"), default="all",
                        help="composed: words composed from single letters; written: held-out fonts and drawers' strokes")
    parser.add_argument("--errors", action="store_true", help="also print each reader's commonest errors (no lexicon)")
    args = parser.parse_args()

    images, labels, alphabet = letters_for(args.split)
    real_images, real_labels = real_letters() if (REAL / "labels.csv").exists() else (None, None)
    lexicon = Lexicon.english()
    vocabulary = sorted(w for n, ws in lexicon.words.items() if 3 <= n <= 8 for w in ws if max(w) <= alphabet[-1])
    real_vocabulary = sorted(w for n, ws in lexicon.words.items() if 3 <= n <= 8 for w in ws)
    pool = {c: np.flatnonzero(labels == c) for c in range(len(alphabet))}
    real_pool = None if real_labels is None else {c: np.flatnonzero(real_labels == c) for c in range(26)}
    kinds = ("lines", "segment", "combined") if args.reader == "all" else (args.reader,)
    readers = {k: TextReader(k, letter_model=args.model, line_model=args.line_model) for k in kinds}

    print(f"split: {args.split} ({len(labels)} letters, {alphabet[0]}-{alphabet[-1]}); {args.words} images per "
          f"condition; letters {SCALE * 28} px tall; {len(vocabulary)} English words of 3-8 letters")
    header = (f"{'condition':<24} {'reader':<8} {'char':>6} {'word':>6} {'char+lex':>9} {'word+lex':>9} {'harm':>6} "
              f"{'ms/img':>7}")
    print(header)
    print("-" * len(header))
    conditions = {"all": CONDITIONS + WRITTEN, "composed": CONDITIONS, "written": WRITTEN}[args.conditions]
    for condition in conditions:
        if (condition.real or condition.written) and real_pool is None:
            continue
        rng = np.random.default_rng([args.seed, (CONDITIONS + WRITTEN).index(condition)])
        samples = []
        for index in range(args.words):
            if condition.written:
                truth = sample_lines(condition, real_vocabulary, alphabet, rng)
                samples.append((truth, written(condition, truth[0][0], index, rng)))
            elif condition.real:
                truth = sample_lines(condition, real_vocabulary, alphabet, rng)
                samples.append((truth, compose(truth, condition, real_pool, real_images, rng)))
            else:
                truth = sample_lines(condition, vocabulary, alphabet, rng)
                samples.append((truth, compose(truth, condition, pool, images, rng)))
        for kind, reader in readers.items():
            totals = {"raw": [0, 0], "lex": [0, 0]}
            chars = words = harm = 0
            mistakes: Counter[str] = Counter()
            started = time.perf_counter()
            for truth, image in samples:
                raw = reader.read(image).text
                with_lexicon = reader.read(image, lexicon).text
                if args.errors:
                    mistakes.update(edits(raw, truth))
                for key, text in (("raw", raw), ("lex", with_lexicon)):
                    distance, right, count = score(text, truth)
                    totals[key][0] += distance
                    totals[key][1] += right
                chars += len(as_text(truth))
                words += count
                harm += harmed(raw, with_lexicon, truth)
            ms = (time.perf_counter() - started) / (2 * len(samples)) * 1000
            print(f"{condition.name:<24} {kind:<8} {1 - totals['raw'][0] / chars:>6.3f} {totals['raw'][1] / words:>6.3f} "
                  f"{1 - totals['lex'][0] / chars:>9.3f} {totals['lex'][1] / words:>9.3f} {harm / words:>6.3f} {ms:>7.1f}")
            if mistakes:
                print(f"{'':<24} {'':<8} {sum(mistakes.values())} errors: "
                      + ", ".join(f"{e} {n}" for e, n in mistakes.most_common(6)))
    if args.cli:
        cli_check(args, images, pool, vocabulary, alphabet)


def cli_check(args, images, pool, vocabulary, alphabet) -> None:
    """The acceptance conditions as PNG files, read by the command a user runs."""
    count = args.cli_words or args.words
    print(f"\n`letters read --no-lexicon --format text` on PNG files ({args.split} letters, {count} words each; "
          f"95% interval by resampling the words):")
    for name in CLI_CONDITIONS:
        condition = next(c for c in CONDITIONS if c.name == name)
        rng = np.random.default_rng([args.seed, 100 + CONDITIONS.index(condition)])
        with tempfile.TemporaryDirectory() as folder:
            truths = {}
            for i in range(count):
                truth = sample_lines(condition, vocabulary, alphabet, rng)
                path = Path(folder) / f"word-{i:03d}.png"
                compose(truth, condition, pool, images, rng).save(path)
                truths[str(path)] = truth[0][0]
            letters = str(Path(sys.executable).parent / "letters")  # the console script beside this Python
            models = [*(["--line-model", str(args.line_model)] if args.line_model else []),
                      *(["--model", str(args.model)] if args.model else [])]
            command = [letters, "read", *models, "--no-lexicon", "--format", "text", *sorted(truths)]
            output = subprocess.run(command, capture_output=True, text=True, check=False).stdout
            # the text output writes words in the case they were written (benchmarks/word_case.py measures
            # that); characters are compared in small letters, as the in-process readings are
            read = {path: text.lower() for path, text in
                    (line.split("\t", 1) for line in output.splitlines() if "\t" in line)}
            errors = np.array([Levenshtein.distance(read.get(p, ""), t) for p, t in truths.items()])
            chars = np.array([len(t) for t in truths.values()])
            resampled = np.random.default_rng(0).integers(0, count, (2000, count))
            low, high = np.percentile(1 - errors[resampled].sum(1) / chars[resampled].sum(1), [2.5, 97.5])
            print(f"  {name:<16} character accuracy {1 - errors.sum() / chars.sum():.3f} ({low:.3f}-{high:.3f}; "
                  f"{len(read)} of {len(truths)} files read)")


if __name__ == "__main__":
    main()
