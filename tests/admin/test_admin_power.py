"""Power pages, kill switch and the JSON API with tokens, over kiosk.power."""

from __future__ import annotations

import json


def _token(client, auth, user):
    auth.login(user)
    html = auth.post("/account/tokens", {"name": "script"}).get_data(as_text=True)
    import re

    token = re.search(r'id="new-token">([^<]+)<', html).group(1)
    auth.post("/logout")
    return token


def test_operator_switches_a_face_off_for_two_hours_with_audit(client, auth, accounts, db):
    auth.login("op")
    resp = auth.post("/power/switch", {"face": "2", "state": "off", "for": "2h", "reason": "cleaning"})
    assert resp.status_code == 302
    row = db.execute("SELECT face_id, state, reason, created_by, expires_at FROM power_override").fetchone()
    assert row[:4] == (2, "off", "cleaning", "op") and row[4]
    audit = db.execute("SELECT username, action, target, after FROM admin_audit "
                       "WHERE action = 'power.off'").fetchone()
    assert audit[:3] == ("op", "power.off", "face 2")
    assert json.loads(audit[3])["want"] == "off"
    page = client.get("/power/").get_data(as_text=True)
    assert "cleaning" in page
    assert auth.post("/power/switch", {"face": "2", "state": "auto"}).status_code == 302
    assert db.execute("SELECT COUNT(*) FROM power_override").fetchone()[0] == 0


def test_unknown_face_and_bad_duration_are_refused_in_the_users_language(client, auth, accounts, db):
    auth.login("op")
    auth.post("/language", {"lang": "vi"})
    resp = auth.post("/power/switch", {"face": "9", "state": "off"})
    assert resp.status_code == 400
    assert "Không có mặt 9" in resp.get_data(as_text=True)
    resp = auth.post("/power/switch", {"face": "1", "state": "off", "for": "soon"})
    assert resp.status_code == 400
    resp = auth.post("/power/windows/1", {"rows": "1", "start_0": "25:00", "end_0": "22:00",
                                          "days_0": ["0", "1"]})
    assert resp.status_code == 400
    assert db.execute("SELECT COUNT(*) FROM power_override").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM power_window").fetchone()[0] == 0


def test_power_windows_saved_from_the_form(client, auth, accounts, db):
    auth.login("op")
    resp = auth.post("/power/windows/1", {"rows": "3", "start_0": "05:30", "end_0": "22:30",
                                          "days_0": ["0", "1", "2", "3", "4"],
                                          "start_1": "", "end_1": ""})
    assert resp.status_code == 302
    rows = list(db.query("SELECT face_id, start_time, end_time, weekdays FROM power_window"))
    assert rows == [{"face_id": 1, "start_time": "05:30", "end_time": "22:30",
                     "weekdays": "[0, 1, 2, 3, 4]"}]


def test_kill_switch_needs_reason_and_confirmation_then_releases(client, auth, accounts, db):
    auth.login("op")
    assert auth.post("/power/blank", {"reason": "", "confirm": "1"}).status_code == 400
    assert auth.post("/power/blank", {"reason": "wrong content"}).status_code == 400
    assert db["blank"].get(1)["active"] == 0
    assert auth.post("/power/blank", {"reason": "wrong content", "confirm": "1"}).status_code == 302
    b = db["blank"].get(1)
    assert (b["active"], b["reason"], b["by"]) == (1, "wrong content", "op")
    assert "KILL SWITCH" in client.get("/").get_data(as_text=True)
    assert auth.post("/power/unblank").status_code == 302
    assert db["blank"].get(1)["active"] == 0
    actions = [r[0] for r in db.execute("SELECT action FROM admin_audit WHERE action LIKE 'blank.%'")]
    assert actions == ["blank.on", "blank.off"]


def test_viewer_may_not_switch_power(client, auth, accounts, db):
    auth.login("view")
    assert auth.post("/power/blank", {"reason": "x", "confirm": "1"}).status_code == 403
    assert auth.post("/power/switch", {"face": "1", "state": "off"}).status_code == 403
    assert db["blank"].get(1)["active"] == 0


def test_api_token_roles_and_openapi(app, client, auth, accounts, db):
    op_token = _token(client, auth, "op")
    view_token = _token(client, auth, "view")
    assert db.execute("SELECT COUNT(*) FROM admin_token WHERE token_sha256 = ?",
                      [op_token]).fetchone()[0] == 0  # stored hashed only
    fresh = app.test_client()
    h = {"Authorization": "Bearer " + op_token}
    assert fresh.get("/api/v1/status", headers=h).json["faces"][0]["id"] == 1
    resp = fresh.post("/api/v1/power/blank", json={"reason": "test"}, headers=h)
    assert resp.status_code == 200 and db["blank"].get(1)["active"] == 1
    assert "Set-Cookie" not in resp.headers  # token calls make no session
    resp = fresh.delete("/api/v1/power/blank", headers={"Authorization": "Bearer " + view_token})
    assert resp.status_code == 403 and db["blank"].get(1)["active"] == 1
    assert fresh.get("/api/v1/status", headers={"Authorization": "Bearer gct_wrong"}).status_code == 401
    resp = fresh.post("/api/v1/power/faces/7", json={"state": "off"}, headers=h)
    assert resp.status_code == 400 and resp.json["field"] == "face"
    # Every API rule is in the OpenAPI document.
    doc = fresh.get("/api/v1/openapi.json", headers=h).json
    assert doc["openapi"].startswith("3.")
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi":
            path = "/api/v1" + rule.rule[len("/api/v1"):].replace("<int:", "{").replace("<", "{").replace(">", "}")
            for m in rule.methods - {"HEAD", "OPTIONS"}:
                assert m.lower() in doc["paths"][path], (path, m)


def test_revoked_token_stops_working(app, client, auth, accounts, db):
    token = _token(client, auth, "op")
    auth.login("op")
    tid = db.execute("SELECT id FROM admin_token").fetchone()[0]
    assert auth.post(f"/account/tokens/{tid}/revoke").status_code == 302
    resp = app.test_client().get("/api/v1/status", headers={"Authorization": "Bearer " + token})
    assert resp.status_code == 401


def test_changes_succeed_while_the_player_writes(app, db, accounts):
    """The player writes face_state many times a second; a change that reads
    before it writes must wait for the lock, not fail with "database is locked"."""
    import threading

    from admin.services import Actor
    from admin.services import power as power_service
    from kiosk.store import connect, iso, utcnow

    settings = app.extensions["gatecast_settings"]
    stop = threading.Event()

    def player():
        own = connect(settings.db_path)
        while not stop.is_set():
            own["face_state"].upsert({"face_id": 1, "power": "on", "updated_at": iso(utcnow())},
                                     pk="face_id")
        own.close()

    writer = threading.Thread(target=player)
    writer.start()
    try:
        op = Actor("op", "operator", "127.0.0.1")
        for i in range(30):
            power_service.blank_on(db, op, f"test {i}")
            power_service.blank_off(db, op)
    finally:
        stop.set()
        writer.join(timeout=30)
    assert db.execute("SELECT COUNT(*) FROM admin_audit WHERE action LIKE 'blank.%'").fetchone()[0] == 60
