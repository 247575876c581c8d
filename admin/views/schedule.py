"""Playlists, schedule entries, fallbacks, conflicts and the week view."""

from __future__ import annotations


from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _

from admin.security import actor, role_required
from admin.services import AdminError, typed_date
from admin.services import media as media_service
from admin.services import schedule as schedule_service
from admin.db import get_db, get_settings
from admin.errors import wants_json
from admin.views.answer import done
from admin.views.power import weekday_names

bp = Blueprint("schedule", __name__)


def _faces():
    from kiosk.settings import faces

    return faces(get_settings())


@bp.get("/playlists")
def playlists():
    return render_template("playlists.html", playlists=schedule_service.list_playlists(get_db()))


@bp.get("/playlists/<playlist_id>")
def playlist(playlist_id):
    db = get_db()
    return render_template("playlist_edit.html", p=schedule_service.get_playlist(db, playlist_id),
                           media=media_service.list_media(db))


def items_from_form(form) -> list[dict]:
    """Rows of the playlist form, in the order the user numbered them."""
    rows = []
    for i in range(int(form.get("rows", "0") or 0)):
        sha = form.get(f"sha_{i}")
        if not sha or form.get(f"remove_{i}"):
            continue
        try:
            order = float(form.get(f"order_{i}", i))
        except ValueError:
            order = i
        rows.append((order, i, {"media_sha256": sha, "duration_s": form.get(f"duration_{i}") or None}))
    if form.get("add_sha"):
        rows.append((float("inf"), 0, {"media_sha256": form["add_sha"],
                                       "duration_s": form.get("add_duration") or None}))
    return [r[2] for r in sorted(rows, key=lambda r: (r[0], r[1]))]


@bp.post("/playlists")
@role_required("operator")
def create_playlist():
    p = schedule_service.save_playlist(get_db(), actor(), None, request.form.get("name", ""), [])
    return done(_("Playlist created; now add media."), url_for("schedule.playlist", playlist_id=p["id"]))


@bp.post("/playlists/<playlist_id>")
@role_required("operator")
def save_playlist(playlist_id):
    schedule_service.save_playlist(get_db(), actor(), playlist_id, request.form.get("name", ""),
                                   items_from_form(request.form))
    return done(_("Playlist saved."), url_for("schedule.playlist", playlist_id=playlist_id))


@bp.post("/playlists/<playlist_id>/delete")
@role_required("operator")
def delete_playlist(playlist_id):
    schedule_service.delete_playlist(get_db(), actor(), playlist_id)
    return done(_("Playlist deleted."), url_for("schedule.playlists"))


def entry_from_form(form) -> dict:
    return {
        "name": form.get("name", ""), "playlist_id": form.get("playlist_id", ""),
        "faces": form.getlist("faces"), "weekdays": form.getlist("weekdays"),
        "start_time": form.get("start_time", ""), "end_time": form.get("end_time", ""),
        "start_date": form.get("start_date", ""), "end_date": form.get("end_date", ""),
        "level": form.get("level", "normal"), "enabled": form.get("enabled", "1") == "1",
    }


def typed_entry(form) -> dict:
    """What the user typed into the entry form, shaped like an entry for the
    template, so that a refused save shows it again instead of a blank form."""
    values = entry_from_form(form)
    values["faces"] = [int(x) for x in values["faces"] if str(x).isdigit()]
    values["weekdays"] = [int(x) for x in values["weekdays"] if str(x).isdigit()]
    return values


def _entry_page(entry=None, status=200, values=None, error=None):
    db = get_db()
    return render_template(
        "schedule.html", entries=schedule_service.list_entries(db),
        conflicts=schedule_service.conflicts(db), playlists=schedule_service.list_playlists(db),
        faces=_faces(), entry=entry, values=values, error=error,
        fallbacks={r["face_id"]: r["playlist_id"] for r in db["face_fallback"].rows},
        weekdays=[schedule_service.weekday_label(d) for d in range(7)],
        weekdays_short=weekday_names()), status


@bp.get("/schedule")
def entries():
    return _entry_page()


@bp.get("/schedule/<entry_id>")
def entry(entry_id):
    return _entry_page(schedule_service.get_entry(get_db(), entry_id))


def _save_entry(entry_id):
    try:
        schedule_service.save_entry(get_db(), get_settings(), actor(), entry_id,
                                    entry_from_form(request.form))
    except AdminError as e:
        if wants_json() or e.status != 400:
            raise
        entry = schedule_service.get_entry(get_db(), entry_id) if entry_id else None
        return _entry_page(entry, e.status, values=typed_entry(request.form), error=e)
    return done(_saved_message(), url_for("schedule.entries"))


def _saved_message():
    # The player re-reads the schedule within a second (kiosk/player/output.py,
    # Output.apply): a new level or a removed item replaces the picture at
    # once, but an entry of the level already playing is spliced into the
    # rotation and lets the current item finish.
    return _("Schedule entry saved. A higher level shows within a second; an entry of the level "
             "already playing joins the rotation when the item now playing ends.")


@bp.post("/schedule")
@role_required("operator")
def create_entry():
    return _save_entry(None)


@bp.post("/schedule/<entry_id>")
@role_required("operator")
def save_entry(entry_id):
    return _save_entry(entry_id)


@bp.post("/schedule/<entry_id>/delete")
@role_required("operator")
def delete_entry(entry_id):
    schedule_service.delete_entry(get_db(), actor(), entry_id)
    return done(_("Schedule entry deleted."), url_for("schedule.entries"))


@bp.post("/schedule-fallback")
@role_required("operator")
def fallback():
    schedule_service.set_fallback(get_db(), get_settings(), actor(), request.form.get("face"),
                                  request.form.get("playlist_id") or None)
    return done(_("Fallback saved."), url_for("schedule.entries"))


@bp.get("/week")
def week():
    error, status = None, 200
    try:
        monday = typed_date(request.args.get("monday"), "monday")
    except AdminError as e:  # shown beside the field, which keeps what was typed
        monday, error, status = None, e, e.status
    view = schedule_service.week_view(get_db(), get_settings(), monday)
    return render_template("week.html", week=view, error=error, typed=request.args.get("monday"),
                           weekdays=[schedule_service.weekday_label(d) for d in range(7)]), status
