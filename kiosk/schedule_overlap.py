"""Where schedule entries of different levels overlap on a face, and what a
face shows over a week: the one computation behind the gate admin's conflict
list and week view (admin.services.schedule) and central's assignment pages
(central.assign), so both explain the same overlap the same way. Entries are dicts in kiosk.schedule_entry's clean shape
(faces, weekdays, start_time, end_time, start_date, end_date, level), plus an
id and a name; user interfaces put the result into words.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from kiosk.schedule import LEVEL_RANK, evaluate, parse_time

# An overlap confined to at most this many days is listed by date, not by weekday.
DATED_OVERLAP_DAYS = 14


def _window(e: dict) -> tuple[int, int]:
    """The entry's daily window in minutes from its start day's midnight
    (an end at or before the start runs overnight)."""
    start = parse_time(e["start_time"])
    end = parse_time(e["end_time"], allow_24=True)
    s = start.hour * 60 + start.minute
    t = 1440 if end is None else end.hour * 60 + end.minute
    if t <= s:
        t += 1440  # overnight (or 24 h when equal)
    return s, t


def week_minutes(e: dict) -> list[set[int]]:
    """Minutes of the week (per weekday of the *start* day's occurrence) an entry covers."""
    s, t = _window(e)
    week: list[set[int]] = [set() for _ in range(7)]
    for d in e["weekdays"]:
        for m in range(s, t):
            week[(d + m // 1440) % 7].add(m % 1440)
    return week


def ranges(minutes: set[int]) -> list[tuple[int, int]]:
    out, run = [], None
    for m in sorted(minutes):
        if run and m == run[1]:
            run[1] = m + 1
        else:
            run = [m, m + 1]
            out.append(run)
    return [tuple(r) for r in out]


def hhmm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def dates_overlap(a: dict, b: dict) -> bool:
    a0, a1 = a.get("start_date") or "0000", a.get("end_date") or "9999"
    b0, b1 = b.get("start_date") or "0000", b.get("end_date") or "9999"
    return a0 <= b1 and b0 <= a1


def date_minutes(e: dict, day: date) -> set[int]:
    """Minutes of the calendar day `day` that entry `e` covers, its date range,
    weekdays and overnight windows (belonging to their start day) included."""
    s, t = _window(e)
    first = date.fromisoformat(e["start_date"]) if e.get("start_date") else None
    last = date.fromisoformat(e["end_date"]) if e.get("end_date") else None
    out: set[int] = set()
    for start_day, offset in ((day, 0), (day - timedelta(days=1), 1440)):
        if start_day.weekday() not in e["weekdays"]:
            continue
        if (first and start_day < first) or (last and start_day > last):
            continue
        out.update(m - offset for m in range(s, t) if offset <= m < offset + 1440)
    return out


def overlaps(entries: list[dict], faces_of=lambda e: e["faces"]) -> list[dict]:
    """Overlaps between entries of different levels on a face: {face, weekday,
    date (a date when both entries' date ranges meet on only a few days, so a
    one-day entry is not listed on all seven weekdays; else None), start, end
    (HH:MM), winner, loser (the entries)}. `faces_of(entry)`: its faces."""
    weeks = {id(e): week_minutes(e) for e in entries}
    out = []
    for i, a in enumerate(entries):
        for b in entries[i + 1:]:
            if a["level"] == b["level"] or not dates_overlap(a, b):
                continue
            hi, lo = (a, b) if LEVEL_RANK[a["level"]] > LEVEL_RANK[b["level"]] else (b, a)
            common = sorted(set(faces_of(a)) & set(faces_of(b)))
            if not common:
                continue
            first = max(a.get("start_date") or "", b.get("start_date") or "")
            last = min(a.get("end_date") or "9999-12-31", b.get("end_date") or "9999-12-31")
            spans = []  # (weekday, date or None, minutes)
            if first and last != "9999-12-31":
                d0, d1 = date.fromisoformat(first), date.fromisoformat(last)
                if (d1 - d0).days < DATED_OVERLAP_DAYS:
                    # +1 day: an overnight window of the last day runs past midnight.
                    for n in range((d1 - d0).days + 2):
                        day = d0 + timedelta(days=n)
                        spans.append((day.weekday(), day,
                                      date_minutes(a, day) & date_minutes(b, day)))
            if not spans:
                spans = [(day, None, weeks[id(a)][day] & weeks[id(b)][day]) for day in range(7)]
            for face in common:
                for day, on_date, minutes in spans:
                    for r0, r1 in ranges(minutes):
                        out.append({"face": face, "weekday": day, "date": on_date,
                                    "start": hhmm(r0), "end": hhmm(r1),
                                    "winner": hi, "loser": lo})
    return out


def week_segments(schedule, face_id: int, monday, tz, names: dict) -> list[list[dict]]:
    """What one face shows over the week starting `monday` (a date, in `tz`),
    as the schedule engine decides it: per day a list of segments {start,
    end (HH:MM, 24:00 at midnight), level, entries (names), items}. The gate
    admin's week view and central's assignment pages draw these."""
    start = datetime.combine(monday, time(0), tz)
    end = start + timedelta(days=7)
    days: list[list[dict]] = [[] for _ in range(7)]
    at = start
    for _step in range(2000):  # a bound: a week has far fewer changes
        d = evaluate(schedule, face_id, at, tz)
        stop = min(d.next_change or end, end)
        _add_segment(days, start, at, stop, d, names, tz)
        if stop >= end:
            break
        at = stop
    return days


def _add_segment(days, week_start, a, b, decision, names, tz):
    """Split [a, b) at midnights and add it to each day's list."""
    while a < b:
        day_index = (a.astimezone(tz).date() - week_start.date()).days
        midnight = datetime.combine(a.astimezone(tz).date() + timedelta(days=1), time(0), tz)
        seg_end = min(b, midnight)
        if 0 <= day_index < 7:
            days[day_index].append({
                "start": a.astimezone(tz).strftime("%H:%M"),
                "end": "24:00" if seg_end == midnight else seg_end.astimezone(tz).strftime("%H:%M"),
                "level": decision.level,
                "entries": [names.get(e, e) for e in decision.entry_ids],
                "items": len(decision.items),
            })
        a = seg_end
