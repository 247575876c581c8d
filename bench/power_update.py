"""Cost of PowerController.update(), which the player calls on every loop pass
(twice per pass, about 5 passes a second): 4 faces with relays on MockFactory
pins, two windows each (one overnight), an every-face override.

    .venv/bin/python bench/power_update.py [calls]

Last line: `power_update_us: X` (mean microseconds per call when nothing changed).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from kiosk.power.controller import PowerController
from kiosk.power.service import set_override, set_windows
from kiosk.settings import load_settings
from kiosk.store import open_db


def main(calls: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        config = state / "gatecast.toml"
        config.write_text("")
        faces = [{"id": i, "output": "main", "relay_pin": p} for i, p in zip(range(1, 5), (5, 6, 13, 19))]
        settings = load_settings(state_dir=state, env={}, config_file=config, overrides={"faces": faces})
        db = open_db(settings.db_path)
        for f in range(1, 5):
            set_windows(db, f, [{"start": "05:30", "end": "22:30"},
                                {"start": "22:00", "end": "01:00", "weekdays": [4, 5]}], by="bench")
        set_override(db, None, "on", by="bench")
        controller = PowerController(db, settings, pin_factory=MockFactory())
        controller.update()
        rounds = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(calls):
                controller.update()
            rounds.append((time.perf_counter() - start) / calls * 1e6)
        # A desired-state change forces a full evaluation: measure that too.
        full = []
        for i in range(200):
            db["blank"].update(1, {"reason": f"bench {i}"})
            start = time.perf_counter()
            controller.update()
            full.append((time.perf_counter() - start) * 1e6)
        controller.close()
        db.close()
    print(f"update, nothing changed: {statistics.mean(rounds):.0f} us per call (5 rounds of {calls})")
    print(f"update after a desired-state change: median {statistics.median(full):.0f} us")
    print(f"loop share at 10 calls/s: {statistics.mean(rounds) * 10 / 1e4:.3f} % of a core")
    print(f"power_update_us: {statistics.mean(rounds):.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
