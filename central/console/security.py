"""Secure by default: every console route needs a signed-in user whose
server-side session still works, every change carries the CSRF token, and a
one-time password is changed before anything else.

The gate API, the management API (HTTP Basic with API tokens), the signed
files and the feed are not console blueprints: none of this touches them.
"""

from __future__ import annotations

from flask import current_app, g, redirect, request, url_for
from flask_login import current_user

from kiosk.web.pages import install_login

from central.console.base import CONSOLE_BLUEPRINTS_KEY, User, csrf, login_manager, store

# Console endpoints an anonymous visitor may reach.
PUBLIC_ENDPOINTS = {"auth.login", "auth.language"}
# What a user with a one-time password may still do.
ONE_TIME_ENDPOINTS = {"account.index", "account.password", "auth.logout", "auth.language"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def init_app(app) -> None:
    def find_user(token: str):
        from central.users import user_for_session

        found = user_for_session(store(), token)
        return User(found, token) if found else None

    install_login(login_manager, find_user)

    @app.before_request
    def console_gate():
        if request.blueprint not in current_app.extensions[CONSOLE_BLUEPRINTS_KEY]:
            return None  # gate API, management API, signed files: their own rules
        if request.method not in SAFE_METHODS:
            csrf.protect()
        if request.endpoint in PUBLIC_ENDPOINTS:
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.must_change_password and request.endpoint not in ONE_TIME_ENDPOINTS:
            return redirect(url_for("account.index"))
        g.console_user = current_user
        return None
