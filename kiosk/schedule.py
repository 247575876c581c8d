"""The schedule engine: pure functions from (schedule, face, moment) to what
the face shows and when that answer next changes.

Rules (DESIGN.md, docs/schedule.md):
- An entry occurs on each local date inside its date range whose weekday it
  lists. Its daily window starts at `start` (inclusive) and ends at `end`
  (exclusive). When end <= start the window runs overnight into the next day
  and still belongs to its start day (weekday and date range are checked on
  the start day). When end == start the window lasts 24 hours.
- Optional `not_before` / `not_after` instants bound an entry absolutely
  (notices and emergency releases with an expiry).
- On each face the highest active level wins: emergency > priority > normal.
  Entries of that level play in turn (their playlists one after another,
  ordered by window start, then id). With no active entry the face plays its
  fallback playlist, or nothing (black).
- Times are local wall time in the gate's zone; a moment given in any zone is
  converted first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

LEVELS = ("emergency", "priority", "normal")
LEVEL_RANK = {"emergency": 3, "priority": 2, "normal": 1, "fallback": 0, "none": -1}
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
# How far ahead the next-change search walks before it gives up and says
# "not within the horizon" (the player re-evaluates long before that anyway).
HORIZON = timedelta(days=400)


class ScheduleError(ValueError):
    """A schedule value is malformed (a time like 25:00, an unknown level ...)."""


def parse_time(text: str, *, allow_24: bool = False) -> time | None:
    """'HH:MM' or 'HH:MM:SS' -> time. '24:00' (end of day) -> None if allowed."""
    m = _TIME_RE.match(str(text).strip())
    if not m:
        raise ScheduleError(f"not a time of day (HH:MM): {text!r}")
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if allow_24 and (h, mi, s) == (24, 0, 0):
        return None
    if h > 23 or mi > 59 or s > 59:
        raise ScheduleError(f"not a time of day (00:00-23:59): {text!r}")
    return time(h, mi, s)


def parse_date(text: str | None) -> date | None:
    if text in (None, ""):
        return None
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise ScheduleError(f"not a date (YYYY-MM-DD): {text!r}") from None


@dataclass(frozen=True)
class Item:
    media_sha256: str
    kind: str  # video | image | text
    duration_s: float | None  # None: play a video to its end
    name: str = ""


@dataclass(frozen=True)
class Entry:
    id: str
    playlist_id: str
    faces: frozenset[int]
    start: time
    end: time | None  # None = 24:00
    weekdays: frozenset[int] = frozenset(range(7))
    start_date: date | None = None
    end_date: date | None = None
    level: str = "normal"
    name: str = ""
    not_before: datetime | None = None
    not_after: datetime | None = None

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ScheduleError(f"unknown level {self.level!r} (emergency, priority, normal)")
        if not self.weekdays or not set(self.weekdays) <= set(range(7)):
            raise ScheduleError(f"weekdays must be a non-empty subset of 0..6: {sorted(self.weekdays)}")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ScheduleError(
                f"date range ends ({self.end_date}) before it starts ({self.start_date})"
            )
        if not self.faces:
            raise ScheduleError("a schedule entry needs at least one face")

    def window_on(self, day: date) -> tuple[datetime, datetime] | None:
        """The local naive window of the occurrence that starts on `day`, if any."""
        if day.weekday() not in self.weekdays:
            return None
        if self.start_date and day < self.start_date:
            return None
        if self.end_date and day > self.end_date:
            return None
        begin = datetime.combine(day, self.start)
        end_t = self.end
        if end_t is None:
            end = datetime.combine(day + timedelta(days=1), time(0))
        else:
            end = datetime.combine(day, end_t)
            if end <= begin:  # overnight, or equal: 24 hours
                end += timedelta(days=1)
        return begin, end


@dataclass(frozen=True)
class Schedule:
    entries: tuple[Entry, ...] = ()
    playlists: Mapping[str, Sequence[Item]] = field(default_factory=dict)
    fallbacks: Mapping[int, str] = field(default_factory=dict)  # face -> playlist id


@dataclass(frozen=True)
class Decision:
    face: int
    level: str  # emergency | priority | normal | fallback | none
    entry_ids: tuple[str, ...]
    items: tuple[Item, ...]
    next_change: datetime | None  # aware, in the gate's zone; None = never (within horizon)

    def same_content(self, other: "Decision") -> bool:
        return (self.level, self.entry_ids, self.items) == (other.level, other.entry_ids, other.items)


def _local_naive(at: datetime, tz: ZoneInfo) -> datetime:
    if at.tzinfo is None:
        raise ScheduleError("moments must carry a time zone")
    return at.astimezone(tz).replace(tzinfo=None)


def _aware(local: datetime, tz: ZoneInfo) -> datetime:
    return local.replace(tzinfo=tz)


def _active_window(entry: Entry, t: datetime, at: datetime) -> tuple[datetime, datetime] | None:
    if entry.not_before is not None and at < entry.not_before:
        return None
    if entry.not_after is not None and at >= entry.not_after:
        return None
    for day in (t.date(), t.date() - timedelta(days=1)):
        w = entry.window_on(day)
        if w and w[0] <= t < w[1]:
            return w
    return None


def _content(schedule: Schedule, face: int, at: datetime, tz: ZoneInfo):
    t = _local_naive(at, tz)
    active: list[tuple[datetime, str, Entry]] = []
    best = -1
    for e in schedule.entries:
        if face not in e.faces or not schedule.playlists.get(e.playlist_id):
            continue
        w = _active_window(e, t, at)
        if w is None:
            continue
        rank = LEVEL_RANK[e.level]
        if rank > best:
            best, active = rank, []
        if rank == best:
            active.append((w[0], e.id, e))
    if active:
        active.sort(key=lambda a: (a[0], a[1]))
        items = tuple(i for _, _, e in active for i in schedule.playlists[e.playlist_id])
        return active[0][2].level, tuple(e.id for _, _, e in active), items
    fb = schedule.fallbacks.get(face)
    if fb and schedule.playlists.get(fb):
        return "fallback", (), tuple(schedule.playlists[fb])
    return "none", (), ()


def _next_boundary(entry: Entry, t: datetime, at: datetime, tz: ZoneInfo) -> datetime | None:
    """The first moment after `at` where this entry starts or stops being active."""
    candidates: list[datetime] = []
    for instant in (entry.not_before, entry.not_after):
        if instant is not None and instant > at:
            candidates.append(instant)
    day = t.date() - timedelta(days=1)
    if entry.start_date and day < entry.start_date:
        day = entry.start_date
    # A weekly pattern repeats within 7 days; 9 covers the overnight spill.
    for _ in range(9):
        if entry.end_date and day > entry.end_date:
            break
        w = entry.window_on(day)
        later_bounds = [b for b in (w or ()) if b > t]
        if later_bounds:
            # Windows of one entry never overlap, so the first day with a
            # boundary ahead holds the nearest one.
            candidates.append(_aware(min(later_bounds), tz))
            break
        day += timedelta(days=1)
    later = [c for c in candidates if c > at]
    return min(later) if later else None


def evaluate(schedule: Schedule, face: int, at: datetime, tz: ZoneInfo | str) -> Decision:
    """What `face` shows at `at`, and the exact moment that answer next changes."""
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    level, entry_ids, items = _content(schedule, face, at, tz)
    relevant = [e for e in schedule.entries if face in e.faces and schedule.playlists.get(e.playlist_id)]
    cursor = at
    limit = at + HORIZON
    next_change = None
    while relevant:
        t = _local_naive(cursor, tz)
        bounds = [b for e in relevant if (b := _next_boundary(e, t, cursor, tz)) is not None]
        if not bounds:
            break
        cursor = min(bounds)
        if cursor > limit:
            break
        if _content(schedule, face, cursor, tz) != (level, entry_ids, items):
            next_change = cursor.astimezone(tz)
            break
    return Decision(face, level, entry_ids, items, next_change)


# ---- building a Schedule from the database ---------------------------------


def entry_from_row(row: Mapping) -> Entry:
    """A schedule_entry row (JSON columns as text) -> Entry, validating it."""
    import json

    faces = row["faces"]
    faces = json.loads(faces) if isinstance(faces, str) else faces
    weekdays = row.get("weekdays")
    weekdays = json.loads(weekdays) if isinstance(weekdays, str) else weekdays
    if weekdays is None:
        weekdays = list(range(7))
    return Entry(
        id=str(row["id"]),
        name=row.get("name") or "",
        playlist_id=str(row["playlist_id"]),
        faces=frozenset(int(f) for f in faces),
        start=parse_time(row["start_time"]),
        end=parse_time(row["end_time"], allow_24=True),
        weekdays=frozenset(int(d) for d in weekdays),
        start_date=parse_date(row.get("start_date")),
        end_date=parse_date(row.get("end_date")),
        level=row.get("level") or "normal",
        not_before=_maybe_dt(row.get("not_before")),
        not_after=_maybe_dt(row.get("not_after")),
    )


def _maybe_dt(value) -> datetime | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def load_schedule(db, default_image_s: float = 10.0, extra_entries: Iterable[Entry] = (),
                  extra_playlists: Mapping[str, Sequence[Item]] | None = None) -> Schedule:
    """Read the desired schedule from the gate database.

    Disabled entries and malformed rows are left out (a malformed row is
    reported by whoever wrote it; the player must keep going).
    """
    media = {r["sha256"]: r for r in db["media"].rows}
    playlists: dict[str, list[Item]] = {}
    for r in db.query(
        "SELECT playlist_id, media_sha256, duration_s FROM playlist_item ORDER BY playlist_id, position"
    ):
        m = media.get(r["media_sha256"])
        if m is None:
            continue
        duration = r["duration_s"]
        if duration is None and m["kind"] != "video":
            duration = m["duration_s"] or default_image_s
        playlists.setdefault(r["playlist_id"], []).append(
            Item(m["sha256"], m["kind"], duration, m["name"])
        )
    entries = []
    for r in db.query("SELECT * FROM schedule_entry WHERE enabled = 1 ORDER BY id"):
        try:
            entries.append(entry_from_row(r))
        except (ScheduleError, ValueError, TypeError):
            continue
    entries.extend(extra_entries)
    if extra_playlists:
        playlists.update({k: list(v) for k, v in extra_playlists.items()})
    fallbacks = {r["face_id"]: r["playlist_id"] for r in db["face_fallback"].rows}
    return Schedule(
        entries=tuple(entries),
        playlists={k: tuple(v) for k, v in playlists.items()},
        fallbacks=fallbacks,
    )
