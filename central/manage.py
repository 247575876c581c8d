"""The management JSON API (`/api/v1/manage/...`): the CLI's commands for
tools and a future console, thin over the same library functions.

People authenticate with HTTP Basic (user name and API token, over TLS);
each route needs a role. There are no cookies, and every state change needs
a JSON body or a custom header, which a cross-site form cannot send without
a CORS preflight this server never grants: cached Basic credentials cannot
be ridden from another site.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, current_app, jsonify, request

from central.checks import CentralError, Forbidden, NotFound
from central.users import has_right, user_for_token

bp = Blueprint("manage", __name__, url_prefix="/api/v1/manage")


def person(right: str) -> dict:
    """The authenticated user, if their role has `right` (central/users.py
    RIGHTS); else 401/403."""
    auth = request.authorization
    user = None
    if auth is not None and auth.type == "basic" and auth.username and auth.password:
        user = user_for_token(db(), auth.username, auth.password)
    if user is None:
        abort(Response('{"error": "log in with your user name and API token"}', 401,
                       mimetype="application/json",
                       headers={"WWW-Authenticate": 'Basic realm="gatecast central"'}))
    if not has_right(user["role"], right):
        abort(Response(json.dumps({"error": f"your role ({user['role']}) lacks the right: {right}"}),
                       403, mimetype="application/json"))
    return user


def db():
    return current_app.extensions["central_db"]()


def repo():
    return current_app.extensions["central_repo"]


def feed():
    return current_app.extensions["central_feed"]


def body() -> dict:
    data = request.get_json(silent=True)  # None unless Content-Type is JSON
    if not isinstance(data, dict):
        raise CentralError("send a JSON object with Content-Type: application/json")
    return data


def target(data: dict) -> tuple[str, str]:
    if bool(data.get("gate")) == bool(data.get("group")):
        raise CentralError('give exactly one of "gate" or "group"')
    return ("gate", data["gate"]) if data.get("gate") else ("group", data["group"])


@bp.errorhandler(CentralError)
def central_error(e):
    status = 404 if isinstance(e, NotFound) else 403 if isinstance(e, Forbidden) else 400
    return jsonify({"error": str(e)}), status


# ---- media -----------------------------------------------------------------------
@bp.get("/media")
def media_list():
    from central.library import list_media

    person("view")
    return jsonify(list_media(db(), request.args.get("state")))


@bp.post("/media")
def media_upload():
    """The file is the raw body; its display name is the X-Filename header
    (which also keeps a plain cross-site form from posting here)."""
    from kiosk.validate import Limits

    from central.library import add_media

    user = person("edit")
    name = request.headers.get("X-Filename")
    if not name:
        raise CentralError("send the file as the body with its name in X-Filename")
    settings = current_app.config["SETTINGS"]
    # Media may be far larger than any report (MAX_CONTENT_LENGTH); the media
    # limit is also enforced while the bytes arrive.
    request.max_content_length = int(settings["media_max_mb"]) * 2**20
    row = add_media(db(), settings.state_path, request.stream, name, by=user["name"],
                    limits=Limits.from_settings(settings))
    return jsonify(row), 201


@bp.post("/text")
def text_add():
    from central.library import add_text

    user = person("edit")
    data = body()
    row = add_text(db(), current_app.config["SETTINGS"].state_path, data.get("spec") or {},
                   data.get("name") or "text slide", by=user["name"])
    return jsonify(row), 201


@bp.post("/media/<sha256>/<action>")
def media_state(sha256, action):
    from central.library import approve_media, retire_media

    user = person("approve")
    body()  # a JSON body ({}), so that no cross-site form can approve
    change = {"approve": approve_media, "retire": retire_media}.get(action)
    if change is None:
        abort(404)
    return jsonify(change(db(), sha256, user["name"]))


# ---- gates and groups -----------------------------------------------------------
@bp.get("/gates")
def gates():
    from central.fleet import overview

    person("view")
    return jsonify(overview(db(), current_app.config["SETTINGS"]["central_heartbeat_interval_s"]))


@bp.post("/gates")
def gate_add():
    from central.fleet import add_gate

    user = person("gates")
    data = body()
    token = add_gate(db(), data.get("id"), data.get("name"), data.get("province", ""),
                     data.get("faces", [1]), by=user["name"])
    return jsonify({"id": data.get("id"), "token": token}), 201


@bp.post("/groups")
def group_save():
    from central.fleet import add_group

    user = person("gates")
    data = body()
    add_group(db(), data.get("id"), data.get("name", ""), data.get("gates", []), by=user["name"])
    return jsonify({"id": data.get("id")}), 201


# ---- playlists, assignments, publishing -----------------------------------------
@bp.put("/playlists/<playlist_id>")
def playlist_save(playlist_id):
    from central.library import save_playlist

    user = person("edit")
    data = body()
    items = data.get("items")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise CentralError('items is a list of {"sha256": ..., "duration_s": null}')
    pid = save_playlist(db(), playlist_id, data.get("name", ""),
                        [(i.get("sha256"), i.get("duration_s")) for i in items], by=user["name"])
    return jsonify({"id": pid})


ASSIGN_FIELDS = {
    "entry": ("playlist", "faces", "start_time", "end_time", "weekdays", "start_date",
              "end_date", "level", "not_before", "not_after", "name", "entry_id"),
    "fallback": ("playlist", "face_id"),
    "power": ("start_time", "end_time", "face_id", "weekdays"),
    "notice": ("texts", "kind", "level", "faces", "style", "starts_at", "expires_at",
               "notice_id"),
}


@bp.post("/assignments/<kind>")
def assign(kind):
    from central import assign as a

    user = person("edit")
    if kind not in ASSIGN_FIELDS:
        abort(404)
    data = body()
    unknown = sorted(set(data) - set(ASSIGN_FIELDS[kind]) - {"gate", "group"})
    if unknown:
        raise CentralError(f"unknown field(s) for {kind}: {', '.join(unknown)}")
    t = target(data)
    args = {k: v for k, v in data.items() if k in ASSIGN_FIELDS[kind]}
    if kind == "entry":
        made = a.add_entry(db(), *t, args.pop("playlist", None) or "", by=user["name"], **args)
    elif kind == "fallback":
        made = a.set_fallback(db(), *t, data.get("playlist") or "", data.get("face_id"),
                              by=user["name"])
    elif kind == "power":
        made = a.add_power_window(db(), *t, data.get("start_time", ""), data.get("end_time", ""),
                                  data.get("face_id"), data.get("weekdays"), by=user["name"])
    else:
        texts = args.pop("texts", None)
        if not isinstance(texts, dict):
            raise CentralError('texts is an object like {"vi": "...", "en": "..."}')
        made = a.add_notice(db(), *t, texts, by=user["name"], **args)
    return jsonify({"id": made}), 201


@bp.delete("/assignments/<kind>/<row_id>")
def unassign(kind, row_id):
    from central.assign import remove

    user = person("edit")
    table = {"entry": "schedule_entry", "fallback": "fallback", "power": "power_window",
             "notice": "notice"}.get(kind)
    if table is None:
        abort(404)
    # (A DELETE cannot come from a cross-site form at all.)
    remove(db(), table, int(row_id) if kind in ("fallback", "power") and row_id.isdigit()
           else row_id, by=user["name"])
    return jsonify({"removed": row_id})


def _result(result) -> dict:
    return {"repository_version": result.repository_version, "changed": result.changed,
            "unchanged": result.unchanged, "held": result.held, "warnings": result.warnings}


def _ids(data: dict, key: str) -> list[str]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CentralError(f"{key} is a list of ids")
    return value


@bp.post("/publish")
def publish():
    from central.publish import publish as do_publish

    user = person("edit")
    data = body()
    # {"gates": [...], "groups": [...]} scopes it; neither: every gate.
    return jsonify(_result(do_publish(db(), repo(), by=user["name"],
                                      note=str(data.get("note", ""))[:500], feed=feed(),
                                      gates=_ids(data, "gates"), groups=_ids(data, "groups"))))


def _targets(data: dict) -> list:
    """{"gate": id} or {"group": id} (one), or {"targets": ["gate:a", "group:b", "province"]}."""
    if "targets" in data:
        if not isinstance(data["targets"], list):
            raise CentralError('targets is a list like ["gate:a", "group:b", "province"]')
        return data["targets"]
    return [target(data)]


@bp.post("/emergency")
def emergency():
    """Published by itself at once (central.publish.publish_emergency);
    "reason" is required and audited with the user."""
    from central.publish import EMERGENCY_RIGHT, publish_emergency

    user = person(EMERGENCY_RIGHT)
    data = body()
    eid, result = publish_emergency(
        db(), repo(), _targets(data), by=user["name"], reason=str(data.get("reason") or ""),
        minutes=data.get("minutes", 60), texts=data.get("texts"),
        playlist_id=data.get("playlist"), faces=data.get("faces"), feed=feed())
    return jsonify({"id": eid, **_result(result)}), 201


@bp.post("/emergency/<emergency_id>/cancel")
def emergency_cancel(emergency_id):
    """End an emergency early; "reason" is required and audited."""
    from central.publish import EMERGENCY_RIGHT, cancel_emergency

    user = person(EMERGENCY_RIGHT)
    data = body()
    result = cancel_emergency(db(), repo(), emergency_id, by=user["name"],
                              reason=str(data.get("reason") or ""), feed=feed())
    return jsonify(_result(result))
