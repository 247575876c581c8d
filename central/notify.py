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
from typing import Callable


class ReleaseWatch:
    def __init__(self, open_db: Callable, poll_s: float = 0.2):
        self._open_db = open_db
        self.poll_s = poll_s
        self._cond = threading.Condition()
        self._versions: dict[str, int] = {}
        self._seen: int | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _load(self, db) -> None:
        latest = db.execute("SELECT max(id) FROM publication").fetchone()[0]
        if latest == self._seen:
            return
        versions = dict(db.execute("SELECT gate_id, max(version) FROM release GROUP BY gate_id"))
        with self._cond:
            self._versions, self._seen = versions, latest
            self._cond.notify_all()

    def _run(self) -> None:
        db = self._open_db()
        try:
            while not self._stop.wait(self.poll_s):
                try:
                    self._load(db)
                except Exception:  # a locked or busy database: try again next tick
                    continue
        finally:
            db.close()

    def _start(self) -> None:
        # Started on first use, i.e. after gunicorn forked its workers.
        with self._cond:
            if self._thread is None:
                db = self._open_db()
                try:
                    self._load(db)
                finally:
                    db.close()
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
        self._stop.set()
