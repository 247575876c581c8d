"""Emergency fan-out: N gates wait on the change feed (nginx + nchan, the
production site of deploy/nginx, in front of `gatecast central serve`); an
emergency for all of them is published from another process, as the CLI or
another application server would; how long until every gate has been told and
has fetched its new timestamp.json from nginx.

    ulimit -n 20000   # the gates' sockets, and nginx's workers inherit it
    .venv/bin/python bench/emergency_fanout.py [--gates 10000] [--tls] [--auth uncached] [--pull-link]

Gates are simulated in one asyncio process: each holds one keep-alive
connection to nginx (--pull-link: a second one for its pulls, as the gate keeps
since wave 2 session 6; two descriptors per gate) from an address of its own (127.1.x.y, as real gates come
from their own; --one-address: all from 127.0.0.1), long-polls its channel (authorised by the application,
whose good answers nginx keeps in its shared memory: the site's
auth_request answered by lua from it), and when told fetches timestamp.json on the same connection, then waits
again as a gate does (the fleet's reconnect burst). A gate whose check failed
or whose connection dropped asks again after 2 s, like the sync loop. Every
channel first gets its gate's last version (production channels keep theirs),
so a gate is known to be waiting once that first message came back; gates
come up 200 at a time. With the fleet held the bench prints nginx's worker
descriptors (one per waiting gate: its socket); --auth uncached asks the
application for every wait's token instead (nginx keeps no answer), for comparison. Plain HTTP on 127.0.0.1 by default (10,000 TLS handshakes
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
import random
import ssl
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.central import make_central, served_central  # noqa: E402
from tests.support.loopback import gate_address, raise_fd_limit  # noqa: E402
from tests.support.nginx import (HOSTNAME, cpu_seconds, render, running_nginx,  # noqa: E402
                                 worker_descriptors, worker_pids)

from central.feed import GATES_PER_POST, NchanFeed  # noqa: E402
from central.fleet import add_gate, add_group  # noqa: E402
from central.users import add_user  # noqa: E402
from kiosk.sync.loop import feed_retry_s  # noqa: E402

# The publisher: another process (as `gatecast central emergency` is), which
# reports when it starts and ends telling the feed on the shared monotonic clock.
PUBLISHER = r"""
import json, sys, time
from central.settings import load_central_settings
from central.app import repository_for
from central.db import open_central_db
from central.feed import NchanFeed
from central.publish import publish_emergency

state, url, per_post = sys.argv[1], sys.argv[2], int(sys.argv[3])
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
        marks["posts"] = len(self.posts(versions))
        return told

made, result = publish_emergency(
    db, repository_for(settings), ["group:all"], by="duty-operator", reason="bench",
    minutes=30, texts={"vi": "Tạm dừng thông quan", "en": "Border crossing suspended"},
    feed=TimedFeed(url, gates_per_post=per_post))
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


# Gates coming up at once (connection + first token check in flight). The whole fleet
# at once is a reconnect storm: each check in flight holds the gate's socket and two
# loopback connections in nginx and one in the application; see docs/benchmarks.md
# and --cold (the whole fleet at once, nginx's token-answer cache empty).
COMING_UP = 200


def parse_answer(buf: bytearray):
    """One HTTP/1.1 answer at the start of `buf`: (status, etag, last_modified, body,
    its length in buf), or None while incomplete. nginx's answers only: a status
    line, headers, Content-Length (nchan's and the static files' answers have it)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    raw = bytes(buf[:end])
    lower = raw.lower()

    def header(name: bytes):  # its value as sent (Etag, Last-Modified are opaque)
        at = lower.find(b"\r\n" + name + b":")
        if at < 0:
            return None
        start = at + len(name) + 3
        stop = lower.find(b"\r\n", start)
        return raw[start:stop if stop >= 0 else len(raw)].strip()

    total = end + 4 + int(header(b"content-length") or 0)
    if len(buf) < total:
        return None
    return (int(raw[9:12]), header(b"etag"), header(b"last-modified"),
            bytes(buf[end + 4:total]), total)


class PullLink(asyncio.Protocol):
    """A gate's second kept connection (--pull-link): the sync loop's pulls and
    reports ride one kept connection beside the feed's (kiosk/sync/link.py, since
    wave 2 session 6), so a told gate fetches timestamp.json there, not on the
    connection its long poll holds."""

    def __init__(self, gate):
        self.gate, self.transport, self.buf = gate, None, bytearray()

    def connection_made(self, transport):
        self.transport = transport
        self.buf.clear()

    def data_received(self, data):
        self.buf += data
        while (answer := parse_answer(self.buf)) is not None:
            del self.buf[:answer[4]]
            self.gate.answered(*answer[:4])

    def connection_lost(self, exc):
        self.transport = None
        if self.gate.state == "fetching":
            self.gate.errors.append(f"fetch: pull connection lost {exc!r}")
            self.gate.finish(None)


class SimGate(asyncio.Protocol):
    """One gate's sync loop as far as the feed goes, as an asyncio Protocol (no
    stream objects, no task per gate once it is up: the load generator is one
    process on the machine it measures, so every microsecond of it counts).
    It waits from its last position, fetches timestamp.json when told, and after
    an error (a 5xx from the token check, a dropped connection) pauses and asks
    again, as kiosk/sync/loop.py does (it pauses up to 15 s; here 2 s)."""

    RETRY_S = 2.0

    def __init__(self, gate_id: str, token: str, run, local_addr: tuple[str, int]):
        self.gate_id = gate_id
        self.local_addr = local_addr  # its own address (tests.support.loopback)
        self.token = token
        self.run = run  # the fan-out's shared state (FleetRun)
        self.position: tuple[bytes, bytes] | None = None
        self.told = self.fetched = None
        self.version = None
        self.errors: list[str] = []
        self.timeouts = 0  # nchan's 408s: the long poll renewed
        self.after = None  # what its next wait after the emergency got: None = held
        self.state = "down"  # down, first, waiting, fetching, rewait, done
        self.transport = None
        self.buf = bytearray()
        self.up = None  # a future while coming up
        self.held_at = None
        self.pull = PullLink(self) if run.pull_link else None  # --pull-link

    # ---- requests ---------------------------------------------------------------
    def connect(self, protocol: asyncio.Protocol):
        """Open a connection for `protocol` (this gate's feed, or its pull link) to
        nginx from this gate's own address, over TLS when the run has it."""
        return self.run.loop.create_connection(
            lambda: protocol, "127.0.0.1", self.run.port, ssl=self.run.ssl_ctx,
            server_hostname=self.run.hostname, local_addr=self.local_addr)

    def wait_request(self) -> bytes:
        extra = b""
        if self.position:
            extra = (b"If-None-Match: " + self.position[0] + b"\r\nIf-Modified-Since: "
                     + self.position[1] + b"\r\n")
        return self.run.wait_head[self.gate_id] + extra + b"\r\n"

    def send_wait(self, state="waiting"):
        self.state = state
        self.transport.write(self.wait_request())

    def wait_again(self):
        """After a refused wait: ask again, unless the connection dropped meanwhile
        (then reconnect() asks)."""
        if self.transport is not None and self.state == "waiting":
            self.send_wait()

    def send_fetch(self):
        self.state = "fetching"
        if self.pull is None:
            self.transport.write(self.run.fetch_request)
        elif self.pull.transport is not None and not self.pull.transport.is_closing():
            self.pull.transport.write(self.run.fetch_request)
        else:  # nginx closed it while idle: a new one, as kiosk/sync/link.py opens
            self.run.loop.create_task(self._fetch_on_new_pull())

    async def _fetch_on_new_pull(self):
        self.run.pulls_reopened += 1
        try:
            await self.connect(self.pull)
        except OSError as e:
            self.errors.append(f"fetch: {e!r}")
            self.finish(None)
            return
        self.pull.transport.write(self.run.fetch_request)

    # ---- the connection ---------------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport
        self.buf.clear()

    def data_received(self, data):
        self.buf += data
        while True:
            answer = parse_answer(self.buf)
            if answer is None:
                return
            del self.buf[:answer[4]]
            self.answered(*answer[:4])
            if self.transport is None or self.transport.is_closing():
                return

    def connection_lost(self, exc):
        self.transport = None
        if self.state in ("done", "down"):
            return
        if self.state == "rewait":  # dropped while waiting again after the fetch
            self.finish("dropped")
            return
        if self.state == "first":
            self.errors.append(f"first wait: connection lost {exc!r}")
            self.state = "down"
            if self.up is not None and not self.up.done():
                self.up.set_result(False)
            return
        self.errors.append(f"{'fetch' if self.told else 'wait'}: connection lost {exc!r}")
        self.state = "down"
        self.run.loop.call_later(self.RETRY_S, self.reconnect)

    def reconnect(self):
        """Told, then the connection dropped: fetch again; else wait again."""
        async def again():
            try:
                await self.connect(self)
            except OSError as e:
                self.errors.append(f"reconnect: {e!r}")
                self.run.loop.call_later(self.RETRY_S, self.reconnect)
                return
            self.send_fetch() if self.told else self.send_wait()
        self.run.loop.create_task(again())

    # ---- answers ----------------------------------------------------------------
    def answered(self, status, etag, modified, body):
        state = self.state
        if state == "first":  # coming up: the channel's last message, token checked
            if status != 200:
                self.errors.append(f"first wait: HTTP {status}")
                self.state = "down"
                self.transport.close()
                self.up.set_result(False)
                return
            self.position = (etag, modified)
            self.send_wait()
            self.up.set_result(True)
        elif state == "waiting":
            if status == 408:  # nchan's own timeout: wait again where we were
                self.timeouts += 1
                self.send_wait()
            elif status != 200:  # e.g. 500: the token check did not get through
                self.errors.append(f"wait: HTTP {status}")
                self.run.loop.call_later(self.RETRY_S, self.wait_again)
            else:
                self.position = (etag, modified)
                if json.loads(body)["version"] < self.run.target:
                    self.send_wait()  # an older message: keep waiting
                else:
                    self.told = time.monotonic()
                    self.send_fetch()
        elif state == "fetching":
            self.fetched = time.monotonic()
            if status != 200:
                self.errors.append(f"timestamp: HTTP {status}")
                self.finish(None)
                return
            self.version = json.loads(body)["signed"]["meta"]["snapshot.json"]["version"]
            # Like a gate after its refresh: wait for the next change (one more
            # token check each: the fleet's reconnect burst).
            self.send_wait("rewait")
            self.run.loop.call_later(self.run.rewait_s, self.finish, None)
        elif state == "rewait":
            self.finish(status)

    def finish(self, after):
        if self.state == "done":
            return
        if after is not None or self.state != "rewait" or self.transport is not None:
            self.after = after
        self.state = "done"
        if self.transport is not None:
            self.transport.close()
        if self.pull is not None and self.pull.transport is not None:
            self.pull.transport.close()
        self.run.finished(self)

    async def come_up(self, slots):
        """Connect and wait without a position: nchan answers with the channel's
        last message as soon as nginx has the token checked. Then wait from there.
        --cold: every gate's feed just dropped (nginx restarted): it comes back
        as a gate does, after kiosk.sync.loop.feed_retry_s (jittered), or all at
        the same moment and after a failure 15 s later (the fixed pause gates
        had before wave 2 session 4: at-once)."""
        if self.run.cold == "jittered":
            await asyncio.sleep(feed_retry_s(self.run.rng))
        async with slots:  # gates coming up at once (their token checks in flight)
            while True:
                self.up = self.run.loop.create_future()
                try:
                    await self.connect(self)
                    self.send_wait("first")
                    if await self.up:
                        break
                except OSError as e:
                    self.errors.append(f"first wait: {e!r}")
                if self.transport is not None:
                    self.transport.close()
                await asyncio.sleep(self.run.retry_s())
            if self.pull is not None:  # the sync loop's own kept connection
                try:
                    await self.connect(self.pull)
                except OSError as e:
                    self.errors.append(f"pull connection: {e!r}")
        self.up = None
        self.held_at = time.monotonic()
        self.run.held += 1


class FleetRun:
    """What every simulated gate shares: the loop, nginx's address, the requests'
    fixed parts, the version that is the emergency, and who has finished."""

    def __init__(self, loop, port, ssl_ctx, tokens, target, rewait_s, cold=None,
                 pull_link=False):
        self.loop, self.port, self.ssl_ctx = loop, port, ssl_ctx
        self.pull_link = pull_link
        self.pulls_reopened = 0  # --pull-link: fetches that needed a new connection
        self.cold = cold
        self.rng = random.Random(14)
        self.hostname = HOSTNAME if ssl_ctx else None
        self.target, self.rewait_s = target, rewait_s
        self.wait_head = {
            g: (f"GET /api/v1/gates/{g}/wait?version=1&timeout=55 HTTP/1.1\r\n"
                f"Host: {HOSTNAME}\r\nAuthorization: Bearer {tok}\r\n").encode()
            for g, tok in tokens.items()}
        self.fetch_request = (f"GET /tuf/metadata/timestamp.json HTTP/1.1\r\n"
                              f"Host: {HOSTNAME}\r\n\r\n").encode()
        self.held = 0
        self.left = len(tokens)
        self.all_done = loop.create_future()

    def retry_s(self) -> float:
        """A gate's pause after its feed failed: the gate's own (jittered), or,
        for --cold at-once, the fixed 15 s gates paused before wave 2 session 4."""
        if self.cold == "jittered":
            return feed_retry_s(self.rng)
        return 15.0 if self.cold == "at-once" else SimGate.RETRY_S

    def finished(self, gate):
        self.left -= 1
        if self.left == 0 and not self.all_done.done():
            self.all_done.set_result(True)


# Counts nginx's workers' descriptors every 0.25 s in a process of its own at the
# lowest priority: listing /proc/<pid>/fd with 10,000 entries is milliseconds of
# CPU each time, which inside the load generator took half its CPU in the fan-out.
# A line on its stdin: print the peak since the last one.
WATCHER = r"""
import os, select, sys
os.nice(19)
peak = 0
while True:
    if select.select([sys.stdin], [], [], 0.25)[0]:
        if not sys.stdin.readline():
            break
        print(peak, flush=True)
        peak = 0
    try:
        peak = max(peak, sum(len(os.listdir(f"/proc/{pid}/fd")) for pid in sys.argv[1:]))
    except OSError:
        pass
"""


async def peak_since(watcher) -> int:
    watcher.stdin.write(b"\n")
    await watcher.stdin.drain()
    return int((await watcher.stdout.readline()).strip() or 0)


async def fanout(ng, ssl_ctx, tokens, state_dir, settle_s, base_version, rewait_s,
                 gates_per_post, cold=None, one_address=False, pull_link=False):
    loop = asyncio.get_running_loop()
    run = FleetRun(loop, ng.https, ssl_ctx, tokens, base_version + 1, rewait_s, cold,
                   pull_link)
    gates = [SimGate(g, tok, run, gate_address(i, one_address))
             for i, (g, tok) in enumerate(tokens.items())]
    slots = asyncio.Semaphore(len(gates) if cold else COMING_UP)
    app = str(state_dir)  # the application servers' command line names the state folder
    # The most nginx holds (counted in a process of its own) while gates come up,
    # and while they are told and ask again.
    watcher = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WATCHER, *map(str, worker_pids(ng)),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    cpu = {"app": cpu_seconds(app), "nginx": cpu_seconds(str(state_dir.parent / "nginx"))}
    t0 = time.monotonic()
    coming = [asyncio.create_task(g.come_up(slots)) for g in gates]
    while run.held < len(gates):
        await asyncio.sleep(0.2)
        if time.monotonic() - t0 > 600:
            raise RuntimeError(f"only {run.held} gates came up in 10 minutes")
    await asyncio.gather(*coming)
    up_s = time.monotonic() - t0
    app_up = cpu_seconds(app) - cpu["app"]
    nginx_up = cpu_seconds(str(state_dir.parent / "nginx")) - cpu["nginx"]
    peak_up = await peak_since(watcher)
    print(f"{len(gates)} gates waiting in {up_s:.1f} s, "
          f"{'all at once' if cold == 'at-once' else 'as their jittered retry brought them' if cold else f'{COMING_UP} at a time'} "
          f"(each told the channel's last message once nginx had its token checked: "
          f"application CPU {app_up:.1f} s, {app_up / len(gates) * 1000:.2f} ms a gate; nginx "
          f"{nginx_up:.1f} s, at most {peak_up} descriptors); settling {settle_s:g} s",
          flush=True)
    if cold:
        held = sorted(g.held_at - t0 for g in gates)
        failed = [e for g in gates for e in g.errors]
        kinds: dict[str, int] = {}
        for e in failed:
            kind = e.split(":", 1)[1].strip()[:40]
            kinds[kind] = kinds.get(kind, 0) + 1
        print(f"cold reconnect ({cold}; nginx's token cache empty): held after p50 "
              f"{held[len(held) // 2]:.1f} s, p99 {held[int(len(held) * 0.99)]:.1f} s, all "
              f"{held[-1]:.1f} s from the drop; failed tries {len(failed)} {kinds}", flush=True)
        print(f"cold_reconnect_p99_s: {held[int(len(held) * 0.99)]:.2f}", flush=True)
        for g in gates:
            g.errors.clear()
    await asyncio.sleep(settle_s)
    # What a waiting gate costs nginx: its descriptors now, with the fleet held.
    fds = worker_descriptors(ng)
    print(f"nginx workers' descriptors with {len(gates)} gates waiting: "
          + "; ".join(f"{sum(k.values())} ({k['sockets']} sockets, {k['other']} other)"
                      for k in fds), flush=True)
    await peak_since(watcher)
    cpu = {"nginx": cpu_seconds(str(state_dir.parent / "nginx")), "gates": time.process_time(),
           "app": cpu_seconds(app)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PUBLISHER, str(state_dir), ng.publish_url,
        str(gates_per_post),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=str(ROOT))
    out, err = await proc.communicate()
    if proc.returncode:
        raise RuntimeError("the publisher failed:\n" + err.decode())
    marks = json.loads(out.decode().strip().splitlines()[-1])
    # A gate not told within a minute is as missed as one never told (target 2 s),
    # and the bench stays within 5 minutes.
    try:
        await asyncio.wait_for(asyncio.shield(run.all_done), 60 + rewait_s)
    except asyncio.TimeoutError:
        pass
    marks["nginx_cpu"] = cpu_seconds(str(state_dir.parent / "nginx")) - cpu["nginx"]
    marks["gates_cpu"] = time.process_time() - cpu["gates"]
    marks["app_cpu"] = cpu_seconds(app) - cpu["app"]
    marks["peak_fds"] = await peak_since(watcher)
    marks["pulls_reopened"] = run.pulls_reopened
    watcher.stdin.close()
    await watcher.wait()
    for g in gates:
        if g.transport is not None:
            g.transport.close()
        if g.pull is not None and g.pull.transport is not None:
            g.pull.transport.close()
    return marks, gates


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
    ap.add_argument("--gates-per-post", type=int, default=GATES_PER_POST, metavar="N",
                    help="gates named in one post to nchan (1: one post per gate, as "
                         "before wave 2 session 4)")
    ap.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio",
                    help="the simulated gates' event loop")
    ap.add_argument("--cold", choices=("jittered", "at-once"),
                    help="bring the fleet up as after an nginx restart (token cache empty, "
                         "every gate's feed dropped at once): each gate back after the "
                         "gate's jittered retry pause, or all at the same moment; prints "
                         "cold_reconnect_p99_s (seconds from the drop until held)")
    ap.add_argument("--one-address", action="store_true",
                    help="every gate connects from 127.0.0.1 (before wave 2 session 5: each "
                         "connect searches the kernel's ephemeral ports past the fleet's "
                         "connections), for comparison; else each from its own 127.1.x.y")
    ap.add_argument("--pull-link", action="store_true",
                    help="each gate keeps a second connection for its pulls, as the gate does "
                         "since wave 2 session 6 (kiosk/sync/link.py): a told gate fetches "
                         "timestamp.json there (two descriptors per gate, here and in nginx)")
    args = ap.parse_args()
    loop_factory = None
    if args.loop == "uvloop":
        import uvloop
        loop_factory = uvloop.new_event_loop
    per_gate = 2 if args.pull_link else 1
    # nginx's workers inherit it
    nofile, hard_nofile = raise_fd_limit(args.gates * (per_gate + 1) + 1000)
    print(f"file descriptors: {nofile} (hard {hard_nofile})")
    if args.gates * per_gate + 500 > nofile:
        sys.exit(f"{args.gates} gates with {per_gate} connections each need more than the "
                 f"descriptor limit {nofile} (hard {hard_nofile}): fewer gates, or raise it")
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
                        # flight holds an application connection for a moment.
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
                load_before = os.getloadavg()[0]
                with asyncio.Runner(loop_factory=loop_factory) as runner:
                    marks, gates = runner.run(fanout(ng, ssl_ctx, tokens, state, args.settle,
                                                     base, args.rewait, args.gates_per_post,
                                                     args.cold, args.one_address,
                                                     args.pull_link))
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

    print(f"gates: {args.gates}, {'TLS' if args.tls else 'plain HTTP'} to nginx on 127.0.0.1 "
          f"{'all from 127.0.0.1' if args.one_address else 'each from its own address'}, "
          f"{'pulls on a second kept connection' if args.pull_link else 'one connection'}, "
          f"{args.nginx_workers} nginx workers; the simulated gates ({args.loop} loop) share "
          f"this 2-core machine; up to {args.gates_per_post} gates named in one post to nchan")
    print(f"machine load average (1 min) before/after: {load_before:.1f} / {load_after:.1f} "
          f"(includes the other jobs on this shared machine)")
    print(f"publisher: emergency built and signed in {marks['announce'] - marks['start']:.2f} s "
          f"({marks['changed']} gates changed), feed told in "
          f"{marks['announced'] - marks['announce']:.2f} s ({marks['posts']} posts, {marks['told']} "
          f"gates accepted); "
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
    if args.pull_link:
        print(f"fetches on a new connection (the kept pull connection closed by nginx while "
              f"idle: no reports in this bench keep it busy): {marks['pulls_reopened']}")
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
