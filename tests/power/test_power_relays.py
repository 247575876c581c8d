"""Relays on gpiozero MockFactory pins, driven by PowerController across a
simulated day: whole pin histories with simulated times."""

import pytest

from kiosk.power.controller import PowerController
from kiosk.power.relay import ScreenRelay
from kiosk.power.service import blank_off, blank_on, set_override, set_windows
from kiosk.store import open_db

from tests.support.power import at, history, pulled_down, pulled_up, relay_settings, walk

HIGH, LOW = True, False


@pytest.fixture
def power_db(db_path):
    db = open_db(db_path)
    yield db
    db.close()


def controller(db, settings, clock, factory):
    return PowerController(db, settings, clock=clock, pin_factory=factory)


def test_a_day_of_schedule_with_stagger(power_db, state_dir, tmp_path, clock, mock_factory):
    s = relay_settings(state_dir, tmp_path)
    set_windows(power_db, 1, [{"start": "05:30", "end": "22:30"}], by="test", settings=s)
    set_windows(power_db, 2, [{"start": "05:30", "end": "22:00", "weekdays": [0, 1, 2, 3, 4]}],
                by="test", settings=s)
    set_windows(power_db, 3, [{"start": "07:00", "end": "19:00"}], by="test", settings=s)
    north, south = pulled_up(mock_factory, 17), pulled_down(mock_factory, 27)
    c = controller(power_db, s, clock, mock_factory)
    try:
        out = walk(c, clock, at(5, 29), step=60)
        assert all(o.dark and not o.powered for o in out.values())
        out = walk(c, clock, at(5, 31), step=0.5)  # the loop runs often around the boundary
        assert out[1].powered and out[2].powered and not out[1].dark
        assert out[3].dark  # no relay, still dark until its window
        walk(c, clock, at(23), step=60)
        # North (active-low): high (off) from boot, low at 05:30, high at 22:30. No glitch.
        assert history(north) == [(0.0, HIGH), (5.5 * 3600, LOW), (17 * 3600, HIGH)]
        # South (active-high) joins 2 s later (stagger), off at 22:00.
        assert history(south) == [(0.0, LOW), (5.5 * 3600 + 2, HIGH), (16.5 * 3600 - 2, LOW)]
        rows = {r["face_id"]: r for r in power_db["face_state"].rows}
        assert [rows[f]["power"] for f in (1, 2, 3)] == ["off", "off", "off"]
        on_events = [e["face_id"] for e in power_db.query(
            "SELECT face_id FROM event WHERE code = 'relay_on' ORDER BY id")]
        assert on_events == [1, 2]
    finally:
        c.close()


def test_relays_start_straight_in_the_wanted_state(power_db, state_dir, tmp_path, clock,
                                                   mock_factory):
    """At 12:00 both faces want power: only the first starts on, the second
    starts off and joins after the stagger; nothing ever flips the wrong way."""
    s = relay_settings(state_dir, tmp_path, power_stagger_s=2.0)
    for face in (1, 2):
        set_windows(power_db, face, [{"start": "05:30", "end": "22:30"}], by="test")
    clock.set(at(12))
    north, south = pulled_up(mock_factory, 17), pulled_down(mock_factory, 27)
    c = controller(power_db, s, clock, mock_factory)
    try:
        assert history(north) == [(0.0, HIGH), (0.0, LOW)]  # straight to on (low)
        assert history(south) == [(0.0, LOW)]  # still off, waiting for its slot
        assert c.waiting_faces() == [2]
        walk(c, clock, at(12, 0, 5), step=0.25)
        assert history(south) == [(0.0, LOW), (2.0, HIGH)]
        assert c.waiting_faces() == []
    finally:
        c.close()


def test_active_low_boot_while_off_never_glitches(power_db, state_dir, tmp_path, clock,
                                                  mock_factory):
    s = relay_settings(state_dir, tmp_path)
    set_windows(power_db, 1, [{"start": "05:30", "end": "22:30"}], by="test")
    north = pulled_up(mock_factory, 17)
    c = controller(power_db, s, clock, mock_factory)  # 00:00: off
    try:
        walk(c, clock, at(1), step=30)
        assert mock_factory.pin(17).function == "output"
        assert history(north) == [(0.0, HIGH)]  # the whole history: never low
    finally:
        c.close()


def test_screen_relay_refuses_an_unknown_initial_state(mock_factory):
    with pytest.raises(ValueError, match="explicit initial state"):
        ScreenRelay(17, initial_value=None, pin_factory=mock_factory)


def test_override_survives_a_restart_and_expires(power_db, db_path, state_dir, tmp_path, clock,
                                                 mock_factory):
    s = relay_settings(state_dir, tmp_path)
    set_windows(power_db, 1, [{"start": "05:30", "end": "22:30"}], by="test")
    clock.set(at(10))
    north = pulled_up(mock_factory, 17)
    first = controller(power_db, s, clock, mock_factory)
    walk(first, clock, at(10, 30), step=60)
    set_override(power_db, 1, "off", until=at(12), by="tech", reason="cleaning", now=clock.now())
    out = walk(first, clock, at(10, 31), step=0.5)
    assert not out[1].powered and out[1].dark and out[1].decision.source == "override"
    first.close()
    north.drive_high()  # the board's pull-up holds the released pin high (relay off)
    # Restart: a new process, a new database connection, the same file.
    db2 = open_db(db_path)
    try:
        clock.advance(30)
        second = controller(db2, s, clock, mock_factory)
        assert not second.update()[1].powered  # the override still holds after restart
        walk(second, clock, at(12, 1), step=30)
        assert second.update()[1].powered  # expired at 12:00: back to the schedule
        assert db2["power_override"].count == 0  # and its row is gone
        assert db2.execute("SELECT count(*) FROM event WHERE code = 'override_expired'"
                           ).fetchone()[0] == 1
        # Whole history: on at 10:00, off at 10:30 (override), on at 12:00. Nothing else.
        assert history(north) == [(0.0, HIGH), (0.0, LOW), (1800.0, HIGH), (5400.0, LOW)]
        second.close()
    finally:
        db2.close()


def test_override_until_next_boundary_overnight(power_db, state_dir, tmp_path, clock,
                                                mock_factory):
    """'On until the next boundary' at 23:00 lasts until the schedule's 05:30."""
    s = relay_settings(state_dir, tmp_path)
    set_windows(power_db, 1, [{"start": "05:30", "end": "22:30"}], by="test")
    clock.set(at(23))
    north = pulled_up(mock_factory, 17)
    c = controller(power_db, s, clock, mock_factory)
    try:
        set_override(power_db, 1, "on", by="tech", reason="late bus", now=clock.now())
        walk(c, clock, at(23, 1), step=1)
        walk(c, clock, at(22, 31, day=1), step=60)
        assert power_db["power_override"].count == 0
        # Face 2 (no windows: always on) took the first slot at start; face 1 waits 2 s.
        assert history(north) == [(0.0, HIGH), (2.0, LOW), (23.5 * 3600 - 2, HIGH)]
    finally:
        c.close()


def test_blank_with_power_off_then_release_staggers_back(power_db, state_dir, tmp_path, clock,
                                                         mock_factory):
    s = relay_settings(state_dir, tmp_path)
    clock.set(at(12))
    north, south = pulled_up(mock_factory, 17), pulled_down(mock_factory, 27)
    c = controller(power_db, s, clock, mock_factory)  # no windows: always on
    try:
        walk(c, clock, at(12, 0, 10), step=0.5)
        blank_on(power_db, by="tech", reason="wrong content", power_off=True, now=clock.now())
        out = walk(c, clock, at(12, 0, 10.5), step=0.5)
        assert all(o.dark and o.blanked and not o.powered for o in out.values())
        assert {r["blanked"] for r in power_db["face_state"].rows} == {1}
        blank_off(power_db, by="tech", now=clock.now())
        out = walk(c, clock, at(12, 0, 20), step=0.5)
        assert all(not o.dark and not o.blanked for o in out.values())
        assert history(north) == [(0.0, HIGH), (0.0, LOW), (10.0, HIGH), (0.5, LOW)]
        assert history(south) == [(0.0, LOW), (2.0, HIGH), (8.0, LOW), (2.5, HIGH)]
    finally:
        c.close()


def test_blank_keeping_power_darkens_without_switching(power_db, state_dir, tmp_path, clock,
                                                       mock_factory):
    s = relay_settings(state_dir, tmp_path)
    clock.set(at(12))
    north = pulled_up(mock_factory, 17)
    c = controller(power_db, s, clock, mock_factory)
    try:
        blank_on(power_db, by="tech", reason="check", now=clock.now())
        out = walk(c, clock, at(12, 0, 1), step=0.5)
        assert out[1].dark and out[1].powered
        assert history(north) == [(0.0, HIGH), (0.0, LOW)]
    finally:
        c.close()


def test_a_broken_relay_does_not_stop_the_others(power_db, state_dir, tmp_path, clock,
                                                 mock_factory):
    faces = [{"id": 1, "output": "main", "relay_pin": 17},
             {"id": 2, "output": "main", "relay_pin": 17}]  # wiring mistake: same pin twice
    s = relay_settings(state_dir, tmp_path, faces=faces)
    c = controller(power_db, s, clock, mock_factory)
    try:
        out = c.update()
        assert out[1].powered and 2 in c.relay_errors
        rows = {r["face_id"]: r["power"] for r in power_db["face_state"].rows}
        assert rows == {1: "on", 2: "unknown"}
        assert power_db.execute("SELECT count(*) FROM event WHERE code='relay_failed'").fetchone()[0] == 1
    finally:
        c.close()


def test_malformed_rows_are_reported_once_and_skipped(power_db, state_dir, tmp_path, clock,
                                                      mock_factory):
    s = relay_settings(state_dir, tmp_path)
    power_db["power_window"].insert({"face_id": 1, "start_time": "25:00", "end_time": "06:00"})
    power_db["power_override"].insert({"face_id": 2, "state": "dim", "created_at": at(0).isoformat()})
    c = controller(power_db, s, clock, mock_factory)
    try:
        out = c.update()
        assert out[1].decision.source == "always" and out[2].decision.source == "always"
        power_db["blank"].update(1, {"reason": "unrelated write"})  # a reload
        c.update()
        problems = [r["message"] for r in power_db.query(
            "SELECT message FROM event WHERE code = 'bad_power_row' ORDER BY id")]
        assert len(problems) == 2 and "'dim'" in problems[0] and "25:00" in problems[1]
    finally:
        c.close()
    assert {r["face_id"]: r["power"] for r in power_db["face_state"].rows}[1] == "unknown"
