"""Settings (admin role): gate, faces, relays, outputs, sync, time zone, language."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _

from admin.security import actor, role_required
from admin.services import config as config_service
from admin.db import get_db, get_settings
from admin.views.answer import done

bp = Blueprint("config", __name__, url_prefix="/settings")


@bp.get("/")
@role_required("admin")
def index():
    return render_template("settings.html", items=config_service.editable(get_settings()))


@bp.post("/")
@role_required("admin")
def save():
    names = [i["name"] for i in config_service.editable(get_settings()) if not i["locked"]]
    values = {n: request.form[n] for n in names if n in request.form}
    changed = config_service.save(get_db(), get_settings(), actor(), values)
    return done(_("Saved: %(names)s.", names=", ".join(changed) or _("nothing changed")),
                url_for("config.index"))
