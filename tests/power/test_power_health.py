"""Health sensors on a fake /sys and /proc tree (real files), the real `ip`,
a fake vcgencmd on PATH, and the alarms HealthMonitor keeps in the state."""

import json
import os
import subprocess

import pytest

from kiosk.power.clock import FakeClock
from kiosk.power.health import (
    HealthMonitor,
    clock_synced,
    decode_throttled,
    parse_ip_json,
    read_health,
)
from kiosk.store import get_state

from tests.support.power import MONDAY, relay_settings


def pi_tree(root, temp_milli=52000, throttled="0"):
    zone0 = root / "sys/class/thermal/thermal_zone0"
    zone1 = root / "sys/class/thermal/thermal_zone1"
    for z, kind, value in ((zone0, "acpitz", 30000), (zone1, "cpu-thermal", temp_milli)):
        z.mkdir(parents=True, exist_ok=True)
        (z / "type").write_text(kind + "\n")
        (z / "temp").write_text(f"{value}\n")
    fw = root / "sys/devices/platform/soc/soc:firmware"
    fw.mkdir(parents=True, exist_ok=True)
    (fw / "get_throttled").write_text(throttled + "\n")
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc/meminfo").write_text("MemTotal:        3884096 kB\nMemFree:  1000 kB\n"
                                       "MemAvailable:    2942016 kB\n")
    (root / "proc/uptime").write_text("12345.67 40000.00\n")
    return root


def test_a_pi_reading(tmp_path, state_dir):
    root = pi_tree(tmp_path / "pi", temp_milli=82500, throttled="50005")
    h = read_health(state_dir, root=root, synced=lambda: True, temp_alarm_c=75)
    assert h["cpu_temp_c"] == 82.5  # the CPU zone, not the first zone
    t = h["throttling"]
    assert t["raw"] == "0x50005" and t["under_voltage_now"] and t["throttled_now"]
    assert t["under_voltage_occurred"] and not t["freq_capped_now"]
    assert h["memory"] == {"total_mb": 3793.1, "available_mb": 2873.1}
    assert h["uptime_s"] == 12345.67 and h["clock_synced"] is True
    assert h["disk"]["free_mb"] > 0
    assert [a["code"] for a in h["alarms"]] == ["cpu_temp_high", "under_voltage", "throttled"]
    json.dumps(h)


def test_absent_sensors_read_unknown(tmp_path, state_dir, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no vcgencmd, no ip
    h = read_health(state_dir, root=tmp_path / "nothing", synced=lambda: None)
    assert h["cpu_temp_c"] is None and h["throttling"] is None and h["memory"] is None
    assert h["uptime_s"] is None and h["ip_addresses"] is None and h["clock_synced"] is None
    assert h["alarms"] == []
    assert read_health(tmp_path / "missing-state", root=tmp_path)["disk"] is None


def test_vcgencmd_when_sysfs_lacks_the_flags(tmp_path, state_dir, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "vcgencmd"
    tool.write_text("#!/bin/sh\necho throttled=0x80008\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    h = read_health(state_dir, root=tmp_path / "no-sysfs", synced=lambda: True)
    assert h["throttling"]["soft_temp_limit_now"] and h["throttling"]["soft_temp_limit_occurred"]
    assert [a["code"] for a in h["alarms"]] == ["throttled"]


def test_decode_throttled_zero():
    assert not any(v for k, v in decode_throttled(0).items() if k != "raw")


def test_ip_addresses_skip_loopback_and_real_ip_works():
    sample = json.dumps([
        {"ifname": "lo", "flags": ["LOOPBACK", "UP"], "addr_info": [{"local": "127.0.0.1"}]},
        {"ifname": "eth0", "flags": ["UP"], "addr_info": [{"local": "10.0.0.5"}, {"local": "fe80::1"}]},
        {"ifname": "wlan0", "flags": [], "addr_info": []},
    ])
    assert parse_ip_json(sample) == {"eth0": ["10.0.0.5", "fe80::1"]}
    real = read_health.__globals__["ip_addresses"](subprocess.run)
    assert real is None or all("127.0.0.1" not in a for a in real.values())


def test_clock_synced_reads_the_kernel():
    assert clock_synced() in (True, False, None)
    out = subprocess.run(["python3", "-c", "import ctypes,ctypes.util;"
                          "print(ctypes.CDLL(ctypes.util.find_library('c')).adjtimex("
                          "ctypes.create_string_buffer(512)))"], capture_output=True, text=True)
    assert clock_synced() == (int(out.stdout) != 5)


def test_monitor_stores_health_and_logs_alarm_changes(fresh_db, state_dir, tmp_path):
    root = pi_tree(tmp_path / "pi", temp_milli=60000)
    s = relay_settings(state_dir, tmp_path, health_interval_s=10.0, cpu_temp_alarm_c=75.0)
    clock = FakeClock(MONDAY)
    m = HealthMonitor(fresh_db, s, clock=clock, root=root, synced=lambda: True)
    assert m.maybe_sample()["alarms"] == []
    assert m.maybe_sample() is None  # not due yet
    pi_tree(root, temp_milli=76000)  # a summer afternoon at the gate
    clock.advance(10)
    assert [a["code"] for a in m.maybe_sample()["alarms"]] == ["cpu_temp_high"]
    assert get_state(fresh_db, "health")["cpu_temp_c"] == 76.0
    clock.advance(10)
    m.maybe_sample()  # still hot: no second event
    pi_tree(root, temp_milli=70000)
    clock.advance(10)
    m.maybe_sample()
    events = [(r["code"], r["message"]) for r in fresh_db.query("SELECT * FROM event ORDER BY id")]
    assert events == [("health_alarm", "CPU at 76.0 C (alarm above 75 C)"),
                      ("health_alarm_cleared", "alarm cpu_temp_high cleared")]
    assert get_state(fresh_db, "health")["alarms"] == []


def test_an_open_alarm_is_raised_once_across_restarts(fresh_db, state_dir, tmp_path):
    """Each player start makes a new HealthMonitor: an alarm still open from the
    last process (the clock not synchronised) is not raised again."""
    root = pi_tree(tmp_path / "pi")
    s = relay_settings(state_dir, tmp_path, health_interval_s=10.0)
    clock = FakeClock(MONDAY)

    def start(synced):  # a player start: a new monitor on the same database
        return HealthMonitor(fresh_db, s, clock=clock, root=root, synced=lambda: synced).sample()

    def events():
        return [(r["code"], json.loads(r["detail"])["alarm"])
                for r in fresh_db.query("SELECT * FROM event ORDER BY id")]

    for _ in range(3):
        assert "clock_unsynced" in [a["code"] for a in start(False)["alarms"]]
    assert events() == [("health_alarm", "clock_unsynced")]
    start(True)
    start(True)
    assert events() == [("health_alarm", "clock_unsynced"), ("health_alarm_cleared", "clock_unsynced")]
    start(False)  # open again: raised again, once
    start(False)
    assert events() == [("health_alarm", "clock_unsynced"), ("health_alarm_cleared", "clock_unsynced"),
                        ("health_alarm", "clock_unsynced")]
    # Recorded as the controller's health, not as power.
    assert {r["source"] for r in fresh_db.query("SELECT source FROM event")} == {"health"}


@pytest.mark.parametrize("threshold_mb, alarm", [(0, False), (10**12, True)])
def test_disk_alarm(state_dir, tmp_path, threshold_mb, alarm):
    h = read_health(state_dir, root=tmp_path, synced=lambda: None, disk_alarm_mb=threshold_mb)
    assert ("disk_low" in [a["code"] for a in h["alarms"]]) is alarm


def test_cli_health(runner, state_dir):
    from kiosk.cli import main

    r = runner.invoke(main, ["power", "health", "--state", str(state_dir)])
    assert r.exit_code == 0, r.output
    h = json.loads(r.output)
    assert h["disk"]["path"] == str(state_dir) and isinstance(h["alarms"], list)
