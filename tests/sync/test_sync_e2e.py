"""End to end, every part real: central init, upload, approve, assign, publish (the
central Flask app on 127.0.0.1); the gate's `gatecast sync` service verifies and
activates the release; the player shows it on real mpv; proof of play and
heartbeats arrive at central; an emergency release reaches the screen through the
change notification."""

from __future__ import annotations

import pytest

from central.fleet import overview
from central.library import save_playlist
from central.publish import publish_emergency
from kiosk.store import open_db

from tests.support.central import LiveServer, make_central
from tests.support.media import make_image
from tests.support.player import gate_settings, running_player
from tests.support.sync.gate import running_sync
from tests.support.wait import wait_for

GATE_ID = "lang-son-huu-nghi"
pytestmark = pytest.mark.slow


@pytest.fixture
def central(tmp_path):
    c = make_central(tmp_path / "central")
    server = LiveServer(c.settings)
    c.url = server.url
    yield c
    server.close()
    c.db.close()


@pytest.fixture
def gate_state(tmp_path, central):
    """A gate installed for `central`: pinned root, token file, settings."""
    token = central.gate(GATE_ID, faces=(1,))
    state = tmp_path / "gate"
    state.mkdir()
    root = tmp_path / "root.json"
    root.write_bytes(central.repo.trusted_root_path.read_bytes())
    token_file = tmp_path / "gate-token"
    token_file.write_text(token + "\n")
    settings = gate_settings(
        state, gate_id=GATE_ID, central_url=central.url, sync_root_file=str(root),
        sync_token_file=str(token_file), sync_clock="always", sync_interval_s=3600,
        sync_heartbeat_interval_s=1, sync_longpoll_s=3, sync_disk_reserve_mb=0,
        sync_screenshot_interval_s=0)
    return settings


@pytest.fixture
def sync_service(gate_state):
    with running_sync(gate_state) as svc:
        yield svc

def playing(db, face=1):
    row = db.execute("SELECT playing_sha256 FROM face_state WHERE face_id = ?", [face]).fetchone()
    return row and row[0]


def test_published_content_plays_on_the_gate_and_proof_of_play_reaches_central(
        tmp_path, central, gate_state, sync_service):
    red = central.media(make_image(tmp_path / "red.png", color=(220, 20, 20)))
    central.show(GATE_ID, [red])
    version = central.publish().changed[GATE_ID]
    db = open_db(gate_state.db_path)
    try:
        with running_player(gate_state):
            wait_for(lambda: playing(db) == red, timeout=60, what="the published image on face 1")
            # Items of 3 s each: completed plays go up with the next heartbeat.
            wait_for(lambda: central.db.scalar(
                "SELECT count(*) FROM proof_of_play WHERE gate_id = :gate AND media_sha256 = :sha",
                {"gate": GATE_ID, "sha": red}) >= 1, timeout=60, what="proof of play at central")

            # An emergency: the change notification brings it, the player shows it.
            amber = central.media(make_image(tmp_path / "amber.png", color=(250, 180, 0)))
            pid = save_playlist(central.db, "alert", "alert", [(amber, 5.0)])
            _, sent = publish_emergency(central.db, central.repo, [f"gate:{GATE_ID}"],
                                        by=central.operator, reason="test", minutes=10,
                                        playlist_id=pid)
            emergency_version = sent.changed[GATE_ID]
            wait_for(lambda: playing(db) == amber, timeout=60, what="the emergency on face 1")
    finally:
        db.close()
    assert emergency_version > version
    gate_db = open_db(gate_state.db_path)
    try:
        levels = {r[0] for r in gate_db.execute(
            "SELECT level FROM schedule_entry WHERE source = 'central'")}
        assert "emergency" in levels
    finally:
        gate_db.close()
    # The next heartbeat tells central that the gate plays the emergency release.
    row = wait_for(lambda: next((r for r in overview(central.db, 60)
                                 if r["last_good_release_version"] == emergency_version), None),
                   timeout=30, what="a heartbeat with the emergency release")
    assert row["online"] and row["sync"]["code"] == "ok"


def test_a_file_changed_on_centrals_disk_never_reaches_the_screens(tmp_path, central):
    """The web server is not trusted: bytes changed behind central's back (a hacked
    CDN, nginx host or mirror) are refused and the gate keeps its release."""
    from tests.support.sync.gate import Gate

    token = central.gate(GATE_ID, faces=(1,))
    gate = Gate(tmp_path / "gate", central.url, central.repo.trusted_root_path.read_bytes(),
                gate_id=GATE_ID)
    gate.token_file.write_text(token)
    try:
        red = central.media(make_image(tmp_path / "red.png", color=(220, 20, 20)))
        central.show(GATE_ID, [red])
        first = central.publish().changed[GATE_ID]
        assert gate.pull().outcome == "activated"

        blue = central.media(make_image(tmp_path / "blue.png", color=(20, 20, 220)))
        central.show(GATE_ID, [blue], playlist="second")
        central.publish()
        [served] = central.repo.targets_dir.glob(f"media/*.{blue}")
        data = bytearray(served.read_bytes())
        data[-10] ^= 0xFF
        served.write_bytes(bytes(data))

        result = gate.pull()
        assert result.code == "tampered", result.reason
        assert gate.release()["version"] == first and blue not in gate.media_files()
        assert {r["sha256"] for r in gate.central_rows("media")} == {red}
    finally:
        gate.close()
