"""The Fleet pages through Flask's test client, on SQLite and PostgreSQL:
who may see and do what, bad input stores nothing, gates' events said in the
reader's language, the optional tile server and the CSP. The browser and a
real gate are in test_console_fleet.py."""

from __future__ import annotations

import json

import pytest

from central.fleet import get_gate, update_gate
from central.intake import record_heartbeat
from central.killswitch import blank_state
from kiosk.store import iso, utcnow

from tests.support.console import Console, make_user

GATE = "huu-nghi"


@pytest.fixture
def fleet(central, console_app):
    central.gate(GATE, faces=(1, 2), name="Cửa khẩu quốc tế Hữu Nghị")
    update_gate(central.db, GATE, position=(21.9967, 106.7036))
    make_user(central.db, "van-hanh", "operator")
    make_user(central.db, "xem", "viewer")
    record_heartbeat(central.db, GATE, {
        "release_version": 1, "last_good_release_version": 1,
        "health": {"cpu_temp_c": 81.5, "disk": {"free_mb": 300.0}, "clock_synced": True,
                   "alarms": [{"code": "cpu_temp_high"}]},
        "faces": [{"face_id": 1, "power": "on", "blanked": 0, "playing_name": "chao-mung.png"}],
        "errors": [{"id": 5, "at": iso(utcnow()), "level": "error", "code": "mpv_died",
                    "message": "mpv on output vn stopped", "face_id": 1,
                    "detail": {"output": "vn"}}]})
    return central


def console_as(app, name, language="vi") -> Console:
    c = Console(app)
    c.login(name)
    c.post("/language", {"lang": language})
    return c


def flashed_error(body: str) -> bool:
    return 'class="flash error"' in body


def test_a_viewer_sees_the_fleet_but_cannot_blank(fleet, console_app):
    viewer = console_as(console_app, "xem")
    page = viewer.text("/fleet/")
    assert "Cửa khẩu quốc tế Hữu Nghị" in page and "81,5 °C" in page
    gate = viewer.text(f"/fleet/{GATE}")
    # The gate's own event, said with the gate admin's Vietnamese sentence (mpv's own
    # English words follow as the technical detail, as on the gate).
    assert "mpv trên đầu ra vn đã dừng; trình phát khởi động lại nó" in gate
    assert 'id="blank-form"' not in gate
    r = viewer.post(f"/fleet/{GATE}/blank", {"reason": "thử"})
    assert r.status_code == 403
    r = viewer.post(f"/fleet/{GATE}/position", {"latitude": "10", "longitude": "106"})
    assert r.status_code == 403
    assert blank_state(fleet.db, GATE) is None and get_gate(fleet.db, GATE)["latitude"] == 21.9967


def test_an_operator_blanks_and_releases_with_the_form(fleet, console_app):
    op = console_as(console_app, "van-hanh")
    page = op.text(f"/fleet/{GATE}")
    assert 'id="blank-form"' in page
    r = op.post(f"/fleet/{GATE}/blank", {"faces": "2", "reason": "Nội dung sai"},
                follow_redirects=True)
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "Đã tắt hình cửa khẩu huu-nghi từ trung tâm" in body
    assert blank_state(fleet.db, GATE)["faces"] == [2]
    listing = op.text("/fleet/")
    assert "state-blanked" in listing and "bị tắt hình từ trung tâm" in listing
    [audit] = list(fleet.db.query("SELECT * FROM audit WHERE action = 'blank'"))
    assert audit["who"] == "van-hanh" and json.loads(audit["detail"])["reason"] == "Nội dung sai"
    r = op.post(f"/fleet/{GATE}/unblank", {"reason": "Đã sửa"}, follow_redirects=True)
    assert "Đã bỏ tắt hình từ trung tâm" in r.get_data(as_text=True)
    assert blank_state(fleet.db, GATE)["active"] is False


def test_bad_forms_say_why_in_vietnamese_and_store_nothing(fleet, console_app):
    op = console_as(console_app, "van-hanh")
    op.get(f"/fleet/{GATE}")
    referer = {"Referer": f"http://localhost/fleet/{GATE}"}
    for data, english in [({"reason": "  "}, "Say why"),
                          ({"faces": "3", "reason": "x"}, "has no face"),
                          ({"faces": "abc", "reason": "x"}, None)]:
        r = op.post(f"/fleet/{GATE}/blank", data, headers=referer, follow_redirects=True)
        body = r.get_data(as_text=True)
        assert flashed_error(body) or r.status_code == 400, data
        if english:
            assert english not in body, data  # said in Vietnamese
    r = op.post(f"/fleet/{GATE}/unblank", {"reason": "x"}, headers=referer, follow_redirects=True)
    body = r.get_data(as_text=True)
    assert flashed_error(body) and "not blanked" not in body
    assert blank_state(fleet.db, GATE) is None
    for data, english in [({"latitude": "95", "longitude": "106"}, "Latitude is"),
                          ({"latitude": "21", "longitude": ""}, "Give both"),
                          ({"latitude": "bắc", "longitude": "106"}, "are numbers")]:
        r = op.post(f"/fleet/{GATE}/position", data, headers=referer, follow_redirects=True)
        body = r.get_data(as_text=True)
        assert flashed_error(body) and english not in body, data
    assert get_gate(fleet.db, GATE)["latitude"] == 21.9967
    op.post(f"/fleet/{GATE}/position", {"latitude": "21.5", "longitude": "106.5"},
            follow_redirects=True)
    assert get_gate(fleet.db, GATE)["latitude"] == 21.5
    assert op.get("/fleet/no-such-gate").status_code == 404


def test_no_tile_server_no_foreign_images(fleet, console_app):
    op = console_as(console_app, "van-hanh")
    r = op.get("/fleet/")
    assert "<image" not in r.get_data(as_text=True)
    img = next(p for p in r.headers["Content-Security-Policy"].split(";")
               if p.strip().startswith("img-src"))
    assert "http" not in img


def test_a_tile_server_is_drawn_and_allowed_only_when_set(tmp_path, monkeypatch):
    from central.app import create_app
    from kiosk.web import accounts

    from tests.support.central import make_central

    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
    central = make_central(tmp_path / "central",
                           central_map_tile_url="https://ban-do.langson.gov.vn/{z}/{x}/{y}.png")
    try:
        central.gate(GATE, faces=(1,))
        make_user(central.db, "van-hanh", "operator")
        app = create_app(central.settings)
        op = console_as(app, "van-hanh")
        r = op.get("/fleet/")
        assert '<image href="https://ban-do.langson.gov.vn/' in r.get_data(as_text=True)
        img = next(p for p in r.headers["Content-Security-Policy"].split(";")
                   if p.strip().startswith("img-src"))
        assert "https://ban-do.langson.gov.vn" in img
        app.extensions["release_watch"].stop()
        app.extensions["central_store"].close()
    finally:
        central.db.close()


def test_the_emergency_page_warns_of_blanked_target_gates(fleet, console_app):
    """A blank outranks an emergency on the screens: the Emergency page names the
    blanked gates (central's kill switch, or the gate's own) before publishing;
    after a preview, only those the chosen targets and faces reach."""
    from central.fleet import add_group
    from central.killswitch import blank

    fleet.gate("tan-thanh", faces=(1, 2), name="Cửa khẩu Tân Thanh")
    fleet.gate("mong-cai", faces=(1,), name="Cửa khẩu Móng Cái")
    add_group(fleet.db, "lang-son", "Lạng Sơn", [GATE, "tan-thanh"])
    blank(fleet.db, fleet.repo, GATE, by="van-hanh", reason="Kiểm tra màn hình", faces=[2])
    record_heartbeat(fleet.db, "tan-thanh", {"faces": [
        {"face_id": 1, "power": "on", "blanked": 1}, {"face_id": 2, "power": "on", "blanked": 0}]})
    op = console_as(console_app, "van-hanh")
    page = op.text("/emergency/")
    assert 'id="blank-warning"' in page
    assert ("Cửa khẩu quốc tế Hữu Nghị</a>: bị tắt hình từ trung tâm (mặt 2) bởi van-hanh: "
            "Kiểm tra màn hình") in page
    assert ("Cửa khẩu Tân Thanh</a>: chính cửa khẩu báo đang tối (mặt 1): công tắc tắt hình "
            "của kỹ thuật viên tại chỗ") in page
    assert "Cửa khẩu Móng Cái</a>:" not in page

    def preview(*targets, faces=()):
        r = op.post("/emergency/preview", {"text_vi": "Tạm dừng thông quan", "reason": "thử",
                                           "minutes": "60", "target": list(targets),
                                           "face": list(faces)})
        assert r.status_code == 200
        body = r.get_data(as_text=True)
        return [g for g in (GATE, "tan-thanh", "mong-cai") if f'data-gate="{g}"' in body]

    assert preview("gate:mong-cai") == []
    assert preview("group:lang-son") == [GATE, "tan-thanh"]
    assert preview("province") == [GATE, "tan-thanh"]
    assert preview(f"gate:{GATE}", faces=["1"]) == []  # central blanked face 2 only
    assert preview(f"gate:{GATE}", faces=["2"]) == [GATE]
    assert preview("gate:tan-thanh", "gate:mong-cai", faces=["1"]) == ["tan-thanh"]
