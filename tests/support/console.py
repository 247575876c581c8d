"""The central console through Flask's test client: log in as a role, post
forms with their CSRF token, read the answer. For the console's page tests
(tests/central/test_console*.py) and any engineer's console page test."""

from __future__ import annotations

import re

from central.users import add_user, set_password

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "console-test-password"


def make_user(db, name: str, role: str, password: str = PASSWORD) -> str:
    """A user with a known (not one-time) password; returns their API token."""
    token = add_user(db, name, role, by="test")
    set_password(db, name, password, "test")
    return token


class Console:
    """One browser's worth of session: a Flask test client with cookies."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.token = ""

    def get(self, path: str, **kw):
        r = self.client.get(path, **kw)
        found = CSRF_RE.search(r.get_data(as_text=True)) if r.mimetype == "text/html" else None
        if found:
            self.token = found.group(1)
        return r

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kw):
        if csrf and not self.token:
            self.get("/login")
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token)
        return self.client.post(path, data=data, **kw)

    def login(self, name: str, password: str = PASSWORD):
        self.get("/login")
        r = self.post("/login", {"username": name, "password": password})
        self.get("/", follow_redirects=True)  # a fresh CSRF token for the new session
        return r

    def text(self, path: str, status: int = 200) -> str:
        r = self.get(path, follow_redirects=True)
        assert r.status_code == status, (path, r.status_code, r.get_data(as_text=True)[:500])
        return r.get_data(as_text=True)


def browser_login(page, url: str, name: str = "chi", password: str = PASSWORD) -> None:
    """Sign in through the console's login form in a Playwright page."""
    page.goto(url + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
