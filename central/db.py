"""The central server's store: SQLite (`<state>/central.db`, the embedded
default) or PostgreSQL (production), behind one SQLAlchemy 2 Core layer.

- `Store(url)`: the engine and its connection pool; `store.transaction()`
  gives a connection inside one transaction (committed on success).
- `transaction(db)`: what library functions use. Given a Store, each call is
  its own transaction (like an autocommit connection); given a Connection in
  a transaction, the call joins it, so a caller can group several calls.
- `migrate(url)`: Alembic migrations to the newest schema, once, under a lock
  (a PostgreSQL advisory lock; a file lock next to the SQLite file).
- `publishing(store)`: the lock a full publication builds its releases under,
  and `signing(store)`: the short one every new repository version is signed
  under, across every application server sharing the database.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Connection, create_engine, event, func, inspect, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url

DB_NAME = "central.db"

# pg_advisory_lock keys: any 64-bit numbers no other application on the
# database uses ("gatecast" in ASCII, then a number).
MIGRATE_LOCK_KEY = 0x6761746563617301
PUBLISH_LOCK_KEY = 0x6761746563617302
SIGN_LOCK_KEY = 0x6761746563617304
# exclusive(store, name): try-locks for work one server does at a time.
EXCLUSIVE_LOCK_KEYS = {"alerts": 0x6761746563617303}


def default_url(state_dir: Path | str) -> str:
    return f"sqlite:///{Path(state_dir).resolve() / DB_NAME}"


def database_url(settings) -> str:
    """The `central_database_url` setting, or SQLite in the state folder."""
    return settings["central_database_url"] or default_url(settings.state_path)


def _sqlite_path(url) -> Path | None:
    url = make_url(url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


class _FileLock:
    """A thread lock plus a kernel file lock: one holder at a time across the
    server's threads, gunicorn workers and the CLI on one host."""

    def __init__(self, path: Path):
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


_file_locks: dict[Path, _FileLock] = {}
_file_locks_guard = threading.Lock()


def _file_lock(path: Path) -> _FileLock:
    with _file_locks_guard:
        lock = _file_locks.get(path)
        if lock is None:
            lock = _file_locks[path] = _FileLock(path)
        return lock


class Store:
    """The central database: an engine with its pool, for one process.

    `background_checkpoint` (SQLite, the server): request connections leave
    WAL checkpoints to a `Checkpointer` thread (see below).
    """

    def __init__(self, url: str, *, background_checkpoint: bool = False,
                 pool_size: int = 5, max_overflow: int = 20):
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        self.sqlite_path = _sqlite_path(self.url)
        if self.dialect == "sqlite":
            if self.sqlite_path is None:
                raise ValueError("central needs an SQLite file, not an in-memory database")
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(
                self.url, pool_size=pool_size, max_overflow=max_overflow,
                connect_args={"timeout": 30, "check_same_thread": False})
            _sqlite_pragmas(self.engine, background_checkpoint)
        elif self.dialect == "postgresql":
            if self.url.drivername == "postgresql":
                self.url = self.url.set(drivername="postgresql+psycopg")
            # No pre-ping: it is one more round trip to the database on every
            # request (a report is 4-5), and each round trip waits for the
            # server process to be scheduled, which on a busy host costs
            # milliseconds. A connection the server dropped (a restart) fails
            # its one request, and SQLAlchemy then discards every pooled
            # connection older than it; the gate sends that report again.
            self.engine = create_engine(self.url, pool_size=pool_size, max_overflow=max_overflow,
                                        pool_recycle=3600)
        else:
            raise ValueError(f"central stores its data in SQLite or PostgreSQL, not {self.dialect!r}")

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def transaction(self, write: bool = False, snapshot: bool = False) -> Iterator[Connection]:
        """A connection in a transaction, committed when the block ends and
        rolled back when it raises.

        `snapshot=True`: every read sees the database as of the first one
        (PostgreSQL REPEATABLE READ; an SQLite read transaction always does).

        `write=True` on SQLite starts with the write lock (BEGIN IMMEDIATE),
        queued first on a kernel file lock: when two processes collide on
        SQLite's own lock the loser sleeps in a back-off of up to 100 ms a
        step (a fleet's heartbeats from two gunicorn workers made the 99th
        percentile ~0.9 s that way), while the file lock wakes the next
        writer as soon as the last one commits. PostgreSQL needs neither.
        """
        if self.is_sqlite and write:
            lock = _file_lock(self.sqlite_path.with_name(self.sqlite_path.name + ".writelock"))
            with lock.hold(), self.engine.connect() as conn:
                conn.execution_options(gatecast_write=True)
                with conn.begin():
                    yield conn
        else:
            with self.engine.connect() as conn:
                if snapshot and not self.is_sqlite:
                    conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield conn

    # Small conveniences for the CLI, tests and benchmarks.
    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict]:
        with self.transaction() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params or {})]

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        with self.transaction() as conn:
            return conn.execute(text(sql), params or {}).scalar()

    def count(self, table: str) -> int:
        from central.schema import metadata

        with self.transaction() as conn:
            return conn.execute(select(func.count()).select_from(metadata.tables[table])).scalar()

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(engine: Engine, background_checkpoint: bool) -> None:
    """The gate's connection pragmas, and transactions SQLAlchemy begins with
    our own BEGIN (pysqlite's implicit one cannot say IMMEDIATE and breaks
    SAVEPOINT)."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across power loss for committed WAL transactions
        # except the last few.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if background_checkpoint:
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        write = conn.get_execution_options().get("gatecast_write")
        # Straight to the driver: a statement through SQLAlchemy costs more
        # than the BEGIN itself.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def transaction(db: Store | Connection, write: bool = False) -> Iterator[Connection]:
    """The connection a library function works in: its caller's transaction
    when given a Connection, else a transaction of its own."""
    if isinstance(db, Connection):
        if db.in_transaction():
            yield db
        else:
            with db.begin():
                yield db
    else:
        with db.transaction(write) as conn:
            yield conn


def insert_or_update(conn: Connection, table, values: dict | list[dict], keys: tuple[str, ...],
                     update: tuple[str, ...] | None = None) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, on either store. `update`:
    the columns to overwrite (default: every other column given)."""
    rows = values if isinstance(values, list) else [values]
    if not rows:
        return
    columns = tuple(rows[0])
    update = update if update is not None else tuple(c for c in columns if c not in keys)
    if len(rows) > 1 and conn.dialect.name == "postgresql":
        # Several rows: ONE statement of fixed text with the rows as one JSON
        # parameter (json_rows), not an executemany that binds and sends every row
        # from Python. Not when a key repeats (one statement may not update a row
        # twice; executemany's last row wins on the columns updated, the first
        # row's others stay) or a value is not plain JSON (the driver's path then).
        payload = json_payload(rows)
        if payload is not None and len({tuple(r[k] for k in keys) for r in rows}) == len(rows):
            conn.execute(_json_upsert(table, tuple(keys), columns, tuple(update)),
                         {"rows": payload})
            return
    stmt = _upsert(conn.dialect.name, table, tuple(keys), columns, tuple(update))
    conn.execute(stmt, rows)


def json_payload(rows: list[dict]) -> str | None:
    """`rows` as the text of one JSON parameter for json_rows (json.dumps: C), or
    None when a value has no exact JSON form (NaN, a datetime...)."""
    try:
        return json.dumps(rows, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return None


def json_rows(table, columns, name: str = "rows", extra: str = "", kind: str = "jsonb") -> str:
    """SQL for PostgreSQL reading the rows of a JSON parameter `name` (a list of
    objects, json_payload) as a set of `table`'s `columns`, typed as the table's:
    `json_to_recordset(...) AS r(...)`. One statement text whatever the number of
    rows, so the driver parses it once; the rows cost no Python per value.
    `extra`: more "name type" fields of the rows that are not the table's."""
    pg = postgresql.dialect()
    shape = ", ".join([f"{c} {table.c[c].type.compile(dialect=pg)}" for c in columns]
                      + ([extra] if extra else []))
    return f"{kind}_to_recordset(CAST(:{name} AS {kind})) AS r({shape})"


@functools.lru_cache(maxsize=64)
def _json_upsert(table, keys: tuple[str, ...], columns: tuple[str, ...],
                 update: tuple[str, ...]):
    names = ", ".join(columns)
    action = (f"UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in update)}"
              if update else "NOTHING")
    return text(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM "
                f"{json_rows(table, columns)} ON CONFLICT ({', '.join(keys)}) DO {action}")


@functools.lru_cache(maxsize=64)
def _upsert(dialect: str, table, keys: tuple[str, ...], columns: tuple[str, ...],
            update: tuple[str, ...]):
    # Built once per shape: `excluded` copies every column of the table, which
    # cost more than the heartbeat it stores when made per request.
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return insert.on_conflict_do_update(
        index_elements=list(keys), set_={c: insert.excluded[c] for c in update})


def among(column, name: str, dialect: str):
    """`column` is one of the list bound as `name`: on PostgreSQL `= ANY(array)`, one
    statement text whatever the list's length (an expanding IN is a new text per
    length, which the driver parses anew: a cost per batch at 10,000 gates)."""
    from sqlalchemy import ARRAY, Text, any_, bindparam

    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(Text)))
    return column.in_(bindparam(name, expanding=True))


def row(result) -> dict | None:
    first = result.mappings().first()
    return dict(first) if first is not None else None


def rows(result) -> list[dict]:
    return [dict(r) for r in result.mappings()]


# ---- migrations ----------------------------------------------------------------
BASELINE = "0001"


def _alembic_config(conn: Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "central:migrations")
    cfg.attributes["connection"] = conn
    return cfg


def _upgrade(conn: Connection) -> None:
    from alembic import command

    names = set(inspect(conn).get_table_names())
    conn.rollback()
    cfg = _alembic_config(conn)
    if "gate" in names and "alembic_version" not in names:
        # A central.db made before Alembic (sqlite-utils migration m001):
        # its schema is the baseline.
        command.stamp(cfg, BASELINE)
    command.upgrade(cfg, "head")
    if conn.in_transaction():
        conn.commit()


def migrate(url: str) -> None:
    """Bring the database to the newest schema; safe to call from every
    process at once (one migrates, the others wait and find nothing to do)."""
    store = Store(url, pool_size=1, max_overflow=0)
    try:
        with store.engine.connect() as conn:
            if store.is_sqlite:
                path = store.sqlite_path
                with _file_lock(path.with_name(path.name + ".migrate-lock")).hold():
                    _upgrade(conn)
            else:
                conn.execute(select(func.pg_advisory_lock(MIGRATE_LOCK_KEY)))
                conn.commit()
                try:
                    _upgrade(conn)
                finally:
                    conn.execute(select(func.pg_advisory_unlock(MIGRATE_LOCK_KEY)))
                    conn.commit()
    finally:
        store.close()


def schema_revision(store: Store) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "central:migrations")
    return ScriptDirectory.from_config(cfg).get_current_head()


def open_central_db(where, *, migrate_first: bool = True, **kwargs) -> Store:
    """The central store, migrated unless told otherwise. `where`: central's
    Settings (its `central_database_url`), or a state folder (SQLite there)."""
    if isinstance(where, (str, Path)):
        url = default_url(where)
    else:
        url = database_url(where)
        kwargs.setdefault("pool_size", where["central_database_pool_size"])
        kwargs.setdefault("max_overflow", 4 * kwargs["pool_size"])
    if migrate_first:
        migrate(url)
    return Store(url, **kwargs)


# ---- publishing ----------------------------------------------------------------
@contextmanager
def _store_lock(store: Store, suffix: str, key: int) -> Iterator[None]:
    """One holder at a time across every application server (and the CLI).

    PostgreSQL: a session advisory lock on a connection of its own (released
    by the server if this process dies). SQLite lives on one host: a file
    lock next to the database. Neither blocks reports meanwhile.
    """
    if store.is_sqlite:
        path = store.sqlite_path
        with _file_lock(path.with_name(path.name + suffix)).hold():
            yield
        return
    with store.engine.connect() as conn:
        conn.execute(select(func.pg_advisory_lock(key)))
        conn.commit()
        try:
            yield
        finally:
            conn.execute(select(func.pg_advisory_unlock(key)))
            conn.commit()


def publishing(store: Store):
    """Held while a full publication's releases are built: one builder at a
    time. Emergencies never take it (central/publish.py)."""
    return _store_lock(store, ".publishlock", PUBLISH_LOCK_KEY)


def signing(store: Store):
    """Held, briefly, while a new repository version is signed and recorded:
    by a full publication after it has built its releases, and by an
    emergency, which therefore waits for a signature, never for a build."""
    return _store_lock(store, ".signlock", SIGN_LOCK_KEY)


@contextmanager
def exclusive(store: Store, name: str) -> Iterator[bool]:
    """Try to become the one process doing `name` (e.g. "alerts") right now, across
    every application server: yields True while held, False at once when another
    holds it (the caller skips its turn). PostgreSQL: a session advisory try-lock on
    a connection of its own (freed by the server if this process dies); SQLite: a
    non-blocking file lock next to the database."""
    key = EXCLUSIVE_LOCK_KEYS[name]
    if store.is_sqlite:
        path = store.sqlite_path
        lock = _file_lock(path.with_name(f"{path.name}.{name}lock"))
        if not lock.thread_lock.acquire(blocking=False):
            yield False
            return
        try:
            try:
                fcntl.flock(lock.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock.fd, fcntl.LOCK_UN)
        finally:
            lock.thread_lock.release()
        return
    with store.engine.connect() as conn:
        got = conn.execute(select(func.pg_try_advisory_lock(key))).scalar()
        conn.commit()
        if not got:
            yield False
            return
        try:
            yield True
        finally:
            conn.execute(select(func.pg_advisory_unlock(key)))
            conn.commit()


# ---- SQLite housekeeping ---------------------------------------------------------
class Checkpointer:
    """Moves WAL checkpoints off the request path (SQLite only): request
    connections turn SQLite's automatic checkpoint off (it runs inside
    whichever commit crosses 1000 pages, and that request waits for it), and
    this thread copies the WAL back into the database every second, PASSIVE
    so it never blocks a writer."""

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
        import sqlite3

        db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None,
                             check_same_thread=False)
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:  # busy: the next second will do
                    continue
        finally:
            db.close()

    def stop(self) -> None:
        self._stop.set()
