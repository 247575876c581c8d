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
  * on PostgreSQL, what the gate_status stamp triggers (migrations 0010, 0015) add to
    intake: the wall time to store a batch of 32 heartbeats with the triggers on and
    off (3 rounds of 100 batches, medians; since 0015 intake stamps the row itself
    and the triggers do not fire for it).

    .venv/bin/python bench/background_cost.py [--gates 10000] [--store sqlite|postgresql]
        [--reported 2000] [--ticks 7]

Last line: `background_quiet_cpu_ms: X` (token refresh + alert tick with nothing
changed: a worker's CPU per 5 s doing nothing).

--served measures the same background work in the real processes, as installed:
`gatecast central serve` (gunicorn, 2 workers) and one `gatecast central serve-reports`
on `--gates` gates, while this process stores their heartbeats straight into the
database at the rate of `--gates` gates reporting every 60 s / `--compress` (in
batches of 32 a transaction, as the report server's group commit does), so the servers
answer no request at all: every CPU second they spend is background work. After
`--settle` seconds (first alert tick, first token read), each server thread's CPU
(/proc, named by py-spy dump) over `--seconds`, per gate-minute stored:

    .venv/bin/python bench/background_cost.py --served [--gates 10000] [--compress 5]
        [--seconds 30] [--settle 20] [--store sqlite|postgresql]

Then `--feed-auth` token checks as nginx's feed asks them (GET .../feed-auth, 8
kept-alive connections straight to gunicorn; each gate's every 300 s: ~33 a second at
10,000 gates), with gunicorn's CPU per check.

Last line: `background_gunicorn_ms_per_gate_minute: X` (#14's target <= 0.05).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import urllib.request
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
    ap.add_argument("--served", action="store_true",
                    help="measure the real servers while heartbeats are stored")
    ap.add_argument("--compress", type=float, default=5.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--settle", type=float, default=20.0)
    ap.add_argument("--feed-auth", type=int, default=2000,
                    help="--served: then this many token checks as nginx asks them")
    args = ap.parse_args()
    with bench_database_url(args.store) as url, tempfile.TemporaryDirectory() as tmp:
        (served if args.served else run)(args, url, Path(tmp))


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
    wall = time.perf_counter()
    after = cpu_ms(lambda: evaluate(c.db, settings, memory=fleet))
    wall = 1000 * (time.perf_counter() - wall)
    again = cpu_ms(lambda: evaluate(c.db, settings, memory=fleet))
    print(f"alert tick: first {first:.1f} ms, nothing changed median {alert_quiet:.2f} ms, "
          f"after {args.reported} gates reported {after:.1f} ms (wall, with the database's "
          f"part: {wall:.1f} ms), the tick after {again:.2f} ms", flush=True)
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
            conn.exec_driver_sql(f"ALTER TABLE gate_status {state} TRIGGER USER")

    for _ in range(3):
        on = batches()
        trigger("DISABLE")
        off = batches()
        trigger("ENABLE")
        print(f"32 heartbeats stored (wall): stamp triggers on {on:.2f} ms, off {off:.2f} ms",
              flush=True)


def thread_cpu(pid: int) -> dict[int, float]:
    """Native thread id -> user+system CPU seconds, of one process."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(task.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def thread_names(pid: int) -> dict[int, str]:
    """Native thread id -> Python thread name (py-spy dump), pool threads by their pool."""
    out = subprocess.run([str(Path(sys.executable).parent / "py-spy"), "dump", "-p", str(pid)],
                         capture_output=True, text=True, timeout=60).stdout
    return {int(tid): re.sub(r"_\d+$", "", name)
            for tid, name in re.findall(r'^Thread (\d+) \([a-z]+\): "([^"]*)"', out, re.M)}


def served(args, url: str, tmp: Path) -> None:
    from kiosk.store import utcnow

    from central.app import repository_for
    from central.db import open_central_db
    from central.fleet import add_gate
    from central.intake import check_heartbeat, store_heartbeats
    from central.settings import load_central_settings
    from tests.support.central import central_config, served_central, served_reports

    # The intake bench's heartbeat (1.5 KB, two faces), so the alert loop parses what
    # a fleet sends.
    from bench.central_intake import heartbeat_body

    state = tmp / "central"
    config = central_config(tmp / "central.toml", central_database_url=url)
    settings = load_central_settings(config_file=config, state_dir=state, env={})
    repository_for(settings).init()
    db = open_central_db(settings)
    ids = [f"gate-{i:05d}" for i in range(args.gates)]
    with db.transaction(write=True) as conn:
        tokens = [add_gate(conn, g, g, "Lạng Sơn", [1, 2]) for g in ids]
    rate = args.gates * args.compress / 60
    interval = settings["central_heartbeat_interval_s"]
    with contextlib.ExitStack() as stack:
        app_url = stack.enter_context(served_central(state, tmp / "serve.log", 2, 64,
                                                     config=config))
        reports = stack.enter_context(served_reports(state, tmp / "reports.log", 64,
                                                     config=config))
        # One report, so the report server's release watch runs as under a fleet.
        answer = urllib.request.urlopen(urllib.request.Request(
            f"{reports}/api/v1/gates/{ids[0]}/heartbeat", data=heartbeat_body(ids[0], 0),
            headers={"Authorization": f"Bearer {tokens[0]}",
                     "Content-Type": "application/json"}), timeout=30)
        assert answer.status == 200, answer.status
        marker = str(state).encode()
        pids = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmd = (entry / "cmdline").read_bytes()
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except OSError:
                    continue
                if marker in cmd:
                    pids[int(entry.name)] = (cmd, parent)
        roles = {}
        for pid, (cmd, parent) in pids.items():
            roles[pid] = ("report server" if b"serve-reports" in cmd else
                          "gunicorn worker" if parent in pids else "gunicorn master")

        def store(count: int, offset: int) -> int:
            now = utcnow()
            beats = [(g, check_heartbeat(json.loads(heartbeat_body(g, 0))), now)
                     for g in (ids[(offset + i) % len(ids)] for i in range(count))]
            with db.transaction(write=True) as conn:
                store_heartbeats(conn, beats, interval_s=interval)
            return offset + count

        # Settle at the full rate: the first tick, the first token read, warm caches.
        sent = pace(store, rate, args.settle, 0)[1]
        names = {pid: thread_names(pid) for pid in pids}
        before = {pid: thread_cpu(pid) for pid in pids}
        load_before = os.getloadavg()[0]
        stored, sent = pace(store, rate, args.seconds, sent)
        after = {pid: thread_cpu(pid) for pid in pids}
        load_after = os.getloadavg()[0]
        checks = feed_auth_cost(app_url, ids, tokens, args.feed_auth,
                                [p for p in pids if roles[p] != "report server"])
    db.close()
    print(f"{args.gates} gates on {args.store}; heartbeats stored by this process at "
          f"{stored / args.seconds:.0f}/s ({args.gates} gates every 60 s / {args.compress:g}) "
          f"for {args.seconds:g} s after {args.settle:g} s; the servers answered no request")
    print(f"machine load average (1 min) before/after: {load_before:.1f} / {load_after:.1f}")
    minutes = max(1, stored)
    totals: dict[str, float] = {}
    for pid in sorted(pids, key=lambda p: roles[p]):
        spent: dict[str, float] = {}
        for tid, cpu in after[pid].items():
            name = names[pid].get(tid, "(unnamed)")
            spent[name] = spent.get(name, 0.0) + cpu - before[pid].get(tid, 0.0)
        total = sum(spent.values())
        totals[roles[pid]] = totals.get(roles[pid], 0.0) + total
        print(f"  {roles[pid]} {pid}: {total:.2f} s CPU, {1000 * total / minutes:.3f} ms per "
              f"gate-minute; " + ", ".join(f"{n} {v:.2f} s" for n, v in
                                           sorted(spent.items(), key=lambda kv: -kv[1]) if v))
    gunicorn = totals.get("gunicorn worker", 0.0) + totals.get("gunicorn master", 0.0)
    print(f"report server: {1000 * totals.get('report server', 0.0) / minutes:.3f} ms per "
          f"gate-minute (its background only: it answered nothing)")
    if checks is not None:
        print(f"feed token checks: {args.feed_auth} answered by gunicorn, "
              f"{1000 * checks / args.feed_auth:.3f} ms of its CPU each")
    print(f"background_gunicorn_ms_per_gate_minute: {1000 * gunicorn / minutes:.3f}")


def feed_auth_cost(url: str, ids: list[str], tokens: list[str], count: int,
                   pids: list[int]) -> float | None:
    """gunicorn's CPU seconds for `count` token checks (GET .../feed-auth) over 8
    kept-alive connections, as nginx's feed sends them."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    if count <= 0:
        return None
    host, port = url.split("//", 1)[1].split(":")

    def check(part: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        for i in range(part, count, 8):
            conn.request("GET", f"/api/v1/gates/{ids[i % len(ids)]}/feed-auth",
                         headers={"Authorization": f"Bearer {tokens[i % len(ids)]}"})
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200, answer.status
        conn.close()

    def spent() -> float:
        return sum(sum(thread_cpu(pid).values()) for pid in pids)

    before = spent()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(check, range(8)))
    return spent() - before


def pace(store, rate: float, seconds: float, offset: int) -> tuple[int, int]:
    """Call store(count, offset) in batches of up to 32 so that `rate` a second are
    stored for `seconds`; returns (stored, next offset)."""
    start, stored = time.monotonic(), 0
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(rate * elapsed) - stored
        if due <= 0:
            time.sleep(min(0.01, 1 / rate))
            continue
        count = min(32, due)
        offset = store(count, offset)
        stored += count
    return stored, offset


if __name__ == "__main__":
    main()
