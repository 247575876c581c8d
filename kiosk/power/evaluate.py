"""Pure power decisions: is a face's power on at a moment, why, and until when.

Rules (README, Operation -> Power):
- Power windows are weekly on-windows per face with the schedule engine's time
  rules (kiosk.schedule: local wall time, end exclusive, an overnight window
  belongs to its start day, end == start is 24 hours). A face with no window
  at all is always on, so that a gate without a power schedule shows content.
- A manual override (one face, or every face when its face is None) forces on
  or off until `expires_at`, or, when that is None, until the next boundary of
  the face's power schedule after the override was made (the next moment the
  schedule itself would switch the face). With no boundary ahead (no windows,
  or always on) it lasts until cleared. The newest active override wins.
- The kill switch blanks every face (dark) and, with `power_off`, also forces
  every relay off. It outranks everything.
- Central's kill switch (from the signed release, kiosk/sync/activate.py)
  blanks every face or chosen ones; their relays keep following overrides and
  the schedule. It is a second, separate switch: a face is dark while either
  holds it, and releasing one leaves the other in force.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from kiosk.schedule import Entry, ScheduleError, parse_time
from kiosk.power.words import Sentence
from kiosk.store import parse_iso
from kiosk.web.i18n import N_

STATES = ("on", "off")


@dataclass(frozen=True)
class Override:
    id: int
    face_id: int | None  # None: every face
    state: str  # on | off
    expires_at: datetime | None  # None: until the next schedule boundary
    created_at: datetime
    created_by: str = ""
    reason: str = ""

    def applies_to(self, face: int) -> bool:
        return self.face_id is None or self.face_id == face


@dataclass(frozen=True)
class Blank:
    active: bool = False
    power_off: bool = False
    reason: str = ""
    by: str = ""
    since: datetime | None = None


@dataclass(frozen=True)
class CentralBlank:
    active: bool = False
    faces: frozenset[int] = frozenset()  # empty: every face
    reason: str = ""
    by: str = ""
    since: datetime | None = None

    def covers(self, face: int) -> bool:
        return self.active and (not self.faces or face in self.faces)


@dataclass(frozen=True)
class PowerPlan:
    """The desired power state as read from the database."""

    windows: Mapping[int, tuple[Entry, ...]] = field(default_factory=dict)  # face -> windows
    overrides: tuple[Override, ...] = ()
    blank: Blank = Blank()
    central_blank: CentralBlank = CentralBlank()


@dataclass(frozen=True)
class FacePower:
    face: int
    on: bool  # the face's relay should be on
    dark: bool  # the face must show nothing (power off, or blanked)
    blanked: bool
    source: str  # always | schedule | override | blank | central_blank
    until: datetime | None  # next moment this answer can change by time alone; None: not by time
    override: Override | None = None


def power_window(face: int, start: str, end: str, weekdays: Iterable[int] = range(7),
                 window_id: int | str = "") -> Entry:
    """A weekly power window as a schedule-engine entry, so both share one set of time rules.

    Raises ScheduleError for a malformed time or weekday list.
    """
    return Entry(
        id=f"power-{window_id}",
        playlist_id="",
        faces=frozenset({face}),
        start=parse_time(start),
        end=parse_time(end, allow_24=True),
        weekdays=frozenset(int(d) for d in weekdays),
    )


def _local(at: datetime, tz: ZoneInfo) -> datetime:
    if at.tzinfo is None:
        raise ScheduleError("moments must carry a time zone")
    return at.astimezone(tz).replace(tzinfo=None)


def _windows_on(windows: Sequence[Entry], t: datetime) -> bool:
    for w in windows:
        for day in (t.date(), t.date() - timedelta(days=1)):
            bounds = w.window_on(day)
            if bounds and bounds[0] <= t < bounds[1]:
                return True
    return False


def schedule_on(windows: Sequence[Entry], at: datetime, tz: ZoneInfo) -> bool:
    """What the power schedule alone wants at `at` (no windows: always on)."""
    if not windows:
        return True
    return _windows_on(windows, _local(at, tz))


def next_boundary(windows: Sequence[Entry], at: datetime, tz: ZoneInfo) -> datetime | None:
    """The first moment after `at` where the power schedule switches the face.

    Boundaries where overlapping windows hand over without a switch are not
    boundaries. None when the schedule never switches (no windows, or on
    around the clock).
    """
    if not windows:
        return None
    t = _local(at, tz)
    state = _windows_on(windows, t)
    candidates = set()
    # A weekly pattern repeats after 7 days; one more day each side covers
    # windows that run overnight into the next day.
    for offset in range(-1, 9):
        day = t.date() + timedelta(days=offset)
        for w in windows:
            bounds = w.window_on(day)
            if bounds:
                candidates.update(b for b in bounds if b > t)
    for c in sorted(candidates):
        if _windows_on(windows, c) != state:
            return c.replace(tzinfo=tz)
    return None


def override_end(override: Override, windows: Sequence[Entry], tz: ZoneInfo) -> datetime | None:
    """When `override` stops applying to a face with these windows (None: when cleared)."""
    if override.expires_at is not None:
        return override.expires_at
    return next_boundary(windows, override.created_at, tz)


def active_override(plan: PowerPlan, face: int, at: datetime, tz: ZoneInfo
                    ) -> tuple[Override, datetime | None] | None:
    """The newest override in force on `face` at `at`, with its end."""
    windows = plan.windows.get(face, ())
    best = None
    for o in plan.overrides:
        if not o.applies_to(face):
            continue
        end = override_end(o, windows, tz)
        if end is not None and at >= end:
            continue
        if best is None or (o.created_at, o.id) > (best[0].created_at, best[0].id):
            best = (o, end)
    return best


def evaluate(plan: PowerPlan, face: int, at: datetime, tz: ZoneInfo | str) -> FacePower:
    """Whether `face` is powered and dark at `at`, why, and until when."""
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    windows = plan.windows.get(face, ())
    if plan.blank.active:
        on = False if plan.blank.power_off else _unblanked_on(plan, face, at, tz)
        return FacePower(face, on, True, True, "blank", None)
    if plan.central_blank.covers(face):
        return FacePower(face, _unblanked_on(plan, face, at, tz), True, True, "central_blank", None)
    found = active_override(plan, face, at, tz)
    if found is not None:
        o, end = found
        on = o.state == "on"
        return FacePower(face, on, not on, False, "override", end, o)
    on = schedule_on(windows, at, tz)
    source = "schedule" if windows else "always"
    return FacePower(face, on, not on, False, source, next_boundary(windows, at, tz))


def _unblanked_on(plan: PowerPlan, face: int, at: datetime, tz: ZoneInfo) -> bool:
    """What the relay wants under a blank that keeps power (overrides, else schedule)."""
    found = active_override(plan, face, at, tz)
    if found is not None:
        return found[0].state == "on"
    return schedule_on(plan.windows.get(face, ()), at, tz)


def expired_overrides(plan: PowerPlan, faces: Iterable[int], at: datetime,
                      tz: ZoneInfo | str) -> list[Override]:
    """Overrides that no longer apply to any face they name: safe to delete."""
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    faces = list(faces)
    gone = []
    for o in plan.overrides:
        targets = faces if o.face_id is None else [o.face_id]
        ends = [override_end(o, plan.windows.get(f, ()), tz) for f in targets]
        if targets and all(e is not None and at >= e for e in ends):
            gone.append(o)
    return gone


# ---- reading the plan from the database -------------------------------------


def override_from_row(row: Mapping) -> Override:
    if row["state"] not in STATES:
        raise ScheduleError(f"power override state must be on or off, got {row['state']!r}")
    return Override(
        id=row["id"],
        face_id=row["face_id"],
        state=row["state"],
        expires_at=parse_iso(row["expires_at"]),
        created_at=parse_iso(row["created_at"]),
        created_by=row.get("created_by") or "",
        reason=row.get("reason") or "",
    )


def window_from_row(row: Mapping) -> Entry:
    weekdays = row.get("weekdays")
    weekdays = json.loads(weekdays) if isinstance(weekdays, str) else weekdays
    return power_window(row["face_id"], row["start_time"], row["end_time"],
                        range(7) if weekdays is None else weekdays, row["id"])


def load_plan(db) -> tuple[PowerPlan, list[str]]:
    """Read power windows, overrides and the kill switch; also the rows that were malformed.

    A malformed row is left out (and reported) rather than stopping power control.
    """
    problems: list[str] = []
    windows: dict[int, list[Entry]] = {}
    for r in db.query("SELECT * FROM power_window ORDER BY id"):
        try:
            windows.setdefault(r["face_id"], []).append(window_from_row(r))
        except (ScheduleError, ValueError, TypeError) as e:
            problems.append(Sentence(N_("power window %(number)s: %(problem)s"), number=r["id"],
                                     problem=str(e)))
    overrides = []
    for r in db.query("SELECT * FROM power_override ORDER BY id"):
        try:
            overrides.append(override_from_row(r))
        except (ScheduleError, ValueError, TypeError) as e:
            problems.append(Sentence(N_("power override %(number)s: %(problem)s"), number=r["id"],
                                     problem=str(e)))
    row = db.execute("SELECT active, power_off, reason, by, since FROM blank WHERE id = 1").fetchone()
    blank = Blank()
    if row is not None:
        blank = Blank(bool(row[0]), bool(row[1]), row[2] or "", row[3] or "", parse_iso(row[4]))
    central = CentralBlank()
    row = db.execute("SELECT active, faces, reason, by, since FROM central_blank "
                     "WHERE id = 1").fetchone()
    if row is not None and row[0]:
        try:
            faces = frozenset(int(f) for f in json.loads(row[1] or "[]"))
        except (ValueError, TypeError):
            # Unreadable faces: blank every face rather than none (fail dark).
            problems.append(Sentence(N_("central blank: faces '%(faces)s' unreadable; every face "
                                        "blanked"), faces=row[1]))
            faces = frozenset()
        central = CentralBlank(True, faces, row[2] or "", row[3] or "", parse_iso(row[4]))
    return PowerPlan({f: tuple(ws) for f, ws in windows.items()}, tuple(overrides), blank,
                     central), problems
