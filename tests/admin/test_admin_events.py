"""Events, alarms, sync state and proof-of-play outcomes are stored as codes
with parameters and shown in the reader's language; every code recorded in
kiosk/ has its sentence in the admin's catalogue (admin/events.py)."""

from __future__ import annotations

import re
from pathlib import Path

from admin.events import ALARMS, EVENTS, SYNC_FAILURES
from kiosk.store import iso, log_event, set_state, utcnow

KIOSK = Path(__file__).resolve().parents[2] / "kiosk"

# log_event(db, "source", "level", "code", ...), power's record(db, "level", "code", ...),
# the player's _note_error(..., code="code").
_CALLS = [
    re.compile(r'log_event\(\s*[\w.]+,\s*"\w+",\s*(?:"\w+"|[^,]+),\s*"(\w+)"', re.S),
    re.compile(r'\brecord\(\s*[\w.]+,\s*"(?:info|warning|error)",\s*"(\w+)"', re.S),
    re.compile(r'record\(\s*self\.db,\s*"\w+",\s*"(\w+)"\s+if', re.S),
    re.compile(r'_note_error\([^)]*?code="(\w+)"', re.S),
]


def recorded_codes() -> set[str]:
    codes = set()
    for path in KIOSK.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in _CALLS:
            codes.update(pattern.findall(text))
        # relay_on / relay_off are chosen by a conditional expression.
        codes.update(re.findall(r'"(relay_o(?:n|ff))"', text))
    codes.discard("code")
    return codes


def sync_failure_codes() -> set[str]:
    text = (KIOSK / "sync" / "pull.py").read_text(encoding="utf-8")
    codes = set(re.findall(r'return "(\w+)",', text))
    codes.update(re.findall(r'code="(\w+)"', (KIOSK / "sync" / "loop.py").read_text(encoding="utf-8")))
    return codes


def alarm_codes() -> set[str]:
    text = (KIOSK / "power" / "health.py").read_text(encoding="utf-8")
    return set(re.findall(r'\{"code": "(\w+)"', text))


def test_every_recorded_code_has_a_sentence():
    codes = recorded_codes()
    assert {"blank_on", "media_skipped", "font_missing", "queue_dropped", "mpv_died"} <= codes  # the scan works
    assert sorted(codes - set(EVENTS)) == []
    assert sorted(sync_failure_codes() - set(SYNC_FAILURES)) == []
    assert len(alarm_codes()) >= 5 and sorted(alarm_codes() - set(ALARMS)) == []


def test_power_events_and_alarms_in_vietnamese(client, auth, accounts, db):
    from kiosk.power import service as power

    power.blank_on(db, "chief", "kiểm tra thiết bị", power_off=True)
    power.blank_off(db, "chief")
    log_event(db, "power", "warning", "health_alarm", "CPU at 81.5 C (alarm above 75 C)",
              detail={"alarm": "cpu_temp_high", "temp_c": 81.5, "limit_c": 75.0})
    log_event(db, "sync", "warning", "sync_network", "network: connection refused",
              detail={"offered_version": None})
    set_state(db, "health", {"alarms": [{"code": "clock_unsynced", "message": "clock not synchronised "
                                         "(schedules and signatures need it)"}]})
    set_state(db, "sync", {"status": "failed", "code": "network", "reason": "network: connection refused"})
    auth.login("view")
    auth.post("/language", {"lang": "vi"})
    page = client.get("/logs/events").get_data(as_text=True)
    assert "chief đã tắt hình mọi mặt và ngắt rơ-le: kiểm tra thiết bị" in page
    assert "chief đã bỏ tắt hình khẩn cấp" in page
    assert "Cảnh báo: CPU ở 81,5 °C (ngưỡng 75 °C)" in page or "CPU ở 81.5 °C" in page
    assert "blanked every face" not in page and "released the blank" not in page
    assert "Đồng bộ thất bại: không kết nối được máy chủ trung tâm" in page
    dash = client.get("/").get_data(as_text=True)
    assert "đồng hồ chưa được đồng bộ" in dash and "clock not synchronised" not in dash
    assert "thất bại: không kết nối được máy chủ trung tâm" in dash
    # English is one click away, from the same stored codes.
    auth.post("/language", {"lang": "en"})
    page = client.get("/logs/events").get_data(as_text=True)
    assert "chief blanked every face and switched the relays off: kiểm tra thiết bị" in page


def test_proof_of_play_outcomes_in_vietnamese(client, auth, accounts, db):
    now = iso(utcnow())
    db["proof_of_play"].insert_all([
        {"face_id": 1, "media_sha256": "a" * 64, "media_name": "a.png", "level": "normal",
         "started_at": now, "ended_at": now, "outcome": "preempted", "reason": "preempted: dark: blanked"},
        {"face_id": 1, "media_sha256": "b" * 64, "media_name": "b.png", "level": "normal",
         "started_at": now, "ended_at": now, "outcome": "completed"},
    ])
    auth.login("view")
    auth.post("/language", {"lang": "vi"})
    page = client.get("/logs/").get_data(as_text=True)
    assert "bị cắt ngang: mặt đã tối (tắt hình khẩn cấp)" in page and "phát hết" in page
    assert "preempted" not in page and "completed" not in page


def test_audit_actions_and_values_in_vietnamese(client, auth, accounts, db):
    auth.login("op")
    auth.post("/language", {"lang": "vi"})
    auth.post("/power/switch", {"face": "1", "state": "off", "for": "2h", "reason": "bảo trì"})
    page = client.get("/logs/audit").get_data(as_text=True)
    assert "tắt bằng tay" in page and "mặt 1" in page
    assert "yêu cầu: tắt" in page and "power.off" not in page and '"want"' not in page


def test_font_error_in_vietnamese_and_the_notice_kept(state_dir, tmp_path):
    """A notice in Khmer when the configured font has no Khmer glyphs: the
    technician reads why in Vietnamese, and what was typed is still there."""
    from admin import create_app
    from admin.services import users
    from tests.support.admin import Auth

    cfg = tmp_path / "khmer.toml"
    cfg.write_text('text_fonts = { km = "Noto Sans Lao" }\n')
    app = create_app({"STATE_DIR": str(state_dir), "CONFIG_FILE": str(cfg), "TESTING": True})
    from kiosk.store import connect

    db = connect(state_dir / "gatecast.db")
    users.create_user(db, "op", "operator-password-1", "operator", None, "vi")
    client = app.test_client()
    auth = Auth(client)
    auth.login("op", "operator-password-1")
    resp = auth.post("/notices/", {"text_vi": "Cửa khẩu đóng", "third_lang": "km",
                                   "text_third": "ច្រកព្រំដែនបិទ", "kind": "slide", "level": "normal"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Tiếng Khmer" in html and "không có phông chữ nào" in html.lower()
    assert "cannot be shown" not in html and "ច្រកព្រំដែនបិទ</textarea>" in html
    assert db.execute("SELECT COUNT(*) FROM notice").fetchone()[0] == 0
    db.close()
