"""Logs: proof of play (with CSV export), events from player and sync, the audit log."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from kiosk.store import connect

from admin.services import AdminError, audit
from admin.services import logs as log_service
from admin.db import get_db, get_settings

bp = Blueprint("logs", __name__, url_prefix="/logs")


@bp.get("/")
def proof_of_play():
    from kiosk.settings import faces

    error, status = None, 200
    try:
        rows = log_service.proof_of_play(get_db(), get_settings(), request.args)
    except AdminError as e:  # a bad filter: said beside its field, the form keeps what was typed
        rows, error, status = [], e, e.status
    return render_template("logs_proof.html", rows=rows, faces=faces(get_settings()), args=request.args,
                           error=error), status


@bp.get("/proof-of-play.csv")
def proof_of_play_csv():
    settings = get_settings()
    log_service.proof_filter(settings, request.args)  # refuse bad filters before streaming
    args = dict(request.args)

    def body():
        # Its own connection: the request's closes when the view returns,
        # before the last row of a long export is sent.
        db = connect(settings.db_path)
        try:
            yield from log_service.proof_of_play_csv(db, settings, args)
        finally:
            db.close()

    return Response(body(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=proof-of-play.csv"})


@bp.get("/events")
def events():
    return render_template("logs_events.html", rows=log_service.events(get_db(), request.args),
                           args=request.args)


@bp.get("/audit")
def audit_log():
    return render_template("logs_audit.html", rows=audit.recent(get_db(), 300))
