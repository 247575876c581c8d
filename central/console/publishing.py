"""The Publish page: choose gates or groups (or the whole province), see what
would change on each gate's faces (central.publish.preview), submit it for
approval; an approver who is not the submitter approves it and exactly that
is published (central.publication), or nothing is when someone changed or
published those gates meanwhile. A gate whose content has unapproved media
is held back and named; it never blocks the others."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from central.checks import CentralError
from central.console import nav
from central.console.base import done, require, store, warn, who
from central.console.wording import say, words

bp = Blueprint("publishing", __name__, url_prefix="/publish")
nav.add("publishing.index", _l("Publish"), right="view", order=40)

PARTS = ("entries", "fallback", "playlists", "notices", "power")


def part_names() -> dict[str, str]:
    return {"entries": _("Schedule entries"), "fallback": _("Fallback"),
            "playlists": _("Playlists"), "notices": _("Notices and tickers"),
            "power": _("Power windows")}


def _choices():
    from sqlalchemy import select

    from central import schema as t
    from central.fleet import list_gates

    db = store()
    with db.transaction() as conn:
        groups = [dict(r._mapping) for r in conn.execute(
            select(t.gate_group.c.id, t.gate_group.c.name).order_by(t.gate_group.c.id))]
    return list_gates(db), groups


def _page(previews=None, scope=None, error=None, status=200):
    from central import publication

    gates, groups = _choices()
    scope = scope or {"gates": [], "groups": []}
    names = {g["id"]: g["name"] for g in gates}
    changed = [p for p in previews or () if p.changes]
    pending = publication.listing(store(), "pending")
    return render_template(
        "publish.html", gates=gates, groups=groups, scope=scope, previews=previews,
        token=publication.form_token(previews) if previews else "",
        changed=changed, parts=PARTS, part_names=part_names(), names=names, error=error,
        pending=pending, state_name=publication.state_name,
        # Requests already waiting with some of these gates (this one would make
        # them stale, or they this one), and each waiting request's such others.
        waiting=publication.overlapping(pending, [p.gate["id"] for p in changed]),
        others={r["id"]: publication.overlapping(pending, r["gates"], r["id"]) for r in pending},
        decided=[r for r in publication.listing(store(), limit=20) if r["state"] != "pending"]
    ), status


def _scope(source) -> dict:
    return {"gates": source.getlist("gate"), "groups": source.getlist("group")}


@bp.get("/")
@require("view")
def index():
    from central.manage import repo
    from central.publish import preview

    scope = _scope(request.args)
    if not request.args.get("show"):
        return _page(scope=scope)
    try:
        previews = preview(store(), repo(), **scope, words=words)
    except CentralError as e:
        return _page(scope=scope, error=say(e), status=400)
    return _page(previews, scope)


@bp.post("/")
@require("edit")
def submit():
    from central import publication
    from central.manage import repo

    scope = _scope(request.form)
    try:
        rid = publication.submit(store(), repo(), by=who(), **scope,
                                 note=request.form.get("note", ""),
                                 token=request.form.get("token") or None)
    except CentralError as e:
        return _page(scope=scope, error=say(e), status=409 if _stale(e) else 400)
    return done(_("Sent for approval; another approver must approve it before it is published."),
                url_for("publishing.index") + f"#request-{rid}", id=rid)


def _stale(e) -> bool:
    from central.publication import StaleError

    return isinstance(e, StaleError)


@bp.get("/<int:request_id>")
@require("view")
def request_page(request_id):
    """A request as its approver judges it: what approving it now would
    change on each face, or which gates changed since it was sent."""
    from central import publication
    from central.manage import repo

    seen = publication.review(store(), repo(), request_id, words=words)
    names = {g["id"]: g["name"] for g in _choices()[0]}
    others = (publication.overlapping(publication.listing(store(), "pending"),
                                      seen.request["gates"], seen.request["id"])
              if seen.request["state"] == "pending" else [])
    return render_template("publish_request.html", seen=seen, r=seen.request, parts=PARTS,
                           part_names=part_names(), state_name=publication.state_name,
                           stale_names=", ".join(names.get(g, g) for g in seen.stale),
                           others=others, names=names)


@bp.post("/<int:request_id>/approve")
@require("approve")
def approve(request_id):
    from central import publication
    from central.manage import feed, repo

    try:
        result = publication.approve(store(), repo(), request_id, by=who(), feed=feed())
    except CentralError as e:
        return _page(error=say(e), status=409 if _stale(e) else 400)
    warn(result.warnings)
    return done(_("Published: %(n)d gate(s) get the new content within seconds.",
                  n=len(result.changed)), url_for("publishing.index"))


@bp.post("/<int:request_id>/reject")
@require("edit")
def reject(request_id):
    from central import publication

    try:
        publication.reject(store(), request_id, by=who(), reason=request.form.get("reason", ""))
    except CentralError as e:
        return _page(error=say(e), status=400)
    return done(_("The request was closed; nothing was published."), url_for("publishing.index"))
