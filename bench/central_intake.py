"""Central report intake under a fleet's heartbeats: N simulated gates each
POST a realistic heartbeat (about 1.5 KB, two faces) every 60 s, time-compressed
by a factor, to `gatecast central serve` (gunicorn, 2 workers) on this machine.
Each heartbeat opens its own connection, as a gate does after a minute's
silence; latency is from connect to the whole answer read.

    .venv/bin/python bench/central_intake.py [--gates 1000] [--compress 5] [--seconds 60]
        [--store sqlite|postgresql | --database-url URL]

--store postgresql starts a throwaway PostgreSQL cluster (Debian's package,
default durability settings) for the run; --database-url uses yours.

The load generator (asyncio, one process) shares the 2 cores with the server.
Prints figures; the last line is `central_intake_p99_ms: X` (target <= 100).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.central import central_config, served_central  # noqa: E402

from central.app import repository_for  # noqa: E402
from central.db import open_central_db  # noqa: E402
from central.fleet import add_gate  # noqa: E402
from central.settings import load_central_settings  # noqa: E402


def heartbeat_body(gate_id: str, version: int) -> bytes:
    face = {"power": "on", "blanked": 0, "level": "normal", "entry_id": "c-e-1a2b3c4d",
            "playing_sha256": "a" * 64, "playing_name": "Chào mừng đến Hữu Nghị.mp4",
            "playing_kind": "video", "since": "2026-11-27T08:00:00.000+07:00",
            "next_sha256": "b" * 64, "next_name": "Thông báo thủ tục.png",
            "next_at": "2026-11-27T08:00:30.000+07:00", "last_error": None}
    return json.dumps({
        "sent_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()), "gate_id": gate_id,
        "release_version": version, "last_good_release_version": version,
        "sync": {"status": "unchanged", "code": "ok", "last_pull_at": "2026-11-27T07:59:00+00:00",
                 "clock": {"synchronised": True, "expiry_trusted": True}},
        "health": {"cpu_temp_c": 61.2, "load": [0.4, 0.5, 0.5], "disk_free_mb": 20480,
                   "memory_free_mb": 1800, "uptime_s": 86400},
        "faces": [{"face_id": 1, **face}, {"face_id": 2, **face}],
        "errors": [],
    }, ensure_ascii=False).encode()


async def one_heartbeat(port: int, gate_id: str, token: str, body: bytes) -> tuple[float, int]:
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (f"POST /api/v1/gates/{gate_id}/heartbeat HTTP/1.1\r\nHost: central\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    writer.write(head + body)
    await writer.drain()
    answer = await reader.read()  # until the server closes
    writer.close()
    await writer.wait_closed()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return (time.perf_counter() - t0) * 1000, status


async def long_poll(port, gate_id, token, end, held):
    """A gate waiting on the change notification the whole time, as `gatecast sync`
    does: each request holds a server thread until its timeout."""
    while time.monotonic() < end:
        timeout = max(1, min(55, int(end - time.monotonic()) + 1))
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write((f"GET /api/v1/gates/{gate_id}/wait?version=0&timeout={timeout} "
                          f"HTTP/1.1\r\nHost: central\r\nAuthorization: Bearer {token}\r\n"
                          "Connection: close\r\n\r\n").encode())
            await writer.drain()
            held.append(1)
            answer = await reader.read()
            writer.close()
            await writer.wait_closed()
            if not answer.startswith(b"HTTP/1.1 204"):
                held.append(answer[:40])
        except OSError as e:
            held.append(str(e))
            await asyncio.sleep(1)


async def gate_loop(port, gate_id, token, interval, start, end, results, errors):
    t = start + random.uniform(0, interval)
    body = heartbeat_body(gate_id, 7)
    while t < end:
        await asyncio.sleep(max(0.0, t - time.monotonic()))
        try:
            ms, status = await one_heartbeat(port, gate_id, token, body)
        except OSError as e:
            errors.append(str(e))
        else:
            (results if status == 200 else errors).append(ms if status == 200 else status)
        t += interval  # on schedule, not after the previous answer: no slowing down


async def run_load(port, tokens, interval, seconds, waiting):
    results, errors, held = [], [], []
    start = time.monotonic() + 1.0
    end = start + seconds
    tasks = [gate_loop(port, gid, tok, interval, start, end, results, errors)
             for gid, tok in tokens.items()]
    if waiting:
        tasks += [long_poll(port, gid, tok, end, held) for gid, tok in tokens.items()]
    await asyncio.gather(*tasks)
    return results, errors, [h for h in held if h != 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gates", type=int, default=1000)
    ap.add_argument("--compress", type=float, default=5.0,
                    help="time compression: a 60 s heartbeat interval becomes 60/compress s")
    ap.add_argument("--seconds", type=float, default=60.0, help="measured wall-clock time")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=32)
    ap.add_argument("--waiting", action="store_true",
                    help="every gate also holds a change-notification long poll open "
                         "(give --threads so that workers x threads > gates)")
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite",
                    help="postgresql: a throwaway cluster for this run")
    ap.add_argument("--database-url", default="",
                    help="central_database_url of an existing (empty) database")
    args = ap.parse_args()
    interval = 60.0 / args.compress

    cluster = None
    url = args.database_url
    if args.store == "postgresql" and not url:
        from tests.support.postgres import PostgresCluster

        cluster = PostgresCluster(durable=True).start()
        url = cluster.url(cluster.create_database())
    try:
        results, errors, wait_errors, took, stored, loads = run(args, url, interval)
    finally:
        if cluster is not None:
            cluster.stop()
    load_before, load_after = loads
    store = make_url(url).get_backend_name() if url else "sqlite"
    report(args, interval, store, results, errors, wait_errors, took, stored, load_before,
           load_after)


def run(args, url: str, interval: float):
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "central"
        config = central_config(Path(tmp) / "central.toml", central_database_url=url)
        settings = load_central_settings(config_file=config, state_dir=state, env={})
        repository_for(settings).init()
        db = open_central_db(settings)
        tokens = {f"gate-{i:04d}": add_gate(db, f"gate-{i:04d}", f"Gate {i}", "Lạng Sơn", [1, 2])
                  for i in range(args.gates)}
        db.close()
        with served_central(state, Path(tmp) / "serve.log", args.workers, args.threads,
                            config=config) as server_url:
            port = int(server_url.rsplit(":", 1)[1])
            load_before = os.getloadavg()[0]
            t0 = time.monotonic()
            results, errors, wait_errors = asyncio.run(
                run_load(port, tokens, interval, args.seconds, args.waiting))
            took = time.monotonic() - t0
            load_after = os.getloadavg()[0]
        db = open_central_db(settings)
        stored = db.count("heartbeat")
        db.close()
    return results, errors, wait_errors, took, stored, (load_before, load_after)


def report(args, interval, store, results, errors, wait_errors, took, stored, load_before,
           load_after) -> None:
    results.sort()
    q = statistics.quantiles(results, n=100, method="inclusive") if len(results) > 1 else [0] * 99
    print(f"gates: {args.gates}, heartbeat interval {interval:.1f} s (60 s / {args.compress:g}),"
          f" {args.seconds:g} s measured ({args.seconds * args.compress / 60:.0f} simulated minutes)")
    print(f"server: gatecast central serve, gunicorn gthread, {args.workers} workers x "
          f"{args.threads} threads, store {store}; load generator in the same 2-core machine")
    print(f"machine load average (1 min) before/after: {load_before:.1f} / {load_after:.1f} "
          f"(includes the other jobs on this shared machine)")
    if args.waiting:
        print(f"long polls held open: {args.gates} (one per gate); unexpected answers or "
              f"errors: {len(wait_errors)} {wait_errors[:3]}")
    print(f"heartbeats answered 200: {len(results)} ({len(results) / took:.0f}/s), "
          f"failed: {len(errors)}, stored: {stored}")
    if errors:
        print(f"first failures: {errors[:5]}")
    print(f"latency ms: p50 {q[49]:.1f}  p90 {q[89]:.1f}  p95 {q[94]:.1f}  p99 {q[98]:.1f}  "
          f"max {results[-1] if results else 0:.1f}")
    # Failed requests count as infinitely slow: p99 over everything sent.
    everything = results + [float("inf")] * len(errors)
    everything.sort()
    p99 = everything[min(len(everything) - 1, int(len(everything) * 0.99))] if everything else 0
    print(f"central_intake_p99_ms: {p99:.1f}")


if __name__ == "__main__":
    main()
