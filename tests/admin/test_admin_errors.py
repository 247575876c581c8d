"""The gate admin answers HTTP errors with the same sentences as the central
console (kiosk/web/errors.py): an unknown address in Vietnamese for a
visitor and in the account's language once logged in, a form without its
token said with what to do, a failure inside logged with a reference and
never its traceback; the JSON API keeps JSON."""

from __future__ import annotations

import logging


def test_admin_error_pages_share_the_consoles_sentences(app, client, auth, accounts, caplog):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    r = client.get("/khong-co-trang-nay")
    page = r.get_data(as_text=True)
    assert r.status_code == 404 and "Không tìm thấy trang" in page and "Not Found" not in page
    r = client.get("/api/khong-co")
    assert r.status_code in (401, 404) and r.is_json
    auth.login("chief")  # an English account
    page = client.get("/khong-co-trang-nay").get_data(as_text=True)
    assert "Page not found" in page and "This page or item does not exist" in page
    r = client.post("/account/password", data={"current": "x"})
    assert r.status_code == 400
    assert "The form carried no security token" in r.get_data(as_text=True)
    caplog.set_level(logging.ERROR)
    r = client.get("/boom")
    page = r.get_data(as_text=True)
    assert r.status_code == 500 and "secret internals" not in page and "Traceback" not in page
    [logged] = [rec for rec in caplog.records if "unexpected error" in rec.getMessage()]
    assert logged.getMessage().split("reference ")[1].rstrip(")") in page
