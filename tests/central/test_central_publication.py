"""Publishing with a preview and a second pair of eyes (issue 12): what
changes on each face, submit → another approver approves → exactly that is
published; a stale request or form publishes nothing; one gate's pending work
never blocks another gate. On both stores."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

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
    [a] = preview(desk.db, desk.repo, gates=["gate-a"])
    assert a.changes and a.held is None and a.version == version(desk, "gate-a")
    assert a.faces[2]["notices"]["added"] == ["ticker · normal · Giờ mở cửa 7:00"]
    assert a.faces[1]["notices"]["added"] == []
    assert a.faces[1]["power"]["added"] == ["05:30–22:30 · 0,1,2,3,4,5,6"]
    assert a.faces[1]["playlists"]["removed"] == ["a-main: red.png"]
    assert a.faces[1]["playlists"]["added"] == ["a-main: blue.png"]
    # Nothing was published by looking.
    assert desk.publish().changed.keys() == {"gate-a"}
    [again] = preview(desk.db, desk.repo, gates=["gate-a"])
    assert not again.changes


def test_four_eyes_submit_then_another_approver_publishes_exactly_that(desk):
    add_notice(desk.db, "gate", "gate-a", {"vi": "Thông báo mới"})
    before_b = version(desk, "gate-b")
    rid = publication.submit(desk.db, desk.repo, by="lan", gates=["gate-a", "gate-b"])
    assert publication.get(desk.db, rid)["gates"] == ["gate-a"]  # gate-b has no change
    with pytest.raises(Forbidden):  # an editor cannot approve
        publication.approve(desk.db, desk.repo, rid, by="lan")
    # An approver who submitted cannot approve their own.
    own = publication.submit(desk.db, desk.repo, by="minh", gates=["gate-a"])
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
    rid = publication.submit(desk.db, desk.repo, by="lan", gates=["gate-a"])
    add_notice(desk.db, "gate", "gate-a", {"vi": "Chưa ai xem"}, by="someone")
    repo_version = desk.repo.version()
    with pytest.raises(StaleError):
        publication.approve(desk.db, desk.repo, rid, by="minh")
    assert desk.repo.version() == repo_version
    assert "Chưa ai xem" not in current_release(desk.db, "gate-a")["document"]


def test_an_emergency_meanwhile_does_not_make_it_stale_and_is_kept(desk):
    add_notice(desk.db, "gate", "gate-a", {"vi": "Lịch mới"})
    rid = publication.submit(desk.db, desk.repo, by="lan", gates=["gate-a"])
    eid, _ = publish_emergency(desk.db, desk.repo, ["gate:gate-a"], by=desk.operator,
                               reason="sương mù", minutes=30, texts={"vi": "Sương mù dày"})
    publication.approve(desk.db, desk.repo, rid, by="minh")
    doc = json.loads(current_release(desk.db, "gate-a")["document"])
    texts = [n["texts"]["vi"] for n in doc["notices"]]
    assert "Lịch mới" in texts and "Sương mù dày" in texts


def test_a_stale_form_is_refused_and_pending_work_on_one_gate_blocks_no_other(desk, tmp_path):
    token = form_token(preview(desk.db, desk.repo, gates=["gate-a", "gate-b"]))
    add_notice(desk.db, "gate", "gate-a", {"vi": "A"})
    # Someone else publishes gate-a meanwhile: the old form is stale.
    desk.publish()
    with pytest.raises(StaleError, match="gate-a"):
        publication.submit(desk.db, desk.repo, by="lan", gates=["gate-a", "gate-b"],
                           token=token)
    assert desk.db.count("publication_request") == 0
    # gate-b has an unapproved draft: gate-a's request goes through anyway.
    draft = desk.media(make_image(tmp_path / "draft.png", color=(0, 99, 0)), approve=False)
    desk.show("gate-b", [draft], playlist="b-draft")
    add_notice(desk.db, "gate", "gate-a", {"vi": "B"})
    previews = preview(desk.db, desk.repo, gates=["gate-a", "gate-b"])
    held = {p.gate["id"]: p.held for p in previews}
    assert held["gate-a"] is None and "not approved" in held["gate-b"]
    rid = publication.submit(desk.db, desk.repo, by="lan", gates=["gate-a", "gate-b"],
                             token=form_token(previews))
    result = publication.approve(desk.db, desk.repo, rid, by="minh")
    assert set(result.changed) == {"gate-a"} and result.held == {}
    # Rejecting needs a reason; the submitter may withdraw.
    add_notice(desk.db, "gate", "gate-a", {"vi": "C"})
    rid = publication.submit(desk.db, desk.repo, by="lan", gates=["gate-a"])
    with pytest.raises(Exception, match="Say why"):
        publication.reject(desk.db, rid, by="minh", reason="")
    publication.reject(desk.db, rid, by="minh", reason="sai chính tả")
    assert publication.get(desk.db, rid)["state"] == "rejected"


# 23:30 UTC on 1 December: still the 1st in UTC, already the 2nd in Hồ Chí Minh City
# (the setting's default zone), so a date compared in the wrong zone shows.
LATE = datetime(2026, 12, 1, 23, 30, tzinfo=timezone.utc)


@pytest.fixture
def utc_desk(tmp_path, central_database_url):
    """A central whose central_timezone is UTC; an editor, approvers, an operator;
    a gate whose playlist has media ending on the 1st and media starting on the 2nd."""
    from central.library import set_media_dates

    from tests.support.central import make_central

    c = make_central(tmp_path / "central", central_timezone="UTC",
                     central_database_url=central_database_url)
    add_user(c.db, "lan", "editor")
    add_user(c.db, "minh", "approver")
    c.gate("gate-a", faces=(1,))
    c.shas = {}
    for name, color, dates in (("always", (9, 9, 9), (None, None)),
                               ("ending", (80, 0, 0), (None, "2026-12-01")),
                               ("starting", (0, 80, 0), ("2026-12-02", None))):
        c.shas[name] = c.media(make_image(tmp_path / f"{name}.png", color=color))
        set_media_dates(c.db, c.shas[name], c.approver, *dates)
    yield c
    c.db.close()


def test_preview_and_approval_count_media_days_in_central_timezone(utc_desk):
    c = utc_desk
    c.show("gate-a", [c.shas["always"], c.shas["ending"], c.shas["starting"]])
    [p] = preview(c.db, c.repo, gates=["gate-a"], now=LATE)
    # The 1st in UTC: "ending" still shows, "starting" not yet.
    assert p.faces[1]["playlists"]["added"] == ["main: always.png, ending.png"]
    rid = publication.submit(c.db, c.repo, by="lan", gates=["gate-a"], now=LATE,
                             token=form_token([p]))
    # The approval, built in the same zone, finds exactly what was previewed.
    publication.approve(c.db, c.repo, rid, by="minh", now=LATE)
    doc = json.loads(current_release(c.db, "gate-a")["document"])
    assert {m["name"] for m in doc["media"]} == {"always.png", "ending.png"}
    assert publication.get(c.db, rid)["state"] == "published"


def test_an_emergency_carries_no_media_outside_its_dates(utc_desk):
    """Refused (nothing stored) when its playlist has media not to be shown
    that day; an item that expires while it runs leaves when it is re-signed."""
    from central.emergency import EmergencyError
    from central.library import save_playlist
    from central.publish import withdraw_expired

    c = utc_desk
    c.show("gate-a", [c.shas["always"]])
    c.publish()
    save_playlist(c.db, "closing", "Closing", [(c.shas["ending"], 5.0),
                                                (c.shas["starting"], 5.0)])
    before = c.repo.version()
    with pytest.raises(EmergencyError, match="starting.png") as refused:
        publish_emergency(c.db, c.repo, ["gate:gate-a"], by=c.operator, reason="lũ",
                          minutes=60, texts={"vi": "Tạm dừng"}, playlist_id="closing", now=LATE)
    assert refused.value.code == "playlist_dates" and refused.value.params["day"] == "2026-12-01"
    assert c.db.count("emergency") == 0 and c.repo.version() == before
    save_playlist(c.db, "closing", "Closing", [(c.shas["ending"], 5.0)])
    publish_emergency(c.db, c.repo, ["gate:gate-a"], by=c.operator, reason="lũ", minutes=60,
                      texts={"vi": "Tạm dừng"}, playlist_id="closing", now=LATE)
    doc = json.loads(current_release(c.db, "gate-a")["document"])
    assert "ending.png" in {m["name"] for m in doc["media"]}
    # 00:10 UTC on the 2nd: the emergency still runs, its media's last day is over.
    result = withdraw_expired(c.db, c.repo, now=LATE + timedelta(minutes=40))
    assert list(result.changed) == ["gate-a"] and any("emergency" in w for w in result.warnings)
    doc = json.loads(current_release(c.db, "gate-a")["document"])
    assert [m["name"] for m in doc["media"]] == ["always.png"]
    assert [n["texts"] for n in doc["notices"] if n["level"] == "emergency"] == [
        {"vi": "Tạm dừng"}]
    assert not [e for e in doc["schedule_entries"] if e["level"] == "emergency"]


def test_the_api_says_an_emergency_playlist_out_of_its_dates_in_vietnamese(central,
                                                                          console_app, tmp_path):
    from datetime import date

    from central.app import basic_auth_header
    from central.library import save_playlist, set_media_dates

    central.gate("gate-a", faces=(1,))
    later = central.media(make_image(tmp_path / "later.png"))
    start = (date.today() + timedelta(days=5)).isoformat()
    set_media_dates(central.db, later, central.approver, start, None)
    save_playlist(central.db, "later", "Later", [(later, 5.0)])
    token = add_user(central.db, "truc", "operator")
    r = console_app.test_client().post(
        "/api/v1/manage/emergency", json={"gate": "gate-a", "playlist": "later",
                                          "reason": "lũ", "minutes": 30},
        headers={"Authorization": basic_auth_header("truc", token)})
    assert (r.status_code, r.json["code"]) == (400, "playlist_dates")
    d = date.fromisoformat(start)
    assert r.json["error"].startswith("Danh sách phát có nội dung không được phép chiếu hôm nay")
    assert f"later.png, chỉ chiếu từ {d:%d/%m/%Y} đến …" in r.json["error"]
    assert central.db.count("emergency") == 0
