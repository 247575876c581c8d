"""A gate's status row (gate_status) on both stores, as migration 0015 leaves it:
intake writes the alert rules' view with it; on PostgreSQL a report's update is
heap-only and stamps the row without a trigger, while a row written any other way
is still stamped; the alert loop reads a row without a view from its heartbeat;
heartbeat history is pruned through an index and holds a heartbeat sent again
once (0017); a database from before 0015 is upgraded with its rows and goes on
working."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from kiosk.store import iso

from central.alert_rules import heartbeat_view
from central.alerts import FleetMemory, list_alerts, tick
from central.intake import check_heartbeat, prune_heartbeats, record_heartbeat, store_heartbeats
from tests.support.wait import wait_for

T = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
GATES = [f"cua-khau-{i:02d}" for i in range(12)]


def beat(temp: float = 55.0, disk_free_mb: float | None = None, **more) -> dict:
    """A heartbeat as the gate sends it, ~1.4 KB (kiosk.sync.outbox.build_heartbeat)."""
    face = {"power": "on", "blanked": 0, "level": "normal", "entry_id": "c-e-1a2b3c4d",
            "playing_sha256": "a" * 64, "playing_name": "Chào mừng đến Hữu Nghị.mp4",
            "playing_kind": "video", "since": "2026-11-30T15:00:00.000+07:00",
            "next_sha256": "b" * 64, "next_name": "Thông báo thủ tục.png",
            "next_at": "2026-11-30T15:00:30.000+07:00", "last_error": None}
    return {"sent_at": iso(T), "release_version": 3, "last_good_release_version": 3,
            "sync": {"status": "unchanged", "code": "ok", "clock": {"synchronised": True}},
            "health": {"cpu_temp_c": temp, "load": [0.4, 0.5, 0.5], "disk_free_mb": 20480,
                       "memory_free_mb": 1800, "uptime_s": 86400,
                       **({"disk": {"free_mb": disk_free_mb}} if disk_free_mb else {})},
            "faces": [{"face_id": 1, **face}, {"face_id": 2, **face}], "errors": [], **more}


def _write_status(conn, gate_id: str, when: datetime, body: dict) -> None:
    """A status row as written before migration 0015 (or by hand): no view, no stamp."""
    conn.execute(text(
        "INSERT INTO gate_status (gate_id, last_heartbeat_at, sent_at, release_version, "
        "last_good_release_version, heartbeat) VALUES (:g, :at, :at, 3, 3, :body)"),
        {"g": gate_id, "at": iso(when), "body": json.dumps(body, ensure_ascii=False)})


def _xact_stats(conn) -> tuple[int, int, int]:
    """PostgreSQL, counted by this backend and not yet reported (this transaction's
    and maybe earlier ones': compare two readings): gate_status rows updated, of
    which heap-only, and calls of the stamp triggers' functions (0010, 0018)."""
    upd, hot = conn.exec_driver_sql(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
        "WHERE relname = 'gate_status'").one()
    calls = conn.exec_driver_sql(
        "SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions "
        "WHERE funcname IN ('gate_status_stamp', 'gate_status_hand_update')").scalar()
    return upd, hot, calls


def test_intake_writes_the_alert_view_with_the_status(central):
    record_heartbeat(central.db, "huu-nghi", beat(91.5), now=T)
    # A NaN has no JSON form: the batch goes as text (intake's fallback), the view too.
    nan = beat(float("nan"), disk_free_mb=12.0)
    record_heartbeat(central.db, "tan-thanh", nan, now=T)
    views = {r["gate_id"]: r["alert_view"] for r in central.db.query(
        "SELECT gate_id, alert_view FROM gate_status")}
    assert json.loads(views["huu-nghi"]) == heartbeat_view(beat(91.5))
    assert views["huu-nghi"] == json.dumps(heartbeat_view(beat(91.5)), ensure_ascii=False)
    assert json.loads(views["tan-thanh"])["health"]["disk"] == {"free_mb": 12.0}
    assert "NaN" in views["tan-thanh"]
    assert len(views["huu-nghi"]) * 4 < len(json.dumps(beat(), ensure_ascii=False))


def test_a_status_update_is_heap_only_and_stamped_once(central, central_store):
    """PostgreSQL: a report's update of a gate's status changes no indexed column and
    finds room on its page, so it is heap-only (no dead row left for VACUUM with new
    index entries), and intake stamps the row itself: the trigger does not run. A
    status written by hand is still stamped, by the trigger, on both stores."""
    db = central.db
    with db.transaction(write=True) as conn:
        store_heartbeats(conn, [(g, check_heartbeat(beat()), T) for g in GATES])
    stamps = {r["gate_id"]: r["changed"] for r in db.query("SELECT gate_id, changed FROM gate_status")}
    assert all(stamps.values()) and len(stamps) == len(GATES)
    updated = hot = 0
    for minute in range(1, 5):  # each gate reports in its own transaction, as they come
        for g in GATES:
            now = T + timedelta(minutes=minute)
            with db.transaction(write=True) as conn:
                if central_store == "postgresql":
                    conn.exec_driver_sql("SET LOCAL track_functions = 'pl'")
                    was = _xact_stats(conn)
                store_heartbeats(conn, [(g, check_heartbeat(beat(50.0 + minute)), now)])
                if central_store == "postgresql":
                    upd, h, calls = (b - a for a, b in zip(was, _xact_stats(conn)))
                    updated, hot = updated + upd, hot + h
                    assert calls == 0, "the stamp trigger ran for intake's own write"
    # Every gate in one group commit: rows that share a page need room for all their
    # new versions at once (neighbours in the heap first reported together).
    with db.transaction(write=True) as conn:
        was = _xact_stats(conn) if central_store == "postgresql" else None
        store_heartbeats(conn, [(g, check_heartbeat(beat(60.0)), T + timedelta(minutes=5))
                                for g in GATES])
        if was is not None:
            upd, h, _ = (b - a for a, b in zip(was, _xact_stats(conn)))
            updated, hot = updated + upd, hot + h
    if central_store == "postgresql":
        assert updated == 5 * len(GATES) and hot == updated, (updated, hot)
    after = {r["gate_id"]: r["changed"] for r in db.query("SELECT gate_id, changed FROM gate_status")}
    assert all(after[g] > stamps[g] for g in GATES)
    # Written by hand: an update that leaves the stamp, and an insert without one.
    with db.transaction(write=True) as conn:
        if central_store == "postgresql":
            conn.exec_driver_sql("SET LOCAL track_functions = 'pl'")
            was = _xact_stats(conn)[2]
        conn.exec_driver_sql("UPDATE gate_status SET sent_at = 'sửa tay' WHERE gate_id = 'cua-khau-03'")
        conn.exec_driver_sql("INSERT INTO gate_status (gate_id, heartbeat) VALUES ('moi', '{}')")
        if central_store == "postgresql":
            assert _xact_stats(conn)[2] - was == 2  # once for each row, no more
    final = {r["gate_id"]: r["changed"] for r in db.query("SELECT gate_id, changed FROM gate_status")}
    assert final["cua-khau-03"] > after["cua-khau-03"] and final["moi"] > 0
    assert final["cua-khau-04"] == after["cua-khau-04"]


def test_the_loop_reads_a_status_without_a_view_from_its_heartbeat(central):
    """A status written before migration 0015, or by hand, has no alert view: the
    alert loop works it out from the heartbeat, and the rules see what they would."""
    central.gate("huu-nghi", faces=(1, 2))
    central.gate("tan-thanh", faces=(1, 2))
    now = datetime.now(timezone.utc)
    record_heartbeat(central.db, "tan-thanh", beat(), now=now)
    with central.db.transaction(write=True) as conn:
        _write_status(conn, "huu-nghi", now, beat(93.0, disk_free_mb=7.0))
    memory = FleetMemory()
    assert tick(central.db, central.settings, now=now + timedelta(seconds=1), memory=memory)
    assert memory.last_read == 2
    assert memory.status["huu-nghi"][2] == heartbeat_view(beat(93.0, disk_free_mb=7.0))
    assert memory.status["tan-thanh"][2] == heartbeat_view(beat())
    assert {(a["gate_id"], a["kind"]) for a in central.db.query(
        "SELECT gate_id, kind FROM alert")} == {("huu-nghi", "temperature"), ("huu-nghi", "disk_low")}
    # The next heartbeat comes through intake with its view: read, and the same facts.
    record_heartbeat(central.db, "huu-nghi", beat(93.0, disk_free_mb=7.0),
                     now=now + timedelta(seconds=60))
    tick(central.db, central.settings, now=now + timedelta(seconds=61), memory=memory)
    assert memory.last_read == 1
    assert central.db.count("alert") == 2


def test_old_heartbeats_are_pruned_through_an_index(central, central_store):
    db = central.db
    with db.transaction(write=True) as conn:
        for hour in range(48):  # two days of history, 12 gates an hour
            at = T + timedelta(hours=hour)
            store_heartbeats(conn, [(g, check_heartbeat(beat(sent_at=iso(at))), at)
                                    for g in GATES])
    assert prune_heartbeats(db, T + timedelta(hours=30)) == 30 * len(GATES)
    assert db.count("heartbeat") == 18 * len(GATES)
    assert db.scalar("SELECT min(received_at) FROM heartbeat") == iso(T + timedelta(hours=30))
    assert prune_heartbeats(db, T + timedelta(hours=30)) == 0
    # The delete finds the old rows by time, without reading the whole history.
    cutoff = iso(T + timedelta(hours=40))
    with db.transaction() as conn:
        if central_store == "sqlite":
            plan = " ".join(r[-1] for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN DELETE FROM heartbeat WHERE received_at < ?", (cutoff,)))
            assert "USING INDEX heartbeat_received" in plan or \
                "USING COVERING INDEX heartbeat_received" in plan, plan
        else:
            # A small table is cheapest read whole: ask the planner for the other way.
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(r[0] for r in conn.exec_driver_sql(
                "EXPLAIN DELETE FROM heartbeat WHERE received_at < %s", (cutoff,)))
            assert "heartbeat_received" in plan and "Seq Scan" not in plan, plan


def test_a_database_from_before_0015_is_upgraded_and_goes_on_working(tmp_path, central_database_url):
    from alembic import command

    from central.db import Store, _alembic_config, default_url, migrate

    url = central_database_url or default_url(tmp_path / "central")
    (tmp_path / "central").mkdir()
    store = Store(url)
    try:
        with store.engine.connect() as conn:  # a central at 0014, with statuses and history
            command.upgrade(_alembic_config(conn), "0014")
            conn.commit()
        with store.transaction(write=True) as conn:
            for g in GATES[:3]:
                _write_status(conn, g, T, beat())
        before = {r["gate_id"]: r["changed"] for r in store.query("SELECT * FROM gate_status")}
        assert all(before.values()) and "alert_view" not in store.query(
            "SELECT * FROM gate_status")[0]
    finally:
        store.close()
    migrate(url)
    store = Store(url)
    try:
        rows = {r["gate_id"]: r for r in store.query("SELECT * FROM gate_status")}
        assert {g: r["changed"] for g, r in rows.items()} == before  # kept as they were
        assert all(r["alert_view"] is None for r in rows.values())
        memory = FleetMemory()
        with store.transaction() as conn:
            assert memory.statuses(conn) == set(GATES[:3])
        assert memory.status[GATES[0]][2] == heartbeat_view(beat())
        with store.transaction(write=True) as conn:
            store_heartbeats(conn, [(GATES[0], check_heartbeat(beat(90.0)), T + timedelta(minutes=1))])
        with store.transaction() as conn:
            assert memory.statuses(conn) == {GATES[0]}
        assert memory.status[GATES[0]][2]["health"]["cpu_temp_c"] == 90.0
        assert store.scalar(f"SELECT alert_view FROM gate_status WHERE gate_id = '{GATES[0]}'")
    finally:
        store.close()


def _history(db) -> list[tuple]:
    return [(r["gate_id"], r["received_at"], r["sent_at"], r["body"]) for r in db.query(
        "SELECT gate_id, received_at, sent_at, body FROM heartbeat ORDER BY id")]


def test_a_heartbeat_sent_again_is_kept_once_in_the_history(central):
    """What identifies a heartbeat (migration 0017): its gate and sent_at. A copy is
    not stored again, in the same batch or a later one, while its status still
    moves on; the same sent_at of another gate, or no sent_at, is stored."""
    db = central.db
    first = beat()
    with db.transaction(write=True) as conn:  # the copy in the same group commit
        store_heartbeats(conn, [(GATES[0], check_heartbeat(first), T),
                                (GATES[1], check_heartbeat(first), T),
                                (GATES[0], check_heartbeat(beat()), T + timedelta(seconds=1))])
    held = _history(db)
    assert [(g, at) for g, at, _, _ in held] == [(GATES[0], iso(T)), (GATES[1], iso(T))]
    later = T + timedelta(minutes=3)  # the gate's next round, after a lost answer
    record_heartbeat(db, GATES[0], beat(), now=later)
    assert _history(db) == held
    status = db.query(f"SELECT last_heartbeat_at FROM gate_status WHERE gate_id = '{GATES[0]}'")
    assert status[0]["last_heartbeat_at"] == iso(later)
    record_heartbeat(db, GATES[0], beat(71.0, sent_at=iso(later)), now=later)
    record_heartbeat(db, GATES[0], {"release_version": 3}, now=later)  # no sent_at
    record_heartbeat(db, GATES[0], {"release_version": 3}, now=later)
    bodies = [json.loads(b) for g, _, _, b in _history(db) if g == GATES[0]]
    assert bodies == [first, beat(71.0, sent_at=iso(later)), {"release_version": 3},
                      {"release_version": 3}]


def test_two_copies_in_concurrent_transactions_are_kept_once(central, central_store):
    """PostgreSQL: a gate that gave up waiting sends its report again while central
    still holds the first copy uncommitted; the second transaction waits on the
    unique index, then stores nothing. (SQLite's writers go one at a time.)"""
    if central_store != "postgresql":
        pytest.skip("SQLite's writers go one at a time")
    db = central.db
    done = threading.Event()

    def second_copy():
        with db.transaction(write=True) as conn:
            store_heartbeats(conn, [(GATES[0], check_heartbeat(beat()), T + timedelta(seconds=30))])
        done.set()

    with db.transaction(write=True) as conn:
        store_heartbeats(conn, [(GATES[0], check_heartbeat(beat()), T)])
        thread = threading.Thread(target=second_copy)
        thread.start()
        wait_for(lambda: db.scalar("SELECT count(*) FROM pg_stat_activity WHERE "
                                   "wait_event_type = 'Lock' AND query LIKE '%heartbeat%'"),
                 what="the second copy waiting on the first")
    thread.join(60)
    assert done.is_set()
    assert [(g, at) for g, at, _, _ in _history(db)] == [(GATES[0], iso(T))]


def test_copies_already_in_the_history_go_on_upgrade(tmp_path, central_database_url):
    """A database from before 0017 holds the copies re-sent reports left: the
    upgrade keeps the first of each (when the heartbeat first arrived) and every
    other heartbeat, and intake then stores no new copy."""
    from alembic import command

    from central.db import Store, _alembic_config, default_url, migrate

    url = central_database_url or default_url(tmp_path / "central")
    (tmp_path / "central").mkdir()
    store = Store(url)
    body = json.dumps(beat(), ensure_ascii=False)
    other = json.dumps(beat(71.0), ensure_ascii=False)
    minute = T + timedelta(minutes=1)
    rows = [(GATES[0], T, T, body), (GATES[0], T + timedelta(seconds=5), T, body),
            (GATES[1], T, T, body), (GATES[0], minute, minute, other),
            (GATES[0], T + timedelta(minutes=2), T, body),
            (GATES[0], minute, None, other), (GATES[0], minute, None, other)]
    try:
        with store.engine.connect() as conn:
            command.upgrade(_alembic_config(conn), "0015")
            conn.commit()
        with store.transaction(write=True) as conn:
            for g, at, sent, b in rows:
                conn.execute(text("INSERT INTO heartbeat (gate_id, received_at, sent_at, body) "
                                  "VALUES (:g, :at, :sent, :b)"),
                             {"g": g, "at": iso(at), "sent": sent and iso(sent), "b": b})
    finally:
        store.close()
    migrate(url)
    store = Store(url)
    try:
        kept = [(g, at, b) for g, at, _, b in _history(store)]
        assert kept == [(GATES[0], iso(T), body), (GATES[1], iso(T), body),
                        (GATES[0], iso(minute), other), (GATES[0], iso(minute), other),
                        (GATES[0], iso(minute), other)]
        record_heartbeat(store, GATES[0], beat(), now=T + timedelta(minutes=3))
        assert [(g, at, b) for g, at, _, b in _history(store)] == kept
    finally:
        store.close()


def test_a_heartbeat_written_by_hand_clears_the_view_it_left_behind(central):
    """Migration 0018: an update of a gate's heartbeat that leaves its alert view as
    it was (by hand, a script) clears the view, so the alert loop reads the new
    heartbeat, not the old view; intake, whose new heartbeat often leaves the view
    as it was, keeps it; a hand write of both, or of other columns, keeps it."""
    db = central.db
    for g in GATES[:3]:
        record_heartbeat(db, g, beat(), now=T)
    record_heartbeat(db, GATES[0], beat(sent_at=iso(T + timedelta(minutes=1))),
                     now=T + timedelta(minutes=1))  # the same view: kept
    views = lambda: {r["gate_id"]: r["alert_view"] for r in db.query(  # noqa: E731
        "SELECT gate_id, alert_view FROM gate_status")}
    kept = views()
    assert kept[GATES[0]] == kept[GATES[1]] == view_text_of(beat())
    memory = FleetMemory()
    with db.transaction() as conn:
        memory.statuses(conn)
    hot = json.dumps(beat(96.0), ensure_ascii=False)
    with db.transaction(write=True) as conn:
        conn.execute(text("UPDATE gate_status SET heartbeat = :b WHERE gate_id = :g"),
                     {"b": hot, "g": GATES[0]})
        conn.execute(text("UPDATE gate_status SET heartbeat = :b, alert_view = :v "
                          "WHERE gate_id = :g"),
                     {"b": hot, "v": view_text_of(beat(96.0)), "g": GATES[1]})
        conn.execute(text("UPDATE gate_status SET sent_at = 'sửa tay' WHERE gate_id = :g"),
                     {"g": GATES[2]})
    now = views()
    assert now[GATES[0]] is None
    assert now[GATES[1]] == view_text_of(beat(96.0)) and now[GATES[2]] == kept[GATES[2]]
    with db.transaction() as conn:
        assert memory.statuses(conn) == set(GATES[:3])
    # The loop sees the heartbeat written by hand, on both rows.
    assert memory.status[GATES[0]][2] == heartbeat_view(beat(96.0)) == memory.status[GATES[1]][2]
    record_heartbeat(db, GATES[0], beat(sent_at=iso(T + timedelta(minutes=2))),
                     now=T + timedelta(minutes=2))
    assert views()[GATES[0]] == view_text_of(beat())  # intake writes it again


def view_text_of(body: dict) -> str:
    return json.dumps(heartbeat_view(body), ensure_ascii=False)
