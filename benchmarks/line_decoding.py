"""How to decode the line model: greedy vs beam width, and the lexicon margin — chosen on
validation lines only (composed from the validation split's letters, as in words.py).

    python benchmarks/line_decoding.py [--words 60] [--line-model M.onnx] [--figure docs/line-reader.png]

Prints character accuracy without and with the lexicon per setting, and the time to read a
10-letter word (p50, one thread). Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from rapidfuzz.distance import Levenshtein
from words import CONDITIONS, compose, letters_for, sample_lines

from handwritten_letters.words import line_reader
from handwritten_letters.words.lexicon import Lexicon
from handwritten_letters.words.line_reader import LineModel, TextReader

CHOSEN = ("5 px gaps", "overlap 1 px", "overlap 2-3 px", "slant", "random strings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=60)
    parser.add_argument("--line-model", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--figure", type=Path, default=None, help="also draw what the line model sees and reads")
    args = parser.parse_args()

    images, labels, alphabet = letters_for("validation")
    pool = {c: np.flatnonzero(labels == c) for c in range(26)}
    lexicon = Lexicon.english()
    vocabulary = sorted(w for n, ws in lexicon.words.items() if 3 <= n <= 8 for w in ws)
    samples = []
    for condition in (c for c in CONDITIONS if c.name in CHOSEN):
        rng = np.random.default_rng([args.seed, CONDITIONS.index(condition)])
        for _ in range(args.words):
            truth = sample_lines(condition, vocabulary, alphabet, rng)
            samples.append((condition.name, " ".join(truth[0]), compose(truth, condition, pool, images, rng)))
    model = LineModel(args.line_model, threads=1)
    if args.figure:
        draw_figure(model, [image for name, _, image in samples if name == "overlap 2-3 px"][0], args.figure)

    def accuracy(reader, lexicon_or_none) -> dict[str, float]:
        errors, chars = {}, {}
        for name, truth, image in samples:
            text = reader.read(image, lexicon_or_none).text
            errors[name] = errors.get(name, 0) + Levenshtein.distance(text, truth)
            chars[name] = chars.get(name, 0) + len(truth)
        return {name: 1 - errors[name] / chars[name] for name in errors}

    print(f"validation lines, {args.words} per condition: character accuracy")
    print(f"{'decoding':<22} " + " ".join(f"{n:>15}" for n in CHOSEN) + f" {'mean':>7}")
    readers = {}
    for width in (1, 4, 8, 16):
        reader = TextReader("lines", line_model=model.path, threads=1, beam_width=width)
        readers[width] = reader
        scores = accuracy(reader, None)
        print(f"{'greedy' if width == 1 else f'beam {width}':<22} " + " ".join(f"{scores[n]:>15.3f}" for n in CHOSEN)
              + f" {np.mean(list(scores.values())):>7.3f}")
    for margin in (0.5, 1.0, 2.0, 4.0):
        line_reader.LINE_LEXICON_MARGIN = margin
        scores = accuracy(readers[8], lexicon)
        print(f"{f'beam 8 + lexicon {margin}':<22} " + " ".join(f"{scores[n]:>15.3f}" for n in CHOSEN)
              + f" {np.mean(list(scores.values())):>7.3f}")

    ten = next(image for name, truth, image in samples if len(truth) == 10) if any(
        len(t) == 10 for _, t, _ in samples) else samples[0][2]
    for width, reader in readers.items():
        timings = []
        for _ in range(30):
            start = time.perf_counter()
            reader.read(ten)
            timings.append(time.perf_counter() - start)
        print(f"read a {10}-letter word, {'greedy' if width == 1 else f'beam {width}'}: "
              f"p50 {np.median(timings) * 1000:.1f} ms (one thread)")


def draw_figure(model: LineModel, image, path: Path) -> None:
    """A word with overlapping letters, the line model's input, and what each column reads."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from handwritten_letters.labels import LINE_ALPHABET
    from handwritten_letters.reading.preprocess import load_ink, prepare_line
    from handwritten_letters.words import ctc

    ink, _, _ = load_ink(image)
    line = prepare_line(ink)
    log_probs = model.log_probabilities([line.pixels])[0]
    best = log_probs.argmax(axis=1)
    fig, axes = plt.subplots(3, 1, figsize=(10, 5.2), gridspec_kw={"height_ratios": [2.2, 1, 1.3]})
    axes[0].imshow(image, cmap="gray")
    axes[0].set_title("a word of validation letters overlapping by 2-3 px (as written)")
    axes[1].imshow(line.pixels, cmap="gray", aspect="auto")
    axes[1].set_title("what the line model sees: 32 rows, the ink's height scaled to 26")
    columns = np.arange(len(best)) * model.stride + model.stride / 2
    axes[2].bar(columns, np.exp(log_probs.max(axis=1)), width=model.stride * 0.9,
                color=["#bbbbbb" if k == ctc.BLANK else "#1f77b4" for k in best])
    for x, k in zip(columns, best):
        if k != ctc.BLANK:
            axes[2].text(x, 1.02, LINE_ALPHABET[k - 1], ha="center", fontsize=9)
    read = "".join(LINE_ALPHABET[k - 1] for k in ctc.greedy(log_probs).labels)
    axes[2].set_xlim(0, line.pixels.shape[1])
    axes[2].set_ylim(0, 1.25)
    axes[2].set_title(f"each column's best class (grey: blank) and its probability; read: \"{read}\"")
    for ax in axes[:2]:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
