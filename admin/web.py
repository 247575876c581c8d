"""What every view shares: the request's database connection, the settings,
the media store, and turning errors into a page or JSON in the user's language."""

from __future__ import annotations

import functools
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, flash, g, jsonify, redirect, render_template, request
from babel.dates import format_datetime as babel_format_datetime
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from kiosk.mediastore import MediaStore
from kiosk.settings import with_database
from kiosk.store import connect

from admin.services import AdminError


_local = threading.local()


def get_db():
    """This thread's connection, kept across requests (opening one and setting
    its pragmas costs more than a dashboard's queries). gunicorn's gthread
    workers reuse their threads; WAL means readers never block the player."""
    path = current_app.extensions["gatecast_settings"].db_path
    db = getattr(_local, "db", None)
    if db is None or getattr(_local, "path", None) != path:
        if db is not None:
            db.close()
        db = _local.db = connect(path)
        _local.path = path
    return db


def close_db(exc=None):
    db = getattr(_local, "db", None)
    if db is not None and db.conn.in_transaction:
        # A request that failed half-way must not leave a transaction open
        # for the next one on this thread.
        db.conn.rollback()


def get_settings():
    """Settings including values an admin saved in the database."""
    if "settings" not in g:
        g.settings = with_database(current_app.extensions["gatecast_settings"], get_db())
    return g.settings


def media_store() -> MediaStore:
    return MediaStore(get_settings().media_dir)


def wants_json() -> bool:
    from admin.security import is_api

    return is_api() or request.accept_mimetypes.best == "application/json"


def error_response(message: str, status: int, field: str | None = None):
    if wants_json():
        body = {"error": str(message)}
        if field:
            body["field"] = field
        return jsonify(body), status
    return render_template("error.html", message=message, status=status), status


def done(message: str, target: str):
    """Answer a successful form post: a flash message and a redirect."""
    flash(message, "ok")
    return redirect(target)


def local_time(value, fmt: str = "short") -> str:
    """ISO text or datetime -> the gate's local time in the user's format."""
    if not value:
        return "—"
    if not isinstance(value, str):
        value = value.isoformat()
    return _local_time(value, fmt, str(get_locale()), get_settings()["timezone"])


@functools.lru_cache(maxsize=4096)
def _local_time(text: str, fmt: str, locale: str, tz: str) -> str:
    # Babel's formatting is slow and the same instants (events, uploads)
    # appear on every refresh of a page.
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return babel_format_datetime(value, fmt, tzinfo=ZoneInfo(tz), locale=locale)


def init_app(app) -> None:
    app.teardown_appcontext(close_db)
    app.jinja_env.filters["local_time"] = local_time

    @app.errorhandler(AdminError)
    def admin_error(e: AdminError):
        return error_response(e.message, e.status, e.field)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(e):
        limit = int(get_settings()["media_max_mb"])
        return error_response(_("The upload is larger than the limit of %(n)d MB.", n=limit), 413)

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        messages = {
            404: _("This page or item does not exist."),
            405: _("This action is not allowed here."),
            400: _("The request was not understood."),
        }
        return error_response(messages.get(e.code, e.name), e.code or 500)

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        app.logger.exception("unexpected error")
        return error_response(_("Something went wrong inside the admin; the error was logged."), 500)
