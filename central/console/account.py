"""A user's own account: password, language and time zone, live sessions,
sign out everywhere."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask import Blueprint, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from central.console.base import done, store, who

bp = Blueprint("account", __name__, url_prefix="/account")

# The zones a border desk plausibly works in first; every IANA zone follows.
COMMON_ZONES = ("Asia/Ho_Chi_Minh", "Asia/Bangkok", "Asia/Vientiane", "Asia/Phnom_Penh",
                "Asia/Shanghai", "UTC")


def zones() -> list[str]:
    return list(COMMON_ZONES) + sorted(available_timezones() - set(COMMON_ZONES))


@bp.get("/")
def index():
    from central.users import live_sessions

    return render_template("account.html", sessions=live_sessions(store(), who()),
                           zones=zones(), must_change=current_user.must_change_password)


def _signed_out(message: str):
    logout_user()
    session.clear()
    return done(message, url_for("auth.login"))


@bp.post("/password")
def password():
    from central.users import change_password

    f = request.form
    change_password(store(), who(), f.get("current", ""), f.get("password", ""),
                    f.get("password2", ""))
    return _signed_out(_("Password changed; every session of yours has ended. "
                         "Log in with the new password."))


@bp.post("/preferences")
def preferences():
    from central.users import set_preferences

    set_preferences(store(), who(), timezone=request.form.get("timezone") or None)
    return done(_("Saved."), url_for("account.index"))


@bp.post("/sign-out-everywhere")
def sign_out_everywhere():
    from central.users import end_all_sessions

    end_all_sessions(store(), who(), who())
    return _signed_out(_("You are signed out everywhere. Log in again."))
