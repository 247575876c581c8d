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

What a report means is NOT here: the request goes, as a WSGI environ, to the very
`central.gate_reports.GateReports` that answers the same URLs in front of Flask under
gunicorn (token check, checks of central.intake, group commit, answers). It runs on
a pool of threads because it waits for its batch's commit; a waiting request holds a
pool thread, never the event loop. Any other URL is answered 404: nginx sends the
rest to `gatecast central serve`.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
from concurrent.futures import ThreadPoolExecutor

from kiosk.settings import Settings

log = logging.getLogger("gatecast.central.reports")

NOT_FOUND = b'{"error":"not found"}\n'


def _not_found(environ, start_response):
    """The WSGI app behind GateReports here: nginx routes only reports to this server."""
    start_response("404 NOT FOUND", [("Content-Type", "application/json"),
                                     ("Content-Length", str(len(NOT_FOUND)))])
    return [NOT_FOUND]


class ReportApp:
    """ASGI application running a WSGI `reports` callable (GateReports) off the
    event loop, on `threads` threads. The body is read here, bounded by
    `max_bytes` (GateReports answers 413 from the length it is told)."""

    def __init__(self, reports, threads: int, max_bytes: int):
        self.reports, self.max_bytes = reports, max_bytes
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="central-report")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])  # httptools gives lower-case names
        if scope["path"] == "/healthz":
            await _answer(send, 200, [(b"content-type", b"application/json")], b'{"ok":true}\n')
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
        environ = {
            "REQUEST_METHOD": scope["method"],
            "SCRIPT_NAME": "",
            "PATH_INFO": scope["path"],
            "QUERY_STRING": scope["query_string"].decode("latin-1"),
            "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
            # Over the limit without reading: the declared length says so.
            "CONTENT_LENGTH": str(len(body) if declared_n is None or declared_n <= self.max_bytes
                                  else declared_n),
            "CONTENT_TYPE": headers.get(b"content-type", b"").decode("latin-1"),
            "HTTP_AUTHORIZATION": headers.get(b"authorization", b"").decode("latin-1"),
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
            "wsgi.url_scheme": scope.get("scheme", "http"),
        }
        status, out_headers, out = await asyncio.get_running_loop().run_in_executor(
            self.pool, self._wsgi, environ)
        await _answer(send, status, out_headers, out)

    def _wsgi(self, environ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        started = []

        def start_response(status, headers, exc_info=None):
            started[:] = [status, headers]

        try:
            out = b"".join(self.reports(environ, start_response))
        except Exception:  # GateReports answers its own failures; this is a bug
            log.exception("answering %s failed", environ["PATH_INFO"])
            body = json.dumps({"error": "central could not store the report; "
                                        "send it again later"}).encode()
            return 500, [(b"content-type", b"application/json")], body
        status, headers = started
        return (int(status[:3]), [(k.lower().encode("latin-1"), v.encode("latin-1"))
                                  for k, v in headers if k.lower() != "content-length"], out)


async def _answer(send, status: int, headers: list, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def report_app(settings: Settings, threads: int) -> ReportApp:
    """The report server's application on central's `settings`: its own store
    connections, token memory (refreshed from the gate table) and release watch;
    no background jobs (`gatecast central serve` runs those)."""
    from central import gate_tokens
    from central.app import SECURITY_HEADERS
    from central.db import open_central_db
    from central.fleet import find_gate
    from central.gate_reports import GateReports
    from central.notify import ReleaseWatch

    store = open_central_db(settings, migrate_first=False)
    tokens = gate_tokens.GoodTokens(settings["central_gate_token_cache_s"], look_up=find_gate)
    tokens.keep_fresh(store)
    reports = GateReports(_not_found, store, tokens, ReleaseWatch(store), settings,
                          SECURITY_HEADERS)
    return ReportApp(reports, threads, reports.max_bytes)


def serve_reports(settings: Settings, bind: str, threads: int) -> None:
    """Serve the report URLs on `bind` (HOST:PORT; port 0: any free one) until
    stopped. Logs `Listening at: http://HOST:PORT` once it accepts."""
    import uvicorn

    host, _, port = bind.rpartition(":")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), int(port)))
    sock.listen(4096)  # a fleet reconnecting at once queues here, not in SYN resets
    app = report_app(settings, threads)
    config = uvicorn.Config(
        app, loop="uvloop", http="httptools", lifespan="off", interface="asgi3",
        access_log=False, log_level="warning", server_header=False,
        # Only nginx talks to it, and nothing here reads the client's address.
        proxy_headers=False,
        # nginx keeps connections to us open (upstream keepalive, 4 s): stay longer.
        timeout_keep_alive=5, backlog=4096)
    server = uvicorn.Server(config)
    host_, port_ = sock.getsockname()[:2]
    print(f"Listening at: http://{host_}:{port_} (gate reports, uvicorn)", flush=True)
    server.run(sockets=[sock])
