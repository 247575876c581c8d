"""Text in the real player: emergency notices preempt within a poll, text slides
play from the media store, the ticker rides over item changes (Xvfb)."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from PIL import Image, ImageColor, ImageGrab

from kiosk import content
from kiosk.player.ipc import MpvError
from kiosk.text.notices import clear_notices, set_notice
from kiosk.text.plugin import TextPlugin
from kiosk.text.slide import parse_spec, render

from tests.support.player import gate_settings, running_player
from tests.support.text import (
    SAMPLES, band_profile, differs, ink_inside, ink_outside, leftmost_ink, xvfb,
)
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow

SIZE = {"outputs": [{"name": "main", "width": 640, "height": 360}]}


def screenshot(player, path, mode="video", timeout=20.0) -> Image.Image:
    """The output's picture now, retried while mpv is between items."""
    def shot() -> Image.Image | None:
        try:
            player.pictures["face-1"].proc.ipc.command("screenshot-to-file", str(path), mode, timeout=10)
            with Image.open(path) as im:
                return im.convert("RGB")
        except (MpvError, AttributeError, OSError):
            return None

    return wait_for(shot, timeout, "a screenshot of the output")


def test_emergency_notice_preempts_within_a_poll_and_clearing_restores(gate, state_dir, tmp_path):
    content.set_playlist(gate.db, "normal", "Normal", [(gate.sha["green"], 30.0)])
    content.add_schedule_entry(gate.db, "normal", [1])
    texts = {k: SAMPLES[k] for k in ("vi", "lo", "en")}
    with running_player(gate_settings(state_dir, **SIZE), plugins=[TextPlugin]) as player:
        wait_for(lambda: gate.playing() == "green", what="green on screen")
        t0 = time.monotonic()
        notice = set_notice(gate.db, texts, level="emergency", duration=timedelta(minutes=10), faces=[1])
        wait_for(lambda: gate.playing() == f"notice {notice.id}", timeout=15, what="the emergency notice on screen")
        latency = time.monotonic() - t0
        print(f"emergency notice to screen: {latency * 1000:.0f} ms")
        shot = screenshot(player, tmp_path / "emergency.png")
        t1 = time.monotonic()
        clear_notices(gate.db, by="test")
        wait_for(lambda: gate.playing() == "green", timeout=15, what="the schedule back after clearing")
        print(f"cleared notice off screen: {(time.monotonic() - t1) * 1000:.0f} ms")
    # The picture is the renderer's: red, with each language's text where the
    # renderer put it and nothing anywhere else.
    slide = _slide_spec(gate, notice.id)
    rendered = render(slide, 640, 360, tmp_path / "cache")
    red = ImageColor.getrgb("#B00020")
    regions = rendered.regions[0]
    assert set(regions) == {"vi", "lo", "en"}
    for lang, box in regions.items():
        assert ink_inside(shot, red, box) > 100, lang
    assert ink_outside(shot, red, regions.values(), pad=4) is None
    rows = [r for r in gate.proof() if r["entry_id"] == f"notice:{notice.id}"]
    assert rows and rows[0]["level"] == "emergency" and rows[0]["outcome"] == "preempted"


def test_an_emergency_notice_in_a_release_preempts_until_it_expires(gate, state_dir):
    """What sync does with a release (validate, activate in one transaction)
    reaches the screen at the player's next poll, and the notice's expiry ends it."""
    from kiosk.store import iso, utcnow
    from kiosk.sync.activate import activate
    from kiosk.sync.release import validate

    content.set_playlist(gate.db, "normal", "Normal", [(gate.sha["green"], 30.0)])
    content.add_schedule_entry(gate.db, "normal", [1])
    with running_player(gate_settings(state_dir, **SIZE), plugins=[TextPlugin]):
        wait_for(lambda: gate.playing() == "green", what="green on screen")
        now = utcnow()
        release = validate({
            "format": 1, "gate_id": "gate-dev", "version": 7, "published_at": iso(now),
            "media": [], "playlists": [], "schedule_entries": [], "fallbacks": [], "power_windows": [],
            "notices": [{"id": "c-flood", "kind": "slide", "level": "emergency",
                         "texts": {"vi": "Cửa khẩu tạm đóng do mưa lũ", "lo": "ດ່ານປິດຊົ່ວຄາວຍ້ອນນ້ຳຖ້ວມ",
                                   "en": "Border gate closed: flooding"},
                         "faces": [], "style": {}, "starts_at": None,
                         "expires_at": iso(now + timedelta(seconds=8))}],
        }, "gate-dev")
        t0 = time.monotonic()
        activate(gate.db, release, "0" * 64)
        wait_for(lambda: gate.playing() == "notice c-flood", timeout=15, what="the release's emergency on screen")
        print(f"emergency notice from a release to screen: {(time.monotonic() - t0) * 1000:.0f} ms")
        wait_for(lambda: gate.playing() == "green", timeout=30, what="the schedule back after the expiry")
    rows = [r for r in gate.proof() if r["entry_id"] == "notice:c-flood"]
    assert rows and rows[0]["level"] == "emergency" and rows[0]["outcome"] in ("preempted", "completed")


def _notice_sha(gate, notice_id):
    rows = [r for r in gate.proof() if r["entry_id"] == f"notice:{notice_id}"]
    return rows[0]["media_sha256"]


def _slide_spec(gate, notice_id):
    return parse_spec(gate.store.path(_notice_sha(gate, notice_id)).read_bytes())


def test_text_media_in_a_playlist_plays_and_a_bad_font_skips_it_by_name(gate, state_dir, tmp_path):
    stacked = tmp_path / "stacked.json"
    stacked.write_text(json.dumps({"body": {"vi": SAMPLES["vi"], "km": SAMPLES["km"]}, "background": "#202020"},
                                  ensure_ascii=False))
    in_turn = tmp_path / "in_turn.json"
    in_turn.write_text(json.dumps({"body": {"zh": SAMPLES["zh"], "lo": SAMPLES["lo"]}, "layout": "in_turn",
                                   "background": "#000000"}, ensure_ascii=False))
    a = content.add_media(gate.db, gate.store, stacked, name="stacked")
    b = content.add_media(gate.db, gate.store, in_turn, name="in turn")
    content.set_playlist(gate.db, "text", "Text", [(a, 1.0), (b, 2.0)])
    content.add_schedule_entry(gate.db, "text", [1])
    with running_player(gate_settings(state_dir, **SIZE), plugins=[TextPlugin]):
        wait_for(lambda: sum(r["outcome"] == "completed" for r in gate.proof()) >= 2, timeout=60,
                 what="both text slides played")
    done = [r for r in gate.proof() if r["outcome"] == "completed"][:2]
    assert [r["media_name"] for r in done] == ["stacked", "in turn"]
    # Khmer drawn with a font that has no Khmer: the item is skipped, the reason names Khmer.
    settings = gate_settings(state_dir, text_fonts={"km": "Noto Sans"}, **SIZE)
    with running_player(settings, plugins=[TextPlugin]):
        wait_for(lambda: [r for r in gate.proof() if r["outcome"] == "skipped"], timeout=30, what="a skipped slide")
    skipped = [r for r in gate.proof() if r["outcome"] == "skipped"][0]
    assert skipped["media_name"] == "stacked" and "Khmer (km) text cannot be shown" in skipped["reason"]
    # The player said so when it started, before any slide was due.
    events = [r["message"] for r in gate.db.query("SELECT message FROM event WHERE code = 'font_missing'")]
    assert len(events) == 1 and "Khmer (km)" in events[0]


def _solid(path, colour):
    Image.new("RGB", (640, 360), colour).save(path)
    return path


def test_ticker_rides_over_item_changes_in_the_player(gate, state_dir, tmp_path, monkeypatch):
    green = content.add_media(gate.db, gate.store, _solid(tmp_path / "g.png", (20, 140, 20)), name="g")
    blue = content.add_media(gate.db, gate.store, _solid(tmp_path / "b.png", (20, 20, 160)), name="b")
    content.set_playlist(gate.db, "day", "Day", [(green, 1.2), (blue, 1.2)])
    content.add_schedule_entry(gate.db, "day", [1])
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    top = 360 - round(360 * 0.08)
    with xvfb(640, 360) as display:
        monkeypatch.setenv("DISPLAY", display)
        # vo x11 (shared memory): mpv's probe refuses Xvfb's software GL unless told.
        settings = gate_settings(state_dir, display="x11", mpv_vo="x11", ticker_speed_px_s=180.0,
                                 ticker_background="#000000",
                                 outputs=[{"name": "main", "width": 640, "height": 360}])
        with running_player(settings, plugins=[TextPlugin]) as player:
            wait_for(lambda: gate.playing() in ("g", "b"), what="the playlist on screen")
            set_notice(gate.db, {"vi": SAMPLES["vi"], "km": SAMPLES["km"]}, kind="ticker")
            # The band is a window of its own over the picture: look at the screen.
            def screen():
                return ImageGrab.grab(xdisplay=display).convert("RGB")

            wait_for(lambda: leftmost_ink(band_profile(screen(), top, 360)) is not None, timeout=30,
                     what="the ticker band on screen")
            samples = []
            start = time.monotonic()
            while time.monotonic() - start < 4.0:
                shot = screen()
                samples.append((time.monotonic(), shot.getpixel((320, 100)),
                                leftmost_ink(band_profile(shot, top, 360))))
                time.sleep(0.25)
            clear_notices(gate.db)
            wait_for(lambda: leftmost_ink(band_profile(screen(), top, 360)) is None, timeout=30,
                     what="the band gone after clearing")
    pictures = {("g" if not differs(p, (20, 140, 20)) else "b" if not differs(p, (20, 20, 160)) else "?")
                for _, p, _ in samples}
    assert {"g", "b"} <= pictures  # items changed underneath the band
    steps = [(x0 - x1) / (t1 - t0) for (t0, _, x0), (t1, _, x1) in zip(samples, samples[1:])]
    assert all(s > 15 for s in steps), steps  # always moving left: no reset, no pause
