"""The fleet's back end: gate positions (CLI and library, bad input stores
nothing), what the list shows from a gate's heartbeats, a gate's history, and
the offline map (outline shipped with the app, optional tile server). On
SQLite and PostgreSQL where a store is used (tests/central/conftest.py)."""

from __future__ import annotations

import itertools
import math
from datetime import timedelta

import pytest
from click.testing import CliRunner

from central.checks import CentralError
from central.fleet import add_gate, gate_history, get_gate, overview, update_gate
from central.fleetmap import check_tile_url, markers, outline, region, tile_origin, tiles
from central.intake import record_heartbeat
from central.killswitch import blank
from central.users import add_user
from kiosk.store import iso, utcnow

HUU_NGHI = (21.9967, 106.7036)  # Hữu Nghị border gate, Lạng Sơn


def heartbeat(**changes) -> dict:
    body = {
        "sent_at": iso(utcnow()), "release_version": 3, "last_good_release_version": 3,
        "sync": {"status": "unchanged", "code": "ok"},
        "health": {"cpu_temp_c": 71.5, "disk": {"free_mb": 812.0, "total_mb": 29000.0},
                   "clock_synced": False,
                   "throttling": {"throttled_now": True, "under_voltage_now": False},
                   "alarms": [{"code": "clock_unsynced", "message": "clock not synchronised"}]},
        "faces": [{"face_id": 1, "power": "on", "blanked": 0, "playing_name": "red.png"},
                  {"face_id": 2, "power": "off", "blanked": 1}],
        "errors": [{"id": 7, "at": iso(utcnow()), "source": "player", "level": "error",
                    "code": "mpv_died", "message": "mpv on output left stopped", "face_id": 1}],
    }
    body.update(changes)
    return body


def test_gate_positions_are_checked_and_bad_ones_store_nothing(central):
    add_gate(central.db, "huu-nghi", "Hữu Nghị", "Lạng Sơn", (1, 2),
             latitude=HUU_NGHI[0], longitude=HUU_NGHI[1])
    assert (get_gate(central.db, "huu-nghi")["latitude"],
            get_gate(central.db, "huu-nghi")["longitude"]) == HUU_NGHI
    for lat, lon in [(91, 106), (21, 181), (21, None), ("abc", 106), (float("nan"), 106)]:
        with pytest.raises(CentralError):
            update_gate(central.db, "huu-nghi", name="Đổi tên", position=(lat, lon))
        with pytest.raises(CentralError):
            add_gate(central.db, "bad-gate", "x", latitude=lat, longitude=lon)
    gate = get_gate(central.db, "huu-nghi")
    assert gate["name"] == "Hữu Nghị" and (gate["latitude"], gate["longitude"]) == HUU_NGHI
    assert [g["id"] for g in overview(central.db, 60)] == ["huu-nghi"]
    update_gate(central.db, "huu-nghi", position=None)
    assert get_gate(central.db, "huu-nghi")["latitude"] is None


def test_cli_gate_add_and_set_position(central):
    from central.cli import central as central_cli

    state = central.state_dir
    env = {"GATECAST_STATE_DIR": str(state),
           "GATECAST_CENTRAL_CONFIG": str(state.parent / f"{state.name}.toml"),
           "GATECAST_CENTRAL_USER": "chi",
           "GATECAST_CENTRAL_TOKEN": add_user(central.db, "chi", "admin")}
    runner = CliRunner()
    editor = add_user(central.db, "minh", "editor")
    refused = runner.invoke(central_cli, ["gate", "add", "mong-cai", "--name", "Móng Cái",
                                          "--as", "minh", "--token", editor], env=env)
    assert refused.exit_code == 1 and "việc này cần quyền" in refused.output
    added = runner.invoke(central_cli, ["gate", "add", "mong-cai", "--name", "Móng Cái",
                                        "--lat", "21.52", "--lon", "107.97"], env=env)
    assert added.exit_code == 0, added.output
    assert central.db.scalar("SELECT who FROM audit WHERE action = 'gate.add'") == "chi"
    assert (get_gate(central.db, "mong-cai")["latitude"]) == 21.52
    moved = runner.invoke(central_cli, ["gate", "set", "mong-cai", "--lat", "21.53", "--lon",
                                        "107.96"], env=env)
    assert moved.exit_code == 0, moved.output
    bad = runner.invoke(central_cli, ["gate", "set", "mong-cai", "--lat", "99", "--lon", "1"],
                        env=env)
    assert bad.exit_code != 0 and "Vĩ độ từ -90 đến 90" in bad.output
    half = runner.invoke(central_cli, ["gate", "set", "mong-cai", "--lat", "21"], env=env)
    assert half.exit_code != 0 and "cả vĩ độ và kinh độ" in half.output
    assert get_gate(central.db, "mong-cai")["longitude"] == 107.96


def test_the_list_shows_health_faces_errors_and_centrals_blank(central):
    central.gate("huu-nghi", faces=(1, 2))
    add_user(central.db, "lan", "operator")
    record_heartbeat(central.db, "huu-nghi", heartbeat())
    blank(central.db, central.repo, "huu-nghi", by="lan", reason="kiểm tra", faces=[2])
    [row] = overview(central.db, 60)
    assert row["online"] and row["last_good_release_version"] == 3
    assert row["health"] == {"cpu_temp_c": 71.5, "disk_free_mb": 812.0, "disk_total_mb": 29000.0,
                             "clock_synced": False, "throttled_now": True,
                             "under_voltage_now": False, "throttled_since_boot": False,
                             "alarms": ["clock_unsynced"]}
    assert [(f["face_id"], f["power"], f["blanked"]) for f in row["face_states"]] == [
        (1, "on", False), (2, "off", True)]
    assert [e["code"] for e in row["errors"]] == ["mpv_died"]
    assert row["blank"]["active"] and row["blank"]["faces"] == [2] and row["blank"]["by"] == "lan"
    # Later, with no heartbeat for 2.5 intervals: offline.
    [row] = overview(central.db, 60, now=utcnow() + timedelta(minutes=3))
    assert not row["online"]


def test_a_gates_history(central):
    central.gate("huu-nghi", faces=(1, 2))
    add_user(central.db, "lan", "operator")
    start = utcnow() - timedelta(minutes=10)
    # One event carried by two heartbeats: built once, so both carry the same "at" even
    # when the clock crosses a second between them.
    died = heartbeat()["errors"]
    for minute, good, errors in [(1, 3, []), (2, 3, died), (3, 4, died), (4, 4, [])]:
        record_heartbeat(central.db, "huu-nghi",
                         heartbeat(last_good_release_version=good, release_version=good,
                                   errors=errors),
                         now=start + timedelta(minutes=minute))
    blank(central.db, central.repo, "huu-nghi", by="lan", reason="thử")
    history = gate_history(central.db, "huu-nghi", since=start)
    assert len(history["heartbeats"]) == 4
    assert history["heartbeats"][0]["received_at"] > history["heartbeats"][-1]["received_at"]
    assert [t["version"] for t in history["taken_up"]] == [4, 3]
    assert [e["code"] for e in history["errors"]] == ["mpv_died"]  # the same event once
    assert [(b["action"], b["who"], b["detail"]["reason"]) for b in history["blanks"]] == [
        ("blank", "lan", "thử")]
    assert history["published"][0]["version"] >= 1
    assert gate_history(central.db, "huu-nghi", since=utcnow() + timedelta(minutes=1))[
        "heartbeats"] == []


def test_a_malformed_stored_heartbeat_shows_as_unknown(central):
    central.gate("huu-nghi", faces=(1,))
    record_heartbeat(central.db, "huu-nghi", {"health": {"cpu_temp_c": "hot", "disk": 3,
                                                         "alarms": ["x", {"code": 5}]},
                                              "faces": [{"face_id": 1, "power": None}]})
    [row] = overview(central.db, 60)
    assert row["health"]["cpu_temp_c"] is None and row["health"]["alarms"] == []
    assert row["face_states"] == [{"face_id": 1, "power": "unknown", "blanked": False,
                                   "level": None, "playing_name": None, "last_error": None}]


# ---- the map (no store) -------------------------------------------------------------


def test_the_outline_and_the_gates_on_it():
    r = region()
    assert {"VN", "LA", "KH", "CN", "TH"} <= set(r.countries) and "Natural Earth" in r.source
    view_box, paths = outline()
    assert paths[-1][0] == "VN" and paths[-1][1].startswith("M")
    # Hà Nội lies inside Viet Nam's outline, and north of Hồ Chí Minh City on the map.
    hanoi, saigon = r.project(105.85, 21.03), r.project(106.70, 10.78)
    assert hanoi[1] < saigon[1] and 0 < hanoi[0] < 1000
    vn_points = [r.project(lon, lat) for ring in r.countries["VN"] for lon, lat in ring]
    assert min(x for x, _ in vn_points) < hanoi[0] < max(x for x, _ in vn_points)
    placed, unplaced = markers([
        {"id": "huu-nghi", "latitude": HUU_NGHI[0], "longitude": HUU_NGHI[1]},
        {"id": "nowhere", "latitude": None, "longitude": None},
        {"id": "paris", "latitude": 48.85, "longitude": 2.35}])
    assert [g["id"] for g in placed] == ["huu-nghi"] and [g["id"] for g in unplaced] == [
        "nowhere", "paris"]
    assert 0 < placed[0]["x"] < 1000 and 0 < placed[0]["y"] < r.height
    # Gates a few kilometres apart are spread apart on the static map; a far one stays put.
    placed, _ = markers([{"id": "huu-nghi", "latitude": 21.9967, "longitude": 106.7036},
                         {"id": "tan-thanh", "latitude": 21.9390, "longitude": 106.6460},
                         {"id": "coc-nam", "latitude": 21.95, "longitude": 106.68},
                         {"id": "lao-bao", "latitude": 16.6167, "longitude": 106.5833}])
    at = {g["id"]: (g["x"], g["y"]) for g in placed}
    north = [at[g] for g in ("huu-nghi", "tan-thanh", "coc-nam")]
    assert min(math.dist(a, b) for a, b in itertools.combinations(north, 2)) >= 40
    assert at["lao-bao"] == r.project(106.5833, 16.6167)


def test_the_tile_server_is_optional_and_checked():
    assert tiles("") == [] and tile_origin("") == ""
    url = "https://tiles.example.vn/osm/{z}/{x}/{y}.png"
    assert tile_origin(url) == "https://tiles.example.vn"
    found = tiles(url)
    assert found and all(t["href"].startswith("https://tiles.example.vn/osm/") for t in found)
    # The tiles cover the whole map.
    assert min(t["x"] for t in found) <= 0 and min(t["y"] for t in found) <= 0
    assert max(t["x"] + t["size"] for t in found) >= 1000
    for bad in ["ftp://x/{z}/{x}/{y}", "https://x/tiles.png", "https:///{z}/{x}/{y}",
                "https://x/{z}/{x}/{y}'; script-src *"]:
        with pytest.raises(CentralError):
            check_tile_url(bad)


def test_a_gates_history_in_periods_and_pages(central):
    """Per-face power/blank runs and the gate's silences, over a chosen range, with
    the heartbeats in pages."""
    central.gate("huu-nghi", faces=(1, 2))
    start = utcnow() - timedelta(hours=3)

    def beat(minute, face1, face2):
        faces = [{"face_id": f, "power": p, "blanked": int(b)}
                 for f, (p, b) in ((1, face1), (2, face2))]
        at = start + timedelta(minutes=minute)  # each its own heartbeat (its sent_at)
        record_heartbeat(central.db, "huu-nghi", heartbeat(faces=faces, sent_at=iso(at)), now=at)

    for minute in range(0, 10):  # both on
        beat(minute, ("on", False), ("on", False))
    for minute in range(10, 20):  # face 2 blanked
        beat(minute, ("on", False), ("on", True))
    # silent from minute 19 to 60; then face 1 is off until now (the last beat is fresh)
    for minute in range(60, 181):
        beat(minute, ("off", False), ("on", False))
    history = gate_history(central.db, "huu-nghi", since=start - timedelta(minutes=5),
                           heartbeat_interval_s=60, page=2, per_page=50)
    said = [(p["kind"], p["face"], p["state"], p["end"] is None) for p in history["periods"]]
    assert said == [("face", 1, "on", False), ("face", 2, "on", False),
                    ("face", 2, "blanked", False), ("silent", None, None, False),
                    ("face", 1, "off", True), ("face", 2, "on", True)]
    silent = history["periods"][3]
    assert silent["seconds"] == 41 * 60
    assert history["periods"][2]["seconds"] == 9 * 60  # minutes 10..19
    assert history["heartbeat_count"] == 141 and history["pages"] == 3 and history["page"] == 2
    assert len(history["heartbeats"]) == 50
    newest_on_page_2 = history["heartbeats"][0]["received_at"]
    assert newest_on_page_2 == iso(start + timedelta(minutes=130))
    # A range in the past: the runs end at its end; nothing is "so far".
    past = gate_history(central.db, "huu-nghi", since=start, until=start + timedelta(minutes=15),
                        heartbeat_interval_s=60)
    assert [(p["face"], p["state"], p["end"] is None) for p in past["periods"]] == [
        (1, "on", False), (2, "on", False), (2, "blanked", False)]
    assert past["heartbeat_count"] == 15 and past["pages"] == 1
    # A page past the last shows the last.
    assert gate_history(central.db, "huu-nghi", since=start, page=99, per_page=50)["page"] == 3
