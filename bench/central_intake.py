"""Central report intake under a fleet: N simulated gates each send, every
60 s (time-compressed by a factor), their minute's report on a connection they
open for it, as a gate does after a minute's silence: by default ONE request,
POST report, a realistic heartbeat (about 1.5 KB, two faces) carrying its proof
of play (12 rows: two faces, a minute of 10-second items); --requests separate
sends it as older gates do, proof of play then heartbeat. With --waiting every
gate also holds the change feed the whole time, as `gatecast sync` does.

By default the gates talk to nginx with the production site
(deploy/nginx/gatecast-central.conf, nchan holding the feed) in front of what the
central role installs: `gatecast central serve-reports` (uvicorn; --report-servers)
for the report URLs, `gatecast central serve` (gunicorn) for the rest;
--report-servers 0 lets gunicorn answer the reports too; --direct skips nginx (and
then the application holds the waiting gates, a thread each). --tls: the gates
talk TLS to nginx as in production (each new connection a whole handshake, as a
gate's new urllib3 pool makes; the load generator pays its side too). Latency is from
sending a request to its whole answer read (the first one's includes the connect).

    .venv/bin/python bench/central_intake.py [--gates 1000] [--compress 5] [--seconds 60] [--waiting]
        [--requests combined|separate] [--report-servers 1] [--loop uvloop|asyncio] [--tls]
        [--store sqlite|postgresql | --database-url URL]

--store postgresql starts a throwaway PostgreSQL cluster (Debian's package,
default durability settings) for the run; --database-url uses yours.

The load generator (one process: asyncio protocols on uvloop, no task per gate)
shares the 2 cores with nginx and the servers. Each simulated gate connects from
an address of its own (127.1.x.y, as real gates come from their own addresses):
from one address, every connect searched the kernel's ephemeral ports past the
thousands held open to nginx (130 us of kernel time per connect with 9,500 held,
against 20 us). A gate has at most one report in flight, as a gate's sync loop
does: when its next minute comes while the last report is still unanswered,
that minute counts as failed (the server's backlog). The load generator raises
its own descriptor limit up to the hard limit and never asks more descriptors
than it has: the waiting gates' feeds plus one per report in flight; a report
that would not fit counts as failed too (the server's backlog), never as the
load generator's "Too many open files".

Prints figures, with each process's CPU per request and per gate-minute over the
measured window only (the fleet's ramp, when 10,000 gates connect and nginx asks
the application once for each gate's token, is not the steady state); the last line is
`central_intake_p99_ms: X` (target <= 100), over every request sent (a failed
one counts as infinite).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import resource
import socket
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.central import central_config, served_central, served_reports  # noqa: E402
from tests.support.nginx import (HOSTNAME, SITE, cpu_seconds, render,  # noqa: E402
                                 running_nginx)
from tests.support.loopback import gate_address, raise_fd_limit  # noqa: E402
from tests.support.postgres import bench_database_url  # noqa: E402

from central.app import repository_for  # noqa: E402
from central.db import open_central_db  # noqa: E402
from central.fleet import add_gate  # noqa: E402
from central.settings import load_central_settings  # noqa: E402

POP_ROWS = 12
SEPARATE_KINDS = ("proof-of-play", "heartbeat")
REPORT = "report"  # the combined request: the heartbeat with its minute's proof of play
COMBINED_KINDS = (REPORT,)


def sent_at_now() -> str:
    """The gate's `sent_at` (kiosk.store.iso: UTC, milliseconds)."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}+00:00"


_SENT_AT = len(b'{"sent_at": "') + len(sent_at_now())


def sent_now(heartbeat: bytes) -> bytes:
    """heartbeat_body's text with `sent_at` now: each minute's heartbeat its own, as
    a gate sends it. Central stores a heartbeat sent again once (migration 0017), so
    a bench that sent one text every minute would store next to no history."""
    return b'{"sent_at": "' + sent_at_now().encode() + heartbeat[_SENT_AT:]


def heartbeat_body(gate_id: str, version: int) -> bytes:
    face = {"power": "on", "blanked": 0, "level": "normal", "entry_id": "c-e-1a2b3c4d",
            "playing_sha256": "a" * 64, "playing_name": "Chào mừng đến Hữu Nghị.mp4",
            "playing_kind": "video", "since": "2026-11-27T08:00:00.000+07:00",
            "next_sha256": "b" * 64, "next_name": "Thông báo thủ tục.png",
            "next_at": "2026-11-27T08:00:30.000+07:00", "last_error": None}
    return json.dumps({
        "sent_at": sent_at_now(), "gate_id": gate_id,
        "release_version": version, "last_good_release_version": version,
        "sync": {"status": "unchanged", "code": "ok", "last_pull_at": "2026-11-27T07:59:00+00:00",
                 "clock": {"synchronised": True, "expiry_trusted": True}},
        "health": {"cpu_temp_c": 61.2, "load": [0.4, 0.5, 0.5], "disk_free_mb": 20480,
                   "memory_free_mb": 1800, "uptime_s": 86400},
        "faces": [{"face_id": 1, **face}, {"face_id": 2, **face}],
        "errors": [],
    }, ensure_ascii=False).encode()


def _pop_row_tails() -> list[bytes]:
    """Each proof-of-play row's JSON after its id: the rows differ only by id, so a
    report's body is joined from these (json.dumps per report was a tenth of the
    load generator's CPU)."""
    tails = []
    for i in range(POP_ROWS):
        row = json.dumps({"id": 0, "face_id": 1 + i % 2, "media_sha256": "a" * 64,
                          "entry_id": "c-e-1a2b3c4d", "level": "normal",
                          "started_at": "2026-11-27T08:00:00.000+07:00",
                          "ended_at": "2026-11-27T08:00:10.000+07:00", "outcome": "completed",
                          "reason": None}).encode()
        assert row.startswith(b'{"id": 0, ')
        tails.append(row[len(b'{"id": 0'):])
    return tails


POP_ROW_TAILS = _pop_row_tails()


def pop_body(first_id: int) -> bytes:
    rows = b", ".join(b'{"id": %d' % (first_id + i) + tail for i, tail in enumerate(POP_ROW_TAILS))
    return b'{"batch_id": "b%d", "rows": [' % first_id + rows + b"]}"


def report_body(heartbeat: bytes, first_id: int) -> bytes:
    """The combined report (docs/sync-protocol.md): the minute's heartbeat with its
    proof of play, one JSON object (the heartbeat's text as the gate sends it)."""
    return b'{"heartbeat":' + heartbeat + b',"proof_of_play":' + pop_body(first_id) + b"}"


def post(gate_id: str, token: str, what: str, body: bytes) -> bytes:
    return (f"POST /api/v1/gates/{gate_id}/{what} HTTP/1.1\r\nHost: {HOSTNAME}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def answers_in(buffer: bytearray) -> list[int]:
    """The statuses of the whole HTTP answers at the start of `buffer`, which
    loses them (the rest, a partial answer, stays)."""
    statuses = []
    while True:
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return statuses
        head = bytes(buffer[:head_end])
        length = 0
        at = head.lower().find(b"\r\ncontent-length:")
        if at >= 0:
            length = int(head[at + 17:].split(b"\r\n", 1)[0])
        if len(buffer) < head_end + 4 + length:
            return statuses
        statuses.append(int(head[9:12]))
        del buffer[:head_end + 4 + length]


class Report(asyncio.Protocol):
    """One gate-minute's report on a connection of its own, as a gate opens one
    after a minute's silence: its requests are sent one after the other (each
    when the previous is answered), then the connection is closed. Protocol
    callbacks, not streams: the load generator shares the 2 cores with what it
    measures, so its own cost per request is kept small."""

    __slots__ = ("requests", "kinds", "t0", "done", "buffer", "transport", "answered")

    def __init__(self, requests: list[tuple[str, bytes]], t0: float, done):
        self.requests, self.t0, self.done = requests, t0, done
        self.buffer, self.answered = bytearray(), []
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.requests[0][1])

    def data_received(self, data):
        self.buffer += data
        for status in answers_in(self.buffer):
            now = time.perf_counter()
            self.answered.append((self.requests[len(self.answered)][0],
                                  (now - self.t0) * 1000, status))
            self.t0 = now
            if len(self.answered) < len(self.requests):
                self.transport.write(self.requests[len(self.answered)][1])
            else:
                self.transport.close()

    def connection_lost(self, exc):
        done, self.done = self.done, None
        if done is not None:
            done(self.answered, None if len(self.answered) == len(self.requests)
                 else repr(exc or "connection closed before the answer"))


class KeptLink(asyncio.Protocol):
    """A gate's kept connection for its reports (--connections kept), as
    kiosk/sync/link.py keeps one for the sync process's life: each minute's report
    goes out on it when it is still open, else on a new one; a request that met a
    kept connection closed before any answer came is sent ONCE more on a new one
    (the gate's Link.request); any other failure is the report's."""

    __slots__ = ("fleet", "gid", "transport", "buffer", "pending", "reused", "heard")

    def __init__(self, fleet, gid):
        self.fleet, self.gid = fleet, gid
        self.transport, self.buffer = None, bytearray()
        self.pending = None  # [requests, t0, done, answered] of the report in flight
        self.reused = self.heard = False

    def send(self, requests, t0, done):
        self.pending = [requests, t0, done, []]
        self.heard = False
        if self.transport is not None and not self.transport.is_closing():
            self.reused = True
            self.transport.write(requests[0][1])
        else:
            self.reused = False
            self.fleet.connect(self)

    def connection_made(self, transport):
        self.transport = transport
        self.buffer.clear()
        self.fleet.opened += 1
        if self.pending is not None:
            transport.write(self.pending[0][0][1])

    def data_received(self, data):
        self.heard = True
        self.buffer += data
        pending = self.pending
        for status in answers_in(self.buffer):
            if pending is None:
                continue  # nothing asked: not a gate's answer
            requests, t0, done, answered = pending
            now = time.perf_counter()
            answered.append((requests[len(answered)][0], (now - t0) * 1000, status))
            pending[1] = now
            if len(answered) < len(requests):
                self.transport.write(requests[len(answered)][1])
            else:
                self.pending = pending = None
                done(answered, None)

    def connection_lost(self, exc):
        self.transport = None
        if self.pending is None:
            return
        requests, t0, done, answered = self.pending
        if self.reused and not self.heard and not answered:
            self.fleet.resent += 1  # closed under the request: once more, on a new one
            self.reused = False
            self.fleet.connect(self)
            return
        self.pending = None
        done(answered, repr(exc or "connection closed before the answer"))

    def failed(self, error):
        """The new connection could not be made."""
        if self.pending is not None:
            requests, _, done, answered = self.pending
            self.pending = None
            done(answered, error)


class Feed(asyncio.Protocol):
    """A gate holding the change feed: nchan answers 408 after its timeout and
    the gate asks again at once (the application's own endpoint answers 204),
    on a new connection as `gatecast sync` does (kiosk.sync.loop makes a new
    Reporter, so a new urllib3 pool, for each wait), or on the same one with
    --feed-keep-alive (before session 5)."""

    def __init__(self, gate_id, token, end_ref, held, errors, keep_alive):
        self.gate_id, self.token, self.end_ref = gate_id, token, end_ref
        self.held, self.errors = held, errors
        self.keep_alive, self.renewing = keep_alive, False
        self.buffer = bytearray()
        self.transport = None
        self.lost = asyncio.get_running_loop().create_future()

    def ask(self):
        timeout = int(max(1, min(55, self.end_ref[0] - time.monotonic() + 1)))
        self.transport.write((f"GET /api/v1/gates/{self.gate_id}/wait?version=1&timeout={timeout} "
                              f"HTTP/1.1\r\nHost: {HOSTNAME}\r\nAuthorization: Bearer "
                              f"{self.token}\r\n\r\n").encode())

    def connection_made(self, transport):
        self.transport = transport
        self.held[0] += 1
        self.ask()

    def data_received(self, data):
        self.buffer += data
        for status in answers_in(self.buffer):
            if status not in (204, 408):
                self.errors.append(f"wait: HTTP {status}")
            if time.monotonic() < self.end_ref[0] and self.keep_alive:
                self.ask()
            else:
                self.renewing = time.monotonic() < self.end_ref[0]
                self.transport.close()

    def connection_lost(self, exc):
        self.held[0] -= 1
        if time.monotonic() < self.end_ref[0] and not self.renewing:
            self.errors.append(repr(exc or "feed closed by the server"))
        if not self.lost.done():
            self.lost.set_result(None)


async def hold_feed(port, gate_id, token, end_ref, held, errors, local_addr, keep_alive,
                    tls=None):
    loop = asyncio.get_running_loop()
    while time.monotonic() < end_ref[0]:
        try:
            _, feed = await loop.create_connection(
                lambda: Feed(gate_id, token, end_ref, held, errors, keep_alive), "127.0.0.1",
                port, local_addr=local_addr, **tls_args(tls))
        except OSError as e:
            errors.append(str(e))
            await asyncio.sleep(1)
            continue
        await feed.lost
        if time.monotonic() < end_ref[0] and not feed.renewing:
            await asyncio.sleep(1)


def tls_args(ctx) -> dict:
    """create_connection's arguments for a gate's TLS (None: plain HTTP). Each new
    connection is a whole handshake, as a gate's new urllib3 pool makes (no session
    resumption across pools)."""
    return {"ssl": ctx, "server_hostname": HOSTNAME} if ctx is not None else {}


def tls_negotiated(ctx, port) -> str:
    """What a gate's TLS connection to the site negotiates (printed with the figures)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOSTNAME) as conn:
            cert = conn.getpeercert(binary_form=True)
            return f"{conn.version()} {conn.cipher()[0]}, a {len(cert)}-byte certificate"


class Fleet:
    """Every gate's reports on schedule (loop.call_at, no task per gate): a gate
    sends its minute's report every `interval` s from a random start (no slowing
    down under load). Like a gate's sync loop it has one report in flight at most:
    a minute that comes while the last report is unanswered counts as failed, and
    so does one that would exceed the load generator's descriptor budget (both
    say the server is behind, not that the load generator ran out)."""

    def __init__(self, port, tokens, interval, start, end, combined, addresses, budget,
                 tls=None, kept=False):
        self.port, self.tokens, self.interval, self.tls = port, tokens, interval, tls
        # --connections kept: each gate's reports ride its own kept connection.
        self.links = {gid: KeptLink(self, gid) for gid in tokens} if kept else None
        self.opened = self.resent = 0  # kept connections opened, requests sent again
        self.start, self.end, self.combined = start, end, combined
        self.addresses, self.budget = addresses, budget
        self.results = {kind: [] for kind in (COMBINED_KINDS if combined else SEPARATE_KINDS)}
        self.errors: list[str] = []
        # (wall-clock time, ms) of every answered request: --series, and the worst
        # half-seconds in the summary (a stall shows as a spike, queueing as a slope).
        self.series: list[tuple[float, float]] = []
        self.inflight = 0
        self.busy: set[str] = set()  # gates whose report is in flight
        self.peak_inflight = 0
        self.loop = asyncio.get_running_loop()
        self.finished = self.loop.create_future()
        self.heartbeats = {gid: heartbeat_body(gid, 7) for gid in tokens}
        self.clock_offset = time.monotonic() - self.loop.time()

    def begin(self):
        for gid in self.tokens:
            self.schedule(gid, 1, self.start + random.uniform(0, self.interval))

    def schedule(self, gid, pop_id, t):
        if t < self.end:
            self.loop.call_at(t - self.clock_offset, self.send, gid, pop_id, t)

    def requests(self, gid, pop_id):
        token = self.tokens[gid]
        if self.combined:
            return [(REPORT, post(gid, token, REPORT,
                                  report_body(sent_now(self.heartbeats[gid]), pop_id)))]
        return [("proof-of-play", post(gid, token, "proof-of-play", pop_body(pop_id))),
                ("heartbeat", post(gid, token, "heartbeat", sent_now(self.heartbeats[gid])))]

    def send(self, gid, pop_id, t):
        self.schedule(gid, pop_id + POP_ROWS, t + self.interval)  # on schedule, whatever happens
        per_report = 1 if self.combined else 2
        if gid in self.busy:
            self.errors += ["the gate's last report still unanswered"] * per_report
            return
        if self.links is None and self.inflight >= self.budget:
            self.errors += [f"{self.inflight} reports unanswered: the load generator's "
                            "descriptor budget is full"] * per_report
            return
        requests = self.requests(gid, pop_id)
        self.inflight += 1
        self.peak_inflight = max(self.peak_inflight, self.inflight)
        self.busy.add(gid)
        t0 = time.perf_counter()  # the first request's time includes the connect
        if self.links is not None:
            self.links[gid].send(requests, t0, self._answered_by(gid, len(requests)))
            return
        self.loop.create_task(self._report(gid, requests, t0))

    def _answered_by(self, gid, n):
        def answered(answers, error):
            self.busy.discard(gid)
            self.answered(answers, error, n)
        return answered

    def connect(self, link):
        """A new connection for a gate's kept link (its first, or after a close)."""
        async def connecting():
            try:
                await self.loop.create_connection(lambda: link, "127.0.0.1", self.port,
                                                  local_addr=self.addresses[link.gid],
                                                  **tls_args(self.tls))
            except OSError as e:
                link.failed(repr(e))
        self.loop.create_task(connecting())

    def close_links(self):
        for link in self.links.values() if self.links is not None else ():
            if link.transport is not None:
                link.transport.close()

    async def _report(self, gid, requests, t0):
        answered = self._answered_by(gid, len(requests))
        try:
            await self.loop.create_connection(lambda: Report(requests, t0, answered),
                                              "127.0.0.1", self.port,
                                              local_addr=self.addresses[gid],
                                              **tls_args(self.tls))
        except OSError as e:
            answered([], repr(e))

    def answered(self, answers, error, n=None):
        self.inflight -= 1
        now = time.time()
        for what, ms, status in answers:
            if status == 200:
                self.results[what].append(ms)
                self.series.append((now, ms))
            else:
                self.errors.append(f"{what}: HTTP {status}")
        if error is not None:
            missing = (n if n is not None else (1 if self.combined else 2)) - len(answers)
            self.errors += [error] * missing
        if self.inflight == 0 and time.monotonic() >= self.end and not self.finished.done():
            self.finished.set_result(None)


async def run_load(port, tokens, interval, seconds, waiting, ramp_s, grace_s, combined,
                   addresses, nofile, window, feed_keep_alive=False, tls=None, kept=False):
    """`window(True)` is called when the measurement starts, `window(False)` when
    its last report is in (or given up): the CPU figures are taken between."""
    loop = asyncio.get_running_loop()
    wait_errors, held = [], [0]
    tasks = []
    # Descriptors: the feeds' (one per gate), the kept report connections (one per
    # gate) and a reserve for the loop itself; the rest may carry reports in flight.
    budget = nofile - (len(tokens) if waiting else 0) - (len(tokens) if kept else 0) \
        - RESERVED_FDS
    fleet = Fleet(port, tokens, interval, 0.0, 0.0, combined, addresses, budget, tls, kept)
    if waiting or kept:
        # The fleet comes up first: it holds the feed, and its kept report
        # connections are open (a gate's sync service has run for days).
        end_all = [float("inf")]
        for gid, tok in tokens.items():
            if waiting:
                tasks.append(loop.create_task(hold_feed(port, gid, tok, end_all, held,
                                                        wait_errors, addresses[gid],
                                                        feed_keep_alive or kept, tls)))
            if kept:
                fleet.connect(fleet.links[gid])
            await asyncio.sleep(ramp_s / len(tokens))
        await asyncio.sleep(1.0)
        if waiting:
            print(f"feed held by {held[0]} gates before measuring", flush=True)
        if kept:
            print(f"kept report connections opened before measuring: {fleet.opened}",
                  flush=True)
            fleet.opened = 0
    # This one process stands for 10,000 gates: its own garbage collector's pauses
    # (full collections of 60-190 ms over the fleet's tasks, sockets and timers)
    # would count as central's latency for every answer read after them. So the
    # fleet, up now, is frozen and the collector is off while measuring.
    gc.collect()
    gc.freeze()
    gc.disable()
    start = time.monotonic() + 1.0
    end = start + seconds
    fleet.start, fleet.end = start, end
    await asyncio.sleep(max(0.0, start - time.monotonic() - 0.05))
    window(True)
    fleet.begin()
    held_during = []

    async def sample():
        while time.monotonic() < end:
            held_during.append(held[0])
            await asyncio.sleep(1)

    sampler = loop.create_task(sample())
    # Reports still unanswered a grace period after the measurement count as failed
    # (infinite): an overloaded server would otherwise keep the run going for minutes.
    await asyncio.sleep(max(0.0, end - time.monotonic()))
    if fleet.inflight == 0 and not fleet.finished.done():
        fleet.finished.set_result(None)
    try:
        await asyncio.wait_for(asyncio.shield(fleet.finished), grace_s)
    except asyncio.TimeoutError:
        pass
    window(False)
    gc.enable()
    per_report = 1 if combined else 2
    fleet.errors += [f"unanswered {grace_s:g} s after the measurement"] * (
        per_report * fleet.inflight)
    print(f"load generator: descriptor limit {nofile}, budget for reports in flight "
          f"{budget}, peak in flight {fleet.peak_inflight}; its garbage collector was off "
          f"while measuring ({gc.get_freeze_count()} objects frozen before), its peak memory "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB", flush=True)
    if kept:
        print(f"kept report connections: {fleet.opened} opened during the measurement for "
              f"{len(tokens)} gates, {fleet.resent} requests sent again on a new one", flush=True)
    fleet.close_links()
    if waiting or kept:
        end_all[0] = 0.0
    for task in tasks:
        task.cancel()
    await asyncio.gather(sampler, *tasks, return_exceptions=True)
    return fleet.results, fleet.errors, wait_errors, held_during, fleet.series


def run_loop(kind: str, coroutine):
    if kind == "uvloop":
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


RESERVED_FDS = 256  # the loop's own, the logs, the CPU readings in /proc


def _own_cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def half_seconds(series):
    """The answers grouped by the half-second they came in: [(start, sorted ms)]."""
    bins: dict[float, list[float]] = {}
    for t, ms in series:
        bins.setdefault(t - t % 0.5, []).append(ms)
    return [(t, sorted(values)) for t, values in sorted(bins.items())]


def utc_clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(t)) + f".{int(t * 10) % 10}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gates", type=int, default=1000)
    ap.add_argument("--compress", type=float, default=5.0,
                    help="time compression: a 60 s report interval becomes 60/compress s")
    ap.add_argument("--seconds", type=float, default=60.0, help="measured wall-clock time")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=64,
                    help="per worker, as the central role sets (central_threads)")
    ap.add_argument("--report-servers", type=int, default=1,
                    help="`gatecast central serve-reports` processes (uvicorn) nginx sends the "
                         "report URLs to, as the central role installs (central_report_ports); "
                         "0: gunicorn answers them too")
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
    ap.add_argument("--requests", choices=("combined", "separate"), default="combined",
                    help="combined: one request per gate-minute, the heartbeat carrying its "
                         "proof of play; separate: the older gates' two requests")
    ap.add_argument("--nginx-workers", type=int, default=1,
                    help="nginx worker processes (1: as the central role runs it, "
                         "central_nginx_workers)")
    ap.add_argument("--site", type=Path, default=SITE,
                    help="the nginx site file (default: deploy/nginx's; for experiments)")
    ap.add_argument("--tls", action="store_true",
                    help="gates talk TLS to nginx, as in production (the site's TLS 1.2/1.3 "
                         "and a self-signed P-256 certificate; every new connection a whole "
                         "handshake); default plain HTTP on loopback")
    ap.add_argument("--connections", choices=("new", "kept"), default="new",
                    help="new: a new connection for every report and every wait (the gate "
                         "before wave 2 session 6); kept: each gate's reports on one kept "
                         "connection and its feed on a second, asked again on it (the gate's "
                         "kiosk/sync/link.py): two descriptors per gate in nginx and here")
    ap.add_argument("--feed-keep-alive", action="store_true",
                    help="a waiting gate asks again on the same connection (before session 5; "
                         "a gate opens a new one for each wait)")
    ap.add_argument("--one-address", action="store_true",
                    help="every gate connects from 127.0.0.1 (before session 5: the kernel's "
                         "port search for each connect then costs the load generator more)")
    ap.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop",
                    help="the load generator's event loop (uvloop: less of the shared CPU)")
    ap.add_argument("--series", type=Path, default=None,
                    help="write the latency per half-second (UTC time, answered, p50, max "
                         "ms) to this CSV file, to lay beside PostgreSQL's or the servers' "
                         "logs")
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite",
                    help="postgresql: a throwaway cluster for this run")
    ap.add_argument("--database-url", default="",
                    help="central_database_url of an existing (empty) database")
    ap.add_argument("--fresh-wal", action="store_true",
                    help="with --store postgresql: leave the new cluster without WAL "
                         "segments to recycle (each one then created, zero-filled, while "
                         "commits wait); default: recycled first, as a server in service")
    args = ap.parse_args()
    if args.tls and args.direct:
        ap.error("--tls is nginx's: not with --direct")
    if args.fresh_wal and (args.store != "postgresql" or args.database_url):
        ap.error("--fresh-wal is the throwaway PostgreSQL cluster's: with --store postgresql "
                 "and no --database-url")
    with bench_database_url(args.store, args.database_url, args.fresh_wal) as url:
        run(args, url)


def run(args, database_url: str) -> None:
    interval = 60.0 / args.compress
    # Each gate's feed and at most one report in flight, and the loop's own.
    nofile, hard_nofile = raise_fd_limit(3 * args.gates + RESERVED_FDS + 1000)
    held = (args.gates if args.waiting else 0) + (args.gates if args.connections == "kept" else 0)
    if nofile < held + RESERVED_FDS + 100:
        sys.exit(f"{args.gates} gates hold {held} connections: more than the descriptor limit "
                 f"{nofile} (hard {hard_nofile}) allows: raise it (ulimit -Hn) and run again")
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
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(served_central(state, tmp / "serve.log", args.workers,
                                                     args.threads, config=config))
            app_port = int(url.rsplit(":", 1)[1])
            report_ports = [int(stack.enter_context(served_reports(
                state, tmp / f"reports-{i}.log", args.threads, config=config)).rsplit(":", 1)[1])
                for i in range(0 if args.direct else args.report_servers)]
            if not args.direct:
                # Plain HTTP on loopback unless --tls (the handshakes then cost the
                # load generator too).
                ng = render(tmp / "nginx", [app_port], state,
                            worker_processes=args.nginx_workers, site=args.site,
                            worker_connections=2 * args.gates + 2000,
                            rlimit_nofile=nofile, tls=args.tls, reports=report_ports)
                stack.enter_context(running_nginx(ng, "/healthz"))
            port = app_port if args.direct else ng.https
            tls = ssl.create_default_context(cafile=str(ng.crt)) if args.tls else None
            negotiated = tls_negotiated(tls, port) if tls else ""
            # The report servers' command lines: "serve-reports --state <state>".
            reports_marker = f"serve-reports\0--state\0{state}"
            # The throwaway cluster's processes name its folder (the socket's).
            pg_marker = make_url(database_url).query.get("host") if database_url else None
            markers = {"app": str(state), "reports": reports_marker,
                       "nginx": str(tmp / "nginx"), **({"pg": pg_marker} if pg_marker else {})}
            readings = []

            def window(starts: bool) -> None:
                # Others' CPU first, this process's last at the start and first at
                # the end: the readings' own cost stays out of the figure.
                if starts:
                    others = {k: cpu_seconds(m) for k, m in markers.items()}
                    readings.append((os.getloadavg()[0], others, _own_cpu()))
                else:
                    own = _own_cpu()
                    others = {k: cpu_seconds(m) for k, m in markers.items()}
                    readings.append((os.getloadavg()[0], others, own))

            addresses = {gid: gate_address(i, args.one_address) for i, gid in enumerate(tokens)}
            results, errors, wait_errors, held, series = run_loop(args.loop, run_load(
                port, tokens, interval, args.seconds, args.waiting, args.ramp,
                args.grace, args.requests == "combined", addresses, nofile, window,
                args.feed_keep_alive, tls, args.connections == "kept"))
            (load_before, before, own0), (load_after, after, own1) = readings
            # What nginx complained of (e.g. running short of connections or descriptors).
            nginx_log = [] if args.direct else [
                line.split("] ", 1)[-1] for line in ng.error_log().splitlines()
                if any(level in line for level in ("[error]", "[crit]", "[alert]", "[emerg]"))]
            cpu = {k: after[k] - before[k] for k in markers}
            app_cpu, reports_cpu, nginx_cpu = cpu["app"], cpu["reports"], cpu["nginx"]
            pg_cpu = cpu.get("pg", 0.0)
            own_user, own_system = own1[0] - own0[0], own1[1] - own0[1]
            own_cpu = own_user + own_system
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
          f"minutes); a gate-minute = " + (
              f"ONE request, the heartbeat carrying its proof of play ({POP_ROWS} rows)"
              if args.requests == "combined" else
              f"two requests, proof of play ({POP_ROWS} rows) then the heartbeat"))
    print(f"path: {'gunicorn directly' if args.direct else 'nginx (nchan feed) -> '}"
          + ("" if args.direct else f"{args.report_servers} report servers (uvicorn) for the "
             "reports, gunicorn for the rest" if args.report_servers else "gunicorn") +
          ("" if args.direct else f"; nginx {args.nginx_workers} worker(s), site {args.site}, "
           + (f"TLS ({negotiated}; a whole handshake a connection)" if args.tls
              else "plain HTTP")) +
          f"; gunicorn gthread {args.workers} workers x {args.threads} threads, store: {store}"
          + (("; a fresh cluster (each WAL segment created while commits wait)" if args.fresh_wal
              else "; the cluster's WAL segments recycled, as in service")
             if args.store == "postgresql" and not args.database_url else "") + "; "
          f"load generator ({args.loop}, one process, "
          f"{'all gates from 127.0.0.1' if args.one_address else 'an address per gate'}, "
          + ("reports and feed each on a kept connection" if args.connections == "kept"
             else "the feed on one kept-alive connection" if args.feed_keep_alive
             else "a new connection per report and per wait") +
          ") in the "
          f"same 2-core machine; its descriptor limit {nofile} (hard {hard_nofile})")
    print(f"machine load average (1 min) at the measurement's start/end: {load_before:.1f} / "
          f"{load_after:.1f} (includes the other jobs on this shared machine)")
    expire, every = (int(Path(f"/proc/sys/vm/dirty_{name}_centisecs").read_text()) / 100
                     for name in ("expire", "writeback"))
    print(f"kernel writeback: dirty pages written once {expire:g} s old, looked for every "
          f"{every:g} s (the central role sets 5 s and 1 s; Linux's defaults 30 s and 5 s "
          "let a burst of PostgreSQL's new pages hold up the commits)")
    if args.waiting:
        print(f"change feed held during the measurement: min {min(held or [0])}, "
              f"max {max(held or [0])} of {args.gates} gates; errors: {len(wait_errors)} "
              f"{wait_errors[:3]}")
    sent = sum(len(v) for v in results.values())
    print(f"requests answered 200: {sent} ({sent / args.seconds:.0f}/s), failed: {len(errors)}, "
          f"stored: {stored} heartbeats, {pop_stored} proof-of-play rows")
    if errors:
        print(f"first failures: {errors[:5]}")
    if nginx_log:
        kinds = sorted({line.split(", client:", 1)[0].split(" ", 2)[-1][:90] for line in nginx_log})
        print(f"nginx error log: {len(nginx_log)} lines, e.g. {kinds[:4]}")
    # CPU the server side spent, whatever else the machine ran: the capacity figure.
    requests = max(1, sent + len(errors))
    minutes = requests / (1 if args.requests == "combined" else 2)
    print(f"CPU (user+system) over the measurement (not the fleet's ramp), per request "
          f"({requests}) / per gate-minute ({minutes:.0f}):")
    for name, cpu in (("application (all)", app_cpu),
                      ("  of which report servers (uvicorn)", reports_cpu),
                      ("  of which gunicorn", app_cpu - reports_cpu), ("nginx", nginx_cpu),
                      *((("PostgreSQL", pg_cpu),) if pg_marker else ()),
                      ("this load generator", own_cpu)):
        print(f"  {name}: {cpu:.1f} s, {1000 * cpu / requests:.2f} / "
              f"{1000 * cpu / minutes:.2f} ms")
    print(f"    (the load generator: user {own_user:.1f} s, system {own_system:.1f} s)")
    for what, values in results.items():
        q, top = quantiles(values)
        print(f"{what} latency ms: p50 {q[49]:.1f}  p90 {q[89]:.1f}  p99 {q[98]:.1f}  "
              f"max {top:.1f}")
    bins = half_seconds(series)
    if args.series:
        with args.series.open("w") as f:
            f.write("utc,answered,p50_ms,max_ms\n")
            for t, values in bins:
                f.write(f"{utc_clock(t)},{len(values)},{statistics.median(values):.1f},"
                        f"{values[-1]:.1f}\n")
    worst = sorted(bins, key=lambda b: b[1][-1], reverse=True)[:5]
    print(f"half-seconds with a report over 100 ms: "
          f"{sum(1 for _, values in bins if values[-1] > 100)} of {len(bins)}; the worst: "
          + ", ".join(f"{utc_clock(t)} {values[-1]:.0f} ms" for t, values in worst))
    everything = sorted([v for values in results.values() for v in values]
                        + [float("inf")] * len(errors))
    p99 = everything[min(len(everything) - 1, int(len(everything) * 0.99))] if everything else 0
    print(f"central_intake_p99_ms: {p99:.1f}")


if __name__ == "__main__":
    main()
