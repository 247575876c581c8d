"""Fonts: every language's chain draws a real customs notice; a wrong font is refused by name."""

import pytest
from PIL import Image, ImageDraw, ImageFont

from kiosk.text import layout
from kiosk.text.fonts import (
    LANGUAGES,
    FontError,
    MissingGlyphs,
    check_texts,
    clean_text,
    find_font,
    font_chain,
)

from tests.support.text import SAMPLES


def test_samples_cover_every_language():
    assert set(SAMPLES) == set(LANGUAGES)


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
@pytest.mark.parametrize("bold", [False, True])
def test_sample_notice_has_a_glyph_for_every_character(lang, bold):
    chain = font_chain(lang, bold=bold)
    chain.check(SAMPLES[lang])
    # Every character landed in a face that has it: nothing falls through.
    runs = chain.runs(SAMPLES[lang])
    assert "".join(t for t, _ in runs) == SAMPLES[lang]
    assert all(face is not None for _, face in runs)


def test_lao_digits_come_from_the_latin_fallback():
    runs = font_chain("lo").runs("ກະລຸນາແຈ້ງພາສີຢູ່ປ່ອງ 3.")
    assert [(t, f.family) for t, f in runs] == [
        ("ກະລຸນາແຈ້ງພາສີຢູ່ປ່ອງ ", "Noto Sans Lao"),
        ("3.", "Noto Sans"),
    ]


@pytest.mark.parametrize("lang,wrong", [("lo", "Noto Sans"), ("km", "Noto Sans Lao"), ("zh", "Noto Sans Khmer")])
def test_a_font_lacking_the_script_fails_naming_the_language(lang, wrong):
    with pytest.raises(MissingGlyphs) as info:
        check_texts(SAMPLES, {lang: wrong})
    err = info.value
    assert err.lang == lang
    assert f"{LANGUAGES[lang]} ({lang})" in str(err)
    assert err.chars and all(not font_chain(lang, {lang: wrong}).primary.has(c) for c in err.chars)


def test_the_other_languages_still_pass_when_one_font_is_wrong():
    others = {k: v for k, v in SAMPLES.items() if k != "km"}
    check_texts(others, {"km": "Noto Sans"})


def test_missing_font_family_is_an_error_not_a_substitute():
    with pytest.raises(FontError, match=r"'Noto Sans Nowhere' for Lao \(lo\) is not installed"):
        font_chain("lo", {"lo": ["Noto Sans Nowhere", "Noto Sans"]})


def test_font_file_path_and_collection_index():
    cjk = find_font("Noto Sans CJK SC", "zh")
    face = find_font(f"{cjk.path}#{cjk.index}", "zh")
    assert face.family == "Noto Sans CJK SC"
    font_chain("zh", {"zh": [f"{cjk.path}#{cjk.index}"]}).check(SAMPLES["zh"])
    with pytest.raises(FontError, match="does not exist"):
        find_font("/nonexistent/font.ttf", "vi")


def test_emoji_is_refused_rather_than_boxed():
    with pytest.raises(MissingGlyphs, match=r"Vietnamese \(vi\).*U\+1F6A8"):
        font_chain("vi").check("Chú ý 🚨")


def test_control_characters_are_refused():
    assert clean_text("  dòng 1\r\ndòng\t2 ", "t") == "dòng 1\ndòng 2"
    with pytest.raises(FontError, match="U\\+0007"):
        clean_text("chuông\x07", "the vi text")


def _ink_box(face, word, lang, engine):
    font = ImageFont.truetype(face.path, 64, index=face.index, layout_engine=engine)
    image = Image.new("L", (600, 220))
    extra = {"language": lang} if engine == ImageFont.Layout.RAQM else {}
    ImageDraw.Draw(image).text((10, 160), word, font=font, fill=255, anchor="ls", **extra)
    return image.getbbox()


def test_khmer_and_lao_are_shaped_not_drawn_glyph_by_glyph():
    """With libraqm a Khmer subscript consonant tucks under its base (the word
    gets narrower) and a Lao tone mark stacks above the vowel above its
    consonant (the ink gets taller) -- unlike Pillow's basic layout, which
    puts one nominal glyph after another."""
    layout.require_raqm()
    raqm, basic = ImageFont.Layout.RAQM, ImageFont.Layout.BASIC
    km = font_chain("km").primary
    shaped, naive = _ink_box(km, "អ្នកដំណើរ", "km", raqm), _ink_box(km, "អ្នកដំណើរ", "km", basic)
    assert shaped[2] - shaped[0] < (naive[2] - naive[0]) * 0.97
    lo = font_chain("lo").primary
    shaped, naive = _ink_box(lo, "ເຂົ້າ", "lo", raqm), _ink_box(lo, "ເຂົ້າ", "lo", basic)
    assert shaped[1] < naive[1] - 5  # the tone mark sits higher: stacked, not overlapping


def test_khmer_line_breaks_fall_between_syllables():
    chain = font_chain("km")
    text = "អ្នកដំណើរចេញចូលសូមប្រកាសគយនៅបញ្ជរលេខ"  # one phrase, no spaces
    laid = layout.layout(text, chain, 40, 300)
    assert laid is not None and len(laid.lines) > 1
    joined = "".join(t for line in laid.lines for t, _ in line.runs)
    assert joined == text
    syllables = layout.syllables(text, chain.primary, "km")
    boundaries = {sum(len(s) for s in syllables[:i]) for i in range(len(syllables) + 1)}
    offset = 0
    for line in laid.lines[:-1]:
        offset += sum(len(t) for t, _ in line.runs)
        assert offset in boundaries  # never inside a syllable (a coeng pair stays whole)
        assert line.width <= 300
