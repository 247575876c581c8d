"""Login sessions kept on the server.

The session cookie (signed by Flask) carries only a random token; the server
keeps a row per login (its sha256, the user, the account's epoch, when it ends).
Logging out, changing a password or role, disabling an account, or "sign out
everywhere" revokes rows, so a copied cookie stops working at once instead of
living on until it expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kiosk.store import iso, utcnow, writing
from kiosk.web.accounts import needs_touch, new_session_token
from kiosk.web.accounts import token_hash as _hash

from admin.services import Actor, audit

def start(db, user: dict, hours: float, client: str = "", user_agent: str = "") -> str:
    """A new session for `user` (a row of admin_user); returns the cookie's token."""
    token = new_session_token()
    now = utcnow()
    with writing(db):
        db["admin_session"].insert({
            "id": _hash(token), "user_id": user["id"], "epoch": user["epoch"],
            "created_at": iso(now), "last_seen_at": iso(now),
            "expires_at": iso(now + timedelta(hours=hours)), "revoked_at": None,
            "client": client[:64], "user_agent": user_agent[:200],
        })
    return token


def user_for(db, token: str) -> dict | None:
    """The account behind a live session, else None (revoked, expired, the
    account disabled or changed since)."""
    if not token:
        return None
    now = utcnow()
    rows = list(db.query(
        "SELECT u.*, s.id AS session_id, s.last_seen_at AS session_seen FROM admin_session s "
        "JOIN admin_user u ON u.id = s.user_id "
        "WHERE s.id = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND u.disabled = 0 "
        "AND u.epoch = s.epoch", [_hash(token), iso(now)]))
    if not rows:
        return None
    row = rows[0]
    try:
        seen = datetime.fromisoformat(row["session_seen"])
    except (TypeError, ValueError):
        seen = None
    # (The dashboard asks every 2 s; last_seen_at is written once a minute.)
    if needs_touch(seen, now):
        with writing(db):
            db.execute("UPDATE admin_session SET last_seen_at = ? WHERE id = ?", [iso(now), row["session_id"]])
    return row


def end(db, token: str) -> None:
    if token:
        with writing(db):
            db.execute("UPDATE admin_session SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                       [iso(utcnow()), _hash(token)])


def end_all(db, user_id: int, actor: Actor | None = None, target: str = "") -> int:
    """Revoke every live session of a user; returns how many ended."""
    with writing(db):
        n = db.execute("UPDATE admin_session SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                       [iso(utcnow()), user_id]).rowcount
        if actor is not None:
            audit.record(db, actor, "sessions.end", target, None, {"sessions": n})
    return n


def live(db, user_id: int) -> list[dict]:
    """A user's sessions that still work, newest first (for the account page)."""
    return list(db.query(
        "SELECT s.created_at, s.last_seen_at, s.expires_at, s.client, s.user_agent FROM admin_session s "
        "JOIN admin_user u ON u.id = s.user_id WHERE s.user_id = ? AND s.revoked_at IS NULL "
        "AND s.expires_at > ? AND u.epoch = s.epoch ORDER BY s.created_at DESC",
        [user_id, iso(utcnow())]))
