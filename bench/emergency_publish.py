"""Publishing an emergency by itself: N gates in one group showing a 10-image
playlist, one gate with an editor's unapproved item pending; then the time
from the call to the signed, recorded publication for (1) an emergency to one
gate, (2) an emergency to the whole group, (3) a full publish for comparison
(which builds every gate and holds the pending gate back), (4) an emergency to
one gate started while a full publish is building (it must not wait for it).

    .venv/bin/python bench/emergency_publish.py [--gates 1000] [--store sqlite|postgresql]

Last line: `emergency_publish_one_gate_s: X`.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.central import fleet_bench, timed  # noqa: E402
from tests.support.media import make_image  # noqa: E402

from central.assign import add_entry, add_notice  # noqa: E402
from central.library import save_playlist  # noqa: E402
import central.publish as publishing  # noqa: E402
from central.publish import publish, publish_emergency  # noqa: E402


def run(args, c, ids, tmp: Path) -> None:
    _, t_first = timed(c.publish)
    draft = c.media(make_image(tmp / "draft.png", color=(0, 200, 0)), approve=False)
    add_entry(c.db, "gate", ids[-1], save_playlist(c.db, "d", "D", [(draft, 5.0)]))

    def emergency(kind, target):
        return publish_emergency(c.db, c.repo, [f"{kind}:{target}"], by=c.operator,
                                 reason="bench",
                                 minutes=30, texts={"vi": "Tạm dừng thông quan"})

    (_, one), t_one = timed(lambda: emergency("gate", ids[0]))
    (_, every), t_all = timed(lambda: emergency("group", "all"))
    full, t_full = timed(lambda: publish(c.db, c.repo))
    # An emergency while a full publication (a new notice for every gate)
    # is being built: it waits for a signature at most, never for the build.
    add_notice(c.db, "group", "all", {"vi": "Giờ mở cửa 7:00"})
    building = threading.Event()
    real_build = publishing.build

    def build(*a, **kw):
        building.set()
        return real_build(*a, **kw)

    publishing.build = build
    slow = threading.Thread(target=lambda: publish(c.db, c.repo))
    slow.start()
    building.wait()
    (_, during), t_during = timed(lambda: emergency("gate", ids[1]))
    overlapped = slow.is_alive()
    slow.join()
    publishing.build = real_build
    c.db.close()
    print(f"store: {args.store}; gates: {args.gates}; first publish {t_first:.2f} s")
    print(f"emergency to one gate: {t_one:.2f} s ({len(one.changed)} release changed)")
    print(f"emergency to every gate: {t_all:.2f} s ({len(every.changed)} releases changed, "
      f"{len(every.held)} held)")
    print(f"full publish afterwards: {t_full:.2f} s ({len(full.changed)} changed, "
      f"{len(full.held)} held back: {', '.join(full.held)})")
    print(f"emergency to one gate while a full publish builds: {t_during:.2f} s "
      f"(the full publish was {'still running' if overlapped else 'already done'} after it)")
    print(f"emergency_publish_one_gate_s: {t_one:.2f}")


if __name__ == "__main__":
    fleet_bench(__doc__, run)
