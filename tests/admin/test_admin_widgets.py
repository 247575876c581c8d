"""The browser's own words in the gate admin are the page's: in a chromium
whose locale is ENGLISH (en-US, where <input type=date> reads mm/dd/yyyy and
the file button says "Choose File"), a technician sees dd/mm/yyyy date
fields with a Vietnamese calendar and the file button "Chọn tệp" /
"Chưa chọn tệp"; a schedule entry's days typed as dd/mm/yyyy reach the
store as the right days, a notice's expiry typed as "HH:mm dd/mm/yyyy" is
the gate's local time, an impossible day (31/02/2026) is refused in
Vietnamese beside its field with what was typed kept and nothing stored, and
the login page switches language before anyone signs in. Served by the
installed `gatecast admin` (gunicorn), seeded as tests/admin/test_admin_phone
seeds it.

Set WIDGET_SCREENSHOTS=DIR to keep the pictures (390 and 1280 px)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.admin.test_admin_phone import PASSWORD, admin  # noqa: F401 (the served, seeded gate)
from tests.support.browser import (DESKTOP, PHONE, assert_fits, forms_fit_both_widths, keep_picture,
                                   refused_and_kept, switch_language_and_log_in)
from tests.support.media import make_image

pytestmark = pytest.mark.slow

def _query(admin, sql: str) -> list:
    from kiosk.store import connect

    db = connect(admin["state"] / "gatecast.db")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_dates_and_file_button_in_vietnamese_in_an_english_browser(admin, browser, tmp_path):  # noqa: F811
    url = admin["url"]
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    page.set_default_timeout(30_000)
    assert page.evaluate("navigator.language") == "en-US"

    # The login page switches language before anyone signs in, and keeps it through the login.
    switch_language_and_log_in(page, url, "chief", PASSWORD)

    # A schedule entry: an impossible day is refused beside its field, nothing stored.
    entries = len(_query(admin, "SELECT id FROM schedule_entry"))
    page.goto(url + "/schedule")
    assert page.locator("input[type=date], input[type=datetime-local]").count() == 0
    assert page.get_attribute("#date-start_date", "placeholder") == "dd/mm/yyyy"
    page.fill("#entry-form input[name=name]", "Lễ hội cuối năm")
    page.fill("#entry-form input[name=start_time]", "07:00")
    page.fill("#entry-form input[name=end_time]", "21:00")
    page.check("#entry-face-1")
    page.fill("#date-end_date", "20/12/2026")
    refused_and_kept(page, "#date-start_date", "31/02/2026", "#save-entry", "#error-start_date",
                     "Không có ngày 31/02/2026: tháng 2/2026 chỉ có 28 ngày.")
    assert page.input_value("#entry-form input[name=name]") == "Lễ hội cuối năm"
    assert len(_query(admin, "SELECT id FROM schedule_entry")) == entries

    # The calendar: Vietnamese month and weekdays, Monday first; a click writes dd/mm/yyyy.
    page.fill("#date-start_date", "15/12/2026")
    page.click(".date-field:has(#date-start_date) button.date-open")
    calendar = page.locator("#entry-form .calendar")
    assert calendar.locator(".cal-head span").inner_text() == "Tháng 12 2026"
    assert calendar.locator(".cal-grid abbr").all_inner_texts() == ["T2", "T3", "T4", "T5", "T6", "T7", "CN"]
    assert calendar.locator("button[aria-selected=true]").inner_text() == "15"
    keep_picture(page, "admin-schedule-calendar-1280")
    page.click("#entry-form .calendar button[aria-label='16/12/2026']")
    assert page.input_value("#date-start_date") == "16/12/2026"
    page.click("#save-entry")
    page.wait_for_selector(".flash.ok")
    row = _query(admin, "SELECT start_date, end_date FROM schedule_entry WHERE name = 'Lễ hội cuối năm'")
    assert [tuple(r) for r in row] == [("2026-12-16", "2026-12-20")]

    # A notice's expiry: "HH:mm dd/mm/yyyy" in the gate's zone.
    page.goto(url + "/notices/")
    page.fill("#notice-form textarea[name=text_vi]",
              "Cửa khẩu nghỉ Tết")
    refused_and_kept(page, "#datetime-expires_at", "30/02/2099 18:30", "#notice-form > button",
                     "#error-expires_at", "Không có ngày 30/02/2099")
    page.fill("#datetime-expires_at", "18:30 25/12/2099")
    page.click("#notice-form > button")
    page.wait_for_selector(".flash.ok")
    stored = _query(admin, "SELECT expires_at FROM notice WHERE texts LIKE '%nghỉ Tết%'")[0][0]
    zone = ZoneInfo("Asia/Ho_Chi_Minh")  # the gate's zone (gatecast's default)
    assert datetime.fromisoformat(stored).astimezone(zone).strftime("%H:%M %d/%m/%Y") == "18:30 25/12/2099"

    # Filter forms: proof of play and the week read dd/mm/yyyy; a bad day is said beside the field.
    page.goto(url + "/logs/?from=31/04/2026")
    assert "Không có ngày 31/04/2026" in page.inner_text("#error-from")
    assert page.input_value("#date-from") == "31/04/2026"
    page.goto(url + "/week?monday=16/12/2026")
    assert "14/12/2026" in page.inner_text("main h1")

    # The file button: its words, the chosen name, a focus ring from the keyboard, the upload.
    page.goto(url + "/media/")
    assert page.inner_text("label.file-pick .file-button") == "Chọn tệp"
    assert page.inner_text("#upload-file-name") == "Chưa chọn tệp"
    page.focus("#upload-file")
    ring = page.evaluate("getComputedStyle(document.querySelector('.file-button')).outlineStyle")
    assert ring == "solid"
    picture = make_image(tmp_path / "bien-bao-lan-duong.png", (640, 360))
    page.set_input_files("#upload-file", str(picture))
    assert page.inner_text("#upload-file-name") == "bien-bao-lan-duong.png"
    keep_picture(page, "admin-media-file-chosen-1280")
    page.click("#upload-button")
    page.wait_for_selector("#upload-status.ok", timeout=60_000)

    # Phone and desktop: the forms fit, the calendar stays on the screen.
    forms_fit_both_widths(page, url, {"/schedule": "schedule", "/media/": "media", "/notices/": "notices",
                                      "/logs/": "logs", "/week": "week"},
                          ("/schedule", "date-end_date"), "admin")
    page.close()
    # Without JavaScript: the same fields, typed; the file button still says whether a file is chosen.
    bare = browser.new_context(locale="en-US", viewport=DESKTOP, java_script_enabled=False)
    page = bare.new_page()
    page.set_default_timeout(30_000)
    page.goto(url + "/login")
    page.fill("input[name=username]", "chief")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    page.goto(url + "/schedule")
    assert page.locator("button.date-open").count() == 0  # no calendar: the script adds it
    page.fill("#entry-form input[name=name]", "Không có JavaScript")
    page.check("#entry-face-2")
    page.fill("#date-start_date", "1/3/2027")
    page.fill("#date-end_date", "2027-03-31")
    page.click("#save-entry")
    page.wait_for_selector(".flash.ok")
    row = _query(admin, "SELECT start_date, end_date FROM schedule_entry WHERE name = 'Không có JavaScript'")
    assert [tuple(r) for r in row] == [("2027-03-01", "2027-03-31")]
    page.goto(url + "/media/")
    assert page.inner_text("#upload-file-name") == "Chưa chọn tệp"
    page.set_input_files("#upload-file", str(picture))
    assert page.inner_text("#upload-file-name") == "Đã chọn tệp"
    bare.close()

    anon = browser.new_page(locale="en-US", viewport=PHONE)
    anon.goto(url + "/login")
    anon.click("button[type=submit]")  # nothing typed: the page's words, not "Please fill out this field."
    assert anon.eval_on_selector("input[name=username]", "el => el.validationMessage") == "Hãy điền vào ô này."
    assert_fits(anon)
    keep_picture(anon, "admin-login-390")
    anon.close()
