"""What an ANALYZE of central's append-only report tables costs PostgreSQL, and
which plans the console's and the prunes' queries get, with migration 0015's
column statistics and with 0016's (no statistics for the JSON and read-back
columns), on the same filled tables.

A throwaway durable cluster with the provisioned settings; a central database
at 0015 filled with --gates gates' history (--minutes heartbeats each, the intake
bench's ~1.5 KB heartbeat body, and 12 proof-of-play rows a heartbeat); then, for
0015 and after upgrading to 0016: ANALYZE of heartbeat, proof_of_play and
gate_status, --repeat times each, the backend's CPU (from /proc) and the wall
time of each; then EXPLAIN of the gate history, prune_heartbeats' delete,
prune_proof_of_play's read and the alert rules' media count.

    .venv/bin/python bench/report_tables_analyze.py [--gates 1000] [--minutes 100]

The last line is `analyze_heartbeat_cpu_ms_0016: X`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from alembic import command  # noqa: E402
from sqlalchemy import text  # noqa: E402

from central_intake import heartbeat_body  # noqa: E402
from tests.support.postgres import bench_database_url  # noqa: E402

from central.db import Store, _alembic_config  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
TABLES = ("heartbeat", "proof_of_play", "gate_status")

QUERIES = {
    "gate history (central.fleet.gate_history)":
        "SELECT received_at, release_version, body FROM heartbeat WHERE gate_id = 'g00007' "
        "AND received_at >= :mid AND received_at < :end ORDER BY received_at DESC, id DESC "
        "LIMIT 50000",
    "prune_heartbeats": "DELETE FROM heartbeat WHERE received_at < :early",
    "prune_proof_of_play's read":
        "SELECT gate_id, installation, row_id FROM proof_of_play WHERE received_at < :early "
        "AND outcome <> 'playing' LIMIT 5000",
    "alert rules' media count (central.alerts._media_started)":
        "SELECT count(DISTINCT media_sha256) FROM proof_of_play WHERE gate_id = 'g00007' "
        "AND face_id = 1 AND started_at > :mid AND started_at < :end",
}


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def fill(conn, gates: int, minutes: int) -> None:
    body = heartbeat_body("g00000", 1).decode()
    conn.execute(text("""
        INSERT INTO heartbeat (gate_id, received_at, sent_at, release_version, body)
        SELECT 'g' || lpad((i % :gates)::text, 5, '0'),
               to_char(timestamp '2026-11-01' + (i / :gates) * interval '1 minute'
                       + (i % :gates) * interval '1 ms', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               NULL, 1, replace(:body, 'g00000', 'g' || lpad((i % :gates)::text, 5, '0'))
        FROM generate_series(0, :n - 1) i"""), {"gates": gates, "n": gates * minutes, "body": body})
    conn.execute(text("""
        INSERT INTO proof_of_play (gate_id, installation, row_id, face_id, media_sha256, entry_id,
               level, started_at, ended_at, outcome, reason, batch_id, received_at)
        SELECT 'g' || lpad((i % :gates)::text, 5, '0'), 'inst-1', i, i % 2 + 1,
               md5((i % 40)::text) || md5((i % 40)::text), 'c-e-1a2b3c4d', 'normal', t, t,
               'played', NULL, md5((i / 12)::text), t
        FROM generate_series(0, :n - 1) i,
             LATERAL (SELECT to_char(timestamp '2026-11-01' + (i / 12 / :gates) * interval
                      '1 minute' + (i % 12) * interval '5 s', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') t) s
        """), {"gates": gates, "n": gates * minutes * 12})
    conn.execute(text("""
        INSERT INTO gate_status (gate_id, last_heartbeat_at, sent_at, release_version,
               last_good_release_version, heartbeat, changed)
        SELECT gate_id, max(received_at), max(received_at), 1, 1, min(body), 1
        FROM heartbeat GROUP BY gate_id"""))
    conn.commit()


def measure(conn, repeat: int) -> dict[str, tuple[float, float]]:
    pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    found = {}
    for table in TABLES:
        cpu, wall = [], []
        for _ in range(repeat):
            c0, w0 = backend_cpu(pid), time.perf_counter()
            conn.execute(text(f"ANALYZE {table}"))
            wall.append((time.perf_counter() - w0) * 1000)
            cpu.append((backend_cpu(pid) - c0) * 1000)
        found[table] = (statistics.median(cpu), statistics.median(wall))
    return found


def plans(conn, minutes: int) -> dict[str, str]:
    mid = f"2026-11-01T{minutes // 2 // 60:02d}:{minutes // 2 % 60:02d}:00"
    end = f"2026-11-01T{(minutes - 1) // 60:02d}:{(minutes - 1) % 60:02d}:00"
    bounds = {"mid": mid, "end": end, "early": "2026-11-01T00:02:00"}
    shown = {}
    for name, sql in QUERIES.items():
        lines = [r[0] for r in conn.execute(text("EXPLAIN " + sql), bounds)]
        shown[name] = " / ".join(line.strip() for line in lines if "Scan" in line or "->" in line
                                 ) or lines[0]
    return shown


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gates", type=int, default=1000)
    ap.add_argument("--minutes", type=int, default=100, help="heartbeats per gate (< 1440)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with bench_database_url("postgresql") as url:
        store = Store(url)
        try:
            with store.engine.connect() as conn:
                command.upgrade(_alembic_config(conn), "0015")
                conn.commit()
                t0 = time.perf_counter()
                fill(conn, args.gates, args.minutes)
                print(f"filled {args.gates * args.minutes} heartbeats, "
                      f"{args.gates * args.minutes * 12} proof-of-play rows, {args.gates} statuses "
                      f"in {time.perf_counter() - t0:.0f} s")
            with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE) heartbeat, proof_of_play, gate_status"))
            results = {}
            for revision in ("0015", "0016"):
                if revision == "0016":
                    with store.engine.connect() as conn:
                        command.upgrade(_alembic_config(conn), "0016")
                        conn.commit()
                with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    results[revision] = measure(conn, args.repeat)
                    for table, (cpu, wall) in results[revision].items():
                        print(f"{revision} ANALYZE {table}: {cpu:.0f} ms CPU, {wall:.0f} ms wall "
                              f"(median of {args.repeat})")
                    for name, plan in plans(conn, args.minutes).items():
                        print(f"{revision} {name}: {plan}")
        finally:
            store.close()
    print(f"analyze_heartbeat_cpu_ms_0016: {results['0016']['heartbeat'][0]:.0f}")


if __name__ == "__main__":
    main()
