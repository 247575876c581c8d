"""Sessions end on the server: a copied session cookie stops working after
logout, a password change, or an admin's "sign out everywhere"."""

from __future__ import annotations

from tests.support.admin import PASSWORDS, Auth


def _cookie(client) -> str:
    cookie = client.get_cookie("gatecast_session")
    assert cookie is not None
    return cookie.value


def _copy(app, value: str):
    thief = app.test_client()
    thief.set_cookie("gatecast_session", value)
    return thief


def test_copied_cookie_gets_401_after_logout(app, client, auth, accounts, db):
    auth.login("op")
    stolen = _cookie(client)
    assert _copy(app, stolen).get("/api/v1/me").status_code == 200
    assert auth.post("/logout").status_code == 302
    assert client.get("/api/v1/me").status_code == 401
    assert _copy(app, stolen).get("/api/v1/me").status_code == 401
    assert db.execute("SELECT COUNT(*) FROM admin_session WHERE revoked_at IS NOT NULL").fetchone()[0] == 1


def test_password_change_ends_every_session_of_the_user(app, client, auth, accounts, db):
    auth.login("op")
    other = app.test_client()
    Auth(other).login("op")
    stolen = _cookie(other)
    resp = auth.post("/account/password", {"current": PASSWORDS["op"], "password": "a-new-password-2",
                                           "password2": "a-new-password-2"})
    assert resp.status_code == 302
    assert _copy(app, stolen).get("/api/v1/me").status_code == 401
    assert other.get("/api/v1/me").status_code == 401


def test_admin_signs_a_user_out_everywhere(app, client, auth, accounts, db):
    phone, laptop = app.test_client(), app.test_client()
    Auth(phone).login("op")
    Auth(laptop).login("op")
    assert phone.get("/api/v1/me").status_code == 200
    auth.login("chief")
    auth.post("/language", {"lang": "en"})
    page = client.get("/users").get_data(as_text=True)
    op_id = db.execute("SELECT id FROM admin_user WHERE username = 'op'").fetchone()[0]
    assert f'id="end-sessions-{op_id}"' in page
    resp = auth.post(f"/users/{op_id}/sessions/end", follow_redirects=True)
    assert "op is signed out everywhere (2 session(s) ended)" in resp.get_data(as_text=True)
    assert phone.get("/api/v1/me").status_code == 401 and laptop.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me").status_code == 200  # the admin's own session lives on
    assert db.execute("SELECT action FROM admin_audit ORDER BY id DESC LIMIT 1").fetchone()[0] == "sessions.end"
    # The user logs in again and sees where; "sign out everywhere" includes this browser.
    Auth(phone).login("op")
    assert "Mozilla" in phone.get("/account").get_data(as_text=True) or "werkzeug" in phone.get("/account").get_data(as_text=True).lower()
    assert Auth(phone).post("/account/sessions/end").status_code == 302
    assert phone.get("/api/v1/me").status_code == 401


def test_a_disabled_account_loses_its_sessions(app, client, auth, accounts, db):
    victim = app.test_client()
    Auth(victim).login("view")
    auth.login("chief")
    view_id = db.execute("SELECT id FROM admin_user WHERE username = 'view'").fetchone()[0]
    assert auth.post(f"/users/{view_id}", {"disabled": "1"}).status_code == 302
    assert victim.get("/api/v1/me").status_code == 401
