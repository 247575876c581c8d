"""The Assignments page: what a gate, a group or the whole province plays and
when — schedule entries, fallbacks, power windows, notices and tickers in
vi/zh/lo/km/en — with the gate's own rules (kiosk.schedule_entry, the
glyph check) and, for a gate, everything that applies to it and from where,
where entries hide each other (kiosk.schedule_overlap, as the gate admin
explains it) and its week. A refused form keeps what was typed and says why;
nothing is stored. Changes reach the gates at the next publication (the
Publish page)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from central.checks import CentralError, NotFound
from central.console import nav
from central.console.base import (done, require, store, typed_datetime, typed_iso_date, wants_json,
                                  who)
from central.console.wording import language, level, say, weekday

bp = Blueprint("assignments", __name__, url_prefix="/assignments")
nav.add("assignments.index", _l("Assignments"), right="view", order=30)

KINDS = ("gate", "group", "province")
LANGS = ("vi", "zh", "lo", "km", "en")
TABLES = {"entry": "schedule_entry", "fallback": "fallback", "power": "power_window",
          "notice": "notice"}


def _url_id(kind: str, target_id: str) -> str:
    return target_id if kind != "province" else "-"


def _target(kind: str, url_id: str) -> tuple[str, str]:
    if kind not in KINDS:
        abort(404)
    return kind, "" if kind == "province" else url_id


@bp.get("/")
@require("view")
def index():
    return _index_page()


def _targets():
    """Gates, groups and how many assignments each target has of its own."""
    from sqlalchemy import func, select

    from central import schema as t
    from central.fleet import list_gates

    db = store()
    counts: dict[tuple[str, str], int] = {}
    with db.transaction() as conn:
        groups = [dict(r._mapping) for r in conn.execute(
            select(t.gate_group.c.id, t.gate_group.c.name).order_by(t.gate_group.c.id))]
        for table in TABLES.values():
            tab = t.metadata.tables[table]
            for kind, tid, n in conn.execute(select(tab.c.target_kind, tab.c.target_id,
                                                    func.count()).group_by(tab.c.target_kind,
                                                                           tab.c.target_id)):
                counts[(kind, tid)] = counts.get((kind, tid), 0) + n
    return list_gates(db), groups, counts


def _index_page(form=None, error=None, status=200):
    from central.library import get_playlist, list_media

    gates, groups, counts = _targets()
    playlists = [get_playlist(store(), p["id"]) for p in _playlists()]
    media = [m for m in list_media(store()) if m["state"] != "retired"]
    return render_template("assignments.html", gates=gates, groups=groups, counts=counts,
                           playlists=playlists, media=media,
                           media_names={m["sha256"]: m["name"] for m in list_media(store())},
                           form=form or {}, error=error), status


@bp.post("/playlists")
@require("edit")
def save_playlist():
    """Make a playlist: its media in the order ticked, each for its own
    length (a video) or the seconds given (an image, a slide). Never replaces
    one that has the same id: that one is changed on its own page."""
    import re
    import unicodedata

    from central.library import central_id
    from central.library import save_playlist as save

    f = request.form
    name = f.get("name", "").strip()
    # An id from the name without its accents ("Chào mừng" -> "chao-mung").
    plain = unicodedata.normalize("NFKD", name.lower().replace("đ", "d"))
    pid = f.get("id", "").strip() or re.sub(r"[^a-z0-9]+", "-", "".join(
        c for c in plain if not unicodedata.combining(c))).strip("-")[:40]
    try:
        seconds = float(f.get("seconds") or 10)
    except ValueError:
        seconds = -1
    items = [(sha, None if kind == "video" else seconds)
             for sha, kind in (x.split(":", 1) for x in f.getlist("item") if ":" in x)]
    try:
        if not name:
            raise CentralError(_("Give the playlist a name."))
        if not 0.5 <= seconds <= 86400:
            raise CentralError(_("A duration is a number of seconds from 0.5 to 86400."))
        if not items:
            raise CentralError(_("Tick at least one media item for the playlist."))
        # Making a playlist never replaces one (its page changes it).
        full = central_id(pid or "playlist", "playlist")
        existing = next((p for p in _playlists() if p["id"] == full), None)
        if existing:
            raise CentralError(_("There is already a playlist “%(name)s” with the id %(id)s; "
                                 "change it on its page, or give this one another name.",
                                 name=existing["name"], id=full.removeprefix("c-")))
        save(store(), pid or "playlist", name, items, by=who())
    except CentralError as e:
        return _index_page(dict(f), say(e), 400)
    return done(_("Playlist %(name)s saved. It reaches the gates that use it at the next "
                  "publication.", name=name), url_for("assignments.index"))


# ---- one playlist: reorder, durations, add/remove items, rename, delete ----------------
# Each change is its own small form carrying the playlist's version, so the
# page works without JavaScript (the up/down buttons) and a form shown before
# someone else changed the playlist is refused with nothing stored.

def _playlist_page(pid: str, error: str | None = None, status: int = 200,
                   form: dict | None = None):
    from central.assign import playlist_uses, playlist_version
    from central.library import get_playlist, list_media

    playlist = get_playlist(store(), pid)
    media = {m["sha256"]: m for m in list_media(store())}
    return render_template(
        "assignments_playlist.html", p=playlist, version=playlist_version(playlist),
        uses=playlist_uses(store(), pid), media=media,
        addable=[m for m in media.values() if m["state"] != "retired"],
        url_id=_url_id, error=error, form=form or {}), status


@bp.get("/playlists/<pid>")
@require("view")
def playlist(pid):
    return _playlist_page(pid)


def _edited(pid: str, run, message):
    """Run one change; a refusal shows the playlist as it is now, with why."""
    from central.assign import StalePlaylist

    try:
        result = run()
    except StalePlaylist as e:
        if wants_json():
            raise
        return _playlist_page(pid, str(e), 409)
    except NotFound:
        raise
    except CentralError as e:
        if wants_json():
            raise
        return _playlist_page(pid, say(e), 400, dict(request.form))
    return done(message(result), url_for("assignments.playlist", pid=pid))


def _later() -> str:
    return _("The gates that use it get it at the next publication.")


@bp.post("/playlists/<pid>/items/<int:position>")
@require("edit")
def playlist_item(pid, position):
    """One item: its seconds, up, down, to another place (drag), remove."""
    from central import assign

    f = request.form
    version, do = f.get("version", ""), f.get("do", "")
    moves = {"up": position - 1, "down": position + 1}
    if do in moves or do == "move":
        try:
            to = moves[do] if do in moves else int(f.get("to", ""))
        except ValueError:
            abort(400)
        return _edited(pid, lambda: assign.move_item(store(), pid, version, position, to,
                                                     by=who()),
                       lambda p: _("Order saved. %(later)s", later=_later()))
    if do == "duration":
        return _edited(pid, lambda: assign.set_item_duration(
            store(), pid, version, position, f.get("seconds", ""), by=who()),
            lambda p: _("Duration saved. %(later)s", later=_later()))
    if do == "remove":
        return _edited(pid, lambda: assign.remove_item(store(), pid, version, position,
                                                       by=who()),
                       lambda p: _("Removed from the playlist. %(later)s", later=_later()))
    abort(400)


@bp.post("/playlists/<pid>/add")
@require("edit")
def playlist_add(pid):
    from central import assign

    f = request.form
    return _edited(pid, lambda: assign.add_item(store(), pid, f.get("version", ""),
                                                f.get("media", ""), f.get("seconds", ""),
                                                by=who()),
                   lambda p: _("Added to the playlist. %(later)s", later=_later()))


@bp.post("/playlists/<pid>/name")
@require("edit")
def playlist_rename(pid):
    from central import assign

    f = request.form
    return _edited(pid, lambda: assign.rename_playlist(store(), pid, f.get("version", ""),
                                                       f.get("name", ""), by=who()),
                   lambda p: _("Playlist renamed to %(name)s. %(later)s", name=p["name"],
                               later=_later()))


@bp.post("/playlists/<pid>/delete")
@require("edit")
def playlist_delete(pid):
    from central import assign

    try:
        name = assign.delete_playlist(store(), pid, request.form.get("version", ""), by=who())
    except NotFound:
        raise
    except CentralError as e:
        if wants_json():
            raise
        return _playlist_page(pid, say(e), 409 if isinstance(e, assign.StalePlaylist) else 400)
    return done(_("Playlist %(name)s deleted.", name=name), url_for("assignments.index"))


def _playlists():
    from sqlalchemy import select

    from central import schema as t

    with store().transaction() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(t.playlist.c.id, t.playlist.c.name).order_by(t.playlist.c.name))]


def _zone() -> ZoneInfo:
    from central.console.i18n import select_timezone

    return ZoneInfo(select_timezone())


def _page(kind: str, target_id: str, form: dict | None = None, error: str | None = None,
          status: int = 200):
    from sqlalchemy import select

    from central import schema as t
    from central.assign import gate_view
    from central.fleet import get_gate

    db = store()
    name = _("The whole province")
    if kind == "gate":
        name = get_gate(db, target_id)["name"]
    elif kind == "group":
        with db.transaction() as conn:
            found = conn.execute(select(t.gate_group.c.name).where(
                t.gate_group.c.id == target_id)).first()
        if found is None:
            abort(404)
        name = found[0] or target_id
    own = {}
    with db.transaction() as conn:
        for key, table in TABLES.items():
            tab = t.metadata.tables[table]
            own[key] = [dict(r._mapping) for r in conn.execute(
                select(tab).where(tab.c.target_kind == kind, tab.c.target_id == target_id)
                .order_by(tab.c.id))]
    playlists = _playlists()
    with db.transaction() as conn:  # a group is named in words where it is a source
        group_names = {r.id: r.name or r.id for r in conn.execute(
            select(t.gate_group.c.id, t.gate_group.c.name))}
    view = None
    if kind == "gate":
        try:
            monday = date.fromisoformat(request.args.get("week", ""))
        except ValueError:
            monday = datetime.now(_zone()).date()
        monday -= timedelta(days=monday.weekday())
        view = gate_view(db, target_id, monday, _zone())
        view["monday"] = monday
    return render_template(
        "assignments_target.html", kind=kind, target_id=target_id,
        url_id=_url_id(kind, target_id), name=name, own=own, view=view, form=form or {},
        error=error, playlists=playlists, playlist_names={p["id"]: p["name"] for p in playlists},
        group_names=group_names, langs=LANGS, language=language, weekday=weekday, level=level, json_list=_json_list,
        timedelta=timedelta), status


def _json_list(text) -> list:
    import json

    return json.loads(text) if text else []


@bp.get("/<kind>/<url_id>")
@require("view")
def target(kind, url_id):
    return _page(*_target(kind, url_id))


def _ints(name: str) -> list[int]:
    return [int(x) for x in request.form.getlist(name) if x.isdigit()]


def _instant(name: str):
    """A datetime-local field in the viewer's zone -> an aware datetime."""
    at = typed_datetime(request.form.get(name))
    return at.replace(tzinfo=_zone()) if at and at.tzinfo is None else at


@bp.post("/<kind>/<url_id>/<what>")
@require("edit")
def add(kind, url_id, what):
    from central import assign

    kind, target_id = _target(kind, url_id)
    f = request.form
    form = {"what": what, **{k: f.getlist(k) if k in ("faces", "weekdays") else f.get(k)
                             for k in f}}
    try:
        if what == "entry":
            assign.add_entry(store(), kind, target_id, f.get("playlist", ""),
                             faces=_ints("faces"), start_time=f.get("start_time", ""),
                             end_time=f.get("end_time", ""), weekdays=_ints("weekdays"),
                             start_date=typed_iso_date(f.get("start_date")),
                             end_date=typed_iso_date(f.get("end_date")),
                             level=f.get("level", "normal"), name=f.get("name", ""), by=who())
        elif what == "fallback":
            face = f.get("face_id") or None
            assign.set_fallback(store(), kind, target_id, f.get("playlist", ""),
                                int(face) if face else None, by=who())
        elif what == "power":
            face = f.get("face_id") or None
            assign.add_power_window(store(), kind, target_id, f.get("start_time", ""),
                                    f.get("end_time", ""), int(face) if face else None,
                                    _ints("weekdays"), by=who())
        elif what == "notice":
            texts = {lang: f.get(f"text_{lang}", "") for lang in LANGS}
            assign.add_notice(store(), kind, target_id,
                              {k: v for k, v in texts.items() if v.strip()},
                              kind=f.get("kind", "ticker"), level=f.get("level", "normal"),
                              faces=_ints("faces"), starts_at=_instant("starts_at"),
                              expires_at=_instant("expires_at"), by=who())
        else:
            abort(404)
    except CentralError as e:
        return _page(kind, target_id, form, say(e), 400)
    return done(_("Saved. It reaches the gates at the next publication."),
                url_for("assignments.target", kind=kind, url_id=url_id))


@bp.post("/<kind>/<url_id>/<what>/<row_id>/remove")
@require("edit")
def remove(kind, url_id, what, row_id):
    from central import assign

    kind, target_id = _target(kind, url_id)
    table = TABLES.get(what) or abort(404)
    assign.remove(store(), table, int(row_id) if what in ("fallback", "power") and
                  row_id.isdigit() else row_id, by=who())
    return done(_("Removed. It leaves the gates at the next publication."),
                url_for("assignments.target", kind=kind, url_id=url_id))
