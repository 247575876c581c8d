"""First-run setup, login, logout, language, accounts and API tokens."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from kiosk.web.pages import add_language_route, fresh_session
from kiosk.web.security import safe_next

from admin.security import User, actor, role_required
from admin.services import AdminError
from admin.services import sessions
from admin.services import users as user_service
from admin.db import get_db, get_settings
from admin.views.answer import done

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    return safe_next(target, url_for("dashboard.index"))


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    db = get_db()
    if user_service.has_users(db):
        return redirect(url_for("auth.login"))
    if request.method == "POST":
        if request.form.get("password") != request.form.get("password2"):
            raise AdminError(_("The two passwords differ."), field="password2")
        user_service.create_first_admin(db, request.form.get("username", ""),
                                        request.form.get("password", ""), request.remote_addr or "")
        return done(_("The admin account was created. Log in with it."), url_for("auth.login"))
    return render_template("setup.html", min_password=user_service.MIN_PASSWORD)


@bp.route("/login", methods=["GET", "POST"])
def login():
    db = get_db()
    if not user_service.has_users(db):
        return redirect(url_for("auth.setup"))
    if request.method == "POST":
        s = get_settings()
        row = user_service.authenticate(
            db, request.form.get("username", ""), request.form.get("password", ""),
            request.remote_addr or "", max_failures=int(s["admin_login_max_failures"]),
            lockout_s=int(s["admin_lockout_s"]))
        fresh_session()
        session.permanent = True
        token = sessions.start(db, row, float(s["admin_session_hours"]), request.remote_addr or "",
                               request.user_agent.string or "")
        login_user(User(row, token))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html")


@bp.post("/logout")
def logout():
    # Revoked on the server: a copy of the cookie stops working too.
    sessions.end(get_db(), getattr(current_user, "session_token", None))
    logout_user()
    fresh_session()
    return done(_("You are logged out."), url_for("auth.login"))


add_language_route(
    bp, remember=lambda lang: user_service.set_language(get_db(), current_user.db_id, lang),
    home="dashboard.index", error=AdminError)


@bp.get("/account")
@login_required
def account():
    return render_template("account.html", tokens=user_service.list_tokens(get_db(), current_user.db_id),
                           new_token=None, sessions=sessions.live(get_db(), current_user.db_id))


@bp.post("/account/password")
def change_password():
    db = get_db()
    user_service.authenticate_password(db, current_user.db_id, request.form.get("current", ""))
    if request.form.get("password") != request.form.get("password2"):
        raise AdminError(_("The two passwords differ."), field="password2")
    user_service.update_user(db, current_user.db_id, actor(), password=request.form.get("password", ""))
    logout_user()
    session.clear()
    return done(_("Password changed. Log in with the new password."), url_for("auth.login"))


@bp.post("/account/sessions/end")
def end_my_sessions():
    """Sign out everywhere: every browser logged in as this user, this one too."""
    sessions.end_all(get_db(), current_user.db_id, actor(), current_user.username)
    logout_user()
    session.clear()
    return done(_("You are signed out everywhere. Log in again."), url_for("auth.login"))


@bp.post("/users/<int:user_id>/sessions/end")
@role_required("admin")
def end_user_sessions(user_id: int):
    db = get_db()
    user = user_service.get(db, user_id)
    n = sessions.end_all(db, user_id, actor(), user["username"])
    if user_id == current_user.db_id:
        logout_user()
        session.clear()
        return done(_("You are signed out everywhere. Log in again."), url_for("auth.login"))
    return done(_("%(user)s is signed out everywhere (%(n)d session(s) ended).", user=user["username"], n=n),
                url_for("auth.users"))


@bp.post("/account/tokens")
def create_token():
    db = get_db()
    secret, _row = user_service.create_token(db, current_user.db_id, request.form.get("name", ""), actor())
    return render_template("account.html", tokens=user_service.list_tokens(db, current_user.db_id),
                           new_token=secret, sessions=sessions.live(db, current_user.db_id))


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    user_service.revoke_token(get_db(), current_user.db_id, token_id, actor())
    return done(_("The token was revoked."), url_for("auth.account"))


@bp.get("/users")
@role_required("admin")
def users():
    return render_template("users.html", users=user_service.list_users(get_db()),
                           min_password=user_service.MIN_PASSWORD)


@bp.post("/users")
@role_required("admin")
def create_user():
    f = request.form
    user_service.create_user(get_db(), f.get("username", ""), f.get("password", ""),
                             f.get("role", ""), actor(), f.get("language", "vi"))
    return done(_("The account was created."), url_for("auth.users"))


@bp.post("/users/<int:user_id>")
@role_required("admin")
def update_user(user_id: int):
    f = request.form
    user_service.update_user(
        get_db(), user_id, actor(), role=f.get("role") or None,
        disabled={"1": True, "0": False}.get(f.get("disabled", "")),
        password=f.get("password") or None)
    return done(_("The account was changed."), url_for("auth.users"))
