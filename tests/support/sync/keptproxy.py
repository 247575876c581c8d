"""A keep-alive HTTP/1.1 proxy on 127.0.0.1 that counts connections and requests,
and can fail a request the way a kept connection fails.

Unlike FaultProxy (one request per connection), it keeps the gate's connection
and its own upstream one as long as both sides do, so a test sees how many
connections the gate opened and which requests shared one. Faults (each once):

- `close`: the connection closes as the request arrives, unread and unanswered
  (nginx closing a kept connection at the moment the gate sends);
- `lose_answer`: the request reaches central, which answers, but the answer is
  lost and the connection closes (a link that dropped on the way back).

A fault names the request path it applies to and whether it hits a request on a
kept connection (`kept=True`) or the first one of a new connection.
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit


@dataclass
class KeptFault:
    kind: str  # close | lose_answer
    path: str  # applies to the first request whose path contains this
    kept: bool = True
    # lose_answer: called after central answered, before the answer is dropped
    then: Callable[[], None] | None = None


class KeptProxy:
    def __init__(self, upstream_url: str):
        u = urlsplit(upstream_url)
        self.upstream = (u.hostname, u.port)
        self.connections = 0  # accepted from the gate
        self.requests: list[tuple[int, str, str]] = []  # (connection number, method, path)
        self.faults: list[KeptFault] = []
        self.fired: list[KeptFault] = []
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def drop_all(self) -> None:
        """Close every open connection at once, both sides (nginx or central
        restarting); the proxy goes on accepting new ones."""
        with self._lock:
            for s in list(self._open):
                _close(s)
            self._open.clear()

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        with self._lock:
            for s in list(self._open):
                _close(s)
        for t in list(self._threads):
            t.join(5)

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
                self._open.add(client)
            t = threading.Thread(target=self._handle, args=(client, number), daemon=True)
            self._threads = [x for x in self._threads if x.is_alive()] + [t]
            t.start()

    def _take(self, path: str, kept: bool) -> KeptFault | None:
        with self._lock:
            for f in self.faults:
                if f.path in path and f.kept == kept:
                    self.faults.remove(f)
                    self.fired.append(f)
                    return f
        return None

    def _handle(self, client: socket.socket, number: int) -> None:
        upstream = None
        served = 0
        try:
            while True:
                head = _read_head(client)
                if not head:
                    return
                body = _read_body(client, head, request=True)
                method, target = head.split(b" ", 2)[:2]
                path = target.decode("latin-1")
                with self._lock:
                    self.requests.append((number, method.decode(), path))
                fault = self._take(path, kept=served > 0)
                if fault and fault.kind == "close":
                    return
                if upstream is None:
                    upstream = socket.create_connection(self.upstream, timeout=120)
                    with self._lock:
                        self._open.add(upstream)
                upstream.sendall(head + body)
                answer = _read_head(upstream)
                if not answer:
                    return
                answer += _read_body(upstream, answer, request=False, method=method)
                if fault and fault.kind == "lose_answer":
                    if fault.then:
                        fault.then()
                    return
                # As nginx does, the gate's connection is kept whatever the upstream
                # does with its own (werkzeug's test server closes after each answer).
                head_end = answer.index(b"\r\n\r\n")
                upstream_closes = re.search(rb"\r\nconnection:\s*close", answer[:head_end], re.I)
                framed = re.search(rb"\r\n(content-length|transfer-encoding):", answer[:head_end],
                                   re.I) or int(answer.split(b" ", 2)[1]) in (204, 304)
                if upstream_closes and framed:
                    answer = re.sub(rb"\r\nconnection:[^\r]*", b"", answer[:head_end], flags=re.I
                                    ) + answer[head_end:]
                client.sendall(answer)
                served += 1
                if upstream_closes:
                    _close(upstream)
                    with self._lock:
                        self._open.discard(upstream)
                    upstream = None
                    if not framed:
                        return
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                if s is not None:
                    _close(s)
                    with self._lock:
                        self._open.discard(s)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)  # byte by byte: never read past the head
        if not chunk:
            return b""
        data += chunk
    return data


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(min(65536, n - len(data)))
        if not chunk:
            raise OSError("closed mid-body")
        data += chunk
    return data


def _read_line(sock: socket.socket) -> bytes:
    line = b""
    while not line.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise OSError("closed mid-chunk")
        line += chunk
    return line


def _read_body(sock: socket.socket, head: bytes, request: bool, method: bytes = b"GET") -> bytes:
    if not request:
        status = int(head.split(b" ", 2)[1])
        if method == b"HEAD" or status in (204, 304) or 100 <= status < 200:
            return b""
    length = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    if length:
        return _read_exact(sock, int(length.group(1)))
    if re.search(rb"\r\ntransfer-encoding:\s*chunked", head, re.I):
        body = b""
        while True:
            line = _read_line(sock)
            size = int(line.split(b";")[0], 16)
            body += line + _read_exact(sock, size + 2)
            if size == 0:
                return body
    if request:
        return b""
    body = b""  # an answer without a length ends with the connection
    while chunk := sock.recv(65536):
        body += chunk
    return body
