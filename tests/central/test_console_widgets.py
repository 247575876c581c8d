"""The browser's own words in the console are the page's: in a chromium
whose locale is ENGLISH (en-US, where <input type=date> reads mm/dd/yyyy and
the file button says "Choose File"), an editor sees dd/mm/yyyy date fields,
a calendar in Vietnamese and the file button "Chọn tệp" / "Chưa chọn tệp";
dates typed as dd/mm/yyyy reach the store as the right day, an impossible
day (31/02/2026) is refused in Vietnamese with the field keeping what was
typed and nothing stored, and the login page switches language before
anyone signs in. Runs on both stores (the dates are stored through each).

Set WIDGET_SCREENSHOTS=DIR to keep the pictures (390 and 1280 px)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.central import LiveServer
from tests.central.test_console_flow import upload
from tests.support.browser import (DESKTOP, forms_fit_both_widths, keep_picture, refused_and_kept,
                                   switch_language_and_log_in)
from tests.support.console import PASSWORD, make_user
from tests.support.media import make_image

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def browser():
    from tests.support.browser import chromium

    with chromium() as b:
        yield b


@pytest.fixture
def desk(central):
    make_user(central.db, "bien-tap", "admin")
    central.gate("huu-nghi", faces=(1, 2), name="Cửa khẩu Hữu Nghị")
    server = LiveServer(central.settings)
    central.url = server.url
    central.zone = server.app.config["BABEL_DEFAULT_TIMEZONE"]  # the editor's days and times
    yield central
    server.close()


def _rows(db, table: str) -> list[dict]:
    from central import schema as t

    with db.transaction() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t.metadata.tables[table]))]


def test_dates_and_file_button_in_vietnamese_in_an_english_browser(desk, browser, tmp_path):
    url = desk.url
    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    page.set_default_timeout(30_000)
    assert page.evaluate("navigator.language") == "en-US"

    # The login page: Vietnamese, with the language switch before signing in.
    switch_language_and_log_in(page, url, "bien-tap", PASSWORD)

    # Library: the file button and the text slide's dates.
    page.goto(url + "/library/")
    assert page.locator("input[type=date], input[type=datetime-local]").count() == 0
    pick = page.locator("label.file-pick").first
    assert pick.locator(".file-button").inner_text() == "Chọn tệp"
    assert pick.locator(".file-name").inner_text() == "Chưa chọn tệp"
    field = page.locator("#date-valid_from")
    assert field.get_attribute("placeholder") == "dd/mm/yyyy"

    # The calendar beside the field, in Vietnamese, Monday first; a day picked is dd/mm/yyyy.
    page.click("#text-slide .date-field:has(#date-valid_until) button.date-open")
    calendar = page.locator("#text-slide .calendar")
    assert calendar.locator(".cal-head span").inner_text().startswith("Tháng ")
    assert calendar.locator(".cal-grid abbr").all_inner_texts() == ["T2", "T3", "T4", "T5", "T6", "T7", "CN"]
    keep_picture(page, "console-library-calendar-1280")
    page.keyboard.press("PageDown")  # next month, from the keyboard
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    page.keyboard.press("Enter")
    assert page.input_value("#date-valid_until") == focused
    assert calendar.count() == 0

    # The browser's own checks in the page's words (this chromium would say "Value must be ...").
    said = "el => { el.reportValidity(); return el.validationMessage; }"
    page.fill("input[name=duration_s]", "0")
    assert page.eval_on_selector("input[name=duration_s]", said) == "Hãy nhập một số từ 1 đến 3600."
    page.fill("input[name=duration_s]", "")
    assert page.eval_on_selector("input[name=duration_s]", "el => el.validationMessage") == ""
    assert page.eval_on_selector("#upload-file", said) == "Hãy chọn tệp trước."

    slides_before = len(_rows(desk.db, "media"))
    page.fill("input[name=title_vi]", "Giờ mở cửa mùa đông")
    field.fill("31/02/2026")
    page.fill("#date-valid_until", "")
    page.click("#text-slide button[type=submit]")
    error = page.locator("#text-slide .flash.error")
    assert "Không có ngày 31/02/2026: tháng 2/2026 chỉ có 28 ngày." in error.inner_text()
    assert page.input_value("#date-valid_from") == "31/02/2026"  # kept as typed
    assert page.input_value("input[name=title_vi]") == "Giờ mở cửa mùa đông"
    assert len(_rows(desk.db, "media")) == slides_before  # nothing stored

    page.fill("#date-valid_from", "01/12/2026")
    page.fill("#date-valid_until", "2027-01-15")  # ISO is read too
    page.click("#text-slide button[type=submit]")
    page.wait_for_url("**/library/*")
    slide = [m for m in _rows(desk.db, "media") if m["kind"] == "text"][0]
    assert (slide["valid_from"], slide["valid_until"]) == ("2026-12-01", "2027-01-15")
    # The media's own dates form shows them as dd/mm/yyyy.
    assert page.input_value("#dates-form #date-valid_from") == "01/12/2026"
    assert page.input_value("#dates-form #date-valid_until") == "15/01/2027"
    refused_and_kept(page, "#dates-form #date-valid_until", "30/02/2027",
                     "#dates-form button[type=submit]", "#dates-error", "Không có ngày 30/02/2027")
    assert [m for m in _rows(desk.db, "media") if m["kind"] == "text"][0]["valid_until"] == "2027-01-15"
    page.fill("#dates-form #date-valid_until", "28/02/2027")
    page.click("#dates-form button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert [m for m in _rows(desk.db, "media") if m["kind"] == "text"][0]["valid_until"] == "2027-02-28"

    # The upload: the chosen name beside the button, then the progress bar as before.
    picture = make_image(tmp_path / "ap-phich-cua-khau.png", (640, 360))
    page.goto(url + "/library/")
    page.set_input_files("#upload-file", str(picture))
    assert page.locator("#upload-file-name").inner_text() == "ap-phich-cua-khau.png"
    keep_picture(page, "console-library-file-chosen-1280")
    upload(page, url, picture)  # the progress bar fills as before (test_console_flow's check)

    # Assignments: a schedule entry's days and a notice's start and end.
    from central.library import approve_media, save_playlist

    sha = [m for m in _rows(desk.db, "media") if m["kind"] == "image"][0]["sha256"]
    approve_media(desk.db, sha, desk.approver)
    save_playlist(desk.db, "chao-mung", "Chào mừng", [(sha, 8.0)], by="bien-tap")
    page.goto(url + "/assignments/gate/huu-nghi")
    page.fill("#add-entry input[name=start_time]", "07:00")
    page.fill("#add-entry input[name=end_time]", "22:00")
    page.fill("#entry-start-date", "24/12/2026")
    page.fill("#entry-end-date", "2/1/2027")
    page.click("#add-entry > button")
    page.wait_for_selector(".flash.ok")
    entry = _rows(desk.db, "schedule_entry")[-1]
    assert (entry["start_date"], entry["end_date"]) == ("2026-12-24", "2027-01-02")

    page.fill("#add-notice textarea[name=text_vi]", "Cửa khẩu nghỉ Tết từ 18:30 ngày 25/12")
    page.fill("#notice-starts-at", "18:30 25/12/2099")
    refused_and_kept(page, "#notice-expires-at", "31/12/2099 25:00", "#add-notice > button",
                     ".flash.error", "không có giờ 25:00")
    assert _rows(desk.db, "notice") == []
    page.fill("#notice-expires-at", "31/12/2099 23:00")
    page.click("#add-notice > button")
    page.wait_for_selector(".flash.ok")
    from datetime import datetime
    from zoneinfo import ZoneInfo

    notice = _rows(desk.db, "notice")[-1]
    zone = ZoneInfo(desk.zone)

    def local(v):
        v = v if isinstance(v, datetime) else datetime.fromisoformat(str(v))
        return v.astimezone(zone).strftime("%H:%M %d/%m/%Y")

    assert local(notice["starts_at"]) == "18:30 25/12/2099"
    assert local(notice["expires_at"]) == "23:00 31/12/2099"

    # A filter form: the audit log by days typed as dd/mm/yyyy; a bad day said in words.
    page.goto(url + "/audit/?from=32/12/2026")
    assert "32/12/2026" in page.inner_text("#audit-error")
    assert page.input_value("#date-from") == "32/12/2026"

    # The Reports page's month: mm/yyyy (an English <input type=month> would say "November 2026").
    page.goto(url + "/reports/")
    refused_and_kept(page, "#month", "13/2026", "form.report-month > button", "#month-error",
                     "không có tháng 13")
    page.fill("#month", "10/2026")
    page.click("form.report-month > button")
    page.wait_for_url("**month=10%2F2026")
    assert page.input_value("#month") == "10/2026"
    assert page.get_attribute("#report-pdf", "href").endswith("/2026-10.pdf")

    # Phone and desktop: the forms fit, and the pictures are kept to look at.
    forms_fit_both_widths(page, url, {"/library/": "library", "/assignments/gate/huu-nghi": "assignments",
                                      "/fleet/huu-nghi": "fleet-gate", "/reports/": "reports"},
                          ("/library/", "date-valid_from"), "console")
    page.close()
