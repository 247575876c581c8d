"""Faces & screens: the outputs drawn to scale with each face's region, the
live picture of each face, identify, and the layout edited in a form that is
checked (and drawn) before anything is saved."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from admin.db import get_db, get_settings
from admin.errors import wants_json
from admin.security import actor, role_required
from admin.services import AdminError
from admin.services import dashboard as dashboard_service
from admin.services import faces as face_service
from admin.views.answer import done

bp = Blueprint("faces", __name__, url_prefix="/faces")


def _page(outputs=None, faces=None, layout=None, error=None, checked=False, status=200):
    settings = get_settings()
    db = get_db()
    since = request.args.get("restart")
    restart = _restart_status(since) if since else None
    saved_outputs, saved_faces = face_service.form_rows(settings)
    try:
        current = face_service.check(settings, settings["outputs"], settings["faces"])
    except AdminError:
        current = None
    shots = {f["id"]: f for f in dashboard_service.status(db, settings)["faces"]}
    return render_template(
        "faces.html", outputs=outputs or saved_outputs, faces=faces or saved_faces,
        drawing=face_service.drawing(layout or current) if (layout or current) else [],
        proposed=layout is not None, checked=checked, error=error, shots=shots,
        player_running=face_service.player_pid(db) is not None, restart=restart,
        locked=[n for n in ("faces", "outputs") if settings.origins[n] in ("environment", "override", "option")],
        rotations=face_service.ROTATIONS), status


@bp.get("/")
def index():
    return _page()


@bp.post("/")
@role_required("admin")
def save():
    """"Check" draws and validates what was typed without saving; "Save" saves it."""
    settings = get_settings()
    outputs, faces, out_rows, face_rows = face_service.read_form(request.form, settings)
    try:
        layout = face_service.check(settings, outputs, faces)
        if request.form.get("action") != "save":
            return _page(out_rows, face_rows, layout, checked=True)
        changed = face_service.save(get_db(), settings, actor(), outputs, faces)
    except AdminError as e:
        if wants_json() or e.status != 400:
            raise
        return _page(out_rows, face_rows, None, error=e, status=e.status)
    if not changed:
        return done(_("Nothing changed."), url_for("faces.index"))
    return done(_("Saved. The player reads faces and screens when it starts: restart it below to "
                  "use the new layout now."), url_for("faces.index", saved=1))


@bp.post("/identify")
@role_required("operator")
def identify():
    from kiosk.player.identify import IdentifyError, request_identify

    try:
        request_identify(get_db(), float(request.form.get("seconds", "10") or 10), by=current_user.username)
    except (IdentifyError, ValueError):
        raise AdminError(_("Identify lasts 1 to 600 seconds.")) from None
    return done(_("Every face shows its number and name for a few seconds: match them to the sides "
                  "of the cluster."), url_for("faces.index"))


@bp.post("/restart-player")
@role_required("admin")
def restart_player():
    if request.form.get("confirm") != "1":
        raise AdminError(_("Tick the box to confirm the restart."), field="confirm")
    since = face_service.restart_requested_at()
    face_service.restart_player(get_db())
    from admin.services import audit
    from kiosk.store import writing

    with writing(get_db()) as db:
        audit.record(db, actor(), "player.restart", "player")
    # The page then watches for the player's fresh start (player_status below).
    return done(_("The player is restarting: the screens go black for a few seconds."),
                url_for("faces.index", restart=since, _anchor="restart"))


def _restart_status(since: str) -> dict:
    """Whether the player came back after the restart asked at `since`, in words."""
    from admin.i18n import local_time, say

    try:
        back = face_service.player_back(get_db(), since)
    except (TypeError, ValueError):
        raise AdminError(_("This restart link is damaged: open Faces & screens again.")) from None
    if back["state"] == "back" and back["display_problem"] is None:
        text = _("The player is back: it started again at %(time)s and shows the schedule on the "
                 "saved layout.", time=local_time(back["started_at"]))
        level = "ok"
    elif back["state"] == "back":
        text = _("The player started again at %(time)s, but %(why)s. Check that the compositor "
                 "(gatecast-sway) runs: Logs › Events says more.", time=local_time(back["started_at"]),
                 why=say().technical(back["display_problem"]))
        level = "warning"
    elif back["state"] == "waiting":
        text = _("Waiting for the player to start again… (%(seconds)d s)", seconds=int(back["waited_s"]))
        level = "pending"
    else:
        text = _("The player has not started again after %(seconds)d seconds: the screens may be "
                 "black. On the controller run: sudo systemctl status gatecast-player (and sudo "
                 "journalctl -u gatecast-player -n 50 for the reason); Logs › Events may say more.",
                 seconds=face_service.PLAYER_BACK_TIMEOUT_S)
        level = "error"
    return {"state": back["state"], "level": level, "text": text,
            "url": url_for("faces.player_status", since=since)}


@bp.get("/player")
def player_status():
    """The restart's progress, polled by the page (static/app.js) once a second."""
    since = request.args.get("since", "")
    if not since:
        raise AdminError(_("This restart link is damaged: open Faces & screens again."))
    return jsonify(_restart_status(since))
