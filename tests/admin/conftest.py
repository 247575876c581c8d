"""Fixtures for the admin tests: an app on a fresh state folder, a client,
accounts of every role, and `auth` (tests.support.admin.Auth) on the client."""

from __future__ import annotations

import pytest

from tests.support.admin import PASSWORDS, ROLES, Auth


@pytest.fixture
def app(state_dir, tmp_path):
    from admin import create_app

    cfg = tmp_path / "gatecast.toml"
    if not cfg.exists():
        cfg.write_text("")
    app = create_app({"STATE_DIR": str(state_dir), "CONFIG_FILE": str(cfg), "TESTING": True})
    yield app


@pytest.fixture
def db(app):
    from kiosk.store import connect

    db = connect(app.extensions["gatecast_settings"].db_path)
    yield db
    db.close()


@pytest.fixture
def accounts(db, monkeypatch):
    from admin.services import users

    # Fast hashes for the many logins of the tests; test_passwords_are_hashed
    # checks the production method.
    from kiosk.web import accounts as web_accounts

    monkeypatch.setattr(web_accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
    for name, role in ROLES.items():
        users.create_user(db, name, PASSWORDS[name], role, None, "en")
    return ROLES


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def browser():
    """Debian's chromium through Playwright (its own browsers cannot be downloaded here)."""
    from tests.support.browser import chromium

    with chromium() as b:
        yield b
