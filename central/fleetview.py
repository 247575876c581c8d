"""The console's Fleet pages: every gate on the offline map and in a list
(online, releases, faces with their live screenshots, health, last errors,
central's blank), a gate's page with its history, its position, and the kill
switch from central (central/killswitch.py: through the signed release only).

Reading needs the `view` right; blanking, releasing and placing a gate need
`fleet` (operators and admins).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo
from functools import cache

from flask import (Blueprint, abort, current_app, render_template, request, send_from_directory,
                   url_for)
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from kiosk.store import utcnow
from kiosk.web.formatting import BadDate, read_date

from central import fleetmap, killswitch
from central.console import nav
from central.console.base import done, require, settings, store, who
from central.fleet import gate_history, get_gate, overview, update_gate

bp = Blueprint("fleet", __name__, url_prefix="/fleet")
nav.add("fleet.index", _l("Fleet"), right="view", order=60)

HISTORY_PER_PAGE = 50


def repository():
    return current_app.extensions["central_repo"]


def feed():
    return current_app.extensions["central_feed"]


def _gates() -> list[dict]:
    return overview(store(), settings()["central_heartbeat_interval_s"])


# A gate's state in words and as a shape, so the map and the list never rely on
# colour alone (static/fleetmap.js draws the same glyphs on its markers).
STATE_GLYPHS = {"online": "✓", "warning": "!", "offline": "✕", "blanked": "■"}


def state_word(state: str) -> str:
    return {"online": _("online"), "warning": _("needs attention"), "offline": _("offline"),
            "blanked": _("blanked from central")}[state]


def _map(gates: list[dict], current: str | None = None) -> dict:
    """What the map macro draws without script, and `client`: the same as
    data for static/fleetmap.js (the interactive map drawn over it)."""
    view_box, paths = fleetmap.outline()
    placed, unplaced = fleetmap.markers(gates)
    r = fleetmap.region()
    tile_url = fleetmap.check_tile_url(settings()["central_map_tile_url"])
    client = {
        "bbox": [r.west, r.south, r.east, r.north],
        "outline": url_for("static", filename=fleetmap.REGION_FILE),
        "tiles": tile_url,
        "current": current,
        "archipelagos": [{"lat": a["lat"], "lon": a["lon"], "name": archipelago_name(a["key"])}
                         for a in fleetmap.archipelagos()],
        "gates": [{"id": g["id"], "name": g["name"], "state": g["state"],
                   "word": state_word(g["state"]), "glyph": STATE_GLYPHS[g["state"]],
                   "lat": g["latitude"], "lon": g["longitude"],
                   "url": url_for("fleet.gate", gate_id=g["id"])} for g in placed],
        "words": {
            "zoom_in": _("Zoom in"), "zoom_out": _("Zoom out"),
            "open": _("Open the gate's page"),
            "group": _("%(count)s gates here: click or zoom in to see them"),
            "picked": _("Picked %(lat)s° N, %(lon)s° E: press “Save the position” to keep it."),
            "outside": _("That place is outside the province's map (latitude %(south)s–%(north)s° N, "
                         "longitude %(west)s–%(east)s° E). Pick a place inside it.",
                         south=num(r.south), north=num(r.north), west=num(r.west), east=num(r.east)),
            "pick_hint": _("Click or tap the map to set the position (from the keyboard: move the "
                           "map with the arrow keys, Enter picks the cross in its middle); the "
                           "numbers stay editable."),
            "map": _("Map of the gates: drag to move, wheel, pinch or the + and − buttons to zoom; "
                     "arrow keys and + − work when the map has focus."),
        },
    }
    return {"view_box": view_box, "paths": paths, "placed": placed, "unplaced": unplaced,
            "tiles": fleetmap.tiles(tile_url), "archipelagos": fleetmap.archipelagos(),
            "client": client}


def archipelago_name(key: str) -> str:
    return (_("Hoang Sa archipelago (Viet Nam)") if key == "paracel"
            else _("Truong Sa archipelago (Viet Nam)"))


@bp.context_processor
def helpers():
    return {"when": when, "size": size, "num": num, "face_list": face_list,
            "event_text": event_text, "sync_text": sync_text, "state_word": state_word, "state_glyphs": STATE_GLYPHS,
            "archipelago_name": archipelago_name}


def when(text: str | None) -> str:
    """An instant in the viewer's zone and language (the console's filter)."""
    from central.console.i18n import local_time

    return local_time(text)


def num(value) -> str:
    return format_decimal(round(float(value), 1)) if value is not None else "—"


def size(mb) -> str:
    from kiosk.web.formatting import megabytes

    return megabytes(mb, str(get_locale() or "vi"))


def face_list(faces) -> str:
    return (", ".join(_("face %(face)s", face=f) for f in faces) if faces
            else _("every face"))


def _gate_renderer():
    """The gate admin's sentences (admin/events.py) in the reader's language,
    so gate and central say the same thing the same way."""
    from admin.events import Renderer

    translations = _gate_translations(str(get_locale() or "vi"))

    def gettext(text, **params):
        text = translations.gettext(text)
        return text % params if params else text

    return Renderer(gettext, when, lambda n: size(float(n) / 2**20))


def event_text(event: dict) -> str:
    """A gate's event (from its heartbeat: code, detail, English message) in
    the reader's language."""
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    return _gate_renderer().event(event.get("code"), detail, event.get("face_id"),
                                  event.get("message") or "")


def sync_text(sync: dict | None) -> str:
    """A heartbeat's last pull (status, code, reason) in words, as the gate admin says it."""
    return _gate_renderer().sync_state(sync)


@cache
def _gate_translations(language: str):
    from babel.support import Translations

    from admin.i18n import compiled_catalogues

    # One folder, or several joined by ';' (Flask-Babel's form): the first that
    # has a message wins.
    found = None
    for folder in str(compiled_catalogues(settings().state_path / "cache" / "gate-admin")).split(";"):
        t = Translations.load(folder, [language])
        if found is None:
            found = t
        else:
            found.add_fallback(t)
    return found


def state_of(gate: dict) -> str:
    """One word for the marker's colour and the list's badge."""
    if gate["blank"] and gate["blank"]["active"]:
        return "blanked"
    if not gate["online"]:
        return "offline"
    if gate["errors"] or gate["health"]["alarms"]:
        return "warning"
    return "online"


def blanked_gates(targets=None, faces=()) -> list[dict]:
    """The gates whose faces are black now, for the Emergency page's warning:
    by central's kill switch (in their release) or by the technician's on the
    gate (a face the gate reports black that central's blank does not
    explain). With `targets` ("province", "group:ID", "gate:ID") and `faces`,
    only the gates an emergency so aimed would reach on a black face."""
    from central.fleet import groups_of

    out = []
    for g in _gates():
        blank = g["blank"] if g["blank"] and g["blank"]["active"] else None
        by_central = (blank["faces"] or g["faces"]) if blank else []
        local = [f["face_id"] for f in g["face_states"]
                 if f["blanked"] and f["face_id"] not in by_central]
        if not blank and not local:
            continue
        words = []
        if blank:
            words.append(_("blanked from central (%(faces)s) by %(by)s: %(reason)s",
                           faces=face_list(blank["faces"]), by=blank["by"],
                           reason=blank["reason"]))
        if local:
            words.append(_("reported black by the gate itself (%(faces)s): the technician's kill "
                           "switch there", faces=face_list(local)))
        dark = sorted(set(by_central) | set(local))
        out.append({"id": g["id"], "name": g["name"], "groups": groups_of(store(), g["id"]),
                    "faces": [] if set(dark) >= set(g["faces"]) else dark,
                    "words": "; ".join(words)})
    if targets is None:
        return out
    wanted = {int(f) for f in faces}

    def aimed(b):
        hit = any(t == "province" or t == f"gate:{b['id']}"
                  or any(t == f"group:{grp}" for grp in b["groups"]) for t in targets)
        return hit and (not wanted or not b["faces"] or wanted & set(b["faces"]))

    return [b for b in out if aimed(b)]


@bp.get("/")
@require("view")
def index():
    gates = _gates()
    for gate in gates:
        gate["state"] = state_of(gate)
    return render_template("fleet.html", gates=gates, map=_map(gates))


@bp.get("/<gate_id>")
@require("view")
def gate(gate_id):
    gates = [g for g in _gates() if g["id"] == gate_id]
    if not gates:
        get_gate(store(), gate_id)  # NotFound, in the reader's language
    g = gates[0]
    g["state"] = state_of(g)
    span, error = history_range(request.args.get("from", ""), request.args.get("to", ""))
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    history = gate_history(store(), gate_id, since=span["since"], until=span["until"],
                           heartbeat_interval_s=settings()["central_heartbeat_interval_s"],
                           page=page, per_page=HISTORY_PER_PAGE)
    return render_template("fleet_gate.html", gate=g, history=history, map=_map([g], g["id"]),
                           span=span, range_error=error)


def history_range(first: str, last: str) -> tuple[dict, str | None]:
    """The days a gate's history covers, whole days in the viewer's zone
    (default yesterday and today); a bad range falls back to the default with
    the reason in words. Returns ({from, to (dates), since, until (UTC)}, error)."""
    from central.console.i18n import select_timezone
    from central.fleet import HISTORY_MAX_DAYS

    zone = ZoneInfo(select_timezone())
    now = utcnow()
    today = now.astimezone(zone).date()
    error = None
    try:  # dd/mm/yyyy from the form (web/macros.html date_input) or ISO from a link
        end = read_date(last) or today
        start = read_date(first) or end - timedelta(days=1)
    except BadDate as e:
        error = e.say(_)
    else:
        if start > end:
            error = _("The first day (%(first)s) is after the last day (%(last)s).",
                      first=_day(start), last=_day(end))
        elif (end - start).days + 1 > HISTORY_MAX_DAYS:
            error = _("At most %(days)s days of history at once: choose a shorter range.",
                      days=HISTORY_MAX_DAYS)
        elif start > today:
            error = _("The first day (%(first)s) is in the future.", first=_day(start))
    if error:
        start, end = today - timedelta(days=1), today
    since = datetime.combine(start, time(), zone).astimezone(now.tzinfo)
    until = min(now, datetime.combine(end + timedelta(days=1), time(), zone).astimezone(now.tzinfo))
    return {"from": start, "to": end, "since": since, "until": until,
            "zone": select_timezone()}, error


def _day(day) -> str:
    from flask_babel import format_date

    return format_date(day, "dd/MM/yyyy")


@bp.app_template_filter("history_day")
def history_day(day) -> str:
    return _day(day)


@bp.post("/<gate_id>/blank")
@require("fleet")
def blank(gate_id):
    faces = request.form.getlist("faces")  # checked by killswitch.blank: bad ones refused
    result = killswitch.blank(store(), repository(), gate_id, by=who(),
                              reason=request.form.get("reason", ""), faces=faces, feed=feed())
    version = result.publication.changed.get(gate_id) or result.publication.unchanged.get(gate_id)
    return done(_("Gate %(gate)s is blanked from central (signed in release %(version)s). "
                  "It goes black at its next sync.", gate=gate_id, version=version),
                url_for("fleet.gate", gate_id=gate_id))


@bp.post("/<gate_id>/unblank")
@require("fleet")
def unblank(gate_id):
    result = killswitch.unblank(store(), repository(), gate_id, by=who(),
                                reason=request.form.get("reason", ""), feed=feed())
    version = result.publication.changed.get(gate_id) or result.publication.unchanged.get(gate_id)
    return done(_("Central's blank of gate %(gate)s is released (signed in release "
                  "%(version)s).", gate=gate_id, version=version),
                url_for("fleet.gate", gate_id=gate_id))


@bp.post("/<gate_id>/position")
@require("fleet")
def position(gate_id):
    lat, lon = request.form.get("latitude", "").strip(), request.form.get("longitude", "").strip()
    update_gate(store(), gate_id, position=(lat, lon) if lat or lon else None, by=who())
    return done(_("The position of gate %(gate)s is saved.", gate=gate_id),
                url_for("fleet.gate", gate_id=gate_id))


@bp.get("/<gate_id>/screenshots/<name>")
@require("view")
def screenshot(gate_id, name):
    """A face's latest screenshot (central/intake.py keeps one per face)."""
    get_gate(store(), gate_id)  # only registered ids (no '..') name a folder
    if "/" in name or name.startswith("."):
        abort(404)
    resp = send_from_directory(settings().state_path / "screenshots" / gate_id, name)
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp
