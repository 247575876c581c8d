"""The sync process's HTTP connections to central, kept for the process's life.

Before, every report, every long poll and every pull opened a new connection (and
in production a new TLS handshake): ~130 an hour per gate, ~360 a second at
central for 10,000 gates. A `Link` is one urllib3 pool that the sync process
keeps: its requests reuse the kept connection (keep-alive) as long as the server
keeps it.

What can happen to a kept connection between two requests:

- the server closed it while it was idle (nginx's keepalive_timeout, its
  keepalive_time / keepalive_requests, a restart): urllib3 sees the closed socket
  before it reuses it and opens a new one;
- the server closed it at the very moment the gate sent (or the close had not
  crossed a slow 3G link yet): the request meets a closed connection before any
  answer arrived. `Link.request` then sends it ONCE more on a new connection:
  nothing was answered, so central either never read it (nginx closes only idle
  connections) or stored it and its answer was lost, and a report sent twice is
  stored once (tests/central/test_central_gate_link.py proves it against the real central:
  proof of play by its key, the day totals, the status, the face time and the
  heartbeat history, by the heartbeat's sent_at, alike);
- an answer cut halfway, a timeout, or a failure on a NEW connection is the link's
  failure, never retried here (the caller's fault handling: everything stays
  queued, the download resumes).

A connection idle longer than IDLE_S is not reused: nginx closes it soon after
(the site's keepalive_timeout is 90 s, nginx's default 75 s), and a mobile
network's NAT may have forgotten it without a word.
"""

from __future__ import annotations

import socket
import time

import urllib3
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ProtocolError, SSLError

from kiosk import __version__

# Longer than a heartbeat interval (60 s +-20%, so 72 s at most): the reports'
# connection survives from one report to the next. Shorter than the site's
# keepalive_timeout (90 s): the gate stops reusing a connection before nginx
# closes it, never at the same moment.
IDLE_S = 75.0


class Link:
    """One kept HTTP connection pool (urllib3) and what it counted.

    Used by one thread at a time: the sync loop's reports and pulls share one,
    the change feed's long poll has its own (it holds its connection ~always)."""

    def __init__(self, pool: urllib3.PoolManager | None = None, **pool_kw):
        """`pool`: a PoolManager made elsewhere (a test's, trusting its own CA),
        else one is made with `pool_kw`."""
        self.opened = 0  # connections opened (TCP connect and, over https, the TLS handshake)
        self.requests = 0
        self.resent = 0  # requests sent again after a kept connection was found closed
        self._reused = False  # the request in hand went out on a kept connection
        self._answered = False  # ... and its answer's head arrived
        self._current: HTTPConnection | None = None  # the connection carrying it
        self._last_used = 0.0
        self._closed = False
        self.pool = pool or urllib3.PoolManager(
            retries=False, headers={"User-Agent": f"gatecast/{__version__}"}, **pool_kw)
        self.pool.pool_classes_by_scheme = {"http": _pool_class(HTTPConnectionPool, self),
                                            "https": _pool_class(HTTPSConnectionPool, self)}

    @classmethod
    def of(cls, pool: Link | urllib3.PoolManager | None) -> Link:
        """`pool` itself if it is a Link (the sync process's kept one), else a new Link
        over it (a PoolManager made elsewhere, or None: one of its own)."""
        return pool if isinstance(pool, Link) else cls(pool)

    def request(self, method: str, url: str, **kw) -> urllib3.BaseHTTPResponse:
        """pool.request, once more on a new connection when a kept one turned out
        closed before any answer (see the module's docstring)."""
        if self._closed:
            raise ProtocolError("the sync service is stopping")
        if self._last_used and time.monotonic() - self._last_used > IDLE_S:
            self.pool.clear()
        try:
            try:
                return self._send(method, url, kw)
            except (ProtocolError, SSLError):
                if not self._reused or self._answered or self._closed:
                    raise
                self.resent += 1
                return self._send(method, url, kw)
        finally:
            self._current = None
            self._last_used = time.monotonic()

    def _send(self, method, url, kw):
        self._reused = self._answered = False
        self.requests += 1
        return self.pool.request(method, url, **kw)

    def interrupt(self) -> None:
        """From another thread: end the request in hand at once (a long poll
        held by the server), and refuse new ones. For stopping the service."""
        self._closed = True
        conn = self._current
        sock = getattr(conn, "sock", None)
        if sock is not None:
            try:
                # The plain socket's shutdown: the TLS layer's would drop its state
                # under the reading thread's feet.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._closed = True
        self.pool.clear()


def _pool_class(base, link: Link):
    class Pool(base):
        ConnectionCls = _connection_class(base.ConnectionCls, link)
    return Pool


def _connection_class(base, link: Link):
    class Connection(base):
        answers = 0  # answered on this socket

        def connect(self):
            super().connect()
            link.opened += 1
            self.answers = 0

        def request(self, *args, **kw):
            link._reused = self.sock is not None and self.answers > 0
            link._current = self
            return super().request(*args, **kw)

        def getresponse(self, *args, **kw):
            response = super().getresponse(*args, **kw)
            link._answered = True
            self.answers += 1
            return response

    Connection.__name__ = f"Kept{base.__name__}"
    return Connection

