"""Alert latency: a gate stops heartbeating; how long after the offline threshold
(2.5 heartbeat intervals after its last heartbeat arrived) does the SMTP server accept
the email? Central runs as installed (`gatecast central serve`, gunicorn, its workers'
alert loops competing for the alerts lock, default central_alert_interval_s), the gate
heartbeats over HTTP, the email goes over STARTTLS with login to aiosmtpd on
127.0.0.1. Other gates (`--gates`) keep reporting so each evaluation has a fleet to
read. Each round the gate comes back (recovery) and then goes silent again.

    .venv/bin/python bench/alert_latency.py [--rounds 5] [--gates 200] [--store sqlite|postgresql]
        [--fleet 10000]

Then what one evaluation of the rules costs for `--fleet` gates that all reported
(2 faces, a realistic heartbeat), median of 5 (0: skip).

Last line: `alert_latency_s: X` (the worst round; target <= 10).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import urllib3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.alerts import SmtpServer  # noqa: E402
from tests.support.central import central_config, make_central, served_central  # noqa: E402
from tests.support.postgres import bench_database_url  # noqa: E402
from tests.support.wait import wait_for  # noqa: E402

from central.alerts import add_subscription, list_alerts  # noqa: E402
from central.fleet import add_gate, add_group  # noqa: E402
from central.intake import record_heartbeat  # noqa: E402

INTERVAL_S = 4.0  # central_heartbeat_interval_s: offline 10 s after the last heartbeat
OFFLINE_SUBJECT = "[gatecast] Nghiêm trọng: Cửa khẩu mất kết nối"
BEAT = {"release_version": None, "last_good_release_version": None,
        "sync": {"status": "unchanged"},
        "health": {"cpu_temp_c": 50.0, "disk": {"free_mb": 9000.0}, "clock_synced": True},
        "faces": [], "errors": []}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--gates", type=int, default=200, help="other gates that keep reporting")
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--fleet", type=int, default=10000,
                    help="gates for the evaluation cost (0: skip)")
    args = ap.parse_args()
    if args.fleet:
        with bench_database_url(args.store) as url:
            evaluation_cost(args.fleet, url)
    with bench_database_url(args.store) as url:
        run(args, url)


def evaluation_cost(n: int, url: str) -> None:
    from sqlalchemy import insert

    from kiosk.store import iso, utcnow

    from central import schema as t
    from central.alerts import evaluate
    from central.db import transaction

    beat = {**BEAT, "release_version": 3, "last_good_release_version": 3,
            "faces": [{"face_id": f, "power": "on", "blanked": 0, "playing_sha256": "a" * 64,
                       "playing_name": "Bản tin an toàn giao thông.mp4"} for f in (1, 2)],
            "errors": [{"id": i, "at": iso(utcnow()), "code": "mpv_error", "face_id": 1,
                        "message": "mpv: lỗi giải mã khung hình " * 3} for i in range(5)]}
    with tempfile.TemporaryDirectory() as tmp:
        c = make_central(Path(tmp) / "central", central_database_url=url)
        now = iso(utcnow())
        with transaction(c.db, write=True) as conn:
            conn.execute(insert(t.gate), [{"id": f"g{i:05d}", "name": f"Cổng {i}",
                                           "faces": "[1, 2]"} for i in range(n)])
            conn.execute(insert(t.gate_status), [{
                "gate_id": f"g{i:05d}", "last_heartbeat_at": now, "release_version": 3,
                "last_good_release_version": 3, "heartbeat": json.dumps(beat)} for i in range(n)])
        times = []
        for _ in range(6):
            start = time.perf_counter()
            evaluate(c.db, c.settings)
            times.append(time.perf_counter() - start)
        c.db.close()
    print(f"one evaluation of {n} gates: first {times[0]:.2f} s (parses every heartbeat), "
          f"then median {statistics.median(times[1:]):.2f} s", flush=True)


def run(args, url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        smtp = SmtpServer(login=("canhbao", "mat-khau"), tls_dir=tmp / "tls")
        (tmp / "smtp-password").write_text("mat-khau\n")
        settings = {"central_database_url": url, "central_heartbeat_interval_s": INTERVAL_S,
                    "central_alert_clear_after_s": 1.0, "central_smtp_user": "canhbao",
                    "central_smtp_password_file": str(tmp / "smtp-password"), **smtp.settings()}
        c = make_central(tmp / "central", **settings)
        token = c.gate("bench-gate", faces=(1,), name="Cửa khẩu Bench")
        others = [f"gate-{i:04d}" for i in range(args.gates)]
        for gate_id in others:
            add_gate(c.db, gate_id, gate_id)
        add_group(c.db, "bench", "Bench", ["bench-gate"])
        add_subscription(c.db, "email", "truc@stttt.test", "bench")
        config = central_config(tmp / "served.toml", **settings)
        stop = threading.Event()

        def others_report():
            # The rest of the fleet stays online (written straight to the store: the
            # bench measures the alert path, not intake).
            while not stop.is_set():
                for gate_id in others:
                    record_heartbeat(c.db, gate_id, BEAT)
                stop.wait(INTERVAL_S)

        reporter = threading.Thread(target=others_report, daemon=True)
        reporter.start()
        pool = urllib3.PoolManager(retries=False)
        latencies = []
        try:
            with served_central(tmp / "central", tmp / "serve.log", workers=2, threads=8,
                                config=config) as base:
                def beat() -> float:
                    resp = pool.request(
                        "POST", f"{base}/api/v1/gates/bench-gate/heartbeat",
                        body=json.dumps(BEAT).encode(),
                        headers={"Authorization": f"Bearer {token}",
                                 "Content-Type": "application/json"})
                    assert resp.status == 200, resp.data
                    return time.time()

                for n in range(args.rounds):
                    # Report for a while (and long enough to recover from last round).
                    end = time.time() + 3 * INTERVAL_S
                    while time.time() < end:
                        last = beat()
                        time.sleep(INTERVAL_S / 2)
                    wait_for(lambda: not list_alerts(c.db, gate_id="bench-gate"), 60,
                             "the gate's recovery")
                    sent = len(smtp.messages)
                    last = beat()  # the last heartbeat; then silence
                    threshold = last + 2.5 * INTERVAL_S
                    wait_for(lambda: len(smtp.messages) > sent and any(
                        m.message["Subject"].startswith(OFFLINE_SUBJECT) for m in smtp.messages[sent:]),
                        120, "the offline email")
                    accepted = next(m.at for m in smtp.messages[sent:]
                                    if m.message["Subject"].startswith(OFFLINE_SUBJECT))
                    latencies.append(accepted - threshold)
                    print(f"round {n + 1}: email accepted {accepted - threshold:.2f} s after "
                          f"the offline threshold", flush=True)
        finally:
            stop.set()
            reporter.join(timeout=30)
            smtp.stop()
            c.db.close()
    store = "postgresql" if url else "sqlite"
    print(f"store {store}, {args.gates} other gates, heartbeat interval {INTERVAL_S:g} s, "
          f"alert interval 5 s (default), 2 gunicorn workers")
    print(f"median {statistics.median(latencies):.2f} s, worst {max(latencies):.2f} s "
          f"over {len(latencies)} rounds")
    print(f"alert_latency_s: {max(latencies):.2f}")


if __name__ == "__main__":
    main()
