"""Local notices: a short text in up to three languages, a level and an expiry."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _

from admin.security import actor, role_required
from admin.services import AdminError
from admin.services import notices as notice_service
from admin.db import get_db, get_settings
from admin.errors import wants_json
from admin.views.answer import done

bp = Blueprint("notices", __name__, url_prefix="/notices")


@bp.get("/")
def index(values=None, error=None, status=200):
    from kiosk.settings import faces

    return render_template("notices.html", notices=notice_service.list_notices(get_db(), True),
                           faces=faces(get_settings()), names=notice_service.language_names(),
                           values=values, error=error), status


def notice_from_form(form) -> dict:
    texts = {"vi": form.get("text_vi", ""), "en": form.get("text_en", "")}
    third = form.get("third_lang")
    if third in ("zh", "lo", "km"):
        texts[third] = form.get("text_third", "")
    return {"texts": texts, "kind": form.get("kind"), "level": form.get("level"),
            "faces": form.getlist("faces"), "expires_at": form.get("expires_at")}


@bp.post("/")
@role_required("operator")
def create():
    try:
        notice = notice_service.create(get_db(), get_settings(), actor(), notice_from_form(request.form))
    except AdminError as e:
        if wants_json() or e.status != 400:
            raise
        # Keep what was typed: a three-language notice is long to type again.
        typed = {k: request.form.get(k, "") for k in
                 ("text_vi", "text_en", "third_lang", "text_third", "kind", "level", "expires_at")}
        typed["faces"] = request.form.getlist("faces")
        return index(values=typed, error=e, status=e.status)
    if notice.get("kind") == "ticker":
        return done(_("Notice saved; the ticker shows within a second."), url_for("notices.index"))
    return done(_("Notice saved. A slide of a higher level shows within a second; at the level "
                  "already playing it joins the rotation when the item now playing ends."),
                url_for("notices.index"))


@bp.post("/<notice_id>/withdraw")
@role_required("operator")
def withdraw(notice_id):
    notice_service.withdraw(get_db(), actor(), notice_id)
    return done(_("Notice withdrawn."), url_for("notices.index"))
