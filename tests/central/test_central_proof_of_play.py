"""Proof of play that lasts: a row's identity survives a gate's reinstall, a batch
sent twice counts once, intake never scans a gate's history, and raw rows older
than the retention become daily totals kept for good. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import event

from central import schema as t
from central.intake import record_proof_of_play, prune_proof_of_play
from kiosk.settings import load_settings
from kiosk.store import utcnow
from kiosk.sync.loop import SyncService
from kiosk.sync.schema import installation_id

from tests.support.sync.gate import Gate

GATE = "lang-son-huu-nghi"


def plays(n, sha, start=1):
    return [{"id": i, "face_id": 1, "media_sha256": sha, "entry_id": "c-e1", "level": "normal",
             "started_at": f"2026-11-27T08:{i % 60:02d}:00+07:00",
             "ended_at": f"2026-11-27T08:{i % 60:02d}:10+07:00", "outcome": "completed"}
            for i in range(start, start + n)]


def install(tmp, server, central, token) -> Gate:
    """A gate installed from scratch in `tmp` (a new state folder, same gate id)."""
    gate = Gate(tmp, server.url, central.repo.trusted_root_path.read_bytes(), gate_id=GATE)
    gate.token_file.write_text(token + "\n")
    return gate


def report(gate: Gate):
    settings = load_settings(config_file=gate.config_file, state_dir=gate.state_dir, env={})
    result = SyncService(settings, gate.db).report()
    assert result.code == "ok", result.error
    return result


def test_a_reinstalled_gate_keeps_both_histories(central, central_server, tmp_path):
    token = central.gate(GATE, faces=(1, 2))
    old, new = "a" * 64, "b" * 64
    first = install(tmp_path / "sd-card-1", central_server, central, token)
    try:
        first.db["proof_of_play"].insert_all(plays(30, old))
        assert report(first).sent["proof_of_play"] == 30
        first_installation = installation_id(first.db)
    finally:
        first.close()
    # The SD card is replaced: a new state folder, row ids start again at 1.
    second = install(tmp_path / "sd-card-2", central_server, central, token)
    try:
        assert installation_id(second.db) != first_installation
        second.db["proof_of_play"].insert_all(plays(20, new))
        assert report(second).sent["proof_of_play"] == 20
    finally:
        second.close()
    rows = central.db.query("SELECT installation, row_id, media_sha256 FROM proof_of_play "
                            "WHERE gate_id = :g", {"g": GATE})
    assert len(rows) == 50
    by_media = {sha: sorted(r["row_id"] for r in rows if r["media_sha256"] == sha)
                for sha in (old, new)}
    assert by_media == {old: list(range(1, 31)), new: list(range(1, 21))}
    assert {r["installation"] for r in rows if r["media_sha256"] == old} == {first_installation}


def test_a_batch_sent_twice_counts_once_and_old_rows_keep_their_key(central):
    central.gate(GATE)
    batch = {"batch_id": str(uuid.uuid4()),
             "rows": [{**r, "installation": "i1"} for r in plays(50, "a" * 64)]}
    assert record_proof_of_play(central.db, GATE, batch) == {"received": 50, "new": 50}
    assert record_proof_of_play(central.db, GATE, batch) == {"received": 50, "new": 0}
    # A row repeated inside a batch is one row.
    twice = {"batch_id": "x", "rows": [{**r, "installation": "i1"} for r in plays(2, "a" * 64,
                                                                                   51)] * 2}
    assert record_proof_of_play(central.db, GATE, twice) == {"received": 4, "new": 2}
    # A gate from before installation ids (no field): its rows keep the key ''.
    legacy = {"batch_id": "y", "rows": plays(10, "c" * 64)}
    assert record_proof_of_play(central.db, GATE, legacy)["new"] == 10
    assert record_proof_of_play(central.db, GATE, legacy)["new"] == 0
    assert central.db.count("proof_of_play") == 62
    assert central.db.scalar("SELECT count(*) FROM proof_of_play WHERE installation = ''") == 10


def _statements(store, fn):
    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, None if executemany else parameters))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        result = fn()
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    return result, [(s, p) for s, p in seen if "proof_of_play" in s]


def test_intake_of_a_batch_does_not_scan_the_gates_history(central, central_store):
    central.gate(GATE)
    sha = "a" * 64
    for start in range(1, 40001, 5000):  # 40 000 rows of history
        record_proof_of_play(central.db, GATE, {"batch_id": None, "rows": [
            {**r, "installation": "i1"} for r in plays(5000, sha, start)]})
    batch = {"batch_id": "next", "rows": [{**r, "installation": "i1"}
                                          for r in plays(500, sha, 39801)]}
    if central_store == "postgresql":
        with central.db.transaction(write=True) as conn:
            conn.exec_driver_sql("ANALYZE proof_of_play")
    result, statements = _statements(central.db, lambda: record_proof_of_play(central.db, GATE,
                                                                               batch))
    assert result == {"received": 500, "new": 300}
    # Rows held or new are told apart by the insert itself (ON CONFLICT on the
    # primary key), so intake reads nothing of the history: every statement that
    # names proof_of_play writes it (on PostgreSQL one statement may also count the
    # rows it added, never the table's).
    assert statements and all(
        s.lstrip().upper().startswith(("INSERT", "WITH")) and "ON CONFLICT" in s
        and "FROM proof_of_play" not in s for s, _ in statements), statements
    with central.db.engine.connect() as conn:
        for statement, params in statements:
            if params is None:  # an executemany (SQLite's inserts; rows held, by key)
                continue
            if central_store == "sqlite":
                plan = [r[-1] for r in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, params).all()]
                # No read of proof_of_play but a search on the whole primary key.
                assert all(not step.startswith(("SCAN proof_of_play", "SEARCH proof_of_play"))
                           or "row_id=?" in step for step in plan), plan
                continue
            [[doc]] = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).all()
            nodes, todo = [], [doc[0]["Plan"]]
            while todo:
                node = todo.pop()
                nodes.append(node)
                todo.extend(node.get("Plans", []))
            # proof_of_play is only written (ModifyTable), never scanned.
            assert not any(n["Node Type"] == "Seq Scan" or (
                "Scan" in n["Node Type"] and n.get("Relation Name") == "proof_of_play")
                for n in nodes), json.dumps(doc)
            # The planner expects to touch about the batch, not the 40 000 rows held.
            assert max(n["Plan Rows"] for n in nodes) <= 2000, json.dumps(doc)


def test_old_raw_rows_become_daily_totals_kept_for_good(central):
    central.gate(GATE)
    now = utcnow()
    long_ago = now - timedelta(days=500)
    old_rows = [{**r, "installation": "i1"} for r in plays(40, "a" * 64)]
    old_rows[0]["outcome"] = "skipped"
    record_proof_of_play(central.db, GATE, {"batch_id": "old", "rows": old_rows}, now=long_ago)
    record_proof_of_play(central.db, GATE, {"batch_id": "new", "rows": [
        {**r, "installation": "i1"} for r in plays(5, "a" * 64, 41)]}, now=now)

    assert prune_proof_of_play(central.db, now - timedelta(days=400)) == {"folded": 40}
    assert central.db.count("proof_of_play") == 5
    daily = {(r["day"], r["outcome"]): (r["plays"], r["airtime_s"])
             for r in central.db.query("SELECT * FROM proof_of_play_daily")}
    # 08:xx at +07:00 is 01:xx UTC on the same day; each play lasted 10 s.
    assert daily == {("2026-11-27", "completed"): (39, 390.0),
                     ("2026-11-27", "skipped"): (1, 10.0)}
    # A late batch for the same day adds to the totals, never replaces them.
    record_proof_of_play(central.db, GATE, {"batch_id": "late", "rows": [
        {**r, "installation": "i2"} for r in plays(2, "a" * 64)]}, now=long_ago)
    assert prune_proof_of_play(central.db, now - timedelta(days=400)) == {"folded": 2}
    assert central.db.scalar(
        "SELECT plays FROM proof_of_play_daily WHERE outcome = 'completed'") == 41
    assert central.db.scalar(f"SELECT count(*) FROM {t.proof_of_play_daily.name}") == 2


def test_rows_stored_before_installation_ids_survive_the_migration(tmp_path, central_database_url):
    from alembic import command

    from central.db import Store, _alembic_config, default_url, migrate

    url = central_database_url or default_url(tmp_path / "central")
    (tmp_path / "central").mkdir()
    store = Store(url)
    try:
        with store.engine.connect() as conn:  # a central at the baseline, holding plays
            command.upgrade(_alembic_config(conn), "0001")
            conn.commit()
        with store.transaction(write=True) as conn:
            # The baseline's columns, written as SQL: schema.py declares the new table.
            conn.exec_driver_sql(
                "INSERT INTO proof_of_play (gate_id, row_id, face_id, media_sha256, started_at, "
                f"outcome, received_at) VALUES ('{GATE}', 7, 1, '{'a' * 64}', "
                "'2026-11-01T08:00:00+07:00', 'completed', '2026-11-01T01:00:10.000+00:00')")
    finally:
        store.close()
    migrate(url)
    store = Store(url)
    try:
        [old] = store.query("SELECT installation, row_id, media_sha256 FROM proof_of_play")
        assert old == {"installation": "", "row_id": 7, "media_sha256": "a" * 64}
        # The old gate resending that row (no installation) adds nothing; the
        # reinstalled gate's row 7 is a row of its own.
        legacy = {"batch_id": "r", "rows": [{**plays(1, "a" * 64, 7)[0]}]}
        assert record_proof_of_play(store, GATE, legacy)["new"] == 0
        fresh = {"batch_id": "n", "rows": [{**plays(1, "b" * 64, 7)[0], "installation": "i2"}]}
        assert record_proof_of_play(store, GATE, fresh)["new"] == 1
        assert store.count("proof_of_play") == 2
    finally:
        store.close()
