"""What four eyes cost a publication (central/publication.py): a fleet of
1000 gates in one group with a 10-image playlist, then for a change on every
gate and for a change on one gate: the request (preview + submit, one build)
and its approval (a second build, the stale check and the signing), beside a
direct library publish of the same kind of change.

    .venv/bin/python bench/publication_request.py [--gates 1000] [--store sqlite|postgresql]

Last line: `publication_approve_one_gate_s: X` (seconds to approve a one-gate request).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.central import fleet_bench, timed  # noqa: E402

from central import publication  # noqa: E402
from central.assign import add_notice  # noqa: E402
from central.users import add_user  # noqa: E402


def run(args, c, ids, tmp: Path) -> None:
    add_user(c.db, "editor", "editor")
    c.publish()

    def request(**scope):
        return publication.submit(c.db, c.repo, by="editor", **scope)

    def approve(rid):
        return publication.approve(c.db, c.repo, rid, by=c.approver)

    add_notice(c.db, "group", "all", {"vi": "Thông báo cho cả nhóm"})
    rid, t_request_all = timed(lambda: request(groups=["all"]))
    every, t_approve_all = timed(lambda: approve(rid))
    add_notice(c.db, "group", "all", {"vi": "Thông báo thứ hai"})
    direct_all, t_direct_all = timed(c.publish)
    add_notice(c.db, "gate", ids[1], {"vi": "Một cửa khẩu"})
    rid, t_request_one = timed(lambda: request(gates=[ids[1]]))
    one, t_approve_one = timed(lambda: approve(rid))
    add_notice(c.db, "gate", ids[2], {"vi": "Một cửa khẩu nữa"})
    direct_one, t_direct_one = timed(c.publish)
    c.db.close()
    print(f"store: {args.store}; gates: {args.gates}")
    print(f"every gate: request {t_request_all:.2f} s, approval {t_approve_all:.2f} s "
      f"({len(every.changed)} releases); a direct publish {t_direct_all:.2f} s "
      f"({len(direct_all.changed)} releases)")
    print(f"one gate: request {t_request_one:.2f} s, approval {t_approve_one:.2f} s "
      f"({len(one.changed)} release); a direct publish of every gate that changes one "
      f"{t_direct_one:.2f} s ({len(direct_one.changed)} release)")
    print(f"publication_approve_one_gate_s: {t_approve_one:.2f}")


if __name__ == "__main__":
    fleet_bench(__doc__, run)
