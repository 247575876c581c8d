"""Pure power decisions: windows, boundaries, overrides, the kill switch."""

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from kiosk.power.evaluate import (
    Blank,
    Override,
    PowerPlan,
    evaluate,
    expired_overrides,
    next_boundary,
    power_window,
    schedule_on,
)
from kiosk.schedule import ScheduleError

from tests.support.power import MONDAY, TZ, at


def plan(windows=(), overrides=(), blank=Blank()):
    return PowerPlan({1: tuple(windows)} if windows else {}, tuple(overrides), blank)


DAY = power_window(1, "05:30", "22:30")


@pytest.mark.parametrize("moment, on", [
    (at(5, 29, 59), False),
    (at(5, 30), True),  # start inclusive
    (at(22, 29, 59), True),
    (at(22, 30), False),  # end exclusive
    (at(0, 0), False),
])
def test_daily_window_edges(moment, on):
    assert schedule_on([DAY], moment, TZ) is on


def test_next_boundary_is_the_next_switch():
    assert next_boundary([DAY], at(3), TZ) == at(5, 30)
    assert next_boundary([DAY], at(5, 30), TZ) == at(22, 30)
    assert next_boundary([DAY], at(23), TZ) == at(5, 30, day=1)


def test_overnight_window_belongs_to_its_start_day():
    friday_night = power_window(1, "22:00", "06:00", weekdays=[4])  # Friday only
    assert schedule_on([friday_night], at(23, day=4), TZ)  # Friday 23:00
    assert schedule_on([friday_night], at(3, day=5), TZ)  # Saturday 03:00, Friday's window
    assert not schedule_on([friday_night], at(6, day=5), TZ)
    assert not schedule_on([friday_night], at(23, day=5), TZ)  # Saturday night: not listed
    assert not schedule_on([friday_night], at(3, day=4), TZ)  # Thursday's night is not listed
    assert next_boundary([friday_night], at(3, day=5), TZ) == at(6, day=5)
    assert next_boundary([friday_night], at(6, day=5), TZ) == at(22, day=11)  # next Friday


def test_overlapping_windows_hand_over_without_a_boundary():
    morning, day = power_window(1, "05:00", "12:00"), power_window(1, "10:00", "22:00")
    assert next_boundary([morning, day], at(6), TZ) == at(22)


def test_round_the_clock_and_no_windows_never_switch():
    always = power_window(1, "00:00", "00:00")
    assert schedule_on([always], at(13), TZ) and next_boundary([always], at(13), TZ) is None
    d = evaluate(PowerPlan(), 1, at(13), TZ)
    assert (d.on, d.dark, d.source, d.until) == (True, False, "always", None)


def test_bad_window_is_a_clear_error():
    with pytest.raises(ScheduleError, match="HH:MM"):
        power_window(1, "5h30", "22:30")
    with pytest.raises(ScheduleError, match="weekdays"):
        power_window(1, "05:30", "22:30", weekdays=[7])


def override(id=1, face=1, state="off", expires=None, created=at(10)):
    return Override(id, face, state, expires, created, "tech", "test")


def test_override_until_next_boundary_then_schedule():
    p = plan([DAY], [override(state="off", created=at(10))])
    d = evaluate(p, 1, at(10, 1), TZ)
    assert (d.on, d.dark, d.source, d.until) == (False, True, "override", at(22, 30))
    d = evaluate(p, 1, at(22, 30), TZ)  # expired at the boundary: schedule says off
    assert (d.on, d.source) == (False, "schedule")
    assert expired_overrides(p, [1, 2], at(22, 30), TZ) == list(p.overrides)
    assert expired_overrides(p, [1, 2], at(22, 29), TZ) == []


def test_override_for_a_time_and_newest_wins():
    older_all = override(id=1, face=None, state="off", expires=at(12), created=at(9))
    newer_face = override(id=2, face=1, state="on", expires=at(11), created=at(10))
    p = plan([DAY], [older_all, newer_face])
    assert evaluate(p, 1, at(10, 30), TZ).on  # the newer one for face 1
    assert evaluate(p, 1, at(10, 30), TZ).until == at(11)
    assert not evaluate(p, 1, at(11, 30), TZ).on  # face override over, all-face one remains
    assert evaluate(p, 1, at(12), TZ).source == "schedule"
    assert expired_overrides(p, [1], at(11, 30), TZ) == [newer_face]


def test_all_face_override_expires_per_face_boundary():
    p = PowerPlan({1: (DAY,), 2: (power_window(2, "06:00", "20:00"),)},
                  (override(face=None, state="off", created=at(10)),))
    assert evaluate(p, 2, at(19), TZ).source == "override"
    assert evaluate(p, 2, at(20), TZ).source == "schedule"
    assert evaluate(p, 1, at(21), TZ).source == "override"  # face 1's boundary is 22:30
    assert expired_overrides(p, [1, 2], at(21), TZ) == []
    assert len(expired_overrides(p, [1, 2], at(22, 30), TZ)) == 1


def test_blank_outranks_overrides_and_keeps_or_cuts_power():
    p = plan([DAY], [override(state="on", expires=at(12))], Blank(True, False, "why", "who"))
    d = evaluate(p, 1, at(3), TZ)  # override on, blank keeps power: lit but black
    assert (d.on, d.dark, d.blanked, d.source) == (True, True, True, "blank")
    p = plan([DAY], [], Blank(True, True, "why", "who"))
    d = evaluate(p, 1, at(12), TZ)
    assert (d.on, d.dark, d.blanked) == (False, True, True)


def test_naive_moments_are_refused():
    with pytest.raises(ScheduleError, match="zone"):
        schedule_on([DAY], datetime(2026, 6, 1, 12), TZ)


times = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@hsettings(max_examples=60, deadline=None)
@given(windows=st.lists(st.tuples(times, times, st.sets(st.integers(0, 6), min_size=1)),
                        min_size=1, max_size=3),
       offset_min=st.integers(0, 7 * 24 * 60))
def test_next_boundary_is_exact(windows, offset_min):
    """Nothing switches before the boundary; the state differs at it."""
    ws = [power_window(1, a, b, sorted(d)) for a, b, d in windows]
    moment = MONDAY + timedelta(minutes=offset_min)
    state = schedule_on(ws, moment, TZ)
    b = next_boundary(ws, moment, TZ)
    # Boundaries fall on quarter hours: checking every quarter hour before it suffices.
    probe = moment.replace(minute=moment.minute - moment.minute % 15, second=0) + timedelta(minutes=15)
    limit = b or moment + timedelta(days=8)
    while probe < limit:
        assert schedule_on(ws, probe, TZ) == state, probe
        probe += timedelta(minutes=15)
    if b is not None:
        assert schedule_on(ws, b, TZ) != state
