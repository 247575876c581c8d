"""Fixtures for the sync tests: a signed TUF repository, a central double serving it
on 127.0.0.1, and a fresh gate pinned to it (helpers in tests.support.sync)."""

from __future__ import annotations

import pytest

from tests.support.sync.gate import GATE_ID, TOKEN, Gate
from tests.support.sync.httpserver import CentralDouble
from tests.support.sync.tufrepo import TufRepo


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
