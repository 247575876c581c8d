"""The Assignments, Publish and Emergency pages through Flask's test client
(tests.support.console): rights per role, four-eyes, the stale form, the
emergency preview and cancel, and bad input said in Vietnamese with nothing
stored. On both stores."""

from __future__ import annotations

import io
import json
import re

import pytest

from central.publish import current_release

from tests.support.console import Console, make_user
from tests.support.media import make_image


@pytest.fixture
def desk(central, console_app, tmp_path):
    """Two gates (one in group `north`), a published playlist, and a person of
    each role, logged in on their own console."""
    from central.fleet import add_group

    central.gate("gate-a", faces=(1, 2), name="Cửa khẩu Hữu Nghị")
    central.gate("gate-b", faces=(1,), name="Cửa khẩu Tân Thanh")
    add_group(central.db, "north", "Phía Bắc", ["gate-a"])
    red = central.media(make_image(tmp_path / "red.png"))
    central.show("gate-a", [red], playlist="a-main")
    central.show("gate-b", [red], playlist="b-main")
    central.publish()
    people = {}
    for name, role in (("bien-tap", "editor"), ("duyet", "approver"), ("duyet-2", "approver"),
                       ("truc", "operator")):
        make_user(central.db, name, role)
        people[role if name != "duyet-2" else "approver2"] = c = Console(console_app)
        c.login(name)
    return central, people


def version(central, gate_id):
    return current_release(central.db, gate_id)["version"]


def test_emergency_page_previews_publishes_and_cancels(desk):
    central, p = desk
    op = p["operator"]
    page = op.text("/emergency/")
    assert "Khẩn cấp" in page and "Tiếng Việt" in page
    # Editors have no emergency right.
    assert p["editor"].get("/emergency/").status_code == 403
    form = {"text_vi": "Tạm dừng thông quan", "text_en": "Border crossing suspended",
            "text_zh": "暂停通关", "text_lo": "ປິດດ່ານຊົ່ວຄາວ", "target": ["gate:gate-a"],
            "minutes": "30", "reason": "lũ quét", "size": "1080x1920"}
    preview = op.post("/emergency/preview", form).get_data(as_text=True)
    srcs = re.findall(r'<img class="preview-img" src="([^"]+)"', preview)
    assert len(srcs) == 2  # four languages: two slides, each with Vietnamese
    png = op.get(srcs[0].replace("&amp;", "&"))
    assert png.status_code == 200 and png.mimetype == "image/png"
    from PIL import Image

    assert Image.open(io.BytesIO(png.data)).size == (1080, 1920)
    assert central.db.count("emergency") == 0  # looking stores nothing

    # A character no font draws: said in Vietnamese, the typed text kept, nothing stored.
    bad = op.post("/emergency/", {**form, "text_km": "ព្រំដែន 🚨"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Tiếng Khmer" in html and "U+" not in html.split(
        'id="emergency-error"')[1][:300]
    assert "Tạm dừng thông quan</textarea>" in html
    assert central.db.count("emergency") == 0
    no_reason = op.post("/emergency/", {**form, "reason": ""}).get_data(as_text=True)
    assert "Hãy nói lý do" in no_reason

    before = version(central, "gate-a")
    r = op.post("/emergency/", form)
    assert r.status_code == 302
    assert version(central, "gate-a") > before and version(central, "gate-b") < before + 1
    page = op.text("/emergency/")
    assert "Đang có hiệu lực" in page and "Tạm dừng thông quan" in page
    eid = re.search(r'id="(em-[0-9a-f]+)"', page).group(1)
    r = op.post(f"/emergency/{eid}/cancel", {"reason": "đã mở lại"})
    assert r.status_code == 302
    doc = json.loads(current_release(central.db, "gate-a")["document"])
    assert not [n for n in doc["notices"] if n["level"] == "emergency"]
    assert "kết thúc sớm" in op.text("/emergency/")


def test_publish_page_preview_four_eyes_and_stale_form(desk):
    from central.assign import add_notice

    central, p = desk
    add_notice(central.db, "gate", "gate-a", {"vi": "Giờ mở cửa 7:00"}, faces=[2])
    page = p["editor"].text("/publish/?show=1&gate=gate-a&gate=gate-b")
    assert "Giờ mở cửa 7:00" in page and "có thay đổi" in page and "không thay đổi" in page
    token = re.search(r'name="token" value="([^"]+)"', page).group(1).replace("&#34;", '"')
    # Someone else changes gate-a meanwhile: the old form is refused, nothing stored.
    add_notice(central.db, "gate", "gate-a", {"vi": "Thêm một thông báo"})
    r = p["editor"].post("/publish/", {"gate": ["gate-a", "gate-b"], "token": token})
    assert r.status_code == 409 and "không có gì được xuất bản" in r.get_data(as_text=True)
    assert central.db.count("publication_request") == 0
    page = p["editor"].text("/publish/?show=1&gate=gate-a&gate=gate-b")
    token = re.search(r'name="token" value="([^"]+)"', page).group(1).replace("&#34;", '"')
    r = p["editor"].post("/publish/", {"gate": ["gate-a", "gate-b"], "token": token,
                                       "note": "lịch mới"})
    assert r.status_code == 302
    rid = central.db.scalar("SELECT id FROM publication_request")
    # The approver sees what it changes, face by face, from the waiting list.
    assert f'href="/publish/{rid}"' in p["approver"].text("/publish/")
    page = p["approver"].text(f"/publish/{rid}")
    assert "Thêm một thông báo" in page and f'id="approve-{rid}"' in page
    assert 'id="request-stale"' not in page
    assert p["editor"].get("/publish/999").status_code == 404
    before = version(central, "gate-a")
    # The editor cannot approve; an approver can, and publishes exactly that.
    assert p["editor"].post(f"/publish/{rid}/approve").status_code == 403
    r = p["approver"].post(f"/publish/{rid}/approve")
    assert r.status_code == 302, r.get_data(as_text=True)[:400]
    assert version(central, "gate-a") > before
    assert "đã xuất bản" in p["approver"].text("/publish/")
    # A request whose gate changed after it was sent says so; approving it publishes nothing.
    add_notice(central.db, "gate", "gate-b", {"vi": "Cửa khẩu Tân Thanh mở lúc 7 giờ"})
    page = p["editor"].text("/publish/?show=1&gate=gate-b")
    token = re.search(r'name="token" value="([^"]+)"', page).group(1).replace("&#34;", '"')
    assert p["editor"].post("/publish/", {"gate": ["gate-b"], "token": token}).status_code == 302
    rid = central.db.scalar("SELECT max(id) FROM publication_request")
    add_notice(central.db, "gate", "gate-b", {"vi": "Chưa ai duyệt"})
    page = p["approver"].text(f"/publish/{rid}")
    assert "Cửa khẩu Tân Thanh" in page.split('id="request-stale"')[1][:300]
    before = version(central, "gate-b")
    r = p["approver"].post(f"/publish/{rid}/approve")
    assert r.status_code == 409 and "Không có gì được xuất bản" in r.get_data(as_text=True)
    assert version(central, "gate-b") == before


def test_two_requests_waiting_for_the_same_gate_are_named_before_anyone_acts(desk, console_app):
    """A second request for a gate already waiting is warned about before it
    is sent, and both requests' approval pages (and the waiting list) name
    the other and who sent it; approving one still makes the other stale:
    refused, nothing published, kept as such."""
    from central.app import basic_auth_header
    from central.assign import add_notice

    central, p = desk
    add_notice(central.db, "gate", "gate-a", {"vi": "Giờ mở cửa 7:00"})
    assert p["editor"].post("/publish/", {"gate": ["gate-a"]}).status_code == 302
    first = central.db.scalar("SELECT max(id) FROM publication_request")
    add_notice(central.db, "gate", "gate-b", {"vi": "Tân Thanh mở lúc 7 giờ"})
    # The second sender is told before sending (the approver, with the edit right).
    page = p["approver2"].text("/publish/?show=1&gate=gate-a&gate=gate-b")
    warned = page.split('id="others-waiting"')[1][:1200]
    assert f"Yêu cầu {first}</a>, do bien-tap gửi, cũng đang chờ duyệt với Cửa khẩu Hữu Nghị." \
        in warned and "Yêu cầu nào được duyệt trước sẽ được xuất bản" in warned
    assert p["approver2"].post("/publish/", {"gate": ["gate-a", "gate-b"]}).status_code == 302
    second = central.db.scalar("SELECT max(id) FROM publication_request")
    # Each approval page names the other request, who sent it and the shared gate.
    page = p["approver"].text(f"/publish/{first}")
    assert (f"Yêu cầu {second}</a>, do duyet-2 gửi, cũng đang chờ duyệt với Cửa khẩu Hữu Nghị."
            in page.split('id="others-waiting"')[1][:1200])
    page = p["approver"].text(f"/publish/{second}")
    assert f"Yêu cầu {first}</a>, do bien-tap gửi" in page.split('id="others-waiting"')[1][:1200]
    listed = p["approver"].text("/publish/")
    assert f'id="others-waiting-{first}"' in listed and f'id="others-waiting-{second}"' in listed
    token = make_user(central.db, "kiem-tra", "viewer")
    answer = console_app.test_client().get(
        f"/api/v1/manage/publish/{first}",
        headers={"Authorization": basic_auth_header("kiem-tra", token)}).json
    assert answer["others_waiting"] == [{"id": second, "submitted_by": "duyet-2",
                                         "gates": ["gate-a"]}]
    # Approving one makes the other stale, as before: refused, kept, not lost.
    assert p["approver"].post(f"/publish/{first}/approve").status_code == 302
    page = p["approver"].text(f"/publish/{second}")
    assert 'id="request-stale"' in page and 'id="others-waiting"' not in page
    before = version(central, "gate-b")
    assert p["approver"].post(f"/publish/{second}/approve").status_code == 409
    assert version(central, "gate-b") == before
    assert central.db.scalar(f"SELECT state FROM publication_request WHERE id = {second}") == \
        "stale"


def test_assignments_pages_say_what_applies_and_refuse_bad_input(desk):
    central, p = desk
    ed = p["editor"]
    assert "Cả tỉnh" in ed.text("/assignments/")
    r = ed.post("/assignments/province/-/power", {"start_time": "05:30", "end_time": "22:30",
                                                   "weekdays": [str(d) for d in range(7)]})
    assert r.status_code == 302
    r = ed.post("/assignments/group/north/entry", {
        "playlist": "c-a-main", "name": "Giờ cao điểm", "start_time": "08:00",
        "end_time": "09:30", "level": "priority", "weekdays": ["0", "1", "2", "3", "4"]})
    assert r.status_code == 302
    page = ed.text("/assignments/gate/gate-a")
    assert "Giờ cao điểm" in page and "nhóm Phía Bắc" in page and "cả tỉnh" in page
    assert "che" in page.split('id="conflicts"')[1][:600]  # the entry hides the gate's own
    # Overlapping window, reversed dates, unknown gate: Vietnamese, typed values kept.
    before = central.db.count("power_window")
    r = ed.post("/assignments/province/-/power", {"start_time": "22:00", "end_time": "23:00",
                                                   "weekdays": ["0"]})
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and "trùng" in html and 'value="22:00"' in html
    r = ed.post("/assignments/gate/gate-a/entry", {
        "playlist": "c-a-main", "start_time": "06:00", "end_time": "07:00", "weekdays": ["0"],
        "start_date": "2026-12-10", "end_date": "2026-12-01"})
    assert r.status_code == 400
    assert "Khoảng ngày kết thúc (01/12/2026) trước khi bắt đầu" in r.get_data(as_text=True)
    assert ed.post("/assignments/gate/nowhere/power",
                   {"start_time": "05:00", "end_time": "06:00"}).status_code == 404
    assert central.db.count("power_window") == before
    assert central.db.scalar("SELECT count(*) FROM schedule_entry WHERE target_id = 'gate-a' "
                             "AND start_date IS NOT NULL") == 0
    # Viewers of other roles read it; only editors change it.
    assert p["operator"].post("/assignments/province/-/power",
                              {"start_time": "01:00", "end_time": "02:00"}).status_code == 403


def test_notice_refusals_are_said_in_vietnamese_and_store_nothing(desk):
    """A notice text the fonts cannot draw, an empty notice and a slide with
    four languages: the reason in Vietnamese (not kiosk's English CLI advice),
    the languages named in words on the form, nothing stored."""
    central, p = desk
    ed = p["editor"]
    page = ed.text("/assignments/gate/gate-a")
    assert "Tiếng Khmer <textarea" in page and "km <textarea" not in page
    before = central.db.count("notice")
    for data, said in (
            ({"kind": "ticker", "text_vi": "Thông báo", "text_km": "សេចក្តី \U0001F600"},
             "phông chữ"),
            ({"kind": "ticker", "text_vi": "  "}, "ít nhất một ngôn ngữ"),
            ({"kind": "slide", "text_vi": "a", "text_zh": "口岸", "text_lo": "ດ່ານ",
              "text_en": "Gate"}, "nhiều nhất 3 ngôn ngữ")):
        r = ed.post("/assignments/gate/gate-a/notice", {**data, "level": "normal"})
        html = r.get_data(as_text=True)
        assert r.status_code == 400 and said in html, html[:2000]
        assert "cannot be shown" not in html and "--text-vi" not in html
    assert central.db.count("notice") == before
