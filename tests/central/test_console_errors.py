"""The console's error pages: an unknown address, a forbidden page, a wrong
method, an upload over the limit, a stale or missing form token and a
failure inside the server are said in the viewer's language on the console's
own page (the failure logged with a reference, never its traceback); the
APIs keep answering JSON."""

from __future__ import annotations

import logging

from flask import Blueprint

from tests.support.console import Console, make_user


def _boom_app(console_app):
    from central import console

    bp = Blueprint("boom", __name__, url_prefix="/boom")

    @bp.get("/")
    def boom():
        raise RuntimeError("secret internals: /srv/state/key.pem")

    console.register(console_app, bp)
    return console_app


def test_error_pages_in_vietnamese_and_english_on_the_console_page(central, console_app,
                                                                   caplog):
    _boom_app(console_app)
    make_user(central.db, "lan", "editor")
    stranger = Console(console_app)
    # An unknown address, before signing in: the console's page, in Vietnamese.
    r = stranger.get("/khong-co-trang-nay")
    page = r.get_data(as_text=True)
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert "Không tìm thấy trang" in page and "không tồn tại" in page
    assert "app.css" in page and "Not Found" not in page
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    c = Console(console_app)
    c.login("lan")
    page = c.text("/khong-co-trang-nay", status=404)
    assert 'id="console-nav"' in page and "Không tìm thấy trang" in page
    # 403: the page a role may not open.
    page = c.text("/users/", status=403)
    assert "Không được phép" in page and "quyền" in page
    # 405: a GET where only a form's POST goes.
    r = c.get("/logout")
    assert r.status_code == 405 and "Method Not Allowed" not in r.get_data(as_text=True)
    assert "không nhận kiểu yêu cầu này" in r.get_data(as_text=True)
    # 500: logged with a reference; the page shows the reference, not the traceback.
    caplog.set_level(logging.ERROR)
    r = c.get("/boom/")
    page = r.get_data(as_text=True)
    assert r.status_code == 500 and "Đã có lỗi" in page
    assert "secret internals" not in page and "Traceback" not in page
    [logged] = [rec for rec in caplog.records if "unexpected error" in rec.getMessage()]
    reference = logged.getMessage().split("reference ")[1].rstrip(")")
    assert reference in page and logged.exc_info[0] is RuntimeError
    # The same pages in English.
    c.post("/language", {"lang": "en", "next": "/"})
    page = c.text("/khong-co-trang-nay", status=404)
    assert "Page not found" in page and "This page or item does not exist" in page


def test_a_missing_or_stale_form_token_says_what_to_do_and_stores_nothing(central,
                                                                          console_app):
    make_user(central.db, "chi", "admin")
    c = Console(console_app)
    c.login("chi")
    r = c.post("/users/", {"name": "minh", "role": "editor"}, csrf=False)
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "không có mã bảo mật" in page and "Tải lại trang" in page
    stale = c.token
    c.post("/logout")
    c.login("chi")
    r = c.post("/users/", {"name": "minh", "role": "editor", "csrf_token": stale})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "Tải lại trang" in page
    assert central.db.scalar("""SELECT count(*) FROM "user" WHERE name = 'minh'""") == 0


def test_an_upload_over_the_limit_is_refused_in_words(central, console_app):
    make_user(central.db, "lan", "editor")
    c = Console(console_app)
    c.login("lan")
    limit = int(central.settings["central_max_report_mb"])
    body = b"x" * (limit * 2**20 + 1)
    r = c.client.post("/account/password", data=body,
                      headers={"Content-Type": "application/octet-stream"})
    page = r.get_data(as_text=True)
    assert r.status_code == 413 and f"giới hạn {limit} MB" in page
    assert "Quá lớn" in page or "quá lớn" in page


def test_the_apis_keep_json_errors(central, console_app):
    client = console_app.test_client()
    r = client.get("/api/v1/khong-co")
    assert r.status_code == 404 and r.is_json and r.json["error"]
    r = client.get("/api/v1/gates/nowhere/heartbeat")
    assert r.status_code == 405 and r.is_json and "POST" in r.headers["Allow"]
    # The gates' token refusal is left exactly as the API made it.
    r = client.post("/api/v1/gates/nowhere/heartbeat", json={})
    assert r.status_code == 401 and r.json == {"error": "bad gate token"}
    assert client.get("/tuf/metadata/nothing.json").status_code == 404
