"""Realistic fleet content for console page tests (tests/central/test_console_pages.py
_seed): gates placed on the map, a heartbeat with health, faces and an error,
screenshots, and a blank from central; through the library calls."""

from __future__ import annotations

import io
from pathlib import Path

from kiosk.store import iso, utcnow


def seed_fleet(central, tmp: Path, operator: str) -> None:
    from PIL import Image

    from central.fleet import get_gate, update_gate
    from central.intake import record_heartbeat, record_screenshot
    from central.killswitch import blank

    update_gate(central.db, "huu-nghi", position=(21.9967, 106.7036))
    update_gate(central.db, "tan-thanh", position=(21.9390, 106.6460))
    record_heartbeat(central.db, "huu-nghi", {
        "release_version": 12, "last_good_release_version": 12,
        "health": {"cpu_temp_c": 78.4, "disk": {"free_mb": 412.0, "total_mb": 29000.0},
                   "clock_synced": False, "throttling": {"throttled_now": True},
                   "alarms": [{"code": "clock_unsynced"}, {"code": "throttled"}]},
        "faces": [{"face_id": 1, "power": "on", "blanked": 0,
                   "playing_name": "Áp phích chào mừng du khách qua cửa khẩu quốc tế Hữu Nghị "
                                   "2026.png"},
                  {"face_id": 2, "power": "off", "blanked": 1}],
        "errors": [{"id": 41, "at": iso(utcnow()), "source": "player", "level": "error",
                    "code": "mpv_died", "message": "mpv on output HDMI-A-1 stopped",
                    "face_id": 1, "detail": {"output": "HDMI-A-1"}}]})
    for face, colour in ((1, (200, 30, 30)), (2, (0, 0, 0))):
        buf = io.BytesIO()
        Image.new("RGB", (1920, 1080), colour).save(buf, "PNG")
        record_screenshot(central.db, central.state_dir, get_gate(central.db, "huu-nghi"), face,
                          buf.getvalue(), "image/png", iso(utcnow()))
    blank(central.db, central.repo, "huu-nghi", by=operator,
          reason="Nội dung chưa được duyệt xuất hiện trên mặt 2, chờ kiểm tra", faces=[2])


def two_faces_on_sway(width: int, height: int, screenshot_interval_s: float) -> str:
    """A gate's TOML layout: one headless sway output, face 1 its left half,
    face 2 its right half (the kill switch tests blank face 2 beside face 1)."""
    return f"""
display = "sway"
mpv_vo = "wlshm"
poll_interval_s = 0.1
screenshot_interval_s = {screenshot_interval_s}

[[outputs]]
name = "vn"
connector = "HEADLESS-1"
width = {width}
height = {height}

[[faces]]
id = 1
name = "Hướng Việt Nam"
output = "vn"
region = {{ x = 0, y = 0, width = {width // 2}, height = {height} }}

[[faces]]
id = 2
name = "Hướng Trung Quốc"
output = "vn"
region = {{ x = {width // 2}, y = 0, width = {width // 2}, height = {height} }}
"""
