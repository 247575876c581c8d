"""One group-commit transaction of gate reports (central.intake.store_reports) on
both stores: what it stores is what the reports stored one by one would, however
the batch is written (PostgreSQL: two statements with JSON parameters; SQLite:
one statement per table). Worked out by hand from the reports sent."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from central import schema as t
from central.db import insert_or_update
from central.intake import _rows_json, check_report, record_heartbeat, store_reports

T = datetime(2026, 11, 10, 3, 0, tzinfo=timezone.utc)  # 10:00 in Hà Nội
SHA = "a" * 64


def beat(minute: int, **more) -> dict:
    return {"sent_at": (T + timedelta(minutes=minute)).isoformat(), "release_version": minute,
            "last_good_release_version": minute,
            "faces": [{"face_id": 1, "power": "on", "blanked": 0, "playing_sha256": SHA,
                       "playing_name": "Chào mừng đến Hữu Nghị.mp4"}],
            "health": {"cpu_temp_c": 61.5, "load": [0.25, 0.5]}, **more}


def rows(first: int, last: int) -> list[dict]:
    return [{"id": i, "installation": "i1", "face_id": 1, "media_sha256": SHA,
             "entry_id": "c-e1", "level": "normal",
             "started_at": (T + timedelta(seconds=10 * i)).isoformat(),
             "ended_at": (T + timedelta(seconds=10 * i + 10)).isoformat(),
             "outcome": "completed"} for i in range(first, last + 1)]


def report(gate_id: str, minute: int, plays: list[dict] | None, **more):
    body = {"heartbeat": beat(minute, **more)}
    if plays is not None:
        body["proof_of_play"] = {"batch_id": f"{gate_id}-{minute}", "rows": plays}
    checked, _, refused = check_report(gate_id, body, T + timedelta(minutes=minute, seconds=1))
    assert not refused
    return checked


def store(central, reports: list) -> list:
    with central.db.transaction(write=True) as conn:
        return store_reports(conn, reports)


def totals(central, table: str, gate_id: str) -> dict:
    if table == "play_day":
        return {(r["day"], r["outcome"]): (r["plays"], r["airtime_s"]) for r in central.db.query(
            "SELECT * FROM play_day WHERE gate_id = :g", {"g": gate_id})}
    return {(r["face_id"], r["state"]): r["seconds"] for r in central.db.query(
        "SELECT * FROM face_time_day WHERE gate_id = :g", {"g": gate_id})}


def test_a_group_commit_stores_what_the_reports_one_by_one_would(central):
    record_heartbeat(central.db, "huu-nghi", beat(0), now=T + timedelta(seconds=1))
    [before] = central.db.query("SELECT changed FROM gate_status")
    # One transaction: a gate twice (its second report resends two rows of its
    # first: later copies, updated), and a gate never seen before.
    resent = rows(3, 6)
    resent[0]["outcome"] = "skipped"
    added = store(central, [report("huu-nghi", 1, rows(1, 4)), report("tan-thanh", 1, rows(1, 2)),
                            report("huu-nghi", 2, resent)])
    assert added == [4, 2, 2]
    history = central.db.query("SELECT gate_id, sent_at, body FROM heartbeat ORDER BY id")
    assert [(h["gate_id"], h["sent_at"]) for h in history] == [
        ("huu-nghi", beat(m)["sent_at"]) for m in (0, 1)] + [
        ("tan-thanh", beat(1)["sent_at"]), ("huu-nghi", beat(2)["sent_at"])]
    # Stored as Python writes each body, byte for byte (the gate page reads it).
    assert [h["body"] for h in history] == [json.dumps(beat(m), ensure_ascii=False)
                                             for m in (0, 1, 1, 2)]
    status = {r["gate_id"]: r for r in central.db.query("SELECT * FROM gate_status")}
    assert status["huu-nghi"]["heartbeat"] == json.dumps(beat(2), ensure_ascii=False)
    assert status["huu-nghi"]["release_version"] == 2
    assert status["huu-nghi"]["last_good_release_version"] == 2
    assert status["tan-thanh"]["last_heartbeat_at"] == "2026-11-10T03:01:01.000+00:00"
    # The alert loop's change stamp moved for the gate written again.
    assert status["huu-nghi"]["changed"] > before["changed"]
    # Two minutes online and shown, chained through the batch's own first heartbeat.
    assert totals(central, "face_time_day", "huu-nghi") == {(0, "online"): 120.0,
                                                            (1, "shown"): 120.0}
    assert totals(central, "face_time_day", "tan-thanh") == {}
    # Six rows of huu-nghi, row 3's last copy skipped (it was counted as first sent).
    assert totals(central, "play_day", "huu-nghi") == {("2026-11-10", "completed"): (6, 60.0)}
    assert totals(central, "play_day", "tan-thanh") == {("2026-11-10", "completed"): (2, 20.0)}
    [row3] = central.db.query("SELECT outcome FROM proof_of_play WHERE gate_id = 'huu-nghi' "
                              "AND row_id = 3")
    assert row3["outcome"] == "skipped"

    # A batch of which some rows are held already counts only its new rows.
    assert store(central, [report("huu-nghi", 3, rows(5, 9))]) == [3]
    assert totals(central, "play_day", "huu-nghi") == {("2026-11-10", "completed"): (9, 90.0)}
    assert store(central, [report("huu-nghi", 4, rows(5, 9))]) == [0]
    assert totals(central, "play_day", "huu-nghi") == {("2026-11-10", "completed"): (9, 90.0)}
    assert central.db.count("proof_of_play") == 11
    assert totals(central, "face_time_day", "huu-nghi") == {(0, "online"): 240.0,
                                                            (1, "shown"): 240.0}


def test_a_heartbeat_without_an_exact_json_form_is_stored_as_python_writes_it(central):
    # The gate's JSON may say NaN (Python reads it); PostgreSQL's json does not.
    body = beat(0, health={"cpu_temp_c": float("nan")})
    record_heartbeat(central.db, "huu-nghi", body, now=T)
    [status] = central.db.query("SELECT heartbeat FROM gate_status")
    assert status["heartbeat"] == json.dumps(body, ensure_ascii=False)
    assert '"cpu_temp_c": NaN' in status["heartbeat"]
    [history] = central.db.query("SELECT body FROM heartbeat")
    assert history["body"] == status["heartbeat"]


def test_insert_or_update_of_several_rows_on_either_store(central):
    with central.db.transaction(write=True) as conn:
        insert_or_update(conn, t.gate_group, [{"id": "b", "name": "B", "created_at": "1"},
                                              {"id": "a", "name": "A", "created_at": "1"}], ("id",))
        insert_or_update(conn, t.gate_group, [{"id": "a", "name": "Á", "created_at": "2"},
                                              {"id": "c", "name": "C", "created_at": "2"}], ("id",),
                         update=("name",))
        # A key twice: as one statement per row, the last row wins on what it updates.
        insert_or_update(conn, t.gate_group, [{"id": "d", "name": "D1", "created_at": "3"},
                                              {"id": "d", "name": "D2", "created_at": "4"}], ("id",),
                         update=("name",))
    assert {r["id"]: (r["name"], r["created_at"]) for r in central.db.query(
        "SELECT * FROM gate_group")} == {"a": ("Á", "1"), "b": ("B", "1"), "c": ("C", "2"),
                                         "d": ("D2", "3")}


def test_the_local_day_of_a_play_is_the_timezone_s_however_it_is_remembered():
    """central.reports.local_day remembers a minute's day, split_by_day the next
    midnight: around daylight-saving changes, midnights and offsets with seconds
    they answer as astimezone does."""
    from zoneinfo import ZoneInfo

    from central import reports

    cases = [("America/New_York", "2026-03-08T06:30:00+00:00"),  # 02:00 -> 03:00
             ("America/New_York", "2026-11-01T05:30:00+00:00"),  # 02:00 -> 01:00
             ("Asia/Kolkata", "2026-11-26T18:00:00+00:00"),  # midnight at :30 UTC
             ("Asia/Ho_Chi_Minh", "1906-06-30T16:30:00+00:00"),  # LMT +7:06:30 ends
             ("Europe/Amsterdam", "1937-06-30T23:00:00+00:00"),  # +00:19:32
             ("Australia/Lord_Howe", "2026-04-04T14:30:00+00:00")]  # a half-hour change
    reports._days.clear()
    for zone, around in cases:
        tz, start = ZoneInfo(zone), datetime.fromisoformat(around)
        for offset in ("+00:00", "+07:00", "-05:30", "+05:45"):
            for second in range(0, 2 * 3600, 17):
                instant = (start + timedelta(seconds=second, microseconds=second * 7919 % 10**6)
                           ).astimezone(datetime.fromisoformat("2026-01-01T00:00" + offset).tzinfo)
                assert reports.local_day(instant, tz) == instant.astimezone(tz).date(
                    ).isoformat(), (zone, instant)
        # A span of days, split where tz's own midnights fall.
        end = start + timedelta(days=2, seconds=7)
        parts, cursor = list(reports.split_by_day(start, end, tz)), start
        for day, seconds in parts:
            assert cursor.astimezone(tz).date().isoformat() == day
            cursor += timedelta(seconds=seconds)
            assert cursor == end or cursor.astimezone(tz).time() == datetime.min.time()
        assert cursor == end and len(parts) in (3, 4)
    # Remembered where offsets are whole minutes (not Hồ Chí Minh's +07:06:30 of 1906).
    zones = {key[0].key for key in reports._days}
    assert {z for z, around in cases if around.startswith("2026")} <= zones
    assert "Asia/Ho_Chi_Minh" not in zones


def test_a_bad_proof_of_play_row_is_refused_with_what_is_wrong():
    import pytest

    from central.intake import BadReport, check_proof_of_play

    good = rows(1, 1)[0]
    cases = [("x", "row 1 is not an object"),
             ({**good, "id": True}, "row 1 id must be an integer or null"),
             ({**good, "id": "1"}, "row 1 id must be an integer or null"),
             ({**good, "face_id": 1.0}, "row 1 face_id must be an integer or null"),
             ({**good, "id": None}, "row 1 needs an integer id and face_id and a media_sha256"),
             ({**good, "media_sha256": "A" * 64},
              "row 1 needs an integer id and face_id and a media_sha256"),
             ({**good, "installation": "i" * 65},
              "row 1 installation must be a string of at most 64 characters"),
             ({**good, "outcome": ""}, "row 1 outcome must be a string of at most 20 characters"),
             ({**good, "outcome": "played"},
              "row 1 outcome must be one of completed, skipped, error, preempted, playing"),
             ({**good, "entry_id": 5}, "entry_id must be a string of at most 100 characters"),
             ({**good, "level": "l" * 21}, "level must be a string of at most 20 characters"),
             ({**good, "started_at": None}, "started_at must be a string of at most 40 characters"),
             ({**good, "ended_at": ["x"]}, "ended_at must be a string of at most 40 characters"),
             ({**good, "reason": "r" * 501}, "reason must be a string of at most 500 characters")]
    for bad, message in cases:
        with pytest.raises(BadReport) as refused:
            check_proof_of_play("g", {"batch_id": "b", "rows": [good, bad]}, T)
        assert str(refused.value) == message
    # Accepted as before: a sha256 the pattern takes with its line end, a gate from
    # before installation ids, a row sent twice (the last copy wins).
    sha_nl = {**good, "id": 2, "media_sha256": SHA + "\n"}
    legacy = {k: v for k, v in good.items() if k != "installation"}
    assert check_proof_of_play("g", {"batch_id": None, "rows": [
        good, sha_nl, legacy, {**good, "reason": "again"}]}, T) == (4, [
        {**{k: v for k, v in good.items() if k != "id"}, "row_id": 1, "gate_id": "g",
         "reason": "again", "batch_id": None, "received_at": "2026-11-10T03:00:00.000+00:00"},
        {**{k: v for k, v in sha_nl.items() if k != "id"}, "row_id": 2, "gate_id": "g",
         "reason": None, "batch_id": None, "received_at": "2026-11-10T03:00:00.000+00:00"},
        {**{k: v for k, v in legacy.items() if k != "id"}, "row_id": 1, "gate_id": "g",
         "installation": "", "reason": None, "batch_id": None,
         "received_at": "2026-11-10T03:00:00.000+00:00"}])


def test_the_report_totals_leave_room_for_their_next_version_on_postgresql(central):
    """Migration 0014: today's totals rows, updated every minute, keep a third of
    each page free on PostgreSQL (heap-only updates)."""
    if central.db.is_sqlite:
        return  # no such setting
    options = {r["relname"]: r["reloptions"] for r in central.db.query(
        "SELECT relname, reloptions FROM pg_class WHERE relname IN ('play_day', 'face_time_day')")}
    # (0016 adds their analyze scale factor: tests/central/test_central_pg_autovacuum.py)
    assert all("fillfactor=70" in options[name] for name in ("play_day", "face_time_day"))


def test_rows_as_a_json_parameter_keep_their_values_and_what_orjson_refuses_goes_to_json():
    """The proof-of-play rows' JSON parameter (orjson): the same values as json.dumps
    gives; a lone surrogate or an integer past 64 bits (orjson refuses both) is
    written by json.dumps, as before, for PostgreSQL to refuse the same way."""
    rows = [{"gate_id": "cửa-khẩu", "row_id": 2**63 - 1, "reason": None, "airtime_s": 9.75}]
    assert json.loads(_rows_json(rows)) == rows
    for odd in ({"reason": "\ud800"}, {"row_id": 2**64}):
        assert _rows_json([odd]) == json.dumps([odd])


FACES = [{"face_id": 1, "power": "on", "blanked": 0, "playing_sha256": SHA},
         {"face_id": 2, "power": "on", "blanked": True, "playing_sha256": SHA},
         {"face_id": 3, "power": "off", "playing_sha256": None},
         {"face_id": 4, "power": "on", "playing_sha256": ""},
         {"face_id": "5", "power": "on"}, "not a face"]
EACH_FACE_A_MINUTE = {(0, "online"): 60.0, (1, "shown"): 60.0, (2, "kill_switch"): 60.0,
                      (3, "power_schedule"): 60.0, (4, "error"): 60.0}


def test_the_previous_faces_come_from_the_status_view_or_else_its_heartbeat(central):
    """The time since a gate's previous heartbeat is counted for the faces of that
    heartbeat, read from its status's alert view (small), or from the heartbeat when
    the status has no view (written before 0015, or by hand): the same totals."""
    for gate_id in ("huu-nghi", "tan-thanh", "lao-cai"):
        store(central, [report(gate_id, 0, None, faces=FACES)])
    assert central.db.scalar("SELECT count(*) FROM gate_status WHERE alert_view IS NULL") == 0
    with central.db.transaction(write=True) as conn:
        conn.execute(t.gate_status.update().where(t.gate_status.c.gate_id == "tan-thanh")
                     .values(alert_view=None))
        # The view is what is read when there is one: a view saying face 1 was dark.
        conn.execute(t.gate_status.update().where(t.gate_status.c.gate_id == "lao-cai")
                     .values(alert_view=json.dumps({"faces": [{"face_id": 1, "blanked": 1}]})))
    store(central, [report(gate_id, 1, None) for gate_id in ("huu-nghi", "tan-thanh", "lao-cai")])
    assert totals(central, "face_time_day", "huu-nghi") == EACH_FACE_A_MINUTE
    assert totals(central, "face_time_day", "tan-thanh") == EACH_FACE_A_MINUTE
    assert totals(central, "face_time_day", "lao-cai") == {(0, "online"): 60.0,
                                                           (1, "kill_switch"): 60.0}
