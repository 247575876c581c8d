"""Every console page fits a 390-pixel-wide phone without sideways scrolling,
with realistic content, served by `gatecast central serve` (gunicorn) and
looked at in Debian's chromium. One browser for the module.

Pages join by themselves: the test signs in as an admin (every right) and
visits every GET route of a console blueprint that takes no argument, every
nav entry, and every console link those pages show (a gate's page, a media
item's page ...). To give a new page realistic content, add it to `_seed`.

Set CONSOLE_SCREENSHOTS=DIR to keep a picture of every page at phone and
desktop width (for a person to look at)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.alerts import seed_alerts
from tests.support.central import make_central, served_central
from tests.support.console import browser_login, make_user
from tests.support.media import make_image, make_video

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
MAX_PAGES = 80
# Links that are not pages for a person (files) or that change something on GET.
NOT_PAGES = re.compile(r"^/(static|tuf|api|screenshots|healthz)/|/file$|/raw$|/preview\.png$"
                       r"|\.(pdf|xlsx|csv)$")


def _seed(central, tmp: Path) -> None:
    """A province's content desk after a busy week, through the library calls."""
    from central.fleet import add_gate, add_group
    from central.library import add_media, add_text, approve_media

    make_user(central.db, "chi", "admin")
    for name, role in (("nguyen-thi-minh-khai", "editor"), ("lan", "approver"),
                       ("tran-van-an-van-hanh", "operator")):
        make_user(central.db, name, role)
    for gate_id, name in (("huu-nghi", "Cửa khẩu quốc tế Hữu Nghị (Đồng Đăng, Cao Lộc)"),
                          ("tan-thanh", "Cửa khẩu Tân Thanh – Văn Lãng, Lạng Sơn")):
        add_gate(central.db, gate_id, name, "Lạng Sơn", (1, 2))
    add_group(central.db, "lang-son", "Các cửa khẩu tỉnh Lạng Sơn", ["huu-nghi", "tan-thanh"])
    image = add_media(central.db, central.state_dir, make_image(tmp / "a.png", (1920, 1080)),
                      "Áp phích chào mừng du khách qua cửa khẩu quốc tế Hữu Nghị 2026.png",
                      by="nguyen-thi-minh-khai")
    approve_media(central.db, image["sha256"], "lan")
    add_media(central.db, central.state_dir, make_video(tmp / "v.mp4", seconds=2),
              "Bản tin an toàn giao thông tháng mười một.mp4", by="nguyen-thi-minh-khai")
    add_text(central.db, central.state_dir,
             {"title": {"vi": "Thông báo", "zh": "通知"},
              "body": {"vi": "Cửa khẩu mở cửa từ 7 giờ đến 22 giờ hằng ngày, kể cả ngày lễ và Tết."}},
             "Giờ mở cửa (vi)", by="nguyen-thi-minh-khai")
    _seed_reports(central, image["sha256"])
    seed_alerts(central)
    _seed_assignments(central, image["sha256"])
    from tests.support.fleet import seed_fleet

    seed_fleet(central, tmp, "tran-van-an-van-hanh")


def _seed_assignments(central, sha: str) -> None:
    """Assignments from the province down to a gate, a conflict, media a
    publication leaves out (its dates start later), two publications waiting
    for approval with the same gate and an emergency in force (console-publish's
    pages)."""
    from datetime import date, timedelta

    from central import publication
    from central.assign import add_entry, add_notice, add_power_window, set_fallback
    from central.library import add_media, approve_media, save_playlist, set_media_dates
    from central.publish import media_day, publish, publish_emergency
    from kiosk.store import utcnow

    pid = save_playlist(central.db, "chao-mung", "Chào mừng du khách qua cửa khẩu quốc tế",
                        [(sha, 8.0)], by="nguyen-thi-minh-khai")
    set_fallback(central.db, "province", "", pid)
    add_power_window(central.db, "province", "", "05:30", "22:30")
    add_entry(central.db, "gate", "huu-nghi", pid, name="Cả ngày tại Hữu Nghị")
    add_entry(central.db, "group", "lang-son", pid, start_time="08:00", end_time="09:30",
              level="priority", weekdays=[0, 1, 2, 3, 4],
              name="Giờ cao điểm sáng thứ Hai đến thứ Sáu")
    tet = add_media(central.db, central.state_dir,
                    make_image(central.state_dir.parent / "tet.png", (1920, 1080), (30, 120, 200)),
                    "Chúc mừng năm mới Bính Ngọ.png", by="nguyen-thi-minh-khai")["sha256"]
    approve_media(central.db, tet, "lan")
    later = date.fromisoformat(media_day(utcnow())) + timedelta(days=30)
    set_media_dates(central.db, tet, "lan", later.isoformat(), None)
    tet_pid = save_playlist(central.db, "tet", "Đón Tết", [(sha, 8.0), (tet, 8.0)],
                            by="nguyen-thi-minh-khai")
    add_entry(central.db, "group", "lang-son", tet_pid, start_time="18:00", end_time="20:00",
              name="Buổi tối dịp Tết")
    publish(central.db, central.repo, by="lan")
    add_notice(central.db, "gate", "huu-nghi",
               {"vi": "Cửa khẩu mở cửa từ 7 giờ đến 22 giờ hằng ngày, kể cả ngày lễ và Tết",
                "zh": "口岸每天7点至22点开放", "en": "Open daily 7:00–22:00"}, faces=[2])
    publication.submit(central.db, central.repo, by="nguyen-thi-minh-khai",
                       gates=["huu-nghi"], note="Giờ mở cửa mới từ tháng Mười hai")
    add_power_window(central.db, "gate", "tan-thanh", "06:00", "23:00")
    publication.submit(central.db, central.repo, by="lan", groups=["lang-son"],
                       note="Giờ bật màn hình mới ở Tân Thanh")
    publish_emergency(central.db, central.repo, ["gate:tan-thanh"], by="tran-van-an-van-hanh",
                      reason="Lũ quét trên quốc lộ 4A, đường vào cửa khẩu bị ngập", minutes=120,
                      texts={"vi": "Tạm dừng thông quan do lũ quét", "zh": "因山洪暂停通关",
                             "en": "Crossing suspended: flash flood"})


def _seed_reports(central, sha: str) -> None:
    """Two days of plays and heartbeats, so the Reports page has figures and charts."""
    from datetime import timedelta

    from central.intake import record_heartbeat, record_proof_of_play
    from kiosk.store import iso, utcnow

    now = utcnow().replace(minute=0, second=0, microsecond=0)
    for n, gate_id in enumerate(("huu-nghi", "tan-thanh")):
        start = now - timedelta(hours=36)
        record_proof_of_play(central.db, gate_id, {"batch_id": None, "rows": [
            {"id": i, "installation": "seed", "face_id": 1 + i % 2, "media_sha256": sha,
             "entry_id": None, "level": "normal",
             "started_at": iso(start + timedelta(minutes=10 * i)),
             "ended_at": iso(start + timedelta(minutes=10 * i, seconds=30 + 20 * n)),
             "outcome": "completed"} for i in range(200)]})
        for k in range(0, 36 * 60, 30):
            at = start + timedelta(minutes=k)
            record_heartbeat(central.db, gate_id, {"sent_at": iso(at), "faces": [
                {"face_id": 1, "power": "on", "blanked": 0, "playing_sha256": sha},
                {"face_id": 2, "power": "off" if k % 600 < 120 else "on", "blanked": 0,
                 "playing_sha256": sha}]}, now=at, interval_s=1800)


@pytest.fixture(scope="module")
def browser():
    from tests.support.browser import chromium

    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("console")
    central = make_central(tmp / "central")
    try:
        _seed(central, tmp)
    finally:
        central.db.close()
    config = tmp / "central.toml"
    with served_central(central.state_dir, tmp / "serve.log", workers=1, threads=8,
                        config=config) as url:
        yield url


def _console_paths(page, url: str) -> list[str]:
    """The nav's pages, then every console link found on them (breadth first)."""
    todo = [urlsplit(a).path for a in page.eval_on_selector_all(
        "#console-nav a", "els => els.map(e => e.href)")] + ["/account/", "/publish/?show=1"]
    seen: list[str] = []
    while todo and len(seen) < MAX_PAGES:
        path = todo.pop(0)
        if path in seen or NOT_PAGES.search(path):
            continue
        seen.append(path)
        page.goto(url + path)
        # getAttribute, not .href: an SVG link's href is an object (the fleet map's gates).
        for href in page.eval_on_selector_all(
                "main a[href]", "els => els.map(e => new URL(e.getAttribute('href'), "
                "document.baseURI).href)"):
            parts = urlsplit(href)
            if parts.netloc == urlsplit(url).netloc and parts.path not in seen:
                todo.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return seen


def test_every_console_page_fits_a_phone(browser, console):
    shots = Path(os.environ["CONSOLE_SCREENSHOTS"]) if os.environ.get("CONSOLE_SCREENSHOTS") else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    desk = browser.new_page(viewport=DESKTOP)
    browser_login(desk, console)
    paths = _console_paths(desk, console)
    assert {"/", "/users/", "/account/"} <= set(paths), paths
    too_wide = {}
    for viewport, page in ((DESKTOP, desk), (PHONE, browser.new_page(viewport=PHONE))):
        if viewport is PHONE:
            browser_login(page, console)
        for path in paths:
            page.goto(console + path)
            assert page.locator("main h1").count() >= 1, path
            name = path.strip("/").replace("/", "-").replace("?", "-") or "home"
            if viewport is PHONE:
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > PHONE["width"]:
                    too_wide[path] = (width, page.evaluate("""(limit) =>
                        [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > limit + 1).slice(0, 5)
                        .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                             + (e.className ? '.' + String(e.className).split(' ')[0] : ''))""",
                                                        PHONE["width"]))
            if shots:
                kind = "phone" if viewport is PHONE else "desktop"
                page.screenshot(path=str(shots / f"{kind}-{name}.png"), full_page=True)
        page.close()
    assert too_wide == {}
    # The login page too, before anyone signs in.
    anon = browser.new_page(viewport=PHONE)
    anon.goto(console + "/login")
    assert anon.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if shots:
        anon.screenshot(path=str(shots / "phone-login.png"), full_page=True)
    anon.close()


def test_an_upload_shows_its_progress_and_lands_in_the_library(browser, console, tmp_path):
    """The Library's upload form in chromium: the shared script sends the file
    with the CSRF header and its name, the bar fills, the item appears; a file
    that is not media is refused in Vietnamese."""
    page = browser.new_page(viewport=PHONE)
    browser_login(page, console)
    page.goto(console + "/library/")
    bad = tmp_path / "khong-phai-anh.png"
    bad.write_bytes(b"<html>not a picture</html>")
    page.set_input_files("#upload-form input[type=file]", str(bad))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-status.error", timeout=60_000)
    assert "khong-phai-anh.png" in page.inner_text("#upload-status")
    assert "không phải" in page.inner_text("#upload-status")
    good = make_image(tmp_path / "Biển báo cửa khẩu.png", size=(640, 360), color=(0, 90, 200))
    page.set_input_files("#upload-form input[type=file]", str(good))
    page.select_option("#upload-form select[name=language]", "vi")  # for the reports
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-status.ok", timeout=60_000)
    assert page.evaluate("document.getElementById('upload-progress').value") == 100
    page.wait_for_selector("text=Biển báo cửa khẩu.png", timeout=60_000)  # after the reload
    # The chosen language is stored on the item: its line in the list says it.
    assert "Tiếng Việt" in page.inner_text("tr:has-text('Biển báo cửa khẩu.png')")
    # The same picture again: said in words with a link to it, no reload, nothing new.
    page.set_input_files("#upload-form input[type=file]", str(good))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-status.warning", timeout=60_000)
    assert "đã có trong thư viện" in page.inner_text("#upload-status")
    page.click("#upload-status a")
    page.wait_for_selector("h1:has-text('Biển báo cửa khẩu.png')", timeout=60_000)
    page.close()


def test_a_text_slide_is_made_on_a_phone_and_previewed(browser, console):
    """The Library's text slide form in chromium at 390 px: a refusal comes
    back on the form with what was typed; the slide made lands on its page,
    waiting for approval, its preview drawn at a face's resolution."""
    page = browser.new_page(viewport=PHONE)
    browser_login(page, console)
    page.goto(console + "/library/")
    form = "#text-slide form"
    page.fill(f"{form} input[name=title_vi]", "Giờ mở cửa khẩu")
    page.fill(f"{form} input[name=valid_from]", "2026-12-10")
    page.fill(f"{form} input[name=valid_until]", "2026-12-01")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector("#text-slide .flash.error", timeout=60_000)
    assert "01/12/2026" in page.inner_text("#text-slide .flash.error")  # as the fields show days
    assert page.input_value(f"{form} input[name=title_vi]") == "Giờ mở cửa khẩu"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shots = os.environ.get("CONSOLE_SCREENSHOTS")
    if shots:
        page.locator("#text-slide").screenshot(path=str(Path(shots) / "phone-text-form.png"))
    page.fill(f"{form} input[name=valid_until]", "2026-12-31")
    page.fill(f"{form} textarea[name=body_vi]", "Từ 7 giờ đến 22 giờ hằng ngày")
    page.click(f"{form} details:has(input[name=title_en]) summary")
    page.fill(f"{form} input[name=title_en]", "Gate opening hours")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector("#slide-preview", timeout=60_000)
    page.wait_for_function("document.getElementById('slide-preview').complete", timeout=60_000)
    assert page.evaluate("document.getElementById('slide-preview').naturalWidth") == 1920
    assert "chờ duyệt" in page.inner_text("main")
    if shots:
        page.screenshot(path=str(Path(shots) / "phone-text-slide.png"), full_page=True)
    page.close()
