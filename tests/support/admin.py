"""Helpers for the admin tests: the test accounts' passwords and roles, reading a
page's CSRF token, `Auth`, which logs in the real way (GET the form, send its
CSRF token), and starting the installed `gatecast` commands for the browser tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

GATECAST = str(Path(sys.executable).parent / "gatecast")


def start_process(cmd, env, log: Path) -> subprocess.Popen:
    # Own process group: teardown stops gunicorn's workers and mpv with it.
    with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATECAST_")}
    env.update(GPIOZERO_PIN_FACTORY="mock", **extra)
    return env

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
