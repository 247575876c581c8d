"""Emergency fan-out: N gates wait on the change feed (nginx + nchan, the
production site of deploy/nginx, in front of `gatecast central serve`); an
emergency for all of them is published from another process, as the CLI or
another application server would; how long until every gate has been told and
has fetched its new timestamp.json from nginx.

    ulimit -n 20000   # the gates' sockets, and nginx's workers inherit it
    .venv/bin/python bench/emergency_fanout.py [--gates 10000] [--tls] [--auth uncached]

Gates are simulated in one asyncio process: each holds one keep-alive
connection to nginx, long-polls its channel (authorised by the application
through nginx's auth_request, whose answers nginx caches behind its feed-auth
hop), and when told fetches timestamp.json on the same connection, then waits
again as a gate does (the fleet's reconnect burst). A gate whose check failed
or whose connection dropped asks again after 2 s, like the sync loop. Every
channel first gets its gate's last version (production channels keep theirs),
so a gate is known to be waiting once that first message came back; gates
come up 200 at a time. With the fleet held the bench prints nginx's worker
descriptors (one per waiting gate: its socket); --auth uncached sends every
token check to the application instead, for comparison. Plain HTTP on 127.0.0.1 by default (10,000 TLS handshakes
would measure this machine's RSA/ECDHE rather than the feed); --tls measures
with TLS. Times are from the moment the publisher starts telling the feed
(the repository is signed, on disk and recorded by then); the publication's
own building and signing is printed separately (bench/central_publish.py
measures it).

Prints figures; the last line is `emergency_fanout_p99_s: X` (target <= 2).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import ssl
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.central import make_central, served_central  # noqa: E402
from tests.support.nginx import (HOSTNAME, cpu_seconds, render, running_nginx,  # noqa: E402
                                 worker_descriptors, worker_pids)

from central.feed import NchanFeed  # noqa: E402
from central.fleet import add_gate, add_group  # noqa: E402
from central.users import add_user  # noqa: E402

# The publisher: another process (as `gatecast central emergency` is), which
# reports when it starts and ends telling the feed on the shared monotonic clock.
PUBLISHER = r"""
import json, sys, time
from central.settings import load_central_settings
from central.app import repository_for
from central.db import open_central_db
from central.feed import NchanFeed
from central.publish import publish_emergency

state, url = sys.argv[1], sys.argv[2]
settings = load_central_settings(config_file=None, state_dir=state, env={})
db = open_central_db(settings)
marks = {"start": time.monotonic()}

class TimedFeed(NchanFeed):
    def announce(self, versions):
        marks["announce"] = time.monotonic()
        try:
            told = super().announce(versions)
        finally:
            marks["announced"] = time.monotonic()
        marks["told"] = told
        return told

made, result = publish_emergency(
    db, repository_for(settings), ["group:all"], by="duty-operator", reason="bench",
    minutes=30, texts={"vi": "Tạm dừng thông quan", "en": "Border crossing suspended"},
    feed=TimedFeed(url))
marks["version"] = result.repository_version
marks["changed"] = len(result.changed)
marks["warnings"] = result.warnings
print(json.dumps(marks), flush=True)
"""


def raise_listen_backlog(want: int) -> int:
    """The kernel caps nginx's `listen ... backlog=` at net.core.somaxconn; the
    central role raises it (central_listen_backlog), so the bench does too when
    it may. Otherwise 10,000 gates connecting at once overflow the queue."""
    knob = Path("/proc/sys/net/core/somaxconn")
    have = int(knob.read_text())
    if have < want:
        try:
            knob.write_text(str(want))
            Path("/proc/sys/net/ipv4/tcp_max_syn_backlog").write_text(str(want))
        except OSError:
            print(f"warning: net.core.somaxconn is {have}; gates beyond it may be reset",
                  flush=True)
    return int(knob.read_text())


def raise_fd_limit(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in ((want, max(want, hard)), (min(want, hard), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, limit)
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def read_answer(reader) -> tuple[int, dict, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status, headers, body


# Gates coming up at once (connection + first token check in flight). The whole fleet
# at once is a reconnect storm: each check in flight holds the gate's socket and two
# loopback connections in nginx and one in the application; see docs/benchmarks.md.
COMING_UP = 200


class SimGate:
    """One gate's sync loop as far as the feed goes: wait from its last
    position, fetch timestamp.json when told, and after an error (a 5xx from
    the token check, a dropped connection) pause and ask again, as
    kiosk/sync/loop.py does (it pauses up to 15 s; here 2 s)."""

    RETRY_S = 2.0

    def __init__(self, gate_id: str, token: str):
        self.gate_id = gate_id
        self.token = token
        self.position: dict[bytes, bytes] = {}
        self.told = self.fetched = None
        self.version = None
        self.errors: list[str] = []
        self.timeouts = 0  # nchan's 408s: the long poll renewed
        self.after = None  # what its next wait after the emergency got: None = held

    def wait_request(self) -> bytes:
        extra = b""
        if self.position:
            extra = (b"If-None-Match: " + self.position[b"etag"] + b"\r\n"
                     + b"If-Modified-Since: " + self.position[b"last-modified"] + b"\r\n")
        return (f"GET /api/v1/gates/{self.gate_id}/wait?version=1&timeout=55 HTTP/1.1\r\n"
                f"Host: {HOSTNAME}\r\nAuthorization: Bearer {self.token}\r\n").encode() \
            + extra + b"\r\n"

    async def connect(self, port, ssl_ctx, fetch=False):
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=ssl_ctx, server_hostname=HOSTNAME if ssl_ctx else None)
        writer.write(self.fetch_request() if fetch else self.wait_request())
        return reader, writer

    @staticmethod
    def fetch_request() -> bytes:
        return f"GET /tuf/metadata/timestamp.json HTTP/1.1\r\nHost: {HOSTNAME}\r\n\r\n".encode()

    async def come_up(self, port, ssl_ctx, slots, up):
        """Connect and wait without a position: nchan answers with the channel's
        last message as soon as nginx has the token checked. Then wait from there."""
        async with slots:  # gates coming up at once (their token checks in flight)
            while True:
                writer = None
                try:
                    reader, writer = await self.connect(port, ssl_ctx)
                    status, headers, _ = await read_answer(reader)
                    if status == 200:
                        break
                    self.errors.append(f"first wait: HTTP {status}")
                except (OSError, asyncio.IncompleteReadError, ValueError) as e:
                    self.errors.append(f"first wait: {e!r}")
                if writer is not None:
                    writer.close()
                await asyncio.sleep(self.RETRY_S)
        self.position = {b"etag": headers[b"etag"], b"last-modified": headers[b"last-modified"]}
        writer.write(self.wait_request())
        up.append(1)
        return reader, writer

    async def run(self, port, ssl_ctx, slots, up, target_version, rewait_s):
        reader, writer = await self.come_up(port, ssl_ctx, slots, up)
        while True:
            try:
                if self.told:  # told, then the connection dropped: the fetch again
                    status, _, body = await read_answer(reader)
                    await self.fetched_answer(status, body, reader, writer, rewait_s)
                    return
                status, headers, body = await read_answer(reader)
                if status == 408:  # nchan's own timeout: wait again where we were
                    self.timeouts += 1
                    writer.write(self.wait_request())
                    continue
                if status != 200:  # e.g. 500: the token check did not get through
                    self.errors.append(f"wait: HTTP {status}")
                    await asyncio.sleep(self.RETRY_S)
                    writer.write(self.wait_request())
                    continue
                self.position = {b"etag": headers[b"etag"],
                                 b"last-modified": headers[b"last-modified"]}
                if json.loads(body)["version"] < target_version[0]:
                    writer.write(self.wait_request())  # an older message: keep waiting
                    continue
                self.told = time.monotonic()
                writer.write(self.fetch_request())
                status, _, body = await read_answer(reader)
                await self.fetched_answer(status, body, reader, writer, rewait_s)
                return
            except (OSError, asyncio.IncompleteReadError, ValueError, KeyError) as e:
                # A dropped connection: ask again (or fetch again, when already told).
                self.errors.append(f"{'fetch' if self.told else 'wait'}: {e!r}")
                writer.close()
                await asyncio.sleep(self.RETRY_S)
                try:
                    reader, writer = await self.connect(port, ssl_ctx, fetch=bool(self.told))
                except OSError as e:
                    self.errors.append(f"reconnect: {e!r}")


    async def fetched_answer(self, status, body, reader, writer, rewait_s):
        self.fetched = time.monotonic()
        if status != 200:
            self.errors.append(f"timestamp: HTTP {status}")
            return
        self.version = json.loads(body)["signed"]["meta"]["snapshot.json"]["version"]
        # Like a gate after its refresh: wait for the next change (one more
        # token check each: the fleet's reconnect burst).
        writer.write(self.wait_request())
        try:
            status, _, _ = await asyncio.wait_for(read_answer(reader), rewait_s)
            self.after = status
        except (asyncio.TimeoutError, OSError, asyncio.IncompleteReadError):
            self.after = None if not reader.at_eof() else "dropped"
        writer.close()


async def fanout(ng, ssl_ctx, gates, state_dir, settle_s, base_version, rewait_s):
    up: list[int] = []
    slots = asyncio.Semaphore(COMING_UP)
    target = [base_version + 1]  # older messages are not the emergency
    app = str(state_dir)  # the application servers' command line names the state folder
    cpu = {"app": cpu_seconds(app)}
    tasks = [asyncio.create_task(g.run(ng.https, ssl_ctx, slots, up, target, rewait_s))
             for g in gates]
    t0 = time.monotonic()
    while len(up) < len(gates):
        await asyncio.sleep(0.2)
        if time.monotonic() - t0 > 600:
            raise RuntimeError(f"only {len(up)} gates came up in 10 minutes")
    up_s = time.monotonic() - t0
    app_up = cpu_seconds(app) - cpu["app"]
    print(f"{len(gates)} gates waiting in {up_s:.1f} s, {COMING_UP} at a time "
          f"(each told the channel's last message once nginx had its token checked: "
          f"application CPU {app_up:.1f} s, {app_up / len(gates) * 1000:.2f} ms a gate); "
          f"settling {settle_s:g} s", flush=True)
    await asyncio.sleep(settle_s)
    # What a waiting gate costs nginx: its descriptors now, with the fleet held.
    fds = worker_descriptors(ng)
    print(f"nginx workers' descriptors with {len(gates)} gates waiting: "
          + "; ".join(f"{sum(k.values())} ({k['sockets']} sockets, {k['auth_cache_files']} "
                      f"auth-cache files, {k['other']} other)" for k in fds), flush=True)
    peak = {"fds": 0}

    workers = worker_pids(ng)

    async def watch_descriptors():  # the most nginx holds while gates are told and ask again
        while True:
            # Only counted (one directory read), not classified: a readlink per
            # descriptor every 0.25 s would take the simulated gates' CPU.
            peak["fds"] = max(peak["fds"], sum(len(os.listdir(f"/proc/{pid}/fd"))
                                               for pid in workers))
            await asyncio.sleep(0.25)

    watcher = asyncio.create_task(watch_descriptors())
    cpu = {"nginx": cpu_seconds(str(state_dir.parent / "nginx")), "gates": time.process_time(),
           "app": cpu_seconds(app)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PUBLISHER, str(state_dir), ng.publish_url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=str(ROOT))
    out, err = await proc.communicate()
    if proc.returncode:
        raise RuntimeError("the publisher failed:\n" + err.decode())
    marks = json.loads(out.decode().strip().splitlines()[-1])
    # A gate not told within a minute is as missed as one never told (target 2 s),
    # and the bench stays within 5 minutes.
    await asyncio.wait(tasks, timeout=60 + rewait_s)
    marks["nginx_cpu"] = cpu_seconds(str(state_dir.parent / "nginx")) - cpu["nginx"]
    marks["gates_cpu"] = time.process_time() - cpu["gates"]
    marks["app_cpu"] = cpu_seconds(app) - cpu["app"]
    watcher.cancel()
    marks["peak_fds"] = peak["fds"]
    return marks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gates", type=int, default=10000)
    ap.add_argument("--tls", action="store_true", help="gates talk TLS to nginx")
    ap.add_argument("--nginx-workers", type=int, default=1)
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("--rewait", type=float, default=10.0, metavar="S",
                    help="after fetching, each gate waits again (as a gate does) and the "
                         "bench watches S seconds for an answer: the reconnect burst")
    ap.add_argument("--auth", choices=("cached", "uncached"), default="cached",
                    help="uncached: the feed's token check goes to the application every "
                         "time (no nginx cache), for comparison")
    args = ap.parse_args()
    nofile = raise_fd_limit(args.gates * 2 + 1000)  # nginx's workers inherit it
    print(f"file descriptors: {nofile}")
    print(f"listen queue: {raise_listen_backlog(16384)} (the central role's central_listen_backlog)")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        state = tmp / "central"
        central = make_central(state)
        t = time.monotonic()
        # One transaction for the whole fleet (add_gate joins it): a commit per
        # gate made registering 10,000 take 1-2 minutes of the bench's 5.
        with central.db.transaction(write=True) as conn:
            tokens = {f"gate-{i:05d}": add_gate(conn, f"gate-{i:05d}", f"Gate {i}",
                                                "Lạng Sơn", [1, 2]) for i in range(args.gates)}
        add_group(central.db, "all", "Every gate", list(tokens))
        add_user(central.db, "duty-operator", "operator")  # the emergency right
        base = central.repo.version()  # nothing published yet: the emergency is each first
        print(f"setup: {args.gates} gates registered in {time.monotonic() - t:.1f} s",
              flush=True)
        central.db.close()

        with served_central(state, tmp / "serve.log", workers=2, threads=16) as app_url:
            port = int(app_url.rsplit(":", 1)[1])
            ng = render(tmp / "nginx", [port], state, worker_processes=args.nginx_workers,
                        # Every descriptor may be a connection: a token check in
                        # flight holds two loopback ones (the feed-auth hop) for a moment.
                        worker_connections=nofile - 100,
                        rlimit_nofile=nofile, tls=args.tls,
                        auth_cache=args.auth == "cached")
            ssl_ctx = None
            if args.tls:
                ssl_ctx = ssl.create_default_context(cafile=str(ng.crt))
            with running_nginx(ng, "/healthz"):
                # Every channel holds its gate's last version, as in production (the
                # channel keeps it 7 days): a gate's first wait is answered once its
                # token is checked, so the bench knows the whole fleet is waiting.
                NchanFeed(ng.publish_url).announce({g: base for g in tokens})
                gates = [SimGate(g, tok) for g, tok in tokens.items()]
                load_before = os.getloadavg()[0]
                marks = asyncio.run(fanout(ng, ssl_ctx, gates, state, args.settle, base,
                                           args.rewait))
                load_after = os.getloadavg()[0]
                log_lines = ng.error_log().splitlines()
                crashed = [line for line in log_lines
                           if "exited on signal" in line or "Assertion" in line]
                logged = [line for line in log_lines if "[error]" in line or "[alert]" in line
                          or "[crit]" in line or "[warn]" in line]

    if "announce" not in marks or marks.get("told") is None:
        # The publisher turns a feed it cannot reach into a warning: say so.
        print(f"the feed was not told: {marks.get('warnings')}")
        print(f"nginx error log: {len(logged)} lines {logged[:5]}; crashes {crashed[:3]}")
        print("emergency_fanout_p99_s: inf")
        return
    start = marks["announce"]
    told = sorted(g.told - start for g in gates if g.told)
    fetched = sorted(g.fetched - start for g in gates
                     if g.fetched and g.version and g.version >= marks["version"])
    errors = [e for g in gates for e in g.errors]
    retried = sum(1 for g in gates if g.errors and g.fetched)
    missing = args.gates - len(fetched)

    def q(values, p):
        return values[min(len(values) - 1, int(len(values) * p))] if values else float("inf")

    print(f"gates: {args.gates}, {'TLS' if args.tls else 'plain HTTP'} to nginx on 127.0.0.1, "
          f"{args.nginx_workers} nginx workers; the simulated gates share this 2-core machine")
    print(f"machine load average (1 min) before/after: {load_before:.1f} / {load_after:.1f} "
          f"(includes the other jobs on this shared machine)")
    print(f"publisher: emergency built and signed in {marks['announce'] - marks['start']:.2f} s "
          f"({marks['changed']} gates changed), feed told in "
          f"{marks['announced'] - marks['announce']:.2f} s ({marks['told']} messages accepted); "
          f"warnings: {marks['warnings'][:3]}")
    print(f"told (s after the feed was told): p50 {q(told, 0.5):.2f}  p99 {q(told, 0.99):.2f}  "
          f"max {q(told, 1.0):.2f}  ({len(told)} gates)")
    print(f"fetched the new timestamp: p50 {q(fetched, 0.5):.2f}  p99 {q(fetched, 0.99):.2f}  "
          f"max {q(fetched, 1.0):.2f}  ({len(fetched)} gates; missing {missing})")
    print(f"from the start of publishing: every gate had it after "
          f"{(q(fetched, 1.0) + marks['announce'] - marks['start']):.2f} s")
    print(f"CPU from the publisher's start to the last gate: nginx {marks['nginx_cpu']:.1f} s, "
          f"the simulated gates {marks['gates_cpu']:.1f} s (wall: publisher "
          f"{marks['announced'] - marks['start']:.1f} s + fan-out {q(fetched, 1.0):.1f} s)")
    after = {}
    for g in gates:
        if g.fetched:
            after[g.after or "held"] = after.get(g.after or "held", 0) + 1
    print(f"waiting again after the fetch ({args.auth} token check): {after}; application "
          f"CPU from the publisher's start to the end: {marks['app_cpu']:.1f} s; nginx's "
          f"workers held at most {marks['peak_fds']} descriptors meanwhile")
    renewals = sum(g.timeouts for g in gates)
    print(f"gates that had to retry a failed wait and then got it: {retried}")
    print(f"long polls renewed after nchan's 55 s timeout meanwhile: {renewals}")
    if errors or crashed or logged:
        print(f"errors: {len(errors)} {errors[:5]}; nginx crashes: {crashed[:3]}; "
              f"nginx error log: {len(logged)} lines {logged[:3]}")
    lost = [g for g in gates if not g.fetched][:3]
    if lost:
        print("not told, e.g.: " + "; ".join(
            f"{g.gate_id} (position {bool(g.position)}, renewals {g.timeouts}, errors {g.errors})"
            for g in lost))
    # A gate that never got it counts as infinitely late.
    everything = fetched + [float("inf")] * missing
    print(f"emergency_fanout_p99_s: {q(everything, 0.99):.2f}")


if __name__ == "__main__":
    main()
