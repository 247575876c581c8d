"""Assignments for a gate, a group or the whole province, and the bad input
they refuse without storing anything (issue 12). On both stores."""

from __future__ import annotations

import json

import pytest

from central.assign import PowerOverlap, add_notice, add_power_window, set_fallback
from central.checks import CentralError, NotFound
from central.fleet import add_group
from central.library import save_playlist
from central.publish import current_release

from tests.support.media import make_image


@pytest.fixture
def province(central, tmp_path):
    central.gate("gate-a", faces=(1, 2))
    central.gate("gate-b", faces=(1,))
    add_group(central.db, "north", "Phía Bắc", ["gate-a"])
    red = central.media(make_image(tmp_path / "red.png"))
    central.playlist = save_playlist(central.db, "loop", "Vòng lặp", [(red, 5.0)])
    return central


def doc(central, gate_id):
    return json.loads(current_release(central.db, gate_id)["document"])


def test_province_wide_assignments_reach_every_gate_and_the_most_specific_wins(province):
    c = province
    set_fallback(c.db, "province", "", c.playlist)
    add_power_window(c.db, "province", "", "05:30", "22:30")
    add_power_window(c.db, "group", "north", "06:00", "21:00")
    add_notice(c.db, "province", "", {"vi": "Chào mừng", "en": "Welcome"})
    c.publish()
    a, b = doc(c, "gate-a"), doc(c, "gate-b")
    assert [f["face_id"] for f in a["fallbacks"]] == [1, 2] and b["fallbacks"][0]["face_id"] == 1
    # gate-a's group has its own power windows: they replace the province's.
    assert {(p["start_time"], p["end_time"]) for p in a["power_windows"]} == {("06:00", "21:00")}
    assert {(p["start_time"], p["end_time"]) for p in b["power_windows"]} == {("05:30", "22:30")}
    assert a["notices"][0]["texts"] == b["notices"][0]["texts"] == {"vi": "Chào mừng",
                                                                     "en": "Welcome"}
    with pytest.raises(CentralError, match="has no id"):
        set_fallback(c.db, "province", "x", c.playlist)


def test_overlapping_reversed_and_unknown_are_refused_and_store_nothing(province):
    c = province
    add_power_window(c.db, "gate", "gate-a", "05:30", "12:00", face_id=1, weekdays=[0, 1, 2])
    before = c.db.count("power_window")
    with pytest.raises(PowerOverlap, match="05:30–12:00") as info:
        add_power_window(c.db, "gate", "gate-a", "11:00", "23:00", weekdays=[2])
    assert (info.value.face, info.value.weekday, info.value.start, info.value.end) == \
        (1, 2, "11:00", "12:00")
    # Overnight windows count on the next morning.
    add_power_window(c.db, "gate", "gate-a", "22:00", "02:00", face_id=2, weekdays=[6])
    with pytest.raises(PowerOverlap):
        add_power_window(c.db, "gate", "gate-a", "01:00", "05:00", face_id=2, weekdays=[0])
    with pytest.raises(CentralError, match="empty"):
        add_power_window(c.db, "gate", "gate-a", "08:00", "08:00")
    with pytest.raises(CentralError, match="time of day"):
        add_power_window(c.db, "gate", "gate-a", "25:00", "08:00")
    with pytest.raises(NotFound, match="no gate 'nowhere'"):
        add_power_window(c.db, "gate", "nowhere", "05:00", "06:00")
    assert c.db.count("power_window") == before + 1
    # The same window on another face, or another target, is fine.
    add_power_window(c.db, "gate", "gate-a", "11:00", "23:00", face_id=2, weekdays=[2])
    add_power_window(c.db, "gate", "gate-b", "05:30", "12:00", weekdays=[0])

    with pytest.raises(CentralError, match="ends before it starts"):
        add_notice(c.db, "gate", "gate-a", {"vi": "x"}, starts_at="2026-12-02T08:00:00+07:00",
                   expires_at="2026-12-01T08:00:00+07:00")
    with pytest.raises(CentralError, match=r"Khmer.*U\+1F6A8"):
        add_notice(c.db, "gate", "gate-a", {"km": "ព្រំដែន 🚨"})
    with pytest.raises(NotFound, match="no group 'south'"):
        add_notice(c.db, "group", "south", {"vi": "x"})
    assert c.db.count("notice") == 0


def test_a_gates_view_says_what_applies_from_where_conflicts_and_the_week(province):
    from datetime import date
    from zoneinfo import ZoneInfo

    from central.assign import add_entry, gate_view

    c = province
    add_entry(c.db, "province", "", c.playlist, start_time="06:00", end_time="22:00",
              name="Cả tỉnh")
    add_entry(c.db, "group", "north", c.playlist, start_time="08:00", end_time="09:30",
              level="priority", faces=[2], name="Giờ cao điểm")
    add_power_window(c.db, "gate", "gate-a", "05:00", "23:00")
    view = gate_view(c.db, "gate-a", date(2026, 11, 30), ZoneInfo("Asia/Ho_Chi_Minh"))
    origins = {r["name"]: (r["target_kind"], r["target_id"])
               for r in view["applying"]["schedule_entry"]}
    assert origins == {"Cả tỉnh": ("province", ""), "Giờ cao điểm": ("group", "north")}
    assert view["applying"]["power_window"][0]["target_kind"] == "gate"
    # The priority entry hides the province's on face 2, every day 08:00–09:30.
    assert {(o["face"], o["start"], o["end"], o["winner"]["name"], o["loser"]["name"])
            for o in view["conflicts"]} == {(2, "08:00", "09:30", "Giờ cao điểm", "Cả tỉnh")}
    assert len(view["conflicts"]) == 7
    monday = view["week"][2][0]
    assert [(s["start"], s["end"], s["level"]) for s in monday] == [
        ("00:00", "06:00", "none"), ("06:00", "08:00", "normal"), ("08:00", "09:30", "priority"),
        ("09:30", "22:00", "normal"), ("22:00", "24:00", "none")]
    assert [s["level"] for s in view["week"][1][0]] == ["none", "normal", "none"]
    # gate-b is in no group: only the province's entry applies.
    other = gate_view(c.db, "gate-b", date(2026, 11, 30), ZoneInfo("Asia/Ho_Chi_Minh"))
    assert [r["name"] for r in other["applying"]["schedule_entry"]] == ["Cả tỉnh"]
