"""Publishing for a fleet: 1000 gates in one group, a 10-image playlist, then
(1) the first publish, (2) a publish that changes nothing, (3) one that changes
one gate; with the sizes of what a gate downloads after a publish that did not
touch its release (timestamp + snapshot) and after one that did (+ one bin).

    .venv/bin/python bench/central_publish.py [--gates 1000] [--store sqlite|postgresql]

Last line: `central_publish_one_gate_s: X` (seconds to sign a one-gate change).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.central import fleet_bench, timed  # noqa: E402

from central.assign import add_entry  # noqa: E402


def run(args, c, ids, tmp: Path) -> None:
    first, t_first = timed(c.publish)
    same, t_same = timed(c.publish)
    add_entry(c.db, "gate", ids[1], "p", start_time="06:00", end_time="07:00")
    one, t_one = timed(c.publish)
    md = c.repo.metadata_dir
    snapshot = c.repo.snapshot()
    bins = [md / f"{snapshot.signed.meta[f'{b}.json'].version}.{b}.json"
            for b in c.repo.bins().get_roles()]
    sizes = sorted(p.stat().st_size for p in bins)
    snap_size = (md / f"{snapshot.signed.version}.snapshot.json").stat().st_size
    ts_size = (md / "timestamp.json").stat().st_size
    c.db.close()
    print(f"store: {args.store}; gates: {args.gates}; targets: {args.gates} releases + 10 media in "
      f"{len(bins)} hash bins")
    print(f"first publish: {t_first:.2f} s ({len(first.changed)} releases)")
    print(f"unchanged publish: {t_same:.2f} s ({len(same.changed)} releases changed)")
    print(f"one gate changed: {t_one:.2f} s ({len(one.changed)} release changed)")
    print(f"metadata bytes: timestamp {ts_size}, snapshot {snap_size}, "
      f"bin median {sizes[len(sizes) // 2]} (max {sizes[-1]})")
    print(f"a gate after someone else's change downloads {ts_size + snap_size} B of metadata; "
      f"after its own, about {ts_size + snap_size + sizes[-1]} B plus its release")
    print(f"central_publish_one_gate_s: {t_one:.2f}")


if __name__ == "__main__":
    fleet_bench(__doc__, run)
