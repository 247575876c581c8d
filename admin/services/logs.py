"""Proof of play, player and sync events, and the audit log: filtered reads and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from kiosk.store import iso
from kiosk.web.formatting import form_date

from admin.services import AdminError, typed_date

PAGE = 200
CSV_COLUMNS = ("id", "face_id", "media_sha256", "media_name", "entry_id", "level", "started_at",
               "ended_at", "outcome", "reason")


def proof_filter(settings, args) -> tuple[str, list]:
    """WHERE clause for proof of play from face, from/to (local dates, inclusive) and media."""
    tz = ZoneInfo(settings["timezone"])
    where, params = [], []
    if args.get("face"):
        try:
            params.append(int(args["face"]))
        except ValueError:
            raise AdminError(_("Unknown face %(face)s (this gate has faces %(faces)s).",
                               face=str(args["face"])[:20], faces="1-4"), field="face") from None
        where.append("face_id = ?")
    start, end = typed_date(args.get("from"), "from"), typed_date(args.get("to"), "to")
    if start and end and end < start:
        raise AdminError(_("The date range ends (%(end)s) before it starts (%(start)s).",
                           end=form_date(end), start=form_date(start)), field="to")
    # Stored instants are UTC ISO text: compare against the local day's bounds in UTC.
    if start:
        where.append("started_at >= ?")
        params.append(iso(datetime.combine(start, time(0), tz).astimezone(ZoneInfo("UTC"))))
    if end:
        where.append("started_at < ?")
        params.append(iso(datetime.combine(end + timedelta(days=1), time(0), tz).astimezone(ZoneInfo("UTC"))))
    if args.get("media"):
        where.append("(media_sha256 = ? OR media_name LIKE ? ESCAPE '\\')")
        text = str(args["media"])[:100]
        params += [text, "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"]
    return ("WHERE " + " AND ".join(where)) if where else "", params


def proof_of_play(db, settings, args, limit: int = PAGE, offset: int = 0) -> list[dict]:
    clause, params = proof_filter(settings, args)
    return list(db.query(f"SELECT * FROM proof_of_play {clause} ORDER BY started_at DESC, id DESC "
                         "LIMIT ? OFFSET ?", params + [limit, offset]))


def proof_of_play_csv(db, settings, args):
    """CSV rows, streamed (a year of proof of play does not fit a response in memory)."""
    clause, params = proof_filter(settings, args)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    yield buf.getvalue()
    for row in db.query(f"SELECT * FROM proof_of_play {clause} ORDER BY started_at, id", params):
        buf.seek(0)
        buf.truncate()
        # A leading = + - @ would run as a formula in a spreadsheet: quote it away.
        writer.writerow([_cell(row.get(c)) for c in CSV_COLUMNS])
        yield buf.getvalue()


def _cell(v):
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


HEALTH_CODES = ("health_alarm", "health_alarm_cleared")


def events(db, args, limit: int = PAGE) -> list[dict]:
    where, params = [], []
    if args.get("level") in ("info", "warning", "error"):
        where.append("level = ?")
        params.append(args["level"])
    # Health alarms were recorded as source "power" before they had their own.
    health = "(source = 'health' OR code IN ('health_alarm', 'health_alarm_cleared'))"
    if args.get("source") == "health":
        where.append(health)
    elif args.get("source"):
        where.append(f"source = ? AND NOT {health}")
        params.append(str(args["source"])[:20])
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    rows = list(db.query(f"SELECT * FROM event {clause} ORDER BY id DESC LIMIT ?", params + [limit]))
    for r in rows:
        r["detail"] = _json(r.get("detail"))
        if r.get("code") in HEALTH_CODES:
            r["source"] = "health"
    return rows


def _json(text) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
