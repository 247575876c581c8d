"""Fixtures every area may use: small, named for what they give. Each area's own
fixtures are in its folder's conftest.py; plain helpers are in tests/support/."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from kiosk.settings import load_settings
from kiosk.store import open_db

from tests.support.player import Gate, make_media

# Tests never touch /etc/gatecast or the user's environment. GATECAST_HARDWARE_*
# are not settings but the opt-in for tests on a real Raspberry Pi: they stay.
for _k in list(os.environ):
    if _k.startswith("GATECAST_") and not _k.startswith("GATECAST_HARDWARE_"):
        del os.environ[_k]
os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
HARDWARE_TESTS = os.environ.get("GATECAST_HARDWARE_TESTS") == "1"


def pytest_collection_modifyitems(config, items):
    """Tests marked `hardware` need a real Pi; they run only with GATECAST_HARDWARE_TESTS=1."""
    if HARDWARE_TESTS:
        return
    skip = pytest.mark.skip(reason="needs a Raspberry Pi: set GATECAST_HARDWARE_TESTS=1")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def _migrated_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "gatecast.db"
    open_db(path).close()
    return path


@pytest.fixture
def state_dir(tmp_path, _migrated_db):
    """A set-up gate's state folder (a migrated gatecast.db, as `gatecast migrate`
    leaves it): commands refuse a folder without a database."""
    import shutil

    d = tmp_path / "state"
    d.mkdir()
    shutil.copyfile(_migrated_db, d / "gatecast.db")
    return d


@pytest.fixture
def empty_state_dir(tmp_path):
    """A state folder with nothing in it (what a mistyped --state names)."""
    d = tmp_path / "empty-state"
    d.mkdir()
    return d


@pytest.fixture
def settings(state_dir, tmp_path):
    cfg = tmp_path / "gatecast.toml"
    cfg.write_text("")
    return load_settings(config_file=cfg, state_dir=state_dir, env={})


@pytest.fixture
def db_path(state_dir):
    return state_dir / "gatecast.db"


@pytest.fixture
def fresh_db(db_path):
    db = open_db(db_path)
    yield db
    db.close()


@pytest.fixture
def runner():
    return CliRunner()


# A gate's state folder with ffmpeg-made sample media, for the tests that run the
# real player: player, power and text. (The sync tests have their own `gate`.)
@pytest.fixture(scope="session")
def sample_media(tmp_path_factory):
    return make_media(tmp_path_factory.mktemp("sample-media"))


@pytest.fixture
def gate(state_dir, sample_media):
    g = Gate(state_dir, sample_media)
    yield g
    g.db.close()
