"""The x11 display (Xvfb, developers' desktops): two outputs side by side on
one X screen, faces as regions placed with --geometry, screenshots cut from
the root window (so a dark face is black in its screenshot)."""

from __future__ import annotations

import pytest
from PIL import Image

from kiosk import content
from kiosk.player.plugins import DarkFaces, PlayerPlugin
from kiosk.settings import load_settings

from tests.support.player import running_player
from tests.support.text import xvfb
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow

W, H = 320, 240  # each output; the X screen holds both side by side


class FaceThreeDark(PlayerPlugin):
    def dark_faces(self, now):
        return DarkFaces({3: "power off (test)"})


def colour_of(path, point):
    with Image.open(path) as im:
        return im.convert("RGB").getpixel(point)


def near(a, b, tol=16):
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def test_regions_on_two_outputs_under_x11(gate, state_dir, tmp_path, monkeypatch):
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("SWAYSOCK", raising=False)
    for face, name in ((1, "red"), (2, "green"), (3, "blue")):
        content.set_playlist(gate.db, name, name, [(gate.sha[name], 60.0)])
        content.add_schedule_entry(gate.db, name, [face])
    half = {"y": 0, "width": W // 2, "height": H}
    overrides = {
        "display": "x11", "mpv_vo": "x11", "screenshot_interval_s": 0.5, "poll_interval_s": 0.1,
        "outputs": [{"name": "a", "width": W, "height": H}, {"name": "b", "width": W, "height": H}],
        "faces": [{"id": 1, "name": "A trái", "output": "a", "region": {"x": 0, **half}},
                  {"id": 2, "name": "A phải", "output": "a", "region": {"x": W // 2, **half}},
                  {"id": 3, "name": "B", "output": "b"}],
    }
    cfg = tmp_path / "gatecast.toml"
    cfg.write_text("")
    settings = load_settings(config_file=cfg, state_dir=state_dir, env={}, overrides=overrides)
    shots = state_dir / "screenshots"
    with xvfb(2 * W, H) as display:
        monkeypatch.setenv("DISPLAY", display)
        with running_player(settings, plugins=[FaceThreeDark]) as player:
            assert player.display.name == "x11"
            wait_for(lambda: all((shots / f"face-{f}.png").exists() for f in (1, 2, 3))
                     and near(colour_of(shots / "face-1.png", (W // 4, H // 2)), (255, 0, 0))
                     and near(colour_of(shots / "face-2.png", (W // 4, H // 2)), (0, 255, 0)),
                     timeout=60, what="face screenshots cut from the X root window")
    for face, size in ((1, (W // 2, H)), (2, (W // 2, H)), (3, (W, H))):
        with Image.open(shots / f"face-{face}.png") as im:
            assert im.size == size, (face, im.size)
    # Face 3 is dark: its whole output is black, read from the screen itself.
    with Image.open(shots / "face-3.png") as im:
        assert im.convert("RGB").getextrema() == ((0, 0), (0, 0), (0, 0))


def test_a_band_window_follows_an_output_window_moved_and_shrunk_by_its_mpv_args():
    """`gatecast demo` shows each 1280x720 output in a 640x360 window at
    (20 + 660 i, 40) through the outputs' mpv_args: a band's window is placed
    and scaled with it (without such args: the output's offset plus the region)."""
    from kiosk.display.x11 import window_geometry
    from kiosk.settings import Picture, Region, check_layout

    layout = check_layout({"display": "x11", "outputs": [
        {"name": "left", "width": 1280, "height": 720},
        {"name": "right", "width": 1280, "height": 720,
         "mpv_args": ["--fullscreen=no", "--geometry=640x360+680+40", "--autofit=640x360"]}],
        "faces": [{"id": 1, "name": "a", "output": "left"}, {"id": 2, "name": "b", "output": "right"}]})
    left, right = layout.pictures
    band = Region(0, 720 - 58, 1280, 58)
    assert window_geometry(left) == "1280x720+0+0"
    assert window_geometry(Picture("band-face-1", left.output, band, (1,))) == "1280x58+0+662"
    assert window_geometry(right) == "640x360+680+40"
    assert window_geometry(Picture("band-face-2", right.output, band, (2,))) == "640x29+680+371"
