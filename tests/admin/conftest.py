"""Fixtures for the admin tests: an app on a fresh state folder, a client,
accounts of every role, and an `auth` helper that logs in the real way
(GET the form, send its CSRF token)."""

from __future__ import annotations

import re

import pytest

PASSWORDS = {"chief": "chief-password-1", "op": "operator-password-1", "view": "viewer-password-1"}
ROLES = {"chief": "admin", "op": "operator", "view": "viewer"}
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


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
    monkeypatch.setattr(users, "PASSWORD_METHOD", "pbkdf2:sha256:1000")
    for name, role in ROLES.items():
        users.create_user(db, name, PASSWORDS[name], role, None, "en")
    return ROLES


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_from(html: str) -> str:
    m = _CSRF_RE.search(html)
    assert m, "page has no CSRF token"
    return m.group(1)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, username="chief", password=None):
        page = self.client.get("/login")
        token = csrf_from(page.get_data(as_text=True))
        return self.client.post("/login", data={
            "username": username, "password": password or PASSWORDS[username], "csrf_token": token})

    def csrf(self, path="/account") -> str:
        return csrf_from(self.client.get(path).get_data(as_text=True))

    def post(self, path, data=None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf())
        return self.client.post(path, data=data, **kw)


@pytest.fixture
def auth(client):
    return Auth(client)
