"""Assignments: what a gate or a group of gates plays and when — schedule
entries, per-face fallbacks, power windows, text notices — and emergency
releases with a short expiry. Publishing turns them into releases.

Values are checked here with the gate's own schedule rules, so a mistake is
refused at the desk rather than discovered on a screen.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, delete, insert, or_, select, update

from kiosk.schedule import LEVELS, ScheduleError, parse_time
from kiosk.schedule_entry import EntryError, check_entry
from kiosk.store import iso, parse_iso, utcnow
from kiosk.web.formatting import local_date

from central import schema as t
from central.db import insert_or_update, rows, transaction
from central.fleet import check_target
from central.library import central_id, emergencies_playing, get_media, get_playlist
from central.checks import CentralError, NotFound, check_name, int_list
from central.users import audit

NOTICE_KINDS = ("ticker", "slide")


def _weekdays(weekdays) -> str:
    days = int_list(range(7) if weekdays is None else weekdays, 0, 6,
                    "weekdays (0 = Monday)", allow_empty=False)
    return json.dumps(days)


def _faces(faces) -> str:
    """[] means every face of the gate."""
    return json.dumps(int_list(faces, 1, 4, "faces"))


def _times(start: str, end: str) -> tuple[str, str]:
    try:
        s = parse_time(start)
    except ScheduleError as err:
        raise CentralError(str(err), "power_time", v=start) from None
    try:
        e = parse_time(end, allow_24=True)
    except ScheduleError as err:
        raise CentralError(str(err), "power_time", v=end) from None
    return s.strftime("%H:%M"), "24:00" if e is None else e.strftime("%H:%M")


def _instant(value) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise CentralError(f"not an ISO 8601 instant: {value!r}", "instant_format",
                               value=value) from None
    if value.tzinfo is None:
        raise CentralError(f"an instant needs a UTC offset, e.g. +07:00: {value.isoformat()}",
                           "instant_no_offset", value=value.isoformat())
    return iso(value)


def _level(level: str) -> str:
    if level not in LEVELS:
        raise CentralError(f"level must be one of {', '.join(LEVELS)}, got {level!r}",
                           "level_unknown", value=level)
    return level


class EntryRefused(CentralError):
    """The gate's rules refused a schedule entry (kiosk.schedule_entry.EntryError):
    said by its code (SENTENCES' "entry_<code>") at every door; the API's
    code stays the gate's."""

    sentence_prefix = "entry_"

    def __init__(self, err: EntryError):
        p = err.params
        # A reversed range's days as the date fields show them (dd/mm/yyyy).
        start, end = (local_date(p[k]) if p.get(k) else None for k in ("start", "end"))
        super().__init__(str(err), err.code, v=p.get("value") or "—", face=p.get("value"),
                         n=p.get("limit"), start=start, end=end)


def add_entry(db, target_kind: str, target_id: str, playlist_id: str, *, faces=None,
              start_time="00:00", end_time="24:00", weekdays=None, start_date=None,
              end_date=None, level="normal", not_before=None, not_after=None,
              name: str = "", entry_id: str | None = None, by: str = "cli") -> str:
    try:
        # The gate's own rules (kiosk.schedule_entry); no faces means every face.
        e = check_entry({"name": name, "faces": faces, "weekdays": weekdays, "start_time": start_time,
                         "end_time": end_time, "start_date": start_date, "end_date": end_date,
                         "level": level, "not_before": not_before, "not_after": not_after},
                        empty_faces_mean_all=True, text_input=True)
    except EntryError as err:
        raise EntryRefused(err) from err
    eid = central_id(entry_id or "e-" + secrets.token_hex(4), "schedule entry")
    with transaction(db, write=True) as conn:
        check_target(conn, target_kind, target_id)
        playlist = get_playlist(conn, central_id(playlist_id, "playlist"))
        row = {
            "id": eid, "name": e["name"] or playlist["name"], "target_kind": target_kind,
            "target_id": target_id, "playlist_id": playlist["id"],
            "faces": json.dumps(e["faces"]), "start_date": e["start_date"],
            "end_date": e["end_date"], "weekdays": json.dumps(e["weekdays"]),
            "start_time": e["start_time"], "end_time": e["end_time"], "level": e["level"],
            "not_before": e["not_before"], "not_after": e["not_after"],
            "created_at": iso(utcnow()), "created_by": by,
        }
        insert_or_update(conn, t.schedule_entry, row, ("id",))
        audit(conn, by, "entry.save", eid,
              {k: row[k] for k in ("target_kind", "target_id", "level")})
    return eid


def set_fallback(db, target_kind: str, target_id: str, playlist_id: str, face_id=None,
                 by: str = "cli") -> int:
    """The playlist a face shows when no entry is active (face None: every face)."""
    if face_id is not None and not 1 <= int(face_id) <= 4:
        raise CentralError(f"face ids are 1-4, got {face_id!r}", "face_id", value=face_id)
    face_id = None if face_id is None else int(face_id)
    f = t.fallback.c
    with transaction(db, write=True) as conn:
        check_target(conn, target_kind, target_id)
        pid = get_playlist(conn, central_id(playlist_id, "playlist"))["id"]
        conn.execute(delete(t.fallback).where(
            f.target_kind == target_kind, f.target_id == target_id,
            f.face_id.is_not_distinct_from(face_id)))
        rowid = conn.execute(insert(t.fallback).values(
            target_kind=target_kind, target_id=target_id, face_id=face_id,
            playlist_id=pid)).inserted_primary_key[0]
        audit(conn, by, "fallback.set", f"{target_kind}:{target_id}",
              {"face": face_id, "playlist": pid})
    return rowid


def add_power_window(db, target_kind: str, target_id: str, start_time: str, end_time: str,
                     face_id=None, weekdays=None, by: str = "cli") -> int:
    start, end = _times(start_time, end_time)
    if face_id is not None and not 1 <= int(face_id) <= 4:
        raise CentralError(f"face ids are 1-4, got {face_id!r}", "face_id", value=face_id)
    face_id = None if face_id is None else int(face_id)
    days = _weekdays(weekdays)
    if start == end:
        raise CentralError(_("A power window from %(start)s to %(end)s is empty; give different "
                             "start and end times (00:00–24:00 for all day).",
                             start=start, end=end))
    with transaction(db, write=True) as conn:
        check_target(conn, target_kind, target_id)
        _check_power_overlap(conn, target_kind, target_id, face_id, start, end,
                             json.loads(days))
        rowid = conn.execute(insert(t.power_window).values(
            target_kind=target_kind, target_id=target_id, face_id=face_id,
            weekdays=days, start_time=start,
            end_time=end)).inserted_primary_key[0]
        audit(conn, by, "power.add", f"{target_kind}:{target_id}",
              {"face": face_id, "window": [start, end]})
    return rowid


class PowerOverlap(CentralError):
    """A power window overlaps another of the same target on a face."""

    def __init__(self, other: dict, face, weekday: int, start: str, end: str):
        self.other, self.face, self.weekday, self.start, self.end = other, face, weekday, start, end
        where = "every face" if face is None else f"face {face}"
        super().__init__(f"this power window overlaps {other['start_time']}–{other['end_time']} "
                         f"on {where}, weekday {weekday} (0 = Monday) {start}–{end}; "
                         "change or remove that one first")


def _check_power_overlap(conn, target_kind, target_id, face_id, start, end, weekdays) -> None:
    """Two windows of one target on one face that overlap are refused: the
    second says nothing the first does not, or one of them is a typo."""
    from kiosk.schedule_overlap import hhmm, ranges, week_minutes

    p = t.power_window.c
    mine = week_minutes({"start_time": start, "end_time": end, "weekdays": weekdays})
    for other in rows(conn.execute(select(t.power_window).where(
            p.target_kind == target_kind, p.target_id == target_id).order_by(p.id))):
        if face_id is not None and other["face_id"] is not None and other["face_id"] != face_id:
            continue
        theirs = week_minutes({**other, "weekdays": json.loads(other["weekdays"])})
        for day in range(7):
            common = ranges(mine[day] & theirs[day])
            if common:
                raise PowerOverlap(other, face_id if face_id is not None else other["face_id"],
                                   day, hhmm(common[0][0]), hhmm(common[0][1]))


def _notice_texts(texts: dict, kind: str) -> dict[str, str]:
    """The gate's own rules: known languages, clean text, at most three on a
    slide, and every character drawable with the fonts."""
    from kiosk.text.fonts import FontError, check_language_texts
    from kiosk.text.notices import NoticeError, validate_texts
    from kiosk.text.slide import MAX_LANGUAGES

    from central.checks import check_drawable

    # The common refusals in words (the console shows them; kiosk's own
    # sentences are English advice for the gate's CLI).
    if not any(str(v or "").strip() for v in (texts or {}).values()):
        raise CentralError(_("Write the notice in at least one language."))
    if kind == "slide" and sum(1 for v in texts.values() if str(v or "").strip()) > MAX_LANGUAGES:
        raise CentralError(_("A slide notice shows at most %(n)d languages; a ticker shows "
                             "them all in turn.", n=MAX_LANGUAGES))
    try:
        # Checked first on its own: its refusals (a language, a control
        # character) have codes, which validate_texts' NoticeError drops.
        check_language_texts(texts, "text")
        texts = validate_texts(texts, kind)
        check_drawable(texts, bold_too=kind == "slide")
    except FontError as e:
        raise CentralError(str(e), e.code, **e.params) from None
    except NoticeError as e:
        raise CentralError(str(e)) from None
    return texts


def add_notice(db, target_kind: str, target_id: str, texts: dict[str, str], *, kind="ticker",
               level="normal", faces=None, style=None, starts_at=None, expires_at=None,
               notice_id: str | None = None, by: str = "cli") -> str:
    if kind not in NOTICE_KINDS:
        raise CentralError(f"a notice is a {' or a '.join(NOTICE_KINDS)}, not {kind!r}",
                           "notice_kind", value=kind)
    texts = _notice_texts(texts or {}, kind)
    starts, expires = _instant(starts_at), _instant(expires_at)
    if starts and expires and parse_iso(expires) <= parse_iso(starts):
        raise CentralError(_("The notice ends before it starts."))
    nid = central_id(notice_id or "n-" + secrets.token_hex(4), "notice")
    with transaction(db, write=True) as conn:
        check_target(conn, target_kind, target_id)
        insert_or_update(conn, t.notice, {
            "id": nid, "target_kind": target_kind, "target_id": target_id, "kind": kind,
            "level": _level(level), "texts": json.dumps(texts, ensure_ascii=False),
            "faces": _faces(faces), "style": json.dumps(style or {}, ensure_ascii=False),
            "starts_at": starts, "expires_at": expires,
            "created_at": iso(utcnow()), "created_by": by,
        }, ("id",))
        audit(conn, by, "notice.save", nid,
              {"level": level, "target": f"{target_kind}:{target_id}"})
    return nid


ASSIGNMENT_TABLES = ("schedule_entry", "fallback", "power_window", "notice")


def remove(db, table: str, row_id, by: str = "cli") -> None:
    if table not in ASSIGNMENT_TABLES:
        raise CentralError(f"not an assignment table: {table!r}", "assignment_table", value=table)
    tab = t.metadata.tables[table]
    if tab.c.id.type.python_type is int and not isinstance(row_id, int):
        raise NotFound(f"no {table.replace('_', ' ')} {row_id!r}", "row_unknown",
                       what=table.replace("_", " "), value=row_id)
    with transaction(db, write=True) as conn:
        if not conn.execute(delete(tab).where(tab.c.id == row_id)).rowcount:
            raise NotFound(f"no {table.replace('_', ' ')} {row_id!r}", "row_unknown",
                       what=table.replace("_", " "), value=row_id)
        audit(conn, by, f"{table}.remove", str(row_id))


def for_gate(db, table: str, gate_id: str, group_ids: list[str]) -> list[dict]:
    """Rows of an assignment table that apply to a gate: its own, its
    groups' and the province's, in a stable order (by id)."""
    tab = t.metadata.tables[table]
    c = tab.c
    applies = or_(and_(c.target_kind == "gate", c.target_id == gate_id),
                  c.target_kind == "province")
    if group_ids:
        applies = or_(applies, and_(c.target_kind == "group", c.target_id.in_(group_ids)))
    with transaction(db) as conn:
        return rows(conn.execute(select(tab).where(applies).order_by(c.id)))


# ---- what applies to one gate, and from where ----------------------------------------
def origin(row: dict) -> tuple[str, str]:
    """Where an assignment comes from: ("gate"|"group"|"province", id)."""
    return row["target_kind"], row["target_id"]


def gate_view(db, gate_id: str, monday, tz) -> dict:
    """Everything that applies to a gate, each row with where it comes from
    (its own, a group's, the province's); where entries of different levels
    overlap on its faces (kiosk.schedule_overlap, the gate admin's rule); and
    what each face shows over the week starting `monday`, as the gate's
    schedule engine would decide from these assignments (media not yet
    approved included: this is the desk's view, not a release)."""
    from kiosk.schedule import Item, Schedule, entry_from_row
    from kiosk.schedule_overlap import overlaps, week_segments

    from central.fleet import get_gate, groups_of

    with transaction(db) as conn:
        gate = get_gate(conn, gate_id)
        groups = groups_of(conn, gate_id)
        applying = {table: for_gate(conn, table, gate_id, groups) for table in ASSIGNMENT_TABLES}
        playlists, names = {}, {}
        for pid in {r["playlist_id"] for table in ("schedule_entry", "fallback")
                    for r in applying[table]}:
            p = get_playlist(conn, pid)
            names[pid] = p["name"]
            media = {m["sha256"]: m for m in rows(conn.execute(
                select(t.media).where(t.media.c.sha256.in_(
                    [i["media_sha256"] for i in p["items"]]))))}
            playlists[pid] = tuple(
                Item(i["media_sha256"], media[i["media_sha256"]]["kind"],
                     i["duration_s"] or media[i["media_sha256"]]["duration_s"] or 10.0,
                     media[i["media_sha256"]]["name"]) for i in p["items"])
    faces = gate["faces"]
    entries = []
    for r in applying["schedule_entry"]:
        on = [f for f in json.loads(r["faces"]) if f in faces] or (
            [] if json.loads(r["faces"]) else list(faces))
        if on:
            entries.append({**r, "faces": on, "weekdays": json.loads(r["weekdays"])})
    fallbacks = {}
    rank = {"gate": 0, "group": 1, "province": 2}
    for face in faces:
        found = sorted((r for r in applying["fallback"] if r["face_id"] in (None, face)),
                       key=lambda r: (rank[r["target_kind"]], r["face_id"] is None))
        if found:
            fallbacks[face] = found[0]["playlist_id"]
    schedule = Schedule(entries=tuple(entry_from_row(e) for e in entries),
                        playlists=playlists, fallbacks=fallbacks)
    entry_names = {e["id"]: e["name"] or e["id"] for e in entries}
    return {
        "gate": gate, "groups": groups, "applying": applying, "playlist_names": names,
        "conflicts": overlaps(entries),
        "week": {face: week_segments(schedule, face, monday, tz, entry_names) for face in faces},
        "fallbacks": fallbacks,
    }


# ---- playlists, edited in place -------------------------------------------------------
# Every edit form carries the playlist's version (a fingerprint of its name and
# items): a change made from a page shown before someone else edited the
# playlist is refused with nothing stored, never applied to items that have
# moved. Edits are pending work like any other: they reach the gates only
# through a publication (four eyes on the Publish page).

MAX_ITEM_SECONDS = 24 * 3600


class StalePlaylist(CentralError):
    """The playlist changed since the form was shown."""


def playlist_version(playlist: dict) -> str:
    import hashlib

    body = json.dumps([playlist["name"], [[i["media_sha256"], i["duration_s"]]
                                          for i in playlist["items"]]])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


def check_seconds(seconds) -> float | None:
    """An item's own duration: None (a video to its end, an image or slide
    for the gate's default) or seconds, "7,5" as well as "7.5"."""
    if seconds in (None, ""):
        return None
    try:
        value = float(str(seconds).strip().replace(",", "."))
    except ValueError:
        value = -1.0
    if not 0.5 <= value <= MAX_ITEM_SECONDS:
        raise CentralError(_("A duration is a number of seconds from 0.5 to 86400, or empty "
                             "(a video plays to its end, an image for the gate's default); "
                             "got %(v)s.", v=seconds))
    return value


def _target_words(conn, kind: str, target_id: str) -> str:
    if kind == "province":
        return _("the whole province")
    tab = t.gate if kind == "gate" else t.gate_group
    name = conn.execute(select(tab.c.name).where(tab.c.id == target_id)).scalar()
    # A gate by its name alone ("Cửa khẩu quốc tế Hữu Nghị"), as the
    # Assignments page names it.
    return name or target_id if kind == "gate" else _("group %(name)s", name=name or target_id)


def playlist_uses(db, playlist_id: str) -> list[dict]:
    """Where a playlist is used, each with its words: schedule entries and
    fallbacks of a gate, a group or the province, and live emergencies.
    {"kind": "entry"|"fallback"|"emergency", "target_kind", "target_id", "words"}."""
    s, f = t.schedule_entry.c, t.fallback.c
    out = []
    with transaction(db) as conn:
        for r in rows(conn.execute(select(t.schedule_entry).where(s.playlist_id == playlist_id)
                                   .order_by(s.target_kind, s.target_id, s.id))):
            out.append({"kind": "entry", "target_kind": r["target_kind"],
                        "target_id": r["target_id"],
                        "words": _("schedule entry “%(name)s” of %(target)s",
                                   name=r["name"] or r["id"],
                                   target=_target_words(conn, r["target_kind"], r["target_id"]))})
        for r in rows(conn.execute(select(t.fallback).where(f.playlist_id == playlist_id)
                                   .order_by(f.target_kind, f.target_id, f.id))):
            face = (_("every face") if r["face_id"] is None
                    else _("face %(n)s", n=r["face_id"]))
            out.append({"kind": "fallback", "target_kind": r["target_kind"],
                        "target_id": r["target_id"],
                        "words": _("fallback of %(face)s of %(target)s", face=face,
                                   target=_target_words(conn, r["target_kind"], r["target_id"]))})
        for r in emergencies_playing(conn, playlist_id):
            out.append({"kind": "emergency", "target_kind": None, "target_id": None,
                        "words": _("the emergency in force now (“%(reason)s”)",
                                   reason=r["reason"])})
    return out


def _editing(conn, playlist_id: str, version: str) -> dict:
    """The playlist to change, locked (PostgreSQL) against a concurrent edit,
    if it is still as the form showed it and no live emergency plays it (an
    emergency re-reads its playlist whenever releases are re-signed: an edit
    would reach the gates without a publication's approval)."""
    pid = central_id(playlist_id, "playlist")
    if conn.execute(select(t.playlist.c.id).where(t.playlist.c.id == pid)
                    .with_for_update()).first() is None:
        raise NotFound(_("There is no playlist %(id)s any more (someone deleted it?); nothing "
                         "was saved.", id=pid.removeprefix("c-")))
    playlist = get_playlist(conn, pid)
    if version != playlist_version(playlist):
        raise StalePlaylist(_("Someone changed the playlist “%(name)s” while you had it open; "
                              "nothing was saved. It is shown below as it is now: make your "
                              "change again.", name=playlist["name"]))
    live = emergencies_playing(conn, pid)
    if live:
        raise CentralError(_("The playlist “%(name)s” is playing in the emergency in force now "
                             "(“%(reason)s”); nothing was saved. Change it after the emergency "
                             "ends.", name=playlist["name"], reason=live[0]["reason"]))
    return playlist


def _edit(db, playlist_id: str, version: str, by: str, action: str, change) -> dict:
    """Apply `change(conn, name, items) -> (name, items, audit detail)` to the
    playlist as the form showed it; items are [(sha256, seconds or None)]."""
    with transaction(db, write=True) as conn:
        playlist = _editing(conn, playlist_id, version)
        items = [(i["media_sha256"], i["duration_s"]) for i in playlist["items"]]
        name, items, detail = change(conn, playlist["name"], items)
        pid = playlist["id"]
        conn.execute(update(t.playlist).where(t.playlist.c.id == pid).values(name=name))
        conn.execute(delete(t.playlist_item).where(t.playlist_item.c.playlist_id == pid))
        conn.execute(insert(t.playlist_item), [
            {"playlist_id": pid, "position": i, "media_sha256": sha, "duration_s": d}
            for i, (sha, d) in enumerate(items)])
        audit(conn, by, action, pid, detail)
        return get_playlist(conn, pid)


def _position(items: list, position) -> int:
    if not isinstance(position, int) or not 0 <= position < len(items):
        raise CentralError(_("The playlist has no item %(n)s.", n=position))
    return position


def move_item(db, playlist_id: str, version: str, position: int, to: int, *,
              by: str = "cli") -> dict:
    """Move the item at `position` (0-based) to `to` (the first or last
    place when beyond the ends)."""
    def change(conn, name, items):
        i = _position(items, position)
        j = min(max(int(to), 0), len(items) - 1)
        items.insert(j, items.pop(i))
        return name, items, {"from": i, "to": j, "media": items[j][0]}
    return _edit(db, playlist_id, version, by, "playlist.move", change)


def set_item_duration(db, playlist_id: str, version: str, position: int, seconds, *,
                      by: str = "cli") -> dict:
    seconds = check_seconds(seconds)

    def change(conn, name, items):
        i = _position(items, position)
        items[i] = (items[i][0], seconds)
        return name, items, {"position": i, "media": items[i][0], "seconds": seconds}
    return _edit(db, playlist_id, version, by, "playlist.duration", change)


def remove_item(db, playlist_id: str, version: str, position: int, *, by: str = "cli") -> dict:
    def change(conn, name, items):
        i = _position(items, position)
        if len(items) == 1:
            raise CentralError(_("A playlist needs at least one item: this is its last one. "
                                 "Delete the playlist instead."))
        sha, _seconds = items.pop(i)
        return name, items, {"position": i, "media": sha}
    return _edit(db, playlist_id, version, by, "playlist.remove_item", change)


def add_item(db, playlist_id: str, version: str, sha256: str, seconds=None, *,
             by: str = "cli") -> dict:
    """Append a library item (not retired) to the playlist."""
    seconds = check_seconds(seconds)

    def change(conn, name, items):
        media = get_media(conn, sha256)
        if media["state"] == "retired":
            raise CentralError(_("%(name)s is retired: it cannot go into a playlist.",
                                 name=media["name"]))
        items.append((sha256, seconds))
        return name, items, {"media": sha256, "seconds": seconds}
    return _edit(db, playlist_id, version, by, "playlist.add_item", change)


def rename_playlist(db, playlist_id: str, version: str, name: str, *, by: str = "cli") -> dict:
    new = check_name(name, "playlist name", 100)
    if not new:
        raise CentralError(_("Give the playlist a name."))

    def change(conn, old, items):
        return new, items, {"from": old, "to": new}
    return _edit(db, playlist_id, version, by, "playlist.rename", change)


def delete_playlist(db, playlist_id: str, version: str, *, by: str = "cli") -> str:
    """Delete a playlist no schedule entry, fallback or live emergency uses
    (refused with where it is used). Emergencies that played it and have
    ended forget it (their audit entry and the releases keep what they showed).
    Returns its name."""
    with transaction(db, write=True) as conn:
        playlist = _editing(conn, playlist_id, version)
        pid = playlist["id"]
        uses = playlist_uses(conn, pid)
        if uses:
            raise CentralError(_("The playlist “%(name)s” is still used by %(where)s. Remove it "
                                 "from there first; nothing was deleted.", name=playlist["name"],
                                 where="; ".join(u["words"] for u in uses)))
        conn.execute(update(t.emergency).where(t.emergency.c.playlist_id == pid)
                     .values(playlist_id=None))
        conn.execute(delete(t.playlist_item).where(t.playlist_item.c.playlist_id == pid))
        conn.execute(delete(t.playlist).where(t.playlist.c.id == pid))
        audit(conn, by, "playlist.delete", pid, {
            "name": playlist["name"],
            "items": [[i["media_sha256"], i["duration_s"]] for i in playlist["items"]]})
        return playlist["name"]
