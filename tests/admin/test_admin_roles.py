"""The role check has one home (admin.security.require_role): pages and the API
refuse a too-low role with the same message, in the user's language."""

from __future__ import annotations


def test_api_and_pages_refuse_a_low_role_in_the_users_language(client, auth, accounts, db):
    db.execute("UPDATE admin_user SET language = 'vi' WHERE username = 'view'")
    auth.login("view")
    api = client.get("/api/v1/audit")
    assert api.status_code == 403
    message = api.json["error"]
    assert "Your role" not in message and "admin" not in message, message
    assert "quản trị" in message, message  # "needs admin", the role's Vietnamese name
    page = client.get("/settings/", headers={"Accept": "application/json"})
    assert page.status_code == 403 and page.json["error"] == message
