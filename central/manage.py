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
    RIGHTS); else 401/403 with the reason in words and a code."""
    from flask_babel import gettext as _

    from central.users import right_names, role_names

    auth = request.authorization
    user = None
    if auth is not None and auth.type == "basic" and auth.username and auth.password:
        user = user_for_token(db(), auth.username, auth.password)
    if user is None:
        abort(_answer(401, "login", _("Log in with your user name and API token."),
                      headers={"WWW-Authenticate": 'Basic realm="gatecast central"'}))
    if not has_right(user["role"], right):
        abort(_answer(403, "forbidden", _(
            "%(name)s is %(role)s; this needs the right to %(right)s.", name=user["name"],
            role=role_names().get(user["role"], user["role"]), right=right_names()[right]),
            right=right))
    return user


def _answer(status: int, code: str, message: str, headers=None, **extra) -> Response:
    """A refusal as the API gives every one: {"error": words, "code": ...}."""
    return Response(json.dumps({"error": message, "code": code, **extra}, ensure_ascii=False),
                    status, mimetype="application/json", headers=headers)


def db():
    return current_app.extensions["central_db"]()


def repo():
    return current_app.extensions["central_repo"]


def feed():
    return current_app.extensions["central_feed"]


def body() -> dict:
    data = request.get_json(silent=True)  # None unless Content-Type is JSON
    if not isinstance(data, dict):
        raise CentralError("send a JSON object with Content-Type: application/json", "json_object")
    return data


def target(data: dict) -> tuple[str, str]:
    if bool(data.get("gate")) == bool(data.get("group")):
        raise CentralError('give exactly one of "gate" or "group"', "gate_or_group")
    return ("gate", data["gate"]) if data.get("gate") else ("group", data["group"])


# Refusals that are about the state of things, not the request: 409.
CONFLICTS = {"stale", "decided", "nothing_to_publish"}


@bp.errorhandler(CentralError)
def central_error(e):
    """In words (the server's language, Vietnamese by default) with a code
    scripts can test: 404 unknown, 403 not allowed (four eyes too), 409 a
    stale preview or request or one already decided, 400 bad input."""
    from central.console.wording import say

    # A schedule entry's refusal (kiosk.schedule_entry.EntryError) has its own code.
    code = getattr(e, "code", None) or getattr(e.__cause__, "code", None)
    if isinstance(e, NotFound):
        status, code = 404, code or "not_found"
    elif isinstance(e, Forbidden):
        status, code = 403, code or "forbidden"
    elif code in CONFLICTS:
        status = 409
    else:
        status, code = 400, code or "invalid"
    extra = {"gates": e.gates} if hasattr(e, "gates") else {}
    return _answer(status, code, say(e), **extra)


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
        raise CentralError("send the file as the body with its name in X-Filename", "upload_name")
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
        raise CentralError('items is a list of {"sha256": ..., "duration_s": null}', "items_shape")
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
        raise CentralError(f"unknown field(s) for {kind}: {', '.join(unknown)}", "unknown_fields",
                           kind=kind, fields=unknown)
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
            raise CentralError('texts is an object like {"vi": "...", "en": "..."}', "texts_shape")
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
    """A publication as JSON: a gate held back and each warning in words with
    its code ({"error"/"warning": words, "code": ...}), like every refusal."""
    from central.checks import refusal, said

    return {"repository_version": result.repository_version, "changed": result.changed,
            "unchanged": result.unchanged,
            "held": {gate: refusal(result.held_errors.get(gate) or CentralError(why))
                     for gate, why in result.held.items()},
            "warnings": [said(w) for w in result.warnings]}


def _ids(data: dict, key: str) -> list[str]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CentralError(f"{key} is a list of ids", "id_list", key=key)
    return value


# Publishing goes through a request and a second person (central/publication.py),
# like the console: an editor submits, an approver who did not submit it approves.
@bp.get("/publish/preview")
def publish_preview():
    """What a publication of ?gate=..&group=.. (neither: every gate) would
    change on each face, and the `token` a submission may carry back so that
    it is refused if anything changed meanwhile."""
    from central.publication import form_token
    from central.publish import preview

    person("view")
    previews = preview(db(), repo(), gates=request.args.getlist("gate"),
                       groups=request.args.getlist("group"))
    return jsonify({"gates": [gate_preview(p) for p in previews],
                    "token": form_token(previews)})


def _held(p):
    """Why a previewed gate is held back, in words with its code (None: it is not)."""
    from central.checks import refusal

    return refusal(p.held_error or CentralError(p.held)) if p.held else None


def gate_preview(p) -> dict:
    """A GatePreview as JSON: per face, per part, the lines added and removed;
    why it is held back and what its build leaves out, in words with codes."""
    from central.checks import said

    return {"gate": p.gate["id"], "name": p.gate["name"], "release_in_force": p.version,
            "changes": p.changes, "held": _held(p),
            "warnings": [said(w) for w in p.warnings],
            "faces": {str(face): {part: {"added": d["added"], "removed": d["removed"]}
                                  for part, d in parts.items() if d["added"] or d["removed"]}
                      for face, parts in p.faces.items()}}


@bp.post("/publish")
def publish_submit():
    """Submit a publication request: {"gates": [...], "groups": [...]}
    (neither: every gate), "note", and optionally the preview's "token".
    202: it waits for an approver; nothing is published yet."""
    from central.publication import get, submit

    user = person("edit")
    data = body()
    token = data.get("token")
    if token is not None and not isinstance(token, str):
        raise CentralError("token is the text GET /publish/preview gave", "token_shape")
    rid = submit(db(), repo(), by=user["name"], gates=_ids(data, "gates"),
                 groups=_ids(data, "groups"), note=str(data.get("note", ""))[:500],
                 token=token)
    response = jsonify(_request(get(db(), rid)))
    response.status_code = 202
    response.headers["Location"] = f"{bp.url_prefix}/publish/{rid}"
    return response


def _request(r: dict) -> dict:
    from central.publication import state_name

    return {"id": r["id"], "state": r["state"], "state_name": state_name(r["state"]),
            "gates": r["gates"], "scope": r["scope"], "note": r["note"],
            "submitted_by": r["submitted_by"], "submitted_at": r["submitted_at"],
            "decided_by": r["decided_by"], "decided_at": r["decided_at"],
            "decision_reason": r["decision_reason"], "publication_id": r["publication_id"]}


@bp.get("/publish")
def publish_requests():
    """Publication requests, newest first (?state=pending|published|...)."""
    from central.publication import STATES, listing

    person("view")
    state = request.args.get("state") or None
    if state is not None and state not in STATES:
        raise CentralError(f"state is one of {', '.join(STATES)}", "state_unknown", states=STATES)
    return jsonify([_request(r) for r in listing(db(), state)])


@bp.get("/publish/<request_id>")
def publish_request(request_id):
    """One request; while pending, what approving it now would change on each
    face and which gates changed since it was submitted ("stale")."""
    from central.publication import listing, overlapping, review

    person("view")
    seen = review(db(), repo(), request_id)
    others = (overlapping(listing(db(), "pending"), seen.request["gates"], seen.request["id"])
              if seen.request["state"] == "pending" else [])
    return jsonify({**_request(seen.request), "stale": seen.stale,
                    "preview": [gate_preview(p) for p in seen.previews],
                    # Requests also waiting with some of its gates: approving one
                    # makes the other stale.
                    "others_waiting": [{"id": o["id"], "submitted_by": o["submitted_by"],
                                        "gates": o["shared"]} for o in others]})


@bp.post("/publish/<request_id>/approve")
def publish_approve(request_id):
    """Publish exactly what was submitted. 403 for its own submitter (four
    eyes), 409 when stale (nothing published) or already decided."""
    from central.publication import approve

    user = person("approve")
    body()
    result = approve(db(), repo(), request_id, by=user["name"], feed=feed())
    return jsonify({"id": int(request_id), "state": "published", **_result(result)})


@bp.post("/publish/<request_id>/reject")
def publish_reject(request_id):
    """An approver rejects with a "reason", or the submitter withdraws it."""
    from central.publication import get, reject

    user = person("edit")
    data = body()
    reject(db(), request_id, by=user["name"], reason=str(data.get("reason") or ""))
    return jsonify(_request(get(db(), request_id)))


def _targets(data: dict) -> list:
    """{"gate": id} or {"group": id} (one), or {"targets": ["gate:a", "group:b", "province"]}."""
    if "targets" in data:
        if not isinstance(data["targets"], list):
            raise CentralError('targets is a list like ["gate:a", "group:b", "province"]',
                               "targets_shape")
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
