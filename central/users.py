"""People who manage content at the central server, their roles, API tokens
and the audit log of who changed what.

Roles, each including the ones before it: viewer (read the overview),
editor (upload, assign, publish), approver (also approve and retire media),
admin (also manage users and gates). Tokens are 256-bit random strings shown
once; only their sha256 is stored (a slow password hash buys nothing against
guessing a 256-bit secret, and the intake path checks one per request).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

from sqlalchemy import delete, insert, select, update

from kiosk.store import iso, utcnow

from central import schema as t
from central.checks import CentralError, Forbidden, NotFound, check_id
from central.db import row, transaction

ROLES = ("viewer", "editor", "approver", "admin")


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


def add_user(db, name: str, role: str, by: str = "cli") -> str:
    """Create a user; returns its API token (shown once)."""
    check_id(name, "user")
    if role not in ROLES:
        raise CentralError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    token = new_token()
    with transaction(db, write=True) as conn:
        if get_user(conn, name):
            raise CentralError(f"user {name!r} already exists")
        conn.execute(insert(t.user).values(name=name, role=role, token_hash=hash_token(token),
                                           created_at=iso(utcnow())))
        audit(conn, by, "user.add", name, {"role": role})
    return token


def reissue_user_token(db, name: str, by: str = "cli") -> str:
    """A new token for a user; the old one stops working at once."""
    token = new_token()
    with transaction(db, write=True) as conn:
        if not get_user(conn, name):
            raise NotFound(f"no user {name!r}")
        conn.execute(update(t.user).where(t.user.c.name == name)
                     .values(token_hash=hash_token(token)))
        audit(conn, by, "user.token", name)
    return token


def remove_user(db, name: str, by: str = "cli") -> None:
    """Revoke a user (their token stops working); the audit log keeps their name."""
    with transaction(db, write=True) as conn:
        if not get_user(conn, name):
            raise NotFound(f"no user {name!r}")
        conn.execute(delete(t.user).where(t.user.c.name == name))
        audit(conn, by, "user.remove", name)


def user_for_token(db, name: str, token: str) -> dict | None:
    user = get_user(db, name)
    if user is None or not token_matches(token, user["token_hash"]):
        return None
    return user


def require_role(db, name: str, role: str) -> dict:
    """The named user, if their role includes `role`; else Forbidden."""
    user = get_user(db, name)
    if user is None:
        raise Forbidden(f"no user {name!r} (add one with `gatecast central user add`)")
    if ROLES.index(user["role"]) < ROLES.index(role):
        raise Forbidden(f"user {name!r} is {user['role']}; this needs the {role} role")
    return user
