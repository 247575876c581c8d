"""Player footprint: start to first frame, controller memory and idle CPU,
with the real `gatecast player` process and real mpv (--vo=null), two faces on
two outputs, screenshots every 30 s (the default).

    .venv/bin/python bench/player_footprint.py [--starts 5]

- start to first frame: from spawning `gatecast player` to its "playing" log
  line (mpv's first `playback-restart`), median and worst of several cold-ish
  starts (Python and mpv from the page cache).
- idle CPU: controller CPU time (/proc/<pid>/stat) over 9 s while both faces
  hold one 10 s image; mpv's CPU alongside for information.
- memory: controller VmRSS (its mpv are separate processes, not counted) after
  a minute of a mixed schedule (images and a video looping), and its peak VmHWM.

Last line: `controller_rss_mb: X` (targets: X <= 60, idle CPU <= 1 %,
first frame <= 1.5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.player import Gate, cpu_seconds, make_media  # noqa: E402
from tests.support.wait import wait_for  # noqa: E402

from kiosk import content  # noqa: E402

GATECAST = str(Path(sys.executable).parent / "gatecast")
CONFIG = """\
mpv_vo = "null"
screenshot_interval_s = 30
[[outputs]]
name = "left"
width = 1280
height = 720
[[outputs]]
name = "right"
width = 1280
height = 720
[[faces]]
id = 1
name = "Face 1"
output = "left"
[[faces]]
id = 2
name = "Face 2"
output = "right"
"""


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class PlayerProcess:
    def __init__(self, state: Path, config: Path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATECAST_")}
        env.pop("DISPLAY", None)
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([GATECAST, "player", "--state", str(state), "--config", str(config)],
                                     stdout=subprocess.PIPE, text=True, env=env)
        self.first_frame: float | None = None
        self.first_frame_cpu: float | None = None
        self.marks: dict[str, float] = {}  # log message -> seconds after spawn (first one)
        self.mpv_pids: list[int] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            msg = entry.get("msg")
            self.marks.setdefault(msg, time.monotonic() - self.t0)
            if msg == "playing" and self.first_frame is None:
                self.first_frame_cpu = cpu_seconds(self.proc.pid)
                self.first_frame = time.monotonic() - self.t0
            if entry.get("msg") == "mpv started":
                self.mpv_pids.append(entry["pid"])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.thread.join(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--soak", type=float, default=60.0, help="seconds of mixed schedule")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        state = tmp / "state"
        state.mkdir()
        config = tmp / "gatecast.toml"
        config.write_text(CONFIG)
        gate = Gate(state, make_media(tmp / "media"))
        content.set_playlist(gate.db, "hold", "Hold", [(gate.sha["white"], 10.0)])
        content.set_playlist(gate.db, "mixed", "Mixed", [
            (gate.sha["red"], 2.0), (gate.sha["clip"], None), (gate.sha["blue"], 2.0)])
        entry = content.add_schedule_entry(gate.db, "hold", [1, 2])

        firsts, cpus, marks = [], [], []
        for _ in range(args.starts):
            player = PlayerProcess(state, config)
            wait_for(lambda: player.first_frame is not None, timeout=60, what="first frame")
            firsts.append(player.first_frame)
            cpus.append(player.first_frame_cpu)
            marks.append(player.marks)
            player.stop()
            time.sleep(0.5)
        print(f"start to first frame: median {statistics.median(firsts) * 1000:.0f} ms, "
              f"worst {max(firsts) * 1000:.0f} ms over {len(firsts)} starts")
        print(f"  controller CPU time spent by the first frame: median "
              f"{statistics.median(cpus) * 1000:.0f} ms (what a quiet machine would wait, roughly)")
        for a, b in (("", "player starting"), ("player starting", "mpv connected"),
                     ("mpv connected", "playing")):
            spans = [m[b] - m.get(a, 0.0) for m in marks if b in m and (not a or a in m)]
            print(f"  {a or 'spawn'} -> {b}: median {statistics.median(spans) * 1000:.0f} ms")

        # Idle: both faces hold a 10 s image; measure 9 s inside one hold.
        gate.db.execute("DELETE FROM proof_of_play")
        player = PlayerProcess(state, config)
        try:
            wait_for(lambda: player.first_frame is not None, timeout=60, what="first frame")
            wait_for(lambda: gate.db.execute(
                "SELECT count(*) FROM proof_of_play WHERE outcome = 'completed'").fetchone()[0] >= 2,
                timeout=30, what="one full hold")
            time.sleep(0.3)
            pid = player.proc.pid
            c0, m0, t0 = cpu_seconds(pid), sum(cpu_seconds(p) for p in player.mpv_pids), time.monotonic()
            time.sleep(9.0)
            c1, m1, t1 = cpu_seconds(pid), sum(cpu_seconds(p) for p in player.mpv_pids), time.monotonic()
            idle_cpu = (c1 - c0) / (t1 - t0) * 100
            mpv_cpu = (m1 - m0) / (t1 - t0) * 100
            print(f"idle CPU while a 10 s image shows: controller {idle_cpu:.2f} % of a core, "
                  f"its two mpv together {mpv_cpu:.2f} %")

            # A mixed schedule for a while, then memory.
            gate.db.execute("UPDATE schedule_entry SET playlist_id = 'mixed' WHERE id = ?", [entry])
            time.sleep(args.soak)
            rss = status_kb(pid, "VmRSS") / 1024
            hwm = status_kb(pid, "VmHWM") / 1024
            mpv_rss = [status_kb(p, "VmRSS") / 1024 for p in player.mpv_pids if Path(f"/proc/{p}").exists()]
            shown = gate.db.execute("SELECT count(*) FROM proof_of_play").fetchone()[0]
            print(f"controller memory after {args.soak:.0f} s of a mixed schedule ({shown} items shown): "
                  f"RSS {rss:.1f} MB, peak {hwm:.1f} MB; each mpv "
                  f"{', '.join(f'{m:.0f}' for m in mpv_rss)} MB (separate processes)")
        finally:
            player.stop()
        gate.db.close()
    print(f"first_frame_ms: {max(firsts) * 1000:.0f}")
    print(f"idle_cpu_percent: {idle_cpu:.2f}")
    print(f"controller_rss_mb: {rss:.1f}")


if __name__ == "__main__":
    main()
