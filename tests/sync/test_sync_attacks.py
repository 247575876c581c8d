"""Attacks on the content path. Each one must be refused with the last-known-good
release still active (database rows and files untouched) and the reason reported
in the `sync` state and the event log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from securesystemslib.signer import CryptoSigner

from tests.support.sync.gate import GATE_ID, Gate
from tests.support.sync.tufrepo import media_entry, release_doc


@pytest.fixture
def gate(tmp_path, repo, central):
    """A gate already playing release 1 (its last-known-good)."""
    g = Gate(tmp_path / "gate", central.url, repo.root_bytes())
    data = b"good content " * 500
    sha = repo.add_media(data)
    repo.add_release(release_doc(GATE_ID, 1, [media_entry(sha, data)]))
    repo.publish()
    assert g.pull().outcome == "activated"
    g.good_sha = sha
    yield g
    g.close()


def stage_release_2(repo, data=b"new content " * 700):
    sha = repo.add_media(data)
    repo.add_release(release_doc(GATE_ID, 2, [media_entry(sha, data)]))
    return sha


def assert_refused(gate, code, reason_part=""):
    result = gate.pull()
    assert result.outcome == "failed", result
    assert result.code == code, result.reason
    assert reason_part.lower() in result.reason.lower()
    # Last-known-good stays: state, rows, file.
    assert gate.release()["version"] == 1
    assert [r["sha256"] for r in gate.central_rows("media")] == [gate.good_sha]
    assert gate.good_sha in gate.media_files()
    state = gate.sync_state()
    assert state["status"] == "failed" and state["code"] == code
    assert state["last_good_release_version"] == 1
    events = gate.events(f"sync_{code}")
    assert events and "screens keep release 1" in events[-1]["message"]
    # Nothing half-downloaded is left to be mistaken for content.
    partial = gate.settings.media_dir / ".partial"
    assert not list(partial.glob("*")) if partial.exists() else True
    return result


def test_media_byte_flipped_on_server(gate, repo):
    sha = stage_release_2(repo)
    repo.publish()
    path = repo.target_file(f"media/{sha}")
    data = bytearray(path.read_bytes())
    data[1234] ^= 0x01
    path.write_bytes(bytes(data))

    assert_refused(gate, "tampered")
    assert sha not in gate.media_files()


def test_target_swapped_for_another_valid_file(gate, repo, central):
    sha = stage_release_2(repo)
    other = repo.add_media(b"another signed file " * 300)
    repo.publish()
    # The server hands out a different, itself validly signed file under sha's name.
    central.overrides[f"/tuf/targets/media/{sha}.{sha}"] = repo.target_file(f"media/{other}").read_bytes()

    assert_refused(gate, "tampered")
    assert sha not in gate.media_files()


def test_timestamp_signed_with_a_wrong_key(gate, repo):
    stage_release_2(repo)
    repo.publish(signer_for={"timestamp": CryptoSigner.generate_ed25519()})
    assert_refused(gate, "bad_signature")


def test_targets_signed_with_a_wrong_key(gate, repo):
    stage_release_2(repo)
    repo.publish(signer_for={"targets": CryptoSigner.generate_ed25519()})
    assert_refused(gate, "bad_signature")


def test_old_timestamp_replayed(gate, repo, central):
    old_timestamp = repo.metadata_bytes("timestamp.json")
    stage_release_2(repo)
    repo.publish()
    assert gate.pull().outcome == "activated"  # the gate has seen timestamp 2
    gate.good_sha = gate.release()["media"][0]
    data = b"third " * 100
    sha = repo.add_media(data)
    repo.add_release(release_doc(GATE_ID, 3, [media_entry(sha, data)]))
    repo.publish()
    central.overrides["/tuf/metadata/timestamp.json"] = old_timestamp

    result = gate.pull()
    assert result.code == "rollback", result.reason
    assert gate.release()["version"] == 2


def test_old_snapshot_replayed_under_the_new_name(gate, repo, central):
    old_snapshot = repo.metadata_bytes("1.snapshot.json")
    stage_release_2(repo)
    version = repo.publish()
    central.overrides[f"/tuf/metadata/{version}.snapshot.json"] = old_snapshot
    assert_refused(gate, "rollback")


def test_expired_metadata_keeps_screens_playing(gate, repo):
    stage_release_2(repo)
    repo.publish(expires=datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1))
    assert_refused(gate, "expired", "expired")


def test_expired_metadata_with_an_unsynchronised_clock_blames_the_clock(gate, repo):
    stage_release_2(repo)
    repo.publish(expires=datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1))
    result = gate.pull(clock_policy="never")
    assert result.code == "expired_clock_untrusted" and "clock" in result.reason
    assert gate.release()["version"] == 1
    assert gate.sync_state()["clock"]["expiry_trusted"] is False


def test_release_referencing_an_unsigned_file(gate, repo, central):
    data = b"never signed " * 50
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    # The file is on the server, but no signed metadata names it.
    (repo.targets_dir / "media").mkdir(exist_ok=True)
    (repo.targets_dir / "media" / f"{sha}.{sha}").write_bytes(data)
    repo.add_release(release_doc(GATE_ID, 2, [media_entry(sha, data)]))
    repo.publish()
    assert_refused(gate, "unsigned_media", f"media/{sha}")
    assert not any(p.endswith(sha) for p in central.paths() if "/targets/media/" in p)


@pytest.mark.parametrize("name", ["../../gatecast.db", "../" + "a" * 61, "media/../../etc/passwd"])
def test_target_name_with_dot_dot(gate, repo, name):
    data = b"escape attempt"
    # Even signed, a name that is not a bare sha256 never becomes a path.
    repo.add_target(f"media/{name}", data)
    entry = media_entry("0" * 64, data)
    entry["sha256"] = name
    repo.add_release(release_doc(GATE_ID, 2, [entry]))
    repo.publish()
    assert_refused(gate, "bad_release", "sha256")
    assert not (gate.state_dir.parent / "gatecast.db").exists()


def test_release_for_another_gate_is_refused(gate, repo):
    doc = release_doc("mong-cai", 2, [])
    doc["gate_id"] = "mong-cai"
    data = json.dumps(doc).encode()
    repo.add_target(f"releases/{GATE_ID}.json", data)
    repo.publish()
    assert_refused(gate, "bad_release", "mong-cai")


def test_release_with_an_older_version_is_refused(gate, repo):
    data = b"older " * 10
    sha = repo.add_media(data)
    repo.add_release(release_doc(GATE_ID, 1, [media_entry(sha, data)]))
    repo.publish()
    assert_refused(gate, "release_rollback", "not newer")


def test_release_with_a_bad_schedule_time_is_refused(gate, repo):
    data = b"x" * 10
    sha = repo.add_media(data)
    doc = release_doc(GATE_ID, 2, [media_entry(sha, data)])
    doc["schedule_entries"][0]["start_time"] = "25:00"
    repo.add_release(doc)
    repo.publish()
    assert_refused(gate, "bad_release", "25:00")


def test_recovery_after_an_attack_is_logged(gate, repo, central):
    sha = stage_release_2(repo)
    repo.publish()
    central.overrides[f"/tuf/targets/media/{sha}.{sha}"] = b"garbage"
    assert gate.pull().code == "tampered"
    del central.overrides[f"/tuf/targets/media/{sha}.{sha}"]
    assert gate.pull().outcome == "activated"
    assert [e["code"] for e in gate.events("sync_")] == ["sync_tampered", "sync_recovered"]
    assert gate.sync_state()["consecutive_failures"] == 0
