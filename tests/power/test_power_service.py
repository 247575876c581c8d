"""The power service layer (what the admin and the CLI call) and the CLI."""

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.power.service import (
    PowerError,
    blank_off,
    blank_on,
    clear_override,
    parse_duration,
    power_status,
    set_override,
    set_windows,
)
from kiosk.store import desired_revision

from tests.support.power import TZ, at, relay_settings


@pytest.fixture
def s(state_dir, tmp_path):
    return relay_settings(state_dir, tmp_path)


@pytest.mark.parametrize("text, seconds", [
    ("2h", 7200), ("90m", 5400), ("1h30m", 5400), ("45s", 45), ("1d", 86400), ("1.5h", 5400),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "2", "h", "2 hours", "-1h", "0m", "2h;rm"])
def test_parse_duration_refuses(text):
    with pytest.raises(PowerError):
        parse_duration(text)


def test_override_replaces_what_it_covers_and_bumps_revision(fresh_db, s):
    r0 = desired_revision(fresh_db)
    set_override(fresh_db, 1, "off", timedelta(hours=1), by="tech", settings=s, now=at(10))
    set_override(fresh_db, 2, "off", by="tech", settings=s, now=at(10))
    assert desired_revision(fresh_db) > r0
    new = set_override(fresh_db, 1, "on", at(11), by="tech", reason="visit", settings=s, now=at(10))
    rows = list(fresh_db["power_override"].rows)
    assert sorted(r["face_id"] for r in rows) == [1, 2]
    assert fresh_db["power_override"].get(new)["expires_at"] == at(11).isoformat(timespec="milliseconds")
    set_override(fresh_db, None, "off", by="tech", settings=s, now=at(10))  # every face
    assert [r["face_id"] for r in fresh_db["power_override"].rows] == [None]
    ev = list(fresh_db.query("SELECT * FROM event WHERE code = 'override_set' ORDER BY id"))
    assert len(ev) == 4 and json.loads(ev[2]["detail"])["reason"] == "visit"


@pytest.mark.parametrize("kwargs, message", [
    ({"face": 9, "state": "off"}, "no face 9"),
    ({"face": 1, "state": "dim"}, "'on' or 'off'"),
    ({"face": 1, "state": "off", "until": at(9)}, "not in the future"),
    ({"face": 1, "state": "off", "until": timedelta(0)}, "longer than zero"),
    ({"face": 1, "state": "off", "by": ""}, "who"),
])
def test_bad_override_changes_nothing(fresh_db, s, kwargs, message):
    args = {"by": "tech", **kwargs}
    with pytest.raises(PowerError, match=message):
        set_override(fresh_db, settings=s, now=at(10), **args)
    assert fresh_db["power_override"].count == 0


def test_clear_override(fresh_db, s):
    set_override(fresh_db, None, "off", by="tech", now=at(10))
    set_override(fresh_db, 2, "on", by="tech", now=at(10))
    assert clear_override(fresh_db, 2, by="tech") == 1
    assert clear_override(fresh_db, by="tech") == 1
    assert clear_override(fresh_db, by="tech") == 0


def test_blank_records_who_and_why(fresh_db):
    with pytest.raises(PowerError, match="why"):
        blank_on(fresh_db, by="tech", reason="  ")
    assert not fresh_db["blank"].get(1)["active"]
    row = blank_on(fresh_db, by="tech", reason="hijacked content", power_off=True, now=at(10))
    assert (row["active"], row["power_off"], row["by"], row["reason"]) == (1, 1, "tech", "hijacked content")
    again = blank_on(fresh_db, by="chief", reason="still checking", now=at(10, 5))
    assert again["since"] == row["since"] and again["by"] == "chief" and again["power_off"] == 0
    assert blank_off(fresh_db, by="chief", now=at(10, 20))["active"] == 0
    codes = [r["code"] for r in fresh_db.query("SELECT code FROM event ORDER BY id")]
    assert codes == ["blank_on", "blank_on", "blank_off"]
    off = json.loads(list(fresh_db.query("SELECT detail FROM event WHERE code='blank_off'"))[0]["detail"])
    assert off["blanked_by"] == "chief" and off["by"] == "chief"


def test_set_windows_validates_everything_first(fresh_db, s):
    set_windows(fresh_db, 1, [{"start": "05:30", "end": "22:30"}], by="tech", settings=s)
    with pytest.raises(PowerError, match="window 2"):
        set_windows(fresh_db, 1, [{"start": "06:00", "end": "21:00"},
                                  {"start": "25:00", "end": "26:00"}], by="tech", settings=s)
    assert [r["start_time"] for r in fresh_db["power_window"].rows] == ["05:30"]
    with pytest.raises(PowerError, match="no face"):
        set_windows(fresh_db, 7, [], by="tech", settings=s)


def test_power_status(fresh_db, s):
    set_windows(fresh_db, 1, [{"start": "05:30", "end": "22:30"}], by="tech")
    set_override(fresh_db, 2, "off", timedelta(hours=2), by="tech", reason="paint", now=at(10))
    st = power_status(fresh_db, s, now=at(10, 30))
    f1, f2, f3 = st["faces"]
    assert (f1["want"], f1["source"], f1["until"]) == ("on", "schedule", "2026-06-01T22:30:00+07:00")
    assert (f2["want"], f2["source"], f2["override"]["reason"]) == ("off", "override", "paint")
    assert f2["until"] == f2["override"]["ends"] == "2026-06-01T12:00:00+07:00"
    assert (f3["want"], f3["source"], f3["relay_pin"], f3["power"]) == ("on", "always", None, "unknown")
    assert st["timezone"] == str(TZ) and not st["blank"]["active"]
    json.dumps(st)  # plain data for the admin and --json


def test_cli_power_and_blank(runner, state_dir, tmp_path):
    cfg = tmp_path / "cli.toml"
    cfg.write_text('faces = [{id = 1, name = "Bắc", output = "main", relay_pin = 17}, '
                   '{id = 2, name = "Nam", output = "main"}]\n')
    base = ["--state", str(state_dir), "--config", str(cfg)]
    r = runner.invoke(main, ["power", "off", "--face", "2", "--for", "2h", "--reason", "sơn"] + base)
    assert r.exit_code == 0 and "mặt 2: nguồn tắt đến 2h" in r.output, r.output
    r = runner.invoke(main, ["power", "status", "--json"] + base)
    st = json.loads(r.output)
    assert st["faces"][1]["want"] == "off" and st["faces"][1]["override"]["reason"] == "sơn"
    # Refusals in the gate's language too.
    r = runner.invoke(main, ["power", "on", "--face", "5"] + base)
    assert r.exit_code != 0 and "không có mặt 5 (các mặt: 1, 2)" in r.output, r.output
    r = runner.invoke(main, ["power", "on", "--for", "soon"] + base)
    assert r.exit_code != 0 and "không phải thời lượng dạng 2h, 90m hay 1h30m: 'soon'" in r.output
    assert not json.loads(runner.invoke(main, ["power", "status", "--json"] + base).output)[
        "faces"][0]["override"]  # refused: nothing stored
    r = runner.invoke(main, ["blank", "on"] + base)
    assert r.exit_code != 0 and "--reason" in r.output
    r = runner.invoke(main, ["blank", "on", "--reason", "nội dung sai", "--power-off"] + base)
    assert r.exit_code == 0 and "mọi mặt đã tắt hình và ngắt nguồn" in r.output, r.output
    r = runner.invoke(main, ["power", "status"] + base)
    # In the gate's language: Vietnamese unless set otherwise.
    assert "ĐANG TẮT HÌNH KHẨN CẤP" in r.output and "nội dung sai" in r.output
    assert "rơ-le đã ngắt" in r.output
    assert "mặt 1 Bắc [GPIO17]: cần tắt (tắt hình khẩn cấp)" in r.output
    from kiosk.store import open_db, set_state

    db = open_db(state_dir / "gatecast.db")
    set_state(db, "health", {"sampled_at": "t", "alarms": [
        {"code": "cpu_temp_high", "temp_c": 81.0, "limit_c": 75.0,
         "message": "CPU at 81.0 C (alarm above 75 C)"},
        {"code": "disk_low", "free_mb": 120.0, "message": "only 120.0 MB free"},
        {"code": "future_alarm", "message": "something new"}]})
    # A malformed power window row: left out of control and said as a problem.
    db["power_window"].insert({"face_id": 1, "weekdays": "[0]", "start_time": "25:00",
                               "end_time": "26:00", "source": "local"})
    db.close()
    r = runner.invoke(main, ["power", "status"] + base)
    # The admin's alarm sentences (kiosk/power/words.py), with the values.
    assert "Cảnh báo tình trạng máy (t): CPU ở 81 °C (ngưỡng 75 °C)" in r.output, r.output
    assert "thư mục dữ liệu chỉ còn trống 120" in r.output
    assert "something new" in r.output  # an alarm without a sentence: its own text
    assert "lỗi cấu hình: khung giờ bật 1: " in r.output, r.output
    r = runner.invoke(main, ["power", "status", "--json"] + base)
    assert json.loads(r.output)["problems"][0].startswith("power window 1: ")  # JSON unchanged
    cfg.write_text(cfg.read_text() + 'language = "en"\n')
    r = runner.invoke(main, ["power", "status"] + base)
    assert "KILL SWITCH ACTIVE" in r.output and "relays off" in r.output
    assert "face 1 Bắc [GPIO17]: wants off (kill switch)" in r.output
    assert "Health alarm (t): CPU at 81 °C (alarm above 75 °C)" in r.output
    assert "only 120 MB free in the state folder" in r.output
    assert "problem: power window 1: " in r.output
    r = runner.invoke(main, ["power", "on", "--face", "5"] + base)
    assert r.exit_code != 0 and "no face 5 (faces: 1, 2)" in r.output
    r = runner.invoke(main, ["power", "on", "--for", "soon"] + base)
    assert r.exit_code != 0 and "not a duration like 2h, 90m or 1h30m: 'soon'" in r.output
    r = runner.invoke(main, ["blank", "off"] + base)
    assert r.exit_code == 0 and "kill switch released" in r.output
    r = runner.invoke(main, ["power", "auto"] + base)
    assert "removed 1 manual override(s)" in r.output


def test_power_status_text_says_windows_overrides_and_times_in_vietnamese(fresh_db, s):
    from kiosk.power.cli import status_lines

    set_windows(fresh_db, 1, [{"start": "05:30", "end": "22:30", "weekdays": [0, 6]}], by="tech")
    set_override(fresh_db, 2, "off", timedelta(hours=2), by="tech", reason="sơn", now=at(10))
    text = "\n".join(status_lines(power_status(fresh_db, s, now=at(10, 30)), {}, s))
    assert "Bây giờ 10:30 01/06/2026" in text
    assert "cần bật (lịch nguồn, đến 22:30 01/06/2026)" in text
    assert "khung giờ bật 05:30-22:30, ngày T2,CN (tại cửa khẩu)" in text
    assert "điều khiển tay: tắt, do tech: sơn" in text
    assert "không có rơ-le" in text and "rơ-le báo không rõ" in text


def test_every_power_status_string_is_translated():
    tool = Path(__file__).resolve().parents[2] / "scripts" / "admin_catalogues.py"
    r = subprocess.run([sys.executable, str(tool), "--check", "--area", "power"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
