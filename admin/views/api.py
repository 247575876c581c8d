"""The JSON API under /api/v1: the same service functions as the pages.

Authenticate with `Authorization: Bearer <token>` (tokens are made on the
account page) or, from the admin's own pages, with the session cookie plus an
X-CSRFToken header on changes. Every route is declared with `route()` so that
the OpenAPI document (/api/v1/openapi.json) cannot miss one.
"""

from __future__ import annotations

import functools
from urllib.parse import unquote

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from kiosk import __version__

from admin.extensions import csrf
from admin.security import actor
from admin.services import AdminError, role_at_least
from admin.services import dashboard as dashboard_service
from admin.services import power as power_service
from admin.web import get_db, get_settings

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # checked in security.require_login for cookie sessions

OPENAPI_PATHS: dict = {}


def route(path: str, method: str, summary: str, role: str = "viewer", body: dict | None = None,
          query: dict | None = None, raw_body: str | None = None):
    """Register an API route, its required role and its OpenAPI description."""

    def deco(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not role_at_least(current_user.role, role):
                raise AdminError(_("Your role may not do this (needs %(role)s).", role=role), 403)
            return view(*args, **kwargs)

        bp.add_url_rule(path, view.__name__, wrapper, methods=[method])
        oa_path = "/api/v1" + path.replace("<int:", "{").replace("<", "{").replace(">", "}")
        op = {"summary": summary, "operationId": view.__name__,
              "x-required-role": role, "responses": {"200": {"description": "OK"},
                                                     "4XX": {"$ref": "#/components/responses/Error"}}}
        params = [{"name": n.split(":")[-1], "in": "path", "required": True,
                   "schema": {"type": "integer" if n.startswith("int:") else "string"}}
                  for n in _path_args(path)]
        params += [{"name": k, "in": "query", "required": False, "schema": v}
                   for k, v in (query or {}).items()]
        if params:
            op["parameters"] = params
        if body:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        if raw_body:
            op["requestBody"] = {"required": True, "content": {raw_body: {"schema": {
                "type": "string", "format": "binary"}}}}
        OPENAPI_PATHS.setdefault(oa_path, {})[method.lower()] = op
        return wrapper

    return deco


def _path_args(path: str) -> list[str]:
    import re

    return re.findall(r"<([^>]+)>", path)


def _json() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise AdminError(_("Send a JSON object as the request body."))
    return data


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


def openapi_document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "gatecast admin API", "version": __version__,
                 "description": "Local admin of one gate controller. Errors: {\"error\": message "
                                "in the user's language, \"field\": optional}."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "A per-user API token from the account page."},
                "session": {"type": "apiKey", "in": "cookie", "name": "gatecast_session",
                            "description": "The admin's own pages; changes need X-CSRFToken."},
            },
            "responses": {"Error": {"description": "Refused", "content": {"application/json": {
                "schema": {"type": "object", "properties": {
                    "error": {"type": "string"}, "field": {"type": "string"}}}}}}},
        },
        "paths": OPENAPI_PATHS,
    }


# ---- status and power --------------------------------------------------------

@route("/status", "GET", "Every face, health, sync state and recent errors (the dashboard).")
def status():
    return jsonify(dashboard_service.status(get_db(), get_settings()))


@route("/me", "GET", "The authenticated user.")
def me():
    return jsonify(username=current_user.username, role=current_user.role)


@route("/power", "GET", "Power state, overrides, windows and kill switch.")
def power_get():
    return jsonify(power_service.status(get_db(), get_settings()))


_SWITCH = {"type": "object", "required": ["state"], "properties": {
    "state": {"type": "string", "enum": ["on", "off", "auto"]},
    "for": {"type": "string", "description": "e.g. 30m, 2h, 1h30m; omitted: until the next boundary"},
    "reason": {"type": "string"}}}


@route("/power/faces/<face>", "POST", "Switch one face (or 'all') on, off or back to its schedule.",
       "operator", _SWITCH)
def power_switch(face):
    d = _json()
    return jsonify(power_service.switch(get_db(), get_settings(), actor(), face, d.get("state", ""),
                                        d.get("for"), d.get("reason", "")))


@route("/power/faces/<int:face_id>/windows", "PUT", "Replace a face's weekly power windows.",
       "operator", {"type": "array", "items": {"type": "object", "properties": {
           "start": {"type": "string", "example": "05:30"}, "end": {"type": "string"},
           "weekdays": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 6}}}}})
def power_windows(face_id):
    data = request.get_json(silent=True)
    if not isinstance(data, list):
        raise AdminError(_("Send a JSON list of windows."))
    if not all(isinstance(w, dict) for w in data):
        raise AdminError(_("Send a JSON list of windows."))
    return jsonify(power_service.set_windows(get_db(), get_settings(), actor(), face_id, data))


@route("/power/blank", "POST", "Pull the kill switch: every face black.", "operator",
       {"type": "object", "required": ["reason"], "properties": {
           "reason": {"type": "string"}, "power_off": {"type": "boolean"}}})
def blank_on():
    d = _json()
    return jsonify(power_service.blank_on(get_db(), actor(), d.get("reason", ""),
                                          bool(d.get("power_off"))))


@route("/power/blank", "DELETE", "Release the kill switch.", "operator")
def blank_off():
    return jsonify(power_service.blank_off(get_db(), actor()))


def raw_upload_name() -> str:
    return unquote(request.headers.get("X-File-Name", "") or request.args.get("name", ""))


del Response
