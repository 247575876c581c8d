"""The ticker: which notices make the band, and the band itself in a real mpv under Xvfb."""

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from kiosk.text import ticker
from kiosk.text.notices import Notice

from tests.support.text import SAMPLES, band_profile, differs, leftmost_ink, mpv, xvfb

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
SETTINGS = {"ticker_position": "bottom", "ticker_speed_px_s": 120.0, "ticker_height": 0.08,
            "ticker_color": "#FFFFFF", "ticker_background": "#0B3D91",
            "text_emergency_background": "#B00020", "ticker_fps": 50.0, "text_fonts": {}}


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


def test_command_is_a_script_message_with_json():
    cmd = ticker.command({"segments": [[{"text": "Xin chào", "font": "Noto Sans"}]]})
    assert cmd[:2] == ["script-message", "gatecast-ticker"]
    assert json.loads(cmd[2])["segments"][0][0]["text"] == "Xin chào"
    assert json.loads(ticker.command(None)[2]) == {}


def _solid(path, colour, size=(640, 360)):
    Image.new("RGB", size, colour).save(path)
    return str(path)


@pytest.mark.slow
def test_band_keeps_moving_across_an_item_change(tmp_path):
    green = _solid(tmp_path / "green.png", (20, 140, 20))
    blue = _solid(tmp_path / "blue.png", (20, 20, 160))
    band = ticker.band_for([notice("t", {"vi": SAMPLES["vi"], "lo": SAMPLES["lo"], "km": SAMPLES["km"]})],
                           [1], {**SETTINGS, "ticker_speed_px_s": 180.0, "ticker_background": "#000000"})
    args = ["--vo=gpu", "--gpu-context=x11egl", "--force-window=yes", "--geometry=640x360+0+0",
            "--no-border", "--image-display-duration=2.5", "--loop-playlist=inf", *ticker.script_args(),
            green, blue]
    top = 360 - round(360 * 0.08)
    with xvfb(640, 360) as display, mpv(tmp_path, args, display) as player:
        player.screenshot(tmp_path / "first.png")  # a picture is up
        player.command(*ticker.command(band))
        samples = []
        start = time.monotonic()
        while time.monotonic() - start < 5.5:
            shot = player.screenshot(tmp_path / "shot.png")
            samples.append((time.monotonic(), shot.getpixel((320, 100)), leftmost_ink(band_profile(shot, top, 360))))
            time.sleep(0.3)
        player.command(*ticker.command(None))
        time.sleep(0.5)
        cleared = player.screenshot(tmp_path / "cleared.png")

    pictures = ["green" if not differs(p, (20, 140, 20)) else "blue" if not differs(p, (20, 20, 160)) else "?"
                for _, p, _ in samples]
    assert "green" in pictures and "blue" in pictures, pictures  # the item changed underneath
    changes = [i for i in range(1, len(pictures)) if pictures[i] != pictures[i - 1]]
    edges = [x for _, _, x in samples]
    assert all(x is not None for x in edges[1:]), edges  # text in the band in every shot
    moving = [(t, x) for t, _, x in samples[1:]]
    steps = [(x0 - x1) / (t1 - t0) for (t0, x0), (t1, x1) in zip(moving, moving[1:])]
    # Always leftwards (no reset to the right edge, no pause), at about the set
    # speed (180 px/s on 1080 lines = 60 px/s here), also across every item change.
    assert all(s > 15 for s in steps), (steps, changes)
    assert 30 < sum(steps) / len(steps) < 120, steps
    # The band area is clear again after the band is removed.
    assert leftmost_ink(band_profile(cleared, top, 360)) is None


def test_bad_style_values_from_a_release_fall_back_to_the_settings():
    odd = notice("o", {"vi": "Chú ý"}, style={"position": "middle", "speed": "fast", "height": 5,
                                              "color": "red;}", "background": "#12345G"})
    band = ticker.band_for([odd], [1], SETTINGS)
    assert (band["position"], band["speed"], band["height"], band["color"], band["background"]) == (
        "bottom", 120.0, 0.08, "#FFFFFF", "#0B3D91")
    good = notice("g", {"vi": "Chú ý"}, style={"position": "top", "speed": 200, "background": "#112233"})
    band = ticker.band_for([good], [1], SETTINGS)
    assert (band["position"], band["speed"], band["background"]) == ("top", 200.0, "#112233")
