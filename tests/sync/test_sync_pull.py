"""Gate-side sync: a real TUF repository served over real HTTP on 127.0.0.1,
pulled into a real SQLite database and media store."""

from __future__ import annotations

import os

from kiosk.store import desired_revision

from tests.support.sync.tufrepo import publish_release


def test_first_pull_activates_release_and_media(gate, repo):
    shas = publish_release(repo, 1, [b"image one" * 100, b"image two" * 200])
    rev = desired_revision(gate.db)

    result = gate.pull()

    assert result.outcome == "activated", result.reason
    assert gate.release()["version"] == 1
    assert sorted(gate.media_files()) == sorted(shas)
    assert {r["sha256"] for r in gate.central_rows("media")} == set(shas)
    [entry] = gate.central_rows("schedule_entry")
    assert entry["id"] == "c-e1" and entry["playlist_id"] == "c-main"
    items = list(gate.db.query("SELECT media_sha256 FROM playlist_item WHERE playlist_id = 'c-main' "
                               "ORDER BY position"))
    assert [i["media_sha256"] for i in items] == shas
    assert len(gate.central_rows("power_window")) == 1
    assert desired_revision(gate.db) > rev
    state = gate.sync_state()
    assert state["status"] == "activated" and state["last_good_release_version"] == 1
    assert [e["code"] for e in gate.events("release_")] == ["release_activated"]


def test_unchanged_poll_costs_two_small_requests(gate, repo, central):
    publish_release(repo, 1, [b"x" * 5000])
    assert gate.pull().outcome == "activated"
    before = len(central.requests)

    result = gate.pull()

    assert result.outcome == "unchanged"
    new = central.paths()[before:]
    assert new == ["/tuf/metadata/2.root.json", "/tuf/metadata/timestamp.json"]
    assert result.requests == 2 and result.bytes < 1024


def test_new_release_downloads_only_new_media_and_replaces_central_rows(gate, repo, central):
    [a] = publish_release(repo, 1, [b"first" * 1000])
    assert gate.pull().outcome == "activated"
    # A technician's local playlist stays untouched by releases.
    gate.db["playlist"].insert({"id": "local-1", "name": "Local", "source": "local"})

    [b] = publish_release(repo, 2, [b"second" * 1000])
    before = len(central.requests)
    result = gate.pull()

    assert result.outcome == "activated" and result.downloaded_media == 1
    media_gets = [p for p in central.paths()[before:] if p.startswith("/tuf/targets/media/")]
    assert media_gets == [f"/tuf/targets/media/{b}.{b}"]
    assert {r["sha256"] for r in gate.central_rows("media")} == {b}
    assert gate.db["playlist"].get("local-1")["source"] == "local"
    assert gate.release()["version"] == 2
    # The previous release's files stay on disk: it is the fallback of the fallback.
    assert a in gate.media_files()


def test_no_release_yet_is_reported_not_fatal(gate, repo):
    repo.publish()
    result = gate.pull()
    assert result.outcome == "no_release" and gate.release() is None


def test_missing_root_file_is_a_clear_failure(gate, repo):
    publish_release(repo, 1, [b"a"])
    os.unlink(gate.root_file)
    result = gate.pull()
    assert result.code == "not_configured" and "root" in result.reason
    assert gate.sync_state()["status"] == "failed"


def test_clock_skew_against_the_servers_date_is_reported(gate, repo):
    from datetime import datetime, timedelta, timezone

    from kiosk.sync.clock import clock_state

    now = datetime.now(timezone.utc)
    assert not clock_state("always", now, now + timedelta(seconds=20)).skew_suspect
    skewed = clock_state("always", now, now + timedelta(hours=2))
    assert skewed.skew_suspect and skewed.server_skew_s == 7200.0
    assert clock_state("never").expiry_trusted is False
    # A real pull records the server's opinion of the time.
    publish_release(repo, 1, [b"a" * 10])
    gate.pull()
    clock = gate.sync_state()["clock"]
    assert clock["expiry_trusted"] is True and abs(clock["server_skew_s"]) < 60
