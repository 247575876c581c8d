"""Admin access and safety: the factory, login, roles, CSRF, throttling,
security headers, first-run setup and the audit log."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from tests.support.admin import PASSWORDS, Auth, csrf_from

# auth.language: the login page's language switch works before signing in (it only
# sets the session's language; CSRF still applies: tests/admin/test_admin_widgets.py).
PUBLIC = {"auth.login", "auth.language", "auth.setup", "health.health", "health.favicon", "static"}


def _sample_args(rule):
    values = {}
    for arg in rule.arguments:
        conv = type(rule._converters[arg]).__name__
        values[arg] = 1 if "Integer" in conv else ("a" * 64 if arg == "sha256" else "x")
    return values


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        path = rule.build(_sample_args(rule), append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path


def test_factory_uses_test_config_and_migrates(app, db):
    assert app.testing
    assert "admin_user" in db.table_names()
    names = [r["name"] for r in db["_sqlite_migrations"].rows if r["migration_set"] == "gatecast.admin"]
    assert names == ["m001_accounts", "m002_sessions"]


def test_every_route_refuses_anonymous(app, client, accounts):
    routes = list(_routes(app))
    assert len(routes) > 10  # the enumeration itself works
    for endpoint, method, path in routes:
        resp = client.open(path, method=method)
        assert resp.status_code in (302, 401), (endpoint, method, path, resp.status_code)
        if resp.status_code == 302:
            assert resp.headers["Location"].startswith("/login"), (endpoint, resp.headers["Location"])
        assert b"chief" not in resp.data


def test_first_run_redirects_everything_to_setup_then_setup_closes(client):
    assert client.get("/").headers["Location"] == "/setup"
    assert client.get("/login").headers["Location"] == "/setup"
    assert client.get("/api/v1/status").status_code == 401
    page = client.get("/setup")
    token = csrf_from(page.get_data(as_text=True))
    resp = client.post("/setup", data={"username": "chief", "password": "short",
                                       "password2": "short", "csrf_token": token})
    assert resp.status_code == 400
    assert client.get("/setup").status_code == 200  # still no account
    resp = client.post("/setup", data={"username": "chief", "password": PASSWORDS["chief"],
                                       "password2": PASSWORDS["chief"], "csrf_token": token})
    assert resp.status_code == 302
    # A second setup is refused: the page is gone once an account exists.
    assert client.get("/setup").headers["Location"] == "/login"
    resp = client.post("/setup", data={"username": "evil", "password": "evil-password-1",
                                       "password2": "evil-password-1", "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert Auth(client).login("chief").status_code == 302


def test_login_logout_and_session_cookie_flags(client, auth, accounts):
    resp = auth.login("chief")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    cookie = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith("gatecast_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/").status_code == 200
    resp = auth.post("/logout")
    assert resp.status_code == 302
    assert client.get("/").status_code == 302
    # Back where the technician was, with the query, and no stray "?".
    assert client.get("/").headers["Location"] == "/login?next=/"
    assert client.get("/logs/events?level=error").headers["Location"] == "/login?next=/logs/events?level%3Derror"


def test_open_redirect_after_login_is_refused(client, accounts):
    page = client.get("/login?next=//evil.example/x")
    token = csrf_from(page.get_data(as_text=True))
    resp = client.post("/login?next=//evil.example/x", data={
        "username": "chief", "password": PASSWORDS["chief"], "csrf_token": token})
    assert resp.headers["Location"] == "/"


def test_post_without_csrf_token_is_refused(client, auth, accounts, db):
    auth.login("chief")
    before = db.execute("SELECT COUNT(*) FROM admin_user").fetchone()[0]
    resp = client.post("/users", data={"username": "sneaky", "password": "sneaky-password-1",
                                       "role": "admin"})
    assert resp.status_code == 400
    assert db.execute("SELECT COUNT(*) FROM admin_user").fetchone()[0] == before
    resp = client.post("/users", data={"username": "sneaky", "password": "sneaky-password-1",
                                       "role": "admin", "csrf_token": "forged"})
    assert resp.status_code == 400
    # The browser's JSON calls are checked too (header token).
    resp = client.post("/api/v1/power/blank", json={"reason": "x"})
    assert resp.status_code == 400
    assert db["blank"].get(1)["active"] == 0


@pytest.fixture
def strict_login(tmp_path):
    # Written before the app fixture reads it: lock after 3 failures.
    (tmp_path / "gatecast.toml").write_text("admin_login_max_failures = 3\nadmin_lockout_s = 300\n")


def test_wrong_password_same_message_as_unknown_user_then_lockout(strict_login, client, accounts, db):
    def attempt(user, pw):
        token = csrf_from(client.get("/login").get_data(as_text=True))
        return client.post("/login", data={"username": user, "password": pw, "csrf_token": token})

    r1 = attempt("chief", "wrong-password")
    r2 = attempt("nobody", "wrong-password")
    assert r1.status_code == r2.status_code == 401
    msg = lambda r: re.search(r'id="error-message">([^<]*)<', r.get_data(as_text=True)).group(1)  # noqa: E731
    assert msg(r1) == msg(r2)
    # The third failure from this address locks it: even the right password
    # is refused, with the time to wait.
    attempt("chief", "wrong-again")
    resp = attempt("chief", PASSWORDS["chief"])
    assert resp.status_code == 429
    assert 290 <= int(re.search(r"\d+", msg(resp)).group()) <= 301
    rows = {r["key"]: r for r in db["admin_login_failure"].rows}
    assert rows["user:chief"]["failures"] == 2 and rows["ip:127.0.0.1"]["failures"] == 3
    assert db.execute("SELECT COUNT(*) FROM admin_audit WHERE action = 'login.failed'").fetchone()[0] == 3


def test_failed_logins_slow_down_before_the_lockout(db, accounts):
    from datetime import timedelta

    from admin.services import AdminError
    from admin.services import users
    from kiosk.store import utcnow

    now = utcnow()
    delays = []
    for i in range(4):
        with pytest.raises(AdminError):
            users.authenticate(db, "op", "bad", "10.1.1.1", max_failures=10, lockout_s=300,
                               now=now + timedelta(seconds=100 * i))
        row = db["admin_login_failure"].get("user:op")
        delays.append(row["locked_until"] and (datetime.fromisoformat(row["locked_until"])
                                               - datetime.fromisoformat(row["last_at"])).total_seconds())
    assert delays == [None, None, 2.0, 4.0]


def test_lockout_after_max_failures_and_expiry(db, accounts):
    from datetime import timedelta

    from admin.services import AdminError
    from admin.services import users
    from kiosk.store import utcnow

    now = utcnow()
    for i in range(5):
        with pytest.raises(AdminError):
            users.authenticate(db, "op", "bad", f"10.0.0.{i}", max_failures=5, lockout_s=300,
                               now=now + timedelta(seconds=600 * i))
    # Locked for 300 s (per user name, whatever the address).
    with pytest.raises(AdminError) as e:
        users.authenticate(db, "op", PASSWORDS["op"], "10.0.0.99", now=now + timedelta(seconds=2500))
    assert e.value.status == 429
    ok = users.authenticate(db, "op", PASSWORDS["op"], "10.0.0.99", now=now + timedelta(seconds=2801))
    assert ok["username"] == "op"


def test_roles(client, auth, accounts, db):
    auth.login("view")
    assert client.get("/").status_code == 200
    assert client.get("/users").status_code == 403
    resp = auth.post("/users", {"username": "x2", "password": "x-password-12", "role": "admin"})
    assert resp.status_code == 403
    auth.post("/logout")
    auth.login("op")
    assert client.get("/users").status_code == 403
    auth.post("/logout")
    auth.login("chief")
    assert client.get("/users").status_code == 200


def test_admin_creates_and_changes_users_with_audit(client, auth, accounts, db):
    auth.login("chief")
    resp = auth.post("/users", {"username": "an", "password": "an-password-123", "role": "operator"})
    assert resp.status_code == 302
    uid = db.execute("SELECT id FROM admin_user WHERE username = 'an'").fetchone()[0]
    resp = auth.post(f"/users/{uid}", {"role": "viewer"})
    assert resp.status_code == 302
    rows = list(db.query("SELECT * FROM admin_audit WHERE action LIKE 'user.%' ORDER BY id"))
    create = [r for r in rows if r["action"] == "user.create" and r["target"] == "an"][0]
    assert create["username"] == "chief" and create["role"] == "admin" and create["before"] is None
    update = rows[-1]
    assert json.loads(update["before"])["role"] == "operator"
    assert json.loads(update["after"])["role"] == "viewer"
    assert "password" not in update["after"].lower() or "hash" not in update["after"].lower()


def test_last_admin_cannot_demote_itself(client, auth, accounts, db):
    auth.login("chief")
    uid = db.execute("SELECT id FROM admin_user WHERE username = 'chief'").fetchone()[0]
    resp = auth.post(f"/users/{uid}", {"role": "viewer"})
    assert resp.status_code == 409
    assert db.execute("SELECT role FROM admin_user WHERE id = ?", [uid]).fetchone()[0] == "admin"


def test_password_change_ends_other_sessions(app, accounts, db):
    first, second = app.test_client(), app.test_client()
    Auth(first).login("op")
    a2 = Auth(second)
    a2.login("op")
    resp = a2.post("/account/password", {"current": PASSWORDS["op"], "password": "new-password-99",
                                         "password2": "new-password-99"})
    assert resp.status_code == 302
    assert first.get("/").status_code == 302  # the old session is gone
    assert Auth(first).login("op", "new-password-99").status_code == 302


def test_passwords_are_hashed_with_scrypt(db):
    from admin.services import users

    users.create_user(db, "chief", PASSWORDS["chief"], "admin", None)
    stored = db.execute("SELECT password_hash FROM admin_user WHERE username = 'chief'").fetchone()[0]
    assert PASSWORDS["chief"] not in stored and stored.startswith("scrypt:")
    assert users.authenticate(db, "chief", PASSWORDS["chief"], "127.0.0.1")["username"] == "chief"


def test_security_headers(client, auth, accounts):
    auth.login("chief")
    for path in ("/", "/login", "/health", "/static/app.css"):
        with client.get(path) as resp:
            h = resp.headers
            assert "script-src 'self'" in h["Content-Security-Policy"]
            assert "unsafe-inline" not in h["Content-Security-Policy"]
            assert h["X-Frame-Options"] == "DENY"
            assert h["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_script_and_no_external_assets(client, auth, accounts, app):
    auth.login("chief")
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint in ("auth.logout",):
            continue
        resp = client.get(rule.rule)
        if resp.mimetype != "text/html":
            continue
        html = resp.get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (rule.rule, tag)
        assert not re.search(r"""(src|href)=["']https?://""", html), rule.rule
        assert " on" + "click=" not in html and "style=" not in html, rule.rule


def test_health_is_public_and_says_little(client):
    resp = client.get("/health")
    assert resp.status_code == 200 and resp.json["status"] == "ok"
    assert set(resp.json) == {"status", "version"}


def test_vi_and_en_catalogues_are_complete():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, str(root / "scripts" / "admin_catalogues.py"), "--check"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:]


def test_language_switch_vietnamese_default_and_english(client, auth, accounts, db):
    db.execute("UPDATE admin_user SET language = 'vi' WHERE username = 'view'")
    auth.login("view")
    page = client.get("/").get_data(as_text=True)
    assert 'lang="vi"' in page and "Tổng quan" in page
    auth.post("/language", {"lang": "en"})
    page = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in page and "Dashboard" in page and "Tổng quan" not in page
    assert db.execute("SELECT language FROM admin_user WHERE username = 'view'").fetchone()[0] == "en"


def test_the_login_page_switches_language_before_signing_in(client, auth, accounts):
    assert client.post("/language", data={"lang": "en"}).status_code == 400  # no CSRF token
    page = client.get("/login").get_data(as_text=True)
    assert 'id="lang-en"' in page and "Đăng nhập" in page
    resp = client.post("/language", data={"lang": "en", "next": "/login",
                                          "csrf_token": auth.csrf("/login")})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert "<h1>Log in</h1>" in client.get("/login").get_data(as_text=True)
    # Chosen before signing in, kept through the login over the account's own (English).
    client.post("/language", data={"lang": "vi", "next": "/login", "csrf_token": auth.csrf("/login")})
    auth.login("view")
    assert 'lang="vi"' in client.get("/").get_data(as_text=True)
