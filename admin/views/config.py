"""Settings (admin role): gate, faces, relays, outputs, sync, time zone, language."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _

from admin.security import actor, role_required
from admin.services import AdminError
from admin.services import config as config_service
from admin.db import get_db, get_settings
from admin.errors import wants_json
from admin.views.answer import done

bp = Blueprint("config", __name__, url_prefix="/settings")


@bp.get("/")
@role_required("admin")
def index(values=None, error=None, status=200):
    return render_template("settings.html", items=config_service.editable(get_settings()),
                           values=values, error=error), status


@bp.post("/")
@role_required("admin")
def save():
    names = [i["name"] for i in config_service.editable(get_settings()) if not i["locked"]]
    values = {n: request.form[n] for n in names if n in request.form}
    try:
        changed = config_service.save(get_db(), get_settings(), actor(), values)
    except AdminError as e:
        if wants_json() or e.status != 400:
            raise
        return index(values=values, error=e, status=e.status)
    words = config_service.labels()
    return done(_("Saved: %(names)s.", names=", ".join(words.get(n, (n,))[0] for n in changed)
                  or _("nothing changed")), url_for("config.index"))
