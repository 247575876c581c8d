"""The schedule engine: hand-checked cases and Hypothesis properties."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.schedule import (
    LEVEL_RANK,
    Entry,
    Item,
    Schedule,
    ScheduleError,
    entry_from_row,
    evaluate,
    load_schedule,
    parse_time,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
A = Item("a" * 64, "image", 10.0, "a.png")
B = Item("b" * 64, "video", None, "b.mp4")
C = Item("c" * 64, "image", 5.0, "c.png")
F = Item("f" * 64, "image", 10.0, "fallback.png")


def at(y, mo, d, h=0, mi=0, s=0):
    return datetime(y, mo, d, h, mi, s, tzinfo=TZ)


def entry(id="e", start="08:00", end="17:00", level="normal", faces=(1,), weekdays=range(7),
          start_date=None, end_date=None, playlist="pa", **kw):
    return Entry(
        id=id, playlist_id=playlist, faces=frozenset(faces),
        start=parse_time(start), end=parse_time(end, allow_24=True),
        weekdays=frozenset(weekdays), start_date=start_date, end_date=end_date,
        level=level, **kw,
    )


PLAYLISTS = {"pa": (A,), "pb": (B,), "pc": (C,), "pf": (F,)}

# 2026-11-27 is a Friday (weekday 4).
FRI = (2026, 11, 27)


def sched(*entries, fallbacks=None):
    return Schedule(entries=tuple(entries), playlists=PLAYLISTS, fallbacks=fallbacks or {})


# ---- hand-checked cases -----------------------------------------------------

def test_empty_schedule_shows_nothing_and_never_changes():
    d = evaluate(Schedule(), 1, at(*FRI, 12), TZ)
    assert (d.level, d.items, d.next_change) == ("none", (), None)


def test_fallback_when_nothing_active():
    d = evaluate(sched(fallbacks={1: "pf"}), 1, at(*FRI, 3), TZ)
    assert (d.level, d.items, d.next_change) == ("fallback", (F,), None)


@pytest.mark.parametrize(
    "moment, level, next_change",
    [
        (at(*FRI, 7, 59, 59), "fallback", at(*FRI, 8)),
        (at(*FRI, 8), "normal", at(*FRI, 17)),  # start inclusive
        (at(*FRI, 16, 59, 59), "normal", at(*FRI, 17)),
        (at(*FRI, 17), "fallback", at(2026, 11, 28, 8)),  # end exclusive
    ],
)
def test_daily_window_edges(moment, level, next_change):
    d = evaluate(sched(entry(), fallbacks={1: "pf"}), 1, moment, TZ)
    assert (d.level, d.next_change) == (level, next_change)


def test_overnight_window_belongs_to_its_start_day():
    friday_night = entry(start="22:00", end="06:00", weekdays=[4])
    s = sched(friday_night)
    assert evaluate(s, 1, at(*FRI, 23), TZ).level == "normal"
    assert evaluate(s, 1, at(2026, 11, 28, 2), TZ).level == "normal"  # Saturday morning
    assert evaluate(s, 1, at(2026, 11, 28, 6), TZ).level == "none"
    assert evaluate(s, 1, at(2026, 11, 28, 23), TZ).level == "none"  # Saturday night: not listed
    d = evaluate(s, 1, at(*FRI, 5), TZ)  # Thursday's night is not listed either
    assert d.level == "none" and d.next_change == at(*FRI, 22)
    assert evaluate(s, 1, at(*FRI, 23), TZ).next_change == at(2026, 11, 28, 6)


def test_midnight_and_whole_day_windows():
    s = sched(entry(start="00:00", end="24:00", weekdays=[4]))
    assert evaluate(s, 1, at(*FRI, 0), TZ).level == "normal"
    d = evaluate(s, 1, at(*FRI, 23, 59, 59), TZ)
    assert d.level == "normal" and d.next_change == at(2026, 11, 28, 0)
    d = evaluate(s, 1, at(2026, 11, 26, 23, 59, 59), TZ)  # Thursday
    assert d.level == "none" and d.next_change == at(*FRI, 0)
    # equal start and end means 24 hours from the start
    s = sched(entry(start="12:00", end="12:00", weekdays=[4]))
    assert evaluate(s, 1, at(2026, 11, 28, 11, 59), TZ).level == "normal"
    assert evaluate(s, 1, at(2026, 11, 28, 11, 59), TZ).next_change == at(2026, 11, 28, 12)


def test_an_every_day_all_day_entry_never_changes():
    d = evaluate(sched(entry(start="00:00", end="00:00")), 1, at(*FRI, 9), TZ)
    assert d.level == "normal" and d.next_change is None


def test_date_range_edges_including_overnight_spill():
    e = entry(start="20:00", end="09:00", start_date=date(2026, 12, 1), end_date=date(2026, 12, 3))
    s = sched(e)
    assert evaluate(s, 1, at(2026, 12, 1, 8), TZ).level == "none"  # Nov 30's night is out of range
    assert evaluate(s, 1, at(2026, 12, 1, 20), TZ).level == "normal"
    assert evaluate(s, 1, at(2026, 12, 4, 8, 59), TZ).level == "normal"  # Dec 3's night spills
    d = evaluate(s, 1, at(2026, 12, 4, 9), TZ)
    assert d.level == "none" and d.next_change is None
    d = evaluate(s, 1, at(2026, 11, 1), TZ)
    assert d.next_change == at(2026, 12, 1, 20)


def test_weekday_boundary():
    mondays = entry(start="00:00", end="24:00", weekdays=[0])
    s = sched(mondays)
    d = evaluate(s, 1, at(2026, 11, 29, 23, 59), TZ)  # Sunday
    assert d.level == "none" and d.next_change == at(2026, 11, 30)
    d = evaluate(s, 1, at(2026, 11, 30, 23, 59, 59), TZ)
    assert d.level == "normal" and d.next_change == at(2026, 12, 1)


def test_highest_level_wins_and_hidden_boundaries_do_not_count():
    normal = entry("n", "08:00", "18:00", playlist="pa")
    prio = entry("p", "09:00", "10:00", level="priority", playlist="pb")
    emerg = entry("x", "07:00", "20:00", level="emergency", playlist="pc",
                  start_date=date(2026, 11, 27), end_date=date(2026, 11, 27))
    s = sched(normal, prio, emerg)
    d = evaluate(s, 1, at(*FRI, 9, 30), TZ)
    assert (d.level, d.items, d.next_change) == ("emergency", (C,), at(*FRI, 20))
    d = evaluate(s, 1, at(2026, 11, 28, 9, 30), TZ)
    assert (d.level, d.items, d.next_change) == ("priority", (B,), at(2026, 11, 28, 10))
    d = evaluate(s, 1, at(2026, 11, 28, 10), TZ)
    assert (d.level, d.items, d.next_change) == ("normal", (A,), at(2026, 11, 28, 18))


def test_entries_of_one_level_play_in_turn_ordered_by_start():
    late = entry("late", "10:00", "12:00", playlist="pb")
    early = entry("early", "09:00", "11:00", playlist="pa")
    d = evaluate(sched(late, early), 1, at(*FRI, 10, 30), TZ)
    assert d.entry_ids == ("early", "late") and d.items == (A, B)
    assert d.next_change == at(*FRI, 11)


def test_entry_only_for_its_faces():
    s = sched(entry(faces=[2]), fallbacks={1: "pf"})
    assert evaluate(s, 1, at(*FRI, 9), TZ).items == (F,)
    assert evaluate(s, 2, at(*FRI, 9), TZ).items == (A,)


def test_absolute_expiry_of_an_emergency():
    until = datetime(2026, 11, 27, 3, 30, tzinfo=timezone.utc)  # 10:30 local
    e = entry("x", "00:00", "00:00", level="emergency", not_after=until)
    s = sched(e, entry("n", playlist="pb"))
    d = evaluate(s, 1, at(*FRI, 9), TZ)
    assert d.level == "emergency" and d.next_change == until
    assert evaluate(s, 1, at(*FRI, 10, 30), TZ).level == "normal"


def test_moments_in_other_zones_are_converted():
    s = sched(entry())
    d = evaluate(s, 1, datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc), TZ)  # 08:00 local
    assert d.level == "normal"
    with pytest.raises(ScheduleError):
        evaluate(s, 1, datetime(2026, 11, 27, 8), TZ)  # naive: ambiguous, refused


def test_entries_with_empty_playlists_are_ignored():
    s = Schedule(entries=(entry(playlist="empty", level="emergency"),), playlists={"empty": ()})
    assert evaluate(s, 1, at(*FRI, 9), TZ).level == "none"


@pytest.mark.parametrize("bad", ["25:00", "24:30", "12:60", "noon", "", "7"])
def test_bad_times_are_clear_errors(bad):
    with pytest.raises(ScheduleError, match="time of day"):
        parse_time(bad, allow_24=True)


def test_bad_entries_are_clear_errors():
    with pytest.raises(ScheduleError, match="ends .* before it starts"):
        entry(start_date=date(2026, 12, 2), end_date=date(2026, 12, 1))
    with pytest.raises(ScheduleError, match="unknown level"):
        entry(level="urgent")
    with pytest.raises(ScheduleError, match="weekdays"):
        entry(weekdays=[7])
    with pytest.raises(ScheduleError, match="face"):
        entry(faces=[])


def test_load_schedule_from_database(fresh_db):
    db = fresh_db
    for item in (A, B):
        db["media"].insert({"sha256": item.media_sha256, "kind": item.kind, "name": item.name,
                            "size": 1, "duration_s": 7.0 if item.kind == "image" else 3.2})
    db["playlist"].insert({"id": "p1", "name": "Sáng"})
    db["playlist_item"].insert_all([
        {"playlist_id": "p1", "position": 0, "media_sha256": A.media_sha256, "duration_s": None},
        {"playlist_id": "p1", "position": 1, "media_sha256": B.media_sha256, "duration_s": None},
    ])
    db["schedule_entry"].insert({"id": "e1", "playlist_id": "p1", "faces": "[1]",
                                 "start_time": "08:00", "end_time": "17:00", "level": "priority"})
    db["schedule_entry"].insert({"id": "off", "playlist_id": "p1", "faces": "[1]", "enabled": 0,
                                 "start_time": "00:00", "end_time": "00:00", "level": "emergency"})
    s = load_schedule(db)
    d = evaluate(s, 1, at(*FRI, 9), TZ)
    assert d.level == "priority" and d.entry_ids == ("e1",)
    # images take the media's own hold time, videos play to their end
    assert [(i.name, i.duration_s) for i in d.items] == [("a.png", 7.0), ("b.mp4", None)]


def test_entry_from_row_rejects_bad_rows():
    with pytest.raises(ScheduleError):
        entry_from_row({"id": "x", "playlist_id": "p", "faces": "[1]", "start_time": "25:00",
                        "end_time": "26:00", "level": "normal"})


# ---- properties -------------------------------------------------------------

BASE = date(2026, 11, 23)  # a Monday
minutes = st.integers(0, 24 * 4 - 1).map(lambda q: time(q // 4, (q % 4) * 15))


@st.composite
def entries(draw, i):
    start = draw(minutes)
    end = draw(st.one_of(minutes, st.none()))
    first = draw(st.one_of(st.none(), st.integers(0, 20).map(lambda n: BASE + timedelta(days=n))))
    last = draw(st.one_of(st.none(), st.integers(0, 20).map(lambda n: BASE + timedelta(days=n))))
    if first and last and last < first:
        first, last = last, first
    return Entry(
        id=f"e{i}",
        playlist_id=draw(st.sampled_from(["pa", "pb", "pc"])),
        faces=frozenset(draw(st.sets(st.sampled_from([1, 2]), min_size=1))),
        start=start, end=end,
        weekdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        start_date=first, end_date=last,
        level=draw(st.sampled_from(["emergency", "priority", "normal"])),
    )


schedules = st.integers(0, 5).flatmap(
    lambda n: st.tuples(*[entries(i) for i in range(n)])
).map(lambda es: Schedule(entries=es, playlists=PLAYLISTS, fallbacks={1: "pf", 2: "pf"}))
moments = st.integers(0, 28 * 24 * 60 - 1).map(
    lambda m: datetime.combine(BASE - timedelta(days=3), time(0), tzinfo=TZ) + timedelta(minutes=m, seconds=30)
)


def oracle_active(e: Entry, t: datetime) -> bool:
    """Independent restatement of the window rule, in minutes from local midnight."""
    local = t.astimezone(TZ).replace(tzinfo=None)
    for back in (0, 1):
        day = local.date() - timedelta(days=back)
        if day.weekday() not in e.weekdays:
            continue
        if (e.start_date and day < e.start_date) or (e.end_date and day > e.end_date):
            continue
        s = e.start.hour * 60 + e.start.minute
        end = 1440 if e.end is None else e.end.hour * 60 + e.end.minute
        if end <= s:
            end += 1440
        offset = (local - datetime.combine(day, time(0))).total_seconds() / 60
        if s <= offset < end:
            return True
    return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules, moments, st.sampled_from([1, 2]))
def test_highest_active_level_wins(schedule, moment, face):
    d = evaluate(schedule, face, moment, TZ)
    active = [e for e in schedule.entries if face in e.faces and oracle_active(e, moment)]
    if not active:
        assert d.level == "fallback" and d.items == (F,)
        return
    top = max(LEVEL_RANK[e.level] for e in active)
    winners = {e.id for e in active if LEVEL_RANK[e.level] == top}
    assert LEVEL_RANK[d.level] == top
    assert set(d.entry_ids) == winners
    assert len(d.items) == len(winners)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules, moments, st.sampled_from([1, 2]), st.floats(0, 1))
def test_next_change_is_exact(schedule, moment, face, fraction):
    d = evaluate(schedule, face, moment, TZ)
    if d.next_change is None:
        # nothing changes for (at least) the next three weeks
        for days in (1, 5, 13, 21):
            later = evaluate(schedule, face, moment + timedelta(days=days, minutes=7), TZ)
            assert later.same_content(d)
        return
    assert d.next_change > moment
    # the answer holds up to the instant before the change ...
    just_before = d.next_change - timedelta(microseconds=1)
    assert evaluate(schedule, face, just_before, TZ).same_content(d)
    between = moment + (d.next_change - moment) * fraction
    if between < d.next_change:
        assert evaluate(schedule, face, between, TZ).same_content(d)
    # ... and differs at the change itself
    assert not evaluate(schedule, face, d.next_change, TZ).same_content(d)
