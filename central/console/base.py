"""What every console page uses: the store, the settings, the signed-in
user and their rights, the role check, and how a change is answered.

    @bp.post("/media/<sha256>/approve")
    @require("approve")
    def approve(sha256):
        library.approve_media(store(), sha256, who())
        return done(_("Approved."), url_for("library.show", sha256=sha256))
"""

from __future__ import annotations

import functools

from flask import current_app, flash, jsonify, redirect, render_template, request
from flask_babel import Babel
from flask_babel import gettext as _
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from kiosk.web.pages import SessionUser

from central.checks import CentralError, Forbidden, NotFound

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()

# app.extensions key: the names of the blueprints served as console pages.
CONSOLE_BLUEPRINTS_KEY = "console_blueprints"


class User(SessionUser):
    """The signed-in person: a row of central's user table and the session."""

    def __init__(self, row: dict, session_token: str):
        self.row = row
        self.name = row["name"]
        self.role = row["role"]
        self.language = row.get("language")
        self.timezone = row.get("timezone")
        self.must_change_password = bool(row.get("must_change_password"))
        self.session_token = session_token  # its row is console_session

    def can(self, right: str) -> bool:
        from central.users import has_right

        return has_right(self.role, right)


def store():
    """Central's store (central/db.py): pass it to the library functions."""
    return current_app.extensions["central_db"]()


def settings():
    return current_app.config["SETTINGS"]


def who() -> str:
    """The signed-in user's name: `by` for the library functions and the audit."""
    return current_user.name


def require(right: str):
    """Refuse (403, in the user's language) users whose role lacks `right`
    (central/users.py RIGHTS: view, edit, approve, fleet, emergency, users,
    gates). Login itself is enforced for every console route."""
    from central.users import ALL_RIGHTS

    if right not in ALL_RIGHTS:
        raise ValueError(f"unknown right {right!r}")

    def deco(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.can(right):
                from central.users import right_names

                raise Forbidden(_("Your role may not do this (it needs the right to %(right)s).",
                                  right=right_names()[right]))
            return view(*args, **kwargs)

        wrapper.required_right = right
        return wrapper

    return deco


# Paths that are not the console's: the gate and management APIs, the signed
# files, the health check and the screenshots (JSON or plain errors there).
NOT_CONSOLE = ("/api/", "/tuf/", "/healthz", "/screenshots/")


def _typed(read, value):
    """`read` (a kiosk.web.formatting reader, shared with the gate admin) on what
    a console form sent; its refusal said in the reader's language."""
    from kiosk.web.formatting import BadDate

    try:
        return read(value)
    except BadDate as e:
        raise CentralError(e.say(_)) from None


def typed_date(value):
    """A date a console form sent: dd/mm/yyyy (web/macros.html date_input) or
    ISO -> a date, or None when empty."""
    from kiosk.web.formatting import read_date

    return _typed(read_date, value)


def typed_iso_date(value) -> str | None:
    """typed_date as the ISO text the library and assignments store."""
    from kiosk.web.formatting import read_iso_date

    return _typed(read_iso_date, value)


def typed_datetime(value):
    """A date and time ("HH:mm dd/mm/yyyy", the other order, or ISO) -> a
    naive datetime (or aware when the text had an offset), None when empty."""
    from kiosk.web.formatting import read_datetime

    return _typed(read_datetime, value)


def console_request() -> bool:
    """A console page, or an address that is nobody else's (an unknown URL
    typed by a person gets the console's error page)."""
    if request.blueprint in current_app.extensions.get(CONSOLE_BLUEPRINTS_KEY, ()):
        return True
    return request.blueprint is None and not request.path.startswith(NOT_CONSOLE)


def wants_json() -> bool:
    return (request.path.startswith(("/api/", "/tuf/"))
            or request.accept_mimetypes.best == "application/json"
            or request.headers.get("X-Requested-With") == "fetch")


def done(message: str, to: str, status: int = 200, **extra):
    """A change went through: JSON for scripts, else a flash and a redirect
    (post/redirect/get: reloading never posts twice)."""
    if wants_json():
        return jsonify({"message": str(message), **extra}), status
    flash(str(message), "ok")
    return redirect(to)


def warn(warnings) -> None:
    """What a publication left out or could not do (central.checks.Said
    warnings: a retired item, media outside its dates, gates the change feed
    could not tell), in words above the page it lands on. An uncoded one (none
    is left in central) would go to the log only: a page never shows English."""
    import logging

    from central.checks import in_words

    for w in warnings:
        if isinstance(getattr(w, "code", None), str):
            flash(in_words(w), "warning")
        else:
            logging.getLogger(__name__).warning("publication: %s", w)


def error_page(message: str, status: int):
    if wants_json():
        return jsonify({"error": str(message)}), status
    from kiosk.web.errors import title

    return render_template("error.html", message=message, status=status,
                           heading=title(status)), status


def handle_error(e: CentralError):
    """A refused change: its message in the user's language. A form posted
    from a console page goes back to that page with the message on top;
    nothing was stored."""
    from central.checks import in_words
    from central.users import LoginRefused

    status = (404 if isinstance(e, NotFound) else 403 if isinstance(e, Forbidden)
              else e.status if isinstance(e, LoginRefused) else 400)
    back = request.referrer or ""
    host = request.host_url
    if (request.method not in ("GET", "HEAD") and not wants_json()
            and back.startswith(host) and status != 404):
        flash(in_words(e), "error")
        return redirect(back), 303
    return error_page(in_words(e), status)
