"""The admin in a real browser (Debian's chromium via Playwright) against
gunicorn and the real player with mpv: first-run setup, login, upload an
image with the progress bar, schedule it on face 1, see it in the dashboard
thumbnail, switch the language to English and back."""

from __future__ import annotations

import io
import os
import re
import subprocess

import pytest

from tests.support.admin import GATECAST, start_process, stop_process
from tests.support.media import make_image
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow

PASSWORD = "browser-test-password"
_start, _stop = start_process, stop_process


@pytest.fixture
def gate(tmp_path):
    """gunicorn serving the admin and the player with headless mpv on one state folder."""
    state = tmp_path / "state"
    state.mkdir()
    config = tmp_path / "gatecast.toml"
    # health_interval_s: the player samples health once at start, so the test's
    # own health reading (written later) stays until the dashboard's refresh has
    # shown it (the default sample every 10 s overwrote it first once in CI).
    config.write_text(
        'mpv_vo = "null"\nscreenshot_interval_s = 1\npoll_interval_s = 0.2\n'
        'health_interval_s = 3600\n'
        '[[outputs]]\nname = "main"\nwidth = 640\nheight = 360\n'
        '[[faces]]\nid = 1\nname = "Mặt 1"\noutput = "main"\n'
        '[[faces]]\nid = 2\nname = "Mặt 2"\noutput = "main"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATECAST_")}
    env.update(GPIOZERO_PIN_FACTORY="mock", XDG_RUNTIME_DIR=str(tmp_path))
    common = ["--state", str(state), "--config", str(config)]
    # As provisioning does: the processes refuse a state folder without a database.
    subprocess.run([GATECAST, "migrate", *common], env=env, check=True, capture_output=True)
    admin_log, player_log = tmp_path / "admin.log", tmp_path / "player.log"
    admin = _start([GATECAST, "admin", *common, "--bind", "127.0.0.1:0", "--workers", "1"], env, admin_log)
    player = _start([GATECAST, "player", *common], env, player_log)
    try:
        port = wait_for(lambda: re.findall(rb"Listening at: http://127\.0\.0\.1:(\d+)", admin_log.read_bytes()),
                        60, "gunicorn to listen")[0].decode()
        yield {"url": f"http://127.0.0.1:{port}", "state": state, "tmp": tmp_path,
               "admin": admin, "player": player}
    finally:
        _stop(admin)
        _stop(player)


def _centre(png: bytes) -> tuple[int, int, int]:
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    return img.getpixel((img.width // 2, img.height // 2))


def test_setup_upload_schedule_and_see_it_on_the_dashboard(gate, browser):
    url = gate["url"]
    page = browser.new_page(locale="vi-VN")
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.set_default_timeout(30_000)

    # First run: every page leads to the setup page; there is no default account.
    page.goto(url + "/")
    assert page.url.endswith("/setup")
    page.fill("input[name=username]", "chief")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/login$"))
    page.fill("input[name=username]", "chief")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("nav").inner_text().startswith("Tổng quan")

    # Upload an image large enough for the progress bar to move.
    picture = make_image(gate["tmp"] / "Áp phích đỏ.png", size=(1280, 720), color=(220, 20, 20))
    noise = gate["tmp"] / "noise.png"
    from PIL import Image

    Image.frombytes("RGB", (1280, 720), os.urandom(1280 * 720 * 3)).save(noise)
    page.goto(url + "/media/")
    progress = []
    page.expose_function("reportProgress", lambda v: progress.append(v))
    page.evaluate("""() => {
        const bar = document.getElementById('upload-progress');
        new MutationObserver(() => window.reportProgress(bar.value))
            .observe(bar, {attributes: true, attributeFilter: ['value', 'hidden']});
        const orig = Object.getOwnPropertyDescriptor(HTMLProgressElement.prototype, 'value');
        Object.defineProperty(bar, 'value', {get() { return orig.get.call(this); },
            set(v) { orig.set.call(this, v); window.reportProgress(v); }});
    }""")
    page.set_input_files("#upload-file", str(noise))
    page.click("#upload-button")
    page.wait_for_selector("#upload-status.ok")
    assert progress and progress[-1] == 100 and page.locator("#upload-progress").is_visible()
    page.wait_for_load_state("load")
    page.wait_for_selector("#media-table >> text=noise.png")
    page.set_input_files("#upload-file", str(picture))
    page.click("#upload-button")
    page.wait_for_selector("#upload-status.ok")
    page.wait_for_selector("#media-table >> text=Áp phích đỏ.png")

    # A playlist with the red picture, scheduled all day on face 1.
    page.goto(url + "/playlists")
    page.fill("#new-playlist-name", "Áp phích")
    page.click("#create-playlist")
    page.wait_for_selector("#add-media")
    page.select_option("#add-media", label="Áp phích đỏ.png (image)")
    page.click("#save-playlist")
    page.wait_for_selector("text=Áp phích đỏ.png (image)")
    page.goto(url + "/schedule")
    page.fill("#entry-form input[name=name]", "Cả ngày")
    page.select_option("#entry-playlist", label="Áp phích")
    page.check("#entry-face-1")
    page.click("#save-entry")
    page.wait_for_selector("#entries >> text=Cả ngày")

    # The dashboard shows the player's screenshot of face 1 without a reload.
    page.goto(url + "/")
    img = page.locator("#face-1 img[data-shot]")
    wait_for(lambda: "?v=" in (img.get_attribute("src") or ""), 90, "a screenshot of face 1")

    def red_on_screen():
        shot = page.request.get(url + img.get_attribute("src"))
        r, g, b = _centre(shot.body())
        return r > 180 and g < 80 and b < 80

    wait_for(red_on_screen, 90, "the red picture in face 1's screenshot")
    # ... and what plays, refreshed by the page's script without a reload.
    wait_for(lambda: "Áp phích đỏ.png" in page.locator("#face-1").inner_text(), 30,
              "the picture's name on face 1")
    assert not page.locator("#face-1 [data-flag=blanked]").is_visible()
    # After the script's refresh, times read as the server writes them: HH:mm dd/MM/yyyy.
    since = page.locator('#face-1 [data-time="playing.since"]')
    wait_for(lambda: re.fullmatch(r"\d\d:\d\d \d\d/\d\d/\d{4}", since.inner_text().strip()), 30,
             "the refreshed start time in the one time format")

    # Everything else the dashboard shows stays current too, without a reload,
    # in the words and time format of the page itself.
    from kiosk.player import facestate
    from kiosk.power import service as power
    from kiosk.store import connect, iso, log_event, set_state, utcnow

    db = connect(gate["state"] / "gatecast.db")
    try:
        set_state(db, "health", {"alarms": [{"code": "cpu_temp_high", "temp_c": 82.0, "limit_c": 75.0}],
                                 "cpu_temp_c": 82.0, "clock_synced": False})
        set_state(db, "sync", {"status": "failed", "code": "network", "failing_since": iso(utcnow()),
                               "reason": "network: https://central.invalid/x: HTTPSConnection("
                                         "host='central.invalid', port=443): Failed to resolve "
                                         "'central.invalid' ([Errno -2] Name or service not known)"})
        # As the player records a dead mpv: the event, and the face's last error.
        log_event(db, "player", "error", "mpv_died", "mpv killed by SIGKILL; restarting",
                  face_id=2, detail={"output": "main"})
        facestate.update(db, 2, last_error=f"{iso(utcnow())} mpv killed by SIGKILL; restarting")
        power.blank_on(db, "chief", "kiểm tra cột")
    finally:
        db.close()
    dash = page.locator("#dashboard")
    wait_for(lambda: "CPU ở 82 °C" in page.locator("#health-alarms").inner_text(), 30, "the new alarm")
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d \d\d/\d\d/\d{4}", page.locator("#health-at").inner_text().strip())
    wait_for(lambda: "không phân giải được tên central.invalid" in page.locator("#sync-state").inner_text(),
             30, "the sync failure in words")
    assert re.fullmatch(r"\d\d:\d\d \d\d/\d\d/\d{4}", page.locator("#sync-failing-since").inner_text())
    wait_for(lambda: "mpv bị buộc dừng" in page.locator("#errors").inner_text(), 30, "the new error")
    wait_for(lambda: page.locator("#blank-banner").is_visible(), 30, "the kill switch banner")
    assert "kiểm tra cột" in page.locator("#blank-banner").inner_text()
    wait_for(lambda: page.locator("#face-1 [data-flag=blanked]").is_visible(), 30, "face 1 blanked")
    last_error = page.locator("#face-2 [data-field=last_error_text]")
    wait_for(lambda: "mpv bị buộc dừng" in last_error.inner_text(), 30, "face 2's last error")
    assert re.match(r"\d\d:\d\d \d\d/\d\d/\d{4} ", last_error.inner_text())
    assert "killed by" not in dash.inner_text() and "resolve" not in dash.inner_text()
    db = connect(gate["state"] / "gatecast.db")
    try:
        power.blank_off(db, "chief")
    finally:
        db.close()
    wait_for(lambda: not page.locator("#blank-banner").is_visible(), 30, "the banner gone")

    # English is one click away, and back.
    page.click("#lang-en")
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Dashboard" in page.locator("nav").inner_text()
    page.click("#lang-vi")
    page.wait_for_load_state("load")
    assert "Tổng quan" in page.locator("nav").inner_text()

    foreign = [u for u in requested if not u.startswith(url) and not u.startswith("data:")]
    assert foreign == []
