"""A ticker band's own mpv that cannot start or keeps dying is an event of its
faces (in the admin's words) and their last error, recorded once per failure
series rather than once per turn of a crash loop (kiosk/player/band.py)."""

from __future__ import annotations

import json
import os
import queue
import signal
import time
from types import SimpleNamespace

from kiosk.display.headless import HeadlessDisplay
from kiosk.player import band as band_module
from kiosk.player.band import FAILING_AFTER, Band
from kiosk.settings import OutputConfig, Picture, Region
from kiosk.store import open_db
from tests.support.wait import wait_for


def _band(tmp_path, mpv_path: str) -> tuple[Band, object]:
    db = open_db(tmp_path / "gate.db")
    output = OutputConfig("hdmi0", None, 640, 360)
    picture = Picture("face-1", output, Region(0, 0, 640, 360), (1, 2))
    player = SimpleNamespace(db=db, settings={"mpv_path": mpv_path}, run_dir=tmp_path,
                             display=HeadlessDisplay({}, None, dict(os.environ)), events=queue.Queue(),
                             display_ready=lambda: True)
    band = Band(picture, player)
    band.set(Region(0, 320, 640, 40), "av://lavfi:color=c=white:s=640x40")
    return band, db


def _events(db, code: str) -> list[dict]:
    return [dict(r, detail=json.loads(r["detail"])) for r in
            db.query("SELECT * FROM event WHERE code = ? ORDER BY id", [code])]


def test_a_band_mpv_that_cannot_start_is_recorded_once_then_as_failing(tmp_path):
    band, db = _band(tmp_path, str(tmp_path / "no-such-mpv"))
    tries = 0

    def failed_enough():
        nonlocal tries
        band.supervise(time.monotonic(), 0)
        tries = band.failures
        return tries >= FAILING_AFTER + 3

    wait_for(failed_enough, 30, "the band to fail to start several times")
    started = _events(db, "band_mpv_start_failed")
    # One event per face for the first failure, not one per attempt.
    assert [e["face_id"] for e in started] == [1, 2]
    assert started[0]["level"] == "error" and started[0]["detail"]["output"] == "hdmi0"
    assert "cannot start mpv" in started[0]["message"]
    failing = _events(db, "band_mpv_failing")
    assert [e["face_id"] for e in failing] == [1, 2]
    assert failing[0]["detail"]["failures"] == FAILING_AFTER
    last = db.execute("SELECT last_error FROM face_state WHERE face_id = 2").fetchone()[0]
    assert "ticker band: cannot start mpv" in last
    band.stop()


def test_a_band_mpv_in_a_crash_loop_is_failing_then_back(tmp_path, monkeypatch):
    monkeypatch.setattr(band_module, "STABLE_AFTER_S", 8.0)
    band, db = _band(tmp_path, "mpv")
    killed: set[int] = set()

    def kill_each_new_mpv():
        band.supervise(time.monotonic(), 0)
        if band.proc is not None and band.proc.pid not in killed and band.proc.ipc is not None:
            killed.add(band.proc.pid)
            band.proc.proc.send_signal(signal.SIGKILL)
        return band.failures >= FAILING_AFTER + 1

    try:
        wait_for(kill_each_new_mpv, 120, "the band's mpv to be killed several times in a row")
        died = _events(db, "band_mpv_died")
        assert [e["face_id"] for e in died] == [1, 2], died  # the first death only
        assert died[0]["level"] == "warning" and "mpv killed by SIGKILL" in died[0]["message"]
        failing = _events(db, "band_mpv_failing")
        assert [e["face_id"] for e in failing] == [1, 2]
        # Left alone it runs again, and says so once.
        wait_for(lambda: band.supervise(time.monotonic(), 0) or _events(db, "band_mpv_back"), 60,
                 "the band's mpv to be back")
        assert band.failures == 0 and band.running
        assert [e["face_id"] for e in _events(db, "band_mpv_back")] == [1, 2]
    finally:
        band.stop()
