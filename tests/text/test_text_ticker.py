"""The ticker: which notices make the band, the strip, and the moving band libavfilter makes of it."""

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from PIL import Image, ImageChops, ImageColor, ImageStat

from kiosk.settings import Region
from kiosk.text import ticker
from kiosk.text.notices import Notice

from tests.support.text import SAMPLES, ink_inside

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
SETTINGS = {"ticker_position": "bottom", "ticker_speed_px_s": 120.0, "ticker_height": 0.08,
            "ticker_color": "#FFFFFF", "ticker_background": "#0B3D91",
            "text_emergency_background": "#B00020", "ticker_fps": 0.0, "text_fonts": {}}


def notice(nid, texts, level="normal", kind="ticker", faces=(), style=None, minutes=0):
    return Notice(id=nid, kind=kind, level=level, texts=texts, faces=tuple(faces), style=style or {},
                  starts_at=NOW + timedelta(minutes=minutes), expires_at=None, withdrawn_at=None,
                  created_by="test", source="local")


def test_band_takes_every_ticker_on_the_faces_in_turn_with_font_runs():
    notices = [
        notice("b", {"en": "Second", "vi": "Thứ hai"}, minutes=1),
        notice("a", {"lo": SAMPLES["lo"], "vi": SAMPLES["vi"]}),
        notice("s", {"vi": "a slide"}, kind="slide"),
        notice("f2", {"vi": "only on face 2"}, faces=[2]),
    ]
    band = ticker.band_for(notices, [1], SETTINGS)
    texts = ["".join(run["text"] for run in seg) for seg in band["segments"]]
    # Notice a (earlier) first; in each, Vietnamese before Lao before English.
    assert texts == [SAMPLES["vi"], " ".join(SAMPLES["lo"].split()), "Thứ hai", "Second"]
    lao = band["segments"][1]
    assert {run["font"] for run in lao} == {"Noto Sans Lao", "Noto Sans"}
    assert band["background"] == "#0B3D91" and band["position"] == "bottom"
    assert ticker.band_for(notices[2:], [1], SETTINGS) is None  # a slide, and a ticker for face 2 only


def test_an_emergency_ticker_pushes_the_others_off_and_turns_red():
    notices = [notice("n", {"vi": "Bình thường"}), notice("e", {"vi": "Khẩn cấp", "en": "Emergency"}, "emergency")]
    band = ticker.band_for(notices, [1], SETTINGS)
    assert ["".join(r["text"] for r in s) for s in band["segments"]] == ["Khẩn cấp", "Emergency"]
    assert band["background"] == "#B00020"


def test_a_language_the_fonts_cannot_draw_is_left_out_and_reported():
    errors = []
    band = ticker.band_for([notice("k", {"vi": "Chú ý", "km": SAMPLES["km"]})], [1],
                           {**SETTINGS, "text_fonts": {"km": "Noto Sans"}},
                           on_error=lambda n, e: errors.append((n.id, str(e))))
    assert ["".join(r["text"] for r in s) for s in band["segments"]] == ["Chú ý"]
    assert errors and errors[0][0] == "k" and "Khmer (km)" in errors[0][1]


def test_the_band_window_sits_on_the_regions_bottom_or_top_rows(tmp_path):
    band = ticker.band_for([notice("v", {"vi": "Xin chào"})], [1], SETTINGS)
    message = ticker.render(band, 640, 360, tmp_path)
    assert Path(message["image"]).parent == tmp_path
    assert (message["width"], message["height"], message["lead"], message["position"]) == (
        640, round(360 * 0.08), 640, "bottom")
    assert message["speed"] == 120.0 * 360 / 1080  # the setting is per 1080 lines
    region = Region(320, 40, 640, 360)
    assert ticker.rect(message, region) == (320, 40 + 360 - 29, 640, 29)
    assert ticker.rect({**message, "position": "top"}, region) == (320, 40, 640, 29)
    assert ticker.render(None, 640, 360, tmp_path) is None
    # ticker_fps 0 (the default): the output's refresh rate
    assert ticker.band_for([notice("v", {"vi": "Xin chào"})], [1], {**SETTINGS, "ticker_fps": 0})["fps"] == 0


def test_the_source_moves_a_window_of_the_strip_by_whole_pixels_per_frame(tmp_path):
    """The graph the band's mpv plays, run through libavfilter by ffmpeg:
    frame k is the strip seen from floor(speed * k / fps), the lead shown once,
    then the text repeating every period."""
    band = ticker.band_for([notice("v", {"vi": SAMPLES["vi"]})], [1],
                           {**SETTINGS, "ticker_speed_px_s": 1080.0})
    message = ticker.render(band, 160, 1080, tmp_path)
    w, h, fps = message["width"], message["height"], 60.0
    assert message["speed"] == 1080.0  # 18 px a frame at 60 fps
    strip = _strip_image(message)
    lead, period = message["lead"], message["period"]
    source = ticker.source(message, fps)
    assert source.startswith("av://lavfi:")
    count = int((lead + 2 * period) / 18) + 2  # past the lead and twice round the period
    raw = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", source.removeprefix("av://lavfi:"),
                          "-map", "0:v", "-frames:v", str(count), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True, timeout=120).stdout
    assert len(raw) == count * w * h * 3
    for k in range(count):
        frame = Image.frombytes("RGB", (w, h), raw[k * w * h * 3:(k + 1) * w * h * 3])
        travelled = 18 * k
        start = travelled if travelled < lead + period else lead + (travelled - lead) % period
        assert ImageChops.difference(frame, strip.crop((start, 0, start + w, h))).getbbox() is None, k
    with pytest.raises(ValueError):
        ticker.source({**message, "image": "/tmp/a,b'c.png"}, fps)  # the graph's own syntax


def _strip_image(message) -> Image.Image:
    with Image.open(message["image"]) as im:
        assert im.size == (message["stride"], message["height"])
        return im.convert("RGB")


def test_the_strip_is_the_text_once_after_an_empty_lead_then_repeats(tmp_path):
    texts = {k: SAMPLES[k] for k in ("vi", "zh", "lo", "km", "en")}
    band = ticker.band_for([notice("all", texts)], [1], SETTINGS)
    message = ticker.render(band, 640, 360, tmp_path)
    strip = _strip_image(message)
    lead, period, h = message["lead"], message["period"], message["height"]
    blue = ImageColor.getrgb("#0B3D91")
    rgb = strip  # opaque: the band is a window of its own over the picture
    assert ink_inside(rgb, blue, (0, 0, lead, h)) == 0  # the text enters from the right edge
    text = ticker.Strip(band, h)
    drawn = text.draw()
    # The text as drawn on its own sits right after the lead, in the band's colours.
    assert ImageChops.difference(rgb.crop((lead, 0, lead + text.width, h)), drawn).getbbox() is None
    assert ink_inside(drawn, blue, (0, 0, text.width, h)) > 1000
    # From the lead on, the strip repeats every period, so any window of the
    # picture's width starting in the first period is contiguous.
    assert message["stride"] == lead + period + lead and period > text.width
    assert ImageChops.difference(rgb.crop((lead, 0, lead + lead, h)),
                                 rgb.crop((lead + period, 0, lead + period + lead, h))).getbbox() is None
    # Every language is in the strip, left to right in screen order: each
    # one's text drawn alone matches the strip where its advance puts it.
    x, starts = 0.0, [0.0]
    for (piece, _, _), advance in zip(text.pieces, text.advances):
        x += advance
        if piece == ticker.SEPARATOR:
            starts.append(x)
    assert len(starts) == 5
    for seg, start in zip(band["segments"], starts):
        alone = ticker.Strip({**band, "segments": [seg]}, h).draw()
        x0 = round(start)
        place = drawn.crop((x0, 0, x0 + alone.width, h))
        assert ImageStat.Stat(ImageChops.difference(place, alone).convert("L")).mean[0] < 10, seg[0]["lang"]  # 14+ one pixel off
        assert ink_inside(alone, blue, (0, 0, alone.width, h)) > 200, seg[0]["lang"]
    # Sending the same band again draws nothing new; another size is another file.
    assert ticker.render(band, 640, 360, tmp_path)["image"] == message["image"]
    other = ticker.render(band, 1920, 1080, tmp_path)
    assert other["image"] != message["image"] and other["height"] == round(1080 * 0.08)
    ticker.prune(tmp_path, [other["image"]])
    assert not Path(message["image"]).exists() and Path(other["image"]).exists()


def test_an_emergency_strip_is_drawn_in_the_emergency_colours(tmp_path):
    band = ticker.band_for([notice("e", {"vi": "Khẩn cấp"}, "emergency")], [1], SETTINGS)
    strip = _strip_image(ticker.render(band, 640, 360, tmp_path)).convert("RGB")
    assert strip.getpixel((5, 5)) == ImageColor.getrgb("#B00020")
    assert (255, 255, 255) in {c for _, c in strip.getcolors(1 << 16)}  # white text on it


def test_bad_style_values_from_a_release_fall_back_to_the_settings():
    odd = notice("o", {"vi": "Chú ý"}, style={"position": "middle", "speed": "fast", "height": 5,
                                              "color": "red;}", "background": "#12345G"})
    band = ticker.band_for([odd], [1], SETTINGS)
    assert (band["position"], band["speed"], band["height"], band["color"], band["background"]) == (
        "bottom", 120.0, 0.08, "#FFFFFF", "#0B3D91")
    good = notice("g", {"vi": "Chú ý"}, style={"position": "top", "speed": 200, "background": "#112233"})
    band = ticker.band_for([good], [1], SETTINGS)
    assert (band["position"], band["speed"], band["background"]) == ("top", 200.0, "#112233")
