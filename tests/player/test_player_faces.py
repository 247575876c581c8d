"""Faces: screenshots show the real picture, mirrored faces share an output,
and the per-face dark switch (the power plugin's seam) turns a face black."""

from __future__ import annotations

import time

import pytest
from PIL import Image

from kiosk import content
from kiosk.player.plugins import DarkFaces, PlayerPlugin

from tests.support.player import COLOURS, gate_settings, running_player
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow


def centre_pixel(path):
    with Image.open(path) as im:
        im = im.convert("RGB")
        return im.getpixel((im.width // 2, im.height // 2)), im.size


def test_screenshot_of_a_solid_colour_image_has_its_pixels(gate, state_dir):
    content.set_playlist(gate.db, "green", "Green", [(gate.sha["green"], 60.0)])
    content.add_schedule_entry(gate.db, "green", [1])
    shot = state_dir / "screenshots" / "face-1.png"
    with running_player(gate_settings(state_dir, screenshot_interval_s=0.5)):
        wait_for(lambda: gate.face(1).get("screenshot_at") and gate.playing() == "green"
                 and shot.exists() and centre_pixel(shot)[0] != (0, 0, 0),
                 timeout=30, what="a screenshot of the green image")
    pixel, size = centre_pixel(shot)
    assert size == (320, 240)
    # Green through mpv's YUV path: allow a little rounding.
    assert all(abs(a - b) <= 12 for a, b in zip(pixel, COLOURS["green"])), pixel
    assert gate.face(1)["screenshot"] == "face-1.png"


def test_mirrored_faces_show_the_first_face_and_both_get_proof_of_play(gate, state_dir):
    settings = gate_settings(state_dir, faces=[
        {"id": 1, "name": "North", "output": "main"}, {"id": 2, "name": "South", "output": "main"}])
    content.set_playlist(gate.db, "a", "A", [(gate.sha["red"], 0.5)])
    content.set_playlist(gate.db, "b", "B", [(gate.sha["blue"], 0.5)])
    content.add_schedule_entry(gate.db, "a", [1])
    content.add_schedule_entry(gate.db, "b", [2])  # ignored: face 2 mirrors face 1
    with running_player(settings):
        wait_for(lambda: len([r for r in gate.proof(face=2) if r["outcome"] == "completed"]) >= 2,
                 timeout=30, what="face 2 rows")
    for face in (1, 2):
        names = {r["media_name"] for r in gate.proof(face=face)}
        assert names == {"red"}, (face, names)
        assert gate.face(face)["playing_name"] is None  # stopped cleanly
    # Not silently: the event log says face 2's own schedule is not what it shows.
    warned = list(gate.db.query("SELECT face_id, level, message FROM event "
                                "WHERE code = 'mirrored_schedule_ignored'"))
    assert len(warned) == 1 and warned[0]["face_id"] == 2 and warned[0]["level"] == "warning"
    assert "face 2 mirrors face 1" in warned[0]["message"]


class DarkSwitch(PlayerPlugin):
    """A stand-in for the power plugin: faces listed in `dark` are off."""

    dark: dict[int, str] = {}

    def dark_faces(self, now):
        return DarkFaces(dict(type(self).dark))


def test_a_dark_face_shows_black_and_comes_back(gate, state_dir):
    DarkSwitch.dark = {}
    content.set_playlist(gate.db, "day", "Day", [(gate.sha["white"], 60.0)])
    content.add_schedule_entry(gate.db, "day", [1])
    shot = state_dir / "screenshots" / "face-1.png"
    with running_player(gate_settings(state_dir, screenshot_interval_s=0.5),
                        plugins=[DarkSwitch]) as player:
        wait_for(lambda: gate.playing() == "white", what="white")
        DarkSwitch.dark = {1: "power off (schedule)"}
        player.request_reconcile()
        wait_for(lambda: gate.playing() is None, timeout=10, what="face 1 dark")
        # mpv stopped decoding (its end-file arrives just after the stop).
        wait_for(lambda: player.pictures["face-1"].current is None, timeout=10, what="mpv stopped")
        wait_for(lambda: shot.exists() and centre_pixel(shot)[0] == (0, 0, 0), timeout=10,
                 what="a black screenshot")
        DarkSwitch.dark = {}
        player.request_reconcile()
        wait_for(lambda: gate.playing() == "white", timeout=10, what="white again")
    rows = gate.proof()
    assert rows[0]["outcome"] == "preempted" and "power off" in rows[0]["reason"]
    assert rows[1]["media_name"] == "white"


def test_a_mirrored_face_coming_back_is_counted_from_then(gate, state_dir):
    DarkSwitch.dark = {2: "power off (override)"}
    settings = gate_settings(state_dir, faces=[
        {"id": 1, "name": "North", "output": "main"}, {"id": 2, "name": "South", "output": "main"}])
    content.set_playlist(gate.db, "day", "Day", [(gate.sha["white"], 60.0)])
    content.add_schedule_entry(gate.db, "day", [1, 2])
    with running_player(settings, plugins=[DarkSwitch]) as player:
        wait_for(lambda: gate.playing(1) == "white", what="white on face 1")
        assert gate.proof(face=2) == []  # a dark face shows nothing
        time.sleep(1.0)
        DarkSwitch.dark = {}
        player.request_reconcile()
        wait_for(lambda: gate.proof(face=2), timeout=10, what="face 2 counted")
        assert gate.playing(2) == "white"
    one, two = gate.proof(face=1)[0], gate.proof(face=2)[0]
    assert one["media_name"] == two["media_name"] == "white"
    assert two["started_at"] > one["started_at"]  # from when it came back, not before
