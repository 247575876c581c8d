"""The dashboard: every face at a glance, refreshed by static/app.js."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template, send_file

from admin.services import dashboard as dashboard_service
from admin.db import get_db, get_settings

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def index():
    return render_template("dashboard.html",
                           status=dashboard_service.status(get_db(), get_settings()))


@bp.get("/dashboard.json")
def status_json():
    return jsonify(dashboard_service.status(get_db(), get_settings()))


@bp.get("/screenshots/face-<int:face_id>.png")
def screenshot(face_id: int):
    path = dashboard_service.screenshot_path(get_settings(), get_db(), face_id)
    if path is None:
        abort(404)
    mimetype = "image/png" if path.suffix == ".png" else "image/jpeg"
    return send_file(path, mimetype=mimetype, max_age=0, conditional=True)
