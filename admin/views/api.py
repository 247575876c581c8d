"""The JSON API under /api/v1: the same service functions as the pages.

Authenticate with `Authorization: Bearer <token>` (tokens are made on the
account page) or, from the admin's own pages, with the session cookie plus an
X-CSRFToken header on changes. Every route is declared with `route()` so that
the OpenAPI document (/api/v1/openapi.json) cannot miss one.
"""

from __future__ import annotations

import functools
from urllib.parse import unquote

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from kiosk import __version__

from admin.extensions import csrf
from admin.security import actor, require_role
from admin.services import AdminError, typed_date
from admin.services import audit
from admin.services import config as config_service
from admin.services import dashboard as dashboard_service
from admin.services import logs as log_service
from admin.services import notices as notice_service
from admin.services import media as media_service
from admin.services import power as power_service
from admin.services import schedule as schedule_service
from admin.db import get_db, get_settings, media_store

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # checked in security.require_login for cookie sessions

OPENAPI_PATHS: dict = {}


def route(path: str, method: str, summary: str, role: str = "viewer", body: dict | None = None,
          query: dict | None = None, raw_body: str | None = None):
    """Register an API route, its required role and its OpenAPI description."""

    def deco(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            require_role(role)
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


# ---- media, playlists, schedule ----------------------------------------------------

@route("/media", "GET", "Every media item with the playlists using it.")
def media_list():
    return jsonify(media_service.list_media(get_db()))


@route("/media", "POST", "Upload one image or video as the raw request body; it is validated "
       "before it is stored. Name it with ?name= or an X-File-Name header (display only).",
       "operator", query={"name": {"type": "string"}}, raw_body="application/octet-stream")
def media_upload():
    return jsonify(media_service.upload(get_db(), get_settings(), media_store(), request.stream,
                                        raw_upload_name(), actor())), 201


@route("/media/<sha256>", "DELETE", "Delete an unused local media item.", "operator")
def media_delete(sha256):
    media_service.delete(get_db(), media_store(), sha256, actor())
    return jsonify(deleted=sha256)


_PLAYLIST = {"type": "object", "required": ["name", "items"], "properties": {
    "name": {"type": "string"},
    "items": {"type": "array", "items": {"type": "object", "properties": {
        "media_sha256": {"type": "string"}, "duration_s": {"type": "number", "nullable": True}}}}}}


@route("/playlists", "GET", "Every playlist with its items.")
def playlists_list():
    return jsonify(schedule_service.list_playlists(get_db()))


@route("/playlists", "POST", "Create a local playlist.", "operator", _PLAYLIST)
def playlist_create():
    d = _json()
    return jsonify(schedule_service.save_playlist(get_db(), actor(), None, d.get("name", ""),
                                                  d.get("items", []))), 201


@route("/playlists/<playlist_id>", "PUT", "Replace a local playlist's name and items.", "operator", _PLAYLIST)
def playlist_update(playlist_id):
    d = _json()
    return jsonify(schedule_service.save_playlist(get_db(), actor(), playlist_id, d.get("name", ""),
                                                  d.get("items", [])))


@route("/playlists/<playlist_id>", "DELETE", "Delete an unused local playlist.", "operator")
def playlist_delete(playlist_id):
    schedule_service.delete_playlist(get_db(), actor(), playlist_id)
    return jsonify(deleted=playlist_id)


_ENTRY = {"type": "object", "required": ["playlist_id", "faces", "start_time", "end_time"], "properties": {
    "name": {"type": "string"}, "playlist_id": {"type": "string"},
    "faces": {"type": "array", "items": {"type": "integer"}},
    "weekdays": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 6},
                 "description": "0 = Monday"},
    "start_time": {"type": "string", "example": "08:00"},
    "end_time": {"type": "string", "example": "17:30", "description": "excluded; <= start: overnight"},
    "start_date": {"type": "string", "format": "date", "nullable": True},
    "end_date": {"type": "string", "format": "date", "nullable": True},
    "level": {"type": "string", "enum": ["emergency", "priority", "normal"]},
    "enabled": {"type": "boolean"}}}


@route("/schedule", "GET", "Every schedule entry, and the overlaps between levels in words.")
def entries_list():
    db = get_db()
    return jsonify(entries=schedule_service.list_entries(db), conflicts=schedule_service.conflicts(db))


@route("/schedule", "POST", "Create a local schedule entry.", "operator", _ENTRY)
def entry_create():
    return jsonify(schedule_service.save_entry(get_db(), get_settings(), actor(), None, _json())), 201


@route("/schedule/<entry_id>", "PUT", "Replace a local schedule entry.", "operator", _ENTRY)
def entry_update(entry_id):
    return jsonify(schedule_service.save_entry(get_db(), get_settings(), actor(), entry_id, _json()))


@route("/schedule/<entry_id>", "DELETE", "Delete a local schedule entry.", "operator")
def entry_delete(entry_id):
    schedule_service.delete_entry(get_db(), actor(), entry_id)
    return jsonify(deleted=entry_id)


@route("/fallbacks/<int:face_id>", "PUT", "Set (or with null clear) a face's fallback playlist.",
       "operator", {"type": "object", "properties": {"playlist_id": {"type": "string", "nullable": True}}})
def fallback_set(face_id):
    schedule_service.set_fallback(get_db(), get_settings(), actor(), face_id, _json().get("playlist_id"))
    return jsonify(face_id=face_id, playlist_id=_json().get("playlist_id"))


@route("/week", "GET", "What each face shows over a week (segments from the schedule engine).",
       query={"monday": {"type": "string", "format": "date"}})
def week():
    monday = typed_date(request.args.get("monday"), "monday")
    return jsonify(schedule_service.week_view(get_db(), get_settings(), monday))


# ---- notices, logs, settings ---------------------------------------------------------

@route("/notices", "GET", "Local and central notices, newest first.")
def notices_list():
    return jsonify(notice_service.list_notices(get_db(), include_ended=True))


@route("/notices", "POST", "Publish a local notice (ticker or slide).", "operator", {
    "type": "object", "required": ["texts"], "properties": {
        "texts": {"type": "object", "description": "language (vi, en, zh, lo, km) -> text; at most 3"},
        "kind": {"type": "string", "enum": ["ticker", "slide"]},
        "level": {"type": "string", "enum": ["emergency", "priority", "normal"]},
        "faces": {"type": "array", "items": {"type": "integer"}, "description": "[] = every face"},
        "expires_at": {"type": "string", "description": "local YYYY-MM-DDTHH:MM or ISO with offset"}}})
def notice_create():
    return jsonify(notice_service.create(get_db(), get_settings(), actor(), _json())), 201


@route("/notices/<notice_id>", "DELETE", "Withdraw a local notice.", "operator")
def notice_withdraw(notice_id):
    notice_service.withdraw(get_db(), actor(), notice_id)
    return jsonify(withdrawn=notice_id)


_PROOF_QUERY = {"face": {"type": "integer"}, "from": {"type": "string", "format": "date"},
                "to": {"type": "string", "format": "date"}, "media": {"type": "string"},
                "offset": {"type": "integer"}}


@route("/proof-of-play", "GET", "Proof of play, newest first, 200 per page.", query=_PROOF_QUERY)
def proof_of_play():
    try:
        offset = max(0, int(request.args.get("offset", 0)))
    except ValueError:
        offset = 0
    return jsonify(log_service.proof_of_play(get_db(), get_settings(), request.args, offset=offset))


@route("/events", "GET", "Recent events of player, power, sync and text.",
       query={"level": {"type": "string"}, "source": {"type": "string"}})
def events():
    return jsonify(log_service.events(get_db(), request.args))


@route("/audit", "GET", "The audit log, newest first.", "admin")
def audit_log():
    return jsonify(audit.recent(get_db(), 500))


@route("/settings", "GET", "Settings an admin may change, with their origin.", "admin")
def settings_get():
    return jsonify(config_service.editable(get_settings()))


@route("/settings", "PATCH", "Change settings (name -> value).", "admin", {"type": "object"})
def settings_patch():
    return jsonify(changed=config_service.save(get_db(), get_settings(), actor(), _json()))
