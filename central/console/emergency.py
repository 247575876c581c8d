"""The Emergency page: one form (texts in the five languages, target gates,
groups or the province, faces, duration, reason), a preview of the slide as
a face will show it (the gate's own renderer at a face's size), publish at
once, and the emergencies in force with a cancel button. Needs the
emergency right (operator, admin); both publish and cancel are audited with
who and why (central.publish)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from central.checks import CentralError
from central.console import nav
from central.console.base import done, require, store, warn, who
from central.console.wording import say
from central.i18n import language_name

bp = Blueprint("emergency", __name__, url_prefix="/emergency")
nav.add("emergency.index", _l("Emergency"), right="emergency", order=50)

LANGS = ("vi", "zh", "lo", "km", "en")
DURATIONS = (15, 30, 60, 120, 240, 480, 720, 1440)


def _lang_names() -> dict[str, str]:
    return {code: language_name(code) for code in LANGS}


def _form() -> dict:
    f = request.form
    return {
        "texts": {lang: f.get(f"text_{lang}", "") for lang in LANGS},
        "targets": f.getlist("target"),
        "faces": [int(x) for x in f.getlist("face") if x.isdigit()],
        "minutes": f.get("minutes", "60"),
        "reason": f.get("reason", ""),
        "playlist": f.get("playlist", ""),
        "size": f.get("size", "1920x1080"),
    }


def _page(form: dict | None = None, error: str | None = None, status: int = 200):
    from sqlalchemy import select

    from central import emergency as em
    from central import schema as t
    from central.fleet import list_gates

    db = store()
    with db.transaction() as conn:
        groups = [dict(r._mapping) for r in conn.execute(
            select(t.gate_group.c.id, t.gate_group.c.name).order_by(t.gate_group.c.id))]
        playlists = [dict(r._mapping) for r in conn.execute(
            select(t.playlist.c.id, t.playlist.c.name).order_by(t.playlist.c.name))]
    form = form or {"texts": {}, "targets": [], "faces": [], "minutes": "60", "reason": "",
                    "playlist": "", "size": "1920x1080"}
    previews = []
    texts = {k: v for k, v in form["texts"].items() if v.strip()}
    if texts and error is None:
        w, h = (int(x) for x in form["size"].split("x"))
        count = len(em.slides(texts))
        previews = [url_for("emergency.preview_png", n=i, w=w, h=h, **{f"t_{k}": v for k, v in
                                                                       texts.items()})
                    for i in range(count)]
    from central.fleetview import blanked_gates  # console-fleet's: the blank warning

    blanked = blanked_gates(form["targets"], form["faces"]) if form["targets"] else blanked_gates()
    return render_template(
        "emergency.html", form=form, error=error, previews=previews, langs=LANGS,
        blanked=blanked,
        lang_names=_lang_names(), gates=list_gates(db), groups=groups, playlists=playlists,
        durations=DURATIONS, sizes=[f"{w}x{h}" for w, h in em.PREVIEW_SIZES],
        live=em.live(db), recent=em.recent(db, 20)), status


@bp.get("/")
@require("emergency")
def index():
    return _page()


@bp.post("/preview")
@require("emergency")
def preview():
    """The form again, with the slides as a face will show them."""
    from central import emergency as em

    form = _form()
    try:
        em.check_texts({k: v for k, v in form["texts"].items() if v.strip()} or None)
    except CentralError as e:
        return _page(form, say(e), 400)
    return _page(form)


@bp.get("/preview.png")
@require("emergency")
def preview_png():
    """One slide of the preview, drawn by the gate's renderer (no side effect)."""
    from central import emergency as em

    texts = {lang: request.args.get(f"t_{lang}", "") for lang in LANGS}
    texts = {k: v for k, v in texts.items() if v.strip()}
    try:
        w, h = int(request.args.get("w", 1920)), int(request.args.get("h", 1080))
        n = int(request.args.get("n", 0))
    except ValueError:
        return Response(status=400)
    if (w, h) not in em.PREVIEW_SIZES:
        return Response(status=400)
    try:
        pngs = em.preview_pngs(texts, w, h)
    except CentralError as e:
        return Response(say(e), status=400, mimetype="text/plain")
    if not 0 <= n < len(pngs):
        return Response(status=404)
    return Response(pngs[n], mimetype="image/png", headers={"Cache-Control": "private, max-age=60"})


@bp.post("/")
@require("emergency")
def publish():
    from central.manage import feed, repo
    from central.publish import publish_emergency

    form = _form()
    texts = {k: v for k, v in form["texts"].items() if v.strip()}
    try:
        eid, result = publish_emergency(
            store(), repo(), form["targets"], by=who(), reason=form["reason"],
            minutes=form["minutes"], texts=texts or None,
            playlist_id=form["playlist"] or None, faces=form["faces"], feed=feed())
    except CentralError as e:
        return _page(form, say(e), 400)
    warn(result.warnings)
    return done(_("Emergency published to %(n)d gate(s); they show it within seconds.",
                  n=len(result.changed)), url_for("emergency.index") + f"#{eid}", id=eid)


@bp.post("/<emergency_id>/cancel")
@require("emergency")
def cancel(emergency_id):
    from central.manage import feed, repo
    from central.publish import cancel_emergency

    try:
        result = cancel_emergency(store(), repo(), emergency_id, by=who(),
                                  reason=request.form.get("reason", ""), feed=feed())
    except CentralError as e:
        return _page(None, say(e), 400)
    warn(result.warnings)
    return done(_("Emergency ended early on %(n)d gate(s).", n=len(result.changed)),
                url_for("emergency.index"))
