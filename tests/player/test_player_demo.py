"""`gatecast demo`: makes its media and schedule, runs the player headless for a
bounded time, and shows something; its service list starts and stops together."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from kiosk.demo import Service, run_services
from central.db import open_central_db
from kiosk.store import open_db

pytestmark = pytest.mark.slow


def test_demo_runs_headless_and_shows_both_faces(tmp_path):
    state = tmp_path / "demo-state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATECAST_")}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    gatecast = str(Path(sys.executable).parent / "gatecast")
    result = subprocess.run([gatecast, "demo", "--state", str(state), "--for", "24"],
                            capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "priority notice on both faces" in result.stdout
    db = open_db(state / "gatecast.db")
    try:
        rows = list(db.query("SELECT face_id, media_name, outcome FROM proof_of_play"))
        assert {r["face_id"] for r in rows} == {1, 2}, rows
        assert all(r["outcome"] in ("completed", "preempted") for r in rows), rows
        # The schedule came from the local central server as a signed release.
        entries = {r["id"]: r for r in db.query("SELECT * FROM schedule_entry")}
        assert entries["c-demo-priority"]["level"] == "priority"
        assert {r["source"] for r in entries.values()} == {"central"}
        kinds = {r["kind"] for r in db.query("SELECT kind FROM media")}
        assert kinds == {"image", "video"}
    finally:
        db.close()
    # The screenshots show pictures, not black.
    for face in (1, 2):
        with Image.open(state / "screenshots" / f"face-{face}.png") as im:
            assert im.size == (1280, 720)
            assert im.convert("L").getextrema()[1] > 50, f"face {face} screenshot is black"
    assert "first sync activated" in result.stdout
    central = open_central_db(state / "central")
    try:
        assert central.count("heartbeat") >= 1
        assert central.scalar("SELECT max(version) FROM release") >= 1
    finally:
        central.close()
    # JSON log lines on stdout from the player.
    assert '"msg": "playing"' in result.stdout


def test_demo_services_start_and_stop_together(tmp_path):
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    marker = tmp_path / "second-started"
    second = [sys.executable, "-c",
              f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(120)"]
    lines = []
    status = run_services([Service("a", sleeper), Service("b", second)], duration=3.0,
                          echo=lines.append)
    assert status == 0 and marker.exists()
    assert [line.split(" (")[0] for line in lines] == ["demo: started a", "demo: started b"]


def test_demo_stops_everything_when_a_service_dies(tmp_path):
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    dies = [sys.executable, "-c", "raise SystemExit(3)"]
    lines = []
    status = run_services([Service("sleeper", sleeper), Service("broken", dies)], duration=60,
                          echo=lines.append)
    assert status == 1
    assert any("broken exited with status 3" in line for line in lines)
