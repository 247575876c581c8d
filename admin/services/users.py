"""Accounts, passwords, login throttling and API tokens.

There is no default account: the first admin comes from the first-run page,
`gatecast admin create-user` or Ansible (which runs that command).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _

from kiosk.store import iso, parse_iso, utcnow, writing
from kiosk.web import accounts
from kiosk.web.accounts import MIN_PASSWORD, hash_password

from admin.services import ROLES, Actor, AdminError, Conflict, NotFound, audit

__all__ = ["MIN_PASSWORD"]
TOKEN_PREFIX = "gct_"


def has_users(db) -> bool:
    return db.execute("SELECT 1 FROM admin_user LIMIT 1").fetchone() is not None


def public(user: dict) -> dict:
    return {k: user[k] for k in ("id", "username", "role", "language", "disabled",
                                 "created_at", "created_by", "last_login_at")}


def get(db, user_id: int) -> dict:
    rows = list(db.query("SELECT * FROM admin_user WHERE id = ?", [user_id]))
    if not rows:
        raise NotFound(_("No such user."))
    return rows[0]


def by_name(db, username: str) -> dict | None:
    rows = list(db.query("SELECT * FROM admin_user WHERE username = ? COLLATE NOCASE", [username]))
    return rows[0] if rows else None


def list_users(db) -> list[dict]:
    return [public(u) for u in db.query("SELECT * FROM admin_user ORDER BY username")]


def check_password(password: str) -> str:
    problem = accounts.password_problem(password)
    if problem:
        raise AdminError(problem, field="password")
    return password


def _check_username(username: str) -> str:
    username = (username or "").strip()
    problem = accounts.username_problem(username)
    if problem:
        raise AdminError(problem, field="username")
    return username


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AdminError(_("Unknown role %(role)s (viewer, operator, admin).", role=role),
                         field="role")
    return role


def create_user(db, username: str, password: str, role: str, actor: Actor | None,
                language: str = "vi") -> dict:
    username = _check_username(username)
    _check_role(role)
    check_password(password)
    if language not in ("vi", "en"):
        language = "vi"
    with writing(db):
        if by_name(db, username):
            raise Conflict(_("A user named %(name)s already exists.", name=username))
        uid = db["admin_user"].insert({
            "username": username, "password_hash": hash_password(password),
            "role": role, "language": language, "disabled": 0, "epoch": 0,
            "created_at": iso(utcnow()), "created_by": actor.username if actor else "",
        }).last_pk
        user = get(db, uid)
        audit.record(db, actor, "user.create", username, None, public(user))
    return public(user)


def create_first_admin(db, username: str, password: str, client: str = "") -> dict:
    """The first-run page: allowed only while no account exists."""
    with writing(db):
        if has_users(db):
            raise Conflict(_("The first account already exists; log in instead."))
        return create_user(db, username, password, "admin",
                           Actor(username.strip(), "admin", client))


def update_user(db, user_id: int, actor: Actor, *, role: str | None = None,
                disabled: bool | None = None, password: str | None = None) -> dict:
    with writing(db):
        user = get(db, user_id)
        before = public(user)
        changes = {}
        if role is not None and role != user["role"]:
            changes["role"] = _check_role(role)
        if disabled is not None and int(disabled) != user["disabled"]:
            changes["disabled"] = int(disabled)
        if password:
            changes["password_hash"] = hash_password(check_password(password))
        if not changes:
            return before
        if user["role"] == "admin" and (changes.get("role", "admin") != "admin" or changes.get("disabled")):
            others = db.execute(
                "SELECT COUNT(*) FROM admin_user WHERE role = 'admin' AND disabled = 0 AND id != ?",
                [user_id]).fetchone()[0]
            if others == 0:
                raise Conflict(_("This is the last active admin account; create another admin first."))
        changes["epoch"] = user["epoch"] + 1  # ends the user's sessions (admin_session.epoch)
        db["admin_user"].update(user_id, changes)
        from admin.services import sessions

        sessions.end_all(db, user_id)
        after = public(get(db, user_id))
        audit.record(db, actor, "user.update", user["username"], before,
                     {**after, **({"password": "changed"} if password else {})})
    return after


def set_language(db, user_id: int, language: str) -> None:
    if language in ("vi", "en"):
        db["admin_user"].update(user_id, {"language": language})


def authenticate_password(db, user_id: int, password: str) -> None:
    """Re-check the password of a logged-in user before changing it."""
    user = get(db, user_id)
    if not accounts.verify(user["password_hash"], password):
        raise AdminError(_("The current password is wrong."), 403, field="current")


# ---- login throttling --------------------------------------------------------


def _locked_for(db, key: str, now: datetime) -> float:
    row = db.execute("SELECT locked_until FROM admin_login_failure WHERE key = ?", [key]).fetchone()
    if row and row[0]:
        left = (parse_iso(row[0]) - now).total_seconds()
        return max(0.0, left)
    return 0.0


def _fail(db, key: str, now: datetime, max_failures: int, lockout_s: int) -> None:
    row = db.execute("SELECT failures FROM admin_login_failure WHERE key = ?", [key]).fetchone()
    failures = (row[0] if row else 0) + 1
    delay = accounts.delay_after(failures, max_failures, lockout_s)
    db.execute(
        "INSERT INTO admin_login_failure(key, failures, last_at, locked_until) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, last_at = excluded.last_at, "
        "locked_until = excluded.locked_until",
        [key, failures, iso(now), iso(now + timedelta(seconds=delay)) if delay else None],
    )


def authenticate(db, username: str, password: str, client: str, *, max_failures: int = 5,
                 lockout_s: int = 300, now: datetime | None = None) -> dict:
    """The user for a correct name and password, else AdminError (401 or 429).

    Failures are counted per user name and per client address; a success
    clears the name's count. The message never says which part was wrong.
    """
    now = now or utcnow()
    name = (username or "").strip()
    keys = accounts.throttle_keys(name, client)
    wait = max(_locked_for(db, k, now) for k in keys)
    if wait > 0:
        raise AdminError(accounts.wait_message(wait), 429)
    user = by_name(db, name) if name else None
    ok = accounts.verify(user["password_hash"] if user else None, password)
    if not ok or user is None or user["disabled"]:
        with writing(db):
            for k in keys:
                _fail(db, k, now, max_failures, lockout_s)
            audit.record(db, Actor(name[:64], "", client), "login.failed", name[:64])
        raise AdminError(accounts.wrong_login_message(), 401)
    with writing(db):
        db.execute("DELETE FROM admin_login_failure WHERE key = ?", [keys[0]])
        db["admin_user"].update(user["id"], {"last_login_at": iso(now)})
        audit.record(db, Actor(user["username"], user["role"], client), "login", user["username"])
    return user


# ---- API tokens ----------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create_token(db, user_id: int, name: str, actor: Actor) -> tuple[str, dict]:
    """A new API token. The secret is returned once and never stored."""
    name = (name or "").strip()[:80] or "token"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with writing(db):
        tid = db["admin_token"].insert({
            "user_id": user_id, "name": name, "token_sha256": _token_hash(secret),
            "prefix": secret[:10], "created_at": iso(utcnow()),
        }).last_pk
        row = token_public(db["admin_token"].get(tid))
        audit.record(db, actor, "token.create", name, None, row)
    return secret, row


def token_public(row: dict) -> dict:
    return {k: row[k] for k in ("id", "name", "prefix", "created_at", "last_used_at", "revoked_at")}


def list_tokens(db, user_id: int) -> list[dict]:
    return [token_public(r) for r in db.query(
        "SELECT * FROM admin_token WHERE user_id = ? ORDER BY id DESC", [user_id])]


def revoke_token(db, user_id: int, token_id: int, actor: Actor) -> None:
    with writing(db):
        rows = list(db.query("SELECT * FROM admin_token WHERE id = ? AND user_id = ?",
                             [token_id, user_id]))
        if not rows:
            raise NotFound(_("No such token."))
        if rows[0]["revoked_at"]:
            return
        db["admin_token"].update(token_id, {"revoked_at": iso(utcnow())})
        audit.record(db, actor, "token.revoke", rows[0]["name"], token_public(rows[0]), None)


def user_for_token(db, token: str) -> dict | None:
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    rows = list(db.query(
        "SELECT t.id AS token_id, u.* FROM admin_token t JOIN admin_user u ON u.id = t.user_id "
        "WHERE t.token_sha256 = ? AND t.revoked_at IS NULL AND u.disabled = 0",
        [_token_hash(token)]))
    if not rows:
        return None
    now = utcnow()
    # Write the last use at most once a minute: the API must stay read-cheap.
    db.execute("UPDATE admin_token SET last_used_at = ? WHERE id = ? AND "
               "(last_used_at IS NULL OR last_used_at < ?)",
               [iso(now), rows[0]["token_id"], iso(now - timedelta(minutes=1))])
    return rows[0]
