"""The central server's own database, `<state>/central.db`, and its schema.

It is not a gate database: it has its own `Migrations` set, applied at every
start like the gate's, and shares only the connection pragmas with it.
"""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from kiosk.store import connect

migrations = Migrations("gatecast.central")

DB_NAME = "central.db"


def open_central_db(state_dir: Path | str) -> sqlite_utils.Database:
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    db = connect(state_dir / DB_NAME)
    migrations.apply(db)
    return db


class _WriteLock:
    """A thread lock plus a kernel file lock: one writer at a time across the
    server's threads and gunicorn workers (and the CLI)."""

    def __init__(self, path: str):
        self.thread_lock = threading.Lock()
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    @contextmanager
    def hold(self):
        with self.thread_lock:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self.fd, fcntl.LOCK_UN)


_write_locks: dict[str, _WriteLock] = {}
_write_locks_guard = threading.Lock()


@contextmanager
def writing(db: sqlite_utils.Database):
    """A write transaction, queued on a lock file before SQLite sees it.

    When two processes collide on SQLite's own lock, the loser sleeps in a
    back-off of up to 100 ms a step; under a fleet's heartbeats from two
    gunicorn workers that made the 99th percentile ~0.9 s. A kernel lock wakes
    the next writer as soon as the last one commits.
    """
    path = db.execute("PRAGMA database_list").fetchone()[2] + ".writelock"
    with _write_locks_guard:
        lock = _write_locks.get(path)
        if lock is None:
            lock = _write_locks[path] = _WriteLock(path)
    with lock.hold(), db.atomic():
        yield db


class Checkpointer:
    """Moves WAL checkpoints off the request path: request connections turn
    SQLite's automatic checkpoint off (it runs inside whichever commit crosses
    1000 pages, and that request waits for it), and this thread copies the WAL
    back into the database every second, PASSIVE so it never blocks a writer."""

    def __init__(self, path: Path, interval_s: float = 1.0):
        self.path, self.interval_s = path, interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    def start(self) -> None:
        with self._guard:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wal-checkpoint",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        db = connect(self.path)
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except Exception:  # busy: the next second will do
                    continue
        finally:
            db.close()

    def stop(self) -> None:
        self._stop.set()


@migrations()
def m001_central(db):
    # People who manage content. role: viewer | editor | approver | admin.
    # token_hash: sha256 of a random API token shown once.
    db["user"].create(
        {"name": str, "role": str, "token_hash": str, "created_at": str},
        pk="name", not_null={"role"},
    )
    # The content library. state: uploaded -> approved -> retired.
    db["media"].create(
        {
            "sha256": str, "kind": str, "name": str, "format": str, "size": int,
            "duration_s": float, "width": int, "height": int,
            "state": str, "uploaded_at": str, "uploaded_by": str,
            "approved_at": str, "approved_by": str, "retired_at": str, "retired_by": str,
        },
        pk="sha256", not_null={"kind", "name", "size", "state"},
    )
    # faces: JSON list of face ids (1..4). token_hash: sha256 of the gate's
    # API token (high-entropy random, so a fast hash is enough).
    db["gate"].create(
        {"id": str, "name": str, "province": str, "faces": str, "token_hash": str,
         "token_issued_at": str, "created_at": str},
        pk="id", not_null={"name", "faces"},
    )
    db["gate_group"].create({"id": str, "name": str, "created_at": str}, pk="id")
    db["gate_group_member"].create(
        {"group_id": str, "gate_id": str}, pk=("group_id", "gate_id"),
        foreign_keys=[("group_id", "gate_group", "id"), ("gate_id", "gate", "id")],
    )
    db["playlist"].create({"id": str, "name": str, "created_at": str}, pk="id", not_null={"name"})
    db["playlist_item"].create(
        {"playlist_id": str, "position": int, "media_sha256": str, "duration_s": float},
        pk=("playlist_id", "position"),
        foreign_keys=[("playlist_id", "playlist", "id"), ("media_sha256", "media", "sha256")],
    )
    # Assignments: each row is for one gate or one group (target_kind/target_id).
    # faces: JSON list; [] means every face of the gate.
    db["schedule_entry"].create(
        {
            "id": str, "name": str, "target_kind": str, "target_id": str, "playlist_id": str,
            "faces": str, "start_date": str, "end_date": str, "weekdays": str,
            "start_time": str, "end_time": str, "level": str,
            "not_before": str, "not_after": str, "created_at": str, "created_by": str,
        },
        pk="id", foreign_keys=[("playlist_id", "playlist", "id")],
        not_null={"target_kind", "target_id", "playlist_id", "faces", "weekdays",
                  "start_time", "end_time", "level"},
    )
    # face_id NULL: every face of the gate.
    db["fallback"].create(
        {"id": int, "target_kind": str, "target_id": str, "face_id": int, "playlist_id": str},
        pk="id", foreign_keys=[("playlist_id", "playlist", "id")],
        not_null={"target_kind", "target_id", "playlist_id"},
    )
    db["power_window"].create(
        {"id": int, "target_kind": str, "target_id": str, "face_id": int, "weekdays": str,
         "start_time": str, "end_time": str},
        pk="id", not_null={"target_kind", "target_id", "weekdays", "start_time", "end_time"},
    )
    db["notice"].create(
        {"id": str, "target_kind": str, "target_id": str, "kind": str, "level": str,
         "texts": str, "faces": str, "style": str, "starts_at": str, "expires_at": str,
         "created_at": str, "created_by": str},
        pk="id", not_null={"target_kind", "target_id", "kind", "level", "texts"},
    )
    for table in ("schedule_entry", "fallback", "power_window", "notice"):
        db.execute(f"CREATE INDEX {table}_target ON {table}(target_kind, target_id)")
    # Every release ever published for a gate; the highest version is current.
    # content_sha256 hashes the document without version/published_at, so an
    # unchanged gate keeps its version across publishes.
    db["release"].create(
        {"gate_id": str, "version": int, "content_sha256": str, "published_at": str,
         "publication_id": int, "document": str},
        pk=("gate_id", "version"),
    )
    db["publication"].create(
        {"id": int, "at": str, "by": str, "repository_version": int, "gates_changed": int,
         "note": str},
        pk="id",
    )
    # Reports from gates. gate_status holds the latest heartbeat per gate;
    # heartbeat keeps the history (the console's later "effectiveness analysis").
    db["gate_status"].create(
        {"gate_id": str, "last_heartbeat_at": str, "sent_at": str, "release_version": int,
         "last_good_release_version": int, "heartbeat": str},
        pk="gate_id",
    )
    db["heartbeat"].create(
        {"id": int, "gate_id": str, "received_at": str, "sent_at": str,
         "release_version": int, "body": str},
        pk="id",
    )
    db.execute("CREATE INDEX heartbeat_gate ON heartbeat(gate_id, received_at)")
    db["proof_of_play"].create(
        {"gate_id": str, "row_id": int, "face_id": int, "media_sha256": str, "entry_id": str,
         "level": str, "started_at": str, "ended_at": str, "outcome": str, "reason": str,
         "batch_id": str, "received_at": str},
        pk=("gate_id", "row_id"),
    )
    db.execute("CREATE INDEX proof_of_play_media ON proof_of_play(media_sha256, started_at)")
    db["screenshot"].create(
        {"gate_id": str, "face_id": int, "taken_at": str, "received_at": str, "file": str,
         "content_type": str, "size": int},
        pk=("gate_id", "face_id"),
    )
    # Who changed what, for the province's own accountability.
    db["audit"].create(
        {"id": int, "at": str, "who": str, "action": str, "subject": str, "detail": str},
        pk="id",
    )
