"""Secure by default: every request needs a logged-in user (or an API token)
except the few public endpoints below; roles gate what a user may do; every
response carries strict security headers.
"""

from __future__ import annotations

import functools

from flask import g, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from kiosk.web.pages import SessionUser, install_login
from kiosk.web.security import install_headers

from admin.db import get_db
from admin.errors import is_api
from admin.extensions import csrf, login_manager
from admin.i18n import role_names
from admin.services import Actor, AdminError, role_at_least
from admin.services import users as user_service

# The only endpoints an anonymous client may reach. Static files are the
# stylesheet and scripts of the login page and hold no gate data.
PUBLIC_ENDPOINTS = {"auth.login", "auth.language", "auth.setup", "health.health", "health.favicon", "static"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}



class User(SessionUser):
    def __init__(self, row: dict, session_token: str | None = None):
        self.row = row
        self.username = row["username"]
        self.role = row["role"]
        self.language = row.get("language") or "vi"
        self.db_id = row["id"]
        # The login's token (admin/services/sessions.py); None for an API token.
        self.session_token = session_token

    def can(self, role: str) -> bool:
        return role_at_least(self.role, role)


def actor() -> Actor:
    return Actor(current_user.username, current_user.role, request.remote_addr or "")


def require_role(role: str) -> None:
    """The one role check of pages and API: AdminError (403) in the user's
    language for users below `role`."""
    if not role_at_least(current_user.role, role):
        raise AdminError(_("Your role may not do this (needs %(role)s).", role=role_names()[role]),
                         403)


def role_required(role: str):
    """Refuse (403) users below `role`. Login itself is enforced for every route."""

    def deco(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            require_role(role)
            return view(*args, **kwargs)

        wrapper.required_role = role
        return wrapper

    return deco


_databases_with_users: set[str] = set()


def _has_users() -> bool:
    """Whether the first account exists; once it does it stays (accounts are
    disabled, never deleted), so a yes is remembered per database."""
    from flask import current_app

    key = str(current_app.extensions["gatecast_settings"].db_path)
    if key not in _databases_with_users and user_service.has_users(get_db()):
        _databases_with_users.add(key)
    return key in _databases_with_users


def init_app(app) -> None:
    def find_user(token: str):
        from admin.services import sessions

        row = sessions.user_for(get_db(), token)
        return User(row, token) if row else None

    def api_refusal():
        return (jsonify(error=_("Log in or send an API token.")), 401) if is_api() else None

    install_login(login_manager, find_user, refuse_first=api_refusal)

    @login_manager.request_loader
    def load_token_user(req):
        header = req.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not is_api():
            return None
        row = user_service.user_for_token(get_db(), header[7:].strip())
        if row is None:
            return None
        g.auth_via_token = True
        return User(row)

    @app.before_request
    def require_login():
        if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None
        if not _has_users():
            if is_api():
                return jsonify(error=_("No account exists yet: create the first admin.")), 401
            return redirect(url_for("auth.setup"))
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        # The API is exempt from the automatic CSRF check because token
        # requests carry no cookie; a browser session calling it still must
        # send the token on every change.
        if is_api() and not g.get("auth_via_token") and request.method not in SAFE_METHODS:
            csrf.protect()
        return None

    # The strict CSP and the other headers, shared with the central console.
    install_headers(app)
