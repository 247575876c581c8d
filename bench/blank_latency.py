"""Kill switch latency: from the `blank` row written (as the admin or the CLI
does) to mpv idle (decoding nothing, black) on every output, with real mpv
(--vo=null) on two outputs and the power plugin in the player loop.

    .venv/bin/python bench/blank_latency.py [trials]

Prints each figure; the last line is `blank_to_black_p95_ms: X` (target <= 1000).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.player import Gate, gate_settings, make_media, running_player  # noqa: E402
from tests.support.wait import wait_for  # noqa: E402

from kiosk import content  # noqa: E402
from kiosk.power.plugin import PowerPlugin  # noqa: E402
from kiosk.power.service import blank_off, blank_on  # noqa: E402


def idle(player, output):
    proc = player.pictures[output].proc
    return proc is not None and proc.ipc is not None and \
        proc.ipc.command("get_property", "idle-active") is True


def main(trials: int) -> None:
    import os

    os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        state = tmp / "state"
        state.mkdir()
        gate = Gate(state, make_media(tmp / "media"))
        content.set_playlist(gate.db, "day", "Day", [(gate.sha["white"], 3.0), (gate.sha["clip"], None)])
        content.add_schedule_entry(gate.db, "day", [1, 2])
        settings = gate_settings(
            state, poll_interval_s=0.2,
            outputs=[{"name": "left", "width": 320, "height": 240},
                     {"name": "right", "width": 320, "height": 240}],
            faces=[{"id": 1, "output": "left", "relay_pin": 5},
                   {"id": 2, "output": "right", "relay_pin": 6}])
        to_black, to_content = [], []
        with running_player(settings, plugins=[PowerPlugin]) as player:
            outputs = list(player.pictures)
            for i in range(trials):
                wait_for(lambda: not any(idle(player, o) for o in outputs), timeout=30,
                         interval=0.005, what="content")
                time.sleep(0.3 + (i % 5) * 0.037)  # land at different points of the poll cycle
                t0 = time.monotonic()
                blank_on(gate.db, by="bench", reason="bench", power_off=i % 2 == 1)
                wait_for(lambda: all(idle(player, o) for o in outputs), timeout=30,
                         interval=0.005, what="black")
                to_black.append((time.monotonic() - t0) * 1000)
                t0 = time.monotonic()
                blank_off(gate.db, by="bench")
                wait_for(lambda: not any(idle(player, o) for o in outputs), timeout=30,
                         interval=0.005, what="content back")
                to_content.append((time.monotonic() - t0) * 1000)
        gate.db.close()
    q = lambda xs, p: statistics.quantiles(xs, n=100, method="inclusive")[p - 1]  # noqa: E731
    print(f"trials: {trials} (2 outputs, real mpv --vo=null, poll_interval_s 0.2)")
    print(f"blank -> black ms: median {statistics.median(to_black):.0f}, p95 {q(to_black, 95):.0f}, "
          f"max {max(to_black):.0f}")
    print(f"release -> content ms: median {statistics.median(to_content):.0f}, "
          f"p95 {q(to_content, 95):.0f}, max {max(to_content):.0f}")
    print(f"blank_to_black_p95_ms: {q(to_black, 95):.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
