"""Kill switch from central: from the moment an operator blanks a gate at central
(`central.killswitch.blank`: the state row, the re-signed release, the change
notification) until the gate's face is black, and from the release until it
shows content again. Everything real: the central Flask app on 127.0.0.1, the
gate's sync service holding its long-poll (default settings: 55 s long-poll,
5 min poll interval), the player with real mpv (--vo=null) and its power plugin.

    .venv/bin/python bench/central_blank_latency.py [trials]

The last line is `central_blank_latency_s: X`, the worst blank (target <= 5, like
an emergency).
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.central import LiveServer, make_central  # noqa: E402
from tests.support.media import make_image  # noqa: E402
from tests.support.player import running_player  # noqa: E402
from tests.support.sync.gate import gate_of, running_sync  # noqa: E402
from tests.support.wait import wait_for  # noqa: E402

from central.killswitch import blank, unblank  # noqa: E402
from central.users import add_user  # noqa: E402
from kiosk.power.plugin import PowerPlugin  # noqa: E402
from kiosk.store import open_db  # noqa: E402

GATE_ID = "lang-son-huu-nghi"


def face(db):
    return db.execute("SELECT playing_sha256, blanked FROM face_state WHERE face_id = 1"
                      ).fetchone() or (None, None)


def main():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        central = make_central(tmp / "central")
        server = LiveServer(central.settings)
        settings = gate_of(central, server.url, tmp, GATE_ID)
        add_user(central.db, "van-hanh", "operator")
        red = central.media(make_image(tmp / "red.png", color=(220, 20, 20)))
        central.show(GATE_ID, [red])
        central.publish()

        db = open_db(settings.db_path)
        black, back = [], []
        try:
            with running_sync(settings, join_timeout=70), \
                    running_player(settings, plugins=[PowerPlugin]):
                wait_for(lambda: face(db) == (red, 0), timeout=60, what="content on face 1")
                for i in range(trials):
                    time.sleep(1.5)  # let the gate settle back into its long-poll
                    started = time.monotonic()
                    blank(central.db, central.repo, GATE_ID, by="van-hanh",
                          reason=f"bench {i}", faces=[1])
                    wait_for(lambda: face(db)[1] == 1, timeout=60, interval=0.01,
                             what="face 1 black")
                    black.append(time.monotonic() - started)
                    time.sleep(1.5)
                    started = time.monotonic()
                    unblank(central.db, central.repo, GATE_ID, by="van-hanh", reason="bench")
                    wait_for(lambda: face(db) == (red, 0), timeout=60, interval=0.01,
                             what="face 1 back")
                    back.append(time.monotonic() - started)
                    print(f"trial {i + 1}: black after {black[-1]:.2f} s, back after "
                          f"{back[-1]:.2f} s", flush=True)
        finally:
            db.close()
            server.close()
            central.db.close()
    for name, values in (("black", black), ("back", back)):
        print(f"{name}: median {statistics.median(values):.2f} s, max {max(values):.2f} s "
              f"over {len(values)} trials")
    print(f"central_blank_latency_s: {max(black):.2f}")


if __name__ == "__main__":
    main()
