"""Emergency latency: from the moment central starts publishing an emergency release
to the moment the gate's player shows it. Everything real: the central Flask app on
127.0.0.1, the gate's sync service holding its long-poll on the change notification
(default settings: 55 s long-poll, 5 min poll interval), the player with real mpv
(--vo=null, default 0.2 s poll). Each trial brings a new image (so it includes a
media download), sent as the console sends one (central.publish.publish_emergency:
the gate's release in force with the emergency layered on), then it is cancelled and
the normal content returns.

    .venv/bin/python bench/emergency_latency.py [trials]

The last line is `emergency_latency_s: X`, the worst trial (target <= 5).
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
from tests.support.wait import wait_for  # noqa: E402
from tests.support.sync.gate import gate_of, running_sync  # noqa: E402

from central.library import save_playlist  # noqa: E402
from central.publish import cancel_emergency, publish_emergency  # noqa: E402
from kiosk.store import open_db  # noqa: E402

GATE_ID = "lang-son-huu-nghi"


def playing(db):
    row = db.execute("SELECT playing_sha256 FROM face_state WHERE face_id = 1").fetchone()
    return row and row[0]


def main():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        central = make_central(tmp / "central")
        server = LiveServer(central.settings)
        settings = gate_of(central, server.url, tmp, GATE_ID)
        normal = central.media(make_image(tmp / "normal.png", color=(20, 20, 200)))
        central.show(GATE_ID, [normal])
        central.publish()

        db = open_db(settings.db_path)
        latencies = []
        try:
            with running_sync(settings, join_timeout=70), running_player(settings):
                wait_for(lambda: playing(db) == normal, timeout=60, what="normal content")
                for i in range(trials):
                    image = make_image(tmp / f"alert-{i}.png", color=(250, 10 + 20 * i, 0))
                    sha = central.media(image)
                    pid = save_playlist(central.db, f"alert-{i}", f"alert {i}", [(sha, 5.0)])
                    # Let the gate settle back into its long-poll first.
                    time.sleep(1.5)
                    started = time.monotonic()
                    # As the console and `gatecast central emergency` send one.
                    eid, _ = publish_emergency(central.db, central.repo, [f"gate:{GATE_ID}"],
                                               by=central.operator, reason=f"bench trial {i + 1}",
                                               minutes=30, playlist_id=pid)
                    wait_for(lambda: playing(db) == sha, timeout=60, interval=0.01,
                             what="the emergency on face 1")
                    latencies.append(time.monotonic() - started)
                    print(f"trial {i + 1}: {latencies[-1]:.2f} s", flush=True)
                    cancel_emergency(central.db, central.repo, eid, by=central.operator,
                                     reason="bench trial over")
                    wait_for(lambda: playing(db) == normal, timeout=60, what="normal content back")
        finally:
            db.close()
            server.close()
            central.db.close()
    print(f"median {statistics.median(latencies):.2f} s, "
          f"p95 {sorted(latencies)[max(0, int(len(latencies) * 0.95) - 1)]:.2f} s, "
          f"max {max(latencies):.2f} s over {len(latencies)} trials")
    print(f"emergency_latency_s: {max(latencies):.2f}")


if __name__ == "__main__":
    main()
