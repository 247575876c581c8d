"""Text slides: the spec is validated, rendered with real shaping, cached, and
mpv shows the PNG with the text where the renderer says and nowhere else."""

import json

import pytest
from PIL import Image, ImageColor

from kiosk.text.slide import SlideError, parse_spec, render, render_images

from tests.support.text import SAMPLES, ink_inside, ink_outside, mpv

BLUE = "#0B3D91"


def customs_slide(**extra):
    doc = {
        "title": {"vi": "THÔNG BÁO HẢI QUAN", "lo": "ແຈ້ງການພາສີ", "en": "CUSTOMS NOTICE"},
        "body": {k: SAMPLES[k] for k in ("vi", "lo", "en")},
        "background": BLUE,
    }
    doc.update(extra)
    return parse_spec(json.dumps(doc, ensure_ascii=False))


@pytest.mark.parametrize("doc,message", [
    ("not json", "must be JSON"),
    ({"body": {}}, "needs a body or a title"),
    ({"body": {"fr": "Bonjour"}}, "unknown language 'fr'"),
    ({"body": {k: "x" for k in ("vi", "en", "zh", "lo")}}, "at most 3 languages"),
    ({"body": {"vi": "x"}, "layout": "spiral"}, "layout must be"),
    ({"body": {"vi": "x"}, "background": "bluish"}, "background must be a colour"),
    ({"body": {"vi": "x"}, "duration_s": 0}, "duration_s must be"),
    ({"body": {"vi": "x"}, "languages": ["vi", "en"]}, "no en text"),
    ({"body": {"vi": "x"}, "background_image": "../../etc/passwd"}, "not a sha256"),
    ({"body": {"vi": "x\x1b[2J"}}, "control character"),
    ({"format": "other/9", "body": {"vi": "x"}}, "unknown slide format"),
])
def test_bad_specs_are_refused_with_the_reason(doc, message):
    with pytest.raises(SlideError, match=message):
        parse_spec(doc if isinstance(doc, str) else json.dumps(doc))


def test_default_language_order_is_vietnamese_neighbour_english():
    spec = parse_spec({"body": {"en": "a", "km": "ក", "vi": "b"}})
    assert spec.languages == ("vi", "km", "en")


def test_stacked_slide_has_text_in_each_language_region_and_none_outside():
    spec = customs_slide()
    (image,), (regions,) = render_images(spec, 960, 540)
    bg = ImageColor.getrgb(BLUE)
    assert list(regions) == ["vi", "lo", "en"]
    # Bands go down the face in order and stay inside the safe area.
    tops = [regions[k][1] for k in ("vi", "lo", "en")]
    assert tops == sorted(tops)
    for lang, box in regions.items():
        assert ink_inside(image, bg, box) > 200, lang
        assert box[0] >= 0.05 * 540 and box[2] <= 960 - 0.05 * 540
    assert ink_outside(image, bg, regions.values()) is None


def test_a_font_that_cannot_draw_lao_refuses_the_slide():
    with pytest.raises(SlideError, match=r"Lao \(lo\) text cannot be shown"):
        render_images(customs_slide(), 960, 540, fonts={"lo": "Noto Sans"})


def test_in_turn_makes_one_image_per_language_at_one_size(tmp_path):
    spec = parse_spec({"body": {"zh": SAMPLES["zh"], "km": SAMPLES["km"]}, "layout": "in_turn"})
    rendered = render(spec, 640, 360, tmp_path)
    assert len(rendered.paths) == 2
    assert [list(r) for r in rendered.regions] == [["zh"], ["km"]]
    for path, regions in zip(rendered.paths, rendered.regions):
        with Image.open(path) as im:
            assert im.size == (640, 360)
            assert ink_outside(im.convert("RGB"), ImageColor.getrgb("#0B3D91"), regions.values()) is None


def test_render_is_cached_by_spec_size_and_fonts(tmp_path):
    spec = customs_slide()
    first = render(spec, 640, 360, tmp_path)
    mtime = first.paths[0].stat().st_mtime_ns
    again = render(spec, 640, 360, tmp_path)
    assert again.paths == first.paths and again.paths[0].stat().st_mtime_ns == mtime
    assert again.regions == first.regions
    other = render(spec, 320, 180, tmp_path)
    assert other.paths != first.paths


def test_long_text_shrinks_to_fit_and_an_impossible_one_is_refused():
    long = parse_spec({"body": {"vi": " ".join([SAMPLES["vi"]] * 12)}})
    (image,), (regions,) = render_images(long, 640, 360)
    assert ink_outside(image, ImageColor.getrgb(BLUE), regions.values()) is None
    huge = parse_spec({"body": {"zh": SAMPLES["zh"] * 300}})
    with pytest.raises(SlideError, match="does not fit"):
        render_images(huge, 320, 180)


def test_background_image_from_the_media_store(tmp_path):
    from kiosk.mediastore import MediaStore

    store = MediaStore(tmp_path / "media")
    src = tmp_path / "bg.png"
    Image.new("RGB", (100, 50), (200, 160, 0)).save(src)
    sha = store.add_file(src)
    spec = parse_spec({"body": {"vi": "Xin chào"}, "background_image": sha, "shade": 0.5})
    (image,), _ = render_images(spec, 320, 180, media_dir=store.root)
    assert image.getpixel((2, 2)) == (100, 80, 0)  # the image, darkened by half
    with pytest.raises(SlideError, match="not in the media store"):
        render_images(parse_spec({"body": {"vi": "x"}, "background_image": "0" * 64}), 320, 180,
                      media_dir=store.root)


@pytest.mark.slow
def test_mpv_shows_the_rendered_slide_with_text_only_in_its_regions(tmp_path):
    spec = customs_slide()
    rendered = render(spec, 640, 360, tmp_path / "cache")
    with mpv(tmp_path, ["--vo=null", "--image-display-duration=inf", str(rendered.paths[0])]) as player:
        shot = player.screenshot(tmp_path / "shot.png", "video")
    assert shot.size == (640, 360)
    bg = ImageColor.getrgb(BLUE)
    regions = rendered.regions[0]
    for lang, box in regions.items():
        assert ink_inside(shot, bg, box) > 100, lang
    # mpv's scaler and colour conversion blur edges a little: pad by 4 px.
    assert ink_outside(shot, bg, regions.values(), pad=4) is None


def test_cache_keeps_at_most_its_limit_of_files(tmp_path, monkeypatch):
    from kiosk.text import slide

    monkeypatch.setattr(slide, "CACHE_FILES", 4)
    made = [render(parse_spec({"body": {"vi": f"Thông báo {i}"}}), 160, 90, tmp_path) for i in range(4)]
    files = sorted(p.name for p in tmp_path.glob("slide-*"))
    assert len(files) == 4  # two renders' PNG and JSON each; the older ones went first
    assert made[-1].paths[0].name in files and made[0].paths[0].name not in files


def test_adding_a_slide_checks_it_and_takes_its_duration(fresh_db, tmp_path):
    from kiosk import content
    from kiosk.mediastore import MediaStore

    store = MediaStore(tmp_path / "media")
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"body": {"vi": "Xin chào"}, "duration_s": 12}))
    sha = content.add_media(fresh_db, store, good)
    row = fresh_db["media"].get(sha)
    assert row["kind"] == "text" and row["duration_s"] == 12
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"body": {"xx": "?"}}))
    with pytest.raises(content.ContentError, match="bad.json: unknown language 'xx'"):
        content.add_media(fresh_db, store, bad)
    assert fresh_db["media"].count == 1 and len(store.all()) == 1
