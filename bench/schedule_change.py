"""Schedule change to screen: from a desired-state write (a new emergency
schedule entry, as the admin or sync would write it) to the new item's first
frame in mpv, with the real player and mpv --vo=null, default poll interval.

    .venv/bin/python bench/schedule_change.py [trials]

A second IPC client on the player's mpv socket stamps the `playback-restart`
of the new item. Trials start at different points of the poll cycle. Each
trial adds the entry, waits for the alert, then deletes it and waits for the
normal content to come back (measured too).

Last line: `schedule_change_p95_ms: X` (target <= 1000).
"""

from __future__ import annotations

import queue
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests.support.player import Gate, gate_settings, make_media, running_player  # noqa: E402
from tests.support.wait import wait_for  # noqa: E402
from transition_gap import Observer, percentile  # noqa: E402

from kiosk import content  # noqa: E402


def first_frame_of(obs: Observer, path: str, since: float, timeout: float = 30.0) -> float:
    """Seconds from `since` to the playback-restart of the entry playing `path`."""
    entry = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ev = obs.events.get(timeout=0.5)
        except queue.Empty:
            continue
        if ev.at < since:
            continue
        if ev.name == "start-file":
            playlist = obs.ipc.get("playlist", [])
            names = {e["id"]: e["filename"] for e in playlist}
            entry = names.get(ev.data.get("playlist_entry_id"))
        elif ev.name == "playback-restart" and entry == path:
            return ev.at - since
    raise TimeoutError(f"{path} never reached the screen")


def main(trials: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        state = tmp / "state"
        state.mkdir()
        gate = Gate(state, make_media(tmp / "media"))
        content.set_playlist(gate.db, "normal", "Normal", [(gate.sha["white"], 60.0)])
        content.set_playlist(gate.db, "alert", "Alert", [(gate.sha["red"], 60.0)])
        content.add_schedule_entry(gate.db, "normal", [1])
        red, white = (str(gate.store.path(gate.sha[n])) for n in ("red", "white"))
        to_alert, back = [], []
        with running_player(gate_settings(state, poll_interval_s=0.2)) as player:
            output = player.pictures["face-1"]
            wait_for(lambda: output.showing_picture(), timeout=60, what="first picture")
            obs = Observer(output.sock_path)
            try:
                for i in range(trials):
                    time.sleep(0.5 + (i % 7) * 0.029)  # land at different points of the poll cycle
                    t0 = time.monotonic()
                    content.add_schedule_entry(gate.db, "alert", [1], level="emergency",
                                               entry_id="bench-alert")
                    to_alert.append(first_frame_of(obs, red, t0) * 1000)
                    time.sleep(0.3)
                    t0 = time.monotonic()
                    gate.db.execute("DELETE FROM schedule_entry WHERE id = 'bench-alert'")
                    back.append(first_frame_of(obs, white, t0) * 1000)
            finally:
                obs.close()
        gate.db.close()
    for name, values in (("emergency entry written -> its first frame", to_alert),
                         ("entry deleted -> normal content's first frame", back)):
        print(f"{name}: median {statistics.median(values):.0f} ms, p95 {percentile(values, 95):.0f} ms, "
              f"max {max(values):.0f} ms ({len(values)} trials)")
    print(f"schedule_change_p95_ms: {percentile(to_alert + back, 95):.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
