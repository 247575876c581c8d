"""The central TUF repository, checked by the real client (tuf.ngclient) over
real HTTP: what init makes, what publish adds, key rotation and re-signing."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from tuf.ngclient import Updater

from central.repo import KeyUnavailable, Repository, RepositoryError, TargetSpec

from tests.support.media import make_image


def updater(server, central, tmp_path, name="gate") -> Updater:
    meta = tmp_path / name / "metadata"
    targets = tmp_path / name / "targets"
    meta.mkdir(parents=True, exist_ok=True)
    targets.mkdir(parents=True, exist_ok=True)
    return Updater(str(meta), f"{server.url}/tuf/metadata/", str(targets),
                   f"{server.url}/tuf/targets/",
                   bootstrap=central.repo.trusted_root_path.read_bytes())


def test_init_makes_metadata_the_client_accepts(central, central_server, tmp_path):
    root = json.loads(central.repo.trusted_root_path.read_text())["signed"]
    assert root["consistent_snapshot"] is True
    assert {k["keytype"] for k in root["keys"].values()} == {"ed25519"}
    client = updater(central_server, central, tmp_path)
    client.refresh()
    assert client.get_targetinfo("releases/huu-nghi.json") is None


def test_keys_are_private_and_offline_keys_stay_out(tmp_path):
    offline = tmp_path / "usb"
    repo = Repository(tmp_path / "state", offline)
    repo.init()
    assert sorted(p.name for p in offline.iterdir()) == ["root.pem", "targets.pem"]
    online = sorted(p.name for p in (tmp_path / "state" / "keys").iterdir())
    assert online == ["publisher.pem", "snapshot.pem", "timestamp.pem"]
    for key in [*offline.iterdir(), *(tmp_path / "state" / "keys").iterdir()]:
        assert key.stat().st_mode & 0o077 == 0, key
    with pytest.raises(RepositoryError, match="already exist"):
        repo.init()
    # Publishing needs only online keys; rotating a top-level key needs root.
    src = make_image(tmp_path / "a.png")
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    repo.publish([TargetSpec(f"media/{sha}", src, src.stat().st_size, sha)])
    with pytest.raises(KeyUnavailable, match="offline-keys"):
        Repository(tmp_path / "state").rotate_key("timestamp")


def test_publish_makes_release_and_media_targets(central, central_server, tmp_path):
    central.gate("huu-nghi")
    sha = central.media(make_image(tmp_path / "red.png"))
    central.show("huu-nghi", [sha])
    result = central.publish()
    assert result.changed == {"huu-nghi": result.repository_version}

    client = updater(central_server, central, tmp_path)
    client.refresh()
    info = client.get_targetinfo("releases/huu-nghi.json")
    doc = json.loads(Path(client.download_target(info)).read_bytes())
    assert doc["gate_id"] == "huu-nghi" and doc["version"] == result.repository_version
    assert [m["sha256"] for m in doc["media"]] == [sha]
    media = client.get_targetinfo(f"media/{sha}")
    assert hashlib.sha256(Path(client.download_target(media)).read_bytes()).hexdigest() == sha
    # Served under hash-prefixed names only.
    assert (central.repo.targets_dir / "media" / f"{sha}.{sha}").is_file()
    assert not (central.repo.targets_dir / "media" / sha).exists()


def test_a_publish_re_signs_only_the_bins_that_changed(central, tmp_path):
    for gate in ("huu-nghi", "tan-thanh", "chi-ma"):
        central.gate(gate)
    sha = central.media(make_image(tmp_path / "red.png"))
    central.show("huu-nghi", [sha])
    central.publish()
    before = dict(central.repo.snapshot().signed.meta)
    central.show("tan-thanh", [sha], playlist="other")  # same media: one release changes
    result = central.publish()
    after = central.repo.snapshot().signed.meta
    changed = {name for name in after if after[name].version != before[name].version}
    bins = central.repo.bins()
    assert changed == {bins.get_role_for_target("releases/tan-thanh.json") + ".json"}
    assert central.repo.version() == result.repository_version


def test_prune_keeps_what_the_current_version_names(central, central_server, tmp_path):
    central.gate("huu-nghi")
    red = central.media(make_image(tmp_path / "red.png"))
    central.show("huu-nghi", [red])
    central.publish()
    blue = central.media(make_image(tmp_path / "blue.png", color=(0, 0, 200)))
    central.show("huu-nghi", [blue])  # replaces the playlist: red leaves the release
    central.publish()
    central.repo.rotate_key("root")
    repo = central.repo
    assert repo.prune() == {"metadata": 0, "targets": 0}  # all younger than a week
    removed = repo.prune(older_than=timedelta(0))
    assert removed["targets"] == 2 and removed["metadata"] >= 3  # red, the old release
    assert not (repo.targets_dir / "media" / f"{red}.{red}").exists()
    assert (repo.targets_dir / "media" / f"{blue}.{blue}").exists()
    assert {"1.root.json", "2.root.json", "root.json", "timestamp.json"} <= {
        p.name for p in repo.metadata_dir.iterdir()}
    client = updater(central_server, central, tmp_path)  # a gate installed long ago
    client.refresh()
    info = client.get_targetinfo("releases/huu-nghi.json")
    doc = json.loads(Path(client.download_target(info)).read_bytes())
    assert [m["sha256"] for m in doc["media"]] == [blue]
    assert (central.state_dir / "library" / red).exists()  # the library keeps its copy


def test_bad_target_paths_are_refused(central, tmp_path):
    src = make_image(tmp_path / "x.png")
    for path in ("../x", "media/../../x", "/etc/passwd", "media/a/b", "other/x"):
        with pytest.raises(RepositoryError):
            central.repo.publish([TargetSpec(path, src, src.stat().st_size, "0" * 64)])


@pytest.mark.parametrize("role", ["timestamp", "snapshot", "publisher", "targets", "root"])
def test_rotated_keys_reach_a_client_that_knew_the_old_ones(role, central, central_server,
                                                            tmp_path):
    central.gate("huu-nghi")
    sha = central.media(make_image(tmp_path / "red.png"))
    central.show("huu-nghi", [sha])
    central.publish()
    client = updater(central_server, central, tmp_path)
    client.refresh()
    old_root = central.repo.root().signed.version

    central.repo.rotate_key(role)
    sha2 = central.media(make_image(tmp_path / "blue.png", color=(0, 0, 200)))
    central.show("huu-nghi", [sha2], playlist="second")
    central.publish()

    # An Updater refreshes once; a gate makes a new one over its stored metadata.
    for name in ("gate2", "gate"):
        c = updater(central_server, central, tmp_path, name=name)
        c.refresh()
        assert c.get_targetinfo(f"media/{sha2}") is not None
    assert (central.repo.root().signed.version > old_root) == (role != "publisher")
    assert list((central.repo.keys_dir).glob(f"{role}.*.retired.pem"))


def test_refresh_resigns_online_metadata_at_half_life(central, central_server, tmp_path):
    repo = central.repo
    assert repo.refresh() == []
    later = repo.timestamp().signed.expires - repo.online_expiry / 2 + timedelta(minutes=1)
    bins = list(repo.bins().get_roles())
    assert len(bins) == 16
    assert repo.refresh(now=later) == [*bins, "snapshot", "timestamp"]
    assert repo.timestamp().signed.expires > later + repo.online_expiry / 2
    client = updater(central_server, central, tmp_path)
    client.refresh()


def test_many_new_targets_are_made_durable_in_one_flush(tmp_path, monkeypatch):
    """An emergency for 10,000 gates adds 10,000 release files: one syncfs of
    the file system, not an fsync each (which cost most of its minute and a
    half), and every file is in place and whole before the metadata names it."""
    import os

    import central.repo as repo_module

    repo = Repository(tmp_path / "state")
    repo.init()
    specs = []
    for i in range(40):
        src = tmp_path / f"r{i}.json"
        src.write_bytes(json.dumps({"gate": i}).encode())
        data = src.read_bytes()
        specs.append(TargetSpec(f"releases/g{i}.json", src, len(data),
                                hashlib.sha256(data).hexdigest()))
    synced, fsynced = [], []
    real_syncfs, real_fsync = repo_module._syncfs, os.fsync

    def counting_syncfs(path):
        # By now every new target is in place, under its final name.
        synced.append(sorted(p.name for p in (repo.targets_dir / "releases").iterdir()))
        return real_syncfs(path)

    monkeypatch.setattr(repo_module, "_syncfs", counting_syncfs)
    monkeypatch.setattr(os, "fsync", lambda fd: (fsynced.append(fd), real_fsync(fd))[1])
    version = repo.publish(specs)
    assert len(synced) == 1 and len(synced[0]) == 40
    assert not any(name.startswith(".incoming-") for name in synced[0])
    # The metadata's own writes still fsync each file (a handful), not one per target.
    assert len(fsynced) < 20
    assert repo.version() == version == 2
    assert set(repo.published_targets()) == {s.path for s in specs}
