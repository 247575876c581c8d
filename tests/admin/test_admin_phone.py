"""Every page of the admin fits a 390-pixel-wide phone without sideways
scrolling, with realistic content (long Vietnamese names, several schedule
entries, power windows, notices, logs), served by the installed `gatecast
admin` (gunicorn) and looked at in chromium.

Set ADMIN_SCREENSHOTS=DIR to keep a picture of every page at phone and
desktop width (for a person to look at)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support.admin import GATECAST, clean_env, start_process, stop_process
from tests.support.browser import chromium, keep_picture
from tests.support.media import make_image, make_video
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow

PASSWORD = "phone-test-password"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Pages that are not HTML for a person (files, JSON, CSV) or only answer a POST.
NOT_PAGES = {"static", "health.health", "health.favicon", "dashboard.status_json",
             "dashboard.screenshot", "media.file", "logs.proof_of_play_csv", "auth.setup",
             "faces.player_status"}


def _seed(state: Path, config: Path, tmp: Path) -> dict:
    """A gate with content, as a technician's week leaves it, through the admin's services."""
    from admin.services import Actor
    from admin.services import media as media_service
    from admin.services import notices as notice_service
    from admin.services import power as power_service
    from admin.services import schedule as schedule_service
    from admin.services import users
    from kiosk.mediastore import MediaStore
    from kiosk.power import service as power
    from kiosk.settings import load_settings, with_database
    from kiosk.store import iso, log_event, open_db, utcnow

    db = open_db(state / "gatecast.db")
    settings = with_database(load_settings(config_file=config, state_dir=state, env={}), db)
    chief = Actor("chief", "admin", "127.0.0.1")
    users.create_user(db, "chief", PASSWORD, "admin", None, "vi")
    store = MediaStore(settings.media_dir)
    image = media_service.upload(db, settings, store, [make_image(tmp / "a.png", (1920, 1080)).read_bytes()],
                                 "Áp phích chào mừng du khách qua cửa khẩu quốc tế Hữu Nghị 2026.png", chief)
    video = media_service.upload(db, settings, store, [make_video(tmp / "v.mp4", seconds=2).read_bytes()],
                                 "Bản tin an toàn giao thông tháng mười một.mp4", chief)
    playlist = schedule_service.save_playlist(db, chief, None, "Chương trình buổi sáng ngày thường", [
        {"media_sha256": image["sha256"], "duration_s": 8}, {"media_sha256": video["sha256"]}])
    entry = schedule_service.save_entry(db, settings, chief, None, {
        "name": "Giờ làm việc hành chính", "playlist_id": playlist["id"], "faces": [1, 2],
        "weekdays": [0, 1, 2, 3, 4], "start_time": "07:30", "end_time": "17:00", "level": "normal"})
    schedule_service.save_entry(db, settings, chief, None, {
        "name": "Thông báo ưu tiên buổi trưa", "playlist_id": playlist["id"], "faces": [2],
        "weekdays": [1], "start_time": "11:00", "end_time": "13:30", "level": "priority",
        "start_date": "2026-12-01", "end_date": "2026-12-31"})
    notice_service.create(db, settings, chief, {
        "texts": {"vi": "Cửa khẩu tạm dừng thông quan từ 17:00 do mưa lũ kéo dài", "en": "Clearance "
                  "suspended from 17:00 because of floods"}, "kind": "ticker", "level": "priority",
        "faces": [], "expires_at": "2099-01-01T08:00"})
    power_service.set_windows(db, settings, chief, 1, [{"start": "05:30", "end": "22:30",
                                                         "weekdays": [0, 1, 2, 3, 4, 5, 6]}])
    power_service.switch(db, settings, chief, 2, "off", "2h", "bảo trì màn hình LED phía Trung Quốc")
    power.blank_on(db, "chief", "kiểm tra hệ thống điện của cụm màn hình", power_off=False)
    power.blank_off(db, "chief")
    log_event(db, "sync", "warning", "sync_network", "network: HTTPSConnectionPool(host='cms.sotttt."
              "example.vn', port=443): Max retries exceeded with url: /metadata/timestamp.json",
              detail={})
    now = iso(utcnow())
    db["proof_of_play"].insert_all([{
        "face_id": 1 + i % 2, "media_sha256": image["sha256"], "media_name": image["name"],
        "entry_id": entry["id"], "level": "normal", "started_at": now, "ended_at": now,
        "outcome": "preempted" if i % 3 else "completed", "reason": "preempted: dark: blanked" if i % 3 else None,
    } for i in range(6)])
    db.close()
    return {"media": image["sha256"], "playlist": playlist["id"], "entry": entry["id"]}


@pytest.fixture(scope="module")
def browser():
    """One chromium for the module's tests."""
    with chromium() as b:
        yield b


@pytest.fixture
def admin(tmp_path):
    state = tmp_path / "state"
    config = tmp_path / "gatecast.toml"
    config.write_text(
        'gate_name = "Cửa khẩu quốc tế Hữu Nghị (Lạng Sơn)"\n'
        '[[outputs]]\nname = "main"\nconnector = "HDMI-A-1"\nwidth = 1920\nheight = 1080\n'
        '[[faces]]\nid = 1\nname = "Mặt hướng Việt Nam"\noutput = "main"\nrelay_pin = 17\n'
        '[[faces]]\nid = 2\nname = "Mặt hướng Trung Quốc"\noutput = "main"\nrelay_pin = 27\n'
        'relay_active_high = true\n')
    common = ["--state", str(state), "--config", str(config)]
    env = clean_env()
    import subprocess

    subprocess.run([GATECAST, "migrate", *common], env=env, check=True, capture_output=True)
    ids = _seed(state, config, tmp_path)
    log = tmp_path / "admin.log"
    proc = start_process([GATECAST, "admin", *common, "--bind", "127.0.0.1:0", "--workers", "1"], env, log)
    try:
        port = wait_for(lambda: re.findall(rb"Listening at: http://127\.0\.0\.1:(\d+)", log.read_bytes()),
                        60, "gunicorn to listen")[0].decode()
        yield {"url": f"http://127.0.0.1:{port}", "ids": ids, "state": state, "config": config}
    finally:
        stop_process(proc)


def _pages(ids: dict) -> dict[str, str]:
    return {
        "dashboard.index": "/", "power.index": "/power/", "media.index": "/media/",
        "media.show": f"/media/{ids['media']}", "schedule.playlists": "/playlists",
        "schedule.playlist": f"/playlists/{ids['playlist']}", "schedule.entries": "/schedule",
        "schedule.entry": f"/schedule/{ids['entry']}", "schedule.week": "/week",
        "notices.index": "/notices/", "logs.proof_of_play": "/logs/", "logs.events": "/logs/events",
        "logs.audit_log": "/logs/audit", "config.index": "/settings/", "auth.users": "/users",
        "auth.account": "/account", "faces.index": "/faces/",
    }


def test_every_page_fits_a_phone(admin, browser):
    from admin import create_app

    app = create_app({"STATE_DIR": str(admin["state"]), "CONFIG_FILE": str(admin["config"])})
    page_endpoints = {r.endpoint for r in app.url_map.iter_rules()
                      if "GET" in r.methods and r.endpoint not in NOT_PAGES
                      and not r.endpoint.startswith("api.")}
    pages = {e: p for e, p in _pages(admin["ids"]).items() if e in app.view_functions}
    assert sorted(page_endpoints - set(pages) - {"auth.login"}) == []  # a new page is checked too

    shots = Path(os.environ["ADMIN_SCREENSHOTS"]) if os.environ.get("ADMIN_SCREENSHOTS") else None
    too_wide = {}
    for viewport in (PHONE, DESKTOP):
        page = browser.new_page(viewport=viewport, locale="vi-VN")
        page.set_default_timeout(30_000)
        page.goto(admin["url"] + "/login")
        if viewport is PHONE:
            _check_width(page, "login", too_wide, shots)
        page.fill("input[name=username]", "chief")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(admin["url"] + "/")
        for endpoint, path in pages.items():
            page.goto(admin["url"] + path)
            assert page.locator("main h1").count() >= 1, path
            if viewport is PHONE:
                _check_width(page, endpoint, too_wide, shots)
            elif shots:
                page.screenshot(path=str(shots / f"desktop-{endpoint}.png"), full_page=True)
        page.close()
    assert too_wide == {}


def _check_width(page, name: str, too_wide: dict, shots: Path | None) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        # Name the widest elements, so the failure says what to fix.
        culprits = page.evaluate("""(limit) => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > limit + 1)
            .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                             + (e.className ? '.' + String(e.className).split(' ')[0] : ''))""",
                                 PHONE["width"])
        too_wide[name] = (width, culprits)
    if shots:
        page.screenshot(path=str(shots / f"phone-{name}.png"), full_page=True)


# Shows the dashboard with N face cards (copies of the first one: the cards'
# layout is the CSS's, whatever the gate's configuration holds).
_SET_FACES = """(n) => {
    const section = document.querySelector('section.faces');
    window.faceCard = window.faceCard || section.querySelector('article.face').cloneNode(true);
    section.replaceChildren(...Array.from({length: n}, (_, i) => {
        const card = window.faceCard.cloneNode(true);
        card.removeAttribute('id');
        card.querySelector('h2').textContent += ' #' + (i + 1);
        return card;
    }));
}"""
# Every word of the face cards' values laid out on one line (one line box for
# its Range), and no value wider than its box: the words that break.
_BROKEN_WORDS = """() => {
    const broken = [];
    for (const dd of document.querySelectorAll('section.faces dd')) {
        if (dd.scrollWidth > dd.clientWidth + 1) broken.push(['too wide', dd.textContent.trim()]);
        const walker = document.createTreeWalker(dd, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const m of node.data.matchAll(/\\S+/g)) {
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                if (tops.size > 1) broken.push([m[0], dd.textContent.trim()]);
            }
        }
    }
    return broken;
}"""


def test_face_cards_break_values_only_between_words(admin, browser):
    """The dashboard's face cards (player not running: "không rõ", "không có
    lịch") keep each word on one line, with 1 to 4 faces, at phone and desktop
    width, in Vietnamese and in English."""
    broken = {}
    for viewport in (DESKTOP, PHONE):
        page = browser.new_page(viewport=viewport, locale="vi-VN")
        page.set_default_timeout(30_000)
        page.goto(admin["url"] + "/login")
        page.fill("input[name=username]", "chief")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(admin["url"] + "/")
        for language in ("vi", "en"):
            page.click(f"#lang-{language}")  # the account keeps the choice: set it each time
            page.wait_for_selector(f"html[lang={language}]")
            for faces in (1, 2, 3, 4):
                page.evaluate(_SET_FACES, faces)
                found = page.evaluate(_BROKEN_WORDS)
                if found:
                    broken[(viewport["width"], language, faces)] = found
            keep_picture(page, f"faces-{language}-{viewport['width']}")
        page.close()
    assert broken == {}
