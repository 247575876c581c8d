"""Power: each face on or off now, the weekly power schedule, the kill switch."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _

from admin.security import actor, role_required
from admin.services import power as power_service
from admin.db import get_db, get_settings
from admin.views.answer import done

bp = Blueprint("power", __name__, url_prefix="/power")


def weekday_names():
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


@bp.get("/")
def index():
    return render_template("power.html", power=power_service.status(get_db(), get_settings()),
                           durations=power_service.DURATIONS, weekdays=weekday_names())


@bp.post("/switch")
@role_required("operator")
def switch():
    f = request.form
    power_service.switch(get_db(), get_settings(), actor(), f.get("face"), f.get("state", ""),
                         f.get("for"), f.get("reason", ""))
    return done(_("Power changed; the face follows within a second."), url_for("power.index"))


@bp.post("/blank")
@role_required("operator")
def blank():
    f = request.form
    power_service.blank_on(get_db(), actor(), f.get("reason", ""), f.get("power_off") == "1",
                           confirmed=f.get("confirm") == "1")
    return done(_("Every face is blanked."), url_for("power.index"))


@bp.post("/unblank")
@role_required("operator")
def unblank():
    power_service.blank_off(get_db(), actor())
    return done(_("The kill switch is released; faces return to their schedule."),
                url_for("power.index"))


@bp.post("/windows/<int:face_id>")
@role_required("operator")
def windows(face_id: int):
    f = request.form
    rows = []
    for i in range(int(f.get("rows", "0") or 0)):
        start, end = f.get(f"start_{i}", "").strip(), f.get(f"end_{i}", "").strip()
        if not start and not end:
            continue  # an empty row of the form
        # No day ticked on a filled row means every day (the page says so).
        days = [int(d) for d in f.getlist(f"days_{i}") if d.isdigit()] or list(range(7))
        rows.append({"start": start, "end": end, "weekdays": days})
    power_service.set_windows(get_db(), get_settings(), actor(), face_id, rows)
    return done(_("Power schedule saved."), url_for("power.index"))
