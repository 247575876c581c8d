"""The Fleet page's interactive map and a gate's history in Debian's chromium,
on both stores: pan and zoom change the view (drag, wheel, buttons, keys), a
grouped marker expands when clicked, a marker's popup leads to the gate's
page, a position picked on the map lands in the form and is saved, the page
fits a 390-pixel phone, and without script the list and the static map still
show every gate. One browser for the module.

Set FLEET_SCREENSHOTS=DIR to keep pictures of the pages at phone and desktop
width (for a person to look at)."""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.central import LiveServer, make_central
from tests.support.console import browser_login, make_user
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SHOTS = os.environ.get("FLEET_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser():
    from tests.support.browser import chromium

    with chromium() as b:
        yield b


def _seed(central, tmp: Path) -> None:
    """Five gates: Hữu Nghị and Tân Thanh 8 km apart (one group on the
    province's view), Móng Cái and Lao Bảo apart, one without a position."""
    from central.fleet import add_gate, update_gate
    from tests.support.fleet import seed_fleet

    make_user(central.db, "chi", "admin")
    for gate_id, name, pos in (("huu-nghi", "Cửa khẩu quốc tế Hữu Nghị", None),
                               ("tan-thanh", "Cửa khẩu Tân Thanh", None),
                               ("mong-cai", "Cửa khẩu quốc tế Móng Cái", (21.5247, 107.9660)),
                               ("lao-bao", "Cửa khẩu quốc tế Lao Bảo", (16.6167, 106.5833)),
                               ("na-meo", "Cửa khẩu Na Mèo", None)):
        add_gate(central.db, gate_id, name, "", (1, 2))
        if pos:
            update_gate(central.db, gate_id, position=pos)
    seed_fleet(central, tmp, central.operator)


def _view(page) -> tuple[float, str]:
    box = page.locator(".map-box")
    return float(box.get_attribute("data-zoom")), box.get_attribute("data-center")


def _changed(page, before, what: str):
    return wait_for(lambda: _view(page) != before and _view(page), 20, what)


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)


@pytest.fixture
def served(central, tmp_path):
    _seed(central, tmp_path)
    server = LiveServer(central.settings)
    yield server.url
    server.close()


def test_the_map_pans_zooms_and_groups(browser, served, central, central_store):
    context = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    browser_login(page, served)
    page.goto(served + "/fleet/")
    page.wait_for_selector(".map-box[data-zoom]")
    assert not page.locator("svg.static-map").is_visible()
    page.wait_for_selector(".map-box path.land-vn")  # the outline shipped with the app
    # The three gates of the north-east are one group with a count on the province's view.
    group = page.locator(".cluster-icon", has_text="3")
    group.wait_for()
    title = group.locator(".cluster").get_attribute("title")
    assert "Hữu Nghị" in title and "Tân Thanh" in title and "Móng Cái" in title
    assert page.locator(".pin-icon[title^='Cửa khẩu quốc tế Lao Bảo']").count() == 1
    assert page.locator(".pin-icon[title^='Cửa khẩu Tân Thanh']").count() == 0
    _shot(page, f"fleet-desktop-{central_store}")

    start = _view(page)
    page.click(".leaflet-control-zoom-in")
    after_button = _changed(page, start, "the + button to zoom in")
    assert after_button[0] > start[0]
    page.keyboard.press("Escape")
    page.focus(".map-box")
    page.keyboard.press("-")
    after_key = _changed(page, after_button, "the − key to zoom out")
    assert after_key[0] < after_button[0]
    box = page.locator(".map-box").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.7
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -400)
    after_wheel = _changed(page, after_key, "the wheel to zoom in")
    assert after_wheel[0] > after_key[0]
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 120, cy - 60, steps=8)
    page.mouse.up()
    after_drag = _changed(page, after_wheel, "a drag to pan")
    assert after_drag[0] == after_wheel[0] and after_drag[1] != after_wheel[1]
    page.keyboard.press("ArrowRight")
    _changed(page, after_drag, "an arrow key to pan")

    # Clicking the group zooms in until its gates stand apart.
    page.reload()  # the province's view again
    page.wait_for_selector(".map-box[data-zoom]")
    tan_thanh = page.locator(".pin-icon[title^='Cửa khẩu Tân Thanh']")
    for _ in range(4):  # a group zooms in to its gates; a closer pair may group again
        if tan_thanh.count():
            break
        zoom = _view(page)
        page.locator(".cluster-icon").first.click()
        _changed(page, zoom, "a click on a group to zoom in")
        page.wait_for_timeout(400)  # the group's split animation
    tan_thanh.wait_for()
    hn = page.locator(".pin-icon[title^='Cửa khẩu quốc tế Hữu Nghị']")
    assert "bị tắt hình từ trung tâm" in hn.get_attribute("title")  # seed_fleet blanked it
    assert hn.locator(".pin.marker-blanked").inner_text() == "■"
    _shot(page, f"fleet-desktop-expanded-{central_store}")
    hn.click()
    popup = page.locator(".leaflet-popup")
    popup.wait_for()
    assert "Cửa khẩu quốc tế Hữu Nghị" in popup.inner_text()
    popup.get_by_role("link", name="Mở trang của cửa khẩu").click()
    page.wait_for_url(served + "/fleet/huu-nghi")
    # The gate's own page centres its map on the gate, its marker ringed.
    page.locator(".map-box .pin.current.marker-blanked").wait_for()
    assert _view(page)[1] == "21.9967,106.7036"
    assert not errors, errors
    context.close()


def test_the_fleet_fits_a_phone_and_needs_no_script(browser, served, central_store):
    context = browser.new_context(viewport=PHONE, locale="vi-VN", has_touch=True, is_mobile=True)
    page = context.new_page()
    browser_login(page, served)
    for path in ("/fleet/", "/fleet/huu-nghi"):
        page.goto(served + path)
        page.wait_for_selector(".map-box[data-zoom]")
        _fits(page, PHONE["width"])
        _shot(page, f"fleet-phone{path.replace('/', '-')}{central_store}")
    # A tap on the + button zooms in on a phone too.
    page.goto(served + "/fleet/")
    page.wait_for_selector(".map-box[data-zoom]")
    start = _view(page)
    page.tap(".leaflet-control-zoom-in")
    tapped = _changed(page, start, "a tap on +")
    assert tapped[0] > start[0]
    # Two fingers spreading apart zoom in (chromium's touch events, as a phone sends them).
    box = page.locator(".map-box").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = context.new_cdp_session(page)

    def fingers(kind, gap):
        points = [] if kind == "touchEnd" else [{"x": cx - gap, "y": cy, "id": 1},
                                                 {"x": cx + gap, "y": cy, "id": 2}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    fingers("touchStart", 30)
    for gap in range(40, 160, 10):
        fingers("touchMove", gap)
    fingers("touchEnd", 0)
    assert _changed(page, tapped, "a pinch to zoom in")[0] > tapped[0]
    context.close()

    plain = browser.new_context(viewport=PHONE, locale="vi-VN", java_script_enabled=False)
    page = plain.new_page()
    browser_login(page, served)
    page.goto(served + "/fleet/")
    assert page.locator("svg.static-map").is_visible()
    assert page.locator(".map-box").count() == 0
    markers = page.locator("svg.static-map circle.marker")
    assert sorted(markers.evaluate_all("els => els.map(e => e.dataset.gate)")) == [
        "huu-nghi", "lao-bao", "mong-cai", "tan-thanh"]
    assert "Cửa khẩu Na Mèo" in page.locator("figure.fleet-map figcaption").inner_text()
    assert page.locator("article.gate-card").count() == 5
    _fits(page, PHONE["width"])
    _shot(page, f"fleet-phone-no-script-{central_store}")
    plain.close()


def test_a_position_picked_on_the_map_lands_in_the_form(browser, served, central,
                                                        central_store):
    from central.fleet import get_gate

    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = context.new_page()
    browser_login(page, served)
    page.goto(served + "/fleet/na-meo")  # no position yet: the map shows the region
    page.wait_for_selector(".map-box[data-zoom]")
    page.locator(".map-box").scroll_into_view_if_needed()
    box = page.locator(".map-box").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.35)
    form = page.locator("#position-form")
    lat = float(form.locator("input[name=latitude]").input_value())
    lon = float(form.locator("input[name=longitude]").input_value())
    assert 7 <= lat <= 24.5 and 99 <= lon <= 116
    message = page.locator("#pick-message").inner_text()
    assert message.startswith("Đã chọn") and f"{lat:.5f}".replace(".", ",") in message
    assert page.locator(".pin.picked").count() == 1
    # From the keyboard: arrows move the map, Enter picks its centre.
    page.focus(".map-box")
    before = _view(page)
    page.keyboard.press("+")  # the whole region fits: zoom in to have room to move
    before = _changed(page, before, "the + key to zoom in")
    page.keyboard.press("ArrowLeft")
    centre = _changed(page, before, "an arrow key to move the map")[1]
    page.keyboard.press("Enter")
    picked = [float(form.locator(f"input[name={n}]").input_value())
              for n in ("latitude", "longitude")]
    assert picked == pytest.approx([float(v) for v in centre.split(",")], abs=1e-3)
    assert picked[1] != pytest.approx(lon, abs=1e-3)  # the map moved west before Enter
    lat = picked[0]
    _shot(page, f"fleet-phone-picked-{central_store}")
    # The numbers stay editable: the operator corrects the longitude by hand.
    form.locator("input[name=longitude]").fill("104,0500")
    form.locator("button").click()
    page.wait_for_url(served + "/fleet/na-meo")
    assert "Đã lưu vị trí" in page.locator(".flash").inner_text()
    gate = get_gate(central.db, "na-meo")
    assert gate["latitude"] == pytest.approx(lat) and gate["longitude"] == 104.05

    # Outside the province's map: refused in words, nothing stored.
    page.wait_for_selector(".map-box[data-zoom]")
    form.locator("input[name=latitude]").fill("35.2")
    form.locator("button").click()
    page.wait_for_url(served + "/fleet/na-meo")
    assert "nằm ngoài bản đồ của tỉnh" in page.locator(".flash").inner_text()
    assert get_gate(central.db, "na-meo")["latitude"] == pytest.approx(lat)
    context.close()


@pytest.fixture
def tile_server():
    """A tile server on 127.0.0.1 that answers every /z/x/y.png with a small PNG."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (120, 180, 120)).save(buf, "PNG")
    png, asked = buf.getvalue(), []

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", asked
    server.shutdown()
    server.server_close()


def test_tiles_lie_under_the_markers_when_a_tile_server_is_set(browser, tmp_path, tile_server):
    origin, asked = tile_server
    central = make_central(tmp_path / "central", central_map_tile_url=origin + "/{z}/{x}/{y}.png")
    try:
        _seed(central, tmp_path)
        server = LiveServer(central.settings)
        try:
            context = browser.new_context(viewport=DESKTOP, locale="vi-VN")
            page = context.new_page()
            browser_login(page, server.url)
            page.goto(server.url + "/fleet/")
            page.wait_for_selector(".leaflet-tile-loaded")
            zoom = _view(page)[0]
            assert any(p.startswith(f"/{int(zoom)}/") for p in asked)
            shown = page.locator(".pin-icon").count() + sum(
                int(n) for n in page.locator(".cluster-count").all_inner_texts())
            assert shown == 4
            page.click(".leaflet-control-zoom-in")
            wait_for(lambda: any(p.startswith(f"/{int(zoom) + 1}/") for p in asked), 20,
                     "tiles of the next zoom level")
            _shot(page, "fleet-desktop-tiles")
            context.close()
        finally:
            server.close()
    finally:
        central.db.close()


def test_a_gates_history_has_a_range_pages_and_periods_in_words(browser, served, central,
                                                                 central_store):
    from datetime import timedelta

    from central.intake import record_heartbeat
    from kiosk.store import utcnow

    start = utcnow() - timedelta(minutes=120)
    for minute in range(0, 121):
        if 30 < minute < 50:
            continue  # the gate was silent
        face2 = {"power": "on", "blanked": 1 if minute >= 100 else 0}
        sync = ({"status": "failed", "code": "network"} if minute == 120
                else {"status": "unchanged", "code": "ok"})
        record_heartbeat(central.db, "lao-bao", {
            "release_version": 3, "last_good_release_version": 3, "sync": sync,
            "faces": [{"face_id": 1, "power": "on" if minute < 60 else "off", "blanked": 0},
                      {"face_id": 2, **face2}]}, now=start + timedelta(minutes=minute))
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = context.new_page()
    browser_login(page, served)
    page.goto(served + "/fleet/lao-bao")
    periods = page.locator("ul.periods li").all_inner_texts()
    assert any(p.startswith("Cửa khẩu mất liên lạc từ ") and "(20 phút)" in p for p in periods)
    assert any(p.startswith("Mặt 1: tắt nguồn từ ") and "đến nay" in p for p in periods)
    assert any(p.startswith("Mặt 2: bật nguồn nhưng bị tắt hình từ ") for p in periods)
    assert any(p.startswith("Mặt 1: bật nguồn, đang chiếu nội dung từ ") for p in periods)
    pager = page.locator("nav.pager")
    assert "Trang 1/3 (102 bản tin trạng thái)" in pager.inner_text()
    first_rows = page.locator("table.heartbeats tbody tr").all_inner_texts()
    assert len(first_rows) == 50
    # The last pull in the gate admin's words, not a code.
    assert "thất bại: không kết nối được máy chủ trung tâm" in first_rows[0]
    assert "đã cập nhật" in first_rows[1]
    _fits(page, PHONE["width"])
    page.locator("#history").scroll_into_view_if_needed()
    _shot(page, f"fleet-phone-history-{central_store}")
    pager.get_by_role("link", name="Cũ hơn").click()
    page.wait_for_url("**page=2**")
    assert "Trang 2/3" in page.locator("nav.pager").inner_text()
    assert page.locator("table.heartbeats tbody tr").all_inner_texts()[0] not in first_rows
    page.locator("nav.pager").get_by_role("link", name="Mới hơn").click()
    page.wait_for_url("**page=1**")

    # A range of days in the viewer's zone: a reversed one is refused in words.
    form = page.locator("#history-range")
    today = form.locator("input[name=to]").input_value()
    form.locator("input[name=from]").fill(today)
    form.locator("input[name=to]").fill("2026-01-01")
    form.locator(":scope > button").click()  # the form's own, not a calendar button
    page.wait_for_load_state()
    assert "ở sau ngày cuối" in page.locator("#history ~ p.flash").inner_text()
    # A range long before the gate spoke: nothing in it.
    form = page.locator("#history-range")
    form.locator("input[name=from]").fill("2026-01-01")
    form.locator("input[name=to]").fill("2026-01-02")
    form.locator(":scope > button").click()  # the form's own, not a calendar button
    page.wait_for_url("**from=2026-01-01**")
    assert page.locator("ul.periods").count() == 0 and page.locator("nav.pager").count() == 0
    context.close()


def test_the_emergency_form_names_blanked_targets_before_publishing(browser, served, central,
                                                                   central_store):
    """seed_fleet blanked Hữu Nghị's face 2 from central: ticking that gate shows
    the warning, and Publish asks once more, naming it."""
    from central import emergency as em

    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = context.new_page()
    browser_login(page, served)
    page.goto(served + "/emergency/")
    warning = page.locator("#blank-warning")
    assert not warning.is_visible()  # nothing ticked yet: the script hides it
    page.fill("#text-vi", "Tạm dừng thông quan do thời tiết xấu")
    page.fill("#reason", "Bão số 9")
    page.check("#target-mong-cai")
    assert not warning.is_visible()
    page.check("#target-huu-nghi")
    assert warning.is_visible()
    assert "Cửa khẩu quốc tế Hữu Nghị" in warning.inner_text()
    assert "Móng Cái" not in warning.locator("li:visible").all_inner_texts()[0]
    _fits(page, PHONE["width"])
    warning.scroll_into_view_if_needed()
    _shot(page, f"emergency-phone-warning-{central_store}")
    asked = []

    def answer(dialog, accept):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.click("#publish")
    wait_for(lambda: asked, 10, "the question before publishing")
    assert "Cửa khẩu quốc tế Hữu Nghị" in asked[0] and "Vẫn phát hành" in asked[0]
    assert len(asked) == 1  # the blanked gates' question replaces the plain one
    # Without a blanked target the plain question is asked (console-walk).
    page.uncheck("#target-huu-nghi")
    page.once("dialog", lambda d: answer(d, False))
    page.click("#publish")
    wait_for(lambda: len(asked) == 2, 10, "the plain question before publishing")
    assert asked[1] == "Xuất bản thông báo khẩn này ngay?"
    page.check("#target-huu-nghi")
    asked.clear()
    assert em.live(central.db) == []  # not published
    page.once("dialog", lambda d: answer(d, True))
    page.click("#publish")
    page.wait_for_url("**/emergency/**")
    wait_for(lambda: em.live(central.db), 20, "the emergency to be published")
    context.close()
