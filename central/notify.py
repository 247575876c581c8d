"""Change notification: long-poll waiters learn within a fraction of a second
that their gate's release version changed.

Publishing may happen in another process (the CLI) or another gunicorn
worker, so a watcher thread per server process reads the release versions when the
`publication` table grew, and wakes every waiter through one `threading.Condition`;
waiters cost a parked thread and no queries. How it learns that the table grew:

* PostgreSQL: it LISTENs on `gatecast_release`, which every publication NOTIFYs when
  it commits (a trigger, migration 0013), on a connection of its own; no query while
  nothing is published. It also reads every `safety_s` seconds, and at once after
  its connection came back (a publication meanwhile was not heard).
* SQLite: one indexed read of the tiny `publication` table every `poll_s`.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import func, select

from central import schema as t
from central.db import Store

log = logging.getLogger("gatecast.central")
CHANNEL = "gatecast_release"  # migration 0013


class ReleaseWatch:
    def __init__(self, store: Store, poll_s: float = 0.2, safety_s: float = 60.0):
        self._store = store
        self.poll_s, self.safety_s = poll_s, safety_s
        self.reads = 0  # how often it read the publication table (tests look)
        self._cond = threading.Condition()
        self._versions: dict[str, int] = {}
        self._seen: int | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._listening = False  # LISTEN went through on the current connection

    def _load(self) -> None:
        self.reads += 1
        with self._store.transaction() as conn:
            latest = conn.execute(select(func.max(t.publication.c.id))).scalar()
            if latest == self._seen:
                return
            versions = dict(conn.execute(
                select(t.release.c.gate_id, func.max(t.release.c.version))
                .group_by(t.release.c.gate_id)).all())
        with self._cond:
            self._versions, self._seen = versions, latest
            self._cond.notify_all()

    def _run(self) -> None:
        if self._store.is_sqlite:
            while not self._stop.wait(self.poll_s):
                try:
                    self._load()
                except Exception:  # a locked, busy or restarting database: next tick
                    continue
            return
        failed = False
        while not self._stop.is_set():
            self._listening = False
            try:
                self._listen()
            except Exception:  # the database restarting: try again until it is back
                if self._listening or not failed:  # once an outage, not every try
                    log.warning("release watch: listening failed; trying again", exc_info=True)
                failed = True
            self._stop.wait(self.poll_s)

    def _listen(self) -> None:
        """LISTEN on a connection of its own, taken out of the pool, then read the
        versions (a publication committed before the LISTEN is read there) and again
        after each notification (several in a row: once) or every `safety_s`."""
        raw = self._store.engine.raw_connection()
        conn = raw.driver_connection
        raw.detach()  # never handed back to the pool in LISTEN mode
        try:
            conn.rollback()
            conn.autocommit = True
            conn.execute(f"LISTEN {CHANNEL}")
            self._listening = True
            self._load()
            last = time.monotonic()
            while not self._stop.is_set():
                # A short timeout, so that stop() is obeyed within a second.
                heard = any(True for _ in conn.notifies(timeout=1.0, stop_after=1))
                if heard:
                    for _ in conn.notifies(timeout=0.0):  # the rest of a burst
                        pass
                if heard or time.monotonic() - last >= self.safety_s:
                    self._load()
                    last = time.monotonic()
        finally:
            conn.close()

    def _start(self) -> None:
        # Started on first use, i.e. after gunicorn forked its workers.
        with self._cond:
            if self._thread is None:
                self._load()
                self._thread = threading.Thread(target=self._run, name="release-watch",
                                                daemon=True)
                self._thread.start()

    def current(self, gate_id: str) -> int:
        self._start()
        with self._cond:
            return self._versions.get(gate_id, 0)

    def wait(self, gate_id: str, known: int, timeout: float) -> int | None:
        """The gate's release version once it differs from `known`, or None
        after `timeout` seconds. 0 means nothing published for the gate yet."""
        self._start()
        deadline = time.monotonic() + timeout
        with self._cond:
            changed = self._cond.wait_for(
                lambda: self._versions.get(gate_id, 0) != known,
                timeout=max(0.0, deadline - time.monotonic()))
            return self._versions.get(gate_id, 0) if changed else None

    def stop(self) -> None:
        # Joined, so that the store can be closed after: no read in flight.
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
