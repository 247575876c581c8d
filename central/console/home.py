"""The console's first page: what waits for the signed-in user."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from central.console import nav
from central.console.base import require, store

bp = Blueprint("home", __name__)
nav.add("home.index", _l("Overview"), right="view", order=10)


@bp.get("/")
@require("view")
def index():
    from central.library import media_counts

    return render_template("home.html", media=media_counts(store()), gates=store().count("gate"))
