"""The application's background CPU at fleet scale (issue #14): what each worker
spends, with no request at all, on

  * the gate-token memory's refresh (central.gate_tokens.GoodTokens.refresh, every
    half lifetime = 5 s by default, in every worker), and
  * one alert-loop tick's evaluation (central.alerts.evaluate with the loop's
    FleetMemory, every central_alert_interval_s = 5 s, in the worker holding the
    alerts lock),

for `--gates` gates that all reported (2 faces, a realistic heartbeat, a fresh
screenshot of each face), in process,
on the store asked. Each figure is the CPU of this process (time.process_time: the
database's own CPU is not in it), median of `--ticks`:

  * token refresh with nothing changed, and after 20 tokens were reissued;
  * alert tick with nothing changed, and the tick right after `--reported` gates
    sent a new heartbeat (as in one 5 s tick at 10,000 gates reporting each minute
    time-compressed);
  * on PostgreSQL, what the gate_status stamp (a trigger, migration 0010) adds to
    intake: the wall time to store a batch of 32 heartbeats with the trigger on and
    off (3 rounds of 100 batches, medians).

    .venv/bin/python bench/background_cost.py [--gates 10000] [--store sqlite|postgresql]
        [--reported 2000] [--ticks 7]

Last line: `background_quiet_cpu_ms: X` (token refresh + alert tick with nothing
changed: a worker's CPU per 5 s doing nothing).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.central import make_central  # noqa: E402
from tests.support.postgres import bench_database_url  # noqa: E402


def beat(now_iso: str) -> dict:
    return {"release_version": 3, "last_good_release_version": 3, "sent_at": now_iso,
            "sync": {"status": "unchanged"},
            "health": {"cpu_temp_c": 50.0, "disk": {"free_mb": 9000.0}, "clock_synced": True},
            "faces": [{"face_id": f, "power": "on", "blanked": 0, "playing_sha256": "a" * 64,
                       "playing_name": "Bản tin an toàn giao thông.mp4"} for f in (1, 2)],
            "errors": []}


def cpu_ms(call) -> float:
    start = time.process_time()
    call()
    return (time.process_time() - start) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gates", type=int, default=10000)
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--reported", type=int, default=2000)
    ap.add_argument("--ticks", type=int, default=7)
    args = ap.parse_args()
    with bench_database_url(args.store) as url, tempfile.TemporaryDirectory() as tmp:
        run(args, url, Path(tmp))


def run(args, url: str, tmp: Path) -> None:
    from sqlalchemy import insert

    from kiosk.store import iso, utcnow

    from central import schema as t
    from central.alerts import FleetMemory, evaluate
    from central.db import transaction
    from central.fleet import reissue_token
    from central.gate_tokens import GoodTokens
    from central.intake import check_heartbeat, store_heartbeats
    from central.users import hash_token

    n = args.gates
    c = make_central(tmp / "central", central_database_url=url)
    now = iso(utcnow())
    ids = [f"g{i:05d}" for i in range(n)]
    with transaction(c.db, write=True) as conn:
        conn.execute(insert(t.gate), [{"id": g, "name": f"Cổng {g}", "faces": "[1, 2]",
                                       "token_hash": hash_token(f"token-{g}")} for g in ids])
        conn.execute(insert(t.gate_status), [{
            "gate_id": g, "last_heartbeat_at": now, "sent_at": now, "release_version": 3,
            "last_good_release_version": 3, "heartbeat": json.dumps(beat(now))} for g in ids])
        conn.execute(insert(t.screenshot), [{
            "gate_id": g, "face_id": f, "taken_at": now, "received_at": now,
            "file": f"{g}-{f}.jpg", "content_type": "image/jpeg", "size": 40000, "luma": 96.5,
            "picture_sha256": "b" * 64, "picture_changed_at": now} for g in ids for f in (1, 2)])
    print(f"{n} gates on {args.store}, each with a screenshot of both faces", flush=True)

    # ---- the token memory
    memory = GoodTokens(10.0)
    first = cpu_ms(lambda: memory.refresh(c.db))
    quiet = [cpu_ms(lambda: memory.refresh(c.db)) for _ in range(args.ticks)]
    read = getattr(memory, "last_read", n)
    for g in ids[:20]:
        reissue_token(c.db, g)
    changed = cpu_ms(lambda: memory.refresh(c.db))
    token_quiet = statistics.median(quiet)
    print(f"token refresh: first {first:.1f} ms, nothing changed median {token_quiet:.2f} ms "
          f"(read {read} gates), after 20 reissued {changed:.2f} ms", flush=True)

    # ---- the alert tick
    fleet = FleetMemory()
    settings = c.settings
    first = cpu_ms(lambda: evaluate(c.db, settings, memory=fleet))
    quiet = [cpu_ms(lambda: evaluate(c.db, settings, memory=fleet)) for _ in range(args.ticks)]
    alert_quiet = statistics.median(quiet)
    received = utcnow()
    beats = [(g, check_heartbeat(beat(iso(received))), received) for g in ids[:args.reported]]
    with transaction(c.db, write=True) as conn:
        store_heartbeats(conn, beats, interval_s=settings["central_heartbeat_interval_s"])
    after = cpu_ms(lambda: evaluate(c.db, settings, memory=fleet))
    again = cpu_ms(lambda: evaluate(c.db, settings, memory=fleet))
    print(f"alert tick: first {first:.1f} ms, nothing changed median {alert_quiet:.2f} ms, "
          f"after {args.reported} gates reported {after:.1f} ms, the tick after {again:.2f} ms",
          flush=True)
    if args.store == "postgresql":
        trigger_cost(c, ids, settings)
    c.db.close()
    print(f"background_quiet_cpu_ms: {token_quiet + alert_quiet:.2f}")


def trigger_cost(c, ids: list[str], settings) -> None:
    from kiosk.store import iso, utcnow

    from central.db import transaction
    from central.intake import check_heartbeat, store_heartbeats

    def batches() -> float:
        times = []
        for start in range(0, 3200, 32):
            now = utcnow()
            beats = [(g, check_heartbeat(beat(iso(now))), now) for g in ids[start:start + 32]]
            began = time.perf_counter()
            with transaction(c.db, write=True) as conn:
                store_heartbeats(conn, beats, interval_s=settings["central_heartbeat_interval_s"])
            times.append(time.perf_counter() - began)
        return statistics.median(times) * 1000

    def trigger(state: str) -> None:
        with c.db.engine.begin() as conn:
            conn.exec_driver_sql(f"ALTER TABLE gate_status {state} TRIGGER gate_status_stamp")

    for _ in range(3):
        on = batches()
        trigger("DISABLE")
        off = batches()
        trigger("ENABLE")
        print(f"32 heartbeats stored (wall): stamp trigger on {on:.2f} ms, off {off:.2f} ms",
              flush=True)


if __name__ == "__main__":
    main()
