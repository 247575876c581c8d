"""Change notification: long-poll waiters learn within a fraction of a second
that their gate's release version changed.

Publishing may happen in another process (the CLI) or another gunicorn
worker, so a watcher thread per server process polls the tiny `publication`
table (one indexed read every `poll_s`) and wakes every waiter through one
`threading.Condition`; waiters cost a parked thread and no queries.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from central import schema as t
from central.db import Store


class ReleaseWatch:
    def __init__(self, store: Store, poll_s: float = 0.2):
        self._store = store
        self.poll_s = poll_s
        self._cond = threading.Condition()
        self._versions: dict[str, int] = {}
        self._seen: int | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _load(self) -> None:
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
        while not self._stop.wait(self.poll_s):
            try:
                self._load()
            except Exception:  # a locked, busy or restarting database: next tick
                continue

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
