"""The kill switch from central (central/killswitch.py) against a real gate:
the blank rides the signed release, the gate's sync takes it up and logs who
and why, the player's faces go black and come back, a tampered release is
refused, and central's and the technician's switches never release each
other. On SQLite and PostgreSQL (tests/central/conftest.py)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from central.checks import CentralError, Forbidden, NotFound
from central.killswitch import KillSwitchError, blank, blank_state, unblank
from central.users import add_user
from kiosk.power.evaluate import evaluate, load_plan
from kiosk.power.service import blank_off, blank_on

from tests.support.fleet import two_faces_on_sway
from tests.support.media import make_image
from tests.support.sync.gate import Gate

GATE = "lang-son-huu-nghi"


@pytest.fixture
def gate(central, central_server, tmp_path):
    token = central.gate(GATE, faces=(1, 2))
    g = Gate(tmp_path / "gate", central_server.url, central.repo.trusted_root_path.read_bytes(),
             gate_id=GATE)
    g.token_file.write_text(token + "\n")
    red = central.media(make_image(tmp_path / "red.png", color=(220, 20, 20)))
    central.show(GATE, [red])
    central.publish()
    assert g.pull().outcome == "activated"
    g.red = red
    yield g
    g.close()


@pytest.fixture
def operator(central):
    add_user(central.db, "lan", "operator")
    return "lan"


def dark_faces(db) -> dict[int, str]:
    plan, problems = load_plan(db)
    assert problems == []
    from kiosk.store import utcnow

    return {f: d.source for f in (1, 2)
            if (d := evaluate(plan, f, utcnow(), "Asia/Ho_Chi_Minh")).dark}


def in_vietnamese(event, tmp_path) -> str:
    """The event as the gate admin shows it to a Vietnamese reader (admin/events.py)."""
    from babel.support import Translations

    from admin.events import Renderer
    from admin.i18n import compiled_catalogues

    # The admin's folder and the shared kiosk/web one, merged as Flask-Babel does.
    folders = compiled_catalogues(tmp_path / "admin-state").split(";")
    vi = Translations.load(folders[0], ["vi"])
    for folder in folders[1:]:
        vi.merge(Translations.load(folder, ["vi"]))

    def gettext(text, **params):
        text = vi.gettext(text)
        return text % params if params else text

    return Renderer(gettext, str, str).event(event["code"], json.loads(event["detail"]),
                                             event["face_id"], event["message"])


def audit_rows(central, action):
    return [r for r in central.db.query("SELECT * FROM audit ORDER BY id") if r["action"] == action]


def test_blank_rides_the_signed_release_and_the_gate_logs_who_and_why(central, gate, operator,
                                                                        tmp_path):
    result = blank(central.db, central.repo, GATE, by=operator, reason="nội dung sai trên mặt 2",
                   faces=[2])
    assert result.blank["active"] and result.blank["faces"] == [2]
    version = result.publication.changed[GATE]
    [row] = audit_rows(central, "blank")
    assert (row["who"], row["subject"]) == ("lan", f"gate:{GATE}")
    assert json.loads(row["detail"])["reason"] == "nội dung sai trên mặt 2"

    pulled = gate.pull()
    assert pulled.outcome == "activated", pulled.reason
    assert gate.release()["version"] == version
    assert dark_faces(gate.db) == {2: "central_blank"}
    [event] = gate.events("central_blank")
    detail = json.loads(event["detail"])
    assert (event["code"], detail["by"], detail["reason"], detail["faces"]) == (
        "central_blank_on", "lan", "nội dung sai trên mặt 2", [2])
    assert in_vietnamese(event, tmp_path) == (
        f"Máy chủ trung tâm đã tắt hình mặt 2 (người thực hiện: lan, bản phát hành {version}): "
        "nội dung sai trên mặt 2. Chỉ máy chủ trung tâm mới bỏ được")
    # The content stayed: only the blank was added (nothing pending rode along).
    assert {r["sha256"] for r in gate.central_rows("media")} == {gate.red}

    # A full publish with new content keeps the blank; no second event.
    blue = central.media(make_image(tmp_path / "blue.png", color=(20, 20, 220)))
    central.show(GATE, [blue], playlist="second")
    assert central.publish().changed[GATE] > version
    assert gate.pull().outcome == "activated"
    assert dark_faces(gate.db) == {2: "central_blank"}
    assert len(gate.events("central_blank")) == 1

    # The technician's own switch: releasing it leaves central's blank.
    blank_on(gate.db, by="kythuat", reason="kiểm tra")
    assert dark_faces(gate.db) == {1: "blank", 2: "blank"}
    blank_off(gate.db, by="kythuat")
    assert dark_faces(gate.db) == {2: "central_blank"}

    # Central releases it; the gate says so, with who and why.
    released = unblank(central.db, central.repo, GATE, by=operator, reason="đã sửa nội dung")
    assert released.blank["active"] is False
    assert gate.pull().outcome == "activated"
    assert dark_faces(gate.db) == {}
    off = gate.events("central_blank")[-1]
    assert off["code"] == "central_blank_off"
    assert in_vietnamese(off, tmp_path).startswith(
        "Máy chủ trung tâm đã bỏ tắt hình (người thực hiện: lan, bản phát hành ")
    assert in_vietnamese(off, tmp_path).endswith("): đã sửa nội dung")
    assert [r["action"] for r in audit_rows(central, "unblank")] == ["unblank"]


def test_centrals_release_does_not_lift_the_technicians_blank(central, gate, operator):
    blank_on(gate.db, by="kythuat", reason="màn hình hỏng")
    blank(central.db, central.repo, GATE, by=operator, reason="kiểm tra từ xa")
    assert gate.pull().outcome == "activated"
    assert dark_faces(gate.db) == {1: "blank", 2: "blank"}
    unblank(central.db, central.repo, GATE, by=operator, reason="xong")
    assert gate.pull().outcome == "activated"
    assert dark_faces(gate.db) == {1: "blank", 2: "blank"}
    assert gate.db["blank"].get(1)["active"] == 1
    # Every face, chosen as the gate's whole list, is stored as "every face".
    assert blank_state(central.db, GATE)["active"] is False


def test_a_tampered_blank_release_is_refused(central, gate, operator):
    before = gate.release()["version"]
    blank(central.db, central.repo, GATE, by=operator, reason="thử")
    [served] = [p for p in central.repo.targets_dir.glob("releases/*")
                if p.name.endswith(f".{GATE}.json")
                and json.loads(p.read_bytes()).get("blank", {}).get("active")]
    doc = json.loads(served.read_bytes())
    doc["blank"]["faces"] = [1]  # an attacker narrows the blank behind central's back
    served.write_bytes(json.dumps(doc).encode())

    result = gate.pull()
    assert result.outcome != "activated" and result.code == "tampered", result.reason
    assert gate.release()["version"] == before
    assert dark_faces(gate.db) == {}
    assert gate.events("central_blank") == []


def test_bad_blank_requests_store_nothing(central, gate, operator):
    version = central.repo.version()
    add_user(central.db, "xem", "viewer")
    cases = [
        (dict(gate_id="no-such-gate", by=operator, reason="x"), NotFound),
        (dict(gate_id=GATE, by=operator, reason="x", faces=[3]), KillSwitchError),
        (dict(gate_id=GATE, by=operator, reason="x", faces="1,9"), CentralError),
        (dict(gate_id=GATE, by=operator, reason="   "), KillSwitchError),
        (dict(gate_id=GATE, by=operator, reason="two\nlines"), KillSwitchError),
        (dict(gate_id=GATE, by="xem", reason="x"), Forbidden),
        (dict(gate_id=GATE, by="nobody", reason="x"), Forbidden),
    ]
    for kwargs, error in cases:
        gate_id = kwargs.pop("gate_id")
        with pytest.raises(error):
            blank(central.db, central.repo, gate_id, **kwargs)
    with pytest.raises(KillSwitchError, match="not blanked"):
        unblank(central.db, central.repo, GATE, by=operator, reason="x")
    assert blank_state(central.db, GATE) is None
    assert audit_rows(central, "blank") == [] and audit_rows(central, "unblank") == []
    assert central.repo.version() == version


def test_cli_blank_and_unblank_check_who_acts(central, gate):
    from central.cli import central as central_cli

    token = add_user(central.db, "lan", "operator")
    state = central.state_dir
    env = {"GATECAST_STATE_DIR": str(state),
           "GATECAST_CENTRAL_CONFIG": str(state.parent / f"{state.name}.toml")}
    runner = CliRunner()
    wrong = runner.invoke(central_cli, ["blank", "--gate", GATE, "--reason", "x", "--as", "lan",
                                        "--token", "wrong"], env=env)
    assert wrong.exit_code != 0 and "không khớp" in wrong.output
    assert blank_state(central.db, GATE) is None

    done = runner.invoke(central_cli, ["blank", "--gate", GATE, "--faces", "1", "--reason",
                                       "sai nội dung", "--as", "lan", "--token", token], env=env)
    assert done.exit_code == 0, done.output
    assert f"cửa khẩu {GATE} bị tắt hình từ trung tâm (1)" in done.output
    assert gate.pull().outcome == "activated"
    assert dark_faces(gate.db) == {1: "central_blank"}
    back = runner.invoke(central_cli, ["unblank", "--gate", GATE, "--reason", "ok", "--as", "lan",
                                       "--token", token], env=env)
    assert back.exit_code == 0, back.output
    assert gate.pull().outcome == "activated"
    assert dark_faces(gate.db) == {}


W, H = 640, 360
SWAY_CONFIG = two_faces_on_sway(W, H, screenshot_interval_s=0)


def region_colour(image, face) -> set:
    """The colours at points well inside a face's half of the output."""
    x0 = 0 if face == 1 else W // 2
    return {image.getpixel((x0 + dx, H // 2 + dy)) for dx in (60, W // 4, W // 2 - 60)
            for dy in (-50, 0, 50)}


def near(colours: set, rgb, tol=20) -> bool:
    return all(all(abs(a - b) <= tol for a, b in zip(c, rgb)) for c in colours)


@pytest.mark.slow
def test_the_players_faces_go_black_on_the_output_and_come_back(central, gate, operator, tmp_path,
                                                                 monkeypatch):
    """Real sway, real player (mpv), real sync pulls: central blanks face 2 and
    its half of the output turns black while face 1 beside it keeps playing;
    the release brings it back."""
    from kiosk.power.plugin import PowerPlugin
    from kiosk.settings import load_settings

    from tests.support.player import running_player
    from tests.support.sway import HeadlessSway
    from tests.support.wait import wait_for

    config = tmp_path / "player.toml"
    config.write_text(SWAY_CONFIG, encoding="utf-8")
    settings = load_settings(config_file=config, state_dir=gate.state_dir, env={})
    red = (220, 20, 20)
    sway = HeadlessSway(((W, H),)).start()
    try:
        monkeypatch.setenv("WAYLAND_DISPLAY", sway.env()["WAYLAND_DISPLAY"])
        monkeypatch.setenv("SWAYSOCK", sway.env()["SWAYSOCK"])
        with running_player(settings, plugins=[PowerPlugin]):
            def shows(face1, face2) -> bool:
                image = sway.grab("HEADLESS-1")
                return near(region_colour(image, 1), face1) and near(region_colour(image, 2), face2)

            wait_for(lambda: shows(red, red), timeout=90, what="both faces red")
            blank(central.db, central.repo, GATE, by=operator, reason="sai nội dung", faces=[2])
            assert gate.pull().outcome == "activated"
            wait_for(lambda: shows(red, (0, 0, 0)), timeout=30, what="face 2 black, face 1 red")
            image = sway.grab("HEADLESS-1")
            assert image.crop((W // 2, 0, W, H)).getextrema() == ((0, 0), (0, 0), (0, 0))
            image.save(tmp_path / "central-blank-face-2.png")  # evidence for people

            unblank(central.db, central.repo, GATE, by=operator, reason="đã sửa")
            assert gate.pull().outcome == "activated"
            wait_for(lambda: shows(red, red), timeout=30, what="face 2 back")
    finally:
        sway.stop()
