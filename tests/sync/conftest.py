"""pytest fixtures for the sync tests; test modules import the ones they use."""

from __future__ import annotations

import pytest

from synckit.gate import GATE_ID, TOKEN, Gate
from synckit.httpserver import CentralDouble
from synckit.tufrepo import TufRepo, media_entry, release_doc


@pytest.fixture
def repo(tmp_path):
    """A signed TUF repository laid out as central publishes it."""
    return TufRepo(tmp_path / "central")


@pytest.fixture
def central(repo):
    """The repository and the report API on a real HTTP server on 127.0.0.1."""
    double = CentralDouble(repo.base, {GATE_ID: TOKEN})
    yield double
    double.close()


@pytest.fixture
def gate(tmp_path, repo, central):
    """A fresh gate pinned to the repository's root, pointed at `central`."""
    g = Gate(tmp_path / "gate", central.url, repo.root_bytes())
    yield g
    g.close()


def publish_release(repo, version, blobs, **kw) -> list[str]:
    """Sign `blobs` as media and a release of them for the test gate; returns their sha256s."""
    media = []
    for i, data in enumerate(blobs):
        sha = repo.add_media(data)
        media.append(media_entry(sha, data, name=f"item {i}"))
    repo.add_release(release_doc(GATE_ID, version, media, **kw))
    repo.publish()
    return [m["sha256"] for m in media]
