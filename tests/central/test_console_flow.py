"""The content desk's main flow in Debian's chromium, every part real: an
editor makes a playlist and assigns it (Assignments page) and sends the gate
for approval (Publish page); another person approves it; the gate's real
sync verifies and activates the release and its real player (mpv, headless)
shows it. Then, while another gate has an editor's unapproved work, an
operator publishes an emergency to the first gate (Emergency page) and its
player shows it; the other gate's release does not move. One browser for
the module; SQLite (the stores are covered by the other central tests)."""

from __future__ import annotations

import json

import pytest

from central.library import add_media, approve_media
from central.publish import current_release
from kiosk.store import open_db
from kiosk.text.plugin import TextPlugin

from tests.support.central import LiveServer, make_central
from tests.support.console import PASSWORD, make_user
from tests.support.media import make_image
from tests.support.player import gate_settings, running_player
from tests.support.sync.gate import running_sync
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow
GATE = "huu-nghi"


@pytest.fixture(scope="module")
def browser():
    from tests.support.browser import chromium

    with chromium() as b:
        yield b


@pytest.fixture
def desk(tmp_path, monkeypatch):
    from kiosk.web import accounts

    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
    c = make_central(tmp_path / "central")
    server = LiveServer(c.settings)
    c.url = server.url
    for name, role in (("bien-tap", "editor"), ("duyet", "approver"), ("truc", "operator")):
        make_user(c.db, name, role)
    yield c
    server.close()
    c.db.close()


@pytest.fixture
def gate(tmp_path, desk):
    """gate `huu-nghi` installed for the desk's central: pinned root, token, settings."""
    token = desk.gate(GATE, faces=(1,), name="Cửa khẩu Hữu Nghị")
    desk.gate("tan-thanh", faces=(1,), name="Cửa khẩu Tân Thanh")
    root = tmp_path / "root.json"
    root.write_bytes(desk.repo.trusted_root_path.read_bytes())
    (tmp_path / "gate-token").write_text(token + "\n")
    state = tmp_path / "gate"
    state.mkdir()
    return gate_settings(
        state, gate_id=GATE, central_url=desk.url, sync_root_file=str(root),
        sync_token_file=str(tmp_path / "gate-token"), sync_clock="always",
        sync_interval_s=3600, sync_heartbeat_interval_s=1, sync_longpoll_s=3,
        sync_disk_reserve_mb=0, sync_screenshot_interval_s=0)


def login(browser, url, name):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    return page


def face(db) -> dict:
    row = db.execute("SELECT level, entry_id, playing_sha256 FROM face_state "
                     "WHERE face_id = 1").fetchone()
    return {"level": row[0], "entry_id": row[1], "sha": row[2]} if row else {}


def test_editor_assigns_approver_publishes_gate_shows_it_then_an_emergency(
        browser, desk, gate, tmp_path):
    url = desk.url
    # The Library page (upload, approve) is console-core's: its library calls here.
    red = add_media(desk.db, desk.state_dir, make_image(tmp_path / "red.png", color=(220, 20, 20)),
                    "Áp phích chào mừng.png", by="bien-tap")["sha256"]
    approve_media(desk.db, red, "duyet")

    editor = login(browser, url, "bien-tap")
    editor.goto(url + "/assignments/")
    editor.fill("#add-playlist input[name=name]", "Chào mừng")
    editor.check(f"#add-playlist input[value='{red}:image']")
    editor.fill("#add-playlist input[name=seconds]", "3")
    editor.click("#add-playlist button")
    editor.wait_for_selector("text=Đã lưu danh sách phát Chào mừng")
    editor.click(f"#target-gate-{GATE}")
    editor.select_option("#add-entry select[name=playlist]", label="Chào mừng")
    editor.fill("#add-entry input[name=name]", "Cả ngày")
    editor.fill("#add-entry input[name=start_time]", "00:00")
    editor.fill("#add-entry input[name=end_time]", "24:00")
    editor.click("#add-entry button")
    editor.wait_for_selector("text=Đã lưu")
    assert "Cả ngày" in editor.inner_text("#applies")

    editor.goto(url + "/publish/")
    editor.check(f"#scope-{GATE}")
    editor.click("#show-preview")
    assert "+ Chào mừng: Áp phích chào mừng.png" in editor.inner_text(f"#preview-{GATE}")
    editor.click("#submit")
    editor.wait_for_selector("text=Đã gửi duyệt")
    assert current_release(desk.db, GATE) is None  # nothing published before approval

    approver = login(browser, url, "duyet")
    approver.goto(url + "/publish/")
    approver.click("[id^=approve-]")
    approver.wait_for_selector("text=Đã xuất bản")
    version = current_release(desk.db, GATE)["version"]

    db = open_db(gate.db_path)
    try:
        with running_sync(gate), running_player(gate, plugins=[TextPlugin]):
            wait_for(lambda: face(db).get("sha") == red, timeout=90,
                     what="the approved image on the gate's face")

            # gate tan-thanh gets an editor's unapproved work, not published.
            draft = add_media(desk.db, desk.state_dir,
                              make_image(tmp_path / "draft.png", color=(0, 120, 0)),
                              "Bản nháp.png", by="bien-tap")["sha256"]
            from central.assign import add_entry
            from central.library import save_playlist

            add_entry(desk.db, "gate", "tan-thanh",
                      save_playlist(desk.db, "nhap", "Nháp", [(draft, 3.0)], by="bien-tap"),
                      by="bien-tap")
            other_before = current_release(desk.db, "tan-thanh")

            operator = login(browser, url, "truc")
            operator.goto(url + "/emergency/")
            operator.fill("#text-vi", "Tạm dừng thông quan")
            operator.fill("#text-zh", "暂停通关")
            operator.check(f"#target-{GATE}")
            operator.fill("#reason", "Lũ quét trên quốc lộ 1A")
            operator.on("dialog", lambda d: d.accept())
            operator.click("#publish")
            operator.wait_for_selector("#live-emergencies")
            wait_for(lambda: face(db).get("level") == "emergency", timeout=60,
                     what="the emergency slide on the gate's face")
            assert face(db)["entry_id"].startswith("notice:c-em-")
    finally:
        db.close()
    assert current_release(desk.db, GATE)["version"] > version
    assert current_release(desk.db, "tan-thanh") == other_before
    doc = json.loads(current_release(desk.db, GATE)["document"])
    assert draft not in {m["sha256"] for m in doc["media"]}
