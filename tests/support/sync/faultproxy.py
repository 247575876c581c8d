"""A fault-injecting HTTP proxy on 127.0.0.1 that plays a bad 3G/4G link.

The gate talks to the proxy as if it were central; the proxy forwards each request
upstream (one request per connection) and damages the answer as told:

- `cut`: close the connection after `after` bytes of the answer
- `stall`: go silent for `seconds` after `after` bytes, then close
- `http500`: answer 500 without asking upstream
- `truncate`: end the body after `after` bytes *with a matching Content-Length*, so
  the answer looks complete (only the signed length and hash can tell)
- `rate`: (a link property, not a fault) at most that many bytes per second
- `cut_every`: (a link property) close whichever connection carries the next
  `cut_every` bytes, cumulatively over all connections

It counts the bytes in both directions, which the benchmarks report.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Fault:
    kind: str  # cut | stall | http500 | truncate
    path: str = "/"  # applies to request paths starting with this
    after: int = 0
    seconds: float = 0.0
    times: int = 1


class FaultProxy:
    def __init__(self, upstream_url: str, rate: float = 0.0, cut_every: int = 0):
        u = urlsplit(upstream_url)
        self.upstream = (u.hostname, u.port)
        self.rate = rate
        self.cut_every = cut_every
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        self.bytes_up = 0  # gate -> proxy
        self.bytes_down = 0  # proxy -> gate
        self._since_cut = 0
        self._lock = threading.Lock()
        self._closing = False
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def add(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def settle(self) -> None:
        """Wait until every connection so far has finished (and been counted)."""
        for t in list(self._threads):
            t.join(5)

    def reset_counts(self) -> None:
        self.settle()
        with self._lock:
            self.bytes_up = self.bytes_down = 0
            self.log.clear()

    def close(self) -> None:
        self._closing = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        self._sock.close()
        self._accept.join(5)
        for t in list(self._threads):
            t.join(5)

    # ---- plumbing ----------------------------------------------------------------

    def _serve(self):
        while not self._closing:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._handle, args=(client,), daemon=True)
            self._threads = [x for x in self._threads if x.is_alive()] + [t]
            t.start()

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.times > 0 and path.startswith(f.path):
                    f.times -= 1
                    return f
        return None

    def _handle(self, client: socket.socket):
        client.settimeout(30)
        upstream = None
        try:
            head = _read_head(client)
            if head is None:
                return
            m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
            body = _read_exact(client, int(m.group(1))) if m else b""
            with self._lock:
                self.bytes_up += len(head) + len(body)
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target, _ = request_line.split(" ", 2)
            path = urlsplit(target).path
            rng = re.search(rb"\r\nrange:\s*([^\r]*)", head, re.I)
            with self._lock:
                self.log.append((method, target, rng.group(1).decode() if rng else None))
            fault = self._take_fault(path)
            if fault and fault.kind == "http500":
                msg = b"injected failure"
                self._send(client, b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: "
                           + str(len(msg)).encode() + b"\r\nConnection: close\r\n\r\n" + msg)
                return
            # One request per connection keeps the proxy simple.
            head = re.sub(rb"\r\nconnection:[^\r]*", b"", head, flags=re.I)
            head = head[:-4] + b"\r\nConnection: close\r\n\r\n"
            upstream = socket.create_connection(self.upstream, timeout=30)
            upstream.sendall(head + body)
            self._relay(upstream, client, fault)
        except (OSError, ValueError):
            pass
        finally:
            for s in (client, upstream):
                if s is not None:
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    s.close()

    def _relay(self, upstream: socket.socket, client: socket.socket, fault: Fault | None):
        # Say "Connection: close" so the gate never reuses a connection the proxy
        # is about to close (a race that would look like a fault we did not inject).
        resp_head = _read_head(upstream) or b""
        resp_head = re.sub(rb"\r\nconnection:[^\r]*", b"", resp_head, flags=re.I)
        if resp_head.endswith(b"\r\n\r\n"):
            resp_head = resp_head[:-4] + b"\r\nConnection: close\r\n\r\n"
        if fault and fault.kind == "truncate":
            resp_head = re.sub(rb"(\r\ncontent-length:\s*)\d+", rb"\g<1>" + str(fault.after).encode(),
                               resp_head, flags=re.I)
            self._send(client, resp_head)
            remaining = fault.after
            while remaining > 0:
                chunk = upstream.recv(min(65536, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                self._send(client, chunk)
            return
        sent = 0
        pending = resp_head
        while True:
            chunk, pending = pending or upstream.recv(65536), b""
            if not chunk:
                return
            if fault and fault.kind in ("cut", "stall") and sent + len(chunk) >= fault.after:
                self._send(client, chunk[: max(fault.after - sent, 0)])
                if fault.kind == "stall":
                    time.sleep(fault.seconds)
                return
            if self.cut_every:
                with self._lock:
                    room = self.cut_every - self._since_cut
                    if len(chunk) >= room:
                        self._since_cut = 0
                        cut_here = room
                    else:
                        self._since_cut += len(chunk)
                        cut_here = None
                if cut_here is not None:
                    self._send(client, chunk[:cut_here])
                    return
            self._send(client, chunk)
            sent += len(chunk)

    def _send(self, client: socket.socket, data: bytes):
        if not data:
            return
        if self.rate <= 0:
            client.sendall(data)
            with self._lock:
                self.bytes_down += len(data)
            return
        step = max(int(self.rate / 20), 256)  # ~20 sends a second
        for i in range(0, len(data), step):
            piece = data[i:i + step]
            started = time.monotonic()
            client.sendall(piece)
            with self._lock:
                self.bytes_down += len(piece)
            delay = len(piece) / self.rate - (time.monotonic() - started)
            if delay > 0:
                time.sleep(delay)


def _read_head(sock: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)  # byte by byte: never read past the head
        if not chunk:
            return None if not data else data
        data += chunk
        if len(data) > 65536:
            raise ValueError("head too large")
    return data


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data
