"""What a gate's minute of reports costs central through a real gunicorn, sent as
one combined report (POST report) or, as older gates send it, as two requests
(proof of play, then the heartbeat). Each gate-minute opens its own connection, as
a gate does; 32 gate-minutes at a time, so the group commit shares transactions as
under a fleet. No nginx and no change feed: bench/central_intake.py measures the
whole path under a fleet's timing; this isolates what the number of requests costs
the application and the store.

    .venv/bin/python bench/report_requests.py [--gates 300] [--minutes 5]
        [--store sqlite|postgresql] [--rounds 2]

Prints CPU per gate-minute of the application (every gunicorn process) and, on
PostgreSQL, of the database, per way and round; the last line is
`report_gate_minute_cpu_ms: X` (the application's CPU per gate-minute sent as one
report, the lowest round).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import urllib3  # noqa: E402
from sqlalchemy import make_url  # noqa: E402

from central_intake import heartbeat_body, pop_body, sent_now  # noqa: E402
from tests.support.central import central_config, served_central  # noqa: E402
from tests.support.nginx import cpu_seconds  # noqa: E402
from tests.support.postgres import bench_database_url  # noqa: E402

from central.app import repository_for  # noqa: E402
from central.db import open_central_db  # noqa: E402
from central.fleet import add_gate  # noqa: E402
from central.settings import load_central_settings  # noqa: E402

WAYS = {"two": "two requests (proof-of-play, heartbeat)", "one": "one report"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gates", type=int, default=300)
    ap.add_argument("--minutes", type=int, default=5, help="gate-minutes per gate per round")
    ap.add_argument("--rounds", type=int, default=2, help="rounds of each way, alternating")
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="postgresql")
    args = ap.parse_args()
    with bench_database_url(args.store) as url, tempfile.TemporaryDirectory() as tmp:
        tmp, best = Path(tmp), {}
        state = tmp / "central"
        cfg = central_config(tmp / "central.toml", **({"central_database_url": url} if url else {}))
        settings = load_central_settings(config_file=cfg, state_dir=state, env={})
        repository_for(settings).init()
        db = open_central_db(settings)
        with db.transaction(write=True) as conn:
            tokens = {f"gate-{i:04d}": add_gate(conn, f"gate-{i:04d}", f"Gate {i}", "Lạng Sơn",
                                                [1, 2]) for i in range(args.gates)}
        db.close()
        pg = make_url(url).query.get("host") if url else None
        with served_central(state, tmp / "serve.log", 2, 64, config=cfg) as base:
            beats = {g: heartbeat_body(g, 7) for g in tokens}
            next_row = dict.fromkeys(tokens, 1)

            def minute(way: str, gate: str) -> None:
                http = urllib3.PoolManager(retries=False)
                headers = {"Authorization": f"Bearer {tokens[gate]}",
                           "Content-Type": "application/json"}
                pop = pop_body(next_row[gate])
                next_row[gate] += 100
                if way == "two":
                    sends = (("proof-of-play", pop), ("heartbeat", sent_now(beats[gate])))
                else:
                    sends = (("report", b'{"heartbeat":' + sent_now(beats[gate])
                              + b',"proof_of_play":' + pop + b"}"),)
                for what, body in sends:
                    r = http.request("POST", f"{base}/api/v1/gates/{gate}/{what}", body=body,
                                     headers=headers)
                    assert r.status == 200, (what, r.status, r.data)
                http.clear()

            with ThreadPoolExecutor(32) as pool:  # warm-up: every gate's token remembered
                list(pool.map(lambda g: minute("one", g), tokens))
            n = args.gates * args.minutes
            print(f"store: {args.store}; gunicorn 2 workers x 64 threads, no nginx; "
                  f"{args.gates} gates x {args.minutes} gate-minutes per round, 32 at a time")
            for _ in range(args.rounds):
                for way in WAYS:
                    load = os.getloadavg()[0]
                    app, db_cpu = cpu_seconds(str(state)), cpu_seconds(pg) if pg else 0.0
                    start = time.perf_counter()
                    with ThreadPoolExecutor(32) as pool:
                        list(pool.map(lambda g: minute(way, g), list(tokens) * args.minutes))
                    wall = time.perf_counter() - start
                    app = 1000 * (cpu_seconds(str(state)) - app) / n
                    db_cpu = 1000 * ((cpu_seconds(pg) if pg else 0.0) - db_cpu) / n
                    best[way] = min(best.get(way, app), app)
                    print(f"{WAYS[way]:40s} application {app:5.2f} ms"
                          + (f", PostgreSQL {db_cpu:5.2f} ms" if pg else "")
                          + f" CPU per gate-minute; {n / wall:6.0f} gate-minutes/s; "
                            f"load average {load:.1f}", flush=True)
    print(f"lowest application CPU per gate-minute: {best['two']:.2f} ms as two requests, "
          f"{best['one']:.2f} ms as one report")
    print(f"report_gate_minute_cpu_ms: {best['one']:.2f}")


if __name__ == "__main__":
    main()
