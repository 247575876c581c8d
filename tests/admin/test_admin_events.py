"""Events, alarms, sync state and proof-of-play outcomes are stored as codes
with parameters and shown in the reader's language; every code recorded in
kiosk/ has its sentence in the admin's catalogue (admin/events.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from admin.events import ALARMS, EVENTS, SYNC_FAILURES
from kiosk.store import iso, log_event, set_state, utcnow

KIOSK = Path(__file__).resolve().parents[2] / "kiosk"

# log_event(db, "source", "level", "code", ...), power's record(db, "level", "code", ...),
# the player's _note_error(..., code="code").
_CALLS = [
    re.compile(r'log_event\(\s*[\w.]+,\s*"\w+",\s*(?:"\w+"|[^,]+),\s*"(\w+)"', re.S),
    re.compile(r'\brecord\(\s*[\w.]+,\s*"(?:info|warning|error)",\s*"(\w+)"', re.S),
    re.compile(r'record\(\s*self\.db,\s*"\w+",\s*"(\w+)"\s+if', re.S),
    re.compile(r'_note_error\([^)]*?code="(\w+)"', re.S),
]


def recorded_codes() -> set[str]:
    codes = set()
    for path in KIOSK.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in _CALLS:
            codes.update(pattern.findall(text))
        # relay_on / relay_off are chosen by a conditional expression.
        codes.update(re.findall(r'"(relay_o(?:n|ff))"', text))
    codes.discard("code")
    return codes


def sync_failure_codes() -> set[str]:
    text = (KIOSK / "sync" / "pull.py").read_text(encoding="utf-8")
    codes = set(re.findall(r'return "(\w+)",', text))
    codes.update(re.findall(r'code="(\w+)"', (KIOSK / "sync" / "loop.py").read_text(encoding="utf-8")))
    return codes


def alarm_codes() -> set[str]:
    text = (KIOSK / "power" / "health.py").read_text(encoding="utf-8")
    return set(re.findall(r'\{"code": "(\w+)"', text))


def test_every_recorded_code_has_a_sentence():
    codes = recorded_codes()
    assert {"blank_on", "media_skipped", "font_missing", "queue_dropped", "mpv_died",
            "band_mpv_start_failed", "band_mpv_died", "band_mpv_failing", "band_mpv_back"} <= codes  # the scan works
    assert sorted(codes - set(EVENTS)) == []
    assert sorted(sync_failure_codes() - set(SYNC_FAILURES)) == []
    assert len(alarm_codes()) >= 5 and sorted(alarm_codes() - set(ALARMS)) == []


def test_power_events_and_alarms_in_vietnamese(client, auth, accounts, db):
    from kiosk.power import service as power

    power.blank_on(db, "chief", "kiểm tra thiết bị", power_off=True)
    power.blank_off(db, "chief")
    log_event(db, "power", "warning", "health_alarm", "CPU at 81.5 C (alarm above 75 C)",
              detail={"alarm": "cpu_temp_high", "temp_c": 81.5, "limit_c": 75.0})
    log_event(db, "sync", "warning", "sync_network", "network: connection refused",
              detail={"offered_version": None})
    set_state(db, "health", {"alarms": [{"code": "clock_unsynced", "message": "clock not synchronised "
                                         "(schedules and signatures need it)"}]})
    set_state(db, "sync", {"status": "failed", "code": "network", "reason": "network: connection refused"})
    auth.login("view")
    auth.post("/language", {"lang": "vi"})
    page = client.get("/logs/events").get_data(as_text=True)
    assert "chief đã tắt hình mọi mặt và ngắt rơ-le: kiểm tra thiết bị" in page
    assert "chief đã bỏ tắt hình khẩn cấp" in page
    assert "Cảnh báo: CPU ở 81,5 °C (ngưỡng 75 °C)" in page or "CPU ở 81.5 °C" in page
    assert "blanked every face" not in page and "released the blank" not in page
    assert "Đồng bộ thất bại: không kết nối được máy chủ trung tâm" in page
    # A health alarm (recorded as source "power" before health had its own) is
    # the controller's health, not power; the source filter agrees.
    alarm_row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Cảnh báo: CPU(?:(?!</tr>).)*</tr>", page, re.S).group(0)
    assert "<td>tình trạng máy</td>" in alarm_row and "nguồn" not in alarm_row, alarm_row
    assert "Cảnh báo: CPU" in client.get("/logs/events?source=health").get_data(as_text=True)
    power_only = client.get("/logs/events?source=power").get_data(as_text=True)
    assert "Cảnh báo: CPU" not in power_only and "chief đã bỏ tắt hình khẩn cấp" in power_only
    dash = client.get("/").get_data(as_text=True)
    assert "đồng hồ chưa được đồng bộ" in dash and "clock not synchronised" not in dash
    assert "· tình trạng máy · Cảnh báo: CPU" in dash, dash
    assert "thất bại: không kết nối được máy chủ trung tâm" in dash
    # English is one click away, from the same stored codes.
    auth.post("/language", {"lang": "en"})
    page = client.get("/logs/events").get_data(as_text=True)
    assert "chief blanked every face and switched the relays off: kiểm tra thiết bị" in page


def test_proof_of_play_outcomes_in_vietnamese(client, auth, accounts, db):
    now = iso(utcnow())
    db["proof_of_play"].insert_all([
        {"face_id": 1, "media_sha256": "a" * 64, "media_name": "a.png", "level": "normal",
         "started_at": now, "ended_at": now, "outcome": "preempted", "reason": "preempted: dark: blanked"},
        {"face_id": 1, "media_sha256": "b" * 64, "media_name": "b.png", "level": "normal",
         "started_at": now, "ended_at": now, "outcome": "completed"},
    ])
    auth.login("view")
    auth.post("/language", {"lang": "vi"})
    page = client.get("/logs/").get_data(as_text=True)
    assert "bị cắt ngang: mặt đã tối (tắt hình khẩn cấp)" in page and "phát hết" in page
    assert "preempted" not in page and "completed" not in page


def test_audit_actions_and_values_in_vietnamese(client, auth, accounts, db):
    auth.login("op")
    auth.post("/language", {"lang": "vi"})
    auth.post("/power/switch", {"face": "1", "state": "off", "for": "2h", "reason": "bảo trì"})
    page = client.get("/logs/audit").get_data(as_text=True)
    assert "tắt bằng tay" in page and "mặt 1" in page
    assert "yêu cầu: tắt" in page and "power.off" not in page and '"want"' not in page


def test_font_error_in_vietnamese_and_the_notice_kept(state_dir, tmp_path):
    """A notice in Khmer when the configured font has no Khmer glyphs: the
    technician reads why in Vietnamese, and what was typed is still there."""
    from admin import create_app
    from admin.services import users
    from tests.support.admin import Auth

    cfg = tmp_path / "khmer.toml"
    cfg.write_text('text_fonts = { km = "Noto Sans Lao" }\n')
    app = create_app({"STATE_DIR": str(state_dir), "CONFIG_FILE": str(cfg), "TESTING": True})
    from kiosk.store import connect

    db = connect(state_dir / "gatecast.db")
    users.create_user(db, "op", "operator-password-1", "operator", None, "vi")
    client = app.test_client()
    auth = Auth(client)
    auth.login("op", "operator-password-1")
    resp = auth.post("/notices/", {"text_vi": "Cửa khẩu đóng", "third_lang": "km",
                                   "text_third": "ច្រកព្រំដែនបិទ", "kind": "slide", "level": "normal"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Tiếng Khmer" in html and "không có phông chữ nào" in html.lower()
    assert "cannot be shown" not in html and "ច្រកព្រំដែនបិទ</textarea>" in html
    assert db.execute("SELECT COUNT(*) FROM notice").fetchone()[0] == 0
    db.close()


# ---- kiosk.settings.check_layout's refusals -------------------------------------

def layout_codes() -> set[str]:
    """Every LayoutError code kiosk/settings.py can raise."""
    text = (KIOSK / "settings.py").read_text(encoding="utf-8")
    codes = set(re.findall(r'LayoutError\(\s*"(\w+)"(?!\s*\+)', text))
    codes.update(re.findall(r'\bcode="(\w+)"', text))  # _int(..., code="face_region_x")
    # "outputs_same_" + attr, for attr in ("name", "connector")
    m = re.search(r'for attr in \(([^)]*)\):(?:(?!\ndef ).)*?LayoutError\(\s*"(\w+)" \+ attr', text, re.S)
    if m:
        codes.update(m.group(2) + a for a in re.findall(r'"(\w+)"', m.group(1)))
    return codes


def test_every_layout_refusal_has_a_sentence():
    from admin.services.faces import LAYOUT_ERRORS

    codes = layout_codes()
    assert {"faces_overlap", "face_region_x", "outputs_same_connector"} <= codes  # the scan works
    assert sorted(codes - set(LAYOUT_ERRORS)) == []
    assert sorted(set(LAYOUT_ERRORS) - codes) == [], "a sentence for a refusal that no longer exists"


_OUT = {"name": "hdmi0", "connector": "HDMI-A-1", "width": 1920, "height": 1080}
_FACE = {"id": 1, "name": "Mặt 1", "output": "hdmi0"}
BAD_LAYOUTS = [  # (outputs, faces, display), each refused by the real check_layout
    ([_OUT], [_FACE], "wayland"),
    ([], [_FACE], "auto"),
    ([{**_OUT, "name": ""}], [_FACE], "auto"),
    ([{**_OUT, "colour": "red"}], [_FACE], "auto"),
    ([{**_OUT, "width": "rộng"}], [_FACE], "auto"),
    ([{**_OUT, "height": 0}], [_FACE], "auto"),
    ([{**_OUT, "refresh": 1000}], [_FACE], "auto"),
    ([{**_OUT, "rotation": 45}], [_FACE], "auto"),
    ([_OUT, {**_OUT, "name": "hdmi1"}], [_FACE], "auto"),
    ([_OUT], [], "auto"),
    ([_OUT], [{**_FACE, "id": 7}], "auto"),
    ([_OUT], [{**_FACE, "output": "hdmi9"}], "auto"),
    ([_OUT], [{**_FACE, "name": " "}], "auto"),
    ([_OUT], [{**_FACE, "relay_pin": 40}], "auto"),
    ([_OUT], [{**_FACE, "relay_active_high": "yes"}], "auto"),
    ([_OUT], [{**_FACE, "region": {"x": 0}}], "auto"),
    ([_OUT], [{**_FACE, "region": {"x": -5, "y": 0, "width": 10, "height": 10}}], "auto"),
    ([_OUT], [{**_FACE, "region": {"x": 1000, "y": 0, "width": 1000, "height": 10}}], "auto"),
    ([_OUT], [_FACE, {**_FACE, "name": "Mặt 1b"}], "auto"),
    ([_OUT], [{**_FACE, "region": {"x": 0, "y": 0, "width": 1000, "height": 1080}},
              {**_FACE, "id": 2, "region": {"x": 960, "y": 0, "width": 960, "height": 1080}}], "auto"),
]


def test_layout_refusals_made_for_real_are_said_in_vietnamese(app):
    """Each refusal of the real check_layout, as the Faces & screens page says it:
    Vietnamese, its values filled in, none of the English sentence left."""
    from flask_babel import force_locale

    from admin.services.faces import in_words
    from kiosk.settings import LayoutError, check_layout

    seen = set()
    with app.test_request_context(), force_locale("vi"):
        for outputs, faces, display in BAD_LAYOUTS:
            try:
                check_layout({"display": display, "outputs": outputs, "faces": faces})
            except LayoutError as e:
                said = in_words(e)
                values = " ".join(str(v) for v in e.params.values())
                # The English sentence's own words (not its values, such as key names).
                english = {w for w in re.findall(r"[a-z]{4,}", str(e)) if w not in values}
                seen.add(e.code)
            else:
                raise AssertionError(f"accepted: {outputs} {faces}")
            assert "%(" not in said and "Bố trí không hợp lệ" not in said, said
            assert not english & set(re.findall(r"[a-z]{4,}", said)), (said, english)
    assert len(seen) >= 18
    with app.test_request_context(), force_locale("vi"):
        try:
            check_layout({"display": "auto", "outputs": [_OUT], "faces": BAD_LAYOUTS[-1][1]})
        except LayoutError as e:
            assert in_words(e) == ("Mặt 1 và 2 chồng lên nhau trên cổng hdmi0: hãy cho hai mặt cùng một "
                                   "vùng để cùng hiện một hình (nhân bản), hoặc các vùng không chồng lên nhau.")


# ---- technical causes after the sentence ------------------------------------------

def _real_network_failures(tmp_path) -> dict[str, str]:
    """The reasons kiosk.sync.pull.classify records for real failures of the fetcher."""
    import http.server
    import socket
    import threading

    from kiosk.sync.fetcher import ResumingFetcher
    from kiosk.sync.pull import classify

    class Clock:
        expiry_trusted = True

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts, never answers
    class Quiet(http.server.BaseHTTPRequestHandler):  # answers 501 to GET, logs nothing
        def log_message(self, *args):
            return

    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    urls = {"refused": f"http://127.0.0.1:{refused_port}/timestamp.json",
            "dns": "http://central.invalid/timestamp.json",
            "read_timeout": f"http://127.0.0.1:{silent.getsockname()[1]}/timestamp.json",
            "not_https": f"https://127.0.0.1:{web.server_address[1]}/timestamp.json",
            "http_status": f"http://127.0.0.1:{web.server_address[1]}/timestamp.json"}
    fetcher = ResumingFetcher(tmp_path / "partial", timeout=1)
    reasons = {}
    try:
        for cause, url in urls.items():
            try:
                b"".join(fetcher.fetch(url))
            except Exception as e:  # noqa: BLE001 - whatever the fetcher raises, classify says it
                code, reasons[cause] = classify(e, Clock())
                assert code == "network", (code, reasons[cause])
            else:
                raise AssertionError(f"{url} answered")
    finally:
        fetcher.link.close()
        web.shutdown()
        web.server_close()
        silent.close()
    return reasons


def _real_mpv_failures(tmp_path) -> dict[str, str]:
    """The messages the player records when mpv cannot play a file and when mpv is killed."""
    import queue
    import signal

    from kiosk.player.mpv import MpvProcess, build_args
    from tests.support.wait import wait_for

    garbage = tmp_path / "hỏng.mp4"
    garbage.write_bytes(b"\x00not a video\x00" * 4096)
    events: queue.Queue = queue.Queue()
    sock = str(tmp_path / "mpv.sock")
    mpv = MpvProcess(build_args("mpv", sock, ["--vo=null", "--ao=null"]), sock, "face-1", 1, events)
    try:
        wait_for(mpv.try_connect, 30, "mpv's IPC socket")
        mpv.ipc.command("loadfile", str(garbage), timeout=5)
        file_error = None

        def failed():
            nonlocal file_error
            while not events.empty():
                ev = events.get()
                if getattr(ev, "name", "") == "end-file" and ev.data.get("reason") == "error":
                    file_error = ev.data.get("file_error") or "unknown error"
            return file_error

        wait_for(failed, 30, "mpv to refuse the file")
        mpv.proc.send_signal(signal.SIGKILL)
        mpv.proc.wait(timeout=10)
        # As kiosk/player/picture.py words them.
        return {"file_format": f"hỏng.mp4: mpv could not play it: {file_error}",
                "mpv_out_of_memory": f"mpv {mpv.exit_description()}; restarting"}
    finally:
        mpv.stop()


def test_technical_causes_made_for_real_are_said_in_vietnamese(app, tmp_path):
    """Network failures of the sync and mpv failures, made for real, are said in
    Vietnamese after the event's sentence and in the dashboard's sync state."""
    from flask_babel import force_locale

    from admin import technical
    from admin.i18n import say

    network = _real_network_failures(tmp_path)
    mpv = _real_mpv_failures(tmp_path)
    for cause, message in {**network, **mpv}.items():
        found = technical.explain(message)
        assert found is not None and found[0].startswith(cause.split("_")[0]), (cause, message, found)
    with app.test_request_context(), force_locale("vi"):
        s = say()
        refused = s.sync_state({"status": "failed", "code": "network", "reason": network["refused"]})
        assert refused.startswith("thất bại: không kết nối được máy chủ trung tâm — nguyên nhân: "
                                  "127.0.0.1 từ chối kết nối ở cổng "), refused
        assert "Connection refused" not in refused and "HTTPConnection" not in refused
        dns = s.event("sync_network", {}, None, network["dns"])
        assert "không phân giải được tên central.invalid (DNS)" in dns and "resolve" not in dns
        slow = s.event("sync_network", {}, None, network["read_timeout"])
        assert "không trả lời trong 1 giây" in slow, slow
        assert "không dùng HTTPS" in s.event("sync_network", {}, None, network["not_https"])
        assert "trả lời HTTP 501" in s.event("sync_network", {}, None, network["http_status"])
        bad = s.event("media_error", {"output": "hdmi0"}, 1, mpv["file_format"])
        assert "nguyên nhân: mpv không nhận ra định dạng tệp" in bad, bad
        died = s.event("mpv_died", {"output": "hdmi0"}, 1, mpv["mpv_out_of_memory"])
        assert "nguyên nhân: mpv bị buộc dừng (SIGKILL; thường do máy điều khiển hết bộ nhớ)" in died
        # A cause nobody foresaw is still shown, marked as the technical detail.
        odd = s.event("mpv_died", {"output": "hdmi0"}, 1, "mpv did something new")
        assert "chi tiết kỹ thuật: mpv did something new" in odd


# The technical texts kiosk/ words itself (a picture's mpv, the resolvers, the
# display backends): each must have its cause in admin/technical.py.
_TECHNICAL_CALL = re.compile(r'\b(?:Unplayable|DisplayError|_note_error)\(\s*(f?)"((?:[^"\\]|\\.)*)"')
_CHECK_RETURN = re.compile(r'def check\(self\)[^\n]*\n((?:\s{8,}[^\n]*\n|\s*\n)+)')
_RETURN_TEXT = re.compile(r'return (f?)"((?:[^"\\]|\\.)*)"')


def worded_technical_texts() -> list[tuple[str, str]]:
    """(file, sample text) for every literal technical message, placeholders filled."""
    found = []
    for folder in ("player", "display", "text"):
        for path in sorted((KIOSK / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            literals = _TECHNICAL_CALL.findall(text)
            for body in _CHECK_RETURN.findall(text):
                literals += _RETURN_TEXT.findall(body)
            for is_f, literal in literals:
                if not re.search(r"[A-Za-z]{4,}", re.sub(r"\{[^{}]*\}", "", literal)):
                    continue  # only placeholders ("{name}: {why}"): their parts are checked
                sample = literal
                if is_f:
                    sample = re.sub(r"\{[^{}]*\}", "x", re.sub(r"\{[^{}]*!r\}", "'x'", literal))
                found.append((path.relative_to(KIOSK).as_posix(), sample))
    return found


def test_every_worded_technical_text_has_its_cause():
    from admin.technical import explain

    texts = worded_technical_texts()
    assert {f for f, _ in texts} >= {"player/picture.py", "player/resolve.py", "display/sway.py",
                                     "display/x11.py"}  # the scan works
    # The player's own wording around them (kiosk/player/picture.py, mpv.py).
    texts += [("player/picture.py", f"mpv {how}; restarting") for how in (
        "stopped answering for 10 s and was killed", "closed its IPC connection",
        "killed by SIGKILL", "killed by SIGSEGV", "killed by SIGTERM", "exited with status 1")]
    texts.append(("player/picture.py", "a.mp4: mpv could not play it: unrecognized file format"))
    assert [(f, t) for f, t in texts if explain(t) is None] == []


# ---- the ticker band's own mpv (kiosk/player/band.py) -----------------------------
@pytest.mark.parametrize("code", ["band_mpv_start_failed", "band_mpv_died", "band_mpv_failing",
                                  "band_mpv_back"])
def test_band_events_read_in_vietnamese(app, code):
    from flask_babel import force_locale

    from admin.i18n import say

    with app.test_request_context(), force_locale("vi"):
        text = say().event(code, {"output": "hdmi0", "failures": 3}, 1,
                           "ticker band: mpv killed by SIGKILL; restarting")
    assert text.startswith("mpv của dải chữ chạy") and "hdmi0" in text, text
    assert "ticker" not in text and "restarting" not in text, text
