"""The player on real mpv (--vo=null): order, durations, schedule changes,
bad files, proof of play."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from kiosk import content
from kiosk.store import parse_iso

from tests.support.player import cpu_seconds, gate_settings, mpv_pid, running_player
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow


def seconds(row) -> float:
    return (parse_iso(row["ended_at"]) - parse_iso(row["started_at"])).total_seconds()


def test_schedule_plays_in_order_with_durations(gate, state_dir):
    content.set_playlist(gate.db, "day", "Day", [
        (gate.sha["red"], 1.0), (gate.sha["clip"], None), (gate.sha["blue"], 0.6),
    ])
    content.add_schedule_entry(gate.db, "day", [1], name="all day")
    with running_player(gate_settings(state_dir)):
        # Two full passes of the loop: 6 completed items.
        wait_for(lambda: sum(r["outcome"] == "completed" for r in gate.proof()) >= 6,
                 timeout=60, what="two passes of the playlist")
    rows = [r for r in gate.proof() if r["outcome"] == "completed"][:6]
    assert [r["media_name"] for r in rows] == ["red", "clip", "blue"] * 2
    for r in rows:
        expected = {"red": 1.0, "clip": 1.0, "blue": 0.6}[r["media_name"]]
        # mpv times the holds itself; the rows are stamped from its events.
        assert seconds(r) == pytest.approx(expected, abs=0.5), r
        assert r["face_id"] == 1 and r["level"] == "normal" and r["entry_id"]
    # Items follow each other: each starts about when the previous ended.
    for a, b in zip(rows, rows[1:]):
        gap = (parse_iso(b["started_at"]) - parse_iso(a["ended_at"])).total_seconds()
        assert -0.05 <= gap < 1.0, (a, b)
    # The last row is closed when the player stops: nothing left 'playing'.
    assert not [r for r in gate.proof() if r["outcome"] == "playing"]


def test_schedule_change_reaches_the_screen_and_emergency_preempts(gate, state_dir):
    content.set_playlist(gate.db, "normal", "Normal", [(gate.sha["red"], 30.0)])
    content.set_playlist(gate.db, "alert", "Alert", [(gate.sha["blue"], 30.0)])
    content.add_schedule_entry(gate.db, "normal", [1])
    with running_player(gate_settings(state_dir)):
        wait_for(lambda: gate.playing() == "red", what="red on screen")
        t0 = time.monotonic()
        content.add_schedule_entry(gate.db, "alert", [1], level="emergency", name="flood")
        wait_for(lambda: gate.playing() == "blue", timeout=10, what="the emergency on screen")
        latency = time.monotonic() - t0
        print(f"schedule change to screen: {latency * 1000:.0f} ms")
    rows = gate.proof()
    red = [r for r in rows if r["media_name"] == "red"]
    assert red[0]["outcome"] == "preempted" and "emergency" in red[0]["reason"]
    blue = [r for r in rows if r["media_name"] == "blue"]
    assert blue[0]["level"] == "emergency"
    assert gate.face(1)["level"] == "emergency"


def test_corrupt_and_missing_files_are_skipped_with_the_reason(gate, state_dir):
    gate.store.remove(gate.sha["green"])  # listed in media, gone from the store
    content.set_playlist(gate.db, "mixed", "Mixed", [
        (gate.sha["corrupt"], None), (gate.sha["green"], 1.0), (gate.sha["red"], 0.7),
    ])
    content.add_schedule_entry(gate.db, "mixed", [1])
    with running_player(gate_settings(state_dir)):
        wait_for(lambda: sum(r["media_name"] == "red" and r["outcome"] == "completed"
                             for r in gate.proof()) >= 2, timeout=30, what="red twice")
    rows = gate.proof()
    corrupt = [r for r in rows if r["media_name"] == "corrupt"]
    missing = [r for r in rows if r["media_name"] == "green"]
    # Each bad file is recorded once, not on every pass of the loop.
    assert len(corrupt) == 1 and corrupt[0]["outcome"] == "error"
    assert "mpv could not play it" in corrupt[0]["reason"]
    assert len(missing) == 1 and missing[0]["outcome"] == "skipped"
    assert "missing" in missing[0]["reason"]
    # Skipped quickly (about 10-700 ms here, depending on load; the bound is
    # generous for a busy CI machine).
    first_red = next(r for r in rows if r["media_name"] == "red")
    skip = (parse_iso(first_red["started_at"]) - parse_iso(corrupt[0]["started_at"])).total_seconds()
    print(f"corrupt file reached -> next item on screen: {skip * 1000:.0f} ms")
    assert skip < 5.0
    codes = {r["code"] for r in gate.db.query("SELECT code FROM event WHERE source = 'player'")}
    assert {"media_error", "media_skipped"} <= codes
    assert "corrupt" in gate.face(1)["last_error"] or "green" in gate.face(1)["last_error"]


def test_a_playlist_of_only_bad_files_shows_black_without_spinning(gate, state_dir):
    content.set_playlist(gate.db, "bad", "Bad", [(gate.sha["corrupt"], None)])
    content.add_schedule_entry(gate.db, "bad", [1])
    with running_player(gate_settings(state_dir, poll_interval_s=0.2)) as player:
        wait_for(lambda: any(r["outcome"] == "error" for r in gate.proof()), what="the error row")
        pid = wait_for(lambda: mpv_pid(player), what="mpv")
        time.sleep(0.5)
        import os
        me = os.getpid()
        c0, m0 = cpu_seconds(me), cpu_seconds(pid)
        time.sleep(3.0)
        controller_cpu, mpv_cpu = cpu_seconds(me) - c0, cpu_seconds(pid) - m0
        print(f"3 s with only bad files: controller+tests {controller_cpu:.2f} s CPU, mpv {mpv_cpu:.2f} s")
        # Spinning would burn ~3 s of CPU; allow a lot of slack for a busy machine.
        assert controller_cpu < 0.6 and mpv_cpu < 0.6
        assert player.pictures["face-1"].current is None
    assert len([r for r in gate.proof() if r["media_name"] == "corrupt"]) == 1
    assert gate.playing() is None


def test_nothing_scheduled_is_black_and_fallback_plays(gate, state_dir):
    content.set_playlist(gate.db, "fb", "Fallback", [(gate.sha["white"], 30.0)])
    with running_player(gate_settings(state_dir)):
        time.sleep(1.0)
        assert gate.playing() is None
        content.set_fallback(gate.db, 1, "fb")
        wait_for(lambda: gate.playing() == "white", timeout=10, what="the fallback")
        assert gate.face(1)["level"] == "fallback"
