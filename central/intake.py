"""Report intake from gates (docs/sync-protocol.md): heartbeats, proof-of-play
batches (idempotent by (gate, installation, row id)), the combined report that
carries both in one request, and screenshots.

Everything here comes from the network: shapes are checked, sizes bounded,
and nothing is interpreted beyond storing it.
"""

from __future__ import annotations

import io
import json
from operator import itemgetter
import os
import tempfile
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import delete, func, select, text, tuple_
from sqlalchemy.dialects import sqlite

from kiosk.mediastore import SHA256_RE
from kiosk.store import iso, utcnow

from central import schema as t
from central.alert_rules import heartbeat_view, picture_facts_of
from central.checks import CentralError
from central.db import among, insert_or_update, json_payload, json_rows, rows, transaction
from central.reports import (
    FACE_TIME_KEYS,
    PLAY_DAY_KEYS,
    PLAY_DAY_SUMS,
    count_face_time,
    count_plays,
    face_time_rows,
    faces_of,
    heartbeat_time,
    increment_sql,
    play_day_rows,
)

MAX_POP_ROWS = 5000
SCREENSHOT_TYPES = {"image/png": ("png", b"\x89PNG\r\n\x1a\n", "PNG"),
                    "image/jpeg": ("jpg", b"\xff\xd8\xff", "JPEG")}
POP_OUTCOMES = ("completed", "skipped", "error", "preempted", "playing")
# SQLite, built once: a batch of heartbeats reads its gates' previous status in one
# query (PostgreSQL: in _STORE_BEATS_PG). Its faces, for the time since (central.reports.
# faces_of, face_state), come from the status's alert view when it has one: the view
# keeps every face with what face_state reads (face_id, power, blanked, whether
# something played), ~230 bytes to read and parse instead of the ~1.4 KB heartbeat
# (faces_of: 5-8 us of CPU against 13-20, docs/benchmarks.md). A status without a
# view (written before 0015, or by hand) gives its heartbeat, as before.
_PREVIOUS_FACES = "coalesce(alert_view, heartbeat)"
_PREVIOUS_STATUSES = select(
    t.gate_status.c.gate_id, t.gate_status.c.last_heartbeat_at, t.gate_status.c.sent_at,
    func.coalesce(t.gate_status.c.alert_view, t.gate_status.c.heartbeat).label("heartbeat")
).where(among(t.gate_status.c.gate_id, "gate_ids", "sqlite"))
# SQLite: a heartbeat the history holds already (same gate and sent_at: the gate sent
# it again after a lost answer) is not stored twice (migration 0017).
_INSERT_HEARTBEAT = sqlite.insert(t.heartbeat).on_conflict_do_nothing()
_NEXT_STAMP = select(func.coalesce(func.max(t.gate_status.c.changed), 0) + 1)
DEFAULT_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class BadReport(CentralError):
    """A malformed report: answered 400, the gate drops it and logs why."""


def _int_or_none(value, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadReport(f"{what} must be an integer or null")
    return value


def _text(value, what: str, limit: int = 200, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > limit or (required and not value):
        raise BadReport(f"{what} must be a string of at most {limit} characters")
    return value


def check_heartbeat(body) -> dict:
    """A heartbeat's checked fields and its body (BadReport if malformed). Its text
    as stored is json.dumps(body, ensure_ascii=False) (heartbeat_text), written
    only by the store that needs it."""
    if not isinstance(body, dict):
        raise BadReport("a heartbeat is a JSON object")
    release = _int_or_none(body.get("release_version"), "release_version")
    good = _int_or_none(body.get("last_good_release_version"), "last_good_release_version")
    sent_at = _text(body.get("sent_at"), "sent_at", 40)
    for key, kind in (("sync", dict), ("health", dict), ("faces", list), ("errors", list)):
        if body.get(key) is not None and not isinstance(body[key], kind):
            raise BadReport(f"{key} must be a JSON {kind.__name__}")
    return {"release_version": release, "last_good_release_version": good,
            "sent_at": sent_at, "body": body}


def heartbeat_text(beat: dict) -> str:
    """The text a checked heartbeat is stored as (gate_status, heartbeat history)."""
    return json.dumps(beat["body"], ensure_ascii=False)


def view_text(view: dict) -> str:
    """The text gate_status.alert_view is stored as (alert_rules.heartbeat_view); on
    PostgreSQL the same text comes from the batch's JSON parameter (json_payload)."""
    return json.dumps(view, ensure_ascii=False)


def record_heartbeat(db, gate_id: str, body, now: datetime | None = None, *,
                     interval_s: float = 60.0, tz: ZoneInfo = DEFAULT_TZ) -> None:
    """Store a heartbeat; the time since the gate's previous one goes into the
    report totals (central.reports.heartbeat_time; `interval_s`: the
    central_heartbeat_interval_s setting, `tz`: central_timezone)."""
    beat = check_heartbeat(body)
    with transaction(db, write=True) as conn:
        store_heartbeats(conn, [(gate_id, beat, now or utcnow())], interval_s=interval_s, tz=tz)


def store_heartbeats(conn, beats: list[tuple[str, dict, datetime]], *,
                     interval_s: float = 60.0, tz: ZoneInfo = DEFAULT_TZ,
                     asynchronous: bool = True) -> None:
    """Store checked heartbeats ((gate id, check_heartbeat(...), received at), in the
    order received) in the caller's write transaction: the gates' statuses, the
    history, and the time since each gate's previous heartbeat in the report
    totals (face_time_day). `asynchronous=False`: the transaction also holds
    something whose commit must reach the disk (proof of play), so it keeps the
    server's synchronous commit."""
    count_face_time(conn, _store_heartbeats(conn, beats, interval_s=interval_s, tz=tz,
                                            asynchronous=asynchronous))


def _store_heartbeats(conn, beats: list[tuple[str, dict, datetime]], *, interval_s: float,
                      tz: ZoneInfo, asynchronous: bool) -> dict[tuple, float]:
    """store_heartbeats but the report totals, returned ((day, gate, face, state) ->
    seconds, central.reports.heartbeat_time) for the caller to add: SQLite, one
    read of the gates' previous status and one statement per table for the whole
    batch; PostgreSQL, one statement for all (_STORE_BEATS_PG)."""
    if not beats:
        return {}
    postgres = conn.dialect.name == "postgresql"
    if asynchronous and postgres:
        # A heartbeat is a snapshot the next one (a minute later) replaces:
        # its commit need not wait for the WAL to reach the disk, which is
        # most of its latency when 10,000 gates report. A crash can lose
        # the last fraction of a second of heartbeats, never a proof of
        # play (its commits stay synchronous: the gate forgets what was
        # acknowledged) nor anything else; the uptime counted below is only
        # as durable as the heartbeats it counts.
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
    last = {gate_id: i for i, (gate_id, _, _) in enumerate(beats)}  # a gate's latest status
    history = [{"gate_id": gate_id, "received_at": iso(received), "sent_at": beat["sent_at"],
                "release_version": beat["release_version"],
                "last_good_release_version": beat["last_good_release_version"],
                "body": beat["body"], "last": last[gate_id] == i}
               for i, (gate_id, beat, received) in enumerate(beats)]
    for i in last.values():
        # The alert rules' view of the status (gate_status.alert_view): made here,
        # where the body is parsed already, so the alert loop need not parse it.
        history[i]["view"] = heartbeat_view(history[i]["body"])
    if postgres:
        previous = _store_beats_pg(conn, history)
    else:
        previous = {r["gate_id"]: r for r in rows(conn.execute(
            _PREVIOUS_STATUSES, {"gate_ids": sorted(last)}))}
        for h in history:
            h["heartbeat"] = heartbeat_text(h)
        # Intake stamps its rows itself, one stamp for the batch (writers go one at a
        # time): the stamp trigger runs only for other writers, and clears a view
        # they left behind a new heartbeat (migration 0018).
        stamp = conn.execute(_NEXT_STAMP).scalar()
        # A fixed order of rows keeps two batches from deadlocking.
        insert_or_update(conn, t.gate_status, [
            {"gate_id": h["gate_id"], "last_heartbeat_at": h["received_at"],
             "sent_at": h["sent_at"], "release_version": h["release_version"],
             "last_good_release_version": h["last_good_release_version"],
             "heartbeat": h["heartbeat"], "alert_view": view_text(h["view"]), "changed": stamp}
            for h in sorted((h for h in history if h["last"]), key=lambda h: h["gate_id"])],
            ("gate_id",))
        conn.execute(_INSERT_HEARTBEAT, [
            {"gate_id": h["gate_id"], "received_at": h["received_at"], "sent_at": h["sent_at"],
             "release_version": h["release_version"], "body": h["heartbeat"]} for h in history])
    parsed_faces: dict[str, list] = {}  # the batch's own earlier heartbeat of a gate
    totals: dict[tuple, float] = {}
    for (gate_id, beat, received), h in zip(beats, history):
        heartbeat_time(totals, gate_id, previous.get(gate_id), beat["sent_at"], received,
                       interval_s, tz, previous_faces=parsed_faces.get(gate_id))
        previous[gate_id] = {"last_heartbeat_at": h["received_at"], "sent_at": beat["sent_at"]}
        parsed_faces[gate_id] = faces_of(beat["body"])
    return totals


_BEAT_COLUMNS = ("gate_id", "received_at", "sent_at", "release_version")
# PostgreSQL, ONE statement for a batch of heartbeats (central.db.json_rows): read the
# gates' previous status, insert the history and upsert the statuses (a gate's
# latest heartbeat of the batch, in gate order: two batches never deadlock). Every
# part of one statement sees the database as it was before it, so `previous` is the
# status before this batch. The body's text is the parameter's own text of it
# (json_to_recordset keeps a json field's text as sent): stored exactly as
# json.dumps(body, ensure_ascii=False), without encoding it twice; `text`, when
# given, is stored instead (heartbeat_text: a body without an exact JSON form).
# The alert view likewise (`view`, or `view_text`). A heartbeat the history holds
# already (the gate sent it again after a lost answer) is not stored twice there
# (migration 0017's unique index); the status takes it as any other. The status's change stamp is
# written here (the value 0015's triggers would write, which then do not fire): an
# update sets only columns no index covers, so it stays on its page (heap-only).
# `= ANY (ARRAY(...))`: the previous statuses are read by key (an IN (SELECT ...)
# made a hash join over every gate's status).
_STORE_BEATS_PG = text(f"""
    WITH b AS MATERIALIZED (
        SELECT *, coalesce(r.text, r.body::text) AS stored FROM {json_rows(
            t.heartbeat, _BEAT_COLUMNS, "beats",
            "last_good_release_version bigint, body json, text text, last boolean, "
            "view json, view_text text", "json")}),
    history AS (
        INSERT INTO heartbeat (gate_id, received_at, sent_at, release_version, body)
        SELECT gate_id, received_at, sent_at, release_version, stored FROM b
        ON CONFLICT (gate_id, sent_at) DO NOTHING),
    status AS (
        INSERT INTO gate_status (gate_id, last_heartbeat_at, sent_at, release_version,
                                 last_good_release_version, heartbeat, alert_view, changed)
        SELECT gate_id, received_at, sent_at, release_version, last_good_release_version,
               stored, coalesce(view_text, view::text), pg_current_xact_id()::text::bigint
        FROM b WHERE last ORDER BY gate_id
        ON CONFLICT (gate_id) DO UPDATE SET last_heartbeat_at = excluded.last_heartbeat_at,
            sent_at = excluded.sent_at, release_version = excluded.release_version,
            last_good_release_version = excluded.last_good_release_version,
            heartbeat = excluded.heartbeat, alert_view = excluded.alert_view,
            changed = excluded.changed)
    SELECT gate_id, last_heartbeat_at, sent_at, {_PREVIOUS_FACES} AS heartbeat FROM gate_status
    WHERE gate_id = ANY (ARRAY(SELECT gate_id FROM b))""")


def _store_beats_pg(conn, history: list[dict]) -> dict[str, dict]:
    """_STORE_BEATS_PG: the gates' previous statuses by gate id."""
    payload = json_payload(history)
    if payload is None:  # NaN or Infinity in a body: stored as Python writes it
        payload = json.dumps([{**h, "body": None, "text": heartbeat_text(h), "view": None,
                               "view_text": view_text(h["view"]) if "view" in h else None}
                              for h in history], ensure_ascii=False)
    return {r["gate_id"]: r for r in rows(conn.execute(_STORE_BEATS_PG, {"beats": payload}))}


def check_proof_of_play(gate_id: str, body, now: datetime | None = None) -> tuple[int, list[dict]]:
    """A batch's rows as stored: (rows received, rows unique by installation and id,
    the last copy winning), or BadReport."""
    if not isinstance(body, dict) or not isinstance(body.get("rows"), list):
        raise BadReport("proof of play is a JSON object with a list of rows")
    batch_id = _text(body.get("batch_id"), "batch_id", 100)
    if len(body["rows"]) > MAX_POP_ROWS:
        raise BadReport(f"at most {MAX_POP_ROWS} rows per batch")
    received_at = iso(now or utcnow())
    rows_ = []
    for i, r in enumerate(body["rows"]):
        # The rows a gate sends (every field, kiosk.sync.report), checked without a
        # call per field (a report's 12 rows cost a third of its check and store in
        # Python that way); any other row, _checked_row: the same rules, and it
        # names what is wrong.
        try:
            (row_id, face_id, sha, installation, outcome, entry_id, level, started_at, ended_at,
             reason) = _ROW_FIELDS(r)
        except (KeyError, TypeError, IndexError):  # not an object, or a field left out
            pass
        else:
            if (type(row_id) is int and type(face_id) is int and type(sha) is str
                    and len(sha) == 64 and not sha.strip(_HEX)
                    and (installation is None or type(installation) is str and len(installation) <= 64)
                    and type(outcome) is str and outcome in _POP_OUTCOME_SET
                    and (entry_id is None or type(entry_id) is str and len(entry_id) <= 100)
                    and (level is None or type(level) is str and len(level) <= 20)
                    and type(started_at) is str and 0 < len(started_at) <= 40
                    and (ended_at is None or type(ended_at) is str and len(ended_at) <= 40)
                    and (reason is None or type(reason) is str and len(reason) <= 500)
                    and type(r) is dict):
                rows_.append({
                    "gate_id": gate_id, "installation": installation or "", "row_id": row_id,
                    "face_id": face_id, "media_sha256": sha, "entry_id": entry_id,
                    "level": level, "started_at": started_at, "ended_at": ended_at,
                    "outcome": outcome, "reason": reason, "batch_id": batch_id,
                    "received_at": received_at})
                continue
        rows_.append(_checked_row(i, r, gate_id, batch_id, received_at))
    # A row repeated inside one batch is one row (the last copy wins), as in the table.
    return len(rows_), list({(r["installation"], r["row_id"]): r for r in rows_}.values())


_HEX = "0123456789abcdef"
_ROW_FIELDS = itemgetter("id", "face_id", "media_sha256", "installation", "outcome", "entry_id",
                         "level", "started_at", "ended_at", "reason")
_POP_OUTCOME_SET = frozenset(POP_OUTCOMES)


def _checked_row(i: int, r, gate_id: str, batch_id: str | None, received_at: str) -> dict:
    """A proof-of-play row as stored, or BadReport naming the first thing wrong."""
    if not isinstance(r, dict):
        raise BadReport(f"row {i} is not an object")
    row_id = _int_or_none(r.get("id"), f"row {i} id")
    face_id = _int_or_none(r.get("face_id"), f"row {i} face_id")
    sha = r.get("media_sha256")
    if row_id is None or face_id is None or not isinstance(sha, str) or not SHA256_RE.match(sha):
        raise BadReport(f"row {i} needs an integer id and face_id and a media_sha256")
    # Gates from before installation ids send none: their rows keep the key ''.
    installation = _text(r.get("installation"), f"row {i} installation", 64) or ""
    outcome = _text(r.get("outcome"), f"row {i} outcome", 20, required=True)
    if outcome not in POP_OUTCOMES:
        raise BadReport(f"row {i} outcome must be one of {', '.join(POP_OUTCOMES)}")
    return {
        "gate_id": gate_id, "installation": installation, "row_id": row_id,
        "face_id": face_id, "media_sha256": sha,
        "entry_id": _text(r.get("entry_id"), "entry_id", 100),
        "level": _text(r.get("level"), "level", 20),
        "started_at": _text(r.get("started_at"), "started_at", 40, required=True),
        "ended_at": _text(r.get("ended_at"), "ended_at", 40), "outcome": outcome,
        "reason": _text(r.get("reason"), "reason", 500), "batch_id": batch_id,
        "received_at": received_at}


def record_proof_of_play(db, gate_id: str, body, now: datetime | None = None, *,
                         tz: ZoneInfo = DEFAULT_TZ) -> dict:
    """Store a batch; rows already held (same gate, installation and row id) are
    updated, never counted twice: only rows new to central go into the report
    totals (central.reports.count_plays, days in `tz`). Returns {"received": n,
    "new": m}."""
    received, unique = check_proof_of_play(gate_id, body, now)
    with transaction(db, write=True) as conn:
        new = store_proof_of_play(conn, [unique], tz=tz)[0]
    return {"received": received, "new": new}


def store_proof_of_play(conn, batches: list[list[dict]], *, tz: ZoneInfo = DEFAULT_TZ,
                        face_time: dict[tuple, float] | None = None) -> list[int]:
    """Store checked batches (check_proof_of_play's unique rows of one gate each, in
    the order received) in the caller's write transaction, as if one after the
    other: a row is new to the first batch that carries it, later copies update it.
    Returns how many rows each batch added. `face_time`: heartbeat totals to add
    in the same statement (central.reports.count_face_time)."""
    gates = [batch[0]["gate_id"] for batch in batches if batch]
    first: dict[tuple, int] | None = None  # row key -> the batch it is new to
    later = []
    if len(set(gates)) == len(gates):
        # A gate's one batch (nearly always): no row is in two batches.
        candidates = [r for batch in batches for r in batch]
    else:
        first, candidates = {}, []
        for i, batch in enumerate(batches):
            for r in batch:
                key = _key(r)
                if key in first:
                    later.append(r)
                else:
                    first[key] = i
                    candidates.append(r)
    if not candidates:
        count_face_time(conn, face_time or {})
        return [0] * len(batches)
    # INSERT ... ON CONFLICT DO NOTHING RETURNING names exactly the rows this
    # transaction added: a concurrent copy of the batch waits for ours (a
    # unique-key conflict) and then adds none, so totals count each row once.
    # Sorted: two transactions meet their shared rows in the same order.
    candidates.sort(key=_key)
    if conn.dialect.name == "postgresql":
        new = _insert_new_plays_pg(conn, candidates, tz, face_time or {})  # None: all
    else:
        count_face_time(conn, face_time or {})
        new = {tuple(r) for r in conn.execute(_INSERT_NEW_PLAYS_SQLITE, candidates)}
        count_plays(conn, [r for r in candidates if _key(r) in new], tz)
    held = {} if new is None else {_key(r): r for r in candidates if _key(r) not in new}
    for r in later:
        held[_key(r)] = r  # the last copy wins, as it would one batch after another
    if held:
        insert_or_update(conn, t.proof_of_play, [held[k] for k in sorted(held)],
                         _PLAY_KEY, update=("ended_at", "outcome", "reason"))
    if first is None:
        return [len(batch) if new is None else sum(_key(r) in new for r in batch)
                for batch in batches]
    added = [0] * len(batches)
    for key in (first if new is None else new):
        added[first[key]] += 1
    return added


def _insert_new_plays_pg(conn, rows_: list[dict], tz: ZoneInfo,
                         face_time: dict[tuple, float]) -> set[tuple] | None:
    """PostgreSQL: ONE statement (_STORE_PLAYS_PG) adds the heartbeats' face time,
    inserts the rows central does not hold yet and, when every row was new (a
    batch sent once: nearly always; then None is returned), counts them in
    play_day; else returns the keys of the new rows, counted here. Each parameter
    is one JSON text and the statement's text is fixed whatever the batch's size:
    SQLAlchemy's multi-row VALUES would be a new text per size, parsed anew by the
    driver, and an executemany binds every row in Python (psycopg quote-checked
    every value of its arrays with a regex: a fifth of a report's CPU in py-spy)."""
    counts = play_day_rows(rows_, tz)
    added, keys = conn.execute(_STORE_PLAYS_PG, {
        "times": json.dumps(face_time_rows(face_time), allow_nan=False),
        "rows": _rows_json(rows_), "counts": _rows_json(counts), "n": len(rows_)}).one()
    if added == len(rows_):
        return None
    # Some rows were held already (a batch sent again): count only the new ones.
    new = {tuple(k) for k in keys or ()}
    count_plays(conn, [r for r in rows_ if _key(r) in new], tz)
    return new




def _rows_json(rows_: list[dict]) -> str:
    """Checked rows (strings, integers, None, airtime floats) as one JSON parameter:
    orjson, in a tenth to a twentieth of json.dumps's time (json.dumps of a batch's proof-of-play rows
    was a fifth of the report writer's storing Python, py-spy). What orjson refuses
    (a lone surrogate, an integer past 64 bits) goes to json.dumps, as before, and
    PostgreSQL refuses it the same way."""
    try:
        return orjson.dumps(rows_).decode()
    except TypeError:
        return json.dumps(rows_)


_PLAY_KEY = ("gate_id", "installation", "row_id")
_key = itemgetter(*_PLAY_KEY)  # a proof-of-play row's primary key
_PLAY_COLUMNS = ", ".join(c.name for c in t.proof_of_play.columns)
_PLAY_DAY_COLUMNS = (*PLAY_DAY_KEYS, *PLAY_DAY_SUMS)
# The parts of one statement see the database as it was before it; `counted` waits
# for `new` (its count), and adds the batch's play_day totals, computed by Python
# as if every row were new, only if every row was.
_STORE_PLAYS_PG = text(f"""
    WITH face_time AS (
        {increment_sql(t.face_time_day, FACE_TIME_KEYS, ("seconds",), "SELECT * FROM " + json_rows(
            t.face_time_day, (*FACE_TIME_KEYS, "seconds"), "times"))}),
    new AS (
        INSERT INTO proof_of_play ({_PLAY_COLUMNS})
        SELECT {_PLAY_COLUMNS} FROM {json_rows(t.proof_of_play, [
            c.name for c in t.proof_of_play.columns])}
        ON CONFLICT DO NOTHING RETURNING {", ".join(_PLAY_KEY)}),
    added AS (SELECT count(*) AS n FROM new),
    counted AS (
        {increment_sql(t.play_day, PLAY_DAY_KEYS, PLAY_DAY_SUMS,
                       f"SELECT {', '.join(_PLAY_DAY_COLUMNS)} FROM "
                       f"{json_rows(t.play_day, _PLAY_DAY_COLUMNS, 'counts')} "
                       "WHERE (SELECT n FROM added) = :n")})
    SELECT n, CASE WHEN n < :n THEN (
        SELECT json_agg(json_build_array({", ".join(_PLAY_KEY)})) FROM new) END
    FROM added""")
_INSERT_NEW_PLAYS_SQLITE = sqlite.insert(t.proof_of_play).on_conflict_do_nothing().returning(
    *(t.proof_of_play.c[k] for k in _PLAY_KEY))


REPORT_PARTS = ("heartbeat", "proof_of_play")


@dataclass(slots=True)
class Report:
    """One gate's report as checked, ready to store: its heartbeat (check_heartbeat)
    and/or its proof-of-play rows (check_proof_of_play's unique rows); None = that
    part was not sent, or was refused."""

    gate_id: str
    received: datetime
    beat: dict | None = None
    plays: list[dict] | None = None

    def parts(self) -> dict[str, Report]:
        """The report as one report per part sent (REPORT_PARTS' names), to write
        them one by one when the whole failed."""
        parts = {}
        if self.beat is not None:
            parts["heartbeat"] = Report(self.gate_id, self.received, beat=self.beat)
        if self.plays is not None:
            parts["proof_of_play"] = Report(self.gate_id, self.received, plays=self.plays)
        return parts


def check_report(gate_id: str, body, now: datetime | None = None) -> tuple[Report, int, dict]:
    """A combined report (POST report: `{"heartbeat": {...}, "proof_of_play": {...}}`,
    either part may be left out) as (the Report of its good parts, the proof-of-play
    rows received, {part: BadReport} for each part refused). A refused part never
    takes the other with it; BadReport when the report itself is malformed."""
    if not isinstance(body, dict):
        raise BadReport("a report is a JSON object")
    if all(body.get(part) is None for part in REPORT_PARTS):
        raise BadReport("a report carries a heartbeat, a proof_of_play batch or both")
    report, received, refused = Report(gate_id, now or utcnow()), 0, {}
    if body.get("heartbeat") is not None:
        try:
            report.beat = check_heartbeat(body["heartbeat"])
        except BadReport as e:
            refused["heartbeat"] = e
    if body.get("proof_of_play") is not None:
        try:
            received, report.plays = check_proof_of_play(gate_id, body["proof_of_play"],
                                                         report.received)
        except BadReport as e:
            refused["proof_of_play"] = e
    return report, received, refused


def store_reports(conn, reports: list[Report], *, interval_s: float = 60.0,
                  tz: ZoneInfo = DEFAULT_TZ) -> list[int | None]:
    """Store checked reports, in the order received, in the caller's ONE write
    transaction: every heartbeat (store_heartbeats) and every proof-of-play batch
    (store_proof_of_play). Returns, per report, how many rows it added (None: it
    had no proof of play). The commit is asynchronous on PostgreSQL only when the
    batch holds no proof-of-play row: the gate forgets rows once acknowledged.
    On PostgreSQL a batch is two statements: the heartbeats, then the rest."""
    batches = [r.plays for r in reports if r.plays is not None]
    face_time = _store_heartbeats(conn, [(r.gate_id, r.beat, r.received) for r in reports
                                         if r.beat is not None],
                                  interval_s=interval_s, tz=tz, asynchronous=not any(batches))
    added = iter(store_proof_of_play(conn, batches, tz=tz, face_time=face_time))
    return [next(added) if r.plays is not None else None for r in reports]


def record_report(db, gate_id: str, body, now: datetime | None = None, *,
                  interval_s: float = 60.0, tz: ZoneInfo = DEFAULT_TZ) -> dict:
    """Check and store a combined report in one transaction (the in-process
    counterpart of POST report, as record_heartbeat is of POST heartbeat).
    Returns {"heartbeat": True | BadReport, "proof_of_play": {"received", "new"} |
    BadReport} for the parts sent; BadReport when the report itself is malformed."""
    report, received, refused = check_report(gate_id, body, now)
    new = None
    if report.beat is not None or report.plays is not None:
        with transaction(db, write=True) as conn:
            new = store_reports(conn, [report], interval_s=interval_s, tz=tz)[0]
    answer: dict = dict(refused)
    if report.beat is not None:
        answer["heartbeat"] = True
    if report.plays is not None:
        answer["proof_of_play"] = {"received": received, "new": new}
    return answer


def record_screenshot(db, state_dir: Path | str, gate: dict, face_id: int, data: bytes,
                      content_type: str, taken_at: str | None,
                      now: datetime | None = None) -> str:
    """Keep the latest screenshot of a gate's face; returns its file name."""
    if face_id not in gate["faces"]:
        raise BadReport(f"gate {gate['id']} has no face {face_id}")
    kind = SCREENSHOT_TYPES.get((content_type or "").split(";")[0].strip().lower())
    if kind is None:
        raise BadReport("a screenshot is image/png or image/jpeg")
    ext, magic, pil_format = kind
    if not data.startswith(magic):
        raise BadReport(f"the body is not a {ext.upper()} image")
    # The overview shows it to people in a browser: only a picture that
    # decodes as what it claims to be is kept.
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[pil_format]) as img:
                img.verify()
            # For the face-dark alert: how bright, and is it the picture of last time.
            luma, picture = picture_facts_of(data)
    except Exception as e:  # Pillow raises many types for bad data
        raise BadReport(f"the screenshot does not decode: {e}") from None
    taken_at = _text(taken_at, "X-Taken-At", 40)
    folder = Path(state_dir) / "screenshots" / gate["id"]
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{face_id}.{ext}"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, folder / name)
    for other in folder.glob(f"{face_id}.*"):
        if other.name != name:
            other.unlink(missing_ok=True)
    received_at = iso(now or utcnow())
    with transaction(db, write=True) as conn:
        before = conn.execute(select(t.screenshot.c.picture_sha256, t.screenshot.c.picture_changed_at)
                              .where(t.screenshot.c.gate_id == gate["id"],
                                     t.screenshot.c.face_id == face_id)).first()
        changed_at = (before.picture_changed_at if before is not None
                      and before.picture_sha256 == picture else taken_at or received_at)
        insert_or_update(conn, t.screenshot, {
            "gate_id": gate["id"], "face_id": face_id, "taken_at": taken_at,
            "received_at": received_at, "file": name, "content_type": content_type,
            "size": len(data), "luma": luma, "picture_sha256": picture,
            "picture_changed_at": changed_at}, ("gate_id", "face_id"))
    return name


def prune_heartbeats(db, before: datetime) -> int:
    """Drop heartbeat history older than `before` (gate_status keeps the latest)."""
    with transaction(db, write=True) as conn:
        return conn.execute(delete(t.heartbeat)
                            .where(t.heartbeat.c.received_at < iso(before))).rowcount


_PRUNE_CHUNK = 5000


def _utc_day_and_airtime(started: str | None, ended: str | None) -> tuple[str, float]:
    from kiosk.store import parse_iso

    try:
        start = parse_iso(started)
    except ValueError:
        return (started or "")[:10], 0.0
    if start is None:
        return "", 0.0
    if start.tzinfo is not None:
        start = start.astimezone(timezone.utc)
    try:
        end = parse_iso(ended)
    except ValueError:
        end = None
    airtime = 0.0
    if end is not None and (end.tzinfo is None) == (start.tzinfo is None):
        airtime = max(0.0, (end - start).total_seconds())
    return start.date().isoformat(), airtime


def prune_proof_of_play(db, before: datetime) -> dict:
    """Fold raw proof of play received before `before` into `proof_of_play_daily`
    (plays and airtime per gate, UTC day, face, media and outcome, kept for good)
    and delete it. Rows still `playing` are left until they end. Runs in chunks,
    each its own short write transaction, so intake never waits long."""
    p, d = t.proof_of_play, t.proof_of_play_daily
    folded = 0
    while True:
        with transaction(db, write=True) as conn:
            raw = conn.execute(
                select(p.c.gate_id, p.c.installation, p.c.row_id, p.c.face_id,
                       p.c.media_sha256, p.c.outcome, p.c.started_at, p.c.ended_at)
                .where(p.c.received_at < iso(before), p.c.outcome != "playing")
                .limit(_PRUNE_CHUNK)).all()
            if not raw:
                return {"folded": folded}
            totals: dict[tuple, list] = {}
            for r in raw:
                day, airtime = _utc_day_and_airtime(r.started_at, r.ended_at)
                key = (r.gate_id, day, r.face_id, r.media_sha256, r.outcome)
                total = totals.setdefault(key, [0, 0.0])
                total[0] += 1
                total[1] += airtime
            for key, (plays, airtime) in totals.items():
                gate_id, day, face_id, sha, outcome = key
                held = conn.execute(select(d.c.plays, d.c.airtime_s).where(
                    d.c.gate_id == gate_id, d.c.day == day, d.c.face_id == face_id,
                    d.c.media_sha256 == sha, d.c.outcome == outcome)).first()
                if held is not None:
                    plays, airtime = plays + held.plays, airtime + held.airtime_s
                insert_or_update(conn, d, {
                    "gate_id": gate_id, "day": day, "face_id": face_id, "media_sha256": sha,
                    "outcome": outcome, "plays": plays, "airtime_s": airtime},
                    ("gate_id", "day", "face_id", "media_sha256", "outcome"))
            keys = [(r.gate_id, r.installation, r.row_id) for r in raw]
            for start in range(0, len(keys), 500):
                conn.execute(delete(p).where(
                    tuple_(p.c.gate_id, p.c.installation, p.c.row_id).in_(
                        keys[start:start + 500])))
            folded += len(raw)
