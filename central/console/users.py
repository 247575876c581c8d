"""The Users page (admins): add, change role, disable or enable, reset the
password (a one-time one, shown once), sign out everywhere. Every change is
in the audit log."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from central.console import nav
from central.console.base import done, require, store, who

bp = Blueprint("users", __name__, url_prefix="/users")
nav.add("users.index", _l("Users"), right="users", order=90)


def _page(one_time: dict | None = None, status: int = 200):
    from central.users import ROLES, list_users, recent_audit

    return render_template("users.html", users=list_users(store()), roles=ROLES,
                           one_time=one_time, audit=recent_audit(store(), "user.", 30)), status


@bp.get("/")
@require("users")
def index():
    return _page()


@bp.post("/")
@require("users")
def add():
    from central.users import add_user, set_one_time_password

    name = request.form.get("name", "").strip()
    add_user(store(), name, request.form.get("role", ""), by=who())
    password = set_one_time_password(store(), name, who())
    # Shown once, on this answer only (never stored in clear, never in a redirect).
    return _page({"name": name, "password": password, "new": True}, 201)


@bp.post("/<name>/role")
@require("users")
def role(name):
    from central.users import update_user

    update_user(store(), name, who(), role=request.form.get("role", ""))
    return done(_("%(name)s's role was changed; their sessions have ended.", name=name),
                url_for("users.index"))


@bp.post("/<name>/disable")
@require("users")
def disable(name):
    from central.users import update_user

    update_user(store(), name, who(), disabled=request.form.get("disabled") == "1")
    message = (_("%(name)s is disabled and signed out.", name=name)
               if request.form.get("disabled") == "1" else _("%(name)s is enabled.", name=name))
    return done(message, url_for("users.index"))


@bp.post("/<name>/password")
@require("users")
def reset_password(name):
    from central.users import set_one_time_password

    password = set_one_time_password(store(), name, who())
    return _page({"name": name, "password": password, "new": False})


@bp.post("/<name>/sign-out")
@require("users")
def sign_out(name):
    from central.users import end_all_sessions

    n = end_all_sessions(store(), name, who())
    return done(_("%(name)s is signed out everywhere (%(n)d session(s) ended).", name=name, n=n),
                url_for("users.index"))
