"""The real gate sync (kiosk.sync) against the real central server: what
central publishes, a gate verifies, activates and reports back."""

from __future__ import annotations

from central.fleet import overview

from tests.support.media import make_image
from tests.support.sync.gate import Gate


def gate_for(central, server, tmp_path, gate_id="lang-son-huu-nghi") -> Gate:
    token = central.gate(gate_id, faces=(1, 2))
    gate = Gate(tmp_path / gate_id, server.url, central.repo.trusted_root_path.read_bytes(),
                gate_id=gate_id)
    gate.token_file.write_text(token + "\n")
    return gate


def test_a_gate_pulls_what_central_published(central, central_server, tmp_path):
    gate = gate_for(central, central_server, tmp_path)
    try:
        red = central.media(make_image(tmp_path / "red.png"))
        slide = central.text({"body": {"vi": "Chào mừng", "en": "Welcome"}, "background_image": red})
        central.show("lang-son-huu-nghi", [red, slide], start_time="06:00", end_time="22:00")
        first = central.publish().changed["lang-son-huu-nghi"]

        result = gate.pull()
        assert result.outcome == "activated", result.reason
        assert gate.release()["version"] == first
        assert sorted(gate.media_files()) == sorted([red, slide])
        [entry] = gate.central_rows("schedule_entry")
        assert (entry["start_time"], entry["end_time"]) == ("06:00", "22:00")

        assert gate.pull().outcome == "unchanged"
        # An unchanged publish keeps the gate's version: still nothing to do.
        central.publish()
        assert gate.pull().outcome == "unchanged"
        # Rotating the online key and the root key reaches the gate unattended.
        central.repo.rotate_key("publisher")
        central.repo.rotate_key("root")
        blue = central.media(make_image(tmp_path / "blue.png", color=(0, 0, 200)))
        central.show("lang-son-huu-nghi", [blue], playlist="second")
        second = central.publish().changed["lang-son-huu-nghi"]
        result = gate.pull()
        assert result.outcome == "activated", result.reason
        assert gate.release()["version"] == second > first
    finally:
        gate.close()


def test_gate_reports_arrive_at_central(central, central_server, tmp_path):
    from kiosk.settings import load_settings
    from kiosk.sync.loop import SyncService

    gate = gate_for(central, central_server, tmp_path)
    try:
        red = central.media(make_image(tmp_path / "red.png"))
        central.show("lang-son-huu-nghi", [red])
        version = central.publish().changed["lang-son-huu-nghi"]
        assert gate.pull().outcome == "activated"
        gate.db["proof_of_play"].insert_all(
            {"id": i, "face_id": 1, "media_sha256": red, "entry_id": "c-e1", "level": "normal",
             "started_at": f"2026-11-27T08:00:{i:02d}+07:00",
             "ended_at": f"2026-11-27T08:00:{i + 1:02d}+07:00", "outcome": "completed"}
            for i in range(1, 31))
        settings = load_settings(config_file=gate.config_file, state_dir=gate.state_dir, env={})
        result = SyncService(settings, gate.db).report()
        assert result.code == "ok", result.error
        assert result.sent["proof_of_play"] == 30 and result.sent["heartbeats"] == 1
    finally:
        gate.close()
    plays = list(central.db.query("SELECT * FROM proof_of_play ORDER BY row_id"))
    assert len(plays) == 30 and {p["media_sha256"] for p in plays} == {red}
    [row] = overview(central.db, 60)
    assert row["online"] and row["last_good_release_version"] == version
