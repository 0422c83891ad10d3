"""Letters rendered from the handwriting fonts: both cases, varied, through the serving
preprocessing, and the held-out fonts never in training."""

import csv

import numpy as np
import pytest
from helpers import FONTS

from handwritten_letters.errors import DataFormatError
from handwritten_letters.training import font_letters
from handwritten_letters.training.data import CASE_UPPER

needs_fonts = pytest.mark.skipif(not (FONTS / "fonts.csv").exists(),
                                 reason=f"handwriting fonts not found at {FONTS} (CI always has them)")


@needs_fonts
def test_held_out_fonts_are_never_trained_on_and_two_are_joined():
    training = font_letters.training_fonts(FONTS)
    assert not set(training) & set(font_letters.HELD_OUT)
    assert len(font_letters.HELD_OUT) >= 6 and len(set(font_letters.HELD_OUT) & font_letters.JOINED) >= 2
    assert len(training) + len(font_letters.HELD_OUT) == len(font_letters.font_files(FONTS))


@needs_fonts
def test_every_letter_of_a_font_in_both_cases_as_the_model_sees_it():
    made = font_letters.letters(FONTS, ["caveat"], per_glyph=2, seed=0)
    assert made.images.shape[1:] == (28, 28) and made.images.dtype == np.uint8
    assert len(made) >= 0.95 * 52 * 2  # a rendering the preprocessing refuses is drawn again, rarely dropped
    assert set(np.unique(made.labels)) == set(range(26))
    assert set(np.unique(made.cases)) == {1, 2}
    assert (made.images.reshape(len(made), -1).max(axis=1) > 200).all()  # ink, white on black, stretched


@needs_fonts
def test_renderings_vary_and_are_reproducible_by_seed():
    one = font_letters.letters(FONTS, ["kalam"], per_glyph=1, seed=3)
    again = font_letters.letters(FONTS, ["kalam"], per_glyph=1, seed=3)
    other = font_letters.letters(FONTS, ["kalam"], per_glyph=1, seed=4)
    assert np.array_equal(one.images, again.images)
    assert not np.array_equal(one.images, other.images)


@needs_fonts
def test_a_joined_hand_can_be_rendered_more_often_than_a_print_hand():
    made = font_letters.letters(FONTS, ["caveat", "satisfy"], per_glyph=1, seed=0, joined_per_glyph=3)
    assert "satisfy" in font_letters.JOINED and "caveat" not in font_letters.JOINED
    per_font = {font: len(font_letters.letters(FONTS, [font], per_glyph=1, seed=0)) for font in ("caveat", "satisfy")}
    assert len(made) >= 0.95 * (per_font["caveat"] + 3 * per_font["satisfy"])


@needs_fonts
def test_a_joined_hands_capitals_can_be_rendered_more_often_than_its_small_letters():
    made = font_letters.letters(FONTS, ["caveat", "satisfy"], per_glyph=1, seed=0, joined_per_glyph=2,
                                joined_capital_per_glyph=4)
    satisfy = font_letters.glyphs(FONTS, ("satisfy",))
    capitals = sum(glyph.character.isupper() for glyph in satisfy)
    small = len(satisfy) - capitals
    caveat = len(font_letters.glyphs(FONTS, ("caveat",)))
    assert len(made) >= 0.95 * (caveat + 2 * small + 4 * capitals)
    assert (made.cases == CASE_UPPER).sum() >= 0.95 * (caveat // 2 + 4 * capitals)


@needs_fonts
def test_renderings_written_as_files_with_their_labels(tmp_path):
    labels = font_letters.write_renderings(tmp_path, FONTS, ["patrick-hand"], per_glyph=1, seed=0)
    with open(labels) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 52 and all((tmp_path / row["filename"]).exists() for row in rows)
    assert {row["case"] for row in rows} == {"upper", "lower"}


def test_a_folder_without_fonts_csv_is_a_clear_error(tmp_path):
    from handwritten_letters.errors import DataFormatError

    with pytest.raises(DataFormatError, match="not a handwriting-fonts folder"):
        font_letters.font_files(tmp_path)


def test_a_font_name_the_folder_does_not_list_is_named_for_letters_and_lines_alike(tmp_path):
    from handwritten_letters.errors import DataFormatError
    from handwritten_letters.training.font_lines import FontLineWriter

    (tmp_path / "fonts.csv").write_text("font,weight,file\nkalam,400,kalam/kalam-latin-400-normal.woff2\n")
    for make in (lambda: font_letters.glyphs(str(tmp_path), ("kalam", "no-such-hand")),
                 lambda: FontLineWriter(tmp_path, ["no-such-hand"])):
        with pytest.raises(DataFormatError, match="no font named no-such-hand in fonts.csv"):
            make()


def test_a_variation_can_be_switched_off_by_name_and_an_unknown_name_is_refused():
    plain = font_letters.variation_with(("pen", "wobble", "broken"))
    assert (plain.slant, plain.rotation, plain.aspect) == (0.0, 0.0, 0.0)
    assert plain.pen == font_letters.Variation().pen and plain.wobble == font_letters.Variation().wobble
    assert font_letters.variation_with(tuple(font_letters.VARIATIONS)) == font_letters.Variation()
    with pytest.raises(ValueError, match="unknown font variation blur"):
        font_letters.variation_with(("blur",))


@needs_fonts
def test_without_geometry_or_pen_two_renderings_of_a_letter_differ_only_in_size_and_place():
    plain = font_letters.variation_with(())
    glyph = font_letters.glyphs(str(FONTS), ("caveat",))[0]
    ink = glyph.inks[0]
    drawn = font_letters.vary(ink, np.random.default_rng(0), plain)
    mask = drawn < 128
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    assert abs(width / height - ink.shape[1] / ink.shape[0]) < 0.08  # aspect kept: no slant, rotation, stretch


@needs_fonts
def test_a_recipes_font_letters_each_epoch_count_joined_hands_as_it_asks():
    pytest.importorskip("keras", reason="training needs the [train] extra")
    from handwritten_letters.training.config import RECIPES, TrainConfig, variant
    from handwritten_letters.training.train import fresh_font_letters

    recipe = variant(RECIPES["hands"], font_renderings=1, joined_renderings=2, font_variations=())
    letters_of = fresh_font_letters(recipe, TrainConfig(train_paths=[], out_dir="unused", font_dir=str(FONTS)))
    glyphs = font_letters.glyphs(str(FONTS), tuple(font_letters.training_fonts(FONTS)))
    joined = sum(glyph.font in font_letters.JOINED for glyph in glyphs)
    assert joined and len(letters_of(0)) == len(glyphs) + joined


@needs_fonts
def test_a_stroke_hand_is_drawn_with_a_pen_in_both_cases_and_rendered_as_often_as_a_recipe_asks():
    pytest.importorskip("HersheyFonts", reason="stroke hands need the [train] extra")
    glyphs = font_letters.glyphs(str(FONTS), ("caveat", "hershey-script"))
    script = [glyph for glyph in glyphs if glyph.font == "hershey-script"]
    assert sorted(glyph.character for glyph in script) == sorted(font_letters.CHARACTERS)
    assert all(len(glyph.inks) == len(font_letters.STROKE_PENS) for glyph in script)
    widths = [np.count_nonzero(ink > 127) for ink in script[0].inks]
    assert widths == sorted(widths) and widths[0] < widths[-1]  # one path, pens from thin to broad
    assert "hershey-script" in font_letters.JOINED and "hershey-script" not in font_letters.training_fonts(FONTS)
    made = font_letters.letters(FONTS, ["caveat", "hershey-script"], per_glyph=1, seed=0, stroke_per_glyph=3)
    caveat = len(glyphs) - len(script)
    assert len(made) >= 0.95 * (caveat + 3 * len(script))


def test_a_warp_bends_the_whole_letter_only_when_a_recipe_names_it():
    assert font_letters.Variation().warp == 0.0
    assert font_letters.variation_with(("pen", "geometry", "wobble", "broken")).warp == 0.0
    warped = font_letters.variation_with(("warp",))
    assert warped.warp > 0 and warped.wobble == 0.0 and warped.pen == (0.0, 0.0)
    bar = np.zeros((120, 60), dtype=np.uint8)
    bar[10:110, 27:33] = 255  # an upright stroke
    straight = font_letters.variation_with(())

    def sway(variation, seed):  # how far the stroke's middle wanders from column to column down the letter
        drawn = font_letters._wobble(bar, np.random.default_rng(seed), variation)
        centres = [np.flatnonzero(row > 127).mean() for row in drawn[20:100] if (row > 127).any()]
        return np.ptp(centres)

    assert max(sway(straight, seed) for seed in range(5)) < 1.0
    assert np.median([sway(warped, seed) for seed in range(20)]) > 3.0


SVG_FONT = """<svg xmlns="http://www.w3.org/2000/svg"><defs><font id="t" horiz-adv-x="500">
<font-face font-family="Test" units-per-em="1000" cap-height="500" x-height="300"/>
<glyph unicode="l" d="M 100 0 L 100 700" />
<glyph unicode="o" d="M 0 150 C 0 350 300 350 300 150 C 300 -50 0 -50 0 150" />
<glyph unicode="x" d="M 0 0 L 300 300 M 0 300 L 300 0" />
<glyph unicode="!" d="M 0 0 L 0 500" />
</font></defs></svg>"""


def test_a_single_line_svg_font_gives_each_letter_its_pen_paths_upright_and_to_scale(tmp_path):
    pytest.importorskip("svg.path", reason="SVG stroke hands need the [train] extra")
    path = tmp_path / "hand.svg"
    path.write_text(SVG_FONT)
    paths = font_letters.svg_font_paths(path, cap_height=50.0)
    assert sorted(paths) == ["l", "o", "x"]  # letters only
    (stem,) = paths["l"]
    assert np.ptp(stem[:, 1]) == pytest.approx(70.0) and stem[0, 1] > stem[-1, 1]  # drawn upward, y down
    assert len(paths["x"]) == 2  # a pen lift between the two bars
    (ring,) = paths["o"]
    assert len(ring) > 10 and np.allclose(ring[0], ring[-1])  # a curve followed in steps, closed


def test_an_svg_stroke_hand_without_its_font_folder_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv(font_letters.STROKE_FONTS_ENV, str(tmp_path))
    with pytest.raises(DataFormatError, match="npm install hersheytext"):
        font_letters._stroke_hand_inks("ems-allure")
    (tmp_path / "EMSAllure.svg").write_text("<svg")
    pytest.importorskip("svg.path", reason="SVG stroke hands need the [train] extra")
    with pytest.raises(DataFormatError, match="EMSAllure.svg: not a readable SVG font"):
        font_letters._stroke_hand_inks("ems-allure")
