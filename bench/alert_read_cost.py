"""The alert loop's read of the gate statuses stamped since its last tick
(central.alerts.FleetMemory.statuses), in process, on a throwaway PostgreSQL
cluster (Debian's package, the central role's settings): `--gates` gates with the
intake bench's 1.4 KB heartbeat, then `--rounds` rounds in which `--reported` of
them report again (group commits of 32, as the report server's), each followed by
one read. Prints the read's wall time (this process and the database) and this
process's CPU, medians of the rounds, and gate_status's size on disk afterwards.
At 10,000 gates x5 a 5 s tick reads ~4,200 statuses.

    .venv/bin/python bench/alert_read_cost.py [--gates 10000] [--reported 4224] [--rounds 5]

Last line: `alert_status_read_ms: X` (wall, median).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from central_intake import heartbeat_body  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402

from kiosk.store import utcnow  # noqa: E402

from central.alerts import FleetMemory  # noqa: E402
from central.db import Store, migrate, transaction  # noqa: E402
from central.intake import check_heartbeat, store_heartbeats  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gates", type=int, default=10000)
    ap.add_argument("--reported", type=int, default=4224, help="gates reporting between reads")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    cluster = PostgresCluster(durable=True).start()
    try:
        url = cluster.url(cluster.create_database())
        migrate(url)
        db = Store(url)
        try:
            measure(db, args)
        finally:
            db.close()
    finally:
        cluster.stop()


def measure(db: Store, args) -> None:
    ids = [f"g{i:05d}" for i in range(args.gates)]
    body = json.loads(heartbeat_body("g", 3))

    def report(gates: list[str]) -> None:
        for start in range(0, len(gates), 32):
            now = utcnow()
            with transaction(db, write=True) as conn:
                store_heartbeats(conn, [(g, check_heartbeat(dict(body, gate_id=g)), now)
                                        for g in gates[start:start + 32]])

    report(ids)
    memory = FleetMemory()
    with transaction(db) as conn:
        memory.statuses(conn)
    walls, cpus = [], []
    for round_ in range(args.rounds):
        first = round_ * args.reported // 4 % max(1, args.gates - args.reported)
        report(ids[first:first + args.reported])
        wall, cpu = time.perf_counter(), time.process_time()
        with transaction(db) as conn:
            memory.statuses(conn)
        walls.append(1000 * (time.perf_counter() - wall))
        cpus.append(1000 * (time.process_time() - cpu))
    print(f"{args.gates} gates, {memory.last_read} statuses read a round: wall "
          f"{', '.join(f'{w:.1f}' for w in walls)} ms; this process's CPU "
          f"{', '.join(f'{c:.1f}' for c in cpus)} ms")
    heap = db.scalar("SELECT pg_relation_size('gate_status')") >> 20
    indexes = db.scalar("SELECT pg_indexes_size('gate_status')") >> 10
    print(f"gate_status: heap {heap} MB, indexes {indexes} kB; "
          f"this process's CPU median {statistics.median(cpus):.1f} ms")
    print(f"alert_status_read_ms: {statistics.median(walls):.1f}")


if __name__ == "__main__":
    main()
