"""A real HTTP/1.1 server on 127.0.0.1 standing in for the central authority in the
gate's tests: static `/tuf/` files with Range support (python's SimpleHTTPRequestHandler
ignores Range) and the report API and change notification of docs/sync-protocol.md, as a
central from before the combined report has them (`POST report` is a 404: the gate sends
heartbeats and proof of play apart).

Tests reach into it to tamper (`overrides`), to fail (`fail_next`), and to read what
the gate sent (`heartbeats`, `plays`, `screenshots`).
"""

from __future__ import annotations

import json
import re
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_API = re.compile(r"^/api/v1/gates/([a-z0-9-]+)/(heartbeat|proof-of-play|screenshots/(\d+)|wait)$")


class CentralDouble:
    def __init__(self, base_dir: Path, tokens: dict[str, str] | None = None):
        self.base = Path(base_dir)
        self.tokens = dict(tokens or {})
        self.overrides: dict[str, bytes] = {}  # url path -> bytes served instead
        self.fail_next: dict[str, int] = {}  # url path prefix -> answers of 500 left
        self.requests: list[tuple[str, str, int]] = []
        self.heartbeats: list[dict] = []
        self.plays: dict[tuple[str, int], dict] = {}
        self.batches: list[str] = []
        self.reject_play_ids: set[int] = set()  # rows answered 422, as malformed
        self.ignore_range = False  # answer Range requests with the whole file (200)
        self.screenshots: list[tuple[str, int, str, bytes]] = []
        self.versions: dict[str, int] = {}
        self.cond = threading.Condition()
        self.lock = threading.Lock()
        double = self

        class Handler(_Handler):
            central = double

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def set_version(self, gate_id: str, version: int) -> None:
        with self.cond:
            self.versions[gate_id] = version
            self.cond.notify_all()

    def paths(self) -> list[str]:
        with self.lock:
            return [p for _, p, _ in self.requests]

    def close(self) -> None:
        with self.cond:
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    central: CentralDouble

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _log(self, status):
        with self.central.lock:
            self.central.requests.append((self.command, self.path, status))

    def _send(self, status, body=b"", ctype="application/json", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._log(status)

    def _failing(self, path) -> bool:
        c = self.central
        with c.lock:
            for prefix, left in c.fail_next.items():
                if left > 0 and path.startswith(prefix):
                    c.fail_next[prefix] = left - 1
                    return True
        return False

    def do_GET(self):
        path = urlsplit(self.path).path
        if self._failing(path):
            return self._send(500, b'{"error": "injected"}')
        if path.startswith("/tuf/"):
            return self._static(path)
        m = _API.match(path)
        if m and m.group(2) == "wait":
            return self._wait(m.group(1))
        return self._send(404, b'{"error": "not found"}')

    def _static(self, path):
        c = self.central
        data = c.overrides.get(path)
        target = None
        if data is None:
            target = (c.base / path.lstrip("/")).resolve()
            if c.base.resolve() not in target.parents or not target.is_file():
                return self._send(404, b"not found", "text/plain")
            size = target.stat().st_size
        else:
            size = len(data)
        start, end, status, headers = 0, size - 1, 200, {}
        m = _RANGE.match(self.headers.get("Range", ""))
        if m and not c.ignore_range:
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
            if start >= size:
                return self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{size}"})
            status, headers = 206, {"Content-Range": f"bytes {start}-{end}/{size}"}
        if data is not None:
            return self._send(status, data[start:end + 1], "application/octet-stream", headers)
        # Stream from disk: the resume benchmark serves a 100 MB file.
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end + 1 - start))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        try:
            with open(target, "rb") as f:
                f.seek(start)
                left = end + 1 - start
                while left > 0:
                    chunk = f.read(min(left, 256 * 1024))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        self._log(status)

    def _auth(self, gate_id) -> bool:
        token = self.central.tokens.get(gate_id)
        given = self.headers.get("Authorization", "")
        if token is None or given != f"Bearer {token}":
            self._send(401, b'{"error": "bad token"}')
            return False
        return True

    def _wait(self, gate_id):
        if not self._auth(gate_id):
            return
        q = parse_qs(urlsplit(self.path).query)
        have = int(q.get("version", ["0"])[0])
        timeout = min(float(q.get("timeout", ["30"])[0]), 120)
        c = self.central
        with c.cond:
            changed = c.cond.wait_for(lambda: c.versions.get(gate_id, 0) != have, timeout)
            version = c.versions.get(gate_id, 0)
        if changed:
            return self._send(200, json.dumps({"version": version}).encode())
        return self._send(204)

    def do_POST(self):
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self._failing(path):
            return self._send(500, b'{"error": "injected"}')
        m = _API.match(path)
        if not m or m.group(2) == "wait":
            return self._send(404, b'{"error": "not found"}')
        gate_id = m.group(1)
        if not self._auth(gate_id):
            return
        c = self.central
        if m.group(2) == "heartbeat":
            try:
                hb = json.loads(body)
            except ValueError:
                return self._send(400, b'{"error": "not json"}')
            with c.lock:
                c.heartbeats.append(hb)
            answer = {"ok": True, "published_version": c.versions.get(gate_id, 0)}
            return self._send(200, json.dumps(answer).encode())
        if m.group(2) == "proof-of-play":
            try:
                batch = json.loads(body)
                rows = batch["rows"]
            except (ValueError, KeyError, TypeError):
                return self._send(400, b'{"error": "malformed"}')
            bad = [r for r in rows if not isinstance(r.get("id"), int) or r.get("face_id") is None
                   or r["id"] in c.reject_play_ids]
            if bad:
                return self._send(422, b'{"error": "malformed row"}')
            with c.lock:
                c.batches.append(batch.get("batch_id"))
                new = 0
                for r in rows:
                    if (gate_id, r["id"]) not in c.plays:
                        new += 1
                    c.plays[(gate_id, r["id"])] = r
            return self._send(200, json.dumps({"accepted": len(rows), "new": new}).encode())
        face = int(m.group(3))
        with c.lock:
            c.screenshots.append((gate_id, face, self.headers.get("X-Taken-At", ""), body))
        return self._send(204)

    def version_string(self):
        return "central-double"

    def date_time_string(self, timestamp=None):
        return formatdate(timestamp, usegmt=True)
