"""Report intake from gates (docs/sync-protocol.md): heartbeats, proof-of-play
batches (idempotent by (gate, installation, row id)) and screenshots.

Everything here comes from the network: shapes are checked, sizes bounded,
and nothing is interpreted beyond storing it.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, insert, literal_column, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from kiosk.mediastore import SHA256_RE
from kiosk.store import iso, utcnow

from central import schema as t
from central.alert_rules import picture_facts_of
from central.checks import CentralError
from central.db import insert_or_update, row, transaction
from central.reports import count_heartbeat, count_plays

MAX_POP_ROWS = 5000
SCREENSHOT_TYPES = {"image/png": ("png", b"\x89PNG\r\n\x1a\n", "PNG"),
                    "image/jpeg": ("jpg", b"\xff\xd8\xff", "JPEG")}
POP_OUTCOMES = ("completed", "skipped", "error", "preempted", "playing")
_PREVIOUS_STATUS = select(t.gate_status.c.last_heartbeat_at, t.gate_status.c.sent_at,
                          t.gate_status.c.heartbeat).where(
    t.gate_status.c.gate_id == bindparam("gate_id"))
# PostgreSQL: the same read, and the heartbeat's asynchronous commit (SET LOCAL
# synchronous_commit TO OFF, as set_config(..., true)) in one round trip instead of
# two. Outer-joined to one row so the setting is made for a gate's first heartbeat too.
_one_row = select(literal_column("1").label("one")).subquery()
_PREVIOUS_STATUS_ASYNC = select(
    func.set_config("synchronous_commit", "off", True).label("synchronous_commit"),
    t.gate_status.c.gate_id, *_PREVIOUS_STATUS.selected_columns).select_from(
    _one_row.outerjoin(t.gate_status, t.gate_status.c.gate_id == bindparam("gate_id")))
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


def record_heartbeat(db, gate_id: str, body, now: datetime | None = None, *,
                     interval_s: float = 60.0, tz: ZoneInfo = DEFAULT_TZ) -> None:
    """Store a heartbeat; the time since the gate's previous one goes into the
    report totals (central.reports.count_heartbeat; `interval_s`: the
    central_heartbeat_interval_s setting, `tz`: central_timezone)."""
    if not isinstance(body, dict):
        raise BadReport("a heartbeat is a JSON object")
    now = now or utcnow()
    now_s = iso(now)
    release = _int_or_none(body.get("release_version"), "release_version")
    good = _int_or_none(body.get("last_good_release_version"), "last_good_release_version")
    sent_at = _text(body.get("sent_at"), "sent_at", 40)
    for key, kind in (("sync", dict), ("health", dict), ("faces", list), ("errors", list)):
        if body.get(key) is not None and not isinstance(body[key], kind):
            raise BadReport(f"{key} must be a JSON {kind.__name__}")
    text = json.dumps(body, ensure_ascii=False)
    with transaction(db, write=True) as conn:
        if conn.dialect.name == "postgresql":
            # A heartbeat is a snapshot the next one (a minute later) replaces:
            # its commit need not wait for the WAL to reach the disk, which is
            # most of its latency when 10,000 gates report. A crash can lose
            # the last fraction of a second of heartbeats, never a proof of
            # play (its commits stay synchronous: the gate forgets what was
            # acknowledged) nor anything else; the uptime count
            # below is only as durable as the heartbeat it counts.
            previous = row(conn.execute(_PREVIOUS_STATUS_ASYNC, {"gate_id": gate_id}))
            if previous["gate_id"] is None:  # the gate's first heartbeat
                previous = None
        else:
            previous = row(conn.execute(_PREVIOUS_STATUS, {"gate_id": gate_id}))
        count_heartbeat(conn, gate_id, previous, sent_at, now, interval_s, tz)
        insert_or_update(conn, t.gate_status, {
            "gate_id": gate_id, "last_heartbeat_at": now_s, "sent_at": sent_at,
            "release_version": release, "last_good_release_version": good, "heartbeat": text,
        }, ("gate_id",))
        conn.execute(insert(t.heartbeat), {"gate_id": gate_id, "received_at": now_s,
                                           "sent_at": sent_at, "release_version": release,
                                           "body": text})


def record_proof_of_play(db, gate_id: str, body, now: datetime | None = None, *,
                         tz: ZoneInfo = DEFAULT_TZ) -> dict:
    """Store a batch; rows already held (same gate, installation and row id) are
    updated, never counted twice: only rows new to central go into the report
    totals (central.reports.count_plays, days in `tz`). Returns {"received": n,
    "new": m}."""
    if not isinstance(body, dict) or not isinstance(body.get("rows"), list):
        raise BadReport("proof of play is a JSON object with a list of rows")
    batch_id = _text(body.get("batch_id"), "batch_id", 100)
    if len(body["rows"]) > MAX_POP_ROWS:
        raise BadReport(f"at most {MAX_POP_ROWS} rows per batch")
    rows = []
    for i, r in enumerate(body["rows"]):
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
        rows.append({
            "gate_id": gate_id, "installation": installation, "row_id": row_id,
            "face_id": face_id, "media_sha256": sha,
            "entry_id": _text(r.get("entry_id"), "entry_id", 100),
            "level": _text(r.get("level"), "level", 20),
            "started_at": _text(r.get("started_at"), "started_at", 40, required=True),
            "ended_at": _text(r.get("ended_at"), "ended_at", 40), "outcome": outcome,
            "reason": _text(r.get("reason"), "reason", 500), "batch_id": batch_id,
            "received_at": iso(now or utcnow())})
    # A row repeated inside one batch is one row (the last copy wins), as in the table.
    unique = list({(r["installation"], r["row_id"]): r for r in rows}.values())
    with transaction(db, write=True) as conn:
        new = set()
        if unique:
            # INSERT ... ON CONFLICT DO NOTHING RETURNING names exactly the rows this
            # transaction added: a concurrent copy of the batch waits for ours (a
            # unique-key conflict) and then adds none, so totals count each row once.
            insert_new = (postgresql.insert if conn.dialect.name == "postgresql"
                      else sqlite.insert)(t.proof_of_play)
            new = {(r.installation, r.row_id) for r in conn.execute(
                insert_new.on_conflict_do_nothing().returning(
                    t.proof_of_play.c.installation, t.proof_of_play.c.row_id), unique)}
            held = [r for r in unique if (r["installation"], r["row_id"]) not in new]
            if held:
                insert_or_update(conn, t.proof_of_play, held,
                                 ("gate_id", "installation", "row_id"),
                                 update=("ended_at", "outcome", "reason"))
            count_plays(conn, [r for r in unique if (r["installation"], r["row_id"]) in new], tz)
    return {"received": len(rows), "new": len(new)}


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
