"""What one group-commit transaction of gate reports costs, in process: the
Python of checking and storing combined reports (central.intake.check_report +
store_reports, with the transaction's begin and commit) and the CPU PostgreSQL
spends on them, per report, at several reports per commit.

No HTTP, no JSON parsing of the request, no token check: those are the report
server's (bench/report_server_cost.py). Each gate sends one report a minute, as
bench/central_intake.py's gates do (a ~1.5 KB heartbeat + 12 proof-of-play rows);
every gate has reported once before the measurement, so gate_status rows are
updated, as in a running fleet. A batch holds distinct gates.

    .venv/bin/python bench/report_store_cost.py [--store postgresql|sqlite]
        [--batches 1,16,64] [--reports 1920] [--statements]

--store postgresql (the default) starts a throwaway durable cluster (Debian's
package); PostgreSQL's CPU is that of every process of the cluster (its
backends, WAL writer, checkpointer...) over the run, read from /proc.
--statements loads pg_stat_statements into it and prints, per batch size, what
each statement cost PostgreSQL per report.

Prints one line per batch size; the last line is
`report_store_python_ms: X` (check + store, Python, per report at 64 a commit).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import text  # noqa: E402

from central_intake import heartbeat_body, pop_body  # noqa: E402
from tests.support.nginx import cpu_seconds  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402

from central.db import Store, migrate  # noqa: E402
from central.intake import check_report, store_reports  # noqa: E402

START = datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)
VN = ZoneInfo("Asia/Ho_Chi_Minh")


class Fleet:
    """`gates` gates, each with its next minute's report (parsed, as the report
    server hands it to check_report)."""

    def __init__(self, gates: int):
        self.ids = [f"gate-{i:05d}" for i in range(gates)]
        self.minute = {g: 0 for g in self.ids}
        self.beat = json.loads(heartbeat_body("gate-00000", 7))

    def report(self, gate_id: str) -> tuple[dict, datetime]:
        m = self.minute[gate_id]
        self.minute[gate_id] = m + 1
        sent = START + timedelta(minutes=m)
        beat = dict(self.beat, gate_id=gate_id,
                    sent_at=sent.isoformat(timespec="seconds"))
        plays = json.loads(pop_body(1 + 12 * m))
        for i, row in enumerate(plays["rows"]):  # each its own start, in the last minute
            row["installation"] = "3f0c9a1e"  # as today's gates send (kiosk.sync.report)
            start = sent - timedelta(seconds=60 - 5 * i)
            row["started_at"] = start.astimezone(VN).isoformat(timespec="milliseconds")
            row["ended_at"] = (start + timedelta(seconds=5)).astimezone(VN).isoformat(
                timespec="milliseconds")
        return {"heartbeat": beat, "proof_of_play": plays}, sent + timedelta(seconds=0.2)

    def batches(self, size: int, reports: int):
        """`reports` reports in batches of `size` distinct gates, round robin."""
        i = 0
        for _ in range(reports // size):
            batch = []
            for _ in range(size):
                gate_id = self.ids[i % len(self.ids)]
                i += 1
                batch.append((gate_id, *self.report(gate_id)))
            yield batch


def store_batch(store: Store, batch) -> float:
    """Check and store one batch as the report server's writer does; returns the
    Python CPU seconds it took."""
    cpu = time.process_time()
    reports = []
    for gate_id, body, received in batch:
        report, _, refused = check_report(gate_id, body, received)
        assert not refused, refused
        reports.append(report)
    with store.transaction(write=True) as conn:
        store_reports(conn, reports)
    return time.process_time() - cpu


def status_updates(store: Store) -> tuple[int, int]:
    """PostgreSQL: gate_status rows updated so far, and how many of them heap-only
    (HOT: no new index entries, the old version pruned on its page). Backends
    report their counts when idle for a second, so this waits that long first."""
    time.sleep(1.5)
    return tuple(store.query("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                             "WHERE relname = 'gate_status'")[0].values())


def wal_position(store: Store) -> str:
    """PostgreSQL: where the write-ahead log is now (what a batch writes to it is
    the same on a busy machine, unlike CPU)."""
    return store.scalar("SELECT pg_current_wal_lsn()::text")


def run(store: Store, marker: str | None, sizes: list[int], reports: int, gates: int,
        statements: bool) -> dict[int, float]:
    fleet = Fleet(gates)
    for batch in fleet.batches(64, gates):  # every gate has a status: updates from now on
        store_batch(store, batch)
    python = {}
    for size in sizes:
        # Parse the bodies before the clock starts (the request's JSON is the server's).
        batches = list(fleet.batches(size, reports - reports % size))
        if statements:
            store.query("SELECT pg_stat_statements_reset()")
        updates = status_updates(store) if marker else None
        wal = wal_position(store) if marker else None
        pg_cpu = cpu_seconds(marker) if marker else 0.0
        wall = time.perf_counter()
        py_cpu = sum(store_batch(store, batch) for batch in batches)
        wall = time.perf_counter() - wall
        pg_cpu = cpu_seconds(marker) - pg_cpu if marker else 0.0
        n = sum(len(b) for b in batches)
        python[size] = 1000 * py_cpu / n
        print(f"{size:3d} a commit: {n} reports in {len(batches)} transactions, "
              f"Python {python[size]:.3f} ms per report"
              + (f", PostgreSQL CPU {1000 * pg_cpu / n:.3f} ms per report" if marker else "")
              + f", wall {1000 * wall / n:.3f} ms per report")
        if updates is not None:
            wal = store.scalar("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :at)", {"at": wal})
            upd, hot = (b - a for a, b in zip(updates, status_updates(store)))
            print(f"      WAL {wal / n:.0f} bytes per report; gate_status: {upd} rows updated, "
                  f"{hot} of them heap-only")
        if statements:
            for r in store.query(
                    "SELECT calls, total_exec_time, rows, query FROM pg_stat_statements "
                    "WHERE query NOT LIKE '%pg_stat_statements%' "
                    "ORDER BY total_exec_time DESC LIMIT 12"):
                print(f"      {r['total_exec_time'] / n:7.4f} ms/report  {r['calls']:6d} calls "
                      f"{r['rows']:7d} rows  {' '.join(r['query'].split())[:110]}")
    return python


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--batches", default="1,16,64", help="reports per commit, comma-separated")
    ap.add_argument("--reports", type=int, default=1920, help="reports measured per batch size")
    ap.add_argument("--gates", type=int, default=1024)
    ap.add_argument("--statements", action="store_true",
                    help="PostgreSQL: load pg_stat_statements and print each statement's cost")
    args = ap.parse_args()
    sizes = [int(s) for s in args.batches.split(",")]
    with contextlib.ExitStack() as stack:
        if args.store == "postgresql":
            cluster = PostgresCluster(durable=True, settings={
                "shared_preload_libraries": "pg_stat_statements"} if args.statements else {})
            stack.callback(cluster.stop)
            cluster.start()
            url, marker = cluster.url(cluster.create_database()), str(cluster.dir)
        else:
            tmp = stack.enter_context(__import__("tempfile").TemporaryDirectory())
            url, marker = f"sqlite:///{tmp}/central.db", None
        migrate(url)
        store = Store(url)
        stack.callback(store.close)
        if args.statements:
            with store.transaction() as conn:
                conn.execute(text("CREATE EXTENSION pg_stat_statements"))
        print(f"store: {args.store}; {args.gates} gates, one report each a minute "
              f"(heartbeat {len(heartbeat_body('gate-00000', 7))} bytes + 12 proof-of-play rows)")
        python = run(store, marker, sizes, args.reports, args.gates, args.statements)
    print(f"report_store_python_ms: {python[max(sizes)]:.3f}")


if __name__ == "__main__":
    main()
