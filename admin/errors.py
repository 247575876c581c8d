"""Every error becomes a page or JSON (for the API and the page's own calls)
in the user's language."""

from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from admin.db import get_settings
from admin.services import AdminError


def is_api() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def wants_json() -> bool:
    return is_api() or request.accept_mimetypes.best == "application/json"


def error_response(message: str, status: int, field: str | None = None):
    if wants_json():
        body = {"error": str(message)}
        if field:
            body["field"] = field
        return jsonify(body), status
    return render_template("error.html", message=message, status=status), status


def init_app(app) -> None:
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
