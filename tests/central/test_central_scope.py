"""Scoped publishing (issue 12's safety defect): one person's pending work on
one gate never blocks another gate's publish or an emergency, and a publish
never ships unapproved media. On both stores; the last test is a real gate
pull (kiosk.sync) from the real central app."""

from __future__ import annotations

import json

import pytest
import urllib3

from central.app import basic_auth_header
from central.publish import PublishError, current_release, publish, publish_emergency
from central.checks import Forbidden
from central.users import add_user
from kiosk.cli import main

from tests.support.media import make_image
from tests.support.sync.gate import Gate

http = urllib3.PoolManager(retries=False)


def document(central, gate_id) -> dict:
    return json.loads(current_release(central.db, gate_id)["document"])


def two_gates_published(central, tmp_path) -> dict:
    """gate-a and gate-b, each showing an approved image, published once."""
    for gate_id in ("gate-a", "gate-b"):
        central.gate(gate_id, faces=(1,))
    red = central.media(make_image(tmp_path / "red.png"))
    central.show("gate-a", [red], playlist="a-main")
    central.show("gate-b", [red], playlist="b-main")
    return central.publish().changed


def pending_on(central, tmp_path, gate_id, name="draft.png") -> str:
    """An editor's unapproved image, assigned to `gate_id` (not published)."""
    draft = central.media(make_image(tmp_path / name, color=(0, 120, 0)), approve=False)
    central.show(gate_id, [draft], playlist=f"{gate_id}-draft")
    return draft


def test_emergency_to_gate_a_is_not_blocked_by_gate_bs_unapproved_item(central, runner,
                                                                       tmp_path):
    """The reproduction: `gatecast central emergency --gate gate-a` while gate B
    has an unapproved item. It failed with "gate gate-b: not approved"."""
    first = two_gates_published(central, tmp_path)
    b_before = current_release(central.db, "gate-b")
    draft = pending_on(central, tmp_path, "gate-b")
    # gate A has pending work of its own too: it must neither block the
    # emergency nor ride along with it.
    own_draft = pending_on(central, tmp_path, "gate-a", "own.png")
    token = add_user(central.db, "lan", "operator")
    add_user(central.db, "khach", "viewer")
    config = central.state_dir.parent / f"{central.state_dir.name}.toml"

    def emergency(*extra, ok=True):
        result = runner.invoke(main, [
            "central", "emergency", "--gate", "gate-a", "--text", "vi=Tạm dừng thông quan",
            "--minutes", "30", "--reason", "đóng cửa khẩu theo lệnh 12", *extra,
            "--state", str(central.state_dir), "--config", str(config)])
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    # Who it acts as is checked: a wrong token or a viewer publishes nothing.
    assert "không khớp" in emergency("--as", "lan", "--token", "not-the-token", ok=False)
    assert "cần quyền phát thông báo khẩn cấp" in emergency("--as", "khach", "--token",
                                      _token_of(central, "khach"), ok=False)
    assert current_release(central.db, "gate-a")["version"] == first["gate-a"]
    assert central.db.scalar("SELECT count(*) FROM emergency") == 0

    out = emergency("--as", "lan", "--token", token)
    assert "gate-a: bản phát hành" in out and "gate-b" not in out.split("cửa khẩu thay đổi")[1]
    a = document(central, "gate-a")
    assert a["version"] > first["gate-a"]
    [notice] = a["notices"]
    assert notice["level"] == "emergency" and notice["texts"] == {"vi": "Tạm dừng thông quan"}
    shipped = {m["sha256"] for m in a["media"]}
    assert draft not in shipped and own_draft not in shipped
    assert [p["id"] for p in a["playlists"]] == ["c-a-main"]  # nothing else pending rode along
    b_after = current_release(central.db, "gate-b")
    assert (b_after["version"], b_after["document"]) == (b_before["version"], b_before["document"])
    targets = central.repo.published_targets()
    assert f"media/{draft}" not in targets and f"media/{own_draft}" not in targets
    [entry] = central.db.query("SELECT who, subject, detail FROM audit WHERE action = 'emergency'")
    assert entry["who"] == "lan" and entry["subject"] == notice["id"].removeprefix("c-")[:-2]
    detail = json.loads(entry["detail"])
    assert detail["reason"] == "đóng cửa khẩu theo lệnh 12" and detail["gates"] == ["gate-a"]
    assert detail["targets"] == ["gate:gate-a"]

    # The next full publish holds gate B back (and gate A: its own draft),
    # keeping both releases, and says why per gate.
    with pytest.raises(PublishError, match="gate gate-a: not approved.*gate gate-b: not approved"):
        central.publish()


def _token_of(central, name: str) -> str:
    from central.users import reissue_user_token

    return reissue_user_token(central.db, name)


def test_scoped_publish_holds_back_the_gate_with_unapproved_media(central, tmp_path):
    first = two_gates_published(central, tmp_path)
    draft = pending_on(central, tmp_path, "gate-b")
    blue = central.media(make_image(tmp_path / "blue.png", color=(0, 0, 200)))
    central.show("gate-a", [blue], playlist="a-new")

    result = publish(central.db, central.repo)  # every gate
    assert set(result.changed) == {"gate-a"} and result.unchanged == {}
    assert set(result.held) == {"gate-b"} and "draft.png" in result.held["gate-b"]
    assert blue in {m["sha256"] for m in document(central, "gate-a")["media"]}
    assert current_release(central.db, "gate-b")["version"] == first["gate-b"]
    assert "releases/gate-b.json" in central.repo.published_targets()
    assert f"media/{draft}" not in central.repo.published_targets()

    # Scoped to gate B alone: held back, nothing to publish, nothing signed.
    version = central.repo.version()
    with pytest.raises(PublishError, match="nothing published: gate gate-b: not approved"):
        publish(central.db, central.repo, gates=["gate-b"])
    assert central.repo.version() == version
    # Scoped to gate A: gate B is not even built (its pending work is not looked at).
    green = central.media(make_image(tmp_path / "green.png", color=(0, 200, 0)))
    central.show("gate-a", [green], playlist="a-newer")
    result = publish(central.db, central.repo, gates=["gate-a"])
    assert set(result.changed) == {"gate-a"} and result.held == {}
    assert result.unchanged == {"gate-b": first["gate-b"]}
    with pytest.raises(Exception, match="no gate 'nowhere'"):
        publish(central.db, central.repo, gates=["nowhere"])
    [row] = central.db.query("SELECT detail FROM audit WHERE action = 'publish' "
                             "ORDER BY id DESC LIMIT 1")
    assert json.loads(row["detail"])["scope"] == ["gate-a"]


def test_a_full_publish_after_emergencies_keeps_their_version(central, tmp_path):
    """The emergency release is the gate's release plus the emergency, in the
    order a full build writes it: with nothing else pending, the next full
    publish finds the same content and the gate keeps its version."""
    first = two_gates_published(central, tmp_path)
    for n in range(3):
        made, result = publish_emergency(central.db, central.repo, ["gate:gate-a"],
                                         by=central.operator, reason=f"lần {n}", minutes=30,
                                         texts={"vi": f"Thông báo {n}"})
        assert set(result.changed) == {"gate-a"} and result.unchanged == {"gate-b": first["gate-b"]}
    assert len(document(central, "gate-a")["notices"]) == 3
    result = central.publish()
    assert result.changed == {} and result.held == {}
    assert result.unchanged == {"gate-a": document(central, "gate-a")["version"],
                                "gate-b": first["gate-b"]}


def test_emergency_refuses_a_user_without_the_right_and_an_unsaid_reason(central, tmp_path):
    two_gates_published(central, tmp_path)
    add_user(central.db, "khach", "viewer")
    with pytest.raises(Forbidden):
        publish_emergency(central.db, central.repo, ["gate:gate-a"], by="khach",
                          reason="x", minutes=10, texts={"vi": "x"})
    with pytest.raises(Exception, match="say why"):
        publish_emergency(central.db, central.repo, ["gate:gate-a"], by=central.operator,
                          reason=" ", minutes=10, texts={"vi": "x"})
    assert central.db.scalar("SELECT count(*) FROM emergency") == 0


def test_a_gate_pulls_the_emergency_while_another_gate_has_pending_work(
        central, central_server, tmp_path):
    """Real sync: gate A verifies and activates the emergency release, made
    through the management API while gate B has an unapproved item; gate B
    finds nothing new."""
    gates = {}
    for gate_id in ("gate-a", "gate-b"):
        token = central.gate(gate_id, faces=(1,))
        gates[gate_id] = Gate(tmp_path / gate_id, central_server.url,
                              central.repo.trusted_root_path.read_bytes(), gate_id=gate_id)
        gates[gate_id].token_file.write_text(token + "\n")
    try:
        red = central.media(make_image(tmp_path / "red.png"))
        central.show("gate-a", [red], playlist="a-main")
        central.show("gate-b", [red], playlist="b-main")
        first = central.publish().changed
        for gate in gates.values():
            assert gate.pull().outcome == "activated"
        pending_on(central, tmp_path, "gate-b")
        operator = ("lan", add_user(central.db, "lan", "operator"))
        editor = ("minh", add_user(central.db, "minh", "editor"))

        def api(path, body, person=operator):
            r = http.request("POST", f"{central_server.url}/api/v1/manage{path}",
                             body=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json",
                                      "Authorization": basic_auth_header(*person)})
            return r.status, json.loads(r.data)

        status, err = api("/emergency", {"gate": "gate-a", "texts": {"vi": "Tạm dừng"}})
        assert (status, err["code"]) == (400, "reason") and "Hãy nói lý do" in err["error"]
        status, em = api("/emergency", {"gate": "gate-a", "texts": {"vi": "Tạm dừng thông quan"},
                                        "minutes": 20, "reason": "lũ quét"})
        assert status == 201, em
        assert set(em["changed"]) == {"gate-a"} and em["held"] == {}

        result = gates["gate-a"].pull()
        assert result.outcome == "activated", result.reason
        assert gates["gate-a"].release()["version"] == em["changed"]["gate-a"] > first["gate-a"]
        [notice] = gates["gate-a"].central_rows("notice")
        assert notice["level"] == "emergency" and "Tạm dừng thông quan" in notice["texts"]
        assert gates["gate-b"].pull().outcome == "unchanged"
        assert gates["gate-b"].release()["version"] == first["gate-b"]

        # A scoped request through the API: gate B is held back with its reason,
        # gate A (its emergency aside) has nothing new: nothing to ask for.
        status, pub = api("/publish", {"gates": ["gate-a", "gate-b"], "note": "scoped"}, editor)
        assert (status, pub["code"]) == (409, "nothing_to_publish")
        # Its reason in words (central.checks.SENTENCES "unapproved"), not the build's English.
        assert "Cửa khẩu gate-b giữ nội dung đang chiếu" in pub["error"]
        assert "draft.png" in pub["error"] and "not approved" not in pub["error"]
        assert central.db.count("publication_request") == 0
        assert gates["gate-b"].pull().outcome == "unchanged"
        status, pub = api("/publish", {"groups": "all"}, editor)
        assert (status, pub["code"]) == (400, "id_list")
        assert pub["error"] == "“groups” là một danh sách mã định danh."
    finally:
        for gate in gates.values():
            gate.close()
