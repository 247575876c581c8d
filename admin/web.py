"""What every view shares: the request's database connection, the settings,
the media store, and turning errors into a page or JSON in the user's language."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, flash, g, jsonify, redirect, render_template, request
from flask_babel import format_datetime
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from kiosk.mediastore import MediaStore
from kiosk.settings import with_database
from kiosk.store import connect

from admin.services import AdminError


def get_db():
    """One connection per request (WAL: readers never block the player)."""
    if "db" not in g:
        g.db = connect(current_app.extensions["gatecast_settings"].db_path)
    return g.db


def close_db(exc=None):
    db = g.pop("db", None)
    if db is not None:
        db.close()


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
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(get_settings()["timezone"]))
    return format_datetime(value, fmt)


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
