"""Proof-of-play intake as a gate's history grows: the time to take one 500-row
batch (new rows, the gate's next ones) when central already holds H rows of that
gate, for growing H; and, for comparison, what the former per-batch work (counting
the gate's whole history twice inside the write lock) costs at the same H.

    .venv/bin/python bench/play_intake.py [--history 0,100000,400000] [--store sqlite|postgresql]

Last line: `play_intake_growth: X` (median batch time at the largest history over
the median at the smallest; flat intake is about 1).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from tests.support.central import make_central  # noqa: E402
from tests.support.postgres import bench_database_url  # noqa: E402

from central import schema as t  # noqa: E402
from central.intake import record_proof_of_play  # noqa: E402

GATE = "lang-son-huu-nghi"
BATCH = 500
SAMPLES = 15


def rows(start: int, n: int, installation: str = "bench") -> list[dict]:
    return [{"id": i, "installation": installation, "face_id": 1 + i % 2,
             "media_sha256": f"{i % 40:064x}", "entry_id": "c-e1", "level": "normal",
             "started_at": "2026-11-27T08:00:00+07:00", "ended_at": "2026-11-27T08:00:30+07:00",
             "outcome": "completed"} for i in range(start, start + n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--history", default="0,100000,400000")
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    args = ap.parse_args()
    with bench_database_url(args.store) as url:
        run([int(h) for h in args.history.split(",")], args.store, url)


def run(histories: list[int], store: str, url: str) -> None:
    count = select(func.count()).select_from(t.proof_of_play).where(
        t.proof_of_play.c.gate_id == GATE)
    medians = []
    with tempfile.TemporaryDirectory() as tmp:
        c = make_central(Path(tmp) / "central", central_database_url=url)
        c.gate(GATE)
        held = 0
        next_id = 1
        for history in sorted(histories):
            while held < history:
                n = min(5000, history - held)
                record_proof_of_play(c.db, GATE, {"batch_id": None, "rows": rows(next_id, n)})
                held += n
                next_id += n
            if store == "postgresql":
                with c.db.transaction(write=True) as conn:
                    conn.exec_driver_sql("ANALYZE proof_of_play")
            times, counts = [], []
            for _ in range(SAMPLES):
                batch = {"batch_id": None, "rows": rows(next_id, BATCH)}
                t0 = time.perf_counter()
                result = record_proof_of_play(c.db, GATE, batch)
                times.append(time.perf_counter() - t0)
                assert result["new"] == BATCH, result
                next_id += BATCH
                t0 = time.perf_counter()
                with c.db.transaction() as conn:
                    conn.execute(count).scalar()
                counts.append(time.perf_counter() - t0)
            # The samples themselves added rows: undo nothing, count them as history.
            held = next_id - 1
            med = statistics.median(times)
            medians.append(med)
            print(f"history {history:>8} rows: 500-row batch median {med * 1000:7.1f} ms, "
                  f"max {max(times) * 1000:7.1f} ms; former extra work (2x count of the "
                  f"gate's rows) {2 * statistics.median(counts) * 1000:7.1f} ms")
        c.db.close()
    print(f"store: {store}; {SAMPLES} batches per history size")
    print(f"play_intake_growth: {medians[-1] / medians[0]:.2f}")


if __name__ == "__main__":
    main()
