import hashlib
import sqlite3
import threading

import pytest

from kiosk.mediastore import HashMismatch, MediaStore, MediaStoreError
from kiosk.store import connect, desired_revision, get_state, open_db, set_state, writing


def test_migrations_are_recorded_and_idempotent(db_path):
    db = open_db(db_path)
    applied = [r["name"] for r in db["_sqlite_migrations"].rows]
    assert "m001_core" in applied
    db.close()
    db = open_db(db_path)  # second start applies nothing new
    assert [r["name"] for r in db["_sqlite_migrations"].rows] == applied
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_open_db_applies_the_sets_it_is_given_in_order(empty_state_dir):
    db_path = empty_state_dir / "gatecast.db"  # a new database: only the sets given
    from kiosk import migrations as core
    from kiosk.entrypoints import migration_sets

    db = open_db(db_path, [core.migrations])
    try:
        assert "schedule_entry" in db.table_names() and "admin_user" not in db.table_names()
        assert {r["migration_set"] for r in db["_sqlite_migrations"].rows} == {"gatecast.core"}
    finally:
        db.close()
    # A whole gate: every installed set, the core first (the others build on it).
    sets = migration_sets()
    assert sets[0] is core.migrations
    assert [m.name for m in sets] == ["gatecast.core", "gatecast.admin", "gatecast.sync"]
    db = open_db(db_path)
    try:
        applied = [r["migration_set"] for r in db["_sqlite_migrations"].rows]
        assert applied.index("gatecast.core") < applied.index("gatecast.admin") < \
            applied.index("gatecast.sync")
        assert "admin_user" in db.table_names() and "sync_outbox" in db.table_names()
    finally:
        db.close()


def test_desired_writes_bump_revision_actual_writes_do_not(fresh_db):
    r0 = desired_revision(fresh_db)
    fresh_db["playlist"].insert({"id": "p1", "name": "Morning"})
    r1 = desired_revision(fresh_db)
    assert r1 == r0 + 1
    set_state(fresh_db, "health", {"cpu_temp_c": 51.5})
    fresh_db["face_state"].upsert({"face_id": 1, "power": "on"}, pk="face_id")
    assert desired_revision(fresh_db) == r1
    assert get_state(fresh_db, "health") == {"cpu_temp_c": 51.5}


def test_revision_seen_by_another_connection(db_path):
    a, b = open_db(db_path), open_db(db_path)
    before = desired_revision(b)
    a["blank"].update(1, {"active": 1, "reason": "test"})
    assert desired_revision(b) == before + 1


def test_foreign_keys_enforced(fresh_db):
    with pytest.raises(sqlite3.IntegrityError):
        fresh_db["playlist_item"].insert(
            {"playlist_id": "nope", "position": 0, "media_sha256": "0" * 64}
        )


def test_media_store_verifies_before_rename(tmp_path):
    store = MediaStore(tmp_path / "media")
    data = b"picture bytes"
    sha = store.add_bytes(data)
    assert sha == hashlib.sha256(data).hexdigest() and store.path(sha).read_bytes() == data
    with pytest.raises(HashMismatch):
        store.add_bytes(b"tampered", expected=sha.replace(sha[0], "f" if sha[0] != "f" else "e", 1))
    assert store.all() == [sha]  # nothing half-written left behind
    assert not list((tmp_path / "media").glob(".incoming-*"))


@pytest.mark.parametrize("name", ["../etc/passwd", "a" * 64 + "/x", "", "A" * 64, "x" * 63])
def test_media_store_refuses_hostile_names(tmp_path, name):
    with pytest.raises(MediaStoreError):
        MediaStore(tmp_path).path(name)


def test_interrupted_write_leaves_no_file(tmp_path):
    store = MediaStore(tmp_path)

    def chunks():
        yield b"first half"
        raise ConnectionError("link dropped")

    with pytest.raises(ConnectionError):
        store.add_stream(chunks())
    assert store.all() == [] and not list(tmp_path.glob(".incoming-*"))


def test_processes_starting_together_migrate_once(tmp_path):
    # Admin, player and sync open a fresh database at the same moment at boot.
    import subprocess
    import sys

    db_path = tmp_path / "gatecast.db"
    code = "import sys; from kiosk.store import open_db; open_db(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db_path)], stderr=subprocess.PIPE)
             for _ in range(6)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    db = open_db(db_path)
    names = [r["name"] for r in db["_sqlite_migrations"].rows]
    assert len(names) == len(set((r["migration_set"], r["name"]) for r in db["_sqlite_migrations"].rows))
    db.close()


def test_a_read_then_write_transaction_waits_for_another_writer(db_path):
    """The kill switch read the blank row, the player wrote, then the kill switch's
    write failed at once with "database is locked" (a deferred transaction's stale
    snapshot gets no busy wait). writing() takes the write lock at BEGIN, so the
    other process waits instead and both writes land."""
    db = open_db(db_path)
    other = connect(db_path)
    try:
        def player_writes():
            other.execute("UPDATE revision SET n = n + 100 WHERE id = 1")

        # The old way fails exactly as seen in CI: the other write gets in between.
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            with db.atomic():
                db.execute("SELECT n FROM revision WHERE id = 1").fetchone()
                player_writes()
                db.execute("UPDATE revision SET n = n + 1 WHERE id = 1")
        before = desired_revision(db)
        with writing(db):
            db.execute("SELECT n FROM revision WHERE id = 1").fetchone()
            writer = threading.Thread(target=player_writes)
            writer.start()
            writer.join(timeout=0.5)
            assert writer.is_alive(), "the other writer should wait for our lock"
            db.execute("UPDATE revision SET n = n + 1 WHERE id = 1")
        writer.join(timeout=30)
        assert not writer.is_alive()
        assert desired_revision(db) == before + 101
    finally:
        other.close()
        db.close()
