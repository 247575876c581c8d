"""The ticker band under the real player and a real (headless) sway: two faces
as two regions of one output, each picture with its own band, filmed with
grim. Every band is the one before it moved left, a pure translation, while
the picture under it changes; clearing the notice clears both bands.

No timing is asserted: the frames are compared with each other, and every
wait is for something seen on the output.
"""

from __future__ import annotations

import os
import signal

import pytest

from kiosk import content
from kiosk.text.notices import clear_notices, set_notice
from kiosk.text.plugin import TextPlugin

from tests.support.player import gate_settings, running_player
from tests.support.sway import HeadlessSway
from tests.support.text import SAMPLES, band_shift, differs
from tests.support.wait import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # generous waits below add up past the default

W, H = 640, 360
HALF = W // 2
BAND_H = round(H * 0.08)
BAND_TOP = H - BAND_H
BAND_COLOUR = (11, 61, 145)  # ticker_background #0B3D91
GREEN, BLUE = (0, 255, 0), (0, 0, 255)
REGIONS = {1: (0, HALF), 2: (HALF, W)}  # face -> x range of its region


@pytest.fixture
def sway():
    s = HeadlessSway(((W, H), (W, H))).start()
    yield s
    s.stop()


def band_of(shot, face):
    x0, x1 = REGIONS[face]
    return shot.crop((x0, BAND_TOP, x1, H))


def has_text(band) -> bool:
    """The band's colour with white text on it."""
    return not differs(band.getpixel((2, 1)), BAND_COLOUR) and band.convert("L").getextrema()[1] > 220


def no_band(shot, face) -> bool:
    band = band_of(shot, face)
    return differs(band.getpixel((2, 1)), BAND_COLOUR) and band.convert("L").getextrema()[1] < 220


def under(shot) -> str:
    pixel = shot.getpixel((HALF // 2, H // 2))
    return "green" if not differs(pixel, GREEN) else "blue" if not differs(pixel, BLUE) else "?"


def test_each_pictures_band_moves_as_one_piece_across_item_changes(sway, gate, state_dir, monkeypatch, tmp_path,
                                                                   caplog):
    content.set_playlist(gate.db, "day", "Day", [(gate.sha["green"], 1.2), (gate.sha["blue"], 1.2)])
    content.add_schedule_entry(gate.db, "day", [1])
    content.set_playlist(gate.db, "still", "Still", [(gate.sha["red"], 60.0)])
    content.add_schedule_entry(gate.db, "still", [2, 3])
    for key, value in sway.env().items():
        monkeypatch.setenv(key, value)
    settings = gate_settings(
        state_dir, display="sway", mpv_vo="wlshm", ticker_background="#0B3D91", ticker_speed_px_s=240.0,
        outputs=[{"name": "main", "connector": "HEADLESS-1", "width": W, "height": H},
                 {"name": "pillar", "connector": "HEADLESS-2", "width": W, "height": H}],
        faces=[{"id": 1, "name": "Trái", "output": "main", "region": {"x": 0, "y": 0, "width": HALF, "height": H}},
               {"id": 2, "name": "Phải", "output": "main",
                "region": {"x": HALF, "y": 0, "width": HALF, "height": H}},
               # A picture that is its whole output (Tân Thanh's pillar): its band shows over it too.
               {"id": 3, "name": "Trụ", "output": "pillar"}])
    with running_player(settings, plugins=[TextPlugin]) as player:
        wait_for(lambda: under(sway.grab("HEADLESS-1")) != "?", timeout=90, what="face 1's playlist on screen")
        set_notice(gate.db, {"vi": SAMPLES["vi"], "km": SAMPLES["km"], "en": SAMPLES["en"]}, kind="ticker")
        wait_for(lambda: all(has_text(band_of(shot, f)) for shot in [sway.grab("HEADLESS-1")] for f in REGIONS),
                 timeout=90, what="text in both faces' bands")
        pillar = wait_for(lambda: (lambda shot: shot if has_text(shot.crop((0, BAND_TOP, W, H))) else None)(
            sway.grab("HEADLESS-2")), timeout=90, what="text in the whole-output picture's band")
        pillar.save(tmp_path / "pillar.png")
        assert not differs(pillar.getpixel((W // 2, H // 2)), (255, 0, 0))  # its picture, above the band
        assert differs(pillar.getpixel((W // 2, BAND_TOP - 2)), BAND_COLOUR)  # the band is its rows only
        shots = []

        def filmed_two_item_changes():
            shots.append(sway.grab("HEADLESS-1"))
            seen = [under(s) for s in shots]
            return sum(1 for a, b in zip(seen, seen[1:]) if a != b and "?" not in (a, b)) >= 2

        wait_for(filmed_two_item_changes, timeout=120, what="two item changes under the band", interval=0.05)
        shots[0].save(tmp_path / "first.png")
        # A strip file removed under the player (a /tmp cleaner) is drawn and sent again.
        (text_plugin,) = [p for p in player.plugins if isinstance(p, TextPlugin)]
        for strip in text_plugin.strips.glob("*.png"):
            strip.unlink()
        wait_for(lambda: list(text_plugin.strips.glob("*.png")), timeout=60, what="the strip drawn again")
        moving = []

        def band_moves_again():
            moving.append(band_of(sway.grab("HEADLESS-1"), 2))
            if len(moving) < 2:
                return False
            shift, diff = band_shift(moving[-2], moving[-1], HALF - 40)
            return shift > 0 and diff < 2 and has_text(moving[-1])

        wait_for(band_moves_again, timeout=60, what="the band moving again")
        # The band's own mpv stopped, then killed: the band comes back each time,
        # and face 2's picture under it never went.
        band = player.bands["face-2"]
        band.proc.ipc.command("stop")
        wait_for(lambda: "band mpv went idle" in caplog.text, timeout=30, what="the player noticing")
        wait_for(lambda: has_text(band_of(sway.grab("HEADLESS-1"), 2)), timeout=60, what="face 2's band again")
        os.kill(band.proc.pid, signal.SIGKILL)
        wait_for(lambda: band.generation >= 2, timeout=60, what="face 2's band mpv started again")
        wait_for(lambda: has_text(band_of(sway.grab("HEADLESS-1"), 2)), timeout=60,
                 what="face 2's band after its mpv was killed")
        assert not differs(sway.grab("HEADLESS-1").getpixel((HALF + HALF // 2, H // 2)), (255, 0, 0))
        clear_notices(gate.db)
        wait_for(lambda: all(no_band(shot, f) for shot in [sway.grab("HEADLESS-1")] for f in REGIONS),
                 timeout=90, what="both bands gone after clearing")

    assert len(shots) >= 3
    for face in REGIONS:
        bands = [band_of(s, face) for s in shots]
        assert all(has_text(b) for b in bands), face  # the band never went away or blank
        moves = [band_shift(a, b, HALF - 40) for a, b in zip(bands, bands[1:])]
        # Each band is the one before moved left by whole pixels and nothing
        # else: no reset to the right edge, no pause, no re-laid-out text,
        # also while the picture under face 1's band changed.
        assert all(shift > 0 for shift, _ in moves), (face, moves)
        assert all(diff < 2 for _, diff in moves), (face, moves)
    # Each band is exactly the bottom BAND_H rows of its region (the rows
    # above are the picture's letterbox), and each region has its own band.
    last = shots[-1]
    for face, (x0, x1) in REGIONS.items():
        assert differs(last.getpixel((x0 + 2, BAND_TOP - 2)), BAND_COLOUR), face
        assert not differs(last.getpixel((x0 + 2, BAND_TOP + 1)), BAND_COLOUR), face
