"""Central's coded refusals (central.checks.SENTENCES): every code raised
anywhere in central/ has a sentence translated into Vietnamese, every `what`
the shared checks are told has words, and the same refusal is said in
Vietnamese by the console, the CLI and the JSON API. A gate held back for
media not approved yet is named in words in the publish preview, not in the
build's English."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.console import Console, make_user
from tests.support.media import make_image

CENTRAL = Path(__file__).resolve().parents[2] / "central"
CHECKS = ("check_id", "int_list", "check_name", "central_id")
WHAT_ARG = {"check_id": 1, "int_list": 3, "check_name": 1, "central_id": 1}


def _name(func) -> str:
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


# The gate's own checks whose coded refusals central passes on (the text slide's
# spec and a text: kiosk.text.slide.SlideError, kiosk.text.fonts.FontError).
PASSED_ON = [CENTRAL.parent / "kiosk" / "text" / name for name in ("slide.py", "fonts.py")]


def raised_codes_and_whats() -> tuple[set[str], set[str]]:
    codes, whats = set(), set()
    for path in [*sorted(CENTRAL.rglob("*.py")), *PASSED_ON]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = _name(node.func)
                if name == "EntryRefused":  # the gate's EntryError, by its own code
                    from kiosk.schedule_entry import MESSAGES

                    codes |= {"entry_" + code for code in MESSAGES}
                elif name in ("PublicationError", "OwnRequest"):  # (code, message, ...)
                    if node.args and isinstance(node.args[0], ast.Constant):
                        codes.add("publication_" + node.args[0].value)
                    else:
                        raise AssertionError(f"{path}:{node.lineno}: cannot read the code")
                elif name == "StaleError":
                    codes.add("publication_stale")
                elif name == "EmergencyError":  # EmergencyError("code", message, ...)
                    if node.args and isinstance(node.args[0], ast.Constant):
                        codes.add("emergency_" + node.args[0].value)
                    else:
                        raise AssertionError(f"{path}:{node.lineno}: cannot read the code")
                elif name.endswith("Error") or name in ("NotFound", "Forbidden", "Said"):
                    # CentralError(message, "code", ...) or code="..."
                    if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                        codes.add(node.args[1].value)
                    elif len(node.args) >= 2 and isinstance(node.args[1], ast.IfExp):
                        codes |= {n.value for n in ast.walk(node.args[1])
                                  if isinstance(n, ast.Constant) and isinstance(n.value, str)}
                    codes |= {kw.value.value for kw in node.keywords if kw.arg == "code"
                              and isinstance(kw.value, ast.Constant)}
                if name in CHECKS and path.name != "checks.py":
                    i = WHAT_ARG[name]
                    arg = node.args[i] if len(node.args) > i else None
                    if arg is None:
                        arg = next((kw.value for kw in node.keywords if kw.arg == "what"), None)
                    if isinstance(arg, ast.Constant):
                        whats.add(arg.value)
                    elif not (isinstance(arg, ast.Name) and arg.id == "what"):
                        raise AssertionError(f"{path}:{node.lineno}: cannot read what "
                                             f"{name} checks")
            # A sentence of its own: e.sentence = "..." (central.checks.in_words).
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Attribute) and t.attr == "sentence" for t in node.targets):
                if not isinstance(node.value, ast.Constant):
                    raise AssertionError(f"{path}:{node.lineno}: cannot read the sentence")
                codes.add(node.value.value)
            # Items of a coded refusal: {"code": "...", ...}
            if isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values):
                    if (isinstance(k, ast.Constant) and k.value == "code"
                            and isinstance(v, ast.Constant) and path.name == "publish.py"):
                        codes.add(v.value)
    return codes, whats


def _vi() -> dict[str, str]:
    from babel.messages.pofile import read_po

    with open(CENTRAL / "translations" / "vi" / "LC_MESSAGES" / "messages.po", "rb") as f:
        return {m.id: m.string for m in read_po(f, locale="vi") if m.id}


def test_every_code_has_a_vietnamese_sentence_and_every_what_has_words():
    from central.checks import SENTENCES, WHAT

    codes, whats = raised_codes_and_whats()
    assert {"id_format", "numbers", "name_long", "unapproved", "unapproved_item",
            "nothing_published"} <= codes  # the scan works
    assert not codes - set(SENTENCES), f"codes without a sentence: {codes - set(SENTENCES)}"
    assert not set(SENTENCES) - codes, f"sentences no code uses: {set(SENTENCES) - codes}"
    assert {"gate", "faces", "playlist name"} <= whats
    assert not whats - set(WHAT), f"checks told of a what without words: {whats - set(WHAT)}"
    vi = _vi()
    for msgid in [*SENTENCES.values(), *WHAT.values()]:
        assert vi.get(msgid) and vi[msgid] != msgid, msgid


def test_the_cli_and_the_json_api_say_a_refusal_in_vietnamese(central, runner, console_app):
    from kiosk.cli import main

    from central.app import basic_auth_header
    from central.checks import CentralError, check_id, in_words

    try:
        check_id("Cửa Khẩu!", "gate")
    except CentralError as e:
        assert "lower-case" in str(e)  # str() stays English, for logs and scripts
        assert in_words(e) == ("Mã cửa khẩu gồm 1 đến 63 chữ thường (a–z), chữ số, “-” hoặc "
                               "“_”, bắt đầu bằng chữ hoặc số (không phải “Cửa Khẩu!”).")
        assert in_words(e, "en").startswith("A gate id is 1 to 63")
    token = make_user(central.db, "chi", "admin")
    config = central.state_dir.parent / f"{central.state_dir.name}.toml"
    out = runner.invoke(main, ["central", "gate", "add", "Cua Khau", "--name", "x", "--as", "chi",
                               "--token", token, "--state", str(central.state_dir),
                               "--config", str(config)])
    assert out.exit_code == 1 and "Mã cửa khẩu gồm 1 đến 63" in out.output, out.output
    r = console_app.test_client().post("/api/v1/manage/gates", json={"id": "Cua Khau"},
                                       headers={"Authorization": basic_auth_header("chi", token)})
    assert r.status_code == 400 and r.json["code"] == "id_format"
    assert r.json["error"].startswith("Mã cửa khẩu gồm 1 đến 63")
    assert central.db.count("gate") == 0
    # An emergency's refusal too (SENTENCES "emergency_<code>"), its API code unchanged.
    out = runner.invoke(main, ["central", "emergency", "--gate", "x", "--text", "vi=Tạm dừng",
                               "--minutes", "99999", "--reason", "lệnh", "--as", "chi",
                               "--token", token, "--state", str(central.state_dir),
                               "--config", str(config)])
    assert out.exit_code == 1, out.output
    assert "Thông báo khẩn kéo dài hơn 0 và tối đa 24 giờ." in out.output, out.output
    r = console_app.test_client().post("/api/v1/manage/emergency",
                                       json={"targets": ["nowhere"], "reason": "lệnh",
                                             "texts": {"vi": "Tạm dừng"}},
                                       headers={"Authorization": basic_auth_header("chi", token)})
    assert (r.status_code, r.json) == (400, {"code": "target",
                                             "error": "Không phải phạm vi hợp lệ: nowhere."})
    assert central.db.count("emergency") == 0
    # A schedule entry the gate's rules refuse (kiosk.schedule_entry.EntryError), by its code.
    out = runner.invoke(main, ["central", "assign", "entry", "--gate", "x", "--playlist", "p",
                               "--start", "25:00", "--as", "chi", "--token", token,
                               "--state", str(central.state_dir), "--config", str(config)])
    assert out.exit_code == 1 and "không phải là giờ trong ngày: dùng HH:MM" in out.output, \
        out.output
    assert "is not a time" not in out.output
    assert central.db.count("schedule_entry") == 0


def test_a_held_gate_is_named_in_words_in_the_publish_preview(central, console_app, tmp_path,
                                                               runner):
    from kiosk.cli import main

    central.gate("gate-a", faces=(1,))
    central.gate("gate-b", faces=(1,))
    red = central.media(make_image(tmp_path / "red.png"))
    blue = central.media(make_image(tmp_path / "xanh.png", color=(0, 0, 255)), approve=False)
    central.show("gate-a", [red], playlist="a-main")
    central.show("gate-b", [blue], playlist="b-main")
    make_user(central.db, "bien-tap", "editor")
    c = Console(console_app)
    c.login("bien-tap")
    page = c.text("/publish/?show=1&gate=gate-a&gate=gate-b")
    assert ("Cửa khẩu gate-b giữ nội dung đang chiếu: nó dùng nội dung chưa được duyệt "
            f"(xanh.png ({blue[:12]}) trong danh sách phát c-b-main)") in page
    assert "not approved" not in page and "in playlist" not in page
    # Only gate-b in scope: nothing to publish, said in words.
    r = c.post("/publish/", {"gate": ["gate-b"]})
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and "Cửa khẩu gate-b giữ nội dung đang chiếu" in body
    assert "not approved" not in body
    # The CLI's preview says it in Vietnamese too.
    config = central.state_dir.parent / f"{central.state_dir.name}.toml"
    out = runner.invoke(main, ["central", "publish", "preview", "--gate", "gate-b", "--state",
                               str(central.state_dir), "--config", str(config)])
    assert out.exit_code == 0, out.output
    assert "Cửa khẩu gate-b giữ nội dung đang chiếu" in out.output
    assert "not approved" not in out.output
    c.post("/language", {"lang": "en", "next": "/"})
    page = c.text("/publish/?show=1&gate=gate-b")
    assert "Gate gate-b keeps what it shows now: it uses media not approved yet" in page


def test_what_a_publication_leaves_out_and_an_empty_scope_are_said_in_words(
        central, console_app, tmp_path, runner):
    """A build's warnings (media outside its dates), a held gate and a scope
    with no gate: in words with their codes in the console, the CLI and the
    management API, never the build's English."""
    from datetime import date, timedelta

    from kiosk.cli import main
    from kiosk.store import utcnow

    from central.app import basic_auth_header
    from central.fleet import add_group
    from central.library import set_media_dates
    from central.manage import _result
    from central.publish import media_day, publish

    central.gate("gate-a", faces=(1,))
    central.gate("gate-b", faces=(1,))
    add_group(central.db, "trong", "Nhóm trống")
    red = central.media(make_image(tmp_path / "red.png"))
    later = central.media(make_image(tmp_path / "sau.png", color=(0, 90, 0)))
    blue = central.media(make_image(tmp_path / "xanh.png", color=(0, 0, 255)), approve=False)
    start = date.fromisoformat(media_day(utcnow())) + timedelta(days=9)
    set_media_dates(central.db, later, central.approver, start.isoformat(), None)
    central.show("gate-a", [red, later], playlist="a-main")
    central.show("gate-b", [blue], playlist="b-main")
    shown = f"{start:%d/%m/%Y}"
    warned = (f"Cửa khẩu gate-a: danh sách phát a-main bỏ qua sau.png (nội dung này chỉ được "
              f"chiếu {shown} – …).")
    token = make_user(central.db, "bien-tap", "editor")
    c = Console(console_app)
    c.login("bien-tap")
    page = c.text("/publish/?show=1&gate=gate-a&gate=gate-b")
    assert warned in page and "leaves out" not in page
    # The management API: {"warning"/"error": words, "code": ...}.
    api = console_app.test_client()
    auth = {"Authorization": basic_auth_header("bien-tap", token)}
    r = api.get("/api/v1/manage/publish/preview?gate=gate-a&gate=gate-b", headers=auth)
    gates = {g["gate"]: g for g in r.json["gates"]}
    assert gates["gate-a"]["warnings"] == [{"warning": warned, "code": "warn_dates"}]
    assert gates["gate-a"]["held"] is None
    assert gates["gate-b"]["held"]["code"] == "unapproved"
    assert gates["gate-b"]["held"]["error"].startswith("Cửa khẩu gate-b giữ nội dung đang chiếu")
    r = api.get("/api/v1/manage/publish/preview?group=trong", headers=auth)
    assert (r.status_code, r.json) == (400, {"code": "scope_empty", "error": (
        "Không có cửa khẩu nào trong lựa chọn này (nhóm trống?).")})
    # The CLI's preview.
    config = central.state_dir.parent / f"{central.state_dir.name}.toml"
    state = ["--state", str(central.state_dir), "--config", str(config)]
    out = runner.invoke(main, ["central", "publish", "preview", "--gate", "gate-a", *state])
    assert out.exit_code == 0 and f"Cảnh báo: {warned}" in out.output, out.output
    out = runner.invoke(main, ["central", "publish", "preview", "--group", "trong", *state])
    assert out.exit_code == 1 and "Không có cửa khẩu nào trong lựa chọn này" in out.output
    assert "no gate in that scope" not in out.output
    # Approved in the console: the page it lands on says what was left out.
    assert c.post("/publish/", {"gate": ["gate-a"]}).status_code == 302
    make_user(central.db, "duyet", "approver")
    approver = Console(console_app)
    approver.login("duyet")
    rid = central.db.scalar("SELECT max(id) FROM publication_request")
    r = approver.post(f"/publish/{rid}/approve")
    assert r.status_code == 302
    assert warned in approver.text(r.headers["Location"])
    # A publication's answer: the held gate and the warnings in words, with codes.
    result = publish(central.db, central.repo)
    with console_app.test_request_context("/api/v1/manage/publish", headers=auth):
        answer = _result(result)
    assert answer["held"] == {"gate-b": {"code": "unapproved", "error": gates["gate-b"]["held"]
                                         ["error"]}}
    assert {"warning": warned, "code": "warn_dates"} in answer["warnings"]
    assert "leaves out" in " ".join(result.warnings)  # str() stays English, for logs


def test_the_gates_own_refusals_of_a_slide_a_text_and_a_media_id_are_said_in_words(
        central, console_app, runner, tmp_path):
    """What only the CLI and the management API can send (a text slide's
    spec, a notice's texts, a media id) is refused by the gate's own checks,
    said in Vietnamese with a code, never in the gate core's English; nothing
    is stored."""
    import json

    from kiosk.cli import main

    from central.app import basic_auth_header

    central.gate("gate-a", faces=(1,))
    token = make_user(central.db, "chi", "admin")
    api = console_app.test_client()
    auth = {"Authorization": basic_auth_header("chi", token)}
    for spec, code, said in (
            ({"title": {"vi": "Mở cửa"}, "layout": "grid"}, "slide_layout",
             "Bố cục là “stacked” hoặc “in_turn” (không phải “grid”)."),
            ({"title": {"vi": "Mở cửa"}, "shade": 3}, "slide_shade",
             "Độ phủ tối là một số từ 0 đến 1 (không phải 3)."),
            ({"title": {"xx": "Mở cửa"}}, "text_language",
             "“xx” không phải là ngôn ngữ các cửa khẩu hiển thị (vi, zh, lo, km, en)."),
            ({"title": {"vi": "Mở\x07cửa"}}, "text_control",
             "Nội dung chữ có ký tự điều khiển U+0007: hãy xóa ký tự này."),
            ({"title": {"vi": "Mở cửa"}, "languages": ["vi", "en"]}, "slide_language_text",
             "Trang chữ ghi Tiếng Anh trong các ngôn ngữ nhưng không có chữ Tiếng Anh."),
            ({"title": {"vi": "Mở cửa"}, "background_image": "xyz"}, "sha256_format",
             "“xyz” không phải là mã nội dung")):
        r = api.post("/api/v1/manage/text", json={"spec": spec, "name": "mở cửa"}, headers=auth)
        assert (r.status_code, r.json["code"]) == (400, code), r.json
        assert r.json["error"].startswith(said), r.json
    r = api.post("/api/v1/manage/assignments/notice", headers=auth,
                 json={"gate": "gate-a", "texts": {"vi": "Đóng\x1bcửa"}, "kind": "ticker"})
    assert (r.status_code, r.json["code"]) == (400, "text_control"), r.json
    assert r.json["error"] == "Nội dung chữ có ký tự điều khiển U+001B: hãy xóa ký tự này."
    r = api.post("/api/v1/manage/media/not-a-sha/approve", json={}, headers=auth)
    assert (r.status_code, r.json["code"]) == (400, "sha256_format"), r.json
    assert central.db.count("media") == 0 and central.db.count("notice") == 0
    # The CLI says the slide's refusal in words too.
    spec = tmp_path / "slide.json"
    spec.write_text(json.dumps({"title": {"vi": "Mở cửa"}, "align": "right"}), encoding="utf-8")
    config = central.state_dir.parent / f"{central.state_dir.name}.toml"
    out = runner.invoke(main, ["central", "media", "add", str(spec), "--text", "--as", "chi",
                               "--token", token, "--state", str(central.state_dir),
                               "--config", str(config)])
    assert out.exit_code == 1, out.output
    assert "Căn lề là “center” hoặc “left” (không phải “right”)." in out.output, out.output
    assert "align must be" not in out.output and central.db.count("media") == 0


def test_a_publication_requests_refusals_are_said_in_vietnamese_on_the_command_line(
        central, runner, tmp_path):
    """PublicationError's refusals (four eyes, unknown, already decided, a
    rejection without a reason) by their codes: Vietnamese on the CLI, where
    no request gives a language, with the request's state in words."""
    from kiosk.cli import main

    from central import publication

    central.gate("gate-a", faces=(1,))
    central.show("gate-a", [central.media(make_image(tmp_path / "red.png"))])
    token = make_user(central.db, "duyet", "approver")
    rid = publication.submit(central.db, central.repo, by="duyet", gates=["gate-a"])
    config = central.state_dir.parent / f"{central.state_dir.name}.toml"

    def cli(*args):
        return runner.invoke(main, ["central", "publish", *args, "--as", "duyet", "--token",
                                    token, "--state", str(central.state_dir), "--config",
                                    str(config)])

    out = cli("approve", str(rid))
    assert out.exit_code == 1 and ("Nguyên tắc hai người: không ai tự duyệt những gì chính mình đã gửi. duyet đã gửi"
                                   in out.output), out.output
    out = cli("approve", "999")
    assert out.exit_code == 1 and "Không có yêu cầu phát hành 999." in out.output, out.output
    publication.reject(central.db, rid, by="duyet", reason="")
    out = cli("reject", str(rid), "--reason", "sai")
    assert out.exit_code == 1 and f"Yêu cầu {rid} đã được quyết định (đã rút lại)." \
        in out.output, out.output
    assert "Four eyes" not in out.output and "already decided" not in out.output


def test_a_slide_that_cannot_be_drawn_on_a_face_is_said_in_words():
    """The slide preview's refusal (kiosk's render: the text does not fit)
    passes its code on, so the console says it in the reader's language."""
    import pytest

    from kiosk.text.slide import SlideError, parse_spec, render_images

    from central.checks import CentralError, in_words

    spec = parse_spec({"body": {"vi": "Cửa khẩu mở cửa từ 7 giờ đến 22 giờ hằng ngày " * 40}})
    with pytest.raises(SlideError) as e:
        render_images(spec, 64, 64)
    said = in_words(CentralError(str(e.value), e.value.code, **e.value.params))
    assert said == "Chữ không vừa mặt màn hình kể cả với cỡ chữ nhỏ nhất: hãy rút ngắn."
