"""The content desk's main flow in Debian's chromium, every step through the
pages and every part real: an editor uploads a picture on the Library page
(its progress bar), an approver uploads a draft and is refused approving it
(four eyes, the words on the page), then approves the editor's picture; the
editor makes playlists and assigns them (Assignments page) and sends one
gate for approval (Publish page); the approver approves it; the gate's real
sync verifies and activates the release, its real player (mpv, headless)
shows it, and the Fleet page shows the gate's screenshot. Then, while the
other gate has the draft (unapproved) assigned, an operator publishes an
emergency to the first gate (Emergency page) and its player shows it; the
other gate's release does not move. One browser for the module; SQLite (the
stores are covered by the other central tests)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from central.publish import current_release
from kiosk.store import open_db
from kiosk.text.plugin import TextPlugin

from tests.support.central import LiveServer, make_central
from tests.support.console import browser_login, make_user
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
        sync_disk_reserve_mb=0, screenshot_interval_s=1, sync_screenshot_interval_s=1)


def login(browser, url, name):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    browser_login(page, url, name)
    return page


def upload(page, url, path) -> str:
    """Upload through the Library form as the page's person; the bar shows
    and fills while the file goes. Returns the stored item's sha256."""
    page.goto(url + "/library/")
    bar = []
    page.expose_function("barMoved", lambda value: bar.append(value))
    page.evaluate("""() => { const bar = document.getElementById('upload-progress');
        new MutationObserver(() => window.barMoved(bar.hidden ? null : bar.value))
            .observe(bar, {attributes: true}); }""")
    page.set_input_files("#upload-form input[type=file]", str(path))
    with page.expect_response(lambda r: "/library/upload" in r.url, timeout=120_000) as sent:
        page.click("#upload-form button[type=submit]")
    assert sent.value.status == 201
    page.wait_for_selector("#upload-status.ok", timeout=60_000)
    assert "Đã kiểm tra và lưu" in page.inner_text("#upload-status")
    wait_for(lambda: bar and bar[-1] == 100, timeout=30, what="the progress bar full")
    assert None not in bar and bar[0] == 0, bar  # shown from the start, filled at the end
    sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()  # the library's name for it
    page.wait_for_selector(f"#media-{sha[:12]}", timeout=60_000)  # in the list after the reload
    return sha


def face(db) -> dict:
    row = db.execute("SELECT level, entry_id, playing_sha256 FROM face_state "
                     "WHERE face_id = 1").fetchone()
    return {"level": row[0], "entry_id": row[1], "sha": row[2]} if row else {}


def screenshot_colour(page, url) -> tuple | None:
    """The middle pixel of face 1's screenshot as the Fleet page shows it now."""
    import io

    from PIL import Image

    page.goto(url + "/fleet/")
    img = page.locator(f"#gate-{GATE} img.screenshot[data-face='1']")
    if img.count() == 0:
        return None
    resp = page.request.get(url + img.get_attribute("src"))
    if not resp.ok:
        return None
    with Image.open(io.BytesIO(resp.body())) as im:
        return im.convert("RGB").getpixel((im.width // 2, im.height // 2))


def reddish(rgb) -> bool:
    return rgb is not None and rgb[0] > 150 and rgb[1] < 90 and rgb[2] < 90


def assign_playlist(page, url, name, sha, target, entry):
    """On the Assignments page: a playlist of one picture, then an all-day
    entry for it on the target gate's page."""
    page.goto(url + "/assignments/")
    page.fill("#add-playlist input[name=name]", name)
    page.check(f"#add-playlist input[value='{sha}:image']")
    page.fill("#add-playlist input[name=seconds]", "3")
    page.click("#add-playlist button")
    page.wait_for_selector(f"text=Đã lưu danh sách phát {name}")
    page.click(f"#target-gate-{target}")
    page.select_option("#add-entry select[name=playlist]", label=name)
    page.fill("#add-entry input[name=name]", entry)
    page.fill("#add-entry input[name=start_time]", "00:00")
    page.fill("#add-entry input[name=end_time]", "24:00")
    page.click("#add-entry > button")
    page.wait_for_selector("text=Đã lưu")
    assert entry in page.inner_text("#applies")


def test_editor_uploads_and_assigns_approvers_approve_gate_shows_it_then_an_emergency(
        browser, desk, gate, tmp_path):
    url = desk.url

    def media(sha):
        return desk.db.query("SELECT state, approved_by FROM media WHERE sha256 = :s",
                             {"s": sha})[0]

    editor = login(browser, url, "bien-tap")
    red = upload(editor, url, make_image(tmp_path / "Áp phích chào mừng.png", size=(640, 360),
                                         color=(220, 20, 20)))
    editor.goto(url + f"/library/{red}")
    assert editor.locator("#approve").count() == 0  # an editor cannot approve

    # The approver's own upload: the page says another approver must approve
    # it, and an approval sent anyway is refused in those words.
    approver = login(browser, url, "duyet")
    draft = upload(approver, url, make_image(tmp_path / "Bản nháp.png", color=(0, 120, 0)))
    approver.goto(url + f"/library/{draft}")
    assert "một người duyệt khác phải duyệt" in approver.inner_text("main")
    assert approver.locator("#approve").count() == 0
    approver.evaluate("""(action) => { const f = document.createElement('form');
        f.method = 'post'; f.action = action;
        f.appendChild(document.querySelector('input[name=csrf_token]').cloneNode());
        document.body.appendChild(f); f.submit(); }""", f"/library/{draft}/approve")
    approver.wait_for_selector("text=Nguyên tắc hai người")
    assert "không ai tự duyệt những gì chính mình đã gửi" in approver.inner_text("main")
    assert media(draft)["state"] == "uploaded"

    # The approver approves the editor's picture from the Library page.
    approver.goto(url + "/library/?state=uploaded")
    approver.click(f"#media-{red[:12]} a")
    approver.click("#approve")
    approver.wait_for_selector("text=Đã duyệt Áp phích chào mừng.png")
    assert media(red) == {"state": "approved", "approved_by": "duyet"}

    assign_playlist(editor, url, "Chào mừng", red, GATE, "Cả ngày")
    assign_playlist(editor, url, "Nháp", draft, "tan-thanh", "Nháp cả ngày")

    editor.goto(url + "/publish/")
    editor.check(f"#scope-{GATE}")
    editor.click("#show-preview")
    assert "+ Chào mừng: Áp phích chào mừng.png" in editor.inner_text(f"#preview-{GATE}")
    editor.click("#submit")
    editor.wait_for_selector("text=Đã gửi duyệt")
    assert current_release(desk.db, GATE) is None  # nothing published before approval

    approver.goto(url + "/publish/")
    approver.click("[id^=approve-]")
    approver.wait_for_selector("text=Đã xuất bản")
    version = current_release(desk.db, GATE)["version"]
    other_before = current_release(desk.db, "tan-thanh")

    operator = login(browser, url, "truc")
    db = open_db(gate.db_path)
    try:
        with running_sync(gate), running_player(gate, plugins=[TextPlugin]):
            wait_for(lambda: face(db).get("sha") == red, timeout=90,
                     what="the approved picture on the gate's face")
            wait_for(lambda: reddish(screenshot_colour(operator, url)), timeout=90,
                     what="the gate's red screenshot on the Fleet page")

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


def test_a_playlist_is_reordered_by_buttons_without_javascript_and_by_drag(
        browser, desk, tmp_path):
    """The playlist page in chromium: the up/down buttons with JavaScript
    off, a drag onto another item, a page shown before someone else changed
    the playlist refused in words, and its delete refused while it is used.
    PLAYLIST_SCREENSHOTS=DIR keeps the page at 390 and 1280 px."""
    import os

    from central.assign import add_entry
    from central.library import get_playlist, save_playlist

    desk.gate(GATE, faces=(1,), name="Cửa khẩu Hữu Nghị")
    shas = [desk.media(make_image(tmp_path / f"{n}.png", color=c))
            for n, c in (("do", (200, 0, 0)), ("xanh", (0, 150, 0)), ("lam", (0, 0, 200)))]
    pid = save_playlist(desk.db, "chao-mung", "Chào mừng", [(s, 5.0) for s in shas], by="test")
    add_entry(desk.db, "gate", GATE, pid, name="Cả ngày")
    url, path = desk.url, f"/assignments/playlists/{pid}"

    def order():
        return [shas.index(i["media_sha256"]) for i in get_playlist(desk.db, pid)["items"]]

    # No JavaScript: the buttons are plain forms.
    context = browser.new_context(java_script_enabled=False,
                                  viewport={"width": 390, "height": 844})
    plain = context.new_page()
    browser_login(plain, url, "bien-tap")
    plain.goto(url + path)
    plain.click("#item-0 button[value=down]")
    plain.wait_for_selector("text=Đã lưu thứ tự")
    assert order() == [1, 0, 2]
    plain.click("#item-2 button[value=up]")
    plain.wait_for_selector("text=Đã lưu thứ tự")
    assert order() == [1, 2, 0]
    assert plain.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()

    editor = login(browser, url, "bien-tap")
    editor.goto(url + path)
    editor.drag_and_drop("#item-2 .item-what", "#item-0")
    editor.wait_for_selector("text=Đã lưu thứ tự")
    assert order() == [0, 1, 2]

    # Someone else removes an item meanwhile: this page's change is refused.
    other = login(browser, url, "duyet")
    other.goto(url + path)
    other.click("#item-1 button[value=remove]")
    other.wait_for_selector("text=Đã gỡ khỏi danh sách phát")
    editor.fill("#item-2 input[name=seconds]", "9")
    editor.click("#item-2 button[value=duration]")
    editor.wait_for_selector("#playlist-error")
    assert "người khác đã sửa danh sách phát “Chào mừng”" in editor.inner_text("#playlist-error")
    assert order() == [0, 2] and get_playlist(desk.db, pid)["items"][1]["duration_s"] == 5.0

    # Delete while the entry uses it: refused, naming the entry and the gate.
    editor.on("dialog", lambda d: d.accept())
    editor.click("#delete-form button")
    editor.wait_for_selector("#playlist-error")
    said = editor.inner_text("#playlist-error")
    assert "mục lịch “Cả ngày” của Cửa khẩu Hữu Nghị" in said and "chưa xóa gì" in said
    assert get_playlist(desk.db, pid)["name"] == "Chào mừng"
    if os.environ.get("PLAYLIST_SCREENSHOTS"):
        folder = Path(os.environ["PLAYLIST_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        for width in (390, 1280):
            editor.set_viewport_size({"width": width, "height": 900})
            editor.screenshot(path=str(folder / f"playlist-refused-{width}.png"), full_page=True)
