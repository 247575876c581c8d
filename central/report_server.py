"""The gates' reports served by an event-driven server: `gatecast central
serve-reports` (uvicorn with its C HTTP parser httptools and the uvloop event loop),
behind nginx, which sends it the report URLs only (deploy/nginx/gatecast-central.conf,
upstream gatecast_reports).

Why: at 10,000 gates a report arrives every 0.6 ms at x5 compression (6 ms live), and
under gunicorn's threaded worker most of the application's CPU per report was the
worker's own: one thread per process accepts, polls, parses HTTP in Python and hands
every request to a thread pool (py-spy, docs/benchmarks.md #14). Here one event loop
per process holds every connection and parses HTTP in C; a request costs its parse,
one hand-off to a thread and back.

What a report means is NOT here: the rules (token check, checks of central.intake,
group commit, the answers) are `central.gate_reports.GateReports`, the same that
answers these URLs in front of Flask under gunicorn. Here no thread waits for a
report:

- a request whose gate token is in memory (nearly all) is checked on the event loop
  (`GateReports.prepare`); one whose token is not (an unknown gate, a new or wrong
  token) is checked on a small thread pool, because its look-up reads the database;
- its commit is awaited on the loop: the group-commit writer is a process of its
  own (central.report_writer, why there), forked at start, which answers each batch
  over a socket pair.

Any other URL is answered 404: nginx sends the rest to `gatecast central serve`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from concurrent.futures import ThreadPoolExecutor

from kiosk.settings import Settings

from central import heap
from central.gate_reports import NOT_STORED, UNAUTHORISED, GateReports, bearer_token
from central.report_writer import start_writer, wire

log = logging.getLogger("gatecast.central.reports")

NOT_FOUND = b'{"error":"not found"}\n'
JSON = (b"content-type", b"application/json")


class ReportApp:
    """ASGI application answering gate reports with `reports` (GateReports) on the
    event loop, storing them through `writer` (central.report_writer.WriterClient).
    The body is read here, bounded by `max_bytes` (GateReports answers 413 from the
    length it is told); `threads`: token look-ups at once."""

    def __init__(self, reports, writer, threads: int, max_bytes: int):
        self.reports, self.writer, self.max_bytes = reports, writer, max_bytes
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="central-token")

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])  # httptools gives lower-case names
        if scope["path"] == "/healthz":
            await _answer(send, 200, [JSON], b'{"ok":true}\n')
            return
        declared = headers.get(b"content-length")
        try:
            declared_n = int(declared) if declared is not None else None
        except ValueError:
            await _answer(send, 400, [], b"")
            return
        body = b""
        if declared_n is None or declared_n <= self.max_bytes:
            # Chunked bodies are read to at most one byte past the limit (then 413).
            chunks, size, more = [], 0, True
            while more and size <= self.max_bytes:
                message = await receive()
                chunk = message.get("body", b"")
                chunks.append(chunk)
                size += len(chunk)
                more = message.get("more_body", False)
            body = b"".join(chunks)
        reports = self.reports
        route = reports.route({"REQUEST_METHOD": scope["method"], "PATH_INFO": scope["path"]})
        if route is None:
            await _answer(send, 404, [JSON], NOT_FOUND)
            return
        gate_id, kind = route
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        try:
            if (reports.tokens.recall(gate_id, bearer_token(authorization)) is None
                    and not await asyncio.get_running_loop().run_in_executor(
                        self.pool, reports.authorised, gate_id, authorization)):
                # not in memory, and the look-up (it reads the database: off the loop) failed
                status, out_headers, out = wire(reports.respond(*UNAUTHORISED))
            else:
                # Over the limit without reading: the declared length says so (413).
                status, out_headers, out = await self.writer.answer(
                    gate_id, kind, headers.get(b"content-type", b"").decode("latin-1"),
                    len(body) if declared_n is None or declared_n <= self.max_bytes
                    else declared_n, body)
        except Exception:  # GateReports answers its own failures; this is a bug
            log.exception("answering %s failed", scope["path"])
            await _answer(send, 500, [JSON], json.dumps({"error": NOT_STORED}).encode())
            return
        await _answer(send, status, out_headers, out)

    async def _lifespan(self, receive, send) -> None:
        """At start, connect to the writer process at once: if it dies this server
        learns it then and stops, even before the first report."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.writer.connect()
                heap.settle()  # all this process keeps is loaded now
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _answer(send, status: int, headers: list, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def report_app(settings: Settings, threads: int, writer) -> ReportApp:
    """The report server's event-loop side on central's `settings`: its own store
    connections (token look-ups) and token memory (refreshed from the gate table);
    reports are checked, stored and answered by `writer` (central.report_writer).
    No background jobs (`gatecast central serve` runs those)."""
    from central import gate_tokens
    from central.app import SECURITY_HEADERS
    from central.db import open_central_db
    from central.fleet import find_gate

    store = open_central_db(settings, migrate_first=False)
    tokens = gate_tokens.GoodTokens(settings["central_gate_token_cache_s"], look_up=find_gate)
    tokens.keep_fresh(store)
    # Only its routes, token check and answers are used on this side: no release
    # watch (the writer process answers heartbeats) and its group commit never starts.
    reports = GateReports(None, store, tokens, None, settings, SECURITY_HEADERS)
    return ReportApp(reports, writer, threads, reports.max_bytes)


def writer_reports(settings: Settings) -> GateReports:
    """The GateReports of the writer process (central.report_writer): its own store
    connections, group commit and release watch (heartbeat answers)."""
    from central.app import SECURITY_HEADERS
    from central.db import open_central_db
    from central.notify import ReleaseWatch

    store = open_central_db(settings, migrate_first=False, pool_size=2)
    return GateReports(None, store, None, ReleaseWatch(store), settings, SECURITY_HEADERS)


def serve_reports(settings: Settings, bind: str, threads: int) -> None:
    """Serve the report URLs on `bind` (HOST:PORT; port 0: any free one) until
    stopped. Logs `Listening at: http://HOST:PORT` once it accepts."""
    import uvicorn

    # First: forked before any store, socket or thread of this process exists.
    writer = start_writer(lambda: writer_reports(settings))
    host, _, port = bind.rpartition(":")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), int(port)))
    sock.listen(4096)  # a fleet reconnecting at once queues here, not in SYN resets
    app = report_app(settings, threads, writer)
    config = uvicorn.Config(
        app, loop="uvloop", http="httptools", lifespan="on", interface="asgi3",
        access_log=False, log_level="warning", server_header=False,
        # Only nginx talks to it, and nothing here reads the client's address.
        proxy_headers=False,
        # nginx keeps connections to us open (upstream keepalive, 4 s): stay longer.
        timeout_keep_alive=5, backlog=4096)
    server = uvicorn.Server(config)
    host_, port_ = sock.getsockname()[:2]
    print(f"Listening at: http://{host_}:{port_} (gate reports, uvicorn)", flush=True)
    server.run(sockets=[sock])
