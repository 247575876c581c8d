"""The SQLite hub between player, admin and sync: opening it, migrating it,
and the revision counter that tells the player the desired state changed.

Every process calls `open_db()` at start; it applies pending migrations
(sqlite-utils `Migrations`, safe to run at every start) and turns on WAL so
readers never block the player. Which migration sets a gate database has is
the composition root's answer (`kiosk.entrypoints.migration_sets()`).
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import sqlite_utils
from sqlite_utils.migrations import Migrations


def connect(path: Path | str) -> sqlite_utils.Database:
    """A connection with the pragmas every gatecast process wants."""
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable across power loss for committed WAL transactions except
    # the last few; proof of play uses explicit commits and accepts that.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return sqlite_utils.Database(conn)


@contextmanager
def writing(db: sqlite_utils.Database):
    """A write transaction that takes SQLite's write lock at BEGIN.

    Use it, not `db.atomic()`, for every gate write transaction: player, admin,
    sync and the CLI share one database. In WAL mode a deferred transaction that
    reads first and writes later fails at once with "database is locked"
    (SQLITE_BUSY_SNAPSHOT: no busy wait) when another process wrote in between;
    BEGIN IMMEDIATE waits for the lock instead (busy_timeout). Nested use
    becomes a savepoint.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def open_db(path: Path | str, sets: Sequence[Migrations] | None = None) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the gate database.

    `sets` are the migration sets to apply, in that order; None means every set
    installed in the `gatecast.migrations` entry point group (a whole gate).
    """
    if sets is None:
        from kiosk.entrypoints import migration_sets

        sets = migration_sets()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = connect(path)
    # Player, admin and sync start together at boot: without a lock two of
    # them can both see a migration as pending and the second one fails
    # ("table revision already exists").
    with open(path.with_name(path.name + ".migrate-lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        migrate(db, sets)
    return db


def migrate(db: sqlite_utils.Database, sets: Sequence[Migrations]) -> None:
    for migration_set in sets:
        migration_set.apply(db)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime | None) -> str | None:
    """Timestamps are stored as ISO 8601 strings with offset (UTC unless said)."""
    return None if dt is None else dt.isoformat(timespec="milliseconds")


def parse_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def desired_revision(db: sqlite_utils.Database) -> int:
    """Bumped by triggers on every desired-state table; the player polls it."""
    return db.execute("SELECT n FROM revision WHERE id = 1").fetchone()[0]


def track_desired(db: sqlite_utils.Database, table: str) -> None:
    """Make every write to `table` bump the desired-state revision.

    Call it from a migration right after creating a desired-state table.
    """
    for op in ("INSERT", "UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER IF NOT EXISTS [{table}_rev_{op.lower()}] AFTER {op} ON [{table}] "
            "BEGIN UPDATE revision SET n = n + 1 WHERE id = 1; END"
        )


def log_event(
    db: sqlite_utils.Database,
    source: str,
    level: str,
    code: str,
    message: str,
    face_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record something the operator should see (errors, warnings, notable facts)."""
    db["event"].insert(
        {
            "at": iso(utcnow()),
            "source": source,
            "level": level,
            "code": code,
            "message": message,
            "face_id": face_id,
            "detail": json.dumps(detail or {}, ensure_ascii=False),
        }
    )


def set_state(db: sqlite_utils.Database, key: str, value: Any) -> None:
    """Actual state other than per-face state (health, sync status, ...)."""
    db.execute(
        "INSERT INTO state(key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [key, json.dumps(value, ensure_ascii=False), iso(utcnow())],
    )


def get_state(db: sqlite_utils.Database, key: str, default: Any = None) -> Any:
    row = db.execute("SELECT value FROM state WHERE key = ?", [key]).fetchone()
    return default if row is None else json.loads(row[0])


def wait_for_revision(db: sqlite_utils.Database, after: int, timeout: float) -> int:
    """Block until the desired revision moves past `after` (for tests and tools)."""
    deadline = time.monotonic() + timeout
    while True:
        rev = desired_revision(db)
        if rev != after or time.monotonic() >= deadline:
            return rev
        time.sleep(0.05)
