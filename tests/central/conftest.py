"""Fixtures for the central tests: a central state folder filled through the
library calls, and its Flask app served on 127.0.0.1 (tests.support.central)."""

from __future__ import annotations

import pytest

from tests.support.central import LiveServer, make_central


@pytest.fixture
def central(tmp_path):
    c = make_central(tmp_path / "central")
    yield c
    c.db.close()


@pytest.fixture
def central_server(central):
    server = LiveServer(central.settings)
    yield server
    server.close()
