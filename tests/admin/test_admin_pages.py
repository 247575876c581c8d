"""Notices, logs (proof of play CSV, events, audit), settings and the dashboard data."""

from __future__ import annotations

import csv
import io
import json

from tests.support.admin import csrf_from


def test_local_notice_in_three_languages_then_withdrawn(client, auth, accounts, db):
    auth.login("op")
    resp = auth.post("/notices/", {"text_vi": "Cửa khẩu đóng lúc 17:00", "text_en": "Gate closes at 17:00",
                                   "third_lang": "zh", "text_third": "口岸17:00关闭", "kind": "ticker",
                                   "level": "priority", "faces": ["1"], "expires_at": "2099-01-01T08:00"})
    assert resp.status_code == 302
    row = db.execute("SELECT id, kind, level, texts, faces, created_by, expires_at FROM notice").fetchone()
    assert row[1:3] == ("ticker", "priority")
    assert json.loads(row[3]) == {"vi": "Cửa khẩu đóng lúc 17:00", "en": "Gate closes at 17:00",
                                  "zh": "口岸17:00关闭"}
    assert json.loads(row[4]) == [1] and row[5] == "op"
    assert row[6].startswith("2099-01-01T01:00")  # 08:00 in Ho Chi Minh City is 01:00 UTC
    auth.post("/language", {"lang": "vi"})
    listing = client.get("/notices/").get_data(as_text=True)
    # Each text under its language's name, marked with its language for the fonts.
    assert '<b>Tiếng Việt:</b> <span lang="vi">Cửa khẩu đóng lúc 17:00</span>' in listing
    assert '<b>Tiếng Trung:</b> <span lang="zh">口岸17:00关闭</span>' in listing
    assert auth.post(f"/notices/{row[0]}/withdraw").status_code == 302
    assert db.execute("SELECT withdrawn_at FROM notice").fetchone()[0]
    assert [r[0] for r in db.execute("SELECT action FROM admin_audit WHERE action LIKE 'notice.%'")] == [
        "notice.create", "notice.withdraw"]


def test_bad_notices_are_refused(client, auth, accounts, db):
    auth.login("op")
    for form in ({"text_vi": "", "text_en": ""},
                 {"text_vi": "x", "faces": ["5"]},
                 {"text_vi": "x", "expires_at": "2001-01-01T00:00"},
                 {"text_vi": "x", "expires_at": "tomorrow"},
                 {"text_vi": "x" * 501}):
        resp = auth.post("/notices/", {"kind": "ticker", "level": "normal", **form})
        assert resp.status_code == 400, form
    assert db.execute("SELECT COUNT(*) FROM notice").fetchone()[0] == 0


def _proof(db, n):
    rows = []
    for i in range(n):
        rows.append({"face_id": 1 + i % 2, "media_sha256": f"{i:064x}", "media_name": f"clip {i}.mp4",
                     "entry_id": "e1", "level": "normal", "started_at": f"2026-11-2{i % 3}T01:00:00.000+00:00",
                     "ended_at": f"2026-11-2{i % 3}T01:00:10.000+00:00", "outcome": "completed"})
    rows.append({**rows[0], "media_name": "=HYPERLINK(\"http://evil\")", "started_at": "2026-11-20T02:00:00.000+00:00"})
    db["proof_of_play"].insert_all(rows)


def test_proof_of_play_filter_and_csv(client, auth, accounts, db):
    _proof(db, 9)
    auth.login("view")
    page = client.get("/logs/?face=2&from=2026-11-21&to=2026-11-21").get_data(as_text=True)
    assert "clip 1.mp4" in page and "clip 4.mp4" not in page and "clip 0.mp4" not in page
    resp = client.get("/logs/proof-of-play.csv?face=1")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0][:3] == ["id", "face_id", "media_sha256"]
    assert {r[1] for r in rows[1:]} == {"1"} and len(rows) == 1 + 6
    assert any(r[3].startswith("'=HYPERLINK") for r in rows[1:])  # no formula injection
    resp = client.get("/logs/?from=2026-11-22&to=2026-11-20")
    assert resp.status_code == 400
    assert client.get("/logs/proof-of-play.csv?from=junk").status_code == 400
    assert client.get("/api/v1/proof-of-play?media=clip 2").json[0]["media_name"] == "clip 2.mp4"


def test_events_and_audit_pages(client, auth, accounts, db):
    from kiosk.store import log_event

    log_event(db, "player", "error", "mpv_died", "mpv on output main exited", face_id=1)
    auth.login("chief")
    assert "mpv on output main exited" in client.get("/logs/events?level=error").get_data(as_text=True)
    assert "login" in client.get("/logs/audit").get_data(as_text=True)
    auth.post("/logout")
    auth.login("view")
    assert client.get("/api/v1/audit").status_code == 403


def test_settings_saved_over_config_and_validated(client, auth, accounts, db):
    auth.login("chief")
    token = csrf_from(client.get("/settings/").get_data(as_text=True))
    h = {"X-CSRFToken": token}
    assert client.patch("/api/v1/settings", json={"timezone": "Mars/Base"}, headers=h).status_code == 400
    assert client.patch("/api/v1/settings", json={"faces": '[{"id": 9, "output": "main"}]'},
                        headers=h).status_code == 400
    assert client.patch("/api/v1/settings", json={"admin_secret_key": "x"}, headers=h).status_code == 400
    assert client.patch("/api/v1/settings", json={"gate_id": "Not OK!"}, headers=h).status_code == 400
    assert db.execute("SELECT COUNT(*) FROM setting").fetchone()[0] == 0
    resp = client.post("/settings/", data={"csrf_token": token, "gate_name": "Cửa khẩu Hữu Nghị"})
    assert resp.status_code == 302
    faces = json.dumps([{"id": 1, "name": "Mặt 1", "output": "main", "relay_pin": 17}])
    assert client.patch("/api/v1/settings", json={"faces": faces}, headers=h).status_code == 200
    assert json.loads(db["setting"].get("gate_name")["value"]) == "Cửa khẩu Hữu Nghị"
    status = client.get("/api/v1/status").json
    assert status["gate"]["name"] == "Cửa khẩu Hữu Nghị" and [f["name"] for f in status["faces"]] == ["Mặt 1"]
    auth.post("/logout")
    auth.login("op")
    assert client.get("/settings/").status_code == 403


def test_dashboard_shows_player_state_screenshot_and_sync_warning(app, client, auth, accounts, db):
    from kiosk.store import iso, set_state, utcnow

    shots = app.extensions["gatecast_settings"].screenshot_dir
    shots.mkdir(parents=True, exist_ok=True)
    (shots / "face-1.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    db["face_state"].insert({"face_id": 1, "power": "on", "blanked": 0, "level": "normal",
                             "playing_name": "Bản tin sáng.mp4", "since": iso(utcnow()),
                             "screenshot": "face-1.png", "updated_at": iso(utcnow())})
    set_state(db, "health", {"cpu_temp_c": 81.5, "disk": {"free_mb": 2048, "total_mb": 30000},
                             "memory": {"available_mb": 900, "total_mb": 3900}, "uptime_s": 86400,
                             "clock_synced": False, "ip_addresses": {"eth0": ["192.168.1.10"]},
                             "throttling": {"under_voltage_now": True},
                             "alarms": [{"code": "cpu_temp_high", "message": "CPU at 81.5 C"}]})
    set_state(db, "sync", {"status": "failed", "code": "network", "reason": "central unreachable",
                           "last_good_release_version": 12})
    auth.login("view")
    page = client.get("/").get_data(as_text=True)
    assert "Bản tin sáng.mp4" in page and "/screenshots/face-1.png?v=" in page
    assert "central unreachable" in page and ">12<" in page
    assert "CPU at 81.5 C" in page and "81.5 °C" in page and "eth0 192.168.1.10" in page
    data = client.get("/dashboard.json").json
    assert data["last_known_good"] is True and data["player_alive"] is True
    with client.get("/screenshots/face-1.png") as shot:
        assert shot.status_code == 200 and shot.mimetype == "image/png"
    with client.get("/screenshots/face-2.png") as missing:
        assert missing.status_code == 404
