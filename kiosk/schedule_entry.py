"""The schedule entry: its one validator and the one writer of the gate's
`schedule_entry` table.

An entry comes in by four doors, and each checks it here with `check_entry`:
the gate admin's form and API (admin.services.schedule), kiosk.content (the demo,
CLI and benches), a release from central (kiosk.sync.release) and central's
assignments (central.assign). So the same bad entry is refused with the same
`EntryError` everywhere: a `code` and `params` that a user interface turns into the
reader's language, the `field` it is about, and an English message (`str()`).

The rules are the schedule engine's (kiosk.schedule, docs/schedule.md): times are
HH:MM (an end may be 24:00), dates YYYY-MM-DD and not reversed, weekdays 0 (Monday)
to 6, a level of LEVELS, at least one face, instants with a UTC offset.

Only this module writes the gate's `schedule_entry` rows (`insert`,
`insert_released`, `delete`, `delete_from`, `delete_demo`), so the columns and their encoding (JSON
lists of faces and weekdays) are decided once. Central's own `schedule_entry`
table, in central's database, is central.assign's.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import date, datetime
from typing import Any, Iterable, Mapping

from kiosk.schedule import LEVELS, ScheduleError, parse_date, parse_time
from kiosk.store import iso, utcnow

# A gate drives at most four faces; a gate's own admin narrows this to its faces.
FACE_IDS = tuple(range(1, 5))
WEEKDAYS = tuple(range(7))
MAX_NAME = 200

# code -> English message; the params fill it. User interfaces translate by code
# (admin.services.schedule.entry_error_message), never by parsing this text.
MESSAGES = {
    "time_of_day": "{field}: {value!r} is not a time of day (HH:MM from 00:00 to 23:59)",
    "end_time_of_day": "{field}: {value!r} is not a time of day "
                       "(HH:MM from 00:00 to 23:59, or 24:00 as an end)",
    "date": "{field}: {value!r} is not a date (YYYY-MM-DD)",
    "dates_reversed": "the date range ends ({end}) before it starts ({start})",
    "no_faces": "a schedule entry needs at least one face",
    "unknown_face": "faces: {value} is not one of this gate's faces {faces}",
    "no_weekdays": "weekdays must be a non-empty list of 0..6 (0 = Monday)",
    "weekday": "weekdays are 0 (Monday) to 6 (Sunday), got {value}",
    "level": "level must be one of {levels}, got {value!r}",
    "instant": "{field}: {value!r} is not an ISO 8601 instant",
    "instant_offset": "{field}: {value!r} has no UTC offset, e.g. +07:00",
    "name": "the entry name must be text without control characters, at most {limit} characters",
}


class EntryError(ScheduleError):
    """A schedule entry is refused. `code` (a key of MESSAGES) and `params` let a
    user interface say it in the reader's language; `field` is the input at fault."""

    def __init__(self, code: str, field: str, **params: Any):
        self.code = code
        self.field = field
        self.params = params
        super().__init__(MESSAGES[code].format(field=field, **params))

    def __eq__(self, other) -> bool:
        return (isinstance(other, EntryError)
                and (self.code, self.field, self.params) == (other.code, other.field, other.params))

    __hash__ = ValueError.__hash__


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _time(value, field: str, end: bool) -> str:
    """'H:MM', 'HH:MM' or 'HH:MM:SS' -> 'HH:MM' (or 'HH:MM:SS' when seconds are set);
    an end may be '24:00'."""
    try:
        t = parse_time(value, allow_24=end) if isinstance(value, str) else None
    except ScheduleError:
        t = False
    if t is False or (t is None and not end) or not isinstance(value, str):
        raise EntryError("end_time_of_day" if end else "time_of_day", field, value=_shown(value))
    if t is None:
        return "24:00"
    return t.strftime("%H:%M:%S" if t.second else "%H:%M")


def _date(value, field: str) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return parse_date(value.strip() if isinstance(value, str) else value)
    except (ScheduleError, TypeError):
        raise EntryError("date", field, value=_shown(value)) from None


def _instant(value, field: str) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise EntryError("instant", field, value=_shown(value)) from None
    if not isinstance(value, datetime):
        raise EntryError("instant", field, value=_shown(value))
    if value.tzinfo is None:
        raise EntryError("instant_offset", field, value=value.isoformat())
    return iso(value)


def _ints(value, text_input: bool) -> list | None:
    """The list of numbers a field holds, None when it is not a list. With
    `text_input` (forms, the CLI) digit strings and a '1,2' string count too;
    a release or an API body must send JSON numbers."""
    if text_input and isinstance(value, str):
        value = [v for v in value.replace(" ", "").split(",") if v]
    if not isinstance(value, (list, tuple, set, frozenset, range)):
        return None
    if text_input:
        return [int(v) if isinstance(v, str) and v.strip().isdigit() else v for v in value]
    return list(value)


def _shown(value) -> str:
    """A bad value as the message shows it: short, and never a control character."""
    text = "" if value is None else value if isinstance(value, str) else repr(value)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
    return text[:40]


def check_faces(value, faces: Iterable[int] = FACE_IDS, *, empty_means_all: bool = False,
                text_input: bool = False) -> list[int]:
    known = sorted(faces)
    ids = _ints([] if value is None else value, text_input)
    if ids is None or (not ids and not empty_means_all):
        raise EntryError("no_faces", "faces")
    for f in ids:
        if not _is_int(f) or f not in known:
            raise EntryError("unknown_face", "faces", value=_shown(f), faces=", ".join(map(str, known)))
    return sorted(set(ids))


def check_weekdays(value, text_input: bool = False) -> list[int]:
    if value is None:
        return list(WEEKDAYS)
    days = _ints(value, text_input)
    if days is None or not days:
        raise EntryError("no_weekdays", "weekdays")
    for d in days:
        if not _is_int(d) or d not in WEEKDAYS:
            raise EntryError("weekday", "weekdays", value=_shown(d))
    return sorted(set(days))


def check_level(value) -> str:
    if value not in LEVELS:
        raise EntryError("level", "level", value=_shown(value), levels=", ".join(LEVELS))
    return value


def check_name(value, limit: int = MAX_NAME) -> str:
    """Names go into releases and pages: text without control characters, spaces
    collapsed, at most `limit` characters."""
    if value is None:
        return ""
    if not isinstance(value, str) or any(unicodedata.category(ch) == "Cc" for ch in value):
        raise EntryError("name", "name", limit=limit)
    value = " ".join(unicodedata.normalize("NFC", value).split())
    if len(value) > limit:
        raise EntryError("name", "name", limit=limit)
    return value


def check_entry(data: Mapping, *, faces: Iterable[int] = FACE_IDS,
                empty_faces_mean_all: bool = False, text_input: bool = False) -> dict[str, Any]:
    """Check every field of a schedule entry; return its clean values or raise EntryError.

    `data` holds any of name, faces, weekdays, start_time, end_time, start_date,
    end_date, level, not_before, not_after (ids and the playlist are the caller's:
    they live in its store). Times and level are required (callers give their
    defaults); missing weekdays mean every day. `faces` are the face ids allowed; central's entries
    for a group may leave them empty to mean every face of each gate. With
    `text_input` (a form, the CLI) faces and weekdays may be digit strings.
    """
    clean = {
        "name": check_name(data.get("name")),
        "faces": check_faces(data.get("faces"), faces, empty_means_all=empty_faces_mean_all,
                             text_input=text_input),
        "weekdays": check_weekdays(data.get("weekdays"), text_input),
        "start_time": _time(data.get("start_time"), "start_time", end=False),
        "end_time": _time(data.get("end_time"), "end_time", end=True),
        "level": check_level(data.get("level")),
        "not_before": _instant(data.get("not_before"), "not_before"),
        "not_after": _instant(data.get("not_after"), "not_after"),
    }
    d0 = _date(data.get("start_date"), "start_date")
    d1 = _date(data.get("end_date"), "end_date")
    if d0 and d1 and d1 < d0:
        raise EntryError("dates_reversed", "end_date", start=d0.isoformat(), end=d1.isoformat())
    clean["start_date"] = d0 and d0.isoformat()
    clean["end_date"] = d1 and d1.isoformat()
    return clean


# ---- the one writer of the gate's schedule_entry table ------------------------------

_COLUMNS = ("id", "name", "playlist_id", "faces", "start_date", "end_date", "weekdays",
            "start_time", "end_time", "level", "source", "enabled", "created_at",
            "not_before", "not_after")
_INSERT = (f"INSERT INTO schedule_entry ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(_COLUMNS))})")


def _write(db, entry_id: str, playlist_id: str, values: Mapping[str, Any], source: str,
           enabled: bool, created_at: str) -> str:
    weekdays = values.get("weekdays")
    row = {
        "id": entry_id, "name": values.get("name") or "", "playlist_id": playlist_id,
        "faces": json.dumps(list(values["faces"])), "start_date": values.get("start_date"),
        "end_date": values.get("end_date"),
        "weekdays": json.dumps(list(WEEKDAYS if weekdays is None else weekdays)),
        "start_time": values["start_time"], "end_time": values["end_time"],
        "level": values["level"], "source": source, "enabled": 1 if enabled else 0,
        "created_at": created_at, "not_before": values.get("not_before"),
        "not_after": values.get("not_after"),
    }
    db.execute(_INSERT, [row[c] for c in _COLUMNS])
    return entry_id


def insert(db, entry_id: str, playlist_id: str, clean: Mapping[str, Any], *,
           source: str = "local", enabled: bool = True) -> str:
    """Add one entry whose values came out of `check_entry`; returns its id."""
    return _write(db, entry_id, playlist_id, clean, source, enabled, iso(utcnow()))


def insert_released(db, entry: Mapping[str, Any], created_at: str) -> str:
    """Add one of a release's entries, as central sent it (kiosk.sync.release checked
    it with `check_entry` before the release was accepted)."""
    return _write(db, entry["id"], entry["playlist_id"], entry, "central", True, created_at)


def delete(db, entry_id: str) -> None:
    db.execute("DELETE FROM schedule_entry WHERE id = ?", [entry_id])


def delete_from(db, source: str) -> None:
    """Every entry of one source ('central' when a new release replaces them)."""
    db.execute("DELETE FROM schedule_entry WHERE source = ?", [source])


def delete_demo(db, source: str | None = None) -> None:
    """The demo's own entries (ids 'demo-...'), of one source or of all."""
    if source is None:
        db.execute("DELETE FROM schedule_entry WHERE id LIKE 'demo-%'")
    else:
        db.execute("DELETE FROM schedule_entry WHERE id LIKE 'demo-%' AND source = ?", [source])
