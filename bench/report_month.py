"""The province's monthly report at scale: a month of raw proof of play for 100
two-face gates (an item every 30 s, 18 h a day: about 13 million rows) plus a
year of daily totals before it, then the monthly report (central.reports.monthly),
timed while another process keeps taking gates' reports (proof-of-play batches
and heartbeats through central.intake), whose latencies give intake's p99.

    .venv/bin/python bench/report_month.py [--store sqlite|postgresql] [--gates 100]

Raw rows are loaded in bulk (COPY on PostgreSQL, executemany in one transaction on
SQLite); their daily totals (`play_day`, `face_time_day`, what intake keeps) are
computed while generating, as intake would have counted them. Last line:
`report_month_s: X` (the slowest of the timed reports; target <= 2).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.central import make_central  # noqa: E402
from tests.support.postgres import bench_database_url  # noqa: E402

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MONTH = date(2026, 10, 1)  # October 2026: 31 days
MEDIA = 12  # items in each face's rotation
ITEM_S = 30
HOURS = 18  # 06:00-24:00 local
RAW_COLUMNS = ("gate_id", "installation", "row_id", "face_id", "media_sha256", "entry_id",
               "level", "started_at", "ended_at", "outcome", "reason", "batch_id",
               "received_at")


def sha(i: int) -> str:
    return f"{i:064x}"


def slots(days: int) -> list[tuple]:
    """Every item slot of the month: (day index, slot, started, ended, received), an
    item every 30 s from 06:00 local for 18 h."""
    out = []
    per_day = HOURS * 3600 // ITEM_S
    for d in range(days):
        day = MONTH + timedelta(days=d)
        start = datetime(day.year, day.month, day.day, 6, tzinfo=VN).astimezone(timezone.utc)
        received = (start + timedelta(hours=HOURS)).isoformat(timespec="milliseconds")
        for k in range(per_day):
            t0 = start + timedelta(seconds=k * ITEM_S)
            out.append((d, k, t0.isoformat(timespec="milliseconds"),
                        (t0 + timedelta(seconds=ITEM_S)).isoformat(timespec="milliseconds"),
                        received))
    return out


def row_id(d: int, face: int, k: int, faces: int) -> int:
    return (d * faces + face - 1) * (HOURS * 3600 // ITEM_S) + k + 1


def month_totals(days: int, faces: int) -> list[dict]:
    """What intake counts for one gate's month of raw rows (the same for every gate,
    whose rows differ only by gate id): plays and airtime per day, face, media and
    outcome. Every 500th row id is an error of 0.2 s, which shows nothing."""
    totals: dict[tuple, list] = {}
    per_day = HOURS * 3600 // ITEM_S
    for d in range(days):
        day = (MONTH + timedelta(days=d)).isoformat()
        for face in range(1, faces + 1):
            for k in range(per_day):
                failed = row_id(d, face, k, faces) % 500 == 0
                key = (day, face, (k + face) % MEDIA, "error" if failed else "completed")
                total = totals.setdefault(key, [0, 0.0])
                total[0] += 1
                total[1] += 0.0 if failed else ITEM_S
    return [{"day": k[0], "face_id": k[1], "media_sha256": sha(k[2]), "entry_id": f"e{k[1]}",
             "outcome": k[3], "plays": v[0], "airtime_s": v[1]} for k, v in totals.items()]


def history_totals(day: date, faces: int) -> list[dict]:
    """A day before the month, as daily totals only (its raw rows long pruned)."""
    per_day = HOURS * 3600 // ITEM_S
    return [{"day": day.isoformat(), "face_id": face, "media_sha256": sha((m + face) % MEDIA),
             "entry_id": f"e{face}", "outcome": "completed",
             "plays": len(range(m, per_day, MEDIA)),
             "airtime_s": float(len(range(m, per_day, MEDIA)) * ITEM_S)}
            for face in range(1, faces + 1) for m in range(MEDIA)]


def time_totals(gate: str, day: date, faces: int) -> list[dict]:
    """Heartbeat time for one gate and day: shown 18 h less 10 min of errors, the
    rest off by the power schedule; one hour of a day in seven the gate was down."""
    down = 3600.0 if day.toordinal() % 7 == 0 else 0.0
    rows = [{"day": day.isoformat(), "gate_id": gate, "face_id": 0, "state": "online",
             "seconds": 86400.0 - down},
            {"day": day.isoformat(), "gate_id": gate, "face_id": 0, "state": "offline",
             "seconds": down}]
    for face in range(1, faces + 1):
        rows += [{"day": day.isoformat(), "gate_id": gate, "face_id": face, "state": s, "seconds": v}
                 for s, v in (("shown", HOURS * 3600 - 600.0 - down), ("error", 600.0),
                              ("outage", down), ("power_schedule", (24 - HOURS) * 3600.0))]
    return rows


def load(c, gates: list[str], faces: int, history_days: int) -> int:
    """Bulk-load the month's raw rows and every day's totals; returns raw rows.

    Raw rows are made by the database itself: the month's item slots (67k rows,
    COPY on PostgreSQL, executemany on SQLite) crossed with gates and faces in one
    INSERT ... SELECT. Making 13 million rows in Python cost 14 us a row here under
    load (3 minutes) before any was stored. SQLite loads like a restore: no journal
    and no fsync (the file is thrown away if the bench dies), WAL again afterwards."""
    days = (MONTH.replace(month=MONTH.month + 1) - MONTH).days
    store = c.db
    per_day = HOURS * 3600 // ITEM_S
    sqlite = store.is_sqlite
    if sqlite:
        import sqlite3

        store.engine.dispose()
        raw = sqlite3.connect(store.sqlite_path, isolation_level=None)
        assert raw.execute("PRAGMA journal_mode = OFF").fetchone()[0] == "off"
        raw.execute("PRAGMA synchronous = OFF")
        raw.execute("PRAGMA cache_size = -1000000")
        raw.execute("BEGIN")
        cur, ph = raw, "?"
        sha_sql = "printf('%064x', (s.k + f.face) % {m})"
    else:
        pooled = store.engine.raw_connection()
        raw = pooled.driver_connection
        cur, ph = raw.cursor(), "%s"
        sha_sql = "lpad(to_hex((s.k + f.face) % {m}), 64, '0')"
    rid = f"((s.d * {faces} + f.face - 1) * {per_day} + s.k + 1)"
    cur.execute("CREATE TEMPORARY TABLE bench_slot (d INTEGER, k INTEGER, started TEXT, "
                "ended TEXT, received TEXT)")
    cur.execute("CREATE TEMPORARY TABLE bench_gate (gate_id TEXT)")
    cur.execute("CREATE TEMPORARY TABLE bench_face (face INTEGER)")
    month_slots = slots(days)
    small = {"bench_slot": month_slots, "bench_gate": [(g,) for g in gates],
             "bench_face": [(f,) for f in range(1, faces + 1)]}
    for table, rows in small.items():
        if sqlite:
            cur.executemany(f"INSERT INTO {table} VALUES ({', '.join([ph] * len(rows[0]))})", rows)
        else:
            with cur.copy(f"COPY {table} FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
    cur.execute(f"""
        INSERT INTO proof_of_play ({', '.join(RAW_COLUMNS)})
        SELECT g.gate_id, 'bench', {rid}, f.face, {sha_sql.format(m=MEDIA)},
               'e' || f.face, 'normal', s.started,
               CASE WHEN {rid} % 500 = 0 THEN s.started ELSE s.ended END,
               CASE WHEN {rid} % 500 = 0 THEN 'error' ELSE 'completed' END,
               NULL, NULL, s.received
        FROM bench_gate g CROSS JOIN bench_slot s CROSS JOIN bench_face f""")
    month = month_totals(days, faces)
    history = [r for d in range(1, history_days + 1)
               for r in history_totals(MONTH - timedelta(days=d), faces)]
    play_cols = ("day", "gate_id", "face_id", "media_sha256", "entry_id", "outcome", "plays",
                 "airtime_s")
    time_cols = ("day", "gate_id", "face_id", "state", "seconds")
    for gate in gates:
        for table, cols, rows in (
                ("play_day", play_cols, [{**r, "gate_id": gate} for r in month + history]),
                ("face_time_day", time_cols,
                 [r for d in range(-history_days, days)
                  for r in time_totals(gate, MONTH + timedelta(days=d), faces)])):
            values = [tuple(r[k] for k in cols) for r in rows]
            if sqlite:
                cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) "
                                f"VALUES ({', '.join([ph] * len(cols))})", values)
            else:
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for v in values:
                        copy.write_row(v)
    if sqlite:
        raw.execute("COMMIT")
        raw.execute("PRAGMA journal_mode = WAL")
        raw.close()
    else:
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
        pooled.close()  # back to the pool, open
    return len(month_slots) * faces * len(gates)


def intake_loop(url: str, state_dir: str, gate: str, go, stop, out) -> None:
    """Another process taking one gate's reports as fast as it can: a 500-row
    proof-of-play batch, then a heartbeat; each call's latency goes to `out`."""
    from central.db import open_central_db
    from central.intake import record_heartbeat, record_proof_of_play
    from central.settings import load_central_settings

    settings = load_central_settings(state_dir=Path(state_dir),
                                     env={"GATECAST_CENTRAL_DATABASE_URL": url} if url else {})
    db = open_central_db(settings, migrate_first=False)
    next_id, latencies = 10_000_000, []
    now = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)
    while not stop.is_set():
        rows = [{"id": i, "installation": "bench", "face_id": 1 + i % 2, "media_sha256": sha(i % MEDIA),
                 "entry_id": "e1", "level": "normal", "started_at": now.isoformat(),
                 "ended_at": (now + timedelta(seconds=ITEM_S)).isoformat(), "outcome": "completed"}
                for i in range(next_id, next_id + 500)]
        next_id += 500
        t0 = time.perf_counter()
        record_proof_of_play(db, gate, {"batch_id": None, "rows": rows})
        if go.is_set():
            latencies.append(time.perf_counter() - t0)
        now += timedelta(seconds=60)
        t0 = time.perf_counter()
        record_heartbeat(db, gate, {"sent_at": now.isoformat(), "faces": [
            {"face_id": 1, "power": "on", "blanked": 0, "playing_sha256": sha(1)},
            {"face_id": 2, "power": "on", "blanked": 0, "playing_sha256": sha(2)}]}, now=now)
        if go.is_set():
            latencies.append(time.perf_counter() - t0)
    db.close()
    out.put(latencies)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--gates", type=int, default=100)
    ap.add_argument("--faces", type=int, default=2)
    ap.add_argument("--history-days", type=int, default=365,
                    help="days of daily totals before the month")
    ap.add_argument("--runs", type=int, default=5, help="timed monthly reports")
    args = ap.parse_args()
    with bench_database_url(args.store) as url, tempfile.TemporaryDirectory() as tmp:
        run(args, url, Path(tmp))


def run(args, url: str, tmp: Path) -> None:
    from central import reports

    c = make_central(tmp / "central", central_database_url=url)
    gates = [f"gate-{i:03d}" for i in range(args.gates)]
    for g in gates:
        c.gate(g, faces=tuple(range(1, args.faces + 1)), name=f"Cửa khẩu {g[5:]}")
    t0 = time.perf_counter()
    n = load(c, gates, args.faces, args.history_days)
    print(f"store: {args.store}; loaded {n:,} raw proof-of-play rows and "
          f"{args.history_days} + 31 days of daily totals for {args.gates} gates in "
          f"{time.perf_counter() - t0:.0f} s")
    period = reports.month_period(MONTH.strftime("%Y-%m"))
    report = reports.monthly(c.db, period)  # a first, untimed run warms the caches
    # The report agrees with the raw rows loaded: one in 500 of each gate's is an error.
    errors = args.gates * (n // args.gates // 500)
    got = (report["province"]["plays"], report["province"]["errors"])
    assert got == (n - errors, errors), (got, n, errors)
    ctx = multiprocessing.get_context("spawn")
    go, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    worker = ctx.Process(target=intake_loop, args=(url, str(c.state_dir), gates[0], go, stop, out))
    worker.start()
    time.sleep(5)  # the worker is taking reports before the first timed report
    go.set()
    times, began = [], time.perf_counter()
    # At least `runs` reports and 10 s of them, so intake gets a fair sample.
    while len(times) < args.runs or time.perf_counter() - began < 10:
        t0 = time.perf_counter()
        reports.monthly(c.db, period)
        times.append(time.perf_counter() - t0)
    stop.set()
    latencies = sorted(out.get(timeout=120))
    worker.join(60)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"monthly report: median {statistics.median(times):.3f} s, slowest {max(times):.3f} s "
          f"({args.runs} runs; {len(report['gates'])} gates, {len(report['faces'])} faces)")
    print(f"intake while reporting: {len(latencies)} calls (500-row batches and heartbeats), "
          f"median {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    print(f"intake_p99_ms: {p99 * 1000:.1f}")
    print(f"report_month_s: {max(times):.3f}")


if __name__ == "__main__":
    main()
