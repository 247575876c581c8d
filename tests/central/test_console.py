"""The console's foundation: no default account, one-time passwords from the
CLI, server-side sessions that logout, a password change and "sign out
everywhere" end at once, the login throttle, CSRF, the strict CSP on console
pages only, rights per role, four-eyes, Vietnamese first, times in the
viewer's zone."""

from __future__ import annotations

import re

import pytest

from tests.support.console import PASSWORD, Console, make_user


def test_no_default_account_the_first_admin_comes_from_the_cli(central, console_app, runner):
    from kiosk.cli import main

    c = Console(console_app)
    r = c.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    # Only the fixtures' API-only approver exists: nobody can log in.
    page = c.text("/login")
    assert "Đăng nhập" in page  # Vietnamese first
    r = c.post("/login", {"username": "approver", "password": ""})
    assert r.status_code in (302, 303, 401)
    assert c.get("/").status_code == 302
    config = central.state_dir.parent / f"{central.state_dir.name}.toml"
    out = runner.invoke(main, ["central", "user", "add", "chi", "--role", "admin", "--state",
                               str(central.state_dir), "--config", str(config)])
    assert out.exit_code == 0, out.output
    one_time = re.search(r"mật khẩu dùng một lần.*: (\S+)", out.output).group(1)
    token = out.output.strip().splitlines()[-1]
    assert len(token) >= 40 and token != one_time
    c.login("chi", one_time)
    # A one-time password opens only the account page until it is changed.
    assert c.get("/").headers["Location"].endswith("/account/")
    assert c.get("/users/").headers["Location"].endswith("/account/")
    assert "mật khẩu dùng một lần" in c.text("/account/")
    r = c.post("/account/password", {"current": one_time, "password": "short",
                                      "password2": "short"},
               headers={"Referer": "http://localhost/account/"})
    assert r.status_code == 303
    assert "ít nhất 10 ký tự" in c.text("/account/")
    r = c.post("/account/password", {"current": one_time, "password": "chi-new-password",
                                      "password2": "chi-new-password"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert c.get("/").status_code == 302  # the change ended this session too
    c.login("chi", "chi-new-password")
    home = c.text("/")
    assert "Bàn biên tập nội dung" in home and 'href="/users/"' in home


def test_sessions_end_at_once_on_logout_password_change_and_sign_out_everywhere(central,
                                                                                 console_app):
    make_user(central.db, "lan", "editor")
    phone, laptop = Console(console_app), Console(console_app)
    phone.login("lan")
    laptop.login("lan")
    assert phone.get("/").status_code == laptop.get("/").status_code == 200
    # A copy of the phone's cookie, kept by a thief.
    thief = Console(console_app)
    cookie = phone.client.get_cookie("gatecast_central")
    thief.client.set_cookie("gatecast_central", cookie.value)
    assert thief.get("/").status_code == 200
    phone.post("/logout")
    assert phone.get("/").status_code == 302
    assert thief.get("/").status_code == 302  # revoked on the server, not just forgotten
    assert laptop.get("/").status_code == 200
    phone.login("lan")
    laptop.post("/account/sign-out-everywhere")
    assert phone.get("/").status_code == laptop.get("/").status_code == 302
    phone.login("lan")
    laptop.login("lan")
    laptop.post("/account/password", {"current": PASSWORD, "password": "lan-second-password",
                                      "password2": "lan-second-password"})
    assert phone.get("/").status_code == 302
    [row] = central.db.query("""SELECT count(*) AS n FROM audit WHERE action =
                                'user.password_change' AND subject = 'lan'""")
    assert row["n"] == 1


def test_login_is_throttled_and_never_says_which_part_was_wrong(central, console_app):
    make_user(central.db, "lan", "editor")
    c = Console(console_app)
    c.get("/login")
    answers = []
    for name in ("lan", "nobody"):
        r = c.post("/login", {"username": name, "password": "wrong-password"},
                   headers={"Accept": "application/json"})
        answers.append((r.status_code, r.get_json()["error"]))
    assert answers[0] == answers[1] == (401, "Sai tên đăng nhập hoặc mật khẩu.")
    for _ in range(3):
        r = c.post("/login", {"username": "lan", "password": "wrong-password"},
                   headers={"Accept": "application/json"})
    assert r.status_code == 429 and "thử lại sau" in r.get_json()["error"]
    # Locked: even the right password waits.
    r = c.post("/login", {"username": "lan", "password": PASSWORD},
               headers={"Accept": "application/json"})
    assert r.status_code == 429
    assert central.db.scalar("SELECT count(*) FROM audit WHERE action = 'login.failed'") == 3


def test_csrf_csp_and_the_gate_api_left_alone(central, console_app):
    make_user(central.db, "lan", "admin")
    c = Console(console_app)
    c.login("lan")
    r = c.post("/users/", {"name": "minh", "role": "editor"}, csrf=False)
    assert r.status_code == 400 and central.db.scalar(
        """SELECT count(*) FROM "user" WHERE name = 'minh'""") == 0
    page = c.get("/users/")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "<script>" not in html and " style=" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    # The gate API and the signed files keep their own headers and need no CSRF token.
    r = console_app.test_client().post("/api/v1/gates/nowhere/heartbeat", json={})
    assert r.status_code == 401 and "form-action" not in r.headers.get("Content-Security-Policy", "")
    assert console_app.test_client().get("/healthz").status_code == 200


@pytest.mark.parametrize("role, allowed, refused", [
    ("editor", ["/", "/account/"], ["/users/"]),
    ("operator", ["/", "/account/"], ["/users/"]),
    ("admin", ["/", "/account/", "/users/"], []),
])
def test_each_role_sees_its_pages_and_is_refused_the_others_in_its_language(
        central, console_app, role, allowed, refused):
    make_user(central.db, "u1", role)
    c = Console(console_app)
    c.login("u1")
    for path in allowed:
        assert c.get(path).status_code == 200, path
    for path in refused:
        r = c.get(path)
        assert r.status_code == 403 and "Vai trò của bạn không được làm việc này" in r.get_data(
            as_text=True)
        assert f'href="{path}"' not in c.text("/")  # and not offered in the nav


def test_users_page_add_role_disable_reset_sign_out_all_audited(central, console_app):
    make_user(central.db, "chi", "admin")
    admin, other = Console(console_app), Console(console_app)
    admin.login("chi")
    r = admin.post("/users/", {"name": "minh", "role": "editor"})
    assert r.status_code == 201
    one_time = re.search(r'id="one-time-password">([^<]+)<', r.get_data(as_text=True)).group(1)
    other.login("minh", one_time)
    assert other.get("/").headers["Location"].endswith("/account/")
    other.post("/account/password", {"current": one_time, "password": "minh-password-1",
                                      "password2": "minh-password-1"})
    other.login("minh", "minh-password-1")
    assert other.get("/").status_code == 200
    admin.post("/users/minh/role", {"role": "approver"})
    assert other.get("/").status_code == 302  # a role change ends their sessions
    other.login("minh", "minh-password-1")
    assert "(người duyệt)" in other.text("/")
    admin.post("/users/minh/sign-out")
    assert other.get("/").status_code == 302
    admin.post("/users/minh/disable", {"disabled": "1"})
    other.login("minh", "minh-password-1")
    assert other.get("/").status_code == 302  # a disabled account cannot log in
    admin.post("/users/minh/disable", {"disabled": "0"})
    r = admin.post("/users/minh/password")
    new_one_time = re.search(r'id="one-time-password">([^<]+)<', r.get_data(as_text=True)).group(1)
    other.login("minh", new_one_time)
    assert other.get("/").headers["Location"].endswith("/account/")
    # The last admin cannot demote or disable themselves.
    r = admin.post("/users/chi/role", {"role": "editor"}, headers={"Accept": "application/json"})
    assert r.status_code == 400 and "quản trị cuối cùng" in r.get_json()["error"]
    actions = [r["action"] for r in central.db.query(
        "SELECT action FROM audit WHERE subject = 'minh' AND who = 'chi' ORDER BY id")]
    assert actions == ["user.add", "user.password_reset", "user.update", "user.sign_out_everywhere",
                       "user.update", "user.update", "user.password_reset"]
    page = admin.text("/users/")
    assert "đặt mật khẩu dùng một lần" in page and "{'" not in page  # no raw dicts


def test_rights_four_eyes_and_the_cli_acting_check(central, runner):
    from kiosk.cli import main

    from central.checks import Forbidden
    from central.users import acting_user, check_four_eyes, has_right

    assert has_right("operator", "emergency") and not has_right("editor", "emergency")
    assert has_right("approver", "approve") and not has_right("operator", "approve")
    assert not has_right("viewer", "edit") and has_right("admin", "users")
    check_four_eyes("lan", "minh")
    with pytest.raises(Forbidden, match="Four eyes"):
        check_four_eyes("lan", "lan")
    token = make_user(central.db, "lan", "approver")
    with pytest.raises(Forbidden, match="do not match"):
        acting_user(central.db, "lan", "not-the-token", "approve")
    with pytest.raises(Forbidden, match="right to publish an emergency"):
        acting_user(central.db, "lan", token, "emergency")
    assert acting_user(central.db, "lan", token, "approve")["name"] == "lan"
    # The CLI: an unchecked name no longer approves anything.
    from tests.support.media import make_image

    sha = central.media(make_image(central.state_dir.parent / "x.png"), approve=False)
    config = central.state_dir.parent / f"{central.state_dir.name}.toml"

    def approve(*extra, env=None):
        return runner.invoke(main, ["central", "media", "approve", sha[:10], *extra, "--state",
                                    str(central.state_dir), "--config", str(config)], env=env)

    assert "không khớp" in approve("--as", "lan", "--token", "guess").output
    assert central.db.scalar("SELECT state FROM media") == "uploaded"
    out = approve(env={"GATECAST_CENTRAL_USER": "lan", "GATECAST_CENTRAL_TOKEN": token})
    assert out.exit_code == 0, out.output
    assert central.db.scalar("SELECT approved_by FROM media") == "lan"


def test_passwords_are_hashed_with_scrypt():
    from kiosk.web import accounts

    assert accounts.PASSWORD_METHOD == "scrypt"
    stored = accounts.hash_password("a long enough password")
    assert stored.startswith("scrypt:") and "a long enough password" not in stored
    assert accounts.verify(stored, "a long enough password")
    assert not accounts.verify(stored, "another password") and not accounts.verify(None, "")


def test_times_show_in_the_viewers_zone_and_language(central, console_app):
    from sqlalchemy import text

    from central.users import set_preferences

    make_user(central.db, "lan", "admin")
    with central.db.transaction(write=True) as conn:
        conn.execute(text("""UPDATE "user" SET created_at = '2026-11-30T01:05:00+00:00'"""))
    c = Console(console_app)
    c.login("lan")
    assert "08:05 30/11/2026" in c.text("/users/")  # Asia/Ho_Chi_Minh by default
    set_preferences(central.db, "lan", timezone="Europe/Paris")
    assert "02:05 30/11/2026" in c.text("/users/")
    c.post("/language", {"lang": "en", "next": "/users/"})
    page = c.text("/users/")
    assert "Add a user" in page and "Thêm người dùng" not in page
