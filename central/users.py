"""People who work at the central server: their roles and rights, passwords
(the console), API tokens (scripts and the CLI), console sessions, the login
throttle, four-eyes, and the audit log of who changed what.

Roles are sets of rights, not a ladder:

| role     | rights                                   | does                                  |
| -------- | ---------------------------------------- | ------------------------------------- |
| viewer   | view                                     | reads the console (kept from before)  |
| editor   | view, edit                               | prepares content and assignments      |
| approver | view, edit, approve                      | approves or rejects media, notices, publications |
| operator | view, fleet, emergency                   | watches the fleet, kill switch, emergency |
| admin    | every right, and users                   | manages accounts                      |

Four-eyes (`check_four_eyes`): nobody approves what they themselves
submitted. An emergency needs only the `emergency` right, one person, and is
audited with who and why.

API tokens are 256-bit random strings shown once; only their sha256 is
stored (a slow hash buys nothing against guessing a 256-bit secret, and the
intake path checks one per request). Passwords and the throttle follow the
gate admin's rules (kiosk/web/accounts.py). Messages are in the reader's
language inside a console request and English on the command line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select, update

from kiosk.store import iso, parse_iso, utcnow
from kiosk.web import accounts

from central import schema as t
from central.checks import CentralError, Forbidden, NotFound, check_id
from central.db import insert_or_update, row, rows, transaction

ROLES = ("viewer", "editor", "approver", "operator", "admin")
RIGHTS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"view"}),
    "editor": frozenset({"view", "edit"}),
    "approver": frozenset({"view", "edit", "approve"}),
    "operator": frozenset({"view", "fleet", "emergency"}),
    "admin": frozenset({"view", "edit", "approve", "fleet", "emergency", "users", "gates"}),
}
ALL_RIGHTS = frozenset().union(*RIGHTS.values())


class LoginRefused(CentralError):
    """A failed or throttled login. status: 401, or 429 while throttled."""

    def __init__(self, message: str, status: int = 401):
        super().__init__(message)
        self.status = status


def role_names() -> dict[str, str]:
    """The roles in the reader's language."""
    return {"viewer": _("viewer (reads only)"), "editor": _("editor"),
            "approver": _("approver"), "operator": _("operator"), "admin": _("admin")}


def audit_actions() -> dict[str, str]:
    """Audit actions in the reader's language (pages never show raw codes).
    tests/central/test_console_audit.py fails on an action audited anywhere
    in central/ without words here."""
    return {"user.add": _("account created"), "user.update": _("account changed"),
            "user.remove": _("account removed"), "user.token": _("new API token"),
            "user.password_reset": _("one-time password set"),
            "user.password_change": _("password changed"),
            "user.sign_out_everywhere": _("signed out everywhere"),
            "login": _("logged in"), "login.failed": _("failed login"),
            "media.add": _("media uploaded"), "media.approve": _("media approved"),
            "media.reject": _("media rejected"), "media.retire": _("media retired"),
            "media.dates": _("media dates changed"),
            "playlist.save": _("playlist saved"),
            "entry.save": _("schedule entry saved"),
            "schedule_entry.remove": _("schedule entry removed"),
            "fallback.set": _("fallback set"), "fallback.remove": _("fallback removed"),
            "power.add": _("power window added"),
            "power_window.remove": _("power window removed"),
            "notice.save": _("notice saved"), "notice.remove": _("notice removed"),
            "publication.submit": _("publication sent for approval"),
            "publication.approve": _("publication approved"),
            "publication.stale": _("publication refused: changed meanwhile"),
            "publication.withdraw": _("publication request withdrawn"),
            "publication.reject": _("publication request rejected"),
            "publish": _("published"),
            "emergency": _("emergency published"),
            "emergency.cancel": _("emergency ended early"),
            "blank": _("gate's faces blanked (kill switch)"),
            "unblank": _("gate's faces released (kill switch)"),
            "gate.add": _("gate registered"), "gate.update": _("gate changed"),
            "gate.token": _("new gate token"),
            "group.save": _("group saved"), "group.remove": _("gate taken out of a group"),
            "key.rotate": _("signing key replaced"),
            "repository.init": _("signed repository created"),
            "repository.refresh": _("online signatures renewed"),
            "repository.prune": _("superseded repository files deleted"),
            "alert.ack": _("alert acknowledged"), "alert.subscribe": _("alert subscription added"),
            "alert.unsubscribe": _("alert subscription removed"),
            "playlist.move": _("playlist item moved"),
            "playlist.duration": _("playlist item's seconds changed"),
            "playlist.remove_item": _("playlist item removed"),
            "playlist.add_item": _("playlist item added"),
            "playlist.rename": _("playlist renamed"), "playlist.delete": _("playlist deleted")}


# Who the audit names when no person acted: the shell on the central server
# (the `gatecast central` commands that ask no --as: keys, repository, the
# first accounts) and the server's own housekeeping.
SERVER_SHELL, SERVER_ITSELF = "cli", "central"


def audit_who(name: str) -> str:
    """Who did it, in the reader's language: a person's name as it is."""
    if name == SERVER_SHELL:
        return _("central server (command line)")
    if name == SERVER_ITSELF:
        return _("the central server itself (housekeeping)")
    return name


def right_names() -> dict[str, str]:
    return {"view": _("read the console"), "edit": _("prepare content and assignments"),
            "approve": _("approve or reject"), "fleet": _("run the fleet and the kill switch"),
            "emergency": _("publish an emergency"), "users": _("manage users"),
            "gates": _("register gates")}


def has_right(role: str | None, right: str) -> bool:
    if right not in ALL_RIGHTS:
        raise ValueError(f"unknown right {right!r}")
    return right in RIGHTS.get(role or "", frozenset())


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, token_hash: str | None) -> bool:
    return bool(token_hash) and hmac.compare_digest(hash_token(token), token_hash)


def audit(db, who: str, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
    with transaction(db, write=True) as conn:
        conn.execute(insert(t.audit).values(
            at=iso(utcnow()), who=who, action=action, subject=subject,
            detail=json.dumps(detail or {}, ensure_ascii=False)))


def get_user(db, name: str) -> dict | None:
    with transaction(db) as conn:
        return row(conn.execute(select(t.user).where(t.user.c.name == name)))


def public(user: dict) -> dict:
    """What pages and the audit log may show of an account (no hashes)."""
    return {k: user.get(k) for k in ("name", "role", "disabled", "language", "timezone",
                                     "created_at", "created_by", "last_login_at",
                                     "must_change_password")}


def list_users(db) -> list[dict]:
    with transaction(db) as conn:
        return [public(u) for u in rows(conn.execute(select(t.user).order_by(t.user.c.name)))]


def _need(db, name: str) -> dict:
    user = get_user(db, name)
    if user is None:
        raise NotFound(_("No user %(name)s.", name=name))
    return user


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise CentralError(_("Unknown role %(role)s (one of %(roles)s).", role=role,
                             roles=", ".join(ROLES)))
    return role


def add_user(db, name: str, role: str, by: str = "cli") -> str:
    """Create a user; returns its API token (shown once). The console password
    is set apart (`set_one_time_password`)."""
    check_id(name, "user")
    if name in (SERVER_SHELL, SERVER_ITSELF):  # the audit log would mistake them for the server
        raise CentralError(_("The name %(name)s is kept for the server itself in the audit log; "
                             "choose another.", name=name))
    _check_role(role)
    token = new_token()
    with transaction(db, write=True) as conn:
        if get_user(conn, name):
            raise CentralError(_("A user named %(name)s already exists.", name=name))
        conn.execute(insert(t.user).values(name=name, role=role, token_hash=hash_token(token),
                                           created_at=iso(utcnow()), created_by=by))
        audit(conn, by, "user.add", name, {"role": role})
    return token


def reissue_user_token(db, name: str, by: str = "cli") -> str:
    """A new token for a user; the old one stops working at once."""
    token = new_token()
    with transaction(db, write=True) as conn:
        _need(conn, name)
        conn.execute(update(t.user).where(t.user.c.name == name)
                     .values(token_hash=hash_token(token)))
        audit(conn, by, "user.token", name)
    return token


def remove_user(db, name: str, by: str = "cli") -> None:
    """Revoke a user (token, password, sessions); the audit log keeps their name."""
    with transaction(db, write=True) as conn:
        _need(conn, name)
        _end_sessions(conn, name)
        conn.execute(delete(t.user).where(t.user.c.name == name))
        audit(conn, by, "user.remove", name)


def _active_admins_besides(conn, name: str) -> int:
    return conn.execute(select(func.count()).select_from(t.user).where(
        t.user.c.role == "admin", t.user.c.disabled == 0, t.user.c.name != name)).scalar_one()


def update_user(db, name: str, by: str, *, role: str | None = None,
                disabled: bool | None = None) -> dict:
    """Change a role or disable/enable an account; either ends its sessions."""
    with transaction(db, write=True) as conn:
        user = _need(conn, name)
        changes: dict[str, Any] = {}
        if role is not None and role != user["role"]:
            changes["role"] = _check_role(role)
        if disabled is not None and int(disabled) != user["disabled"]:
            changes["disabled"] = int(disabled)
        if not changes:
            return public(user)
        if user["role"] == "admin" and not user["disabled"] and (
                changes.get("role", "admin") != "admin" or changes.get("disabled")):
            if _active_admins_besides(conn, name) == 0:
                raise CentralError(_("This is the last active admin account; make another "
                                     "admin first."))
        changes["epoch"] = user["epoch"] + 1
        conn.execute(update(t.user).where(t.user.c.name == name).values(**changes))
        _end_sessions(conn, name)
        after = public(_need(conn, name))
        audit(conn, by, "user.update", name, {"before": {k: user[k] for k in changes if k in user
                                                        and k != "epoch"},
                                             "after": {k: v for k, v in changes.items()
                                                       if k != "epoch"}})
    return after


def set_one_time_password(db, name: str, by: str) -> str:
    """A new random password the user must change at their first login;
    ends every session of theirs. Returned once (print or show it)."""
    password = accounts.random_password()
    _store_password(db, name, password, by, one_time=True, action="user.password_reset")
    return password


def set_password(db, name: str, password: str, by: str, one_time: bool = False) -> None:
    """Set a password chosen elsewhere (provisioning, tests); ends every session."""
    _store_password(db, name, password, by, one_time=one_time, action="user.password_reset")


def _store_password(db, name: str, password: str, by: str, *, one_time: bool,
                    action: str) -> None:
    problem = accounts.password_problem(password)
    if problem:
        raise CentralError(problem)
    with transaction(db, write=True) as conn:
        user = _need(conn, name)
        conn.execute(update(t.user).where(t.user.c.name == name).values(
            password_hash=accounts.hash_password(password), epoch=user["epoch"] + 1,
            must_change_password=int(one_time)))
        _end_sessions(conn, name)
        audit(conn, by, action, name)


def change_password(db, name: str, current: str, new: str, new_again: str) -> None:
    """A user's own change: the current password first; ends every session."""
    user = _need(db, name)
    if not accounts.verify(user["password_hash"], current):
        raise Forbidden(_("The current password is wrong."))
    if new != new_again:
        raise CentralError(_("The two new passwords differ."))
    if accounts.verify(user["password_hash"], new):
        raise CentralError(_("Choose a password different from the current one."))
    _store_password(db, name, new, name, one_time=False, action="user.password_change")


def set_preferences(db, name: str, *, language: str | None = None,
                    timezone: str | None = None) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    values: dict[str, str] = {}
    if language is not None:
        if language not in ("vi", "en"):
            raise CentralError(_("Unknown language."))
        values["language"] = language
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CentralError(_("Unknown time zone %(zone)s.", zone=timezone)) from None
        values["timezone"] = timezone
    if values:
        with transaction(db, write=True) as conn:
            conn.execute(update(t.user).where(t.user.c.name == name).values(**values))


# ---- who acts: tokens (scripts, CLI) and rights --------------------------------
def user_for_token(db, name: str, token: str) -> dict | None:
    user = get_user(db, name)
    if user is None or user["disabled"] or not token_matches(token, user["token_hash"]):
        return None
    return user


def require_right(db, name: str, right: str) -> dict:
    """The named, enabled user, if their role has `right`; else Forbidden."""
    user = get_user(db, name)
    if user is None or user["disabled"]:
        raise Forbidden(_("No active user %(name)s (add one with `gatecast central user add`).",
                          name=name))
    if not has_right(user["role"], right):
        raise Forbidden(_("%(name)s is %(role)s; this needs the right to %(right)s.",
                          name=name, role=role_names().get(user["role"], user["role"]),
                          right=right_names()[right]))
    return user


def require_role(db, name: str, role: str) -> dict:
    """The named, enabled user, if they may do everything `role` may (e.g.
    "editor": view and edit; an approver or admin may too, an operator not).
    Prefer require_right in new code: it names what is being done."""
    user = require_right(db, name, "view")
    missing = sorted(RIGHTS[_check_role(role)] - RIGHTS.get(user["role"], frozenset()))
    if missing:
        raise Forbidden(_("%(name)s is %(role)s; this needs the right to %(right)s.",
                          name=name, role=role_names().get(user["role"], user["role"]),
                          right=right_names()[missing[0]]))
    return user


def acting_user(db, name: str | None, token: str | None, right: str) -> dict:
    """Who a script or the CLI acts as: the name and that user's API token
    must match, and the role must have `right`. The one check of every
    command that acts for a person."""
    if not name or not token:
        raise Forbidden(_("Say who you are: --as NAME and that user's API token "
                          "(GATECAST_CENTRAL_USER and GATECAST_CENTRAL_TOKEN)."))
    if user_for_token(db, name, token) is None:
        raise Forbidden(_("User %(name)s and that API token do not match.", name=name))
    return require_right(db, name, right)


def check_four_eyes(submitted_by: str | None, actor: str) -> None:
    """Nobody approves what they themselves submitted."""
    if submitted_by and submitted_by == actor:
        raise Forbidden(_("Four eyes: nobody approves what they themselves submitted. "
                          "%(name)s submitted this; another approver must approve it.",
                          name=actor))


# ---- console logins: password, throttle, server-side sessions ------------------
def _locked_for(conn, key: str, now: datetime) -> float:
    found = conn.execute(select(t.login_failure.c.locked_until)
                         .where(t.login_failure.c.key == key)).scalar()
    return max(0.0, (parse_iso(found) - now).total_seconds()) if found else 0.0


def _fail(conn, key: str, now: datetime, max_failures: int, lockout_s: float) -> None:
    failures = (conn.execute(select(t.login_failure.c.failures)
                             .where(t.login_failure.c.key == key)).scalar() or 0) + 1
    delay = accounts.delay_after(failures, max_failures, lockout_s)
    insert_or_update(conn, t.login_failure, {
        "key": key, "failures": failures, "last_at": iso(now),
        "locked_until": iso(now + timedelta(seconds=delay)) if delay else None}, ("key",))


def authenticate(db, name: str, password: str, client: str, *, max_failures: int = 5,
                 lockout_s: float = 300, now: datetime | None = None) -> dict:
    """The user for a correct name and password, else LoginRefused (401, or 429
    while throttled). The message never says which part was wrong."""
    now = now or utcnow()
    name = (name or "").strip()[:64]
    keys = accounts.throttle_keys(name, client)
    with transaction(db) as conn:
        wait = max(_locked_for(conn, k, now) for k in keys)
    if wait > 0:
        raise LoginRefused(accounts.wait_message(wait), 429)
    user = get_user(db, name) if name else None
    ok = accounts.verify(user["password_hash"] if user else None, password)
    if not ok or user is None or user["disabled"]:
        with transaction(db, write=True) as conn:
            for k in keys:
                _fail(conn, k, now, max_failures, lockout_s)
            audit(conn, name, "login.failed", name, {"client": client})
        raise LoginRefused(accounts.wrong_login_message())
    with transaction(db, write=True) as conn:
        conn.execute(delete(t.login_failure).where(t.login_failure.c.key == keys[0]))
        conn.execute(update(t.user).where(t.user.c.name == name).values(last_login_at=iso(now)))
        audit(conn, name, "login", name, {"client": client})
    return user


def start_session(db, user: dict, hours: float, client: str = "", user_agent: str = "") -> str:
    """A new console session; returns the token the cookie carries."""
    token = accounts.new_session_token()
    now = utcnow()
    with transaction(db, write=True) as conn:
        conn.execute(insert(t.console_session).values(
            id=accounts.token_hash(token), user_name=user["name"], epoch=user["epoch"],
            created_at=iso(now), last_seen_at=iso(now),
            expires_at=iso(now + timedelta(hours=hours)), client=client[:64],
            user_agent=user_agent[:200]))
    return token


def user_for_session(db, token: str) -> dict | None:
    """The account behind a live session, else None (revoked, expired, the
    account disabled, or its password or role changed since)."""
    if not token:
        return None
    now = utcnow()
    s, u = t.console_session, t.user
    with transaction(db) as conn:
        found = row(conn.execute(
            select(u, s.c.id.label("session_id"), s.c.last_seen_at.label("session_seen"))
            .join(s, s.c.user_name == u.c.name)
            .where(s.c.id == accounts.token_hash(token), s.c.revoked_at.is_(None),
                   s.c.expires_at > iso(now), u.c.disabled == 0, u.c.epoch == s.c.epoch)))
    if found is None:
        return None
    seen = parse_iso(found["session_seen"]) if found["session_seen"] else None
    if accounts.needs_touch(seen, now):
        with transaction(db, write=True) as conn:
            conn.execute(update(s).where(s.c.id == found["session_id"])
                         .values(last_seen_at=iso(now)))
    return found


def end_session(db, token: str) -> None:
    if token:
        with transaction(db, write=True) as conn:
            conn.execute(update(t.console_session)
                         .where(t.console_session.c.id == accounts.token_hash(token),
                                t.console_session.c.revoked_at.is_(None))
                         .values(revoked_at=iso(utcnow())))


def _end_sessions(conn, name: str) -> int:
    return conn.execute(update(t.console_session)
                        .where(t.console_session.c.user_name == name,
                               t.console_session.c.revoked_at.is_(None))
                        .values(revoked_at=iso(utcnow()))).rowcount


def end_all_sessions(db, name: str, by: str) -> int:
    """Sign out everywhere: every live session of `name`; returns how many ended."""
    with transaction(db, write=True) as conn:
        _need(conn, name)
        n = _end_sessions(conn, name)
        audit(conn, by, "user.sign_out_everywhere", name, {"sessions": n})
    return n


def live_sessions(db, name: str) -> list[dict]:
    s = t.console_session
    with transaction(db) as conn:
        return rows(conn.execute(
            select(s.c.created_at, s.c.last_seen_at, s.c.expires_at, s.c.client, s.c.user_agent)
            .join(t.user, t.user.c.name == s.c.user_name)
            .where(s.c.user_name == name, s.c.revoked_at.is_(None), s.c.expires_at > iso(utcnow()),
                   t.user.c.epoch == s.c.epoch)
            .order_by(s.c.created_at.desc())))


def recent_audit(db, prefix: str = "", limit: int = 50) -> list[dict]:
    """The newest audit entries whose action starts with `prefix`, detail decoded."""
    with transaction(db) as conn:
        found = rows(conn.execute(
            select(t.audit).where(t.audit.c.action.startswith(prefix))
            .order_by(t.audit.c.id.desc()).limit(limit)))
    for r in found:
        try:
            r["detail"] = json.loads(r["detail"] or "{}")
        except ValueError:
            r["detail"] = {}
    return found


def find_audit(db, *, who: str = "", action: str = "", subject: str = "",
               since: str | None = None, until: str | None = None,
               page: int = 1, per_page: int = 50) -> tuple[list[dict], int]:
    """One page of the audit log, newest first, and how many entries match.
    `action`: an action ("media.approve") or a family ending in "." ("media.");
    `subject`: a gate, media, user or other id, matched in the subject
    ("gate:ha-noi" is found by "ha-noi") and in the detail's values;
    `since`/`until`: UTC ISO instants (the page turns the viewer's days into them)."""
    where = audit_filters(who=who, action=action, subject=subject, since=since, until=until)
    with transaction(db) as conn:
        total = conn.execute(select(func.count()).select_from(t.audit).where(*where)).scalar_one()
        found = rows(conn.execute(audit_page(where, page, per_page)))
    for r in found:
        try:
            r["detail"] = json.loads(r["detail"] or "{}")
        except ValueError:
            r["detail"] = {}
        if not isinstance(r["detail"], dict):
            r["detail"] = {"value": r["detail"]}
    return found, total


def audit_filters(*, who: str = "", action: str = "", subject: str = "",
                  since: str | None = None, until: str | None = None) -> list:
    """find_audit's conditions; the audit_* indexes (0008) serve the person,
    the action (or family) and the time range."""
    from sqlalchemy import or_

    a = t.audit.c
    where = []
    if who:
        where.append(a.who == who)
    if action:
        # A family ("media.") as a range ("media." up to "media/"): the
        # audit_action index serves it, where LIKE 'media.%' would not.
        if action.endswith("."):
            where += [a.action >= action, a.action < action[:-1] + "/"]
        else:
            where.append(a.action == action)
    if subject:
        quoted = json.dumps(subject, ensure_ascii=False)
        where.append(or_(a.subject == subject, a.subject.contains(subject, autoescape=True),
                         a.detail.contains(quoted, autoescape=True)))
    if since:
        where.append(a.at >= since)
    if until:
        where.append(a.at < until)
    return where


def audit_page(where: list, page: int = 1, per_page: int = 50):
    """The SELECT of one page of entries matching `where`, newest first."""
    a = t.audit.c
    return (select(t.audit).where(*where).order_by(a.at.desc(), a.id.desc())
            .limit(per_page).offset(max(page - 1, 0) * per_page))


def audit_people(db) -> list[str]:
    """Everyone (and "cli", "central") who has an entry in the audit log."""
    with transaction(db) as conn:
        return [r[0] for r in conn.execute(select(t.audit.c.who).distinct()
                                           .order_by(t.audit.c.who))]
