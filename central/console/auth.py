"""Logging in and out, and the language switch. There is no default account
and no first-run page: the first admin comes from the server's command line
(`gatecast central user add NAME --role admin` prints a one-time password)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from kiosk.web.pages import add_language_route, fresh_session
from kiosk.web.security import safe_next

from central.checks import CentralError
from central.console.base import User, done, settings, store

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    from central.users import authenticate, list_users, start_session

    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    if request.method == "POST":
        s = settings()
        found = authenticate(store(), request.form.get("username", ""),
                             request.form.get("password", ""), request.remote_addr or "",
                             max_failures=int(s["central_login_max_failures"]),
                             lockout_s=float(s["central_lockout_s"]))
        fresh_session()
        session.permanent = True
        token = start_session(store(), found, float(s["central_session_hours"]),
                              request.remote_addr or "", request.user_agent.string or "")
        login_user(User(found, token))
        if found["must_change_password"]:
            return redirect(url_for("account.index"))
        return redirect(safe_next(request.args.get("next"), url_for("home.index")))
    no_accounts = not list_users(store())
    return render_template("login.html", no_accounts=no_accounts)


@bp.post("/logout")
def logout():
    from central.users import end_session

    # Revoked on the server: a copy of the cookie stops working too.
    end_session(store(), getattr(current_user, "session_token", None))
    logout_user()
    fresh_session()
    return done(_("You are logged out."), url_for("auth.login"))


def _remember_language(lang: str) -> None:
    from central.users import set_preferences

    set_preferences(store(), current_user.name, language=lang)


add_language_route(bp, remember=_remember_language, home="home.index", error=CentralError)
