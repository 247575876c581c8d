"""The details a technician notices (issue 15's bug list): each one set up as
it was seen, then checked on the page the technician reads."""

from __future__ import annotations

import json
import re

from tests.support.admin import csrf_from
from kiosk.store import iso, set_state, utcnow


def _text(html: str) -> str:
    """A page's visible text, tags dropped and spaces squeezed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _face_card(html: str, face: int) -> str:
    start = html.index(f'id="face-{face}"')
    return html[start:html.index("</article>", start)]


def test_slide_notice_is_named_by_its_text_on_the_dashboard(client, auth, accounts, db):
    db["notice"].insert({"id": "a11e6b35b356", "kind": "slide", "level": "emergency",
                         "texts": json.dumps({"vi": "Cửa khẩu tạm đóng do mưa lũ"}),
                         "created_at": iso(utcnow())})
    db["face_state"].insert({"face_id": 1, "power": "on", "blanked": 0, "level": "emergency",
                             "entry_id": "notice:a11e6b35b356", "playing_name": "notice a11e6b35b356",
                             "playing_kind": "text", "since": iso(utcnow()), "updated_at": iso(utcnow())})
    auth.login("view")
    card = _text(_face_card(client.get("/").get_data(as_text=True), 1))
    assert "Cửa khẩu tạm đóng do mưa lũ" in card and "a11e6b35b356" not in card
    assert client.get("/dashboard.json").json["faces"][0]["playing"]["name"] == "Cửa khẩu tạm đóng do mưa lũ"


def test_switched_off_face_says_off_once_and_no_error_is_not_red(client, auth, accounts, db):
    db["media"].insert({"sha256": "a" * 64, "kind": "image", "name": "a.png", "format": "png",
                        "size": 10, "source": "local", "created_at": iso(utcnow())})
    db["playlist"].insert({"id": "p1", "name": "Sáng", "source": "local"})
    db["playlist_item"].insert({"playlist_id": "p1", "position": 0, "media_sha256": "a" * 64,
                                "duration_s": 5})
    db["schedule_entry"].insert({"id": "e1", "name": "Giờ làm việc", "playlist_id": "p1", "faces": "[1]",
                                 "weekdays": "[0,1,2,3,4,5,6]", "start_time": "00:00", "end_time": "00:00",
                                 "level": "normal", "enabled": 1, "source": "local"})
    db["face_state"].insert({"face_id": 1, "power": "off", "blanked": 0, "level": "none",
                             "since": iso(utcnow()), "updated_at": iso(utcnow())})
    auth.login("view")
    auth.post("/language", {"lang": "en"})
    card = _face_card(client.get("/").get_data(as_text=True), 1)
    text = _text(card)
    assert "switched off" in text and "nothing scheduled" not in text
    assert "Giờ làm việc" in text and "shown once the face is on again" in text
    # "Last error: none", and not in red.
    last_error = re.search(r'<dd data-field="last_error_text"[^>]*>([^<]*)</dd>', card)
    assert last_error and last_error.group(1) == "none" and "error-text" not in last_error.group(0)
    face = client.get("/dashboard.json").json["faces"][0]
    assert face["level"] == "off" and face["dark"] == "off"


def test_uptime_and_sizes_are_readable(client, auth, accounts, db):
    set_state(db, "health", {"disk": {"free_mb": 0.3, "total_mb": 30000},
                             "memory": {"available_mb": 900, "total_mb": 3900}, "uptime_s": 4000})
    auth.login("view")
    auth.post("/language", {"lang": "vi"})
    page = _text(client.get("/").get_data(as_text=True))
    assert "1 giờ 6 phút" in page
    assert "0.0 days" not in page and "0.0 MB" not in page and "0,0" not in page
    assert "307 KB / 29,3 GB" in page  # vi decimal comma; 0.3 MB is 307 KB


def test_central_media_has_no_none_format(client, auth, accounts, db):
    db["media"].insert({"sha256": "b" * 64, "kind": "video", "name": "Bản tin tỉnh", "format": None,
                        "size": 350_000, "source": "central", "created_at": iso(utcnow())})
    auth.login("view")
    page = _text(client.get("/media/").get_data(as_text=True))
    assert "(None)" not in page and "None" not in page
    assert "Bản tin tỉnh" in page and "342 KB" in page


def test_overlaps_respect_date_ranges(client, auth, accounts, db):
    db["playlist"].insert({"id": "p1", "name": "Sáng", "source": "local"})
    every_day = {"weekdays": "[0,1,2,3,4,5,6]", "playlist_id": "p1", "faces": "[1]", "enabled": 1,
                 "source": "local"}
    db["schedule_entry"].insert({"id": "n", "name": "Y", "start_time": "08:00", "end_time": "17:00",
                                 "level": "normal", **every_day})
    # One day only: Tuesday 2026-12-01.
    db["schedule_entry"].insert({"id": "p", "name": "X", "start_time": "09:00", "end_time": "10:00",
                                 "level": "priority", "start_date": "2026-12-01", "end_date": "2026-12-01",
                                 **every_day})
    auth.login("view")
    auth.post("/language", {"lang": "en"})
    texts = [c["text"] for c in client.get("/api/v1/schedule").json["conflicts"]]
    assert texts == ["On face 1, Tuesday 01/12/2026 09:00–10:00, priority entry X hides normal entry Y."]


def test_favicon_and_the_forgotten_password_hint(client, app):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page = client.get("/login")
    assert page.status_code in (200, 302)


def test_login_hint_names_reset_password(client, auth, accounts):
    html = client.get("/login").get_data(as_text=True)
    assert "--reset-password" in html and "create-user" in html


def test_refused_schedule_entry_keeps_what_was_typed(client, auth, accounts, db):
    db["playlist"].insert({"id": "p1", "name": "Sáng", "source": "local"})
    auth.login("op")
    auth.post("/language", {"lang": "vi"})
    token = auth.csrf("/schedule")
    form = {"name": "Giờ cao điểm", "playlist_id": "p1", "faces": ["2"], "weekdays": ["1", "3"],
            "start_time": "25:00", "end_time": "18:30", "start_date": "2026-12-01",
            "end_date": "2026-12-31", "level": "priority", "enabled": "1", "csrf_token": token}
    resp = client.post("/schedule", data=form)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert db.execute("SELECT COUNT(*) FROM schedule_entry").fetchone()[0] == 0
    form_html = html[html.index('id="entry-form"'):]
    assert 'value="Giờ cao điểm"' in form_html and 'value="18:30"' in form_html
    # A date typed as ISO comes back as the field shows dates: dd/mm/yyyy.
    assert 'value="25:00"' in form_html and 'value="31/12/2026"' in form_html
    assert re.search(r'value="2" id="entry-face-2" checked', form_html)
    assert not re.search(r'value="1" id="entry-face-1" checked', form_html)
    assert re.search(r'value="priority" selected', form_html)
    weekdays = re.findall(r'name="weekdays" value="(\d)" checked', form_html)
    assert weekdays == ["1", "3"]
    # The error sits beside the start time, in Vietnamese.
    err = re.search(r'name="start_time"[^>]*>\s*<span class="field-error"[^>]*>([^<]+)<', form_html)
    assert err and "không phải giờ" in err.group(1)


def test_refused_notice_keeps_what_was_typed(client, auth, accounts, db):
    auth.login("op")
    auth.post("/language", {"lang": "en"})
    token = auth.csrf("/notices/")
    resp = client.post("/notices/", data={
        "text_vi": "Cửa khẩu đóng lúc 17:00", "text_en": "Gate closes at 17:00", "third_lang": "zh",
        "text_third": "口岸17:00关闭", "kind": "slide", "level": "priority", "faces": ["2"],
        "expires_at": "2001-01-01T00:00", "csrf_token": token})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Cửa khẩu đóng lúc 17:00</textarea>" in html and "口岸17:00关闭</textarea>" in html
    assert re.search(r'value="zh" selected', html) and re.search(r'value="slide" selected', html)
    assert re.search(r'name="expires_at"[^>]*value="00:00 01/01/2001"[^>]*>\s*<span class="field-error"', html)
    assert "Text in the third language" in html  # the third box has its own label


def test_power_page_columns_agree_and_empty_windows_look_empty(client, auth, accounts, db):
    auth.login("op")
    auth.post("/language", {"lang": "en"})
    html = client.get("/power/").get_data(as_text=True)
    row = _text(html[html.index('id="power-face-1"'):html.index("</tr>", html.index('id="power-face-1"'))])
    assert "no relay" in row and "always powered (no relay)" in row
    assert "No power window: this face is always on." in html
    windows = html[html.index('action="/power/windows/1"'):html.index("</form>", html.index('action="/power/windows/1"'))]
    assert "placeholder" not in windows and "checked" not in windows
    # A filled row with no day ticked means every day, as the page says.
    token = csrf_from(html)
    resp = client.post("/power/windows/1", data={"rows": "2", "start_0": "05:30", "end_0": "22:00",
                                                  "csrf_token": token})
    assert resp.status_code == 302
    saved = client.get("/api/v1/power").json["faces"][0]["windows"]
    assert [(w["start"], w["end"], w["weekdays"]) for w in saved] == [("05:30", "22:00", list(range(7)))]
