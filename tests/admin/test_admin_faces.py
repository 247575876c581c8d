"""Faces & screens: the layout drawn to scale, checked in words before it is
saved, what was typed kept on a refusal, identify, and the player restart."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

from kiosk.store import get_state


def _form(**changes) -> dict:
    form = {"out_used_0": "1", "out_name_0": "main", "out_connector_0": "HDMI-A-1", "out_width_0": "1920",
            "out_height_0": "1080", "out_rotation_0": "0",
            "face_used_1": "1", "face_name_1": "Mặt hướng Việt Nam", "face_output_1": "main",
            "face_x_1": "0", "face_y_1": "0", "face_width_1": "960", "face_height_1": "1080",
            "face_pin_1": "17",
            "face_used_2": "1", "face_name_2": "Mặt hướng Trung Quốc", "face_output_2": "main",
            "face_x_2": "960", "face_y_2": "0", "face_width_2": "960", "face_height_2": "1080",
            "face_pin_2": "27", "face_high_2": "1",
            "face_used_3": "1", "face_name_3": "Mặt bên (gương)", "face_output_3": "main",
            "face_x_3": "0", "face_y_3": "0", "face_width_3": "960", "face_height_3": "1080"}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def test_check_draws_without_saving_then_save(client, auth, accounts, db):
    auth.login("chief")
    auth.post("/language", {"lang": "vi"})
    page = client.get("/faces/").get_data(as_text=True)
    assert "<svg" in page and 'viewBox="0 0 1920 1080"' in page
    resp = auth.post("/faces/", {**_form(), "action": "check"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="layout-ok"' in html
    # Drawn to scale: two regions, face 1 and 3 mirrored on the left half.
    assert '<rect x="960" y="0" width="960" height="1080"' in html
    assert re.search(r">\s*1 = 3\s*<", html) and "một hình trên 2 mặt" in html
    assert "GPIO 17" in html and "kích mức thấp" in html and "kích mức cao" in html
    assert db.execute("SELECT COUNT(*) FROM setting").fetchone()[0] == 0  # nothing saved
    resp = auth.post("/faces/", {**_form(), "action": "save"})
    assert resp.status_code == 302
    faces = json.loads(db["setting"].get("faces")["value"])
    assert [(f["id"], f.get("relay_pin"), f.get("relay_active_high")) for f in faces] == [
        (1, 17, False), (2, 27, True), (3, None, None)]
    assert faces[2]["region"] == {"x": 0, "y": 0, "width": 960, "height": 1080}
    assert db.execute("SELECT action FROM admin_audit ORDER BY id DESC LIMIT 1").fetchone()[0] == "faces.save"


def test_overlap_is_refused_in_words_and_the_form_kept(client, auth, accounts, db):
    auth.login("chief")
    auth.post("/language", {"lang": "vi"})
    resp = auth.post("/faces/", {**_form(face_x_2="900"), "action": "save"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Mặt 1 và 2 chồng lên nhau" in html and "overlap" not in html
    assert 'name="face_x_2" value="900"' in html and 'value="Mặt hướng Trung Quốc"' in html
    assert db.execute("SELECT COUNT(*) FROM setting").fetchone()[0] == 0
    resp = auth.post("/faces/", {**_form(face_width_2="abc"), "action": "check"})
    assert resp.status_code == 400 and "số nguyên" in resp.get_data(as_text=True)


def test_identify_and_restart_need_their_roles(client, auth, accounts, db):
    auth.login("op")
    assert auth.post("/faces/identify", {"seconds": "10"}).status_code == 302
    assert get_state(db, "identify")["by"] == "op"
    assert auth.post("/faces/restart-player", {"confirm": "1"}).status_code == 403
    assert auth.post("/faces/", {**_form(), "action": "save"}).status_code == 403
    auth.post("/logout")
    auth.login("chief")
    # No player runs in this test: the admin says so instead of pretending.
    resp = auth.post("/faces/restart-player", {"confirm": "1"}, headers={"Accept": "application/json"})
    assert resp.status_code == 409 and "not running" in resp.json["error"]


def test_restart_stops_the_running_player_cleanly(app, client, auth, accounts, db, tmp_path):
    """The player runs as the same user as the admin; SIGTERM makes it stop
    cleanly, and systemd (Restart=always) starts it again on a gate."""
    from tests.support.admin import GATECAST, clean_env, start_process, stop_process
    from tests.support.wait import wait_for

    settings = app.extensions["gatecast_settings"]
    config = tmp_path / "gatecast.toml"
    config.write_text('mpv_vo = "null"\ndisplay = "headless"\n')
    player = start_process([GATECAST, "player", "--state", str(settings.state_path), "--config", str(config)],
                           clean_env(XDG_RUNTIME_DIR=str(tmp_path)), tmp_path / "player.log")
    try:
        wait_for(lambda: (get_state(db, "player") or {}).get("pid") == player.pid, 60, "the player's heartbeat")
        auth.login("chief")
        assert 'id="restart-player"' in client.get("/faces/").get_data(as_text=True)
        assert auth.post("/faces/restart-player", {}).status_code == 400  # not confirmed
        assert player.poll() is None
        auth.post("/language", {"lang": "vi"})
        resp = auth.post("/faces/restart-player", {"confirm": "1"})
        assert resp.status_code == 302
        assert player.wait(timeout=60) == 0  # a clean stop, as systemd expects
        # The page watches for the player's fresh start.
        page = client.get(resp.headers["Location"]).get_data(as_text=True)
        status_url = re.search(r'id="restart-status"\s+data-url="([^"]+)"', page).group(1).replace("&amp;", "&")
        assert 'data-state="waiting"' in page and "Đang chờ trình phát chạy lại" in page
        # Stopped for a moment, it is not said to be "not running on this controller".
        assert 'id="restart-player"' not in page and "không chạy trên máy điều khiển" not in page
        assert client.get(status_url).json["state"] == "waiting"
        # systemd (Restart=always) starts it again; here the test does.
        player = start_process([GATECAST, "player", "--state", str(settings.state_path), "--config",
                                str(config)], clean_env(XDG_RUNTIME_DIR=str(tmp_path)), tmp_path / "player2.log")
        back = wait_for(lambda: (lambda r: r if r["state"] == "back" else None)(client.get(status_url).json),
                        90, "the restarted player to be seen")
        assert back["level"] == "ok" and back["text"].startswith("Trình phát đã chạy lại lúc ")
        assert re.search(r"lúc \d\d:\d\d \d\d/\d\d/\d{4}", back["text"]), back["text"]
        # A restart that never came back says so, and what to do.
        since = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
        player.terminate()
        assert player.wait(timeout=60) == 0
        gone = client.get("/faces/player", query_string={"since": since}).json
        assert gone["state"] == "not_back" and gone["level"] == "error"
        assert "vẫn chưa chạy lại" in gone["text"] and "systemctl status gatecast-player" in gone["text"]
        assert client.get("/faces/player", query_string={"since": "yesterday"}).status_code == 400
    finally:
        stop_process(player)
