"""Helpers for the admin tests: the test accounts' passwords and roles, reading a
page's CSRF token, and `Auth`, which logs in the real way (GET the form, send its
CSRF token)."""

from __future__ import annotations

import re

PASSWORDS = {"chief": "chief-password-1", "op": "operator-password-1", "view": "viewer-password-1"}
ROLES = {"chief": "admin", "op": "operator", "view": "viewer"}
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


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
