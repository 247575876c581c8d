"""The central store on SQLite and PostgreSQL: migrations (the schema they
make is the one the code declares; once under a lock; a pre-Alembic
central.db is upgraded keeping its data) and the single-writer publish lock
across processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from central.db import (
    Store,
    default_url,
    head_revision,
    migrate,
    open_central_db,
    publishing,
    schema_revision,
)
from central.fleet import add_gate, get_gate, overview
from central.intake import record_heartbeat
from central.schema import metadata
from central.users import add_user, user_for_token

HERE = Path(__file__).resolve().parent


@pytest.fixture
def url(tmp_path, central_database_url):
    return central_database_url or default_url(tmp_path / "central")


def test_migrations_make_the_declared_schema(url):
    migrate(url)
    store = Store(url)
    try:
        assert schema_revision(store) == head_revision()
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={
                "include_object": _for_this_store(conn.dialect.name)}), metadata)
        assert diff == [], "central/schema.py and central/migrations disagree: write a migration"
    finally:
        store.close()


def _for_this_store(dialect: str):
    """compare_metadata's filter: an object declared for other stores only
    (`.ddl_if(dialect=...)`, e.g. SQLite's gate_status_changed) is not expected here."""
    def include(obj, name, type_, reflected, compare_to):
        rule = getattr(obj if not reflected else compare_to, "_ddl_if", None)
        wanted = getattr(rule, "dialect", None)
        return wanted is None or dialect in ((wanted,) if isinstance(wanted, str) else wanted)
    return include


def test_concurrent_migrations_run_once_under_the_lock(url):
    """As gunicorn workers or several servers starting together would: every
    process migrates at once; none fails, the schema is made once."""
    code = "import sys; from central.db import migrate; migrate(sys.argv[1]); print('ok')"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outcomes = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outcomes):
        assert proc.returncode == 0 and out.strip() == "ok", err
    store = Store(url)
    try:
        assert schema_revision(store) == head_revision()
        assert store.scalar("SELECT count(*) FROM alembic_version") == 1
    finally:
        store.close()


def test_a_central_db_from_before_alembic_is_upgraded_with_its_data(tmp_path):
    state = tmp_path / "central"
    state.mkdir()
    old = sqlite3.connect(state / "central.db")
    old.executescript((HERE / "central_v0_schema.sql").read_text())
    old.execute("INSERT INTO gate(id, name, faces, token_hash) VALUES ('huu-nghi', 'Hữu Nghị', "
                "'[1, 2]', 'x')")
    old.execute("INSERT INTO heartbeat(gate_id, received_at, body) VALUES "
                "('huu-nghi', '2026-11-01T00:00:00.000+00:00', '{}')")
    old.commit()
    old.close()

    store = open_central_db(state)
    try:
        assert schema_revision(store) == head_revision()
        assert get_gate(store, "huu-nghi")["faces"] == [1, 2]
        # The upgraded tables go on working: numbering continues, new rows fit.
        record_heartbeat(store, "huu-nghi", {"release_version": 3})
        assert [r["id"] for r in store.query("SELECT id FROM heartbeat ORDER BY id")] == [1, 2]
        token = add_user(store, "lan", "admin")
        assert user_for_token(store, "lan", token)["role"] == "admin"
        add_gate(store, "tan-thanh", "Tân Thanh")
        assert [g["id"] for g in overview(store, 60)] == ["huu-nghi", "tan-thanh"]
    finally:
        store.close()
    open_central_db(state).close()  # a second start finds nothing to do


def test_the_migrate_command(runner, tmp_path, central_database_url):
    from tests.support.central import central_config
    from kiosk.cli import main

    cfg = central_config(tmp_path / "central.toml", central_database_url=central_database_url)
    args = ["central", "migrate", "--state", str(tmp_path / "central"), "--config", str(cfg)]
    for _ in range(2):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        assert f"lược đồ {head_revision()}" in result.output  # the province's language


HOLD = """
import sys
from central.db import Store, publishing
store = Store(sys.argv[1])
with publishing(store):
    print("holding", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


def test_publishing_is_single_writer_across_processes(url):
    """Another process (an application server or the CLI) holding the
    publish lock keeps this one out until it lets go."""
    migrate(url)
    store = Store(url)
    with subprocess.Popen([sys.executable, "-c", HOLD, url], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as holder:
        try:
            _kept_out_until_released(store, holder)
        finally:
            holder.kill()
            store.close()


def _kept_out_until_released(store, holder):
    assert holder.stdout.readline().strip() == "holding"
    entered = threading.Event()

    def publisher():
        with publishing(store):
            entered.set()

    thread = threading.Thread(target=publisher)
    thread.start()
    # Kept out while the other process holds the lock ...
    assert not entered.wait(1.0)
    holder.stdin.write("\n")
    holder.stdin.flush()
    # ... and let in once it lets go.
    assert entered.wait(60)
    thread.join(timeout=60)
    assert holder.stdout.readline().strip() == "released"


def test_a_publisher_that_dies_releases_the_lock(url):
    migrate(url)
    store = Store(url)
    try:
        with subprocess.Popen([sys.executable, "-c", HOLD, url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) as holder:
            assert holder.stdout.readline().strip() == "holding"
            holder.kill()
        done = threading.Event()

        def publisher():
            with publishing(store):
                done.set()

        thread = threading.Thread(target=publisher)
        thread.start()
        assert done.wait(60), "the lock outlived the process that held it"
        thread.join(timeout=60)
    finally:
        store.close()
