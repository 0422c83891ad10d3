"""The English word list ships as a data file built from wordfreq; reading never needs wordfreq."""

import gzip
import subprocess
import sys

import pytest

from handwritten_letters.words import lexicon


def test_the_shipped_list_is_what_the_pinned_wordfreq_gives(tmp_path):
    pytest.importorskip("wordfreq", reason="the dev extra builds the list")
    rebuilt = tmp_path / "english.tsv.gz"
    lexicon.write_english_list(rebuilt)
    assert gzip.decompress(rebuilt.read_bytes()) == gzip.decompress(lexicon.english_list_path().read_bytes())
    assert lexicon.english_frequencies() == lexicon.english_frequencies_from_wordfreq()


def test_the_english_list_keeps_frequencies_and_inflections():
    words = lexicon.english_frequencies()
    assert len(words) > 50_000
    assert words["the"] > words["cats"] > 0 and "walked" in words and "hello" in words
    assert all(w.isascii() and w.isalpha() and w.islower() for w in words)


def test_reading_and_serving_with_the_english_list_never_import_wordfreq():
    code = ("import sys; from handwritten_letters.words.lexicon import Lexicon; import handwritten_letters.server.app; "
            "assert len(Lexicon.english()) > 50000; assert 'wordfreq' not in sys.modules, 'wordfreq imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_words_near_a_reading_may_differ_in_length_only_from_four_letters():
    words = lexicon.Lexicon(["hello", "help", "gx", "grey", "grin"])
    assert "hello" in words.near("helo", 0.5, 10)  # a lost letter of a longer reading
    near = words.near("grx", 0.5, 10)
    assert "gx" not in near and near == []  # a three-letter reading is matched only to three-letter words
    assert words.near("helo", 0.5, 10)[0] in ("help", "hello")  # the closest first
