"""What a running PostgreSQL cluster does while a bench drives it: every
--every seconds one line of checkpoints, WAL (bytes, full-page images, flushes
and how long each took: it turns track_wal_io_timing on in the watched
throwaway cluster), buffers written by backends, commits, the cluster's CPU (every process, the
autovacuum workers that already exited included) and, for central's hot tables,
dead rows, heap-only updates, autovacuum runs (av) and autovacuum ANALYZEs (an).

Run it beside a bench that uses a throwaway cluster (tests.support.postgres):

    .venv/bin/python bench/pg_activity.py [--socket-dir /tmp/gatecast-pg-XXXX] [--every 20]

Without --socket-dir it waits for the newest throwaway cluster to appear and
follows it until it stops. The last line is `pg_activity_checkpoints: N` (the
checkpoints seen while it watched).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HOT_TABLES = ("gate_status", "heartbeat", "play_day", "face_time_day", "proof_of_play")
TICK = os.sysconf("SC_CLK_TCK")


def newest_cluster(since: float) -> Path | None:
    """The newest durable throwaway cluster made since `since` (tests' clusters,
    with fsync off, are others' and skipped)."""
    found = [p for p in Path("/tmp").glob("gatecast-pg-*")
             if (p / "data" / "postmaster.pid").exists() and p.stat().st_mtime >= since]
    for folder in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True):
        options = folder / "data" / "postmaster.opts"
        if options.exists() and "fsync=off" not in options.read_text():
            return folder
    return None


def cluster_cpu(folder: Path) -> float:
    """User+system seconds of the postmaster, its live children and its reaped
    ones (cutime/cstime: autovacuum workers and backends that exited)."""
    pid = (folder / "data" / "postmaster.pid").read_text().split()[0]
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if entry.name == pid:
            total += sum(int(f) for f in fields[11:15])
        elif fields[1] == pid:
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def database_of(conn) -> str:
    return conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'test_%' "
                        "ORDER BY oid DESC LIMIT 1").fetchone()[0]


def sample(conn, tables_conn) -> dict:
    bg = conn.execute("SELECT checkpoints_timed + checkpoints_req, buffers_checkpoint, "
                      "buffers_backend, buffers_clean FROM pg_stat_bgwriter").fetchone()
    wal = conn.execute("SELECT wal_bytes, wal_fpi, wal_sync, wal_sync_time "
                       "FROM pg_stat_wal").fetchone()
    commits = int(conn.execute("SELECT sum(xact_commit) FROM pg_stat_database").fetchone()[0])
    tables = {}
    if tables_conn is not None:
        for name, dead, upd, hot, av, an in tables_conn.execute(
                "SELECT relname, n_dead_tup, n_tup_upd, n_tup_hot_upd, autovacuum_count, "
                "autoanalyze_count FROM pg_stat_user_tables WHERE relname = ANY(%s)",
                (list(HOT_TABLES),)):
            tables[name] = (dead, upd, hot, av, an)
    return {"checkpoints": bg[0], "buf_ckpt": bg[1], "buf_backend": bg[2], "buf_clean": bg[3],
            "wal_bytes": int(wal[0]), "wal_fpi": wal[1], "wal_sync": wal[2],
            "wal_sync_ms": wal[3],
            "commits": commits, "tables": tables}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket-dir", type=Path)
    ap.add_argument("--every", type=float, default=20.0)
    ap.add_argument("--user", default="gatecast")
    ap.add_argument("--checkpoint-after", type=float, default=0.0,
                    help="run one CHECKPOINT this many seconds after the cluster answers "
                         "(to see what the full-page images after a checkpoint cost; 0: never)")
    args = ap.parse_args()
    import psycopg

    folder = args.socket_dir
    started = time.time()
    while folder is None:
        folder = newest_cluster(started - 5)
        if folder is None:
            time.sleep(1)
    print(f"cluster {folder}", flush=True)
    while True:  # postmaster.pid comes before the socket
        try:
            conn = psycopg.connect(host=str(folder), user=args.user, dbname="postgres",
                                   autocommit=True)
            break
        except psycopg.OperationalError:
            if not (folder / "data" / "postmaster.pid").exists():
                sys.exit("the cluster stopped before it answered")
            time.sleep(0.5)
    # How long each WAL flush takes (a commit waits for its flush): timing on
    # in this throwaway cluster only.
    conn.execute("ALTER SYSTEM SET track_wal_io_timing = on")
    conn.execute("SELECT pg_reload_conf()")
    tables_conn = None
    last, last_cpu, last_t = None, cluster_cpu(folder), time.monotonic()
    checkpoint_at = last_t + args.checkpoint_after if args.checkpoint_after else None
    checkpoints0 = None
    while (folder / "data" / "postmaster.pid").exists():
        try:
            if tables_conn is None:
                with_db = conn.execute("SELECT count(*) FROM pg_database "
                                       "WHERE datname LIKE 'test_%'").fetchone()[0]
                if with_db:
                    tables_conn = psycopg.connect(host=str(folder), user=args.user,
                                                  dbname=database_of(conn), autocommit=True)
            now = sample(conn, tables_conn)
            cpu, t = cluster_cpu(folder), time.monotonic()
        except Exception as exc:  # the cluster stopping under us ends the watch
            print(f"stopped: {exc.__class__.__name__}", flush=True)
            break
        if checkpoints0 is None:
            checkpoints0 = now["checkpoints"]
        if last is not None:
            dt = t - last_t
            commits = now["commits"] - last["commits"]
            line = (f"{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f} "
                    f"cpu {(cpu - last_cpu) / dt:.2f} cores, commits {commits / dt:.0f}/s, "
                    f"ckpt +{now['checkpoints'] - last['checkpoints']}, "
                    f"WAL {(now['wal_bytes'] - last['wal_bytes']) / dt / 1e6:.1f} MB/s "
                    f"fpi {(now['wal_fpi'] - last['wal_fpi']) / dt:.0f}/s "
                    f"sync {(now['wal_sync'] - last['wal_sync']) / dt:.0f}/s "
                    f"{(now['wal_sync_ms'] - last['wal_sync_ms']) / max(1, now['wal_sync'] - last['wal_sync']):.2f} ms each, "
                    f"written by ckpt/bgwriter/backends "
                    f"{now['buf_ckpt'] - last['buf_ckpt']}/{now['buf_clean'] - last['buf_clean']}/"
                    f"{now['buf_backend'] - last['buf_backend']}")
            parts = []
            for name in HOT_TABLES:
                if name in now["tables"]:
                    dead, upd, hot, av, an = now["tables"][name]
                    before = last["tables"].get(name, (0, 0, 0, 0, 0))
                    parts.append(f"{name} dead {dead} hot {hot - before[2]}/{upd - before[1]} "
                                 f"av +{av - before[3]} an +{an - before[4]}")
            print(line + ("\n    " + "; ".join(parts) if parts else ""), flush=True)
        last, last_cpu, last_t = now, cpu, t
        if checkpoint_at is not None and t + args.every >= checkpoint_at:
            time.sleep(max(0.0, checkpoint_at - t))
            print(f"{time.strftime('%H:%M:%S')} CHECKPOINT", flush=True)
            conn.execute("CHECKPOINT")
            checkpoint_at = None
            continue
        time.sleep(args.every)
    print(f"pg_activity_checkpoints: {(last or {}).get('checkpoints', 0) - (checkpoints0 or 0)}")


if __name__ == "__main__":
    sys.exit(main())
