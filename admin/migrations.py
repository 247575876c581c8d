"""The admin's own tables: accounts, API tokens, the audit log and login throttling.

Registered in the `gatecast.migrations` entry points (pyproject.toml); never edit a shipped migration.
"""

from sqlite_utils.migrations import Migrations

migrations = Migrations("gatecast.admin")


@migrations()
def m001_accounts(db):
    # epoch is part of the login session's id: bumping it (password change,
    # role change, disabling) ends every session of that user at once.
    db["admin_user"].create(
        {
            "id": int,
            "username": str,
            "password_hash": str,
            "role": str,  # viewer | operator | admin
            "language": str,
            "disabled": int,
            "epoch": int,
            "created_at": str,
            "created_by": str,
            "last_login_at": str,
        },
        pk="id",
        not_null={"username", "password_hash", "role"},
        defaults={"disabled": 0, "epoch": 0},
    )
    db.execute("CREATE UNIQUE INDEX admin_user_name ON admin_user(username COLLATE NOCASE)")
    # Tokens are random 32-byte secrets; only their sha256 is kept (a fast
    # hash is enough for a secret with that much entropy).
    db["admin_token"].create(
        {
            "id": int,
            "user_id": int,
            "name": str,
            "token_sha256": str,
            "prefix": str,
            "created_at": str,
            "last_used_at": str,
            "revoked_at": str,
        },
        pk="id",
        foreign_keys=[("user_id", "admin_user", "id")],
        not_null={"user_id", "token_sha256"},
    )
    db.execute("CREATE UNIQUE INDEX admin_token_hash ON admin_token(token_sha256)")
    db["admin_audit"].create(
        {
            "id": int,
            "at": str,
            "username": str,
            "role": str,
            "action": str,
            "target": str,
            "before": str,  # JSON or NULL
            "after": str,  # JSON or NULL
            "client": str,
        },
        pk="id",
        not_null={"at", "action"},
    )
    db.execute("CREATE INDEX admin_audit_at ON admin_audit(at)")
    # One row per throttled key ("user:<name>" or "ip:<address>").
    db["admin_login_failure"].create(
        {"key": str, "failures": int, "last_at": str, "locked_until": str},
        pk="key",
    )


@migrations()
def m002_sessions(db):
    # One row per login (admin/services/sessions.py): the cookie holds a random
    # token, this table its sha256, so that logout and "sign out everywhere"
    # end a session on the server at once.
    db["admin_session"].create(
        {
            "id": str,  # sha256 of the cookie's token
            "user_id": int,
            "epoch": int,  # the account's epoch at login: a password or role change ends it
            "created_at": str,
            "last_seen_at": str,
            "expires_at": str,
            "revoked_at": str,
            "client": str,
            "user_agent": str,
        },
        pk="id",
        foreign_keys=[("user_id", "admin_user", "id")],
        not_null={"user_id", "epoch", "created_at", "expires_at"},
    )
    db.execute("CREATE INDEX admin_session_user ON admin_session(user_id)")
