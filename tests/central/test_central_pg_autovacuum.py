"""PostgreSQL's housekeeping of the report tables (migration 0016): a fresh central
and one upgraded from 0015 with rows in it both have exactly the storage
parameters (pg_class.reloptions) and column statistics targets
(pg_attribute.attstattarget) that central/schema.py declares, and on a filled
history the planner still reads the console's and the prune's rows through their
indexes. PostgreSQL only: SQLite has no autovacuum daemon or per-column statistics
targets."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from central import schema
from central.db import Store, _alembic_config, migrate

REPORT_TABLES = ("heartbeat", "proof_of_play", "gate_status", "play_day", "face_time_day")


@pytest.fixture
def pg_url(postgres_cluster):
    name = postgres_cluster.create_database()
    try:
        yield postgres_cluster.url(name)
    finally:
        postgres_cluster.drop_database(name)


def declared_options(table) -> dict[str, str]:
    return {k: str(v).lower() for k, v in table.dialect_options["postgresql"]["with"].items()}


def check_housekeeping(conn) -> None:
    """Every table's reloptions and every column's statistics target are what
    central/schema.py says (no more, no less)."""
    found_options = {name: dict(o.split("=", 1) for o in (options or [])) for name, options in
                     conn.execute(text("SELECT relname, reloptions FROM pg_class "
                                       "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"))}
    for table in schema.metadata.tables.values():
        declared = declared_options(table) if table.dialect_options["postgresql"]["with"] else {}
        assert found_options[table.name] == declared, table.name
    targets = {(r.relname, r.attname): r.attstattarget for r in conn.execute(text(
        "SELECT c.relname, a.attname, a.attstattarget FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace "
        "AND a.attnum > 0 AND NOT a.attisdropped"))}
    for table in schema.metadata.tables.values():
        for column in table.columns:
            assert targets[(table.name, column.name)] == column.info.get(
                "postgresql_statistics", -1), (table.name, column.name)


def test_the_report_tables_declare_their_housekeeping():
    # What 0016 is about: the append-only history analyzed by row counts, throttled;
    # the JSON columns without statistics. (The database side is checked below.)
    for name in ("heartbeat", "proof_of_play"):
        options = declared_options(schema.metadata.tables[name])
        assert options["autovacuum_vacuum_cost_delay"] == "20"
        assert int(options["autovacuum_analyze_threshold"]) >= 100_000
    assert schema.heartbeat.c.body.info["postgresql_statistics"] == 0
    assert schema.gate_status.c.heartbeat.info["postgresql_statistics"] == 0
    assert "postgresql_statistics" not in schema.heartbeat.c.received_at.info


def test_a_fresh_central_has_the_declared_housekeeping(pg_url):
    migrate(pg_url)
    store = Store(pg_url)
    try:
        with store.engine.connect() as conn:
            check_housekeeping(conn)
    finally:
        store.close()


def test_an_upgraded_central_has_it_and_its_plans_still_use_the_indexes(pg_url):
    store = Store(pg_url)
    try:
        with store.engine.connect() as conn:
            command.upgrade(_alembic_config(conn), "0015")
            conn.commit()
            # A history to plan on: 200 gates x 100 heartbeats, 12 plays each.
            conn.execute(text("""
                INSERT INTO heartbeat (gate_id, received_at, sent_at, release_version, body)
                SELECT 'g' || (i % 200), to_char(timestamp '2026-11-01' + i * interval '300 ms',
                       'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), NULL, 1, repeat('{"x": 1}', 190)
                FROM generate_series(1, 20000) i"""))
            conn.execute(text("""
                INSERT INTO proof_of_play (gate_id, installation, row_id, face_id, media_sha256,
                       entry_id, level, started_at, ended_at, outcome, reason, batch_id, received_at)
                SELECT 'g' || (i % 200), 'inst', i, i % 2 + 1, md5((i % 30)::text), 'e', 'normal',
                       to_char(timestamp '2026-11-01' + i * interval '25 ms',
                               'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), NULL, 'played', NULL, 'b',
                       to_char(timestamp '2026-11-01' + i * interval '25 ms',
                               'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
                FROM generate_series(1, 240000) i"""))
            conn.commit()
        migrate(pg_url)
        with store.engine.connect() as conn:
            check_housekeeping(conn)
            assert conn.execute(text("SELECT count(*) FROM heartbeat")).scalar() == 20000
            conn.execute(text("ANALYZE heartbeat, proof_of_play"))
            # ANALYZE skipped the columns without statistics, kept the others.
            analyzed = set(conn.execute(text(
                "SELECT tablename || '.' || attname FROM pg_stats "
                "WHERE tablename IN ('heartbeat', 'proof_of_play')")).scalars())
            assert {"heartbeat.gate_id", "heartbeat.received_at", "proof_of_play.gate_id",
                    "proof_of_play.received_at", "proof_of_play.outcome"} <= analyzed
            assert not {"heartbeat.body", "proof_of_play.reason",
                        "proof_of_play.batch_id"} & analyzed

            def plan(sql: str) -> str:
                return " ".join(r[0] for r in conn.execute(text("EXPLAIN " + sql)))

            # The console's gate history (central.fleet.gate_history).
            history = plan("SELECT received_at, release_version, body FROM heartbeat "
                           "WHERE gate_id = 'g7' AND received_at >= '2026-11-01T01:00:00' "
                           "AND received_at < '2026-11-01T02:00:00' "
                           "ORDER BY received_at DESC, id DESC LIMIT 50000")
            assert "heartbeat_gate" in history and "Seq Scan" not in history, history
            # prune_heartbeats and prune_proof_of_play, a day's worth off the start.
            prune = plan("DELETE FROM heartbeat WHERE received_at < '2026-11-01T00:10:00'")
            assert "heartbeat_received" in prune and "Seq Scan" not in prune, prune
            folded = plan("SELECT gate_id, row_id FROM proof_of_play "
                          "WHERE received_at < '2026-11-01T00:01:00' AND outcome <> 'playing' "
                          "LIMIT 5000")
            assert "proof_of_play_received" in folded and "Seq Scan" not in folded, folded
            # The alert rules' media started on a face (central.alerts._media_started).
            media = plan("SELECT count(DISTINCT media_sha256) FROM proof_of_play "
                         "WHERE gate_id = 'g7' AND face_id = 2 "
                         "AND started_at > '2026-11-01T00:30:00' AND started_at < '2026-11-01T00:40:00'")
            assert "pkey" in media and "Seq Scan" not in media, media  # (gate_id, ...)
        with store.engine.connect() as conn:  # and back: 0016's downgrade leaves 0015's state
            command.downgrade(_alembic_config(conn), "0015")
            conn.commit()
            options = dict(conn.execute(text(
                "SELECT relname, reloptions FROM pg_class WHERE relname IN "
                "('heartbeat', 'gate_status', 'play_day')")).all())
            assert options == {"heartbeat": None, "gate_status": ["fillfactor=50"],
                               "play_day": ["fillfactor=70"]}
            assert conn.execute(text(
                "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'heartbeat'::regclass "
                "AND attname = 'body'")).scalar() == -1
    finally:
        store.close()
