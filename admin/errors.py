"""Every error becomes a page or JSON (for the API and the page's own calls)
in the user's language."""

from __future__ import annotations

from flask import jsonify, render_template, request

from kiosk.web import errors as web_errors

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
    return render_template("error.html", message=message, status=status,
                           heading=web_errors.title(status)), status


def init_app(app) -> None:
    @app.errorhandler(AdminError)
    def admin_error(e: AdminError):
        return error_response(e.message, e.status, e.field)

    # Unknown addresses, 403/405/413, a stale form and failures inside the
    # admin: the sentences the central console uses too (kiosk/web/errors.py).
    web_errors.install(app, respond=error_response,
                       upload_limit_mb=lambda: int(get_settings()["media_max_mb"]))
