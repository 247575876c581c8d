"""The dashboard: every face at a glance, refreshed by static/app.js."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template, render_template_string, send_file

from admin.services import dashboard as dashboard_service
from admin.db import get_db, get_settings
from admin.i18n import local_time
from admin.i18n import say as i18n_say

bp = Blueprint("dashboard", __name__)


def _status() -> dict:
    """The dashboard's data with its events, alarms and sync state put in the
    reader's language (the page and its 2-second refresh show the same words)."""
    status = dashboard_service.status(get_db(), get_settings())
    say = i18n_say()
    for e in status["errors"]:
        e["text"] = say.event(e["code"], e["detail"], e["face_id"], e["message"])
    for f in status["faces"]:
        ev = f["last_error_event"]
        if ev:
            f["last_error_text"] = f"{local_time(ev['at'])} {say.event(ev['code'], ev['detail'], f['id'], ev['message'])}"
        else:
            f["last_error_text"] = f["last_error"]
    for a in (status["health"] or {}).get("alarms") or []:
        a["text"] = say.alarm(a)
    status["sync_text"] = say.sync_state(status["sync"])
    status["upstream_text"] = say.upstream_state(status["sync"])
    return status


@bp.get("/")
def index():
    return render_template("dashboard.html", status=_status())


# The parts below the face cards, rendered by the same macros as the page.
_PARTS = {name: '{%% import "_dashboard_parts.html" as parts with context %%}{{ parts.%s(status) }}' % name
          for name in ("health", "sync", "errors")}


@bp.get("/dashboard.json")
def status_json():
    status = _status()
    status["parts"] = {name: render_template_string(source, status=status) for name, source in _PARTS.items()}
    return jsonify(status)


@bp.get("/screenshots/face-<int:face_id>.png")
def screenshot(face_id: int):
    path = dashboard_service.screenshot_path(get_settings(), get_db(), face_id)
    if path is None:
        abort(404)
    mimetype = "image/png" if path.suffix == ".png" else "image/jpeg"
    return send_file(path, mimetype=mimetype, max_age=0, conditional=True)
