"""The Audit log page (admins): who changed what and when, filtered by person,
action, gate or other subject, and days in the viewer's time zone, a page at
a time. Every entry is said in words: the action (central.users.audit_actions;
a test fails on an action audited anywhere without words), who (the server's
shell and its housekeeping named as such) and a readable detail, never the
stored JSON."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from kiosk.store import iso
from kiosk.web.formatting import form_date

from central.console import nav
from central.console.base import require, store
from central.console.i18n import select_timezone

bp = Blueprint("audit", __name__, url_prefix="/audit")
nav.add("audit.index", _l("Audit log"), right="users", order=95)

PER_PAGE = 50


def _yes_no(value) -> str:
    return _("yes") if value else _("no")


def _join(values) -> str:
    return ", ".join(str(v) for v in values) if values else "—"


def target(text: str) -> str:
    """"gate:ha-noi", "group:bac", "province:" in words."""
    kind, _sep, ident = str(text).partition(":")
    if kind == "gate":
        return _("gate %(id)s", id=ident)
    if kind == "group":
        return _("group %(id)s", id=ident)
    if kind == "province":
        return _("the whole province")
    return str(text)


def _face(face) -> str:
    return _("every face") if face is None else _("face %(n)s", n=face)


def _faces(faces) -> str:
    return _("every face") if not faces else _("faces %(list)s", list=_join(faces))


def _field(key: str) -> str:
    return {
        "role": _("role"), "disabled": _("disabled"), "language": _("language"),
        "timezone": _("time zone"), "must_change_password": _("must change the password"),
        "name": _("name"), "province": _("province"), "latitude": _("latitude"),
        "longitude": _("longitude"), "faces": _("faces"), "valid_from": _("valid from"),
        "valid_until": _("valid until"), "reason": _("reason"), "gates": _("gates"),
    }.get(key, key.replace("_", " "))


def _value(key: str, value) -> str:
    from central.users import role_names

    if key == "role":
        return role_names().get(value, str(value))
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or key in ("disabled", "must_change_password"):
        return _yes_no(value)
    if isinstance(value, (list, tuple)):
        return _join(value)
    if isinstance(value, dict):
        return "; ".join(f"{_field(k)} {_value(k, v)}" for k, v in value.items())
    if key in ("valid_from", "valid_until"):
        from kiosk.web.formatting import local_date

        return local_date(value)
    return str(value)


def _fields(detail: dict) -> str:
    """Named values, each labelled in words (the fallback for any detail)."""
    return "; ".join(f"{_field(k)}: {_value(k, v)}" for k, v in detail.items()
                     if v not in (None, "", [], {}))


def _changes(detail: dict) -> str:
    before, after = detail.get("before") or {}, detail.get("after") or {}
    return "; ".join(f"{_field(k)}: {_value(k, before.get(k))} → {_value(k, v)}"
                     for k, v in after.items())


def _emergency(d: dict) -> str:
    from central.console.wording import language

    minutes = "%g" % float(d.get("minutes") or 0)
    parts = [_("for %(m)s minutes", m=minutes),
             _("targets: %(list)s", list=_join(target(x) for x in d.get("targets") or ())),
             _faces(d.get("faces"))]
    for lang, text in (d.get("texts") or {}).items():
        parts.append(f"{language(lang)}: “{text}”")
    if d.get("playlist"):
        parts.append(_("playlist %(id)s", id=d["playlist"]))
    if d.get("reason"):
        parts.append(_("why: %(reason)s", reason=d["reason"]))
    return "; ".join(parts)


def _published(d: dict) -> str:
    changed = d.get("changed") or {}
    releases = _join(_release(g, v) for g, v in sorted(changed.items()))
    parts = [_("new release on %(list)s", list=releases) if changed else _("no gate changed")]
    if d.get("held"):
        parts.append(_("kept their release (media not approved yet): %(list)s",
                       list=_join(sorted(d["held"]))))
    scope = d.get("scope")
    parts.append(_("for every gate") if scope in (None, "all")
                 else _("for %(list)s", list=_join(scope)))
    return "; ".join(parts)


def _release(gate: str, version) -> str:
    # Apart from the sentence it goes into: Babel does not extract a gettext
    # call nested in another's arguments.
    return _("%(gate)s (version %(v)s)", gate=gate, v=version)


def _alert_subscription(d: dict) -> str:
    parts = [_("%(channel)s to %(address)s", channel=d.get("channel", "—"),
               address=d.get("address", "—"))]
    if d.get("group"):
        parts.append(_("group %(id)s", id=d["group"]))
    if d.get("severity"):
        parts.append(_("from severity %(level)s", level=d["severity"]))
    return "; ".join(parts)


def describe(entry: dict) -> str:
    """An entry's detail in the reader's language ("" when it has none)."""
    d = entry.get("detail") or {}
    if not isinstance(d, dict):
        return str(d)
    action = entry.get("action", "")
    said = {
        "user.add": lambda: _("role: %(role)s", role=_value("role", d.get("role"))),
        "user.update": lambda: _changes(d),
        "user.sign_out_everywhere": lambda: _("%(n)s session(s) ended", n=d.get("sessions", 0)),
        "login": lambda: _("from %(client)s", client=d.get("client") or "—"),
        "login.failed": lambda: _("from %(client)s", client=d.get("client") or "—"),
        "media.add": lambda: _("%(name)s (%(kind)s)", name=d.get("name", "—"),
                               kind=_kind(d.get("kind"))),
        "media.approve": lambda: str(d.get("name", "")),
        "media.reject": lambda: _("%(name)s — why: %(reason)s", name=d.get("name", "—"),
                                  reason=d.get("reason") or "—"),
        "media.dates": lambda: _("shown from %(start)s until %(end)s",
                                 start=_value("valid_from", d.get("valid_from")),
                                 end=_value("valid_until", d.get("valid_until"))),
        "playlist.save": lambda: _("%(n)s item(s)", n=d.get("items", 0)),
        "playlist.move": lambda: _("item %(a)s moved to place %(b)s (media %(sha)s)",
                                   a=int(d["from"]) + 1, b=int(d["to"]) + 1,
                                   sha=str(d.get("media", ""))[:12]),
        "playlist.duration": lambda: _("item %(n)s (media %(sha)s): %(s)s",
                                       n=int(d["position"]) + 1,
                                       sha=str(d.get("media", ""))[:12], s=_seconds(d)),
        "playlist.remove_item": lambda: _("item %(n)s (media %(sha)s)",
                                          n=int(d["position"]) + 1,
                                          sha=str(d.get("media", ""))[:12]),
        "playlist.add_item": lambda: _("media %(sha)s, %(s)s", sha=str(d.get("media", ""))[:12],
                                       s=_seconds(d)),
        "playlist.rename": lambda: _("“%(old)s” → “%(new)s”", old=d.get("from", ""),
                                     new=d.get("to", "")),
        "playlist.delete": lambda: _("“%(name)s”, %(n)s item(s)", name=d.get("name", ""),
                                     n=len(d.get("items") or ())),
        "entry.save": lambda: _("for %(target)s, level %(level)s",
                                target=target(f"{d.get('target_kind')}:{d.get('target_id')}"),
                                level=_level(d.get("level"))),
        "fallback.set": lambda: _("%(face)s: playlist %(id)s", face=_face(d.get("face")),
                                  id=d.get("playlist", "—")),
        "power.add": lambda: _("%(face)s: on %(start)s–%(end)s", face=_face(d.get("face")),
                               start=(d.get("window") or ["—", "—"])[0],
                               end=(d.get("window") or ["—", "—"])[-1]),
        "notice.save": lambda: _("for %(target)s, level %(level)s",
                                 target=target(d.get("target", "")),
                                 level=_level(d.get("level"))),
        "publication.submit": lambda: _("gates: %(list)s", list=_join(d.get("gates"))),
        "publication.approve": lambda: _("sent by %(who)s; gates: %(list)s",
                                         who=d.get("submitted_by", "—"),
                                         list=_join(d.get("gates"))),
        "publication.stale": lambda: _("gates changed meanwhile: %(list)s",
                                       list=_join(d.get("gates"))),
        "publish": lambda: _published(d),
        "emergency": lambda: _emergency(d),
        "emergency.cancel": lambda: _("why: %(reason)s; gates: %(list)s",
                                      reason=d.get("reason") or "—", list=_join(d.get("gates"))),
        "blank": lambda: _("%(faces)s — why: %(reason)s", faces=_faces(d.get("faces")),
                           reason=d.get("reason") or "—"),
        "unblank": lambda: _("why: %(reason)s (blanked by %(who)s)",
                             reason=d.get("reason") or "—", who=d.get("blanked_by") or "—"),
        "group.save": lambda: _("gates: %(list)s", list=_join(d.get("gates"))),
        "group.remove": lambda: _("gate %(id)s", id=d.get("gate", "—")),
        "key.rotate": lambda: _("new key %(keyid)s", keyid=str(d.get("keyid", ""))[:16]),
        "repository.init": lambda: (_("the root and targets keys were written off this machine")
                                    if d.get("offline_keys") else
                                    _("every key is on this machine (move root and targets "
                                      "off it)")),
        "repository.refresh": lambda: _("roles: %(list)s", list=_join(d.get("roles"))),
        "repository.prune": lambda: _("%(m)s metadata and %(t)s target file(s)",
                                      m=d.get("metadata", 0), t=d.get("targets", 0)),
        "alert.ack": lambda: _("gate %(id)s, %(face)s", id=d.get("gate", "—"),
                               face=_face(d.get("face"))),
        "alert.subscribe": lambda: _alert_subscription(d),
        "alert.unsubscribe": lambda: _alert_subscription(d),
    }.get(action)
    if said is not None:
        try:
            return said()
        except (TypeError, ValueError, AttributeError, IndexError):
            pass  # an older entry of another shape: its fields, labelled
    return _fields(d)


def _seconds(d: dict) -> str:
    if d.get("seconds") is None:
        return _("its own length")
    return _("%(s)s seconds", s="%g" % float(d["seconds"]))


def _kind(kind) -> str:
    return {"video": _("video"), "image": _("picture"), "text": _("text slide")}.get(
        kind, str(kind or "—"))


def _level(level) -> str:
    from central.console.wording import level as level_words

    return level_words(level) if level else "—"


def _day(text: str, field: str) -> date | None:
    from kiosk.web.formatting import BadDate, read_date

    try:
        return read_date(text)
    except BadDate as e:
        raise ValueError(f"{field}: {e.say(_)}") from None


def _utc_start(day: date, zone: str) -> str:
    """The viewer's day `day` starts at this UTC instant."""
    return iso(datetime.combine(day, time(0), ZoneInfo(zone)).astimezone(timezone.utc))


def subject_link(entry: dict) -> str | None:
    """Where the entry's subject can be looked at, when the console has a page."""
    from flask import current_app

    subject, action = str(entry.get("subject") or ""), entry.get("action", "")
    views = current_app.view_functions
    if action.startswith("media.") and "library.show" in views:
        return url_for("library.show", sha256=subject)
    gate = (subject[5:] if subject.startswith("gate:")
            else subject if action.startswith("gate.") else None)
    if gate and "fleet.gate" in views:
        return url_for("fleet.gate", gate_id=gate)
    return None


def subject_words(entry: dict) -> str:
    subject, action = str(entry.get("subject") or ""), entry.get("action", "")
    if action.startswith("media."):
        return _("media %(id)s", id=subject[:12])
    if ":" in subject:
        return target(subject)
    if action.startswith("gate."):
        return _("gate %(id)s", id=subject)
    if action.startswith(("user.", "login")):
        return _("account %(name)s", name=subject)
    if action.startswith("playlist."):
        return _("playlist %(id)s", id=subject)
    if action.startswith(("entry.", "schedule_entry.")):
        return _("schedule entry %(id)s", id=subject)
    if action.startswith("notice."):
        return _("notice %(id)s", id=subject)
    if action.startswith("power_window."):
        return _("power window %(id)s", id=subject)
    if action.startswith("publication."):
        return _("request %(id)s", id=subject)
    if action == "publish":
        return _("repository version %(v)s", v=subject)
    if action.startswith("emergency"):
        return _("emergency %(id)s", id=subject)
    if action == "key.rotate":
        return _("%(role)s key", role=subject)
    if action.startswith("repository."):
        return _("signed repository")
    return subject


@bp.get("/")
@require("users")
def index():
    from central.users import audit_actions, audit_people, audit_who, find_audit

    args = request.args
    filters = {k: args.get(k, "").strip() for k in ("who", "action", "subject", "from", "to")}
    try:
        page = max(1, int(args.get("page", "1")))
    except ValueError:
        page = 1
    zone = select_timezone()
    error, status, since, until = None, 200, None, None
    try:
        start = _day(filters["from"], _("From"))
        end = _day(filters["to"], _("Until"))
        if start and end and end < start:
            raise ValueError(_("The days end (%(end)s) before they start (%(start)s).",
                               end=form_date(end), start=form_date(start)))
        since = _utc_start(start, zone) if start else None
        until = _utc_start(end + timedelta(days=1), zone) if end else None
    except ValueError as e:
        error, status = str(e), 400
    entries, total = ([], 0) if error else find_audit(
        store(), who=filters["who"], action=filters["action"], subject=filters["subject"],
        since=since, until=until, page=page, per_page=PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    actions = audit_actions()
    rows = [{"at": e["at"], "who": audit_who(e["who"]), "person": e["who"],
             "action": actions.get(e["action"], e["action"]),
             "subject": subject_words(e), "link": subject_link(e), "detail": describe(e)}
            for e in entries]

    def page_url(n: int) -> str:
        return url_for("audit.index", **{k: v for k, v in filters.items() if v}, page=n)

    return render_template(
        "audit.html", rows=rows, filters=filters, total=total, page=page, pages=pages,
        page_url=page_url, error=error, zone=zone,
        people=[(p, audit_who(p)) for p in audit_people(store())],
        actions=sorted(actions.items(), key=lambda kv: kv[1].lower())), status
