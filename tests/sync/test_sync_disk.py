"""Room for media: unneeded files are evicted when space is needed, never those of
the active or previous release or local uploads; a release that cannot fit is
refused and the last-known-good kept."""

from __future__ import annotations

import os

from kiosk.mediastore import MediaStore

from tests.support.sync.tufrepo import publish_release

MB = 1024 * 1024


def blob(mb: float) -> bytes:
    return os.urandom(int(mb * MB))


def test_release_that_cannot_fit_is_refused(gate, repo):
    [a] = publish_release(repo, 1, [blob(1)])
    assert gate.pull(budget_mb=2.5).outcome == "activated"

    publish_release(repo, 2, [blob(1), blob(1)])
    result = gate.pull(budget_mb=2.5)

    assert result.code == "disk_full", result.reason
    assert "not enough disk" in result.reason and "budget 2.5 MB" in result.reason
    assert gate.release()["version"] == 1 and gate.media_files() == [a]
    assert gate.events("sync_disk_full")


def test_unneeded_media_are_evicted_oldest_first_to_make_room(gate, repo):
    [a] = publish_release(repo, 1, [blob(1)])
    assert gate.pull().outcome == "activated"
    [b] = publish_release(repo, 2, [blob(1)])
    assert gate.pull().outcome == "activated"
    [c] = publish_release(repo, 3, [blob(1)])
    assert gate.pull().outcome == "activated"
    # Orphans: a file no release or row needs any more, and a local upload.
    store = MediaStore(gate.settings.media_dir)
    orphan = store.add_bytes(blob(0.5))
    local = store.add_bytes(blob(0.5))
    gate.db["media"].insert({"sha256": local, "kind": "image", "name": "local", "size": MB // 2,
                             "source": "local"})
    assert set(gate.media_files()) == {a, b, c, orphan, local}

    # Release 4 needs 2 MB; the store (4 MB now) may hold 4.6: release 1's file (the
    # oldest; release 1 is neither active nor previous) and the orphan must go;
    # b, c and the local upload stay.
    [d] = publish_release(repo, 4, [blob(2)])
    result = gate.pull(budget_mb=4.6)

    assert result.outcome == "activated", result.reason
    assert set(gate.media_files()) == {b, c, d, local}
    assert set(result.evicted_media) == {a, orphan}


def test_nothing_is_evicted_when_there_is_room(gate, repo):
    [a] = publish_release(repo, 1, [blob(0.2)])
    assert gate.pull().outcome == "activated"
    orphan = MediaStore(gate.settings.media_dir).add_bytes(blob(0.1))
    publish_release(repo, 2, [blob(0.2)])
    result = gate.pull(budget_mb=100)
    assert result.outcome == "activated" and result.evicted_media == []
    assert orphan in gate.media_files() and a in gate.media_files()
