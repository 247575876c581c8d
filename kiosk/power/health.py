"""Controller health for the actual state: temperature, under-voltage and
throttling, free space, memory, uptime, addresses, clock sync.

Every sensor is optional: one that is absent (no thermal zone in a VM, no Pi
firmware, no `ip`) reads as None, "unknown", never as an error. `HealthMonitor`
samples every `health_interval_s`, stores the result as state key `health`
(`kiosk.store.set_state`) and logs an event when an alarm starts or ends:
once per alarm while it lasts, across restarts of the process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

from kiosk.power.clock import SystemClock
from kiosk.power.events import record
from kiosk.store import get_state, iso, set_state

# Thermal zone types that measure the SoC / CPU, most specific first.
CPU_ZONE_TYPES = ("cpu-thermal", "cpu_thermal", "soc_thermal", "x86_pkg_temp")
# Bits of the Raspberry Pi firmware's get_throttled word.
THROTTLE_BITS = {
    "under_voltage_now": 0,
    "freq_capped_now": 1,
    "throttled_now": 2,
    "soft_temp_limit_now": 3,
    "under_voltage_occurred": 16,
    "freq_capped_occurred": 17,
    "throttled_occurred": 18,
    "soft_temp_limit_occurred": 19,
}
TIME_ERROR = 5  # adjtimex(2): the kernel says the clock is not synchronised


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def cpu_temperature(root: Path = Path("/")) -> float | None:
    """Degrees C from the CPU's thermal zone (else the first zone), or None."""
    zones = sorted((root / "sys/class/thermal").glob("thermal_zone*"))
    readings = []
    for zone in zones:
        raw = _read(zone / "temp")
        if raw is None:
            continue
        try:
            celsius = int(raw) / 1000.0
        except ValueError:
            continue
        kind = _read(zone / "type") or ""
        rank = CPU_ZONE_TYPES.index(kind) if kind in CPU_ZONE_TYPES else len(CPU_ZONE_TYPES)
        readings.append((rank, zone.name, celsius))
    return min(readings)[2] if readings else None


def decode_throttled(word: int) -> dict[str, Any]:
    flags = {name: bool(word >> bit & 1) for name, bit in THROTTLE_BITS.items()}
    return {"raw": hex(word), **flags}


def throttling(root: Path = Path("/"), run: Callable = subprocess.run) -> dict[str, Any] | None:
    """The Pi firmware's under-voltage/throttling flags: sysfs first, then vcgencmd."""
    for path in sorted((root / "sys/devices/platform").glob("*/*firmware/get_throttled")):
        raw = _read(path)
        if raw:
            try:
                return decode_throttled(int(raw, 16))
            except ValueError:
                pass
    if shutil.which("vcgencmd") is None:
        return None
    try:
        out = run(["vcgencmd", "get_throttled"], capture_output=True, text=True, timeout=2).stdout
        return decode_throttled(int(out.strip().split("=", 1)[1], 16))
    except (OSError, subprocess.SubprocessError, IndexError, ValueError):
        return None


def disk(path: Path) -> dict[str, float] | None:
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None
    return {"path": str(path), "free_mb": round(usage.free / 2**20, 1),
            "total_mb": round(usage.total / 2**20, 1)}


def memory(root: Path = Path("/")) -> dict[str, float] | None:
    text = _read(root / "proc/meminfo")
    if text is None:
        return None
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[name] = int(parts[0]) / 1024.0  # kB -> MB
    if "MemTotal" not in values:
        return None
    return {"total_mb": round(values["MemTotal"], 1),
            "available_mb": round(values.get("MemAvailable", values.get("MemFree", 0.0)), 1)}


def uptime(root: Path = Path("/")) -> float | None:
    text = _read(root / "proc/uptime")
    try:
        return float(text.split()[0]) if text else None
    except ValueError:
        return None


def parse_ip_json(text: str) -> dict[str, list[str]]:
    """`ip -j addr show` output -> {interface: [addresses]}, without loopback."""
    result: dict[str, list[str]] = {}
    for link in json.loads(text):
        if "LOOPBACK" in link.get("flags", []):
            continue
        addrs = [a["local"] for a in link.get("addr_info", []) if a.get("local")]
        if addrs:
            result[link["ifname"]] = addrs
    return result


def ip_addresses(run: Callable = subprocess.run) -> dict[str, list[str]] | None:
    if shutil.which("ip") is None:
        return None
    try:
        out = run(["ip", "-j", "addr", "show"], capture_output=True, text=True, timeout=2)
        return parse_ip_json(out.stdout) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError):
        return None


def clock_synced() -> bool | None:
    """Whether the kernel considers the clock NTP-synchronised (what timedatectl
    reports as NTPSynchronized), read with a read-only adjtimex(2)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        # struct timex is ~208 bytes; modes = 0 (the first field, zeroed) only reads.
        buf = ctypes.create_string_buffer(512)
        state = libc.adjtimex(buf)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR


def read_health(state_dir: Path, *, root: Path = Path("/"), run: Callable = subprocess.run,
                synced: Callable[[], bool | None] = clock_synced, temp_alarm_c: float = 75.0, disk_alarm_mb: float = 500.0) -> dict[str, Any]:
    """One sample of every sensor, plus the alarms it raises."""
    h: dict[str, Any] = {
        "cpu_temp_c": cpu_temperature(root),
        "throttling": throttling(root, run),
        "disk": disk(state_dir),
        "memory": memory(root),
        "uptime_s": uptime(root),
        "ip_addresses": ip_addresses(run),
        "clock_synced": synced(),
    }
    alarms = []
    if h["cpu_temp_c"] is not None and h["cpu_temp_c"] > temp_alarm_c:
        # Each alarm carries its values so the admin can say it in the reader's language.
        alarms.append({"code": "cpu_temp_high", "temp_c": round(h["cpu_temp_c"], 1),
                       "limit_c": temp_alarm_c,
                       "message": f"CPU at {h['cpu_temp_c']:.1f} C (alarm above {temp_alarm_c:g} C)"})
    t = h["throttling"] or {}
    if t.get("under_voltage_now"):
        alarms.append({"code": "under_voltage", "message": "power supply under-voltage now"})
    if t.get("throttled_now") or t.get("soft_temp_limit_now"):
        alarms.append({"code": "throttled", "message": "CPU throttled now"})
    if h["disk"] is not None and h["disk"]["free_mb"] < disk_alarm_mb:
        alarms.append({"code": "disk_low", "free_mb": round(h["disk"]["free_mb"], 1),
                       "message": f"{h['disk']['free_mb']:.0f} MB free in the state folder"})
    if h["clock_synced"] is False:
        alarms.append({"code": "clock_unsynced",
                       "message": "clock not synchronised (schedules and signatures need it)"})
    h["alarms"] = alarms
    return h


class HealthMonitor:
    """Samples health every `health_interval_s` and keeps it in the state."""

    def __init__(self, db, settings, *, clock=None, root: Path = Path("/"),
                 run: Callable = subprocess.run, synced: Callable = clock_synced):
        self.db = db
        self.clock = clock or SystemClock()
        self.interval = float(settings["health_interval_s"])
        self.state_dir = settings.state_path
        self.temp_alarm_c = float(settings["cpu_temp_alarm_c"])
        self.disk_alarm_mb = float(settings["disk_free_alarm_mb"])
        self.root, self.run, self.synced = root, run, synced
        self._next = None
        # The alarms already raised (and not yet over) are those of the last
        # stored sample, even one of an earlier process: a player restart must
        # not raise "clock not synchronised" again while it is still open.
        last = get_state(db, "health") or {}
        self._alarms: set[str] = {a.get("code") for a in last.get("alarms") or [] if a.get("code")}
        self.latest: dict[str, Any] | None = None

    def maybe_sample(self) -> dict[str, Any] | None:
        """Sample if due (cheap to call every loop iteration); return the new sample."""
        mono = self.clock.monotonic()
        if self._next is not None and mono < self._next:
            return None
        self._next = mono + self.interval
        return self.sample()

    def sample(self) -> dict[str, Any]:
        h = read_health(self.state_dir, root=self.root, run=self.run, synced=self.synced,
                        temp_alarm_c=self.temp_alarm_c, disk_alarm_mb=self.disk_alarm_mb)
        h["sampled_at"] = iso(self.clock.now())
        # The player says when its display (the compositor) cannot be reached;
        # the alarm rides with the others to the dashboard and the heartbeat.
        display = get_state(self.db, "display") or {}
        if display.get("ok") is False:
            h["alarms"].append({"code": "no_display",
                                "message": f"no display: {display.get('problem') or 'unreachable'}"})
        set_state(self.db, "health", h)
        now = {a["code"]: a for a in h["alarms"]}
        for code in sorted(set(now) - self._alarms):
            params = {k: v for k, v in now[code].items() if k not in ("code", "message")}
            record(self.db, "warning", "health_alarm", now[code]["message"],
                   detail={"alarm": code, **params}, source="health")
        for code in sorted(self._alarms - set(now)):
            record(self.db, "info", "health_alarm_cleared", f"alarm {code} cleared",
                   detail={"alarm": code}, source="health")
        self._alarms = set(now)
        self.latest = h
        return h
