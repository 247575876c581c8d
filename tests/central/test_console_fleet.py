"""The console's Fleet pages with everything real: central on 127.0.0.1, a
gate with real sway, the real player taking screenshots and the real sync
service sending them and pulling releases; Debian's chromium through
Playwright signs in as an operator, sees the gate's live screenshot, blanks
face 2 from central with the form and sees it go black (on the output's
pixels and in the next screenshot), then releases it. One browser, one gate.

Set FLEET_SCREENSHOTS=DIR to keep the pages at desktop and phone width."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from central.fleet import update_gate
from central.users import add_user, set_password

from tests.support.browser import chromium
from tests.support.central import LiveServer, make_central
from tests.support.console import browser_login
from tests.support.fleet import two_faces_on_sway
from tests.support.media import make_image
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow

GATE = "huu-nghi"
W, H = 640, 360
RED, BLACK = (220, 20, 20), (0, 0, 0)
PASSWORD = "fleet-test-password"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def gate_config(path: Path, central_url: str, root: Path, token_file: Path) -> Path:
    path.write_text(f"""
gate_id = "{GATE}"
central_url = "{central_url}"
sync_root_file = "{root}"
sync_token_file = "{token_file}"
sync_clock = "always"
sync_interval_s = 3600
sync_longpoll_s = 3
sync_heartbeat_interval_s = 1
sync_screenshot_interval_s = 1
sync_disk_reserve_mb = 0
""" + two_faces_on_sway(W, H, screenshot_interval_s=1), encoding="utf-8")
    return path


def middle(png: bytes) -> tuple:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        im = im.convert("RGB")
        return im.getpixel((im.width // 2, im.height // 2))


def near(a, b, tol=24) -> bool:
    return a is not None and all(abs(x - y) <= tol for x, y in zip(a, b))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Central (SQLite) serving the console, and one gate fully running."""
    from kiosk.power.plugin import PowerPlugin
    from kiosk.settings import load_settings

    from tests.support.player import running_player
    from tests.support.sway import HeadlessSway
    from tests.support.sync.gate import running_sync

    tmp = tmp_path_factory.mktemp("fleet")
    central = make_central(tmp / "central")
    server = LiveServer(central.settings)
    token = central.gate(GATE, faces=(1, 2), name="Cửa khẩu quốc tế Hữu Nghị")
    update_gate(central.db, GATE, position=(21.9967, 106.7036))
    add_user(central.db, "van-hanh", "operator", by="test")
    set_password(central.db, "van-hanh", PASSWORD, "test")
    red = central.media(make_image(tmp / "red.png", size=(320, 360), color=RED))
    central.show(GATE, [red])
    central.publish()

    root = tmp / "root.json"
    root.write_bytes(central.repo.trusted_root_path.read_bytes())
    token_file = tmp / "gate-token"
    token_file.write_text(token + "\n")
    state = tmp / "gate"
    state.mkdir()
    config = gate_config(tmp / "gatecast.toml", server.url, root, token_file)
    settings = load_settings(config_file=config, state_dir=state, env={})
    sway = HeadlessSway(((W, H),)).start()
    old_env = {k: os.environ.get(k) for k in ("WAYLAND_DISPLAY", "SWAYSOCK")}
    os.environ.update(sway.env())
    try:
        with running_sync(settings), running_player(settings, plugins=[PowerPlugin]):
            yield central, server, sway
    finally:
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        sway.stop()
        server.close()
        central.db.close()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def login(browser, base: str, viewport=DESKTOP):
    page = browser.new_page(viewport=viewport, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    # The login page has the language switch's buttons before the form's own.
    browser_login(page, base, "van-hanh", PASSWORD)
    return page


def face_screenshot(page, base: str, face: int) -> tuple | None:
    """The middle pixel of a face's screenshot as the fleet page shows it now."""
    page.goto(base + "/fleet/")
    img = page.locator(f"#gate-{GATE} img.screenshot[data-face='{face}']")
    if img.count() == 0:
        return None
    resp = page.request.get(base + img.get_attribute("src"))
    return middle(resp.body()) if resp.ok else None


def output_face(sway, face: int) -> tuple:
    image = sway.grab("HEADLESS-1")
    x = W // 4 if face == 1 else 3 * W // 4
    return image.getpixel((x, H // 2))


def keep(page, name: str) -> None:
    folder = os.environ.get("FLEET_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_fleet_shows_the_gates_live_screenshot_and_blanks_it_from_central(world, browser):
    central, server, sway = world
    base = server.url
    page = login(browser, base)
    wait_for(lambda: near(output_face(sway, 2), RED), timeout=90, what="face 2 red on the output")
    wait_for(lambda: near(face_screenshot(page, base, 1), RED)
             and near(face_screenshot(page, base, 2), RED), timeout=90,
             what="both faces' red screenshots on the fleet page")
    text = page.inner_text(f"#gate-{GATE}")
    assert "Cửa khẩu quốc tế Hữu Nghị" in text
    # Online (this machine's clock alarm may add "needs attention"), not offline.
    assert page.locator(f"#gate-{GATE}.state-offline").count() == 0
    assert page.locator(f"circle[data-gate='{GATE}']").count() == 1  # on the map
    keep(page, "fleet-desktop")

    page.goto(base + f"/fleet/{GATE}")
    keep(page, "gate-desktop")
    page.once("dialog", lambda d: d.accept())
    page.check("#blank-form input[name=faces][value='2']")
    page.fill("#blank-form input[name=reason]", "Nội dung sai trên mặt 2")
    page.click("#blank-form button")
    page.wait_for_load_state()
    assert "Nội dung sai trên mặt 2" in page.inner_text("#blank-state")

    # The sync service's long poll brings the signed release: face 2 black on
    # the output, face 1 still red, and face 2's next screenshot is black.
    wait_for(lambda: output_face(sway, 2) == BLACK, timeout=60, what="face 2 black on the output")
    assert near(output_face(sway, 1), RED)
    wait_for(lambda: face_screenshot(page, base, 2) == BLACK, timeout=60,
             what="face 2's black screenshot on the fleet page")
    assert page.locator(f"#gate-{GATE}.state-blanked").count() == 1
    assert "bị tắt hình từ trung tâm" in page.inner_text(f"#gate-{GATE}")
    keep(page, "fleet-blanked-desktop")

    page.goto(base + f"/fleet/{GATE}")
    page.fill("#unblank-form input[name=reason]", "Đã sửa nội dung")
    page.click("#unblank-form button")
    page.wait_for_load_state()
    wait_for(lambda: near(output_face(sway, 2), RED), timeout=60, what="face 2 red again")
    page.goto(base + f"/fleet/{GATE}")
    history = page.inner_text("main")
    assert "Nội dung sai trên mặt 2" in history and "Đã sửa nội dung" in history
    keep(page, "gate-history-desktop")


def test_the_fleet_pages_fit_a_phone(world, browser):
    central, server, sway = world
    page = login(browser, server.url, PHONE)
    for path, name in ((f"/fleet/", "fleet-phone"), (f"/fleet/{GATE}", "gate-phone")):
        page.goto(server.url + path)
        assert no_sideways_scroll(page), path
        keep(page, name)
