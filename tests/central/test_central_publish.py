"""Content library, approval, assignments and release building at the central
server (library level; the signed output is checked in test_central_repo)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from central.assign import add_entry, add_notice, add_power_window, set_fallback
from central.fleet import add_group
from central.library import add_media, add_text, approve_media, retire_media, save_playlist
from central.publish import PublishError, current_release, publish, publish_emergency
from central.checks import CentralError, Forbidden
from central.users import add_user
from kiosk.store import utcnow

from tests.support.media import make_image, make_video


def release(central, gate_id="huu-nghi") -> dict:
    return json.loads(current_release(central.db, gate_id)["document"])


def test_only_approved_media_can_be_published(central, tmp_path):
    central.gate("huu-nghi")
    sha = central.media(make_image(tmp_path / "red.png"), approve=False)
    central.show("huu-nghi", [sha])
    with pytest.raises(PublishError, match="not approved: red.png"):
        central.publish()
    assert central.repo.published_targets() == {}  # nothing half-published
    add_user(central.db, "editor1", "editor")
    with pytest.raises(Forbidden, match="right to approve"):
        approve_media(central.db, sha, "editor1")
    with pytest.raises(Forbidden, match="No active user nobody"):
        approve_media(central.db, sha, "nobody")
    approve_media(central.db, sha, central.approver)
    result = central.publish()
    assert set(central.repo.published_targets()) == {"releases/huu-nghi.json", f"media/{sha}"}
    assert result.changed == {"huu-nghi": result.repository_version}


def test_uploads_are_validated_and_text_slides_are_json(central, tmp_path):
    bad = tmp_path / "fake.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    with pytest.raises(CentralError, match="fake.mp4"):
        add_media(central.db, central.state_dir, bad, "fake.mp4")
    assert central.db.count("media") == 0
    assert not [p for p in (central.state_dir / "library").iterdir()]
    video = add_media(central.db, central.state_dir, make_video(tmp_path / "v.mp4"), "v.mp4")
    assert video["kind"] == "video" and video["duration_s"] == pytest.approx(2, abs=0.1)
    with pytest.raises(CentralError, match="JSON"):
        add_text(central.db, central.state_dir, b"not json", "slide")
    with pytest.raises(CentralError, match="unknown language"):
        add_text(central.db, central.state_dir, {"body": {"xx": "?"}}, "slide")
    a = add_text(central.db, central.state_dir, {"body": {"vi": "Xin chào"}, "duration_s": 8}, "a")
    b = add_text(central.db, central.state_dir, '{"duration_s": 8, "body": {"vi": "Xin chào"}}', "b")
    assert a["sha256"] == b["sha256"] and a["kind"] == "text" and a["duration_s"] == 8


def test_a_slide_brings_its_background_image(central, tmp_path):
    central.gate("huu-nghi")
    photo = central.media(make_image(tmp_path / "photo.png", size=(320, 180)), approve=False)
    slide = central.text({"body": {"vi": "Chào mừng", "en": "Welcome"}, "background_image": photo})
    central.show("huu-nghi", [slide])
    with pytest.raises(PublishError, match="photo.png .*background of"):
        central.publish()
    approve_media(central.db, photo, central.approver)
    central.publish()
    doc = release(central)
    assert {m["sha256"] for m in doc["media"]} == {photo, slide}
    assert [i["media_sha256"] for i in doc["playlists"][0]["items"]] == [slide]
    assert f"media/{photo}" in central.repo.published_targets()


def test_unchanged_gates_keep_their_release_version(central, tmp_path):
    central.gate("huu-nghi")
    central.gate("tan-thanh")
    sha = central.media(make_image(tmp_path / "red.png"))
    central.show("huu-nghi", [sha])
    first = central.publish()
    assert set(first.changed) == {"huu-nghi", "tan-thanh"}
    again = central.publish()
    assert again.changed == {} and again.unchanged == first.changed
    central.show("tan-thanh", [sha], playlist="other")
    third = central.publish()
    assert third.changed == {"tan-thanh": third.repository_version}
    assert third.unchanged == {"huu-nghi": first.changed["huu-nghi"]}
    assert release(central, "tan-thanh")["version"] == third.repository_version


def test_group_assignments_reach_every_member_with_gate_overrides(central, tmp_path):
    central.gate("huu-nghi", faces=(1, 2))
    central.gate("tan-thanh", faces=(1,))
    add_group(central.db, "lang-son", "Lạng Sơn", ["huu-nghi", "tan-thanh"])
    red = central.media(make_image(tmp_path / "red.png"))
    blue = central.media(make_image(tmp_path / "blue.png", color=(0, 0, 200)))
    loop = save_playlist(central.db, "loop", "Loop", [(red, None)])
    own = save_playlist(central.db, "own", "Own", [(blue, 7.5)])
    add_entry(central.db, "group", "lang-son", "loop", faces=[2], start_time="06:00",
              end_time="22:00", weekdays=[0, 1, 2, 3, 4])
    set_fallback(central.db, "group", "lang-son", loop)
    set_fallback(central.db, "gate", "huu-nghi", own, face_id=2)
    add_power_window(central.db, "group", "lang-son", "05:30", "22:30")
    add_power_window(central.db, "gate", "tan-thanh", "06:00", "20:00", face_id=1)
    add_notice(central.db, "group", "lang-son", {"vi": "Mở cửa 7:00", "en": "Opens 7:00"})
    central.publish()

    hn, tt = release(central, "huu-nghi"), release(central, "tan-thanh")
    assert hn["schedule_entries"][0]["faces"] == [2]
    assert hn["schedule_entries"][0]["weekdays"] == [0, 1, 2, 3, 4]
    assert tt["schedule_entries"] == []  # face 2 does not exist there
    assert hn["fallbacks"] == [{"face_id": 1, "playlist_id": "c-loop"},
                               {"face_id": 2, "playlist_id": "c-own"}]
    assert tt["fallbacks"] == [{"face_id": 1, "playlist_id": "c-loop"}]
    assert [(p["face_id"], p["start_time"]) for p in hn["power_windows"]] == [(1, "05:30"), (2, "05:30")]
    assert [(p["face_id"], p["start_time"]) for p in tt["power_windows"]] == [(1, "06:00")]
    assert hn["notices"][0]["texts"] == {"vi": "Mở cửa 7:00", "en": "Opens 7:00"}
    assert {p["id"] for p in hn["playlists"]} == {"c-loop", "c-own"}
    assert {m["sha256"] for m in hn["media"]} == {red, blue}
    assert {m["sha256"] for m in tt["media"]} == {red}
    own_items = next(p for p in hn["playlists"] if p["id"] == "c-own")["items"]
    assert own_items == [{"media_sha256": blue, "duration_s": 7.5}]


def test_retired_media_leave_the_next_release(central, tmp_path):
    central.gate("huu-nghi")
    red = central.media(make_image(tmp_path / "red.png"))
    blue = central.media(make_image(tmp_path / "blue.png", color=(0, 0, 200)))
    central.show("huu-nghi", [red, blue])
    central.publish()
    retire_media(central.db, red, central.approver)
    result = central.publish()
    assert [m["sha256"] for m in release(central)["media"]] == [blue]
    assert any("retired" in w for w in result.warnings)
    assert f"media/{red}" not in central.repo.published_targets()
    with pytest.raises(CentralError, match="retired"):
        approve_media(central.db, red, central.approver)


def test_emergency_release_expires_by_itself(central, tmp_path):
    central.gate("huu-nghi")
    sha = central.media(make_image(tmp_path / "red.png"))
    pid = central.show("huu-nghi", [sha])
    now = utcnow()
    publish_emergency(central.db, central.repo, ["gate:huu-nghi"], by=central.operator,
                      reason="test", minutes=30, texts={"vi": "Tạm dừng thông quan"},
                      playlist_id=pid, now=now)
    doc = release(central)
    notice = doc["notices"][0]
    assert notice["level"] == "emergency" and notice["kind"] == "slide"
    emergency = [e for e in doc["schedule_entries"] if e["level"] == "emergency"]
    assert len(emergency) == 1
    assert emergency[0]["not_after"] == notice["expires_at"]
    lasts = datetime.fromisoformat(notice["expires_at"]) - now
    assert abs(lasts - timedelta(minutes=30)) < timedelta(milliseconds=1)
    # Published after expiry, it is gone from the release.
    publish(central.db, central.repo, now=now + timedelta(minutes=31))
    later = release(central)
    assert later["notices"] == [] and all(e["level"] == "normal" for e in later["schedule_entries"])


def test_assignment_input_is_checked(central, tmp_path):
    central.gate("huu-nghi")
    sha = central.media(make_image(tmp_path / "red.png"))
    save_playlist(central.db, "p", "P", [(sha, None)])
    for kwargs, message in (
        (dict(start_time="25:00"), "time of day"),
        (dict(weekdays=[7]), "weekdays"),
        (dict(faces=[5]), "faces"),
        (dict(level="urgent"), "level"),
        (dict(start_date="2026-02-01", end_date="2026-01-01"), "before it starts"),
        (dict(not_after="2026-01-01T00:00"), "UTC offset"),
    ):
        with pytest.raises(CentralError, match=message):
            add_entry(central.db, "gate", "huu-nghi", "p", **kwargs)
    with pytest.raises(CentralError, match="no gate"):
        add_entry(central.db, "gate", "nowhere", "p")
    with pytest.raises(CentralError, match="gate id"):
        central.gate("../etc")
    with pytest.raises(CentralError, match="control characters"):
        central.gate("ok-id", name="Hữu\x1b[31mNghị")
    with pytest.raises(CentralError, match="200 characters"):
        save_playlist(central.db, "long", "x" * 201, [(sha, None)])
    with pytest.raises(CentralError, match="unknown language"):
        add_notice(central.db, "gate", "huu-nghi", {"fr": "Bonjour"})
    with pytest.raises(CentralError, match="at least one language"):
        add_notice(central.db, "gate", "huu-nghi", {"vi": "  "})


def test_media_dates_leave_items_out_and_expired_media_is_withdrawn(central, tmp_path):
    from datetime import date, timezone

    from central.library import set_media_dates
    from central.publish import media_day, withdraw_expired

    # Media dates are days in central_timezone (Asia/Ho_Chi_Minh here), not UTC's.
    assert media_day(datetime(2026, 11, 30, 20, tzinfo=timezone.utc)) == "2026-12-01"
    central.gate("huu-nghi")
    now = utcnow()
    today = date.fromisoformat(media_day(now))
    always = central.media(make_image(tmp_path / "always.png", color=(10, 10, 10)))
    ending = central.media(make_image(tmp_path / "ending.png", color=(20, 20, 20)))
    later = central.media(make_image(tmp_path / "later.png", color=(30, 30, 30)))
    set_media_dates(central.db, ending, central.approver, None, today.isoformat())
    set_media_dates(central.db, later, central.approver,
                    (today + timedelta(days=9)).isoformat(), None)
    central.show("huu-nghi", [always, ending, later])
    only = save_playlist(central.db, "ending-only", "Ending only", [(ending, 5.0)])
    add_entry(central.db, "gate", "huu-nghi", only, faces=[2], start_time="08:00",
              end_time="09:00", entry_id="c-ending")
    result = publish(central.db, central.repo, now=now)
    assert any("later.png" in w for w in result.warnings), result.warnings
    doc = release(central)
    assert {m["sha256"] for m in doc["media"]} == {always, ending}
    assert "c-ending" in {e["id"] for e in doc["schedule_entries"]}
    assert withdraw_expired(central.db, central.repo, now=now) is None  # nothing past its date
    # Pending work made since must not ride along with the withdrawal.
    add_notice(central.db, "gate", "huu-nghi", {"vi": "Chưa xuất bản"})
    tomorrow = now + timedelta(days=1)
    withdrawn = withdraw_expired(central.db, central.repo, now=tomorrow)
    assert withdrawn.changed == {"huu-nghi": withdrawn.repository_version}
    doc = release(central)
    assert {m["sha256"] for m in doc["media"]} == {always}
    assert [i["media_sha256"] for p in doc["playlists"] for i in p["items"]] == [always]
    assert "c-ending" not in {e["id"] for e in doc["schedule_entries"]}
    assert doc["notices"] == []
    assert f"media/{ending}" not in central.repo.published_targets()
    assert withdraw_expired(central.db, central.repo, now=tomorrow) is None
    # A full publish that day builds without it too.
    assert {m["sha256"] for m in release(central)["media"]} == {always}
    publish(central.db, central.repo, now=tomorrow)
    assert ending not in {m["sha256"] for m in release(central)["media"]}
