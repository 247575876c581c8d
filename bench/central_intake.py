"""Central report intake under a fleet: N simulated gates each send, every
60 s (time-compressed by a factor), a proof-of-play batch (12 rows: two faces,
a minute of 10-second items) and a realistic heartbeat (about 1.5 KB, two
faces), both on one connection they open for it, as a gate does after a
minute's silence. With --waiting every gate also holds the change feed the
whole time, as `gatecast sync` does.

By default the gates talk to nginx with the production site
(deploy/nginx/gatecast-central.conf, nchan holding the feed) in front of
`gatecast central serve` (gunicorn); --direct skips nginx (and then the
application holds the waiting gates, a thread each). Latency is from sending
a request to its whole answer read (the heartbeat's includes the connect).

    .venv/bin/python bench/central_intake.py [--gates 1000] [--compress 5] [--seconds 60] [--waiting]
        [--store sqlite|postgresql | --database-url URL]

--store postgresql starts a throwaway PostgreSQL cluster (Debian's package,
default durability settings) for the run; --database-url uses yours.

The load generator (asyncio, one process) shares the 2 cores with nginx and
the server. Prints figures; the last line is `central_intake_p99_ms: X`
(target <= 100), over every report sent (a failed one counts as infinite).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.central import central_config, served_central  # noqa: E402
from tests.support.nginx import HOSTNAME, cpu_seconds, render, running_nginx  # noqa: E402
from tests.support.postgres import bench_database_url  # noqa: E402

from central.app import repository_for  # noqa: E402
from central.db import open_central_db  # noqa: E402
from central.fleet import add_gate  # noqa: E402
from central.settings import load_central_settings  # noqa: E402

POP_ROWS = 12


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


def pop_body(first_id: int) -> bytes:
    rows = [{"id": first_id + i, "face_id": 1 + i % 2, "media_sha256": "a" * 64,
             "entry_id": "c-e-1a2b3c4d", "level": "normal",
             "started_at": "2026-11-27T08:00:00.000+07:00",
             "ended_at": "2026-11-27T08:00:10.000+07:00", "outcome": "completed", "reason": None}
            for i in range(POP_ROWS)]
    return json.dumps({"batch_id": f"b{first_id}", "rows": rows}).encode()


def post(gate_id: str, token: str, what: str, body: bytes) -> bytes:
    return (f"POST /api/v1/gates/{gate_id}/{what} HTTP/1.1\r\nHost: {HOSTNAME}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def read_answer(reader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def one_report(port, gate_id, token, pop_id, hb) -> list[tuple[str, float, int]]:
    """Proof of play then the heartbeat, on one new connection."""
    out = []
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for what, body in (("proof-of-play", pop_body(pop_id)), ("heartbeat", hb)):
            writer.write(post(gate_id, token, what, body))
            status = await read_answer(reader)
            out.append((what, (time.perf_counter() - t0) * 1000, status))
            t0 = time.perf_counter()
    finally:
        writer.close()
    return out


async def hold_feed(port, gate_id, token, end_ref, held, errors):
    """A gate holding the change feed the whole run: nchan answers 408 after
    55 s and the gate asks again (the application's own endpoint: 204)."""
    while time.monotonic() < end_ref[0]:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as e:
            errors.append(str(e))
            await asyncio.sleep(1)
            continue
        held[0] += 1
        try:
            while time.monotonic() < end_ref[0]:
                end = end_ref[0]
                timeout = int(max(1, min(55, end - time.monotonic() + 1)))
                writer.write((f"GET /api/v1/gates/{gate_id}/wait?version=1&timeout={timeout} "
                              f"HTTP/1.1\r\nHost: {HOSTNAME}\r\nAuthorization: Bearer {token}"
                              "\r\n\r\n").encode())
                status = await asyncio.wait_for(read_answer(reader), timeout=timeout + 60)
                if status not in (204, 408):
                    errors.append(f"wait: HTTP {status}")
                    await asyncio.sleep(1)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as e:
            if time.monotonic() < end_ref[0]:
                errors.append(repr(e))
        finally:
            held[0] -= 1
            writer.close()


async def gate_loop(port, gate_id, token, interval, start, end, results, errors, inflight):
    t = start + random.uniform(0, interval)
    hb = heartbeat_body(gate_id, 7)
    pop_id = 1
    while t < end:
        await asyncio.sleep(max(0.0, t - time.monotonic()))
        try:
            inflight[0] += 1
            try:
                answers = await one_report(port, gate_id, token, pop_id, hb)
            finally:
                inflight[0] -= 1
            for what, ms, status in answers:
                if status == 200:
                    results[what].append(ms)
                else:
                    errors.append(f"{what}: HTTP {status}")
        except (OSError, asyncio.IncompleteReadError) as e:
            errors.append(repr(e))
        pop_id += POP_ROWS
        t += interval  # on schedule, not after the previous answer: no slowing down


async def run_load(port, tokens, interval, seconds, waiting, ramp_s, grace_s):
    results = {"proof-of-play": [], "heartbeat": []}
    errors, wait_errors, held = [], [], [0]
    tasks = []
    if waiting:
        # The fleet comes up first and keeps the feed held through the measurement.
        end_all = [float("inf")]
        for gid, tok in tokens.items():
            tasks.append(asyncio.create_task(hold_feed(port, gid, tok, end_all, held,
                                                       wait_errors)))
            await asyncio.sleep(ramp_s / len(tokens))
        await asyncio.sleep(1.0)
        print(f"feed held by {held[0]} gates before measuring", flush=True)
    start = time.monotonic() + 1.0
    end = start + seconds
    if waiting:
        end_all[0] = end
    inflight = [0]
    loops = [asyncio.create_task(gate_loop(port, gid, tok, interval, start, end, results,
                                           errors, inflight)) for gid, tok in tokens.items()]
    held_during = []

    async def sample():
        while time.monotonic() < end:
            held_during.append(held[0])
            await asyncio.sleep(1)

    tasks.append(asyncio.create_task(sample()))
    # Reports still unanswered a grace period after the measurement count as failed
    # (infinite): an overloaded server would otherwise keep the run going for minutes.
    _, late = await asyncio.wait(loops, timeout=max(0.0, end - time.monotonic()) + grace_s)
    unanswered = inflight[0]
    for task in late:
        task.cancel()
    errors += [f"unanswered {grace_s:g} s after the measurement"] * (2 * unanswered)
    await asyncio.gather(*tasks, *late, return_exceptions=True)
    return results, errors, wait_errors, held_during


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def raise_fd_limit(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in ((want, max(want, hard)), (min(want, hard), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, limit)
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gates", type=int, default=1000)
    ap.add_argument("--compress", type=float, default=5.0,
                    help="time compression: a 60 s report interval becomes 60/compress s")
    ap.add_argument("--seconds", type=float, default=60.0, help="measured wall-clock time")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=64,
                    help="per worker, as the central role sets (central_threads)")
    ap.add_argument("--waiting", action="store_true",
                    help="every gate also holds the change feed during the whole run")
    ap.add_argument("--direct", action="store_true",
                    help="no nginx: gates talk to gunicorn (then the waiting gates hold its "
                         "threads: give --threads so that workers x threads > gates)")
    ap.add_argument("--ramp", type=float, default=30.0,
                    help="seconds over which the waiting gates connect before measuring")
    ap.add_argument("--grace", type=float, default=30.0,
                    help="seconds after the measurement a report may still be answered; "
                         "later ones count as failed (keeps an overloaded run short)")
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite",
                    help="postgresql: a throwaway cluster for this run")
    ap.add_argument("--database-url", default="",
                    help="central_database_url of an existing (empty) database")
    args = ap.parse_args()
    with bench_database_url(args.store, args.database_url) as url:
        run(args, url)


def run(args, database_url: str) -> None:
    interval = 60.0 / args.compress
    nofile = raise_fd_limit(3 * args.gates + 2000)
    store = make_url(database_url).get_backend_name() if database_url else "sqlite"

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        state = tmp / "central"
        config = central_config(tmp / "central.toml", central_database_url=database_url)
        settings = load_central_settings(config_file=config, state_dir=state, env={})
        repository_for(settings).init()
        db = open_central_db(settings)
        with db.transaction(write=True) as conn:  # one commit for the fleet
            tokens = {f"gate-{i:05d}": add_gate(conn, f"gate-{i:05d}", f"Gate {i}",
                                                "Lạng Sơn", [1, 2]) for i in range(args.gates)}
        db.close()
        with served_central(state, tmp / "serve.log", args.workers, args.threads,
                            config=config) as url:
            app_port = int(url.rsplit(":", 1)[1])
            ctx = contextlib.nullcontext()
            if not args.direct:
                # Plain HTTP on loopback: no TLS handshake cost in the load generator.
                ng = render(tmp / "nginx", [app_port], state, worker_processes=2,
                            worker_connections=2 * args.gates + 2000,
                            rlimit_nofile=nofile, tls=False)
                ctx = running_nginx(ng, "/healthz")
            with ctx:
                port = app_port if args.direct else ng.https
                load_before = os.getloadavg()[0]
                app_cpu = cpu_seconds(str(state))
                nginx_cpu = cpu_seconds(str(tmp / "nginx"))
                # The throwaway cluster's processes name its folder (the socket's).
                pg_marker = make_url(database_url).query.get("host") if database_url else None
                pg_cpu = cpu_seconds(pg_marker) if pg_marker else 0.0
                own_cpu = _own_cpu()
                results, errors, wait_errors, held = asyncio.run(
                    run_load(port, tokens, interval, args.seconds, args.waiting, args.ramp,
                             args.grace))
                app_cpu = cpu_seconds(str(state)) - app_cpu
                nginx_cpu = cpu_seconds(str(tmp / "nginx")) - nginx_cpu
                pg_cpu = (cpu_seconds(pg_marker) - pg_cpu) if pg_marker else 0.0
                own_cpu = _own_cpu() - own_cpu
                load_after = os.getloadavg()[0]
        db = open_central_db(settings)
        stored, pop_stored = db.count("heartbeat"), db.count("proof_of_play")
        db.close()

    def quantiles(values):
        values = sorted(values)
        if len(values) < 2:
            return [0.0] * 99, (values[-1] if values else 0.0)
        return statistics.quantiles(values, n=100, method="inclusive"), values[-1]

    print(f"gates: {args.gates}, report interval {interval:.1f} s (60 s / {args.compress:g}),"
          f" {args.seconds:g} s measured ({args.seconds * args.compress / 60:.0f} simulated "
          f"minutes); each report = proof of play ({POP_ROWS} rows) + heartbeat")
    print(f"path: {'gunicorn directly' if args.direct else 'nginx (nchan feed) -> gunicorn'}, "
          f"gthread {args.workers} workers x {args.threads} threads, store: {store}; "
          f"load generator in the same 2-core machine; fds {nofile}")
    print(f"machine load average (1 min) before/after: {load_before:.1f} / {load_after:.1f} "
          f"(includes the other jobs on this shared machine)")
    if args.waiting:
        print(f"change feed held during the measurement: min {min(held or [0])}, "
              f"max {max(held or [0])} of {args.gates} gates; errors: {len(wait_errors)} "
              f"{wait_errors[:3]}")
    sent = sum(len(v) for v in results.values())
    print(f"reports answered 200: {sent} ({sent / args.seconds:.0f}/s), failed: {len(errors)}, "
          f"stored: {stored} heartbeats, {pop_stored} proof-of-play rows")
    if errors:
        print(f"first failures: {errors[:5]}")
    # CPU the server side spent, whatever else the machine ran: the capacity figure.
    requests = max(1, sent + len(errors))
    print(f"server CPU (user+system) over the run: application {app_cpu:.1f} s "
          f"({1000 * app_cpu / requests:.2f} ms per report), nginx {nginx_cpu:.1f} s "
          f"({1000 * nginx_cpu / requests:.2f} ms per report)"
          + (f", PostgreSQL {pg_cpu:.1f} s ({1000 * pg_cpu / requests:.2f} ms)" if pg_marker else "")
          + f"; this load generator {own_cpu:.1f} s ({1000 * own_cpu / requests:.2f} ms)")
    for what, values in results.items():
        q, top = quantiles(values)
        print(f"{what} latency ms: p50 {q[49]:.1f}  p90 {q[89]:.1f}  p99 {q[98]:.1f}  "
              f"max {top:.1f}")
    everything = sorted([v for values in results.values() for v in values]
                        + [float("inf")] * len(errors))
    p99 = everything[min(len(everything) - 1, int(len(everything) * 0.99))] if everything else 0
    print(f"central_intake_p99_ms: {p99:.1f}")


if __name__ == "__main__":
    main()
