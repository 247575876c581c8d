"""Emergencies (issue 12): never behind a full publication that holds the
publishing lock, layered onto each target gate's release in force and kept by
a full publication that signs later; cancelled early; targets gates, groups,
the province and faces; texts in five languages with the glyph check. On both
stores."""

from __future__ import annotations

import json
import threading

import pytest

import central.publish as publishing
from central.assign import add_notice
from central.emergency import EmergencyError
from central.fleet import add_group
from central.killswitch import blank
from central.publish import cancel_emergency, current_release, publish, publish_emergency
from kiosk.sync.release import validate

from tests.support.media import make_image

FIVE = {"vi": "Tạm dừng thông quan", "en": "Border crossing suspended", "zh": "暂停通关",
        "lo": "ປິດດ່ານຊົ່ວຄາວ", "km": "ផ្អាកការឆ្លងកាត់ព្រំដែន"}


def document(central, gate_id) -> dict:
    return json.loads(current_release(central.db, gate_id)["document"])


def emergency_notices(doc) -> list[dict]:
    return [n for n in doc["notices"] if n["level"] == "emergency"]


@pytest.fixture
def fleet(central, tmp_path):
    """gate-a (faces 1, 2) and gate-b (face 1), group `north` = both, published."""
    central.gate("gate-a", faces=(1, 2))
    central.gate("gate-b", faces=(1,))
    add_group(central.db, "north", "Phía Bắc", ["gate-a", "gate-b"])
    red = central.media(make_image(tmp_path / "red.png"))
    central.show("gate-a", [red], playlist="a-main")
    central.show("gate-b", [red], playlist="b-main")
    central.publish()
    return central


def test_an_emergency_goes_out_while_a_slow_full_publish_holds_the_lock(fleet):
    """A full publication is stopped inside its build (holding the publishing
    lock); the emergency (and a kill switch) is published meanwhile, and the
    full publication that signs afterwards keeps both and adds its own new
    content."""
    building, go_on = threading.Event(), threading.Event()
    real_build = publishing.build_release

    def slow_build(*args, **kwargs):
        building.set()
        assert go_on.wait(120), "the test never let the publication go on"
        return real_build(*args, **kwargs)

    add_notice(fleet.db, "gate", "gate-a", {"vi": "Giờ mở cửa 7:00"}, notice_id="hours")
    outcome = {}

    def full_publish():
        try:
            outcome["full"] = publish(fleet.db, fleet.repo, note="slow")
        except BaseException as e:  # reported below
            outcome["full"] = e

    publishing.build_release = slow_build
    try:
        slow = threading.Thread(target=full_publish)
        slow.start()
        assert building.wait(60), "the full publication never started building"

        done = threading.Event()

        def emergency():
            outcome["emergency"] = publish_emergency(
                fleet.db, fleet.repo, ["gate:gate-a"], by=fleet.operator, reason="lũ quét",
                minutes=30, texts={"vi": "Tạm dừng thông quan"})
            # Central's kill switch takes the same short path.
            outcome["blank"] = blank(fleet.db, fleet.repo, "gate-b", by=fleet.operator,
                                     reason="màn hình hỏng")
            done.set()

        urgent = threading.Thread(target=emergency)
        urgent.start()
        # The full publication is still stopped: only an emergency that does
        # not wait for it can finish.
        assert done.wait(60), "the emergency waited behind the full publication"
        assert slow.is_alive()
    finally:
        go_on.set()
        publishing.build_release = real_build
        slow.join(120)
        urgent.join(120)
    eid, em_result = outcome["emergency"]
    full = outcome["full"]
    assert not isinstance(full, BaseException), full
    assert set(em_result.changed) == {"gate-a"}
    assert full.repository_version > em_result.repository_version
    doc = document(fleet, "gate-a")
    # The full publication signed later: its new notice and the emergency.
    assert doc["version"] == full.changed["gate-a"]
    assert [n["id"] for n in emergency_notices(doc)] == [f"c-{eid}-1"]
    assert any(n["id"] == "c-hours" for n in doc["notices"])
    assert document(fleet, "gate-b")["blank"]["active"]


def test_cancel_ends_it_at_once_audited_and_only_once(fleet):
    before = document(fleet, "gate-a")
    eid, result = publish_emergency(fleet.db, fleet.repo, ["group:north"], by=fleet.operator,
                                    reason="diễn tập", minutes=60, texts={"vi": "Diễn tập"})
    assert set(result.changed) == {"gate-a", "gate-b"}
    assert all(emergency_notices(document(fleet, g)) for g in ("gate-a", "gate-b"))
    with pytest.raises(EmergencyError, match="say why"):
        cancel_emergency(fleet.db, fleet.repo, eid, by=fleet.operator, reason="  ")
    cancelled = cancel_emergency(fleet.db, fleet.repo, eid, by=fleet.operator,
                                 reason="hết diễn tập")
    assert set(cancelled.changed) == {"gate-a", "gate-b"}
    after = document(fleet, "gate-a")
    # Exactly the release it had, in a newer version.
    strip = lambda d: {k: v for k, v in d.items() if k not in ("version", "published_at")}
    assert strip(after) == strip(before) and after["version"] > before["version"]
    [row] = fleet.db.query("SELECT who, subject, detail FROM audit "
                           "WHERE action = 'emergency.cancel'")
    assert (row["who"], row["subject"]) == (fleet.operator, eid)
    assert json.loads(row["detail"])["reason"] == "hết diễn tập"
    with pytest.raises(EmergencyError, match="already ended"):
        cancel_emergency(fleet.db, fleet.repo, eid, by=fleet.operator, reason="again")
    # A later full publication does not bring it back.
    assert fleet.publish().changed == {}


def test_targets_faces_and_five_languages(fleet):
    eid, result = publish_emergency(fleet.db, fleet.repo, ["province"], by=fleet.operator,
                                    reason="bão", minutes=15, texts=FIVE, faces=[2])
    # Face 2 exists on gate-a only: gate-b keeps its release.
    assert set(result.changed) == {"gate-a"}
    notices = emergency_notices(document(fleet, "gate-a"))
    # At most three languages a slide, each with Vietnamese; every language shown.
    assert [set(n["texts"]) for n in notices] == [{"vi", "zh", "lo"}, {"vi", "km", "en"}]
    assert all(n["faces"] == [2] for n in notices)
    assert notices[0]["expires_at"] > notices[0]["starts_at"]
    stored = fleet.db.query("SELECT targets, gates FROM emergency WHERE id = :id", {"id": eid})
    assert json.loads(stored[0]["gates"]) == ["gate-a", "gate-b"]


@pytest.mark.parametrize("targets, texts, minutes, message", [
    (["gate:nowhere"], {"vi": "x"}, 10, "no gate 'nowhere'"),
    (["group:nothing"], {"vi": "x"}, 10, "no group 'nothing'"),
    ([], {"vi": "x"}, 10, "at least one gate"),
    (["gate:gate-a"], {"vi": "Cảnh báo 🚨"}, 10, r"Vietnamese \(vi\).*U\+1F6A8"),
    (["gate:gate-a"], {"xx": "x"}, 10, "unknown language"),
    (["gate:gate-a"], {"vi": " "}, 10, "a text or a playlist"),
    (["gate:gate-a"], {"vi": "x"}, 25 * 60, "24 hours"),
    (["gate:gate-a"], {"vi": "x"}, "soon", "number of minutes"),
])
def test_bad_emergencies_are_refused_and_store_nothing(fleet, targets, texts, minutes, message):
    version = fleet.repo.version()
    with pytest.raises(Exception, match=message):
        publish_emergency(fleet.db, fleet.repo, targets, by=fleet.operator, reason="x",
                          minutes=minutes, texts=texts)
    assert fleet.db.count("emergency") == 0 and fleet.repo.version() == version


def test_the_preview_is_the_gates_own_slide_at_the_faces_size():
    import io

    from PIL import Image

    from central.emergency import preview_pngs

    pngs = preview_pngs(FIVE, 1080, 1920)
    assert len(pngs) == 2  # five languages: two slides, each with Vietnamese
    for data in pngs:
        image = Image.open(io.BytesIO(data)).convert("RGB")
        assert image.size == (1080, 1920)
        assert image.getpixel((5, 5)) == (0xB0, 0x00, 0x20)  # the emergency red
        # Text is drawn: white pixels in the middle band.
        assert (255, 255, 255) in {c for _, c in image.crop((0, 300, 1080, 1600)).getcolors(1 << 20)}
    with pytest.raises(EmergencyError, match="U\\+1F6A8"):
        preview_pngs({"vi": "🚨"})


def test_an_emergency_playlist_must_be_approved_and_leaves_with_the_cancel(fleet, tmp_path):
    from central.library import save_playlist

    draft = fleet.media(make_image(tmp_path / "draft.png", color=(0, 99, 0)), approve=False)
    save_playlist(fleet.db, "alarm-draft", "Báo động (nháp)", [(draft, 5.0)])
    with pytest.raises(EmergencyError, match="not approved"):
        publish_emergency(fleet.db, fleet.repo, ["gate:gate-b"], by=fleet.operator,
                          reason="x", minutes=5, playlist_id="alarm-draft")
    amber = fleet.media(make_image(tmp_path / "amber.png", color=(250, 180, 0)))
    save_playlist(fleet.db, "alarm", "Báo động", [(amber, 5.0)])
    eid, result = publish_emergency(fleet.db, fleet.repo, ["gate:gate-b"], by=fleet.operator,
                                    reason="cháy", minutes=5, playlist_id="alarm")
    doc = document(fleet, "gate-b")
    [entry] = [e for e in doc["schedule_entries"] if e["level"] == "emergency"]
    assert entry["playlist_id"] == "c-alarm" and amber in {m["sha256"] for m in doc["media"]}
    # Only a playlist: no text slide (an empty one made the gate refuse the release).
    assert emergency_notices(doc) == []
    validate(doc, "gate-b")
    assert f"media/{amber}" in fleet.repo.published_targets()
    cancel_emergency(fleet.db, fleet.repo, eid, by=fleet.operator, reason="đã dập")
    doc = document(fleet, "gate-b")
    assert amber not in {m["sha256"] for m in doc["media"]}
    assert "c-alarm" not in {p["id"] for p in doc["playlists"]}
