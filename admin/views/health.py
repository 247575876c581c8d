"""The one unauthenticated status route: for monitoring and the Ansible check."""

from flask import Blueprint, jsonify

from admin.db import get_db
from kiosk import __version__

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    # Says only that the admin runs and reaches its database: nothing about the gate.
    get_db().execute("SELECT 1").fetchone()
    return jsonify(status="ok", version=__version__)
