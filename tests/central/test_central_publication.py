"""Publishing with a preview and a second pair of eyes (issue 12): what
changes on each face, submit → another approver approves → exactly that is
published; a stale request or form publishes nothing; one gate's pending work
never blocks another gate. On both stores."""

from __future__ import annotations

import json

import pytest

from central import publication
from central.assign import add_notice, add_power_window
from central.checks import Forbidden
from central.publication import StaleError, form_token
from central.publish import current_release, preview, publish_emergency
from central.users import add_user

from tests.support.media import make_image


@pytest.fixture
def desk(central, tmp_path):
    """Two published gates, an editor `lan`, approvers `approver` and `minh`."""
    central.gate("gate-a", faces=(1, 2))
    central.gate("gate-b", faces=(1,))
    red = central.media(make_image(tmp_path / "red.png"))
    central.show("gate-a", [red], playlist="a-main")
    central.show("gate-b", [red], playlist="b-main")
    central.publish()
    add_user(central.db, "lan", "editor")
    add_user(central.db, "minh", "approver")
    return central


def version(central, gate_id):
    return current_release(central.db, gate_id)["version"]


def test_preview_says_what_changes_on_each_face(desk, tmp_path):
    add_notice(desk.db, "gate", "gate-a", {"vi": "Giờ mở cửa 7:00"}, faces=[2])
    add_power_window(desk.db, "gate", "gate-a", "05:30", "22:30", face_id=1)
    blue = desk.media(make_image(tmp_path / "blue.png", color=(0, 0, 200)))
    desk.show("gate-a", [blue], playlist="a-main")  # the playlist now shows blue
    [a] = preview(desk.db, desk.state_dir, gates=["gate-a"])
    assert a.changes and a.held is None and a.version == version(desk, "gate-a")
    assert a.faces[2]["notices"]["added"] == ["ticker · normal · Giờ mở cửa 7:00"]
    assert a.faces[1]["notices"]["added"] == []
    assert a.faces[1]["power"]["added"] == ["05:30–22:30 · 0,1,2,3,4,5,6"]
    assert a.faces[1]["playlists"]["removed"] == ["a-main: red.png"]
    assert a.faces[1]["playlists"]["added"] == ["a-main: blue.png"]
    # Nothing was published by looking.
    assert desk.publish().changed.keys() == {"gate-a"}
    [again] = preview(desk.db, desk.state_dir, gates=["gate-a"])
    assert not again.changes


def test_four_eyes_submit_then_another_approver_publishes_exactly_that(desk):
    add_notice(desk.db, "gate", "gate-a", {"vi": "Thông báo mới"})
    before_b = version(desk, "gate-b")
    rid = publication.submit(desk.db, desk.state_dir, by="lan", gates=["gate-a", "gate-b"])
    assert publication.get(desk.db, rid)["gates"] == ["gate-a"]  # gate-b has no change
    with pytest.raises(Forbidden):  # an editor cannot approve
        publication.approve(desk.db, desk.repo, rid, by="lan")
    # An approver who submitted cannot approve their own.
    own = publication.submit(desk.db, desk.state_dir, by="minh", gates=["gate-a"])
    with pytest.raises(Forbidden, match="Four eyes"):
        publication.approve(desk.db, desk.repo, own, by="minh")
    result = publication.approve(desk.db, desk.repo, rid, by=desk.approver)
    assert set(result.changed) == {"gate-a"} and version(desk, "gate-b") == before_b
    done = publication.get(desk.db, rid)
    assert (done["state"], done["decided_by"]) == ("published", desk.approver)
    assert done["publication_id"] == result.publication_id
    # Its twin is now stale: the release in force changed.
    with pytest.raises(StaleError, match="gate-a"):
        publication.approve(desk.db, desk.repo, own, by=desk.approver)
    assert publication.get(desk.db, own)["state"] == "stale"
    actions = [r["action"] for r in desk.db.query(
        "SELECT action FROM audit WHERE action LIKE 'publication.%' ORDER BY id")]
    assert actions == ["publication.submit", "publication.submit", "publication.approve",
                       "publication.stale"]


def test_an_edit_after_submission_is_never_shipped(desk):
    """Someone else's edit made after the editor submitted: the approval is
    refused as stale and nothing is published."""
    add_notice(desk.db, "gate", "gate-a", {"vi": "Đã duyệt"})
    rid = publication.submit(desk.db, desk.state_dir, by="lan", gates=["gate-a"])
    add_notice(desk.db, "gate", "gate-a", {"vi": "Chưa ai xem"}, by="someone")
    repo_version = desk.repo.version()
    with pytest.raises(StaleError):
        publication.approve(desk.db, desk.repo, rid, by="minh")
    assert desk.repo.version() == repo_version
    assert "Chưa ai xem" not in current_release(desk.db, "gate-a")["document"]


def test_an_emergency_meanwhile_does_not_make_it_stale_and_is_kept(desk):
    add_notice(desk.db, "gate", "gate-a", {"vi": "Lịch mới"})
    rid = publication.submit(desk.db, desk.state_dir, by="lan", gates=["gate-a"])
    eid, _ = publish_emergency(desk.db, desk.repo, ["gate:gate-a"], by=desk.operator,
                               reason="sương mù", minutes=30, texts={"vi": "Sương mù dày"})
    publication.approve(desk.db, desk.repo, rid, by="minh")
    doc = json.loads(current_release(desk.db, "gate-a")["document"])
    texts = [n["texts"]["vi"] for n in doc["notices"]]
    assert "Lịch mới" in texts and "Sương mù dày" in texts


def test_a_stale_form_is_refused_and_pending_work_on_one_gate_blocks_no_other(desk, tmp_path):
    token = form_token(preview(desk.db, desk.state_dir, gates=["gate-a", "gate-b"]))
    add_notice(desk.db, "gate", "gate-a", {"vi": "A"})
    # Someone else publishes gate-a meanwhile: the old form is stale.
    desk.publish()
    with pytest.raises(StaleError, match="gate-a"):
        publication.submit(desk.db, desk.state_dir, by="lan", gates=["gate-a", "gate-b"],
                           token=token)
    assert desk.db.count("publication_request") == 0
    # gate-b has an unapproved draft: gate-a's request goes through anyway.
    draft = desk.media(make_image(tmp_path / "draft.png", color=(0, 99, 0)), approve=False)
    desk.show("gate-b", [draft], playlist="b-draft")
    add_notice(desk.db, "gate", "gate-a", {"vi": "B"})
    previews = preview(desk.db, desk.state_dir, gates=["gate-a", "gate-b"])
    held = {p.gate["id"]: p.held for p in previews}
    assert held["gate-a"] is None and "not approved" in held["gate-b"]
    rid = publication.submit(desk.db, desk.state_dir, by="lan", gates=["gate-a", "gate-b"],
                             token=form_token(previews))
    result = publication.approve(desk.db, desk.repo, rid, by="minh")
    assert set(result.changed) == {"gate-a"} and result.held == {}
    # Rejecting needs a reason; the submitter may withdraw.
    add_notice(desk.db, "gate", "gate-a", {"vi": "C"})
    rid = publication.submit(desk.db, desk.state_dir, by="lan", gates=["gate-a"])
    with pytest.raises(Exception, match="Say why"):
        publication.reject(desk.db, rid, by="minh", reason="")
    publication.reject(desk.db, rid, by="minh", reason="sai chính tả")
    assert publication.get(desk.db, rid)["state"] == "rejected"
