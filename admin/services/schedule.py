"""Local playlists, schedule entries and fallbacks; conflicts in words; the
week view. Entries are checked and written by kiosk.schedule_entry (the rules
every door shares; its refusals are put in the user's language here), playlists
and fallbacks go through kiosk.content, and the week view asks the real schedule
engine."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from kiosk import content, schedule_entry, schedule_overlap
from kiosk.schedule import load_schedule
from kiosk.schedule_entry import EntryError
from kiosk.settings import faces as configured_faces
from kiosk.store import writing
from kiosk.web.formatting import local_date

from admin.services import Actor, AdminError, Conflict, NotFound, audit, check_face, typed_iso_date

MAX_ITEMS = 200


def level_label(level: str) -> str:
    return {"emergency": _("emergency"), "priority": _("priority"), "normal": _("normal"),
            "fallback": _("fallback"), "none": _("nothing scheduled")}.get(level, level)


def weekday_label(d: int) -> str:
    return [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"),
            _("Saturday"), _("Sunday")][d]


# ---- playlists ----------------------------------------------------------------


def list_playlists(db) -> list[dict]:
    out = []
    for p in db.query("SELECT * FROM playlist ORDER BY source DESC, name"):
        p["items"] = _items(db, p["id"])
        p["entries"] = [r["name"] or r["id"] for r in db.query(
            "SELECT id, name FROM schedule_entry WHERE playlist_id = ?", [p["id"]])]
        out.append(p)
    return out


def _items(db, playlist_id: str) -> list[dict]:
    return list(db.query(
        "SELECT i.position, i.media_sha256, i.duration_s, m.name, m.kind, m.duration_s AS media_duration "
        "FROM playlist_item i LEFT JOIN media m ON m.sha256 = i.media_sha256 "
        "WHERE i.playlist_id = ? ORDER BY i.position", [playlist_id]))


def get_playlist(db, playlist_id: str) -> dict:
    rows = list(db.query("SELECT * FROM playlist WHERE id = ?", [playlist_id]))
    if not rows:
        raise NotFound(_("No such playlist."))
    p = rows[0]
    p["items"] = _items(db, playlist_id)
    return p


def _check_local(row: dict, what: str) -> None:
    if row.get("source", "local") != "local":
        raise Conflict(_("%(name)s comes from the central authority and is read-only here.",
                         name=row.get("name") or what))


def _duration(value, i: int):
    if value in (None, ""):
        return None
    try:
        d = float(value)
    except (TypeError, ValueError):
        d = -1
    if not 0.5 <= d <= 86400:
        raise AdminError(_("Item %(i)d: a duration is a number of seconds from 0.5 to 86400.", i=i),
                         field="items")
    return d


def save_playlist(db, actor: Actor, playlist_id: str | None, name: str, items: list) -> dict:
    """Create (playlist_id None) or replace a local playlist.

    items: [{"media_sha256": ..., "duration_s": seconds or None}] in order.
    """
    name = " ".join(str(name or "").split())[:100]
    if not name:
        raise AdminError(_("Give the playlist a name."), field="name")
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise AdminError(_("A playlist holds at most %(n)d items.", n=MAX_ITEMS), field="items")
    clean = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise AdminError(_("Item %(i)d is not understood.", i=i), field="items")
        sha = str(item.get("media_sha256") or "")
        if not db.execute("SELECT 1 FROM media WHERE sha256 = ?", [sha]).fetchone():
            raise AdminError(_("Item %(i)d: no such media.", i=i), field="items")
        clean.append((sha, _duration(item.get("duration_s"), i)))
    with writing(db):
        before = None
        if playlist_id:
            before = get_playlist(db, playlist_id)
            _check_local(before, playlist_id)
        else:
            playlist_id = "l-" + uuid.uuid4().hex[:10]
        content.set_playlist(db, playlist_id, name, clean)
        after = get_playlist(db, playlist_id)
        audit.record(db, actor, "playlist.save", name, before, after)
    return after


def delete_playlist(db, actor: Actor, playlist_id: str) -> None:
    with writing(db):
        p = get_playlist(db, playlist_id)
        _check_local(p, playlist_id)
        entries = [r["name"] or r["id"] for r in db.query(
            "SELECT id, name FROM schedule_entry WHERE playlist_id = ?", [playlist_id])]
        fallbacks = [str(r["face_id"]) for r in db.query(
            "SELECT face_id FROM face_fallback WHERE playlist_id = ?", [playlist_id])]
        if entries or fallbacks:
            raise Conflict(_("%(name)s is still used by schedule entries %(entries)s and as fallback "
                             "of faces %(faces)s.", name=p["name"], entries=", ".join(entries) or "—",
                             faces=", ".join(fallbacks) or "—"))
        db.execute("DELETE FROM playlist_item WHERE playlist_id = ?", [playlist_id])
        db.execute("DELETE FROM playlist WHERE id = ?", [playlist_id])
        audit.record(db, actor, "playlist.delete", p["name"], p, None)


# ---- schedule entries ------------------------------------------------------------


def list_entries(db) -> list[dict]:
    out = []
    for e in db.query("SELECT e.*, p.name AS playlist_name FROM schedule_entry e "
                      "LEFT JOIN playlist p ON p.id = e.playlist_id ORDER BY e.source DESC, "
                      "CASE e.level WHEN 'emergency' THEN 0 WHEN 'priority' THEN 1 ELSE 2 END, e.start_time"):
        out.append(_entry_public(e))
    return out


def _entry_public(e: dict) -> dict:
    e = dict(e)
    e["faces"] = json.loads(e["faces"] or "[]")
    e["weekdays"] = json.loads(e["weekdays"] or "[0,1,2,3,4,5,6]")
    return e


def get_entry(db, entry_id: str) -> dict:
    rows = list(db.query("SELECT * FROM schedule_entry WHERE id = ?", [entry_id]))
    if not rows:
        raise NotFound(_("No such schedule entry."))
    return _entry_public(rows[0])


def entry_error_message(e: EntryError) -> str:
    """kiosk.schedule_entry's refusals in the user's language."""
    p = e.params
    messages = {
        "time_of_day": lambda: _("%(v)s is not a time of day: use HH:MM from 00:00 to 23:59.",
                                 v=p.get("value") or "—"),
        "end_time_of_day": lambda: _("%(v)s is not a time of day: use HH:MM from 00:00 to 23:59 "
                                     "(or 24:00 as an end).", v=p.get("value") or "—"),
        "date": lambda: _("%(v)s is not a date (YYYY-MM-DD).", v=p.get("value") or "—"),
        "dates_reversed": lambda: _("The date range ends (%(end)s) before it starts (%(start)s).",
                                    end=local_date(p["end"]), start=local_date(p["start"])),
        "no_faces": lambda: _("Choose at least one face."),
        "unknown_face": lambda: _("Unknown face %(face)s (this gate has faces %(faces)s).",
                                  face=p["value"], faces=p["faces"]),
        "no_weekdays": lambda: _("Choose at least one weekday."),
        "weekday": lambda: _("Weekdays are 0 (Monday) to 6 (Sunday)."),
        "level": lambda: _("Choose a level: emergency, priority or normal."),
        "instant": lambda: _("%(v)s is not a date and time.", v=p.get("value") or "—"),
        "instant_offset": lambda: _("%(v)s needs a UTC offset, e.g. +07:00.", v=p.get("value") or "—"),
        "name": lambda: _("A name is text without control characters, at most %(n)s characters.",
                          n=p.get("limit")),
    }
    return messages.get(e.code, lambda: str(e))()


def _day(data: dict, field: str) -> str | None:
    """ISO (the API, yyyy-mm-dd) goes to kiosk.schedule_entry as typed, so every
    door refuses a bad ISO day with the same EntryError; the form's dd/mm/yyyy is
    read by the shared date parser and refused beside its field."""
    text = str(data.get(field) or "").strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text
    return typed_iso_date(text, field)


def check_entry(db, settings, data: dict) -> dict:
    """Validate every field of a schedule entry (kiosk.schedule_entry's rules, this
    gate's faces); returns the clean values."""
    playlist_id = str(data.get("playlist_id") or "")
    if not db.execute("SELECT 1 FROM playlist WHERE id = ?", [playlist_id]).fetchone():
        raise AdminError(_("Choose an existing playlist."), field="playlist_id")
    fields = {
        # The form's name box holds 100 characters; a longer name is cut, as always.
        "name": " ".join(str(data.get("name") or "").split())[:100],
        "faces": data.get("faces") or [],
        "weekdays": data.get("weekdays", list(range(7))) or [],
        "start_time": str(data.get("start_time") or "").strip(),
        "end_time": str(data.get("end_time") or "").strip(),
        "level": str(data.get("level") or "normal"),
        # dd/mm/yyyy from the form or ISO from the API: ISO for the shared check.
        "start_date": _day(data, "start_date"),
        "end_date": _day(data, "end_date"),
    }
    try:
        clean = schedule_entry.check_entry(fields, faces=[f["id"] for f in configured_faces(settings)],
                                           text_input=True)
    except EntryError as e:
        raise AdminError(entry_error_message(e), field=e.field) from e
    return {**clean, "playlist_id": playlist_id, "enabled": bool(data.get("enabled", True))}


def save_entry(db, settings, actor: Actor, entry_id: str | None, data: dict) -> dict:
    clean = check_entry(db, settings, data)
    with writing(db):
        before = None
        if entry_id:
            before = get_entry(db, entry_id)
            _check_local(before, entry_id)
            schedule_entry.delete(db, entry_id)
        else:
            entry_id = "l-" + uuid.uuid4().hex[:10]
        schedule_entry.insert(db, entry_id, clean["playlist_id"],
                              {**clean, "name": clean["name"] or entry_id}, enabled=clean["enabled"])
        after = get_entry(db, entry_id)
        audit.record(db, actor, "entry.save", after["name"], before, after)
    return after


def delete_entry(db, actor: Actor, entry_id: str) -> None:
    with writing(db):
        e = get_entry(db, entry_id)
        _check_local(e, entry_id)
        schedule_entry.delete(db, entry_id)
        audit.record(db, actor, "entry.delete", e["name"], e, None)


def set_fallback(db, settings, actor: Actor, face, playlist_id: str | None) -> None:
    fid = check_face(settings, face)
    if playlist_id and not db.execute("SELECT 1 FROM playlist WHERE id = ?", [playlist_id]).fetchone():
        raise AdminError(_("Choose an existing playlist."), field="playlist_id")
    with writing(db):
        before = db.execute("SELECT playlist_id FROM face_fallback WHERE face_id = ?", [fid]).fetchone()
        content.set_fallback(db, fid, playlist_id or None)
        audit.record(db, actor, "fallback.set", f"face {fid}", before and before[0], playlist_id)


# ---- conflicts and the week view ---------------------------------------------------


def conflicts(db) -> list[dict]:
    """Overlaps between enabled entries of different levels on a face, in words
    (kiosk.schedule_overlap finds them; a few-day overlap is named by date,
    "Monday 01/12/2026", not by weekday)."""
    entries = [e for e in list_entries(db) if e["enabled"]]
    out = []
    for o in schedule_overlap.overlaps(entries):
        hi, lo, on_date = o["winner"], o["loser"], o["date"]
        label = weekday_label(o["weekday"]) + (" " + on_date.strftime("%d/%m/%Y") if on_date else "")
        out.append({
            "face": o["face"], "weekday": o["weekday"],
            "date": on_date.isoformat() if on_date else None,
            "start": o["start"], "end": o["end"], "winner": hi["id"], "loser": lo["id"],
            "text": _("On face %(face)s, %(day)s %(start)s–%(end)s, %(hl)s entry "
                      "%(hi)s hides %(ll)s entry %(lo)s.", face=o["face"],
                      day=label, start=o["start"], end=o["end"],
                      hl=level_label(hi["level"]), hi=hi["name"] or hi["id"],
                      ll=level_label(lo["level"]), lo=lo["name"] or lo["id"]),
        })
    return out


def week_view(db, settings, monday: date | None = None) -> dict:
    """What each face shows over a week, as segments from the schedule engine
    (kiosk.schedule_overlap.week_segments)."""
    tz = ZoneInfo(settings["timezone"])
    monday = monday or datetime.now(tz).date()
    monday -= timedelta(days=monday.weekday())
    schedule = load_schedule(db, float(settings["image_duration_s"]))
    names = {r["id"]: r["name"] or r["id"] for r in db.query("SELECT id, name FROM schedule_entry")}
    faces = [{"id": f["id"], "name": f.get("name") or f"Face {f['id']}",
              "days": schedule_overlap.week_segments(schedule, f["id"], monday, tz, names)}
             for f in configured_faces(settings)]
    return {"monday": monday.isoformat(), "days": [(monday + timedelta(days=i)).isoformat()
                                                   for i in range(7)], "faces": faces}
