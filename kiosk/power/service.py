"""Power operations for the admin and the CLI: overrides, the kill switch,
power windows and a status summary. Every function writes the desired state
only; the player's PowerController carries it out within a poll interval
(`poll_interval_s`, 0.2 s by default).

All functions take an open gate database (`kiosk.store.open_db`). Times are
aware datetimes; `now` exists for tests and defaults to the current time.
Bad input raises `PowerError` (a ValueError; kiosk/power/words.py: English
str(), `say(gettext)` in the reader's language) and changes nothing. Who did it
(`by`) and why (`reason`) land in the row and in an `event` (source `power`).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

from kiosk.power.evaluate import (
    STATES,
    evaluate,
    load_plan,
    override_end,
    power_window,
)
from kiosk.power.words import PowerError
from kiosk.schedule import ScheduleError
from kiosk.settings import Settings, faces as configured_faces
from kiosk.store import iso, log_event, utcnow, writing
from kiosk.web.i18n import N_

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])", re.I)
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}




def parse_duration(text: str) -> timedelta:
    """'2h', '90m', '1h30m', '45s', '1d' -> timedelta (positive)."""
    compact = str(text).strip().replace(" ", "")
    parts = _DURATION_RE.findall(compact)
    if not compact or "".join(n + u for n, u in parts).lower() != compact.lower():
        raise PowerError(N_("not a duration like 2h, 90m or 1h30m: '%(text)s'"), text=text)
    seconds = sum(float(n) * _UNITS[u.lower()] for n, u in parts)
    if seconds <= 0:
        raise PowerError(N_("a duration must be longer than zero: '%(text)s'"), text=text)
    return timedelta(seconds=seconds)


def _face_ids(settings: Settings | None) -> list[int] | None:
    return None if settings is None else [f["id"] for f in configured_faces(settings)]


def _check_face(face: int | None, settings: Settings | None) -> None:
    ids = _face_ids(settings)
    if face is not None and ids is not None and face not in ids:
        raise PowerError(N_("no face %(face)s (faces: %(faces)s)"), face=face,
                         faces=", ".join(map(str, ids)))


def set_override(db, face: int | None, state: str, until: datetime | timedelta | None = None,
                 by: str = "", reason: str = "", *, settings: Settings | None = None,
                 now: datetime | None = None) -> int:
    """Force `face` (None: every face) `state` ('on' or 'off').

    `until`: an aware datetime, a timedelta from now, or None for "until the
    next boundary of the face's power schedule". The override replaces the
    ones it covers (those of that face; every override when face is None),
    survives restarts, and is deleted by the player once expired. With
    `settings`, the face must be configured. Returns the override's id.
    """
    if state not in STATES:
        raise PowerError(N_("power state must be 'on' or 'off', got '%(state)s'"), state=state)
    if not by:
        raise PowerError(N_("say who sets the override (by)"))
    _check_face(face, settings)
    now = now or utcnow()
    expires_at = None
    if isinstance(until, timedelta):
        if until <= timedelta(0):
            raise PowerError(N_("an override must last longer than zero"))
        expires_at = now + until
    elif isinstance(until, datetime):
        if until.tzinfo is None:
            raise PowerError(N_("the override's end needs a time zone"))
        if until <= now:
            raise PowerError(N_("the override's end %(until)s is not in the future"),
                             until=until.isoformat())
        expires_at = until
    elif until is not None:
        raise PowerError(N_("until must be a datetime, a timedelta or None, got %(until)s"),
                         until=repr(until))
    with writing(db):
        if face is None:
            db.execute("DELETE FROM power_override")
        else:
            db.execute("DELETE FROM power_override WHERE face_id = ?", [face])
        override_id = db["power_override"].insert({
            "face_id": face, "state": state, "expires_at": iso(expires_at),
            "created_at": iso(now), "created_by": by, "reason": reason,
        }).last_pk
    who = "every face" if face is None else f"face {face}"
    end = expires_at.isoformat(timespec="minutes") if expires_at else "the next schedule boundary"
    log_event(db, "power", "info", "override_set",
              f"{by} switched {who} {state} until {end}" + (f": {reason}" if reason else ""),
              face_id=face, detail={"override_id": override_id, "by": by, "reason": reason,
                                    "state": state, "expires_at": iso(expires_at)})
    return override_id


def clear_override(db, face: int | None = None, by: str = "", *,
                   override_id: int | None = None) -> int:
    """Return faces to their power schedule. Returns how many overrides went.

    face None (and no override_id) clears every override; a face number clears
    that face's own overrides (an every-face override still applies to it:
    clear that with face=None); override_id clears one override.
    """
    if not by:
        raise PowerError(N_("say who clears the override (by)"))
    with writing(db):
        if override_id is not None:
            cur = db.execute("DELETE FROM power_override WHERE id = ?", [override_id])
        elif face is None:
            cur = db.execute("DELETE FROM power_override")
        else:
            cur = db.execute("DELETE FROM power_override WHERE face_id = ?", [face])
    removed = cur.rowcount
    if removed:
        who = "every face" if face is None else f"face {face}"
        log_event(db, "power", "info", "override_cleared",
                  f"{by} returned {who} to the power schedule", face_id=face,
                  detail={"by": by, "removed": removed, "override_id": override_id})
    return removed


def blank_on(db, by: str, reason: str, power_off: bool = False, *,
             now: datetime | None = None) -> dict[str, Any]:
    """Pull the kill switch: every face shows black within a second, until
    `blank_off`. With power_off the relays switch off too. Who and why are
    required and recorded. Pulling it again updates reason and power_off and
    keeps the original `since`. Returns the blank row."""
    if not by:
        raise PowerError(N_("say who blanks the screens (by)"))
    if not reason or not reason.strip():
        raise PowerError(N_("say why the screens are blanked (reason)"))
    now = now or utcnow()
    with writing(db):
        row = db["blank"].get(1)
        since = row["since"] if row["active"] else iso(now)
        db["blank"].update(1, {"active": 1, "power_off": int(bool(power_off)),
                               "reason": reason.strip(), "by": by, "since": since})
    log_event(db, "power", "warning", "blank_on",
              f"{by} blanked every face" + (" and switched them off" if power_off else "")
              + f": {reason.strip()}", detail={"by": by, "reason": reason.strip(),
                                               "power_off": bool(power_off)})
    return db["blank"].get(1)


def blank_off(db, by: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Release the kill switch: faces return to their schedule and overrides
    (relays switch on staggered), except those central's kill switch holds
    (kiosk/sync/activate.py): only a release from central lifts that. The last reason and author stay in the row
    and the event log. Returns the blank row."""
    if not by:
        raise PowerError(N_("say who releases the blank (by)"))
    now = now or utcnow()
    row = db["blank"].get(1)
    if not row["active"]:
        return row
    db["blank"].update(1, {"active": 0, "power_off": 0})
    since = datetime.fromisoformat(row["since"]) if row["since"] else None
    lasted = f" after {int((now - since).total_seconds())} s" if since else ""
    log_event(db, "power", "warning", "blank_off", f"{by} released the blank{lasted}",
              detail={"by": by, "blanked_by": row["by"], "reason": row["reason"],
                      "since": row["since"]})
    return db["blank"].get(1)


def set_windows(db, face: int, windows: Iterable[Mapping[str, Any]], by: str, *,
                settings: Settings | None = None, source: str = "local") -> list[int]:
    """Replace `face`'s power windows of `source` with `windows`.

    Each window: {"start": "05:30", "end": "22:30", "weekdays": [0..6]} (weekdays
    optional, default every day; same time rules as schedule entries). An
    empty list leaves the face without windows: always on. All windows are
    checked before anything is written. Returns the new rows' ids.
    """
    if not by:
        raise PowerError(N_("say who changes the power schedule (by)"))
    _check_face(face, settings)
    rows = []
    for i, w in enumerate(windows):
        weekdays = list(w.get("weekdays", range(7)))
        try:
            power_window(face, w["start"], w["end"], weekdays)
        except (ScheduleError, KeyError, TypeError, ValueError) as e:
            raise PowerError(N_("power window %(number)s: %(problem)s"), number=i + 1,
                             problem=str(e)) from None
        rows.append({"face_id": face, "weekdays": json.dumps(sorted(set(weekdays))),
                     "start_time": w["start"], "end_time": w["end"], "source": source})
    with writing(db):
        db.execute("DELETE FROM power_window WHERE face_id = ? AND source = ?", [face, source])
        ids = [db["power_window"].insert(r).last_pk for r in rows]
    log_event(db, "power", "info", "windows_set",
              f"{by} set {len(rows)} power window(s) for face {face}", face_id=face,
              detail={"by": by, "windows": rows})
    return ids


def power_status(db, settings: Settings, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything a power page shows, as plain JSON-able data.

    {"now", "timezone", "blank": {active, power_off, reason, by, since},
     "central_blank": {active, faces ([] = every face), reason, by, since},
     "faces": [{id, name, relay_pin, relay_active_high, want: on|off, dark,
                source: always|schedule|override|blank, until (ISO or None),
                override: {...} or None, power (relay state the player
                reports: on|off|unknown), blanked, windows: [...]}],
     "overrides": [...], "problems": [malformed rows]}
    """
    now = now or utcnow()
    tz = ZoneInfo(settings["timezone"])
    plan, problems = load_plan(db)
    actual = {r["face_id"]: r for r in db.query("SELECT face_id, power, blanked FROM face_state")}
    windows_by_face: dict[int, list] = {}
    for r in db.query("SELECT * FROM power_window ORDER BY face_id, start_time, id"):
        windows_by_face.setdefault(r["face_id"], []).append({
            "id": r["id"], "start": r["start_time"], "end": r["end_time"],
            "weekdays": json.loads(r["weekdays"] or "[0,1,2,3,4,5,6]"), "source": r["source"]})
    faces = []
    for f in configured_faces(settings):
        d = evaluate(plan, f["id"], now, tz)
        o = d.override
        faces.append({
            "id": f["id"], "name": f.get("name", f"Face {f['id']}"),
            "relay_pin": f.get("relay_pin"), "relay_active_high": bool(f.get("relay_active_high", False)),
            "want": "on" if d.on else "off", "dark": d.dark, "source": d.source,
            "until": d.until.astimezone(tz).isoformat(timespec="seconds") if d.until else None,
            "override": None if o is None else _override_dict(o, plan, f["id"], tz),
            "power": (actual.get(f["id"]) or {}).get("power") or "unknown",
            "blanked": bool((actual.get(f["id"]) or {}).get("blanked")),
            "windows": windows_by_face.get(f["id"], []),
        })
    b = plan.blank
    return {
        "now": now.astimezone(tz).isoformat(timespec="seconds"),
        "timezone": str(tz),
        "blank": {"active": b.active, "power_off": b.power_off, "reason": b.reason, "by": b.by,
                  "since": iso(b.since)},
        # Central's kill switch (a separate switch; `blank_off` does not release it).
        "central_blank": {"active": plan.central_blank.active,
                          "faces": sorted(plan.central_blank.faces),
                          "reason": plan.central_blank.reason, "by": plan.central_blank.by,
                          "since": iso(plan.central_blank.since)},
        "faces": faces,
        "overrides": [{"id": o.id, "face_id": o.face_id, "state": o.state,
                       "expires_at": iso(o.expires_at), "created_at": iso(o.created_at),
                       "created_by": o.created_by, "reason": o.reason} for o in plan.overrides],
        "problems": problems,
    }


def _override_dict(o, plan, face, tz) -> dict[str, Any]:
    end = override_end(o, plan.windows.get(face, ()), tz)
    return {"id": o.id, "face_id": o.face_id, "state": o.state,
            "ends": end.astimezone(tz).isoformat(timespec="seconds") if end else None,
            "until_boundary": o.expires_at is None, "by": o.created_by, "reason": o.reason,
            "created_at": iso(o.created_at)}
