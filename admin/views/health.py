"""The unauthenticated routes besides login: the status check (monitoring, the
Ansible check) and the favicon browsers fetch by themselves."""

from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify

from admin.db import get_db
from kiosk import __version__

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    # Says only that the admin runs and reaches its database: nothing about the gate.
    get_db().execute("SELECT 1").fetchone()
    return jsonify(status="ok", version=__version__)


@bp.get("/favicon.ico")
def favicon():
    # Browsers ask for it on every page without being told; a 404 fills the logs.
    icon = Path(current_app.static_folder, "favicon.ico").read_bytes()  # 1 KB
    return Response(icon, mimetype="image/vnd.microsoft.icon")
